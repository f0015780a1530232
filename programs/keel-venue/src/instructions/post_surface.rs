//! The vol authority posts (or replaces) the raw SVI slice of one underlying and expiry. Parameters that are
//! invalid or admit butterfly arbitrage on the venue's strike grid are rejected.
use crate::error::VenueError;
use crate::events::SurfacePosted;
use crate::state::{fx, op, Underlying, Venue, VolSurface};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::SviRaw;

/// Log-moneyness grid on which butterfly arbitrage is checked: k = -2.0, -1.8, ..., 2.0 (21 points).
pub const ARBITRAGE_GRID_POINTS: i32 = 21;

#[derive(Accounts)]
#[instruction(expiry: i64)]
pub struct PostSurface<'info> {
    #[account(mut)]
    pub vol_authority: Signer<'info>,
    #[account(has_one = vol_authority @ VenueError::UnauthorizedVolAuthority)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(
        init_if_needed,
        payer = vol_authority,
        space = 8 + VolSurface::INIT_SPACE,
        seeds = [VolSurface::SEED, underlying.key().as_ref(), &expiry.to_le_bytes()],
        bump,
    )]
    pub surface: Box<Account<'info, VolSurface>>,
    pub system_program: Program<'info, System>,
}

pub fn post_surface(ctx: Context<PostSurface>, expiry: i64, params: [i128; 5]) -> Result<()> {
    // 1. Operation not paused; expiry in the future.
    require!(!ctx.accounts.venue.load()?.is_paused(op::POST_SURFACE), VenueError::OperationPaused);
    let clock = Clock::get()?;
    require!(expiry > clock.unix_timestamp, VenueError::SurfaceExpired);
    // 2. Parameter constraints, then no butterfly arbitrage on the grid.
    let svi = SviRaw { a: fx(params[0]), b: fx(params[1]), rho: fx(params[2]), m: fx(params[3]), sigma: fx(params[4]) };
    svi.validate().map_err(|_| VenueError::InvalidSurface)?;
    let grid: Vec<I80F48> = (0..ARBITRAGE_GRID_POINTS).map(|i| I80F48::from_num(i - 10) / 5).collect();
    let free = svi.is_butterfly_free(&grid).map_err(VenueError::from)?;
    require!(free, VenueError::SurfaceArbitrage);
    // 3. Store with the time and slot of posting (pricing refuses surfaces older than the underlying's limit).
    let s = &mut ctx.accounts.surface;
    s.bump = ctx.bumps.surface;
    s.underlying = ctx.accounts.underlying.key();
    s.expiry = expiry;
    s.params = params;
    s.posted_ts = clock.unix_timestamp;
    s.posted_slot = clock.slot;
    emit!(SurfacePosted {
        underlying: s.underlying,
        surface: s.key(),
        expiry,
        params,
        posted_ts: s.posted_ts,
        posted_slot: s.posted_slot,
    });
    Ok(())
}
