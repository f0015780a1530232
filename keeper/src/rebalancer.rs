//! The keeper's rebalance cycle for one vault: refresh the venue caches, measure the vault exactly as the program
//! will, and when the mandate is breached in delta, hedge with the perp to the policy's target — predicting the
//! on-chain judge first, simulating, then sending bound to the vault's sequence. Losing a race to another keeper is
//! an ordinary outcome.
use crate::chain::{Chain, ChainError};
use crate::strategy::{Action, Costs, Observation, Policy};
use crate::vault_view::{KeeperError, VaultView};
use fixed::types::I80F48;
use keel_client::vault::VaultKeys;
use keel_client::venue::refresh_market_ix;
use keel_math::mandate::{judge, Verdict};
use keel_vault::error::VaultError;
use keel_vault::instructions::{Leg, Pricing};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Keypair, signer::Signer};

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
    /// refresh_market for every position market and the hedge market that is still live.
    fn refresh_ixs(&self, view: &VaultView) -> Vec<Instruction> {
        let mut keys = view.position_markets();
        if !keys.contains(&self.perp) {
            keys.push(self.perp);
        }
        let now = view.clock.unix_timestamp;
        keys.iter()
            .filter_map(|k| view.market(k).map(|m| (k, m)))
            .filter(|(_, m)| !m.book.settled && (!m.is_option() || now < m.config.expiry))
            .map(|(k, m)| {
                let surface = m.is_option().then_some(m.surface);
                let me = self.keeper.pubkey();
                refresh_market_ix(&me, &self.keys.venue, &self.keys.underlying, k, &self.keys.oracle, surface)
            })
            .collect()
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
            let refresh = self.refresh_ixs(&view);
            chain.send(&refresh, &[&self.keeper]).await?;
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
        if excess[0] == I80F48::ZERO {
            return Ok(Err("breach is not in delta: needs the strategist or deleverage".into()));
        }
        // 3. The policy picks the target (its band is at least the mandate's, so hedge to the policy's target).
        let spot: f64 = view.price.price.to_num();
        // The latency term's vol: the highest implied vol the venue cached for the vault's markets (perps cache 0).
        let vol = view.markets.iter().map(|(_, m)| I80F48::from_bits(m.cache.vol).to_num::<f64>()).fold(0.0, f64::max);
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
        let mut markets = view.position_markets();
        if !markets.contains(&self.perp) {
            markets.push(self.perp);
        }
        let me = self.keeper.pubkey();
        let mut instructions = self.refresh_ixs(&view);
        instructions.push(self.keys.rebalance_ix(&me, &self.keeper_collateral, pricing, vec![leg], 0, false, &markets));
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
