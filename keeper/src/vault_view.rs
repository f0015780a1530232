//! A vault as the keeper sees it: the accounts fetched through a [`Chain`], measured with keel-vault's own pure
//! functions (`Held::new`, `Holdings::portfolio`) and keel-math, so the keeper's numbers are the program's.
use crate::chain::{Chain, ChainError};
use fixed::types::I80F48;
use keel_client::vault::VaultKeys;
use keel_client::venue::margin_pda;
use keel_math::mandate::PortfolioRisk;
use keel_vault::portfolio::{Held, Holdings};
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
    #[error("not supported yet: {0}")]
    Unsupported(&'static str),
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
    /// Markets of the open positions and the vault's allowed markets.
    pub markets: Vec<(Pubkey, Market)>,
    pub price: OraclePrice,
    pub clock: Clock,
}

impl VaultView {
    pub async fn load<C: Chain>(chain: &mut C, keys: VaultKeys) -> Result<Self, KeeperError> {
        let vault: Vault = chain.read(&keys.vault).await?;
        let venue: Venue = chain.read(&keys.venue).await?;
        let underlying: Underlying = chain.read(&keys.underlying).await?;
        let margin: MarginAccount = chain.read(&margin_pda(&keys.venue, &keys.vault)).await?;
        let mut wanted: Vec<Pubkey> = margin.positions.iter().filter(|p| p.is_open()).map(|p| p.market).collect();
        for m in vault.config.allowed_markets.iter().filter(|m| **m != Pubkey::default()) {
            if !wanted.contains(m) {
                wanted.push(*m);
            }
        }
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
            .filter(|(_, m)| !m.book.settled && (!m.is_option() || now < m.config.expiry))
            .map(|(key, m)| {
                let surface = m.is_option().then_some(m.surface);
                keel_client::venue::refresh_market_ix(payer, &k.venue, &k.underlying, key, &k.oracle, surface)
            })
            .collect()
    }

    /// The highest implied vol the venue cached for the loaded markets (perps cache 0).
    pub fn max_implied_vol(&self) -> f64 {
        self.markets.iter().map(|(_, m)| I80F48::from_bits(m.cache.vol).to_num::<f64>()).fold(0.0, f64::max)
    }

    /// Markets of the open venue positions, in slot order.
    pub fn position_markets(&self) -> Vec<Pubkey> {
        self.margin.positions.iter().filter(|p| p.is_open()).map(|p| p.market).collect()
    }

    /// The program's holdings of this vault (LP stakes are not modelled by the keeper yet).
    pub fn holdings(&self) -> Result<Holdings, KeeperError> {
        if self.vault.lp_shares_held > 0 {
            return Err(KeeperError::Unsupported("valuing a vault that holds venue LP shares"));
        }
        let mut positions = Vec::new();
        for p in self.margin.positions.iter().filter(|p| p.is_open()) {
            let m = self.market(&p.market).ok_or(ChainError::MissingAccount(p.market))?;
            positions.push(Held::new(p, m, self.venue.collateral_decimals)?);
        }
        Ok(Holdings { collateral: I80F48::from_num(self.margin.collateral), positions, lp: None })
    }

    /// The mandate's view of the portfolio at the oracle price, exactly as `rebalance` measures it.
    pub fn portfolio(&self) -> Result<PortfolioRisk, KeeperError> {
        Ok(self.holdings()?.portfolio(&self.vault, &self.venue, self.price.price)?)
    }
}
