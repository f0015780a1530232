//! The strategist's loop for one vault: a book of short strangles hedged in the perp, rolled on a schedule, with
//! the vault's collateral split between idle and venue margin so venue health sits at a target.
//!
//! Each cycle:
//! 1. Refresh the caches of every market it may touch, so the measurement equals what `allocate` will see.
//! 2. Legs within `roll_hours` of expiry are bought back (risk-reducing: always done).
//! 3. When no strangle is live, the next one is chosen: the listed expiry nearest the tenor, and on it the put and
//!    the call whose strikes are nearest the target-delta strikes at the forecast volatility (so the range the book
//!    sells widens when expected volatility rises). It is sized to `notional_fraction` of NAV, then scaled down
//!    until the projected portfolio satisfies the mandate. Opening is risk-increasing: the caller says whether
//!    that is allowed (the operator keeper pauses it until alerts are acknowledged).
//! 4. The perp re-hedges the book to the mandate's target delta, and margin moves so health is at
//!    `target_health` (or, above `max_health`, back to idle).
//! 5. With `lp_idle_buffer` set, idle above the mandate's floor plus that buffer goes into the venue's LP pool to
//!    earn the pool's fees and spread, and comes back out when idle falls below it (margin top-ups draw on idle).
//! 6. Everything is one `allocate`, projected with the programs' own arithmetic ([`crate::predict`]), simulated, sent.
use crate::chain::{Chain, ChainError};
use crate::predict::Projection;
use crate::strategy::book::strangle_strikes;
use crate::strategy::VolForecast;
use crate::vault_view::{KeeperError, VaultView};
use fixed::types::I80F48;
use keel_client::vault::VaultKeys;
use keel_client::venue::{margin_pda, settle_market_ix, settle_position_ix, MarketRef, LOT};
use keel_vault::instructions::{Leg, Moves};
use keel_venue::state::{Market, MarketKind};
use serde::Deserialize;
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Keypair, signer::Signer};

const YEAR_SECS: f64 = 365.0 * 86_400.0;

/// The strategy's parameters (the operator's `[vaults.strategy]`).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    /// |delta| of each leg at sale (0.25: a 25-delta strangle).
    pub target_delta: f64,
    /// Days to expiry wanted at sale; the listed expiry nearest it is used.
    pub tenor_days: f64,
    /// Contracts per leg as a fraction of NAV / spot, before the mandate scales it down.
    pub notional_fraction: f64,
    /// Legs are bought back (and the next strangle sold) this long before expiry.
    pub roll_hours: f64,
    /// Venue health (equity / maintenance) that margin is topped up to.
    pub target_health: f64,
    /// Above this health, margin returns to idle down to `target_health`.
    pub max_health: f64,
    /// Limit price tolerance around the predicted execution price (bps).
    pub slippage_bps: f64,
    /// Idle kept above the mandate's idle floor, as a fraction of NAV, with the rest in the venue's LP pool; `None`:
    /// the vault does not provide liquidity. Moves happen when idle is a quarter of the buffer (and at least 0.1%
    /// of NAV) away from it, so drift does not cause a move per cycle.
    pub lp_idle_buffer: Option<f64>,
}

impl Default for StrategySpec {
    fn default() -> Self {
        Self {
            target_delta: 0.25,
            tenor_days: 7.0,
            notional_fraction: 1.0,
            roll_hours: 24.0,
            target_health: 3.0,
            max_health: 6.0,
            slippage_bps: 100.0,
            lp_idle_buffer: None,
        }
    }
}

impl StrategySpec {
    /// Every parameter in range, or the first that is not (named as the config key).
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (self.target_delta > 0.0 && self.target_delta <= 0.5, "target_delta must be within (0, 0.5]"),
            (self.tenor_days > 0.0 && self.tenor_days <= 366.0, "tenor_days must be within (0, 366]"),
            (
                self.notional_fraction > 0.0 && self.notional_fraction <= 10.0,
                "notional_fraction must be within (0, 10]",
            ),
            (
                self.roll_hours >= 0.0 && self.roll_hours < self.tenor_days * 24.0,
                "roll_hours must be within [0, tenor)",
            ),
            (self.target_health > 1.0 && self.target_health.is_finite(), "target_health must be above 1"),
            (self.max_health > self.target_health, "max_health must be above target_health"),
            (self.slippage_bps > 0.0 && self.slippage_bps <= 1000.0, "slippage_bps must be within (0, 1000]"),
            (self.lp_idle_buffer.is_none_or(|b| (0.0..=1.0).contains(&b)), "lp_idle_buffer must be within [0, 1]"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, msg)) => Err((*msg).to_string()),
            None => Ok(()),
        }
    }

    fn roll_secs(&self) -> i64 {
        // Validated finite and below a year of hours: the cast keeps whole seconds.
        (self.roll_hours * 3600.0).round() as i64
    }
}

/// A planned allocation.
#[derive(Clone, Debug)]
pub struct StrategyPlan {
    pub instructions: Vec<Instruction>,
    /// Legs bought back (roll), legs sold (market, lots), the perp hedge (lots) and margin moved (+in / -out).
    pub closed: Vec<(Pubkey, i64)>,
    pub opened: Vec<(Pubkey, i64)>,
    pub hedge: i64,
    pub margin: i64,
    /// Idle tokens into the LP pool, LP shares redeemed.
    pub lp_in: u64,
    pub lp_out: u64,
    pub sequence: u64,
    /// The vault's margin account as the projection expects `allocate` to leave it: collateral and positions; and
    /// the vault's idle and LP shares.
    pub projected_collateral: i64,
    pub projected_positions: [keel_venue::state::Position; keel_venue::state::MAX_POSITIONS],
    pub projected_idle: u64,
    pub projected_lp_shares: u64,
}

/// What one strategist cycle did.
#[derive(Clone, Debug, PartialEq)]
pub enum StrategyOutcome {
    /// Nothing to do, and why.
    Idle(String),
    /// Opening a strangle is risk-increasing and the caller paused it (and what it would have done).
    Held(String),
    /// An allocation landed: legs closed, legs sold, hedge lots, margin moved, LP tokens in and shares out.
    Allocated {
        closed: usize,
        opened: Vec<(Pubkey, i64)>,
        hedge: i64,
        margin: i64,
        lp_in: u64,
        lp_out: u64,
        sequence: u64,
    },
    /// Dry run: the allocation's simulation.
    Simulated(Result<(), ChainError>),
    /// The program refused for a reason the projection missed.
    Rejected(ChainError),
}

pub struct Strategist {
    pub keys: VaultKeys,
    /// The perp market the book is hedged with.
    pub perp: Pubkey,
    /// The vault's strategist key (signs `allocate`).
    pub strategist: Keypair,
    pub spec: StrategySpec,
    /// Volatility forecast fed with the oracle price each cycle; strikes are set at its forecast.
    pub forecast: Box<dyn VolForecast + Send>,
}

/// The strangle chosen for a listed expiry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    pub expiry: i64,
    pub put: Pubkey,
    pub call: Pubkey,
    /// The target-delta strikes at the forecast vol that the listed strikes approximate.
    pub ideal: (f64, f64),
}

/// Picks the strangle to sell from `markets` (option markets the vault may trade): the expiry nearest `now +
/// tenor` among those living past the roll window with both a put and a call listed, then on it the put and the
/// call whose strikes are nearest (in log-moneyness) the target-delta strikes at `vol`.
pub fn choose(markets: &[(Pubkey, &Market)], spec: &StrategySpec, now: i64, spot: f64, vol: f64) -> Option<Choice> {
    let wanted = now as f64 + spec.tenor_days * 86_400.0;
    let live = |m: &Market| m.is_option() && !m.book.is_settled() && m.config.expiry > now + spec.roll_secs();
    let has = |e: i64, k: MarketKind| markets.iter().any(|(_, m)| live(m) && m.config.expiry == e && m.kind() == k);
    let expiry = markets
        .iter()
        .filter(|(_, m)| live(m) && has(m.config.expiry, MarketKind::Put) && has(m.config.expiry, MarketKind::Call))
        .map(|(_, m)| m.config.expiry)
        .min_by(|a, b| (*a as f64 - wanted).abs().total_cmp(&(*b as f64 - wanted).abs()))?;
    let t = (expiry - now) as f64 / YEAR_SECS;
    let ideal = strangle_strikes(spot, vol, t, spec.target_delta);
    let nearest = |kind: MarketKind, k: f64| {
        markets
            .iter()
            .filter(|(_, m)| live(m) && m.config.expiry == expiry && m.kind() == kind)
            .map(|(key, m)| (*key, m.config.strike.fx().to_num::<f64>()))
            .min_by(|a, b| (a.1 / k).ln().abs().total_cmp(&(b.1 / k).ln().abs()))
            .map(|(key, _)| key)
    };
    Some(Choice { expiry, put: nearest(MarketKind::Put, ideal.0)?, call: nearest(MarketKind::Call, ideal.1)?, ideal })
}

impl Strategist {
    fn market_ref(&self, market: Pubkey) -> MarketRef {
        MarketRef { venue: self.keys.venue, underlying: self.keys.underlying, market, oracle: self.keys.oracle }
    }

    /// Settles the vault's positions in expired option markets (permissionless venue cranks): until they are
    /// settled their caches cannot be refreshed, and every NAV-reading instruction would refuse. With an LP stake,
    /// every expired market with open interest is settled too: the pool's NAV needs each of them fresh or settled.
    async fn settle_expired<C: Chain>(&self, chain: &mut C, view: &VaultView) -> Result<bool, KeeperError> {
        let now = view.clock.unix_timestamp;
        let me = self.strategist.pubkey();
        let expired = |m: &Market| m.is_option() && now >= m.config.expiry && !m.book.is_settled();
        let held = view.position_markets();
        let mut ixs = Vec::new();
        for (key, m) in &view.markets {
            let pool_needs = view.vault.lp_shares_held > 0 && (m.book.long_oi > 0 || m.book.short_oi > 0);
            if expired(m) && (held.contains(key) || pool_needs) {
                ixs.push(settle_market_ix(&me, &self.market_ref(*key)));
            }
        }
        for key in held {
            let Some(m) = view.market(&key) else { continue };
            if m.is_option() && now >= m.config.expiry {
                let account = margin_pda(&self.keys.venue, &self.keys.vault);
                ixs.push(settle_position_ix(&me, &self.keys.venue, &account, &key));
            }
        }
        if ixs.is_empty() {
            return Ok(false);
        }
        chain.send(&ixs, &[&self.strategist]).await?;
        Ok(true)
    }

    /// The vault as this strategist needs it: every venue market too when it may provide LP liquidity.
    async fn load<C: Chain>(&self, chain: &mut C) -> Result<VaultView, KeeperError> {
        if self.spec.lp_idle_buffer.is_some() {
            VaultView::load_all(chain, self.keys).await
        } else {
            VaultView::load(chain, self.keys).await
        }
    }

    /// Refreshes, settles what expired, then plans. `Err` inside: nothing to do (or held), and why.
    pub async fn plan<C: Chain>(
        &mut self,
        chain: &mut C,
        allow_increase: bool,
        send_refresh: bool,
    ) -> Result<Result<StrategyPlan, StrategyOutcome>, KeeperError> {
        // 1. Fresh caches (and settled expiries), so the projection starts from what the program will see.
        let mut view = self.load(chain).await?;
        if send_refresh {
            if self.settle_expired(chain, &view).await? {
                view = self.load(chain).await?;
            }
            // Every market it may touch: VaultView loads the open positions' and the allowed ones (and, for the
            // LP pool, every venue market).
            let touched: Vec<Pubkey> = view.markets.iter().map(|(k, _)| *k).collect();
            let refresh = view.refresh_ixs(&self.strategist.pubkey(), &touched);
            crate::execution::send_refreshes(chain, &refresh, &self.strategist).await?;
            view = self.load(chain).await?;
        }
        let spot: f64 = view.price.price.to_num();
        self.forecast.observe(view.clock.unix_timestamp, spot);
        if view.vault.total_shares == 0 {
            return Ok(Err(StrategyOutcome::Idle("the vault holds no deposits".into())));
        }
        if view.vault.is_paused(view.clock.unix_timestamp) {
            return Ok(Err(StrategyOutcome::Idle("the vault is paused by its guardian".into())));
        }
        if keel_vault::venue_link::tripped(&view.price, &view.vault.config.breaker)? {
            return Ok(Err(StrategyOutcome::Idle("the circuit breaker is tripped".into())));
        }
        let mut decided = self.decide(&view, allow_increase)?;
        if let Ok(plan) = &mut decided {
            // A roll passes up to four option markets, an LP move every venue market: their refreshes (sent a
            // moment ago, step 1) may not fit beside the allocate (the last instruction) in one transaction.
            let (ixs, me) = (&plan.instructions, self.strategist.pubkey());
            if !crate::execution::fits_with_refreshes(ixs, &me, chain.lookup_tables()) {
                plan.instructions.drain(..plan.instructions.len().saturating_sub(1));
            }
        }
        Ok(decided)
    }

    /// Steps 2-5 on a loaded view (pure apart from the forecast it reads).
    pub fn decide(
        &self,
        view: &VaultView,
        allow_increase: bool,
    ) -> Result<Result<StrategyPlan, StrategyOutcome>, KeeperError> {
        let now = view.clock.unix_timestamp;
        let spot: f64 = view.price.price.to_num();
        // 2. Legs inside the roll window are bought back; the others are the live book.
        let mut closed = Vec::new();
        let mut live_legs = 0;
        for p in view.margin.positions.iter().filter(|p| p.is_open()) {
            let Some(m) = view.market(&p.market) else { continue };
            if !m.is_option() || m.book.is_settled() || now >= m.config.expiry {
                continue;
            }
            if now >= m.config.expiry - self.spec.roll_secs() {
                closed.push((p.market, -p.size));
            } else {
                live_legs += 1;
            }
        }
        // 3. The next strangle when none is live.
        let mut held = None;
        let mut choice = None;
        if live_legs == 0 {
            let keys = view.allowed_markets();
            let allowed: Vec<(Pubkey, &Market)> = keys.iter().filter_map(|k| view.market(k).map(|m| (*k, m))).collect();
            let vol = self.forecast.annual_vol().unwrap_or_else(|| view.max_implied_vol());
            match choose(&allowed, &self.spec, now, spot, vol) {
                Some(c) if allow_increase => choice = Some(c),
                Some(c) => held = Some(format!("would sell the {} strangle; risk-increasing work is paused", c.expiry)),
                None if closed.is_empty() => {
                    return Ok(Err(StrategyOutcome::Idle("no listed expiry has both a put and a call to sell".into())))
                }
                None => {}
            }
        }
        // Sizing: the largest fraction of the wanted size the mandate accepts (bisection on the projection).
        // NAV in whole tokens (the portfolio counts base units).
        let unit = 10f64.powi(i32::from(view.venue.collateral_decimals));
        let nav = view.portfolio()?.nav.to_num::<f64>() / unit;
        let wanted = self.spec.notional_fraction * nav / spot * LOT as f64;
        let lots = |scale: f64| -> i64 {
            let l = (wanted * scale).floor();
            if l.is_finite() && l > 0.0 && l < i64::MAX as f64 {
                l as i64 // checked finite, positive and in range: only the fraction is dropped
            } else {
                0
            }
        };
        let build = |scale: f64| self.project(view, &closed, choice.map(|c| (c, lots(scale))), allow_increase);
        let mut best = build(1.0)?;
        if choice.is_some() && best.is_err() {
            let (mut lo, mut hi) = (0.0, 1.0);
            best = build(0.0)?;
            for _ in 0..12 {
                let mid = 0.5 * (lo + hi);
                match build(mid)? {
                    Ok(p) => {
                        best = Ok(p);
                        lo = mid;
                    }
                    Err(_) => hi = mid,
                }
            }
        }
        let mut plan = match best {
            Ok(plan) => plan,
            Err(why) => return Ok(Err(StrategyOutcome::Idle(format!("no allocation the mandate accepts: {why}")))),
        };
        if plan.opened.iter().all(|(_, l)| *l == 0) {
            plan.opened.clear();
        }
        let moves = plan.margin != 0 || plan.lp_in > 0 || plan.lp_out > 0;
        if plan.closed.is_empty() && plan.opened.is_empty() && plan.hedge == 0 && !moves {
            return Ok(Err(match held {
                Some(h) => StrategyOutcome::Held(h),
                None if live_legs > 0 => StrategyOutcome::Idle("the strangle is live; nothing to roll".into()),
                None => StrategyOutcome::Idle("the mandate leaves no room for a strangle".into()),
            }));
        }
        Ok(Ok(plan))
    }

    /// Projects closing `closed`, selling `open` (lots per leg), re-hedging and moving margin and LP liquidity.
    /// `Err` inside: the first rule the projection breaks. A deposit into the pool that the mandate would not
    /// accept (its share of the pool's exposure) is dropped rather than the trades.
    fn project(
        &self,
        view: &VaultView,
        closed: &[(Pubkey, i64)],
        open: Option<(Choice, i64)>,
        allow_increase: bool,
    ) -> Result<Result<StrategyPlan, String>, KeeperError> {
        let opened: Vec<(Pubkey, i64)> = match open {
            Some((c, lots)) if lots > 0 => vec![(c.put, -lots), (c.call, -lots)],
            _ => Vec::new(),
        };
        let options: Vec<(Pubkey, i64)> = closed.iter().chain(&opened).copied().collect();
        // The trades alone, to size the margin (whose initial-margin check comes after) and the LP moves.
        let mut p = match self.trades_only(view, (0, 0), &options)? {
            Ok(p) => p,
            Err(why) => return Ok(Err(why)),
        };
        let hedge = self.hedge(&p, !options.is_empty())?;
        if hedge != 0 {
            if let Err(why) = p.trade(&self.perp, hedge) {
                return Ok(Err(why));
            }
        }
        let margin = self.margin_move(&p, allow_increase, !options.is_empty())?;
        let lp = self.lp_move(view, margin, allow_increase)?;
        let first = self.assemble(view, &options, opened.clone(), closed, margin, lp)?;
        match first {
            Err(_) if lp.0 > 0 => self.assemble(view, &options, opened, closed, margin, (0, lp.1)),
            other => Ok(other),
        }
    }

    /// Copies advanced by the LP moves (`lp`: tokens in, shares out) and `options`, without margin checks.
    fn trades_only(
        &self,
        view: &VaultView,
        lp: (u64, u64),
        options: &[(Pubkey, i64)],
    ) -> Result<Result<Projection, String>, KeeperError> {
        let mut p = Projection::new(view);
        p.check_margin = false;
        if lp.0 > 0 {
            if let Err(why) = p.lp_in(lp.0) {
                return Ok(Err(why));
            }
        }
        for (k, size) in options {
            if let Err(why) = p.trade(k, *size) {
                return Ok(Err(why));
            }
        }
        if lp.1 > 0 {
            if let Err(why) = p.lp_out(lp.1) {
                return Ok(Err(why));
            }
        }
        Ok(Ok(p))
    }

    /// Perp lots that bring `p`'s delta (with any LP stake's share of the pool) to the mandate's target, when
    /// options trade; without them delta is the rebalancing keepers' work.
    fn hedge(&self, p: &Projection, trades: bool) -> Result<i64, KeeperError> {
        let target = p.vault.config.mandate.mandate().target_delta.to_num::<f64>();
        let hedge = ((target - p.portfolio()?.delta.to_num::<f64>()) * LOT as f64).round();
        // Checked finite and bounded: the cast keeps the whole lots.
        Ok(if trades && hedge.is_finite() && hedge.abs() < 1e15 { hedge as i64 } else { 0 })
    }

    /// The allocation in the program's order (margin in, LP in, legs, LP out, margin out), its limit prices, the
    /// mandate's verdict on the result and the transaction.
    fn assemble(
        &self,
        view: &VaultView,
        options: &[(Pubkey, i64)],
        opened: Vec<(Pubkey, i64)>,
        closed: &[(Pubkey, i64)],
        margin: i64,
        lp: (u64, u64),
    ) -> Result<Result<StrategyPlan, String>, KeeperError> {
        // The hedge again with the LP moves applied: the pool's exposure is part of the vault's delta.
        let hedge = match self.trades_only(view, lp, options)? {
            Ok(p) => self.hedge(&p, !options.is_empty())?,
            Err(why) => return Ok(Err(why)),
        };
        let mut q = Projection::new(view);
        let legs: Vec<(Pubkey, i64)> =
            options.iter().copied().chain((hedge != 0).then_some((self.perp, hedge))).collect();
        let mut limits = Vec::with_capacity(legs.len());
        let step = (|| {
            if margin > 0 {
                q.move_margin(margin)?;
            }
            if lp.0 > 0 {
                q.lp_in(lp.0)?;
            }
            for (k, size) in &legs {
                let price = q.execution_price(k, *size)?;
                q.trade(k, *size)?;
                let tol = I80F48::from_num(1.0 + self.spec.slippage_bps / 10_000.0);
                limits.push(if *size > 0 { price * tol } else { price / tol });
            }
            if lp.1 > 0 {
                q.lp_out(lp.1)?;
            }
            if margin < 0 {
                q.move_margin(margin)?;
            }
            Ok::<(), String>(())
        })();
        if let Err(why) = step {
            return Ok(Err(why));
        }
        let mandate = view.vault.config.mandate.mandate();
        let after = q.portfolio()?;
        let excess = mandate.excesses(&after).map_err(|e| KeeperError::Rule(e.to_string()))?;
        if let Some(i) = excess.iter().position(|e| *e > I80F48::ZERO) {
            return Ok(Err(format!("{:?}", keel_vault::instructions::LIMIT_ERRORS[i])));
        }
        if !opened.is_empty() && q.vault.lp_shares_held > 0 {
            // Options sold must fit gamma, vega and VaR on their own: the stake's share of the pool (the pool is
            // the counterparty, so it offsets the vault's own book) must stay free to be redeemed for margin.
            let own = mandate
                .excesses(&q.portfolio_without_pool_exposure()?)
                .map_err(|e| KeeperError::Rule(e.to_string()))?;
            if let Some(i) = (1..=3).find(|i| own[*i] > I80F48::ZERO) {
                let limit = keel_vault::instructions::LIMIT_ERRORS[i];
                return Ok(Err(format!("{limit:?} without the LP stake's offset")));
            }
        }
        // The allocate: refreshes of every market it passes, then the instruction.
        let keys: Vec<Pubkey> = legs.iter().map(|(k, _)| *k).collect();
        let markets = view.remaining_markets(&keys, lp != (0, 0));
        let ix_legs =
            legs.iter().zip(&limits).map(|((k, s), l)| Leg { market: *k, size: *s, limit_price: l.to_bits() });
        let moves = Moves {
            margin_in: u64::try_from(margin.max(0)).unwrap_or(0),
            lp_in: lp.0,
            lp_out: lp.1,
            margin_out: margin.min(0).unsigned_abs(),
        };
        let allocate = self.keys.allocate_ix(&self.strategist.pubkey(), moves, ix_legs.collect(), &markets);
        // The refreshes, then the allocate; `plan` drops the refreshes if they do not fit the chain's transaction.
        let mut instructions = view.refresh_ixs(&self.strategist.pubkey(), &markets);
        instructions.push(allocate);
        Ok(Ok(StrategyPlan {
            instructions,
            closed: closed.to_vec(),
            opened,
            hedge,
            margin,
            lp_in: lp.0,
            lp_out: lp.1,
            sequence: view.vault.sequence,
            projected_collateral: q.margin.collateral,
            projected_positions: q.margin.positions,
            projected_idle: q.vault.idle_assets,
            projected_lp_shares: q.vault.lp_shares_held,
        }))
    }

    /// LP moves (tokens in, shares out) that bring idle back to the mandate's floor plus `lp_idle_buffer` of NAV,
    /// measured after `margin` is paid in (the program pays margin in first, so LP out refills idle for the next
    /// top-up). Depositing is risk-increasing (the pool's exposure); redeeming is always allowed.
    fn lp_move(&self, view: &VaultView, margin: i64, allow_increase: bool) -> Result<(u64, u64), KeeperError> {
        let Some(buffer) = self.spec.lp_idle_buffer else { return Ok((0, 0)) };
        let f = |x: I80F48| x.to_num::<f64>();
        let r = view.portfolio()?;
        let nav = f(r.nav);
        let mandate = view.vault.config.mandate.mandate();
        let keep = f(mandate.min_idle_fraction) * nav + buffer * nav + 1.0;
        let idle = view.vault.idle_assets as f64 - margin.max(0) as f64;
        let band = (0.25 * buffer * nav).max(0.001 * nav);
        let surplus = idle - keep;
        // Whole tokens, checked finite and in range before the cast.
        let tokens = |x: f64| if x.is_finite() && (0.0..1e18).contains(&x) { x as u64 } else { 0 };
        if surplus > band && allow_increase {
            return Ok((tokens(surplus.floor()), 0));
        }
        if surplus < -band && view.vault.lp_shares_held > 0 {
            let need = tokens((-surplus).ceil());
            let shares = Projection::new(view).lp_shares_for_ceil(need).map_err(KeeperError::Rule)?;
            return Ok((0, shares.min(view.vault.lp_shares_held)));
        }
        Ok((0, 0))
    }

    /// Margin to move so health reaches `target_health`: in (from idle above the mandate's idle floor) when below
    /// it; out when above `max_health` and risk-increasing work is allowed (a thinner buffer); else none. Without
    /// trades, a top-up waits until health is below 80% of the target, so drift does not cause a move per cycle.
    fn margin_move(&self, p: &Projection, allow_increase: bool, trades: bool) -> Result<i64, KeeperError> {
        let h = p.health().map_err(KeeperError::Rule)?;
        let r = p.portfolio()?;
        if h.maintenance <= I80F48::ZERO {
            return Ok(0);
        }
        let f = |x: I80F48| x.to_num::<f64>();
        let health = f(h.equity) / f(h.maintenance);
        let target = f(h.maintenance) * self.spec.target_health - f(h.equity);
        let mandate = p.vault.config.mandate.mandate();
        // Idle must stay above the mandate's floor (of NAV, which moving margin does not change); keep one unit.
        let floor = f(mandate.min_idle_fraction) * f(r.nav) + 1.0;
        let room = (f(r.idle) - floor).max(0.0);
        let low = if trades { self.spec.target_health } else { 0.8 * self.spec.target_health };
        let amount = if health < low {
            target.ceil().min(room.floor())
        } else if health > self.spec.max_health && allow_increase {
            target.ceil() // negative: equity above target x maintenance
        } else {
            0.0
        };
        // Checked finite and bounded: the cast keeps the whole tokens.
        Ok(if amount.is_finite() && amount.abs() < 1e15 { amount as i64 } else { 0 })
    }

    /// plan + simulate + send (`send` false: simulate only).
    pub async fn cycle<C: Chain>(
        &mut self,
        chain: &mut C,
        allow_increase: bool,
        send: bool,
    ) -> Result<StrategyOutcome, KeeperError> {
        let plan = match self.plan(chain, allow_increase, send).await? {
            Ok(plan) => plan,
            Err(done) => return Ok(done),
        };
        let sim = chain.simulate(&plan.instructions, &[&self.strategist]).await?;
        if !send {
            return Ok(StrategyOutcome::Simulated(sim.result));
        }
        if let Err(e) = sim.result {
            return Ok(StrategyOutcome::Rejected(e));
        }
        match chain.send(&plan.instructions, &[&self.strategist]).await {
            Ok(()) => Ok(StrategyOutcome::Allocated {
                closed: plan.closed.len(),
                opened: plan.opened,
                hedge: plan.hedge,
                margin: plan.margin,
                lp_in: plan.lp_in,
                lp_out: plan.lp_out,
                sequence: plan.sequence + 1,
            }),
            Err(e @ (ChainError::Program { .. } | ChainError::Transaction(_))) => Ok(StrategyOutcome::Rejected(e)),
            Err(transport) => Err(transport.into()),
        }
    }
}
