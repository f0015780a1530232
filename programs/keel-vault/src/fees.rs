//! Fee accrual, run before every share price is used. Management fee: continuous, `management_fee_bps` per year
//! of NAV, taken by minting shares worth that fraction (f / (1 - f) of supply). Performance fee: a share of the
//! gain in NAV per share above the high-water mark, also as minted shares. Fee shares are counted in
//! `total_shares` at once (they dilute from accrual) and minted to the recipient on `claim_fees`; both round down.
use crate::error::VaultError;
use crate::state::Vault;
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::SafeMath;

const SECONDS_PER_YEAR: i64 = 365 * 86_400;

fn m(e: keel_math::MathError) -> Error {
    error!(VaultError::from(e))
}

/// Accrues fees at the lower NAV, the venue holdings being worth `holdings_lower` (tokens) at the lower bound (what
/// every share-pricing instruction does first); returns that NAV.
pub fn accrue_at_lower_nav(vault: &mut Vault, holdings_lower: I80F48, now: i64) -> Result<u64> {
    let nav = crate::portfolio::nav_rounded(vault, holdings_lower, keel_math::margin::Bound::Lower)?;
    accrue(vault, nav, now)?;
    Ok(nav)
}

/// NAV per share with the share virtual offset (the price ShareMath uses).
pub fn price_per_share(nav: u64, total_shares: u64) -> Result<I80F48> {
    let sm = Vault::SHARE_MATH;
    let a = I80F48::from_num(nav).safe_add(I80F48::from_num(sm.virtual_assets)).map_err(m)?;
    let s = I80F48::from_num(total_shares).safe_add(I80F48::from_num(sm.virtual_shares)).map_err(m)?;
    a.safe_div(s).map_err(m)
}

/// Accrues both fees against `nav` (lower bound, tokens) at `now`. Returns (management, performance) shares.
pub fn accrue(vault: &mut Vault, nav: u64, now: i64) -> Result<(u64, u64)> {
    // At most a year per accrual: any interaction accrues, and this keeps f <= 5% so the formula stays sane.
    let dt = now.saturating_sub(vault.last_fee_ts).clamp(0, SECONDS_PER_YEAR);
    vault.last_fee_ts = vault.last_fee_ts.max(now);
    let total = I80F48::from_num(vault.total_shares);
    // Management: f = bps/1e4 x dt/year; shares = total x f / (1 - f).
    let mut mgmt = 0u64;
    if dt > 0 && vault.config.management_fee_bps > 0 && vault.total_shares > 0 {
        let f = I80F48::from_num(vault.config.management_fee_bps)
            .safe_mul(I80F48::from_num(dt))
            .and_then(|x| x.safe_div(I80F48::from_num(10_000i64 * SECONDS_PER_YEAR)))
            .map_err(m)?;
        let shares = total.safe_mul(f).and_then(|x| x.safe_div(I80F48::ONE.safe_sub(f)?)).map_err(m)?;
        mgmt = shares.floor().checked_to_num().ok_or(VaultError::MathOverflow)?;
    }
    let after_mgmt = vault.total_shares.checked_add(mgmt).ok_or(VaultError::MathOverflow)?;
    // Performance: over the high-water mark of NAV per share.
    let pps = price_per_share(nav, after_mgmt)?;
    let hwm = vault.high_water_mark.fx();
    let mut perf = 0u64;
    if hwm > I80F48::ZERO && pps > hwm && vault.config.performance_fee_bps > 0 && after_mgmt > 0 {
        let supply =
            I80F48::from_num(after_mgmt).safe_add(I80F48::from_num(Vault::SHARE_MATH.virtual_shares)).map_err(m)?;
        let fee_value = pps
            .safe_sub(hwm)
            .and_then(|g| g.safe_mul(supply))
            .and_then(|g| g.safe_mul(I80F48::from_num(vault.config.performance_fee_bps)))
            .and_then(|g| g.safe_div(I80F48::from_num(10_000)))
            .map_err(m)?;
        let assets = I80F48::from_num(nav).safe_add(I80F48::from_num(Vault::SHARE_MATH.virtual_assets)).map_err(m)?;
        let shares = fee_value.safe_mul(supply).and_then(|x| x.safe_div(assets.safe_sub(fee_value)?)).map_err(m)?;
        perf = shares.floor().checked_to_num().ok_or(VaultError::MathOverflow)?;
    }
    let minted = mgmt.checked_add(perf).ok_or(VaultError::MathOverflow)?;
    vault.total_shares = vault.total_shares.checked_add(minted).ok_or(VaultError::MathOverflow)?;
    vault.unminted_fee_shares = vault.unminted_fee_shares.checked_add(minted).ok_or(VaultError::MathOverflow)?;
    // The mark only ratchets up.
    let pps_after = price_per_share(nav, vault.total_shares)?;
    if pps_after > hwm {
        vault.high_water_mark = pps_after.into();
    }
    Ok((mgmt, perf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(total_shares: u64, management_fee_bps: u16, performance_fee_bps: u16) -> Vault {
        let mut v: Vault = bytemuck::Zeroable::zeroed();
        v.total_shares = total_shares;
        v.config.management_fee_bps = management_fee_bps;
        v.config.performance_fee_bps = performance_fee_bps;
        v
    }

    #[test]
    fn management_fee_is_f_over_one_minus_f_of_supply() {
        // 2% for a full year on 1e12 shares: 1e12 x 0.02 / 0.98 = 20,408,163,265.3 -> floor.
        let mut v = vault(1_000_000_000_000, 200, 0);
        let (m, p) = accrue(&mut v, 1_000_000_000, SECONDS_PER_YEAR).unwrap();
        assert_eq!((m, p), (20_408_163_265, 0));
        assert_eq!(v.total_shares, 1_020_408_163_265);
        // Ten idle years still accrue at most one year's fee (no runaway dilution).
        let mut v = vault(1_000_000_000_000, 200, 0);
        assert_eq!(accrue(&mut v, 1_000_000_000, 10 * SECONDS_PER_YEAR).unwrap().0, 20_408_163_265);
    }

    #[test]
    fn performance_fee_only_above_the_high_water_mark() {
        let mut v = vault(1_000_000_000_000, 0, 1000);
        // First accrual sets the mark; no fee.
        assert_eq!(accrue(&mut v, 1_000_000_000, 0).unwrap(), (0, 0));
        // NAV falls, then recovers to the mark: still no fee.
        assert_eq!(accrue(&mut v, 900_000_000, 1).unwrap(), (0, 0));
        assert_eq!(accrue(&mut v, 1_000_000_000, 2).unwrap(), (0, 0));
        // +10%: 10% of the 100,000,000 gain, i.e. shares worth ~10,000,000 at the post-fee price.
        let (_, p) = accrue(&mut v, 1_100_000_000, 3).unwrap();
        let value = Vault::SHARE_MATH.shares_to_amount_floor(p, 1_100_000_000, v.total_shares).unwrap();
        assert!((9_999_000..=10_000_000).contains(&value), "{value}");
    }

    #[test]
    fn share_supply_overflow_is_an_error_not_a_wrap() {
        let mut v = vault(u64::MAX - 1, 200, 0);
        let e = accrue(&mut v, 1_000_000_000, SECONDS_PER_YEAR).unwrap_err();
        assert_eq!(e, error!(VaultError::MathOverflow));
    }
}
