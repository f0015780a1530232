//! Elementary functions on I80F48: `exp`, `ln`, `sqrt`, `cbrt`.
//!
//! | function | domain | outside the domain | accuracy vs exact (measured by the property tests) |
//! |---|---|---|---|
//! | `exp(x)` | x <= 54.75 (e^x < 2^79) | `Overflow`; x < -40 returns exactly 0 | <= 1 ulp + 1e-24 relative |
//! | `ln(x)` | x > 0 | `OutOfDomain` | <= 1 ulp (2^-48 ≈ 3.6e-15 absolute) |
//! | `sqrt(x)` | x >= 0 | `OutOfDomain` | rounded down, < 1 ulp |
//! | `cbrt(x)` | all x (odd function) | — | <= 4e-15 relative + 1 ulp |
//!
//! The cores of `exp` and `ln` run in a 120-fractional-bit fixed-point type and round once into I80F48, so their
//! error is dominated by the final rounding. This is what lets Black-Scholes meet its 1e-9 x spot bound with room.
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::SafeMath;
use fixed::types::{I80F48, I8F120};

/// Internal wide type: range ±128, resolution 2^-120.
type W = I8F120;

const FRAC_BITS: u32 = 48;
const WIDE_FRAC_BITS: u32 = 120;
const SHIFT: u32 = WIDE_FRAC_BITS - FRAC_BITS; // 72

/// ln 2 in Q120 (from the crate's 128-bit constant, truncated: error < 2^-120). The value is below 2^120, so the
/// unsigned-to-signed conversion is exact (`try_from` is not available in a const).
const LN2_Q120: i128 = (fixed::consts::LN_2.to_bits() >> 8) as i128;
/// 1/ln 2, for choosing the range-reduction exponent (only needs to be roughly right).
const INV_LN2: I80F48 = I80F48::lit("1.442695040888963407359924681001892137");
/// Largest argument whose exponential fits: ln(2^79) = 54.7586..., kept a hair inside.
pub const EXP_MAX_ARG: I80F48 = I80F48::lit("54.7586");
/// Below this, e^x < 2^-57, which rounds to 0 in I80F48.
pub const EXP_UNDERFLOW_ARG: I80F48 = I80F48::lit("-40");

/// Rounded-to-nearest 2^120 / d, evaluated at compile time.
const fn q120_ratio(d: i128) -> i128 {
    ((1i128 << 120) + d / 2) / d
}

const fn inv_factorials() -> [i128; 21] {
    let mut out = [0i128; 21];
    let mut fact: i128 = 1;
    let mut n = 0;
    while n < 21 {
        if n > 0 {
            fact *= n as i128;
        }
        out[n] = q120_ratio(fact);
        n += 1;
    }
    out
}

const fn inv_odd() -> [i128; 17] {
    let mut out = [0i128; 17];
    let mut n = 0;
    while n < 17 {
        out[n] = q120_ratio(2 * n as i128 + 1);
        n += 1;
    }
    out
}

/// 1/n! for n = 0..=20 in Q120.
const INV_FACT: [i128; 21] = inv_factorials();
/// 1/(2n+1) for n = 0..=16 in Q120.
const INV_ODD: [i128; 17] = inv_odd();

#[track_caller]
fn err(kind: MathErrorKind) -> MathError {
    MathError::new(kind)
}

/// Rounds a Q120 raw value to the nearest Q48 raw value (ties away from zero is irrelevant at this scale).
#[inline]
fn round_q120_to_q48(raw: i128) -> i128 {
    let half = 1i128 << (SHIFT - 1);
    // Arithmetic shift floors; adding half first gives round-half-up. No overflow: |raw| < 2^127 - 2^71 here.
    (raw + half) >> SHIFT
}

/// e^x.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn exp(x: I80F48) -> MathResult<I80F48> {
    // 1. Domain: overflow above ln(2^79), exact zero far below the resolution.
    if x > EXP_MAX_ARG {
        return Err(err(MathErrorKind::Overflow));
    }
    if x < EXP_UNDERFLOW_ARG {
        return Ok(I80F48::ZERO);
    }
    // 2. Range reduction x = k ln2 + r with |r| <~ ln2/2, computed in Q120 so r carries no rounding error of note.
    let k: i32 = x.safe_mul(INV_LN2)?.round().to_num::<i32>();
    let x_q120 = x.to_bits() << SHIFT; // |x| <= 55 < 2^6, so this stays below 2^127
                                       // |k| <= 80 keeps k ln2 below 2^127; multiplied unsigned because SBF has no signed 128-bit overflow helper.
    let k_ln2 = (k.unsigned_abs() as u128)
        .checked_mul(LN2_Q120 as u128)
        .and_then(|p| i128::try_from(p).ok())
        .ok_or_else(|| err(MathErrorKind::Overflow))?;
    let r_raw = if k < 0 { x_q120 + k_ln2 } else { x_q120 - k_ln2 };
    let r = W::from_bits(r_raw);
    // 3. e^r by Horner on the Taylor series to 1/20!: truncation < 0.36^21/21! < 1e-28.
    let mut acc = W::from_bits(INV_FACT[20]);
    for c in INV_FACT[..20].iter().rev() {
        acc = acc
            .checked_mul(r)
            .and_then(|p| p.checked_add(W::from_bits(*c)))
            .ok_or_else(|| err(MathErrorKind::Overflow))?;
    }
    // 4. Scale by 2^k and round once into Q48.
    let e_r = acc.to_bits(); // in (0.70, 1.42) * 2^120
    let shift = SHIFT as i32 - k;
    let raw = if shift > 0 {
        let s = shift as u32;
        if s >= 127 {
            0
        } else {
            (e_r + (1i128 << (s - 1))) >> s
        }
    } else {
        let s = (-shift) as u32;
        // k <= 80 keeps s <= 8; the bound check is what catches a result at or above 2^79.
        if s >= 127 || e_r > (i128::MAX >> s) {
            return Err(err(MathErrorKind::Overflow));
        }
        e_r << s
    };
    Ok(I80F48::from_bits(raw))
}

/// Natural logarithm.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn ln(x: I80F48) -> MathResult<I80F48> {
    // 1. Domain.
    if x <= I80F48::ZERO {
        return Err(err(MathErrorKind::OutOfDomain));
    }
    // 2. Write x = 2^e * m with m in [1/sqrt2, sqrt2): e from the bit length, m normalised into Q120.
    let raw = x.to_bits();
    let msb = 127 - raw.leading_zeros() as i32; // position of the top set bit
    let mut e = msb - FRAC_BITS as i32;
    let mut m_raw = if msb <= WIDE_FRAC_BITS as i32 {
        raw << (WIDE_FRAC_BITS as i32 - msb)
    } else {
        raw >> (msb - WIDE_FRAC_BITS as i32)
    };
    // sqrt(2) in Q120; halve m above it so the series argument stays small.
    const SQRT2_Q120: i128 = (fixed::consts::SQRT_2.to_bits() >> 7) as i128;
    if m_raw >= SQRT2_Q120 {
        m_raw >>= 1;
        e += 1;
    }
    let m = W::from_bits(m_raw);
    // 3. ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: odd series to s^33 (truncation < 2^-86).
    let s = (m - W::ONE).checked_div(m + W::ONE).ok_or_else(|| err(MathErrorKind::Overflow))?;
    let s2 = s.checked_mul(s).ok_or_else(|| err(MathErrorKind::Overflow))?;
    let mut acc = W::from_bits(INV_ODD[16]);
    for c in INV_ODD[..16].iter().rev() {
        acc = acc
            .checked_mul(s2)
            .and_then(|p| p.checked_add(W::from_bits(*c)))
            .ok_or_else(|| err(MathErrorKind::Overflow))?;
    }
    let ln_m = acc.checked_mul(s).and_then(|p| p.checked_mul_int(2)).ok_or_else(|| err(MathErrorKind::Overflow))?;
    // 4. ln x = e ln2 + ln m, summed in Q120 (|e| <= 80) and rounded once.
    let total = (e as i128) * LN2_Q120 + ln_m.to_bits();
    Ok(I80F48::from_bits(round_q120_to_q48(total)))
}

/// sqrt(x² + y²) without squaring small numbers: p·sqrt(1 + (q/p)²) with p = max(|x|, |y|), q = min. Squaring a
/// value near 0.01 in I80F48 loses relative precision (its square sits just ~2^35 ulps above zero); the ratio form
/// keeps the error near one ulp of the result. SVI's sqrt((k − m)² + σ²) needs this for small σ.
#[track_caller]
pub fn hypot(x: I80F48, y: I80F48) -> MathResult<I80F48> {
    let (a, b) = (x.saturating_abs(), y.saturating_abs());
    let (p, q) = if a >= b { (a, b) } else { (b, a) };
    if p == I80F48::ZERO {
        return Ok(I80F48::ZERO);
    }
    let r = q.safe_div(p)?;
    p.safe_mul(sqrt(I80F48::ONE.safe_add(r.safe_mul(r)?)?)?)
}

/// Square root, rounded down.
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn sqrt(x: I80F48) -> MathResult<I80F48> {
    if x < I80F48::ZERO {
        return Err(err(MathErrorKind::OutOfDomain));
    }
    x.checked_sqrt().ok_or_else(|| err(MathErrorKind::Overflow))
}

/// Cube root (real, odd: cbrt(-x) = -cbrt(x)).
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn cbrt(x: I80F48) -> MathResult<I80F48> {
    if x == I80F48::ZERO {
        return Ok(I80F48::ZERO);
    }
    let third = ln(x.saturating_abs())?.safe_div(I80F48::from_num(3))?;
    let r = exp(third)?;
    Ok(if x < I80F48::ZERO { -r } else { r })
}

/// x^y for x > 0, as exp(y ln x).
#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn powf(x: I80F48, y: I80F48) -> MathResult<I80F48> {
    exp(ln(x)?.safe_mul(y)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> I80F48 {
        I80F48::from_num(x)
    }

    #[test]
    fn exp_known_values() {
        assert_eq!(exp(I80F48::ZERO).unwrap(), I80F48::ONE);
        let e = exp(I80F48::ONE).unwrap();
        // e = 2.718281828459045235360287...; I80F48 resolution is 3.55e-15.
        assert!((e - I80F48::lit("2.718281828459045235360287")).abs() <= I80F48::DELTA);
        assert_eq!(exp(f(-41.0)).unwrap(), I80F48::ZERO);
        assert_eq!(exp(f(55.0)).unwrap_err(), MathErrorKind::Overflow);
        // Largest admissible argument still fits.
        assert!(exp(EXP_MAX_ARG).unwrap() > f(5.0e23));
    }

    #[test]
    fn ln_known_values_and_domain() {
        assert_eq!(ln(I80F48::ONE).unwrap(), I80F48::ZERO);
        let l2 = ln(f(2.0)).unwrap();
        assert!((l2 - I80F48::lit("0.6931471805599453094172321")).abs() <= I80F48::DELTA);
        let l10 = ln(f(10.0)).unwrap();
        assert!((l10 - I80F48::lit("2.302585092994045684017991")).abs() <= I80F48::DELTA);
        assert_eq!(ln(I80F48::ZERO).unwrap_err(), MathErrorKind::OutOfDomain);
        assert_eq!(ln(f(-1.0)).unwrap_err(), MathErrorKind::OutOfDomain);
        // Extremes of the type: the smallest positive value and the largest.
        let tiny = ln(I80F48::DELTA).unwrap();
        assert!((tiny - I80F48::lit("-33.27106466687737")).abs() <= I80F48::DELTA * 2);
        let huge = ln(I80F48::MAX).unwrap();
        assert!((huge - I80F48::lit("54.75862726")).abs() < f(1e-8));
    }

    #[test]
    fn sqrt_and_cbrt() {
        assert_eq!(sqrt(f(4.0)).unwrap(), f(2.0));
        assert_eq!(sqrt(f(-1.0)).unwrap_err(), MathErrorKind::OutOfDomain);
        let c = cbrt(f(27.0)).unwrap();
        assert!((c - f(3.0)).abs() < f(1e-13));
        let c = cbrt(f(-8.0)).unwrap();
        assert!((c + f(2.0)).abs() < f(1e-13));
        assert_eq!(cbrt(I80F48::ZERO).unwrap(), I80F48::ZERO);
    }
}
