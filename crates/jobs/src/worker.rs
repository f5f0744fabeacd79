//! Workers: per queue, claim up to the free concurrency, run each job under its lease, and
//! record done / retry / dead. A worker that dies leaves leased jobs behind; any node's reaper
//! returns them to the queue when the lease runs out, so they run again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use switchboard_core::Clock;
use switchboard_storage::Db;
use switchboard_storage::jobs::{self, JobRow};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Wakeup;
use crate::backoff::backoff_ms;

/// How a job failed.
#[derive(Debug)]
pub enum JobError {
    /// Worth another attempt later (network error, provider rate limit, busy database).
    Retry(String),
    /// Retrying cannot help (invalid data, permanent provider error): bury it now.
    Fatal(String),
}

/// The id stored under `key` in a job's JSON payload; a job without it can never succeed.
pub fn payload_id(job: &JobRow, key: &str) -> Result<uuid::Uuid, JobError> {
    serde_json::from_str::<serde_json::Value>(&job.payload)
        .ok()
        .and_then(|v| v.get(key)?.as_str()?.parse().ok())
        .ok_or_else(|| JobError::Fatal(format!("payload without {key}")))
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn run(&self, job: &JobRow) -> Result<(), JobError>;
}

#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub name: String,
    pub concurrency: usize,
    pub lease_ms: i64,
    pub poll_ms: u64,
    pub retry_base_ms: i64,
    pub retry_cap_ms: i64,
}

impl QueueSpec {
    #[must_use]
    pub fn new(name: &str, concurrency: usize) -> Self {
        Self {
            name: name.to_owned(),
            concurrency: concurrency.max(1),
            lease_ms: 60_000,
            poll_ms: 500,
            retry_base_ms: 2_000,
            retry_cap_ms: 3_600_000,
        }
    }
}

pub struct Worker {
    db: Db,
    clock: Arc<dyn Clock>,
    owner: String,
    handlers: HashMap<String, Arc<dyn Handler>>,
    wakeup: Wakeup,
}

impl Worker {
    #[must_use]
    pub fn new(db: Db, clock: Arc<dyn Clock>, owner: String, wakeup: Wakeup) -> Self {
        Self { db, clock, owner, handlers: HashMap::new(), wakeup }
    }

    /// Registers the handler for one job kind.
    #[must_use]
    pub fn handle(mut self, kind: &str, handler: Arc<dyn Handler>) -> Self {
        self.handlers.insert(kind.to_owned(), handler);
        self
    }

    /// Runs the given queues until `stop` is cancelled, then waits for running jobs.
    pub async fn run(self, queues: Vec<QueueSpec>, stop: CancellationToken) {
        let this = Arc::new(self);
        let mut set = JoinSet::new();
        for q in queues {
            set.spawn(this.clone().run_queue(q, stop.clone()));
        }
        while set.join_next().await.is_some() {}
    }

    async fn run_queue(self: Arc<Self>, q: QueueSpec, stop: CancellationToken) {
        let permits = Arc::new(Semaphore::new(q.concurrency));
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let now = self.clock.now().0;
            if let Err(e) = self.reap(&q, now).await {
                tracing::warn!(queue = %q.name, error = %e, "reaping expired leases failed");
            }
            let free = permits.available_permits();
            let claimed = if free > 0 { self.claim(&q, free, now).await } else { Ok(Vec::new()) };
            let claimed = claimed.unwrap_or_else(|e| {
                tracing::warn!(queue = %q.name, error = %e, "claiming jobs failed");
                Vec::new()
            });
            let got = claimed.len();
            for job in claimed {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break;
                };
                let this = self.clone();
                let q = q.clone();
                running.spawn(async move {
                    this.execute(&q, job).await;
                    drop(permit);
                });
            }
            if got == 0 || permits.available_permits() == 0 {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = self.wakeup.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(q.poll_ms)) => {}
                }
            } else if stop.is_cancelled() {
                break;
            }
        }
        while running.join_next().await.is_some() {}
    }

    async fn reap(&self, q: &QueueSpec, now: i64) -> switchboard_storage::Result<()> {
        let mut tx = self.db.write().await?;
        let n = jobs::reap_expired(&mut tx.platform(), &q.name, now).await?;
        tx.commit().await?;
        if n > 0 {
            tracing::warn!(queue = %q.name, jobs = n, "returned jobs with expired leases to the queue");
        }
        Ok(())
    }

    async fn claim(&self, q: &QueueSpec, n: usize, now: i64) -> switchboard_storage::Result<Vec<JobRow>> {
        let mut tx = self.db.write().await?;
        let rows =
            jobs::claim(&mut tx.platform(), &q.name, &self.owner, i64::try_from(n).unwrap_or(1), now, now + q.lease_ms)
                .await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn execute(&self, q: &QueueSpec, job: JobRow) {
        let outcome = match self.handlers.get(&job.kind) {
            Some(h) => h.run(&job).await,
            None => Err(JobError::Fatal(format!("no handler for job kind {}", job.kind))),
        };
        let now = self.clock.now().0;
        let result = async {
            let mut tx = self.db.write().await?;
            let p = &mut tx.platform();
            match &outcome {
                Ok(()) => {
                    jobs::complete(p, job.tenant_id, job.id, &self.owner, now).await?;
                }
                Err(JobError::Retry(msg)) if job.attempts < job.max_attempts => {
                    let at = now + backoff_ms(job.attempts, q.retry_base_ms, q.retry_cap_ms);
                    jobs::fail(p, job.tenant_id, job.id, &self.owner, msg, Some(at), now).await?;
                }
                Err(JobError::Retry(msg) | JobError::Fatal(msg)) => {
                    tracing::warn!(queue = %q.name, kind = %job.kind, job = %job.id, "job is dead: {msg}");
                    jobs::fail(p, job.tenant_id, job.id, &self.owner, msg, None, now).await?;
                }
            }
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            // The lease will expire and the job will run again: at-least-once, never lost.
            tracing::warn!(queue = %q.name, job = %job.id, error = %e, "recording job outcome failed");
        }
    }
}

#[cfg(test)]
mod tests;
