//! # keel-math
//!
//! Deterministic fixed-point numerics shared by Keel's on-chain programs and its off-chain keeper, so that what the
//! keeper predicts is exactly what the programs check. Everything is I80F48 (`fixed` crate: 80 integer bits,
//! 48 fractional bits, resolution 2^-48 ≈ 3.6e-15, range ±6.0e23), checked at every step: errors are typed
//! [`MathError`]s with the source location, never panics or silent wraps. No Anchor or Solana dependency.
//!
//! - [`elementary`]: `exp`, `ln`, `sqrt`, `cbrt` with documented domains.
//! - [`normal`]: standard normal pdf and cdf.
//! - [`bs`]: generalised Black-Scholes-Merton / Black-76 price and greeks.
//! - [`svi`]: raw SVI total variance, implied vol, butterfly-arbitrage check.
//! - [`risk`]: SPAN-style scenario risk arrays.
//! - [`margin`]: account equity, initial/maintenance margin from summed risk arrays, position fills.
//! - [`book`]: a book's additive sums (margin, greeks, gross quantity, unbiased value), swappable per position.
//! - [`mandate`]: a vault's risk limits, relative excesses, breach measure, Whalley-Wilmott band.
//! - [`shares`]: share accounting with a virtual offset and directed rounding.
//! - [`reference`]: f64 reference implementations used to bound the fixed-point error.
//!
//! On SBF (`target_os = "solana"`) the heavy functions are kept out of line so each gets its own 4 KiB stack frame;
//! inlined into one instruction handler they would overflow it. Native builds inline as usual.
//!
//! Accuracy (property-tested over spot 1e-2..1e6, strike/spot 0.2..5, T 1 hour..3 years, vol 1%..500%; see
//! `tests/accuracy.rs` and `docs/math.md`): BS price absolute error <= 1e-9 x spot; delta, gamma, vega, theta
//! relative error <= 1e-8 wherever the greek is not tiny.
pub mod book;
pub mod bs;
pub mod elementary;
pub mod error;
pub mod instrument;
pub mod mandate;
pub mod margin;
pub mod normal;
pub mod reference;
pub mod risk;
pub mod safe;
pub mod shares;
pub mod svi;

pub use bs::{greeks, price, BsmInputs, Greeks, OptionKind};
pub use elementary::{cbrt, exp, hypot, ln, powf, sqrt};
pub use error::{MathError, MathErrorKind, MathResult};
pub use fixed::types::I80F48;
pub use normal::{norm_cdf, norm_pdf};
pub use safe::{safe_mul_qty, QtyFactor, SafeCast, SafeMath};
pub use shares::ShareMath;
pub use svi::SviRaw;
