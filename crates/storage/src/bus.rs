//! The event bus: how a change made on one node reaches live screens on every node.
//! In-process (a broadcast channel) on a single node; PostgreSQL LISTEN/NOTIFY when several
//! nodes share a PostgreSQL database. Events carry ids only; subscribers read the rows.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::Result;

const CHANNEL: &str = "switchboard_events";
const BUFFER: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub tenant_id: Uuid,
    /// What happened, e.g. `message.created`, `message.status`, `conversation.updated`.
    pub topic: String,
    /// The object the event is about.
    pub subject: Option<Uuid>,
    /// A second id subscribers filter on, e.g. the conversation of a message.
    pub related: Option<Uuid>,
    /// When it was published (ms), for end-to-end latency measurements.
    pub at: i64,
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    async fn publish(&self, event: &Event) -> Result<()>;
    /// Publishes several events; implementations pack them to save round trips.
    async fn publish_many(&self, events: &[Event]) -> Result<()> {
        for e in events {
            self.publish(e).await?;
        }
        Ok(())
    }
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    fn name(&self) -> &'static str;
}

pub struct InProcessBus {
    tx: broadcast::Sender<Event>,
}

impl InProcessBus {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self { tx: broadcast::channel(BUFFER).0 })
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<()> {
        // No subscribers is not an error: nobody is watching.
        let _ = self.tx.send(event.clone());
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}

/// LISTEN/NOTIFY. Every node listens on one channel and re-broadcasts locally, including the
/// publishing node itself, so all nodes see events in the same way.
pub struct PgBus {
    pool: PgPool,
    tx: broadcast::Sender<Event>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PgBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgBus {
    async fn notify(&self, packed: &[String]) -> Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("[{}]", packed.join(",")))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Connects the listener and starts forwarding notifications.
    pub async fn start(pool: PgPool) -> Result<Arc<Self>> {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let tx = broadcast::channel(BUFFER).0;
        let forward = tx.clone();
        let task = tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection; an error here means the
                // reconnect failed, so wait and try again rather than end live updates.
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<Vec<Event>>(n.payload()) {
                        Ok(events) => {
                            for e in events {
                                let _ = forward.send(e);
                            }
                        }
                        Err(_) => tracing::warn!("ignoring malformed event notification"),
                    },
                    // The listener keeps its pooled connection until dropped: leaving the loop
                    // is what lets `Db::close` finish.
                    Err(sqlx::Error::PoolClosed) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener lost its connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Arc::new(Self { pool, tx, listener: task }))
    }
}

/// NOTIFY payloads must stay under 8000 bytes: events are packed in arrays below that.
const NOTIFY_BUDGET: usize = 7000;

#[async_trait]
impl EventBus for PgBus {
    async fn publish(&self, event: &Event) -> Result<()> {
        self.publish_many(std::slice::from_ref(event)).await
    }

    async fn publish_many(&self, events: &[Event]) -> Result<()> {
        let mut chunk: Vec<String> = Vec::new();
        let mut size = 2;
        for e in events {
            let one = serde_json::to_string(e).unwrap_or_default();
            if size + one.len() + 1 > NOTIFY_BUDGET && !chunk.is_empty() {
                self.notify(&chunk).await?;
                chunk.clear();
                size = 2;
            }
            size += one.len() + 1;
            chunk.push(one);
        }
        if !chunk.is_empty() {
            self.notify(&chunk).await?;
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    fn name(&self) -> &'static str {
        "postgres-notify"
    }
}
