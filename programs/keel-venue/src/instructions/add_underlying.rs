//! Admin adds an underlying: its Pyth feed, oracle limits, biased-mark multiplier and SPAN grid. The feed must
//! have a valid, fully verified price right now, so a venue can never list a feed that does not work.
use crate::error::VenueError;
use crate::events::UnderlyingAdded;
use crate::oracle::{checked_price, OracleUse};
use crate::state::{raw, PodI128, Underlying, UnderlyingConfig, Venue};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

#[derive(Accounts)]
pub struct AddUnderlying<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ VenueError::UnauthorizedAdmin)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(
        init,
        payer = admin,
        space = Underlying::SPACE,
        seeds = [Underlying::SEED, venue.key().as_ref(), &venue.load()?.num_underlyings.to_le_bytes()],
        bump,
    )]
    pub underlying: AccountLoader<'info, Underlying>,
    /// Owner (the Pyth receiver program) and layout are checked by `Account`.
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub system_program: Program<'info, System>,
}

pub fn add_underlying(ctx: Context<AddUnderlying>, params: UnderlyingConfig) -> Result<()> {
    // 1. Parameters: positive oracle limits; grid ranges in (0, 1); non-negative confidence multiplier.
    let l = params.limits;
    require!(l.max_age_secs > 0 && l.max_conf_bps > 0 && l.max_ema_dev_bps > 0, VenueError::InvalidOracleLimits);
    let ages = [params.surface_max_age_secs, params.cache_max_age_secs, params.settlement_window_secs];
    require!(ages.iter().all(|a| *a > 0) && params.cache_max_move_bps > 0, VenueError::InvalidOracleLimits);
    let unit = |x: PodI128| x.fx() > I80F48::ZERO && x.fx() < I80F48::ONE;
    require!(unit(params.spot_range) && unit(params.vol_range), VenueError::InvalidRiskGrid);
    require!(params.conf_multiplier.fx() >= I80F48::ZERO, VenueError::InvalidRiskGrid);
    // 2. The feed must be live and valid now.
    let now = Clock::get()?.unix_timestamp;
    let (price, _) = checked_price(&ctx.accounts.price_update, &params, now, OracleUse::IncreaseRisk)?;
    // 3. Write the underlying and bump the venue's counter.
    let (key, underlying) = (ctx.accounts.venue.key(), ctx.accounts.underlying.key());
    let mut venue = ctx.accounts.venue.load_mut()?;
    let mut u = ctx.accounts.underlying.load_init()?;
    u.bump = ctx.bumps.underlying;
    u.venue = key;
    u.index = venue.num_underlyings;
    u.config = params;
    venue.num_underlyings = venue.num_underlyings.checked_add(1).ok_or(VenueError::MathOverflow)?;
    emit!(UnderlyingAdded { venue: key, underlying, index: u.index, config: params, price: raw(price.price) });
    Ok(())
}
