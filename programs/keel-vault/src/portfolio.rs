//! What the vault holds on the venue, valued and measured with the venue's own caches and keel-math: NAV bounds
//! (idle + margin account value + LP shares at the pool's NAV bounds), the portfolio greeks, worst scenario loss,
//! health and leverage the mandate limits. An LP stake carries its share of the pool's exposure (the opposite of
//! every trader position), so LP capital counts in the greeks and the scenario loss too. The keeper computes the
//! same from the same accounts.
//!
//! The mandate is measured from a [`Book`]: collateral, the positions' sums (keel-math's `BookSums`) and the LP
//! stake. Its sums come either from the positions valued one by one ([`Holdings`]) or from the venue's report of the
//! margin account after a trade or a margin withdrawal, which the venue valued for its own margin check; a rebalance
//! derives the state before its trades from that report by swapping only the traded positions' terms
//! ([`traded_positions`]). Fixed-point sums are exact, so every route gives the same bits.
//!
//! Remaining accounts: the markets of the open positions; when the vault holds LP shares, every market of the
//! venue in index order first (the pool's NAV needs them all).
use crate::error::VaultError;
use crate::state::Vault;
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::book::BookSums;
use keel_math::mandate::PortfolioRisk;
use keel_math::margin::{account_value, Bound, MarginParams, PositionRisk};
use keel_math::risk::{accumulate, worst_loss};
use keel_math::SafeMath;
use keel_venue::health::BookReport;
use keel_venue::state::{key_is, keys_eq, load_in_place, MarginAccount, Market, Venue as VenueState};

/// One venue position with its market's per-unit greeks.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub market: Pubkey,
    pub size: i64,
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
    pub const EMPTY: Self =
        Self { market: Pubkey::new_from_array([0; 32]), size: 0, risk: PositionRisk::ZERO, greeks: [I80F48::ZERO; 3] };

    /// [`Held::new`] written into this slot in place: a `Held` is ~0.4 KiB, and building one to return it and push it
    /// cost two software copies (~0.4k compute units per position on SBF). On an error the slot is partly written
    /// and must be discarded.
    fn read(&mut self, p: &keel_venue::state::Position, m: &Market, decimals: u8) -> Result<()> {
        m.read_position_risk(p, decimals, &mut self.risk)?;
        self.greeks = m.greeks();
        (self.market, self.size) = (p.market, p.size);
        Ok(())
    }

    /// Adds this position's terms to `sums`, or takes them out (the exact inverse).
    fn apply(&self, sums: &mut BookSums, params: &MarginParams, add: bool) -> Result<()> {
        let r = if add {
            sums.add(&self.risk, self.size, &self.greeks, params)
        } else {
            sums.remove(&self.risk, self.size, &self.greeks, params)
        };
        r.map_err(m)
    }
}

/// The vault's share of the LP pool: its value at both bounds and, when read for the portfolio (not for NAV alone),
/// its exposure: the opposite of the traders' net position in each market, scaled by the vault's fraction of the
/// shares (no cost and no margin of its own).
pub struct LpStake {
    pub lower: I80F48,
    pub upper: I80F48,
    /// None when read for its value alone ([`LpRead::Value`]): a deposit or withdrawal prices shares and need not
    /// multiply out the pool's risk arrays. Boxed: ~0.6 KiB, and handlers hold a stake per side.
    pub exposure: Option<Box<LpExposure>>,
}

/// How much of the LP stake to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpRead {
    /// Its value and its exposure: what the portfolio is measured from.
    Exposure,
    /// Its value alone (NAV, share pricing); [`Book::portfolio`] refuses to measure such a stake.
    Value,
}

/// An LP stake's exposure, summed as the markets are read (small, so a rebalance holding the before and after stakes
/// of a many-market venue stays within the program's 32 KiB heap).
#[derive(Clone, Debug, Default)]
pub struct LpExposure {
    /// Scenario P&L summed over the markets (tokens per scenario).
    pub scenarios: [I80F48; keel_math::instrument::SCENARIOS],
    /// Greeks in lots and gross quantity, as a book sums them (`BookSums::add_holding`; no value terms).
    pub sums: BookSums,
}

/// The vault's margin account on the venue, loaded with the market of every position, and its LP stake.
pub struct Holdings {
    pub collateral: I80F48,
    pub positions: Vec<Held>,
    pub lp: Option<LpStake>,
}

/// What the mandate is measured from: the margin account's collateral, its positions' sums and the LP stake.
pub struct Book {
    pub collateral: I80F48,
    pub sums: BookSums,
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

/// A position's market `info` read in place: the venue program's, this venue's, its cache fresh.
fn venue_market<'a>(vault: &Vault, info: &'a AccountInfo, now: i64) -> Result<std::cell::Ref<'a, Market>> {
    require!(key_is(info.owner, keel_venue::ID), VaultError::VenueAccountMismatch);
    let m = load_in_place::<Market>(info)?;
    require!(keys_eq(&m.venue, &vault.venue), VaultError::VenueAccountMismatch);
    m.require_fresh(now, None)?;
    Ok(m)
}

/// Position `p` valued with its market `info` (this venue's, fresh cache), pushed onto `positions` (read in place:
/// see [`Held::read`]); on an error `positions` must be discarded.
fn push_held(
    positions: &mut Vec<Held>,
    vault: &Vault,
    venue: &VenueState,
    p: &keel_venue::state::Position,
    info: &AccountInfo,
    now: i64,
) -> Result<()> {
    let m = venue_market(vault, info, now)?;
    let slot = positions.len();
    positions.push(Held::EMPTY);
    positions[slot].read(p, &m, venue.collateral_decimals)
}

/// The margin account's collateral and the vault's positions in the `traded` markets (each market once; one where
/// the vault holds nothing is skipped), valued with those markets from `markets` (this venue's, fresh caches). A
/// rebalance reads them before its trades and again after: they are the only positions it values itself (see the
/// module documentation).
pub fn traded_positions<'info>(
    vault: &Vault,
    venue: &VenueState,
    margin: &AccountInfo<'info>,
    traded: &[Pubkey],
    markets: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<(I80F48, Vec<Held>)> {
    let acct = margin_account(vault, margin)?;
    let mut positions = Vec::with_capacity(traded.len());
    for (i, key) in traded.iter().enumerate() {
        if traded[..i].iter().any(|k| keys_eq(k, key)) {
            continue;
        }
        if let Some(slot) = acct.slot_of(key) {
            push_held(&mut positions, vault, venue, &acct.positions[slot], find(markets, key)?, now)?;
        }
    }
    Ok((I80F48::from_num(acct.collateral), positions))
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
        for (ordinal, p) in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
            push_held(&mut positions, vault, venue, p, find_hinted(markets, &p.market, ordinal)?, now)?;
        }
        let lp = if vault.lp_shares_held > 0 { Some(lp_stake_with(vault, venue, markets, now, lp)?) } else { None };
        Ok(Self { collateral: I80F48::from_num(acct.collateral), positions, lp })
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

    /// The sums over the positions (see `BookSums`).
    pub fn sums(&self, params: &MarginParams) -> Result<BookSums> {
        let mut s = BookSums::default();
        for h in &self.positions {
            h.apply(&mut s, params, true)?;
        }
        Ok(s)
    }

    /// These holdings as a [`Book`] (boxed, and built out of line on SBF: a book is ~1 KiB with an LP stake, and
    /// handlers hold two with the venue's report beside them in a 4 KiB frame).
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn into_book(self, venue: &VenueState) -> Result<Box<Book>> {
        let sums = self.sums(&venue.margin.params())?;
        Ok(Box::new(Book { collateral: self.collateral, sums, lp: self.lp }))
    }

    /// The mandate's view of the portfolio at `spot`, with NAV at the lower bound.
    pub fn portfolio(self, vault: &Vault, venue: &VenueState, spot: I80F48) -> Result<PortfolioRisk> {
        self.into_book(venue)?.portfolio(vault, venue, spot)
    }
}

/// What the vault's venue holdings are worth at each of `bounds` (tokens): the margin account's value plus the LP
/// stake's. Share pricing (deposits, withdrawals, fees, the `nav` view) needs these numbers alone, so each
/// position's value is summed as it is read, with no risk array or greeks and no copy of a position (the full
/// [`Holdings`] cost ~1.3k compute units per position in a deposit on SBF), and only at the bounds asked for (a
/// withdrawal prices at the lower bound alone). The same bits as [`Holdings::value`]: the same terms added in the
/// same order, and fixed-point addition is exact. Reads the margin account (owner and discriminator checked), each
/// position's market from `markets` (this venue's, fresh caches) and the LP stake, as [`Holdings::load`] does.
pub fn venue_values<'info, const N: usize>(
    vault: &Vault,
    venue: &VenueState,
    margin: &AccountInfo<'info>,
    markets: &'info [AccountInfo<'info>],
    now: i64,
    bounds: [Bound; N],
) -> Result<[I80F48; N]> {
    let add = |a: I80F48, b: I80F48| a.checked_add(b).ok_or(VaultError::MathOverflow);
    let acct = margin_account(vault, margin)?;
    let mut values = [I80F48::from_num(acct.collateral); N];
    for (ordinal, p) in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
        let mk = venue_market(vault, find_hinted(markets, &p.market, ordinal)?, now)?;
        let parts = mk.value_parts(p, venue.collateral_decimals)?;
        // Each bound's value from the parts read once (a deposit or the `nav` view asks for both).
        for (v, bound) in values.iter_mut().zip(bounds) {
            *v = add(*v, parts.at(bound).map_err(m)?)?;
        }
    }
    if vault.lp_shares_held > 0 {
        let all = all_markets(venue, markets)?;
        for (v, bound) in values.iter_mut().zip(bounds) {
            *v = add(*v, lp_value(vault, venue, all, now, bound)?)?;
        }
    }
    Ok(values)
}

impl Book {
    /// The vault's book after venue instructions, from the venue's `report` on its margin account (the positions'
    /// sums as the venue valued them for its margin check): collateral as the margin account holds it now, and the
    /// LP stake valued afresh. The report must be the latest: no position may have changed since it was made.
    pub fn reported<'info>(
        report: &BookReport,
        vault: &Vault,
        venue: &VenueState,
        margin: &AccountInfo<'info>,
        markets: &'info [AccountInfo<'info>],
        now: i64,
    ) -> Result<Box<Self>> {
        let collateral = I80F48::from_num(margin_account(vault, margin)?.collateral);
        Ok(Book::from_report(report, collateral, lp_if_held(vault, venue, markets, now)?))
    }

    /// The book of the positions `report` sums, at `collateral`, with LP stake `lp` (built out of line on SBF: see
    /// [`Holdings::into_book`]).
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn from_report(report: &BookReport, collateral: I80F48, lp: Option<LpStake>) -> Box<Self> {
        Box::new(Book { collateral, sums: report.book.sums(), lp })
    }

    /// This book (from `report`) as it was before trades that changed only the traded positions: the report's
    /// traded position and the `now` positions (the markets only earlier legs traded, as they are now) taken out, the
    /// `then` positions (every traded market's, read before the trades) put back, at `collateral` with LP stake `lp`.
    /// The same bits as valuing the book then: fixed-point sums are exact.
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn before(
        &self,
        report: &BookReport,
        now: &[Held],
        then: &[Held],
        collateral: I80F48,
        lp: Option<LpStake>,
        venue: &VenueState,
    ) -> Result<Box<Self>> {
        let params = venue.margin.params();
        let mut book = Box::new(Book { collateral, sums: self.sums, lp });
        book.sums.remove_sums(&report.position.sums()).map_err(m)?;
        for h in now {
            h.apply(&mut book.sums, &params, false)?;
        }
        for h in then {
            h.apply(&mut book.sums, &params, true)?;
        }
        Ok(book)
    }

    /// Value at unbiased marks (what a trade's cost is measured against).
    pub fn mid_value(&self) -> Result<I80F48> {
        let lp = self.lp.as_ref().map_or(I80F48::ZERO, |s| s.lower);
        self.collateral.safe_add(self.sums.mid).and_then(|v| v.safe_add(lp)).map_err(m)
    }

    /// The mandate's view of the portfolio at `spot`, with NAV at the lower bound: the LP exposure is added to the
    /// positions' risk arrays, greeks and gross quantity (it has no cost and no margin of its own).
    #[cfg_attr(target_os = "solana", inline(never))]
    pub fn portfolio(&self, vault: &Vault, venue: &VenueState, spot: I80F48) -> Result<PortfolioRisk> {
        let health = self.sums.margin.health(self.collateral, &venue.margin.params()).map_err(m)?;
        let mut scenarios = self.sums.margin.scenarios;
        let mut exposure =
            BookSums { greeks_lots: self.sums.greeks_lots, gross_qty: self.sums.gross_qty, ..Default::default() };
        if let Some(lp) = &self.lp {
            // A stake read for its value alone cannot be measured: refused rather than measured without its risk.
            let lp = lp.exposure.as_ref().ok_or_else(|| error!(VaultError::MissingMarketAccount))?;
            for (s, t) in scenarios.iter_mut().zip(lp.scenarios) {
                *s = s.safe_add(t).map_err(m)?;
            }
            for (s, t) in exposure.greeks_lots.iter_mut().zip(lp.sums.greeks_lots) {
                *s = s.safe_add(t).map_err(m)?;
            }
            exposure.gross_qty = exposure.gross_qty.safe_add(lp.sums.gross_qty).map_err(m)?;
        }
        let idle = I80F48::from_num(vault.idle_assets);
        let lp_lower = self.lp.as_ref().map_or(I80F48::ZERO, |s| s.lower);
        let [delta, gamma, vega] = exposure.greeks_in_units().map_err(m)?;
        Ok(PortfolioRisk {
            spot,
            delta,
            gamma,
            vega,
            worst_loss: worst_loss(&scenarios),
            equity: health.equity,
            maintenance: health.maintenance,
            gross_notional: exposure.gross_notional(spot).map_err(m)?,
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

/// The vault's LP stake with its exposure when it holds LP shares.
pub fn lp_if_held<'info>(
    vault: &Vault,
    venue: &VenueState,
    markets: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<Option<LpStake>> {
    if vault.lp_shares_held == 0 {
        return Ok(None);
    }
    lp_stake(vault, venue, markets, now).map(Some)
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
    let all = all_markets(venue, markets)?;
    let value = |bound: Bound| lp_value(vault, venue, all, now, bound);
    let held = I80F48::from_num(vault.lp_shares_held);
    let total =
        I80F48::from_num(venue.lp_shares).safe_add(I80F48::from_num(V::LP_SHARE_MATH.virtual_shares)).map_err(m)?;
    let (lower, upper) = (value(Bound::Lower)?, value(Bound::Upper)?);
    if read == LpRead::Value {
        return Ok(LpStake { lower, upper, exposure: None });
    }
    let fraction = held.safe_div(total).map_err(m)?;
    let mut exposure = Box::<LpExposure>::default();
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
        accumulate(&mut exposure.scenarios, &risk.risk_array, risk.qty).map_err(m)?;
        exposure.sums.add_holding(risk.qty, size, &mk.greeks()).map_err(m)?;
    }
    Ok(LpStake { lower, upper, exposure: Some(exposure) })
}

/// The venue's markets in index order at the head of `markets` (the pool's NAV needs them all).
fn all_markets<'a, 'info>(venue: &VenueState, markets: &'a [AccountInfo<'info>]) -> Result<&'a [AccountInfo<'info>]> {
    let n = venue.num_markets as usize;
    require!(markets.len() >= n, VaultError::MissingMarketAccount);
    Ok(&markets[..n])
}

/// What the vault's LP shares redeem for at `bound` of the pool's NAV, rounded as the venue rounds (down for the
/// lower bound).
fn lp_value<'info>(
    vault: &Vault,
    venue: &VenueState,
    all: &'info [AccountInfo<'info>],
    now: i64,
    bound: Bound,
) -> Result<I80F48> {
    let nav = keel_venue::health::pool_nav(venue, &vault.venue, all, now, bound)?.max(I80F48::ZERO);
    let sm = keel_venue::state::Venue::LP_SHARE_MATH;
    let amount = if bound == Bound::Lower {
        let nav: u64 = nav.floor().checked_to_num().ok_or(VaultError::MathOverflow)?;
        sm.shares_to_amount_floor(vault.lp_shares_held, nav, venue.lp_shares)
    } else {
        let nav: u64 = nav.ceil().checked_to_num().ok_or(VaultError::MathOverflow)?;
        sm.shares_to_amount_ceil(vault.lp_shares_held, nav, venue.lp_shares)
    };
    Ok(I80F48::from_num(amount.map_err(m)?))
}

/// NAV (tokens) at `bound`: idle by internal accounting plus the margin account's value, rounded in favour of
/// the vault (up for the deposit price, down for the withdrawal price).
pub fn nav_rounded(vault: &Vault, holdings: I80F48, bound: Bound) -> Result<u64> {
    let nav = I80F48::from_num(vault.idle_assets).checked_add(holdings).ok_or(VaultError::MathOverflow)?;
    // An empty vault starts at zero; a vault with holders and no positive NAV takes no flows at all.
    if vault.total_shares == 0 && nav <= I80F48::ZERO {
        return Ok(0);
    }
    require!(nav > I80F48::ZERO, VaultError::NonPositiveNav);
    let rounded = if bound == Bound::Upper { nav.ceil() } else { nav.floor() };
    Ok(rounded.checked_to_num().ok_or(VaultError::MathOverflow)?)
}
