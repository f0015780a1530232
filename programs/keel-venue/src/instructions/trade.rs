//! Trade `size` lots of a market against the LP pool at the oracle-derived mark +/- the half-spread, bounded by
//! the caller's limit price; the fee goes to the pool. Risk-increasing trades need a `Valid` oracle and must
//! leave equity >= initial margin; reduce-only trades are always allowed (exits are never blocked), on an oracle
//! the reduce-risk policy accepts. Remaining accounts: the markets of the account's other open positions. With
//! `report`, the return data is the account's book after the trade (see [`BookReport`]).
use crate::error::VenueError;
use crate::events::Traded;
use crate::health::{book, charge_fee_ceil, settle_pnl_floor, BookReport};
use crate::oracle::{checked_price, OracleUse, OracleValidity};
use crate::state::{fx, op, MarginAccount, Market, PodI128, Position, Underlying, Venue};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::margin::qty_from_lots;
use keel_math::SafeMath;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

#[derive(Accounts)]
pub struct Trade<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(mut, has_one = venue, has_one = owner @ VenueError::UnauthorizedOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(mut, has_one = venue, has_one = underlying)]
    pub market: AccountLoader<'info, Market>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
}

pub fn trade<'info>(ctx: Context<'info, Trade<'info>>, size: i64, limit_price: i128, report: bool) -> Result<()> {
    // 1. Open, non-zero, live market.
    let mut venue = ctx.accounts.venue.load_mut()?;
    require!(!venue.is_paused(op::TRADE), VenueError::OperationPaused);
    require!(size != 0, VenueError::InvalidAmount);
    let now = Clock::get()?.unix_timestamp;
    let key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.is_live(now), VenueError::MarketExpired);
    // 2. The position slot, and whether this only reduces it.
    let mut acct = ctx.accounts.margin_account.load_mut()?;
    let slot = acct.slot_of(&key).or_else(|| acct.free_slot()).ok_or(VenueError::TooManyPositions)?;
    let mut pos = acct.positions[slot];
    let reduce_only = pos.size != 0 && (pos.size > 0) != (size > 0) && size.unsigned_abs() <= pos.size.unsigned_abs();
    // 3. Oracle under the policy for what the trade does, and a cache computed near this spot.
    let cfg = ctx.accounts.underlying.load()?.config;
    let usage = if reduce_only { OracleUse::ReduceRisk } else { OracleUse::IncreaseRisk };
    let (oracle, validity) = checked_price(&ctx.accounts.price_update, &cfg, now, usage)?;
    market.require_fresh(now, Some((oracle.price, &cfg)))?;
    // 4. Execution price: mark at the oracle price, plus or minus the half-spread; the caller's limit binds. On an
    //    oracle that is not Valid (only reduce-only trades get here) the trader gets the worse of the marks at the
    //    price and at its EMA: a pushed print on a thin feed cannot be cashed in by closing into it.
    let mut mark = market.mark_at(oracle.price)?;
    if validity != OracleValidity::Valid {
        let at_ema = market.mark_at(oracle.ema)?;
        mark = if size > 0 { mark.max(at_ema) } else { mark.min(at_ema) };
    }
    let half_spread = mark
        .safe_mul(I80F48::from_num(market.config.half_spread_bps))
        .and_then(|x| x.safe_div(I80F48::from_num(10_000)))
        .map_err(VenueError::from)?;
    let price = if size > 0 { mark.checked_add(half_spread) } else { mark.checked_sub(half_spread) };
    let price = price.ok_or(VenueError::MathOverflow)?.max(I80F48::ZERO);
    let limit = fx(limit_price);
    require!(if size > 0 { price <= limit } else { price >= limit }, VenueError::LimitPriceViolated);
    // 5. Funding to date, then the fill against the pool; open interest may only grow within the cap.
    let decimals = venue.collateral_decimals;
    market.accrue_funding(now, oracle.price)?;
    if !pos.is_open() {
        pos = Position { market: key, size: 0, cost: PodI128::ZERO, funding_snap: market.book.funding_index };
    }
    market.fold_funding(&mut pos, decimals)?;
    let before = (market.book.long_oi, market.book.short_oi);
    let realized = market.fill(&mut pos, size, price, decimals)?;
    let cap = market.config.max_open_interest;
    let within = |after: u64, before: u64| after <= cap || after <= before;
    require!(
        within(market.book.long_oi, before.0) && within(market.book.short_oi, before.1),
        VenueError::OpenInterestCap
    );
    // 6. Cash: realised P&L (floored against the trader) and the fee (ceiled) between the account and the pool.
    let realized = settle_pnl_floor(&mut venue, &mut acct, realized)?;
    let notional = qty_from_lots(size, decimals).and_then(|q| q.safe_mul(price)).map_err(VenueError::from)?;
    let fee = charge_fee_ceil(&mut venue, &mut acct, notional, market.config.taker_fee_bps)?;
    acct.positions[slot] = if pos.size == 0 { Position::default() } else { pos };
    // 7. Margin: anything that is not a pure reduction must leave equity >= initial margin.
    let valued = book(&acct, &venue, &[(key, &*market)], ctx.remaining_accounts, now, report)?;
    let h = valued.health;
    require!(reduce_only || h.meets_initial(), VenueError::InsufficientMargin);
    let account = ctx.accounts.margin_account.key();
    emit!(Traded {
        account,
        owner: acct.owner,
        market: key,
        size,
        price: price.to_bits(),
        limit_price,
        fee,
        realized,
        position_size: pos.size,
        position_cost: if pos.size == 0 { 0 } else { pos.cost.get() },
        collateral: acct.collateral,
        equity: h.equity.to_bits(),
        initial_margin: h.initial.to_bits(),
        maintenance_margin: h.maintenance.to_bits(),
        book: market.book,
        pool_assets: venue.pool_assets,
    });
    // 8. The book, for an owner that measures its own risk from it.
    if report {
        BookReport::publish(account, acct.collateral, &valued);
    }
    Ok(())
}
