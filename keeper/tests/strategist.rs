//! The strategist's loop on the embedded bank with the real programs, on a venue listing a 7-day strangle and a
//! 14-day expiry with two strikes a side (migrations/specs/strangles.toml): it holds risk-increasing work when
//! told to, sells the strangle sized inside the mandate with margin at its target health (the projection equal to
//! the chain's result to the unit), does nothing while the strangle is live, rolls inside the window to the
//! 14-day expiry at the strikes its forecast volatility calls for, and never sends a transaction the programs
//! refuse.
use fixed::types::I80F48;
use keel_client::presets::USDC;
use keel_keeper::chain::{Chain, Embedded};
use keel_keeper::demo::world::World;
use keel_keeper::strategist::{choose, Strategist, StrategyOutcome, StrategySpec};
use keel_keeper::strategy::{Ewma, VolForecast};
use keel_keeper::vault_view::VaultView;
use keel_venue::state::{MarginAccount, Market};
use solana_sdk::pubkey::Pubkey;

const HOUR: i64 = 3600;

async fn world() -> World {
    let spec = keel_migrations::Spec::parse(keel_migrations::spec::STRANGLES_SPEC).expect("spec");
    let mut w = World::create_from(Embedded::start().await, 100.0, 1, spec).await.expect("world");
    w.deposit(&[60_000 * USDC, 40_000 * USDC]).await.expect("deposits");
    w
}

/// A forecast primed with 48 hourly prices ending an hour before `now`, moving `hourly` (log) each hour, up and
/// down in turn.
fn forecast(now: i64, hourly: f64) -> Box<Ewma> {
    let mut f = Ewma::new(0.9);
    for i in 0..48 {
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        f.observe(now - (49 - i) * HOUR, 100.0 * (sign * hourly).exp());
    }
    Box::new(f)
}

fn strategist(w: &World, f: Box<Ewma>) -> Strategist {
    Strategist {
        keys: w.keys,
        perp: w.markets[0],
        strategist: w.strategist.insecure_clone(),
        spec: StrategySpec { roll_hours: 24.0, ..StrategySpec::default() },
        forecast: f,
    }
}

/// Moves the clock to `t` (and a slot on), then the oracle, surfaces and caches to `spot`.
async fn at(w: &mut World, t: i64, spot: f64) {
    w.chain.set_time(t).await.expect("time");
    w.chain.warp_slots(1).await.expect("slot");
    w.set_spot(spot).await.expect("price");
}

/// The world after the strategist (calm forecast) sold its first strangle; and the time then.
async fn with_strangle_sold() -> (World, Strategist, i64) {
    let mut w = world().await;
    let now = w.chain.clock().await.unwrap().unix_timestamp;
    let mut s = strategist(&w, forecast(now, 0.004));
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    assert!(matches!(o, StrategyOutcome::Allocated { .. }), "{o:?}");
    (w, s, now)
}

async fn margin(w: &mut World) -> MarginAccount {
    w.chain.read(&keel_client::venue::margin_pda(&w.venue, &w.keys.vault)).await.expect("margin account")
}

async fn vault(w: &mut World) -> keel_vault::state::Vault {
    w.chain.read(&w.keys.vault).await.expect("vault")
}

async fn sequence(w: &mut World) -> u64 {
    vault(w).await.sequence
}

/// Open option legs: (market, size).
fn legs(m: &MarginAccount, w: &World) -> Vec<(Pubkey, i64)> {
    m.positions.iter().filter(|p| p.is_open() && p.market != w.markets[0]).map(|p| (p.market, p.size)).collect()
}

/// Checks the vault after an allocation: inside every mandate limit, health at the target within 2%.
async fn inside_the_mandate_at_target_health(w: &mut World, spec: &StrategySpec) {
    let view = VaultView::load(&mut w.chain, w.keys).await.expect("view");
    let p = view.portfolio().expect("portfolio");
    let excess = view.vault.config.mandate.mandate().excesses(&p).expect("excesses");
    assert!(excess.iter().all(|e| e.to_num::<f64>() == 0.0), "a mandate limit is exceeded: {excess:?}");
    let health = p.equity.to_num::<f64>() / p.maintenance.to_num::<f64>();
    assert!(
        (health - spec.target_health).abs() <= 0.02 * spec.target_health,
        "health {health} is not at the target {}",
        spec.target_health
    );
}

#[tokio::test]
async fn the_strategist_sells_rolls_and_holds_risk_when_told() {
    let mut w = world().await;
    let now = w.chain.clock().await.unwrap().unix_timestamp;
    let mut s = strategist(&w, forecast(now, 0.004));
    let spec = s.spec;

    // Risk-increasing work paused (unacknowledged alerts): nothing is sent.
    let start = sequence(&mut w).await;
    let o = s.cycle(&mut w.chain, false, true).await.expect("cycle");
    assert!(matches!(&o, StrategyOutcome::Held(why) if why.contains("paused")), "{o:?}");
    assert_eq!(sequence(&mut w).await, start, "a held cycle allocated");

    // Allowed: the projection is what the chain does, to the unit.
    let plan = s.plan(&mut w.chain, true, true).await.expect("plan").expect("a plan");
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    let StrategyOutcome::Allocated { closed, opened, hedge, margin: moved, sequence: seq, .. } = o.clone() else {
        panic!("{o:?}")
    };
    assert_eq!((closed, seq), (0, start + 1));
    assert_eq!(opened, plan.opened, "the cycle sent the plan");
    let (put, call) = (w.markets[1], w.markets[2]);
    assert_eq!(opened.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![put, call], "the only 7-day strangle");
    let lots = -opened[0].1;
    assert!(lots > 0 && opened[1].1 == -lots, "a short strangle, equal legs: {opened:?}");
    // Sized down from 1,000 units a leg (100% of NAV) by the mandate, not to nothing.
    assert!((keel_client::venue::LOT..1_000 * keel_client::venue::LOT).contains(&lots), "{lots}");
    assert!(moved > 0, "margin moved in to the target health: {moved}");
    assert_ne!(hedge, 0, "the strangle's delta was hedged");
    let chain_margin = margin(&mut w).await;
    assert_eq!(chain_margin.collateral, plan.projected_collateral, "projected collateral");
    assert_eq!(chain_margin.positions, plan.projected_positions, "projected positions (sizes, costs, funding)");
    inside_the_mandate_at_target_health(&mut w, &spec).await;

    // Live and outside the roll window: nothing to do, an hour later either.
    at(&mut w, now + HOUR, 100.3).await;
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    assert!(matches!(&o, StrategyOutcome::Idle(why) if why.contains("live")), "{o:?}");

    // Inside the roll window of the 7-day expiry, after a stormy day: the legs are bought back and the 14-day
    // strangle is sold at the wide strikes (the forecast now calls for them), hedged, margin at target.
    let expiry: Market = w.chain.read(&put).await.unwrap();
    let roll_at = expiry.config.expiry - 20 * HOUR;
    at(&mut w, roll_at, 100.0).await;
    for i in 0..24 {
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        s.forecast.observe(roll_at - (24 - i) * HOUR, 100.0 * (sign * 0.01f64).exp());
    }
    let vol = s.forecast.annual_vol().unwrap();
    assert!(vol > 1.5 && vol < 2.5, "a stormy forecast: {vol}");
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    let StrategyOutcome::Allocated { closed, opened, .. } = o.clone() else { panic!("{o:?}") };
    assert_eq!(closed, 2, "both 7-day legs bought back");
    let (wide_put, wide_call) = (w.markets[3], w.markets[6]);
    let index = |k: &Pubkey| w.markets.iter().position(|m| m == k);
    let sold: Vec<_> = opened.iter().map(|(k, _)| index(k)).collect();
    assert_eq!(sold, vec![index(&wide_put), index(&wide_call)], "market indices sold at vol {vol}: {o:?}");
    let m = margin(&mut w).await;
    assert_eq!(legs(&m, &w).len(), 2, "only the new strangle is held: {:?}", legs(&m, &w));
    inside_the_mandate_at_target_health(&mut w, &spec).await;

    // In calm the same listing gives the near strikes: the range sold narrows with expected volatility.
    let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
    let allowed: Vec<(Pubkey, &Market)> =
        w.markets[1..].iter().filter_map(|k| view.market(k).map(|m| (*k, m))).collect();
    let calm = choose(&allowed, &spec, roll_at, 100.0, 0.3).expect("a choice");
    assert_eq!((calm.put, calm.call), (w.markets[4], w.markets[5]), "{calm:?}");
    let stormy = choose(&allowed, &spec, roll_at, 100.0, vol).expect("a choice");
    assert!(stormy.ideal.0 < calm.ideal.0 && stormy.ideal.1 > calm.ideal.1);
}

#[tokio::test]
async fn a_roll_while_paused_still_buys_back_and_does_not_sell() {
    let (mut w, mut s, _) = with_strangle_sold().await;
    // Inside the roll window with risk-increasing work paused: the expiring legs are closed (that reduces risk)
    // and re-hedged; nothing new is sold.
    let put: Market = w.chain.read(&w.markets[1]).await.unwrap();
    at(&mut w, put.config.expiry - 10 * HOUR, 99.0).await;
    let o = s.cycle(&mut w.chain, false, true).await.expect("cycle");
    let StrategyOutcome::Allocated { closed, opened, .. } = o.clone() else { panic!("{o:?}") };
    assert_eq!((closed, opened.len()), (2, 0), "{o:?}");
    let m = margin(&mut w).await;
    assert!(legs(&m, &w).is_empty(), "no option is held: {:?}", legs(&m, &w));
    // The next cycle, still paused, reports what it holds back.
    let o = s.cycle(&mut w.chain, false, true).await.expect("cycle");
    assert!(matches!(&o, StrategyOutcome::Held(_)), "{o:?}");
}

/// The operator's keeper (`keel-keeper run`'s loop) with a `[vaults.strategy]` section: a kill switch raises an
/// alert; after it is lifted the strategist still holds its risk-increasing work until the operator acknowledges
/// (POST /ack), then sells the strangle. A keypair that is not the vault's strategist is refused at start.
#[tokio::test]
async fn the_operator_keeper_holds_the_strategy_until_alerts_are_acknowledged() {
    use keel_keeper::ops::alerts::Alerts;
    use keel_keeper::ops::config::KeeperConfig;
    use keel_keeper::ops::metrics::labels;
    use keel_keeper::ops::run::{reward_accounts, workers};
    use keel_keeper::ops::runner::{CycleOutcome, Keeper};
    use keel_keeper::ops::serve::Status;
    use solana_sdk::signature::Keypair;

    let mut w = world().await;
    let dir = std::env::temp_dir().join(format!("keel-strategist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("strategist.json");
    solana_sdk::signer::keypair::write_keypair_file(&w.strategist, &key_file).unwrap();
    let wrong_file = dir.join("wrong.json");
    solana_sdk::signer::keypair::write_keypair_file(&Keypair::new(), &wrong_file).unwrap();
    let deployment = w.deployment("embedded");
    let config = |key: &std::path::Path| {
        format!(
            "rpc_url = \"embedded\"\nkeypair = \"unused.json\"\ndeployment = \"unused.json\"\n[[vaults]]\nindex = 0\n\
             [vaults.strategy]\nstrategist_keypair = \"{}\"\n",
            key.display()
        )
    };
    let keeper = Keypair::new();
    let wrong = KeeperConfig::parse(&config(&wrong_file)).unwrap();
    let err = workers(&mut w.chain, &wrong, &deployment, &keeper).await.err().expect("a wrong strategist key");
    assert!(err.to_string().contains("the vault's strategist is"), "{err}");

    let cfg = KeeperConfig::parse(&config(&key_file)).unwrap();
    let ws = workers(&mut w.chain, &cfg, &deployment, &keeper).await.expect("workers");
    reward_accounts(&mut w.chain, &ws, false).await.expect("reward account");
    let kill = dir.join("stop");
    let mut k = Keeper::new(ws, std::sync::Arc::new(Status::new(30)), Alerts::new(None), kill.clone());
    let start = sequence(&mut w).await;
    std::fs::write(&kill, "operator drill\n").unwrap();
    let out = k.tick(&mut w.chain).await;
    assert!(matches!(out[0].1, CycleOutcome::Killed(_)) && k.strategy.is_empty(), "{out:?}");
    std::fs::remove_file(&kill).unwrap();
    k.tick(&mut w.chain).await;
    assert!(matches!(&k.strategy[..], [(0, StrategyOutcome::Held(_))]), "{:?}", k.strategy);
    assert_eq!(sequence(&mut w).await, start, "nothing allocated before the acknowledgement");
    let m = &k.status.metrics;
    assert_eq!(m.get("keel_keeper_unacknowledged_alerts", ""), 1.0);
    assert_eq!(k.status.respond("POST", "/ack", 0).0, 202);
    k.tick(&mut w.chain).await;
    assert!(matches!(&k.strategy[..], [(0, StrategyOutcome::Allocated { .. })]), "{:?}", k.strategy);
    assert_eq!(sequence(&mut w).await, start + 1);
    let m = &k.status.metrics;
    assert_eq!(m.get("keel_keeper_unacknowledged_alerts", ""), 0.0);
    for (outcome, n) in [("held", 1.0), ("allocated", 1.0)] {
        assert_eq!(m.get("keel_keeper_strategy_total", &labels(&[("vault", "0"), ("outcome", outcome)])), n);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A gamma breach (spot runs to the short put's strike) is not something the perp can cure: the rebalancing
/// keeper's trade construction (the QP across the allowed markets) buys options back and re-hedges, the program
/// accepts it as risk-reducing and pays the reward, and the book is inside the gamma limit again.
#[tokio::test]
async fn a_gamma_breach_is_cured_by_trade_construction() {
    let (mut w, _, now) = with_strangle_sold().await;
    // Spot falls to the put's strike over a few minutes: short gamma grows past the mandate's limit.
    let mut t = now;
    let mut gamma = 0.0;
    for spot in [98.0, 96.0, 94.5, 93.0, 92.0] {
        t += 60;
        at(&mut w, t, spot).await;
        let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
        gamma = view.portfolio().unwrap().gamma.to_num::<f64>();
    }
    let limit = 10.0; // keel_client::presets::vault_config: |gamma| <= 10
    assert!(gamma < -limit, "the move did not breach the gamma limit: {gamma}");
    let party = w.party(0).await.unwrap();
    let mut r = w.rebalancer(w.keys, &party.key, party.collateral);
    let before = sequence(&mut w).await;
    // Net option units held (negative: short).
    let perp = w.markets[0];
    let net =
        |m: &MarginAccount| m.positions.iter().filter(|p| p.is_open() && p.market != perp).map(|p| p.size).sum::<i64>();
    let options_before = net(&margin(&mut w).await);
    assert!(options_before < 0);
    let o = r.cycle(&mut w.chain).await.expect("cycle");
    let keel_keeper::rebalancer::Outcome::Rebalanced { reward, sequence: seq, .. } = o else { panic!("{o:?}") };
    assert!(reward > 0 && seq == before + 1, "{o:?}");
    let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
    let p = view.portfolio().unwrap();
    let excess = view.vault.config.mandate.mandate().excesses(&p).unwrap();
    assert!(excess[..3].iter().all(|e| e.to_num::<f64>() == 0.0), "delta, gamma, vega inside: {excess:?} {p:?}");
    let options_after = net(&margin(&mut w).await);
    assert!(options_after > options_before, "options were bought: {options_before} -> {options_after}");
}

/// Legs the strategist did not roll in time are settled at expiry through the venue's permissionless cranks
/// (market, then position), after which the vault's NAV can be read again and the next strangle is sold.
#[tokio::test]
async fn expired_legs_are_settled_and_the_next_strangle_sold() {
    let (mut w, mut s, _) = with_strangle_sold().await;
    let (put, call) = (w.markets[1], w.markets[2]);
    let expiry = w.chain.read::<Market>(&put).await.unwrap().config.expiry;
    // Half an hour after expiry (inside the settlement window) with spot between the strikes: both legs expire
    // worthless. Nothing has settled them yet.
    at(&mut w, expiry + 1800, 100.5).await;
    let before = margin(&mut w).await;
    assert_eq!(legs(&before, &w).iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![put, call]);
    // Paused: the crank still runs (it removes nothing but stale legs), nothing is sold.
    let o = s.cycle(&mut w.chain, false, true).await.expect("cycle");
    assert!(matches!(&o, StrategyOutcome::Held(_)), "{o:?}");
    for k in [put, call] {
        let m: Market = w.chain.read(&k).await.unwrap();
        assert!(m.book.is_settled(), "market {k} settled");
        assert_eq!(m.book.settlement_value.fx(), I80F48::ZERO, "out of the money at 100.5");
    }
    let after = margin(&mut w).await;
    assert!(legs(&after, &w).is_empty(), "positions settled: {:?}", legs(&after, &w));
    // Short options expiring worthless: the premium was already collected, so settling costs the vault nothing.
    assert!(after.collateral >= before.collateral, "{} -> {}", before.collateral, after.collateral);
    let view = VaultView::load(&mut w.chain, w.keys).await.expect("view");
    assert!(view.portfolio().is_ok(), "NAV readable after settlement");
    // Allowed again: the 14-day strangle is sold.
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    let StrategyOutcome::Allocated { closed, opened, .. } = o.clone() else { panic!("{o:?}") };
    assert_eq!(closed, 0, "nothing left to buy back");
    let index = |k: &Pubkey| w.markets.iter().position(|m| m == k).unwrap();
    assert!(opened.len() == 2 && opened.iter().all(|(k, _)| index(k) >= 3), "the 14-day expiry: {opened:?}");
}

/// With `lp_idle_buffer`, idle above the mandate's floor plus the buffer goes into the venue's LP pool in the
/// allocation that sells the strangle, the projection equal to the chain (margin account, idle, LP shares). The
/// keeper values the stake as the program does (a deposit is priced to the unit), puts the deposit's surplus in
/// too, brings liquidity back out when the buffer is raised, and a rebalancing keeper still cures a breach.
#[tokio::test]
async fn with_an_lp_buffer_the_surplus_earns_in_the_pool_and_comes_back_out() {
    let mut w = world().await;
    let now = w.chain.clock().await.unwrap().unix_timestamp;
    let mut s = strategist(&w, forecast(now, 0.004));
    s.spec.lp_idle_buffer = Some(0.05);
    let spec = s.spec;
    let plan = s.plan(&mut w.chain, true, true).await.expect("plan").expect("a plan");
    assert!(plan.lp_in > 0 && plan.lp_out == 0 && plan.opened.len() == 2, "{plan:?}");
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    let StrategyOutcome::Allocated { opened, lp_in, lp_out, .. } = o.clone() else { panic!("{o:?}") };
    assert_eq!((&opened, lp_in, lp_out), (&plan.opened, plan.lp_in, 0), "the cycle sent the plan");
    let m = margin(&mut w).await;
    assert_eq!((m.collateral, m.positions), (plan.projected_collateral, plan.projected_positions));
    let v = vault(&mut w).await;
    assert_eq!((v.idle_assets, v.lp_shares_held), (plan.projected_idle, plan.projected_lp_shares));
    assert!(v.lp_shares_held > 0);
    inside_the_mandate_at_target_health(&mut w, &spec).await;
    let idle_share = |v: &VaultView| {
        let nav = v.portfolio().unwrap().nav.to_num::<f64>();
        v.vault.idle_assets as f64 / nav
    };
    let view = VaultView::load(&mut w.chain, w.keys).await.expect("view with the stake");
    assert!((idle_share(&view) - 0.15).abs() < 0.01, "idle at the 10% floor + 5%: {}", idle_share(&view));
    let stake = view.holdings().unwrap().lp.expect("an LP stake");
    assert!(stake.lower > I80F48::ZERO && stake.lower <= stake.upper);
    let exposure = stake.exposure.expect("the keeper reads the stake with its exposure");
    assert!(exposure.sums.gross_qty > I80F48::ZERO, "the pool holds positions");
    assert!(exposure.scenarios.iter().any(|s| *s != I80F48::ZERO), "the pool's positions carry scenario risk");
    // A stake read for NAV alone (as deposits and withdrawals read it) is refused by the measure, not taken as riskless.
    let mut nav_only = view.holdings().unwrap();
    nav_only.lp.as_mut().expect("the stake").exposure = None;
    let refused = nav_only.portfolio(&view.vault, &view.venue, view.price.price).map(|_| ()).unwrap_err();
    assert!(refused.to_string().contains("MissingMarketAccount"), "{refused}");

    // A deposit with the stake held: priced by the program at the NAV the keeper computes (rounding < 1 unit).
    let audit = w.deposit(&[5_000 * USDC]).await.expect("deposit");
    assert!(audit[0].within_bound && audit[0].rounding_units < 1.0, "{:?}", audit[0]);
    // Its surplus goes to the pool on the next cycle, with nothing else to do.
    let before = vault(&mut w).await.lp_shares_held;
    let o = s.cycle(&mut w.chain, true, true).await.expect("cycle");
    let StrategyOutcome::Allocated { closed: 0, ref opened, hedge: 0, lp_in, lp_out: 0, .. } = o else {
        panic!("{o:?}")
    };
    assert!(opened.is_empty() && lp_in > 4_000 * USDC, "{o:?}");
    assert!(vault(&mut w).await.lp_shares_held > before);

    // A larger buffer: liquidity comes back out (redeeming is not risk-increasing, so even while paused).
    s.spec.lp_idle_buffer = Some(0.3);
    let o = s.cycle(&mut w.chain, false, true).await.expect("cycle");
    let StrategyOutcome::Allocated { lp_in: 0, lp_out, .. } = o else { panic!("{o:?}") };
    assert!(lp_out > 0);
    let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
    assert!((idle_share(&view) - 0.4).abs() < 0.01, "idle at the 10% floor + 30%: {}", idle_share(&view));

    // Spot runs to the put's strike: the rebalancing keeper passes every venue market (the stake's valuation needs
    // them), and the program accepts and rewards its cure.
    let mut t = now;
    for spot in [98.0, 96.0, 94.5, 93.0, 92.0] {
        t += 60;
        at(&mut w, t, spot).await;
    }
    let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
    let excess = view.vault.config.mandate.mandate().excesses(&view.portfolio().unwrap()).unwrap();
    assert!(excess[..3].iter().any(|e| *e > I80F48::ZERO), "the move breached delta, gamma or vega: {excess:?}");
    let party = w.party(0).await.unwrap();
    let mut r = w.rebalancer(w.keys, &party.key, party.collateral);
    let o = r.cycle(&mut w.chain).await.expect("cycle");
    assert!(matches!(o, keel_keeper::rebalancer::Outcome::Rebalanced { reward, .. } if reward > 0), "{o:?}");
    let view = VaultView::load(&mut w.chain, w.keys).await.unwrap();
    let excess = view.vault.config.mandate.mandate().excesses(&view.portfolio().unwrap()).unwrap();
    assert!(excess[..3].iter().all(|e| *e == I80F48::ZERO), "delta, gamma, vega inside: {excess:?}");
}
