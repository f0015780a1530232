//! keel-vault guardrails on the real runtime: the donation/inflation attack, deposit caps and limits, guardian
//! pause (bounded, expiring, rate-limited), timelocked configuration with veto, the circuit breaker, and a vault
//! whose NAV went negative refusing share flows.
use keel_math::margin::Bound;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_vault::error::VaultError;
use keel_vault::state::{Vault, VaultConfig};
use solana_program_test::ProgramTestContext;
use solana_sdk::{signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect(result: TxResult, want: VaultError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

async fn vault_with(ctx: &mut ProgramTestContext, edit: impl FnOnce(&mut VaultConfig)) -> VaultFixture {
    let t = TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let fee = Keypair::new();
    let mut config = default_vault_config(&FIXTURE_MARKETS, fee.pubkey());
    edit(&mut config);
    VaultFixture::with_config(ctx, t, 0, config, fee).await
}

async fn deposit(ctx: &mut ProgramTestContext, v: &VaultFixture, d: &Depositor, amount: u64) -> TxResult {
    let ix = v.deposit_ix(ctx, d, amount).await;
    send_with(ctx, &[ix], &[&d.a.key]).await
}

#[tokio::test]
async fn a_donation_cannot_inflate_the_share_price() {
    let mut ctx = program_test().start_with_context().await;
    let v = vault_with(&mut ctx, |_| {}).await;
    let attacker = v.depositor(&mut ctx, 1_000_001 * USDC).await;
    let victim = v.depositor(&mut ctx, 1_000 * USDC).await;
    // The attacker is first in with the minimum, then donates 1,000,000 straight into the idle account.
    deposit(&mut ctx, &v, &attacker, USDC).await.unwrap();
    mint_to(&mut ctx, v.t.token_program, v.t.f.mint, idle_pda(&v.vault), 1_000_000 * USDC).await;
    let s = v.state(&mut ctx).await;
    assert_eq!(s.idle_assets, USDC, "internal accounting ignores the donation");
    assert_eq!(v.nav(&mut ctx, Bound::Upper).await, USDC);
    // The victim's 1,000 buys shares at the undisturbed price: worth its deposit to within one unit.
    deposit(&mut ctx, &v, &victim, 1_000 * USDC).await.unwrap();
    let shares = token_balance(&mut ctx, victim.shares).await;
    let s = v.state(&mut ctx).await;
    let worth = Vault::SHARE_MATH.shares_to_amount_floor(shares, s.idle_assets, s.total_shares).unwrap();
    assert!(worth >= 1_000 * USDC - 1, "victim keeps its deposit: {worth}");
    // The attacker's shares are still worth its 1 USDC, not a slice of the donation.
    let a = token_balance(&mut ctx, attacker.shares).await;
    assert!(Vault::SHARE_MATH.shares_to_amount_floor(a, s.idle_assets, s.total_shares).unwrap() <= USDC);

    // Deposit and request limits.
    expect(deposit(&mut ctx, &v, &victim, 0).await, VaultError::InvalidAmount);
    expect(deposit(&mut ctx, &v, &victim, USDC / 2).await, VaultError::DepositTooSmall);
    let ix = v.request_ix(&mut ctx, &victim, shares + 1).await;
    expect(send_with(&mut ctx, &[ix], &[&victim.a.key]).await, VaultError::InsufficientShares);
    let ix = v.request_ix(&mut ctx, &victim, 1).await;
    expect(send_with(&mut ctx, &[ix], &[&victim.a.key]).await, VaultError::RoundsToZero);
}

#[tokio::test]
async fn deposits_clamp_to_the_caps() {
    let mut ctx = program_test().start_with_context().await;
    let v = vault_with(&mut ctx, |c| {
        c.max_user_assets = 5_000 * USDC;
        c.max_total_assets = 8_000 * USDC;
    })
    .await;
    let (a, b) = (v.depositor(&mut ctx, 10_000 * USDC).await, v.depositor(&mut ctx, 10_000 * USDC).await);
    deposit(&mut ctx, &v, &a, 7_000 * USDC).await.unwrap();
    assert_eq!(token_balance(&mut ctx, a.a.collateral).await, 5_000 * USDC, "clamped to the per-user cap");
    expect(deposit(&mut ctx, &v, &a, 10 * USDC).await, VaultError::DepositCapReached);
    deposit(&mut ctx, &v, &b, 7_000 * USDC).await.unwrap();
    assert_eq!(token_balance(&mut ctx, b.a.collateral).await, 7_000 * USDC, "clamped to the vault cap's room");
    expect(deposit(&mut ctx, &v, &b, 10 * USDC).await, VaultError::DepositCapReached);
}

#[tokio::test]
async fn guardian_pause_is_bounded_expiring_and_rate_limited() {
    let mut ctx = program_test().start_with_context().await;
    let v = vault_with(&mut ctx, |_| {}).await;
    let d = v.depositor(&mut ctx, 10_000 * USDC).await;
    deposit(&mut ctx, &v, &d, 5_000 * USDC).await.unwrap();
    let g = v.guardian.pubkey();
    let stranger = Keypair::new();
    fund(&mut ctx, stranger.pubkey(), 10_000_000).await;

    expect(
        send_with(&mut ctx, &[pause_ix(&stranger.pubkey(), &v.vault, 3600)], &[&stranger]).await,
        VaultError::UnauthorizedGuardian,
    );
    expect(send_with(&mut ctx, &[pause_ix(&g, &v.vault, 0)], &[&v.guardian]).await, VaultError::PauseNotAllowed);
    expect(send_with(&mut ctx, &[pause_ix(&g, &v.vault, 86_401)], &[&v.guardian]).await, VaultError::PauseNotAllowed);
    send_with(&mut ctx, &[pause_ix(&g, &v.vault, 3600)], &[&v.guardian]).await.unwrap();
    expect(deposit(&mut ctx, &v, &d, 1_000 * USDC).await, VaultError::VaultPaused);
    expect(v.allocate(&mut ctx, 1_000 * USDC, vec![], 0).await, VaultError::VaultPaused);
    // Withdrawal requests still run.
    let ix = v.request_ix(&mut ctx, &d, 1_000_000_000).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("requests are never paused");
    // Only the guardian may lift it early; after expiry anyone may, and deposits resume.
    expect(
        send_with(&mut ctx, &[unpause_ix(&stranger.pubkey(), &v.vault)], &[&stranger]).await,
        VaultError::UnauthorizedGuardian,
    );
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 3600).await;
    v.t.clone().set_price(&mut ctx, 100.0).await;
    send_with(&mut ctx, &[unpause_ix(&stranger.pubkey(), &v.vault)], &[&stranger]).await.unwrap();
    deposit(&mut ctx, &v, &d, 1_000 * USDC).await.expect("pause expired");
    // The cooldown (3 days) blocks an immediate re-pause.
    expect(send_with(&mut ctx, &[pause_ix(&g, &v.vault, 3600)], &[&v.guardian]).await, VaultError::PauseNotAllowed);
    set_time(&mut ctx, t + 3600 + 3 * 86_400).await;
    send_with(&mut ctx, &[pause_ix(&g, &v.vault, 3600)], &[&v.guardian]).await.expect("after the cooldown");
}

#[tokio::test]
async fn config_changes_wait_for_the_timelock_and_can_be_vetoed() {
    let mut ctx = program_test().start_with_context().await;
    let v = vault_with(&mut ctx, |_| {}).await;
    let curator = ctx.payer.pubkey();
    let mut next = v.state(&mut ctx).await.config;
    next.management_fee_bps = 300;
    let stranger = Keypair::new();
    fund(&mut ctx, stranger.pubkey(), 10_000_000).await;

    expect(
        send_with(&mut ctx, &[queue_config_ix(&stranger.pubkey(), &v.vault, next)], &[&stranger]).await,
        VaultError::UnauthorizedCurator,
    );
    let invalid = VaultConfig { management_fee_bps: 501, ..next };
    expect(send(&mut ctx, &[queue_config_ix(&curator, &v.vault, invalid)]).await, VaultError::InvalidConfig);
    expect(send(&mut ctx, &[apply_config_ix(&curator, &v.vault, false)]).await, VaultError::NoPendingChange);
    send(&mut ctx, &[queue_config_ix(&curator, &v.vault, next)]).await.unwrap();
    expect(send(&mut ctx, &[apply_config_ix(&curator, &v.vault, false)]).await, VaultError::TimelockNotExpired);
    // The guardian vetoes; a stranger cannot.
    expect(
        send_with(&mut ctx, &[apply_config_ix(&stranger.pubkey(), &v.vault, true)], &[&stranger]).await,
        VaultError::UnauthorizedGuardian,
    );
    send_with(&mut ctx, &[apply_config_ix(&v.guardian.pubkey(), &v.vault, true)], &[&v.guardian]).await.unwrap();
    expect(send(&mut ctx, &[apply_config_ix(&curator, &v.vault, false)]).await, VaultError::NoPendingChange);
    // Queued again and left alone for two days, anyone applies it.
    send(&mut ctx, &[queue_config_ix(&curator, &v.vault, next)]).await.unwrap();
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 2 * 86_400).await;
    send_with(&mut ctx, &[apply_config_ix(&stranger.pubkey(), &v.vault, false)], &[&stranger]).await.unwrap();
    assert_eq!(v.state(&mut ctx).await.config.management_fee_bps, 300);
}

#[tokio::test]
async fn circuit_breaker_allows_only_exits() {
    let mut ctx = program_test().start_with_context().await;
    let v = vault_with(&mut ctx, |_| {}).await;
    let d = v.depositor(&mut ctx, 10_000 * USDC).await;
    deposit(&mut ctx, &v, &d, 5_000 * USDC).await.unwrap();
    // Price 15% below its EMA (limit 10% net of confidence).
    let t = now(&mut ctx).await;
    let p = PythPrice::new(FEED, 100.0, t);
    v.t.set_oracle(&mut ctx, PythPrice { ema_price: p.price * 100 / 85, ..p });
    expect(deposit(&mut ctx, &v, &d, 1_000 * USDC).await, VaultError::CircuitBreakerTripped);
    expect(v.allocate(&mut ctx, 1_000 * USDC, vec![], 0).await, VaultError::CircuitBreakerTripped);
    let ix = v.request_ix(&mut ctx, &d, 1_000_000_000).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("withdrawals still run");
    // Confidence blow-out trips it too.
    v.t.set_oracle(&mut ctx, PythPrice { conf: (p.price as u64) / 40, ..p });
    expect(deposit(&mut ctx, &v, &d, 1_000 * USDC).await, VaultError::CircuitBreakerTripped);
    v.t.set_oracle(&mut ctx, p);
    deposit(&mut ctx, &v, &d, 1_000 * USDC).await.expect("orderly again");
}

#[tokio::test]
async fn a_vault_with_negative_nav_refuses_share_flows() {
    let mut ctx = program_test().start_with_context().await;
    let mut v = vault_with(&mut ctx, |c| c.mandate = loose_vault_config(&[]).mandate).await;
    let d = v.depositor(&mut ctx, 20_000 * USDC).await;
    deposit(&mut ctx, &v, &d, 10_000 * USDC).await.unwrap();
    v.allocate(&mut ctx, 9_500 * USDC, vec![v.leg(CALL, -300 * LOT, 0.0)], 0).await.expect("naked short calls");
    // A 50% gap: 300 calls struck at 110 owe ~12,000, more than the vault has.
    v.t.set_price(&mut ctx, 150.0).await;
    expect(deposit(&mut ctx, &v, &d, 1_000 * USDC).await, VaultError::NonPositiveNav);
    let ix = v.request_ix(&mut ctx, &d, 1_000_000_000).await;
    expect(send_with(&mut ctx, &[ix], &[&d.a.key]).await, VaultError::NonPositiveNav);
}
