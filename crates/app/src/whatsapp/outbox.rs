//! Group commit for sends. A send from the inbox or the API is checked and sealed on a read
//! connection ([`App::send_message`]), then waits here; a writer writes every send waiting
//! (each message with its send job: the outbox) in one transaction, a statement per table,
//! and answers them after its commit. If a batch fails, its sends are written one by one, so
//! one that cannot be written (its conversation erased meanwhile) fails alone.

use std::sync::Arc;

use switchboard_core::TenantId;
use switchboard_storage::Tx;
use switchboard_storage::bus::Event;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::compose::{PreparedSend, created_event, write_sends};
use crate::{App, AppResult, group_commit};

/// Most sends written in one transaction.
const BATCH: usize = 256;

pub(crate) struct Waiting {
    tenant: TenantId,
    send: PreparedSend,
    done: oneshot::Sender<AppResult<()>>,
}

pub(crate) type Queue = group_commit::Queue<Waiting>;

#[must_use]
pub(crate) fn queue() -> Queue {
    Queue::new(BATCH * 8)
}

impl App {
    /// Hands a prepared send to the outbox writer and waits until it is committed.
    pub(crate) async fn queue_prepared(&self, tenant: TenantId, send: PreparedSend) -> AppResult<()> {
        let (done, answer) = oneshot::channel();
        self.wa.outbox.push(Waiting { tenant, send, done }).await?;
        group_commit::answer(answer).await
    }

    /// Runs the outbox writers until `stop`, then writes what is queued.
    pub async fn run_outbox(self: Arc<Self>, stop: CancellationToken) {
        let mut set = tokio::task::JoinSet::new();
        // As many writers as the ingest: both are bound by the same database.
        for _ in 0..group_commit::writers(&self.db, self.config.whatsapp.ingest_writers) {
            let (app, stop) = (self.clone(), stop.clone());
            set.spawn(async move {
                while let Some((tx, batch)) = app.wa.outbox.next_batch(&app.db, BATCH, &stop).await {
                    app.commit_sends(tx, batch).await;
                }
            });
        }
        group_commit::join_writers(set, "outbox").await;
    }

    async fn commit_sends(&self, tx: AppResult<Tx>, batch: Vec<Waiting>) {
        let written = match tx {
            Ok(tx) => write_batch(tx, &batch).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => self.sends_committed(batch).await,
            Err(e) if batch.len() > 1 => {
                tracing::warn!(sends = batch.len(), error = %e, "writing queued sends failed; writing them one by one");
                for w in batch {
                    let one = std::slice::from_ref(&w);
                    match async { write_batch(self.db.write().await?, one).await }.await {
                        Ok(()) => self.sends_committed(vec![w]).await,
                        Err(e) => {
                            let _ = w.done.send(Err(e));
                        }
                    }
                }
            }
            Err(e) => {
                if let Some(w) = batch.into_iter().next() {
                    let _ = w.done.send(Err(e));
                }
            }
        }
    }

    /// Answers the senders, wakes the sender and tells live inboxes (a lost event only delays
    /// a refresh).
    async fn sends_committed(&self, batch: Vec<Waiting>) {
        let events: Vec<Event> = batch.iter().map(|w| created_event(w.tenant, &w.send.row)).collect();
        for w in batch {
            let _ = w.done.send(Ok(()));
        }
        self.wa.send_wakeup.notify_waiters();
        if let Err(e) = self.bus.publish_many(&events).await {
            tracing::warn!(error = %e, "publishing events failed; live views catch up on their next load");
        }
    }
}

/// Writes a batch, tenant by tenant, in one transaction.
async fn write_batch(mut tx: Tx, batch: &[Waiting]) -> AppResult<()> {
    let mut tenants: Vec<TenantId> = batch.iter().map(|w| w.tenant).collect();
    tenants.sort_unstable();
    tenants.dedup();
    for t in tenants {
        let sends: Vec<&PreparedSend> = batch.iter().filter(|w| w.tenant == t).map(|w| &w.send).collect();
        write_sends(&mut tx.tenant(t), &sends).await?;
    }
    tx.commit().await?;
    Ok(())
}
