//! What a keeper's rebalance costs as the vault's book grows: the same delta cure (one perp leg) on books of 2, 4, 8,
//! 12 and 16 positions (a perp hedge and up to fifteen short options: 16 is the venue's per-account limit and the
//! issue's target book), then a depositor's deposit, withdrawal request and claim on each book. In the SBF tier the
//! units the vault consumed beyond its CPIs are written, one line per instruction and book, to the file named by
//! `KEEL_CU_BOOK` (scripts/sbf-test passes it to scripts/cu-table.py, which reports them and the
//! cost per position). Natively it checks the cure is accepted on every book.
//!
//! The allocations and the rebalance are version-0 transactions with the markets in an address lookup table: with
//! sixteen markets listed in full they would not fit in one packet.
use fixed::types::I80F48;
use keel_math::margin::Bound;
use keel_tests::lookup::{lookup_table, send_v0, send_v0_metered};
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_vault::instructions::{Moves, Pricing};
use keel_venue::state::MarketKind;
use solana_program_test::ProgramTestContext;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::{signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;
/// Calls added beside the fixture's call (1.1 x spot) and put (0.9 x spot), as multiples of spot: near the money,
/// so a rally moves the book's delta out of its band.
const EXTRA_CALLS: [f64; 13] = [1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.11, 1.12, 1.14];

/// The fixture's venue with thirteen more calls (markets 3-15), every market refreshed at `spot`.
async fn venue(ctx: &mut ProgramTestContext, spot: f64) -> TradingFixture {
    let mut t = TradingFixture::new(ctx, anchor_spl::token::ID, spot, 1_000_000 * USDC).await;
    let (admin, v, u) = (ctx.payer.pubkey(), t.f.venue, t.f.underlying());
    let ixs: Vec<_> = EXTRA_CALLS
        .iter()
        .zip(3u32..)
        .map(|(x, i)| {
            add_market_ix(&admin, &v, &u, Some(t.surface), i, option_config(MarketKind::Call, spot * x, t.expiry))
        })
        .collect();
    for chunk in ixs.chunks(4) {
        send_with(ctx, chunk, &[]).await.expect("add the extra calls");
    }
    set_price(ctx, &mut t, spot).await;
    t
}

/// The fixture's perp, call and put, then the extra calls.
const MARKETS: u32 = 16;

/// The fixture's price move, then a refresh of the extra markets too.
async fn set_price(ctx: &mut ProgramTestContext, t: &mut TradingFixture, spot: f64) {
    t.set_price(ctx, spot).await;
    let payer = ctx.payer.pubkey();
    let ixs: Vec<_> = (3..MARKETS)
        .map(|i| {
            let m = t.market(i);
            refresh_market_ix(&payer, &m.venue, &m.underlying, &m.market, &m.oracle, Some(t.surface))
        })
        .collect();
    for chunk in ixs.chunks(4) {
        send_batch(ctx, chunk, &[]).await.expect("refresh the extra calls");
    }
}

/// A vault of 100,000 with 30,000 at the venue in 100 short options split evenly over `options` markets, delta-hedged
/// with the perp: a book of `options + 1` positions inside the default mandate. With the lookup table of its markets.
async fn book(ctx: &mut ProgramTestContext, options: usize) -> (VaultFixture, AddressLookupTableAccount) {
    let t = venue(ctx, 100.0).await;
    let table = lookup_table(ctx, &(0..MARKETS).map(|i| market_pda(&t.f.venue, i)).collect::<Vec<_>>()).await;
    let allowed: Vec<u32> = (0..MARKETS).collect();
    let fee = Keypair::new();
    let config = default_vault_config(&allowed, fee.pubkey());
    let v = VaultFixture::with_config(ctx, t, 0, config, fee).await;
    let d = v.depositor(ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(ctx, &d, 100_000 * USDC).await;
    send_with(ctx, &[ix], &[&d.a.key]).await.expect("deposit");
    let size = 100 * LOT / i64::try_from(options).expect("small");
    // Four options and their hedge per allocation: eight legs would not fit in one packet.
    let markets: Vec<u32> = (1..MARKETS).take(options).collect();
    for chunk in markets.chunks(4) {
        let (mut legs, mut delta) = (Vec::new(), I80F48::ZERO);
        for &i in chunk {
            let m = v.t.market_state(ctx, i).await;
            delta += m.cache.delta.fx() * I80F48::from_num(-size);
            legs.push(v.leg(i, -size, 0.0));
        }
        legs.push(v.leg(PERP, (-delta).round().to_num::<i64>(), 101.0));
        let moves = Moves { margin_in: if chunk[0] == 1 { 30_000 * USDC } else { 0 }, ..Moves::default() };
        let ix = v.allocate_ix(ctx, &v.strategist.pubkey(), moves, legs).await;
        send_v0(ctx, &[ix], &[&v.strategist], &table).await.expect("a hedged book");
    }
    (v, table)
}

#[tokio::test]
async fn rebalance_cost_by_book_size() {
    let mut lines = Vec::new();
    for options in [1, 3, 7, 11, 15] {
        let mut ctx = program_test().start_with_context().await;
        let (mut v, table) = book(&mut ctx, options).await;
        let positions = v.t.margin(&mut ctx, &v.vault).await.positions.iter().filter(|p| p.is_open()).count();
        assert_eq!(positions, options + 1, "one position per option market plus the perp hedge");
        // The rally leaves the short options' delta unhedged, out of the 5-unit band.
        for px in [102.0, 104.0] {
            set_price(&mut ctx, &mut v.t, px).await;
        }
        let (delta, _, _) = measure(&mut ctx, &v).await;
        assert!(delta < -5.0, "delta {delta} left the band");
        let keeper = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
        let seq = v.state(&mut ctx).await.sequence;
        let p = Pricing { expected_sequence: seq, priced_slot: slot(&mut ctx).await, priced_price: bits(104.0) };
        let legs = vec![v.leg(PERP, (-delta * 1e6).round() as i64, 105.0)];
        let ix = v.rebalance_ix(&mut ctx, &keeper.pubkey(), &keeper.collateral, p, legs, 0, false).await;
        let (result, units) = send_v0_metered(&mut ctx, &[ix], &[&keeper.key], &table, &keel_vault::ID).await;
        result.expect("the delta cure is accepted");
        assert_eq!(v.state(&mut ctx).await.sequence, seq + 1);
        let (after, _, _) = measure(&mut ctx, &v).await;
        assert!(after.abs() < 0.01, "delta back to ~0: {after}");
        if keel_keeper::chain::embedded::sbf_mode() {
            assert_eq!(units.len(), 1, "one metered rebalance");
            lines.push(format!("vault Rebalance positions={positions} beyond_cpis={}", units[0]));
        }
        // A depositor's round trip on the same book: each flow values every position for the share price.
        for (name, units) in round_trip(&mut ctx, &mut v, &table).await {
            lines.push(format!("vault {name} positions={positions} beyond_cpis={units}"));
        }
    }
    if let Ok(path) = std::env::var("KEEL_CU_BOOK") {
        std::fs::write(&path, lines.join("\n") + "\n").expect("write the book-size measurements");
    }
}

/// The `nav` view checked against an independent valuation, then a new depositor's deposit, withdrawal request of
/// half the shares and claim after the delay (markets refreshed), each checked to have moved tokens; with the units each consumed beyond its CPIs in the SBF tier (none natively).
async fn round_trip(
    ctx: &mut ProgramTestContext,
    v: &mut VaultFixture,
    table: &AddressLookupTableAccount,
) -> Vec<(&'static str, u64)> {
    // The program's NAV (its `nav` view) is the off-chain valuation from the positions' full risk, at both bounds.
    let nav = v.nav_ix(ctx).await;
    let (returned, _) = simulate_with(ctx, &[nav], &[]).await;
    let view = <keel_vault::instructions::NavView as anchor_lang::AnchorDeserialize>::try_from_slice(
        &returned.expect("nav return data").1,
    )
    .expect("a NavView");
    let bounds = (v.nav(ctx, Bound::Lower).await, v.nav(ctx, Bound::Upper).await);
    assert_eq!((view.nav_lower, view.nav_upper), bounds);
    let d = v.depositor(ctx, 1_000 * USDC).await;
    let mut out = Vec::new();
    let mut metered = |name, units: Vec<u64>| {
        if keel_keeper::chain::embedded::sbf_mode() {
            assert_eq!(units.len(), 1, "one metered {name}");
            out.push((name, units[0]));
        }
    };
    let ix = v.deposit_ix(ctx, &d, 1_000 * USDC).await;
    let (result, units) = send_v0_metered(ctx, &[ix], &[&d.a.key], table, &keel_vault::ID).await;
    result.expect("deposit");
    metered("Deposit", units);
    let shares = token_balance(ctx, d.shares).await;
    assert!(shares > 0, "shares minted");
    let ix = v.request_ix(ctx, &d, shares / 2).await;
    let (result, units) = send_v0_metered(ctx, &[ix], &[&d.a.key], table, &keel_vault::ID).await;
    result.expect("withdrawal request");
    metered("RequestWithdrawal", units);
    let t = now(ctx).await;
    set_time(ctx, t + 86_400).await;
    set_price(ctx, &mut v.t, 104.0).await;
    let ix = v.claim_ix(ctx, &d).await;
    let (result, units) = send_v0_metered(ctx, &[ix], &[&d.a.key], table, &keel_vault::ID).await;
    result.expect("claim");
    metered("ClaimWithdrawal", units);
    assert!(token_balance(ctx, d.a.collateral).await > 0, "the claim paid");
    out
}

/// The keeper's own cycle on the 16-position book, on the embedded chain. Listed in full, the book's markets do not
/// fit one packet beside the rebalance's own accounts, and the chain refuses it with its size and what to do; with
/// them in a lookup table the chain made (created, extended, usable from the next slot, the clock's time kept) it
/// compiles version-0 transactions: the keeper refreshes the sixteen markets in batches a transaction's compute can
/// pay for, and its delta cure lands.
#[tokio::test]
async fn the_keepers_cycle_cures_a_16_position_book_through_a_lookup_table() {
    use keel_keeper::chain::{Chain, ChainError, Embedded, TableChain};
    use keel_keeper::rebalancer::Outcome;
    let mut ctx = program_test().start_with_context().await;
    let (mut v, fixture_table) = book(&mut ctx, 15).await;
    for px in [102.0, 104.0] {
        set_price(&mut ctx, &mut v.t, px).await;
    }
    let mut keeper = v.rebalancer(&mut ctx).await;
    let seq = v.state(&mut ctx).await.sequence;
    let mut chain = Embedded::from_context(ctx);
    let plan = keeper.plan(&mut chain).await.expect("planned").expect("a delta cure");
    let refused = chain.simulate(&plan.instructions, &[&keeper.keeper]).await.expect_err("too large as legacy");
    assert!(
        matches!(&refused, ChainError::Transaction(why) if why.contains("a cluster accepts at most 1232")
            && why.contains("address lookup table")),
        "{refused:?}"
    );

    let time = chain.clock().await.expect("clock").unix_timestamp;
    let made = chain.ensure_lookup_table(None, &fixture_table.addresses).await.expect("a table on the embedded bank");
    assert!(made.created && made.added == 16 && made.holds == 16, "{made:?}");
    assert_eq!(chain.clock().await.expect("clock").unix_timestamp, time, "the clock's time is kept");
    chain.use_lookup_tables(&[made.table]).await.expect("use it");
    assert_eq!(chain.lookup_tables()[0].addresses, fixture_table.addresses);
    match keeper.cycle(&mut chain).await.expect("a cycle") {
        Outcome::Rebalanced { sequence, .. } => assert_eq!(sequence, seq + 1),
        other => panic!("expected the delta cure, got {other:?}"),
    }
    let mut ctx = chain.into_context();
    assert_eq!(v.state(&mut ctx).await.sequence, seq + 1);
    let (delta, _, _) = measure(&mut ctx, &v).await;
    assert!(delta.abs() < 0.01, "delta back to ~0: {delta}");
}
