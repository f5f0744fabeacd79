//! Group commit: callers queue their work and wait; a writer takes every item waiting (up to a
//! batch), does them in one transaction, commits once, and only then answers them all. One
//! durable commit costs an fsync, which caps a commit per request at about 2k/s on our
//! machines (LIMITS.md); per batch, the writer keeps up with many times that. Nothing is
//! answered before its commit.

use std::sync::Arc;

use switchboard_storage::{Backend, Db, Tx};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{AppError, AppResult};

/// Items waiting for a writer. Several writers (PostgreSQL) share one queue.
pub(crate) struct Queue<T> {
    tx: mpsc::Sender<T>,
    rx: Arc<Mutex<mpsc::Receiver<T>>>,
}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(16));
        Self { tx, rx: Arc::new(Mutex::new(rx)) }
    }

    pub(crate) async fn push(&self, item: T) -> AppResult<()> {
        self.tx.send(item).await.map_err(|_| {
            tracing::error!("a group-commit queue is closed: its writers are gone");
            AppError::Unavailable
        })
    }

    /// The next batch (at most `max` items) and the transaction to do it in. `None` once `stop`
    /// is cancelled and nothing is left.
    ///
    /// On SQLite the writer first, then the rest of the batch: items that arrive while the one
    /// writer is busy (the previous batch, a retention batch) join this batch instead of waiting
    /// for it to commit and then for their own. PostgreSQL's writers run side by side; there
    /// none holds the queue while it opens its transaction.
    pub(crate) async fn next_batch(
        &self,
        db: &Db,
        max: usize,
        stop: &CancellationToken,
    ) -> Option<(AppResult<Tx>, Vec<T>)> {
        let mut rx = self.rx.lock().await;
        let first = tokio::select! {
            item = rx.recv() => item,
            () = stop.cancelled() => rx.try_recv().ok(),
        }?;
        let early = if db.backend() == Backend::Sqlite { Some(db.write().await) } else { None };
        let mut batch = vec![first];
        while batch.len() < max.max(1) {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        drop(rx);
        let tx = match early {
            Some(tx) => tx,
            None => db.write().await,
        };
        Some((tx.map_err(AppError::from), batch))
    }
}

/// The writer's answer to a queued item. A writer only drops an item unanswered when it stops
/// or fails; the caller then gets 503 (Meta or the API client retries) and the log says so.
pub(crate) async fn answer(rx: oneshot::Receiver<AppResult<()>>) -> AppResult<()> {
    rx.await.unwrap_or_else(|_| {
        tracing::error!("a group-commit writer dropped a queued item unanswered");
        Err(AppError::Unavailable)
    })
}

/// Waits for a queue's writers to finish. One that panicked is logged: on SQLite it was the
/// only writer, and what it held was answered 503.
pub(crate) async fn join_writers(mut set: tokio::task::JoinSet<()>, queue: &str) {
    while let Some(r) = set.join_next().await {
        if let Err(e) = r {
            tracing::error!(queue, error = %e, "a group-commit writer stopped unexpectedly");
        }
    }
}

/// How many writers share a queue: one on SQLite (it has one), `configured` on PostgreSQL.
pub(crate) fn writers(db: &Db, configured: usize) -> usize {
    match db.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => configured.max(1),
    }
}
