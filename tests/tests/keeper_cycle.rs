//! The keeper's rebalance cycle against the real programs on the embedded chain: it acts only when the mandate
//! is breached, predicts the program's judgement, lands a rewarded hedge, stays idle inside the mandate, and
//! treats losing a race to another keeper as an ordinary outcome.
use fixed::types::I80F48;
use keel_keeper::chain::Embedded;
use keel_keeper::rebalancer::Outcome;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::*;

const USDC: u64 = 1_000_000;

#[tokio::test]
async fn the_keeper_hedges_only_breaches_and_handles_races() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let mut v = VaultFixture::new(&mut ctx, t).await;
    let d = v.depositor(&mut ctx, 100_000 * USDC).await;
    let ix = v.deposit_ix(&mut ctx, &d, 100_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    let call = v.t.market_state(&mut ctx, CALL).await;
    let hedge = (call.cache.delta.fx() * I80F48::from_num(100 * LOT)).round().to_num::<i64>();
    v.allocate(&mut ctx, 30_000 * USDC, vec![v.leg(CALL, -100 * LOT, 0.0), v.leg(PERP, hedge, 101.0)], 0)
        .await
        .unwrap();
    let (mut k1, mut k2) = (v.rebalancer(&mut ctx).await, v.rebalancer(&mut ctx).await);

    // Inside the mandate: nothing to do.
    let mut chain = Embedded::from_context(ctx);
    assert_eq!(k1.cycle(&mut chain).await.unwrap(), Outcome::Idle("inside the mandate".into()));

    // A rally pushes delta out of its band; the keeper hedges back to target and is paid.
    let mut ctx = chain.into_context();
    for px in [102.0, 104.0, 106.0, 108.0] {
        v.t.set_price(&mut ctx, px).await;
    }
    let mut chain = Embedded::from_context(ctx);
    match k1.cycle(&mut chain).await.unwrap() {
        Outcome::Rebalanced { sequence, lots, reward } => {
            assert_eq!(sequence, 2);
            assert!(lots > 10_000_000, "bought >10 perps: {lots}");
            assert!(reward > 0);
        }
        other => panic!("expected a rebalance, got {other:?}"),
    }
    let mut ctx = chain.into_context();
    let (delta, _, _) = measure(&mut ctx, &v).await;
    assert!(delta.abs() < 0.01, "delta back to target: {delta}");

    // Spot falls back: the vault is now long delta. Two keepers see it; the one that plans first but sends second
    // loses the race cleanly.
    for px in [106.0, 104.0, 102.0, 100.0, 98.0, 96.0] {
        v.t.set_price(&mut ctx, px).await;
    }
    let mut chain = Embedded::from_context(ctx);
    let plan = k2.plan(&mut chain).await.unwrap().expect("a plan");
    assert!(matches!(k1.cycle(&mut chain).await.unwrap(), Outcome::Rebalanced { sequence: 3, .. }));
    assert_eq!(k2.submit(&mut chain, plan).await.unwrap(), Outcome::LostRace);
    assert_eq!(k2.cycle(&mut chain).await.unwrap(), Outcome::Idle("inside the mandate".into()));
}
