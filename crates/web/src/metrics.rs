//! Prometheus metrics without a global registry, so several servers can live in one test
//! process. Requests are counted and timed by route template (`/api/v1/contacts/{id}`), never
//! by raw path, which could carry ids or phone numbers.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    counters: BTreeMap<(&'static str, String), u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.with(|m| {
            *m.requests.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
            let h = m.latency.entry((route.to_owned(), method.to_owned())).or_default();
            for (i, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    h.buckets[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        });
    }

    /// Increments a named counter, e.g. `switchboard_webhooks_total{result="accepted"}`.
    pub fn inc(&self, name: &'static str, labels: &str) {
        self.with(|m| *m.counters.entry((name, labels.to_owned())).or_default() += 1);
    }

    /// The text exposition format; `extra` is appended (gauges computed at scrape time).
    #[must_use]
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str(
                "# HELP switchboard_http_requests_total HTTP requests by route template, method and status.\n",
            );
            out.push_str("# TYPE switchboard_http_requests_total counter\n");
            for ((route, method, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "switchboard_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
            out.push_str("# HELP switchboard_http_request_duration_seconds Time to answer, by route template.\n");
            out.push_str("# TYPE switchboard_http_request_duration_seconds histogram\n");
            for ((route, method), h) in &m.latency {
                let labels = format!("route=\"{route}\",method=\"{method}\"");
                for (i, le) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "switchboard_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                        h.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "switchboard_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "switchboard_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "switchboard_http_request_duration_seconds_count{{{labels}}} {}", h.count);
            }
            let mut last = "";
            for ((name, labels), n) in &m.counters {
                if *name != last {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = writeln!(out, "{name}{{{labels}}} {n}");
            }
        });
        out.push_str(extra);
        out
    }
}

pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    state.metrics.observe(&route, &method, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}
