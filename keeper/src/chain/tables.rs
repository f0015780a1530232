//! Address lookup tables on any chain the keeper drives: the embedded bank (paper mode, tests) and a cluster share
//! one implementation of reading, using, creating and extending a table; each chain supplies only how it finds a
//! slot a new table may derive its address from and how it waits for a slot to pass.
use super::{Chain, ChainError};
use keel_client::lookup;
use solana_sdk::{message::AddressLookupTableAccount, pubkey::Pubkey};

/// What [`TableChain::ensure_lookup_table`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableChange {
    pub table: Pubkey,
    pub created: bool,
    /// Addresses added (all of them for a new table).
    pub added: usize,
    /// Addresses the table holds now.
    pub holds: usize,
}

/// A chain that compiles its transactions with address lookup tables (see [`keel_client::lookup`]).
#[allow(async_fn_in_trait)]
pub trait TableChain: Chain {
    /// The tables every transaction is compiled with, for [`TableChain::use_lookup_tables`] to replace.
    fn tables_mut(&mut self) -> &mut Vec<AddressLookupTableAccount>;

    /// A slot the SlotHashes sysvar will hold when a table's creation executes (and when it is simulated first).
    async fn creation_slot(&mut self) -> Result<u64, ChainError>;

    /// Returns once the chain's slot is past `slot`.
    async fn pass_slot(&mut self, slot: u64) -> Result<(), ChainError>;

    /// Reads the lookup table at `key`.
    async fn lookup_table(&mut self, key: &Pubkey) -> Result<lookup::Table, ChainError> {
        let account = self.account(key).await?.ok_or(ChainError::MissingAccount(*key))?;
        lookup::decode(key, &account.owner, &account.data)
    }

    /// From now on, compiles every transaction as version 0 with the addresses the tables at `keys` hold looked up
    /// (a large book's markets fit one packet that way). A table that is deactivated is refused: it would fail
    /// every transaction.
    async fn use_lookup_tables(&mut self, keys: &[Pubkey]) -> Result<(), ChainError> {
        let mut tables = Vec::with_capacity(keys.len());
        for key in keys {
            let table = self.lookup_table(key).await?;
            if table.deactivation_slot != u64::MAX {
                return Err(ChainError::Decode(*key, "the lookup table is deactivated: create a new one".into()));
            }
            tables.push(table.account);
        }
        *self.tables_mut() = tables;
        Ok(())
    }

    /// A lookup table the payer owns that holds `addresses`: `existing` extended with what it lacks, or a new one
    /// when `existing` is None. Returns once every address is usable (the slot after the last extension).
    async fn ensure_lookup_table(
        &mut self,
        existing: Option<Pubkey>,
        addresses: &[Pubkey],
    ) -> Result<TableChange, ChainError> {
        let me = self.payer();
        let held = match existing {
            Some(key) => {
                let t = self.lookup_table(&key).await?;
                if t.authority != Some(me) || t.deactivation_slot != u64::MAX {
                    let why = format!("not an active table {me} may extend (authority {:?})", t.authority);
                    return Err(ChainError::Decode(key, why));
                }
                t.account.addresses
            }
            None => Vec::new(),
        };
        let missing = lookup::missing(&held, addresses);
        let holds = held.len() + missing.len();
        // Refused before anything is sent, so a new table is never left behind empty.
        if holds > lookup::MAX_ADDRESSES {
            let why = format!("{holds} addresses would pass a table's {} limit", lookup::MAX_ADDRESSES);
            return Err(ChainError::Transaction(why));
        }
        let table = match existing {
            Some(key) => key,
            None => {
                let slot = self.creation_slot().await?;
                let (create, key) = lookup::create_ix(&me, &me, slot);
                self.send(&[create], &[]).await?;
                key
            }
        };
        for extend in lookup::extend_ixs(&table, &me, &me, &missing) {
            self.send(&[extend], &[]).await?;
        }
        // Usable from the slot after the last extension.
        let now = self.lookup_table(&table).await?;
        self.pass_slot(now.last_extended_slot).await?;
        // A table this chain already compiles with now holds more: use all of it.
        if let Some(used) = self.tables_mut().iter_mut().find(|t| t.key == table) {
            *used = now.account;
        }
        Ok(TableChange { table, created: existing.is_none(), added: missing.len(), holds })
    }
}
