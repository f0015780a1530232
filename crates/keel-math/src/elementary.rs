//! Elementary functions on I80F48: `exp`, `ln`, `sqrt`, `cbrt`.
//!
//! | function | domain | outside the domain | accuracy vs exact (measured by the property tests) |
//! |---|---|---|---|
//! | `exp(x)` | x <= 54.75 (e^x < 2^79) | `Overflow`; x < -40 returns exactly 0 | <= 1 ulp + 1e-17 relative |
//! | `ln(x)` | x > 0 | `OutOfDomain` | <= 1 ulp (2^-48 ≈ 3.6e-15 absolute) |
//! | `sqrt(x)` | x >= 0 | `OutOfDomain` | rounded down, < 1 ulp |
//! | `cbrt(x)` | all x (odd function) | — | <= 4e-15 relative + 1 ulp |
//!
//! The cores of `exp` and `ln` run in 62-fractional-bit fixed point (an i64, products in i128) and round once into
//! I80F48, so their error is dominated by the final rounding; this is what lets Black-Scholes meet its 1e-9 x
//! spot bound with room. 62 bits rather than 120: on SBF a 64 x 64-bit product is one software multiply where a
//! 120-bit core needs a 256-bit one, and these two functions are most of an on-chain market refresh.
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::SafeMath;
use fixed::types::I80F48;

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

/// Fractional bits of the cores (Q62 in an i64: range ±2).
const CORE_BITS: u32 = 62;
/// From the cores to I80F48.
const CORE_SHIFT: u32 = CORE_BITS - FRAC_BITS; // 14
/// 1.0 in Q62.
const ONE_Q62: i64 = 1 << CORE_BITS;
/// ln 2 in Q62, rounded to nearest from the crate's 128-bit constant.
const LN2_Q62: i64 = (((fixed::consts::LN_2.to_bits() >> 65) + 1) >> 1) as i64;

/// Rounded-to-nearest 2^62 / d, evaluated at compile time (d >= 1, so the value fits an i64).
const fn q62_ratio(d: i128) -> i64 {
    (((1i128 << CORE_BITS) + d / 2) / d) as i64
}

/// 1/n! for n = 0..=14 in Q62 (the table below uses all of them once, at compile time).
const INV_FACT: [i64; 15] = {
    let mut out = [0i64; 15];
    let mut fact: i128 = 1;
    let mut n = 0;
    while n < 15 {
        if n > 0 {
            fact *= n as i128;
        }
        out[n] = q62_ratio(fact);
        n += 1;
    }
    out
};

/// Terms of e^r2 for |r2| <= 1/64 after the table step: the first omitted, r2^9/9!, is below 2^-65.
const EXP_TERMS: usize = 9;

/// e^(j/32) for j = -12..=12 in Q62, by the 15-term series at compile time (|j/32| <= 0.375: error < 2^-59).
const EXP_TABLE: [i64; 25] = {
    let mut out = [0i64; 25];
    let mut j = 0;
    while j < 25 {
        let x = ((j as i128) - 12) << (CORE_BITS - 5); // j/32 in Q62
        let mut acc = INV_FACT[14] as i128;
        let mut n = 14;
        while n > 0 {
            n -= 1;
            acc = ((acc * x) >> CORE_BITS) + INV_FACT[n] as i128;
        }
        out[j] = acc as i64;
        j += 1;
    }
    out
};

/// 1/(2n+1) for n = 0..=11 in Q62: with |s| <= 0.1716 the first omitted term of 2 atanh(s) is below 2^-62.
const INV_ODD: [i64; 12] = {
    let mut out = [0i64; 12];
    let mut n = 0;
    while n < 12 {
        out[n] = q62_ratio(2 * n as i128 + 1);
        n += 1;
    }
    out
};

/// a x b in Q62, floored. Both cores keep |a|, |b| and the product below 2, so the i64 conversion cannot fail;
/// it is still checked, because an error is better than a wrong price.
#[inline(always)]
fn mul_q62(a: i64, b: i64) -> MathResult<i64> {
    i64::try_from((i128::from(a) * i128::from(b)) >> CORE_BITS).map_err(|_| err(MathErrorKind::Overflow))
}

/// Horner evaluation of sum c[n] x^n in Q62.
#[inline(always)]
fn horner_q62(coeffs: &[i64], x: i64) -> MathResult<i64> {
    let (last, rest) = coeffs.split_last().ok_or_else(|| err(MathErrorKind::InvalidParameter))?;
    let mut acc = *last;
    for c in rest.iter().rev() {
        acc = mul_q62(acc, x)?.checked_add(*c).ok_or_else(|| err(MathErrorKind::Overflow))?;
    }
    Ok(acc)
}

#[track_caller]
fn err(kind: MathErrorKind) -> MathError {
    MathError::new(kind)
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
    // e^0 = 1 exactly (the series below gives the same bits): discount factors at a zero rate are this case.
    if x == I80F48::ZERO {
        return Ok(I80F48::ONE);
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
    // 3. e^r in Q62 (r rounded from Q120: |r| < 0.35, so it fits).
    let r = i64::try_from((r_raw + (1i128 << 57)) >> 58).map_err(|_| err(MathErrorKind::Overflow))?;
    // e^r = e^(j/32) e^(r - j/32): a table step leaves |r2| <= 1/64, so nine series terms do what fifteen did.
    let j = (r + (1i64 << 56)) >> 57; // round(32 r), in -12..=12 since |r| < 0.35
    let r2 = r - (j << 57);
    let entry =
        usize::try_from(j + 12).ok().and_then(|i| EXP_TABLE.get(i)).ok_or_else(|| err(MathErrorKind::Overflow))?;
    let e_r = i128::from(mul_q62(*entry, horner_q62(&INV_FACT[..EXP_TERMS], r2)?)?); // in (0.70, 1.42) * 2^62
                                                                                     // 4. Scale by 2^k and round once into Q48.
    let shift = CORE_SHIFT as i32 - k;
    let raw = if shift > 0 {
        let s = shift as u32;
        if s >= 127 {
            0
        } else {
            (e_r + (1i128 << (s - 1))) >> s
        }
    } else {
        let s = (-shift) as u32;
        // k <= 80 keeps s <= 66; the bound check is what catches a result at or above 2^79.
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
    // 2. Write x = 2^e * m with m in [1/sqrt2, sqrt2): e from the bit length, m normalised into Q62.
    let raw = x.to_bits();
    let msb = 127 - raw.leading_zeros() as i32; // position of the top set bit
    let mut e = msb - FRAC_BITS as i32;
    let mut m_raw = if msb <= CORE_BITS as i32 {
        raw << (CORE_BITS as i32 - msb)
    } else {
        // Rounded to nearest: the bits below Q62 would otherwise bias ln down by up to 2^-62.
        let s = (msb - CORE_BITS as i32) as u32;
        (raw >> s) + ((raw >> (s - 1)) & 1)
    };
    // sqrt(2) in Q62; halve m at or above it so the series argument stays small.
    const SQRT2_Q62: i128 = (fixed::consts::SQRT_2.to_bits() >> 65) as i128;
    if m_raw >= SQRT2_Q62 {
        m_raw >>= 1;
        e += 1;
    }
    // 3. ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: odd series to s^23, in Q62.
    let one = i128::from(ONE_Q62);
    let s = i64::try_from(((m_raw - one) << CORE_BITS) / (m_raw + one)).map_err(|_| err(MathErrorKind::Overflow))?;
    let s2 = mul_q62(s, s)?;
    let ln_m = i128::from(mul_q62(horner_q62(&INV_ODD, s2)?, s)?) * 2;
    // 4. ln x = e ln2 + ln m, summed in Q62 (|e| <= 80) and rounded once into Q48.
    let total = i128::from(e) * i128::from(LN2_Q62) + ln_m;
    Ok(I80F48::from_bits((total + (1i128 << (CORE_SHIFT - 1))) >> CORE_SHIFT))
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
    // Fast path for x < 2^32: raw x 2^48 fits in a u128, and its integer square root (floored) is the I80F48
    // root bit for bit what `fixed` returns; its general path is a 256-bit loop, costly on SBF.
    let raw = x.to_bits().unsigned_abs();
    if raw < 1u128 << 80 {
        let root = (raw << FRAC_BITS).isqrt(); // < 2^64
        return i128::try_from(root).map(I80F48::from_bits).map_err(|_| err(MathErrorKind::Overflow));
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
    fn sqrt_fast_path_gives_the_fixed_crates_bits() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..100_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let raw = (i128::from(state) << 63 | i128::from(state >> 1)).unsigned_abs() >> (1 + i % 127);
            let x = I80F48::from_bits(i128::try_from(raw).unwrap());
            assert_eq!(sqrt(x).ok(), x.checked_sqrt(), "sqrt({x:?})");
        }
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
