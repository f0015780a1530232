//! The backtest engine: one account running the strategist's book (short strangles rolled at expiry) and a
//! delta hedge in the perp, bar by bar, under a rebalance [`Policy`] — the same trait and implementations the
//! live keeper runs — with the costs and constraints the venue and the vault's mandate impose:
//!
//! - trading costs: venue fee and half-spread per unit of notional, a linear market impact (slippage), and the
//!   Solana base + priority fee per transaction;
//! - oracle latency: the policy decides on the price `latency_slots` old (between bars, a seeded Brownian bridge
//!   at the pricing volatility supplies the sub-bar price), the trade fills at the current one;
//! - the vault's rebalance rules: a minimum interval between rebalances, and the risk removed must exceed the
//!   cost by `min_benefit_ratio` (the vault rejects it otherwise); the keeper is paid `reward_per_risk` of the risk
//!   removed, capped per call and per day, out of the account (a cost to depositors);
//! - margin: maintenance = a fraction of (worst loss over the venue's SPAN grid + a minimum per short option); an
//!   account whose equity falls below it is liquidated (everything closed, with the liquidation penalty) and
//!   re-opens after a cool-down;
//! - gaps in the data: a missing stretch is one step; nothing trades inside it.
//!
//! Delta and gamma are given to the policy per contract, so bands read as fractions of the position.
use super::series::Series;
use super::vol::VolReader;
use crate::quant::bs::{self, OptionKind};
use crate::quant::risk::span_grid;
use crate::strategy::book::{leg, strangle_strikes, StrangleSpec};
use crate::strategy::policy::{Action, Costs, Observation, Policy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Trading costs and the vault's rebalance rules.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    pub fee_bps: f64,
    pub half_spread_bps: f64,
    /// Extra bps of slippage per 1,000,000 of notional in one trade (linear impact).
    pub impact_bps_per_million: f64,
    /// Base + priority fee per transaction, in quote units.
    pub tx_fee: f64,
    /// Decisions use the price this many slots old (oracle and submission latency); policies widen their bands
    /// for it.
    pub latency_slots: u64,
    pub slot_secs: f64,
    /// Seed of the sub-bar price noise.
    pub latency_seed: u64,
    pub min_interval_secs: i64,
    pub min_benefit_ratio: f64,
    pub reward_per_risk: f64,
    pub reward_cap: f64,
    pub daily_reward_cap: f64,
}

impl CostModel {
    pub fn latency_secs(&self) -> f64 {
        self.latency_slots as f64 * self.slot_secs
    }
}

impl Default for CostModel {
    /// The reference venue and vault presets (keel-client presets): 5 bp fee, 10 bp half-spread, rewards 10% of
    /// risk removed capped at 50 per call and 200 a day; a priority-fee-heavy 0.01 per transaction; 5 slots
    /// (2 s) between the oracle print and execution.
    fn default() -> Self {
        CostModel {
            fee_bps: 5.0,
            half_spread_bps: 10.0,
            impact_bps_per_million: 5.0,
            tx_fee: 0.01,
            latency_slots: 5,
            slot_secs: 0.4,
            latency_seed: 1,
            min_interval_secs: 0,
            min_benefit_ratio: 1.0,
            reward_per_risk: 0.1,
            reward_cap: 50.0,
            daily_reward_cap: 200.0,
        }
    }
}

/// Margin and mandate limits (the venue's and the vault's presets).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    pub spot_range: f64,
    pub vol_range: f64,
    /// Minimum initial margin per short option, as a fraction of spot.
    pub short_option_min: f64,
    /// Maintenance margin as a fraction of initial.
    pub mm_fraction: f64,
    pub liquidation_fee_bps: f64,
    pub cooldown_secs: i64,
    /// The mandate's delta band per contract (time outside it is reported).
    pub mandate_band: f64,
    /// The mandate's minimum health (equity / maintenance).
    pub min_health: f64,
}

impl Default for RiskModel {
    fn default() -> Self {
        RiskModel {
            spot_range: 0.15,
            vol_range: 0.25,
            short_option_min: 0.1,
            mm_fraction: 0.5,
            liquidation_fee_bps: 50.0,
            cooldown_secs: 86_400,
            mandate_band: 0.25,
            min_health: 1.5,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostsByKind {
    pub fees: f64,
    pub spread: f64,
    pub slippage: f64,
    pub tx_fees: f64,
    pub keeper_rewards: f64,
    pub option_trading: f64,
    pub liquidation_penalties: f64,
}

impl CostsByKind {
    /// What hedging cost: trading the perp, transactions and keeper rewards (not the option sales).
    pub fn hedging(&self) -> f64 {
        self.fees + self.spread + self.slippage + self.tx_fees + self.keeper_rewards
    }

    pub fn total(&self) -> f64 {
        self.fees
            + self.spread
            + self.slippage
            + self.tx_fees
            + self.keeper_rewards
            + self.option_trading
            + self.liquidation_penalties
    }
}

/// One bar of the run, for reports and plots.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BarRecord {
    pub t: i64,
    pub spot: f64,
    pub equity: f64,
    /// Book delta per contract at the bar, before any trade.
    pub delta: f64,
    /// The policy's band half-width (per contract).
    pub band: f64,
    pub rebalanced: bool,
    pub outside_mandate: bool,
    pub health: f64,
    /// Market P&L this bar not explained by the book's theta (quote units).
    pub hedge_error: f64,
}

/// Everything a run produced.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Run {
    pub policy: String,
    pub bars: Vec<BarRecord>,
    pub costs: CostsByKind,
    pub rebalances: usize,
    /// Policy trades the vault would refuse (too soon, or risk removed below cost x ratio).
    pub refused: usize,
    pub liquidations: usize,
    /// Strangles sold smaller than the target size because initial margin would have exceeded equity.
    pub sized_down: usize,
    pub hedge_notional: f64,
    pub options_sold: usize,
}

struct Leg {
    kind: OptionKind,
    strike: f64,
    expiry: i64,
    /// Signed contracts (negative = short).
    size: f64,
}

/// The account during a run.
struct Account<'a> {
    spec: StrangleSpec,
    costs: CostModel,
    risk: RiskModel,
    cash: f64,
    units: f64,
    legs: Vec<Leg>,
    contracts: f64,
    run: &'a mut Run,
}

impl Account<'_> {
    fn book_greeks(&self, spot: f64, vol: f64, t: i64) -> bs::Greeks {
        let mut g = bs::Greeks { delta: self.units, ..Default::default() };
        for l in &self.legs {
            let o = leg(l.kind, spot, l.strike, ((l.expiry - t) as f64 / SECONDS_PER_YEAR).max(0.0), vol);
            let x = bs::greeks(&o);
            g.price += l.size * x.price;
            g.delta += l.size * x.delta;
            g.gamma += l.size * x.gamma;
            g.vega += l.size * x.vega;
            g.theta += l.size * x.theta;
        }
        g
    }

    /// Maintenance margin: mm_fraction x (worst SPAN-grid loss of options + hedge, plus the short-option minimum).
    fn maintenance(&self, spot: f64, vol: f64, t: i64, value: f64) -> f64 {
        let (spots, vols) = span_grid(self.risk.spot_range, self.risk.vol_range);
        let mut worst = 0.0f64;
        for ds in spots {
            for dv in vols {
                let shocked = self.book_greeks(spot * (1.0 + ds), vol * (1.0 + dv), t).price;
                worst = worst.max(-(shocked - value + self.units * spot * ds));
            }
        }
        let shorts: f64 = self.legs.iter().filter(|l| l.size < 0.0).map(|l| -l.size).sum();
        self.risk.mm_fraction * (worst + self.risk.short_option_min * spot * shorts)
    }

    /// Trades `units` of the perp at `spot`; returns the cost charged.
    fn trade_perp(&mut self, units: f64, spot: f64) -> f64 {
        let notional = units.abs() * spot;
        let fees = notional * self.costs.fee_bps / 1e4;
        let spread = notional * self.costs.half_spread_bps / 1e4;
        let slippage = notional * (self.costs.impact_bps_per_million * notional / 1e6) / 1e4;
        self.run.costs.fees += fees;
        self.run.costs.spread += spread;
        self.run.costs.slippage += slippage;
        self.run.costs.tx_fees += self.costs.tx_fee;
        self.run.hedge_notional += notional;
        self.units += units;
        let total = fees + spread + slippage + self.costs.tx_fee;
        self.cash -= total;
        total
    }

    /// Sells the strangle at the target delta for the current equity. The venue refuses a sale the account cannot
    /// margin, so the size is cut to what leaves initial margin (maintenance / mm_fraction) within equity.
    /// Returns the cost charged.
    fn open(&mut self, spot: f64, vol: f64, t: i64, equity: f64) -> f64 {
        let tenor = self.spec.tenor_days / 365.0;
        let (kp, kc) = strangle_strikes(spot, vol, tenor, self.spec.target_delta);
        let expiry = t + (self.spec.tenor_days * 86_400.0).round() as i64;
        // Margin per contract of the (hedged) book, measured on a one-contract strangle.
        self.legs = [(OptionKind::Put, kp), (OptionKind::Call, kc)]
            .map(|(kind, strike)| Leg { kind, strike, expiry, size: -1.0 })
            .into();
        // The strangle alone: a hedge left from the expired book is traded down by the policy, not margined here.
        let hedge = std::mem::take(&mut self.units);
        let per_contract_value = self.book_greeks(spot, vol, t).price;
        let im_per_contract = self.maintenance(spot, vol, t, per_contract_value) / self.risk.mm_fraction;
        self.units = hedge;
        let wanted = self.spec.notional_fraction * equity / spot;
        self.contracts = wanted.min(0.95 * equity / im_per_contract.max(1e-12));
        if self.contracts < wanted {
            self.run.sized_down += 1;
        }
        for l in &mut self.legs {
            l.size = -self.contracts;
            self.cash += self.contracts * bs::price(&leg(l.kind, spot, l.strike, tenor, vol));
        }
        let cost = 2.0 * self.contracts * spot * (self.costs.fee_bps + self.costs.half_spread_bps) / 1e4;
        self.cash -= cost + self.costs.tx_fee;
        self.run.costs.option_trading += cost;
        self.run.costs.tx_fees += self.costs.tx_fee;
        self.run.options_sold += 2;
        cost + self.costs.tx_fee
    }

    /// Closes everything at marks plus the liquidation penalty on the closed notional.
    fn liquidate(&mut self, spot: f64, vol: f64, t: i64) -> f64 {
        // The perp is marked to market through variation margin (already in cash): closing it moves no value.
        let value = self.book_greeks(spot, vol, t).price;
        let notional: f64 = (self.legs.iter().map(|l| l.size.abs()).sum::<f64>() + self.units.abs()) * spot;
        let penalty = notional * self.risk.liquidation_fee_bps / 1e4;
        self.cash += value - penalty;
        self.run.costs.liquidation_penalties += penalty;
        self.legs.clear();
        self.units = 0.0;
        self.run.liquidations += 1;
        penalty
    }
}

/// The price `latency` seconds before bar `i`: the bar's own price when that time is a bar, otherwise a Brownian
/// bridge between the bars around it at volatility `vol` — the sub-bar path hourly data does not record, with the
/// variance it must have (σ² w (1 − w) Δt), so a latency of a few slots adds the right amount of noise.
pub fn stale_price(series: &Series, i: usize, latency: f64, vol: f64, rng: &mut ChaCha8Rng) -> f64 {
    let tau = series.times[i] as f64 - latency;
    if latency <= 0.0 {
        return series.prices[i];
    }
    let j = series.times[..=i].partition_point(|&t| t as f64 <= tau);
    if j == 0 {
        return series.prices[0];
    }
    let j = j - 1;
    let (t0, t1) = (series.times[j] as f64, series.times[j + 1] as f64);
    let w = (tau - t0) / (t1 - t0);
    if w <= 0.0 {
        return series.prices[j];
    }
    let (x0, x1) = (series.prices[j].ln(), series.prices[j + 1].ln());
    let sd = vol * (w * (1.0 - w) * (t1 - t0) / SECONDS_PER_YEAR).sqrt();
    let z: f64 = StandardNormal.sample(rng);
    (x0 + w * (x1 - x0) + sd * z).exp()
}

/// Runs `policy` over `series` from `capital`.
pub fn run<P: Policy + ?Sized>(
    series: &Series,
    vol: &mut VolReader,
    policy: &mut P,
    spec: StrangleSpec,
    costs: CostModel,
    risk: RiskModel,
    capital: f64,
) -> Run {
    let mut out =
        Run { policy: policy.name().to_string(), bars: Vec::with_capacity(series.len()), ..Default::default() };
    let mut a =
        Account { spec, costs, risk, cash: capital, units: 0.0, legs: Vec::new(), contracts: 0.0, run: &mut out };
    let (mut last_trade, mut reopen_at) = (i64::MIN / 2, i64::MIN);
    let (mut reward_day, mut reward_today) = (i64::MIN, 0.0);
    let (mut prev_equity, mut prev_theta, mut prev_t) = (capital, 0.0, series.times[0]);
    let mut latency_rng = ChaCha8Rng::seed_from_u64(costs.latency_seed);
    for i in 0..series.len() {
        // 1. Mark the hedge to this bar (variation margin), feed the vol source and the policy.
        let (t, spot) = (series.times[i], series.prices[i]);
        if i > 0 {
            a.cash += a.units * (spot - series.prices[i - 1]);
        }
        let iv = vol.next(t, spot);
        policy.observe(t, spot);
        let mut flows = 0.0;
        // 2. Expiries settle at this bar's price (the first print at or after expiry).
        for l in a.legs.iter().filter(|l| l.expiry <= t) {
            let payoff = match l.kind {
                OptionKind::Call => (spot - l.strike).max(0.0),
                OptionKind::Put => (l.strike - spot).max(0.0),
            };
            a.cash += l.size * payoff;
        }
        a.legs.retain(|l| l.expiry > t);
        // 3. Sell the next strangle when flat and not cooling down after a liquidation.
        let equity_now = a.cash + a.book_greeks(spot, iv, t).price;
        if a.legs.is_empty() && t >= reopen_at && equity_now > 0.0 {
            flows += a.open(spot, iv, t, equity_now);
        }
        // 4. Margin: liquidate below maintenance.
        let mut g = a.book_greeks(spot, iv, t);
        let mut equity = a.cash + g.price;
        let mut mm = a.maintenance(spot, iv, t, g.price);
        if (!a.legs.is_empty() || a.units != 0.0) && equity < mm {
            flows += a.liquidate(spot, iv, t);
            reopen_at = t + risk.cooldown_secs;
            g = a.book_greeks(spot, iv, t);
            equity = a.cash + g.price;
            mm = 0.0;
        }
        let health = if mm > 0.0 { equity / mm } else { f64::INFINITY };
        let per = a.contracts.max(1e-12);
        // 5. The policy decides on the stale price; the vault's rules decide whether the trade is accepted.
        let stale = stale_price(series, i, costs.latency_secs(), iv, &mut latency_rng);
        let gs = a.book_greeks(stale, iv, t);
        let obs =
            Observation { t, spot: stale, delta: gs.delta / per, gamma: gs.gamma / per, target_delta: 0.0, vol: iv };
        let policy_costs = Costs {
            fee_bps: costs.fee_bps,
            half_spread_bps: costs.half_spread_bps,
            tx_fee: costs.tx_fee / per,
            oracle_latency_secs: costs.latency_secs(),
        };
        let decision = policy.decide(&obs, &policy_costs);
        let mut rebalanced = false;
        if let (Action::HedgeTo(to), false) = (decision.action, a.legs.is_empty() && a.units == 0.0) {
            let trade = (to - obs.delta) * per;
            let removed = (obs.delta.abs() - to.abs()) * per * spot * risk.spot_range;
            let notional = trade.abs() * spot;
            let est_cost = notional * (costs.fee_bps + costs.half_spread_bps) / 1e4 + costs.tx_fee;
            if t - last_trade < costs.min_interval_secs || removed <= costs.min_benefit_ratio * est_cost {
                a.run.refused += 1;
            } else {
                flows += a.trade_perp(trade, spot);
                if t / 86_400 != reward_day {
                    (reward_day, reward_today) = (t / 86_400, 0.0);
                }
                let reward =
                    (costs.reward_per_risk * removed).min(costs.reward_cap).min(costs.daily_reward_cap - reward_today);
                let reward = reward.max(0.0);
                reward_today += reward;
                a.cash -= reward;
                a.run.costs.keeper_rewards += reward;
                flows += reward;
                a.run.rebalances += 1;
                last_trade = t;
                rebalanced = true;
            }
        }
        // 6. Record: hedging error = market P&L this bar minus the book's theta over the step.
        // The options are unchanged since step 4 (a perp trade moves only cash and units), so `g` still prices them.
        let equity_after = a.cash + g.price;
        let dt = (t - prev_t) as f64 / SECONDS_PER_YEAR;
        let hedge_error = if i == 0 { 0.0 } else { equity_after + flows - prev_equity - prev_theta * dt };
        let true_delta = g.delta / per;
        a.run.bars.push(BarRecord {
            t,
            spot,
            equity: equity_after,
            delta: true_delta,
            band: decision.band,
            rebalanced,
            outside_mandate: (true_delta.abs() > risk.mandate_band && !a.legs.is_empty()) || health < risk.min_health,
            health,
            hedge_error,
        });
        (prev_equity, prev_theta, prev_t) = (equity_after, g.theta, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::vol::VolSource;
    use crate::strategy::policy::StaticBand;

    /// A flat market: the strangle expires worthless and equity is capital + premium − the costs, to the cent.
    #[test]
    fn in_a_flat_market_the_seller_keeps_the_premium_less_costs() {
        let hours = 24 * 7 + 1;
        let series = Series {
            source: "flat".into(),
            times: (0..hours as i64).map(|h| h * 3_600).collect(),
            prices: vec![100.0; hours],
            interval_secs: 3_600,
            gaps: 0,
            missing_bars: 0,
        };
        let spec = StrangleSpec { target_delta: 0.25, tenor_days: 7.0, notional_fraction: 1.0 };
        let mut vol = VolSource::Constant { vol: 0.8 }.start().unwrap();
        let run = run(
            &series,
            &mut vol,
            &mut StaticBand { half_width: 0.1 },
            spec,
            CostModel::default(),
            RiskModel::default(),
            1e6,
        );
        let (kp, kc) = strangle_strikes(100.0, 0.8, 7.0 / 365.0, 0.25);
        let premium = bs::price(&leg(OptionKind::Put, 100.0, kp, 7.0 / 365.0, 0.8))
            + bs::price(&leg(OptionKind::Call, 100.0, kc, 7.0 / 365.0, 0.8));
        // The last bar is the expiry: the legs settle worthless and a new strangle is sold.
        let at_expiry = &run.bars[hours - 1];
        assert_eq!(run.options_sold, 4);
        let contracts = 1e6 / 100.0;
        let first_sale_costs = 2.0 * contracts * 100.0 * 15e-4 + 0.01;
        assert_eq!(run.rebalances, 0, "nothing to hedge in a flat market");
        let equity_before_resale = 1e6 + contracts * premium - first_sale_costs;
        let second_sale_costs = 2.0 * (equity_before_resale / 100.0) * 100.0 * 15e-4 + 0.01;
        assert!(
            (at_expiry.equity - (equity_before_resale - second_sale_costs)).abs() < 1e-6,
            "{at_expiry:?} vs {equity_before_resale} - {second_sale_costs}; premium {premium}, {:?}",
            run.costs
        );
        // Theta explains each bar's P&L in a flat market: what is left is the change of theta within the hour
        // (second order), under 1% of the premium in total over the week.
        let residual: f64 = run.bars.iter().take(hours - 1).map(|b| b.hedge_error.abs()).sum();
        assert!(residual < 0.01 * contracts * premium, "residual {residual} vs premium {}", contracts * premium);
        assert!(residual > 0.0);
    }

    #[test]
    fn the_stale_price_is_a_bar_or_a_brownian_bridge_between_bars() {
        let series = Series {
            source: "s".into(),
            times: vec![0, 3_600, 7_200],
            prices: vec![100.0, 121.0, 110.0],
            interval_secs: 3_600,
            gaps: 0,
            missing_bars: 0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(stale_price(&series, 2, 0.0, 0.8, &mut rng), 110.0);
        assert_eq!(stale_price(&series, 2, 3_600.0, 0.8, &mut rng), 121.0, "on a bar: that bar");
        assert_eq!(stale_price(&series, 2, 10_000.0, 0.8, &mut rng), 100.0, "before the series: its first price");
        // Halfway between 100 and 121 with no volatility: the geometric midpoint 110.
        assert!((stale_price(&series, 1, 1_800.0, 0.0, &mut rng) - 110.0).abs() < 1e-9);
        // With volatility the bridge scatters around it with variance σ² w (1 − w) Δt.
        let draws: Vec<f64> =
            (0..20_000).map(|_| stale_price(&series, 1, 1_800.0, 0.8, &mut rng).ln() - 110f64.ln()).collect();
        let var = draws.iter().map(|x| x * x).sum::<f64>() / draws.len() as f64;
        let expected = 0.64 * 0.25 * 3_600.0 / SECONDS_PER_YEAR;
        assert!((var / expected - 1.0).abs() < 0.05, "{var} vs {expected}");
    }

    /// Liquidation closes everything at marks: equity falls by exactly the penalty, whatever the hedge holds
    /// (the perp's P&L is already in cash through variation margin).
    #[test]
    fn liquidation_costs_exactly_the_penalty() {
        let mut out = Run::default();
        let mut a = Account {
            spec: StrangleSpec::default(),
            costs: CostModel::default(),
            risk: RiskModel::default(),
            cash: 1e6,
            units: 0.0,
            legs: Vec::new(),
            contracts: 0.0,
            run: &mut out,
        };
        a.open(100.0, 0.8, 0, 1e6);
        a.units = 2_500.0;
        let equity = |a: &Account| a.cash + a.book_greeks(100.0, 0.8, 3_600).price;
        let before = equity(&a);
        let penalty = a.liquidate(100.0, 0.8, 3_600);
        assert!(a.legs.is_empty() && a.units == 0.0);
        let notional = (2.0 * a.contracts + 2_500.0) * 100.0;
        assert!((penalty - notional * 50e-4).abs() < 1e-6, "{penalty}");
        assert!((equity(&a) - (before - penalty)).abs() < 1e-6, "{} vs {}", equity(&a), before - penalty);
        assert_eq!(a.run.liquidations, 1);
    }
}
