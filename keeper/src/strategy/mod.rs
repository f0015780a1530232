//! Strategy building blocks shared by the live keeper and the backtester: volatility forecasts and rebalance
//! policies.
pub mod book;
pub mod forecast;
pub mod policy;

pub use forecast::{Ewma, Garch11, VolForecast};
pub use policy::{Action, Costs, Decision, Observation, Policy, Predictive, StaticBand, WhalleyWilmott};
