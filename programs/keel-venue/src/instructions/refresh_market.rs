//! Permissionless greek/risk cache refresh: mark, delta, gamma, vega, theta and the 7 x 2 scenario array of one
//! unit, at the current oracle price and the surface's implied vol, stamped with spot, vol, slot and time.
//! Computing this once per market lets margin and mandate checks be cheap sums per account.
use crate::error::VenueError;
use crate::events::MarketRefreshed;
use crate::oracle::{checked_price, OracleUse, OracleValidity};
use crate::state::{op, Market, MarketKind, PodI128, RiskCache, Underlying, Venue, VolSurface};
use anchor_lang::prelude::*;
use keel_math::bs::{years_from_seconds, OptionKind};
use keel_math::instrument::{instrument_risk, Instrument};
use keel_math::SafeMath;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

#[derive(Accounts)]
pub struct RefreshMarket<'info> {
    pub refresher: Signer<'info>,
    pub venue: AccountLoader<'info, Venue>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(mut, has_one = venue, has_one = underlying)]
    pub market: AccountLoader<'info, Market>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    /// Required for options: must be the market's surface.
    pub surface: Option<Box<Account<'info, VolSurface>>>,
}

pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
    // 1. Not paused.
    require!(!ctx.accounts.venue.load()?.is_paused(op::REFRESH), VenueError::OperationPaused);
    let clock = Clock::get()?;
    let now = clock.unix_timestamp;
    let cfg = ctx.accounts.underlying.load()?.config;
    // 2. Oracle: refresh accepts what a risk-reducing action accepts (so exits keep working in a disorderly
    //    market) and records whether the price was fully Valid for risk-increasing consumers.
    let (price, validity) = checked_price(&ctx.accounts.price_update, &cfg, now, OracleUse::ReduceRisk)?;
    // 3. Instrument at this time: options need a live market and a fresh surface.
    let mut market = ctx.accounts.market.load_mut()?;
    let inst = match market.kind() {
        MarketKind::Perp => Instrument::Perp,
        kind => {
            require!(now < market.config.expiry, VenueError::MarketExpired);
            let s = ctx.accounts.surface.as_ref().ok_or(VenueError::SurfaceRequired)?;
            require!(s.key() == market.surface, VenueError::SurfaceMismatch);
            require!(now.saturating_sub(s.posted_ts) <= i64::from(cfg.surface_max_age_secs), VenueError::SurfaceStale);
            let t = years_from_seconds(market.config.expiry - now).map_err(VenueError::from)?;
            let kind = if kind == MarketKind::Call { OptionKind::Call } else { OptionKind::Put };
            Instrument::Option { kind, strike: market.config.strike.fx(), t, svi: s.svi() }
        }
    };
    // 4. The maths, in keel-math (the keeper calls the same function to predict this cache).
    let risk =
        instrument_risk(&inst, price.price, cfg.spot_range.fx(), cfg.vol_range.fx()).map_err(VenueError::from)?;
    // Margin marks sit k confidence intervals against the holder, carried to the mark by |delta|.
    let bias =
        risk.greeks.delta.saturating_abs().safe_mul(cfg.conf_multiplier.fx()).and_then(|b| b.safe_mul(price.conf));
    let cache = RiskCache {
        mark: risk.greeks.price.into(),
        delta: risk.greeks.delta.into(),
        gamma: risk.greeks.gamma.into(),
        vega: risk.greeks.vega.into(),
        theta: risk.greeks.theta.into(),
        risk_array: risk.risk_array.map(PodI128::from),
        spot: price.price.into(),
        conf: price.conf.into(),
        bias: bias.map_err(VenueError::from)?.into(),
        vol: risk.vol.into(),
        slot: clock.slot,
        ts: now,
        valid_until: now.saturating_add(i64::from(cfg.cache_max_age_secs)),
        oracle_valid: u8::from(validity == OracleValidity::Valid),
        reserved: [0; 7],
    };
    // 5. Perp funding accrues to now at this spot; store and announce.
    market.accrue_funding(now, price.price)?;
    market.cache = cache;
    let (key, refresher) = (ctx.accounts.market.key(), ctx.accounts.refresher.key());
    MarketRefreshed { market: key, cache, book: market.book, refresher }.emit_from_parts();
    Ok(())
}
