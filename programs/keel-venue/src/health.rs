//! Account health from the markets of its positions, and the token movements between an account and the pool.
//!
//! Markets named by the instruction are passed in memory (they may have been modified already); every other open
//! position's market comes from `remaining_accounts`, in slot order, and must hold a fresh cache.
use crate::error::VenueError;
use crate::state::{keys_eq, MarginAccount, Market, Venue};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::margin::{account_health, Health, PositionRisk};

/// Health of `account`, valuing positions in `named` markets from memory and the rest from `remaining`.
pub fn health<'info>(
    account: &MarginAccount,
    venue: &Venue,
    named: &[(Pubkey, &Market)],
    remaining: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<Health> {
    // On the heap: MAX_POSITIONS risk arrays on the stack overflow an SBF frame. Slot order is kept.
    let mut risks: Vec<PositionRisk> = Vec::with_capacity(crate::state::MAX_POSITIONS);
    let mut extra = remaining.iter();
    for (_, pos) in account.open_positions() {
        // Each position is read into its place: a PositionRisk is ~330 bytes, a software copy on SBF.
        let slot = risks.len();
        risks.push(PositionRisk::ZERO);
        if let Some((_, m)) = named.iter().find(|(k, _)| keys_eq(k, &pos.market)) {
            m.read_position_risk(pos, venue.collateral_decimals, &mut risks[slot])?;
        } else {
            let info = extra.next().ok_or(VenueError::MarketAccountsMismatch)?;
            require!(keys_eq(info.key, &pos.market), VenueError::MarketAccountsMismatch);
            let m = load_market(info)?;
            require!(keys_eq(&m.venue, &account.venue), VenueError::MarketAccountsMismatch);
            m.require_fresh(now, None)?;
            m.read_position_risk(pos, venue.collateral_decimals, &mut risks[slot])?;
        }
    }
    require!(extra.next().is_none(), VenueError::MarketAccountsMismatch);
    let collateral = I80F48::from_num(account.collateral);
    Ok(account_health(collateral, &risks, &venue.margin.params()).map_err(VenueError::from)?)
}

/// A market passed as a remaining account, owner- and discriminator-checked and read in place (see
/// [`crate::state::load_in_place`]).
pub fn load_market<'a>(info: &'a AccountInfo) -> Result<std::cell::Ref<'a, Market>> {
    crate::state::load_in_place(info)
}

/// Moves realised P&L between the account and the pool: the account receives floor(realized) (a loss is charged
/// in full, a gain paid rounded down), the pool the exact opposite. Returns the amount credited.
pub fn settle_pnl_floor(venue: &mut Venue, account: &mut MarginAccount, realized: I80F48) -> Result<i64> {
    let amount: i64 = realized.floor().checked_to_num().ok_or(VenueError::MathOverflow)?;
    account.collateral = account.collateral.checked_add(amount).ok_or(VenueError::MathOverflow)?;
    venue.pool_assets = if amount >= 0 {
        venue.pool_assets.checked_sub(amount.unsigned_abs()).ok_or(VenueError::PoolInsolvent)?
    } else {
        venue.pool_assets.checked_add(amount.unsigned_abs()).ok_or(VenueError::MathOverflow)?
    };
    Ok(amount)
}

/// A fee of `fee_bps` on `notional` tokens, rounded up, moved from the account to the pool.
pub fn charge_fee_ceil(venue: &mut Venue, account: &mut MarginAccount, notional: I80F48, fee_bps: u16) -> Result<u64> {
    let fee = notional
        .saturating_abs()
        .checked_mul(I80F48::from_num(fee_bps))
        .map(|f| f / I80F48::from_num(10_000))
        .ok_or(VenueError::MathOverflow)?;
    let fee: u64 = fee.ceil().checked_to_num().ok_or(VenueError::MathOverflow)?;
    let signed = i64::try_from(fee).map_err(|_| VenueError::MathOverflow)?;
    account.collateral = account.collateral.checked_sub(signed).ok_or(VenueError::MathOverflow)?;
    venue.pool_assets = venue.pool_assets.checked_add(fee).ok_or(VenueError::MathOverflow)?;
    Ok(fee)
}

/// The pool's net asset value (tokens) at `bound`: cash plus its claim on every market. `markets` must be every
/// market of the venue in index order; those with open interest need a fresh cache.
pub fn pool_nav<'info>(
    venue: &Venue,
    venue_key: &Pubkey,
    markets: &'info [AccountInfo<'info>],
    now: i64,
    bound: keel_math::margin::Bound,
) -> Result<I80F48> {
    require!(markets.len() == venue.num_markets as usize, VenueError::MarketAccountsMismatch);
    let mut nav = I80F48::from_num(venue.pool_assets);
    for (i, info) in markets.iter().enumerate() {
        let m = load_market(info)?;
        let index = u32::try_from(i).map_err(|_| VenueError::MathOverflow)?;
        require!(keys_eq(&m.venue, venue_key) && m.index == index, VenueError::MarketAccountsMismatch);
        if m.book.long_oi > 0 || m.book.short_oi > 0 {
            m.require_fresh(now, None)?;
        }
        let claim = m.pool_claim(venue.collateral_decimals, bound)?;
        nav = nav.checked_add(claim).ok_or(VenueError::MathOverflow)?;
    }
    Ok(nav)
}

/// Once an account holds no positions, a negative collateral balance is bad debt: the pool absorbs it (it was
/// credited the full loss when the loss was realised). Returns the amount written off.
pub fn write_off_bad_debt(venue: &mut Venue, account: &mut MarginAccount) -> Result<u64> {
    if account.has_positions() || account.collateral >= 0 {
        return Ok(0);
    }
    let deficit = account.collateral.unsigned_abs();
    venue.pool_assets = venue.pool_assets.checked_sub(deficit).ok_or(VenueError::PoolInsolvent)?;
    account.collateral = 0;
    Ok(deficit)
}
