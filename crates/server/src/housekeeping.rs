//! Background work every node runs: periodic cleanups (one node at a time per schedule), the
//! job workers, the webhook ingest writers, the WhatsApp sender and the search index upkeep.

use std::sync::Arc;

use async_trait::async_trait;
use switchboard_app::App;
use switchboard_app::privacy::delivery::{self, PrivacyJobs};
use switchboard_app::privacy::requests;
use switchboard_app::whatsapp::{self, media::WhatsAppJobs};
use switchboard_core::TenantId;
use switchboard_jobs::{Periodic, QueueSpec, Scheduler, Worker};
use switchboard_storage::{jobs, sessions};
use tokio_util::sync::CancellationToken;

const TEN_MINUTES: i64 = 10 * 60_000;
const HOUR: i64 = 60 * 60_000;
/// One tenant's retention run may purge this many batches' worth of rows (× 1,000) per
/// schedule tick, one channel's purge this many transactions; an unfinished one resumes at the
/// next tick, so none holds the others up.
const RETENTION_BATCHES_PER_TICK: u64 = 500;
/// Finished jobs are kept this long so their dedupe keys still suppress duplicates
/// (Meta redelivers for up to 7 days).
const DONE_JOB_RETENTION: i64 = 14 * 24 * 3_600_000;

struct ExpiredSessions(Arc<App>);

#[async_trait]
impl Periodic for ExpiredSessions {
    async fn run(&self) -> Result<(), String> {
        let now = self.0.now().0;
        let mut tx = self.0.db.write().await.map_err(|e| e.to_string())?;
        let n = sessions::delete_expired(&mut tx.platform(), now).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::debug!(sessions = n, "removed expired sessions");
        Ok(())
    }
}

struct FinishedJobs(Arc<App>);

#[async_trait]
impl Periodic for FinishedJobs {
    async fn run(&self) -> Result<(), String> {
        let before = self.0.now().0 - DONE_JOB_RETENTION;
        loop {
            let mut tx = self.0.db.write().await.map_err(|e| e.to_string())?;
            let n = jobs::purge_done(&mut tx.platform(), before, 1000).await.map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            if n < 1000 {
                return Ok(());
            }
        }
    }
}

async fn tenants(app: &App) -> Result<Vec<TenantId>, String> {
    let mut conn = app.db.read().await.map_err(|e| e.to_string())?;
    let rows = switchboard_storage::tenants::list(&mut conn.platform()).await.map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|t| TenantId::from_uuid(t.id)).collect())
}

/// Sends whose outcome Meta never told us (see `settle_unknown_sends`).
struct UnknownSends(Arc<App>);

#[async_trait]
impl Periodic for UnknownSends {
    async fn run(&self) -> Result<(), String> {
        for t in tenants(&self.0).await? {
            self.0.settle_unknown_sends(t).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Webhook deliveries that were acknowledged but failed processing (kept sealed).
struct FailedWebhooks(Arc<App>);

#[async_trait]
impl Periodic for FailedWebhooks {
    async fn run(&self) -> Result<(), String> {
        for t in tenants(&self.0).await? {
            let (done, failing) = self.0.retry_failed_webhooks(t, 100).await.map_err(|e| e.to_string())?;
            if done + failing > 0 {
                tracing::info!(tenant = %t, done, failing, "retried stored webhooks");
            }
        }
        Ok(())
    }
}

/// Retention policies of every tenant (see `switchboard_app::privacy::retention`).
struct Retention(Arc<App>);

#[async_trait]
impl Periodic for Retention {
    async fn run(&self) -> Result<(), String> {
        self.0.run_retention_all(Some(RETENTION_BATCHES_PER_TICK)).await.map_err(|e| e.to_string())
    }
}

/// Erasures interrupted by a crash or waiting for a legal hold's release.
struct ErasureResume(Arc<App>);

#[async_trait]
impl Periodic for ErasureResume {
    async fn run(&self) -> Result<(), String> {
        self.0.resume_erasures().await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Deleted tenants whose grace period is over.
struct TenantPurge(Arc<App>);

#[async_trait]
impl Periodic for TenantPurge {
    async fn run(&self) -> Result<(), String> {
        self.0.purge_deleted_tenants().await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Disconnected WhatsApp numbers whose grace period is over (see
/// `switchboard_app::whatsapp::purge`).
struct ChannelPurge(Arc<App>);

#[async_trait]
impl Periodic for ChannelPurge {
    async fn run(&self) -> Result<(), String> {
        self.0
            .purge_disconnected_channels(Some(RETENTION_BATCHES_PER_TICK))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Runs until `stop` is cancelled.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    let scheduler = Scheduler::new(app.db.clone(), app.clock.clone(), app.config.node_id.clone())
        .every("sessions.expired", TEN_MINUTES, Arc::new(ExpiredSessions(app.clone())))
        .every("jobs.finished", TEN_MINUTES, Arc::new(FinishedJobs(app.clone())))
        .every("whatsapp.unknown_sends", 5 * 60_000, Arc::new(UnknownSends(app.clone())))
        .every("whatsapp.failed_webhooks", 60_000, Arc::new(FailedWebhooks(app.clone())))
        .every("privacy.retention", HOUR, Arc::new(Retention(app.clone())))
        .every("privacy.erasure_resume", TEN_MINUTES, Arc::new(ErasureResume(app.clone())))
        .every("privacy.tenant_purge", HOUR, Arc::new(TenantPurge(app.clone())))
        .every(switchboard_app::whatsapp::purge::SCHEDULE, HOUR, Arc::new(ChannelPurge(app.clone())));
    let jobs = Arc::new(WhatsAppJobs(app.clone()));
    let privacy_jobs = Arc::new(PrivacyJobs(app.clone()));
    let worker = Worker::new(app.db.clone(), app.clock.clone(), app.config.node_id.clone(), app.wa.jobs_wakeup.clone())
        .handle(whatsapp::JOB_MEDIA, jobs.clone())
        .handle(whatsapp::JOB_MARK_READ, jobs.clone())
        .handle(whatsapp::JOB_TEMPLATE_SYNC, jobs)
        .handle(delivery::KEYWORD_JOB, privacy_jobs.clone())
        .handle(requests::VERIFICATION_JOB, privacy_jobs);
    let queues = vec![
        QueueSpec { lease_ms: 5 * 60_000, ..QueueSpec::new(whatsapp::QUEUE, 8) },
        QueueSpec::new(requests::VERIFICATION_QUEUE, 2),
    ];
    let limiter = {
        let app = app.clone();
        let stop = stop.clone();
        async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(60)) => app.shrink_limiters(),
                }
            }
        }
    };
    tokio::join!(
        scheduler.run(stop.clone()),
        limiter,
        worker.run(queues, stop.clone()),
        app.clone().run_ingest(stop.clone()),
        app.clone().run_outbox(stop.clone()),
        app.clone().run_sender(stop.clone()),
        app.clone().run_search_upkeep(stop.clone()),
    );
}
