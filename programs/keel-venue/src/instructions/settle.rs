//! Expiry: `settle_market` fixes an option's payoff from the first acceptable oracle price published within the
//! settlement window after expiry; `settle_position` (permissionless crank) then closes each holder's position at
//! that payoff against the pool.
use crate::error::VenueError;
use crate::events::{MarketSettled, PositionSettled};
use crate::health::{settle_pnl_floor, write_off_bad_debt};
use crate::oracle::{evaluate, read_price, OracleValidity};
use crate::state::{raw, MarginAccount, Market, Position, Underlying, Venue};
use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

#[derive(Accounts)]
pub struct SettleMarket<'info> {
    pub settler: Signer<'info>,
    pub venue: AccountLoader<'info, Venue>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(mut, has_one = venue, has_one = underlying)]
    pub market: AccountLoader<'info, Market>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
}

pub fn settle_market(ctx: Context<SettleMarket>) -> Result<()> {
    // 1. An expired, unsettled option.
    let now = Clock::get()?.unix_timestamp;
    let key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.is_option(), VenueError::NotAnOption);
    require!(!market.book.is_settled(), VenueError::AlreadySettled);
    require!(now >= market.config.expiry, VenueError::SettleTooEarly);
    // 2. A price published inside [expiry, expiry + window], positive and not too uncertain at its own time
    //    (settlement is final, so an uncertain print is refused; a later print inside the window may be used).
    let cfg = ctx.accounts.underlying.load()?.config;
    let p = read_price(&ctx.accounts.price_update, &cfg.feed_id)?;
    let window_end = market.config.expiry.saturating_add(i64::from(cfg.settlement_window_secs));
    require!(
        p.publish_time >= market.config.expiry && p.publish_time <= window_end,
        VenueError::SettlementPriceOutsideWindow
    );
    match evaluate(&p, &cfg.limits, p.publish_time)? {
        OracleValidity::NonPositive => return err!(VenueError::OracleNonPositive),
        OracleValidity::TooUncertain => return err!(VenueError::OracleTooUncertain),
        _ => {}
    }
    // 3. Fix the payoff.
    let value = market.payoff(p.price)?;
    market.book.settled = 1;
    market.book.settlement_price = p.price.into();
    market.book.settlement_value = value.into();
    emit!(MarketSettled {
        market: key,
        settlement_price: raw(p.price),
        publish_time: p.publish_time,
        book: market.book
    });
    Ok(())
}

#[derive(Accounts)]
pub struct SettlePosition<'info> {
    pub cranker: Signer<'info>,
    #[account(mut)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(mut, has_one = venue)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, has_one = venue)]
    pub market: AccountLoader<'info, Market>,
}

pub fn settle_position(ctx: Context<SettlePosition>) -> Result<()> {
    // 1. A settled market and a position in it.
    let key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.book.is_settled(), VenueError::MarketNotSettled);
    let mut acct = ctx.accounts.margin_account.load_mut()?;
    let slot = acct.slot_of(&key).ok_or(VenueError::PositionNotFound)?;
    let mut pos = acct.positions[slot];
    // 2. Close it at the payoff against the pool; realised P&L moves as cash (floored against the holder).
    let mut venue = ctx.accounts.venue.load_mut()?;
    let decimals = venue.collateral_decimals;
    let value = market.book.settlement_value.fx();
    let size = pos.size;
    let realized = market.fill(&mut pos, -size, value, decimals)?;
    let realized = settle_pnl_floor(&mut venue, &mut acct, realized)?;
    acct.positions[slot] = Position::default();
    let bad_debt = write_off_bad_debt(&mut venue, &mut acct)?;
    emit!(PositionSettled {
        account: ctx.accounts.margin_account.key(),
        market: key,
        size,
        realized,
        collateral: acct.collateral,
        bad_debt,
        pool_assets: venue.pool_assets,
    });
    Ok(())
}
