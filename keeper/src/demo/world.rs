//! The demo's world on the embedded chain: a USDC-like mint, a venue with one underlying (a perp, a call and a put
//! on a 30-day SVI slice), LP liquidity, and a vault with a risk mandate whose strategist sells delta-hedged calls.
use crate::chain::{Chain, ChainError, Embedded};
use keel_client::pyth::PythPrice;
use keel_client::token::{create_mint_ixs, create_token_account_ixs, mint_to_ix, ACCOUNT_LEN, MINT_LEN};
use keel_client::vault::{create_vault_ix, shares_pda, vault_pda, VaultKeys, VenueKeys};
use keel_client::venue::*;
use keel_client::{bits, venue::LOT};
use keel_vault::instructions::{Leg, Moves};
use keel_vault::state::VaultConfig;
use keel_venue::state::{MarketConfig, MarketKind};
use solana_sdk::{pubkey::Pubkey, rent::Rent, signature::Keypair, signer::Signer};

pub use keel_client::presets::USDC;
const FEED: [u8; 32] = [42; 32];
pub const SURFACE: [f64; 5] = [0.01, 0.1, -0.3, 0.0, 0.2];

/// A participant with a collateral account (and, for depositors, a share account).
pub struct Party {
    pub key: Keypair,
    pub collateral: Pubkey,
    pub shares: Pubkey,
}

pub struct World {
    pub chain: Embedded,
    pub token_program: Pubkey,
    pub mint: Pubkey,
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub oracle: Pubkey,
    pub surface: Pubkey,
    pub expiry: i64,
    pub markets: [Pubkey; 3],
    pub vol_authority: Keypair,
    pub strategist: Keypair,
    pub keys: VaultKeys,
    pub depositors: Vec<Party>,
    pub ema: f64,
}

fn rent(space: usize) -> u64 {
    Rent::default().minimum_balance(space)
}

impl World {
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
    /// on Pyth), re-posts the surface, and refreshes every live market.
    pub async fn set_spot(&mut self, spot: f64) -> Result<(), ChainError> {
        let now = self.chain.clock().await?.unix_timestamp;
        self.ema = if self.ema == 0.0 { spot } else { 0.85 * self.ema + 0.15 * spot };
        let p = PythPrice::new(FEED, spot, now);
        let ema = PythPrice::new(FEED, self.ema, now).price;
        self.chain.set_price(self.oracle, &PythPrice { ema_price: ema, ..p });
        let va = self.vol_authority.pubkey();
        let mut ixs = Vec::new();
        let live: &[usize] = if now < self.expiry {
            ixs.push(post_surface_ix(&va, &self.venue, &self.underlying, self.expiry, SURFACE.map(bits)));
            &[0, 1, 2]
        } else {
            &[0]
        };
        for i in live {
            let surface = (*i != 0).then_some(self.surface);
            ixs.push(refresh_market_ix(
                &self.admin(),
                &self.venue,
                &self.underlying,
                &self.markets[*i],
                &self.oracle,
                surface,
            ));
        }
        let signers: Vec<&Keypair> = if now < self.expiry { vec![&self.vol_authority] } else { vec![] };
        self.chain.send(&ixs, &signers).await
    }

    /// Markets of the vault's open positions (what NAV-reading vault instructions pass).
    pub async fn vault_markets(&mut self) -> Result<Vec<Pubkey>, ChainError> {
        let acct: keel_venue::state::MarginAccount =
            self.chain.read(&margin_pda(&self.venue, &self.keys.vault)).await?;
        Ok(acct.positions.iter().filter(|p| p.is_open()).map(|p| p.market).collect())
    }

    /// Builds the whole world at `spot`.
    pub async fn create(spot: f64) -> Result<Self, ChainError> {
        let mut chain = Embedded::start().await;
        let token_program = keel_client::token::SPL_TOKEN_ID;
        let admin = chain.payer();
        let (guardian, vol_authority, strategist) = (Keypair::new(), Keypair::new(), Keypair::new());
        // 1. Collateral mint and venue.
        let mint = Keypair::new();
        chain
            .send(&create_mint_ixs(&admin, &mint.pubkey(), &admin, &token_program, 6, rent(MINT_LEN)), &[&mint])
            .await?;
        let mint = mint.pubkey();
        let margin = keel_client::presets::margin_config();
        chain
            .send(
                &[create_venue_ix(&admin, &mint, &token_program, 0, guardian.pubkey(), vol_authority.pubkey(), margin)],
                &[],
            )
            .await?;
        let venue = venue_pda(&mint, 0);
        // 2. Underlying on a live oracle, its 30-day surface, three markets.
        let now = chain.clock().await?.unix_timestamp;
        let oracle = Pubkey::new_unique();
        chain.set_price(oracle, &PythPrice::new(FEED, spot, now));
        let config = keel_client::presets::underlying_config(FEED);
        chain.send(&[add_underlying_ix(&admin, &venue, 0, &oracle, config)], &[]).await?;
        let underlying = underlying_pda(&venue, 0);
        let expiry = now + 30 * 86_400;
        let fund = solana_system_interface::instruction::transfer(&admin, &vol_authority.pubkey(), 1_000_000_000);
        chain.send(&[fund], &[]).await?;
        let post = post_surface_ix(&vol_authority.pubkey(), &venue, &underlying, expiry, SURFACE.map(bits));
        chain.send(&[post], &[&vol_authority]).await?;
        let surface = surface_pda(&underlying, expiry);
        let perp = MarketConfig {
            kind: MarketKind::Perp,
            strike: 0,
            expiry: 0,
            taker_fee_bps: 5,
            half_spread_bps: 10,
            max_open_interest: 1_000 * LOT as u64,
            max_funding_bps_per_day: 100,
        };
        let option =
            |kind, strike: f64| MarketConfig { kind, strike: bits(strike), expiry, max_funding_bps_per_day: 0, ..perp };
        let adds = [
            add_market_ix(&admin, &venue, &underlying, None, 0, perp),
            add_market_ix(&admin, &venue, &underlying, Some(surface), 1, option(MarketKind::Call, spot * 1.1)),
            add_market_ix(&admin, &venue, &underlying, Some(surface), 2, option(MarketKind::Put, spot * 0.9)),
        ];
        chain.send(&adds, &[]).await?;
        let markets = [market_pda(&venue, 0), market_pda(&venue, 1), market_pda(&venue, 2)];
        // 3. The vault.
        let keys = VaultKeys { vault: vault_pda(&venue, 0), venue, underlying, oracle, mint, token_program };
        let mut world = World {
            chain,
            token_program,
            mint,
            venue,
            underlying,
            oracle,
            surface,
            expiry,
            markets,
            vol_authority,
            strategist,
            keys,
            depositors: Vec::new(),
            ema: 0.0,
        };
        world.set_spot(spot).await?;
        let vk = VenueKeys { venue, underlying, mint, token_program };
        let config = vault_config(&markets, admin);
        let s = world.strategist.pubkey();
        world.chain.send(&[create_vault_ix(&admin, &vk, 0, s, guardian.pubkey(), config)], &[]).await?;
        world.fund(&s, 1_000_000_000).await?;
        // 4. LP liquidity: 1,000,000.
        let lp = world.party(1_000_000 * USDC).await?;
        let lp_shares = world.token_account(&lp_mint_pda(&venue), &lp.key.pubkey()).await?;
        let accounts = LpAccounts {
            owner: lp.key.pubkey(),
            venue,
            mint,
            owner_collateral: lp.collateral,
            owner_lp: lp_shares,
            token_program,
        };
        world.chain.send(&[lp_ix_with(&accounts, LpAction::Deposit(1_000_000 * USDC), &markets)], &[&lp.key]).await?;
        Ok(world)
    }

    /// Depositors put in `amounts`; the strategist moves 30% to the venue and sells `calls` units of the call,
    /// delta-hedged with the perp.
    pub async fn open_book(&mut self, amounts: &[u64], calls: i64) -> Result<(), ChainError> {
        for a in amounts {
            let d = self.party(*a).await?;
            let ix = self.keys.deposit_ix(&d.key.pubkey(), &d.collateral, &d.shares, *a, &[]);
            self.chain.send(&[ix], &[&d.key]).await?;
            self.depositors.push(d);
        }
        let call: keel_venue::state::Market = self.chain.read(&self.markets[1]).await?;
        let hedge = (fixed::types::I80F48::from_bits(call.cache.delta) * fixed::types::I80F48::from_num(calls * LOT))
            .round()
            .to_num::<i64>();
        let spot: f64 = fixed::types::I80F48::from_bits(call.cache.spot).to_num();
        let legs = vec![
            Leg { market: self.markets[1], size: -calls * LOT, limit_price: 0 },
            Leg { market: self.markets[0], size: hedge, limit_price: bits(spot * 1.01) },
        ];
        let total: u64 = amounts.iter().sum();
        let moves = Moves { margin_in: total * 3 / 10, ..Moves::default() };
        let ix = self.keys.allocate_ix(&self.strategist.pubkey(), moves, legs, &[self.markets[1], self.markets[0]]);
        self.chain.send(&[ix], &[&self.strategist]).await
    }
}

/// The demo mandate: keel-client's reference vault configuration.
pub fn vault_config(markets: &[Pubkey; 3], fee_recipient: Pubkey) -> VaultConfig {
    keel_client::presets::vault_config(markets, fee_recipient)
}
