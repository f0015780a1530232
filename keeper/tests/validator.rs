//! The validator tier: the SBF programs on a real solana-test-validator, driven by the keeper's Rpc chain over
//! JSON-RPC and WebSocket, then the same scenario on the embedded bank; the outcomes must agree.
//!
//! `./scripts/validator-test` builds the programs, starts the validator with explicit loopback ports and runs this
//! with `--ignored` and KEEL_VALIDATOR_URL set (the ordinary `cargo test` has no validator to talk to).
use keel_client::presets::USDC;
use keel_client::venue::margin_pda;
use keel_keeper::chain::{Chain, Embedded, OracleControl, Rpc, TableChain};
use keel_keeper::demo::world::World;
use keel_keeper::execution::ExecutionConfig;
use keel_keeper::rebalancer::Outcome;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use std::time::Duration;

/// Prices of the scenario: calm, a fall in 3.5% steps (each held so the oracle's EMA catches up and the venue's
/// 5% EMA-deviation guard stays satisfied), then a partial recovery.
const PATH: [f64; 10] = [100.0, 100.0, 96.5, 96.5, 93.0, 93.0, 89.5, 89.5, 93.0, 96.5];

/// What one step did, comparable across chains.
#[derive(Clone, Debug)]
struct Record {
    time: i64,
    rebalanced: Option<i64>,
    idle: Option<String>,
    delta: f64,
    reward: u64,
}

/// The clock the scenario runs on: the validator's own (real time), or the embedded bank set to the times the
/// validator recorded, so both price the same option at the same time to expiry.
#[allow(async_fn_in_trait)]
trait StepClock: OracleControl {
    async fn at(&mut self, recorded: Option<i64>) -> i64;
}

impl StepClock for Rpc {
    async fn at(&mut self, _: Option<i64>) -> i64 {
        self.clock().await.expect("validator clock").unix_timestamp
    }
}

impl StepClock for Embedded {
    async fn at(&mut self, recorded: Option<i64>) -> i64 {
        let t = recorded.expect("the embedded replay follows the validator's times");
        self.set_time(t).await.expect("set time");
        self.warp_slots(1).await.expect("warp");
        t
    }
}

/// Deposits, the strategist's hedged short-call book, then the path with one keeper cycle per step.
async fn scenario<C: StepClock>(w: &mut World<C>, times: Option<&[i64]>) -> Vec<Record> {
    w.open_book(&[60_000 * USDC, 30_000 * USDC, 10_000 * USDC], 100).await.expect("deposits and the book");
    let party = w.party(0).await.expect("keeper party");
    let mut k = w.rebalancer(w.keys, &party.key, party.collateral);
    let mut records = Vec::new();
    for (i, spot) in PATH.iter().enumerate() {
        let time = w.chain.at(times.map(|t| t[i])).await;
        w.set_spot(*spot).await.expect("oracle update");
        let outcome = k.cycle(&mut w.chain).await.expect("keeper cycle");
        let (rebalanced, idle, reward) = match outcome {
            Outcome::Rebalanced { lots, reward, .. } => (Some(lots), None, reward),
            Outcome::Idle(why) => (None, Some(why), 0),
            other => panic!("step {i} at {spot}: the keeper's transaction was refused: {other:?}"),
        };
        let view = keel_keeper::vault_view::VaultView::load(&mut w.chain, w.keys).await.expect("view");
        let delta = view.portfolio().expect("portfolio").delta.to_num();
        println!("step {i}: spot {spot}, rebalanced {rebalanced:?}, idle {idle:?}, delta after {delta:.3}");
        records.push(Record { time, rebalanced, idle, delta, reward });
    }
    records
}

async fn airdrop(rpc: &Rpc, to: &Pubkey, sol: u64) {
    let client = rpc.client();
    let sig = client.request_airdrop(to, sol * 1_000_000_000).await.expect("faucet (is --faucet-port served?)");
    for _ in 0..60 {
        if client.confirm_transaction(&sig).await.unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("airdrop {sig} not confirmed in 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running solana-test-validator: ./scripts/validator-test starts one and runs this"]
async fn keeper_on_a_real_validator_matches_the_embedded_bank() {
    let url = std::env::var("KEEL_VALIDATOR_URL").expect("KEEL_VALIDATOR_URL unset: run ./scripts/validator-test");
    // Bid at least 1,000 micro-lamports/CU so the priority-fee path is exercised on an otherwise idle localnet.
    let exec = ExecutionConfig { min_priority_micro_lamports: 1_000, ..ExecutionConfig::default() };
    let payer = Keypair::new();
    let rpc = Rpc::new(&url, None, payer.insecure_clone(), exec).expect("rpc chain");
    airdrop(&rpc, &payer.pubkey(), 1_000).await;

    // 1. Migrations over JSON-RPC: mint, venue, underlying, surface, three markets, LP liquidity, the vault.
    let mut live = World::create(rpc, PATH[0], 1).await.expect("migrations on the validator");
    let venue: keel_venue::state::Venue = live.chain.read(&live.venue).await.expect("venue exists");
    assert!(venue.pool_assets > 0, "LP liquidity landed");

    // 2. Subscriptions: an oracle update arrives over WebSocket (the polling fallback is an hour away here).
    let mut changes = live.chain.watch(vec![live.oracle], Duration::from_secs(3_600));
    tokio::time::sleep(Duration::from_secs(1)).await; // let the subscription register before the update
    live.set_spot(PATH[0]).await.expect("oracle update");
    let changed = tokio::time::timeout(Duration::from_secs(20), changes.recv()).await;
    assert_eq!(changed.ok().flatten(), Some(live.oracle), "no account notification for the oracle within 20 s");

    // 3. An address lookup table of the world's accounts: from here on every transaction is version 0, as a
    //    large book's must be. Asking again for the same addresses changes nothing; one more extends it.
    let addresses = live.deployment(&url).table_addresses(); // what `keel-keeper deploy --lookup-table` keeps
    let made = live.chain.ensure_lookup_table(None, &addresses[1..]).await.expect("a lookup table");
    assert!(made.created && made.added == addresses.len() - 1, "{made:?}");
    let again = live.chain.ensure_lookup_table(Some(made.table), &addresses[1..]).await.expect("the same table");
    assert_eq!((again.created, again.added, again.holds), (false, 0, addresses.len() - 1));
    live.chain.use_lookup_tables(&[made.table]).await.expect("use it");
    let grown = live.chain.ensure_lookup_table(Some(made.table), &addresses).await.expect("extended");
    assert_eq!((grown.table, grown.created, grown.added, grown.holds), (made.table, false, 1, addresses.len()));
    let held = live.chain.lookup_table(&made.table).await.expect("the table");
    assert_eq!(held.account.addresses, [&addresses[1..], &addresses[..1]].concat(), "held in the order added");
    assert_eq!(live.chain.lookup_tables()[0], held.account, "the chain compiles with the table as extended");
    // More than a table holds is refused before anything is sent (no empty table left behind).
    let sent = live.chain.stats.sent;
    let too_many: Vec<Pubkey> = (0..257).map(|_| Pubkey::new_unique()).collect();
    let refused = live.chain.ensure_lookup_table(None, &too_many).await.expect_err("257 addresses");
    assert!(refused.to_string().contains("257 addresses would pass a table's 256 limit"), "{refused}");
    assert_eq!(live.chain.stats.sent, sent, "nothing was sent");

    // 4. The scenario with the live keeper; every transaction simulated, budgeted, bid and confirmed.
    let records = scenario(&mut live, None).await;
    let stats = live.chain.stats.clone();
    assert!(stats.confirmed > 20, "transactions confirmed through the pipeline: {stats:?}");
    let hedges = records.iter().filter(|r| r.rebalanced.is_some()).count();
    assert!(stats.looked_up >= hedges as u64, "each rebalance looked its markets up in the table: {stats:?}");
    assert_eq!(stats.last_priority_fee, 1_000, "the floor bid on an idle localnet");
    assert!(stats.last_cu_limit > 0 && stats.last_cu_limit <= 1_400_000);
    let fees = live.chain.client().get_recent_prioritization_fees(&[live.keys.vault]).await.expect("fee history");
    assert!(fees.iter().any(|f| f.prioritization_fee >= 1_000), "the vault's transactions paid the bid: {fees:?}");
    // A caller's own compute budget is kept (a second limit instruction would fail the whole transaction).
    let own = solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(50_000);
    let to = Keypair::new().pubkey();
    let transfer = solana_system_interface::instruction::transfer(&live.chain.payer(), &to, 1_000_000_000);
    live.chain.send(&[own, transfer], &[]).await.expect("a transaction carrying its own budget lands");
    assert_eq!(live.chain.account(&to).await.expect("rpc").map(|a| a.lamports), Some(1_000_000_000));

    // 5. The same scenario on the embedded bank at the validator's times.
    let mut bank = Embedded::start().await;
    bank.set_time(records[0].time - 60).await.expect("time");
    let mut replay = World::create(bank, PATH[0], 1).await.expect("embedded world");
    let times: Vec<i64> = records.iter().map(|r| r.time).collect();
    let again = scenario(&mut replay, Some(&times)).await;

    // 6. Same decisions; hedge sizes and deltas equal up to the seconds of time-to-expiry between the runs.
    assert!(hedges >= 2, "the fall must breach the delta band and be hedged at least twice: {records:?}");
    assert!(records.iter().map(|r| r.reward).sum::<u64>() > 0, "the keeper earned rewards on the validator");
    for (i, (a, b)) in records.iter().zip(&again).enumerate() {
        assert_eq!(a.rebalanced.is_some(), b.rebalanced.is_some(), "step {i}: {a:?} vs {b:?}");
        assert_eq!(a.idle, b.idle, "step {i}");
        if let (Some(x), Some(y)) = (a.rebalanced, b.rebalanced) {
            let tol = (x.abs() / 100).max(1_000); // 1% or a thousandth of a unit
            assert!((x - y).abs() <= tol, "step {i}: hedge {x} lots on the validator vs {y} embedded");
        }
        assert!((a.delta - b.delta).abs() < 0.05, "step {i}: delta {} vs {}", a.delta, b.delta);
        if a.rebalanced.is_some() {
            assert!(a.delta.abs() <= 5.0, "step {i}: a hedge leaves delta inside the band: {}", a.delta);
        }
    }
}

/// Runs `keel-keeper <args>` as an operator would; returns (succeeded, stdout + stderr).
fn keeper_cli(args: &[&str]) -> (bool, String) {
    // Info logs (the suite runs with RUST_LOG=error): the keeper's start-up lines are asserted too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keel-keeper"))
        .args(args)
        .env("RUST_LOG", "info,solana=warn")
        .output()
        .expect("keel-keeper");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("$ keel-keeper {}\n{text}", args.join(" "));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running solana-test-validator: ./scripts/validator-test starts one and runs this"]
async fn deploy_cli_applies_the_spec_over_rpc_and_a_rerun_changes_nothing() {
    let url = std::env::var("KEEL_VALIDATOR_URL").expect("KEEL_VALIDATOR_URL unset: run ./scripts/validator-test");
    let dir = std::env::temp_dir().join(format!("keel-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let payer = Keypair::new();
    let keypair = dir.join("payer.json");
    solana_sdk::signer::keypair::write_keypair_file(&payer, &keypair).expect("keypair file");
    let rpc = Rpc::new(&url, None, payer.insecure_clone(), ExecutionConfig::default()).expect("rpc chain");
    airdrop(&rpc, &payer.pubkey(), 100).await;
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/specs/demo.toml");
    let (mint, out) = (dir.join("mint.json"), dir.join("deployment.json"));
    let base = ["--spec", spec, "--rpc-url", &url, "--keypair", keypair.to_str().unwrap()];
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    let run = |args: Vec<String>| {
        keeper_cli(&[&["deploy"][..], &args.iter().map(String::as_str).collect::<Vec<_>>()].concat())
    };

    // 1. Without an oracle the spec cannot complete: refused before the first transaction, nothing written.
    let mint_arg = ["--mint-keypair", mint.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let (ok, text) = run(with(&mint_arg));
    assert!(!ok && text.contains("no oracle account at") && text.contains("--localnet-oracles"), "{text}");
    let mint_key = solana_sdk::signer::keypair::read_keypair_file(&mint).expect("mint keypair saved").pubkey();
    assert!(rpc.client().get_account(&mint_key).await.is_err(), "a refused deployment created the mint");
    // An account that is not a Pyth price update is refused as an oracle, naming its owner.
    let wrong = format!("0={}", payer.pubkey());
    let (ok, text) = run(with(&[&mint_arg[..], &["--oracle", &wrong]].concat()));
    assert!(!ok && text.contains("not the Pyth receiver"), "{text}");

    // 2. The deployment: mint, venue, underlying, three markets, LP liquidity, the vault and its accounts.
    let local = [&mint_arg[..], &["--localnet-oracles", "--priority-floor", "1000", "--lookup-table"]].concat();
    let (ok, text) = run(with(&local));
    assert!(ok && text.contains("deploy: 9 created, 0 already present"), "{text}");
    assert!(text.contains("deploy: lookup table") && text.contains("addresses) created"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).expect("deployment");
    let key = |v: &serde_json::Value| v.as_str().expect("address").parse::<Pubkey>().expect("base58");
    assert_eq!(key(&json["mint"]), mint_key);
    let vault = key(&json["vaults"]["0"]);
    let state: keel_vault::state::Vault = {
        let data = rpc.client().get_account_data(&vault).await.expect("vault on the validator");
        anchor_lang::AccountDeserialize::try_deserialize(&mut &data[..]).expect("a vault account")
    };
    assert_eq!(state.curator, payer.pubkey(), "the payer curates the vault it deployed");

    // 3. A re-run finds everything and changes nothing in Keel's accounts.
    let mut addresses = vec![key(&json["mint"]), key(&json["venue"]), vault];
    for group in ["underlyings", "markets"] {
        addresses.extend(json[group].as_object().expect(group).values().map(key));
    }
    let snapshot = || async {
        let accounts = rpc.client().get_multiple_accounts(&addresses).await.expect("accounts");
        accounts.into_iter().map(|a| a.expect("deployed account").data).collect::<Vec<_>>()
    };
    // The table holds every market and the vault's margin account (what a rebalance passes).
    let table = key(&json["lookup_table"]);
    let mut chain = Rpc::new(&url, None, payer.insecure_clone(), ExecutionConfig::default()).expect("rpc chain");
    let held = chain.lookup_table(&table).await.expect("the deployment's lookup table").account.addresses;
    let margin = margin_pda(&key(&json["venue"]), &vault);
    assert!(addresses.iter().chain([&margin]).all(|a| held.contains(a)), "{held:?}");
    let before = snapshot().await;
    let (ok, text) = run(with(&local));
    assert!(ok && text.contains("deploy: 0 created, 9 already present"), "{text}");
    assert!(
        text.contains(&format!("deploy: lookup table {table} ({} addresses) already present", held.len())),
        "{text}"
    );
    assert!(before == snapshot().await, "a re-run changed a deployed account");

    // 4. `keel-keeper run` on that deployment, as an operator starts it: a dry run first (creates nothing), then
    //    two live ticks (the reward account is created; nobody has deposited, so there is nothing to hedge).
    let config = dir.join("keeper.toml");
    let toml = format!(
        "rpc_url = \"{url}\"\nkeypair = \"{}\"\ndeployment = \"{}\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\nkill_switch_file = \"{}\"\n[[vaults]]\nindex = 0\n",
        keypair.display(),
        out.display(),
        dir.join("stop").display()
    );
    std::fs::write(&config, toml).expect("config");
    let run = |extra: &[&str]| keeper_cli(&[&["run", "--config", config.to_str().unwrap()][..], extra].concat());
    let reward =
        keel_client::token::associated_token_address(&payer.pubkey(), &mint_key, &keel_client::token::SPL_TOKEN_ID);
    let (ok, text) = run(&["--dry-run", "--cycles", "1"]);
    assert!(ok && text.contains("vault 0: idle (the vault holds no deposits)"), "{text}");
    assert!(rpc.client().get_account(&reward).await.is_err(), "a dry run created the reward account");
    let (ok, text) = run(&["--cycles", "2"]);
    assert!(ok && text.matches("vault 0: idle (the vault holds no deposits)").count() == 2, "{text}");
    assert!(text.contains("compiling transactions with the deployment's address lookup table"), "{text}");
    assert!(text.contains("stopped after 2 tick(s)"), "{text}");
    assert!(rpc.client().get_account(&reward).await.is_ok(), "the keeper's reward account exists");
    // A config naming a vault the deployment lacks is refused before anything is sent.
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap().replace("index = 0", "index = 7")).unwrap();
    let (ok, text) = run(&["--cycles", "1"]);
    assert!(!ok && text.contains("the deployment has no vault 7"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
