//! SPAN-style scenario risk arrays: the P&L of one unit of a position under a grid of spot and volatility shocks.
//!
//! Layout: `out[i * vol_shocks.len() + j]` is the P&L of +1 unit when spot moves by `spot_shocks[i]` (relative:
//! -0.1 = -10%) and volatility by `vol_shocks[j]` (relative: 0.25 = vol x 1.25). A book's array is the
//! size-weighted sum of its positions' arrays ([`accumulate`]); its scenario loss is [`worst_loss`]. The venue
//! computes arrays once per market (refresh) so margin and mandate checks are cheap sums per account.
use crate::bs::{price, price_at, BsmInputs, Invariants, VolTerms};
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::{QtyFactor, SafeMath};
use fixed::types::I80F48;

/// Upper bound on grid size, so on-chain callers can use fixed arrays.
pub const MAX_SCENARIOS: usize = 32;

fn check_shape(spot_shocks: &[I80F48], vol_shocks: &[I80F48], out: &[I80F48]) -> MathResult<()> {
    let n = spot_shocks.len().checked_mul(vol_shocks.len());
    if n != Some(out.len()) || out.is_empty() || out.len() > MAX_SCENARIOS {
        return Err(MathError::new(MathErrorKind::ShapeMismatch));
    }
    if spot_shocks.iter().any(|s| *s <= -I80F48::ONE) || vol_shocks.iter().any(|v| *v < -I80F48::ONE) {
        return Err(MathError::new(MathErrorKind::InvalidParameter));
    }
    Ok(())
}

/// The common SPAN shape: spot at 0, ±1/3, ±2/3, ±1 of `spot_range`, each with volatility up and down by
/// `vol_range` (7 x 2 = 14 scenarios).
pub fn span_grid(spot_range: I80F48, vol_range: I80F48) -> ([I80F48; 7], [I80F48; 2]) {
    let third = spot_range / 3;
    let two_thirds = spot_range - third;
    ([-spot_range, -two_thirds, -third, I80F48::ZERO, third, two_thirds, spot_range], [vol_range, -vol_range])
}

/// Full revaluation of one option under the grid.
#[track_caller]
pub fn option_risk_array(
    inputs: &BsmInputs,
    spot_shocks: &[I80F48],
    vol_shocks: &[I80F48],
    out: &mut [I80F48],
) -> MathResult<()> {
    option_risk_array_from(inputs, &Invariants::new(inputs)?, price(inputs)?, spot_shocks, vol_shocks, out)
}

/// [`option_risk_array`] from the invariants of `inputs` and a base price the caller already has (e.g. from
/// `greeks_with`). Every scenario is a
/// full Black-Scholes revaluation; what the scenarios share (discounting, √T, ln K) is computed once and ln S once
/// per spot shock, so the result is bit-identical to repricing each scenario from scratch at a fraction of the
/// cost (this is the bulk of an on-chain market refresh).
#[track_caller]
pub fn option_risk_array_from(
    inputs: &BsmInputs,
    inv: &Invariants,
    base: I80F48,
    spot_shocks: &[I80F48],
    vol_shocks: &[I80F48],
    out: &mut [I80F48],
) -> MathResult<()> {
    check_shape(spot_shocks, vol_shocks, out)?;
    // ln S and e^{-|m|} once per spot shock, 1/(σ√T) once per vol shock; then every scenario is one exp, two N(d)
    // and a value.
    let mut spots = [None; MAX_SCENARIOS];
    for (slot, ds) in spots.iter_mut().zip(spot_shocks) {
        let spot = inputs.spot.safe_mul(I80F48::ONE.safe_add(*ds)?)?;
        *slot = Some((spot, inv.at(spot)?));
    }
    let nv = vol_shocks.len();
    for (j, dv) in vol_shocks.iter().enumerate() {
        let vol = inputs.vol.safe_mul(I80F48::ONE.safe_add(*dv)?)?;
        let vt = VolTerms::new(vol, inv)?;
        for (i, (spot, at)) in spots[..spot_shocks.len()].iter().flatten().enumerate() {
            let shocked = price_at(&inputs.with_spot_vol(*spot, vol), inv, at, &vt)?;
            out[i * nv + j] = shocked.safe_sub(base)?;
        }
    }
    Ok(())
}

/// A linear (perpetual/forward) position: P&L = spot x shock, independent of volatility.
#[track_caller]
pub fn linear_risk_array(
    spot: I80F48,
    spot_shocks: &[I80F48],
    vol_shocks: &[I80F48],
    out: &mut [I80F48],
) -> MathResult<()> {
    check_shape(spot_shocks, vol_shocks, out)?;
    let nv = vol_shocks.len();
    for (i, ds) in spot_shocks.iter().enumerate() {
        let pnl = spot.safe_mul(*ds)?;
        out[i * nv..(i + 1) * nv].fill(pnl);
    }
    Ok(())
}

/// acc += size x array (size signed: long +, short -).
#[track_caller]
pub fn accumulate(acc: &mut [I80F48], array: &[I80F48], size: I80F48) -> MathResult<()> {
    if acc.len() != array.len() {
        return Err(MathError::new(MathErrorKind::ShapeMismatch));
    }
    let size = QtyFactor::new(size);
    for (a, x) in acc.iter_mut().zip(array) {
        *a = a.safe_add(size.mul(*x)?)?;
    }
    Ok(())
}

/// The largest loss across scenarios, as a non-negative number (0 if every scenario gains).
pub fn worst_loss(array: &[I80F48]) -> I80F48 {
    let min = array.iter().copied().min().unwrap_or(I80F48::ZERO);
    if min < I80F48::ZERO {
        min.saturating_neg()
    } else {
        I80F48::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bs::OptionKind;

    fn lit(s: &str) -> I80F48 {
        I80F48::lit(s)
    }

    #[test]
    fn shared_invariants_give_the_same_bits_as_repricing_every_scenario() {
        let (spots, vols) = span_grid(lit("0.2"), lit("0.3"));
        let cases = [
            BsmInputs::black76(OptionKind::Call, lit("100"), lit("110"), lit("0.08"), lit("0.7"), I80F48::ZERO),
            BsmInputs::black76(OptionKind::Put, lit("23.4"), lit("19"), lit("0.5"), lit("1.2"), I80F48::ZERO),
            BsmInputs::black_scholes(OptionKind::Call, lit("150"), lit("140"), lit("1.5"), lit("0.4"), lit("0.05")),
            BsmInputs {
                carry: lit("0.02"),
                ..BsmInputs::black_scholes(OptionKind::Put, lit("80"), lit("95"), lit("0.3"), lit("0.9"), lit("0.04"))
            },
            BsmInputs::black76(OptionKind::Call, lit("100"), lit("100"), I80F48::ZERO, lit("0.7"), I80F48::ZERO),
        ];
        for inputs in cases {
            let mut fast = [I80F48::ZERO; 14];
            option_risk_array(&inputs, &spots, &vols, &mut fast).unwrap();
            let base = price(&inputs).unwrap();
            for (i, ds) in spots.iter().enumerate() {
                for (j, dv) in vols.iter().enumerate() {
                    let shocked =
                        inputs.with_spot_vol(inputs.spot * (I80F48::ONE + ds), inputs.vol * (I80F48::ONE + dv));
                    assert_eq!(fast[i * 2 + j], price(&shocked).unwrap() - base, "{inputs:?} scenario ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn straddle_loses_on_vol_down_and_gains_on_big_moves() {
        let (spots, vols) = span_grid(lit("0.15"), lit("0.25"));
        let call = BsmInputs::black76(OptionKind::Call, lit("100"), lit("100"), lit("0.1"), lit("0.6"), I80F48::ZERO);
        let put = BsmInputs { kind: OptionKind::Put, ..call };
        let mut c = [I80F48::ZERO; 14];
        let mut p = [I80F48::ZERO; 14];
        option_risk_array(&call, &spots, &vols, &mut c).unwrap();
        option_risk_array(&put, &spots, &vols, &mut p).unwrap();
        let mut book = [I80F48::ZERO; 14];
        accumulate(&mut book, &c, I80F48::ONE).unwrap();
        accumulate(&mut book, &p, I80F48::ONE).unwrap();
        // Spot unchanged (index 3), vol down (j = 1): a long straddle loses vega.
        assert!(book[3 * 2 + 1] < I80F48::ZERO);
        // Spot -15% with vol up: a long straddle gains.
        assert!(book[0] > I80F48::ZERO);
        // A short straddle's worst loss is the long's best gain.
        let mut short = [I80F48::ZERO; 14];
        accumulate(&mut short, &book, -I80F48::ONE).unwrap();
        assert_eq!(worst_loss(&short), *book.iter().max().unwrap());
    }

    #[test]
    fn linear_array_and_shape_errors() {
        let (spots, vols) = span_grid(lit("0.3"), lit("0.2"));
        let mut out = [I80F48::ZERO; 14];
        linear_risk_array(lit("50"), &spots, &vols, &mut out).unwrap();
        // 0.3 is not exact in binary: allow the representation error of the shock times the spot.
        assert!((out[0] + lit("15")).abs() < lit("0.000000000001"));
        assert_eq!(out[13], -out[0]);
        let mut short = [I80F48::ZERO; 13];
        assert_eq!(linear_risk_array(lit("50"), &spots, &vols, &mut short).unwrap_err(), MathErrorKind::ShapeMismatch);
        let mut acc = [I80F48::ZERO; 3];
        assert_eq!(accumulate(&mut acc, &out, I80F48::ONE).unwrap_err(), MathErrorKind::ShapeMismatch);
        let bad_spot = [lit("-1")];
        let mut one = [I80F48::ZERO; 2];
        assert_eq!(
            linear_risk_array(lit("50"), &bad_spot, &vols, &mut one).unwrap_err(),
            MathErrorKind::InvalidParameter
        );
        assert_eq!(worst_loss(&[]), I80F48::ZERO);
    }
}
