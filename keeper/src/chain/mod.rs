//! Chain implementations for the keeper. The [`Chain`] trait lives in keel-client (so migrations and integrators
//! share it); this module adds the embedded bank running the real programs.
pub mod embedded;

pub use embedded::Embedded;
pub use keel_client::chain::{Chain, ChainError, Simulation};
