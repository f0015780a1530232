//! What an allocation will do, computed before it is sent: the venue's own trade arithmetic (funding, fill,
//! realised P&L floored, fee ceiled, open-interest cap, initial margin for anything that is not a pure reduction)
//! applied to copies of the accounts, then keel-vault's own portfolio measure. The same public functions the
//! programs run, so a plan the prediction accepts is one the programs accept (keeper/tests/strategist.rs checks
//! the predicted margin account against the chain's to the unit).
use crate::vault_view::{KeeperError, VaultView};
use fixed::types::I80F48;
use keel_math::mandate::PortfolioRisk;
use keel_math::margin::{account_health, Health};
use keel_math::SafeMath;
use keel_vault::portfolio::{Held, Holdings};
use keel_vault::state::Vault;
use keel_venue::health::{charge_fee_ceil, settle_pnl_floor};
use keel_venue::state::{MarginAccount, Market, Position, Venue};
use solana_sdk::pubkey::Pubkey;
use std::collections::BTreeMap;

/// Copies of the accounts an allocation touches, advanced step by step as the programs would.
#[derive(Clone)]
pub struct Projection {
    pub vault: Vault,
    pub venue: Venue,
    pub margin: MarginAccount,
    pub markets: BTreeMap<Pubkey, Market>,
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
            vault: view.vault.clone(),
            venue: view.venue.clone(),
            margin: view.margin.clone(),
            markets: view.markets.iter().cloned().collect(),
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
        let mut market = self.market(key)?.clone();
        if market.book.settled || (market.is_option() && self.now >= market.config.expiry) {
            return Err("MarketExpired".into());
        }
        let slot = self.margin.slot_of(key).or_else(|| self.margin.free_slot()).ok_or("TooManyPositions")?;
        let mut pos = self.margin.positions[slot];
        let reduce_only = self.reduces(key, size);
        let e = |e: anchor_lang::error::Error| e.to_string();
        market.accrue_funding(self.now, self.spot).map_err(e)?;
        if !pos.is_open() {
            pos = Position { market: *key, size: 0, cost: 0, funding_snap: market.book.funding_index };
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
        let h = self.holdings()?;
        let risks: Vec<_> = h.positions.iter().map(|p| p.risk).collect();
        account_health(h.collateral, &risks, &self.venue.margin.params()).map_err(|e| e.to_string())
    }

    fn holdings(&self) -> Result<Holdings, Refusal> {
        let mut positions = Vec::new();
        for p in self.margin.positions.iter().filter(|p| p.is_open()) {
            let m = self.market(&p.market)?;
            positions.push(Held::new(p, m, self.venue.collateral_decimals).map_err(|e| e.to_string())?);
        }
        Ok(Holdings { collateral: I80F48::from_num(self.margin.collateral), positions, lp: None })
    }

    /// The mandate's view of the projected portfolio, as `allocate` measures it at its end.
    pub fn portfolio(&self) -> Result<PortfolioRisk, KeeperError> {
        let h = self.holdings().map_err(KeeperError::Rule)?;
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
