//! Curator creates a vault on a keel-venue venue, step 1 of 2: the vault PDA with its roles and configuration.
//! Step 2, `open_vault_accounts`, creates its token accounts and venue margin account. Two transactions because
//! one carrying the configuration (~700 bytes) and all fourteen accounts would exceed a cluster's 1,232-byte
//! transaction limit; until step 2 every other instruction refuses the vault (its accounts do not exist).
use crate::error::VaultError;
use crate::events::VaultCreated;
use crate::state::{Vault, VaultConfig};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;
use keel_venue::state::{PodI128, Underlying, Venue as VenueState};

#[derive(Accounts)]
#[instruction(id: u16)]
pub struct CreateVault<'info> {
    #[account(mut)]
    pub curator: Signer<'info>,
    pub venue: AccountLoader<'info, VenueState>,
    #[account(constraint = underlying.load()?.venue == venue.key() @ VaultError::VenueAccountMismatch)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(address = venue.load()?.collateral_mint @ VaultError::VenueAccountMismatch)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = curator,
        space = Vault::SPACE,
        seeds = [Vault::SEED, venue.key().as_ref(), &id.to_le_bytes()],
        bump,
    )]
    pub vault: AccountLoader<'info, Vault>,
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
    // 2. Record the vault; the token accounts are recorded when step 2 creates them.
    let a = &ctx.accounts;
    let (margin, _) = Pubkey::find_program_address(
        &[keel_venue::state::MarginAccount::SEED, a.venue.key().as_ref(), a.vault.key().as_ref()],
        &keel_venue::ID,
    );
    let (venue, underlying, curator) = (a.venue.key(), a.underlying.key(), a.curator.key());
    let (mint, decimals, token_program) =
        (a.collateral_mint.key(), a.collateral_mint.decimals, a.venue.load()?.token_program);
    let vault = ctx.accounts.vault.key();
    let mut v = ctx.accounts.vault.load_init()?;
    v.bump = ctx.bumps.vault;
    v.id = id;
    v.curator = curator;
    v.strategist = strategist;
    v.guardian = guardian;
    v.venue = venue;
    v.underlying = underlying;
    v.margin_account = margin;
    v.collateral_mint = mint;
    v.collateral_decimals = decimals;
    v.token_program = token_program;
    v.lp_shares_held = 0;
    v.config = config;
    v.pending_config = config;
    v.pending_eta = 0;
    v.last_fee_ts = now;
    v.high_water_mark = PodI128::ZERO;
    emit!(VaultCreated { vault, venue, curator, strategist, guardian, margin_account: margin, config });
    Ok(())
}
