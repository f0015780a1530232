//! keel-keeper library: the permissionless keeper's building blocks (pricing, risk, policies, execution).
//!
//! Later milestones fill in `chain`, `quant`, `strategy`, `execution`, `ops`, `backtest` and `report`.
pub use keel_math;
