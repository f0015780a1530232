//! Stress on the real runtime: historical crashes (Binance hourly closes, SOL and BTC: May 2021, LUNA, 3AC, FTX) and
//! synthetic one-step gaps of -40% and -60%, each through the same world. A vault sells 400 puts (4x its margin in notional), hedged with the perp,
//! under a mandate whose health floor a crash breaches; a trader is long the perp at 5x. Every hour the oracle moves,
//! the liquidator liquidates what it can, and a keeper deleverages the vault (reduce-only, through the program's
//! `deleverage`) while it is below its floor. After every step: the venue's tokens reconcile to the unit and the
//! vault stays solvent (positive NAV, margin equity above zero). After the event every depositor asks for half its
//! shares and is paid pro rata, within the documented rounding bound, from the same NAV.
//!
//! Paths are scaled to start at 100 (the shape of the move is what is tested; the book is sized for spot 100).
//! The historical windows (`history_*`, about 1,450 hourly steps together) run natively; the SBF tier runs the rest
//! of this file (scripts/sbf-test), since the programs' logic is the same and those steps would take it ten minutes.
use chrono::{DateTime, Utc};
use keel_keeper::market_data::{prices::load_bars, shared_data_dir};
use keel_math::margin::Bound;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::*;
use keel_vault::instructions::{Leg, Pricing};
use keel_vault::state::{Vault, WithdrawalRequest};
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

const USDC: u64 = 1_000_000;
const PUTS: i64 = 400;
const MARGIN: u64 = 10_000 * USDC;
const MIN_HEALTH: f64 = 2.5;

/// `hours` hourly closes of `file` from `from` (RFC 3339), scaled so the first is 100; the window must be gap-free.
fn window(file: &str, from: &str, hours: usize) -> Vec<f64> {
    let bars = load_bars(&shared_data_dir().join("prices").join(file)).expect("hourly data");
    let start: DateTime<Utc> = from.parse().expect("RFC 3339");
    let picked: Vec<_> = bars.iter().filter(|b| b.time >= start).take(hours).collect();
    assert_eq!(picked.len(), hours, "{file} from {from}");
    assert!(picked.windows(2).all(|w| (w[1].time - w[0].time).num_seconds() == 3_600), "{file} from {from} has gaps");
    picked.iter().map(|b| 100.0 * b.close / picked[0].close).collect()
}

/// 12 calm hours at 100, one step down by `drop`, 24 hours there.
fn gap(drop: f64) -> Vec<f64> {
    let low = 100.0 * (1.0 - drop);
    std::iter::repeat_n(100.0, 12).chain(std::iter::repeat_n(low, 24)).collect()
}

/// What a run saw.
#[derive(Debug, Default)]
struct Run {
    low: f64,
    deleverage_steps: u32,
    liquidation_steps: u32,
    min_health: f64,
    claims: Vec<(u64, u64)>,
}

/// Reduce-only legs closing 1/`divisor` of every open position of the vault (truncated towards zero, so never more
/// than held).
async fn reduce(ctx: &mut ProgramTestContext, v: &VaultFixture, divisor: i64, spot: f64) -> Vec<Leg> {
    let acct = v.t.margin(ctx, &v.vault).await;
    let mut legs = Vec::new();
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let size = -(p.size / divisor);
        if size != 0 {
            // Buying back pays up to twice spot; selling accepts down to zero: the program's own risk checks bind.
            let limit = if size > 0 { bits(spot * 2.0) } else { 0 };
            legs.push(Leg { market: p.market, size, limit_price: limit });
        }
    }
    legs
}

/// The keeper's deleverage: the smallest fraction (a quarter, a half, all) the program accepts.
async fn deleverage(ctx: &mut ProgramTestContext, v: &VaultFixture, keeper: &Actor, spot: f64) -> bool {
    for divisor in [4, 2, 1] {
        let legs = reduce(ctx, v, divisor, spot).await;
        if legs.is_empty() {
            return false;
        }
        let pricing = Pricing {
            expected_sequence: v.state(ctx).await.sequence,
            priced_slot: slot(ctx).await,
            priced_price: bits(spot),
        };
        let ix = v.rebalance_ix(ctx, &keeper.pubkey(), &keeper.collateral, pricing, legs, 0, true).await;
        if send_with(ctx, &[ix], &[&keeper.key]).await.is_ok() {
            return true;
        }
    }
    false
}

/// The stressed world: the vault with its three depositors and hedged short puts, the 5x long, a liquidator and
/// a keeper.
struct Book {
    ctx: ProgramTestContext,
    v: VaultFixture,
    depositors: Vec<Depositor>,
    bull: Actor,
    liquidator: Actor,
    keeper: Actor,
}

impl Book {
    async fn open() -> Self {
        let mut ctx = program_test().start_with_context().await;
        let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
        let mut config = loose_vault_config(&FIXTURE_MARKETS);
        config.mandate.min_health = pod(MIN_HEALTH);
        let v = VaultFixture::with_config(&mut ctx, t, 0, config, solana_sdk::signature::Keypair::new()).await;
        // 1. Three depositors; the strategist sells puts hedged with the perp, 10% of the vault at the venue.
        let mut depositors = Vec::new();
        for amount in [60_000 * USDC, 30_000 * USDC, 10_000 * USDC] {
            let d = v.depositor(&mut ctx, amount).await;
            let ix = v.deposit_ix(&mut ctx, &d, amount).await;
            send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("deposit");
            depositors.push(d);
        }
        let put = v.t.market_state(&mut ctx, PUT).await;
        let hedge = (put.cache.delta.fx() * fixed::types::I80F48::from_num(PUTS * LOT)).round().to_num::<i64>();
        let legs = vec![v.leg(PUT, -PUTS * LOT, 0.0), v.leg(PERP, hedge, 99.0)];
        v.allocate(&mut ctx, MARGIN, legs, 0).await.expect("the hedged short-put book");
        // 2. A trader long the perp at 5x, a liquidator and a keeper.
        let bull = v.t.trader(&mut ctx, 4_000 * USDC).await;
        v.t.trade(&mut ctx, &bull, PERP, 200 * LOT, 101.0).await.expect("5x long");
        let liquidator = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
        let keeper = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
        Self { ctx, v, depositors, bull, liquidator, keeper }
    }

    /// One hour later at `spot` (`None`: the oracle publishes nothing).
    async fn hour(&mut self, spot: Option<f64>) {
        let t = now(&mut self.ctx).await + 3_600;
        set_time(&mut self.ctx, t).await;
        if let Some(spot) = spot {
            self.v.t.set_price(&mut self.ctx, spot).await;
        }
    }

    /// The liquidator's and the keeper's work for the hour: (liquidation steps, deleverage steps).
    async fn work(&mut self, spot: f64) -> (u32, u32) {
        let (ctx, v) = (&mut self.ctx, &self.v);
        let liquidated = liquidate_while_possible(ctx, &v.t, &self.liquidator, &self.bull.pubkey(), PERP).await;
        let mut deleveraged = 0;
        while measure(ctx, v).await.2 < MIN_HEALTH {
            if !deleverage(ctx, v, &self.keeper, spot).await {
                break;
            }
            deleveraged += 1;
        }
        (liquidated, deleveraged)
    }

    fn owners(&self) -> [Pubkey; 2] {
        [self.v.vault, self.bull.pubkey()]
    }
}

async fn stress(path: Vec<f64>) -> Run {
    let mut b = Book::open().await;
    // 3. Hour by hour.
    let mut run = Run { low: f64::MAX, min_health: f64::MAX, ..Run::default() };
    for spot in path {
        b.hour(Some(spot)).await;
        run.low = run.low.min(spot);
        let (liquidated, deleveraged) = b.work(spot).await;
        run.liquidation_steps += liquidated;
        run.deleverage_steps += deleveraged;
        let (_, _, health) = measure(&mut b.ctx, &b.v).await;
        run.min_health = run.min_health.min(health);
        assert!(
            health >= MIN_HEALTH,
            "the keeper restores the mandate's health floor within the hour at {spot}: {health}"
        );
        assert!(b.v.nav(&mut b.ctx, Bound::Lower).await > 0, "the vault stays solvent at {spot}");
        let owners = b.owners();
        b.v.t.assert_reconciles(&mut b.ctx, &owners).await;
    }
    let owners = b.owners();
    let Book { mut ctx, mut v, depositors, .. } = b;
    // 4. After the event: each depositor asks for half its shares, all at one NAV.
    let at = now(&mut ctx).await;
    let (nav, total) = (v.nav(&mut ctx, Bound::Lower).await, v.accrued(&mut ctx, at).await.total_shares);
    for d in &depositors {
        let held = token_balance(&mut ctx, d.shares).await;
        let ix = v.request_ix(&mut ctx, d, held / 2).await;
        send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("request after the event");
        let r: WithdrawalRequest = account(&mut ctx, keel_client::vault::withdrawal_pda(&v.vault, &d.a.pubkey())).await;
        let bound = Vault::SHARE_MATH.redeem_shortfall_bound_ceil(r.shares, nav, total).unwrap();
        let exact = u128::from(r.shares) * u128::from(nav);
        assert!(u128::from(r.value_at_request) * u128::from(total) <= exact, "never above pro rata");
        assert!(
            exact <= (u128::from(r.value_at_request) + u128::from(bound)) * u128::from(total),
            "pro rata: {} of {total} shares at {nav}",
            r.shares
        );
    }
    // 5. A day later, at the same price, each claim pays min(value at request, value now), in any order.
    let t = now(&mut ctx).await + 86_400;
    set_time(&mut ctx, t).await;
    let last = v.t.market_state(&mut ctx, PERP).await.cache.spot.get();
    v.t.set_price(&mut ctx, fixed::types::I80F48::from_bits(last).to_num()).await;
    for d in depositors.iter().rev() {
        let r: WithdrawalRequest = account(&mut ctx, keel_client::vault::withdrawal_pda(&v.vault, &d.a.pubkey())).await;
        let accrued = v.accrued(&mut ctx, t).await;
        let now_value = Vault::SHARE_MATH
            .shares_to_amount_floor(r.shares, v.nav(&mut ctx, Bound::Lower).await, accrued.total_shares)
            .unwrap();
        let before = token_balance(&mut ctx, d.a.collateral).await;
        let ix = v.claim_ix(&mut ctx, d).await;
        send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("claim");
        let paid = token_balance(&mut ctx, d.a.collateral).await - before;
        assert_eq!(paid, r.value_at_request.min(now_value));
        run.claims.push((r.shares, paid));
    }
    v.t.assert_reconciles(&mut ctx, &owners).await;
    run
}

/// What every crash must show: the fall, the trader liquidated, the vault deleveraged (each of these falls breaches
/// the health floor at least once), and claims pro rata to each other. Each claim is exact to its own pricing
/// (asserted in `stress`); across claims the first one's floor, scaled by the share ratio, is the only slack.
fn assert_survived(run: &Run, deepest_below: f64) {
    eprintln!("{run:?}");
    assert!(run.low < deepest_below, "{run:?}");
    assert!(run.liquidation_steps >= 1, "the 5x long is liquidated: {run:?}");
    assert!(run.deleverage_steps >= 1, "the keeper deleverages the vault: {run:?}");
    let (s0, p0) = run.claims[0];
    for (s, p) in &run.claims {
        let fair = u128::from(*s) * u128::from(p0) / u128::from(s0);
        let slack = 2 + u128::from(s.div_ceil(s0));
        assert!(u128::from(*p).abs_diff(fair) <= slack, "claims are pro rata: {run:?}");
    }
}

#[tokio::test]
async fn gap_of_40_percent_in_one_step() {
    assert_survived(&stress(gap(0.4)).await, 61.0);
}

#[tokio::test]
async fn gap_of_60_percent_in_one_step() {
    assert_survived(&stress(gap(0.6)).await, 41.0);
}

const SOL: &str = "SOLUSDT_1h_binance_spot.csv";
const BTC: &str = "BTCUSDT_1h_binance_spot.csv";

#[tokio::test]
async fn history_may_2021_sol() {
    assert_survived(&stress(window(SOL, "2021-05-18T12:00:00Z", 144)).await, 45.0);
}

#[tokio::test]
async fn history_may_2021_btc() {
    assert_survived(&stress(window(BTC, "2021-05-18T12:00:00Z", 144)).await, 80.0);
}

#[tokio::test]
async fn history_luna_may_2022_sol() {
    assert_survived(&stress(window(SOL, "2022-05-05T00:00:00Z", 192)).await, 45.0);
}

#[tokio::test]
async fn history_luna_may_2022_btc() {
    assert_survived(&stress(window(BTC, "2022-05-05T00:00:00Z", 192)).await, 70.0);
}

#[tokio::test]
async fn history_three_arrows_june_2022_sol() {
    assert_survived(&stress(window(SOL, "2022-06-10T00:00:00Z", 216)).await, 70.0);
}

#[tokio::test]
async fn history_three_arrows_june_2022_btc() {
    assert_survived(&stress(window(BTC, "2022-06-10T00:00:00Z", 216)).await, 60.0);
}

#[tokio::test]
async fn history_ftx_november_2022_sol() {
    assert_survived(&stress(window(SOL, "2022-11-06T00:00:00Z", 120)).await, 40.0);
}

#[tokio::test]
async fn history_ftx_november_2022_btc() {
    assert_survived(&stress(window(BTC, "2022-11-06T00:00:00Z", 120)).await, 80.0);
}

/// Every account that holds or records value: the venue's and the vault's token accounts, every depositor's, the
/// vault, both margin accounts and the pool (the venue account). Raw bytes, so any change shows.
async fn value_accounts(b: &mut Book) -> Vec<(Pubkey, Vec<u8>)> {
    let venue = b.v.t.f.venue;
    let mut keys = vec![
        keel_client::venue::collateral_vault_pda(&venue),
        keel_client::vault::idle_pda(&b.v.vault),
        keel_client::vault::escrow_pda(&b.v.vault),
        b.v.vault,
        venue,
        margin_pda(&venue, &b.v.vault),
        margin_pda(&venue, &b.bull.pubkey()),
    ];
    for d in &b.depositors {
        keys.extend([d.a.collateral, d.shares]);
    }
    let mut out = Vec::new();
    for k in keys {
        let data = b.ctx.banks_client.get_account(k).await.expect("rpc").map(|a| a.data).unwrap_or_default();
        out.push((k, data));
    }
    out
}

fn refused(result: TxResult, want: u32, what: &str) {
    assert_eq!(custom_error(result), want, "{what}");
}

#[tokio::test]
async fn an_hour_long_oracle_outage_freezes_every_priced_action_and_loses_nothing() {
    use keel_venue::error::VenueError;
    let mut b = Book::open().await;
    b.hour(Some(100.0)).await;
    let newcomer = b.v.depositor(&mut b.ctx, 1_000 * USDC).await;
    // 1. An hour without a price: past the feed's age limit and its reduce-only grace.
    b.hour(None).await;
    let before = value_accounts(&mut b).await;
    let (ctx, v) = (&mut b.ctx, &b.v);
    let t = now(ctx).await;
    let refresh = v.t.refresh_ixs(&ctx.payer.pubkey(), t);
    refused(send_with(ctx, &refresh[..1], &[]).await, VenueError::OracleStale.into(), "refresh on a stale price");
    let ix = v.deposit_ix(ctx, &newcomer, 1_000 * USDC).await;
    refused(send_with(ctx, &[ix], &[&newcomer.a.key]).await, VenueError::RiskCacheStale.into(), "deposit");
    let d = &b.depositors[0];
    let ix = v.request_ix(ctx, d, 1_000_000_000).await;
    refused(send_with(ctx, &[ix], &[&d.a.key]).await, VenueError::RiskCacheStale.into(), "withdrawal request");
    assert!(!deleverage(ctx, v, &b.keeper, 100.0).await, "no deleverage on stale marks");
    let ix = liquidate_ix(
        &b.liquidator.pubkey(),
        &v.t.market(PERP),
        &margin_pda(&v.t.f.venue, &b.bull.pubkey()),
        &v.t.f.mint,
        &b.liquidator.collateral,
        &v.t.token_program,
        u64::MAX,
        &[],
    );
    refused(send_with(ctx, &[ix], &[&b.liquidator.key]).await, VenueError::OracleStale.into(), "liquidation");
    refused(v.t.trade(ctx, &b.bull, PERP, 10 * LOT, 101.0).await, VenueError::OracleStale.into(), "a new trade");
    // 2. Nothing moved: every token account, the vault, the margin accounts and the pool are byte-identical.
    assert!(before == value_accounts(&mut b).await, "an outage changes nothing");
    // 3. The feed returns 35% lower: the long is liquidated, the keeper deleverages, deposits and exits reopen.
    b.v.t.set_price(&mut b.ctx, 65.0).await;
    let (liquidated, deleveraged) = b.work(65.0).await;
    assert!(liquidated >= 1 && deleveraged >= 1, "{liquidated} liquidation and {deleveraged} deleverage steps");
    let (ctx, v) = (&mut b.ctx, &b.v);
    let ix = v.deposit_ix(ctx, &newcomer, 1_000 * USDC).await;
    send_with(ctx, &[ix], &[&newcomer.a.key]).await.expect("deposit after the outage");
    let ix = v.request_ix(ctx, &b.depositors[0], 1_000_000_000).await;
    send_with(ctx, &[ix], &[&b.depositors[0].a.key]).await.expect("request after the outage");
    let owners = b.owners();
    b.v.t.assert_reconciles(&mut b.ctx, &owners).await;
}

#[tokio::test]
async fn a_confidence_blow_out_stops_risk_taking_but_not_exits_liquidation_or_deleveraging() {
    use keel_venue::error::VenueError;
    let mut b = Book::open().await;
    b.hour(Some(100.0)).await;
    let newcomer = b.v.depositor(&mut b.ctx, 1_000 * USDC).await;
    // 1. An hour later the price is 25% lower and its confidence interval 5% wide (the feed's limit is 1%, the
    //    vault's breaker 2%). Markets still refresh on it: that only reduces risk.
    b.hour(None).await;
    let t = now(&mut b.ctx).await;
    let mut p = PythPrice::new(keel_tests::venue::FEED, 75.0, t);
    p.conf = p.price.unsigned_abs() / 20;
    b.v.t.publish(&mut b.ctx, p).await;
    let (ctx, v) = (&mut b.ctx, &b.v);
    // 2. Risk-taking stops: a new long, a deposit.
    refused(v.t.trade(ctx, &b.bull, PERP, 10 * LOT, 80.0).await, VenueError::OracleTooUncertain.into(), "a new trade");
    let ix = v.deposit_ix(ctx, &newcomer, 1_000 * USDC).await;
    let breaker = keel_vault::error::VaultError::CircuitBreakerTripped;
    refused(send_with(ctx, &[ix], &[&newcomer.a.key]).await, breaker.into(), "deposit");
    // 3. Liquidation, deleveraging and exits go on.
    let (liquidated, deleveraged) = b.work(75.0).await;
    assert!(liquidated >= 1 && deleveraged >= 1, "{liquidated} liquidation and {deleveraged} deleverage steps");
    let (ctx, v) = (&mut b.ctx, &b.v);
    let ix = v.request_ix(ctx, &b.depositors[2], 1_000_000_000).await;
    send_with(ctx, &[ix], &[&b.depositors[2].a.key]).await.expect("an exit on an uncertain price");
    assert!(measure(ctx, v).await.2 >= MIN_HEALTH);
    let owners = b.owners();
    b.v.t.assert_reconciles(&mut b.ctx, &owners).await;
}
