//! Admin lists a market on an underlying: a perpetual, or a European call/put whose expiry has a posted surface.
use crate::error::VenueError;
use crate::events::MarketAdded;
use crate::state::{fx, Market, MarketBook, MarketConfig, MarketKind, Underlying, Venue, VolSurface};
use anchor_lang::prelude::*;
use fixed::types::I80F48;

#[derive(Accounts)]
pub struct AddMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ VenueError::UnauthorizedAdmin)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    /// The option's surface (same underlying and expiry); omitted for perps.
    pub surface: Option<Box<Account<'info, VolSurface>>>,
    #[account(
        init,
        payer = admin,
        space = Market::SPACE,
        seeds = [Market::SEED, venue.key().as_ref(), &venue.load()?.num_markets.to_le_bytes()],
        bump,
    )]
    pub market: AccountLoader<'info, Market>,
    pub system_program: Program<'info, System>,
}

pub fn add_market(ctx: Context<AddMarket>, config: MarketConfig) -> Result<()> {
    // 1. Terms by kind; fee and spread bounded; a positive OI cap.
    let now = Clock::get()?.unix_timestamp;
    let c = config;
    let terms_ok = match c.kind {
        MarketKind::Perp => c.strike == 0 && c.expiry == 0 && c.max_funding_bps_per_day <= 1000,
        MarketKind::Call | MarketKind::Put => {
            fx(c.strike) > I80F48::ZERO && c.expiry > now && c.max_funding_bps_per_day == 0
        }
    };
    let c_ok = i64::try_from(c.max_open_interest).is_ok();
    require!(
        terms_ok && c_ok && c.taker_fee_bps <= 1000 && c.half_spread_bps <= 1000 && c.max_open_interest > 0,
        VenueError::InvalidMarketParams
    );
    // 2. Options are priced off the surface of their underlying and expiry.
    let surface = match (c.kind, &ctx.accounts.surface) {
        (MarketKind::Perp, _) => Pubkey::default(),
        (_, None) => return err!(VenueError::SurfaceRequired),
        (_, Some(s)) => {
            require!(
                s.underlying == ctx.accounts.underlying.key() && s.expiry == c.expiry,
                VenueError::SurfaceMismatch
            );
            s.key()
        }
    };
    // 3. Write the market (empty cache until the first refresh) and bump the counter.
    let venue_key = ctx.accounts.venue.key();
    let mut venue = ctx.accounts.venue.load_mut()?;
    let key = ctx.accounts.market.key();
    let mut m = ctx.accounts.market.load_init()?;
    m.bump = ctx.bumps.market;
    m.venue = venue_key;
    m.underlying = ctx.accounts.underlying.key();
    m.surface = surface;
    m.index = venue.num_markets;
    m.config = c.into();
    m.book = MarketBook { last_funding_ts: now, ..Default::default() };
    venue.num_markets = venue.num_markets.checked_add(1).ok_or(VenueError::MathOverflow)?;
    emit!(MarketAdded { venue: venue_key, market: key, underlying: m.underlying, index: m.index, config: c });
    Ok(())
}
