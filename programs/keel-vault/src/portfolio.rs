//! What the vault holds on the venue, valued and measured with the venue's own caches and keel-math: NAV bounds
//! (idle + margin account value + LP shares at the pool's NAV bounds), the portfolio greeks, worst scenario loss,
//! health and leverage the mandate limits. An LP stake carries its share of the pool's exposure (the opposite of
//! every trader position), so LP capital counts in the greeks and the scenario loss too. The keeper computes the
//! same from the same accounts.
//!
//! Remaining accounts: the markets of the open positions; when the vault holds LP shares, every market of the
//! venue in index order first (the pool's NAV needs them all).
use crate::error::VaultError;
use crate::state::Vault;
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::mandate::PortfolioRisk;
use keel_math::margin::{account_value, AccountSums, Bound, MarginParams, PositionRisk};
use keel_math::risk::{accumulate, worst_loss};
use keel_math::{safe_mul_qty, QtyFactor, SafeMath};
use keel_venue::state::{key_is, keys_eq, load_in_place, MarginAccount, Market, Venue as VenueState};

/// One venue position with its market's per-unit greeks.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub market: Pubkey,
    pub size: i64,
    /// The position's funding snapshot (with `size` and the cost in `risk`, what tells an unchanged position).
    pub funding_snap: I80F48,
    pub risk: PositionRisk,
    pub greeks: [I80F48; 3],
}

impl Held {
    /// A venue position with its market's cached per-unit greeks (none once settled). Pure: the keeper builds the
    /// same values from accounts it fetched, to predict what the program will compute.
    pub fn new(p: &keel_venue::state::Position, m: &Market, decimals: u8) -> Result<Self> {
        let mut h = Self::EMPTY;
        h.read(p, m, decimals)?;
        Ok(h)
    }

    /// No position (a slot to read one into).
    pub const EMPTY: Self = Self {
        market: Pubkey::new_from_array([0; 32]),
        size: 0,
        funding_snap: I80F48::ZERO,
        risk: PositionRisk::ZERO,
        greeks: [I80F48::ZERO; 3],
    };

    /// [`Held::new`] written into this slot in place: a `Held` is ~0.4 KiB, and building one to return it and push it
    /// cost two software copies (~0.4k compute units per position on SBF). On an error the slot is partly written
    /// and must be discarded.
    fn read(&mut self, p: &keel_venue::state::Position, m: &Market, decimals: u8) -> Result<()> {
        m.read_position_risk(p, decimals, &mut self.risk)?;
        let c = &m.cache;
        self.greeks = if m.book.is_settled() { [I80F48::ZERO; 3] } else { [c.delta.fx(), c.gamma.fx(), c.vega.fx()] };
        (self.market, self.size, self.funding_snap) = (p.market, p.size, p.funding_snap.fx());
        Ok(())
    }

    /// Whether `p` is this position unchanged.
    fn is(&self, p: &keel_venue::state::Position) -> bool {
        keys_eq(&p.market, &self.market)
            && p.size == self.size
            && p.cost.fx() == self.risk.cost
            && p.funding_snap.fx() == self.funding_snap
    }

    /// This position's greeks in lots (see [`lot_terms`]) and gross notional at `spot`.
    fn exposure(&self, spot: I80F48) -> keel_math::MathResult<[I80F48; 4]> {
        lot_terms(self.size, self.risk.qty, &self.greeks, spot)
    }
}

/// The greeks of `size` lots of a market with per-unit `greeks`, in lots (underlying units x 10^SIZE_DECIMALS: an
/// integer times each greek, exact), and their gross notional at `spot` (`qty` token-scaled). Books sum them in lots
/// and convert once ([`in_units`]): a division per position was the dearest of its terms on SBF, and the sum of
/// exact products rounds once instead of once per position.
fn lot_terms(size: i64, qty: I80F48, greeks: &[I80F48; 3], spot: I80F48) -> keel_math::MathResult<[I80F48; 4]> {
    let lots = QtyFactor::new(I80F48::from_num(size));
    Ok([lots.mul(greeks[0])?, lots.mul(greeks[1])?, lots.mul(greeks[2])?, safe_mul_qty(qty.saturating_abs(), spot)?])
}

/// A greek summed in lots ([`lot_terms`]) in underlying units, truncated toward zero.
fn in_units(lots: I80F48) -> keel_math::MathResult<I80F48> {
    lots.safe_div(I80F48::from_num(10i64.pow(keel_math::margin::SIZE_DECIMALS)))
}

/// Sums over the margin account's positions: the margin sums, the mandate's greeks and gross notional, and the value
/// at unbiased marks. All additive (see `AccountSums`), so a trade's after-state needs only the traded positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct BookSums {
    pub margin: AccountSums,
    /// Delta, gamma and vega in lots (see [`lot_terms`]) and gross notional.
    pub exposure: [I80F48; 4],
    /// Sum of position values at unbiased marks (what a trade's cost is measured against).
    pub mid: I80F48,
}

impl BookSums {
    /// Adds `h`'s terms, or takes them out (the exact inverse: each term is computed the same way).
    fn apply(&mut self, h: &Held, params: &MarginParams, spot: I80F48, add: bool) -> keel_math::MathResult<()> {
        // The position's value with no bias (what `position_value` gives at a zero bias, without copying the risk).
        let r = &h.risk;
        let mid = safe_mul_qty(r.qty, r.mark)?.safe_sub(r.cost)?.safe_sub(r.funding_owed)?;
        let terms = h.exposure(spot)?;
        if add {
            self.margin.add(&h.risk, params)?;
            self.mid = self.mid.safe_add(mid)?;
            for (s, t) in self.exposure.iter_mut().zip(terms) {
                *s = s.safe_add(t)?;
            }
        } else {
            self.margin.remove(&h.risk, params)?;
            self.mid = self.mid.safe_sub(mid)?;
            for (s, t) in self.exposure.iter_mut().zip(terms) {
                *s = s.safe_sub(t)?;
            }
        }
        Ok(())
    }
}

/// The vault's share of the LP pool: its value at both bounds and, when read for the portfolio (not for NAV alone),
/// its exposure: the opposite of the traders' net position in each market, scaled by the vault's fraction of the
/// shares (no cost and no margin of its own).
pub struct LpStake {
    pub lower: I80F48,
    pub upper: I80F48,
    /// None when read for its value alone ([`LpRead::Value`]): a deposit or withdrawal prices shares and need not
    /// multiply out the pool's risk arrays.
    pub exposure: Option<LpExposure>,
}

/// How much of the LP stake to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpRead {
    /// Its value and its exposure: what the portfolio is measured from.
    Exposure,
    /// Its value alone (NAV, share pricing); [`Holdings::portfolio_from`] refuses to measure such a stake.
    Value,
}

/// An LP stake's exposure. Small on purpose: its scenario P&L is summed as the markets are read and each market keeps
/// only its size and greeks, so a rebalance holding the before and after stakes of a many-market venue stays within
/// the program's 32 KiB heap.
#[derive(Clone, Debug, Default)]
pub struct LpExposure {
    /// Scenario P&L summed over the markets (tokens per scenario).
    pub scenarios: [I80F48; keel_math::instrument::SCENARIOS],
    /// Each market where the pool holds a position.
    pub markets: Vec<LpMarket>,
}

/// The LP stake's share of the pool's position in one market, for the greeks and gross notional.
#[derive(Clone, Copy, Debug)]
pub struct LpMarket {
    pub size: i64,
    pub qty: I80F48,
    pub greeks: [I80F48; 3],
}

/// The vault's margin account on the venue, loaded with the market of every position, and its LP stake.
pub struct Holdings {
    pub collateral: I80F48,
    pub positions: Vec<Held>,
    pub lp: Option<LpStake>,
}

/// Finds `key` among `accounts`.
pub fn find<'a, 'info>(accounts: &'a [AccountInfo<'info>], key: &Pubkey) -> Result<&'a AccountInfo<'info>> {
    accounts.iter().find(|a| keys_eq(a.key, key)).ok_or_else(|| error!(VaultError::MissingMarketAccount))
}

/// Finds `key` among `accounts`, looking at `hint` first: the i-th open position's market is the i-th remaining
/// account when a client lists them in position order (as keel-client and the keeper do for a vault without LP
/// shares), which makes a book's lookups linear in its size instead of quadratic. Any order still works.
pub fn find_hinted<'a, 'info>(
    accounts: &'a [AccountInfo<'info>],
    key: &Pubkey,
    hint: usize,
) -> Result<&'a AccountInfo<'info>> {
    match accounts.get(hint) {
        Some(a) if keys_eq(a.key, key) => Ok(a),
        _ => find(accounts, key),
    }
}

fn m(e: keel_math::MathError) -> Error {
    error!(VaultError::from(e))
}

/// The vault's margin account, owner and discriminator checked.
fn margin_account<'a>(vault: &Vault, margin: &'a AccountInfo<'_>) -> Result<std::cell::Ref<'a, MarginAccount>> {
    crate::venue_link::require_venue_key(margin.key, &vault.margin_account)?;
    require!(key_is(margin.owner, keel_venue::ID), VaultError::VenueAccountMismatch);
    load_in_place::<MarginAccount>(margin)
}

/// Position `p`, the `ordinal`-th open one, valued with its market from `markets` (this venue's, fresh caches),
/// pushed onto `positions` (read in place: see [`Held::read`]); on an error `positions` must be discarded.
fn push_held<'a, 'info>(
    positions: &'a mut Vec<Held>,
    vault: &Vault,
    venue: &VenueState,
    (ordinal, p): (usize, &keel_venue::state::Position),
    markets: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<&'a Held> {
    let info = find_hinted(markets, &p.market, ordinal)?;
    require!(key_is(info.owner, keel_venue::ID), VaultError::VenueAccountMismatch);
    let m = load_in_place::<Market>(info)?;
    require!(keys_eq(&m.venue, &vault.venue), VaultError::VenueAccountMismatch);
    m.require_fresh(now, None)?;
    let slot = positions.len();
    positions.push(Held::EMPTY);
    positions[slot].read(p, &m, venue.collateral_decimals)?;
    Ok(&positions[slot])
}

impl Holdings {
    /// Reads the margin account (owner and discriminator checked), each position's market from `markets`, and the LP
    /// stake as `lp` says: with its exposure to measure the portfolio, or its value alone to price shares.
    pub fn load<'info>(
        vault: &Vault,
        venue: &VenueState,
        margin: &AccountInfo<'info>,
        markets: &'info [AccountInfo<'info>],
        now: i64,
        lp: LpRead,
    ) -> Result<Self> {
        let acct = margin_account(vault, margin)?;
        let mut positions = Vec::with_capacity(keel_venue::state::MAX_POSITIONS);
        for p in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
            push_held(&mut positions, vault, venue, p, markets, now)?;
        }
        let lp = if vault.lp_shares_held > 0 { Some(lp_stake_with(vault, venue, markets, now, lp)?) } else { None };
        Ok(Self { collateral: I80F48::from_num(acct.collateral), positions, lp })
    }

    /// These holdings after trades in `traded` markets (and margin flows), with their sums derived from `sums`
    /// (these holdings' own): the margin account is read again; a position it still holds unchanged (market, size,
    /// cost and funding snapshot) in a market no trade touched keeps its terms and its place with no market read or
    /// copy, since a trade writes only its own market. The others' terms go out and in. The LP stake is valued afresh
    /// (every trade moves the pool's exposure). The same sums, bit for bit, as `load` and `sums` of the new state
    /// (fixed-point sums are exact in any order); the positions may be in another order than `load` reads them.
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn after_trades<'info>(
        mut self,
        sums: &BookSums,
        traded: &[Pubkey],
        vault: &Vault,
        venue: &VenueState,
        margin: &AccountInfo<'info>,
        markets: &'info [AccountInfo<'info>],
        now: i64,
        spot: I80F48,
    ) -> Result<(Self, Box<BookSums>)> {
        let params = venue.margin.params();
        let acct = margin_account(vault, margin)?;
        let mut kept = vec![false; self.positions.len()];
        let mut fresh = Vec::with_capacity(traded.len());
        for (ordinal, p) in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
            // A trade that neither opens nor closes a position keeps the slot order: look at the same ordinal first.
            let unchanged = |i: &usize| self.positions.get(*i).is_some_and(|h| h.is(p));
            let same = if traded.iter().any(|t| keys_eq(t, &p.market)) {
                None
            } else {
                Some(ordinal).filter(unchanged).or_else(|| (0..self.positions.len()).find(unchanged))
            };
            match same {
                Some(i) => kept[i] = true,
                None => fresh.push((ordinal, p)),
            }
        }
        // Out go the terms of what changed, last first: `swap_remove` moves the last position into the gap, and every
        // position after the gap is already one that stays.
        let mut sums = Box::new(*sums);
        for i in (0..kept.len()).rev().filter(|i| !kept[*i]) {
            sums.apply(&self.positions[i], &params, spot, false).map_err(m)?;
            self.positions.swap_remove(i);
        }
        for p in fresh {
            let h = push_held(&mut self.positions, vault, venue, p, markets, now)?;
            sums.apply(h, &params, spot, true).map_err(m)?;
        }
        self.lp = if vault.lp_shares_held > 0 { Some(lp_stake(vault, venue, markets, now)?) } else { None };
        self.collateral = I80F48::from_num(acct.collateral);
        Ok((self, sums))
    }

    fn risks(&self) -> Vec<PositionRisk> {
        self.positions.iter().map(|h| h.risk).collect()
    }

    /// Margin account value plus the LP stake at `bound` (tokens).
    pub fn value(&self, bound: Bound) -> Result<I80F48> {
        let margin = account_value(self.collateral, &self.risks(), bound).map_err(VaultError::from)?;
        let lp = match (&self.lp, bound) {
            (None, _) => I80F48::ZERO,
            (Some(s), Bound::Lower) => s.lower,
            (Some(s), Bound::Upper) => s.upper,
        };
        Ok(margin.checked_add(lp).ok_or(VaultError::MathOverflow)?)
    }

    /// Value at unbiased marks (what a trade's cost is measured against), from these holdings' `sums`.
    pub fn mid_value(&self, sums: &BookSums) -> Result<I80F48> {
        let lp = self.lp.as_ref().map_or(I80F48::ZERO, |s| s.lower);
        self.collateral.safe_add(sums.mid).and_then(|v| v.safe_add(lp)).map_err(m)
    }

    pub fn size_of(&self, market: &Pubkey) -> i64 {
        self.positions.iter().find(|h| keys_eq(&h.market, market)).map_or(0, |h| h.size)
    }

    /// The sums over the positions (see `BookSums`). Boxed, and out of line on SBF: a rebalance holds two, and
    /// its handler's frame must stay within 4 KiB.
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn sums(&self, venue: &VenueState, spot: I80F48) -> Result<Box<BookSums>> {
        let params = venue.margin.params();
        let mut s = Box::<BookSums>::default();
        for h in &self.positions {
            s.apply(h, &params, spot, true).map_err(m)?;
        }
        Ok(s)
    }

    /// The mandate's view of the portfolio at `spot`, with NAV at the lower bound.
    pub fn portfolio(&self, vault: &Vault, venue: &VenueState, spot: I80F48) -> Result<PortfolioRisk> {
        self.portfolio_from(&*self.sums(venue, spot)?, vault, venue, spot)
    }

    /// [`Holdings::portfolio`] from these holdings' `sums`: the LP exposure is added to the positions' risk arrays,
    /// greeks and gross notional (it has no cost and no margin of its own).
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn portfolio_from(
        &self,
        sums: &BookSums,
        vault: &Vault,
        venue: &VenueState,
        spot: I80F48,
    ) -> Result<PortfolioRisk> {
        let health = sums.margin.health(self.collateral, &venue.margin.params()).map_err(m)?;
        let (mut scenarios, mut exposure) = (sums.margin.scenarios, sums.exposure);
        if let Some(lp) = &self.lp {
            // A stake read for its value alone cannot be measured: refused rather than measured without its risk.
            let lp = lp.exposure.as_ref().ok_or_else(|| error!(VaultError::MissingMarketAccount))?;
            for (s, t) in scenarios.iter_mut().zip(lp.scenarios) {
                *s = s.safe_add(t).map_err(m)?;
            }
            for e in &lp.markets {
                for (s, t) in exposure.iter_mut().zip(lot_terms(e.size, e.qty, &e.greeks, spot).map_err(m)?) {
                    *s = s.safe_add(t).map_err(m)?;
                }
            }
        }
        let idle = I80F48::from_num(vault.idle_assets);
        let lp_lower = self.lp.as_ref().map_or(I80F48::ZERO, |s| s.lower);
        let [delta, gamma, vega, gross] = exposure;
        let (delta, gamma, vega) =
            (in_units(delta).map_err(m)?, in_units(gamma).map_err(m)?, in_units(vega).map_err(m)?);
        Ok(PortfolioRisk {
            spot,
            delta,
            gamma,
            vega,
            worst_loss: worst_loss(&scenarios),
            equity: health.equity,
            maintenance: health.maintenance,
            gross_notional: gross,
            idle,
            nav: idle.safe_add(health.equity).and_then(|n| n.safe_add(lp_lower)).map_err(m)?,
        })
    }
}

/// The vault's LP stake: pool NAV bounds from every market (index order, first in `markets`), the vault's
/// fraction of LP shares, and its share of the pool's exposure in each market.
pub fn lp_stake<'info>(
    vault: &Vault,
    venue: &VenueState,
    markets: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<LpStake> {
    lp_stake_with(vault, venue, markets, now, LpRead::Exposure)
}

/// [`lp_stake`], read as `read` says.
fn lp_stake_with<'info>(
    vault: &Vault,
    venue: &VenueState,
    markets: &'info [AccountInfo<'info>],
    now: i64,
    read: LpRead,
) -> Result<LpStake> {
    use keel_venue::state::Venue as V;
    let n = venue.num_markets as usize;
    require!(markets.len() >= n, VaultError::MissingMarketAccount);
    let all = &markets[..n];
    // What the shares redeem for at each NAV bound, rounded as the venue rounds (down for the lower bound).
    let value = |bound: Bound| -> Result<I80F48> {
        let nav = keel_venue::health::pool_nav(venue, &vault.venue, all, now, bound)?.max(I80F48::ZERO);
        let sm = V::LP_SHARE_MATH;
        let amount = if bound == Bound::Lower {
            let nav: u64 = nav.floor().checked_to_num().ok_or(VaultError::MathOverflow)?;
            sm.shares_to_amount_floor(vault.lp_shares_held, nav, venue.lp_shares)
        } else {
            let nav: u64 = nav.ceil().checked_to_num().ok_or(VaultError::MathOverflow)?;
            sm.shares_to_amount_ceil(vault.lp_shares_held, nav, venue.lp_shares)
        };
        Ok(I80F48::from_num(amount.map_err(m)?))
    };
    let held = I80F48::from_num(vault.lp_shares_held);
    let total =
        I80F48::from_num(venue.lp_shares).safe_add(I80F48::from_num(V::LP_SHARE_MATH.virtual_shares)).map_err(m)?;
    let (lower, upper) = (value(Bound::Lower)?, value(Bound::Upper)?);
    if read == LpRead::Value {
        return Ok(LpStake { lower, upper, exposure: None });
    }
    let fraction = held.safe_div(total).map_err(m)?;
    let mut scenarios = [I80F48::ZERO; keel_math::instrument::SCENARIOS];
    let mut exposures = Vec::with_capacity(all.len());
    for info in all {
        let mk = load_in_place::<Market>(info)?;
        if mk.book.net_size == 0 || mk.book.is_settled() {
            continue;
        }
        // The pool holds -net size; the vault holds its fraction of that (for greeks and scenarios; no cost).
        let pos = keel_venue::state::Position {
            market: info.key(),
            size: mk.book.net_size,
            cost: keel_venue::state::PodI128::ZERO,
            funding_snap: mk.book.funding_index,
        };
        let mut risk = mk.position_risk(&pos, venue.collateral_decimals)?;
        risk.qty = risk.qty.saturating_neg().safe_mul(fraction).map_err(m)?;
        let size: i64 = I80F48::from_num(mk.book.net_size)
            .saturating_neg()
            .safe_mul(fraction)
            .map_err(m)?
            .round()
            .checked_to_num()
            .ok_or(VaultError::MathOverflow)?;
        accumulate(&mut scenarios, &risk.risk_array, risk.qty).map_err(m)?;
        let c = &mk.cache;
        let greeks = [c.delta.fx(), c.gamma.fx(), c.vega.fx()];
        exposures.push(LpMarket { size, qty: risk.qty, greeks });
    }
    Ok(LpStake { lower, upper, exposure: Some(LpExposure { scenarios, markets: exposures }) })
}

/// NAV (tokens) at `bound`: idle by internal accounting plus the margin account's value, rounded in favour of
/// the vault (up for the deposit price, down for the withdrawal price).
pub fn nav_rounded(vault: &Vault, holdings: &Holdings, bound: Bound) -> Result<u64> {
    let nav =
        I80F48::from_num(vault.idle_assets).checked_add(holdings.value(bound)?).ok_or(VaultError::MathOverflow)?;
    // An empty vault starts at zero; a vault with holders and no positive NAV takes no flows at all.
    if vault.total_shares == 0 && nav <= I80F48::ZERO {
        return Ok(0);
    }
    require!(nav > I80F48::ZERO, VaultError::NonPositiveNav);
    let rounded = if bound == Bound::Upper { nav.ceil() } else { nav.floor() };
    Ok(rounded.checked_to_num().ok_or(VaultError::MathOverflow)?)
}
