//! Binomial trees: Cox-Ross-Rubinstein and Leisen-Reimer, European and American exercise, cost-of-carry inputs
//! (b = r: stock; b = 0: futures/forward, Keel's case).
//!
//! The backward induction keeps one value row and one spot row and updates both in place; for a call with b >= r
//! early exercise is never optimal, so the American call is priced as European without touching the tree's
//! exercise branch.
use super::bs::{OptionInputs, OptionKind};

/// Tree flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tree {
    /// Cox-Ross-Rubinstein: u = e^{σ√Δt}, d = 1/u. Converges like 1/N with oscillation.
    Crr,
    /// Leisen-Reimer with Peizer-Pratt inversion (method 2): converges like 1/N²; uses an odd step count.
    LeisenReimer,
}

/// Exercise style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exercise {
    European,
    American,
}

/// Peizer-Pratt method-2 inversion: a binomial probability that matches N(z) for n steps.
fn peizer_pratt(z: f64, n: f64) -> f64 {
    let x = z / (n + 1.0 / 3.0 + 0.1 / (n + 1.0));
    let r = (0.25 - 0.25 * (-x * x * (n + 1.0 / 6.0)).exp()).sqrt();
    if z >= 0.0 {
        0.5 + r
    } else {
        0.5 - r
    }
}

/// Option value on a tree with `steps` steps (>= 1). Inputs as for Black-Scholes; `o.vol` > 0, `o.t` > 0.
pub fn price(o: &OptionInputs, tree: Tree, exercise: Exercise, steps: usize) -> f64 {
    let mut n = steps.max(1);
    if tree == Tree::LeisenReimer && n.is_multiple_of(2) {
        n += 1;
    }
    let nf = n as f64;
    let dt = o.t / nf;
    let growth = (o.carry * dt).exp();
    let disc = (-o.rate * dt).exp();
    let (u, d, p) = match tree {
        Tree::Crr => {
            let u = (o.vol * dt.sqrt()).exp();
            let d = 1.0 / u;
            (u, d, (growth - d) / (u - d))
        }
        Tree::LeisenReimer => {
            let v = o.vol * o.t.sqrt();
            let d1 = ((o.spot / o.strike).ln() + o.carry * o.t) / v + 0.5 * v;
            let d2 = d1 - v;
            let (p_star, p) = (peizer_pratt(d1, nf), peizer_pratt(d2, nf));
            let u = growth * p_star / p;
            let d = (growth - p * u) / (1.0 - p);
            (u, d, p)
        }
    };
    let (pu, pd) = (disc * p, disc * (1.0 - p));
    let sign = match o.kind {
        OptionKind::Call => 1.0,
        OptionKind::Put => -1.0,
    };
    // Early exercise of a call is never optimal when b >= r (no yield): skip the exercise branch.
    let american = exercise == Exercise::American && !(o.kind == OptionKind::Call && o.carry >= o.rate);

    // Terminal spots S0 u^j d^(n-j) and payoffs.
    let mut spot: Vec<f64> = Vec::with_capacity(n + 1);
    let ratio = u / d;
    let mut s = o.spot * d.powi(n as i32);
    for _ in 0..=n {
        spot.push(s);
        s *= ratio;
    }
    let mut value: Vec<f64> = spot.iter().map(|s| (sign * (s - o.strike)).max(0.0)).collect();
    let inv_d = 1.0 / d;
    let step = Step { pu, pd, inv_d, sign, strike: o.strike, american };
    let mut scratch = vec![0.0; n + 1];
    induct(&step, &mut value, &mut scratch, &mut spot, n);
    value[0]
}

/// Per-step constants of the backward induction.
struct Step {
    pu: f64,
    pd: f64,
    inv_d: f64,
    sign: f64,
    strike: f64,
    american: bool,
}

/// Backward induction from the terminal row to the root. Double-buffered (each row is computed from the previous
/// one into a separate buffer, then swapped), so no element is read after being overwritten and the loops
/// vectorise; on x86-64 the same code is compiled for AVX-512 / AVX2 and chosen at run time.
fn induct(st: &Step, value: &mut Vec<f64>, scratch: &mut Vec<f64>, spot: &mut [f64], n: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
            // SAFETY: the target features were detected on this CPU.
            return unsafe { induct_avx512(st, value, scratch, spot, n) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { induct_avx2(st, value, scratch, spot, n) };
        }
    }
    induct_generic(st, value, scratch, spot, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn induct_avx512(st: &Step, value: &mut Vec<f64>, scratch: &mut Vec<f64>, spot: &mut [f64], n: usize) {
    induct_generic(st, value, scratch, spot, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn induct_avx2(st: &Step, value: &mut Vec<f64>, scratch: &mut Vec<f64>, spot: &mut [f64], n: usize) {
    induct_generic(st, value, scratch, spot, n)
}

#[inline(always)]
fn induct_generic(st: &Step, value: &mut Vec<f64>, scratch: &mut Vec<f64>, spot: &mut [f64], n: usize) {
    for i in (0..n).rev() {
        // Row i (i + 1 nodes) from row i + 1 (i + 2 nodes).
        let old = &value[..i + 2];
        if st.american {
            american_row(st, &mut scratch[..i + 1], &old[..i + 1], &old[1..], &mut spot[..i + 1]);
        } else {
            european_row(st, &mut scratch[..i + 1], &old[..i + 1], &old[1..]);
        }
        std::mem::swap(value, scratch);
    }
}

// Rows are separate functions taking slices as arguments: that is what tells the compiler the buffers do not
// alias (slices reached through a `&mut Vec` carry no such guarantee), so the loops vectorise.
#[inline(always)]
fn american_row(st: &Step, new: &mut [f64], lo: &[f64], hi: &[f64], spots: &mut [f64]) {
    let n = new.len().min(lo.len()).min(hi.len()).min(spots.len());
    let (new, lo, hi, spots) = (&mut new[..n], &lo[..n], &hi[..n], &mut spots[..n]);
    for j in 0..n {
        let s = spots[j] * st.inv_d;
        spots[j] = s;
        // Compare-select rather than f64::max, whose NaN rules block vectorisation (values are never NaN).
        let (cont, exercise) = (st.pu * hi[j] + st.pd * lo[j], st.sign * (s - st.strike));
        new[j] = if cont > exercise { cont } else { exercise };
    }
}

#[inline(always)]
fn european_row(st: &Step, new: &mut [f64], lo: &[f64], hi: &[f64]) {
    let n = new.len().min(lo.len()).min(hi.len());
    let (new, lo, hi) = (&mut new[..n], &lo[..n], &hi[..n]);
    for j in 0..n {
        new[j] = st.pu * hi[j] + st.pd * lo[j];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::bs;
    use OptionKind::*;

    #[test]
    fn european_trees_converge_to_black_scholes() {
        for kind in [Call, Put] {
            for (s, k) in [(100.0, 100.0), (100.0, 80.0), (100.0, 125.0)] {
                let o = OptionInputs::black_scholes(kind, s, k, 0.75, 0.35, 0.04);
                let bs = bs::price(&o);
                let lr = price(&o, Tree::LeisenReimer, Exercise::European, 201);
                let crr = price(&o, Tree::Crr, Exercise::European, 2000);
                assert!((lr - bs).abs() < 2e-5, "LR {lr} vs BS {bs}");
                assert!((crr - bs).abs() < 5e-3, "CRR {crr} vs BS {bs}");
                // LR at 201 steps beats CRR at 2000.
                assert!((lr - bs).abs() < (crr - bs).abs());
            }
        }
    }

    #[test]
    fn leisen_reimer_error_falls_like_one_over_n_squared() {
        let o = OptionInputs::black_scholes(Put, 100.0, 105.0, 1.0, 0.25, 0.03);
        let bs = bs::price(&o);
        let e1 = (price(&o, Tree::LeisenReimer, Exercise::European, 51) - bs).abs();
        let e2 = (price(&o, Tree::LeisenReimer, Exercise::European, 201) - bs).abs();
        // Four times the steps: about sixteen times smaller error.
        assert!(e2 < e1 / 8.0, "{e1:e} -> {e2:e}");
    }

    /// Hull, "Binomial Trees in Practice": American put, S=50, K=50, r=10%, σ=40%, T=5 months. A 5-step tree
    /// gives 4.49; the converged value is about 4.28 (Hull quotes 4.283 at 500 steps).
    #[test]
    fn hull_american_put() {
        let o = OptionInputs::black_scholes(Put, 50.0, 50.0, 5.0 / 12.0, 0.4, 0.1);
        assert!((price(&o, Tree::Crr, Exercise::American, 5) - 4.49).abs() < 0.005);
        let fine = price(&o, Tree::Crr, Exercise::American, 500);
        assert!((fine - 4.283).abs() < 0.0015, "{fine}");
        // Early exercise premium is positive for puts; American call on a non-yielding stock equals European.
        assert!(fine > bs::price(&o));
        let c = OptionInputs { kind: Call, ..o };
        let am = price(&c, Tree::LeisenReimer, Exercise::American, 301);
        let eu = price(&c, Tree::LeisenReimer, Exercise::European, 301);
        assert_eq!(am, eu);
    }

    #[test]
    fn american_futures_call_has_early_exercise_premium() {
        // Black-76 (b = 0 < r): deep ITM American calls on futures are exercised early.
        let o = OptionInputs::black76(Call, 100.0, 60.0, 2.0, 0.3, 0.08);
        let am = price(&o, Tree::Crr, Exercise::American, 1000);
        assert!(am > bs::price(&o) + 0.1);
    }
}
