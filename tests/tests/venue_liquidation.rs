//! keel-venue liquidation on the real runtime: only below maintenance, gradual, paid exactly, never allowed to
//! strip a hedge, and bad debt written off against the pool once the last position is gone.
use fixed::types::I80F48;
use keel_math::margin::{account_health, qty_from_lots, Health};
use keel_tests::trading::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use keel_venue::state::{op, Market};
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect_err(result: TxResult, want: VenueError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

/// The account's health as the program computes it, from the same on-chain caches and keel-math.
async fn health_of(ctx: &mut ProgramTestContext, s: &TradingFixture, owner: &Pubkey) -> Health {
    let acct = s.margin(ctx, owner).await;
    let venue = s.venue_state(ctx).await;
    let mut risks = Vec::new();
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let m: Market = account(ctx, p.market).await;
        risks.push(m.position_risk(p, 6).unwrap());
    }
    account_health(I80F48::from_num(acct.collateral), &risks, &venue.margin.params()).unwrap()
}

async fn liquidate(
    ctx: &mut ProgramTestContext,
    s: &TradingFixture,
    liquidator: &Actor,
    victim: &Pubkey,
    m: u32,
    max_lots: u64,
) -> TxResult {
    let acct = s.margin(ctx, victim).await;
    let key = market_pda(&s.f.venue, m);
    let others: Vec<Pubkey> =
        acct.positions.iter().filter(|p| p.is_open() && p.market != key).map(|p| p.market).collect();
    let (mint, tp) = (s.f.mint, s.token_program);
    let ix = liquidate_ix(
        &liquidator.pubkey(),
        &s.market(m),
        &margin_pda(&s.f.venue, victim),
        &mint,
        &liquidator.collateral,
        &tp,
        max_lots,
        &others,
    );
    send_with(ctx, &[ix], &[&liquidator.key]).await
}

#[tokio::test]
async fn liquidation_is_gradual_paid_exactly_and_cannot_strip_a_hedge() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let liq = actor(&mut ctx, s.f.mint, s.token_program, 0).await;
    // Long 100 perps hedged by 100 puts struck at 90, then collateral withdrawn down to 20 above initial margin.
    let a = s.trader(&mut ctx, 5_000 * USDC).await;
    s.trade(&mut ctx, &a, PUT, 100 * LOT, 1e6).await.unwrap();
    s.trade(&mut ctx, &a, PERP, 100 * LOT, 101.0).await.unwrap();
    let h = health_of(&mut ctx, &s, &a.pubkey()).await;
    let spare: i64 = (h.equity - h.initial).floor().to_num::<i64>() - 20 * USDC as i64;
    let markets = [market_pda(&s.f.venue, PUT), market_pda(&s.f.venue, PERP)];
    send_with(&mut ctx, &[s.flow_ix(&a, -spare, &markets)], &[&a.key]).await.unwrap();
    expect_err(liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, u64::MAX).await, VenueError::NotLiquidatable);

    // Spot slides until equity < maintenance.
    let mut spot = 100.0;
    while !health_of(&mut ctx, &s, &a.pubkey()).await.is_liquidatable() {
        spot -= 0.25;
        assert!(spot > 80.0, "the slide should make the account liquidatable (about 87-88 with these numbers)");
        s.set_price(&mut ctx, spot).await;
    }
    // Closing the hedge would raise maintenance more than it frees: refused.
    expect_err(liquidate(&mut ctx, &s, &liq, &a.pubkey(), PUT, u64::MAX).await, VenueError::LiquidationNotImproving);
    // Pausing liquidations stops them.
    let g = s.f.guardian.pubkey();
    fund(&mut ctx, g, 10_000_000).await;
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, op::LIQUIDATE)], &[&s.f.guardian]).await.unwrap();
    expect_err(liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, u64::MAX).await, VenueError::OperationPaused);
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, 0)], &[&s.f.guardian]).await.unwrap();
    expect_err(liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, 0).await, VenueError::InvalidAmount);
    expect_err(liquidate(&mut ctx, &s, &liq, &a.pubkey(), CALL, u64::MAX).await, VenueError::PositionNotFound);

    // One step closes at most a quarter of the perp, at the mark, and pays 50 bps of the closed notional.
    let before = health_of(&mut ctx, &s, &a.pubkey()).await;
    liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, u64::MAX).await.unwrap();
    let acct = s.margin(&mut ctx, &a.pubkey()).await;
    let perp_slot = acct.slot_of(&market_pda(&s.f.venue, PERP)).unwrap();
    assert_eq!(acct.positions[perp_slot].size, 75 * LOT);
    let notional = qty_from_lots(25 * LOT, 6).unwrap() * I80F48::from_num(spot);
    let reward: u64 = (notional * I80F48::from_num(50) / I80F48::from_num(10_000)).ceil().to_num();
    assert_eq!(token_balance(&mut ctx, liq.collateral).await, reward);
    let after = health_of(&mut ctx, &s, &a.pubkey()).await;
    assert!(after.maintenance_shortfall().unwrap() < before.maintenance_shortfall().unwrap());
    // The caller may take less than the cap.
    if after.is_liquidatable() {
        liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, 3 * LOT as u64).await.unwrap();
        let acct = s.margin(&mut ctx, &a.pubkey()).await;
        assert_eq!(acct.positions[perp_slot].size, 72 * LOT);
    }
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}

#[tokio::test]
async fn a_gap_through_zero_equity_is_written_off_against_the_pool() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let liq = actor(&mut ctx, s.f.mint, s.token_program, 0).await;
    let a = s.trader(&mut ctx, 1_000 * USDC).await;
    s.trade(&mut ctx, &a, PERP, 50 * LOT, 101.0).await.unwrap();
    // A 30% gap: a 1,500 loss on 1,000 of collateral.
    s.set_price(&mut ctx, 70.0).await;
    let pool_before = s.venue_state(&mut ctx).await.pool_assets;
    let collateral_before = s.margin(&mut ctx, &a.pubkey()).await.collateral;
    let mut steps = 0;
    while s.margin(&mut ctx, &a.pubkey()).await.has_positions() {
        liquidate(&mut ctx, &s, &liq, &a.pubkey(), PERP, u64::MAX).await.unwrap();
        steps += 1;
        assert!(steps < 50);
    }
    assert_eq!(steps, 1, "a bankrupt account (equity <= 0) may be closed in one step");
    let acct = s.margin(&mut ctx, &a.pubkey()).await;
    assert_eq!(acct.collateral, 0, "the deficit was written off");
    let rewards = token_balance(&mut ctx, liq.collateral).await;
    let pool_after = s.venue_state(&mut ctx).await.pool_assets;
    // The pool ends up with exactly what the trader had left, less what the liquidator was paid.
    assert_eq!(pool_after as i64, pool_before as i64 + collateral_before - rewards as i64);
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}
