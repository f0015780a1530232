//! keel-venue trading on the real runtime: fills priced exactly as keel-math predicts, margin and withdrawal
//! rules, and every trading error path.
use bytemuck::Zeroable;
use fixed::types::I80F48;
use keel_math::margin::{apply_fill, qty_from_lots};
use keel_tests::trading::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use keel_venue::health::{BookReport, ReportedSums};
use keel_venue::state::{op, MarketKind};
use solana_program_test::ProgramTestContext;
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signer::Signer};

const USDC: u64 = 1_000_000;

fn expect_err(result: TxResult, want: VenueError) {
    assert_eq!(custom_error(result), u32::from(want), "expected {want:?}");
}

async fn setup(ctx: &mut ProgramTestContext) -> TradingFixture {
    TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await
}

/// The program's execution price: mark x (1 +/- half-spread), mark = the perp's spot.
fn exec_price(mark: f64, buy: bool) -> I80F48 {
    let mark = I80F48::from_num(mark);
    let half = mark * I80F48::from_num(10) / I80F48::from_num(10_000);
    if buy {
        mark + half
    } else {
        mark - half
    }
}

fn fee_ceil(lots: i64, price: I80F48) -> i64 {
    let notional = qty_from_lots(lots, 6).unwrap().abs() * price;
    (notional * I80F48::from_num(5) / I80F48::from_num(10_000)).ceil().to_num()
}

#[tokio::test]
async fn perp_fills_match_keel_math_to_the_token() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = setup(&mut ctx).await;
    let a = s.trader(&mut ctx, 10_000 * USDC).await;
    let pool0 = s.venue_state(&mut ctx).await.pool_assets;

    // Buy 10 units at 100: price 100.1, cost = qty x price, fee 5 bps rounded up.
    s.trade(&mut ctx, &a, PERP, 10 * LOT, 100.2).await.unwrap();
    let (p1, fee1) = (exec_price(100.0, true), fee_ceil(10 * LOT, exec_price(100.0, true)));
    let acct = s.margin(&mut ctx, &a.pubkey()).await;
    let pos = acct.positions[0];
    assert_eq!((pos.market, pos.size), (market_pda(&s.f.venue, PERP), 10 * LOT));
    assert_eq!(pos.cost.get(), (qty_from_lots(10 * LOT, 6).unwrap() * p1).to_bits());
    assert_eq!(acct.collateral, (10_000 * USDC) as i64 - fee1);
    let book = s.market_state(&mut ctx, PERP).await.book;
    assert_eq!((book.long_oi, book.short_oi, book.net_size), (10 * LOT as u64, 0, 10 * LOT));

    // Spot 102: sell 4 units at 101.898; realised = keel-math's fill, floored, fee on top.
    s.set_price(&mut ctx, 102.0).await;
    s.trade(&mut ctx, &a, PERP, -4 * LOT, 101.0).await.unwrap();
    let p2 = exec_price(102.0, false);
    let acct2 = s.margin(&mut ctx, &a.pubkey()).await;
    // Funding accrued between the two fills is folded into the cost first.
    let folded = acct2.positions[0].funding_snap;
    let owed = qty_from_lots(10 * LOT, 6).unwrap() * folded.fx();
    let fill = apply_fill(10 * LOT, pos.cost.fx() + owed, -4 * LOT, qty_from_lots(-4 * LOT, 6).unwrap() * p2).unwrap();
    let realized: i64 = fill.realized.floor().to_num();
    assert!(realized > 0, "a 2% rise on 4 units is a gain: {realized}");
    assert_eq!(acct2.collateral, acct.collateral + realized - fee_ceil(4 * LOT, p2));
    assert_eq!((acct2.positions[0].size, acct2.positions[0].cost.get()), (6 * LOT, fill.cost.to_bits()));
    let pool = s.venue_state(&mut ctx).await.pool_assets;
    assert_eq!(pool as i64, pool0 as i64 + fee1 - realized + fee_ceil(4 * LOT, p2));
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}

#[tokio::test]
async fn trade_errors() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = setup(&mut ctx).await;
    let a = s.trader(&mut ctx, 1_000 * USDC).await;
    let rich = s.trader(&mut ctx, 500_000 * USDC).await;

    expect_err(s.trade(&mut ctx, &a, PERP, 0, 101.0).await, VenueError::InvalidAmount);
    // Limit prices bind both ways: buy at 100.1 > 100.05, sell at 99.9 < 99.95.
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 100.05).await, VenueError::LimitPriceViolated);
    expect_err(s.trade(&mut ctx, &a, PERP, -LOT, 99.95).await, VenueError::LimitPriceViolated);
    // 100 units = 10,000 notional needs 1,500 of initial margin; 1,000 is not enough.
    expect_err(s.trade(&mut ctx, &a, PERP, 100 * LOT, 101.0).await, VenueError::InsufficientMargin);
    // Open interest per side is capped at 1,000 units.
    expect_err(s.trade(&mut ctx, &rich, PERP, 1_001 * LOT, 101.0).await, VenueError::OpenInterestCap);
    s.trade(&mut ctx, &a, PERP, 5 * LOT, 101.0).await.unwrap();

    // Someone else's margin account: the owner check refuses the substitution.
    let mut ix = trade_ix(&rich.pubkey(), &s.market(PERP), LOT, 101.0, &[]);
    ix.accounts[2].pubkey = margin_pda(&s.f.venue, &a.pubkey());
    expect_err(send_with(&mut ctx, &[ix], &[&rich.key]).await, VenueError::UnauthorizedOwner);

    // Cache too old (61 s) or spot moved > 50 bps since it was computed: refresh first.
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 61).await;
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 100.0, t + 61));
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 101.0).await, VenueError::RiskCacheStale);
    s.set_price(&mut ctx, 100.0).await;
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 100.6, t + 61));
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 101.0).await, VenueError::RiskCacheStale);

    // Oracle policy: a stale price blocks adding risk but not reducing it (within the grace period); an
    // uncertain price likewise.
    s.set_price(&mut ctx, 100.0).await;
    s.set_oracle(&mut ctx, PythPrice::new(FEED, 100.0, t + 61 - 90));
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 101.0).await, VenueError::OracleStale);
    s.trade(&mut ctx, &a, PERP, -LOT, 99.0).await.expect("reduce-only on a stale price");
    let uncertain = PythPrice { conf: 200_000_000, ..PythPrice::new(FEED, 100.0, t + 61) };
    s.set_oracle(&mut ctx, uncertain);
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 101.0).await, VenueError::OracleTooUncertain);
    s.trade(&mut ctx, &a, PERP, -LOT, 99.0).await.expect("reduce-only on an uncertain price");

    // Guardian pause on trading.
    s.set_price(&mut ctx, 100.0).await;
    let g = s.f.guardian.pubkey();
    fund(&mut ctx, g, 10_000_000).await;
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, op::TRADE)], &[&s.f.guardian]).await.unwrap();
    expect_err(s.trade(&mut ctx, &a, PERP, LOT, 101.0).await, VenueError::OperationPaused);
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, 0)], &[&s.f.guardian]).await.unwrap();

    // Other positions' markets must all be passed, in slot order.
    s.trade(&mut ctx, &a, CALL, LOT, 1e6).await.unwrap();
    let ix = trade_ix(&a.pubkey(), &s.market(PUT), LOT, 1e6, &[market_pda(&s.f.venue, PERP)]);
    expect_err(send_with(&mut ctx, &[ix], &[&a.key]).await, VenueError::MarketAccountsMismatch);
    let wrong_order = [market_pda(&s.f.venue, CALL), market_pda(&s.f.venue, PERP)];
    let ix = trade_ix(&a.pubkey(), &s.market(PUT), LOT, 1e6, &wrong_order);
    expect_err(send_with(&mut ctx, &[ix], &[&a.key]).await, VenueError::MarketAccountsMismatch);
    s.trade(&mut ctx, &a, PUT, LOT, 1e6).await.expect("with the right markets");

    // After expiry an option cannot trade, only settle.
    set_time(&mut ctx, s.expiry).await;
    s.set_price(&mut ctx, 100.0).await;
    expect_err(s.trade(&mut ctx, &a, CALL, -LOT, 0.0).await, VenueError::MarketExpired);
}

#[tokio::test]
async fn a_margin_account_holds_at_most_sixteen_markets() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = setup(&mut ctx).await;
    let admin = ctx.payer.pubkey();
    let limit = keel_venue::state::MAX_POSITIONS;
    assert_eq!(limit, 16, "the limit this test and the error message name");
    // The fixture's three markets and fourteen perps: one more market than a margin account has slots.
    let extra: Vec<u32> = (3..17).collect();
    let add: Vec<Instruction> =
        extra.iter().map(|&i| add_market_ix(&admin, &s.f.venue, &s.f.underlying(), None, i, perp_config())).collect();
    for chunk in add.chunks(5) {
        send_with(&mut ctx, chunk, &[]).await.unwrap();
    }
    s.set_price(&mut ctx, 100.0).await;
    let me = ctx.payer.pubkey();
    let refresh: Vec<Instruction> = extra
        .iter()
        .map(|&i| {
            let m = market_pda(&s.f.venue, i);
            refresh_market_ix(&me, &s.f.venue, &s.f.underlying(), &m, &s.f.oracle, None)
        })
        .collect();
    for chunk in refresh.chunks(5) {
        send_with(&mut ctx, chunk, &[]).await.unwrap();
    }
    let a = s.trader(&mut ctx, 100_000 * USDC).await;
    let markets: Vec<u32> = [PERP, CALL, PUT].into_iter().chain(extra.iter().copied()).collect();
    assert_eq!(markets.len(), limit + 1);
    for (n, m) in markets.iter().enumerate() {
        let r = s.trade(&mut ctx, &a, *m, LOT, 1e6).await;
        if n < limit {
            r.unwrap();
        } else {
            expect_err(r, VenueError::TooManyPositions);
        }
    }
    let open = s.margin(&mut ctx, &a.pubkey()).await.positions.iter().filter(|p| p.is_open()).count();
    assert_eq!(open, limit, "the refused trade opened nothing");
}

#[tokio::test]
async fn margin_deposit_and_withdrawal_rules() {
    let mut ctx = program_test().start_with_context().await;
    let s = setup(&mut ctx).await;
    let a = s.trader(&mut ctx, 2_000 * USDC).await;
    let b = s.trader(&mut ctx, 2_000 * USDC).await;
    let perp = [market_pda(&s.f.venue, PERP)];

    expect_err(send_with(&mut ctx, &[s.flow_ix(&a, 0, &[])], &[&a.key]).await, VenueError::InvalidAmount);
    expect_err(
        send_with(&mut ctx, &[s.flow_ix(&a, -2_001 * USDC as i64, &[])], &[&a.key]).await,
        VenueError::InsufficientCollateral,
    );
    // u64 amounts beyond the signed range are refused before any token moves.
    let mut ix = s.flow_ix(&a, 1, &[]);
    ix.data = anchor_lang::InstructionData::data(&keel_venue::instruction::DepositMargin { amount: u64::MAX });
    expect_err(send_with(&mut ctx, &[ix], &[&a.key]).await, VenueError::MathOverflow);

    // With 100 units open (IM 1,500), 1,000 cannot leave; 100 can, if the position's market is passed.
    s.trade(&mut ctx, &a, PERP, 100 * LOT, 101.0).await.unwrap();
    expect_err(
        send_with(&mut ctx, &[s.flow_ix(&a, -1_000 * USDC as i64, &perp)], &[&a.key]).await,
        VenueError::InsufficientMargin,
    );
    expect_err(
        send_with(&mut ctx, &[s.flow_ix(&a, -100 * USDC as i64, &[])], &[&a.key]).await,
        VenueError::MarketAccountsMismatch,
    );
    send_with(&mut ctx, &[s.flow_ix(&a, -100 * USDC as i64, &perp)], &[&a.key]).await.unwrap();
    assert_eq!(token_balance(&mut ctx, a.collateral).await, 100 * USDC);

    // B cannot withdraw from A's account into its own wallet.
    let mut ix = s.flow_ix(&b, -(USDC as i64), &perp);
    ix.accounts[2].pubkey = margin_pda(&s.f.venue, &a.pubkey());
    expect_err(send_with(&mut ctx, &[ix], &[&b.key]).await, VenueError::UnauthorizedOwner);

    // Guardian pauses per operation.
    let g = s.f.guardian.pubkey();
    fund(&mut ctx, g, 10_000_000).await;
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, op::DEPOSIT | op::WITHDRAW)], &[&s.f.guardian]).await.unwrap();
    expect_err(send_with(&mut ctx, &[s.flow_ix(&b, USDC as i64, &[])], &[&b.key]).await, VenueError::OperationPaused);
    expect_err(
        send_with(&mut ctx, &[s.flow_ix(&b, -(USDC as i64), &[])], &[&b.key]).await,
        VenueError::OperationPaused,
    );
    s.assert_reconciles(&mut ctx, &[a.pubkey(), b.pubkey()]).await;
}

#[tokio::test]
async fn venue_creation_rejects_bad_margin_parameters() {
    let mut ctx = program_test().start_with_context().await;
    let program = anchor_spl::token::ID;
    let mint = create_mint(&mut ctx, program, 6).await;
    let admin = ctx.payer.pubkey();
    let bad = [
        keel_venue::state::MarginConfig { im_multiplier: pod(0.5), ..default_margin_config() },
        keel_venue::state::MarginConfig { mm_fraction: pod(0.0), ..default_margin_config() },
        keel_venue::state::MarginConfig { short_option_min: pod(1.0), ..default_margin_config() },
        keel_venue::state::MarginConfig { liquidation_fee_bps: 1001, ..default_margin_config() },
        keel_venue::state::MarginConfig { liquidation_max_close_bps: 0, ..default_margin_config() },
    ];
    for margin in bad {
        let mut ix = create_venue_ix(&admin, &mint, &program, 9, Pubkey::new_unique(), Pubkey::new_unique());
        ix.data = anchor_lang::InstructionData::data(&keel_venue::instruction::CreateVenue {
            id: 9,
            guardian: Pubkey::new_unique(),
            vol_authority: Pubkey::new_unique(),
            margin,
        });
        expect_err(send(&mut ctx, &[ix]).await, VenueError::InvalidMarginParams);
    }
    // Option markets carry no funding; perps at most 10%/day.
    let s = setup(&mut ctx).await;
    let u = s.f.underlying();
    let ix = add_market_ix(
        &admin,
        &s.f.venue,
        &u,
        None,
        3,
        keel_venue::state::MarketConfig { max_funding_bps_per_day: 1001, ..perp_config() },
    );
    expect_err(send(&mut ctx, &[ix]).await, VenueError::InvalidMarketParams);
    let mut call = option_config(MarketKind::Call, 120.0, s.expiry);
    call.max_funding_bps_per_day = 1;
    let ix = add_market_ix(&admin, &s.f.venue, &u, Some(s.surface), 3, call);
    expect_err(send(&mut ctx, &[ix]).await, VenueError::InvalidMarketParams);
}

/// The book of `owner`'s margin account valued here from the accounts, term by term as `BookReport` defines them,
/// with plain fixed-point operators, and within it the position in `traded` (if any): what the venue's report must
/// equal.
async fn book_by_hand(
    ctx: &mut ProgramTestContext,
    s: &TradingFixture,
    owner: &Pubkey,
    traded: Option<u32>,
) -> BookReport {
    use keel_math::margin::{position_value, Bound};
    let acct = s.margin(ctx, owner).await;
    let params = s.venue_state(ctx).await.margin.params();
    let traded = traded.map(|i| market_pda(&s.f.venue, i));
    let (mut book, mut position) = (ReportedSums::zeroed(), ReportedSums::zeroed());
    let add = |x: &mut keel_venue::state::PodI128, y: I80F48| *x = (x.fx() + y).into();
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let m: keel_venue::state::Market = account(ctx, p.market).await;
        let risk = m.position_risk(p, 6).unwrap();
        let mut r = ReportedSums::zeroed();
        add(&mut r.value_lower, position_value(&risk, Bound::Lower).unwrap());
        for (s, x) in r.scenarios.iter_mut().zip(risk.risk_array) {
            add(s, risk.qty * x);
        }
        if m.is_option() && p.size < 0 {
            add(&mut r.short_option_floor, risk.qty.abs() * risk.spot * params.short_option_min);
        }
        for (g, c) in r.greeks_lots.iter_mut().zip([m.cache.delta, m.cache.gamma, m.cache.vega]) {
            add(g, I80F48::from_num(p.size) * c.fx());
        }
        add(&mut r.gross_qty, risk.qty.abs());
        add(&mut r.mid, risk.qty * risk.mark - risk.cost - risk.funding_owed);
        if Some(p.market) == traded {
            position = r;
        }
        // Field by field: a ReportedSums is 21 fixed-point values.
        let fields: &mut [keel_venue::state::PodI128; 21] = bytemuck::cast_mut(&mut book);
        for (f, x) in fields.iter_mut().zip(bytemuck::cast::<ReportedSums, [keel_venue::state::PodI128; 21]>(r)) {
            add(f, x.fx());
        }
    }
    BookReport { margin_account: margin_pda(&s.f.venue, owner), book, position, collateral: acct.collateral }
}

/// The return data of `ix` (simulated, then sent: both run on the same bank state) as the venue's `BookReport`
/// bytes, or None when the instruction set none.
async fn reported(ctx: &mut ProgramTestContext, ix: Instruction, a: &Actor) -> Option<BookReport> {
    let (data, _) = simulate_with(ctx, std::slice::from_ref(&ix), &[&a.key]).await;
    send_with(ctx, &[ix], &[&a.key]).await.expect("the instruction succeeds");
    let (program, data) = data.filter(|(_, d)| !d.is_empty())?;
    assert_eq!(program, keel_venue::ID);
    // As clients decode it (keel-client, Borsh); the bytes are the report's own, as the vault reads them.
    let report = book_report(&program, &data).expect("a report");
    assert_eq!(bytemuck::pod_read_unaligned::<BookReport>(&data), report);
    Some(report)
}

#[tokio::test]
async fn trades_and_withdrawals_report_the_book_when_asked() {
    let mut ctx = program_test().start_with_context().await;
    let mut s = setup(&mut ctx).await;
    let a = s.trader(&mut ctx, 100_000 * USDC).await;
    // A book of three kinds: long perps, short calls, long puts; then spot and funding move.
    s.trade(&mut ctx, &a, PERP, 10 * LOT, 101.0).await.unwrap();
    s.trade(&mut ctx, &a, CALL, -20 * LOT, 0.0).await.unwrap();
    s.set_price(&mut ctx, 98.5).await;
    let others = s.other_markets(&mut ctx, &a, PUT).await;

    // Not asked: nothing.
    let ix = trade_ix_with(&a.pubkey(), &s.market(PUT), LOT, 1e6, false, &others);
    assert_eq!(reported(&mut ctx, ix, &a).await, None);
    // Asked: the whole book after the trade, as valued here independently.
    let others = s.other_markets(&mut ctx, &a, PUT).await;
    let ix = trade_ix_with(&a.pubkey(), &s.market(PUT), 7 * LOT, 1e6, true, &others);
    let report = reported(&mut ctx, ix, &a).await.expect("asked for");
    assert_eq!(report, book_by_hand(&mut ctx, &s, &a.pubkey(), Some(PUT)).await);
    assert!(report.book.short_option_floor.fx() > 0 && report.book.greeks_lots[0].fx() != 0, "every term is exercised");
    assert!(report.position.mid.fx() != 0 && report.position != report.book, "the put's own terms");
    // Its bytes are its Borsh encoding (the vault reads the return data as bytes).
    let mut encoded = Vec::new();
    anchor_lang::AnchorSerialize::serialize(&report, &mut encoded).unwrap();
    assert_eq!(encoded, bytemuck::bytes_of(&report));

    // A withdrawal reports the same positions with the collateral it left.
    let markets = s.other_markets(&mut ctx, &a, u32::MAX).await;
    let (v, mint, c, t) = (&s.f.venue, &s.f.mint, &a.collateral, &s.token_program);
    let ix = margin_flow_ix_with(&a.pubkey(), v, mint, c, t, -(1_000 * USDC as i64), true, &markets);
    let after = reported(&mut ctx, ix, &a).await.expect("asked for");
    // A withdrawal names no market: no position on its own.
    let position = ReportedSums::zeroed();
    assert_eq!(after, BookReport { collateral: report.collateral - 1_000 * USDC as i64, position, ..report });
    assert_eq!(after, book_by_hand(&mut ctx, &s, &a.pubkey(), None).await);
    let ix = margin_flow_ix_with(&a.pubkey(), v, mint, c, t, -(USDC as i64), false, &markets);
    assert_eq!(reported(&mut ctx, ix, &a).await, None);
}
