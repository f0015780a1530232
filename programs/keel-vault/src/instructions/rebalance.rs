//! Permissionless, keeper-validated rebalancing, and `deleverage` for an underwater vault.
//!
//! The keeper proposes venue trades; the vault executes them (signed by its PDA) and then validates them on the
//! state before and after. The after-state's positions are the venue's report of the margin account after the last
//! trade (valued for its own margin check, with the traded position's terms on their own); the before-state is that
//! report with the traded positions' terms swapped back to what they were before (read before the trades): the vault
//! values only the positions it trades, and of the last leg only its state before.
//! Rules:
//! 1. the vault's sequence equals `expected_sequence` (no double execution; the second of two keepers fails);
//! 2. the oracle is within `latency_conf_multiple` confidence intervals of the price the keeper priced at, and the
//!    keeper's pricing slot is recent (latency binding);
//! 3. the mandate's judge: the breach measure strictly falls and no limit gets worse, or delta re-enters its band
//!    (on the after-state with the reward already paid out);
//! 4. the risk removed — the larger of the fall in worst scenario loss and the fall in money at risk in the delta
//!    excess (tokens) — is at least `min_benefit_ratio` x the cost (fall in the margin account's value at unbiased
//!    marks: fees and spread);
//! 5. the minimum interval has passed unless the mandate is breached.
//!
//! The reward, min(cap, k x risk removed) within the daily budget, is paid from idle collateral and counted in the
//! after-state the judge sees. `deleverage` needs health below the mandate's minimum, only reduces positions, and
//! runs even while paused or with the breaker tripped. Freed margin may be returned to idle in the same call
//! (`margin_out`: the venue refuses it if the margin account would fall below initial margin), which is how a keeper
//! cures an idle-floor breach. A call with neither legs nor `margin_out` is refused (it can remove no risk).
//! Remaining accounts: every market of positions and legs.
use super::allocate::{execute_legs, Leg};
use crate::error::VaultError;
use crate::events::{snapshot, Rebalanced};
use crate::portfolio::{lp_if_held, traded_positions, Book};
use crate::state::{fx, Vault};
use crate::tokens::transfer_signed_by_vault;
use crate::venue_link::*;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;
use fixed::types::I80F48;
use keel_math::mandate::{judge_assessed, Verdict};
use keel_math::SafeMath;
use keel_venue::state::keys_eq;

#[derive(Accounts)]
pub struct Rebalance<'info> {
    pub keeper: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = idle)]
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    /// CHECK: the vault's collateral mint (`has_one`); the token program checks it in `transfer_checked`.
    pub collateral_mint: UncheckedAccount<'info>,
    /// CHECK: the vault's idle token account (`has_one`); the token program checks its mint.
    #[account(mut)]
    pub idle: UncheckedAccount<'info>,
    /// CHECK: receives the reward; the token program checks its mint and owner in `transfer_checked` (a token
    /// account of another mint, or not a token account, fails the transfer and nothing moves). Idle, also undecoded,
    /// is refused here (`run`): paying the reward "to" idle would debit idle_assets without moving a token.
    #[account(mut)]
    pub keeper_collateral: UncheckedAccount<'info>,
    /// CHECK: the venue's collateral vault (freed margin returns from it), pinned by address; the venue checks it.
    #[account(mut, address = link.venue.load()?.collateral_vault @ VaultError::VenueAccountMismatch)]
    pub venue_collateral: UncheckedAccount<'info>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

/// What the keeper priced against.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pricing {
    pub expected_sequence: u64,
    pub priced_slot: u64,
    /// Oracle price the keeper priced at (I80F48 bits).
    pub priced_price: i128,
}

pub fn rebalance<'info>(
    ctx: Context<'info, Rebalance<'info>>,
    pricing: Pricing,
    legs: Vec<Leg>,
    margin_out: u64,
) -> Result<()> {
    run(ctx, pricing, legs, margin_out, false)
}

pub fn deleverage<'info>(
    ctx: Context<'info, Rebalance<'info>>,
    pricing: Pricing,
    legs: Vec<Leg>,
    margin_out: u64,
) -> Result<()> {
    run(ctx, pricing, legs, margin_out, true)
}

fn m(e: keel_math::MathError) -> Error {
    error!(VaultError::from(e))
}

fn run<'info>(
    ctx: Context<'info, Rebalance<'info>>,
    pricing: Pricing,
    legs: Vec<Leg>,
    margin_out: u64,
    deleverage: bool,
) -> Result<()> {
    let clock = Clock::get()?;
    let now = clock.unix_timestamp;
    let a = &ctx.accounts;
    // A shared borrow of the vault may stay open across the venue and token CPIs (the vault is never writable in
    // them); it ends before step 6 writes.
    let vault = a.vault.load()?;
    let signer = vault.signer(a.vault.to_account_info());
    let (link, markets) = (&a.link, ctx.remaining_accounts);
    link.check(&vault)?;
    let cfg = vault.config.rebalance;
    // Anchor's duplicate check covers decoded accounts only, and neither of these is decoded.
    require!(!keys_eq(a.keeper_collateral.key, a.idle.key), ErrorCode::ConstraintDuplicateMutableAccount);
    // 1. Sequence.
    require!(pricing.expected_sequence == vault.sequence, VaultError::StaleSequence);
    require!(deleverage || !vault.is_paused(now), VaultError::VaultPaused);
    // 2. Latency binding: the oracle has not moved beyond x conf since pricing, and the pricing is recent.
    // The breaker does not stop a rebalance (risk reduction runs under it), so only the price is read.
    let price = link.oracle()?;
    let moved = price.price.safe_sub(fx(pricing.priced_price)).map_err(m)?.saturating_abs();
    require!(
        moved <= cfg.latency_conf_multiple.fx().safe_mul(price.conf).map_err(m)?,
        VaultError::OracleMovedSincePricing
    );
    let age = clock.slot.checked_sub(pricing.priced_slot).ok_or(VaultError::PricingTooOld)?;
    require!(age <= u64::from(cfg.max_pricing_age_slots), VaultError::PricingTooOld);
    // Doing nothing removes no risk (and there would be no venue report to judge it from).
    require!(!legs.is_empty() || margin_out > 0, VaultError::NotRiskReducing);
    // 3. Before the trades: the positions they will change, the collateral and the LP stake. The venue is read
    // before and again after the CPIs (they move its pool cash); no borrow spans them.
    let traded: Vec<Pubkey> = legs.iter().map(|l| l.market).collect();
    let (collateral_before, then, lp_before) = {
        let venue = link.venue.load()?;
        let (collateral, then) = traded_positions(&vault, &venue, &link.margin_account, &traded, markets, now)?;
        (collateral, then, lp_if_held(&vault, &venue, markets, now)?)
    };
    if deleverage {
        for leg in &legs {
            let held = then.iter().find(|h| keys_eq(&h.market, &leg.market)).map_or(0, |h| h.size);
            let reduces = held != 0 && (held > 0) != (leg.size > 0) && leg.size.unsigned_abs() <= held.unsigned_abs();
            require!(reduces, VaultError::NotReduceOnly);
        }
    }
    // 4. Execute, the last leg reporting the book after it; then return freed margin to idle if asked (it must not
    // leave the margin account short; with no legs, the withdrawal reports the book).
    let mut report = execute_legs(&vault.config, &signer, link, &legs, markets, true)?;
    if margin_out > 0 {
        let c = Collateral {
            mint: a.collateral_mint.to_account_info(),
            venue_vault: a.venue_collateral.to_account_info(),
            idle: a.idle.to_account_info(),
            token_program: a.token_program.to_account_info(),
        };
        let reported = link.margin_flow(&signer, &c, margin_out, false, legs.is_empty(), markets)?;
        report = report.or(reported);
    }
    let report = report.ok_or_else(|| error!(VaultError::VenueAccountMismatch))?;
    let moved = I80F48::from_num(margin_out);
    // 5. Both sides: after from the report, before from it with the traded positions swapped back; judged with the
    // reward taken out of idle.
    let mandate = vault.config.mandate.mandate();
    let spot = price.price;
    let venue = link.venue.load()?;
    // The report carries the last leg's position on its own; the markets only earlier legs traded are read again.
    let last = legs.last().map(|l| l.market);
    let earlier: Vec<Pubkey> = traded.iter().filter(|k| !last.is_some_and(|l| keys_eq(k, &l))).copied().collect();
    let (collateral, now_held) = traded_positions(&vault, &venue, &link.margin_account, &earlier, markets, now)?;
    let after_book = Book::from_report(&report, collateral, lp_if_held(&vault, &venue, markets, now)?);
    let before_book = after_book.before(&report, &now_held, &then, collateral_before, lp_before, &venue)?;
    let before = before_book.portfolio(&vault, &venue, spot)?;
    require!(before.nav > I80F48::ZERO, VaultError::NonPositiveNav);
    let assessed_before = mandate.assess(&before).map_err(m)?;
    if deleverage {
        require!(assessed_before.excesses[4] > I80F48::ZERO, VaultError::NotUnderwater);
    } else if assessed_before.breach == I80F48::ZERO {
        let next = vault.last_rebalance_ts.saturating_add(i64::from(cfg.min_interval_secs));
        require!(now >= next, VaultError::RebalanceTooSoon);
    }
    let mid_before = before_book.mid_value()?;
    let mut after = after_book.portfolio(&vault, &venue, spot)?;
    after.idle = after.idle.safe_add(moved).map_err(m)?;
    after.nav = after.nav.safe_add(moved).map_err(m)?;
    // Risk removed: the larger of the fall in worst scenario loss and the fall in money at risk in the delta excess
    // (a delta cure can raise the symmetric worst case of a short-gamma book while removing the breach).
    let range = link.underlying.load()?.config.spot_range.fx();
    let per_quote = I80F48::from_num(10u64.pow(u32::from(venue.collateral_decimals)));
    drop(venue);
    // The band depends on spot and gamma only, which the reward below does not move.
    let band_after = mandate.band(&after).map_err(m)?;
    let delta_removed = mandate
        .delta_risk_in(&before, assessed_before.band, range, per_quote)
        .and_then(|b| b.safe_sub(mandate.delta_risk_in(&after, band_after, range, per_quote)?))
        .map_err(m)?;
    let worst_removed = before.worst_loss.safe_sub(after.worst_loss).map_err(m)?;
    let risk_removed = worst_removed.max(delta_removed).max(I80F48::ZERO);
    // Margin moved to idle is not a cost: it is still the vault's.
    let mid_after = after_book.mid_value()?.safe_add(moved).map_err(m)?;
    let cost = mid_before.safe_sub(mid_after).map_err(m)?.max(I80F48::ZERO);
    let day = now.div_euclid(86_400);
    let paid_today = if vault.reward_day == day { vault.reward_paid_today } else { 0 };
    let earned: u64 =
        cfg.reward_per_risk.fx().safe_mul(risk_removed).map_err(m)?.floor().checked_to_num().unwrap_or(u64::MAX);
    let idle_now = vault.idle_assets.checked_add(margin_out).ok_or(VaultError::MathOverflow)?;
    let reward = earned.min(cfg.reward_cap).min(cfg.daily_reward_cap.saturating_sub(paid_today)).min(idle_now);
    let r = I80F48::from_num(reward);
    after.idle = after.idle.safe_sub(r).map_err(m)?;
    after.nav = after.nav.safe_sub(r).map_err(m)?;
    let assessed_after = mandate.assess_in(&after, band_after).map_err(m)?;
    match judge_assessed(&assessed_before, &assessed_after) {
        Verdict::Improves => {}
        Verdict::LimitWorse(i) => {
            msg!("limit {} would get worse", i);
            return err!(VaultError::LimitWorsened);
        }
        Verdict::NoImprovement => return err!(VaultError::NotRiskReducing),
    }
    require!(risk_removed >= cost.safe_mul(cfg.min_benefit_ratio.fx()).map_err(m)?, VaultError::RiskNotWorthCost);
    // 6. Pay, advance the sequence, announce.
    if reward > 0 {
        let (from, to) = (a.idle.to_account_info(), a.keeper_collateral.to_account_info());
        let mint = (a.collateral_mint.to_account_info(), vault.collateral_decimals);
        transfer_signed_by_vault(&signer, &a.token_program, mint, from, to, reward)?;
    }
    drop(vault);
    let mut v = a.vault.load_mut()?;
    v.idle_assets = idle_now - reward;
    v.reward_day = day;
    v.reward_paid_today = paid_today.saturating_add(reward);
    v.sequence = v.sequence.checked_add(1).ok_or(VaultError::MathOverflow)?;
    v.last_rebalance_ts = now;
    // The same bytes as `emit!` (tested), written from their parts.
    Rebalanced {
        vault: a.vault.key(),
        keeper: a.keeper.key(),
        sequence: v.sequence,
        deleverage,
        risk_removed: risk_removed.to_bits(),
        cost: cost.to_bits(),
        reward,
        before: snapshot(&before, assessed_before.breach),
        after: snapshot(&after, assessed_after.breach),
    }
    .emit_exact();
    Ok(())
}
