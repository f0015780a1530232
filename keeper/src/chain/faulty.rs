//! Fault injection through the [`Chain`] trait, for tests of everything above it (the rebalancer, the runner,
//! the migrations): scripted failures of the next reads and sends, shaped like what a cluster really does.
//!
//! - [`Fault::Unavailable`]: the RPC call fails (an error or a timeout); nothing executed.
//! - [`Fault::Expired`]: the transaction never landed and its blockhash expired; nothing executed.
//! - [`Fault::Dropped`]: the transaction executed but the reply was lost (the caller sees a timeout), as when a
//!   process is killed mid-confirmation or the connection drops.
//! - [`Fault::Race`]: another party's transaction lands first (a competing keeper), then the caller's runs.
use super::{Chain, ChainError, Simulation};
use solana_sdk::{account::Account, clock::Clock, instruction::Instruction, pubkey::Pubkey, signature::Keypair};
use std::collections::VecDeque;

pub enum Fault {
    Unavailable,
    Expired,
    Dropped,
    Race { instructions: Vec<Instruction>, signer: Box<Keypair> },
}

/// Wraps a chain; each read or send takes the next scripted entry (`None` = behave normally).
pub struct Faulty<'a, C: Chain> {
    pub inner: &'a mut C,
    pub reads: VecDeque<Option<Fault>>,
    pub sends: VecDeque<Option<Fault>>,
    /// Transactions that reached the inner chain (executed or failed there).
    pub sent: usize,
}

impl<'a, C: Chain> Faulty<'a, C> {
    pub fn new(inner: &'a mut C) -> Self {
        Self { inner, reads: VecDeque::new(), sends: VecDeque::new(), sent: 0 }
    }

    fn read_fault(&mut self) -> Result<(), ChainError> {
        match self.reads.pop_front().flatten() {
            None => Ok(()),
            Some(_) => Err(ChainError::Unavailable("injected: RPC request timed out".into())),
        }
    }
}

impl<C: Chain> Chain for Faulty<'_, C> {
    fn payer(&self) -> Pubkey {
        self.inner.payer()
    }

    fn lookup_tables(&self) -> &[solana_sdk::message::AddressLookupTableAccount] {
        self.inner.lookup_tables()
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        self.read_fault()?;
        self.inner.account(key).await
    }

    async fn clock(&mut self) -> Result<Clock, ChainError> {
        self.read_fault()?;
        self.inner.clock().await
    }

    async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Simulation, ChainError> {
        self.read_fault()?;
        self.inner.simulate(ixs, signers).await
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), ChainError> {
        match self.sends.pop_front().flatten() {
            None => {
                self.sent += 1;
                self.inner.send(ixs, signers).await
            }
            Some(Fault::Unavailable) => Err(ChainError::Unavailable("injected: sendTransaction failed".into())),
            Some(Fault::Expired) => Err(ChainError::Expired(3)),
            Some(Fault::Dropped) => {
                self.sent += 1;
                let _ = self.inner.send(ixs, signers).await;
                Err(ChainError::Unavailable("injected: confirmation timed out".into()))
            }
            Some(Fault::Race { instructions, signer }) => {
                self.inner.send(&instructions, &[&*signer]).await?;
                self.sent += 1;
                self.inner.send(ixs, signers).await
            }
        }
    }
}
