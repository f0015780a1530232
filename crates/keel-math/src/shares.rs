//! Share accounting with a virtual offset and rounding that always favours the pool (ERC-4626 style).
//!
//! Price per share is (assets + VA) / (shares + VS). The virtual shares VS make the first depositor's share price
//! tiny, so an attacker must donate about VS times a victim's deposit to round that deposit down to zero shares;
//! the virtual assets VA make the empty pool well defined. Which direction each conversion rounds is in its name:
//!
//! | operation | function | rounds |
//! |---|---|---|
//! | deposit `amount`, mint shares | [`ShareMath::amount_to_shares_floor`] | down: fewer shares to the user |
//! | redeem `shares`, pay amount | [`ShareMath::shares_to_amount_floor`] | down: less paid out |
//! | mint exactly `shares`, charge amount | [`ShareMath::shares_to_amount_ceil`] | up: more charged |
//! | withdraw exactly `amount`, burn shares | [`ShareMath::amount_to_shares_ceil`] | up: more burnt |
//!
//! Consequence (property-tested): no sequence of these operations lowers the price per share, so no round trip
//! extracts value from the other holders.
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::safe::{SafeCast, SafeMath};

/// Virtual offset of a share pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareMath {
    pub virtual_shares: u64,
    pub virtual_assets: u64,
}

impl ShareMath {
    /// Keel's default: 10^3 virtual shares per virtual base unit of collateral. A 6-decimal collateral gives
    /// 9-decimal shares and a u64 share supply covers 1.8e10 collateral units of TVL.
    pub const DEFAULT: ShareMath = ShareMath { virtual_shares: 1_000, virtual_assets: 1 };

    fn totals(&self, total_assets: u64, total_shares: u64) -> MathResult<(u128, u128)> {
        let a = u128::from(total_assets).safe_add(u128::from(self.virtual_assets))?;
        let s = u128::from(total_shares).safe_add(u128::from(self.virtual_shares))?;
        if a == 0 || s == 0 {
            return Err(MathError::new(MathErrorKind::DivisionByZero));
        }
        Ok((a, s))
    }

    /// Shares minted for depositing `amount` (rounded down).
    #[track_caller]
    pub fn amount_to_shares_floor(&self, amount: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (a, s) = self.totals(total_assets, total_shares)?;
        mul_div_floor(u128::from(amount), s, a)
    }

    /// Shares to burn to withdraw exactly `amount` (rounded up).
    #[track_caller]
    pub fn amount_to_shares_ceil(&self, amount: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (a, s) = self.totals(total_assets, total_shares)?;
        mul_div_ceil(u128::from(amount), s, a)
    }

    /// Amount paid for redeeming `shares` (rounded down).
    #[track_caller]
    pub fn shares_to_amount_floor(&self, shares: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (a, s) = self.totals(total_assets, total_shares)?;
        mul_div_floor(u128::from(shares), a, s)
    }

    /// Amount charged to mint exactly `shares` (rounded up).
    #[track_caller]
    pub fn shares_to_amount_ceil(&self, shares: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (a, s) = self.totals(total_assets, total_shares)?;
        mul_div_ceil(u128::from(shares), a, s)
    }

    /// The most (token units, rounded up) that redeeming `shares` of `total_shares` against `total_assets` pays
    /// below exact pro rata, shares x assets / total. Two parts: the floor (under one unit) and the virtual
    /// offset's cut, shares x (VS x assets - VA x total) / (total x (total + VS)) when positive, which is under one
    /// unit while a share is worth less than 2 VA / VS. Errors on an empty pool or a u128 overflow.
    /// Property-tested in tests/shares.rs; the demo audits every redemption it makes against it.
    pub fn redeem_shortfall_bound_ceil(&self, shares: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let offset = self.offset_cut_ceil(shares, total_assets, total_shares)?;
        offset.safe_add(1)
    }

    /// The most (token units, rounded up) that depositing `amount` into a pool of `total_assets` and
    /// `total_shares` gives up against exact pro rata (amount x total / assets shares): the floor, under one
    /// share's worth (assets / total), plus the virtual offset's cut, amount x (VA x total - VS x assets) /
    /// ((assets + VA) x total) when positive (it is negative, a gain, once a share is worth more than VA / VS).
    pub fn deposit_shortfall_bound_ceil(&self, amount: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (n, t) = (u128::from(total_assets), u128::from(total_shares));
        if n == 0 || t == 0 {
            return Err(MathError::new(MathErrorKind::DivisionByZero));
        }
        let (va, vs) = (u128::from(self.virtual_assets), u128::from(self.virtual_shares));
        let floor_cut = mul_div_ceil(n, 1, t)?;
        let (gain, loss) = (vs.safe_mul(n)?, va.safe_mul(t)?);
        let offset =
            if loss > gain { mul_div_ceil(u128::from(amount), loss - gain, n.safe_add(va)?.safe_mul(t)?)? } else { 0 };
        floor_cut.safe_add(offset)
    }

    fn offset_cut_ceil(&self, shares: u64, total_assets: u64, total_shares: u64) -> MathResult<u64> {
        let (n, t) = (u128::from(total_assets), u128::from(total_shares));
        if t == 0 {
            return Err(MathError::new(MathErrorKind::DivisionByZero));
        }
        let (va, vs) = (u128::from(self.virtual_assets), u128::from(self.virtual_shares));
        let (over, under) = (vs.safe_mul(n)?, va.safe_mul(t)?);
        if over <= under {
            return Ok(0);
        }
        mul_div_ceil(u128::from(shares), over - under, t.safe_mul(t.safe_add(vs)?)?)
    }
}

/// floor(x * y / d) with a u128 intermediate; errors if the product or the result overflows.
#[track_caller]
pub fn mul_div_floor(x: u128, y: u128, d: u128) -> MathResult<u64> {
    x.safe_mul(y)?.safe_div(d)?.safe_cast()
}

/// ceil(x * y / d) with a u128 intermediate.
#[track_caller]
pub fn mul_div_ceil(x: u128, y: u128, d: u128) -> MathResult<u64> {
    let p = x.safe_mul(y)?;
    let q = p.safe_div(d)?;
    let q = if q.safe_mul(d)? < p { q.safe_add(1)? } else { q };
    q.safe_cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: ShareMath = ShareMath::DEFAULT;

    #[test]
    fn first_deposit_and_directed_rounding() {
        // Empty pool: 1 unit of collateral buys VS/VA = 1000 shares.
        assert_eq!(M.amount_to_shares_floor(1_000_000, 0, 0).unwrap(), 1_000_000_000);
        // Pool with 3 assets and 2000 shares: price (3+1)/(2000+1000) per share.
        assert_eq!(M.amount_to_shares_floor(1, 3, 2000).unwrap(), 750);
        assert_eq!(M.shares_to_amount_floor(1000, 3, 2000).unwrap(), 1); // 1.333 -> 1
        assert_eq!(M.shares_to_amount_ceil(1000, 3, 2000).unwrap(), 2); // 1.333 -> 2
        assert_eq!(M.amount_to_shares_ceil(1, 2, 1000).unwrap(), 667); // 666.67 -> 667
        assert_eq!(M.amount_to_shares_floor(1, 2, 1000).unwrap(), 666);
        // Exact division rounds neither way.
        assert_eq!(M.shares_to_amount_ceil(2000, 2, 2000).unwrap(), 2);
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(M.amount_to_shares_floor(u64::MAX, 0, 0).unwrap_err(), MathErrorKind::Overflow);
        let zero = ShareMath { virtual_shares: 0, virtual_assets: 0 };
        assert_eq!(zero.amount_to_shares_floor(1, 0, 0).unwrap_err(), MathErrorKind::DivisionByZero);
        assert_eq!(mul_div_ceil(u128::MAX, 2, 1).unwrap_err(), MathErrorKind::Overflow);
    }

    #[test]
    fn donation_attack_costs_the_attacker_far_more_than_the_victim_loses() {
        // Attacker deposits 1 unit (1000 shares), then donates 1000 USDC straight into the pool's assets.
        let attacker_in = 1u64;
        let attacker_shares = M.amount_to_shares_floor(attacker_in, 0, 0).unwrap();
        let donation = 1_000_000_000u64;
        let assets = attacker_in + donation;
        // Victim deposits 1 USDC: it is not rounded to zero shares.
        let victim_in = 1_000_000u64;
        let victim_shares = M.amount_to_shares_floor(victim_in, assets, attacker_shares).unwrap();
        assert!(victim_shares > 0);
        let (assets, shares) = (assets + victim_in, attacker_shares + victim_shares);
        let victim_out = M.shares_to_amount_floor(victim_shares, assets, shares).unwrap();
        let attacker_out = M.shares_to_amount_floor(attacker_shares, assets, shares).unwrap();
        let victim_loss = victim_in - victim_out;
        let attacker_loss = (attacker_in + donation) - attacker_out;
        // The virtual shares absorb most of the donation: the attack burns ~1000x what it takes.
        assert!(attacker_loss > 900 * victim_loss, "attacker lost {attacker_loss}, victim {victim_loss}");
    }
}
