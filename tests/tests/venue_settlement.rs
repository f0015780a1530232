//! keel-venue expiry settlement and LP pool solvency on the real runtime.
use fixed::types::I80F48;
use keel_math::margin::qty_from_lots;
use keel_tests::trading::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect_err(result: TxResult, want: VenueError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

async fn setup(ctx: &mut ProgramTestContext, lp_capital: u64) -> TradingFixture {
    TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, lp_capital).await
}

#[tokio::test]
async fn options_settle_at_the_oracle_price_within_the_window() {
    let mut ctx = program_test().start_with_context().await;
    let s = setup(&mut ctx, 1_000_000 * USDC).await;
    let a = s.trader(&mut ctx, 10_000 * USDC).await;
    let b = s.trader(&mut ctx, 10_000 * USDC).await;
    s.trade(&mut ctx, &a, CALL, 10 * LOT, 1e6).await.unwrap();
    let me = ctx.payer.pubkey();
    let (call, call_key) = (s.market(CALL), market_pda(&s.f.venue, CALL));
    let settle_pos = |owner: Pubkey| settle_position_ix(&me, &s.f.venue, &margin_pda(&s.f.venue, &owner), &call_key);

    expect_err(send(&mut ctx, &[settle_market_ix(&me, &s.market(PERP))]).await, VenueError::NotAnOption);
    expect_err(send(&mut ctx, &[settle_market_ix(&me, &call)]).await, VenueError::SettleTooEarly);
    expect_err(send(&mut ctx, &[settle_pos(a.pubkey())]).await, VenueError::MarketNotSettled);

    // After expiry: a print from before expiry, or after the one-hour window, is refused.
    set_time(&mut ctx, s.expiry + 7_200).await;
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 120.0, s.expiry - 1));
    expect_err(send(&mut ctx, &[settle_market_ix(&me, &call)]).await, VenueError::SettlementPriceOutsideWindow);
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 120.0, s.expiry + 3_601));
    expect_err(send(&mut ctx, &[settle_market_ix(&me, &call)]).await, VenueError::SettlementPriceOutsideWindow);
    let uncertain = PythPrice { conf: 5 * 100_000_000, ..PythPrice::new(FEED, 120.0, s.expiry + 10) };
    s.set_oracle(&mut ctx, uncertain);
    expect_err(send(&mut ctx, &[settle_market_ix(&me, &call)]).await, VenueError::OracleTooUncertain);

    // Settles at 120: the 110 call pays 10 per unit.
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 120.0, s.expiry + 10));
    send(&mut ctx, &[settle_market_ix(&me, &call)]).await.unwrap();
    expect_err(send(&mut ctx, &[settle_market_ix(&me, &call)]).await, VenueError::AlreadySettled);
    let m = s.market_state(&mut ctx, CALL).await;
    let strike = m.config.strike.fx();
    assert_eq!(m.book.settlement_value.get(), (I80F48::from_num(120) - strike).to_bits());

    let before = s.margin(&mut ctx, &a.pubkey()).await;
    let cost = before.positions[0].cost.fx();
    send(&mut ctx, &[settle_pos(a.pubkey())]).await.unwrap();
    let after = s.margin(&mut ctx, &a.pubkey()).await;
    let payout = qty_from_lots(10 * LOT, 6).unwrap() * m.book.settlement_value.fx() - cost;
    assert_eq!(after.collateral, before.collateral + payout.floor().to_num::<i64>());
    assert!(!after.has_positions());
    // Nothing left to settle for A, and B never held the option.
    expect_err(send(&mut ctx, &[settle_pos(a.pubkey())]).await, VenueError::PositionNotFound);
    expect_err(send(&mut ctx, &[settle_pos(b.pubkey())]).await, VenueError::PositionNotFound);
    expect_err(s.trade(&mut ctx, &a, CALL, LOT, 1e6).await, VenueError::MarketExpired);
    s.assert_reconciles(&mut ctx, &[a.pubkey(), b.pubkey()]).await;
}

#[tokio::test]
async fn lp_withdrawals_are_paid_from_cash_and_need_every_market_fresh() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = setup(&mut ctx, 100_000 * USDC).await;
    let a = s.trader(&mut ctx, 20_000 * USDC).await;
    s.trade(&mut ctx, &a, PERP, 500 * LOT, 101.0).await.unwrap();
    // Spot falls 10%: the trader owes the pool ~5,000 unrealised, so NAV exceeds the pool's cash, and redeeming
    // every share would need tokens that are still the trader's collateral.
    s.set_price(&mut ctx, 90.0).await;
    let shares = token_balance(&mut ctx, s.lp_shares).await;
    let all = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares), &s.markets());
    expect_err(send_with(&mut ctx, &[all], &[&s.lp.key]).await, VenueError::InsufficientPoolLiquidity);

    // NAV needs every market, in index order, and fresh caches where there is open interest.
    let mut markets = s.markets();
    markets.swap(0, 1);
    let ix = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares / 2), &markets);
    expect_err(send_with(&mut ctx, &[ix], &[&s.lp.key]).await, VenueError::MarketAccountsMismatch);
    let ix = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares / 2), &s.markets()[..2]);
    expect_err(send_with(&mut ctx, &[ix], &[&s.lp.key]).await, VenueError::MarketAccountsMismatch);
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 61).await;
    let ix = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares / 2), &s.markets());
    expect_err(send_with(&mut ctx, std::slice::from_ref(&ix), &[&s.lp.key]).await, VenueError::RiskCacheStale);
    s.set_price(&mut ctx, 90.0).await;
    send_with(&mut ctx, &[ix], &[&s.lp.key]).await.expect("half the shares are covered by cash");
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}

#[tokio::test]
async fn a_pool_that_cannot_pay_refuses_payouts_and_deposits() {
    let mut ctx = program_test().start_with_context().await;
    // A thin pool: 1,000 of LP capital against a 100-unit long.
    let mut s = setup(&mut ctx, 1_000 * USDC).await;
    let a = s.trader(&mut ctx, 20_000 * USDC).await;
    s.trade(&mut ctx, &a, PERP, 100 * LOT, 101.0).await.unwrap();
    // +20%: the trader's 2,000 gain exceeds the pool's cash.
    for px in [105.0, 110.0, 115.0, 120.0] {
        s.set_price(&mut ctx, px).await;
    }
    expect_err(s.trade(&mut ctx, &a, PERP, -100 * LOT, 119.0).await, VenueError::PoolInsolvent);
    let lp2 = actor(&mut ctx, s.f.mint, s.token_program, 1_000 * USDC).await;
    let lp2_shares = create_token_account(&mut ctx, s.token_program, lp_mint_pda(&s.f.venue), lp2.pubkey()).await;
    let accounts =
        LpAccounts { owner: lp2.pubkey(), owner_collateral: lp2.collateral, owner_lp: lp2_shares, ..s.lp_accounts() };
    let ix = lp_ix_with(&accounts, LpAction::Deposit(1_000 * USDC), &s.markets());
    expect_err(send_with(&mut ctx, &[ix], &[&lp2.key]).await, VenueError::PoolInsolvent);
    // A partial close the pool can pay still works.
    s.trade(&mut ctx, &a, PERP, -30 * LOT, 119.0).await.expect("partial close within the pool's cash");
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}
