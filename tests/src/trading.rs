//! Fixture builder for trading on keel-venue: market terms, margin/trade/settle/liquidate instruction builders, and
//! a ready venue with LP capital, a perp, a call and a put, plus funded traders with margin accounts.
use crate::venue::*;
use crate::{account, bits, create_token_account, fund, mint_to, now, send_with, set_pyth_price, PythPrice};
use anchor_lang::prelude::Pubkey;
use keel_venue::state::{MarginAccount, Market, MarketConfig, MarketKind, Venue};
use solana_program_test::ProgramTestContext;
use solana_sdk::instruction::Instruction;
use solana_sdk::{signature::Keypair, signer::Signer, transport::TransportError};

pub use keel_client::venue::{
    liquidate_ix, margin_flow_ix, margin_pda, open_margin_ix, settle_market_ix, settle_position_ix, trade_ix,
    MarketRef, LOT,
};

pub type TxResult = Result<(), TransportError>;

pub fn svi_params() -> [i128; 5] {
    [bits(0.01), bits(0.1), bits(-0.3), bits(0.0), bits(0.2)]
}

pub fn perp_config() -> MarketConfig {
    MarketConfig {
        kind: MarketKind::Perp,
        strike: 0,
        expiry: 0,
        taker_fee_bps: 5,
        half_spread_bps: 10,
        max_open_interest: 1_000_000_000,
        max_funding_bps_per_day: 100,
    }
}

pub fn option_config(kind: MarketKind, strike: f64, expiry: i64) -> MarketConfig {
    MarketConfig { kind, strike: bits(strike), expiry, max_funding_bps_per_day: 0, ..perp_config() }
}

/// A participant: a funded key and its collateral token account.
#[derive(Debug)]
pub struct Actor {
    pub key: Keypair,
    pub collateral: Pubkey,
}

impl Clone for Actor {
    fn clone(&self) -> Self {
        Self { key: self.key.insecure_clone(), collateral: self.collateral }
    }
}

impl Actor {
    pub fn pubkey(&self) -> Pubkey {
        self.key.pubkey()
    }
}

/// Markets of the trading fixture, by index.
pub const PERP: u32 = 0;
pub const CALL: u32 = 1;
pub const PUT: u32 = 2;
/// The fixture's markets by venue index (what a vault configuration allows).
pub const FIXTURE_MARKETS: [u32; 3] = [PERP, CALL, PUT];

/// A venue (6-decimal collateral) with underlying #0 at `spot`, a 30-day surface, a perp, a call struck at
/// 1.1 x spot and a put at 0.9 x spot, all refreshed, and an LP who deposited `lp_capital` tokens.
#[derive(Clone, Debug)]
pub struct TradingFixture {
    pub f: VenueFixture,
    pub token_program: Pubkey,
    pub expiry: i64,
    pub surface: Pubkey,
    pub lp: Actor,
    pub lp_shares: Pubkey,
}

impl TradingFixture {
    pub async fn new(ctx: &mut ProgramTestContext, token_program: Pubkey, spot: f64, lp_capital: u64) -> Self {
        let f = VenueFixture::new(ctx, token_program).await.with_underlying(ctx).await;
        let expiry = now(ctx).await + 30 * 86_400;
        let va = f.vol_authority.pubkey();
        fund(ctx, va, 1_000_000_000).await;
        let ix = post_surface_ix(&va, &f.venue, &f.underlying(), expiry, svi_params());
        send_with(ctx, &[ix], &[&f.vol_authority]).await.expect("post surface");
        let surface = surface_pda(&f.underlying(), expiry);
        let admin = ctx.payer.pubkey();
        let (v, u) = (f.venue, f.underlying());
        let markets = [
            add_market_ix(&admin, &v, &u, None, PERP, perp_config()),
            add_market_ix(&admin, &v, &u, Some(surface), CALL, option_config(MarketKind::Call, spot * 1.1, expiry)),
            add_market_ix(&admin, &v, &u, Some(surface), PUT, option_config(MarketKind::Put, spot * 0.9, expiry)),
        ];
        send_with(ctx, &markets, &[]).await.expect("add markets");
        let lp = actor(ctx, f.mint, token_program, lp_capital).await;
        let lp_shares = create_token_account(ctx, token_program, lp_mint_pda(&f.venue), lp.pubkey()).await;
        let mut s = Self { f, token_program, expiry, surface, lp, lp_shares };
        s.set_price(ctx, spot).await;
        let ix = lp_ix_with(&s.lp_accounts(), LpAction::Deposit(lp_capital), &s.markets());
        send_with(ctx, &[ix], &[&s.lp.key]).await.expect("LP deposit");
        s
    }

    pub fn market(&self, index: u32) -> MarketRef {
        MarketRef {
            venue: self.f.venue,
            underlying: self.f.underlying(),
            market: market_pda(&self.f.venue, index),
            oracle: self.f.oracle,
        }
    }

    /// Every market in index order (what LP flows pass).
    pub fn markets(&self) -> Vec<Pubkey> {
        [PERP, CALL, PUT].iter().map(|i| market_pda(&self.f.venue, *i)).collect()
    }

    pub fn lp_accounts(&self) -> LpAccounts {
        LpAccounts {
            owner: self.lp.pubkey(),
            venue: self.f.venue,
            mint: self.f.mint,
            owner_collateral: self.lp.collateral,
            owner_lp: self.lp_shares,
            token_program: self.token_program,
        }
    }

    /// refresh_market for every market that has not expired at `now` (options with their surface).
    pub fn refresh_ixs(&self, refresher: &Pubkey, now: i64) -> Vec<Instruction> {
        let live: &[u32] = if now < self.expiry { &[PERP, CALL, PUT] } else { &[PERP] };
        live.iter()
            .map(|i| {
                let m = self.market(*i);
                let surface = (*i != PERP).then_some(self.surface);
                refresh_market_ix(refresher, &m.venue, &m.underlying, &m.market, &m.oracle, surface)
            })
            .collect()
    }

    /// Publishes `spot` (conf 0.05%, EMA = spot) at the current time; the vol authority re-posts the surface
    /// (same parameters) while it is live, and every live market is refreshed, all in one transaction.
    pub async fn set_price(&mut self, ctx: &mut ProgramTestContext, spot: f64) {
        let t = now(ctx).await;
        self.publish(ctx, PythPrice::new(FEED, spot, t)).await;
    }

    /// [`Self::set_price`] with an observation of the caller's making (e.g. a wide confidence interval).
    pub async fn publish(&mut self, ctx: &mut ProgramTestContext, p: PythPrice) {
        let t = now(ctx).await;
        self.set_oracle(ctx, p);
        let mut ixs = Vec::new();
        if t < self.expiry {
            let va = self.f.vol_authority.pubkey();
            ixs.push(post_surface_ix(&va, &self.f.venue, &self.f.underlying(), self.expiry, svi_params()));
        }
        let signers: &[&Keypair] = if t < self.expiry { &[&self.f.vol_authority] } else { &[] };
        ixs.extend(self.refresh_ixs(&ctx.payer.pubkey(), t));
        crate::send_batch(ctx, &ixs, signers).await.expect("refresh markets");
    }

    pub fn set_oracle(&self, ctx: &mut ProgramTestContext, p: PythPrice) {
        set_pyth_price(ctx, self.f.oracle, p);
    }

    /// A funded trader with `tokens` deposited into a fresh margin account.
    pub async fn trader(&self, ctx: &mut ProgramTestContext, tokens: u64) -> Actor {
        let a = actor(ctx, self.f.mint, self.token_program, tokens).await;
        let payer = ctx.payer.pubkey();
        let open = open_margin_ix(&payer, &a.pubkey(), &self.f.venue);
        let dep = self.flow_ix(&a, i64::try_from(tokens).expect("fits"), &[]);
        send_with(ctx, &[open, dep], &[&a.key]).await.expect("open and fund margin account");
        a
    }

    pub fn flow_ix(&self, a: &Actor, amount: i64, markets: &[Pubkey]) -> Instruction {
        let (v, m, c, t) = (&self.f.venue, &self.f.mint, &a.collateral, &self.token_program);
        margin_flow_ix(&a.pubkey(), v, m, c, t, amount, markets)
    }

    pub async fn trade(&self, ctx: &mut ProgramTestContext, a: &Actor, m: u32, size: i64, limit: f64) -> TxResult {
        let others = self.other_markets(ctx, a, m).await;
        send_with(ctx, &[trade_ix(&a.pubkey(), &self.market(m), size, limit, &others)], &[&a.key]).await
    }

    /// The markets of `a`'s open positions other than `except`, in slot order.
    pub async fn other_markets(&self, ctx: &mut ProgramTestContext, a: &Actor, except: u32) -> Vec<Pubkey> {
        let acct: MarginAccount = account(ctx, margin_pda(&self.f.venue, &a.pubkey())).await;
        let skip = market_pda(&self.f.venue, except);
        acct.positions.iter().filter(|p| p.market != Pubkey::default() && p.market != skip).map(|p| p.market).collect()
    }

    pub async fn margin(&self, ctx: &mut ProgramTestContext, a: &Pubkey) -> MarginAccount {
        account(ctx, margin_pda(&self.f.venue, a)).await
    }

    pub async fn market_state(&self, ctx: &mut ProgramTestContext, m: u32) -> Market {
        account(ctx, market_pda(&self.f.venue, m)).await
    }

    pub async fn venue_state(&self, ctx: &mut ProgramTestContext) -> Venue {
        account(ctx, self.f.venue).await
    }

    /// The token-unit invariant: vault balance = pool cash + every margin account's collateral.
    pub async fn assert_reconciles(&self, ctx: &mut ProgramTestContext, owners: &[Pubkey]) {
        let vault = crate::token_balance(ctx, collateral_vault_pda(&self.f.venue)).await;
        let mut claims = i128::from(self.venue_state(ctx).await.pool_assets);
        for o in owners {
            claims += i128::from(self.margin(ctx, o).await.collateral);
        }
        assert_eq!(i128::from(vault), claims, "vault tokens must equal pool cash + margin collateral");
    }
}

/// A funded key with a collateral token account holding `tokens`.
pub async fn actor(ctx: &mut ProgramTestContext, mint: Pubkey, token_program: Pubkey, tokens: u64) -> Actor {
    let key = Keypair::new();
    fund(ctx, key.pubkey(), 100_000_000).await;
    let collateral = create_token_account(ctx, token_program, mint, key.pubkey()).await;
    if tokens > 0 {
        mint_to(ctx, token_program, mint, collateral, tokens).await;
    }
    Actor { key, collateral }
}

/// Liquidates `victim`'s position in `m` step by step until it is healthy or flat; returns the steps taken.
pub async fn liquidate_while_possible(
    ctx: &mut ProgramTestContext,
    s: &TradingFixture,
    liquidator: &Actor,
    victim: &Pubkey,
    m: u32,
) -> u32 {
    let mut steps = 0;
    loop {
        let acct = s.margin(ctx, victim).await;
        if acct.slot_of(&market_pda(&s.f.venue, m)).is_none() {
            return steps;
        }
        let others: Vec<Pubkey> = acct
            .positions
            .iter()
            .filter(|p| p.market != Pubkey::default() && p.market != market_pda(&s.f.venue, m))
            .map(|p| p.market)
            .collect();
        let ix = liquidate_ix(
            &liquidator.pubkey(),
            &s.market(m),
            &margin_pda(&s.f.venue, victim),
            &s.f.mint,
            &liquidator.collateral,
            &s.token_program,
            u64::MAX,
            &others,
        );
        match send_with(ctx, &[ix], &[&liquidator.key]).await {
            Ok(()) => steps += 1,
            Err(e) => {
                assert_eq!(crate::custom_error(Err(e)), u32::from(keel_venue::error::VenueError::NotLiquidatable));
                return steps;
            }
        }
    }
}
