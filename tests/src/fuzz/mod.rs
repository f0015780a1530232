//! Action-sequence fuzzer over the real programs (issue 9): random sequences of deposit, request, claim, allocate,
//! rebalance (the keeper's own and random griefing ones), deleverage, oracle update (moves, jumps, confidence
//! blow-outs), time warp, refresh, settle, liquidate, pause and unpause, against keel-venue and keel-vault on the
//! keeper's embedded bank (the demo world: a venue with a perp, a call and a put, LP liquidity, a vault running a
//! hedged short-call book, three depositors, a 5x trader). After every step the invariants in [`invariants`] hold
//! or the run stops with the seed, the sequence and its actions.
//!
//! A world serves `world_every` sequences in a row (its state carries over, so later sequences start from deep
//! states: expired options, paused vaults, pending withdrawals), then a fresh one is built. Everything is drawn from
//! one seed, so a run is repeatable with the same arguments.
pub mod actions;
pub mod invariants;

pub use actions::Action;
use actions::Actors;
use keel_keeper::chain::Embedded;
use keel_keeper::demo::world::World;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Counts over a run: how often each action was accepted or refused, and by which error.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub sequences: u64,
    pub steps: u64,
    pub worlds: u64,
    pub accepted: BTreeMap<&'static str, u64>,
    /// (action, program error code) -> count.
    pub refused: BTreeMap<(&'static str, u32), u64>,
}

impl Stats {
    pub fn merge(&mut self, other: &Stats) {
        self.sequences += other.sequences;
        self.steps += other.steps;
        self.worlds += other.worlds;
        for (k, v) in &other.accepted {
            *self.accepted.entry(k).or_default() += v;
        }
        for (k, v) in &other.refused {
            *self.refused.entry(*k).or_default() += v;
        }
    }

    pub fn accepted(&self, kind: &str) -> u64 {
        self.accepted.get(kind).copied().unwrap_or(0)
    }
}

/// A broken invariant, with what it takes to find it again.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub sequence: u64,
    pub step: usize,
    pub actions: Vec<Action>,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} sequence {} step {}: {}\nactions of the sequence: {:#?}",
            self.seed, self.sequence, self.step, self.message, self.actions
        )
    }
}

/// Runs `sequences` sequences from `seed`, a fresh world every `world_every`; `progress` sees the stats after each.
pub async fn run(
    seed: u64,
    sequences: u64,
    world_every: u64,
    mut progress: impl FnMut(&Stats),
) -> Result<Stats, Box<Failure>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Stats::default();
    let mut actors: Option<Actors> = None;
    for sequence in 0..sequences {
        if sequence % world_every.max(1) == 0 {
            let fail = |message: String| Box::new(Failure { seed, sequence, step: 0, actions: vec![], message });
            let world = World::create(Embedded::start().await, 100.0, 1).await.map_err(|e| fail(e.to_string()))?;
            actors = Some(Actors::new(world).await.map_err(|e| fail(e.to_string()))?);
            stats.worlds += 1;
        }
        let a = actors.as_mut().expect("a world exists from the first sequence");
        let len = rng.random_range(4..=16);
        let actions: Vec<Action> = (0..len).map(|_| Action::draw(&mut rng, a.holders.len())).collect();
        for (step, action) in actions.iter().enumerate() {
            let outcome = a.step(action).await;
            let fail = |m: String| {
                let message = format!("{action:?}: {m}");
                Box::new(Failure { seed, sequence, step, actions: actions.clone(), message })
            };
            match outcome.map_err(fail)? {
                None => *stats.accepted.entry(action.kind()).or_default() += 1,
                Some(code) => *stats.refused.entry((action.kind(), code)).or_default() += 1,
            }
            stats.steps += 1;
        }
        stats.sequences += 1;
        progress(&stats);
    }
    Ok(stats)
}
