//! Checked arithmetic that returns [`MathError`] with the caller's location instead of panicking or wrapping.
//!
//! Every arithmetic step in keel-math goes through this trait so that overflow is an error the program can report,
//! never a silent wrap or an abort.
use crate::error::{MathError, MathErrorKind, MathResult};
use fixed::types::I80F48;

/// Checked add/sub/mul/div. Implemented for I80F48 and the integer types amounts and shares use.
pub trait SafeMath: Sized + Copy {
    fn safe_add(self, rhs: Self) -> MathResult<Self>;
    fn safe_sub(self, rhs: Self) -> MathResult<Self>;
    fn safe_mul(self, rhs: Self) -> MathResult<Self>;
    /// Division; for integers it truncates toward zero (use the `_floor`/`_ceil` helpers for directed rounding).
    fn safe_div(self, rhs: Self) -> MathResult<Self>;
}

macro_rules! impl_safe_math {
    ($($t:ty),*) => {$(
        impl SafeMath for $t {
            #[track_caller]
            #[inline(always)]
            fn safe_add(self, rhs: Self) -> MathResult<Self> {
                self.checked_add(rhs).ok_or_else(|| MathError::new(MathErrorKind::Overflow))
            }
            #[track_caller]
            #[inline(always)]
            fn safe_sub(self, rhs: Self) -> MathResult<Self> {
                self.checked_sub(rhs).ok_or_else(|| MathError::new(MathErrorKind::Overflow))
            }
            #[track_caller]
            #[inline(always)]
            fn safe_mul(self, rhs: Self) -> MathResult<Self> {
                if let Some(p) = self.fast_mul(rhs) {
                    return Ok(p);
                }
                self.checked_mul(rhs).ok_or_else(|| MathError::new(MathErrorKind::Overflow))
            }
            #[track_caller]
            #[inline(always)]
            fn safe_div(self, rhs: Self) -> MathResult<Self> {
                if rhs == <$t>::ZERO {
                    return Err(MathError::new(MathErrorKind::DivisionByZero));
                }
                if let Some(q) = self.fast_div(rhs) {
                    return Ok(q);
                }
                self.checked_div(rhs).ok_or_else(|| MathError::new(MathErrorKind::Overflow))
            }
        }
    )*};
}

// `ZERO` is an associated const on fixed types; integers get it from this small shim.
trait Zero {
    const ZERO: Self;
}
macro_rules! impl_zero {
    ($($t:ty),*) => {$( impl Zero for $t { const ZERO: Self = 0; } )*};
}
impl_zero!(u64, u128, i64, i128);

/// Exact shortcuts tried before the checked operations; `None` falls through to them. Only I80F48 has any.
trait FastPath: Sized {
    #[inline(always)]
    fn fast_mul(self, _rhs: Self) -> Option<Self> {
        None
    }
    #[inline(always)]
    fn fast_div(self, _rhs: Self) -> Option<Self> {
        None
    }
}
impl FastPath for u64 {}
impl FastPath for u128 {}
impl FastPath for i64 {}
impl FastPath for i128 {}

/// I80F48's 48 fraction bits.
const FRACTION_MASK: i128 = (1 << 48) - 1;

impl FastPath for I80F48 {
    /// When both raw values fit in 64 bits (|x| < 2^15, which covers pricing's coefficients, probabilities and
    /// d-values) the exact product fits in i128, and one arithmetic shift gives the `fixed` crate's floor-rounded
    /// result bit for bit, without its 256-bit multiply (software on SBF, and the bulk of a market refresh's
    /// compute units).
    ///
    /// (An exact shortcut for an integer factor, tried when the other fits, made the vault's and the venue's trade
    /// paths cheaper but a market refresh ~6k compute units dearer on SBF, inlined or not: measured and left out.)
    #[inline(always)]
    fn fast_mul(self, rhs: Self) -> Option<Self> {
        let (a, b) = (i64::try_from(self.to_bits()).ok()?, i64::try_from(rhs.to_bits()).ok()?);
        Some(I80F48::from_bits((i128::from(a) * i128::from(b)) >> 48))
    }
    /// The quotient's bits are (a << 48) / b, truncated toward zero as `fixed` does. Two exact shortcuts, both plain
    /// i128 division without `fixed`'s 256-bit one:
    /// - an integer divisor n (b's fraction bits are zero, b = n << 48): (a << 48) / (n << 48) is a / n as
    ///   rationals, so a / n truncates alike (token amounts over share counts, values over bps or lot sizes, Pyth
    ///   mantissas over powers of ten). Only i128::MIN / -1 overflows, and falls through to `fixed`, which refuses it;
    /// - |self| < 2^31: the dividend shifted into place fits in i128 and so does the quotient;
    /// - otherwise a divisor below 2^32 (raw below 2^80): schoolbook division in two 128-bit steps on the magnitudes,
    ///   q = |a| / |b| and r = |a| % |b|, then the fraction (r << 48) / |b| (r < |b| keeps it in range): the quotient
    ///   is q.(that fraction), the truncation of (|a| << 48) / |b|, so the same bits once signed. This is what the
    ///   mandate's ratios of token amounts to NAV take (measured on SBF: ~0.4k compute units instead of ~1k).
    ///
    /// (A test of the fraction bits, not `trailing_zeros`, which has no instruction on SBF: a general version over
    /// any number of zero low bits cost a market refresh ~1.4k compute units more.) The caller has excluded a zero
    /// rhs.
    #[inline(always)]
    fn fast_div(self, rhs: Self) -> Option<Self> {
        let (a, b) = (self.to_bits(), rhs.to_bits());
        if b & FRACTION_MASK == 0 {
            return a.checked_div(b >> 48).map(I80F48::from_bits);
        }
        if a.unsigned_abs() < (1u128 << 79) {
            return Some(I80F48::from_bits((a << 48) / b));
        }
        let (n, d) = (a.unsigned_abs(), b.unsigned_abs());
        if d >= 1 << 80 {
            return None;
        }
        let (q, r) = (n / d, n % d);
        // q below 2^79 keeps the magnitude below 2^127, which either sign can hold; larger is `fixed`'s to refuse.
        if q >= 1 << 79 {
            return None;
        }
        let magnitude = i128::try_from((q << 48) | ((r << 48) / d)).ok()?;
        Some(I80F48::from_bits(if (a < 0) == (b < 0) { magnitude } else { -magnitude }))
    }
}

impl_safe_math!(I80F48, u64, u128, i64, i128);

/// `a.safe_mul(b)`, bit for bit and error for error, cheaper when both operands are non-negative: their product
/// is one unsigned 128-bit product of the raw bits and a floor shift, which is what `fixed` computes, whenever it fits
/// 128 bits (a·b < 2^32), not only when both raw values fit 64 bits as `safe_mul`'s fast path needs. Pricing's
/// non-negative products leave that fast path: Hart's partial sums pass 2^15 for |x| > ~3 (they reach ~9.4e5), and
/// a spot above 2^15 (BTC) times a probability; `fixed`'s 256-bit multiply is software on SBF. Two 64-bit factors
/// need no overflow check; unsigned because SBF has no signed 128-bit overflow helper. Anything else (a negative
/// operand, a larger product) is `safe_mul`.
#[track_caller]
#[inline(always)]
pub(crate) fn safe_mul_nonneg(a: I80F48, b: I80F48) -> MathResult<I80F48> {
    if let (Ok(x), Ok(y)) = (u128::try_from(a.to_bits()), u128::try_from(b.to_bits())) {
        let product = match (u64::try_from(x), u64::try_from(y)) {
            (Ok(x), Ok(y)) => Some(u128::from(x) * u128::from(y)),
            _ => x.checked_mul(y),
        };
        if let Some(bits) = product.and_then(|p| i128::try_from(p >> 48).ok()) {
            return Ok(I80F48::from_bits(bits));
        }
    }
    safe_mul_out_of_line(a, b)
}

/// `qty.safe_mul(x)`, bit for bit and error for error, cheaper when `qty` is a whole number, as a position's token
/// quantity is whenever the collateral has at least `SIZE_DECIMALS` decimals: qty = n·2^48 raw, so the product is
/// exactly n times x's raw bits and `fixed`'s floor shift drops nothing. That product is made by [`QtyFactor::mul`]
/// (native 64-bit multiplies below 2^32 units, one 128-bit product above; SBF has no 128-bit multiply instruction
/// and no signed 128-bit overflow helper) instead of `fixed`'s 256-bit one. The margin and risk sums multiply every
/// position's quantity by its mark and by each of its scenarios, twice per position in a rebalance's validation.
/// A fractional quantity, or a product outside 128 bits or outside I80F48, is `safe_mul`.
#[track_caller]
#[inline(always)]
pub fn safe_mul_qty(qty: I80F48, x: I80F48) -> MathResult<I80F48> {
    QtyFactor::new(qty).mul(x)
}

/// `a.safe_mul(b)`, bit for bit and error for error, cheaper when `b` is small (raw below 2^64, i.e. |b| < 2^16) and
/// `a` is not: a token amount times a fraction, such as a short option's notional times the margin floor's fraction,
/// where `safe_mul`'s fast path (both raw values below 2^64) misses and `fixed` multiplies in 256 bits. Here |a|'s two
/// 64-bit halves times |b| are two 128-bit products (P = hi·2^64 + lo), the quotient by 2^48 is hi·2^16 + lo/2^48,
/// and a negative product rounds toward minus infinity as `fixed` does: the magnitude's quotient plus one when
/// anything was dropped.
#[track_caller]
#[inline(always)]
pub fn safe_mul_small(a: I80F48, b: I80F48) -> MathResult<I80F48> {
    let (x, y) = (a.to_bits(), b.to_bits());
    if let Ok(y_mag) = u64::try_from(y.unsigned_abs()) {
        let x_mag = x.unsigned_abs();
        let (lo, hi) = ((x_mag & u128::from(u64::MAX)) * u128::from(y_mag), (x_mag >> 64) * u128::from(y_mag));
        if hi >> 112 == 0 {
            let frac_mask = (1u128 << 48) - 1;
            let q = (hi << 16).checked_add(lo >> 48);
            let bits = if (x < 0) == (y < 0) {
                q.and_then(|q| i128::try_from(q).ok())
            } else {
                q.and_then(|q| q.checked_add(u128::from(lo & frac_mask != 0)))
                    .and_then(|m| 0i128.checked_sub_unsigned(m))
            };
            return bits.map(I80F48::from_bits).ok_or_else(|| MathError::new(MathErrorKind::Overflow));
        }
    }
    safe_mul_out_of_line(a, b)
}

/// A quantity prepared once for many products: [`safe_mul_qty`]'s checks on it (whole? below 2^64 units? its sign)
/// made once instead of per product. A book's scenario sums multiply each position's quantity by each of its
/// scenarios (14 products per position, twice per position in a rebalance's validation), and its greeks in lots
/// multiply the size by three greeks.
#[derive(Clone, Copy, Debug)]
pub struct QtyFactor {
    qty: I80F48,
    /// The quantity's magnitude in whole units when whole and below 2^64, with its sign (true: negative).
    whole: Option<(u64, bool)>,
}

impl QtyFactor {
    /// `qty`, with its checks made.
    #[inline(always)]
    pub fn new(qty: I80F48) -> Self {
        let q = qty.to_bits();
        let whole = (q & FRACTION_MASK == 0).then(|| (q >> 48).unsigned_abs());
        Self { qty, whole: whole.and_then(|n| u64::try_from(n).ok()).map(|n| (n, q < 0)) }
    }

    /// `qty.safe_mul(x)`, bit for bit and error for error (see [`safe_mul_qty`]). A whole quantity n times x is n
    /// times x's raw bits exactly. Below 2^32 units with |x| below 2^64 raw, the product is below 2^96 and fits i128
    /// with either sign: two native 64-bit multiplies of x's 32-bit halves, and no check at all.
    #[track_caller]
    #[inline(always)]
    pub fn mul(&self, x: I80F48) -> MathResult<I80F48> {
        if let Some((n, negative)) = self.whole {
            let b = x.to_bits();
            if let (Ok(a), true) = (u64::try_from(b.unsigned_abs()), n >> 32 == 0) {
                // The bound restated where the compiler sees it, so the overflow checks of these products (a 128-bit
                // software multiply each on SBF) fold away, as no product can overflow.
                let n = n & 0xffff_ffff;
                let m = (i128::from((a >> 32) * n) << 32) + i128::from((a & 0xffff_ffff) * n);
                return Ok(I80F48::from_bits(if negative != (b < 0) { -m } else { m }));
            }
        }
        self.mul_wide(x)
    }

    /// [`QtyFactor::mul`] past its native path: a whole quantity of 2^32 units or more, or a factor of 2^64 raw or
    /// more, as one 128-bit product with its checks; anything else (a fractional quantity, a product outside I80F48)
    /// by the general multiply. Out of line: inlined, it grew every product's call site (measured on SBF in a
    /// 16-position rebalance: its venue trade 50.8k -> 53.3k units, the vault's own part 91.9k -> 94.3k).
    #[track_caller]
    #[cold]
    #[inline(never)]
    fn mul_wide(&self, x: I80F48) -> MathResult<I80F48> {
        if let Some((n, negative)) = self.whole {
            let (b, flip) = (x.to_bits(), negative != (x < 0));
            let m = mul_u128_u64(b.unsigned_abs(), n);
            let bits = m.and_then(|m| if flip { 0i128.checked_sub_unsigned(m) } else { i128::try_from(m).ok() });
            if let Some(bits) = bits {
                return Ok(I80F48::from_bits(bits));
            }
        }
        safe_mul_out_of_line(self.qty, x)
    }
}

/// a x b, or None when it does not fit 128 bits: the high and low halves of `a` times `b`, each a 64 x 64-bit
/// product that cannot overflow. An `a` below 2^64 (a per-unit price or scenario P&L below 2^16 quote units, i.e.
/// nearly all of them) is one multiply: each is a software call on SBF (a `b` below 2^32 with such an `a` takes
/// [`QtyFactor::mul`]'s native path before this).
#[inline(always)]
fn mul_u128_u64(a: u128, b: u64) -> Option<u128> {
    const LOW: u128 = u64::MAX as u128;
    if let Ok(a) = u64::try_from(a) {
        return Some(u128::from(a) * u128::from(b));
    }
    let low = (a & LOW) * u128::from(b);
    let high = u64::try_from((a >> 64) * u128::from(b)).ok()?;
    (u128::from(high) << 64).checked_add(low)
}

/// `safe_mul` as a call: inlined into every non-negative multiply, its 256-bit path cost a market refresh ~6k
/// compute units on SBF (measured), though pricing never takes it.
#[track_caller]
#[cold]
#[inline(never)]
fn safe_mul_out_of_line(a: I80F48, b: I80F48) -> MathResult<I80F48> {
    a.safe_mul(b)
}

/// Converts between integer widths without silent truncation.
pub trait SafeCast<T> {
    fn safe_cast(self) -> MathResult<T>;
}

macro_rules! impl_safe_cast {
    ($from:ty => $($to:ty),*) => {$(
        impl SafeCast<$to> for $from {
            #[track_caller]
            #[inline(always)]
            fn safe_cast(self) -> MathResult<$to> {
                <$to>::try_from(self).map_err(|_| MathError::new(MathErrorKind::Overflow))
            }
        }
    )*};
}
impl_safe_cast!(u128 => u64, i128, i64);
impl_safe_cast!(i128 => u64, i64, u128);
impl_safe_cast!(u64 => i64);
impl_safe_cast!(i64 => u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_give_the_fixed_crates_bits() {
        // A deterministic spread of magnitudes and signs on both sides of each fast path's bound.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let wide = |r: u64, s: u64| ((i128::from(r) << 64 | i128::from(s)) >> (r % 127)).max(i128::MIN + 1);
            let (a, b) = (I80F48::from_bits(wide(next(), next())), I80F48::from_bits(wide(next(), next())));
            assert_eq!(a.safe_mul(b).ok(), a.checked_mul(b), "{a:?} x {b:?}");
            if b != I80F48::ZERO {
                assert_eq!(a.safe_div(b).ok(), a.checked_div(b), "{a:?} / {b:?}");
            }
            // A whole-number quantity's path, and its fall-back, give the same; so does a fractional one.
            let whole = I80F48::from_bits(a.to_bits() & !FRACTION_MASK);
            assert_eq!(safe_mul_qty(whole, b).ok(), whole.checked_mul(b), "{whole:?} x= {b:?}");
            assert_eq!(safe_mul_qty(a, b).ok(), a.checked_mul(b), "{a:?} x= {b:?}");
            assert_eq!(QtyFactor::new(whole).mul(b).ok(), whole.checked_mul(b), "{whole:?} xf {b:?}");
            assert_eq!(QtyFactor::new(a).mul(b).ok(), a.checked_mul(b), "{a:?} xf {b:?}");
            // Token quantities (up to 10^12 units) times marks and scenario P&Ls of either sign.
            let units = i64::try_from(next() % 1_000_000_000_000).unwrap();
            let n = I80F48::from_num(if next() % 2 == 0 { units } else { -units });
            assert_eq!(safe_mul_qty(n, b).ok(), n.checked_mul(b), "{n:?} x= {b:?}");
            assert_eq!(QtyFactor::new(n).mul(b).ok(), n.checked_mul(b), "{n:?} xf {b:?}");
            // Quantities below 2^32 token units (a book's positions): the product by 32-bit halves.
            let small = I80F48::from_num(i64::try_from(next() >> 32).unwrap());
            let n = if next() % 2 == 0 { small } else { -small };
            assert_eq!(safe_mul_qty(n, b).ok(), n.checked_mul(b), "{n:?} x= {b:?}");
            assert_eq!(QtyFactor::new(n).mul(b).ok(), n.checked_mul(b), "{n:?} xf {b:?}");
            // A small factor times anything, both orders of magnitude and signs (and its fall-back).
            assert_eq!(safe_mul_small(a, b).ok(), a.checked_mul(b), "{a:?} xs {b:?}");
            let frac = I80F48::from_bits(b.to_bits() >> 64);
            assert_eq!(safe_mul_small(a, frac).ok(), a.checked_mul(frac), "{a:?} xs {frac:?}");
            // The unsigned path of the non-negative multiply, and its fall-back, give the same.
            assert_eq!(safe_mul_nonneg(a, b).ok(), a.checked_mul(b), "{a:?} x+ {b:?}");
            let (a, b) = (a.saturating_abs(), b.saturating_abs());
            assert_eq!(safe_mul_nonneg(a, b).ok(), a.checked_mul(b), "|{a:?}| x+ |{b:?}|");
            // Divisors with 0..=127 low zero bits: integers, powers of two and the like, where the division's fast
            // path drops the divisor's zero bits instead of shifting the dividend.
            let zeros = next() % 128;
            let c = I80F48::from_bits((b.to_bits() >> zeros) << zeros);
            if c != I80F48::ZERO {
                assert_eq!(a.safe_div(c).ok(), a.checked_div(c), "{a:?} / {c:?}");
            }
        }
        // Whole quantities at the edges: products of exactly 2^127 (i128::MIN when negative, overflow when not),
        // factors of 2^64 and beyond, zero.
        let halves = [I80F48::from_bits(1 << 126), I80F48::from_bits(-(1 << 126)), I80F48::MIN, I80F48::MAX];
        for x in halves.into_iter().chain([I80F48::ZERO, I80F48::DELTA, -I80F48::DELTA, I80F48::from_num(65_537.25)]) {
            for n in [
                0i64,
                1,
                -1,
                2,
                -2,
                3,
                (1 << 32) - 1,
                1 << 32,
                -((1 << 32) - 1),
                1 << 40,
                -(1 << 40),
                i64::MAX,
                i64::MIN,
            ] {
                let n = I80F48::from_num(n);
                assert_eq!(safe_mul_qty(n, x).ok(), n.checked_mul(x), "{n:?} x= {x:?}");
                assert_eq!(QtyFactor::new(n).mul(x).ok(), n.checked_mul(x), "{n:?} xf {x:?}");
            }
            for y in [I80F48::DELTA, -I80F48::DELTA, I80F48::from_num(0.1), I80F48::from_num(-0.35), I80F48::ONE] {
                assert_eq!(safe_mul_small(x, y).ok(), x.checked_mul(y), "{x:?} xs {y:?}");
                let top = I80F48::from_bits(i128::from(u64::MAX));
                assert_eq!(safe_mul_small(x, top).ok(), x.checked_mul(top), "{x:?} xs {top:?}");
                assert_eq!(safe_mul_small(x, -top).ok(), x.checked_mul(-top), "{x:?} xs -{top:?}");
            }
            for n in [I80F48::from_bits(1 << 112), I80F48::MIN, I80F48::from_bits(-(1 << 113))] {
                assert_eq!(safe_mul_qty(n, x).ok(), n.checked_mul(x), "{n:?} x= {x:?}");
                assert_eq!(QtyFactor::new(n).mul(x).ok(), n.checked_mul(x), "{n:?} xf {x:?}");
            }
        }
        // Ratios of token amounts (up to 10^15, fractional) to NAVs and margins of any size: the long division.
        for _ in 0..200_000 {
            let amount = |r: u64, s: u64| {
                let bits = (i128::from(r % 1_000_000_000_000_000) << 48 | i128::from(s >> 16)) >> (s % 80);
                I80F48::from_bits(if r.is_multiple_of(2) { bits } else { -bits })
            };
            let (a, b) = (amount(next(), next()), amount(next(), next()));
            if b != I80F48::ZERO {
                assert_eq!(a.safe_div(b).ok(), a.checked_div(b), "{a:?} / {b:?}");
            }
        }
        // Integer divisors of the vault's share price and Pyth's scaling, at the edges of the dividend's bound.
        let edges =
            [I80F48::MAX, I80F48::MIN, I80F48::from_bits(1 << 126), I80F48::from_bits(-(1 << 126)) - I80F48::DELTA];
        for a in edges.into_iter().chain([I80F48::from_num(123_456_789_012_345_i64), I80F48::from_num(-7)]) {
            for d in [1i64, -1, 3, 10_000, 100_000_000, 1 << 40, i64::MAX] {
                let d = I80F48::from_num(d);
                assert_eq!(a.safe_div(d).ok(), a.checked_div(d), "{a:?} / {d:?}");
            }
            // Fractional divisors either side of the long division's bounds (quotients that overflow included).
            let big = I80F48::from_bits((1 << 80) - 1);
            for d in [I80F48::from_num(1.5), I80F48::from_num(-0.75), I80F48::DELTA, big, -big, big + I80F48::DELTA] {
                assert_eq!(a.safe_div(d).ok(), a.checked_div(d), "{a:?} / {d:?}");
            }
        }
    }

    #[test]
    fn overflow_and_division_by_zero_are_errors_with_location() {
        let e = I80F48::MAX.safe_add(I80F48::ONE).unwrap_err();
        assert_eq!(e.kind, MathErrorKind::Overflow);
        assert!(e.location.file().ends_with("safe.rs"));
        assert_eq!(I80F48::ONE.safe_div(I80F48::ZERO).unwrap_err(), MathErrorKind::DivisionByZero);
        assert_eq!(u64::MAX.safe_mul(2).unwrap_err(), MathErrorKind::Overflow);
        assert_eq!(0u64.safe_sub(1).unwrap_err(), MathErrorKind::Overflow);
        assert_eq!(1u64.safe_div(0).unwrap_err(), MathErrorKind::DivisionByZero);
        assert_eq!(i128::MIN.safe_div(-1).unwrap_err(), MathErrorKind::Overflow);
        let c: MathResult<u64> = (u64::MAX as u128 + 1).safe_cast();
        assert_eq!(c.unwrap_err(), MathErrorKind::Overflow);
    }

    #[test]
    fn in_range_arithmetic_is_exact() {
        let a = I80F48::from_num(3);
        let b = I80F48::from_num(4);
        assert_eq!(a.safe_mul(b).unwrap(), I80F48::from_num(12));
        assert_eq!(b.safe_sub(a).unwrap(), I80F48::ONE);
        assert_eq!(7u64.safe_div(2).unwrap(), 3);
    }
}
