//! Monte Carlo delta hedging of a short European call under GBM: the kernel behind the theory checks
//! (Derman-Kamal, Leland, Whalley-Wilmott vs time-based) and the speed benchmark.
//!
//! The hedger sells one call at its Black-Scholes price (r = 0), buys the delta, and at every `decide_every`-th
//! simulation step asks a [`Policy`] — the same trait and the same implementations the live keeper uses — whether
//! and where to re-hedge. Time-based hedging is `StaticBand { half_width: 0 }` consulted every k steps.
//!
//! Speed: paths run in blocks of [`LANES`] in lock-step, so the per-step arithmetic (log-price update, e^x, d1,
//! the Gaussian kernel, Hart's N(d1), gamma) is straight-line code over arrays that the compiler vectorises; the
//! log price is carried, so no logarithm is taken per step; √τ-dependent constants are precomputed per step;
//! e^x and N(x) are the branch-free polynomial forms of [`crate::quant::mc`].
use crate::quant::bs::{self, OptionInputs, OptionKind};
use crate::quant::mc::{exp_poly, hart_pq, pair_from_tail};
use crate::quant::normal::FRAC_1_SQRT_2PI;
use crate::strategy::policy::{Action, Costs, Observation, Policy};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

/// Paths simulated together (long enough for the loop vectoriser, small enough for L1).
pub const LANES: usize = 64;

/// One experiment: the option, the true dynamics, the hedging grid and the cost of trading.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HedgeMc {
    pub spot: f64,
    pub strike: f64,
    /// Volatility of the simulated price, also used for the hedge's deltas (a correctly specified model).
    pub vol: f64,
    /// Years to expiry.
    pub t: f64,
    /// Simulation steps over the option's life.
    pub steps: usize,
    /// The policy is consulted every this many steps (1 = every step).
    pub decide_every: usize,
    /// Proportional cost of trading one unit of notional (fee + half-spread).
    pub cost: f64,
    pub paths: usize,
    pub seed: u64,
}

/// Distribution of the hedger's outcome over all paths, per option sold.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct HedgeStats {
    pub premium: f64,
    pub paths: usize,
    pub path_steps: u64,
    /// P&L before costs: premium + hedge gains − payoff.
    pub mean_pnl: f64,
    pub std_pnl: f64,
    /// Cost of re-hedging trades (the initial hedge and the final unwind are in `mean_entry_exit_cost`).
    pub mean_rehedge_cost: f64,
    pub mean_entry_exit_cost: f64,
    /// P&L after every cost.
    pub mean_net: f64,
    pub std_net: f64,
    pub mean_trades: f64,
}

/// Running sums for the statistics (f64 sums are exact enough: 1e6 paths of O(1) values).
#[derive(Default)]
struct Sums {
    n: f64,
    pnl: f64,
    pnl2: f64,
    net: f64,
    net2: f64,
    rehedge: f64,
    entry_exit: f64,
    trades: f64,
}

impl Sums {
    fn std(sum: f64, sum2: f64, n: f64) -> f64 {
        ((sum2 - sum * sum / n) / (n - 1.0)).max(0.0).sqrt()
    }
}

impl HedgeMc {
    /// The option's Black-Scholes premium (r = b = 0).
    pub fn premium(&self) -> f64 {
        bs::price(&self.option(self.spot, self.t))
    }

    fn option(&self, spot: f64, t: f64) -> OptionInputs {
        OptionInputs { kind: OptionKind::Call, spot, strike: self.strike, t, vol: self.vol, rate: 0.0, carry: 0.0 }
    }

    /// Runs every path with a fresh copy of `policy` per path (stateful policies start clean on each).
    pub fn run<P: Policy + Clone>(&self, policy: &P) -> HedgeStats {
        assert!(self.steps >= 1 && self.decide_every >= 1 && self.paths >= 2, "invalid experiment {self:?}");
        let grid = Grid::new(self);
        let mut rng = SmallRng::seed_from_u64(self.seed);
        let mut sums = Sums::default();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the features the function is compiled for were just detected on this CPU.
                unsafe { all_paths_avx512(self, &grid, policy, &mut rng, &mut sums) };
            } else if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                unsafe { all_paths_avx2(self, &grid, policy, &mut rng, &mut sums) };
            } else {
                all_paths(self, &grid, policy, &mut rng, &mut sums);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        all_paths(self, &grid, policy, &mut rng, &mut sums);
        let n = sums.n;
        HedgeStats {
            premium: grid.premium,
            paths: self.paths,
            path_steps: self.paths as u64 * self.steps as u64,
            mean_pnl: sums.pnl / n,
            std_pnl: Sums::std(sums.pnl, sums.pnl2, n),
            mean_rehedge_cost: sums.rehedge / n,
            mean_entry_exit_cost: sums.entry_exit / n,
            mean_net: sums.net / n,
            std_net: Sums::std(sums.net, sums.net2, n),
            mean_trades: sums.trades / n,
        }
    }
}

/// What every path shares: per-step constants 1/(σ√τ) and σ√τ/2 at the time after step i (τ > 0 for i < steps),
/// the log-price increment's mean and deviation, and the initial premium and hedge.
struct Grid {
    inv_v: Vec<f64>,
    half_v: Vec<f64>,
    sd: f64,
    drift: f64,
    ln_k: f64,
    x0: f64,
    premium: f64,
    delta0: f64,
    costs: Costs,
}

impl Grid {
    fn new(mc: &HedgeMc) -> Self {
        let dt = mc.t / mc.steps as f64;
        let (inv_v, half_v) = (0..mc.steps)
            .map(|i| {
                let v = mc.vol * (mc.t - i as f64 * dt).sqrt();
                (1.0 / v, 0.5 * v)
            })
            .unzip();
        Grid {
            inv_v,
            half_v,
            sd: mc.vol * dt.sqrt(),
            drift: -0.5 * mc.vol * mc.vol * dt,
            ln_k: mc.strike.ln(),
            x0: mc.spot.ln(),
            premium: mc.premium(),
            delta0: bs::greeks(&mc.option(mc.spot, mc.t)).delta,
            costs: Costs { fee_bps: mc.cost * 1e4, half_spread_bps: 0.0, tx_fee: 0.0, oracle_latency_secs: 0.0 },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
unsafe fn all_paths_avx512<P: Policy + Clone>(mc: &HedgeMc, g: &Grid, p: &P, rng: &mut SmallRng, sums: &mut Sums) {
    all_paths(mc, g, p, rng, sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn all_paths_avx2<P: Policy + Clone>(mc: &HedgeMc, g: &Grid, p: &P, rng: &mut SmallRng, sums: &mut Sums) {
    all_paths(mc, g, p, rng, sums)
}

/// Every path, LANES at a time, accumulated into `sums`.
#[inline(always)]
fn all_paths<P: Policy + Clone>(mc: &HedgeMc, g: &Grid, policy: &P, rng: &mut SmallRng, sums: &mut Sums) {
    let steps = mc.steps;
    let mut z = [0.0; LANES];
    let mut done = 0;
    while done < mc.paths {
        let lanes = LANES.min(mc.paths - done);
        let mut policies: [P; LANES] = std::array::from_fn(|_| policy.clone());
        let mut x = [g.x0; LANES];
        let mut s = [mc.spot; LANES];
        let mut shares = [g.delta0; LANES];
        let mut pnl = [g.premium; LANES];
        let mut rehedge = [0.0; LANES];
        let mut trades = [0u32; LANES];
        let mut delta = [0.0; LANES];
        let mut gamma = [0.0; LANES];
        let mut countdown = mc.decide_every;
        for i in 1..=steps {
            for zl in z.iter_mut() {
                *zl = StandardNormal.sample(rng);
            }
            for l in 0..LANES {
                x[l] += g.drift + g.sd * z[l];
                let next = exp_poly(x[l]);
                pnl[l] += shares[l] * (next - s[l]);
                s[l] = next;
            }
            countdown -= 1;
            if countdown > 0 || i == steps {
                continue;
            }
            countdown = mc.decide_every;
            let (iv, hv) = (g.inv_v[i], g.half_v[i]);
            for l in 0..LANES {
                let d1 = (x[l] - g.ln_k) * iv + hv;
                let kernel = exp_poly(-0.5 * d1 * d1);
                let (p, q) = hart_pq(d1);
                delta[l] = pair_from_tail(d1, kernel * p / q).0;
                gamma[l] = FRAC_1_SQRT_2PI * kernel * iv / s[l];
            }
            for l in 0..lanes {
                // The book: short one call (delta −N(d1), gamma −Γ) plus the shares held.
                let obs = Observation {
                    t: i as i64,
                    spot: s[l],
                    delta: shares[l] - delta[l],
                    gamma: -gamma[l],
                    target_delta: 0.0,
                    vol: mc.vol,
                };
                if let Action::HedgeTo(to) = policies[l].decide(&obs, &g.costs).action {
                    let held = to + delta[l];
                    rehedge[l] += mc.cost * (held - shares[l]).abs() * s[l];
                    shares[l] = held;
                    trades[l] += 1;
                }
            }
        }
        for l in 0..lanes {
            let gross = pnl[l] - (s[l] - mc.strike).max(0.0);
            let entry_exit = mc.cost * (g.delta0 * mc.spot + shares[l].abs() * s[l]);
            let net = gross - rehedge[l] - entry_exit;
            sums.n += 1.0;
            sums.pnl += gross;
            sums.pnl2 += gross * gross;
            sums.net += net;
            sums.net2 += net * net;
            sums.rehedge += rehedge[l];
            sums.entry_exit += entry_exit;
            sums.trades += f64::from(trades[l]);
        }
        done += lanes;
    }
}

/// Derman-Kamal: std(hedging P&L) / premium ≈ √(π/4) / √N for an at-the-money option hedged N times.
pub fn derman_kamal_ratio(n: usize) -> f64 {
    (std::f64::consts::PI / 4.0).sqrt() / (n as f64).sqrt()
}

/// Leland's number Le = √(2/π) · k / (σ √δt), with k the round-trip proportional cost (2 × the one-way cost).
pub fn leland_number(one_way_cost: f64, vol: f64, dt: f64) -> f64 {
    (2.0 / std::f64::consts::PI).sqrt() * 2.0 * one_way_cost / (vol * dt.sqrt())
}

/// Leland's expected re-hedging cost: his cost rate ½σ²S²Γ·Le integrated over the option's life, which (r = 0,
/// zero drift) is Le · σ · vega / 2 — the first-order term of pricing at the adjusted volatility σ√(1 + Le).
/// The linear form is the prediction for the cost itself: the hedge (and so its cost) is linear in the cost rate,
/// whereas the premium at σ√(1 + Le) bends away from it by −Le/4 in relative terms.
pub fn leland_expected_cost(mc: &HedgeMc, hedges: usize) -> f64 {
    let le = leland_number(mc.cost, mc.vol, mc.t / hedges as f64);
    le * mc.vol * bs::greeks(&mc.option(mc.spot, mc.t)).vega / 2.0
}

/// The exact standard deviation of the P&L of hedging N times on an even grid (no costs), by quadrature rather
/// than simulation: an independent reference for the simulator where Derman-Kamal's leading-order formula is not
/// accurate (small N). With zero drift the option price and the hedge gains are martingales, so the per-interval
/// errors e_i = C(S_{i+1}) − C(S_i) − Δ_i (S_{i+1} − S_i) are uncorrelated and Var = Σ E[e_i²]; each E[e_i²] is a
/// two-dimensional Gaussian integral (the log price at t_i and the increment), taken by the trapezoid rule on
/// [−9, 9] standard deviations with `nodes` points per dimension.
pub fn exact_hedge_std(mc: &HedgeMc, hedges: usize, nodes: usize) -> f64 {
    let dt = mc.t / hedges as f64;
    let h = 18.0 / (nodes - 1) as f64;
    let grid: Vec<(f64, f64)> = (0..nodes)
        .map(|j| {
            let z = -9.0 + j as f64 * h;
            (z, h * (-0.5 * z * z).exp() * FRAC_1_SQRT_2PI)
        })
        .collect();
    let (x0, var_dt) = (mc.spot.ln(), mc.vol * mc.vol * dt);
    let mut variance = 0.0;
    for i in 0..hedges {
        let (t_i, tau) = (i as f64 * dt, mc.t - i as f64 * dt);
        let var_i = mc.vol * mc.vol * t_i;
        // At t_0 the price is known: one point of weight 1.
        let starts: Vec<(f64, f64)> = if i == 0 { vec![(0.0, 1.0)] } else { grid.clone() };
        for (u, wu) in starts {
            let s_i = (x0 - 0.5 * var_i + var_i.sqrt() * u).exp();
            let g = bs::greeks(&mc.option(s_i, tau));
            let mut e2 = 0.0;
            for &(w, ww) in &grid {
                let s_next = s_i * (-0.5 * var_dt + var_dt.sqrt() * w).exp();
                let c_next = if i + 1 == hedges {
                    (s_next - mc.strike).max(0.0)
                } else {
                    bs::price(&mc.option(s_next, tau - dt))
                };
                let e = c_next - g.price - g.delta * (s_next - s_i);
                e2 += ww * e * e;
            }
            variance += wu * e2;
        }
    }
    variance.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::policy::StaticBand;

    #[test]
    fn without_costs_or_hedging_the_pnl_is_premium_minus_payoff_and_hedging_reduces_its_spread() {
        let base = HedgeMc {
            spot: 100.0,
            strike: 100.0,
            vol: 0.2,
            t: 1.0,
            steps: 64,
            decide_every: 64,
            cost: 0.0,
            paths: 20_000,
            seed: 1,
        };
        // Never re-hedged: the static initial hedge only. Mean P&L is ~0 (fair premium, martingale price).
        let never = base.run(&StaticBand { half_width: 0.0 });
        assert_eq!(never.mean_trades, 0.0);
        assert!(never.mean_pnl.abs() < 4.0 * never.std_pnl / (never.paths as f64).sqrt(), "{never:?}");
        let often = HedgeMc { decide_every: 1, ..base }.run(&StaticBand { half_width: 0.0 });
        // A trade at every one of the 63 interior steps, except where the delta is exactly 0 or 1 (far from the
        // strike) and there is nothing to trade.
        assert!(often.mean_trades > 60.0 && often.mean_trades <= 63.0, "{often:?}");
        assert!(often.std_pnl < 0.35 * never.std_pnl, "{often:?} vs {never:?}");
        assert_eq!(often.mean_rehedge_cost, 0.0);
        assert_eq!(often.path_steps, 20_000 * 64);
    }

    #[test]
    fn the_same_seed_gives_the_same_result_and_costs_are_charged() {
        let mc = HedgeMc {
            spot: 100.0,
            strike: 100.0,
            vol: 0.3,
            t: 0.5,
            steps: 50,
            decide_every: 1,
            cost: 0.001,
            paths: 1_001,
            seed: 9,
        };
        let a = mc.run(&StaticBand { half_width: 0.05 });
        let b = mc.run(&StaticBand { half_width: 0.05 });
        assert_eq!(a.mean_net, b.mean_net);
        assert!(a.mean_rehedge_cost > 0.0 && a.mean_entry_exit_cost > 0.0);
        assert!((a.mean_pnl - a.mean_rehedge_cost - a.mean_entry_exit_cost - a.mean_net).abs() < 1e-9);
        assert!(a.mean_trades > 0.0 && a.mean_trades < 49.0);
    }
}
