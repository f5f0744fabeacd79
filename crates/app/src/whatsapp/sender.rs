//! The sender: drains the outbox (`whatsapp.send` jobs) at each number's pace and records what
//! Meta answered.
//!
//! A send is marked `sending` (committed) before the request leaves. If the process dies
//! mid-send, the job comes back with its message still `sending`: the request may have reached
//! Meta, so it becomes `unknown` and is never sent again blindly — the status webhooks, which
//! carry our message id in `biz_opaque_callback_data`, reconcile it. Outcomes are recorded in
//! batches (one commit for many sends), which is what lets one SQLite writer keep up.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use switchboard_channels::whatsapp::{ErrorKind, GraphError};
use switchboard_core::privacy::Refusal;
use switchboard_core::{ChannelId, ContactId, Millis, TenantId};
use switchboard_privacy::Aad;
use switchboard_storage::bus::Event;
use switchboard_storage::jobs::{self, JobRow};
use switchboard_storage::messages;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::SEND_QUEUE;
use crate::audit::Audit;
use crate::privacy::consent::marketing_allowed;
use crate::{App, AppError, AppResult};

/// Pair rate: Meta allows about one message every 6 seconds to one person, with bursts that
/// borrow from the future. A short burst is allowed here; beyond it, the send waits.
const PAIR_PERIOD: Duration = Duration::from_secs(6);
const PAIR_BURST: u32 = 10;
/// Longest a send waits in-process for its pacing; longer waits go back to the queue.
const MAX_PACING_WAIT: Duration = Duration::from_secs(2);
const LEASE_MS: i64 = 60_000;
/// The error title of a marketing message refused at the moment of sending; the details say
/// why (`withdrawn`, `no_consent`, `restricted`, `objected`, `suppressed`).
pub const NO_MARKETING_CONSENT: &str = "no_marketing_consent";

/// Per-number throughput (token bucket at the number's configured rate) and per-recipient
/// pair rate, for this node.
pub(crate) struct Pacing {
    numbers: Mutex<HashMap<ChannelId, (u32, Arc<DefaultDirectRateLimiter>)>>,
    pairs: DefaultKeyedRateLimiter<(ChannelId, String)>,
}

impl Default for Pacing {
    fn default() -> Self {
        let burst = NonZeroU32::new(PAIR_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(PAIR_PERIOD)
            .map_or_else(|| Quota::per_minute(NonZeroU32::MIN), |q| q.allow_burst(burst));
        Self { numbers: Mutex::default(), pairs: RateLimiter::keyed(quota) }
    }
}

impl Pacing {
    fn number(&self, id: ChannelId, rate: u32) -> Arc<DefaultDirectRateLimiter> {
        let mut map = self.numbers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((r, l)) = map.get(&id)
            && *r == rate
        {
            return l.clone();
        }
        let n = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
        // A burst of a tenth of a second keeps the rate smooth without idling at the start.
        let burst = NonZeroU32::new((rate / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = Arc::new(RateLimiter::direct(Quota::per_second(n).allow_burst(burst)));
        map.insert(id, (rate, limiter.clone()));
        limiter
    }

    pub(crate) fn shrink(&self) {
        self.pairs.retain_recent();
    }
}

/// What happened to one send.
enum Outcome {
    Accepted {
        wamid: String,
    },
    /// Try again later (rate limited, temporarily unavailable, pacing).
    Retry {
        after_ms: i64,
        reason: String,
    },
    /// Failed for good: Meta's code, title, details.
    Failed {
        code: Option<i64>,
        title: String,
        details: Option<String>,
    },
    /// The request may have reached Meta: wait for status webhooks.
    Ambiguous,
    /// Meta refused the token: the number needs reconnecting.
    TokenRefused {
        message: String,
    },
    /// A marketing message whose contact may not be marketed to any more (consent withdrawn
    /// since it was queued, restricted, objecting, suppressed): never sent.
    Refused {
        refusal: Refusal,
    },
    /// Nothing to do (the message was not queued any more).
    Skip,
}

struct Done {
    job: JobRow,
    message: Uuid,
    channel: Option<ChannelId>,
    conversation: Option<Uuid>,
    outcome: Outcome,
}

fn message_id(job: &JobRow) -> Option<Uuid> {
    serde_json::from_str::<Value>(&job.payload).ok()?.get("message_id")?.as_str()?.parse().ok()
}

/// Whether the send was queued as marketing (a MARKETING template).
fn is_marketing(job: &JobRow) -> bool {
    serde_json::from_str::<Value>(&job.payload).ok().and_then(|v| v.get("marketing")?.as_bool()).unwrap_or(false)
}

fn classify(e: &GraphError) -> Outcome {
    let title = e.message.clone();
    match e.kind {
        ErrorKind::Auth => Outcome::TokenRefused { message: title },
        // Meta's advice for the pair rate: retry after 4^x seconds.
        ErrorKind::PairRate => Outcome::Retry { after_ms: 16_000, reason: title },
        ErrorKind::RateLimited | ErrorKind::Transient => Outcome::Retry { after_ms: 2_000, reason: title },
        ErrorKind::Ambiguous => Outcome::Ambiguous,
        ErrorKind::WindowClosed => {
            Outcome::Failed { code: e.code, title: "window closed: send a template".into(), details: e.details.clone() }
        }
        _ => Outcome::Failed { code: e.code, title, details: e.details.clone() },
    }
}

impl App {
    /// Runs the sender until `stop`, then waits for the sends in flight.
    pub async fn run_sender(self: Arc<Self>, stop: CancellationToken) {
        let (done_tx, done_rx) = mpsc::channel::<Done>(4096);
        let recorder = tokio::spawn(self.clone().record_outcomes(done_rx));
        let capacity = self.config.whatsapp.send_concurrency.max(1);
        let permits = Arc::new(Semaphore::new(capacity));
        let owner = format!("{}-sender", self.config.node_id);
        // Under load, a claim waits until a quarter of the permits are free: one claim of 32
        // rather than 32 claims of one. Each claim is a write transaction (on SQLite, a turn of
        // the one writer); at 1,000 msg/s the sender claimed about 200 times a second.
        let min_claim = (capacity / 4).max(1);
        loop {
            if stop.is_cancelled() {
                break;
            }
            let free = permits.available_permits();
            let claimed =
                if free >= min_claim { self.claim_sends(&owner, free.min(256)).await } else { Ok(Vec::new()) };
            let claimed = claimed.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "claiming sends failed");
                Vec::new()
            });
            let got = claimed.len();
            for (job, message, proceed) in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let this = self.clone();
                let tx = done_tx.clone();
                tokio::spawn(async move {
                    let done = if proceed {
                        this.send_one(job, message).await
                    } else {
                        Done { job, message, channel: None, conversation: None, outcome: Outcome::Skip }
                    };
                    let _ = tx.send(done).await;
                    drop(permit);
                });
            }
            let idle = free >= min_claim && got == 0;
            if idle || permits.available_permits() < min_claim {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = self.wa.send_wakeup.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(if idle { 250 } else { 5 })) => {}
                }
            }
        }
        let _ = permits.acquire_many(u32::try_from(capacity).unwrap_or(u32::MAX)).await;
        drop(done_tx);
        let _ = recorder.await;
    }

    /// Claims due sends and marks their messages `sending` in the same transaction. A message
    /// found already `sending` was in flight when a previous worker died: it becomes `unknown`.
    async fn claim_sends(&self, owner: &str, n: usize) -> AppResult<Vec<(JobRow, Uuid, bool)>> {
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        jobs::reap_expired(&mut tx.platform(), SEND_QUEUE, now).await?;
        let rows =
            jobs::claim(&mut tx.platform(), SEND_QUEUE, owner, i64::try_from(n).unwrap_or(1), now, now + LEASE_MS)
                .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for job in rows {
            match message_id(&job) {
                Some(message) => claimed.push((job, message)),
                None => {
                    jobs::fail(
                        &mut tx.platform(),
                        job.tenant_id,
                        job.id,
                        owner,
                        "payload without message_id",
                        None,
                        now,
                    )
                    .await?;
                }
            }
        }
        // One statement per tenant moves the claimed messages to `sending`.
        let mut moved = HashSet::new();
        for (tenant, ids) in by_tenant(claimed.iter().map(|(job, message)| (job.tenant_id, *message))) {
            let mut s = tx.tenant(TenantId::from_uuid(tenant));
            moved.extend(messages::transition_many(&mut s, &ids, "queued", "sending", now).await?);
        }
        let mut out = Vec::with_capacity(claimed.len());
        for (job, message) in claimed {
            let proceed = moved.contains(&message);
            if !proceed {
                // Was it mid-send when its worker died? Then its fate is unknown: never resend blindly.
                let mut s = tx.tenant(TenantId::from_uuid(job.tenant_id));
                messages::transition(&mut s, message, "sending", "unknown", now).await?;
            }
            out.push((job, message, proceed));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn send_one(&self, job: JobRow, message: Uuid) -> Done {
        let tenant = TenantId::from_uuid(job.tenant_id);
        match self.try_send(tenant, message, is_marketing(&job)).await {
            Ok((channel, conversation, outcome)) => {
                Done { job, message, channel: Some(channel), conversation: Some(conversation), outcome }
            }
            Err(e) => {
                tracing::warn!(message = %message, error = %e, "preparing a send failed");
                Done {
                    job,
                    message,
                    channel: None,
                    conversation: None,
                    outcome: Outcome::Retry { after_ms: 5_000, reason: e.to_string() },
                }
            }
        }
    }

    async fn try_send(&self, tenant: TenantId, id: Uuid, marketing: bool) -> AppResult<(ChannelId, Uuid, Outcome)> {
        let (m, recipient, mut body) = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(tenant);
            let m = messages::get(&mut s, id).await?;
            let contact = ContactId::from_uuid(m.contact_id);
            let recipient = match self.recipient(&mut s, contact).await {
                Ok(r) => r,
                Err(AppError::Invalid(i)) => {
                    let failed = Outcome::Failed { code: None, title: i.message, details: None };
                    return Ok((ChannelId::from_uuid(m.channel_id), m.conversation_id, failed));
                }
                Err(e) => return Err(e),
            };
            let content: Value = match &m.content_sealed {
                Some(c) => {
                    self.keys.open_contact(&mut s, contact, &Aad::new(tenant, "messages", "content", id), c).await?
                }
                None => return Err(AppError::Internal("outbound message without content".into())),
            };
            let body = content
                .get("graph")
                .cloned()
                .ok_or_else(|| AppError::Internal("outbound message without a Graph body".into()))?;
            (m, recipient, body)
        };
        let (channel, conversation) = (ChannelId::from_uuid(m.channel_id), m.conversation_id);
        let ch = self.channel_info(tenant, channel).await?;
        if ch.status != "active" {
            return Ok((
                channel,
                conversation,
                Outcome::Failed {
                    code: None,
                    title: format!("the number is {}", ch.status.replace('_', " ")),
                    details: None,
                },
            ));
        }
        // Pacing: the number's throughput, then the pair rate to this person.
        self.wa.pacing.number(channel, ch.throughput).until_ready().await;
        if let Err(not_until) = self.wa.pacing.pairs.check_key(&(channel, recipient.clone())) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            if wait > MAX_PACING_WAIT {
                return Ok((
                    channel,
                    conversation,
                    Outcome::Retry {
                        after_ms: i64::try_from(wait.as_millis()).unwrap_or(60_000),
                        reason: "pair rate".into(),
                    },
                ));
            }
            tokio::time::sleep(wait).await;
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert("to".into(), Value::String(recipient));
            obj.insert("biz_opaque_callback_data".into(), Value::String(id.to_string()));
        }
        // Consent at the moment of sending: a STOP that arrived after the message was queued
        // (or while it waited for its pace) wins.
        if marketing {
            let contact = ContactId::from_uuid(m.contact_id);
            if let Err(refusal) = marketing_allowed(&mut self.db.read().await?.tenant(tenant), contact).await? {
                return Ok((channel, conversation, Outcome::Refused { refusal }));
            }
        }
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        let outcome = match graph.send_json(&ch.access_token, &ch.phone_number_id, &body).await {
            Ok(r) => Outcome::Accepted { wamid: r.wamid },
            Err(e) => classify(&e),
        };
        Ok((channel, conversation, outcome))
    }

    /// Records outcomes in batches: one transaction for everything that finished meanwhile.
    async fn record_outcomes(self: Arc<Self>, mut rx: mpsc::Receiver<Done>) {
        let owner = format!("{}-sender", self.config.node_id);
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 512 {
                match rx.try_recv() {
                    Ok(d) => batch.push(d),
                    Err(_) => break,
                }
            }
            let mut attempts = 0;
            loop {
                match self.record(&owner, &batch).await {
                    Ok(events) => {
                        if !events.is_empty() {
                            let _ = self.bus.publish_many(&events).await;
                        }
                        break;
                    }
                    // Keep trying: until recorded, the leases keep these jobs from running twice.
                    Err(e) => {
                        attempts += 1;
                        tracing::warn!(error = %e, sends = batch.len(), attempts, "recording send outcomes failed");
                        tokio::time::sleep(Duration::from_millis(200 * attempts.min(25))).await;
                    }
                }
            }
            for d in &batch {
                if let (Outcome::TokenRefused { .. }, Some(ch)) = (&d.outcome, d.channel)
                    && let Err(e) = self.channel_needs_reconnection(TenantId::from_uuid(d.job.tenant_id), ch).await
                {
                    tracing::warn!(error = %e, "marking the number for reconnection failed");
                }
            }
        }
    }

    async fn record(&self, owner: &str, batch: &[Done]) -> AppResult<Vec<Event>> {
        let now = self.now().0;
        let mut events = Vec::new();
        let mut tx = self.db.write().await?;
        // The wamids first, one statement per tenant: a status parked for a wamid below finds
        // its message by it.
        let accepted = batch.iter().filter_map(|d| match &d.outcome {
            Outcome::Accepted { wamid } => Some((d.job.tenant_id, (d.message, wamid.as_str()))),
            _ => None,
        });
        for (tenant, sends) in by_tenant(accepted) {
            messages::accepted_many(&mut tx.tenant(TenantId::from_uuid(tenant)), &sends, now).await?;
        }
        let parked = batch.iter().filter_map(|d| match (&d.outcome, d.channel) {
            (Outcome::Accepted { wamid }, Some(ch)) => Some((d.job.tenant_id, (ch.as_uuid(), wamid.as_str()))),
            _ => None,
        });
        for (tenant, sends) in by_tenant(parked) {
            messages::apply_parked(&mut tx.tenant(TenantId::from_uuid(tenant)), &sends).await?;
        }
        let mut completed = Vec::with_capacity(batch.len());
        for d in batch {
            let tenant = TenantId::from_uuid(d.job.tenant_id);
            let mut s = tx.tenant(tenant);
            let m = d.message;
            match &d.outcome {
                Outcome::Accepted { .. } | Outcome::Skip => {}
                Outcome::Retry { after_ms, reason } => {
                    if d.job.attempts < d.job.max_attempts {
                        messages::transition(&mut s, m, "sending", "queued", now).await?;
                        jobs::fail(
                            &mut tx.platform(),
                            d.job.tenant_id,
                            d.job.id,
                            owner,
                            reason,
                            Some(now + after_ms),
                            now,
                        )
                        .await?;
                    } else {
                        messages::failed(
                            &mut s,
                            m,
                            None,
                            &format!("gave up after {} attempts: {reason}", d.job.attempts),
                            None,
                            now,
                        )
                        .await?;
                        jobs::fail(&mut tx.platform(), d.job.tenant_id, d.job.id, owner, reason, None, now).await?;
                    }
                    continue;
                }
                Outcome::Failed { code, title, details } => {
                    messages::failed(&mut s, m, *code, title, details.as_deref(), now).await?
                }
                Outcome::Ambiguous => {
                    messages::transition(&mut s, m, "sending", "unknown", now).await?;
                }
                Outcome::TokenRefused { message } => {
                    messages::failed(
                        &mut s,
                        m,
                        Some(190),
                        "the access token was refused: reconnect the number",
                        Some(message),
                        now,
                    )
                    .await?
                }
                Outcome::Refused { refusal } => {
                    messages::failed(&mut s, m, None, NO_MARKETING_CONSENT, Some(refusal.as_str()), now).await?;
                    Audit::system("whatsapp_sender")
                        .record(
                            self,
                            &mut s,
                            "message.marketing_refused",
                            Some(("message", m.to_string())),
                            serde_json::json!({"code": NO_MARKETING_CONSENT, "refusal": refusal.as_str()}),
                        )
                        .await?;
                }
            }
            completed.push((d.job.tenant_id, d.job.id));
            if let Some(conversation) = d.conversation {
                events.push(Event {
                    tenant_id: tenant.as_uuid(),
                    topic: "message.status".into(),
                    subject: Some(m),
                    related: Some(conversation),
                    at: now,
                });
            }
        }
        for (tenant, jobs) in by_tenant(completed) {
            jobs::complete_many(&mut tx.platform(), tenant, &jobs, owner, now).await?;
        }
        tx.commit().await?;
        Ok(events)
    }

    /// Sends still `unknown` long after they were made get no more confirmation: they are
    /// marked failed with an explanation, so an agent can decide to send again.
    pub async fn settle_unknown_sends(&self, tenant: TenantId) -> AppResult<u64> {
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let ids = messages::unknown_before(&mut s, now - 15 * Millis::MINUTE, 1000).await?;
        for id in &ids {
            messages::failed(&mut s, *id, None, "no confirmation from WhatsApp; not resent automatically", None, now)
                .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}

/// Groups (tenant, item) pairs by tenant, keeping their order within each tenant.
fn by_tenant<T>(pairs: impl IntoIterator<Item = (Uuid, T)>) -> Vec<(Uuid, Vec<T>)> {
    let mut groups: Vec<(Uuid, Vec<T>)> = Vec::new();
    for (tenant, item) in pairs {
        match groups.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, items)) => items.push(item),
            None => groups.push((tenant, vec![item])),
        }
    }
    groups
}
