//! keel-vault keeper rebalancing and deleveraging on the real runtime: the validation rules one by one, competing
//! keepers, the reward paid exactly as the formula says, stale caches, pauses.
use fixed::types::I80F48;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_vault::error::VaultError;
use keel_vault::events::RiskSnapshot;
use keel_vault::instructions::{Leg, Pricing};
use keel_vault::state::MandateConfig;
use keel_venue::error::VenueError;
use solana_program_test::ProgramTestContext;
use solana_sdk::{signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect(result: TxResult, want: VaultError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

/// A vault (k = 0.001 of risk removed, so the reward is below its cap) holding 100,000 with 30,000 at the venue
/// in 100 short calls delta-hedged with perps.
async fn hedged_vault(ctx: &mut ProgramTestContext, mandate: MandateConfig, margin: u64) -> VaultFixture {
    let t = TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let fee = Keypair::new();
    let mut config = default_vault_config(&FIXTURE_MARKETS, fee.pubkey());
    config.mandate = mandate;
    config.rebalance.reward_per_risk = pod(0.001);
    let v = VaultFixture::with_config(ctx, t, 0, config, fee).await;
    let d = v.depositor(ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(ctx, &d, 100_000 * USDC).await;
    send_with(ctx, &[ix], &[&d.a.key]).await.unwrap();
    let call = v.t.market_state(ctx, CALL).await;
    let hedge = (call.cache.delta.fx() * I80F48::from_num(100 * LOT)).round().to_num::<i64>();
    let legs = vec![v.leg(CALL, -100 * LOT, 0.0), v.leg(PERP, hedge, 101.0)];
    v.allocate(ctx, margin, legs, 0).await.expect("hedged book inside the mandate");
    v
}

/// [`hedged_vault`] under the default mandate after a rally to 108 has left its short calls' delta out of the 5-unit
/// band; with that delta.
async fn rallied_vault(ctx: &mut ProgramTestContext) -> (VaultFixture, f64) {
    let mandate = default_vault_config(&[], Keypair::new().pubkey()).mandate;
    let mut v = hedged_vault(ctx, mandate, 30_000 * USDC).await;
    for px in [102.0, 104.0, 106.0, 108.0] {
        v.t.set_price(ctx, px).await;
    }
    let (delta, _, _) = measure(ctx, &v).await;
    assert!(delta < -5.0, "delta {delta} left the band");
    (v, delta)
}

async fn keeper(ctx: &mut ProgramTestContext, v: &VaultFixture) -> Actor {
    actor(ctx, v.t.f.mint, v.t.token_program, 0).await
}

async fn send_rebalance(
    ctx: &mut ProgramTestContext,
    v: &VaultFixture,
    k: &Actor,
    pricing: Pricing,
    legs: Vec<Leg>,
    deleverage: bool,
) -> TxResult {
    let ix = v.rebalance_ix(ctx, &k.pubkey(), &k.collateral, pricing, legs, 0, deleverage).await;
    send_with(ctx, &[ix], &[&k.key]).await
}

async fn pricing(ctx: &mut ProgramTestContext, v: &VaultFixture, spot: f64) -> Pricing {
    Pricing { expected_sequence: v.state(ctx).await.sequence, priced_slot: slot(ctx).await, priced_price: bits(spot) }
}

#[tokio::test]
async fn rebalances_are_validated_and_paid_exactly() {
    let mut ctx = program_test().start_with_context().await;
    // The rally leaves the short calls' delta unhedged: out of the 5-unit band.
    let (mut v, delta) = rallied_vault(&mut ctx).await;
    let (k1, k2) = (keeper(&mut ctx, &v).await, keeper(&mut ctx, &v).await);
    let flatten = (-delta * 1e6).round() as i64;
    let p = pricing(&mut ctx, &v, 108.0).await;

    // Latency binding and pricing age.
    let moved = Pricing { priced_price: bits(100.0), ..p };
    expect(
        send_rebalance(&mut ctx, &v, &k1, moved, vec![v.leg(PERP, flatten, 109.0)], false).await,
        VaultError::OracleMovedSincePricing,
    );
    let future = Pricing { priced_slot: p.priced_slot + 5, ..p };
    expect(
        send_rebalance(&mut ctx, &v, &k1, future, vec![v.leg(PERP, flatten, 109.0)], false).await,
        VaultError::PricingTooOld,
    );
    // Doing nothing is not a rebalance.
    expect(send_rebalance(&mut ctx, &v, &k1, p, vec![], false).await, VaultError::NotRiskReducing);
    // Back in band while pushing vega past its limit (200 short calls) is refused.
    let call = v.t.market_state(&mut ctx, CALL).await;
    let extra_hedge = (call.cache.delta.fx() * I80F48::from_num(100 * LOT)).round().to_num::<i64>();
    let legs = vec![v.leg(CALL, -100 * LOT, 0.0), v.leg(PERP, flatten + extra_hedge, 109.0)];
    expect(send_rebalance(&mut ctx, &v, &k1, p, legs, false).await, VaultError::LimitWorsened);
    // A small fix buried in an expensive round trip costs more than the risk it removes.
    let legs = vec![v.leg(PERP, 3 * LOT, 109.0), v.leg(PERP, 500 * LOT, 109.0), v.leg(PERP, -500 * LOT, 107.0)];
    expect(send_rebalance(&mut ctx, &v, &k1, p, legs, false).await, VaultError::RiskNotWorthCost);

    // The real thing: buy the perps that flatten delta. Reward = min(cap, k x risk removed), exactly.
    let (worst_before, delta_risk_before) = reward_basis(&mut ctx, &v).await;
    let snapshot_before = fresh_snapshot(&mut ctx, &v).await;
    let ix =
        v.rebalance_ix(&mut ctx, &k1.pubkey(), &k1.collateral, p, vec![v.leg(PERP, flatten, 109.0)], 0, false).await;
    let (_, events) = simulate_with(&mut ctx, std::slice::from_ref(&ix), &[&k1.key]).await;
    send_with(&mut ctx, &[ix], &[&k1.key]).await.expect("rebalance");
    if keel_keeper::chain::embedded::sbf_mode() {
        // The states the program judged, bit for bit the book valued afresh: after, the venue's report of the book
        // after the trade; before, that report with the traded perp's terms swapped back (the calls it never read).
        let e: keel_vault::events::Rebalanced = event(&events).expect("a Rebalanced event");
        assert_eq!(e.after, RiskSnapshot { breach: e.after.breach, ..fresh_snapshot(&mut ctx, &v).await });
        assert_eq!(e.before, RiskSnapshot { breach: e.before.breach, ..snapshot_before });
        assert_ne!(e.before, e.after);
        assert_eq!(e.reward, token_balance(&mut ctx, k1.collateral).await);
    } else {
        assert!(events.is_empty(), "natively emit! logs nothing");
    }
    let (delta_after, _, _) = measure(&mut ctx, &v).await;
    let (worst_after, delta_risk_after) = reward_basis(&mut ctx, &v).await;
    assert!(delta_after.abs() < 0.01, "delta back to ~0: {delta_after}");
    let removed = (worst_before - worst_after).max(delta_risk_before - delta_risk_after);
    let earned: u64 = (I80F48::from_bits(bits(0.001)) * removed).floor().to_num();
    let want = earned.min(50 * USDC);
    assert!(want > 0);
    assert_eq!(token_balance(&mut ctx, k1.collateral).await, want);
    let s = v.state(&mut ctx).await;
    assert_eq!((s.sequence, s.reward_paid_today), (2, want));
    assert_eq!(token_balance(&mut ctx, idle_pda(&v.vault)).await, s.idle_assets);

    // A competing keeper that priced against the old sequence fails cleanly; with the new one, a vault inside
    // its mandate cannot be rebalanced again before the interval.
    expect(send_rebalance(&mut ctx, &v, &k2, p, vec![v.leg(PERP, LOT, 109.0)], false).await, VaultError::StaleSequence);
    let p2 = pricing(&mut ctx, &v, 108.0).await;
    expect(
        send_rebalance(&mut ctx, &v, &k2, p2, vec![v.leg(PERP, LOT, 109.0)], false).await,
        VaultError::RebalanceTooSoon,
    );

    // A cache older than its limit: the venue's error tells the keeper to refresh first.
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 61).await;
    v.t.set_oracle(&mut ctx, PythPrice::new(FEED, 108.0, t + 61));
    let r = send_rebalance(&mut ctx, &v, &k2, p2, vec![v.leg(PERP, LOT, 109.0)], false).await;
    assert_eq!(custom_error(r), u32::from(VenueError::RiskCacheStale));

    // Paused: no rebalancing.
    v.t.set_price(&mut ctx, 108.0).await;
    let g = v.guardian.pubkey();
    let ix = pause_ix(&g, &v.vault, 3600);
    send_with(&mut ctx, &[ix], &[&v.guardian]).await.unwrap();
    expect(send_rebalance(&mut ctx, &v, &k2, p2, vec![v.leg(PERP, LOT, 109.0)], false).await, VaultError::VaultPaused);
}

#[tokio::test]
async fn deleverage_only_when_underwater_only_reducing_even_when_paused() {
    let mut ctx = program_test().start_with_context().await;
    let base = default_vault_config(&[], Keypair::new().pubkey()).mandate;
    let mandate = MandateConfig { min_health: pod(2.0), delta_band: pod(1_000.0), max_abs_vega: pod(1e6), ..base };
    let mut v = hedged_vault(&mut ctx, mandate, 2_000 * USDC).await;
    let k = keeper(&mut ctx, &v).await;
    let p = pricing(&mut ctx, &v, 100.0).await;
    expect(
        send_rebalance(&mut ctx, &v, &k, p, vec![v.leg(CALL, 10 * LOT, 1e6)], true).await,
        VaultError::NotUnderwater,
    );

    // Rally until venue health falls below the mandate's 2.0.
    let mut spot = 100.0;
    while measure(&mut ctx, &v).await.2 >= 2.0 {
        spot += 1.0;
        assert!(spot < 130.0, "health should fall below 2 on the way up");
        v.t.set_price(&mut ctx, spot).await;
    }
    // The guardian's pause does not stop deleveraging.
    let g = v.guardian.pubkey();
    send_with(&mut ctx, &[pause_ix(&g, &v.vault, 3600)], &[&v.guardian]).await.unwrap();
    let p = pricing(&mut ctx, &v, spot).await;
    expect(
        send_rebalance(&mut ctx, &v, &k, p, vec![v.leg(CALL, -10 * LOT, 0.0)], true).await,
        VaultError::NotReduceOnly,
    );
    let (_, _, health_before) = measure(&mut ctx, &v).await;
    send_rebalance(&mut ctx, &v, &k, p, vec![v.leg(CALL, 50 * LOT, 1e6)], true).await.expect("buy back half the calls");
    let (_, _, health_after) = measure(&mut ctx, &v).await;
    assert!(health_after > health_before, "{health_before} -> {health_after}");
    assert!(token_balance(&mut ctx, k.collateral).await > 0, "the deleverager is paid");
}

#[tokio::test]
async fn each_breached_limit_is_cured_by_a_rewarded_rebalance() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    // Seven vaults, each holding 100 naked short calls under loose limits; then the curator tightens one limit
    // per vault through the timelock, so each starts breached in exactly that limit.
    let tighten: [fn(&mut MandateConfig); 7] = [
        |m| m.delta_band = pod(5.0),
        |m| m.max_abs_gamma = pod(1.0),
        |m| m.max_abs_vega = pod(500.0),
        |m| m.max_var_fraction = pod(0.001),
        |m| m.min_health = pod(100.0),
        |m| m.max_leverage = pod(0.05),
        |m| m.min_idle_fraction = pod(0.8),
    ];
    let mut vaults = Vec::new();
    for (i, f) in tighten.iter().enumerate() {
        let fee = Keypair::new();
        let config =
            keel_vault::state::VaultConfig { fee_recipient: fee.pubkey(), ..loose_vault_config(&FIXTURE_MARKETS) };
        let v = VaultFixture::with_config(&mut ctx, t.clone(), 10 + i as u16, config, fee).await;
        let d = v.depositor(&mut ctx, 100_000 * USDC).await;
        let ix = v.deposit_ix(&mut ctx, &d, 100_000 * USDC).await;
        send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
        v.allocate(&mut ctx, 30_000 * USDC, vec![v.leg(CALL, -100 * LOT, 0.0)], 0).await.unwrap();
        let mut next = v.state(&mut ctx).await.config;
        f(&mut next.mandate);
        let curator = ctx.payer.pubkey();
        send(&mut ctx, &[queue_config_ix(&curator, &v.vault, next)]).await.unwrap();
        vaults.push(v);
    }
    let t0 = now(&mut ctx).await;
    set_time(&mut ctx, t0 + 2 * 86_400).await;
    let mut t = t;
    t.set_price(&mut ctx, 100.0).await;
    let me = ctx.payer.pubkey();
    for (i, v) in vaults.iter().enumerate() {
        send(&mut ctx, &[apply_config_ix(&me, &v.vault, false)]).await.unwrap();
        // The keeper buys back half the calls (and, for the idle floor, returns 15,000 of freed margin).
        let k = keeper(&mut ctx, v).await;
        let (worst_before, delta_risk_before) = reward_basis(&mut ctx, v).await;
        let p = pricing(&mut ctx, v, 100.0).await;
        let margin_out = if i == 6 { 15_000 * USDC } else { 0 };
        let ix = v
            .rebalance_ix(&mut ctx, &k.pubkey(), &k.collateral, p, vec![v.leg(CALL, 50 * LOT, 1e6)], margin_out, false)
            .await;
        send_with(&mut ctx, &[ix], &[&k.key]).await.unwrap_or_else(|e| panic!("limit {i}: {e:?}"));
        let (worst_after, delta_risk_after) = reward_basis(&mut ctx, v).await;
        let removed = (worst_before - worst_after).max(delta_risk_before - delta_risk_after);
        let earned: u64 = (I80F48::from_bits(bits(0.1)) * removed).floor().to_num();
        assert_eq!(token_balance(&mut ctx, k.collateral).await, earned.min(50 * USDC), "limit {i}: reward");
        let s = v.state(&mut ctx).await;
        assert_eq!(token_balance(&mut ctx, idle_pda(&v.vault)).await, s.idle_assets, "limit {i}: idle reconciles");
    }
}

#[tokio::test]
async fn with_the_breaker_tripped_only_risk_reducing_rebalances_run() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let fee = Keypair::new();
    let mut config =
        keel_vault::state::VaultConfig { fee_recipient: fee.pubkey(), ..loose_vault_config(&FIXTURE_MARKETS) };
    config.mandate.delta_band = pod(5.0);
    let mut v = VaultFixture::with_config(&mut ctx, t, 0, config, fee).await;
    let d = v.depositor(&mut ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(&mut ctx, &d, 50_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    // 15 naked short calls (delta ~ -4, inside the band); a rally pushes delta out of it.
    v.allocate(&mut ctx, 20_000 * USDC, vec![v.leg(CALL, -15 * LOT, 0.0)], 0).await.unwrap();
    for px in [102.0, 104.0, 106.0] {
        v.t.set_price(&mut ctx, px).await;
    }
    assert!(measure(&mut ctx, &v).await.0 < -5.0);
    // Spot now 12% above its EMA: the breaker trips.
    let p = PythPrice::new(FEED, 106.0, now(&mut ctx).await);
    v.t.set_oracle(&mut ctx, PythPrice { ema_price: p.price * 100 / 112, ..p });
    let ix = v.deposit_ix(&mut ctx, &d, 1_000 * USDC).await;
    expect(send_with(&mut ctx, &[ix], &[&d.a.key]).await, VaultError::CircuitBreakerTripped);
    expect(v.allocate(&mut ctx, 0, vec![v.leg(PERP, 5 * LOT, 107.0)], 0).await, VaultError::CircuitBreakerTripped);
    // Exits and risk reduction still run: a withdrawal request, and a keeper buying half the calls back.
    let ix = v.request_ix(&mut ctx, &d, 1_000_000_000).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("withdrawal request under the breaker");
    let k = keeper(&mut ctx, &v).await;
    let pr = pricing(&mut ctx, &v, 106.0).await;
    send_rebalance(&mut ctx, &v, &k, pr, vec![v.leg(CALL, 10 * LOT, 1e6)], false)
        .await
        .expect("risk-reducing rebalance");
    assert!(measure(&mut ctx, &v).await.0.abs() <= 5.0, "delta back in its band");
    assert!(token_balance(&mut ctx, k.collateral).await > 0);
}

/// A rebalance with no legs: returning freed margin cures an idle-floor breach on its own. The venue's margin
/// withdrawal reports the book (the vault reads no position), and the states judged are the book valued afresh.
#[tokio::test]
async fn returning_margin_alone_cures_the_idle_floor() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let fee = Keypair::new();
    let config = keel_vault::state::VaultConfig { fee_recipient: fee.pubkey(), ..loose_vault_config(&FIXTURE_MARKETS) };
    let mut v = VaultFixture::with_config(&mut ctx, t, 0, config, fee).await;
    let d = v.depositor(&mut ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(&mut ctx, &d, 100_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    v.allocate(&mut ctx, 30_000 * USDC, vec![v.leg(CALL, -50 * LOT, 0.0)], 0).await.unwrap();
    // The curator raises the idle floor to 80% of NAV through the timelock: 70% idle now breaches it.
    let mut next = v.state(&mut ctx).await.config;
    next.mandate.min_idle_fraction = pod(0.8);
    let me = ctx.payer.pubkey();
    send(&mut ctx, &[queue_config_ix(&me, &v.vault, next)]).await.unwrap();
    let t0 = now(&mut ctx).await;
    set_time(&mut ctx, t0 + 2 * 86_400).await;
    v.t.set_price(&mut ctx, 100.0).await;
    send(&mut ctx, &[apply_config_ix(&me, &v.vault, false)]).await.unwrap();

    let k = keeper(&mut ctx, &v).await;
    let p = pricing(&mut ctx, &v, 100.0).await;
    let (idle, collateral) = (v.state(&mut ctx).await.idle_assets, v.t.margin(&mut ctx, &v.vault).await.collateral);
    let snapshot_before = fresh_snapshot(&mut ctx, &v).await;
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &k.collateral, p, vec![], 15_000 * USDC, false).await;
    let (_, events) = simulate_with(&mut ctx, std::slice::from_ref(&ix), &[&k.key]).await;
    send_with(&mut ctx, &[ix], &[&k.key]).await.expect("margin returned to idle");
    let s = v.state(&mut ctx).await;
    // No risk was removed, so nothing is paid; the margin moved in full.
    assert_eq!((s.idle_assets, token_balance(&mut ctx, k.collateral).await), (idle + 15_000 * USDC, 0));
    assert_eq!(v.t.margin(&mut ctx, &v.vault).await.collateral, collateral - 15_000 * USDC as i64);
    assert_eq!(token_balance(&mut ctx, idle_pda(&v.vault)).await, s.idle_assets);
    if keel_keeper::chain::embedded::sbf_mode() {
        let e: keel_vault::events::Rebalanced = event(&events).expect("a Rebalanced event");
        assert_eq!(e.before, RiskSnapshot { breach: e.before.breach, ..snapshot_before });
        assert_eq!(e.after, RiskSnapshot { breach: e.after.breach, ..fresh_snapshot(&mut ctx, &v).await });
        assert!(e.after.breach < e.before.breach, "the idle excess fell");
    }
}

/// Several legs, one market traded twice and last: the venue reports the book after the last trade and that
/// market's position on its own; the vault reads again only the market the earlier legs alone traded. The states
/// judged are the book valued afresh before and after, bit for bit (SBF tier, where events exist).
#[tokio::test]
async fn a_rebalance_of_several_legs_is_judged_on_the_whole_book_before_and_after() {
    let mut ctx = program_test().start_with_context().await;
    let (v, delta) = rallied_vault(&mut ctx).await;
    // Buy back 25 of the 100 short calls in two legs around a perp leg that flattens what is left of delta.
    let call = v.t.market_state(&mut ctx, CALL).await;
    let bought_back = call.cache.delta.fx().to_num::<f64>() * 25.0;
    let perps = ((-delta - bought_back) * 1e6).round() as i64;
    let legs = vec![v.leg(CALL, 20 * LOT, 1e6), v.leg(PERP, perps, 109.0), v.leg(CALL, 5 * LOT, 1e6)];
    let k = keeper(&mut ctx, &v).await;
    let p = pricing(&mut ctx, &v, 108.0).await;
    let snapshot_before = fresh_snapshot(&mut ctx, &v).await;
    let held_before = v.t.margin(&mut ctx, &v.vault).await;
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &k.collateral, p, legs, 0, false).await;
    let (_, events) = simulate_with(&mut ctx, std::slice::from_ref(&ix), &[&k.key]).await;
    send_with(&mut ctx, &[ix], &[&k.key]).await.expect("a three-leg cure");
    let held = v.t.margin(&mut ctx, &v.vault).await;
    let size = |a: &keel_venue::state::MarginAccount, m: u32| {
        a.slot_of(&market_pda(&v.t.f.venue, m)).map_or(0, |i| a.positions[i].size)
    };
    assert_eq!(size(&held, CALL), size(&held_before, CALL) + 25 * LOT);
    assert_eq!(size(&held, PERP), size(&held_before, PERP) + perps);
    assert!(measure(&mut ctx, &v).await.0.abs() < 0.05, "delta back to ~0");
    if keel_keeper::chain::embedded::sbf_mode() {
        let e: keel_vault::events::Rebalanced = event(&events).expect("a Rebalanced event");
        assert_eq!(e.before, RiskSnapshot { breach: e.before.breach, ..snapshot_before });
        assert_eq!(e.after, RiskSnapshot { breach: e.after.breach, ..fresh_snapshot(&mut ctx, &v).await });
        assert!(e.reward > 0 && e.after.breach < e.before.breach);
    }
}

/// The reward's destination is left to the token program: a token account of another mint (or an account that is
/// not a token account) fails the reward's `transfer_checked`, the whole rebalance with it, and nothing moves; paying
/// "to" the vault's own idle account is refused before anything runs.
#[tokio::test]
async fn a_reward_to_a_foreign_or_fake_token_account_fails_and_nothing_moves() {
    let mut ctx = program_test().start_with_context().await;
    let (v, delta) = rallied_vault(&mut ctx).await;
    let cure = vec![v.leg(PERP, (-delta * 1e6).round() as i64, 109.0)];
    let k = keeper(&mut ctx, &v).await;
    let p = pricing(&mut ctx, &v, 108.0).await;
    let token = v.t.token_program;
    let other_mint = create_mint(&mut ctx, token, 6).await;
    let foreign = create_token_account(&mut ctx, token, other_mint, k.pubkey()).await;
    let fake = Keypair::new().pubkey();
    fund(&mut ctx, fake, 10_000_000).await;
    let (state, margin) = (v.state(&mut ctx).await, v.t.margin(&mut ctx, &v.vault).await);
    // Another mint's token account: the reward's transfer_checked fails with the token program's MintMismatch.
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &foreign, p, cure.clone(), 0, false).await;
    let mint_mismatch = anchor_spl::token::spl_token::error::TokenError::MintMismatch as u32;
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&k.key]).await), mint_mismatch);
    // The vault's own idle account: refused before anything runs.
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &idle_pda(&v.vault), p, cure.clone(), 0, false).await;
    let dup = u32::from(anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount);
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&k.key]).await), dup);
    // A system account: not a token account, refused by the token program.
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &fake, p, cure.clone(), 0, false).await;
    assert!(send_with(&mut ctx, &[ix], &[&k.key]).await.is_err());
    // Nothing moved: the sequence, idle, the margin account and the foreign account are as they were.
    let after = v.state(&mut ctx).await;
    assert_eq!((after.sequence, after.idle_assets, after.reward_paid_today), (state.sequence, state.idle_assets, 0));
    assert_eq!(v.t.margin(&mut ctx, &v.vault).await, margin);
    assert_eq!(token_balance(&mut ctx, foreign).await, 0);
    // The same cure to the keeper's own account goes through and pays it.
    let ix = v.rebalance_ix(&mut ctx, &k.pubkey(), &k.collateral, p, cure, 0, false).await;
    send_with(&mut ctx, &[ix], &[&k.key]).await.expect("the cure");
    assert!(token_balance(&mut ctx, k.collateral).await > 0);
}
