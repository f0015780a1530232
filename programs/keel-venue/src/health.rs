//! Account health from the markets of its positions, the book report an account's owner may ask for, and the token
//! movements between an account and the pool.
//!
//! Markets named by the instruction are passed in memory (they may have been modified already); every other open
//! position's market comes from `remaining_accounts`, in slot order, and must hold a fresh cache.
use crate::error::VenueError;
use crate::state::{keys_eq, MarginAccount, Market, PodI128, Venue, RISK_SCENARIOS};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::book::BookSums;
use keel_math::margin::{AccountSums, Health, PositionRisk};

/// Health of `account`, valuing positions in `named` markets from memory and the rest from `remaining`.
pub fn health<'info>(
    account: &MarginAccount,
    venue: &Venue,
    named: &[(Pubkey, &Market)],
    remaining: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<Health> {
    Ok(book(account, venue, named, remaining, now, false)?.health)
}

/// An account valued position by position: its health and the sums it is made of.
pub struct Valued {
    pub health: Health,
    /// Every position's terms: the margin sums always, the exposure terms too when asked (see [`book`]).
    pub sums: BookSums,
    /// The terms of the position in the first named market (zero if none, or when the exposure was not asked for).
    pub named: BookSums,
}

/// [`health`] with the sums it is made of: the margin sums always, and with `exposure` the greeks, gross quantity and
/// unbiased value as well, and the first named market's position's terms on their own (what a [`BookReport`]
/// carries; a few products per position that a plain margin check does not need). One pass over the positions, each
/// read into the same slot: a `PositionRisk` is ~330 bytes, and each copy of one is a software copy on SBF.
#[cfg_attr(target_os = "solana", inline(never))]
pub fn book<'info>(
    account: &MarginAccount,
    venue: &Venue,
    named: &[(Pubkey, &Market)],
    remaining: &'info [AccountInfo<'info>],
    now: i64,
    exposure: bool,
) -> Result<Box<Valued>> {
    let params = venue.margin.params();
    let decimals = venue.collateral_decimals;
    // On the heap: the sums and the slot pass 1 KiB, and the callers' frames hold accounts already.
    let mut v = Box::new(Valued { health: Health::default(), sums: BookSums::default(), named: BookSums::default() });
    let mut risk = Box::new(PositionRisk::ZERO);
    let mut add = |m: &Market, pos: &crate::state::Position, first_named: bool| -> Result<()> {
        m.read_position_risk(pos, decimals, &mut risk)?;
        let added = if !exposure {
            v.sums.margin.add(&risk, &params)
        } else if first_named {
            // Its terms alone, then into the whole (the same bits as adding them directly: sums are exact).
            v.named.add(&risk, pos.size, &m.greeks(), &params).and_then(|()| v.sums.add_sums(&v.named))
        } else {
            v.sums.add(&risk, pos.size, &m.greeks(), &params)
        };
        Ok(added.map_err(VenueError::from)?)
    };
    let mut extra = remaining.iter();
    for (_, pos) in account.open_positions() {
        if let Some(i) = named.iter().position(|(k, _)| keys_eq(k, &pos.market)) {
            add(named[i].1, pos, i == 0)?;
        } else {
            let info = extra.next().ok_or(VenueError::MarketAccountsMismatch)?;
            require!(keys_eq(info.key, &pos.market), VenueError::MarketAccountsMismatch);
            let m = load_market(info)?;
            require!(keys_eq(&m.venue, &account.venue), VenueError::MarketAccountsMismatch);
            m.require_fresh(now, None)?;
            add(&m, pos, false)?;
        }
    }
    require!(extra.next().is_none(), VenueError::MarketAccountsMismatch);
    v.health = v.sums.margin.health(I80F48::from_num(account.collateral), &params).map_err(VenueError::from)?;
    Ok(v)
}

/// What `trade` and `withdraw_margin` return when the caller asks (`report`), as return data: the account's book
/// after the instruction, as the venue valued it for its margin check, and within it the position in the traded
/// market. An owner that measures its own risk (keel-vault) reads it instead of valuing every position again;
/// keel-math's `BookSums` says how to take a position's terms out and in. `repr(C)`, no padding: its bytes, which
/// are the return data, are also its Borsh encoding.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct BookReport {
    /// The margin account reported on.
    pub margin_account: Pubkey,
    /// Every open position.
    pub book: ReportedSums,
    /// The position in the traded market (a trade's; zero for a withdrawal, or when the trade closed it).
    pub position: ReportedSums,
    /// The account's collateral after the instruction (tokens).
    pub collateral: i64,
}

/// keel-math's `BookSums` as stored: every fixed-point field is I80F48 bits.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct ReportedSums {
    /// Sum of position values at the lower bound of the confidence band (tokens; collateral not included).
    pub value_lower: PodI128,
    /// Summed risk arrays (tokens per scenario).
    pub scenarios: [PodI128; RISK_SCENARIOS],
    /// Sum of the short options' minimum initial margin (tokens).
    pub short_option_floor: PodI128,
    /// Delta, gamma and vega summed in lots (size x per-unit greek).
    pub greeks_lots: [PodI128; 3],
    /// Sum of |quantity| (token-scaled units).
    pub gross_qty: PodI128,
    /// Sum of position values at unbiased marks (tokens).
    pub mid: PodI128,
}

impl From<&BookSums> for ReportedSums {
    fn from(s: &BookSums) -> Self {
        let m = &s.margin;
        ReportedSums {
            value_lower: m.value_lower.into(),
            scenarios: m.scenarios.map(PodI128::from),
            short_option_floor: m.short_option_floor.into(),
            greeks_lots: s.greeks_lots.map(PodI128::from),
            gross_qty: s.gross_qty.into(),
            mid: s.mid.into(),
        }
    }
}

impl ReportedSums {
    /// The sums reported.
    pub fn sums(&self) -> BookSums {
        BookSums {
            margin: AccountSums {
                value_lower: self.value_lower.fx(),
                scenarios: self.scenarios.map(PodI128::fx),
                short_option_floor: self.short_option_floor.fx(),
            },
            greeks_lots: self.greeks_lots.map(PodI128::fx),
            gross_qty: self.gross_qty.fx(),
            mid: self.mid.fx(),
        }
    }
}

impl BookReport {
    pub fn new(margin_account: Pubkey, collateral: i64, v: &Valued) -> Self {
        BookReport { margin_account, book: (&v.sums).into(), position: (&v.named).into(), collateral }
    }

    /// Sets the report of `v` as this instruction's return data: its bytes, built on the heap (~0.7 KiB) and out of
    /// line on SBF, away from the handler's frame.
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn publish(margin_account: Pubkey, collateral: i64, v: &Valued) {
        let report = Box::new(Self::new(margin_account, collateral, v));
        crate::return_data::set(bytemuck::bytes_of(&*report));
    }
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
