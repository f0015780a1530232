//! A vault's risk mandate and how far a portfolio is from it. Shared by keel-vault (which enforces it) and the
//! keeper (which predicts what the vault will accept), so both compute the same numbers bit for bit.
//!
//! Each limit gives a relative excess (0 when inside the limit); the breach measure B is their weighted sum. A
//! rebalance is risk-reducing when B strictly decreases and no single excess grows, or when the delta deviation
//! re-enters its band. The delta band is static, or volatility-adaptive with the Whalley-Wilmott half-width
//! h = (3 c S Gamma^2 / (2 lambda))^(1/3) (floored at the static band), computed from on-chain gamma.
use crate::elementary::cbrt;
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::SafeMath;
use fixed::types::I80F48;

/// Number of mandate limits (delta, gamma, vega, VaR, health, leverage, idle).
pub const LIMITS: usize = 7;

/// The limits, all I80F48. Greeks are per underlying unit of the whole portfolio; ratios are fractions of NAV.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mandate {
    pub target_delta: I80F48,
    /// Static delta half-band (underlying units, > 0); the floor of the adaptive band.
    pub delta_band: I80F48,
    /// Whalley-Wilmott risk aversion lambda; 0 selects the static band.
    pub ww_risk_aversion: I80F48,
    /// Proportional trading cost c used by the adaptive band (fee + half-spread as a fraction).
    pub ww_cost: I80F48,
    pub max_abs_gamma: I80F48,
    pub max_abs_vega: I80F48,
    /// Max worst-scenario loss as a fraction of NAV.
    pub max_var_fraction: I80F48,
    /// Min equity / maintenance margin on the venue.
    pub min_health: I80F48,
    /// Max gross underlying notional / NAV.
    pub max_leverage: I80F48,
    /// Min idle collateral / NAV.
    pub min_idle_fraction: I80F48,
    /// Weights of the limits in the breach measure, in [`LIMITS`] order.
    pub weights: [I80F48; LIMITS],
}

/// A portfolio's measures (tokens for money, underlying units for greeks).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PortfolioRisk {
    pub spot: I80F48,
    pub delta: I80F48,
    pub gamma: I80F48,
    pub vega: I80F48,
    /// Worst scenario loss of the summed risk arrays (tokens, >= 0).
    pub worst_loss: I80F48,
    /// Venue margin equity and maintenance (tokens).
    pub equity: I80F48,
    pub maintenance: I80F48,
    /// Gross underlying notional (tokens).
    pub gross_notional: I80F48,
    pub idle: I80F48,
    pub nav: I80F48,
}

/// Relative excess over each limit, in [`LIMITS`] order.
pub type Excesses = [I80F48; LIMITS];

impl Mandate {
    /// The delta half-band at this portfolio: static, or max(static, Whalley-Wilmott).
    #[track_caller]
    pub fn band(&self, p: &PortfolioRisk) -> MathResult<I80F48> {
        if self.ww_risk_aversion <= I80F48::ZERO {
            return Ok(self.delta_band);
        }
        let num = I80F48::from_num(3).safe_mul(self.ww_cost)?.safe_mul(p.spot)?.safe_mul(p.gamma)?.safe_mul(p.gamma)?;
        let h = cbrt(num.safe_div(I80F48::from_num(2).safe_mul(self.ww_risk_aversion)?)?)?;
        Ok(h.max(self.delta_band))
    }

    /// |delta - target| (underlying units).
    #[track_caller]
    pub fn delta_deviation(&self, p: &PortfolioRisk) -> MathResult<I80F48> {
        Ok(p.delta.safe_sub(self.target_delta)?.saturating_abs())
    }

    /// The portfolio measured against every limit once: what [`judge_assessed`], the breach measure and the delta
    /// risk need. On SBF the NAV ratios are general 128-bit divisions (~1k compute units each) and the adaptive
    /// band a cube root, so a rebalance assesses each side once instead of once per question.
    #[track_caller]
    pub fn assess(&self, p: &PortfolioRisk) -> MathResult<Assessment> {
        self.assess_in(p, self.band(p)?)
    }

    /// [`Mandate::assess`] with the portfolio's band (from [`Mandate::band`]) already computed.
    #[track_caller]
    pub fn assess_in(&self, p: &PortfolioRisk, band: I80F48) -> MathResult<Assessment> {
        let excesses = self.excesses_in(p, band)?;
        Ok(Assessment {
            band,
            delta_in_band: self.delta_deviation(p)? <= band,
            breach: self.breach(&excesses)?,
            excesses,
        })
    }

    /// The money at risk in the delta excess (tokens): units beyond the band, times spot, times the SPAN grid's
    /// spot range, times tokens per quote unit — what that excess delta loses in the grid's largest spot move.
    #[track_caller]
    pub fn delta_risk(&self, p: &PortfolioRisk, spot_range: I80F48, tokens_per_quote: I80F48) -> MathResult<I80F48> {
        self.delta_risk_in(p, self.band(p)?, spot_range, tokens_per_quote)
    }

    /// [`Mandate::delta_risk`] with the portfolio's band already known (an [`Assessment`]'s).
    #[track_caller]
    pub fn delta_risk_in(
        &self,
        p: &PortfolioRisk,
        band: I80F48,
        spot_range: I80F48,
        tokens_per_quote: I80F48,
    ) -> MathResult<I80F48> {
        let beyond = self.delta_deviation(p)?.safe_sub(band)?.max(I80F48::ZERO);
        beyond.safe_mul(p.spot)?.safe_mul(spot_range)?.safe_mul(tokens_per_quote)
    }

    /// Relative excess over every limit (0 inside the limit). A non-positive NAV makes every NAV ratio infinite in
    /// spirit; it is reported as an error so callers refuse to act on it.
    #[track_caller]
    pub fn excesses(&self, p: &PortfolioRisk) -> MathResult<Excesses> {
        self.excesses_in(p, self.band(p)?)
    }

    /// [`Mandate::excesses`] with the portfolio's delta band already computed.
    #[track_caller]
    fn excesses_in(&self, p: &PortfolioRisk, band: I80F48) -> MathResult<Excesses> {
        if p.nav <= I80F48::ZERO {
            return Err(MathError::new(MathErrorKind::OutOfDomain));
        }
        let over = |x: I80F48, limit: I80F48| -> MathResult<I80F48> {
            if x <= limit {
                Ok(I80F48::ZERO)
            } else {
                x.safe_sub(limit)?.safe_div(limit)
            }
        };
        let under = |x: I80F48, floor: I80F48| -> MathResult<I80F48> {
            if x >= floor || floor <= I80F48::ZERO {
                Ok(I80F48::ZERO)
            } else {
                floor.safe_sub(x)?.safe_div(floor)
            }
        };
        // The ratios (num / den, den > 0) are divided only when a product cannot settle them (see `ratio_within`).
        let over_ratio = |num: I80F48, den: I80F48, limit: I80F48| -> MathResult<I80F48> {
            if ratio_within(num, den, limit, Side::AtMost) {
                return Ok(I80F48::ZERO);
            }
            over(num.safe_div(den)?, limit)
        };
        let under_ratio = |num: I80F48, den: I80F48, floor: I80F48| -> MathResult<I80F48> {
            if ratio_within(num, den, floor, Side::AtLeast) {
                return Ok(I80F48::ZERO);
            }
            under(num.safe_div(den)?, floor)
        };
        let health = if p.maintenance <= I80F48::ZERO {
            I80F48::ZERO
        } else {
            // Health below the floor; a negative equity counts as zero health.
            under_ratio(p.equity.max(I80F48::ZERO), p.maintenance, self.min_health)?
        };
        Ok([
            over(self.delta_deviation(p)?, band)?,
            over(p.gamma.saturating_abs(), self.max_abs_gamma)?,
            over(p.vega.saturating_abs(), self.max_abs_vega)?,
            over_ratio(p.worst_loss, p.nav, self.max_var_fraction)?,
            health,
            over_ratio(p.gross_notional, p.nav, self.max_leverage)?,
            under_ratio(p.idle, p.nav, self.min_idle_fraction)?,
        ])
    }

    /// B = sum of weight x excess.
    #[track_caller]
    pub fn breach(&self, e: &Excesses) -> MathResult<I80F48> {
        let mut b = I80F48::ZERO;
        // A limit inside adds exactly zero: its multiply is skipped.
        for (w, x) in self.weights.iter().zip(e).filter(|(_, x)| **x != I80F48::ZERO) {
            b = b.safe_add(w.safe_mul(*x)?)?;
        }
        Ok(b)
    }

    /// Limits must be positive (delta band, gamma, vega, VaR, leverage) or non-negative (idle, health, WW
    /// parameters, weights); idle below 1.
    pub fn is_valid(&self) -> bool {
        let z = I80F48::ZERO;
        self.delta_band > z
            && self.max_abs_gamma > z
            && self.max_abs_vega > z
            && self.max_var_fraction > z
            && self.max_leverage > z
            && self.min_health >= z
            && self.min_idle_fraction >= z
            && self.min_idle_fraction < I80F48::ONE
            && self.ww_risk_aversion >= z
            && self.ww_cost >= z
            && self.weights.iter().all(|w| *w >= z)
    }
}

/// Which side of a bound a ratio must be on to be within it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    AtMost,
    AtLeast,
}

/// Whether the I80F48 quotient `num / den` (`den` > 0) is certainly on `side` of `bound`, decided by one multiply:
/// the ratios are divisions of token amounts by a NAV or a margin, the costliest arithmetic in an assessment on SBF,
/// and nearly always within their limits. `false` means "divide and compare", never "outside", so an excess is
/// the same bits (and the same error) as dividing first:
/// - at most: `p` = bound x den rounded down is at most the exact product, so `num <= p` gives num / den <= bound,
///   and truncating a non-negative quotient keeps it there (nor can that quotient overflow);
/// - at least: the exact product is below `p` + 2^-48, so `num > p` gives num / den > bound, and truncation cannot
///   take it below a bound on the 2^-48 grid. The quotient must be known to fit (below 2^79, i.e. the raw `num` over
///   2^79 below the raw `den`), since dividing first would have failed on it. A bound <= 0 is met by any quotient.
fn ratio_within(num: I80F48, den: I80F48, bound: I80F48, side: Side) -> bool {
    if num < I80F48::ZERO || den <= I80F48::ZERO {
        return false;
    }
    match side {
        Side::AtMost => bound >= I80F48::ZERO && bound.safe_mul(den).is_ok_and(|p| num <= p),
        Side::AtLeast => {
            (num.to_bits() >> 79) < den.to_bits()
                && (bound <= I80F48::ZERO || bound.safe_mul(den).is_ok_and(|p| num > p))
        }
    }
}

/// A portfolio's standing under a mandate (see [`Mandate::assess`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assessment {
    /// Relative excess over each limit.
    pub excesses: Excesses,
    /// The breach measure B of `excesses`.
    pub breach: I80F48,
    /// The delta half-band at this portfolio.
    pub band: I80F48,
    /// Whether |delta - target| is within `band`.
    pub delta_in_band: bool,
}

/// Why a proposed change is not an improvement (for clear errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Breach measure strictly decreased and no limit got worse, or delta re-entered its band.
    Improves,
    /// This limit's excess grew (index in [`LIMITS`] order).
    LimitWorse(usize),
    /// Nothing got better.
    NoImprovement,
}

/// Judges a before/after pair under the mandate's rule.
#[track_caller]
pub fn judge(m: &Mandate, before: &PortfolioRisk, after: &PortfolioRisk) -> MathResult<Verdict> {
    Ok(judge_assessed(&m.assess(before)?, &m.assess(after)?))
}

/// [`judge`] of two assessments under the same mandate.
pub fn judge_assessed(before: &Assessment, after: &Assessment) -> Verdict {
    let (eb, ea) = (&before.excesses, &after.excesses);
    // Back in band is the purpose of a delta rebalance; other limits still may not get worse.
    let first = if !before.delta_in_band && after.delta_in_band { 1 } else { 0 };
    if let Some(i) = (first..LIMITS).find(|i| ea[*i] > eb[*i]) {
        return Verdict::LimitWorse(i);
    }
    if first == 1 || after.breach < before.breach {
        Verdict::Improves
    } else {
        Verdict::NoImprovement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(x: f64) -> I80F48 {
        I80F48::from_num(x)
    }

    fn mandate() -> Mandate {
        Mandate {
            target_delta: n(0.0),
            delta_band: n(1.0),
            ww_risk_aversion: n(0.0),
            ww_cost: n(0.001),
            max_abs_gamma: n(2.0),
            max_abs_vega: n(50.0),
            max_var_fraction: n(0.125),
            min_health: n(2.0),
            max_leverage: n(3.0),
            min_idle_fraction: n(0.25),
            weights: [n(1.0); LIMITS],
        }
    }

    fn portfolio() -> PortfolioRisk {
        PortfolioRisk {
            spot: n(100.0),
            delta: n(0.5),
            gamma: n(1.0),
            vega: n(10.0),
            worst_loss: n(50.0),
            equity: n(400.0),
            maintenance: n(100.0),
            gross_notional: n(1000.0),
            idle: n(600.0),
            nav: n(1000.0),
        }
    }

    #[test]
    fn excess_is_relative_and_zero_inside() {
        let m = mandate();
        assert_eq!(m.excesses(&portfolio()).unwrap(), [I80F48::ZERO; LIMITS]);
        let p = PortfolioRisk { delta: n(3.0), gamma: n(-3.0), worst_loss: n(187.5), idle: n(125.0), ..portfolio() };
        let e = m.excesses(&p).unwrap();
        assert_eq!(e[0], n(2.0)); // |3| vs band 1
        assert_eq!(e[1], n(0.5)); // |-3| vs 2
        assert_eq!(e[3], n(0.5)); // 18.75% vs 12.5%
        assert_eq!(e[6], n(0.5)); // 12.5% idle vs 25%
        assert_eq!(m.breach(&e).unwrap(), n(3.5));
        let sick = PortfolioRisk { equity: n(-5.0), ..portfolio() };
        assert_eq!(m.excesses(&sick).unwrap()[4], n(1.0));
        assert!(m.excesses(&PortfolioRisk { nav: n(0.0), ..portfolio() }).is_err());
    }

    /// The excesses as first written: every ratio divided, then compared. What `excesses` must equal bit for bit
    /// and error for error.
    fn excesses_dividing_first(m: &Mandate, p: &PortfolioRisk) -> Result<Excesses, MathErrorKind> {
        let e = |r: MathResult<I80F48>| r.map_err(|e| e.kind);
        if p.nav <= I80F48::ZERO {
            return Err(MathErrorKind::OutOfDomain);
        }
        let over =
            |x: I80F48, l: I80F48| if x <= l { Ok(I80F48::ZERO) } else { e(x.safe_sub(l).and_then(|d| d.safe_div(l))) };
        let under = |x: I80F48, f: I80F48| {
            if x >= f || f <= I80F48::ZERO {
                Ok(I80F48::ZERO)
            } else {
                e(f.safe_sub(x).and_then(|d| d.safe_div(f)))
            }
        };
        let health = if p.maintenance <= I80F48::ZERO {
            I80F48::ZERO
        } else {
            under(e(p.equity.max(I80F48::ZERO).safe_div(p.maintenance))?, m.min_health)?
        };
        Ok([
            over(e(m.delta_deviation(p))?, e(m.band(p))?)?,
            over(p.gamma.saturating_abs(), m.max_abs_gamma)?,
            over(p.vega.saturating_abs(), m.max_abs_vega)?,
            over(e(p.worst_loss.safe_div(p.nav))?, m.max_var_fraction)?,
            health,
            over(e(p.gross_notional.safe_div(p.nav))?, m.max_leverage)?,
            under(e(p.idle.safe_div(p.nav))?, m.min_idle_fraction)?,
        ])
    }

    #[test]
    fn ratios_settled_by_a_product_are_the_divisions_bits() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Token amounts from dust to 10^15 with fraction bits, limits around their usual size, and amounts placed
        // exactly on, one step under and one step over limit x denominator (rounded down), where the product decides.
        let amount = |r: u64, s: u64| {
            I80F48::from_bits((i128::from(r % 1_000_000_000_000_000) << 48 | i128::from(s >> 16)) >> (s % 90))
        };
        let near = |bound: I80F48, den: I80F48, k: u64| {
            let p = bound.checked_mul(den).unwrap_or(I80F48::MAX);
            match k % 4 {
                0 => p,
                1 => p - I80F48::DELTA,
                2 => p + I80F48::DELTA,
                _ => p.saturating_mul(I80F48::from_num(2)),
            }
        };
        let (mut settled, mut divided) = (0, 0);
        for _ in 0..100_000 {
            let (r, s, t, u, v, w) = (next(), next(), next(), next(), next(), next());
            let m = Mandate {
                max_var_fraction: I80F48::from_bits(i128::from(r % (1 << 50))),
                min_health: I80F48::from_bits(i128::from(s % (1 << 52))) - I80F48::from_num(1),
                max_leverage: I80F48::from_bits(i128::from(t % (1 << 54))),
                min_idle_fraction: I80F48::from_bits(i128::from(u % (1 << 48))) - I80F48::from_num(0.125),
                ..mandate()
            };
            let nav = amount(v, w).max(I80F48::DELTA);
            let maintenance = if r % 5 == 0 { I80F48::ZERO } else { amount(s, r).max(I80F48::DELTA) };
            let p = PortfolioRisk {
                worst_loss: near(m.max_var_fraction, nav, t),
                gross_notional: if u % 3 == 0 { near(m.max_leverage, nav, v) } else { amount(u, t) },
                idle: if v % 3 == 0 { near(m.min_idle_fraction, nav, w) } else { amount(w, s) },
                equity: if w % 3 == 0 { near(m.min_health, maintenance, r) } else { amount(t, u) - amount(r, v) },
                maintenance,
                nav,
                ..portfolio()
            };
            let (fast, slow) = (m.excesses(&p).map_err(|e| e.kind), excesses_dividing_first(&m, &p));
            assert_eq!(fast, slow, "{m:?} {p:?}");
            if fast.is_ok_and(|e| e[3] == I80F48::ZERO) {
                settled += 1;
            } else {
                divided += 1;
            }
        }
        // Both branches were exercised, and quotients too large for I80F48 still fail as a division would.
        assert!(settled > 10_000 && divided > 10_000, "{settled} settled by a product, {divided} divided");
        let huge = PortfolioRisk { idle: I80F48::from_num(1e20), nav: I80F48::DELTA, ..portfolio() };
        assert_eq!(mandate().excesses(&huge).map_err(|e| e.kind), Err(MathErrorKind::Overflow));
        assert_eq!(excesses_dividing_first(&mandate(), &huge), Err(MathErrorKind::Overflow));
    }

    #[test]
    fn whalley_wilmott_band_widens_with_gamma() {
        let m = Mandate { ww_risk_aversion: n(0.01), ..mandate() };
        // h = (3 x 0.001 x 100 x 1 / 0.02)^(1/3) = 15^(1/3) ~ 2.466
        let h = m.band(&portfolio()).unwrap();
        assert!((h - n(2.466_212_074)).abs() < n(1e-8), "{h}");
        // Small gamma: the static band is the floor.
        assert_eq!(m.band(&PortfolioRisk { gamma: n(0.01), ..portfolio() }).unwrap(), n(1.0));
    }

    #[test]
    fn an_assessment_is_the_separate_measures() {
        // The adaptive band (a cube root: h = 135^(1/3) ~ 5.13) with delta beyond it, and more limits out.
        let m = Mandate { ww_risk_aversion: n(0.01), ..mandate() };
        let p = PortfolioRisk { delta: n(6.0), gamma: n(3.0), vega: n(60.0), idle: n(125.0), ..portfolio() };
        let a = m.assess(&p).unwrap();
        assert_eq!(a.band, m.band(&p).unwrap());
        assert!(a.band > m.delta_band);
        assert_eq!(a.excesses, m.excesses(&p).unwrap());
        assert!(a.excesses[0] > I80F48::ZERO && a.excesses[6] > I80F48::ZERO, "{a:?}");
        assert_eq!(a.breach, m.breach(&a.excesses).unwrap());
        assert!(!a.delta_in_band);
        assert_eq!(m.delta_risk_in(&p, a.band, n(0.2), n(1.0)).unwrap(), m.delta_risk(&p, n(0.2), n(1.0)).unwrap());
        // In band with the adaptive width, out with the static one.
        let inside = PortfolioRisk { delta: n(3.0), ..p };
        assert!(m.assess(&inside).unwrap().delta_in_band);
        assert!(!mandate().assess(&inside).unwrap().delta_in_band);
        assert!(m.assess(&PortfolioRisk { nav: n(0.0), ..p }).is_err());
    }

    #[test]
    fn judge_requires_improvement_without_collateral_damage() {
        let m = mandate();
        let out = PortfolioRisk { delta: n(3.0), ..portfolio() };
        assert_eq!(judge(&m, &out, &portfolio()).unwrap(), Verdict::Improves);
        // Back in band, but the idle floor is broken by it.
        let drained = PortfolioRisk { idle: n(100.0), ..portfolio() };
        assert_eq!(judge(&m, &out, &drained).unwrap(), Verdict::LimitWorse(6));
        // Partial improvement while out of band: B falls, nothing worse.
        let better = PortfolioRisk { delta: n(2.0), ..portfolio() };
        assert_eq!(judge(&m, &out, &better).unwrap(), Verdict::Improves);
        assert_eq!(judge(&m, &portfolio(), &portfolio()).unwrap(), Verdict::NoImprovement);
        let worse = PortfolioRisk { vega: n(60.0), delta: n(2.0), ..portfolio() };
        assert_eq!(judge(&m, &out, &worse).unwrap(), Verdict::LimitWorse(2));
    }
}
