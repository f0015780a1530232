//! Creates a venue for one collateral mint (SPL Token or Token-2022), its PDA collateral vault and LP share mint.
use crate::error::VenueError;
use crate::events::VenueCreated;
use crate::state::{MarginConfig, Venue};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(Accounts)]
#[instruction(id: u16)]
pub struct CreateVenue<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    /// Collateral mint; its owner program is checked by `InterfaceAccount` (Token or Token-2022 only).
    #[account(mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        space = Venue::SPACE,
        seeds = [Venue::SEED, collateral_mint.key().as_ref(), &id.to_le_bytes()],
        bump,
    )]
    pub venue: AccountLoader<'info, Venue>,
    #[account(
        init,
        payer = admin,
        seeds = [Venue::VAULT_SEED, venue.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = venue,
        token::token_program = token_program,
    )]
    pub collateral_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [Venue::LP_MINT_SEED, venue.key().as_ref()],
        bump,
        mint::decimals = collateral_mint.decimals.saturating_add(Venue::LP_EXTRA_DECIMALS),
        mint::authority = venue,
        mint::token_program = token_program,
    )]
    pub lp_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn create_venue(
    ctx: Context<CreateVenue>,
    id: u16,
    guardian: Pubkey,
    vol_authority: Pubkey,
    margin: MarginConfig,
) -> Result<()> {
    // 1. Margin parameters within their documented ranges.
    require!(margin.is_valid(), VenueError::InvalidMarginParams);
    // 2. Record roles, collateral and the vault (Anchor created and checked both accounts).
    let key = ctx.accounts.venue.key();
    let mut venue = ctx.accounts.venue.load_init()?;
    venue.bump = ctx.bumps.venue;
    venue.vault_bump = ctx.bumps.collateral_vault;
    venue.id = id;
    venue.admin = ctx.accounts.admin.key();
    venue.guardian = guardian;
    venue.vol_authority = vol_authority;
    venue.collateral_mint = ctx.accounts.collateral_mint.key();
    venue.collateral_decimals = ctx.accounts.collateral_mint.decimals;
    venue.token_program = ctx.accounts.token_program.key();
    venue.collateral_vault = ctx.accounts.collateral_vault.key();
    venue.lp_mint = ctx.accounts.lp_mint.key();
    venue.pool_assets = 0;
    venue.lp_shares = 0;
    venue.paused = 0;
    venue.num_underlyings = 0;
    venue.num_markets = 0;
    venue.margin = margin;
    // 3. Announce with the full post-state.
    emit!(VenueCreated {
        venue: key,
        id,
        admin: venue.admin,
        guardian,
        vol_authority,
        collateral_mint: venue.collateral_mint,
        collateral_vault: venue.collateral_vault,
        lp_mint: venue.lp_mint,
        token_program: venue.token_program,
        margin,
    });
    Ok(())
}
