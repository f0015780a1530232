//! What must hold after every step of a fuzzed sequence:
//! 1. tokens: the venue's token account holds exactly pool cash plus every margin account's collateral; the vault's
//!    idle account exactly its idle accounting; share mint supply plus unminted fee shares is the vault's share
//!    count, and the escrow holds exactly the shares of pending withdrawals;
//! 2. an accepted deposit, withdrawal request or claim never lowers the price per share at the lower NAV (after
//!    fees to that instant), compared exactly in integers: deposits and withdrawals alone never move value between
//!    holders, beyond rounding that favours the vault;
//! 3. an accepted allocate leaves every mandate limit satisfied;
//! 4. an accepted rebalance or deleverage is an improvement by the mandate's judge, measured independently before
//!    and after;
//! 5. no instruction fails except by a program's own refusal (checked where it is sent).
use super::actions::{Action, Actors};
use keel_keeper::chain::Chain;
use keel_keeper::vault_view::VaultView;
use keel_math::mandate::{judge, PortfolioRisk, Verdict};
use keel_math::margin::Bound;
use keel_vault::state::Vault;
use solana_sdk::signer::Signer;

/// The vault measured at one instant, as the program would price it.
pub struct Measure {
    /// Lower NAV (tokens) and the share count after fees accrued to now; `None` when the NAV cannot be priced.
    pub priced: Option<(u64, u64)>,
    pub risk: Option<PortfolioRisk>,
}

impl Measure {
    pub async fn take(a: &mut Actors) -> Measure {
        let Ok(view) = VaultView::load(&mut a.w.chain, a.w.keys).await else {
            return Measure { priced: None, risk: None };
        };
        let Ok(holdings) = view.holdings() else {
            return Measure { priced: None, risk: None };
        };
        let priced = holdings
            .value(Bound::Lower)
            .ok()
            .and_then(|h| keel_vault::portfolio::nav_rounded(&view.vault, h, Bound::Lower).ok())
            .and_then(|nav| {
                let mut v = view.vault;
                keel_vault::fees::accrue(&mut v, nav, view.clock.unix_timestamp).ok()?;
                Some((nav, v.total_shares))
            });
        let risk = holdings.portfolio(&view.vault, &view.venue, view.price.price).ok();
        Measure { priced, risk }
    }
}

async fn tokens<C: Chain>(chain: &mut C, key: &solana_sdk::pubkey::Pubkey) -> Result<u64, String> {
    keel_keeper::demo::rounding::balance(chain, key).await.map_err(|e| e.to_string())
}

async fn supply<C: Chain>(chain: &mut C, mint: &solana_sdk::pubkey::Pubkey) -> Result<u64, String> {
    let acc = chain.account(mint).await.map_err(|e| e.to_string())?.ok_or("share mint missing")?;
    // SPL mint layout: COption<Pubkey> authority (36 bytes), then supply (u64 LE).
    let bytes: [u8; 8] = acc.data.get(36..44).and_then(|b| b.try_into().ok()).ok_or("short mint account")?;
    Ok(u64::from_le_bytes(bytes))
}

/// Invariant 1, after any step.
pub async fn tokens_reconcile(a: &mut Actors) -> Result<(), String> {
    let trader = a.trader.key.pubkey();
    let w = &mut a.w;
    let keys = w.keys;
    let venue: keel_venue::state::Venue = w.chain.read(&w.venue).await.map_err(|e| e.to_string())?;
    let mut claims = i128::from(venue.pool_assets);
    for owner in [keys.vault, trader] {
        let m: keel_venue::state::MarginAccount =
            w.chain.read(&keel_client::venue::margin_pda(&w.venue, &owner)).await.map_err(|e| e.to_string())?;
        claims += i128::from(m.collateral);
    }
    let held = tokens(&mut w.chain, &keel_client::venue::collateral_vault_pda(&w.venue)).await?;
    if i128::from(held) != claims {
        return Err(format!("venue holds {held} tokens, owes {claims}"));
    }
    let vault: Vault = w.chain.read(&keys.vault).await.map_err(|e| e.to_string())?;
    let idle = tokens(&mut w.chain, &keel_client::vault::idle_pda(&keys.vault)).await?;
    if idle != vault.idle_assets {
        return Err(format!("idle account holds {idle}, accounting says {}", vault.idle_assets));
    }
    let minted = supply(&mut w.chain, &keel_client::vault::shares_pda(&keys.vault)).await?;
    if u128::from(minted) + u128::from(vault.unminted_fee_shares) != u128::from(vault.total_shares) {
        return Err(format!(
            "{minted} shares minted + {} unminted fee shares != {}",
            vault.unminted_fee_shares, vault.total_shares
        ));
    }
    let escrowed = tokens(&mut w.chain, &keel_client::vault::escrow_pda(&keys.vault)).await?;
    if escrowed != vault.pending_withdrawal_shares {
        return Err(format!("escrow holds {escrowed} shares, {} pending", vault.pending_withdrawal_shares));
    }
    Ok(())
}

/// Invariants 1-4 for step `a` whose result was `result` (`None`: accepted).
pub async fn check(actors: &mut Actors, a: &Action, before: &Measure, result: Option<u32>) -> Result<(), String> {
    tokens_reconcile(actors).await?;
    if result.is_some() {
        return Ok(());
    }
    let after = Measure::take(actors).await;
    match a {
        Action::Deposit { .. } | Action::Request { .. } | Action::Claim { .. } => {
            if let (Some((nb, tb)), Some((na, ta))) = (before.priced, after.priced) {
                let sm = Vault::SHARE_MATH;
                let (va, vs) = (u128::from(sm.virtual_assets), u128::from(sm.virtual_shares));
                let lhs = (u128::from(na) + va) * (u128::from(tb) + vs);
                let rhs = (u128::from(nb) + va) * (u128::from(ta) + vs);
                if lhs < rhs {
                    return Err(format!("{} lowered the price per share: {nb}/{tb} -> {na}/{ta}", a.kind()));
                }
            }
        }
        Action::Allocate { .. } => {
            let risk = after.risk.ok_or("an accepted allocate left a portfolio that cannot be measured")?;
            let vault: Vault = actors.w.chain.read(&actors.w.keys.vault).await.map_err(|e| e.to_string())?;
            let excess = vault.config.mandate.mandate().excesses(&risk).map_err(|e| e.to_string())?;
            if excess.iter().any(|e| *e > 0) {
                return Err(format!("an accepted allocate left the mandate breached: {excess:?}"));
            }
        }
        Action::Rebalance | Action::Grief { .. } | Action::Deleverage { .. } => {
            let (Some(b), Some(after)) = (before.risk, after.risk) else {
                return Err("an accepted rebalance around a portfolio that cannot be measured".into());
            };
            let vault: Vault = actors.w.chain.read(&actors.w.keys.vault).await.map_err(|e| e.to_string())?;
            let verdict = judge(&vault.config.mandate.mandate(), &b, &after).map_err(|e| e.to_string())?;
            if verdict != Verdict::Improves {
                return Err(format!("an accepted {} is not an improvement: {verdict:?}", a.kind()));
            }
        }
        _ => {}
    }
    Ok(())
}
