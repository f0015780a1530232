//! Curator creates a vault on a keel-venue venue: the vault PDA, its share mint, idle collateral, share escrow and
//! venue LP share accounts, and (by CPI, signed by the vault PDA) its margin account on the venue.
use crate::error::VaultError;
use crate::events::VaultCreated;
use crate::state::{Vault, VaultConfig};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use keel_venue::program::KeelVenue;
use keel_venue::state::{Underlying, Venue as VenueState};

#[derive(Accounts)]
#[instruction(id: u16)]
pub struct CreateVault<'info> {
    #[account(mut)]
    pub curator: Signer<'info>,
    pub venue: Box<Account<'info, VenueState>>,
    #[account(constraint = underlying.venue == venue.key() @ VaultError::VenueAccountMismatch)]
    pub underlying: Box<Account<'info, Underlying>>,
    #[account(address = venue.collateral_mint @ VaultError::VenueAccountMismatch, mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = curator,
        space = 8 + Vault::INIT_SPACE,
        seeds = [Vault::SEED, venue.key().as_ref(), &id.to_le_bytes()],
        bump,
    )]
    pub vault: Box<Account<'info, Vault>>,
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
    #[account(address = venue.lp_mint @ VaultError::VenueAccountMismatch)]
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
    /// CHECK: created by keel-venue's `open_margin_account` (PDA ["margin", venue, vault] of that program).
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    pub venue_program: Program<'info, KeelVenue>,
    #[account(address = venue.token_program @ VaultError::VenueAccountMismatch)]
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn create_vault(
    ctx: Context<CreateVault>,
    id: u16,
    strategist: Pubkey,
    guardian: Pubkey,
    config: VaultConfig,
) -> Result<()> {
    // 1. A coherent configuration.
    require!(config.is_valid(), VaultError::InvalidConfig);
    let now = Clock::get()?.unix_timestamp;
    // 2. Record the vault.
    let a = &ctx.accounts;
    let (margin, _) = Pubkey::find_program_address(
        &[keel_venue::state::MarginAccount::SEED, a.venue.key().as_ref(), a.vault.key().as_ref()],
        &keel_venue::ID,
    );
    require_keys_eq!(margin, a.margin_account.key(), VaultError::VenueAccountMismatch);
    let v = &mut ctx.accounts.vault;
    v.bump = ctx.bumps.vault;
    v.id = id;
    v.curator = ctx.accounts.curator.key();
    v.strategist = strategist;
    v.guardian = guardian;
    v.venue = ctx.accounts.venue.key();
    v.underlying = ctx.accounts.underlying.key();
    v.margin_account = margin;
    v.collateral_mint = ctx.accounts.collateral_mint.key();
    v.collateral_decimals = ctx.accounts.collateral_mint.decimals;
    v.token_program = ctx.accounts.token_program.key();
    v.idle = ctx.accounts.idle.key();
    v.escrow = ctx.accounts.escrow.key();
    v.share_mint = ctx.accounts.share_mint.key();
    v.lp_account = ctx.accounts.vault_lp.key();
    v.lp_shares_held = 0;
    v.config = config;
    v.pending_config = config;
    v.pending_eta = 0;
    v.last_fee_ts = now;
    v.high_water_mark = 0;
    // 3. The venue margin account, owned by the vault PDA (the curator pays its rent).
    let a = &ctx.accounts;
    let cpi = keel_venue::cpi::accounts::OpenMarginAccount {
        payer: a.curator.to_account_info(),
        owner: a.vault.to_account_info(),
        venue: a.venue.to_account_info(),
        margin_account: a.margin_account.to_account_info(),
        system_program: a.system_program.to_account_info(),
    };
    a.vault.with_signer(|signer| {
        keel_venue::cpi::open_margin_account(CpiContext::new_with_signer(a.venue_program.key(), cpi, signer))
    })?;
    emit!(VaultCreated {
        vault: a.vault.key(),
        venue: a.venue.key(),
        curator: a.curator.key(),
        strategist,
        guardian,
        margin_account: margin,
        config,
    });
    Ok(())
}
