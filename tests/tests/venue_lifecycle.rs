//! keel-venue end to end on the real runtime, driven by real SOL prices through the FTX collapse (Binance SOLUSDT
//! hourly, 2022-11-06..10): LP deposit, traders open perps and options, funding accrues, a leveraged long is
//! liquidated gradually, a second LP enters at a NAV that includes traders' unrealised P&L, options expire and
//! settle at the oracle price, everyone exits. After every step the vault's tokens equal pool cash plus margin
//! collateral to the token unit; at the end every claim has been paid out.
use chrono::{TimeZone, Utc};
use keel_keeper::market_data::{prices::load_bars, shared_data_dir};
use keel_math::margin::Bound;
use keel_math::ShareMath;
use keel_tests::trading::*;
use keel_tests::venue::*;
use keel_tests::*;
use solana_sdk::signer::Signer;

/// SOL closes every 4 hours from 2022-11-06 00:00 to 2022-11-10 00:00 UTC (no gaps in this window).
fn ftx_path() -> Vec<(i64, f64)> {
    let bars = load_bars(&shared_data_dir().join("prices/SOLUSDT_1h_binance_spot.csv")).expect("SOL hourly data");
    let (from, to) =
        (Utc.with_ymd_and_hms(2022, 11, 6, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(2022, 11, 10, 0, 0, 0).unwrap());
    let path: Vec<(i64, f64)> = bars
        .iter()
        .filter(|b| b.time >= from && b.time <= to && b.time.timestamp() % (4 * 3600) == 0)
        .map(|b| (b.time.timestamp(), b.close))
        .collect();
    assert_eq!(path.len(), 25, "the window is gap-free in the data set");
    path
}

#[tokio::test]
async fn full_lifecycle_on_the_ftx_crash_reconciles_to_the_token() {
    let mut ctx = program_test().start_with_context().await;
    let path = ftx_path();
    let spot0 = path[0].1;
    let program = anchor_spl::token::ID;
    let mut s = TradingFixture::new(&mut ctx, program, spot0, 1_000_000_000_000).await;
    let t0 = now(&mut ctx).await;
    let (bull, collar, bear) = (
        s.trader(&mut ctx, 2_000_000_000).await,
        s.trader(&mut ctx, 50_000_000_000).await,
        s.trader(&mut ctx, 20_000_000_000).await,
    );
    let liquidator = actor(&mut ctx, s.f.mint, program, 0).await;
    let owners = [bull.pubkey(), collar.pubkey(), bear.pubkey()];

    // Positions: a leveraged long perp, a collar (long put, short call), a short perp.
    s.trade(&mut ctx, &bull, PERP, 200 * LOT, spot0 * 1.01).await.expect("bull buys 200 perps");
    s.trade(&mut ctx, &collar, PUT, 100 * LOT, 1e6).await.expect("collar buys puts");
    s.trade(&mut ctx, &collar, CALL, -100 * LOT, 0.0).await.expect("collar sells calls");
    s.trade(&mut ctx, &bear, PERP, -150 * LOT, spot0 * 0.99).await.expect("bear sells 150 perps");
    s.assert_reconciles(&mut ctx, &owners).await;
    let fees_in = s.venue_state(&mut ctx).await.pool_assets - 1_000_000_000_000;
    assert!(fees_in > 0, "taker fees accrue to the pool");

    // Walk the crash. Net long 50 units: funding accrues against longs.
    let mut liquidation_steps = 0;
    let mut second_lp_done = false;
    let mut peak_funding = 0i128;
    for (i, (t, close)) in path.iter().enumerate().skip(1) {
        set_time(&mut ctx, t0 + (t - path[0].0)).await;
        s.set_price(&mut ctx, *close).await;
        liquidation_steps += liquidate_while_possible(&mut ctx, &s, &liquidator, &bull.pubkey(), PERP).await;
        let f = s.market_state(&mut ctx, PERP).await.book.funding_index.get();
        peak_funding = peak_funding.max(f);
        s.assert_reconciles(&mut ctx, &owners).await;
        if i == 12 && !second_lp_done {
            // A second LP deposits mid-crash: shares priced at the upper NAV bound, which includes the pool's
            // claim on every market (traders' unrealised P&L), rounded up.
            let venue = s.venue_state(&mut ctx).await;
            let mut nav = fixed::types::I80F48::from_num(venue.pool_assets);
            for m in [PERP, CALL, PUT] {
                nav += s.market_state(&mut ctx, m).await.pool_claim(6, Bound::Upper).unwrap();
            }
            let nav: u64 = nav.ceil().to_num();
            assert_ne!(nav, venue.pool_assets, "NAV includes unrealised P&L");
            let lp2 = actor(&mut ctx, s.f.mint, program, 100_000_000_000).await;
            let lp2_shares = create_token_account(&mut ctx, program, lp_mint_pda(&s.f.venue), lp2.pubkey()).await;
            let accounts = LpAccounts {
                owner: lp2.pubkey(),
                owner_collateral: lp2.collateral,
                owner_lp: lp2_shares,
                ..s.lp_accounts()
            };
            let ix = lp_ix_with(&accounts, LpAction::Deposit(100_000_000_000), &s.markets());
            send_with(&mut ctx, &[ix], &[&lp2.key]).await.expect("second LP deposit");
            let want = ShareMath::DEFAULT.amount_to_shares_floor(100_000_000_000, nav, venue.lp_shares).unwrap();
            assert_eq!(token_balance(&mut ctx, lp2_shares).await, want);
            // ... and redeems them at once at the lower bound: never more than deposited.
            let ix = lp_ix_with(&accounts, LpAction::Withdraw(want), &s.markets());
            send_with(&mut ctx, &[ix], &[&lp2.key]).await.expect("second LP withdraws");
            assert!(token_balance(&mut ctx, lp2.collateral).await <= 100_000_000_000);
            second_lp_done = true;
        }
    }
    assert!(liquidation_steps >= 2, "the crash liquidates the leveraged long gradually ({liquidation_steps} steps)");
    let reward = token_balance(&mut ctx, liquidator.collateral).await;
    assert!(reward > 0, "the liquidator is paid");
    let perp = s.market_state(&mut ctx, PERP).await;
    // Funding follows the skew: the index rose while traders were net long (longs paid), and fell once the
    // liquidation left them net short (shorts paid).
    assert!(peak_funding > 0 && perp.book.net_size < 0 && perp.book.funding_index.get() < peak_funding);

    // Expiry: options settle at the first oracle price published in the window after expiry.
    let close = path.last().unwrap().1;
    set_time(&mut ctx, s.expiry + 120).await;
    s.set_oracle(&mut ctx, PythPrice::new(FEED, close, s.expiry + 30));
    let me = ctx.payer.pubkey();
    for m in [CALL, PUT] {
        send_with(&mut ctx, &[settle_market_ix(&me, &s.market(m))], &[]).await.expect("settle market");
        let ix =
            settle_position_ix(&me, &s.f.venue, &margin_pda(&s.f.venue, &collar.pubkey()), &market_pda(&s.f.venue, m));
        send_with(&mut ctx, &[ix], &[]).await.expect("settle position");
    }
    let put = s.market_state(&mut ctx, PUT).await;
    let strike = put.config.strike.fx();
    assert_eq!(put.book.settlement_value.get(), (strike - put.book.settlement_price.fx()).to_bits());
    assert_eq!((put.book.long_oi, put.book.short_oi, put.book.net_size), (0, 0, 0));
    s.assert_reconciles(&mut ctx, &owners).await;

    // Everyone exits: close perps at the live price, withdraw collateral, the LP redeems everything.
    s.set_price(&mut ctx, close).await;
    s.trade(&mut ctx, &bear, PERP, 150 * LOT, close * 1.01).await.expect("bear closes");
    let bull_pos = s.margin(&mut ctx, &bull.pubkey()).await;
    if let Some(slot) = bull_pos.slot_of(&market_pda(&s.f.venue, PERP)) {
        let size = bull_pos.positions[slot].size;
        s.trade(&mut ctx, &bull, PERP, -size, close * 0.99).await.expect("bull closes what is left");
    }
    for a in [&bull, &collar, &bear] {
        let c = s.margin(&mut ctx, &a.pubkey()).await.collateral;
        assert!(!s.margin(&mut ctx, &a.pubkey()).await.has_positions());
        if c > 0 {
            send_with(&mut ctx, &[s.flow_ix(a, -c, &[])], &[&a.key]).await.expect("withdraw margin");
        }
        assert_eq!(s.margin(&mut ctx, &a.pubkey()).await.collateral, 0);
    }
    for m in [PERP, CALL, PUT] {
        let b = s.market_state(&mut ctx, m).await.book;
        assert_eq!((b.long_oi, b.short_oi, b.net_size), (0, 0, 0), "market {m} is flat");
    }
    let shares = token_balance(&mut ctx, s.lp_shares).await;
    send_with(&mut ctx, &[lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares), &s.markets())], &[&s.lp.key])
        .await
        .expect("LP withdraws everything");
    s.assert_reconciles(&mut ctx, &owners).await;
    let dust = token_balance(&mut ctx, collateral_vault_pda(&s.f.venue)).await;
    assert!(dust <= 2, "only rounding dust stays in the vault (the pool's share of the virtual offset): {dust}");
}
