//! Curator creates a vault, step 2 of 2 (see `create_vault`): the share mint, idle collateral, share escrow and
//! venue LP share accounts (PDAs owned by the vault), and by CPI, signed by the vault PDA, its margin account on
//! the venue. Runs once: the accounts' `init` refuses a second run.
use crate::error::VaultError;
use crate::events::VaultAccountsOpened;
use crate::state::Vault;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_venue::program::KeelVenue;
use keel_venue::state::Venue as VenueState;

#[derive(Accounts)]
pub struct OpenVaultAccounts<'info> {
    #[account(mut)]
    pub curator: Signer<'info>,
    #[account(mut, has_one = curator @ VaultError::UnauthorizedCurator, has_one = venue @ VaultError::VenueAccountMismatch)]
    pub vault: AccountLoader<'info, Vault>,
    pub venue: AccountLoader<'info, VenueState>,
    #[account(address = vault.load()?.collateral_mint @ VaultError::VenueAccountMismatch, mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = curator,
        seeds = [Vault::SHARES_SEED, vault.key().as_ref()],
        bump,
        mint::decimals = collateral_mint.decimals.saturating_add(Vault::SHARE_EXTRA_DECIMALS),
        mint::authority = vault,
        mint::token_program = token_program,
    )]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = curator,
        seeds = [Vault::IDLE_SEED, vault.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = vault,
        token::token_program = token_program,
    )]
    pub idle: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init,
        payer = curator,
        seeds = [Vault::ESCROW_SEED, vault.key().as_ref()],
        bump,
        token::mint = share_mint,
        token::authority = vault,
        token::token_program = token_program,
    )]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = venue.load()?.lp_mint @ VaultError::VenueAccountMismatch)]
    pub venue_lp_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = curator,
        seeds = [Vault::LP_SEED, vault.key().as_ref()],
        bump,
        token::mint = venue_lp_mint,
        token::authority = vault,
        token::token_program = token_program,
    )]
    pub vault_lp: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: created by keel-venue's `open_margin_account` (PDA ["margin", venue, vault] of that program); its
    /// address was recorded by `create_vault`.
    #[account(mut, address = vault.load()?.margin_account @ VaultError::VenueAccountMismatch)]
    pub margin_account: UncheckedAccount<'info>,
    pub venue_program: Program<'info, KeelVenue>,
    #[account(address = vault.load()?.token_program @ VaultError::VenueAccountMismatch)]
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn open_vault_accounts(ctx: Context<OpenVaultAccounts>) -> Result<()> {
    // 1. Record the accounts (their addresses are PDAs of the vault, checked by `init` above).
    let (share_mint, idle, escrow, lp) = (
        ctx.accounts.share_mint.key(),
        ctx.accounts.idle.key(),
        ctx.accounts.escrow.key(),
        ctx.accounts.vault_lp.key(),
    );
    let (signer, margin_account) = {
        let mut v = ctx.accounts.vault.load_mut()?;
        v.share_mint = share_mint;
        v.idle = idle;
        v.escrow = escrow;
        v.lp_account = lp;
        (v.signer(ctx.accounts.vault.to_account_info()), v.margin_account)
    };
    // 2. The venue margin account, owned by the vault PDA (the curator pays its rent).
    let a = &ctx.accounts;
    let cpi = keel_venue::cpi::accounts::OpenMarginAccount {
        payer: a.curator.to_account_info(),
        owner: signer.info.clone(),
        venue: a.venue.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        system_program: a.system_program.to_account_info(),
    };
    signer.with_signer(|seeds| {
        keel_venue::cpi::open_margin_account(CpiContext::new_with_signer(a.venue_program.key(), cpi, seeds))
    })?;
    emit!(VaultAccountsOpened { vault: a.vault.key(), share_mint, idle, escrow, lp_account: lp, margin_account });
    Ok(())
}
