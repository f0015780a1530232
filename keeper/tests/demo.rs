//! The embedded demo in short mode: the whole system runs, the keeper rebalances and is paid, the withdrawal
//! queue pays out, the crash trips the breaker, and every token reconciles.
use keel_keeper::demo::{crash_path, run, DemoConfig};

#[tokio::test]
async fn short_demo_runs_end_to_end_and_reconciles() {
    let cfg = DemoConfig { hours: 36, ..DemoConfig::default() };
    let path = crash_path(&cfg);
    assert_eq!(path.len(), 36);
    assert!(path[20] < path[11] * 0.9, "the path crashes after the calm third");
    let mut seen = 0;
    let report = run(cfg, |_| seen += 1).await.expect("demo runs");
    assert_eq!(seen, 36);
    assert!(report.reconciled, "venue and vault token balances reconcile");
    assert!(report.rebalances >= 1 && report.rewards_usdc > 0.0, "{report:?}");
    assert!(report.breaker_hours >= 1, "the crash trips the circuit breaker");
    assert!(report.withdrawal_paid_usdc > 9_900.0 && report.withdrawal_paid_usdc <= 10_000.0);
    // Every keeper outcome is an expected one: no transaction the program rejected.
    assert!(report.steps.iter().all(|s| !s.outcome.starts_with("rejected")), "{:#?}", report.steps);
    // No depositor loses tokens to rounding beyond the documented bound (docs/math.md): the three deposits, the
    // request and the claim, each against exact pro rata at the NAV it was priced at.
    let ops: Vec<&str> = report.share_ops.iter().map(|o| o.operation.as_str()).collect();
    assert_eq!(
        ops,
        [
            "deposit by depositor 1",
            "deposit by depositor 2",
            "deposit by depositor 3",
            "withdrawal request",
            "withdrawal claim (value now)"
        ]
    );
    assert!(report.share_ops.iter().all(|o| o.within_bound && o.bound_units <= 2), "{:#?}", report.share_ops);
    assert!(report.max_rounding_units < 1.0 && report.max_shortfall_units < 2.0, "{:#?}", report.share_ops);
    // The request's value is what the shares were worth then; the claim, after the crash, pays the smaller value now.
    let (request, claim) = (&report.share_ops[3], &report.share_ops[4]);
    assert_eq!(request.shares, claim.shares);
    assert_eq!(report.withdrawal_paid_usdc, claim.amount.min(request.amount) as f64 / 1e6);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"rebalances\""));
    // The live view's columns are real: the band is the mandate's, health and VaR are finite and positive, and the
    // withdrawal request, the claim and the breaker appear as events.
    assert!(report.steps.iter().all(|s| s.band > 0.0 && s.health > 1.0 && s.var_fraction > 0.0), "{:#?}", report.steps);
    let events: Vec<&String> = report.steps.iter().flat_map(|s| &s.events).collect();
    assert!(events.iter().any(|e| e.starts_with("depositor 3 asks to withdraw")), "{events:?}");
    assert!(events.iter().any(|e| e.starts_with("withdrawal claimed")), "{events:?}");
    assert!(events.iter().any(|e| *e == "circuit breaker tripped"), "{events:?}");
    // The HTML report: four plots and the event log.
    let dir = std::env::temp_dir().join(format!("keel-demo-test-{}", std::process::id()));
    let html = keel_keeper::demo::report::write_html(&report, &dir).unwrap();
    let text = std::fs::read_to_string(&html).unwrap();
    assert_eq!(text.matches("<svg").count(), 4);
    assert!(text.contains("withdrawal claimed") && text.contains("reconciled: <b>true</b>"));
    assert_eq!(text.matches("<td>withdrawal request</td>").count(), 1, "the rounding audit table");
    // Each chart also stands alone (the README's pictures are regenerated from these files).
    for name in keel_keeper::demo::report::CHART_FILES {
        let chart = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(chart.starts_with("<svg") && text.contains(&chart), "{name} is the report's own chart");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_reads_real_closes_and_refuses_too_many_hours() {
    use keel_keeper::demo::replay_closes;
    use keel_keeper::market_data::shared_data_dir;
    let csv = shared_data_dir().join("prices/SOLUSDT_1h_binance_spot.csv");
    let (closes, gaps) = replay_closes(&csv, "2022-11-05T00:00:00Z", 24).unwrap();
    assert_eq!((closes.len(), gaps), (24, 0));
    assert_eq!(closes[0], 34.92, "the 2022-11-05 00:00 close in the data set");
    let err = replay_closes(&csv, "2026-01-06T00:00:00Z", 100).unwrap_err().to_string();
    assert!(err.contains("ask for fewer --hours"), "{err}");
    assert!(replay_closes(&csv, "yesterday", 1).unwrap_err().to_string().contains("RFC 3339"));
}

#[tokio::test]
async fn several_vaults_share_the_venue_one_keeper_serves_them_all_and_every_token_reconciles() {
    let cfg = DemoConfig { hours: 30, vaults: 3, ..DemoConfig::default() };
    let report = run(cfg, |_| {}).await.expect("demo runs");
    assert_eq!(report.vaults, 3);
    assert_eq!(report.deposited_usdc, 300_000.0);
    assert!(report.steps.iter().all(|s| s.vault_navs.len() == 3), "one NAV per vault every hour");
    // Vaults 1 and 2 are built identically (vault 0 also has the leaving depositor) and run the same book through the
    // same crash: their NAVs stay within 1% (they trade one after the other, so fills differ slightly).
    let last = &report.steps.last().unwrap().vault_navs;
    assert!((last[1] - last[2]).abs() < 0.01 * last[1], "{last:?}");
    // The keeper cycled each vault each hour: one outcome per vault in every step.
    assert!(report.steps.iter().all(|s| s.outcome.matches("vault ").count() == 3), "{:?}", report.steps[0].outcome);
    assert!(report.reconciled, "venue tokens = pool + every vault's margin; each vault's idle matches");
    assert_eq!(
        report.share_ops.len(),
        3 * 3 + 1,
        "every vault's deposits, then vault 0's request (30 hours end before its claim)"
    );
    assert!(report.share_ops.iter().all(|o| o.within_bound), "{:#?}", report.share_ops);
    assert!(report.steps.iter().all(|s| !s.outcome.contains("rejected")));
}
