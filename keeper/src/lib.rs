//! keel-keeper library: the permissionless keeper's building blocks.
//!
//! - [`quant`]: f64 pricing, implied volatility, SVI surfaces, VaR/ES.
//! - [`market_data`]: loaders for real market data (Deribit option chains, exchange price bars).
//! - [`strategy`]: volatility forecasts and rebalance policies (static, Whalley-Wilmott, predictive).
//!
//! Later milestones add `chain`, `execution`, `ops`, `backtest` and `report`.
pub mod market_data;
pub mod quant;
pub mod strategy;

pub use keel_math;
