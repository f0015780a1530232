//! The keeper's f64 quant library: pricing (Black-Scholes/Black-76, binomial trees), implied volatility, SVI
//! surfaces and portfolio risk (greeks, VaR and expected shortfall). Used by live keeping and by backtests.
//!
//! Numbers that must match on-chain checks come from `keel_math` (I80F48); this module is the fast f64 path for
//! everything else, and its tests pin it to keel-math's reference.
pub mod binomial;
pub mod bs;
pub mod fixtures;
pub mod iv;
pub mod mc;
pub mod normal;
pub mod risk;
pub mod svi;
