//! Rebalance policies: when to hedge a book's delta and to where. One interface, used identically by the live
//! keeper and the backtester.
//!
//! Every policy widens its no-trade band by the delta noise oracle latency alone causes (|Γ| S σ sqrt(latency)):
//! hedging more precisely than the price the decision was made on is paying for noise. Costs enter through the
//! proportional cost c = fee + half-spread, plus the fixed per-transaction cost (base + priority fee) spread over
//! a band-sized trade.
//!
//! - [`StaticBand`]: a fixed half-width; hedge back to target.
//! - [`WhalleyWilmott`]: h = (3 c S Γ² / (2 λ))^(1/3), floored at a minimum — the same formula, cost and λ that
//!   keel-vault's adaptive mandate band uses on-chain — and hedge only back to the band's edge (the optimal
//!   no-trade region of the asymptotic analysis).
//! - [`Predictive`]: Whalley-Wilmott scaled by a volatility regime signal: the ratio of a fast to a slow EWMA
//!   forecast. When the fast forecast runs above the slow one (a move is under way), the band tightens by
//!   (slow / fast)^(2/3) and the hedge goes all the way to target; in calm it widens the same way, within limits.
use super::forecast::{Ewma, VolForecast};
use serde::{Deserialize, Serialize};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// What a policy sees at a decision time (book greeks per underlying unit, prices in quote units).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub t: i64,
    pub spot: f64,
    pub delta: f64,
    pub gamma: f64,
    pub target_delta: f64,
    /// The keeper's current annualised vol estimate (implied or forecast), for the latency term.
    pub vol: f64,
}

/// The costs of one rebalance, as the venue and the chain charge them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    pub fee_bps: f64,
    pub half_spread_bps: f64,
    /// Base + priority fee per transaction, in quote units.
    pub tx_fee: f64,
    pub oracle_latency_secs: f64,
}

impl Costs {
    /// Proportional cost c of trading one unit of notional.
    pub fn proportional(&self) -> f64 {
        (self.fee_bps + self.half_spread_bps) / 10_000.0
    }

    /// c plus the fixed cost spread over a trade of `units` at `spot`.
    #[inline]
    pub fn effective(&self, units: f64, spot: f64) -> f64 {
        self.proportional() + self.tx_fee / (units.abs().max(1e-9) * spot)
    }

    /// Delta noise from deciding on a price `oracle_latency_secs` old.
    #[inline]
    pub fn latency_noise(&self, obs: &Observation) -> f64 {
        obs.gamma.abs() * obs.spot * obs.vol * (self.oracle_latency_secs / SECONDS_PER_YEAR).sqrt()
    }
}

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    Hold,
    /// Trade the book's delta to this value.
    HedgeTo(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Half-width of the no-trade band around the target (units).
    pub band: f64,
    pub action: Action,
}

/// A rebalance policy.
pub trait Policy {
    fn name(&self) -> &'static str;
    /// Feeds a price (policies that forecast volatility use it; others ignore it).
    fn observe(&mut self, _t: i64, _spot: f64) {}
    fn decide(&mut self, obs: &Observation, costs: &Costs) -> Decision;
}

/// A policy chosen at run time (the keeper's config) behaves as the policy it boxes.
impl<P: Policy + ?Sized> Policy for Box<P> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn observe(&mut self, t: i64, spot: f64) {
        (**self).observe(t, spot)
    }

    fn decide(&mut self, obs: &Observation, costs: &Costs) -> Decision {
        (**self).decide(obs, costs)
    }
}

/// Decision for a band: hold inside, otherwise trade to `to_edge` ? the nearest edge : the target.
#[inline]
fn decide_band(obs: &Observation, band: f64, to_edge: bool) -> Decision {
    let dev = obs.delta - obs.target_delta;
    let action = if dev.abs() <= band {
        Action::Hold
    } else if to_edge {
        Action::HedgeTo(obs.target_delta + band.copysign(dev))
    } else {
        Action::HedgeTo(obs.target_delta)
    };
    Decision { band, action }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaticBand {
    pub half_width: f64,
}

impl Policy for StaticBand {
    fn name(&self) -> &'static str {
        "static"
    }

    #[inline]
    fn decide(&mut self, obs: &Observation, costs: &Costs) -> Decision {
        decide_band(obs, self.half_width + costs.latency_noise(obs), false)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhalleyWilmott {
    /// Risk aversion λ (> 0).
    pub risk_aversion: f64,
    /// Floor of the band (units), as the mandate's static band.
    pub min_band: f64,
}

impl WhalleyWilmott {
    /// The Whalley-Wilmott half-width for cost `c`, floored; exactly what keel_math::mandate computes on-chain.
    #[inline]
    pub fn raw_band(&self, c: f64, spot: f64, gamma: f64) -> f64 {
        let h = (3.0 * c * spot * gamma * gamma / (2.0 * self.risk_aversion.max(1e-300))).cbrt();
        h.max(self.min_band)
    }

    fn band(&self, obs: &Observation, costs: &Costs) -> f64 {
        let c = costs.effective(self.min_band, obs.spot);
        self.raw_band(c, obs.spot, obs.gamma) + costs.latency_noise(obs)
    }
}

impl Policy for WhalleyWilmott {
    fn name(&self) -> &'static str {
        "whalley-wilmott"
    }

    #[inline]
    fn decide(&mut self, obs: &Observation, costs: &Costs) -> Decision {
        decide_band(obs, self.band(obs, costs), true)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Predictive {
    pub ww: WhalleyWilmott,
    pub fast: Ewma,
    pub slow: Ewma,
    /// fast / slow above this is a turbulent regime: hedge to target, not to the edge.
    pub turbulence: f64,
    /// Band scale limits.
    pub min_scale: f64,
    pub max_scale: f64,
}

impl Predictive {
    /// Defaults for hourly observations: fast λ = 0.9 (about a 10-hour memory), slow λ = 0.995 (about 8 days).
    pub fn hourly(ww: WhalleyWilmott) -> Self {
        Self { ww, fast: Ewma::new(0.9), slow: Ewma::new(0.995), turbulence: 1.5, min_scale: 0.5, max_scale: 1.5 }
    }

    /// fast / slow forecast ratio (1 until both exist).
    pub fn regime(&self) -> f64 {
        match (self.fast.annual_vol(), self.slow.annual_vol()) {
            (Some(f), Some(s)) if s > 0.0 => f / s,
            _ => 1.0,
        }
    }
}

impl Policy for Predictive {
    fn name(&self) -> &'static str {
        "predictive"
    }

    fn observe(&mut self, t: i64, spot: f64) {
        self.fast.observe(t, spot);
        self.slow.observe(t, spot);
    }

    #[inline]
    fn decide(&mut self, obs: &Observation, costs: &Costs) -> Decision {
        let regime = self.regime();
        let scale = regime.powf(-2.0 / 3.0).clamp(self.min_scale, self.max_scale);
        let band = self.ww.band(obs, costs) * scale;
        decide_band(obs, band, regime < self.turbulence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(delta: f64, gamma: f64) -> Observation {
        Observation { t: 0, spot: 100.0, delta, gamma, target_delta: 0.0, vol: 0.6 }
    }

    const COSTS: Costs = Costs { fee_bps: 5.0, half_spread_bps: 10.0, tx_fee: 0.0, oracle_latency_secs: 0.0 };

    #[test]
    fn static_band_hedges_to_target_outside_the_band() {
        let mut p = StaticBand { half_width: 5.0 };
        assert_eq!(p.decide(&obs(4.9, 0.0), &COSTS).action, Action::Hold);
        assert_eq!(p.decide(&obs(-5.1, 0.0), &COSTS).action, Action::HedgeTo(0.0));
        // Latency widens the band: 1 s of a 60%-vol price at gamma 2 is |Γ| S σ sqrt(1/yr) = 0.0214 units.
        let slow = Costs { oracle_latency_secs: 1.0, ..COSTS };
        let d = p.decide(&obs(5.01, 2.0), &slow);
        assert!((d.band - 5.0 - 2.0 * 100.0 * 0.6 / SECONDS_PER_YEAR.sqrt()).abs() < 1e-12);
        assert_eq!(d.action, Action::Hold);
    }

    #[test]
    fn whalley_wilmott_matches_the_on_chain_band_and_trades_to_the_edge() {
        use keel_math::mandate::{Mandate, PortfolioRisk, LIMITS};
        use keel_math::I80F48;
        let ww = WhalleyWilmott { risk_aversion: 0.01, min_band: 1.0 };
        let c = COSTS.proportional();
        let n = |x: f64| I80F48::from_num(x);
        let m = Mandate {
            target_delta: n(0.0),
            delta_band: n(1.0),
            ww_risk_aversion: n(0.01),
            ww_cost: n(c),
            max_abs_gamma: n(1.0),
            max_abs_vega: n(1.0),
            max_var_fraction: n(1.0),
            min_health: n(1.0),
            max_leverage: n(1.0),
            min_idle_fraction: n(0.0),
            weights: [n(1.0); LIMITS],
        };
        for gamma in [0.01, 0.5, 2.0, 10.0] {
            let p = PortfolioRisk { spot: n(100.0), gamma: n(gamma), ..Default::default() };
            let on_chain: f64 = m.band(&p).unwrap().to_num();
            let off_chain = ww.raw_band(c, 100.0, gamma);
            assert!((on_chain - off_chain).abs() <= 1e-9 * off_chain, "gamma {gamma}: {on_chain} vs {off_chain}");
        }
        let mut p = ww;
        let h = ww.raw_band(c, 100.0, 2.0);
        assert_eq!(p.decide(&obs(h + 1.0, 2.0), &COSTS).action, Action::HedgeTo(h));
        assert_eq!(p.decide(&obs(-h - 1.0, 2.0), &COSTS).action, Action::HedgeTo(-h));
    }

    #[test]
    fn predictive_tightens_through_the_ftx_crash() {
        use crate::market_data::{prices::load_bars, shared_data_dir};
        let bars = load_bars(&shared_data_dir().join("prices/SOLUSDT_1h_binance_spot.csv")).unwrap();
        let mut p = Predictive::hourly(WhalleyWilmott { risk_aversion: 0.01, min_band: 1.0 });
        let (mut calm, mut crash) = (None, None);
        for b in bars.iter().filter(|b| b.time.format("%Y-%m").to_string().as_str() >= "2022-10") {
            let t = b.time.timestamp();
            p.observe(t, b.close);
            let d = p
                .decide(&Observation { t, spot: b.close, delta: 0.0, gamma: 0.5, target_delta: 0.0, vol: 0.8 }, &COSTS);
            let day = b.time.format("%Y-%m-%d %H").to_string();
            if day == "2022-11-01 12" {
                calm = Some((d.band, p.regime()));
            }
            if day == "2022-11-09 12" {
                crash = Some((d.band, p.regime()));
                break;
            }
        }
        let ((calm_band, calm_regime), (crash_band, crash_regime)) = (calm.unwrap(), crash.unwrap());
        assert!(crash_regime > 1.5 && calm_regime < 1.5, "regime {calm_regime} -> {crash_regime}");
        // Spot fell ~50% (which alone narrows the WW band by 0.5^(1/3)); the regime tightens it further.
        let ww_only = calm_band / calm_regime.powf(-2.0 / 3.0).clamp(0.5, 1.5) * 0.5f64.cbrt();
        assert!(crash_band < ww_only, "band {calm_band} -> {crash_band}");
    }
}
