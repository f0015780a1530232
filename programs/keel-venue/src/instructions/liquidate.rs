//! Permissionless, gradual liquidation. While an account's equity is below maintenance margin, anyone may close
//! part of one position (at most `liquidation_max_close_bps` of it per call; all of it once the account is
//! bankrupt, equity <= 0) against the pool at the mark, with no spread, and is paid a penalty on the closed
//! notional out of the account's collateral. Each step must
//! shrink the maintenance shortfall, so a liquidator cannot strip a hedge to farm rewards. When the last position
//! is gone a negative balance is written off against the pool. Remaining accounts: the other positions' markets.
use crate::error::VenueError;
use crate::events::Liquidated;
use crate::health::{health, settle_pnl_floor, write_off_bad_debt};
use crate::oracle::{checked_price, OracleUse};
use crate::state::{op, MarginAccount, Market, Position, Underlying, Venue};
use crate::token::pay_out;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use fixed::types::I80F48;
use keel_math::margin::qty_from_lots;
use keel_math::SafeMath;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = collateral_vault)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(mut, has_one = venue)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(has_one = venue)]
    pub underlying: AccountLoader<'info, Underlying>,
    #[account(mut, has_one = venue, has_one = underlying)]
    pub market: AccountLoader<'info, Market>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    #[account(mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub collateral_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the reward.
    #[account(mut, token::mint = collateral_mint, token::token_program = token_program)]
    pub liquidator_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = venue.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn liquidate<'info>(ctx: Context<'info, Liquidate<'info>>, max_lots: u64) -> Result<()> {
    // 1. Open, a position in this live market, an oracle the reduce-risk policy accepts and a fresh cache.
    // The venue is borrowed until step 7, whose token CPI it signs.
    let mut venue = ctx.accounts.venue.load_mut()?;
    require!(!venue.is_paused(op::LIQUIDATE), VenueError::OperationPaused);
    require!(max_lots > 0, VenueError::InvalidAmount);
    let now = Clock::get()?.unix_timestamp;
    let key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    require!(market.is_live(now), VenueError::MarketExpired);
    let mut acct = ctx.accounts.margin_account.load_mut()?;
    let slot = acct.slot_of(&key).ok_or(VenueError::PositionNotFound)?;
    let cfg = ctx.accounts.underlying.load()?.config;
    let (oracle, _) = checked_price(&ctx.accounts.price_update, &cfg, now, OracleUse::ReduceRisk)?;
    market.require_fresh(now, Some((oracle.price, &cfg)))?;
    // 2. Below maintenance.
    let before = health(&acct, &venue, &[(key, &*market)], ctx.remaining_accounts, now)?;
    require!(before.is_liquidatable(), VenueError::NotLiquidatable);
    // 3. How much to close: the caller's maximum, capped at the per-call fraction (at least one lot) unless the
    //    account is bankrupt (equity <= 0), when waiting only lets the deficit grow.
    let mut pos = acct.positions[slot];
    let held = pos.size.unsigned_abs();
    let margin = venue.margin;
    let fraction = u128::from(held) * u128::from(margin.liquidation_max_close_bps);
    let step = u64::try_from(fraction.div_ceil(10_000)).map_err(|_| VenueError::MathOverflow)?;
    let step = if before.equity <= I80F48::ZERO { held } else { step };
    let lots = held.min(max_lots).min(step.max(1));
    let lots = i64::try_from(lots).map_err(|_| VenueError::MathOverflow)?;
    let delta = if pos.size > 0 { -lots } else { lots };
    // 4. Close at the mark against the pool; realised P&L moves as cash.
    let decimals = venue.collateral_decimals;
    let price = market.mark_at(oracle.price)?;
    market.accrue_funding(now, oracle.price)?;
    market.fold_funding(&mut pos, decimals)?;
    let realized = market.fill(&mut pos, delta, price, decimals)?;
    let realized = settle_pnl_floor(&mut venue, &mut acct, realized)?;
    acct.positions[slot] = if pos.size == 0 { Position::default() } else { pos };
    // 5. The liquidator's reward: the penalty on the closed notional (rounded up), out of what collateral is left.
    let notional = qty_from_lots(lots, decimals).and_then(|q| q.safe_mul(price)).map_err(VenueError::from)?;
    let penalty = notional
        .safe_mul(I80F48::from_num(margin.liquidation_fee_bps))
        .and_then(|p| p.safe_div(I80F48::from_num(10_000)))
        .map_err(VenueError::from)?;
    let penalty: u64 = penalty.ceil().checked_to_num().ok_or(VenueError::MathOverflow)?;
    let reward = penalty.min(acct.collateral.max(0).unsigned_abs());
    acct.collateral -= i64::try_from(reward).map_err(|_| VenueError::MathOverflow)?;
    let bad_debt = write_off_bad_debt(&mut venue, &mut acct)?;
    // 6. The step must shrink the shortfall below maintenance.
    let after = health(&acct, &venue, &[(key, &*market)], ctx.remaining_accounts, now)?;
    let (sf_before, sf_after) = (before.maintenance_shortfall(), after.maintenance_shortfall());
    let (sf_before, sf_after) = (sf_before.map_err(VenueError::from)?, sf_after.map_err(VenueError::from)?);
    require!(sf_after < sf_before, VenueError::LiquidationNotImproving);
    // 7. Pay the reward from the vault (the venue PDA signs) and announce.
    let (signer, pool_assets) = (venue.signer(), venue.pool_assets);
    drop(venue);
    let a = &ctx.accounts;
    if reward > 0 {
        let (vault, to) = (a.collateral_vault.to_account_info(), a.liquidator_collateral.to_account_info());
        pay_out(a.venue.to_account_info(), &signer, &a.token_program, &a.collateral_mint, vault, to, reward)?;
    }
    emit!(Liquidated {
        account: a.margin_account.key(),
        liquidator: a.liquidator.key(),
        market: key,
        closed: delta,
        price: price.to_bits(),
        realized,
        reward,
        shortfall_before: sf_before.to_bits(),
        shortfall_after: sf_after.to_bits(),
        position_size: pos.size,
        collateral: acct.collateral,
        bad_debt,
        pool_assets,
    });
    Ok(())
}
