//! What the vault holds on the venue, valued and measured with the venue's own caches and keel-math: NAV bounds
//! (idle + margin account value), the portfolio greeks, worst scenario loss, health and leverage the mandate
//! limits. The keeper computes the same from the same accounts.
use crate::error::VaultError;
use crate::state::Vault;
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::mandate::PortfolioRisk;
use keel_math::margin::{account_health, account_value, Bound, PositionRisk};
use keel_math::risk::{accumulate, worst_loss};
use keel_math::SafeMath;
use keel_venue::state::{MarginAccount, Market, Venue as VenueState};

/// One venue position with its market's per-unit greeks.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub market: Pubkey,
    pub size: i64,
    pub risk: PositionRisk,
    pub greeks: [I80F48; 3],
}

/// The vault's margin account on the venue, loaded with the market of every position.
pub struct Holdings {
    pub collateral: I80F48,
    pub positions: Vec<Held>,
}

/// Finds `key` among `accounts`.
pub fn find<'a, 'info>(accounts: &'a [AccountInfo<'info>], key: &Pubkey) -> Result<&'a AccountInfo<'info>> {
    accounts.iter().find(|a| a.key == key).ok_or_else(|| error!(VaultError::MissingMarketAccount))
}

impl Holdings {
    /// Reads the margin account (owner and discriminator checked) and each position's market from `markets`.
    pub fn load<'info>(
        vault: &Vault,
        venue: &VenueState,
        margin: &AccountInfo<'info>,
        markets: &[AccountInfo<'info>],
        now: i64,
    ) -> Result<Self> {
        require_keys_eq!(*margin.key, vault.margin_account, VaultError::VenueAccountMismatch);
        require_keys_eq!(*margin.owner, keel_venue::ID, VaultError::VenueAccountMismatch);
        let acct = MarginAccount::try_deserialize(&mut &margin.try_borrow_data()?[..])?;
        let mut positions = Vec::with_capacity(keel_venue::state::MAX_POSITIONS);
        for p in acct.positions.iter().filter(|p| p.is_open()) {
            let info = find(markets, &p.market)?;
            require_keys_eq!(*info.owner, keel_venue::ID, VaultError::VenueAccountMismatch);
            let m = Market::try_deserialize(&mut &info.try_borrow_data()?[..])?;
            require_keys_eq!(m.venue, vault.venue, VaultError::VenueAccountMismatch);
            m.require_fresh(now, None)?;
            let risk = m.position_risk(p, venue.collateral_decimals)?;
            let c = &m.cache;
            let greeks = if m.book.settled {
                [I80F48::ZERO; 3]
            } else {
                [I80F48::from_bits(c.delta), I80F48::from_bits(c.gamma), I80F48::from_bits(c.vega)]
            };
            positions.push(Held { market: p.market, size: p.size, risk, greeks });
        }
        Ok(Self { collateral: I80F48::from_num(acct.collateral), positions })
    }

    fn risks(&self) -> Vec<PositionRisk> {
        self.positions.iter().map(|h| h.risk).collect()
    }

    /// Margin account value at `bound` (tokens).
    pub fn value(&self, bound: Bound) -> Result<I80F48> {
        Ok(account_value(self.collateral, &self.risks(), bound).map_err(VaultError::from)?)
    }

    /// Value at unbiased marks (what a trade's cost is measured against).
    pub fn mid_value(&self) -> Result<I80F48> {
        let mid: Vec<PositionRisk> =
            self.positions.iter().map(|h| PositionRisk { bias: I80F48::ZERO, ..h.risk }).collect();
        Ok(account_value(self.collateral, &mid, Bound::Lower).map_err(VaultError::from)?)
    }

    pub fn size_of(&self, market: &Pubkey) -> i64 {
        self.positions.iter().find(|h| h.market == *market).map_or(0, |h| h.size)
    }

    /// The mandate's view of the portfolio at `spot`, with NAV at the lower bound.
    pub fn portfolio(&self, vault: &Vault, venue: &VenueState, spot: I80F48) -> Result<PortfolioRisk> {
        let risks = self.risks();
        let m = |e: keel_math::MathError| error!(VaultError::from(e));
        let health = account_health(self.collateral, &risks, &venue.margin.params()).map_err(m)?;
        let mut scenarios = [I80F48::ZERO; keel_math::instrument::SCENARIOS];
        let (mut delta, mut gamma, mut vega, mut gross) = (I80F48::ZERO, I80F48::ZERO, I80F48::ZERO, I80F48::ZERO);
        let lot = I80F48::from_num(10i64.pow(keel_math::margin::SIZE_DECIMALS));
        for h in &self.positions {
            accumulate(&mut scenarios, &h.risk.risk_array, h.risk.qty).map_err(m)?;
            let units = I80F48::from_num(h.size).safe_div(lot).map_err(m)?;
            delta = delta.safe_add(units.safe_mul(h.greeks[0]).map_err(m)?).map_err(m)?;
            gamma = gamma.safe_add(units.safe_mul(h.greeks[1]).map_err(m)?).map_err(m)?;
            vega = vega.safe_add(units.safe_mul(h.greeks[2]).map_err(m)?).map_err(m)?;
            gross = gross.safe_add(h.risk.qty.saturating_abs().safe_mul(spot).map_err(m)?).map_err(m)?;
        }
        let idle = I80F48::from_num(vault.idle_assets);
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
            nav: idle.safe_add(health.equity).map_err(m)?,
        })
    }
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
