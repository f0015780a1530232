//! keel-vault's on-chain mandate: every limit rejects a strategist allocation that would breach it, with that
//! limit's error; market allow-list, roles and substituted accounts are refused.
use fixed::types::I80F48;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::*;
use keel_vault::error::VaultError;
use keel_vault::instructions::Leg;
use keel_vault::state::VaultConfig;
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect(result: TxResult, want: VaultError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

/// Vault `id` on `t`'s venue with `config`, and 100,000 deposited.
async fn funded(ctx: &mut ProgramTestContext, t: &TradingFixture, id: u16, config: VaultConfig) -> VaultFixture {
    let fee = Keypair::new();
    let config = VaultConfig { fee_recipient: fee.pubkey(), ..config };
    let v = VaultFixture::with_config(ctx, t.clone(), id, config, fee).await;
    let d = v.depositor(ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(ctx, &d, 100_000 * USDC).await;
    send_with(ctx, &[ix], &[&d.a.key]).await.expect("deposit");
    v
}

/// Sell `units` calls and buy the perps that flatten their delta.
async fn hedged_short_calls(ctx: &mut ProgramTestContext, v: &VaultFixture, units: i64) -> Vec<Leg> {
    let call = v.t.market_state(ctx, CALL).await;
    let hedge = (call.cache.delta.fx() * I80F48::from_num(units * LOT)).round().to_num::<i64>();
    vec![v.leg(CALL, -units * LOT, 0.0), v.leg(PERP, hedge, 101.0)]
}

fn loose() -> VaultConfig {
    loose_vault_config(&FIXTURE_MARKETS)
}

#[tokio::test]
async fn each_mandate_limit_rejects_a_breaching_allocation() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let base = loose();

    // Delta: 10 perps outside a 5-unit band.
    let c = VaultConfig { mandate: keel_vault::state::MandateConfig { delta_band: pod(5.0), ..base.mandate }, ..base };
    let v = funded(&mut ctx, &t, 1, c).await;
    expect(
        v.allocate(&mut ctx, 10_000 * USDC, vec![v.leg(PERP, 10 * LOT, 101.0)], 0).await,
        VaultError::DeltaOutOfBand,
    );
    v.allocate(&mut ctx, 10_000 * USDC, vec![v.leg(PERP, 4 * LOT, 101.0)], 0).await.expect("4 units is inside");

    // Gamma and vega: 50 long calls, delta-hedged.
    let legs = |v: &VaultFixture, hedge: i64| vec![v.leg(CALL, 50 * LOT, 1e6), v.leg(PERP, -hedge, 99.0)];
    let call = t.market_state(&mut ctx, CALL).await;
    let hedge = (call.cache.delta.fx() * I80F48::from_num(50 * LOT)).round().to_num::<i64>();
    let c =
        VaultConfig { mandate: keel_vault::state::MandateConfig { max_abs_gamma: pod(0.5), ..base.mandate }, ..base };
    let v = funded(&mut ctx, &t, 2, c).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, legs(&v, hedge), 0).await, VaultError::GammaLimit);
    let c =
        VaultConfig { mandate: keel_vault::state::MandateConfig { max_abs_vega: pod(100.0), ..base.mandate }, ..base };
    let v = funded(&mut ctx, &t, 3, c).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, legs(&v, hedge), 0).await, VaultError::VegaLimit);

    // Scenario VaR: a hedged short-call book losing more than 0.1% of NAV in its worst scenario.
    let c = VaultConfig {
        mandate: keel_vault::state::MandateConfig { max_var_fraction: pod(0.001), ..base.mandate },
        ..base
    };
    let v = funded(&mut ctx, &t, 4, c).await;
    let l = hedged_short_calls(&mut ctx, &v, 100).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, l, 0).await, VaultError::VarLimit);

    // Health: equity / maintenance must stay above 1,000.
    let c =
        VaultConfig { mandate: keel_vault::state::MandateConfig { min_health: pod(1_000.0), ..base.mandate }, ..base };
    let v = funded(&mut ctx, &t, 5, c).await;
    let l = hedged_short_calls(&mut ctx, &v, 100).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, l, 0).await, VaultError::HealthBelowMinimum);

    // Leverage: ~12,000 of gross notional on 100,000 of NAV against a 5% limit.
    let c =
        VaultConfig { mandate: keel_vault::state::MandateConfig { max_leverage: pod(0.05), ..base.mandate }, ..base };
    let v = funded(&mut ctx, &t, 6, c).await;
    let l = hedged_short_calls(&mut ctx, &v, 100).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, l, 0).await, VaultError::LeverageLimit);

    // Idle floor: moving 10% of NAV to the venue leaves 90% idle against a 95% floor.
    let c = VaultConfig {
        mandate: keel_vault::state::MandateConfig { min_idle_fraction: pod(0.95), ..base.mandate },
        ..base
    };
    let v = funded(&mut ctx, &t, 7, c).await;
    expect(v.allocate(&mut ctx, 10_000 * USDC, vec![], 0).await, VaultError::IdleBelowMinimum);
    v.allocate(&mut ctx, 4_000 * USDC, vec![], 0).await.expect("4% fits under the floor");
    expect(v.allocate(&mut ctx, 200_000 * USDC, vec![], 0).await, VaultError::InsufficientIdle);

    // Allow-list: a vault allowed only the perp cannot touch the call.
    let mut only_perp = base;
    only_perp.allowed_markets = [0; keel_vault::state::ALLOWED_MARKET_BYTES];
    assert!(only_perp.allow(PERP));
    let v = funded(&mut ctx, &t, 8, only_perp).await;
    expect(v.allocate(&mut ctx, 1_000 * USDC, vec![v.leg(CALL, LOT, 1e6)], 0).await, VaultError::MarketNotAllowed);

    // Roles: only the strategist allocates.
    let intruder = Keypair::new();
    fund(&mut ctx, intruder.pubkey(), 10_000_000).await;
    let ix = v.allocate_ix(&mut ctx, &intruder.pubkey(), Default::default(), vec![]).await;
    expect(send_with(&mut ctx, &[ix], &[&intruder]).await, VaultError::UnauthorizedStrategist);
}

#[tokio::test]
async fn invalid_configs_and_substituted_accounts_are_refused() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let mut bad = default_vault_config(&FIXTURE_MARKETS, Pubkey::new_unique());
    bad.rebalance.min_benefit_ratio = pod(0.5);
    let me = ctx.payer.pubkey();
    let ix = create_vault_ix(&me, &t, 9, me, me, bad);
    expect(send(&mut ctx, &[ix]).await, VaultError::InvalidConfig);

    let v = funded(&mut ctx, &t, 1, loose()).await;
    let l = hedged_short_calls(&mut ctx, &v, 10).await;
    v.allocate(&mut ctx, 10_000 * USDC, l, 0).await.unwrap();
    let d = v.depositor(&mut ctx, 1_000 * USDC).await;
    // NAV needs the market of every open position.
    let mut ix = v.deposit_ix(&mut ctx, &d, 1_000 * USDC).await;
    ix.accounts.pop();
    expect(send_with(&mut ctx, &[ix], &[&d.a.key]).await, VaultError::MissingMarketAccount);
    // Another account's margin account cannot stand in for the vault's.
    let other = t.trader(&mut ctx, 1_000 * USDC).await;
    let mut ix = v.deposit_ix(&mut ctx, &d, 1_000 * USDC).await;
    ix.accounts[4].pubkey = margin_pda(&t.f.venue, &other.pubkey());
    expect(send_with(&mut ctx, &[ix], &[&d.a.key]).await, VaultError::VenueAccountMismatch);
}
