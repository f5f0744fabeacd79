//! WhatsApp Business Cloud API: connected numbers, the webhook ingest (nothing lost, nothing
//! twice), the inbox (conversations and messages), outbound sends through an outbox with
//! pacing, templates, and media.
//!
//! Wire formats and the Graph client live in `switchboard-channels`; this module decides what
//! they mean for a tenant's data.

pub mod attachments;
pub mod channels;
pub mod compose;
pub mod content;
pub mod conversations;
pub mod ingest;
pub mod media;
pub mod outbox;
mod process;
pub mod purge;
pub mod sender;
pub mod template_parts;
pub mod templates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use switchboard_channels::whatsapp::{GraphClient, GraphConfig};
use tokio::sync::Notify;

use crate::{AppError, AppResult};

/// Job queue and kinds of the WhatsApp work that is not a send.
pub const QUEUE: &str = "whatsapp";
pub const JOB_MEDIA: &str = "whatsapp.media";
pub const JOB_MARK_READ: &str = "whatsapp.mark_read";
pub const JOB_TEMPLATE_SYNC: &str = "whatsapp.template_sync";
/// Sends have their own queue, drained by the batching sender.
pub const SEND_QUEUE: &str = "whatsapp.send";

/// Per-process WhatsApp state: caches and the queues between request handlers and the
/// background loops.
pub struct WaState {
    pub(crate) channels: channels::ChannelCache,
    graph: Mutex<HashMap<(String, String), GraphClient>>,
    pub(crate) ingest: ingest::Queue,
    pub(crate) outbox: outbox::Queue,
    /// Wakes the sender when a send was enqueued on this node.
    pub send_wakeup: Arc<Notify>,
    /// Wakes the generic job workers.
    pub jobs_wakeup: Arc<Notify>,
    pub(crate) pacing: sender::Pacing,
    /// Opt-out keywords per tenant, for the cheap check in the ingest path.
    pub(crate) keywords: crate::privacy::settings::KeywordCache,
    graph_timeout: std::time::Duration,
}

impl WaState {
    pub(crate) fn new(cfg: &crate::config::WhatsAppConfig) -> Self {
        Self {
            channels: channels::ChannelCache::default(),
            graph: Mutex::default(),
            ingest: ingest::Queue::new(cfg.ingest_batch * 8),
            outbox: outbox::queue(),
            graph_timeout: cfg.graph_timeout,
            send_wakeup: Arc::default(),
            jobs_wakeup: Arc::default(),
            pacing: sender::Pacing::default(),
            keywords: crate::privacy::settings::KeywordCache::default(),
        }
    }

    /// A Graph client for a base URL and API version (numbers may use different ones).
    pub(crate) fn graph(&self, base_url: &str, version: &str) -> AppResult<GraphClient> {
        let key = (base_url.to_owned(), version.to_owned());
        let mut map = self.graph.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let client = GraphClient::new(GraphConfig {
            base_url: base_url.to_owned(),
            api_version: version.to_owned(),
            timeout: self.graph_timeout,
            ..GraphConfig::default()
        })
        .map_err(AppError::internal)?;
        map.insert(key, client.clone());
        Ok(client)
    }
}
