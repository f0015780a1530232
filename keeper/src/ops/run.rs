//! `keel-keeper run`: the keeper against a cluster. Config from a TOML file, then environment, then flags; the
//! deployment file from `keel-keeper deploy`; one process serving every configured vault, woken by oracle account
//! notifications (WebSocket, with a polling fallback) or every `poll_secs`; /metrics, /health and /ready; logs
//! through tracing (text or JSON); SIGINT/SIGTERM finish the current cycle and exit; SIGUSR1 engages the kill
//! switch.
use super::alerts::Alerts;
use super::config::{expand_home, read_keypair, KeeperConfig};
use super::runner::{CycleOutcome, Keeper, Worker};
use super::serve::{serve, Status};
use crate::chain::{Chain, Rpc, TableChain};
use crate::deploy::Deployment;
use crate::rebalancer::Rebalancer;
use crate::strategist::Strategist;
use crate::strategist::StrategyOutcome;
use crate::strategy::{Costs, Ewma};
use keel_client::token::{associated_token_address, create_associated_token_account_idempotent_ix};
use keel_client::vault::VaultKeys;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The keeper's TOML config (docs/keeper.md, "Configuration").
    #[arg(long, env = "KEEL_CONFIG", default_value = "keel-keeper.toml")]
    pub config: PathBuf,
    /// Overrides `rpc_url`.
    #[arg(long, env = "KEEL_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Overrides `keypair`.
    #[arg(long, env = "KEEL_KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// Overrides `deployment`.
    #[arg(long, env = "KEEL_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Overrides `listen` ("" disables the endpoint).
    #[arg(long, env = "KEEL_LISTEN")]
    pub listen: Option<String>,
    /// Plan and simulate, send nothing (also `dry_run = true` in the config).
    #[arg(long)]
    pub dry_run: bool,
    /// Exit after this many ticks (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    pub cycles: Option<u64>,
    /// Log format: text or json (filter with RUST_LOG, default info).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,solana=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests calling run twice) keeps the first subscriber.
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// The config with environment and flag overrides applied, validated.
pub fn resolve(args: &RunArgs) -> anyhow::Result<KeeperConfig> {
    let mut cfg = KeeperConfig::load(&args.config)
        .map_err(|e| anyhow::anyhow!("{e}\n(an example config with every key: docs/keeper.md, \"Configuration\")"))?;
    if let Some(url) = &args.rpc_url {
        cfg.rpc_url = url.clone();
    }
    if let Some(k) = &args.keypair {
        cfg.keypair = k.clone();
    }
    if let Some(d) = &args.deployment {
        cfg.deployment = d.clone();
    }
    if let Some(l) = &args.listen {
        cfg.listen = l.clone();
    }
    cfg.dry_run |= args.dry_run;
    cfg.validate().map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    Ok(cfg)
}

/// Builds one worker per configured vault from the deployment and the vault's own account.
pub async fn workers<C: Chain>(
    chain: &mut C,
    cfg: &KeeperConfig,
    deployment: &Deployment,
    keeper: &Keypair,
) -> anyhow::Result<Vec<Worker>> {
    let mut out = Vec::new();
    for entry in &cfg.vaults {
        let at = format!("vaults (index {})", entry.index);
        let vault = *deployment.vaults.get(&entry.index).ok_or_else(|| {
            anyhow::anyhow!("{at}: the deployment has no vault {} (it has {:?})", entry.index, deployment.vaults.keys())
        })?;
        let state: keel_vault::state::Vault =
            chain.read(&vault).await.map_err(|e| anyhow::anyhow!("{at}: vault {vault}: {e}"))?;
        let underlying_index =
            deployment.underlyings.iter().find(|(_, k)| **k == state.underlying).map(|(i, _)| *i).ok_or_else(|| {
                anyhow::anyhow!("{at}: the vault's underlying {} is not in the deployment", state.underlying)
            })?;
        let oracle = *deployment
            .oracles
            .get(&underlying_index)
            .ok_or_else(|| anyhow::anyhow!("{at}: the deployment names no oracle for underlying {underlying_index}"))?;
        let perp = *deployment
            .markets
            .get(&entry.perp_market)
            .ok_or_else(|| anyhow::anyhow!("{at}: perp_market {} is not in the deployment", entry.perp_market))?;
        let market: keel_venue::state::Market = chain.read(&perp).await?;
        anyhow::ensure!(
            market.kind() == keel_venue::state::MarketKind::Perp,
            "{at}: market {} is not a perp; set perp_market to the deployment index of a perp",
            entry.perp_market
        );
        let keys = VaultKeys {
            vault,
            venue: state.venue,
            underlying: state.underlying,
            oracle,
            mint: state.collateral_mint,
            token_program: state.token_program,
        };
        // The venue's own fee and spread, so the policy weighs what the trade will really cost.
        let costs = Costs {
            fee_bps: f64::from(market.config.taker_fee_bps),
            half_spread_bps: f64::from(market.config.half_spread_bps),
            tx_fee: entry.tx_fee,
            oracle_latency_secs: entry.oracle_latency_secs,
        };
        let collateral = associated_token_address(&keeper.pubkey(), &keys.mint, &keys.token_program);
        let rebalancer = Rebalancer {
            keys,
            perp,
            keeper: keeper.insecure_clone(),
            keeper_collateral: collateral,
            policy: entry.policy.build(),
            costs,
            slippage_bps: entry.slippage_bps,
        };
        let strategist = match &entry.strategy {
            None => None,
            Some(st) => {
                let key = read_keypair(&st.strategist_keypair, &format!("{at}: strategy.strategist_keypair"))?;
                anyhow::ensure!(
                    key.pubkey() == state.strategist,
                    "{at}: strategy.strategist_keypair is {}, but the vault's strategist is {} (the vault refuses \
                     allocations from any other key)",
                    key.pubkey(),
                    state.strategist
                );
                Some(Strategist {
                    keys,
                    perp,
                    strategist: key,
                    spec: st.spec(entry.slippage_bps),
                    forecast: Box::new(Ewma::new(st.ewma_lambda)),
                })
            }
        };
        out.push(Worker { index: entry.index, rebalancer, strategist });
    }
    Ok(out)
}

/// Makes sure each reward account (the keeper's associated token account of the vault's mint) exists.
pub async fn reward_accounts<C: Chain>(chain: &mut C, workers: &[Worker], dry_run: bool) -> anyhow::Result<()> {
    for w in workers {
        let r = &w.rebalancer;
        if chain.account(&r.keeper_collateral).await?.is_some() {
            continue;
        }
        if dry_run {
            tracing::warn!(
                vault = w.index,
                "reward account {} is missing; a dry run does not create it",
                r.keeper_collateral
            );
            continue;
        }
        let me = chain.payer();
        let ix =
            create_associated_token_account_idempotent_ix(&me, &r.keeper.pubkey(), &r.keys.mint, &r.keys.token_program);
        chain.send(&[ix], &[]).await?;
        tracing::info!(vault = w.index, "created reward account {}", r.keeper_collateral);
    }
    Ok(())
}

fn describe(index: u16, o: &CycleOutcome) -> String {
    match o {
        CycleOutcome::Acted(crate::rebalancer::Outcome::Idle(why)) => format!("vault {index}: idle ({why})"),
        CycleOutcome::Acted(crate::rebalancer::Outcome::Rebalanced { lots, reward, sequence }) => {
            format!("vault {index}: rebalanced {lots} lots, reward {reward}, sequence {sequence}")
        }
        CycleOutcome::DryRun { lots, simulation } => {
            format!("vault {index}: dry run: would rebalance {lots} lots (simulation: {simulation:?})")
        }
        other => format!("vault {index}: {other:?}"),
    }
}

fn describe_strategy(o: &StrategyOutcome) -> String {
    match o {
        StrategyOutcome::Idle(why) => format!("idle ({why})"),
        StrategyOutcome::Held(why) => format!("held until alerts are acknowledged: {why} (POST /ack)"),
        StrategyOutcome::Allocated { closed, opened, hedge, margin, lp_in, lp_out, sequence } => format!(
            "allocated: {closed} legs bought back, sold {opened:?} (lots), hedge {hedge} lots, margin {margin:+}, \
             LP in {lp_in} tokens, LP out {lp_out} shares, sequence {sequence}"
        ),
        StrategyOutcome::Simulated(sim) => format!("dry run: would allocate (simulation: {sim:?})"),
        StrategyOutcome::Rejected(e) => format!("refused by the program: {e}"),
    }
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_logs(&args.log_format);
    // 1. Configuration, keys and the deployment; the vaults read and checked before anything is sent.
    let cfg = resolve(&args)?;
    let keeper = read_keypair(&cfg.keypair, "keypair")?;
    let deployment = Deployment::load(&expand_home(&cfg.deployment))?;
    let mut chain = Rpc::new(&cfg.rpc_url, cfg.ws_url.clone(), keeper.insecure_clone(), cfg.execution.clone())
        .map_err(|e| anyhow::anyhow!("rpc_url/ws_url/execution: {e}"))?;
    if let Some(table) = deployment.lookup_table {
        // Version-0 transactions from here on: a large book's markets fit one packet.
        chain.use_lookup_tables(&[table]).await.map_err(|e| {
            anyhow::anyhow!("the deployment's lookup table: {e} (re-run `keel-keeper deploy --lookup-table`)")
        })?;
        tracing::info!(%table, "compiling transactions with the deployment's address lookup table");
    }
    let workers = workers(&mut chain, &cfg, &deployment, &keeper).await?;
    reward_accounts(&mut chain, &workers, cfg.dry_run).await?;
    let oracles: Vec<Pubkey> = {
        let mut o: Vec<Pubkey> = workers.iter().map(|w| w.rebalancer.keys.oracle).collect();
        o.sort();
        o.dedup();
        o
    };
    // 2. The status endpoint (/health is stale after three missed polls).
    let stale = i64::try_from(cfg.poll_secs.saturating_mul(3)).unwrap_or(i64::MAX);
    let status = Arc::new(Status::new(stale));
    let server = if cfg.listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("listen {}: {e} (choose a free address, or \"\" to disable)", cfg.listen))?;
        tracing::info!("metrics on http://{}/metrics (/health, /ready)", listener.local_addr()?);
        Some(tokio::spawn(serve(listener, status.clone())))
    };
    let mut keeper_loop =
        Keeper::new(workers, status, Alerts::new(cfg.alerts.webhook.clone()), cfg.kill_switch_file.clone());
    keeper_loop.dry_run = cfg.dry_run;
    keeper_loop.jitter_secs = cfg.jitter_secs;
    keeper_loop.max_failures = cfg.max_consecutive_failures;
    keeper_loop.health_warning = cfg.alerts.health_warning;
    tracing::info!(
        vaults = keeper_loop.workers.len(),
        dry_run = cfg.dry_run,
        keeper = %keeper.pubkey(),
        "keel-keeper running against {}",
        cfg.rpc_url
    );
    // 3. The loop: a tick, then wait for an oracle update, the poll interval or a signal. Signals are only
    //    looked at between ticks, so a shutdown never interrupts a cycle half-way.
    let poll = Duration::from_secs(cfg.poll_secs);
    let mut updates = chain.watch(oracles, poll);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    let mut ticks = 0u64;
    loop {
        for (index, outcome) in keeper_loop.tick(&mut chain).await {
            println!("{}", describe(index, &outcome));
        }
        for (index, outcome) in &keeper_loop.strategy {
            println!("vault {index}: strategy: {}", describe_strategy(outcome));
        }
        ticks += 1;
        if args.cycles.is_some_and(|n| ticks >= n) {
            break;
        }
        tokio::select! {
            _ = updates.recv() => while updates.try_recv().is_ok() {},
            _ = tokio::time::sleep(poll) => {}
            _ = tokio::signal::ctrl_c() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = usr1.recv() => keeper_loop.engage("SIGUSR1 from the operator"),
        }
    }
    if let Some(s) = server {
        s.abort();
    }
    println!("keel-keeper: stopped after {ticks} tick(s)");
    Ok(())
}
