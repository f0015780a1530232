//! Chain access behind one trait, so the same code runs on the embedded bank (paper mode, demo, tests) and on a
//! cluster over RPC: the keeper's cycle, the migrations, integrators' tools.
//!
//! [`Chain`] is what callers need and nothing more: accounts, the clock, simulation and sending. Errors keep
//! the program's custom error code, because "another keeper landed first" (a stale sequence) is a normal outcome
//! the keeper must tell apart from a real failure.
use anchor_lang::AccountDeserialize;
use solana_sdk::{
    account::Account,
    clock::Clock,
    instruction::{Instruction, InstructionError},
    pubkey::Pubkey,
    signature::Keypair,
    transaction::TransactionError,
};

/// The largest serialised transaction a cluster accepts: an IPv6 UDP packet's payload (1280 - 40 - 8 bytes).
pub const MAX_TRANSACTION_BYTES: usize = 1232;

/// Refuses, with both sizes, a transaction (legacy or versioned) a cluster would refuse for its size. The embedded
/// bank does not enforce the limit itself, so every chain checks here and a transaction that only works in tests
/// cannot exist.
pub fn check_size<T: serde::Serialize + ?Sized>(tx: &T) -> Result<(), ChainError> {
    let size = bincode::serialized_size(tx).map_err(|e| ChainError::Transaction(e.to_string()))?;
    if size > MAX_TRANSACTION_BYTES as u64 {
        return Err(ChainError::Transaction(format!(
            "transaction is {size} bytes; a cluster accepts at most {MAX_TRANSACTION_BYTES}: split it, or look its accounts up in an address lookup table"
        )));
    }
    Ok(())
}

/// Why a chain call failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// A program refused the transaction with its custom error code (instruction index, code).
    #[error("instruction {index} failed with program error {code}")]
    Program { index: u8, code: u32 },
    /// The transaction failed for another reason (signature, account, runtime).
    #[error("transaction failed: {0}")]
    Transaction(String),
    /// The node could not be reached or answered with an error.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// Every signed version expired unconfirmed (the count); none executed, so sending again is safe.
    #[error("not confirmed: {0} signed version(s) expired before landing (none executed); retry later")]
    Expired(u32),
    #[error("account {0} does not exist")]
    MissingAccount(Pubkey),
    #[error("account {0} could not be decoded: {1}")]
    Decode(Pubkey, String),
}

impl ChainError {
    /// A failed transaction's error: a program's custom code keeps its code and instruction index (minus
    /// `prepended` instructions the chain put before the caller's, e.g. compute-budget ones), anything else is
    /// [`ChainError::Transaction`].
    pub fn from_transaction(e: TransactionError, prepended: u8) -> Self {
        match e {
            TransactionError::InstructionError(index, InstructionError::Custom(code)) => {
                ChainError::Program { index: index.saturating_sub(prepended), code }
            }
            other => ChainError::Transaction(other.to_string()),
        }
    }
}

/// Outcome of a simulation: success with compute units consumed, or the error the send would get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulation {
    pub result: Result<(), ChainError>,
    pub units_consumed: u64,
}

/// What the keeper needs from a chain.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// The fee payer and default signer.
    fn payer(&self) -> Pubkey;
    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError>;
    async fn clock(&mut self) -> Result<Clock, ChainError>;
    async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Simulation, ChainError>;
    /// Sends and waits for confirmation.
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), ChainError>;
    /// The address lookup tables this chain compiles transactions with (none: legacy transactions). Callers that
    /// pack instructions into one transaction measure with them ([`crate::lookup::fits`]).
    fn lookup_tables(&self) -> &[solana_sdk::message::AddressLookupTableAccount] {
        &[]
    }

    /// Fetches and decodes an Anchor account.
    async fn read<T: AccountDeserialize>(&mut self, key: &Pubkey) -> Result<T, ChainError> {
        let acc = self.account(key).await?.ok_or(ChainError::MissingAccount(*key))?;
        T::try_deserialize(&mut acc.data.as_slice()).map_err(|e| ChainError::Decode(*key, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_errors_keep_code_and_the_callers_instruction_index() {
        let e = TransactionError::InstructionError(3, InstructionError::Custom(6001));
        assert_eq!(ChainError::from_transaction(e.clone(), 0), ChainError::Program { index: 3, code: 6001 });
        assert_eq!(ChainError::from_transaction(e, 2), ChainError::Program { index: 1, code: 6001 });
        let other = ChainError::from_transaction(TransactionError::AccountNotFound, 1);
        assert!(matches!(other, ChainError::Transaction(_)), "{other:?}");
    }
}
