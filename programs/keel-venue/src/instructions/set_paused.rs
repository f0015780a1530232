//! The guardian pauses or resumes operations (bit set, see `state::op`).
use crate::error::VenueError;
use crate::events::PauseSet;
use crate::state::{op, Venue};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetPaused<'info> {
    pub guardian: Signer<'info>,
    #[account(mut, has_one = guardian @ VenueError::UnauthorizedGuardian)]
    pub venue: AccountLoader<'info, Venue>,
}

pub fn set_paused(ctx: Context<SetPaused>, paused: u32) -> Result<()> {
    // 1. Only known operation bits.
    require!(paused & !op::ALL == 0, VenueError::InvalidPauseFlags);
    // 2. Apply and announce.
    let mut venue = ctx.accounts.venue.load_mut()?;
    venue.paused = paused;
    emit!(PauseSet { venue: ctx.accounts.venue.key(), guardian: venue.guardian, paused });
    Ok(())
}
