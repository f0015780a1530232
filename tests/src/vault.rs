//! Fixture builder for keel-vault: PDAs, instruction builders, a default mandate, and a vault on the trading
//! fixture's venue with its strategist and guardian keys.
use crate::trading::*;
use crate::venue::*;
use crate::{account, anchor_ix, create_token_account, fund, pod, send_with};
use anchor_lang::prelude::Pubkey;
use keel_keeper::rebalancer::Rebalancer;
use keel_keeper::strategy::{Costs, StaticBand};
use keel_vault::instructions::{Leg, Moves, Pricing};
use keel_vault::state::{Vault, VaultConfig};
use solana_program_test::ProgramTestContext;
use solana_sdk::instruction::Instruction;
use solana_sdk::{signature::Keypair, signer::Signer};

pub use keel_client::vault::*;

/// create_vault on a trading fixture's venue.
pub fn create_vault_ix(
    curator: &Pubkey,
    t: &TradingFixture,
    id: u16,
    strategist: Pubkey,
    guardian: Pubkey,
    config: VaultConfig,
) -> Instruction {
    let k =
        VenueKeys { venue: t.f.venue, underlying: t.f.underlying(), mint: t.f.mint, token_program: t.token_program };
    keel_client::vault::create_vault_ix(curator, &k, id, strategist, guardian, config)
}

/// open_vault_accounts (creation step 2) for vault `id` on a trading fixture's venue.
pub fn open_vault_accounts_ix(curator: &Pubkey, t: &TradingFixture, id: u16) -> Instruction {
    let k =
        VenueKeys { venue: t.f.venue, underlying: t.f.underlying(), mint: t.f.mint, token_program: t.token_program };
    keel_client::vault::open_vault_accounts_ix(curator, &k, id)
}

/// The reference configuration allowing the markets of venue indices `allowed`.
pub fn default_vault_config(allowed: &[u32], fee_recipient: Pubkey) -> VaultConfig {
    keel_client::presets::vault_config(allowed, fee_recipient)
}

/// Limits wide enough that only one tightened on purpose can bind (fee recipient left default).
pub fn loose_vault_config(allowed: &[u32]) -> VaultConfig {
    let mut c = default_vault_config(allowed, Pubkey::default());
    let m = &mut c.mandate;
    m.delta_band = pod(1_000.0);
    m.max_abs_gamma = pod(1_000.0);
    m.max_abs_vega = pod(1_000_000.0);
    m.max_var_fraction = pod(10.0);
    m.min_health = pod(1.0);
    m.max_leverage = pod(100.0);
    m.min_idle_fraction = keel_venue::state::PodI128::ZERO;
    c
}

/// The venue-side accounts every vault instruction carries.
pub fn link(v: &VaultFixture) -> keel_vault::accounts::VenueLink {
    v.keys().link()
}

fn with_markets(ix: Instruction, markets: &[Pubkey]) -> Instruction {
    keel_client::with_writable(ix, markets)
}

/// A depositor: funded key, collateral and share token accounts.
pub struct Depositor {
    pub a: Actor,
    pub shares: Pubkey,
}

/// A vault (id 0) on a [`TradingFixture`] venue, allowed to trade its perp, call and put.
pub struct VaultFixture {
    pub t: TradingFixture,
    pub vault: Pubkey,
    pub strategist: Keypair,
    pub guardian: Keypair,
    pub fee_recipient: Keypair,
}

impl VaultFixture {
    /// The vault's keys for keel-client's builders.
    pub fn keys(&self) -> VaultKeys {
        VaultKeys {
            vault: self.vault,
            venue: self.t.f.venue,
            underlying: self.t.f.underlying(),
            oracle: self.t.f.oracle,
            mint: self.t.f.mint,
            token_program: self.t.token_program,
        }
    }

    pub async fn new(ctx: &mut ProgramTestContext, t: TradingFixture) -> Self {
        let fee_recipient = Keypair::new();
        let config = default_vault_config(&FIXTURE_MARKETS, fee_recipient.pubkey());
        Self::with_config(ctx, t, 0, config, fee_recipient).await
    }

    /// Vault `id` with `config` (its fee recipient key must be `fee_recipient`).
    pub async fn with_config(
        ctx: &mut ProgramTestContext,
        t: TradingFixture,
        id: u16,
        config: VaultConfig,
        fee_recipient: Keypair,
    ) -> Self {
        let (strategist, guardian) = (Keypair::new(), Keypair::new());
        for k in [&strategist, &guardian] {
            fund(ctx, k.pubkey(), 100_000_000).await;
        }
        let vault = vault_pda(&t.f.venue, id);
        let ix = create_vault_ix(&ctx.payer.pubkey(), &t, id, strategist.pubkey(), guardian.pubkey(), config);
        send_with(ctx, &[ix], &[]).await.expect("create vault");
        let ix = open_vault_accounts_ix(&ctx.payer.pubkey(), &t, id);
        send_with(ctx, &[ix], &[]).await.expect("open the vault's accounts");
        Self { t, vault, strategist, guardian, fee_recipient }
    }

    /// A vault on a fresh SPL Token venue at spot 100 with 1,000,000 of LP liquidity, and one depositor holding
    /// 100,000 who has deposited 50,000 (6 decimals): the starting point of the attack tests.
    pub async fn funded(ctx: &mut ProgramTestContext) -> (Self, Depositor) {
        const USDC: u64 = 1_000_000;
        let t = TradingFixture::new(ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
        let v = Self::new(ctx, t).await;
        let d = v.depositor(ctx, 100_000 * USDC).await;
        let ix = v.deposit_ix(ctx, &d, 50_000 * USDC).await;
        send_with(ctx, &[ix], &[&d.a.key]).await.expect("deposit");
        (v, d)
    }

    pub async fn state(&self, ctx: &mut ProgramTestContext) -> Vault {
        account(ctx, self.vault).await
    }

    /// What NAV-reading instructions pass: every venue market in index order while the vault holds LP shares,
    /// then the markets of its open venue positions not already listed.
    pub async fn position_markets(&self, ctx: &mut ProgramTestContext) -> Vec<Pubkey> {
        let lp = self.state(ctx).await.lp_shares_held > 0;
        self.markets_with(ctx, lp).await
    }

    async fn markets_with(&self, ctx: &mut ProgramTestContext, all_first: bool) -> Vec<Pubkey> {
        let mut markets = Vec::new();
        if all_first {
            let n = self.t.venue_state(ctx).await.num_markets;
            markets.extend((0..n).map(|i| market_pda(&self.t.f.venue, i)));
        }
        let acct = self.t.margin(ctx, &self.vault).await;
        for p in acct.positions.iter().filter(|p| p.is_open()) {
            if !markets.contains(&p.market) {
                markets.push(p.market);
            }
        }
        markets
    }

    pub async fn depositor(&self, ctx: &mut ProgramTestContext, tokens: u64) -> Depositor {
        let a = actor(ctx, self.t.f.mint, self.t.token_program, tokens).await;
        let shares = create_token_account(ctx, self.t.token_program, shares_pda(&self.vault), a.pubkey()).await;
        Depositor { a, shares }
    }

    pub async fn deposit_ix(&self, ctx: &mut ProgramTestContext, d: &Depositor, amount: u64) -> Instruction {
        let markets = self.position_markets(ctx).await;
        self.keys().deposit_ix(&d.a.pubkey(), &d.a.collateral, &d.shares, amount, &markets)
    }

    pub async fn request_ix(&self, ctx: &mut ProgramTestContext, d: &Depositor, shares: u64) -> Instruction {
        let markets = self.position_markets(ctx).await;
        self.keys().request_ix(&d.a.pubkey(), &d.shares, shares, &markets)
    }

    pub async fn claim_ix(&self, ctx: &mut ProgramTestContext, d: &Depositor) -> Instruction {
        let markets = self.position_markets(ctx).await;
        self.keys().claim_ix(&d.a.pubkey(), &d.a.collateral, &markets)
    }

    /// allocate by `signer` (normally the strategist).
    pub async fn allocate_ix(
        &self,
        ctx: &mut ProgramTestContext,
        signer: &Pubkey,
        moves: Moves,
        legs: Vec<Leg>,
    ) -> Instruction {
        let lp = moves.lp_in > 0 || moves.lp_out > 0 || self.state(ctx).await.lp_shares_held > 0;
        let mut markets = self.markets_with(ctx, lp).await;
        for l in &legs {
            if !markets.contains(&l.market) {
                markets.push(l.market);
            }
        }
        self.keys().allocate_ix(signer, moves, legs, &markets)
    }

    /// Open-position markets plus the legs' markets, without duplicates.
    pub async fn markets_for(&self, ctx: &mut ProgramTestContext, legs: &[Leg]) -> Vec<Pubkey> {
        let mut markets = self.position_markets(ctx).await;
        for l in legs {
            if !markets.contains(&l.market) {
                markets.push(l.market);
            }
        }
        markets
    }

    pub async fn allocate(
        &self,
        ctx: &mut ProgramTestContext,
        margin_in: u64,
        legs: Vec<Leg>,
        margin_out: u64,
    ) -> TxResult {
        self.allocate_moves(ctx, Moves { margin_in, margin_out, ..Moves::default() }, legs).await
    }

    pub async fn allocate_moves(&self, ctx: &mut ProgramTestContext, moves: Moves, legs: Vec<Leg>) -> TxResult {
        let ix = self.allocate_ix(ctx, &self.strategist.pubkey(), moves, legs).await;
        send_with(ctx, &[ix], &[&self.strategist]).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn rebalance_ix(
        &self,
        ctx: &mut ProgramTestContext,
        keeper: &Pubkey,
        keeper_collateral: &Pubkey,
        pricing: Pricing,
        legs: Vec<Leg>,
        margin_out: u64,
        deleverage: bool,
    ) -> Instruction {
        let markets = self.markets_for(ctx, &legs).await;
        self.keys().rebalance_ix(keeper, keeper_collateral, pricing, legs, margin_out, deleverage, &markets)
    }

    pub fn leg(&self, market: u32, size: i64, limit: f64) -> Leg {
        Leg { market: market_pda(&self.t.f.venue, market), size, limit_price: bits(limit) }
    }

    /// The keeper's rebalancer for this vault (a static 5-unit delta band), with a funded key and a collateral
    /// account to take its reward.
    pub async fn rebalancer(&self, ctx: &mut ProgramTestContext) -> Rebalancer<StaticBand> {
        let key = Keypair::new();
        fund(ctx, key.pubkey(), 1_000_000_000).await;
        let keeper_collateral = create_token_account(ctx, self.t.token_program, self.t.f.mint, key.pubkey()).await;
        Rebalancer {
            keys: self.keys(),
            perp: market_pda(&self.t.f.venue, PERP),
            keeper: key,
            keeper_collateral,
            policy: StaticBand { half_width: 5.0 },
            costs: Costs { fee_bps: 5.0, half_spread_bps: 10.0, tx_fee: 0.0, oracle_latency_secs: 0.4 },
            slippage_bps: 50.0,
        }
    }
}

impl VaultFixture {
    /// The vault's NAV at `bound`, computed off-chain from the same accounts and functions the program uses
    /// (rounded up for Upper, down for Lower).
    pub async fn nav(&self, ctx: &mut ProgramTestContext, bound: keel_math::margin::Bound) -> u64 {
        use fixed::types::I80F48;
        let v = self.state(ctx).await;
        let acct = self.t.margin(ctx, &self.vault).await;
        let mut risks = Vec::new();
        for p in acct.positions.iter().filter(|p| p.is_open()) {
            let m: keel_venue::state::Market = account(ctx, p.market).await;
            risks.push(m.position_risk(p, 6).expect("position risk"));
        }
        let value = keel_math::margin::account_value(I80F48::from_num(acct.collateral), &risks, bound).unwrap();
        let mut nav = I80F48::from_num(v.idle_assets) + value;
        if v.lp_shares_held > 0 {
            // The LP stake at the pool's NAV bound: cash plus its claim on every market.
            let venue: keel_venue::state::Venue = account(ctx, self.t.f.venue).await;
            let mut pool = I80F48::from_num(venue.pool_assets);
            for i in 0..venue.num_markets {
                let m: keel_venue::state::Market = account(ctx, market_pda(&self.t.f.venue, i)).await;
                pool += m.pool_claim(6, bound).unwrap();
            }
            let sm = keel_venue::state::Venue::LP_SHARE_MATH;
            let pool = pool.max(I80F48::ZERO);
            let lp = if bound == keel_math::margin::Bound::Lower {
                sm.shares_to_amount_floor(v.lp_shares_held, pool.floor().to_num(), venue.lp_shares)
            } else {
                sm.shares_to_amount_ceil(v.lp_shares_held, pool.ceil().to_num(), venue.lp_shares)
            };
            nav += I80F48::from_num(lp.unwrap());
        }
        let r = if bound == keel_math::margin::Bound::Upper { nav.ceil() } else { nav.floor() };
        r.to_num()
    }

    /// The vault after fee accrual at `now` against the lower NAV (what every share-pricing instruction does first).
    pub async fn accrued(&self, ctx: &mut ProgramTestContext, now: i64) -> Vault {
        let mut v = self.state(ctx).await;
        let nav = self.nav(ctx, keel_math::margin::Bound::Lower).await;
        keel_vault::fees::accrue(&mut v, nav, now).expect("accrue");
        v
    }
}

/// The vault's portfolio as the program measures it: (delta in units, worst scenario loss in tokens, venue health
/// equity / maintenance), from the on-chain caches and keel-math.
pub async fn measure(ctx: &mut ProgramTestContext, v: &VaultFixture) -> (f64, fixed::types::I80F48, f64) {
    use fixed::types::I80F48;
    let acct = v.t.margin(ctx, &v.vault).await;
    let venue: keel_venue::state::Venue = account(ctx, v.t.f.venue).await;
    let (mut risks, mut delta) = (Vec::new(), I80F48::ZERO);
    let mut scenarios = [I80F48::ZERO; keel_math::instrument::SCENARIOS];
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let m: keel_venue::state::Market = account(ctx, p.market).await;
        let r = m.position_risk(p, 6).expect("risk");
        keel_math::risk::accumulate(&mut scenarios, &r.risk_array, r.qty).unwrap();
        delta += I80F48::from_num(p.size) * m.cache.delta.fx();
        risks.push(r);
    }
    let delta = in_units(delta);
    let h =
        keel_math::margin::account_health(I80F48::from_num(acct.collateral), &risks, &venue.margin.params()).unwrap();
    let health = if h.maintenance > 0 { (h.equity / h.maintenance).to_num() } else { f64::INFINITY };
    (delta.to_num(), keel_math::risk::worst_loss(&scenarios), health)
}

/// The vault's risk snapshot (without the breach) computed afresh from the accounts with keel-math alone, for a
/// vault with no LP stake: what a rebalance's `Rebalanced.after` must equal bit for bit, however the program
/// derived it (it values only the traded positions again).
pub async fn fresh_snapshot(ctx: &mut ProgramTestContext, v: &VaultFixture) -> keel_vault::events::RiskSnapshot {
    use fixed::types::I80F48;
    let vault = v.state(ctx).await;
    assert_eq!(vault.lp_shares_held, 0, "fresh_snapshot leaves out an LP stake");
    let acct = v.t.margin(ctx, &v.vault).await;
    let venue: keel_venue::state::Venue = account(ctx, v.t.f.venue).await;
    let (mut risks, mut greeks) = (Vec::new(), [I80F48::ZERO; 3]);
    let mut scenarios = [I80F48::ZERO; keel_math::instrument::SCENARIOS];
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let m: keel_venue::state::Market = account(ctx, p.market).await;
        let r = m.position_risk(p, venue.collateral_decimals).expect("risk");
        keel_math::risk::accumulate(&mut scenarios, &r.risk_array, r.qty).unwrap();
        for (g, c) in greeks.iter_mut().zip([m.cache.delta.fx(), m.cache.gamma.fx(), m.cache.vega.fx()]) {
            *g += I80F48::from_num(p.size) * c;
        }
        risks.push(r);
    }
    let greeks = greeks.map(in_units);
    let collateral = I80F48::from_num(acct.collateral);
    let h = keel_math::margin::account_health(collateral, &risks, &venue.margin.params()).unwrap();
    keel_vault::events::RiskSnapshot {
        nav: (I80F48::from_num(vault.idle_assets) + h.equity).to_bits(),
        delta: greeks[0].to_bits(),
        gamma: greeks[1].to_bits(),
        vega: greeks[2].to_bits(),
        worst_loss: keel_math::risk::worst_loss(&scenarios).to_bits(),
        equity: h.equity.to_bits(),
        maintenance: h.maintenance.to_bits(),
        breach: 0,
    }
}

/// A greek summed over positions in lots (each position's size times its market's per-unit greek, exact) in
/// underlying units, as the vault defines a book's greeks: divided by 10^6 lots per unit once, truncated toward zero.
fn in_units(lots: fixed::types::I80F48) -> fixed::types::I80F48 {
    fixed::types::I80F48::from_bits(lots.to_bits() / 1_000_000)
}

/// The current slot (what a keeper records as its pricing slot).
pub async fn slot(ctx: &mut ProgramTestContext) -> u64 {
    let clock: solana_sdk::clock::Clock = ctx.banks_client.get_sysvar().await.expect("clock");
    clock.slot
}

impl VaultFixture {
    /// The `nav` view with the NAV-reading markets.
    pub async fn nav_ix(&self, ctx: &mut ProgramTestContext) -> Instruction {
        let ix = anchor_ix(
            keel_vault::ID,
            keel_vault::accounts::Nav { vault: self.vault, link: link(self) },
            keel_vault::instruction::Nav {},
        );
        with_markets(ix, &self.position_markets(ctx).await)
    }
}

/// What the program counts as risk for the keeper's reward: (worst scenario loss, money at risk in the delta
/// excess), both in tokens, from the same accounts and keel-math functions.
pub async fn reward_basis(
    ctx: &mut ProgramTestContext,
    v: &VaultFixture,
) -> (fixed::types::I80F48, fixed::types::I80F48) {
    use fixed::types::I80F48;
    let acct = v.t.margin(ctx, &v.vault).await;
    let mut delta = I80F48::ZERO;
    let mut gamma = I80F48::ZERO;
    let mut scenarios = [I80F48::ZERO; keel_math::instrument::SCENARIOS];
    for p in acct.positions.iter().filter(|p| p.is_open()) {
        let m: keel_venue::state::Market = account(ctx, p.market).await;
        let r = m.position_risk(p, 6).expect("risk");
        keel_math::risk::accumulate(&mut scenarios, &r.risk_array, r.qty).unwrap();
        delta += I80F48::from_num(p.size) * m.cache.delta.fx();
        gamma += I80F48::from_num(p.size) * m.cache.gamma.fx();
    }
    let (delta, gamma) = (in_units(delta), in_units(gamma));
    let perp: keel_venue::state::Market = account(ctx, market_pda(&v.t.f.venue, PERP)).await;
    let p = keel_math::mandate::PortfolioRisk { spot: perp.cache.spot.fx(), delta, gamma, ..Default::default() };
    let mandate = v.state(ctx).await.config.mandate.mandate();
    let range = I80F48::from_bits(bits(0.15));
    let delta_risk = mandate.delta_risk(&p, range, I80F48::from_num(1_000_000)).unwrap();
    (keel_math::risk::worst_loss(&scenarios), delta_risk)
}
