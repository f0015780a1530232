//! Version-0 transactions with an address lookup table: how a client fits a large book's accounts into one packet.
//! A 16-position vault passes sixteen market accounts to each rebalance or allocation; listed in full (32 bytes
//! each) with the instruction's own accounts they pass the 1,232-byte limit, referenced from a table (one byte each)
//! they do not.
use keel_client::lookup;
use solana_program_test::{ProgramTestBanksClientExt, ProgramTestContext};
use solana_sdk::{
    clock::Clock, instruction::Instruction, message::AddressLookupTableAccount, pubkey::Pubkey, signature::Keypair,
    signer::Signer, transaction::VersionedTransaction, transport::TransportError,
};

/// Creates a lookup table of `addresses` owned by the payer, and moves the bank to the next slot so that the table is
/// usable (addresses added in a slot are active from the next one). The clock's unix time is kept: markets and the
/// oracle are fresh by time, and tests set it themselves.
pub async fn lookup_table(ctx: &mut ProgramTestContext, addresses: &[Pubkey]) -> AddressLookupTableAccount {
    let payer = ctx.payer.pubkey();
    let clock: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    // The table's address derives from a slot the SlotHashes sysvar holds: one before the current.
    advance_slot(ctx, &clock).await;
    let (create, key) = lookup::create_ix(&payer, &payer, clock.slot);
    crate::send(ctx, &[create]).await.expect("create the lookup table");
    for extend in lookup::extend_ixs(&key, &payer, &payer, addresses) {
        crate::send(ctx, &[extend]).await.expect("extend it");
    }
    advance_slot(ctx, &clock).await;
    AddressLookupTableAccount { key, addresses: addresses.to_vec() }
}

/// The next slot, with `clock`'s unix time.
async fn advance_slot(ctx: &mut ProgramTestContext, clock: &Clock) {
    let now: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    ctx.warp_to_slot(now.slot + 1).expect("warp one slot");
    let mut next: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    next.unix_timestamp = clock.unix_timestamp;
    ctx.set_sysvar(&next);
}

/// A version-0 transaction of `ixs` paid by the context payer and signed also by `signers`, its accounts looked up in
/// `table` where they are there; refused like a cluster would if it exceeds one packet.
pub async fn versioned(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
    table: &AddressLookupTableAccount,
) -> VersionedTransaction {
    let blockhash = ctx.banks_client.get_new_latest_blockhash(&ctx.last_blockhash).await.expect("blockhash");
    ctx.last_blockhash = blockhash;
    let message =
        lookup::compile(&ctx.payer.pubkey(), ixs, std::slice::from_ref(table), blockhash).expect("a v0 message");
    let mut all: Vec<&Keypair> = vec![&ctx.payer];
    all.extend_from_slice(signers);
    lookup::sign(message, &all).expect("signed, within one packet")
}

/// Sends `ixs` as one version-0 transaction (see [`versioned`]).
pub async fn send_v0(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
    table: &AddressLookupTableAccount,
) -> Result<(), TransportError> {
    let tx = versioned(ctx, ixs, signers, table).await;
    ctx.banks_client.process_transaction(tx).await.map_err(Into::into)
}

/// [`send_v0`] with the units `program`'s top-level invocations consumed beyond their CPIs (see
/// [`crate::send_metered`]).
pub async fn send_v0_metered(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
    table: &AddressLookupTableAccount,
    program: &Pubkey,
) -> (Result<(), TransportError>, Vec<u64>) {
    let tx = versioned(ctx, ixs, signers, table).await;
    let out = ctx.banks_client.process_transaction_with_metadata(tx).await.expect("banks");
    let logs = out.metadata.map(|m| m.log_messages).unwrap_or_default();
    (out.result.map_err(Into::into), crate::units_beyond_cpis(&logs, program))
}
