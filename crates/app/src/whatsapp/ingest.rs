//! Group commit for webhooks. Each verified delivery waits in a queue; a writer takes every
//! delivery waiting (up to a batch), processes them in one transaction, commits, and only then
//! answers all of them. Batching is what lets one SQLite writer keep up with thousands of
//! deliveries a second: the fsync is paid per batch, not per delivery. Nothing is acknowledged
//! before its commit.
//!
//! If a batch fails, its deliveries are retried one by one, so one poisonous payload cannot
//! hold back the others. A delivery that still fails is stored sealed as a `failed` event
//! (retried later by `retry_failed_webhooks`) and acknowledged: durably kept is what Meta needs from us.

use std::sync::Arc;

use bytes::Bytes;
use switchboard_channels::whatsapp::webhook::{self, Change, ChangeValue, Entry, Notification};
use switchboard_core::{ChannelId, TenantId, WaId};
use switchboard_privacy::{Aad, BlindKind};
use switchboard_storage::Tx;
use switchboard_storage::webhook_events::{self, FailedEvent, NewWebhookEvent};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::channels::ChannelInfo;
use super::process::Effects;
use crate::{App, AppError, AppResult, group_commit};

/// One verified webhook POST (or the part of it that concerns one channel).
pub struct Delivery {
    pub channel: Arc<ChannelInfo>,
    pub notification: Notification,
    /// The exact body received; kept (sealed) only if processing fails.
    pub raw: Bytes,
    pub received_at: i64,
}

/// Keeps only the changes of a notification that belong to `ch`: its number's messages and
/// statuses, and account-level changes of its WABA. Anything else arrived on the wrong URL and
/// is never stored under this tenant.
#[must_use]
pub fn for_channel(ch: &ChannelInfo, n: &Notification) -> (Notification, usize) {
    let mut dropped = 0;
    let entry = n
        .entry
        .iter()
        .map(|e| {
            let changes: Vec<Change> = e
                .changes
                .iter()
                .filter(|c| {
                    let keep = match &c.value {
                        ChangeValue::Messages(v) => v.metadata.phone_number_id == ch.phone_number_id,
                        ChangeValue::MessageEchoes(v) => v.metadata.phone_number_id == ch.phone_number_id,
                        _ => e.id == ch.waba_id,
                    };
                    dropped += usize::from(!keep);
                    keep
                })
                .cloned()
                .collect();
            Entry { id: e.id.clone(), time: e.time, changes }
        })
        .filter(|e| !e.changes.is_empty())
        .collect();
    (Notification { object: n.object.clone(), entry }, dropped)
}

pub(crate) struct Item {
    delivery: Delivery,
    done: oneshot::Sender<AppResult<()>>,
}

pub(crate) type Queue = crate::group_commit::Queue<Item>;

impl App {
    /// Hands a verified delivery to the writer and waits until it is committed.
    pub async fn ingest(&self, delivery: Delivery) -> AppResult<()> {
        let (done, answer) = oneshot::channel();
        self.wa.ingest.push(Item { delivery, done }).await?;
        group_commit::answer(answer).await
    }

    /// Splits a platform-wide notification by the channel each change belongs to (by
    /// phone_number_id, or by WABA for account-level changes). Returns the parts and the number
    /// of changes no connected channel claims.
    pub async fn route_notification(
        &self,
        n: &Notification,
    ) -> AppResult<(Vec<(Arc<ChannelInfo>, Notification)>, usize)> {
        let mut channels: Vec<Arc<ChannelInfo>> = Vec::new();
        let mut orphans = 0;
        for e in &n.entry {
            for c in &e.changes {
                let found = match &c.value {
                    ChangeValue::Messages(v) => self.channel_by_phone_number_id(&v.metadata.phone_number_id).await?,
                    ChangeValue::MessageEchoes(v) => {
                        self.channel_by_phone_number_id(&v.metadata.phone_number_id).await?
                    }
                    _ => self.channel_by_waba_id(&e.id).await?,
                };
                match found {
                    Some(ch) if !channels.iter().any(|x| x.id == ch.id) => channels.push(ch),
                    Some(_) => {}
                    None => orphans += 1,
                }
            }
        }
        Ok((
            channels
                .into_iter()
                .map(|ch| {
                    let (part, _) = for_channel(&ch, n);
                    (ch, part)
                })
                .collect(),
            orphans,
        ))
    }

    /// Runs the ingest writers until `stop`, then drains what is queued.
    pub async fn run_ingest(self: Arc<Self>, stop: CancellationToken) {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..group_commit::writers(&self.db, self.config.whatsapp.ingest_writers) {
            set.spawn(self.clone().ingest_writer(stop.clone()));
        }
        group_commit::join_writers(set, "ingest").await;
    }

    async fn ingest_writer(self: Arc<Self>, stop: CancellationToken) {
        let max = self.config.whatsapp.ingest_batch;
        while let Some((tx, batch)) = self.wa.ingest.next_batch(&self.db, max, &stop).await {
            self.commit_batch(tx, batch).await;
        }
    }

    async fn commit_batch(&self, tx: AppResult<Tx>, batch: Vec<Item>) {
        let (deliveries, answers): (Vec<Delivery>, Vec<_>) = batch.into_iter().map(|i| (i.delivery, i.done)).unzip();
        let committed = match tx {
            Ok(tx) => self.commit(tx, &deliveries).await,
            Err(e) => Err(e),
        };
        match committed {
            Ok(fx) => {
                for a in answers {
                    let _ = a.send(Ok(()));
                }
                self.after_commit(fx).await;
            }
            Err(e) => {
                if deliveries.len() > 1 {
                    tracing::warn!(deliveries = deliveries.len(), error = %e, "ingest batch failed; retrying its deliveries one by one");
                }
                for (d, a) in deliveries.into_iter().zip(answers) {
                    let one = std::slice::from_ref(&d);
                    let r = match async { self.commit(self.db.write().await?, one).await }.await {
                        Ok(fx) => {
                            self.after_commit(fx).await;
                            Ok(())
                        }
                        Err(e) => self.keep_failed(&d, &e).await,
                    };
                    let _ = a.send(r);
                }
            }
        }
    }

    async fn commit(&self, mut tx: Tx, deliveries: &[Delivery]) -> AppResult<Effects> {
        let mut fx = Effects::for_deliveries(deliveries.len());
        let parts: Vec<_> = deliveries.iter().map(|d| (&*d.channel, &d.notification, d.received_at)).collect();
        self.prefetch(&mut tx, &parts, &mut fx).await?;
        for (i, d) in deliveries.iter().enumerate() {
            fx.delivery = i;
            self.process_notification(
                &mut tx.tenant(d.channel.tenant),
                &d.channel,
                &d.notification,
                d.received_at,
                &mut fx,
            )
            .await?;
        }
        let mut tenants: Vec<TenantId> = deliveries.iter().map(|d| d.channel.tenant).collect();
        tenants.sort_unstable();
        tenants.dedup();
        for t in tenants {
            let mut s = tx.tenant(t);
            self.flush_pending(&mut s, &mut fx).await?;
            let events: Vec<NewWebhookEvent> = deliveries
                .iter()
                .zip(&fx.counts)
                .filter(|(d, _)| d.channel.tenant == t)
                .map(|(d, &(messages, statuses))| NewWebhookEvent {
                    id: Uuid::now_v7(),
                    channel_id: d.channel.id.as_uuid(),
                    received_at: d.received_at,
                    state: "processed",
                    body_sealed: None,
                    messages,
                    statuses,
                    error: None,
                })
                .collect();
            webhook_events::insert_many(&mut s, &events).await?;
        }
        tx.commit().await?;
        Ok(fx)
    }

    /// Stores a delivery whose processing failed, sealed, for the retry job, with the blind
    /// indexes of the WhatsApp ids it names (erasure finds it by them); a database that is
    /// down cannot store it either, so then the answer is 503 and Meta retries.
    pub async fn keep_failed(&self, d: &Delivery, error: &AppError) -> AppResult<()> {
        if matches!(error, AppError::Unavailable) {
            return Err(AppError::Unavailable);
        }
        tracing::error!(channel = %d.channel.id, error = %error, "webhook processing failed; stored for retry");
        let id = Uuid::now_v7();
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(d.channel.tenant);
        let aad = Aad::new(d.channel.tenant, "webhook_events", "body", id);
        let body = self.keys.seal_tenant(&mut s, &aad, &d.raw.to_vec()).await?;
        webhook_events::insert(
            &mut s,
            &NewWebhookEvent {
                id,
                channel_id: d.channel.id.as_uuid(),
                received_at: d.received_at,
                state: "failed",
                body_sealed: Some(body),
                messages: 0,
                statuses: 0,
                error: Some(error.to_string().chars().take(500).collect()),
            },
        )
        .await?;
        let mut subjects = Vec::new();
        for wa in webhook::wa_ids(&d.raw).iter().filter_map(|w| WaId::parse(w).ok()) {
            subjects.push(self.keys.blind_index(&mut s, BlindKind::WaId, wa.as_str()).await?);
        }
        webhook_events::insert_subjects(&mut s, id, &subjects).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Processes again the deliveries `keep_failed` stored (fewest attempts first, then oldest).
    /// One that succeeds drops its sealed body; one that fails again keeps it and counts the
    /// attempt. Returns (processed, still failing) for this tenant.
    pub async fn retry_failed_webhooks(&self, tenant: TenantId, limit: i64) -> AppResult<(u64, u64)> {
        let failed = webhook_events::failed(&mut self.db.read().await?.tenant(tenant), limit).await?;
        let (mut ok, mut still) = (0, 0);
        for ev in failed {
            match self.retry_one(tenant, &ev).await {
                Ok(()) => ok += 1,
                Err(AppError::Unavailable) => return Err(AppError::Unavailable),
                Err(e) => {
                    still += 1;
                    tracing::warn!(event = %ev.id, attempts = ev.attempts + 1, error = %e, "stored webhook failed again");
                    let mut tx = self.db.write().await?;
                    let error: String = e.to_string().chars().take(500).collect();
                    webhook_events::record_failure(&mut tx.tenant(tenant), ev.id, &error).await?;
                    tx.commit().await?;
                }
            }
        }
        Ok((ok, still))
    }

    async fn retry_one(&self, tenant: TenantId, ev: &FailedEvent) -> AppResult<()> {
        let Some(body) = &ev.body_sealed else {
            return Err(AppError::Internal("a failed webhook without its body".into()));
        };
        let ch = self.channel_info(tenant, ChannelId::from_uuid(ev.channel_id)).await?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let raw: Vec<u8> =
            self.keys.open_tenant(&mut s, &Aad::new(tenant, "webhook_events", "body", ev.id), body).await?;
        let n = webhook::parse(&raw).map_err(|e| AppError::Malformed(e.to_string()))?;
        let (part, _) = for_channel(&ch, &n);
        let mut fx = Effects::for_deliveries(1);
        self.process_notification(&mut s, &ch, &part, ev.received_at, &mut fx).await?;
        self.flush_pending(&mut s, &mut fx).await?;
        let (messages, statuses) = fx.counts[0];
        webhook_events::mark_processed(&mut s, ev.id, messages, statuses).await?;
        tx.commit().await?;
        self.after_commit(fx).await;
        Ok(())
    }

    pub(crate) async fn after_commit(&self, fx: Effects) {
        if fx.wake_jobs {
            self.wa.jobs_wakeup.notify_waiters();
        }
        if !fx.events.is_empty()
            && let Err(e) = self.bus.publish_many(&fx.events).await
        {
            tracing::warn!(error = %e, "publishing events failed; live views catch up on their next load");
        }
    }
}
