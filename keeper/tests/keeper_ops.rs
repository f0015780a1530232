//! The operator's keeper (ops::runner) on the embedded bank with the real programs: it hedges a breach once and
//! reports it, a dry run sends nothing, the kill switch stops it until removed, and injected faults (RPC errors
//! and timeouts, expired and dropped transactions, a competing keeper, a restart mid-cycle) never execute a
//! rebalance twice and never turn into a crash loop.
use keel_client::presets::USDC;
use keel_keeper::chain::faulty::{Fault, Faulty};
use keel_keeper::chain::{Chain, Embedded};
use keel_keeper::demo::world::World;
use keel_keeper::deploy::Deployment;
use keel_keeper::ops::alerts::{AlertKind, Alerts};
use keel_keeper::ops::config::KeeperConfig;
use keel_keeper::ops::metrics::labels;
use keel_keeper::ops::run::{reward_accounts, workers};
use keel_keeper::ops::runner::{CycleOutcome, Keeper};
use keel_keeper::ops::serve::{unix_now, Status};
use keel_keeper::rebalancer::Outcome;
use solana_sdk::signature::Keypair;
use std::path::PathBuf;
use std::sync::Arc;

const CONFIG: &str = r#"
rpc_url = "embedded"
keypair = "unused.json"
deployment = "unused.json"
max_consecutive_failures = 3
[[vaults]]
index = 0
perp_market = 0
policy = { kind = "static", half_width = 5.0 }
"#;

struct Setup {
    world: World,
    deployment: Deployment,
    keeper: Keypair,
    kill_file: PathBuf,
}

/// The demo world (migrations, three depositors, 100 short calls delta-hedged) and its deployment file.
async fn setup(name: &str) -> Setup {
    let mut world = World::create(Embedded::start().await, 100.0, 1).await.expect("world");
    world.open_book(&[60_000 * USDC, 30_000 * USDC, 10_000 * USDC], 100).await.expect("book");
    let deployment = world.deployment("embedded");
    let kill_file = std::env::temp_dir().join(format!("keel-kill-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&kill_file);
    Setup { world, deployment, keeper: Keypair::new(), kill_file }
}

/// A keeper built exactly as `keel-keeper run` builds it (config, deployment, vault accounts, reward account).
async fn keeper(s: &mut Setup, cfg: &str) -> Keeper {
    let cfg = KeeperConfig::parse(cfg).expect("config");
    let workers = workers(&mut s.world.chain, &cfg, &s.deployment, &s.keeper).await.expect("workers");
    reward_accounts(&mut s.world.chain, &workers, cfg.dry_run).await.expect("reward account");
    let mut k = Keeper::new(workers, Arc::new(Status::new(30)), Alerts::new(None), s.kill_file.clone());
    k.dry_run = cfg.dry_run;
    k.max_failures = cfg.max_consecutive_failures;
    k
}

/// Moves the clock a minute and the oracle (and caches) to `spot`.
async fn move_to(w: &mut World, spot: f64) {
    let now = w.chain.clock().await.expect("clock").unix_timestamp;
    w.chain.set_time(now + 60).await.expect("time");
    w.chain.warp_slots(1).await.expect("slot");
    w.set_spot(spot).await.expect("price");
}

async fn sequence(w: &mut World) -> u64 {
    let v: keel_vault::state::Vault = w.chain.read(&w.keys.vault).await.expect("vault");
    v.sequence
}

fn only(out: Vec<(u16, CycleOutcome)>) -> CycleOutcome {
    assert_eq!(out.len(), 1, "{out:?}");
    out.into_iter().next().unwrap().1
}

#[tokio::test]
async fn the_keeper_hedges_a_breach_once_and_reports_it() {
    let mut s = setup("hedge").await;
    let mut k = keeper(&mut s, CONFIG).await;
    let o = only(k.tick(&mut s.world.chain).await);
    assert_eq!(o, CycleOutcome::Acted(Outcome::Idle("inside the mandate".into())));
    assert_eq!(k.status.respond("GET", "/ready", 0).0, 200);
    // The fall breaches the delta band: one hedge, a reward into the keeper's associated token account.
    move_to(&mut s.world, 96.5).await;
    let o = only(k.tick(&mut s.world.chain).await);
    let CycleOutcome::Acted(Outcome::Rebalanced { lots, reward, sequence: seq }) = o else { panic!("{o:?}") };
    assert!(lots < 0 && reward > 0, "a fall shortens the perp hedge and pays: {lots} {reward}");
    assert_eq!(seq, sequence(&mut s.world).await, "the outcome reports the vault's new sequence");
    let reward_account = k.workers[0].rebalancer.keeper_collateral;
    let balance =
        s.world.chain.account(&reward_account).await.unwrap().and_then(|a| keel_client::token::token_amount(&a.data));
    assert_eq!(balance, Some(reward), "the reward landed in the keeper's associated token account");
    // Hedged: the next tick at the same price does nothing.
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Idle(_))), "{o:?}");
    let m = &k.status.metrics;
    assert_eq!(m.get("keel_keeper_cycles_total", &labels(&[("vault", "0"), ("outcome", "rebalanced")])), 1.0);
    assert_eq!(m.get("keel_keeper_cycles_total", &labels(&[("vault", "0"), ("outcome", "idle")])), 2.0);
    assert_eq!(m.get("keel_keeper_rewards_total", &labels(&[("vault", "0")])), reward as f64);
    assert_eq!(m.get("keel_keeper_vault_sequence", &labels(&[("vault", "0")])), seq as f64);
    assert!(m.get("keel_keeper_vault_delta", &labels(&[("vault", "0")])).abs() <= 5.0);
    let text = m.render();
    assert!(text.contains("keel_keeper_rebalanced_lots_total{vault=\"0\"}"), "{text}");
    assert_eq!(k.status.respond("GET", "/health", unix_now()).0, 200);
}

#[tokio::test]
async fn a_dry_run_simulates_the_hedge_and_sends_nothing() {
    let mut s = setup("dry").await;
    let mut k = keeper(&mut s, &format!("dry_run = true\n{CONFIG}")).await;
    let reward_account = k.workers[0].rebalancer.keeper_collateral;
    assert!(s.world.chain.account(&reward_account).await.unwrap().is_none(), "a dry run creates no account");
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    let mut chain = Faulty::new(&mut s.world.chain);
    let o = only(k.tick(&mut chain).await);
    assert_eq!(chain.sent, 0, "a dry run sent a transaction");
    let CycleOutcome::DryRun { lots, simulation } = o else { panic!("{o:?}") };
    assert!(lots < 0, "{lots}");
    assert_eq!(simulation, Ok(()), "the planned transaction (refreshes included) simulates cleanly");
    assert_eq!(sequence(&mut s.world).await, start);
}

#[tokio::test]
async fn the_kill_switch_stops_everything_until_it_is_removed() {
    let mut s = setup("kill").await;
    let mut k = keeper(&mut s, CONFIG).await;
    move_to(&mut s.world, 96.5).await;
    std::fs::write(&s.kill_file, "maintenance window\n").unwrap();
    for _ in 0..2 {
        let mut chain = Faulty::new(&mut s.world.chain);
        let o = only(k.tick(&mut chain).await);
        assert_eq!(o, CycleOutcome::Killed("maintenance window".into()));
        assert_eq!(chain.sent, 0);
    }
    let kills: Vec<_> = k.alerts.raised.iter().filter(|a| a.kind == AlertKind::KillSwitch).collect();
    assert_eq!(kills.len(), 1, "one alert for a lasting condition: {kills:?}");
    let (code, _, body) = k.status.respond("GET", "/ready", 0);
    assert_eq!((code, body.as_str()), (503, "not ready: kill switch engaged: maintenance window\n"));
    assert_eq!(k.status.metrics.get("keel_keeper_kill_switch", ""), 1.0);
    assert_eq!(k.status.metrics.get("keel_keeper_alerts_total", &labels(&[("kind", "kill_switch")])), 1.0);
    // Removing the file is the acknowledgement: work resumes.
    std::fs::remove_file(&s.kill_file).unwrap();
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Rebalanced { .. })), "{o:?}");
    assert_eq!(k.status.respond("GET", "/ready", 0).0, 200);
    // Engaged by the operator's signal (what SIGUSR1 calls): the file appears, the next tick stops, and the alert
    // is counted once more.
    k.engage("SIGUSR1 from the operator");
    assert!(matches!(only(k.tick(&mut s.world.chain).await), CycleOutcome::Killed(r) if r.contains("SIGUSR1")));
    assert_eq!(k.status.metrics.get("keel_keeper_alerts_total", &labels(&[("kind", "kill_switch")])), 2.0);
    std::fs::remove_file(&s.kill_file).unwrap();
}

#[tokio::test]
async fn rpc_errors_engage_the_kill_switch_after_the_limit_instead_of_a_crash_loop() {
    let mut s = setup("rpc").await;
    let mut k = keeper(&mut s, CONFIG).await;
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    // Every read fails for three ticks (the limit): each is a failed cycle, then the kill switch engages itself.
    for n in 1..=3u32 {
        let mut chain = Faulty::new(&mut s.world.chain);
        chain.reads = (0..100).map(|_| Some(Fault::Unavailable)).collect();
        let o = only(k.tick(&mut chain).await);
        assert!(matches!(&o, CycleOutcome::Failed(e) if e.contains("timed out")), "{o:?}");
        assert_eq!(k.failures(0), n);
    }
    assert!(k.alerts.is_active(AlertKind::TransactionsFailing, Some(0)));
    let reason = k.kill_switch().expect("engaged automatically");
    assert!(reason.contains("3 consecutive failed cycles"), "{reason}");
    assert!(k.alerts.raised.iter().any(|a| a.kind == AlertKind::KillSwitch));
    // Engaged, the keeper idles (no reads, no sends) even though the RPC is healthy again.
    let mut chain = Faulty::new(&mut s.world.chain);
    assert!(matches!(only(k.tick(&mut chain).await), CycleOutcome::Killed(_)));
    assert_eq!(chain.sent, 0);
    // The operator acknowledges by removing the file; the hedge then lands once.
    std::fs::remove_file(&s.kill_file).unwrap();
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Rebalanced { .. })), "{o:?}");
    assert_eq!((k.failures(0), sequence(&mut s.world).await), (0, start + 1));
    assert!(!k.alerts.is_active(AlertKind::TransactionsFailing, Some(0)), "cleared by a good cycle");
}

#[tokio::test]
async fn expired_and_dropped_transactions_never_execute_twice() {
    let mut s = setup("drop").await;
    let mut k = keeper(&mut s, CONFIG).await;
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    // 1. The rebalance expires unlanded (the refresh before it lands): nothing executed; the next tick hedges.
    let mut chain = Faulty::new(&mut s.world.chain);
    chain.sends = [None, Some(Fault::Expired)].into_iter().collect();
    let o = only(k.tick(&mut chain).await);
    assert!(matches!(&o, CycleOutcome::Failed(e) if e.contains("expired")), "{o:?}");
    assert_eq!(sequence(&mut s.world).await, start);
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Rebalanced { sequence, .. }) if sequence == start + 1), "{o:?}");
    // 2. A second breach; the rebalance executes but its confirmation is lost and the process dies. A new
    //    process (restart) measures the hedged vault and does nothing: one execution, not two.
    move_to(&mut s.world, 93.0).await;
    let mut chain = Faulty::new(&mut s.world.chain);
    chain.sends = [None, Some(Fault::Dropped)].into_iter().collect();
    let o = only(k.tick(&mut chain).await);
    assert!(matches!(&o, CycleOutcome::Failed(e) if e.contains("confirmation timed out")), "{o:?}");
    assert_eq!(sequence(&mut s.world).await, start + 2, "the dropped transaction did execute");
    drop(k);
    let mut restarted = keeper(&mut s, CONFIG).await;
    let o = only(restarted.tick(&mut s.world.chain).await);
    assert_eq!(o, CycleOutcome::Acted(Outcome::Idle("inside the mandate".into())));
    assert_eq!(sequence(&mut s.world).await, start + 2);
}

#[tokio::test]
async fn losing_a_race_to_another_keeper_is_an_outcome_not_a_failure() {
    let mut s = setup("race").await;
    let mut k = keeper(&mut s, CONFIG).await;
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    // A competitor plans the same hedge; its transaction lands just before ours.
    let rival = s.world.party(0).await.expect("rival");
    let mut other = s.world.rebalancer(s.world.keys, &rival.key, rival.collateral);
    let plan = other.plan(&mut s.world.chain).await.expect("plan").expect("a breach to hedge");
    let mut chain = Faulty::new(&mut s.world.chain);
    chain.sends =
        [None, Some(Fault::Race { instructions: plan.instructions, signer: Box::new(rival.key.insecure_clone()) })]
            .into_iter()
            .collect();
    let o = only(k.tick(&mut chain).await);
    assert_eq!(o, CycleOutcome::Acted(Outcome::LostRace));
    assert_eq!(k.failures(0), 0, "a lost race resets, not counts");
    assert_eq!(sequence(&mut s.world).await, start + 1, "only the rival's rebalance executed");
    assert_eq!(
        k.status.metrics.get("keel_keeper_cycles_total", &labels(&[("vault", "0"), ("outcome", "lost_race")])),
        1.0
    );
    assert!(k.alerts.raised.is_empty(), "no alert for a normal outcome: {:?}", k.alerts.raised);
}

#[tokio::test]
async fn a_refusal_the_prediction_missed_counts_and_alerts() {
    let mut s = setup("reject").await;
    // A limit price tighter than the venue's half-spread: the keeper's prediction (the mandate's judge) accepts
    // the hedge, the venue refuses the fill. That is a keeper misconfiguration, so it must be loud.
    let cfg = CONFIG.replace("policy = {", "slippage_bps = 0.1\npolicy = {");
    let mut k = keeper(&mut s, &cfg).await;
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    for n in 1..=2u32 {
        let o = only(k.tick(&mut s.world.chain).await);
        assert!(matches!(&o, CycleOutcome::Acted(Outcome::Rejected(_))), "{o:?}");
        assert_eq!(k.failures(0), n);
    }
    assert!(k.alerts.is_active(AlertKind::TransactionsFailing, Some(0)), "two refusals in a row alert");
    assert_eq!(sequence(&mut s.world).await, start, "nothing executed");
}

#[tokio::test]
async fn a_jittered_rebalance_is_re_planned_and_lands_once() {
    let mut s = setup("jitter").await;
    let mut k = keeper(&mut s, &format!("jitter_secs = 0.3\n{CONFIG}")).await;
    k.jitter_secs = 0.3;
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Rebalanced { sequence, .. }) if sequence == start + 1), "{o:?}");
}

#[tokio::test]
async fn clock_skew_between_host_and_cluster_changes_nothing() {
    // The cluster's clock runs six hours ahead of this host's (a host clock gone wrong, or the reverse seen from
    // the cluster). Every decision reads the Clock sysvar, never the host's time, so the keeper prices, predicts
    // and hedges on the cluster's time and the program agrees; only /health uses the host's clock (it watches
    // this process, not the chain).
    let mut s = setup("skew").await;
    let mut k = keeper(&mut s, CONFIG).await;
    let ahead = unix_now() + 6 * 3_600;
    s.world.chain.set_time(ahead).await.unwrap();
    s.world.chain.warp_slots(1).await.unwrap();
    move_to(&mut s.world, 96.5).await;
    let start = sequence(&mut s.world).await;
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Rebalanced { sequence, .. }) if sequence == start + 1), "{o:?}");
    let o = only(k.tick(&mut s.world.chain).await);
    assert!(matches!(o, CycleOutcome::Acted(Outcome::Idle(_))), "{o:?}");
    assert_eq!(k.status.respond("GET", "/health", unix_now()).0, 200, "the process itself is healthy");
}
