//! A vault as the keeper sees it: the accounts fetched through a [`Chain`], measured with keel-vault's own pure
//! functions (`Held::new`, `Holdings::portfolio`) and keel-math, so the keeper's numbers are the program's.
use crate::chain::{Chain, ChainError};
use anchor_lang::{prelude::AccountInfo, Discriminator};
use fixed::types::I80F48;
use keel_client::vault::VaultKeys;
use keel_client::venue::{margin_pda, market_pda};
use keel_math::mandate::PortfolioRisk;
use keel_vault::portfolio::{lp_stake, Held, Holdings, LpStake};
use keel_vault::state::Vault;
use keel_venue::oracle::{read_price, OraclePrice};
use keel_venue::state::{MarginAccount, Market, Underlying, Venue};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use solana_sdk::{clock::Clock, pubkey::Pubkey};

/// Why the keeper could not act.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The program's own maths refused the state (e.g. a non-positive NAV); the message is the program's.
    #[error("program rule: {0}")]
    Rule(String),
}

impl From<anchor_lang::error::Error> for KeeperError {
    fn from(e: anchor_lang::error::Error) -> Self {
        KeeperError::Rule(e.to_string())
    }
}

pub struct VaultView {
    pub keys: VaultKeys,
    pub vault: Vault,
    pub venue: Venue,
    pub underlying: Underlying,
    pub margin: MarginAccount,
    /// Markets of the open positions and the vault's allowed markets; when the vault holds LP shares (or the view
    /// was loaded with [`VaultView::load_all`]) every venue market, in index order, first.
    pub markets: Vec<(Pubkey, Market)>,
    pub price: OraclePrice,
    pub clock: Clock,
}

/// The markets `vault`'s mask allows that `venue` has listed, in index order.
fn allowed_markets(vault: &Vault, key: &Pubkey, venue: &Venue) -> Vec<Pubkey> {
    vault.config.allowed_indices().take_while(|i| *i < venue.num_markets).map(|i| market_pda(key, i)).collect()
}

impl VaultView {
    /// The markets the vault may trade that the venue has listed, in index order.
    pub fn allowed_markets(&self) -> Vec<Pubkey> {
        allowed_markets(&self.vault, &self.keys.venue, &self.venue)
    }

    pub async fn load<C: Chain>(chain: &mut C, keys: VaultKeys) -> Result<Self, KeeperError> {
        Self::load_with(chain, keys, false).await
    }

    /// [`Self::load`] with every venue market, as a strategist that may move collateral into the LP pool needs.
    pub async fn load_all<C: Chain>(chain: &mut C, keys: VaultKeys) -> Result<Self, KeeperError> {
        Self::load_with(chain, keys, true).await
    }

    async fn load_with<C: Chain>(chain: &mut C, keys: VaultKeys, all: bool) -> Result<Self, KeeperError> {
        let vault: Vault = chain.read(&keys.vault).await?;
        let venue: Venue = chain.read(&keys.venue).await?;
        let underlying: Underlying = chain.read(&keys.underlying).await?;
        let margin: MarginAccount = chain.read(&margin_pda(&keys.venue, &keys.vault)).await?;
        let positions = margin.positions.iter().filter(|p| p.is_open()).map(|p| p.market);
        let allowed = allowed_markets(&vault, &keys.venue, &venue);
        let every = (all || vault.lp_shares_held > 0).then_some((&keys.venue, venue.num_markets));
        let wanted = market_list(every, positions.chain(allowed));
        let mut markets = Vec::with_capacity(wanted.len());
        for k in wanted {
            markets.push((k, chain.read::<Market>(&k).await?));
        }
        let update: PriceUpdateV2 = chain.read(&keys.oracle).await?;
        let price = read_price(&update, &underlying.config.feed_id)?;
        let clock = chain.clock().await?;
        Ok(Self { keys, vault, venue, underlying, margin, markets, price, clock })
    }

    pub fn market(&self, key: &Pubkey) -> Option<&Market> {
        self.markets.iter().find(|(k, _)| k == key).map(|(_, m)| m)
    }

    /// refresh_market, paid by `payer`, for each of `keys` that can still be refreshed (not settled, not expired).
    pub fn refresh_ixs(&self, payer: &Pubkey, keys: &[Pubkey]) -> Vec<solana_sdk::instruction::Instruction> {
        let now = self.clock.unix_timestamp;
        let k = &self.keys;
        keys.iter()
            .filter_map(|key| self.market(key).map(|m| (key, m)))
            .filter(|(_, m)| m.is_live(now))
            .map(|(key, m)| {
                let surface = m.is_option().then_some(m.surface);
                keel_client::venue::refresh_market_ix(payer, &k.venue, &k.underlying, key, &k.oracle, surface)
            })
            .collect()
    }

    /// The highest implied vol the venue cached for the loaded markets (perps cache 0).
    pub fn max_implied_vol(&self) -> f64 {
        self.markets.iter().map(|(_, m)| m.cache.vol.fx().to_num::<f64>()).fold(0.0, f64::max)
    }

    /// Markets of the open venue positions, in slot order.
    pub fn position_markets(&self) -> Vec<Pubkey> {
        self.margin.positions.iter().filter(|p| p.is_open()).map(|p| p.market).collect()
    }

    /// What a NAV-reading vault instruction passes as remaining accounts, with `legs` (the markets it trades):
    /// every venue market in index order first when the vault holds LP shares or `lp` (it moves some), then the
    /// open positions' markets and the legs'.
    pub fn remaining_markets(&self, legs: &[Pubkey], lp: bool) -> Vec<Pubkey> {
        let every = (lp || self.vault.lp_shares_held > 0).then_some((&self.keys.venue, self.venue.num_markets));
        market_list(every, self.position_markets().into_iter().chain(legs.iter().copied()))
    }

    /// The program's holdings of this vault: the margin account's positions and, when shares are held, the LP
    /// stake (keel-vault's own `lp_stake` over images of every venue market).
    pub fn holdings(&self) -> Result<Holdings, KeeperError> {
        let mut positions = Vec::new();
        for p in self.margin.positions.iter().filter(|p| p.is_open()) {
            let m = self.market(&p.market).ok_or(ChainError::MissingAccount(p.market))?;
            positions.push(Held::new(p, m, self.venue.collateral_decimals)?);
        }
        let lp = if self.vault.lp_shares_held > 0 {
            let markets = self.markets.iter().map(|(k, m)| (k, m));
            Some(lp_stake_of(&self.vault, &self.venue, &self.keys.venue, markets, self.clock.unix_timestamp)?)
        } else {
            None
        };
        Ok(Holdings { collateral: I80F48::from_num(self.margin.collateral), positions, lp })
    }

    /// The mandate's view of the portfolio at the oracle price, exactly as `rebalance` measures it.
    pub fn portfolio(&self) -> Result<PortfolioRisk, KeeperError> {
        Ok(self.holdings()?.portfolio(&self.vault, &self.venue, self.price.price)?)
    }
}

/// Market keys without repeats: with `every` (venue, number of markets), all of that venue's markets first in index
/// order (an LP stake is valued from the pool's claim on each), then `rest` in its order.
pub fn market_list(every: Option<(&Pubkey, u32)>, rest: impl IntoIterator<Item = Pubkey>) -> Vec<Pubkey> {
    let mut keys: Vec<Pubkey> = every.map_or_else(Vec::new, |(v, n)| (0..n).map(|i| market_pda(v, i)).collect());
    for k in rest {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// Every venue market of `venue_key` from `markets`, in index order (an LP stake and the pool's NAV need them all).
pub fn venue_markets<'a>(
    venue: &Venue,
    venue_key: &Pubkey,
    markets: impl IntoIterator<Item = (&'a Pubkey, &'a Market)>,
) -> Result<Vec<(Pubkey, Market)>, KeeperError> {
    let mut all: Vec<(Pubkey, Market)> =
        markets.into_iter().filter(|(_, m)| m.venue == *venue_key).map(|(k, m)| (*k, *m)).collect();
    all.sort_by_key(|(_, m)| m.index);
    all.dedup_by_key(|(_, m)| m.index);
    let n = usize::try_from(venue.num_markets).unwrap_or(usize::MAX);
    if all.len() != n || all.iter().enumerate().any(|(i, (_, m))| usize::try_from(m.index).ok() != Some(i)) {
        let loaded = all.len();
        return Err(KeeperError::Rule(format!("valuing LP shares needs every venue market; {loaded} of {n} loaded")));
    }
    Ok(all)
}

/// Runs a program function over account images of `markets` (keel-venue-owned, as a transaction passes them), so
/// the keeper computes what the program computes from the same bytes.
pub fn with_images<R>(
    markets: &[(Pubkey, Market)],
    f: impl for<'a> FnOnce(&'a [AccountInfo<'a>]) -> anchor_lang::Result<R>,
) -> Result<R, KeeperError> {
    let mut images = Vec::with_capacity(markets.len());
    for (key, m) in markets {
        // A zero-copy account's bytes: its discriminator, then the struct as it lies in memory.
        let data = [Market::DISCRIMINATOR, bytemuck::bytes_of(m)].concat();
        images.push((*key, 0u64, data));
    }
    let owner = keel_venue::ID;
    let infos: Vec<AccountInfo> = images
        .iter_mut()
        .map(|(key, lamports, data)| AccountInfo::new(key, false, false, lamports, data, &owner, false))
        .collect();
    Ok(f(&infos)?)
}

/// keel-vault's LP stake of `vault` from the loaded `markets` (every venue market must be among them).
pub fn lp_stake_of<'a>(
    vault: &Vault,
    venue: &Venue,
    venue_key: &Pubkey,
    markets: impl IntoIterator<Item = (&'a Pubkey, &'a Market)>,
    now: i64,
) -> Result<LpStake, KeeperError> {
    let all = venue_markets(venue, venue_key, markets)?;
    with_images(&all, |infos| lp_stake(vault, venue, infos, now))
}
