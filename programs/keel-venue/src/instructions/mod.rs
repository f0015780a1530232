pub mod add_market;
pub mod add_underlying;
pub mod create_venue;
pub mod lp;
pub mod post_surface;
pub mod refresh_market;
pub mod set_paused;

pub use add_market::*;
pub use add_underlying::*;
pub use create_venue::*;
pub use lp::*;
pub use post_surface::*;
pub use refresh_market::*;
pub use set_paused::*;
