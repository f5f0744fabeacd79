//! Delivering webhooks the way Meta does: verify the endpoint first (GET handshake), then POST
//! each body — serialised once, non-ASCII escaped, signed over those exact bytes — and retry
//! anything but HTTP 200 on a backoff schedule. Deliveries run concurrently, each with its own
//! retry timeline, and every attempt is recorded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Url;
use serde::Serialize;
use serde_json::{Value, json};
use switchboard_channels::whatsapp::signature;
use tokio::sync::Semaphore;

use crate::escape::ascii_json;
use crate::state::Shared;
use crate::util::{lock, now_ms};

/// Delivery records kept for `GET /_sim/deliveries`; older ones are forgotten (totals stay).
const MAX_RECORDS: usize = 200_000;
/// Bodies are kept only for the newest records: a benchmark creates hundreds of thousands.
const BODIES_KEPT: u64 = 2_000;
const REGISTRATIONS_KEPT: usize = 100;
/// Concurrent POSTs in flight; Meta delivers concurrently too.
const MAX_IN_FLIGHT: usize = 256;
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// A failed handshake is reused for this long instead of hammering a dead endpoint once per
/// pending delivery.
const HANDSHAKE_BACKOFF: Duration = Duration::from_secs(1);
const DEFAULT_INTERVAL_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryTotals {
    pub created: u64,
    pub delivered: u64,
    pub pending: u64,
    pub abandoned: u64,
    pub attempts: u64,
    pub failed_attempts: u64,
}

/// The result of one GET handshake against the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterOutcome {
    pub url: String,
    pub registered: bool,
    pub status: Option<u16>,
    pub challenge_echoed: bool,
    pub error: Option<String>,
    pub at_ms: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Pending,
    Delivered,
    Abandoned,
}

#[derive(Clone, Serialize)]
struct Attempt {
    at_ms: i64,
    status: Option<u16>,
    error: Option<String>,
}

struct Record {
    id: u64,
    kind: String,
    created_ms: i64,
    state: State,
    attempts: Vec<Attempt>,
    body: Option<Bytes>,
}

struct Log {
    /// Id of `records[0]`.
    base: u64,
    records: VecDeque<Record>,
    totals: DeliveryTotals,
    registrations: VecDeque<RegisterOutcome>,
}

struct Verified {
    url: Option<String>,
    last_failure: Option<(String, Instant, String)>,
}

pub(crate) struct Webhooks {
    log: std::sync::Mutex<Log>,
    verified: std::sync::Mutex<Verified>,
    /// Serialises handshakes so a burst of deliveries triggers one, not one each.
    handshake: tokio::sync::Mutex<()>,
    http: reqwest::Client,
    slots: Semaphore,
}

impl Webhooks {
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            log: std::sync::Mutex::new(Log {
                base: 0,
                records: VecDeque::new(),
                totals: DeliveryTotals::default(),
                registrations: VecDeque::new(),
            }),
            verified: std::sync::Mutex::new(Verified { url: None, last_failure: None }),
            handshake: tokio::sync::Mutex::new(()),
            http: reqwest::Client::builder()
                .timeout(POST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("facebookexternalua")
                .build()?,
            slots: Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    pub(crate) fn totals(&self) -> DeliveryTotals {
        lock(&self.log).totals
    }

    /// Forgets the verified URL, e.g. after the webhook URL changed.
    pub(crate) fn unverify(&self) {
        let mut v = lock(&self.verified);
        v.url = None;
        v.last_failure = None;
    }

    /// Records with id ≥ `since`, newest last, as JSON.
    pub(crate) fn list(&self, since: u64, limit: usize, with_body: bool) -> Value {
        let log = lock(&self.log);
        let start = usize::try_from(since.saturating_sub(log.base)).unwrap_or(usize::MAX);
        let items: Vec<Value> = log
            .records
            .iter()
            .skip(start)
            .take(limit)
            .map(|r| {
                let mut item = json!({
                    "id": r.id,
                    "kind": r.kind,
                    "state": r.state,
                    "created_at_ms": r.created_ms,
                    "attempts": r.attempts,
                });
                if with_body && let Some(body) = &r.body {
                    item["body"] = json!(String::from_utf8_lossy(body));
                }
                item
            })
            .collect();
        let next = items.last().and_then(|i| i["id"].as_u64()).map_or(since.max(log.base), |id| id + 1);
        json!({
            "totals": log.totals,
            "registrations": log.registrations,
            "deliveries": items,
            "next_since": next,
        })
    }
}

/// Serialises, signs and schedules one webhook. `kind` labels it in the delivery log
/// (`messages`, `statuses.sent`, `message_template_status_update`, …).
pub(crate) fn enqueue(shared: &Arc<Shared>, kind: &str, payload: &Value) {
    let body = Bytes::from(ascii_json(payload));
    let signature = signature::sign(shared.app_secret.as_bytes(), &body);
    let id = {
        let mut log = lock(&shared.webhooks.log);
        let id = log.base + log.records.len() as u64;
        log.records.push_back(Record {
            id,
            kind: kind.to_owned(),
            created_ms: now_ms(),
            state: State::Pending,
            attempts: Vec::new(),
            body: Some(body.clone()),
        });
        if let Some(old) = id.checked_sub(BODIES_KEPT)
            && let Some(r) = record_mut(&mut log, old)
        {
            r.body = None;
        }
        if log.records.len() > MAX_RECORDS {
            log.records.pop_front();
            log.base += 1;
        }
        log.totals.created += 1;
        log.totals.pending += 1;
        id
    };
    tracing::debug!(delivery = id, kind, "webhook queued");
    tokio::spawn(run(shared.clone(), id, body, signature));
}

fn record_mut(log: &mut Log, id: u64) -> Option<&mut Record> {
    let index = usize::try_from(id.checked_sub(log.base)?).ok()?;
    log.records.get_mut(index)
}

async fn run(shared: Arc<Shared>, id: u64, body: Bytes, signature: String) {
    let created = Instant::now();
    for attempt in 0.. {
        let (wait, max_age) = {
            let t = lock(&shared.tunables);
            let wait =
                t.retry_schedule_ms.get(attempt).or(t.retry_schedule_ms.last()).copied().unwrap_or(DEFAULT_INTERVAL_MS);
            (Duration::from_millis(wait), Duration::from_millis(t.max_retry_age_ms))
        };
        if attempt > 0 && created.elapsed() + wait > max_age {
            finish(&shared, id, State::Abandoned);
            tracing::debug!(delivery = id, "webhook abandoned");
            return;
        }
        let outcome = tokio::select! {
            () = shared.cancel.cancelled() => return,
            outcome = async {
                tokio::time::sleep(wait).await;
                attempt_once(&shared, &body, &signature).await
            } => outcome,
        };
        let delivered = outcome.status == Some(200);
        {
            let mut log = lock(&shared.webhooks.log);
            log.totals.attempts += 1;
            if !delivered {
                log.totals.failed_attempts += 1;
            }
            if let Some(r) = record_mut(&mut log, id) {
                r.attempts.push(outcome);
            }
        }
        if delivered {
            finish(&shared, id, State::Delivered);
            return;
        }
    }
}

fn finish(shared: &Shared, id: u64, state: State) {
    let mut log = lock(&shared.webhooks.log);
    log.totals.pending = log.totals.pending.saturating_sub(1);
    match state {
        State::Delivered => log.totals.delivered += 1,
        State::Abandoned => log.totals.abandoned += 1,
        State::Pending => {}
    }
    if let Some(r) = record_mut(&mut log, id) {
        r.state = state;
    }
}

async fn attempt_once(shared: &Shared, body: &Bytes, signature: &str) -> Attempt {
    let url = lock(&shared.tunables).webhook_url.clone();
    let failed = |error: String| Attempt { at_ms: now_ms(), status: None, error: Some(error) };
    if let Err(e) = ensure_verified(shared, &url).await {
        return failed(e);
    }
    let Ok(_slot) = shared.webhooks.slots.acquire().await else {
        return failed("simulator shutting down".into());
    };
    let sent = shared
        .webhooks
        .http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::HEADER, signature)
        .body(body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) => Attempt { at_ms: now_ms(), status: Some(resp.status().as_u16()), error: None },
        Err(e) => failed(e.without_url().to_string()),
    }
}

async fn ensure_verified(shared: &Shared, url: &str) -> Result<(), String> {
    let check = || -> Option<Result<(), String>> {
        let v = lock(&shared.webhooks.verified);
        if v.url.as_deref() == Some(url) {
            return Some(Ok(()));
        }
        match &v.last_failure {
            Some((failed_url, at, why)) if failed_url == url && at.elapsed() < HANDSHAKE_BACKOFF => {
                Some(Err(why.clone()))
            }
            _ => None,
        }
    };
    if let Some(known) = check() {
        return known;
    }
    let _one_at_a_time = shared.webhooks.handshake.lock().await;
    if let Some(known) = check() {
        return known;
    }
    let outcome = handshake(shared, url).await;
    if outcome.registered {
        Ok(())
    } else {
        Err(lock(&shared.webhooks.verified).last_failure.as_ref().map(|(_, _, why)| why.clone()).unwrap_or_default())
    }
}

/// Meta's endpoint verification (PROTOCOLS §1.1): GET with `hub.mode=subscribe`, a random
/// `hub.challenge` and the verify token; verified only on 200 with the challenge echoed.
pub(crate) async fn handshake(shared: &Shared, url: &str) -> RegisterOutcome {
    let challenge = rand::random_range(1_000_000_000_u64..10_000_000_000).to_string();
    let mut outcome = RegisterOutcome {
        url: url.to_owned(),
        registered: false,
        status: None,
        challenge_echoed: false,
        error: None,
        at_ms: now_ms(),
    };
    match Url::parse(url) {
        Err(e) => outcome.error = Some(format!("bad webhook URL: {e}")),
        Ok(mut target) => {
            target
                .query_pairs_mut()
                .append_pair("hub.mode", "subscribe")
                .append_pair("hub.challenge", &challenge)
                .append_pair("hub.verify_token", &shared.verify_token);
            match shared.webhooks.http.get(target).send().await {
                Err(e) => outcome.error = Some(e.without_url().to_string()),
                Ok(resp) => {
                    outcome.status = Some(resp.status().as_u16());
                    let ok_status = resp.status().as_u16() == 200;
                    let echoed = resp.bytes().await.is_ok_and(|b| b == challenge.as_bytes());
                    outcome.challenge_echoed = echoed;
                    outcome.registered = ok_status && echoed;
                }
            }
        }
    }
    {
        let mut v = lock(&shared.webhooks.verified);
        if outcome.registered {
            v.url = Some(url.to_owned());
            v.last_failure = None;
        } else {
            let why = outcome.error.clone().unwrap_or_else(|| {
                format!(
                    "webhook not verified: handshake answered {:?}, challenge echoed: {}",
                    outcome.status, outcome.challenge_echoed
                )
            });
            v.url = None;
            v.last_failure = Some((url.to_owned(), Instant::now(), why));
        }
    }
    let mut log = lock(&shared.webhooks.log);
    log.registrations.push_back(outcome.clone());
    if log.registrations.len() > REGISTRATIONS_KEPT {
        log.registrations.pop_front();
    }
    tracing::debug!(registered = outcome.registered, "webhook handshake");
    outcome
}
