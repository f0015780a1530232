pub mod add_underlying;
pub mod create_venue;
pub mod post_surface;
pub mod set_paused;

pub use add_underlying::*;
pub use create_venue::*;
pub use post_surface::*;
pub use set_paused::*;
