//! Chain implementations for the keeper. The [`Chain`] trait lives in keel-client (so migrations and integrators
//! share it); this module adds the embedded bank running the real programs, the Rpc chain for clusters, and address
//! lookup tables on both ([`TableChain`]).
pub mod embedded;
pub mod faulty;
pub mod rpc;
pub mod tables;

pub use embedded::Embedded;
pub use keel_client::chain::{Chain, ChainError, Simulation};
pub use rpc::Rpc;
pub use tables::{TableChain, TableChange};

use keel_client::pyth::PythPrice;
use solana_sdk::pubkey::Pubkey;

/// A chain whose oracle a scenario drives: the embedded bank writes price accounts directly; a local validator
/// posts them through tests/localnet-oracle (loaded at the Pyth receiver's id by scripts/validator-test). On a
/// real cluster Pyth publishes prices and these calls fail (the receiver there is the real one).
#[allow(async_fn_in_trait)]
pub trait OracleControl: Chain {
    /// A new price account holding `p`.
    async fn create_oracle(&mut self, p: &PythPrice) -> Result<Pubkey, ChainError>;
    /// Replaces the price in `address` with `p`.
    async fn post_price(&mut self, address: Pubkey, p: &PythPrice) -> Result<(), ChainError>;
}

impl OracleControl for Embedded {
    async fn create_oracle(&mut self, p: &PythPrice) -> Result<Pubkey, ChainError> {
        let address = Pubkey::new_unique();
        self.set_price(address, p);
        Ok(address)
    }

    async fn post_price(&mut self, address: Pubkey, p: &PythPrice) -> Result<(), ChainError> {
        self.set_price(address, p);
        Ok(())
    }
}
