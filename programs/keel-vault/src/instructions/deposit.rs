//! Deposit collateral for shares priced at the upper NAV bound (rounded up), so a depositor never buys below
//! what the holdings could be worth. Fees accrue first. The amount is clamped to the room left under the vault
//! and per-user caps; if that room is below the minimum deposit the call fails. Remaining accounts: the markets
//! of the vault's open venue positions.
use crate::error::VaultError;
use crate::events::Deposited;
use crate::fees;
use crate::portfolio::nav_rounded;
use crate::state::Vault;
use crate::token_account::{read_balance, Expect};
use crate::tokens::{mint_shares, transfer_signed_by_user};
use crate::venue_link::*;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;
use keel_math::margin::Bound;

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = idle, has_one = share_mint)]
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    /// CHECK: the vault's collateral mint (`has_one`); the token program checks it in `transfer_checked`.
    pub collateral_mint: UncheckedAccount<'info>,
    /// CHECK: the vault's idle token account (`has_one`); the token program checks its mint.
    #[account(mut)]
    pub idle: UncheckedAccount<'info>,
    /// CHECK: the vault's share mint (`has_one`); the token program checks the vault PDA is its authority.
    #[account(mut)]
    pub share_mint: UncheckedAccount<'info>,
    /// CHECK: the depositor's collateral account: the vault's mint, the owner's, the vault's token program
    /// (`token_account::read_balance` in step 1, with the errors of Anchor's `token::` constraints).
    #[account(mut)]
    pub owner_collateral: UncheckedAccount<'info>,
    /// CHECK: the depositor's share account, checked as `owner_collateral` against the share mint.
    #[account(mut)]
    pub owner_shares: UncheckedAccount<'info>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let (nav, amount, shares, decimals, signer) = {
        let mut vault = ctx.accounts.vault.load_mut()?;
        // 1. The depositor's token accounts; open for deposits: not paused, breaker not tripped, at least the minimum.
        let a = &ctx.accounts;
        let (owner, token_program) = (a.owner.key, &vault.token_program);
        let collateral = Expect { mint: &vault.collateral_mint, authority: Some(owner), token_program };
        read_balance(&a.owner_collateral, "owner_collateral", &collateral)?;
        let shares_held = Expect { mint: &vault.share_mint, authority: Some(owner), token_program };
        let shares_held = read_balance(&a.owner_shares, "owner_shares", &shares_held)?;
        ctx.accounts.link.check(&vault)?;
        require!(!vault.is_paused(now), VaultError::VaultPaused);
        let (_, tripped) = ctx.accounts.link.price(&vault.config.breaker)?;
        require!(!tripped, VaultError::CircuitBreakerTripped);
        require!(amount > 0, VaultError::InvalidAmount);
        require!(amount >= vault.config.min_deposit, VaultError::DepositTooSmall);
        // 2. Fees to date, then the upper NAV.
        let bounds = [Bound::Lower, Bound::Upper];
        let [lower, upper] = ctx.accounts.link.values(&vault, ctx.remaining_accounts, now, bounds)?;
        fees::accrue_at_lower_nav(&mut vault, lower, now)?;
        let nav = nav_rounded(&vault, upper, Bound::Upper)?;
        // 3. Clamp to the caps: the vault's total and this depositor's holding after the deposit.
        let sm = Vault::SHARE_MATH;
        let held = sm.shares_to_amount_ceil(shares_held, nav, vault.total_shares).map_err(VaultError::from)?;
        let cfg = &vault.config;
        let room = cfg.max_total_assets.saturating_sub(nav).min(cfg.max_user_assets.saturating_sub(held));
        let amount = amount.min(room);
        require!(amount >= vault.config.min_deposit, VaultError::DepositCapReached);
        let shares = sm.amount_to_shares_floor(amount, nav, vault.total_shares).map_err(VaultError::from)?;
        require!(shares > 0, VaultError::RoundsToZero);
        (nav, amount, shares, vault.collateral_decimals, vault.signer(ctx.accounts.vault.to_account_info()))
    };
    // 4. Collateral in, shares out (no borrow of the vault is held across the CPIs).
    let a = &ctx.accounts;
    let (from, to, owner) = (a.owner_collateral.to_account_info(), a.idle.to_account_info(), a.owner.to_account_info());
    let mint = (a.collateral_mint.to_account_info(), decimals);
    transfer_signed_by_user(&a.token_program, mint, from, to, owner, amount)?;
    mint_shares(&signer, &a.token_program, a.share_mint.to_account_info(), a.owner_shares.to_account_info(), shares)?;
    // 5. Internal accounting and the event.
    let mut v = ctx.accounts.vault.load_mut()?;
    v.idle_assets = v.idle_assets.checked_add(amount).ok_or(VaultError::MathOverflow)?;
    v.total_shares = v.total_shares.checked_add(shares).ok_or(VaultError::MathOverflow)?;
    emit!(Deposited {
        vault: ctx.accounts.vault.key(),
        owner: ctx.accounts.owner.key(),
        amount,
        shares,
        nav,
        total_shares: v.total_shares,
        idle_assets: v.idle_assets,
    });
    Ok(())
}
