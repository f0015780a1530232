//! The fuzzer's actions: how each is drawn, built and sent, and which invariants it answers to.
use super::invariants::{self, Measure};
use keel_client::pyth::PythPrice;
use keel_client::token::mint_to_ix;
use keel_client::venue::{
    liquidate_ix, margin_flow_ix, margin_pda, open_margin_ix, settle_market_ix, settle_position_ix, trade_ix,
    MarketRef, LOT,
};
use keel_keeper::chain::{Chain, ChainError, Embedded, OracleControl};
use keel_keeper::demo::world::{Party, World, USDC};
use keel_keeper::rebalancer::{Outcome, Rebalancer};
use keel_keeper::strategy::StaticBand;
use keel_vault::instructions::{Leg, Moves, Pricing};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

/// One step of a sequence.
#[derive(Clone, Debug)]
pub enum Action {
    Deposit {
        who: usize,
        amount: u64,
    },
    Request {
        who: usize,
        permille: u64,
    },
    Claim {
        who: usize,
    },
    /// The strategist trades `lots` of market `market` (0 perp, 1 call, 2 put) and moves collateral.
    Allocate {
        market: usize,
        lots: i64,
        margin_in: u64,
        margin_out: u64,
    },
    /// The keeper's own planned rebalance.
    Rebalance,
    /// A rebalance of `lots` perps the keeper did not plan (farming rewards, moving risk around).
    Grief {
        lots: i64,
    },
    /// Reduce-only legs closing 1/`divisor` of every position (`reverse`: growing them instead).
    Deleverage {
        divisor: i64,
        reverse: bool,
    },
    /// The price moves by `ret` (log return); `conf_bps` wide; markets refreshed or not.
    Oracle {
        ret: f64,
        conf_bps: u64,
        refresh: bool,
    },
    Warp {
        secs: i64,
    },
    Refresh,
    Settle,
    Liquidate,
    Pause {
        secs: u32,
    },
    Unpause,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Deposit { .. } => "deposit",
            Action::Request { .. } => "request",
            Action::Claim { .. } => "claim",
            Action::Allocate { .. } => "allocate",
            Action::Rebalance => "rebalance",
            Action::Grief { .. } => "grief",
            Action::Deleverage { .. } => "deleverage",
            Action::Oracle { .. } => "oracle",
            Action::Warp { .. } => "warp",
            Action::Refresh => "refresh",
            Action::Settle => "settle",
            Action::Liquidate => "liquidate",
            Action::Pause { .. } => "pause",
            Action::Unpause => "unpause",
        }
    }

    /// Draws one action; sizes span dust to more than the actor holds, so refusals are exercised too.
    pub fn draw(rng: &mut ChaCha8Rng, holders: usize) -> Self {
        let who = rng.random_range(0..holders);
        let size = |rng: &mut ChaCha8Rng| 10f64.powf(rng.random_range(-1.0..5.5)) * USDC as f64;
        match rng.random_range(0..100) {
            0..14 => Action::Deposit { who, amount: size(rng) as u64 },
            14..24 => Action::Request { who, permille: rng.random_range(0..=1000) },
            24..32 => Action::Claim { who },
            32..42 => Action::Allocate {
                market: rng.random_range(0..3),
                lots: rng.random_range(-400..=400) * LOT,
                margin_in: if rng.random_bool(0.4) { size(rng) as u64 } else { 0 },
                margin_out: if rng.random_bool(0.3) { size(rng) as u64 } else { 0 },
            },
            42..50 => Action::Rebalance,
            50..54 => Action::Grief { lots: rng.random_range(-20_000_000..=20_000_000) },
            54..60 => Action::Deleverage { divisor: rng.random_range(1..=4), reverse: rng.random_bool(0.2) },
            60..78 => {
                let jump = rng.random_bool(0.1);
                let ret = if jump { rng.random_range(-0.6..0.5) } else { rng.random_range(-0.04..0.04) };
                let conf_bps = if rng.random_bool(0.1) { rng.random_range(100..800) } else { 5 };
                Action::Oracle { ret, conf_bps, refresh: rng.random_bool(0.85) }
            }
            78..86 => Action::Warp { secs: rng.random_range(60..=2 * 86_400) },
            86..90 => Action::Refresh,
            90..93 => Action::Settle,
            93..96 => Action::Liquidate,
            96..98 => Action::Pause { secs: rng.random_range(60..=7_200) },
            _ => Action::Unpause,
        }
    }
}

/// The world and everyone acting in it.
pub struct Actors {
    pub w: World<Embedded>,
    pub holders: Vec<Party>,
    pub keeper: Rebalancer<StaticBand>,
    pub keeper_party: Party,
    pub liquidator: Party,
    pub trader: Party,
    pub spot: f64,
}

/// Pseudo-codes for the keeper's own rebalance: it found nothing to do (or lost a race), or its simulation showed a
/// refusal it had not predicted (counted in the stats; nothing is sent).
pub const KEEPER_IDLE: u32 = u32::MAX;
pub const KEEPER_MISPREDICTED: u32 = u32::MAX - 1;
/// An action with nothing to send (a deleverage of a flat book).
pub const NOTHING_SENT: u32 = u32::MAX - 2;

/// A step's result: `Ok(None)` accepted, `Ok(Some(code))` refused by a program with its error code, `Err` an
/// invariant broken (a panic or any failure that is not a program's refusal counts).
pub type StepResult = Result<Option<u32>, String>;

impl Actors {
    /// The demo world's book (three depositors, 100 short calls hedged), each holder topped up with 200,000 more,
    /// a trader 5x long the perp, a liquidator and a keeper.
    pub async fn new(mut w: World<Embedded>) -> Result<Self, ChainError> {
        w.open_book(&[60_000 * USDC, 30_000 * USDC, 10_000 * USDC], 100)
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        let holders = std::mem::take(&mut w.depositors);
        for h in &holders {
            let ix = mint_to_ix(&w.token_program, &w.mint, &h.collateral, &w.admin(), 200_000 * USDC);
            w.chain.send(&[ix], &[]).await?;
        }
        let trader = w.party(4_000 * USDC).await?;
        let open = open_margin_ix(&w.admin(), &trader.key.pubkey(), &w.venue);
        let fund = margin_flow_ix(
            &trader.key.pubkey(),
            &w.venue,
            &w.mint,
            &trader.collateral,
            &w.token_program,
            4_000 * 1_000_000,
            &[],
        );
        w.chain.send(&[open, fund], &[&trader.key]).await?;
        let perp = MarketRef { venue: w.venue, underlying: w.underlying, market: w.markets[0], oracle: w.oracle };
        w.chain.send(&[trade_ix(&trader.key.pubkey(), &perp, 200 * LOT, 101.0, &[])], &[&trader.key]).await?;
        // The curator raises the health floor to 40 (through the timelock), just under where the book sits (about 43),
        // so that moves breach it and deleveraging
        // is exercised; the demo's own floor of 1.5 is out of reach of the book it runs.
        let vault: keel_vault::state::Vault = w.chain.read(&w.keys.vault).await?;
        let mut config = vault.config;
        config.mandate.min_health = keel_client::pod(40.0);
        w.chain.send(&[keel_client::vault::queue_config_ix(&w.admin(), &w.keys.vault, config)], &[]).await?;
        let t = w.chain.clock().await?.unix_timestamp + i64::from(config.timelock_secs) + 1;
        w.chain.set_time(t).await?;
        w.chain.send(&[keel_client::vault::apply_config_ix(&w.admin(), &w.keys.vault, false)], &[]).await?;
        w.set_spot(100.0).await?;
        let (liquidator, keeper_party) = (w.party(0).await?, w.party(0).await?);
        let keeper = w.rebalancer(w.keys, &keeper_party.key, keeper_party.collateral);
        Ok(Self { w, holders, keeper, keeper_party, liquidator, trader, spot: 100.0 })
    }

    fn market_ref(&self, i: usize) -> MarketRef {
        MarketRef {
            venue: self.w.venue,
            underlying: self.w.underlying,
            market: self.w.markets[i],
            oracle: self.w.oracle,
        }
    }

    /// Sends; a program's refusal is an outcome, anything else (a panic, a runtime failure) is a broken invariant.
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> StepResult {
        match self.w.chain.send(ixs, signers).await {
            Ok(()) => Ok(None),
            Err(ChainError::Program { code, .. }) => Ok(Some(code)),
            Err(other) => Err(format!("not a program refusal: {other}")),
        }
    }

    async fn shares_of(&mut self, who: usize) -> Result<u64, String> {
        let acc = self.w.chain.account(&self.holders[who].shares).await.map_err(|e| e.to_string())?;
        Ok(acc.and_then(|a| keel_client::token::token_amount(&a.data)).unwrap_or(0))
    }

    /// Applies `a`, then checks every invariant that applies to it.
    pub async fn step(&mut self, a: &Action) -> StepResult {
        // One slot per step, as on a cluster: a new blockhash, so repeating an earlier transaction (the same claim,
        // the same refresh) is a new transaction rather than a wait for the bank to move on.
        self.w.chain.warp_slots(1).await.map_err(|e| e.to_string())?;
        if matches!(a, Action::Rebalance) {
            // The keeper refreshes the caches before it plans; doing it first here measures `before` on the caches
            // the program will judge against (a refresh at the same price and time changes nothing further).
            self.refresh().await?;
        }
        let before = Measure::take(self).await;
        let markets = self.w.vault_markets().await.map_err(|e| e.to_string())?;
        let keys = self.w.keys;
        let result = match a {
            Action::Deposit { who, amount } => {
                let h = &self.holders[*who];
                let ix = keys.deposit_ix(&h.key.pubkey(), &h.collateral, &h.shares, *amount, &markets);
                let k = h.key.insecure_clone();
                self.send(&[ix], &[&k]).await?
            }
            Action::Request { who, permille } => {
                let shares = self.shares_of(*who).await? * permille / 1000;
                let h = &self.holders[*who];
                let ix = keys.request_ix(&h.key.pubkey(), &h.shares, shares, &markets);
                let k = h.key.insecure_clone();
                self.send(&[ix], &[&k]).await?
            }
            Action::Claim { who } => {
                let h = &self.holders[*who];
                let ix = keys.claim_ix(&h.key.pubkey(), &h.collateral, &markets);
                let k = h.key.insecure_clone();
                self.send(&[ix], &[&k]).await?
            }
            Action::Allocate { market, lots, margin_in, margin_out } => {
                let limit = if *lots > 0 { keel_client::bits(self.spot * 2.0) } else { 0 };
                let legs = if *lots == 0 {
                    vec![]
                } else {
                    vec![Leg { market: self.w.markets[*market], size: *lots, limit_price: limit }]
                };
                let moves = Moves { margin_in: *margin_in, margin_out: *margin_out, ..Moves::default() };
                let mut with = markets.clone();
                if !with.contains(&self.w.markets[*market]) {
                    with.push(self.w.markets[*market]);
                }
                let ix = keys.allocate_ix(&self.w.strategist.pubkey(), moves, legs, &with);
                let k = self.w.strategist.insecure_clone();
                self.send(&[ix], &[&k]).await?
            }
            Action::Rebalance => self.keeper_rebalance().await?,
            Action::Grief { lots } => self.rebalance(vec![(self.w.markets[0], *lots)], false).await?,
            Action::Deleverage { divisor, reverse } => {
                let acct: keel_venue::state::MarginAccount =
                    self.w.chain.read(&margin_pda(&self.w.venue, &keys.vault)).await.map_err(|e| e.to_string())?;
                let legs: Vec<_> = acct
                    .positions
                    .iter()
                    .filter(|p| p.is_open() && p.size / divisor != 0)
                    .map(|p| (p.market, if *reverse { p.size / divisor } else { -(p.size / divisor) }))
                    .collect();
                if legs.is_empty() {
                    Some(NOTHING_SENT)
                } else {
                    self.rebalance(legs, true).await?
                }
            }
            Action::Oracle { ret, conf_bps, refresh } => self.oracle(*ret, *conf_bps, *refresh).await?,
            Action::Warp { secs } => {
                let clock = self.w.chain.clock().await.map_err(|e| e.to_string())?;
                self.w.chain.set_time(clock.unix_timestamp + secs).await.map_err(|e| e.to_string())?;
                self.w.chain.warp_slots(u64::try_from(*secs).unwrap_or(0) * 2 + 1).await.map_err(|e| e.to_string())?;
                None
            }
            Action::Refresh => self.refresh().await?,
            Action::Settle => self.settle().await?,
            Action::Liquidate => {
                let victim = margin_pda(&self.w.venue, &self.trader.key.pubkey());
                let l = &self.liquidator;
                let ix = liquidate_ix(
                    &l.key.pubkey(),
                    &self.market_ref(0),
                    &victim,
                    &self.w.mint,
                    &l.collateral,
                    &self.w.token_program,
                    u64::MAX,
                    &[],
                );
                let k = l.key.insecure_clone();
                self.send(&[ix], &[&k]).await?
            }
            Action::Pause { secs } => {
                let g = self.w.guardian.insecure_clone();
                self.send(&[keel_client::vault::pause_ix(&g.pubkey(), &keys.vault, *secs)], &[&g]).await?
            }
            Action::Unpause => {
                let g = self.w.guardian.insecure_clone();
                self.send(&[keel_client::vault::unpause_ix(&g.pubkey(), &keys.vault)], &[&g]).await?
            }
        };
        invariants::check(self, a, &before, result).await?;
        Ok(result)
    }

    fn refresh_ixs(&self) -> Vec<Instruction> {
        // Refreshing is permissionless: the fee payer does it.
        (0..self.w.markets.len()).map(|i| self.w.refresh_ix(i)).collect()
    }

    /// Refreshes every market, each in its own transaction; the first refusal is the step's result.
    async fn refresh(&mut self) -> StepResult {
        let mut first = None;
        for ix in self.refresh_ixs() {
            first = first.or(self.send(&[ix], &[]).await?);
        }
        Ok(first)
    }

    async fn keeper_rebalance(&mut self) -> StepResult {
        use keel_keeper::vault_view::KeeperError;
        match self.keeper.cycle(&mut self.w.chain).await {
            Ok(Outcome::Rebalanced { .. }) => Ok(None),
            Ok(Outcome::Idle(_)) | Ok(Outcome::LostRace) => Ok(Some(KEEPER_IDLE)),
            // The keeper simulates before sending: a refusal it did not predict is counted, nothing was sent.
            Ok(Outcome::Rejected(_)) => Ok(Some(KEEPER_MISPREDICTED)),
            // A refusal of its cache refresh (a stale or uncertain oracle), or the program's maths declining the
            // state (a non-positive NAV): the keeper stops before it sends anything.
            Err(KeeperError::Chain(ChainError::Program { code, .. })) => Ok(Some(code)),
            Err(KeeperError::Rule(_)) => Ok(Some(KEEPER_IDLE)),
            Err(e) => Err(format!("the keeper failed: {e}")),
        }
    }

    /// A rebalance (or deleverage) of `legs` bound to the current sequence, slot and price.
    async fn rebalance(&mut self, legs: Vec<(solana_sdk::pubkey::Pubkey, i64)>, deleverage: bool) -> StepResult {
        let vault: keel_vault::state::Vault = self.w.chain.read(&self.w.keys.vault).await.map_err(|e| e.to_string())?;
        let clock = self.w.chain.clock().await.map_err(|e| e.to_string())?;
        let pricing = Pricing {
            expected_sequence: vault.sequence,
            priced_slot: clock.slot,
            priced_price: keel_client::bits(self.spot),
        };
        let mut markets = self.w.vault_markets().await.map_err(|e| e.to_string())?;
        let legs: Vec<Leg> = legs
            .into_iter()
            .map(|(market, size)| {
                if !markets.contains(&market) {
                    markets.push(market);
                }
                let limit = if size > 0 { keel_client::bits(self.spot * 2.0) } else { 0 };
                Leg { market, size, limit_price: limit }
            })
            .collect();
        let k = &self.keeper_party;
        let ix = self.w.keys.rebalance_ix(&k.key.pubkey(), &k.collateral, pricing, legs, 0, deleverage, &markets);
        let key = k.key.insecure_clone();
        self.send(&[ix], &[&key]).await
    }

    async fn oracle(&mut self, ret: f64, conf_bps: u64, refresh: bool) -> StepResult {
        self.spot = (self.spot * ret.exp()).clamp(1.0, 10_000.0);
        if conf_bps <= 5 && refresh {
            return match self.w.set_spot(self.spot).await {
                Ok(()) => Ok(None),
                Err(ChainError::Program { code, .. }) => Ok(Some(code)),
                Err(other) => Err(format!("not a program refusal: {other}")),
            };
        }
        let now = self.w.chain.clock().await.map_err(|e| e.to_string())?.unix_timestamp;
        let mut p = PythPrice::new([42; 32], self.spot, now);
        p.conf = p.price.unsigned_abs() * conf_bps / 10_000;
        self.w.chain.post_price(self.w.oracle, &p).await.map_err(|e| e.to_string())?;
        if refresh {
            return self.refresh().await;
        }
        Ok(None)
    }

    async fn settle(&mut self) -> StepResult {
        let me = self.keeper_party.key.insecure_clone();
        let mut last = None;
        for i in 1..3 {
            last = last.or(self.send(&[settle_market_ix(&me.pubkey(), &self.market_ref(i))], &[&me]).await?);
            let account = margin_pda(&self.w.venue, &self.w.keys.vault);
            let ix = settle_position_ix(&me.pubkey(), &self.w.venue, &account, &self.w.markets[i]);
            last = last.or(self.send(&[ix], &[&me]).await?);
        }
        Ok(last)
    }
}
