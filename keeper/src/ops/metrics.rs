//! Prometheus metrics in the text exposition format (version 0.0.4), kept in one small registry so the keeper
//! needs no metrics framework: counters and gauges keyed by name and label set, rendered on each scrape.
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Every series the keeper exports: name, type, help. Rendering only emits these, so a typo in a name panics in
/// tests instead of exporting a series nobody documented.
pub const SERIES: &[(&str, &str, &str)] = &[
    (
        "keel_keeper_cycles_total",
        "counter",
        "Keeper cycles per vault and outcome (rebalanced, idle, lost_race, rejected, error, dry_run, killed).",
    ),
    ("keel_keeper_rebalanced_lots_total", "counter", "Absolute perp lots traded by this keeper's rebalances."),
    ("keel_keeper_rewards_total", "counter", "Rewards received, in collateral base units."),
    (
        "keel_keeper_consecutive_failures",
        "gauge",
        "Failed cycles in a row (errors and refusals the prediction missed).",
    ),
    ("keel_keeper_kill_switch", "gauge", "1 while the kill switch is engaged (nothing is sent)."),
    ("keel_keeper_vault_delta", "gauge", "The vault's delta (underlying units) after the last cycle."),
    ("keel_keeper_vault_health", "gauge", "The vault's venue health (equity / maintenance) after the last cycle."),
    ("keel_keeper_vault_sequence", "gauge", "The vault's rebalance sequence after the last cycle."),
    ("keel_keeper_last_cycle_timestamp_seconds", "gauge", "Unix time of the last completed cycle."),
    ("keel_keeper_alerts_total", "counter", "Alerts raised, by kind."),
    ("keel_keeper_unacknowledged_alerts", "gauge", "Alerts raised since the operator last acknowledged (POST /ack)."),
    ("keel_keeper_strategy_total", "counter", "Strategist cycles by vault and outcome."),
];

#[derive(Default)]
pub struct Metrics {
    values: Mutex<BTreeMap<(&'static str, String), f64>>,
}

fn known(name: &'static str) -> &'static str {
    assert!(SERIES.iter().any(|(n, _, _)| *n == name), "undeclared metric {name}");
    name
}

/// `{a="x",b="y"}` from label pairs (values escaped as the format requires).
pub fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    pub fn add(&self, name: &'static str, labels: String, by: f64) {
        let mut v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        *v.entry((known(name), labels)).or_insert(0.0) += by;
    }

    pub fn set(&self, name: &'static str, labels: String, value: f64) {
        let mut v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        v.insert((known(name), labels), value);
    }

    pub fn get(&self, name: &'static str, labels: &str) -> f64 {
        let v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        v.get(&(name, labels.to_string())).copied().unwrap_or(0.0)
    }

    /// The exposition text: HELP and TYPE for every declared series that has a value, then its samples.
    pub fn render(&self) -> String {
        let v = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, kind, help) in SERIES {
            let samples: Vec<_> = v.iter().filter(|((n, _), _)| n == name).collect();
            if samples.is_empty() {
                continue;
            }
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for ((_, l), value) in samples {
                out.push_str(&format!("{name}{l} {value}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_exposition_format() {
        let m = Metrics::default();
        m.add("keel_keeper_cycles_total", labels(&[("vault", "0"), ("outcome", "idle")]), 1.0);
        m.add("keel_keeper_cycles_total", labels(&[("vault", "0"), ("outcome", "idle")]), 1.0);
        m.set("keel_keeper_kill_switch", String::new(), 1.0);
        let text = m.render();
        assert!(text.contains("# TYPE keel_keeper_cycles_total counter\n"), "{text}");
        assert!(text.contains("keel_keeper_cycles_total{vault=\"0\",outcome=\"idle\"} 2\n"), "{text}");
        assert!(text.contains("keel_keeper_kill_switch 1\n"), "{text}");
        assert!(!text.contains("keel_keeper_rewards_total"), "series without values are not rendered");
        assert_eq!(labels(&[("why", "a \"b\"\n")]), "{why=\"a \\\"b\\\"\\n\"}");
    }

    #[test]
    #[should_panic(expected = "undeclared metric")]
    fn an_undeclared_series_is_a_bug() {
        Metrics::default().add("keel_keeper_typo", String::new(), 1.0);
    }
}
