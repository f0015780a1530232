//! Alerts for the human in the loop: logged (tracing, warn) and, when configured, POSTed as JSON to a webhook.
//! An alert is raised when its condition starts and cleared when it ends, so a condition that lasts an hour is
//! one alert, not one per cycle. A webhook failure is logged and never stops the keeper.
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The kill switch engaged (by file, signal or repeated failures): nothing is sent until it is removed.
    KillSwitch,
    /// A vault's oracle circuit breaker tripped (the price left its EMA band).
    CircuitBreaker,
    /// A vault's venue health fell below the configured warning level.
    HealthLow,
    /// Cycles keep failing (errors or refusals the keeper did not predict).
    TransactionsFailing,
    /// The vault is paused by its guardian.
    Paused,
}

impl AlertKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertKind::KillSwitch => "kill_switch",
            AlertKind::CircuitBreaker => "circuit_breaker",
            AlertKind::HealthLow => "health_low",
            AlertKind::TransactionsFailing => "transactions_failing",
            AlertKind::Paused => "paused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub vault: Option<u16>,
    pub message: String,
    /// Unix time.
    pub at: i64,
}

#[derive(Default)]
pub struct Alerts {
    webhook: Option<(String, reqwest::Client)>,
    active: BTreeSet<(AlertKind, Option<u16>)>,
    /// Every alert raised in this process, oldest first (bounded to the last 1,000).
    pub raised: Vec<Alert>,
    /// Alerts raised per kind since start (unbounded; exported as keel_keeper_alerts_total).
    pub counts: std::collections::BTreeMap<AlertKind, u64>,
    /// Alerts raised since the operator last acknowledged (bounded to the last 100). While any is here the
    /// keeper does no risk-increasing work: risk-reducing work (rebalances, buying back expiring legs) goes on.
    unacknowledged: Vec<Alert>,
}

impl Alerts {
    pub fn new(webhook: Option<String>) -> Self {
        let webhook = webhook.map(|url| {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new());
            (url, client)
        });
        Self { webhook, ..Self::default() }
    }

    pub fn is_active(&self, kind: AlertKind, vault: Option<u16>) -> bool {
        self.active.contains(&(kind, vault))
    }

    /// Raises `kind` for `vault` unless it is already active; true when this call raised it.
    pub fn raise(&mut self, kind: AlertKind, vault: Option<u16>, message: String, at: i64) -> bool {
        if !self.active.insert((kind, vault)) {
            return false;
        }
        tracing::warn!(alert = kind.as_str(), vault = ?vault, "{message}");
        *self.counts.entry(kind).or_insert(0) += 1;
        let alert = Alert { kind, vault, message, at };
        if let Some((url, client)) = &self.webhook {
            let (url, client, body) = (url.clone(), client.clone(), alert.clone());
            // Off the keeper's path: a slow or failing webhook must not delay a rebalance.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => tracing::warn!("alert webhook answered {}", r.status()),
                        Err(e) => tracing::warn!("alert webhook failed: {e}"),
                    }
                });
            }
        }
        if self.unacknowledged.len() >= 100 {
            self.unacknowledged.remove(0);
        }
        self.unacknowledged.push(alert.clone());
        if self.raised.len() >= 1_000 {
            self.raised.remove(0);
        }
        self.raised.push(alert);
        true
    }

    /// Alerts raised since the last acknowledgement, oldest first.
    pub fn unacknowledged(&self) -> &[Alert] {
        &self.unacknowledged
    }

    /// The operator has seen them: risk-increasing work may resume. Returns how many were acknowledged. A
    /// condition still active stays active (it is not raised again until it clears and recurs).
    pub fn acknowledge(&mut self) -> usize {
        let n = self.unacknowledged.len();
        if n > 0 {
            tracing::info!(alerts = n, "alerts acknowledged by the operator");
        }
        self.unacknowledged.clear();
        n
    }

    /// The condition ended; the next occurrence raises a new alert.
    pub fn clear(&mut self, kind: AlertKind, vault: Option<u16>) {
        if self.active.remove(&(kind, vault)) {
            tracing::info!(alert = kind.as_str(), vault = ?vault, "cleared");
        }
    }

    /// Raise while `on`, clear otherwise.
    pub fn set(&mut self, kind: AlertKind, vault: Option<u16>, on: bool, message: impl FnOnce() -> String, at: i64) {
        if on {
            self.raise(kind, vault, message(), at);
        } else {
            self.clear(kind, vault);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lasting_condition_is_one_alert_until_it_clears() {
        let mut a = Alerts::new(None);
        assert!(a.raise(AlertKind::HealthLow, Some(0), "health 1.2".into(), 1));
        assert!(!a.raise(AlertKind::HealthLow, Some(0), "health 1.1".into(), 2), "still active: not raised again");
        assert!(a.raise(AlertKind::HealthLow, Some(1), "another vault".into(), 2));
        a.clear(AlertKind::HealthLow, Some(0));
        assert!(a.raise(AlertKind::HealthLow, Some(0), "again".into(), 3));
        assert_eq!(a.raised.len(), 3);
        assert_eq!(a.counts[&AlertKind::HealthLow], 3);
        assert_eq!(a.unacknowledged().len(), 3);
        assert_eq!(a.acknowledge(), 3);
        assert!(a.unacknowledged().is_empty());
        assert!(!a.raise(AlertKind::HealthLow, Some(0), "still on".into(), 4), "acknowledged, still active");
        assert!(a.unacknowledged().is_empty(), "an active condition is not raised again by acknowledging it");
        let json = serde_json::to_string(&a.raised[0]).unwrap();
        assert_eq!(json, r#"{"kind":"health_low","vault":0,"message":"health 1.2","at":1}"#);
    }

    #[tokio::test]
    async fn the_webhook_receives_the_alert_as_json() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let mut a = Alerts::new(Some(url));
        a.raise(AlertKind::KillSwitch, None, "engaged".into(), 7);
        let (mut s, _) =
            tokio::time::timeout(std::time::Duration::from_secs(10), listener.accept()).await.unwrap().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = String::new();
        while !got.contains("\"at\":7") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the body: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(got.starts_with("POST /hook"), "{got}");
        assert!(got.contains(r#"{"kind":"kill_switch","vault":null,"message":"engaged","at":7}"#), "{got}");
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    }
}
