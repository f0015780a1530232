//! keel-vault end to end on the real runtime with keel-venue: several depositors, a strategist's hedged short-call
//! book traded by CPI (the vault PDA owns its venue margin account and signs), NAV moving both ways, withdrawals
//! paying min(value at request, value at claim), fees, and every token reconciled.
use fixed::types::I80F48;
use keel_math::margin::Bound;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::*;
use keel_vault::state::Vault;
use solana_program_test::ProgramTestContext;

const USDC: u64 = 1_000_000;

async fn setup(ctx: &mut ProgramTestContext) -> VaultFixture {
    let t = TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    VaultFixture::new(ctx, t).await
}

/// Idle tokens equal idle accounting, and shares minted + fee shares accrued equal total shares.
async fn assert_vault_reconciles(ctx: &mut ProgramTestContext, v: &VaultFixture) {
    let s: Vault = v.state(ctx).await;
    assert_eq!(token_balance(ctx, idle_pda(&v.vault)).await, s.idle_assets, "idle tokens = idle accounting");
    let mint = ctx.banks_client.get_account(shares_pda(&v.vault)).await.unwrap().unwrap();
    let supply = u64::from_le_bytes(mint.data[36..44].try_into().unwrap());
    assert_eq!(supply + s.unminted_fee_shares, s.total_shares, "share supply + unminted fee shares = total shares");
}

#[tokio::test]
async fn depositors_strategy_and_withdrawals_reconcile_to_the_token() {
    let mut ctx = program_test().start_with_context().await;
    let mut v = setup(&mut ctx).await;
    let (d1, d2) = (v.depositor(&mut ctx, 100_000 * USDC).await, v.depositor(&mut ctx, 50_000 * USDC).await);

    // First deposit into an empty vault: shares at the virtual offset (1,000 per token unit).
    let ix = v.deposit_ix(&mut ctx, &d1, 100_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&d1.a.key]).await.unwrap();
    assert_eq!(token_balance(&mut ctx, d1.shares).await, 100_000 * USDC * 1000);

    // The strategist sells 100 calls and delta-hedges with perps, through the vault PDA's margin account.
    let call = v.t.market_state(&mut ctx, CALL).await;
    let hedge_lots = (I80F48::from_bits(call.cache.delta) * I80F48::from_num(100 * LOT)).round().to_num::<i64>();
    let legs = vec![v.leg(CALL, -100 * LOT, 0.0), v.leg(PERP, hedge_lots, 101.0)];
    v.allocate(&mut ctx, 30_000 * USDC, legs, 0).await.expect("allocate inside the mandate");
    let acct = v.t.margin(&mut ctx, &v.vault).await;
    assert_eq!(acct.owner, v.vault, "the vault PDA owns its venue margin account");
    assert_eq!(v.state(&mut ctx).await.sequence, 1);
    assert_eq!(v.state(&mut ctx).await.idle_assets, 70_000 * USDC);

    // A second depositor pays the upper NAV bound (after fee accrual), which now includes the option book.
    let now = now(&mut ctx).await;
    let pre = v.accrued(&mut ctx, now).await;
    let nav_up = v.nav(&mut ctx, Bound::Upper).await;
    assert!(nav_up < 100_000 * USDC, "premium received less the spread paid: NAV below deposits");
    let want = Vault::SHARE_MATH.amount_to_shares_floor(50_000 * USDC, nav_up, pre.total_shares).unwrap();
    let ix = v.deposit_ix(&mut ctx, &d2, 50_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&d2.a.key]).await.unwrap();
    assert_eq!(token_balance(&mut ctx, d2.shares).await, want);
    assert_vault_reconciles(&mut ctx, &v).await;

    // Spot rallies: the short calls lose more than the hedge gains; d2 asks to leave with half its shares, valued
    // at the lower bound.
    v.t.set_price(&mut ctx, 104.0).await;
    let half = want / 2;
    let t1 = now_plus(&mut ctx, 0).await;
    let pre = v.accrued(&mut ctx, t1).await;
    let nav_low = v.nav(&mut ctx, Bound::Lower).await;
    let at_request = Vault::SHARE_MATH.shares_to_amount_floor(half, nav_low, pre.total_shares).unwrap();
    let ix = v.request_ix(&mut ctx, &d2, half).await;
    send_with(&mut ctx, &[ix], &[&d2.a.key]).await.unwrap();
    let req: keel_vault::state::WithdrawalRequest = account(&mut ctx, withdrawal_pda(&v.vault, &d2.a.pubkey())).await;
    assert_eq!(req.value_at_request, at_request);
    assert_eq!(token_balance(&mut ctx, escrow_pda(&v.vault)).await, half);

    // Too early to claim.
    let ix = v.claim_ix(&mut ctx, &d2).await;
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d2.a.key]).await),
        u32::from(keel_vault::error::VaultError::WithdrawalNotReady)
    );

    // A day later spot has fallen back: the claim pays min(value at request, value now).
    set_time(&mut ctx, t1 + 86_400).await;
    v.t.set_price(&mut ctx, 99.0).await;
    let pre = v.accrued(&mut ctx, t1 + 86_400).await;
    let nav_low = v.nav(&mut ctx, Bound::Lower).await;
    let value_now = Vault::SHARE_MATH.shares_to_amount_floor(half, nav_low, pre.total_shares).unwrap();
    let before = token_balance(&mut ctx, d2.a.collateral).await;
    let ix = v.claim_ix(&mut ctx, &d2).await;
    send_with(&mut ctx, &[ix], &[&d2.a.key]).await.unwrap();
    let paid = token_balance(&mut ctx, d2.a.collateral).await - before;
    assert_eq!(paid, at_request.min(value_now));
    assert!(pre.unminted_fee_shares > 0, "a day of management fee accrued");
    assert_vault_reconciles(&mut ctx, &v).await;
    v.t.assert_reconciles(&mut ctx, &[v.vault]).await;
}

async fn now_plus(ctx: &mut ProgramTestContext, secs: i64) -> i64 {
    now(ctx).await + secs
}
