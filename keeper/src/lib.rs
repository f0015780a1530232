//! keel-keeper library: the permissionless keeper's building blocks.
//!
//! - [`chain`]: the [`chain::Chain`] trait and the embedded bank running the real programs.
//! - [`quant`]: f64 pricing, implied volatility, SVI surfaces, VaR/ES.
//! - [`market_data`]: loaders for real market data (Deribit option chains, exchange price bars).
//! - [`vault_view`], [`rebalancer`]: a vault measured as the program measures it, and the keeper's rebalance cycle.
//! - [`strategy`]: volatility forecasts and rebalance policies (static, Whalley-Wilmott, predictive).
//!
//! Later milestones add the Rpc chain, `execution`, `ops`, `backtest` and `report`.
pub mod backtest;
pub mod chain;
pub mod construct;
pub mod demo;
pub mod deploy;
pub mod execution;
pub mod market_data;
pub mod ops;
pub mod plot;
pub mod predict;
pub mod quant;
pub mod rebalancer;
pub mod strategist;
pub mod strategy;
pub mod vault_view;

pub use keel_math;
