//! The keeper's rebalance cycle for one vault: refresh the venue caches, measure the vault exactly as the program
//! will, and when the mandate is breached in delta, hedge with the perp to the policy's target — predicting the
//! on-chain judge first, simulating, then sending bound to the vault's sequence. Losing a race to another keeper is
//! an ordinary outcome.
use crate::chain::{Chain, ChainError};
use crate::construct::{least_cost, Instrument, Ranges};
use crate::predict::Projection;
use crate::strategy::{Action, Costs, Observation, Policy};
use crate::vault_view::{KeeperError, VaultView};
use fixed::types::I80F48;
use keel_client::vault::VaultKeys;
use keel_client::venue::LOT;
use keel_math::mandate::{judge, Verdict};
use keel_vault::error::VaultError;
use keel_vault::instructions::{Leg, Pricing};
use solana_sdk::{
    instruction::Instruction, message::AddressLookupTableAccount, pubkey::Pubkey, signature::Keypair, signer::Signer,
};

/// What one cycle did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Nothing to do (or nothing the program would accept), and why.
    Idle(String),
    /// A rebalance landed: the new sequence, lots traded on the perp, reward received (tokens).
    Rebalanced { sequence: u64, lots: i64, reward: u64 },
    /// Another keeper's rebalance landed first (stale sequence): not an error.
    LostRace,
    /// The program refused for a reason the prediction missed.
    Rejected(ChainError),
}

/// A planned rebalance, ready to submit.
#[derive(Clone, Debug)]
pub struct Plan {
    pub instructions: Vec<Instruction>,
    pub lots: i64,
    pub sequence: u64,
}

pub struct Rebalancer<P: Policy> {
    pub keys: VaultKeys,
    /// The perp market used for delta hedges.
    pub perp: Pubkey,
    pub keeper: Keypair,
    pub keeper_collateral: Pubkey,
    pub policy: P,
    pub costs: Costs,
    /// Limit price tolerance around the oracle price, in bps.
    pub slippage_bps: f64,
}

impl<P: Policy> Rebalancer<P> {
    /// refresh_market for every market the rebalance passes (with an LP stake, every venue market) that is still
    /// live.
    fn refresh_ixs(&self, view: &VaultView) -> Vec<Instruction> {
        view.refresh_ixs(&self.keeper.pubkey(), &view.remaining_markets(&[self.perp], false))
    }

    /// The refreshes, then `rebalance`; the refreshes are left out when they would not fit one transaction (an LP
    /// stake passes every venue market; a large book's refreshes pass the compute a transaction may buy): step 1
    /// sent them a moment before.
    fn with_refreshes(
        &self,
        view: &VaultView,
        markets: &[Pubkey],
        rebalance: Instruction,
        tables: &[AddressLookupTableAccount],
    ) -> Vec<Instruction> {
        let mut instructions = view.refresh_ixs(&self.keeper.pubkey(), markets);
        instructions.push(rebalance.clone());
        if crate::execution::fits_with_refreshes(&instructions, &self.keeper.pubkey(), tables) {
            instructions
        } else {
            vec![rebalance]
        }
    }

    /// Refreshes the caches, then decides. `Err` with a reason when there is nothing to do.
    pub async fn plan<C: Chain>(&mut self, chain: &mut C) -> Result<Result<Plan, String>, KeeperError> {
        self.plan_with(chain, true).await
    }

    /// [`Self::plan`]; with `send_refresh` false nothing is sent (a dry run): the decision uses the caches as they
    /// are, and the planned transaction still carries its refreshes, so simulating it is still exact.
    pub async fn plan_with<C: Chain>(
        &mut self,
        chain: &mut C,
        send_refresh: bool,
    ) -> Result<Result<Plan, String>, KeeperError> {
        // 1. Fresh caches at the current oracle price, so the measurement equals what the program will see.
        let mut view = VaultView::load(chain, self.keys).await?;
        if send_refresh {
            crate::execution::send_refreshes(chain, &self.refresh_ixs(&view), &self.keeper).await?;
            view = VaultView::load(chain, self.keys).await?;
        }
        // 2. Only a breached mandate can be rebalanced; this keeper cures delta breaches with the perp. A vault
        //    nobody has deposited into has no NAV to measure risk against, and nothing to hedge.
        if view.vault.total_shares == 0 {
            return Ok(Err("the vault holds no deposits".into()));
        }
        let mandate = view.vault.config.mandate.mandate();
        let before = view.portfolio()?;
        let excess = mandate.excesses(&before).map_err(|e| KeeperError::Rule(e.to_string()))?;
        if excess.iter().all(|e| *e == I80F48::ZERO) {
            return Ok(Err("inside the mandate".into()));
        }
        if excess[1] > I80F48::ZERO || excess[2] > I80F48::ZERO {
            // Gamma or vega: the perp cannot cure it; trade construction across the allowed markets can.
            return self.plan_greeks(chain, view, send_refresh).await;
        }
        if excess[0] == I80F48::ZERO {
            return Ok(Err("breach is not in delta, gamma or vega: needs the strategist or deleverage".into()));
        }
        // 3. The policy picks the target (its band is at least the mandate's, so hedge to the policy's target).
        let spot: f64 = view.price.price.to_num();
        // The latency term's vol: the highest implied vol the venue cached for the vault's markets (perps cache 0).
        let vol = view.max_implied_vol();
        self.policy.observe(view.clock.unix_timestamp, spot);
        let obs = Observation {
            t: view.clock.unix_timestamp,
            spot,
            delta: before.delta.to_num(),
            gamma: before.gamma.to_num(),
            target_delta: mandate.target_delta.to_num(),
            vol,
        };
        let target = match self.policy.decide(&obs, &self.costs).action {
            Action::HedgeTo(t) => t,
            Action::Hold => obs.target_delta,
        };
        let lots = (target - obs.delta) * 1e6;
        if !lots.is_finite() || lots.abs() >= i64::MAX as f64 {
            return Ok(Err(format!("hedge size out of range: {lots} lots")));
        }
        let lots = lots.round() as i64; // finite and in range: the cast only drops the (zero) fraction
        if lots == 0 {
            return Ok(Err("hedge rounds to zero lots".into()));
        }
        // 4. Predict the judge with the hedge applied (perp delta is exactly 1 per unit).
        let after = keel_math::mandate::PortfolioRisk {
            delta: before.delta + I80F48::from_num(lots) / I80F48::from_num(1_000_000),
            ..before
        };
        if judge(&mandate, &before, &after).map_err(|e| KeeperError::Rule(e.to_string()))? != Verdict::Improves {
            return Ok(Err("the program would not judge this hedge an improvement".into()));
        }
        // 5. The transaction: the same refreshes, then the rebalance bound to this sequence, slot and price.
        let tol = 1.0 + self.slippage_bps / 10_000.0;
        let limit = if lots > 0 { spot * tol } else { spot / tol };
        let leg = Leg { market: self.perp, size: lots, limit_price: I80F48::from_num(limit).to_bits() };
        let pricing = Pricing {
            expected_sequence: view.vault.sequence,
            priced_slot: view.clock.slot,
            priced_price: view.price.price.to_bits(),
        };
        let markets = view.remaining_markets(&[self.perp], false);
        let me = self.keeper.pubkey();
        let rebalance = self.keys.rebalance_ix(&me, &self.keeper_collateral, pricing, vec![leg], 0, false, &markets);
        let instructions = self.with_refreshes(&view, &markets, rebalance, chain.lookup_tables());
        Ok(Ok(Plan { instructions, lots, sequence: view.vault.sequence }))
    }

    /// A gamma or vega breach: the least-cost trades across the vault's allowed live markets (construct.rs, a QP)
    /// that bring delta, gamma and vega inside the mandate with a margin (90% of the delta band, 95% of the other
    /// limits), projected with the programs' arithmetic and judged with keel-math before anything is sent.
    async fn plan_greeks<C: Chain>(
        &mut self,
        chain: &mut C,
        mut view: VaultView,
        send_refresh: bool,
    ) -> Result<Result<Plan, String>, KeeperError> {
        let now = view.clock.unix_timestamp;
        let live = |m: &keel_venue::state::Market| m.is_live(now);
        let allowed: Vec<Pubkey> =
            view.allowed_markets().into_iter().filter(|k| view.market(k).is_some_and(live)).collect();
        // 1. Every candidate's greeks fresh at the current price.
        if send_refresh {
            let refresh = view.refresh_ixs(&self.keeper.pubkey(), &allowed);
            crate::execution::send_refreshes(chain, &refresh, &self.keeper).await?;
            view = VaultView::load(chain, self.keys).await?;
        }
        let mandate = view.vault.config.mandate.mandate();
        let before = view.portfolio()?;
        let f = |x: I80F48| x.to_num::<f64>();
        let spot = view.price.price;
        let mut instruments = Vec::with_capacity(allowed.len());
        for k in &allowed {
            let m = view.market(k).ok_or(ChainError::MissingAccount(*k))?;
            let c = &m.cache;
            let bps = f64::from(m.config.taker_fee_bps) + f64::from(m.config.half_spread_bps);
            // A keeper removes risk: options may only be traded towards flat (the strategist opens them); the
            // perp hedges within its open-interest cap.
            let cap = m.config.max_open_interest as f64 / LOT as f64;
            let held = view.margin.slot_of(k).map_or(0, |s| view.margin.positions[s].size) as f64 / LOT as f64;
            let (min_units, max_units) = if m.is_option() { ((-held).min(0.0), (-held).max(0.0)) } else { (-cap, cap) };
            instruments.push(Instrument {
                greeks: [c.delta, c.gamma, c.vega].map(|x| f(x.fx())),
                cost_per_unit: f(m.mark_at(spot)?) * bps / 10_000.0,
                min_units,
                max_units,
            });
        }
        // 2. The QP, inside the limits with a margin so the cure is not undone by the next tick.
        let (target, band) = (f(mandate.target_delta), f(mandate.delta_band) * 0.9);
        let (gamma, vega) = (f(mandate.max_abs_gamma) * 0.95, f(mandate.max_abs_vega) * 0.95);
        let ranges = Ranges { lo: [target - band, -gamma, -vega], hi: [target + band, gamma, vega] };
        let x = match least_cost([f(before.delta), f(before.gamma), f(before.vega)], &instruments, &ranges) {
            Ok(x) => x,
            Err(why) => return Ok(Err(format!("gamma/vega breach: {why}"))),
        };
        // 3. Legs in lots (a part of a lot is dropped), projected and judged as the program will.
        let mut legs = Vec::new();
        let mut p = Projection::new(&view);
        let tol = I80F48::from_num(1.0 + self.slippage_bps / 10_000.0);
        let mut trades: Vec<(Pubkey, i64)> = Vec::new();
        for (k, units) in allowed.iter().zip(&x) {
            let lots = (units * LOT as f64).round();
            if lots.is_finite() && lots.abs() >= 1.0 && lots.abs() < i64::MAX as f64 {
                trades.push((*k, lots as i64)); // finite, nonzero and in range: the cast drops the (zero) fraction
            }
        }
        // Reductions first: they need no initial margin, and they free margin for the trades that follow.
        trades.sort_by_key(|(k, lots)| !p.reduces(k, *lots));
        for (k, lots) in &trades {
            let (k, lots) = (k, *lots);
            let price = p.execution_price(k, lots).map_err(KeeperError::Rule)?;
            if let Err(why) = p.trade(k, lots) {
                return Ok(Err(format!("gamma/vega cure refused in projection: {why}")));
            }
            let limit = if lots > 0 { price * tol } else { price / tol };
            legs.push(Leg { market: *k, size: lots, limit_price: limit.to_bits() });
        }
        let after = p.portfolio()?;
        if judge(&mandate, &before, &after).map_err(|e| KeeperError::Rule(e.to_string()))? != Verdict::Improves {
            return Ok(Err("the program would not judge the gamma/vega cure an improvement".into()));
        }
        // 4. The transaction: refreshes of every market it passes, then the rebalance.
        let keys: Vec<Pubkey> = legs.iter().map(|l| l.market).collect();
        let markets = view.remaining_markets(&keys, false);
        let pricing = Pricing {
            expected_sequence: view.vault.sequence,
            priced_slot: view.clock.slot,
            priced_price: spot.to_bits(),
        };
        let lots = legs.iter().filter(|l| l.market == self.perp).map(|l| l.size).sum();
        let me = self.keeper.pubkey();
        let rebalance = self.keys.rebalance_ix(&me, &self.keeper_collateral, pricing, legs, 0, false, &markets);
        let instructions = self.with_refreshes(&view, &markets, rebalance, chain.lookup_tables());
        Ok(Ok(Plan { instructions, lots, sequence: view.vault.sequence }))
    }

    /// Simulates, then sends a plan; a stale sequence is [`Outcome::LostRace`], any other refusal by the chain is
    /// [`Outcome::Rejected`]; a transport failure (unreachable node, expired or unconfirmed transaction) is an
    /// error, because nothing says the program refused.
    pub async fn submit<C: Chain>(&mut self, chain: &mut C, plan: Plan) -> Result<Outcome, KeeperError> {
        let stale = u32::from(VaultError::StaleSequence);
        let classify = |e: ChainError| match e {
            ChainError::Program { code, .. } if code == stale => Ok(Outcome::LostRace),
            e @ (ChainError::Program { .. } | ChainError::Transaction(_)) => Ok(Outcome::Rejected(e)),
            transport => Err(KeeperError::Chain(transport)),
        };
        let before = chain
            .account(&self.keeper_collateral)
            .await?
            .and_then(|a| keel_client::token::token_amount(&a.data))
            .unwrap_or(0);
        let sim = chain.simulate(&plan.instructions, &[&self.keeper]).await?;
        if let Err(e) = sim.result {
            return classify(e);
        }
        if let Err(e) = chain.send(&plan.instructions, &[&self.keeper]).await {
            return classify(e);
        }
        let after = chain
            .account(&self.keeper_collateral)
            .await?
            .and_then(|a| keel_client::token::token_amount(&a.data))
            .unwrap_or(0);
        Ok(Outcome::Rebalanced { sequence: plan.sequence + 1, lots: plan.lots, reward: after.saturating_sub(before) })
    }

    /// plan + submit.
    pub async fn cycle<C: Chain>(&mut self, chain: &mut C) -> Result<Outcome, KeeperError> {
        match self.plan(chain).await? {
            Ok(plan) => self.submit(chain, plan).await,
            Err(reason) => Ok(Outcome::Idle(reason)),
        }
    }
}
