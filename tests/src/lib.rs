//! Shared fixtures for Keel's cross-program integration tests: a [`ProgramTest`] with both Keel programs registered
//! natively (SPL Token / Token-2022 / ATA are the real SBF binaries bundled with solana-program-test), helpers to
//! build and send Anchor instructions, real SPL mints, real Pyth PriceUpdateV2 accounts, and clock control.
use anchor_lang::AccountDeserialize;
use solana_program_test::{processor, ProgramTest, ProgramTestBanksClientExt, ProgramTestContext};
use solana_sdk::{
    account::Account,
    clock::Clock,
    instruction::{Instruction, InstructionError},
    pubkey::Pubkey,
    signature::{Keypair, Signer},
    transaction::{Transaction, TransactionError},
    transport::TransportError,
};

pub mod fuzz;
pub mod lookup;
pub mod trading;
pub mod vault;
pub mod venue;

/// The keeper's embedded bank (keel-venue and keel-vault natively, or their SBF builds with `KEEL_SBF=1`) plus the
/// test-only integrator.
pub fn program_test() -> ProgramTest {
    let mut pt = keel_keeper::chain::embedded::program_test();
    // Always native, also in KEEL_SBF mode (prefer_bpf is read per add_program): a test-only CPI caller, not a
    // program we ship, so it has no SBF build.
    pt.prefer_bpf(false);
    pt.add_program("keel_integrator", keel_integrator::ID, processor!(keel_integrator::process_native));
    pt
}

pub use keel_client::{anchor_ix, bits, pod};

/// Signs with the context payer plus `signers` and sends one transaction.
pub async fn send_with(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), TransportError> {
    let blockhash = ctx.banks_client.get_new_latest_blockhash(&ctx.last_blockhash).await?;
    ctx.last_blockhash = blockhash;
    let mut all: Vec<&Keypair> = vec![&ctx.payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&ctx.payer.pubkey()), &all, blockhash);
    // The bank accepts any size; a cluster refuses a transaction over one packet, so the suite does too.
    keel_client::chain::check_size(&tx).map_err(|e| TransportError::Custom(e.to_string()))?;
    ctx.banks_client.process_transaction(tx).await.map_err(Into::into)
}

/// Sends `ixs` as one transaction natively. In the SBF tier (`KEEL_SBF=1`) each instruction goes in its own
/// transaction, signed by those of `signers` it names: metered, an option market's refresh costs more than a third
/// of a transaction's 1.4M units on the offline SBF build (see BENCHMARKS.md), so a batch of them cannot share one.
pub async fn send_batch(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), TransportError> {
    if !keel_keeper::chain::embedded::sbf_mode() {
        return send_with(ctx, ixs, signers).await;
    }
    for ix in ixs {
        let needed: Vec<&Keypair> = signers
            .iter()
            .copied()
            .filter(|k| ix.accounts.iter().any(|a| a.is_signer && a.pubkey == k.pubkey()))
            .collect();
        send_with(ctx, std::slice::from_ref(ix), &needed).await?;
    }
    Ok(())
}

/// What a simulation of `ixs` (signed by the payer and `signers`) shows beyond success: the return data (with the
/// program that set it; in both tiers, see keel_venue::return_data) and the events (`emit!` payloads, discriminator
/// first; SBF tier only: natively solana-cpi 3.x compiles `sol_log_data` to a no-op, so they come back empty).
pub async fn simulate_with(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> (Option<(Pubkey, Vec<u8>)>, Vec<Vec<u8>>) {
    use base64::Engine;
    let blockhash = ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
    let mut all: Vec<&Keypair> = vec![&ctx.payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&ctx.payer.pubkey()), &all, blockhash);
    let sim = ctx.banks_client.simulate_transaction(tx).await.expect("simulate");
    assert!(sim.result.as_ref().is_some_and(|r| r.is_ok()), "simulation failed: {:?}", sim.result);
    let details = sim.simulation_details.expect("simulation details");
    let events = details
        .logs
        .iter()
        .filter_map(|l| l.strip_prefix("Program data: "))
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b).expect("base64 event"))
        .collect();
    (details.return_data.map(|r| (r.program_id, r.data)), events)
}

/// The first event of type `E` among `events` (see [`simulate_with`]).
pub fn event<E: anchor_lang::Event + anchor_lang::AnchorDeserialize>(events: &[Vec<u8>]) -> Option<E> {
    events.iter().find_map(|e| {
        let body = e.strip_prefix(E::DISCRIMINATOR)?;
        Some(E::try_from_slice(body).expect("event decodes"))
    })
}

/// Signs with the context payer only.
pub async fn send(ctx: &mut ProgramTestContext, ixs: &[Instruction]) -> Result<(), TransportError> {
    send_with(ctx, ixs, &[]).await
}

/// The custom error code of a failed single-instruction transaction (panics with the error otherwise).
pub fn custom_error(result: Result<(), TransportError>) -> u32 {
    match result {
        Err(TransportError::TransactionError(TransactionError::InstructionError(_, InstructionError::Custom(c)))) => c,
        other => panic!("expected a custom program error, got {other:?}"),
    }
}

/// Fetches and deserialises an Anchor account (panics if it does not exist: tests use it on accounts they made).
pub async fn account<T: AccountDeserialize>(ctx: &mut ProgramTestContext, key: Pubkey) -> T {
    let acc = ctx.banks_client.get_account(key).await.expect("rpc").expect("account exists");
    T::try_deserialize(&mut acc.data.as_slice()).expect("deserialize")
}

/// Sets the bank clock's unix timestamp (other fields kept).
pub async fn set_time(ctx: &mut ProgramTestContext, unix_timestamp: i64) {
    let mut clock: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    clock.unix_timestamp = unix_timestamp;
    ctx.set_sysvar(&clock);
}

pub async fn now(ctx: &mut ProgramTestContext) -> i64 {
    let clock: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    clock.unix_timestamp
}

/// Creates a mint owned by `token_program` (SPL Token or Token-2022) with the payer as mint authority.
pub async fn create_mint(ctx: &mut ProgramTestContext, token_program: Pubkey, decimals: u8) -> Pubkey {
    let mint = Keypair::new();
    let rent = ctx.banks_client.get_rent().await.expect("rent").minimum_balance(keel_client::token::MINT_LEN);
    let payer = ctx.payer.pubkey();
    let ixs = keel_client::token::create_mint_ixs(&payer, &mint.pubkey(), &payer, &token_program, decimals, rent);
    send_with(ctx, &ixs, &[&mint]).await.expect("create mint");
    mint.pubkey()
}

/// Creates a token account of `mint` owned by `owner` (works for SPL Token and Token-2022 base accounts).
pub async fn create_token_account(
    ctx: &mut ProgramTestContext,
    token_program: Pubkey,
    mint: Pubkey,
    owner: Pubkey,
) -> Pubkey {
    let account = Keypair::new();
    let rent = ctx.banks_client.get_rent().await.expect("rent").minimum_balance(keel_client::token::ACCOUNT_LEN);
    let payer = ctx.payer.pubkey();
    let ixs =
        keel_client::token::create_token_account_ixs(&payer, &account.pubkey(), &mint, &owner, &token_program, rent);
    send_with(ctx, &ixs, &[&account]).await.expect("create token account");
    account.pubkey()
}

/// Mints `amount` of `mint` (mint authority: the context payer) to `to`.
pub async fn mint_to(ctx: &mut ProgramTestContext, token_program: Pubkey, mint: Pubkey, to: Pubkey, amount: u64) {
    let payer = ctx.payer.pubkey();
    let ix = keel_client::token::mint_to_ix(&token_program, &mint, &to, &payer, amount);
    send(ctx, &[ix]).await.expect("mint to");
}

/// A token account's balance.
pub async fn token_balance(ctx: &mut ProgramTestContext, account: Pubkey) -> u64 {
    let acc = ctx.banks_client.get_account(account).await.expect("rpc").expect("token account exists");
    keel_client::token::token_amount(&acc.data).expect("a token account")
}

/// Sends lamports from the context payer (for signers that pay rent or fees).
pub async fn fund(ctx: &mut ProgramTestContext, to: Pubkey, lamports: u64) {
    let ix = solana_system_interface::instruction::transfer(&ctx.payer.pubkey(), &to, lamports);
    send(ctx, &[ix]).await.expect("fund");
}

pub use keel_client::pyth::PythPrice;

/// Writes a real PriceUpdateV2 account (Anchor discriminator + borsh, owned by the Pyth receiver program).
pub fn set_pyth_price(ctx: &mut ProgramTestContext, address: Pubkey, p: PythPrice) {
    let data = keel_client::pyth::price_update_data(&p);
    let account =
        Account { lamports: 10_000_000, data, owner: pyth_solana_receiver_sdk::ID, executable: false, rent_epoch: 0 };
    ctx.set_account(&address, &account.into());
}

/// Sends one transaction like [`send_with`] and returns, with its result, the compute units each top-level
/// instruction of `program` consumed beyond its CPIs (the runtime's own log lines, parsed the way
/// scripts/cu-table.py does). Metered only in the SBF tier: natively the programs run unmetered.
pub async fn send_metered(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
    program: &Pubkey,
) -> (Result<(), TransportError>, Vec<u64>) {
    let blockhash = ctx.banks_client.get_new_latest_blockhash(&ctx.last_blockhash).await.expect("blockhash");
    ctx.last_blockhash = blockhash;
    let mut all: Vec<&Keypair> = vec![&ctx.payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&ctx.payer.pubkey()), &all, blockhash);
    keel_client::chain::check_size(&tx).expect("one packet");
    let out = ctx.banks_client.process_transaction_with_metadata(tx).await.expect("banks");
    let logs = out.metadata.map(|m| m.log_messages).unwrap_or_default();
    (out.result.map_err(Into::into), units_beyond_cpis(&logs, program))
}

/// For each top-level invocation of `program` that succeeded: units consumed minus those of the programs it
/// invoked.
pub fn units_beyond_cpis(logs: &[String], program: &Pubkey) -> Vec<u64> {
    let id = program.to_string();
    // Frames: (program id, units consumed, units consumed by its CPIs).
    let mut stack: Vec<(String, u64, u64)> = Vec::new();
    let mut out = Vec::new();
    for line in logs {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Program", p, "invoke", _] => stack.push(((*p).to_string(), 0, 0)),
            ["Program", p, "consumed", n, "of", ..] => {
                if let Some(top) = stack.last_mut().filter(|t| t.0 == *p) {
                    top.1 = n.parse().expect("units");
                }
            }
            ["Program", p, result, ..] if *result == "success" || *result == "failed:" => {
                let Some((fid, units, inner)) = stack.pop().filter(|t| t.0 == *p) else { continue };
                match stack.last_mut() {
                    Some(parent) => parent.2 += units,
                    None if fid == id && *result == "success" => out.push(units - inner),
                    None => {}
                }
            }
            _ => {}
        }
    }
    out
}
