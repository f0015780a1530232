//! Trade construction: the least-cost trades across the markets a vault may trade that bring its delta, gamma and
//! vega inside target ranges. A small convex QP solved with clarabel (a maintained interior-point solver).
//!
//! Variables: `x_i`, units traded in market i, and `t_i >= |x_i|`. Minimise `sum c_i t_i + eps/2 sum x_i^2`,
//! where `c_i` is the venue's fee plus half-spread per unit and `eps` is a small regulariser that picks the smallest
//! trade among equally cheap ones. Subject to `lo_k <= g_k + sum_i G_ki x_i <= hi_k` for delta, gamma and vega, and
//! `min_i <= x_i <= max_i` (open-interest room, or what the trader may do: a keeper only buys back).
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus};

/// A market the construction may trade: per-unit greeks (delta, gamma, vega), cost per unit traded (tokens) and
/// the range of units it may trade (`min_units <= 0 <= max_units`; e.g. only buying back a short option).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Instrument {
    pub greeks: [f64; 3],
    pub cost_per_unit: f64,
    pub min_units: f64,
    pub max_units: f64,
}

/// Target ranges for (delta, gamma, vega).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranges {
    pub lo: [f64; 3],
    pub hi: [f64; 3],
}

/// The regulariser relative to the smallest cost: small enough not to change which trade is cheapest.
const EPS_OF_COST: f64 = 1e-6;

/// Builds a CSC matrix from dense rows (zeros skipped).
fn csc(rows: &[Vec<f64>], n: usize) -> CscMatrix<f64> {
    let (mut colptr, mut rowval, mut nzval) = (vec![0], Vec::new(), Vec::new());
    for j in 0..n {
        for (i, row) in rows.iter().enumerate() {
            if row[j] != 0.0 {
                rowval.push(i);
                nzval.push(row[j]);
            }
        }
        colptr.push(rowval.len());
    }
    CscMatrix::new(rows.len(), n, colptr, rowval, nzval)
}

/// Units to trade per instrument (same order) for the book's `greeks` to land inside `ranges` at least cost;
/// `Err` when no trade within the caps can (infeasible) or the solver fails, with the solver's status.
pub fn least_cost(greeks: [f64; 3], instruments: &[Instrument], ranges: &Ranges) -> Result<Vec<f64>, String> {
    let n = instruments.len();
    let bad = |x: f64| !x.is_finite();
    let bounds_bad = |i: &Instrument| !(i.min_units <= 0.0 && i.max_units >= 0.0);
    if instruments.iter().any(|i| i.greeks.iter().any(|g| bad(*g)) || bad(i.cost_per_unit) || bounds_bad(i))
        || greeks.iter().chain(&ranges.lo).chain(&ranges.hi).any(|x| bad(*x))
        || (0..3).any(|k| ranges.lo[k] > ranges.hi[k])
    {
        return Err("non-finite greeks or costs, or an empty range".into());
    }
    if (0..3).all(|k| (ranges.lo[k]..=ranges.hi[k]).contains(&greeks[k])) {
        return Ok(vec![0.0; n]);
    }
    if n == 0 {
        return Err("no market to trade".into());
    }
    // z = [x (n); t (n)].
    let min_cost = instruments.iter().map(|i| i.cost_per_unit).filter(|c| *c > 0.0).fold(f64::INFINITY, f64::min);
    let eps = if min_cost.is_finite() { min_cost * EPS_OF_COST } else { EPS_OF_COST };
    let p = {
        let mut rows = vec![vec![0.0; 2 * n]; 2 * n];
        for (i, row) in rows.iter_mut().enumerate().take(n) {
            row[i] = eps;
        }
        csc(&rows, 2 * n)
    };
    let mut q = vec![0.0; n];
    q.extend(instruments.iter().map(|i| i.cost_per_unit.max(0.0)));
    // Rows of A z <= b.
    let (mut rows, mut b) = (Vec::new(), Vec::new());
    let mut push = |row: Vec<f64>, rhs: f64| {
        rows.push(row);
        b.push(rhs);
    };
    for i in 0..n {
        // x_i - t_i <= 0, -x_i - t_i <= 0, x_i <= max, -x_i <= -min.
        for (sign, bound) in [(1.0, instruments[i].max_units), (-1.0, -instruments[i].min_units)] {
            let mut row = vec![0.0; 2 * n];
            row[i] = sign;
            row[n + i] = -1.0;
            push(row, 0.0);
            let mut row = vec![0.0; 2 * n];
            row[i] = sign;
            push(row, bound);
        }
    }
    for (k, (now, (lo, hi))) in greeks.iter().zip(ranges.lo.iter().zip(&ranges.hi)).enumerate() {
        let g: Vec<f64> = instruments.iter().map(|i| i.greeks[k]).collect();
        let mut up = g.clone();
        up.resize(2 * n, 0.0);
        push(up, hi - now);
        let mut down: Vec<f64> = g.iter().map(|v| -v).collect();
        down.resize(2 * n, 0.0);
        push(down, now - lo);
    }
    let a = csc(&rows, 2 * n);
    let cones = [NonnegativeConeT(b.len())];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(200)
        .build()
        .map_err(|e| format!("solver settings: {e:?}"))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings).map_err(|e| format!("solver: {e:?}"))?;
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => Ok(solver.solution.x[..n].to_vec()),
        status => Err(format!("no trade within the caps reaches the ranges (solver: {status:?})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERP: Instrument =
        Instrument { greeks: [1.0, 0.0, 0.0], cost_per_unit: 0.15, min_units: -1e6, max_units: 1e6 };

    fn inside(g: [f64; 3], inst: &[Instrument], x: &[f64], r: &Ranges) -> bool {
        (0..3).all(|k| {
            let v = g[k] + inst.iter().zip(x).map(|(i, x)| i.greeks[k] * x).sum::<f64>();
            v >= r.lo[k] - 1e-6 && v <= r.hi[k] + 1e-6
        })
    }

    #[test]
    fn a_delta_breach_is_hedged_to_the_band_edge_with_the_perp() {
        let r = Ranges { lo: [-5.0, -10.0, -2000.0], hi: [5.0, 10.0, 2000.0] };
        let x = least_cost([12.0, 0.0, 0.0], &[PERP], &r).unwrap();
        // Least cost: trade only to the band's edge.
        assert!((x[0] + 7.0).abs() < 1e-4, "{x:?}");
        assert_eq!(least_cost([3.0, 0.0, 0.0], &[PERP], &r).unwrap(), vec![0.0], "inside: no trade");
    }

    #[test]
    fn a_gamma_breach_buys_options_and_re_hedges_their_delta() {
        // Short gamma beyond the limit: the perp cannot fix gamma, so the call is bought (it may only be bought:
        // a short being bought back) and its delta hedged.
        let call = Instrument { greeks: [0.5, 0.05, 4.0], cost_per_unit: 0.02, min_units: 0.0, max_units: 1e4 };
        let r = Ranges { lo: [-5.0, -10.0, -2000.0], hi: [5.0, 10.0, 2000.0] };
        let (g, inst) = ([0.0, -30.0, -100.0], [PERP, call]);
        let x = least_cost(g, &inst, &r).unwrap();
        assert!(inside(g, &inst, &x, &r), "{x:?}");
        assert!((x[1] - 400.0).abs() < 1e-2, "exactly the gamma needed to reach -10: {x:?}");
        assert!(x[0] < -190.0, "the call's delta (+200) is hedged back into the band: {x:?}");
    }

    #[test]
    fn the_cheaper_market_is_preferred_and_caps_bind() {
        let cheap = Instrument { cost_per_unit: 0.05, min_units: -3.0, max_units: 3.0, ..PERP };
        let r = Ranges { lo: [-5.0, -10.0, -2000.0], hi: [5.0, 10.0, 2000.0] };
        let x = least_cost([10.0, 0.0, 0.0], &[PERP, cheap], &r).unwrap();
        assert!((x[1] + 3.0).abs() < 1e-4 && (x[0] + 2.0).abs() < 1e-4, "cheap one to its cap first: {x:?}");
        let tiny = Instrument { min_units: -1.0, max_units: 1.0, ..PERP };
        let e = least_cost([10.0, 0.0, 0.0], &[tiny], &r).unwrap_err();
        assert!(e.contains("no trade within the caps"), "{e}");
    }

    #[test]
    fn a_one_sided_bound_is_respected() {
        // Only buying back is allowed: a long-delta book cannot be cured by selling this option.
        let call = Instrument { greeks: [0.5, 0.0, 0.0], cost_per_unit: 0.001, min_units: 0.0, max_units: 100.0 };
        let r = Ranges { lo: [-5.0, -10.0, -2000.0], hi: [5.0, 10.0, 2000.0] };
        let x = least_cost([10.0, 0.0, 0.0], &[PERP, call], &r).unwrap();
        assert!(x[1] > -1e-6 && (x[0] + 5.0).abs() < 1e-3, "the cheap call may not be sold: {x:?}");
    }

    #[test]
    fn bad_inputs_are_refused() {
        let r = Ranges { lo: [-5.0, -10.0, -2000.0], hi: [5.0, 10.0, 2000.0] };
        assert!(least_cost([f64::NAN, 0.0, 0.0], &[PERP], &r).is_err());
        let empty = Ranges { lo: [5.0, -10.0, -2000.0], hi: [-5.0, 10.0, 2000.0] };
        assert!(least_cost([10.0, 0.0, 0.0], &[PERP], &empty).is_err());
        assert!(least_cost([10.0, 0.0, 0.0], &[], &r).unwrap_err().contains("no market"));
        let inverted = Instrument { min_units: 1.0, ..PERP };
        assert!(least_cost([10.0, 0.0, 0.0], &[inverted], &r).is_err(), "bounds must contain zero");
    }
}
