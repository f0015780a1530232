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
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    #[account(mut)]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        token::mint = share_mint,
        token::authority = vault.load()?.config.fee_recipient,
        token::token_program = token_program,
    )]
    pub recipient_shares: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn collect_fees<'info>(ctx: Context<'info, CollectFees<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    let (nav, management_shares, performance_shares, owed, signer) = {
        // 1. Accrue to now at the lower NAV.
        let mut vault = a.vault.load_mut()?;
        a.link.check(&vault)?;
        let [lower] = a.link.values(&vault, ctx.remaining_accounts, now, [Bound::Lower])?;
        let nav = nav_rounded(&vault, lower, Bound::Lower)?;
        let (management, performance) = fees::accrue(&mut vault, nav, now)?;
        let owed = vault.unminted_fee_shares;
        vault.unminted_fee_shares = 0;
        (nav, management, performance, owed, vault.signer(a.vault.to_account_info()))
    };
    // 2. Mint what has accrued to the recipient.
    if owed > 0 {
        mint_shares(
            &signer,
            &a.token_program,
            a.share_mint.to_account_info(),
            a.recipient_shares.to_account_info(),
            owed,
        )?;
    }
    let v = a.vault.load()?;
    emit!(FeesAccrued {
        vault: a.vault.key(),
        management_shares,
        performance_shares,
        unminted_fee_shares: 0,
        total_shares: v.total_shares,
        high_water_mark: v.high_water_mark.get(),
        nav,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct Nav<'info> {
    pub vault: AccountLoader<'info, Vault>,
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
    let vault = a.vault.load()?;
    a.link.check(&vault)?;
    let [lower, upper] = a.link.values(&vault, ctx.remaining_accounts, now, [Bound::Lower, Bound::Upper])?;
    let view = NavView {
        nav_lower: nav_rounded(&vault, lower, Bound::Lower)?,
        nav_upper: nav_rounded(&vault, upper, Bound::Upper)?,
        total_shares: vault.total_shares,
        idle_assets: vault.idle_assets,
    };
    require!(view.nav_upper >= view.nav_lower, VaultError::MathOverflow);
    Ok(view)
}
