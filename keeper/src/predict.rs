//! What an allocation will do, computed before it is sent: the venue's own trade arithmetic (funding, fill,
//! realised P&L floored, fee ceiled, open-interest cap, initial margin for anything that is not a pure reduction)
//! and LP pool arithmetic (shares priced at the pool's NAV bounds, rounded for the pool) applied to copies of the
//! accounts, then keel-vault's own portfolio measure. The same public functions the
//! programs run, so a plan the prediction accepts is one the programs accept (keeper/tests/strategist.rs checks
//! the predicted margin account against the chain's to the unit).
use crate::vault_view::{lp_stake_of, venue_markets, with_images, KeeperError, VaultView};
use fixed::types::I80F48;
use keel_math::mandate::PortfolioRisk;
use keel_math::margin::{account_health, Bound, Health};
use keel_math::SafeMath;
use keel_vault::portfolio::{Held, Holdings};
use keel_vault::state::Vault;
use keel_venue::health::{charge_fee_ceil, settle_pnl_floor};
use keel_venue::state::{MarginAccount, Market, PodI128, Position, Venue};
use solana_sdk::pubkey::Pubkey;
use std::collections::BTreeMap;

/// Copies of the accounts an allocation touches, advanced step by step as the programs would.
#[derive(Clone)]
pub struct Projection {
    pub vault: Vault,
    pub venue: Venue,
    pub margin: MarginAccount,
    pub markets: BTreeMap<Pubkey, Market>,
    pub venue_key: Pubkey,
    pub spot: I80F48,
    pub now: i64,
    /// Whether trades check the venue's initial margin (off to size margin from the trades alone).
    pub check_margin: bool,
}

/// Why a step would be refused (the program's error, named).
pub type Refusal = String;

impl Projection {
    pub fn new(view: &VaultView) -> Self {
        Self {
            vault: view.vault,
            venue: view.venue,
            margin: view.margin,
            markets: view.markets.iter().cloned().collect(),
            venue_key: view.keys.venue,
            spot: view.price.price,
            now: view.clock.unix_timestamp,
            check_margin: true,
        }
    }

    fn market(&self, key: &Pubkey) -> Result<&Market, Refusal> {
        self.markets.get(key).ok_or_else(|| format!("market {key} was not loaded"))
    }

    /// Idle collateral to the venue margin account (`margin_in`), or back (`amount` < 0, `margin_out`).
    pub fn move_margin(&mut self, amount: i64) -> Result<(), Refusal> {
        let idle = i64::try_from(self.vault.idle_assets).map_err(|_| "idle out of range".to_string())?;
        let idle = idle.checked_sub(amount).filter(|i| *i >= 0).ok_or("InsufficientIdle")?;
        let collateral = self.margin.collateral.checked_add(amount).ok_or("MathOverflow")?;
        if amount < 0 && (collateral < 0 || !self.health()?.meets_initial()) {
            // The venue's withdraw_margin requires equity >= initial margin afterwards.
            return Err("InsufficientMargin (margin withdrawal)".into());
        }
        self.vault.idle_assets = idle.unsigned_abs();
        self.margin.collateral = collateral;
        Ok(())
    }

    /// keel-venue's `deposit_lp` of `amount` idle tokens: shares at the pool's upper NAV (ceiled), floored.
    /// Returns the shares minted.
    pub fn lp_in(&mut self, amount: u64) -> Result<u64, Refusal> {
        let idle = self.vault.idle_assets.checked_sub(amount).ok_or("InsufficientIdle")?;
        let nav = self.pool_nav_rounded(Bound::Upper)?;
        let shares = Venue::LP_SHARE_MATH
            .amount_to_shares_floor(amount, nav, self.venue.lp_shares)
            .map_err(|e| e.to_string())?;
        if shares == 0 {
            return Err("RoundsToZero".into());
        }
        self.venue.pool_assets = self.venue.pool_assets.checked_add(amount).ok_or("MathOverflow")?;
        self.venue.lp_shares = self.venue.lp_shares.checked_add(shares).ok_or("MathOverflow")?;
        self.vault.idle_assets = idle;
        self.vault.lp_shares_held = self.vault.lp_shares_held.checked_add(shares).ok_or("MathOverflow")?;
        Ok(shares)
    }

    /// keel-venue's `withdraw_lp` of `shares`: paid at the pool's lower NAV (floored), from its cash only.
    /// Returns the tokens paid to idle.
    pub fn lp_out(&mut self, shares: u64) -> Result<u64, Refusal> {
        let held = self.vault.lp_shares_held.checked_sub(shares).ok_or("InsufficientShares")?;
        let nav = self.pool_nav_rounded(Bound::Lower)?;
        let amount = Venue::LP_SHARE_MATH
            .shares_to_amount_floor(shares, nav, self.venue.lp_shares)
            .map_err(|e| e.to_string())?;
        if amount == 0 {
            return Err("RoundsToZero".into());
        }
        self.venue.pool_assets = self.venue.pool_assets.checked_sub(amount).ok_or("InsufficientPoolLiquidity")?;
        self.venue.lp_shares = self.venue.lp_shares.checked_sub(shares).ok_or("MathOverflow")?;
        self.vault.idle_assets = self.vault.idle_assets.checked_add(amount).ok_or("MathOverflow")?;
        self.vault.lp_shares_held = held;
        Ok(amount)
    }

    /// The LP shares that redeem for at least `amount` tokens now (ceiled; 0 when the pool is worth nothing).
    pub fn lp_shares_for_ceil(&self, amount: u64) -> Result<u64, Refusal> {
        let nav = self.pool_nav_rounded(Bound::Lower)?;
        Venue::LP_SHARE_MATH.amount_to_shares_ceil(amount, nav, self.venue.lp_shares).map_err(|e| e.to_string())
    }

    /// keel-venue's pool NAV at `bound` over the projected markets, rounded as its LP flows round it (for the pool):
    /// the deposit price up (a negative NAV refuses deposits), the redemption price down (at least zero).
    fn pool_nav_rounded(&self, bound: Bound) -> Result<u64, Refusal> {
        let all = venue_markets(&self.venue, &self.venue_key, self.markets.iter()).map_err(|e| e.to_string())?;
        let venue = &self.venue;
        let nav =
            with_images(&all, |infos| keel_venue::health::pool_nav(venue, &self.venue_key, infos, self.now, bound))
                .map_err(|e| e.to_string())?;
        let rounded = match bound {
            Bound::Upper if nav < I80F48::ZERO => return Err("PoolInsolvent".into()),
            Bound::Upper => nav.ceil(),
            Bound::Lower => nav.max(I80F48::ZERO).floor(),
        };
        rounded.checked_to_num().ok_or_else(|| "MathOverflow".into())
    }

    /// The price a taker trade of `size` lots executes at: the mark at spot plus or minus the half-spread.
    pub fn execution_price(&self, market: &Pubkey, size: i64) -> Result<I80F48, Refusal> {
        let m = self.market(market)?;
        let mark = m.mark_at(self.spot).map_err(|e| e.to_string())?;
        let half = mark * I80F48::from_num(m.config.half_spread_bps) / I80F48::from_num(10_000);
        Ok(if size > 0 { mark + half } else { (mark - half).max(I80F48::ZERO) })
    }

    /// keel-venue's `trade` steps 2 and 4-7 on the copies.
    pub fn trade(&mut self, key: &Pubkey, size: i64) -> Result<(), Refusal> {
        let price = self.execution_price(key, size)?;
        let decimals = self.venue.collateral_decimals;
        let mut market = *self.market(key)?;
        if market.book.is_settled() || (market.is_option() && self.now >= market.config.expiry) {
            return Err("MarketExpired".into());
        }
        let slot = self.margin.slot_of(key).or_else(|| self.margin.free_slot()).ok_or("TooManyPositions")?;
        let mut pos = self.margin.positions[slot];
        let reduce_only = self.reduces(key, size);
        let e = |e: anchor_lang::error::Error| e.to_string();
        market.accrue_funding(self.now, self.spot).map_err(e)?;
        if !pos.is_open() {
            pos = Position { market: *key, size: 0, cost: PodI128::ZERO, funding_snap: market.book.funding_index };
        }
        market.fold_funding(&mut pos, decimals).map_err(e)?;
        let before = (market.book.long_oi, market.book.short_oi);
        let realized = market.fill(&mut pos, size, price, decimals).map_err(e)?;
        let cap = market.config.max_open_interest;
        let within = |after: u64, before: u64| after <= cap || after <= before;
        if !within(market.book.long_oi, before.0) || !within(market.book.short_oi, before.1) {
            return Err("OpenInterestCap".into());
        }
        settle_pnl_floor(&mut self.venue, &mut self.margin, realized).map_err(e)?;
        let notional = keel_math::margin::qty_from_lots(size, decimals)
            .and_then(|q| q.safe_mul(price))
            .map_err(|m| m.to_string())?;
        charge_fee_ceil(&mut self.venue, &mut self.margin, notional, market.config.taker_fee_bps).map_err(e)?;
        self.margin.positions[slot] = if pos.size == 0 { Position::default() } else { pos };
        self.markets.insert(*key, market);
        if self.check_margin && !reduce_only && !self.health()?.meets_initial() {
            return Err("InsufficientMargin".into());
        }
        Ok(())
    }

    /// The venue's margin health of the margin account (equity, initial, maintenance).
    pub fn health(&self) -> Result<Health, Refusal> {
        let risks: Vec<_> = self.positions()?.iter().map(|p| p.risk).collect();
        let collateral = I80F48::from_num(self.margin.collateral);
        account_health(collateral, &risks, &self.venue.margin.params()).map_err(|e| e.to_string())
    }

    fn positions(&self) -> Result<Vec<Held>, Refusal> {
        let mut positions = Vec::new();
        for p in self.margin.positions.iter().filter(|p| p.is_open()) {
            let m = self.market(&p.market)?;
            positions.push(Held::new(p, m, self.venue.collateral_decimals).map_err(|e| e.to_string())?);
        }
        Ok(positions)
    }

    /// The vault's holdings as the program loads them: the margin account and, when shares are held, the LP stake.
    fn holdings(&self) -> Result<Holdings, Refusal> {
        let positions = self.positions()?;
        let lp = if self.vault.lp_shares_held > 0 {
            let stake = lp_stake_of(&self.vault, &self.venue, &self.venue_key, self.markets.iter(), self.now);
            Some(stake.map_err(|e| e.to_string())?)
        } else {
            None
        };
        Ok(Holdings { collateral: I80F48::from_num(self.margin.collateral), positions, lp })
    }

    /// The mandate's view of the projected portfolio, as `allocate` measures it at its end.
    pub fn portfolio(&self) -> Result<PortfolioRisk, KeeperError> {
        let h = self.holdings().map_err(KeeperError::Rule)?;
        Ok(h.portfolio(&self.vault, &self.venue, self.spot)?)
    }

    /// The projected portfolio with the LP stake's exposures left out (its value kept): the book on its own.
    pub fn portfolio_without_pool_exposure(&self) -> Result<PortfolioRisk, KeeperError> {
        let mut h = self.holdings().map_err(KeeperError::Rule)?;
        if let Some(lp) = h.lp.as_mut() {
            lp.exposure = Some(Box::default());
        }
        Ok(h.portfolio(&self.vault, &self.venue, self.spot)?)
    }

    /// Whether trading `size` lots of `market` only reduces the position held (the venue's reduce-only rule: no
    /// initial-margin check).
    pub fn reduces(&self, market: &Pubkey, size: i64) -> bool {
        let held = self.size_of(market);
        held != 0 && (held > 0) != (size > 0) && size.unsigned_abs() <= held.unsigned_abs()
    }

    /// Signed size held in `market` (lots).
    pub fn size_of(&self, market: &Pubkey) -> i64 {
        self.margin.slot_of(market).map_or(0, |s| self.margin.positions[s].size)
    }
}
