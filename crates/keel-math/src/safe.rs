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
                self.checked_mul(rhs).ok_or_else(|| MathError::new(MathErrorKind::Overflow))
            }
            #[track_caller]
            #[inline(always)]
            fn safe_div(self, rhs: Self) -> MathResult<Self> {
                if rhs == <$t>::ZERO {
                    return Err(MathError::new(MathErrorKind::DivisionByZero));
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

impl_safe_math!(I80F48, u64, u128, i64, i128);

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
