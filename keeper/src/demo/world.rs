//! The demo's world, deployed by the migrations from migrations/specs/demo.toml: a USDC-like mint, a venue with one
//! underlying (a perp, a call and a put on a 30-day SVI slice), LP liquidity, and a vault with a risk mandate whose
//! strategist sells delta-hedged calls. Generic over the chain: the embedded bank for the demo, a local validator
//! for the validator tier (keeper/tests/validator.rs).
use super::rounding::{self, ShareOp};
use crate::chain::{ChainError, Embedded, OracleControl};
use crate::rebalancer::Rebalancer;
use crate::strategy::{Costs, StaticBand};
use crate::vault_view::KeeperError;
use keel_client::pyth::PythPrice;
use keel_client::token::{create_token_account_ixs, mint_to_ix, ACCOUNT_LEN};
use keel_client::vault::{shares_pda, VaultKeys};
use keel_client::venue::*;
use keel_client::{bits, venue::LOT};
use keel_math::margin::Bound;
use keel_vault::instructions::{Leg, Moves};
use solana_sdk::{pubkey::Pubkey, rent::Rent, signature::Keypair, signer::Signer};

pub use keel_client::presets::USDC;
const FEED: [u8; 32] = [42; 32];

/// A participant with a collateral account (and, for depositors, a share account).
pub struct Party {
    pub key: Keypair,
    pub collateral: Pubkey,
    pub shares: Pubkey,
}

pub struct World<C = Embedded> {
    pub chain: C,
    pub token_program: Pubkey,
    pub mint: Pubkey,
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub oracle: Pubkey,
    /// The first option expiry (the demo's one) and its surface.
    pub surface: Pubkey,
    pub expiry: i64,
    /// Every market by deployment index, and each market's expiry (0 for perps).
    pub markets: Vec<Pubkey>,
    pub expiries: Vec<i64>,
    /// Each option expiry with the SVI parameters the migrations posted for it (I80F48 bits), re-posted with every
    /// price so the surfaces stay fresh.
    pub surfaces: Vec<(i64, [i128; 5])>,
    pub vol_authority: Keypair,
    pub strategist: Keypair,
    /// Every vault's guardian (pause, veto).
    pub guardian: Keypair,
    /// The vault the helpers act on (one of `vaults`; see [`World::select`]).
    pub keys: VaultKeys,
    /// Every vault deployed, by index.
    pub vaults: Vec<VaultKeys>,
    pub depositors: Vec<Party>,
    pub ema: f64,
}

fn rent(space: usize) -> u64 {
    Rent::default().minimum_balance(space)
}

impl<C: OracleControl> World<C> {
    pub fn admin(&self) -> Pubkey {
        self.chain.payer()
    }

    async fn fund(&mut self, to: &Pubkey, lamports: u64) -> Result<(), ChainError> {
        let ix = solana_system_interface::instruction::transfer(&self.admin(), to, lamports);
        self.chain.send(&[ix], &[]).await
    }

    /// A funded key with a collateral account holding `tokens` and a vault share account.
    pub async fn party(&mut self, tokens: u64) -> Result<Party, ChainError> {
        let key = Keypair::new();
        self.fund(&key.pubkey(), 1_000_000_000).await?;
        let collateral = self.token_account(&self.mint.clone(), &key.pubkey()).await?;
        if tokens > 0 {
            let ix = mint_to_ix(&self.token_program, &self.mint, &collateral, &self.admin(), tokens);
            self.chain.send(&[ix], &[]).await?;
        }
        let share_mint = shares_pda(&self.keys.vault);
        let shares = if self.chain.account(&share_mint).await?.is_some() {
            self.token_account(&share_mint, &key.pubkey()).await?
        } else {
            Pubkey::default()
        };
        Ok(Party { key, collateral, shares })
    }

    async fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Result<Pubkey, ChainError> {
        let account = Keypair::new();
        let ixs = create_token_account_ixs(
            &self.admin(),
            &account.pubkey(),
            mint,
            owner,
            &self.token_program,
            rent(ACCOUNT_LEN),
        );
        self.chain.send(&ixs, &[&account]).await?;
        Ok(account.pubkey())
    }

    /// Publishes `spot` at the current time with an EMA that lags it (so a sharp move trips breakers as it would
    /// on Pyth), re-posts every live surface, and refreshes every live market.
    pub async fn set_spot(&mut self, spot: f64) -> Result<(), ChainError> {
        let now = self.chain.clock().await?.unix_timestamp;
        self.ema = if self.ema == 0.0 { spot } else { 0.85 * self.ema + 0.15 * spot };
        let p = PythPrice::new(FEED, spot, now);
        let ema = PythPrice::new(FEED, self.ema, now).price;
        self.chain.post_price(self.oracle, &PythPrice { ema_price: ema, ..p }).await?;
        let va = self.vol_authority.pubkey();
        // The surfaces with the perp's refresh, then each live option market in its own transaction: an option
        // refresh reprices the SPAN grid and takes most of a transaction's compute budget on SBF.
        let mut first = Vec::new();
        for (expiry, svi) in self.surfaces.iter().filter(|(e, _)| now < *e) {
            first.push(post_surface_ix(&va, &self.venue, &self.underlying, *expiry, *svi));
        }
        let signers: &[&Keypair] = if first.is_empty() { &[] } else { &[&self.vol_authority] };
        let live: Vec<usize> =
            (0..self.markets.len()).filter(|i| self.expiries[*i] == 0 || now < self.expiries[*i]).collect();
        for (n, i) in live.iter().enumerate() {
            let ix = self.refresh_ix(*i);
            if n == 0 {
                first.push(ix);
                self.chain.send(&first, signers).await?;
            } else {
                self.chain.send(&[ix], &[]).await?;
            }
        }
        Ok(())
    }

    /// The surface market `i` prices from (none for perps).
    pub fn surface_of(&self, i: usize) -> Option<Pubkey> {
        (self.expiries[i] != 0).then(|| surface_pda(&self.underlying, self.expiries[i]))
    }

    /// refresh_market for market `i`, paid by the admin.
    pub fn refresh_ix(&self, i: usize) -> solana_sdk::instruction::Instruction {
        let surface = self.surface_of(i);
        refresh_market_ix(&self.admin(), &self.venue, &self.underlying, &self.markets[i], &self.oracle, surface)
    }

    /// The demo's keeper for vault `keys`: hedges delta breaches with the perp to a static 5-unit band, costs as
    /// the demo venue charges them, limit prices 1% around the oracle.
    pub fn rebalancer(&self, keys: VaultKeys, key: &Keypair, collateral: Pubkey) -> Rebalancer<StaticBand> {
        Rebalancer {
            keys,
            perp: self.markets[0],
            keeper: key.insecure_clone(),
            keeper_collateral: collateral,
            policy: StaticBand { half_width: 5.0 },
            costs: Costs { fee_bps: 5.0, half_spread_bps: 10.0, tx_fee: 0.000_01, oracle_latency_secs: 0.4 },
            slippage_bps: 100.0,
        }
    }

    /// The deployment file `keel-keeper deploy` would have written for this world (what `keel-keeper run` reads).
    pub fn deployment(&self, cluster: &str) -> crate::deploy::Deployment {
        crate::deploy::Deployment {
            cluster: cluster.into(),
            venue_program: keel_venue::ID,
            vault_program: keel_vault::ID,
            mint: self.mint,
            venue: self.venue,
            underlyings: [(0, self.underlying)].into(),
            oracles: [(0, self.oracle)].into(),
            markets: (0u32..).zip(self.markets.iter().copied()).collect(),
            vaults: (0u16..).zip(self.vaults.iter().map(|v| v.vault)).collect(),
            lookup_table: None,
        }
    }

    /// Makes vault `index` the one the helpers act on.
    pub fn select(&mut self, index: usize) {
        self.keys = self.vaults[index];
    }

    /// What NAV-reading vault instructions pass: the markets of the vault's open positions, after every venue
    /// market (index order) when the vault holds LP shares.
    pub async fn vault_markets(&mut self) -> Result<Vec<Pubkey>, ChainError> {
        let acct: keel_venue::state::MarginAccount =
            self.chain.read(&margin_pda(&self.venue, &self.keys.vault)).await?;
        let vault: keel_vault::state::Vault = self.chain.read(&self.keys.vault).await?;
        let venue: keel_venue::state::Venue = self.chain.read(&self.venue).await?;
        let every = (vault.lp_shares_held > 0).then_some((&self.venue, venue.num_markets));
        Ok(crate::vault_view::market_list(every, acct.positions.iter().filter(|p| p.is_open()).map(|p| p.market)))
    }

    /// Builds the whole world at `spot` on `chain` through the migrations (migrations/specs/demo.toml, strikes set
    /// against `spot`): a new mint, then the spec deploys the venue, the underlying, its surface and three markets,
    /// LP liquidity and the vault.
    pub async fn create(chain: C, spot: f64, vaults: u16) -> Result<Self, ChainError> {
        let spec = keel_migrations::Spec::parse(keel_migrations::spec::DEMO_SPEC).map_err(ChainError::Unavailable)?;
        Self::create_from(chain, spot, vaults, spec).await
    }

    /// [`Self::create`] from another spec (one underlying, index 0; its vaults' template is `spec.vaults[0]`).
    pub async fn create_from(
        mut chain: C,
        spot: f64,
        vaults: u16,
        mut spec: keel_migrations::Spec,
    ) -> Result<Self, ChainError> {
        let admin = chain.payer();
        let (guardian, vol_authority, strategist, mint) =
            (Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new());
        for key in [vol_authority.pubkey(), strategist.pubkey()] {
            chain.send(&[solana_system_interface::instruction::transfer(&admin, &key, 1_000_000_000)], &[]).await?;
        }
        let now = chain.clock().await?.unix_timestamp;
        let oracle = chain.create_oracle(&PythPrice::new(FEED, spot, now)).await?;
        spec.underlyings[0].reference_spot = spot;
        // Vault 0 as written in the spec, then as many more with the same mandate.
        let template = spec.vaults[0].clone();
        spec.vaults =
            (0..vaults.max(1)).map(|index| keel_migrations::spec::VaultSpec { index, ..template.clone() }).collect();
        let ctx = keel_migrations::Context {
            vol_authority: &vol_authority,
            guardian: guardian.pubkey(),
            strategist: strategist.pubkey(),
            oracles: [(0, oracle)].into(),
            new_mint: Some(&mint),
            lp_source: None,
            lp_shares: None,
        };
        let deployed = keel_migrations::apply(&mut chain, &spec, &ctx).await.map_err(|e| match e {
            keel_migrations::MigrationError::Chain(c) => c,
            other => ChainError::Unavailable(other.to_string()),
        })?;
        let (venue, underlying) = (deployed.venue, deployed.underlyings[&0]);
        // Markets in deployment-index order, each with its expiry; each option expiry with the SVI posted for it.
        let markets: Vec<Pubkey> = deployed.markets.values().copied().collect();
        let mut expiries = Vec::with_capacity(markets.len());
        let mut surfaces: Vec<(i64, [i128; 5])> = Vec::new();
        for (index, key) in &deployed.markets {
            let m: keel_venue::state::Market = chain.read(key).await?;
            expiries.push(m.config.expiry);
            if m.is_option() && !surfaces.iter().any(|(e, _)| *e == m.config.expiry) {
                let listed = spec.markets.iter().find(|s| s.index == *index).and_then(|s| s.svi);
                let svi = listed.unwrap_or(spec.underlyings[0].svi).map(bits);
                surfaces.push((m.config.expiry, svi));
            }
        }
        let expiry = surfaces.first().map_or(0, |(e, _)| *e);
        let token_program = keel_client::token::SPL_TOKEN_ID;
        let all: Vec<VaultKeys> = deployed
            .vaults
            .values()
            .map(|vault| VaultKeys { vault: *vault, venue, underlying, oracle, mint: deployed.mint, token_program })
            .collect();
        let keys = all[0];
        let mut world = World {
            chain,
            token_program: keys.token_program,
            mint: keys.mint,
            venue,
            underlying,
            oracle,
            surface: surface_pda(&underlying, expiry),
            expiry,
            markets,
            expiries,
            surfaces,
            vol_authority,
            strategist,
            guardian,
            keys,
            vaults: all,
            depositors: Vec::new(),
            ema: 0.0,
        };
        world.set_spot(spot).await?;
        Ok(world)
    }

    /// Depositors put in `amounts`; the strategist moves 30% to the venue and sells `calls` units of the call,
    /// delta-hedged with the perp. Returns each deposit's rounding audit.
    pub async fn open_book(&mut self, amounts: &[u64], calls: i64) -> Result<Vec<ShareOp>, KeeperError> {
        let audit = self.deposit(amounts).await?;
        self.sell_hedged_calls(amounts, calls).await?;
        Ok(audit)
    }

    /// New depositors put in `amounts` (one each). Returns each deposit's rounding audit.
    pub async fn deposit(&mut self, amounts: &[u64]) -> Result<Vec<ShareOp>, KeeperError> {
        let mut audit = Vec::with_capacity(amounts.len());
        for a in amounts {
            let d = self.party(*a).await?;
            let markets = self.vault_markets().await?;
            let ix = self.keys.deposit_ix(&d.key.pubkey(), &d.collateral, &d.shares, *a, &markets);
            self.chain.send(&[ix], &[&d.key]).await?;
            // The deposit priced at the upper NAV: take its tokens and shares back out of the state after it.
            let paid = a - rounding::balance(&mut self.chain, &d.collateral).await?;
            let minted = rounding::balance(&mut self.chain, &d.shares).await?;
            let (nav, total) = rounding::priced(&mut self.chain, self.keys, Bound::Upper).await?;
            let who = format!("deposit by depositor {}", self.depositors.len() + 1);
            audit.push(rounding::deposited(who, paid, minted, nav - paid, total - minted)?);
            self.depositors.push(d);
        }
        Ok(audit)
    }

    async fn sell_hedged_calls(&mut self, amounts: &[u64], calls: i64) -> Result<(), KeeperError> {
        let call: keel_venue::state::Market = self.chain.read(&self.markets[1]).await?;
        let hedge = (call.cache.delta.fx() * fixed::types::I80F48::from_num(calls * LOT)).round().to_num::<i64>();
        let spot: f64 = call.cache.spot.fx().to_num();
        let legs = vec![
            Leg { market: self.markets[1], size: -calls * LOT, limit_price: 0 },
            Leg { market: self.markets[0], size: hedge, limit_price: bits(spot * 1.01) },
        ];
        let total: u64 = amounts.iter().sum();
        let moves = Moves { margin_in: total * 3 / 10, ..Moves::default() };
        let ix = self.keys.allocate_ix(&self.strategist.pubkey(), moves, legs, &[self.markets[1], self.markets[0]]);
        self.chain.send(&[ix], &[&self.strategist]).await?;
        Ok(())
    }
}
