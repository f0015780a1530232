//! `collect_fees` (anyone): accrues fees to now and mints the accrued fee shares to the fee recipient.
//! `nav` (view): NAV bounds and share supply as return data, for integrators and keepers.
use crate::error::VaultError;
use crate::events::FeesAccrued;
use crate::fees;
use crate::portfolio::nav_rounded;
use crate::state::Vault;
use crate::tokens::mint_shares;
use crate::venue_link::*;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_math::margin::Bound;

#[derive(Accounts)]
pub struct CollectFees<'info> {
    #[account(mut, has_one = share_mint)]
    pub vault: Box<Account<'info, Vault>>,
    pub link: VenueLink<'info>,
    #[account(mut)]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        token::mint = share_mint,
        token::authority = vault.config.fee_recipient,
        token::token_program = token_program,
    )]
    pub recipient_shares: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = vault.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn collect_fees<'info>(ctx: Context<'info, CollectFees<'info>>) -> Result<()> {
    // 1. Accrue to now at the lower NAV.
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    a.link.check(&a.vault)?;
    let holdings = a.link.holdings(&a.vault, ctx.remaining_accounts, now)?;
    let nav = nav_rounded(&a.vault, &holdings, Bound::Lower)?;
    let (management_shares, performance_shares) = fees::accrue(&mut ctx.accounts.vault, nav, now)?;
    // 2. Mint what has accrued to the recipient.
    let a = &ctx.accounts;
    let owed = a.vault.unminted_fee_shares;
    if owed > 0 {
        mint_shares(&a.vault, &a.token_program, &a.share_mint, a.recipient_shares.to_account_info(), owed)?;
    }
    let v = &mut ctx.accounts.vault;
    v.unminted_fee_shares = 0;
    emit!(FeesAccrued {
        vault: v.key(),
        management_shares,
        performance_shares,
        unminted_fee_shares: 0,
        total_shares: v.total_shares,
        high_water_mark: v.high_water_mark,
        nav,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct Nav<'info> {
    pub vault: Box<Account<'info, Vault>>,
    pub link: VenueLink<'info>,
}

/// NAV bounds (tokens, rounded in the vault's favour) and shares outstanding.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NavView {
    pub nav_lower: u64,
    pub nav_upper: u64,
    pub total_shares: u64,
    pub idle_assets: u64,
}

pub fn nav<'info>(ctx: Context<'info, Nav<'info>>) -> Result<NavView> {
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    a.link.check(&a.vault)?;
    let holdings = a.link.holdings(&a.vault, ctx.remaining_accounts, now)?;
    let view = NavView {
        nav_lower: nav_rounded(&a.vault, &holdings, Bound::Lower)?,
        nav_upper: nav_rounded(&a.vault, &holdings, Bound::Upper)?,
        total_shares: a.vault.total_shares,
        idle_assets: a.vault.idle_assets,
    };
    require!(view.nav_upper >= view.nav_lower, VaultError::MathOverflow);
    Ok(view)
}
