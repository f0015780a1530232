pub mod allocate;
pub mod config_change;
pub mod create_vault;
pub mod deposit;
pub mod fees_nav;
pub mod guardian;
pub mod rebalance;
pub mod withdraw;

pub use allocate::*;
pub use config_change::*;
pub use create_vault::*;
pub use deposit::*;
pub use fees_nav::*;
pub use guardian::*;
pub use rebalance::*;
pub use withdraw::*;
