//! keel-keeper library: the permissionless keeper's building blocks.
//!
//! - [`quant`]: f64 pricing, implied volatility, SVI surfaces, VaR/ES.
//! - [`market_data`]: loaders for real market data (Deribit option chains, exchange price bars).
//!
//! Later milestones add `chain`, `strategy`, `execution`, `ops`, `backtest` and `report`.
pub mod market_data;
pub mod quant;

pub use keel_math;
