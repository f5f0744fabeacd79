//! Periodic work (session cleanup, retention purges). Every node runs the scheduler loop; the
//! lease on each schedule row makes sure one node at a time runs a due schedule.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use switchboard_core::Clock;
use switchboard_storage::{Db, schedules};
use tokio_util::sync::CancellationToken;

#[async_trait]
pub trait Periodic: Send + Sync + 'static {
    async fn run(&self) -> Result<(), String>;
}

struct Entry {
    name: String,
    every_ms: i64,
    task: Arc<dyn Periodic>,
}

pub struct Scheduler {
    db: Db,
    clock: Arc<dyn Clock>,
    owner: String,
    entries: Vec<Entry>,
    tick: Duration,
}

impl Scheduler {
    #[must_use]
    pub fn new(db: Db, clock: Arc<dyn Clock>, owner: String) -> Self {
        Self { db, clock, owner, entries: Vec::new(), tick: Duration::from_secs(5) }
    }

    #[must_use]
    pub fn every(mut self, name: &str, every_ms: i64, task: Arc<dyn Periodic>) -> Self {
        self.entries.push(Entry { name: name.to_owned(), every_ms, task });
        self
    }

    #[must_use]
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    pub async fn run(self, stop: CancellationToken) {
        loop {
            for e in &self.entries {
                if let Err(err) = self.run_if_due(e).await {
                    tracing::warn!(schedule = %e.name, error = %err, "schedule failed");
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    async fn run_if_due(&self, e: &Entry) -> Result<(), String> {
        let now = self.clock.now().0;
        // The lease outlives a normal run; a node that dies mid-run is replaced after it.
        let lease = now + e.every_ms.max(60_000);
        let claimed = async {
            let mut tx = self.db.write().await?;
            schedules::ensure(&mut tx.platform(), &e.name, now).await?;
            let got = schedules::try_claim(&mut tx.platform(), &e.name, &self.owner, now, lease).await?;
            tx.commit().await?;
            Ok::<_, switchboard_storage::StoreError>(got)
        }
        .await
        .map_err(|err| err.to_string())?;
        if !claimed {
            return Ok(());
        }
        let outcome = e.task.run().await;
        let done = self.clock.now().0;
        let mut tx = self.db.write().await.map_err(|err| err.to_string())?;
        schedules::finish(&mut tx.platform(), &e.name, &self.owner, done, done + e.every_ms)
            .await
            .map_err(|err| err.to_string())?;
        tx.commit().await.map_err(|err| err.to_string())?;
        outcome
    }
}
