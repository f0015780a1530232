//! The demo's rounding audit. Every share operation a depositor makes (each deposit, the withdrawal request and its
//! claim) is measured against exact pro rata at the NAV and supply the program priced it at. Those are rebuilt from
//! the state right after the operation, at the same clock: the operation's own change (tokens in or out, shares
//! minted or burnt) is taken back out, so nothing here repeats the program's pricing.
//!
//! Two measures, both in token units (docs/math.md, "Share maths"):
//! - rounding: below the value at the pool's own price (N + VA) / (T + VS); always under one unit;
//! - shortfall: below exact pro rata N / T; rounding plus the virtual offset's cut, at most
//!   `ShareMath::{redeem,deposit}_shortfall_bound_ceil`.
use crate::chain::Chain;
use crate::vault_view::{KeeperError, VaultView};
use keel_client::vault::VaultKeys;
use keel_math::margin::Bound;
use keel_vault::state::Vault;
use serde::Serialize;

/// One audited share operation.
#[derive(Clone, Debug, Serialize)]
pub struct ShareOp {
    pub operation: String,
    /// Tokens paid in (deposit) or the redemption value (request, claim).
    pub amount: u64,
    /// Shares minted or redeemed.
    pub shares: u64,
    /// The NAV (tokens, at the bound the operation uses) and share supply it was priced at.
    pub nav: u64,
    pub total_shares: u64,
    pub rounding_units: f64,
    pub shortfall_units: f64,
    pub bound_units: u64,
    /// Rounding under one unit and shortfall within the bound, compared in exact integers.
    pub within_bound: bool,
}

const SM: keel_math::shares::ShareMath = Vault::SHARE_MATH;

/// For the report only (the pass/fail comparison is in exact integers).
fn units(numerator: i128, denominator: i128) -> f64 {
    numerator as f64 / denominator as f64
}

/// A redemption of `shares` that paid (or is worth) `paid`, priced at `nav` and `total`.
pub fn redeemed(operation: String, shares: u64, paid: u64, nav: u64, total: u64) -> Result<ShareOp, KeeperError> {
    let (s, p, n, t) = (i128::from(shares), i128::from(paid), i128::from(nav), i128::from(total));
    let (va, vs) = (i128::from(SM.virtual_assets), i128::from(SM.virtual_shares));
    let rounding = s * (n + va) - p * (t + vs);
    let shortfall = s * n - p * t;
    let bound = SM.redeem_shortfall_bound_ceil(shares, nav, total).map_err(|e| KeeperError::Rule(e.to_string()))?;
    Ok(ShareOp {
        operation,
        amount: paid,
        shares,
        nav,
        total_shares: total,
        rounding_units: units(rounding, t + vs),
        shortfall_units: units(shortfall, t),
        bound_units: bound,
        within_bound: rounding < t + vs && shortfall <= i128::from(bound) * t,
    })
}

/// A deposit of `amount` that minted `minted`, priced at `nav` and `total` (an empty pool has no pro rata: the first
/// depositor's shortfall is its rounding, bound one unit).
pub fn deposited(operation: String, amount: u64, minted: u64, nav: u64, total: u64) -> Result<ShareOp, KeeperError> {
    let (a, m, n, t) = (i128::from(amount), i128::from(minted), i128::from(nav), i128::from(total));
    let (va, vs) = (i128::from(SM.virtual_assets), i128::from(SM.virtual_shares));
    let rounding = a * (t + vs) - m * (n + va);
    let rounding_units = units(rounding, n + va);
    let (shortfall_units, bound, within) = if total == 0 {
        (rounding_units, 1, rounding < n + va)
    } else {
        let shortfall = a * t - m * n;
        let bound =
            SM.deposit_shortfall_bound_ceil(amount, nav, total).map_err(|e| KeeperError::Rule(e.to_string()))?;
        (units(shortfall, t), bound, rounding < n + va && shortfall <= i128::from(bound) * t)
    };
    Ok(ShareOp {
        operation,
        amount,
        shares: minted,
        nav,
        total_shares: total,
        rounding_units,
        shortfall_units,
        bound_units: bound,
        within_bound: within,
    })
}

/// The vault's NAV at `bound` (tokens, rounded as the program rounds it) and its share supply, now.
pub async fn priced<C: Chain>(chain: &mut C, keys: VaultKeys, bound: Bound) -> Result<(u64, u64), KeeperError> {
    let view = VaultView::load(chain, keys).await?;
    let nav = keel_vault::portfolio::nav_rounded(&view.vault, view.holdings()?.value(bound)?, bound)?;
    Ok((nav, view.vault.total_shares))
}

/// A token account's balance (zero if it does not exist).
pub async fn balance<C: Chain>(chain: &mut C, account: &solana_sdk::pubkey::Pubkey) -> Result<u64, KeeperError> {
    Ok(chain.account(account).await?.and_then(|a| keel_client::token::token_amount(&a.data)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_price_redemption_and_deposit_are_exact_and_a_short_payment_is_caught() {
        // 1,000 units against 1,000,000 shares: the launch price, where the pool price equals pro rata.
        let ok = redeemed("r".into(), 250_000, 250, 1_000, 1_000_000).unwrap();
        assert!(ok.within_bound && ok.rounding_units == 0.0 && ok.shortfall_units == 0.0, "{ok:?}");
        let short = redeemed("r".into(), 250_000, 248, 1_000, 1_000_000).unwrap();
        assert!(!short.within_bound && short.shortfall_units == 2.0, "{short:?}");
        let first = deposited("d".into(), 5_000, 5_000_000, 0, 0).unwrap();
        assert!(first.within_bound && first.rounding_units == 0.0, "{first:?}");
        let stingy = deposited("d".into(), 5_000, 4_000_000, 1_000, 1_000_000).unwrap();
        assert!(!stingy.within_bound && stingy.shortfall_units == 1_000.0, "{stingy:?}");
    }
}
