//! Raw SVI total implied variance (Gatheral 2004): w(k) = a + b (ρ (k - m) + sqrt((k - m)² + σ²)),
//! with k = ln(K/F) the log-forward-moneyness and w = σ_imp² T.
//!
//! Validity (all checked by [`SviRaw::validate`]): b >= 0, |ρ| < 1, σ > 0, and the minimum of w,
//! a + b σ sqrt(1 - ρ²), is >= 0. No butterfly arbitrage means Gatheral's density factor
//! g(k) = (1 - k w'/(2w))² - (w'²/4)(1/w + 1/4) + w''/2 is >= 0; [`SviRaw::is_butterfly_free`] checks it on a grid.
use crate::elementary::{hypot, sqrt};
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::SafeMath;
use fixed::types::I80F48;

/// Raw SVI parameters of one expiry slice.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct SviRaw {
    pub a: I80F48,
    pub b: I80F48,
    pub rho: I80F48,
    pub m: I80F48,
    pub sigma: I80F48,
}

// Literals are parsed at compile time in consts: a runtime `lit` parses the string on every call.
const QUARTER: I80F48 = I80F48::lit("0.25");

impl SviRaw {
    /// Checks the parameter constraints; `InvalidParameter` if any fails.
    #[track_caller]
    pub fn validate(&self) -> MathResult<()> {
        let bad = || MathError::new(MathErrorKind::InvalidParameter);
        if self.b < I80F48::ZERO || self.rho.saturating_abs() >= I80F48::ONE || self.sigma <= I80F48::ZERO {
            return Err(bad());
        }
        if self.min_total_variance()? < I80F48::ZERO {
            return Err(bad());
        }
        Ok(())
    }

    /// Minimum of w over k: a + b σ sqrt(1 - ρ²).
    #[track_caller]
    pub fn min_total_variance(&self) -> MathResult<I80F48> {
        let one_minus_rho2 = I80F48::ONE.safe_sub(self.rho.safe_mul(self.rho)?)?;
        self.a.safe_add(self.b.safe_mul(self.sigma)?.safe_mul(sqrt(one_minus_rho2)?)?)
    }

    /// Total implied variance w(k).
    #[track_caller]
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn total_variance(&self, k: I80F48) -> MathResult<I80F48> {
        let x = k.safe_sub(self.m)?;
        let root = hypot(x, self.sigma)?;
        self.a.safe_add(self.b.safe_mul(self.rho.safe_mul(x)?.safe_add(root)?)?)
    }

    /// Implied volatility sqrt(w(k) / t) for t > 0 years.
    #[track_caller]
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn implied_vol(&self, k: I80F48, t: I80F48) -> MathResult<I80F48> {
        if t <= I80F48::ZERO {
            return Err(MathError::new(MathErrorKind::OutOfDomain));
        }
        let w = self.total_variance(k)?;
        if w < I80F48::ZERO {
            return Err(MathError::new(MathErrorKind::InvalidParameter));
        }
        sqrt(w.safe_div(t)?)
    }

    /// Gatheral's g(k); the slice is free of butterfly arbitrage where g >= 0. Requires w(k) > 0.
    #[track_caller]
    pub fn density_factor(&self, k: I80F48) -> MathResult<I80F48> {
        let x = k.safe_sub(self.m)?;
        let s2 = self.sigma.safe_mul(self.sigma)?;
        let q = x.safe_mul(x)?.safe_add(s2)?; // (k-m)² + σ²
        let root = sqrt(q)?;
        let w = self.a.safe_add(self.b.safe_mul(self.rho.safe_mul(x)?.safe_add(root)?)?)?;
        if w <= I80F48::ZERO {
            return Err(MathError::new(MathErrorKind::InvalidParameter));
        }
        let w1 = self.b.safe_mul(self.rho.safe_add(x.safe_div(root)?)?)?;
        let w2 = self.b.safe_mul(s2)?.safe_div(q.safe_mul(root)?)?;
        let two = I80F48::from_num(2);
        let four = I80F48::from_num(4);
        let t1 = I80F48::ONE.safe_sub(k.safe_mul(w1)?.safe_div(two.safe_mul(w)?)?)?;
        let t2 = w1.safe_mul(w1)?.safe_div(four)?.safe_mul(I80F48::ONE.safe_div(w)?.safe_add(QUARTER)?)?;
        t1.safe_mul(t1)?.safe_sub(t2)?.safe_add(w2.safe_div(two)?)
    }

    /// True when the parameters are valid and g(k) >= 0 at every grid point.
    #[track_caller]
    pub fn is_butterfly_free(&self, grid: &[I80F48]) -> MathResult<bool> {
        self.validate()?;
        for k in grid {
            match self.density_factor(*k) {
                Ok(g) if g >= I80F48::ZERO => {}
                Ok(_) => return Ok(false),
                Err(e) if e.kind == MathErrorKind::InvalidParameter => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> I80F48 {
        I80F48::lit(s)
    }

    fn sample() -> SviRaw {
        // A typical equity-index-like slice (T = 1): 20%-ish ATM vol with a negative skew.
        SviRaw { a: lit("0.04"), b: lit("0.1"), rho: lit("-0.4"), m: lit("0.1"), sigma: lit("0.2") }
    }

    #[test]
    fn total_variance_matches_closed_form() {
        let s = sample();
        // At k = m: w = a + b σ = 0.04 + 0.02.
        assert!((s.total_variance(lit("0.1")).unwrap() - lit("0.06")).abs() <= I80F48::DELTA * 4);
        let iv = s.implied_vol(lit("0.1"), lit("1")).unwrap();
        assert!((iv - lit("0.2449489742783178")).abs() < lit("0.000000000001"));
        assert!(s.is_butterfly_free(&[lit("-1"), lit("0"), lit("1")]).unwrap());
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let s = sample();
        assert!(SviRaw { b: lit("-0.1"), ..s }.validate().is_err());
        assert!(SviRaw { rho: lit("1"), ..s }.validate().is_err());
        assert!(SviRaw { sigma: I80F48::ZERO, ..s }.validate().is_err());
        // a so negative that w dips below zero.
        assert!(SviRaw { a: lit("-0.5"), ..s }.validate().is_err());
        assert_eq!(s.implied_vol(I80F48::ZERO, I80F48::ZERO).unwrap_err(), MathErrorKind::OutOfDomain);
    }

    #[test]
    fn butterfly_arbitrage_is_detected() {
        // Wings steeper than Lee's moment bound (b(1+|rho|) = 2.5 > 2): valid parameters, yet g(k) < 0 at |k| ~ 1.
        let arb = SviRaw { a: lit("0.001"), b: lit("2.5"), rho: lit("0.0"), m: lit("0"), sigma: lit("0.01") };
        arb.validate().unwrap();
        let grid: Vec<I80F48> = (-20..=20).map(|i| I80F48::from_num(i) / 20).collect();
        assert!(!arb.is_butterfly_free(&grid).unwrap());
    }
}
