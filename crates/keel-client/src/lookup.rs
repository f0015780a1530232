//! Address lookup tables: how a large book's transactions fit one packet.
//!
//! A vault passes every position's market to each rebalance and allocation. Listed in a legacy transaction each
//! costs 32 bytes, so a 16-position book with the instruction's own accounts passes the 1,232-byte limit; in a
//! version-0 transaction an address found in a table costs one byte. The table is an ordinary account of the
//! address-lookup-table program, created and extended by its authority (e.g. `keel-keeper deploy --lookup-table`);
//! an address is usable from the slot after the one that added it.
use crate::chain::{ChainError, MAX_TRANSACTION_BYTES};
use solana_address_lookup_table_interface::{instruction, state::AddressLookupTable};
use solana_sdk::{
    hash::Hash,
    instruction::Instruction,
    message::{v0, AddressLookupTableAccount, Message, VersionedMessage},
    pubkey::Pubkey,
    signature::Keypair,
    transaction::VersionedTransaction,
};

/// The address-lookup-table program.
pub const PROGRAM_ID: Pubkey = solana_address_lookup_table_interface::program::ID;

/// The most addresses a table holds.
pub const MAX_ADDRESSES: usize = solana_address_lookup_table_interface::state::LOOKUP_TABLE_MAX_ADDRESSES;

/// Addresses one extension adds: 32 bytes each of the extending transaction, so 20 leave room for its accounts and
/// the signatures.
pub const EXTEND_CHUNK: usize = 20;

/// A table as a client reads it: the addresses a message may look up, and who may extend it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub account: AddressLookupTableAccount,
    pub authority: Option<Pubkey>,
    /// Addresses are usable only in slots after this one.
    pub last_extended_slot: u64,
    /// `u64::MAX` while active; a deactivated table stops resolving addresses.
    pub deactivation_slot: u64,
}

/// `create_lookup_table` for a table owned by `authority` at the address derived from `recent_slot` (a slot the
/// SlotHashes sysvar still holds when it executes), and that address.
pub fn create_ix(authority: &Pubkey, payer: &Pubkey, recent_slot: u64) -> (Instruction, Pubkey) {
    instruction::create_lookup_table(*authority, *payer, recent_slot)
}

/// The extensions adding `addresses` to `table`, [`EXTEND_CHUNK`] per instruction (each its own transaction).
pub fn extend_ixs(table: &Pubkey, authority: &Pubkey, payer: &Pubkey, addresses: &[Pubkey]) -> Vec<Instruction> {
    addresses
        .chunks(EXTEND_CHUNK)
        .map(|chunk| instruction::extend_lookup_table(*table, *authority, Some(*payer), chunk.to_vec()))
        .collect()
}

/// Decodes the table account at `key` (its owner must be the lookup-table program).
pub fn decode(key: &Pubkey, owner: &Pubkey, data: &[u8]) -> Result<Table, ChainError> {
    if *owner != PROGRAM_ID {
        return Err(ChainError::Decode(*key, format!("owned by {owner}, not the address-lookup-table program")));
    }
    let table = AddressLookupTable::deserialize(data)
        .map_err(|e| ChainError::Decode(*key, format!("not an address lookup table: {e}")))?;
    Ok(Table {
        account: AddressLookupTableAccount { key: *key, addresses: table.addresses.to_vec() },
        authority: table.meta.authority,
        last_extended_slot: table.meta.last_extended_slot,
        deactivation_slot: table.meta.deactivation_slot,
    })
}

/// `wanted` without what `table` already holds and without repeats, in order: what an extension must add.
pub fn missing(table: &[Pubkey], wanted: &[Pubkey]) -> Vec<Pubkey> {
    let mut out: Vec<Pubkey> = Vec::new();
    for key in wanted {
        if !table.contains(key) && !out.contains(key) {
            out.push(*key);
        }
    }
    out
}

/// The message of `ixs` paid by `payer`: legacy without tables (byte for byte what `Transaction::new_with_payer`
/// signs), else version 0 with every address the tables hold looked up (signers and invoked programs stay in the
/// message itself, as the runtime requires).
pub fn compile(
    payer: &Pubkey,
    ixs: &[Instruction],
    tables: &[AddressLookupTableAccount],
    blockhash: Hash,
) -> Result<VersionedMessage, ChainError> {
    if tables.is_empty() {
        let mut message = Message::new(ixs, Some(payer));
        message.recent_blockhash = blockhash;
        return Ok(VersionedMessage::Legacy(message));
    }
    v0::Message::try_compile(payer, ixs, tables, blockhash)
        .map(VersionedMessage::V0)
        .map_err(|e| ChainError::Transaction(format!("could not compile a version-0 message: {e}")))
}

/// Signs `message` with `signers` (the payer first) and checks it fits one packet
/// ([`crate::chain::check_size`]).
pub fn sign(message: VersionedMessage, signers: &[&Keypair]) -> Result<VersionedTransaction, ChainError> {
    let tx = VersionedTransaction::try_new(message, signers).map_err(|e| ChainError::Transaction(e.to_string()))?;
    crate::chain::check_size(&tx)?;
    Ok(tx)
}

/// `ixs` as one transaction paid by `payer` and signed also by `signers` (each key once, however often it is
/// passed), compiled with `tables` ([`compile`]) and size-checked ([`sign`]).
pub fn signed(
    payer: &Keypair,
    signers: &[&Keypair],
    ixs: &[Instruction],
    tables: &[AddressLookupTableAccount],
    blockhash: Hash,
) -> Result<VersionedTransaction, ChainError> {
    use solana_sdk::signature::Signer;
    // A version-0 transaction takes exactly the signatures its message requires.
    let mut all: Vec<&Keypair> = vec![payer];
    for s in signers {
        if all.iter().all(|a| a.pubkey() != s.pubkey()) {
            all.push(s);
        }
    }
    sign(compile(&payer.pubkey(), ixs, tables, blockhash)?, &all)
}

/// The serialised size of `ixs` as one transaction paid by `payer` with `tables`, counting a signature for `signer`
/// too when no instruction names it as a signer (the message is only measured). `None`: it cannot be compiled.
pub fn size(
    payer: &Pubkey,
    signer: &Pubkey,
    ixs: &[Instruction],
    tables: &[AddressLookupTableAccount],
) -> Option<usize> {
    let mut message = compile(payer, ixs, tables, Hash::default()).ok()?;
    let (keys, header) = match &mut message {
        VersionedMessage::Legacy(m) => (&mut m.account_keys, &mut m.header),
        VersionedMessage::V0(m) => (&mut m.account_keys, &mut m.header),
    };
    let signers = usize::from(header.num_required_signatures);
    if !keys[..signers].contains(signer) {
        // One more signature, and its key unless the message lists it already (only the size counts here, so the
        // keys' order and the instructions' indices need not follow).
        if !keys.contains(signer) {
            keys.insert(1, *signer);
        }
        header.num_required_signatures += 1;
    }
    let signatures = usize::from(header.num_required_signatures);
    let tx = VersionedTransaction { signatures: vec![Default::default(); signatures], message };
    bincode::serialized_size(&tx).ok().and_then(|s| usize::try_from(s).ok())
}

/// Whether [`size`] is within one packet.
pub fn fits(payer: &Pubkey, signer: &Pubkey, ixs: &[Instruction], tables: &[AddressLookupTableAccount]) -> bool {
    size(payer, signer, ixs, tables).is_some_and(|s| s <= MAX_TRANSACTION_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::instruction::AccountMeta;

    fn ix(keys: &[Pubkey]) -> Instruction {
        let metas = keys.iter().map(|k| AccountMeta::new(*k, false)).collect();
        Instruction::new_with_bytes(Pubkey::new_unique(), &[0; 8], metas)
    }

    #[test]
    fn a_table_shrinks_each_address_it_holds_to_one_byte() {
        let (payer, signer) = (Pubkey::new_unique(), Pubkey::new_unique());
        let keys: Vec<Pubkey> = (0..40).map(|_| Pubkey::new_unique()).collect();
        let legacy = size(&payer, &signer, &[ix(&keys)], &[]).unwrap();
        assert!(legacy > MAX_TRANSACTION_BYTES, "40 listed accounts do not fit: {legacy}");
        let table = AddressLookupTableAccount { key: Pubkey::new_unique(), addresses: keys.clone() };
        let v0 = size(&payer, &signer, &[ix(&keys)], std::slice::from_ref(&table)).unwrap();
        // 40 x 32 bytes out; in: the version byte, the count of tables, the table's key, its two index lists'
        // lengths and 40 one-byte indices.
        assert_eq!(legacy - v0, 40 * 32 - (1 + 1 + 32 + 2 + 40), "{legacy} -> {v0}");
        assert!(fits(&payer, &signer, &[ix(&keys)], &[table]));
        assert!(!fits(&payer, &signer, &[ix(&keys)], &[]));
    }

    #[test]
    fn without_tables_the_message_is_the_legacy_one() {
        let payer = Pubkey::new_unique();
        let ixs = [ix(&[Pubkey::new_unique(), payer])];
        let hash = Hash::new_unique();
        let VersionedMessage::Legacy(m) = compile(&payer, &ixs, &[], hash).unwrap() else { panic!("legacy") };
        let mut expected = Message::new(&ixs, Some(&payer));
        expected.recent_blockhash = hash;
        assert_eq!(m, expected);
    }

    #[test]
    fn an_absent_signer_adds_a_key_and_a_signature_and_a_present_one_nothing() {
        let (payer, signer) = (Pubkey::new_unique(), Pubkey::new_unique());
        let base = size(&payer, &payer, &[ix(&[Pubkey::new_unique()])], &[]).unwrap();
        assert_eq!(size(&payer, &signer, &[ix(&[Pubkey::new_unique()])], &[]).unwrap(), base + 32 + 64);
    }

    #[test]
    fn missing_keeps_order_and_drops_what_the_table_holds_and_repeats() {
        let k: Vec<Pubkey> = (0..4).map(|_| Pubkey::new_unique()).collect();
        assert_eq!(missing(&[k[1]], &[k[0], k[1], k[2], k[0], k[3]]), vec![k[0], k[2], k[3]]);
        assert!(missing(&k, &k).is_empty());
    }

    #[test]
    fn extensions_come_in_chunks_and_decode_refuses_other_accounts() {
        let (t, a) = (Pubkey::new_unique(), Pubkey::new_unique());
        let keys: Vec<Pubkey> = (0..45).map(|_| Pubkey::new_unique()).collect();
        assert_eq!(extend_ixs(&t, &a, &a, &keys).len(), 3);
        let wrong = decode(&t, &Pubkey::new_unique(), &[0; 56]).unwrap_err();
        assert!(wrong.to_string().contains("not the address-lookup-table program"), "{wrong}");
        let short = decode(&t, &PROGRAM_ID, &[1, 0, 0]).unwrap_err();
        assert!(short.to_string().contains("not an address lookup table"), "{short}");
    }
}
