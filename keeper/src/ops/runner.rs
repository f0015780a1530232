//! The operator's keeper: many vaults in one process, each with its own rebalancer and policy, one cycle over
//! all of them per tick. Around the rebalance cycle it adds what running it for real needs: the kill switch,
//! dry runs, MEV jitter, failure counting that engages the kill switch by itself, alerts, metrics and the
//! health/readiness status. Generic over [`Chain`], so tests drive it on the embedded bank (with faults injected)
//! and `keel-keeper run` drives it over RPC.
use super::alerts::{AlertKind, Alerts};
use super::metrics::labels;
use super::serve::{unix_now, Status};
use crate::chain::{Chain, ChainError};
use crate::rebalancer::{Outcome, Plan, Rebalancer};
use crate::strategist::{Strategist, StrategyOutcome};
use crate::strategy::Policy;
use crate::vault_view::VaultView;
use fixed::types::I80F48;
use keel_client::token::create_associated_token_account_idempotent_ix;
use rand::{Rng, SeedableRng};
use solana_sdk::signer::Signer;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One vault served by this keeper.
pub struct Worker {
    /// The vault's index in the deployment (labels, alerts, logs).
    pub index: u16,
    pub rebalancer: Rebalancer<Box<dyn Policy + Send>>,
    /// The strategist's loop, when this keeper holds the vault's strategist key.
    pub strategist: Option<Strategist>,
}

/// What one vault's cycle came to.
#[derive(Clone, Debug, PartialEq)]
pub enum CycleOutcome {
    /// The rebalance cycle ran (rebalanced, idle, lost a race, or refused).
    Acted(Outcome),
    /// Dry run: the rebalance that would be sent and how its simulation went.
    DryRun { lots: i64, simulation: Result<(), ChainError> },
    /// The kill switch is engaged (its reason): nothing was read or sent.
    Killed(String),
    /// The cycle could not complete (RPC error, timeout, decode failure).
    Failed(String),
}

impl CycleOutcome {
    /// The `outcome` label of keel_keeper_cycles_total.
    pub fn label(&self) -> &'static str {
        match self {
            CycleOutcome::Acted(Outcome::Rebalanced { .. }) => "rebalanced",
            CycleOutcome::Acted(Outcome::Idle(_)) => "idle",
            CycleOutcome::Acted(Outcome::LostRace) => "lost_race",
            CycleOutcome::Acted(Outcome::Rejected(_)) => "rejected",
            CycleOutcome::DryRun { .. } => "dry_run",
            CycleOutcome::Killed(_) => "killed",
            CycleOutcome::Failed(_) => "error",
        }
    }

    /// A failure counts towards the automatic kill switch: an error, or a refusal the prediction did not expect.
    /// Losing a race is normal and resets the count.
    pub fn is_failure(&self) -> bool {
        matches!(self, CycleOutcome::Acted(Outcome::Rejected(_)) | CycleOutcome::Failed(_))
    }
}

pub struct Keeper {
    pub workers: Vec<Worker>,
    pub status: Arc<Status>,
    pub alerts: Alerts,
    pub kill_switch_file: PathBuf,
    pub dry_run: bool,
    pub jitter_secs: f64,
    pub max_failures: u32,
    pub health_warning: f64,
    /// The strategist's outcome per vault in the last tick (vaults with a strategist only).
    pub strategy: Vec<(u16, StrategyOutcome)>,
    failures: BTreeMap<u16, u32>,
    strategy_failures: BTreeMap<u16, u32>,
    rng: rand_chacha::ChaCha8Rng,
}

impl Keeper {
    pub fn new(workers: Vec<Worker>, status: Arc<Status>, alerts: Alerts, kill_switch_file: PathBuf) -> Self {
        Self {
            workers,
            status,
            alerts,
            kill_switch_file,
            dry_run: false,
            jitter_secs: 0.0,
            max_failures: 5,
            health_warning: 1.5,
            strategy: Vec::new(),
            failures: BTreeMap::new(),
            strategy_failures: BTreeMap::new(),
            rng: rand_chacha::ChaCha8Rng::from_os_rng(),
        }
    }

    /// The kill switch's reason while it is engaged (the file exists; its text is the reason).
    pub fn kill_switch(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.kill_switch_file).ok()?;
        let reason = text.trim();
        Some(if reason.is_empty() { "kill switch file present".into() } else { reason.to_string() })
    }

    /// Engages the kill switch: writes the file (deleting it is the acknowledgement that resumes work).
    pub fn engage(&mut self, reason: &str) {
        if let Err(e) = std::fs::write(&self.kill_switch_file, format!("{reason}\n")) {
            // Cannot persist it: stop anyway for this process by keeping the alert active and the loop killed.
            tracing::error!("cannot write the kill switch file {}: {e}", self.kill_switch_file.display());
        }
        self.alerts.raise(AlertKind::KillSwitch, None, format!("kill switch engaged: {reason}"), unix_now());
    }

    /// Consecutive failed cycles of vault `index`.
    pub fn failures(&self, index: u16) -> u32 {
        self.failures.get(&index).copied().unwrap_or(0)
    }

    /// One tick: every vault's cycle, then metrics, alerts and status.
    pub async fn tick<C: Chain>(&mut self, chain: &mut C) -> Vec<(u16, CycleOutcome)> {
        // 1. The kill switch stops everything before any read or send. An acknowledgement (POST /ack) lets
        //    risk-increasing work resume.
        if self.status.take_ack() {
            self.alerts.acknowledge();
        }
        self.strategy.clear();
        let out = if let Some(reason) = self.kill_switch() {
            self.alerts.raise(AlertKind::KillSwitch, None, format!("kill switch engaged: {reason}"), unix_now());
            let out: Vec<_> = self.workers.iter().map(|w| (w.index, CycleOutcome::Killed(reason.clone()))).collect();
            for (index, o) in &out {
                let l = labels(&[("vault", &index.to_string()), ("outcome", o.label())]);
                self.status.metrics.add("keel_keeper_cycles_total", l, 1.0);
            }
            out
        } else {
            self.alerts.clear(AlertKind::KillSwitch, None);
            // 2. Each vault's cycle: the rebalance (risk-reducing) first, then the strategist's loop, whose
            //    risk-increasing part waits while alerts are unacknowledged.
            let mut out = Vec::with_capacity(self.workers.len());
            for i in 0..self.workers.len() {
                let outcome = self.cycle(chain, i).await;
                let index = self.workers[i].index;
                self.record(index, &outcome);
                self.strategize(chain, i).await;
                self.observe(chain, i).await;
                out.push((index, outcome));
            }
            // 3. Repeated failures engage the kill switch by themselves.
            let both = self.failures.iter().chain(&self.strategy_failures);
            let worst = both.max_by_key(|(_, n)| **n).map(|(i, n)| (*i, *n));
            if let Some((index, n)) = worst.filter(|(_, n)| *n >= self.max_failures) {
                let last = out.iter().find(|(i, _)| *i == index).map(|(_, o)| format!("{o:?}")).unwrap_or_default();
                self.engage(&format!("vault {index}: {n} consecutive failed cycles; last: {last}"));
            }
            out
        };
        // 4. Status and the process-wide series.
        let m = &self.status.metrics;
        let killed = self.kill_switch();
        m.set("keel_keeper_kill_switch", String::new(), if killed.is_some() { 1.0 } else { 0.0 });
        for (kind, n) in &self.alerts.counts {
            m.set("keel_keeper_alerts_total", labels(&[("kind", kind.as_str())]), *n as f64);
        }
        m.set("keel_keeper_last_cycle_timestamp_seconds", String::new(), unix_now() as f64);
        m.set("keel_keeper_unacknowledged_alerts", String::new(), self.alerts.unacknowledged().len() as f64);
        self.status.set_ready(killed.map(|r| format!("kill switch engaged: {r}")));
        self.status.beat(unix_now());
        out
    }

    /// Vault `i`'s plan, or the outcome that ends its cycle (idle with a reason, or a failure).
    async fn plan<C: Chain>(&mut self, chain: &mut C, i: usize) -> Result<Plan, CycleOutcome> {
        match self.workers[i].rebalancer.plan_with(chain, !self.dry_run).await {
            Err(e) => Err(CycleOutcome::Failed(e.to_string())),
            Ok(Err(reason)) => Err(CycleOutcome::Acted(Outcome::Idle(reason))),
            Ok(Ok(plan)) => Ok(plan),
        }
    }

    /// Vault `i`'s cycle: plan; after the jitter re-plan on fresh state; then send (or only simulate).
    async fn cycle<C: Chain>(&mut self, chain: &mut C, i: usize) -> CycleOutcome {
        let mut plan = match self.plan(chain, i).await {
            Ok(plan) => plan,
            Err(done) => return done,
        };
        if self.jitter_secs > 0.0 {
            // Not predictable to the slot: wait a random part of the tolerance, then decide again on what is
            // there now (the move may have reversed, or another keeper may have hedged).
            let wait = self.rng.random_range(0.0..self.jitter_secs);
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
            plan = match self.plan(chain, i).await {
                Ok(plan) => plan,
                Err(done) => return done,
            };
        }
        let w = &mut self.workers[i].rebalancer;
        if self.dry_run {
            let keeper = w.keeper.insecure_clone();
            // A dry run creates nothing, so a missing reward account is created inside the simulated transaction
            // only, and the simulation stays exact.
            let mut ixs = plan.instructions;
            match chain.account(&w.keeper_collateral).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let (me, mint, program) = (chain.payer(), w.keys.mint, w.keys.token_program);
                    ixs.insert(
                        0,
                        create_associated_token_account_idempotent_ix(&me, &keeper.pubkey(), &mint, &program),
                    );
                }
                Err(e) => return CycleOutcome::Failed(e.to_string()),
            }
            return match chain.simulate(&ixs, &[&keeper]).await {
                Ok(sim) => CycleOutcome::DryRun { lots: plan.lots, simulation: sim.result },
                Err(e) => CycleOutcome::Failed(e.to_string()),
            };
        }
        match w.submit(chain, plan).await {
            Ok(o) => CycleOutcome::Acted(o),
            Err(e) => CycleOutcome::Failed(e.to_string()),
        }
    }

    /// Vault `i`'s strategist cycle, if it has one. A refusal the projection missed or an error counts as a
    /// failed cycle, like the rebalancer's.
    async fn strategize<C: Chain>(&mut self, chain: &mut C, i: usize) {
        let allow = self.alerts.unacknowledged().is_empty();
        let (index, send) = (self.workers[i].index, !self.dry_run);
        let Some(s) = self.workers[i].strategist.as_mut() else { return };
        let outcome = s.cycle(chain, allow, send).await;
        let label = match &outcome {
            Ok(StrategyOutcome::Idle(_)) => "idle",
            Ok(StrategyOutcome::Held(_)) => "held",
            Ok(StrategyOutcome::Allocated { .. }) => "allocated",
            Ok(StrategyOutcome::Simulated(_)) => "dry_run",
            Ok(StrategyOutcome::Rejected(_)) => "rejected",
            Err(_) => "error",
        };
        let vault = index.to_string();
        self.status.metrics.add("keel_keeper_strategy_total", labels(&[("vault", &vault), ("outcome", label)]), 1.0);
        let outcome = outcome.unwrap_or_else(|e| StrategyOutcome::Rejected(ChainError::Unavailable(e.to_string())));
        match &outcome {
            StrategyOutcome::Allocated { .. } => tracing::info!(vault = index, "strategy: {outcome:?}"),
            StrategyOutcome::Rejected(_) => tracing::warn!(vault = index, "strategy cycle failed: {outcome:?}"),
            _ => tracing::debug!(vault = index, "strategy: {outcome:?}"),
        }
        let n = self.strategy_failures.entry(index).or_insert(0);
        *n = if matches!(outcome, StrategyOutcome::Rejected(_)) { *n + 1 } else { 0 };
        let n = *n;
        let failing = n >= 2 || self.failures(index) >= 2;
        let msg = || format!("vault {index}: {n} strategist cycles in a row failed; last: {outcome:?}");
        self.alerts.set(AlertKind::TransactionsFailing, Some(index), failing, msg, unix_now());
        self.strategy.push((index, outcome));
    }

    fn record(&mut self, index: u16, o: &CycleOutcome) {
        let vault = index.to_string();
        let m = &self.status.metrics;
        m.add("keel_keeper_cycles_total", labels(&[("vault", &vault), ("outcome", o.label())]), 1.0);
        if let CycleOutcome::Acted(Outcome::Rebalanced { lots, reward, .. }) = o {
            m.add("keel_keeper_rebalanced_lots_total", labels(&[("vault", &vault)]), lots.unsigned_abs() as f64);
            m.add("keel_keeper_rewards_total", labels(&[("vault", &vault)]), *reward as f64);
        }
        match o {
            CycleOutcome::Acted(Outcome::LostRace) => tracing::info!(vault = index, "another keeper rebalanced first"),
            CycleOutcome::Acted(Outcome::Rebalanced { lots, reward, sequence }) => {
                tracing::info!(vault = index, lots, reward, sequence, "rebalanced")
            }
            other if other.is_failure() => tracing::warn!(vault = index, "cycle failed: {other:?}"),
            other => tracing::debug!(vault = index, "{other:?}"),
        }
        let n = self.failures.entry(index).or_insert(0);
        *n = if o.is_failure() { *n + 1 } else { 0 };
        let n = *n;
        m.set("keel_keeper_consecutive_failures", labels(&[("vault", &vault)]), f64::from(n));
        let message = || format!("vault {index}: {n} cycles in a row failed; last: {o:?}");
        self.alerts.set(AlertKind::TransactionsFailing, Some(index), n >= 2, message, unix_now());
    }

    /// Gauges and alerts from the vault's state after its cycle (a failed read only skips them).
    async fn observe<C: Chain>(&mut self, chain: &mut C, i: usize) {
        let (index, keys) = (self.workers[i].index, self.workers[i].rebalancer.keys);
        let Ok(view) = VaultView::load(chain, keys).await else { return };
        let vault = index.to_string();
        let m = &self.status.metrics;
        m.set("keel_keeper_vault_sequence", labels(&[("vault", &vault)]), view.vault.sequence as f64);
        let now = view.clock.unix_timestamp;
        if let Ok(p) = view.portfolio() {
            let f = |x: I80F48| x.to_num::<f64>();
            let health = if p.maintenance > 0 { f(p.equity) / f(p.maintenance) } else { f64::INFINITY };
            m.set("keel_keeper_vault_delta", labels(&[("vault", &vault)]), f(p.delta));
            if health.is_finite() {
                m.set("keel_keeper_vault_health", labels(&[("vault", &vault)]), health);
            }
            let low = health < self.health_warning;
            let warn = self.health_warning;
            let msg = || format!("vault {index}: venue health {health:.2} is below {warn:.2}");
            self.alerts.set(AlertKind::HealthLow, Some(index), low, msg, now);
        }
        if let Ok(tripped) = keel_vault::venue_link::tripped(&view.price, &view.vault.config.breaker) {
            let msg = || format!("vault {index}: circuit breaker tripped (oracle price left its EMA band)");
            self.alerts.set(AlertKind::CircuitBreaker, Some(index), tripped, msg, now);
        }
        let paused = view.vault.is_paused(now);
        let until = view.vault.paused_until;
        self.alerts.set(
            AlertKind::Paused,
            Some(index),
            paused,
            || format!("vault {index}: paused by its guardian until {until}"),
            now,
        );
    }
}
