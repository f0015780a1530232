//! The operator's endpoint: `GET /metrics` (Prometheus), `GET /health` (the loop is alive: it completed a cycle
//! recently) and `GET /ready` (it can do its work: connected, deployment loaded, kill switch off). A minimal
//! HTTP/1.1 responder on a tokio listener; requests are tiny and the answers are computed from [`Status`].
use super::metrics::Metrics;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Status {
    pub metrics: Metrics,
    /// Unix time of the last completed cycle (0 = none yet).
    heartbeat: AtomicI64,
    /// Why the keeper is not ready (None = ready).
    not_ready: Mutex<Option<String>>,
    /// /health fails when no cycle completed for this long (seconds).
    pub stale_after: i64,
    /// `POST /ack` sets it; the keeper acknowledges its alerts at the next tick.
    ack: AtomicBool,
}

impl Status {
    pub fn new(stale_after: i64) -> Self {
        Self {
            metrics: Metrics::default(),
            heartbeat: AtomicI64::new(0),
            not_ready: Mutex::new(Some("starting".into())),
            stale_after,
            ack: AtomicBool::new(false),
        }
    }

    pub fn beat(&self, now: i64) {
        self.heartbeat.store(now, Ordering::Relaxed);
    }

    pub fn set_ready(&self, why_not: Option<String>) {
        *self.not_ready.lock().unwrap_or_else(|p| p.into_inner()) = why_not;
    }

    /// Whether the operator acknowledged the alerts since the last call (`POST /ack`).
    pub fn take_ack(&self) -> bool {
        self.ack.swap(false, Ordering::Relaxed)
    }

    /// Status code, content type and body for `method path` at unix time `now`.
    pub fn respond(&self, method: &str, path: &str, now: i64) -> (u16, &'static str, String) {
        const TEXT: &str = "text/plain; charset=utf-8";
        if (method, path) == ("POST", "/ack") {
            self.ack.store(true, Ordering::Relaxed);
            return (202, TEXT, "alerts will be acknowledged at the next tick; risk-increasing work resumes\n".into());
        }
        if method != "GET" {
            return (405, TEXT, "only GET is served (and POST /ack)\n".into());
        }
        match path {
            "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", self.metrics.render()),
            "/health" => {
                let last = self.heartbeat.load(Ordering::Relaxed);
                let age = now - last;
                if last > 0 && age <= self.stale_after {
                    (200, TEXT, format!("ok: last cycle {age} s ago\n"))
                } else if last == 0 {
                    (503, TEXT, "no cycle completed yet\n".into())
                } else {
                    (503, TEXT, format!("stale: last cycle {age} s ago (limit {} s)\n", self.stale_after))
                }
            }
            "/ready" => match self.not_ready.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                None => (200, TEXT, "ready\n".into()),
                Some(why) => (503, TEXT, format!("not ready: {why}\n")),
            },
            _ => (404, TEXT, "try /metrics, /health, /ready (or POST /ack)\n".into()),
        }
    }
}

/// The host's unix time (what /health and alert timestamps use; decisions use the cluster's clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Serves until the task is dropped; one short-lived task per connection.
pub async fn serve(listener: TcpListener, status: Arc<Status>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let status = status.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            // Read the request head (bounded): the request line is all we route on.
            while len < buf.len() {
                match tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf[len..])).await {
                    Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => len += n,
                }
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let mut parts = head.lines().next().unwrap_or("").split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (code, kind, body) = status.respond(method, path, unix_now());
            let reason = match code {
                200 => "OK",
                202 => "Accepted",
                404 => "Not Found",
                405 => "Method Not Allowed",
                _ => "Service Unavailable",
            };
            let reply = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_the_heartbeat_and_ready_follows_the_reason() {
        let s = Status::new(30);
        assert_eq!(s.respond("GET", "/health", 100).0, 503, "no cycle yet");
        s.beat(100);
        assert_eq!(s.respond("GET", "/health", 120).0, 200);
        let (code, _, body) = s.respond("GET", "/health", 131);
        assert_eq!(code, 503);
        assert!(body.contains("stale"), "{body}");
        assert!(s.respond("GET", "/ready", 0).2.contains("starting"));
        s.set_ready(None);
        assert_eq!(s.respond("GET", "/ready", 0).0, 200);
        s.set_ready(Some("kill switch engaged".into()));
        assert_eq!(
            s.respond("GET", "/ready", 0),
            (503, "text/plain; charset=utf-8", "not ready: kill switch engaged\n".into())
        );
        assert_eq!(s.respond("POST", "/ready", 0).0, 405);
        assert!(!s.take_ack());
        assert_eq!(s.respond("POST", "/ack", 0).0, 202);
        assert!(s.take_ack() && !s.take_ack(), "one acknowledgement, taken once");
        assert_eq!(s.respond("GET", "/", 0).0, 404);
    }

    #[tokio::test]
    async fn serves_metrics_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(Status::new(30));
        status.metrics.set("keel_keeper_kill_switch", String::new(), 0.0);
        let server = tokio::spawn(serve(listener, status));
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.contains("keel_keeper_kill_switch 0\n"), "{reply}");
        server.abort();
    }
}
