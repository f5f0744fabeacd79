//! The purge of a disconnected number's Meta data (issue 5: "disconnecting a channel purges
//! that channel's Meta data after 30 days unless it is reconnected").
//!
//! `disconnect_channel` sets the channel's `purge_after`; connecting the same phone_number_id
//! before then takes the channel back and clears it. Once due, the `whatsapp.channel_purge`
//! schedule removes, in transactions of at most 1,000 rows (`privacy::batch`): the channel's
//! messages (with their reactions, media rows and files, and search tokens), then every table of
//! `channels::CHANNEL_TABLES` (conversation activity and labels,
//! conversations with their sealed previews and 24-hour windows, parked statuses, channel
//! events, webhook events, and the account's templates when no other number uses them), and
//! last the channel row with its sealed secrets, appending `channel.purged` with the counts.
//! Every batch adds its count to the channel row in its own transaction, so a purge cut short
//! (crash, budget) resumes where it stopped and still reports the whole of it. Contacts stay:
//! they belong to the tenant, not to the number. A legal hold on the tenant, or on a
//! conversation or contact of the number, keeps the purge waiting: the channel records the
//! hold (state `held`, shown on the settings and holds pages) and `channel.purge_held` is
//! audited once per hold; releasing the hold clears it and makes the schedule due at once, so
//! the purge goes on within a tick (`channel.purge_resumed`).

use std::time::Instant;

use serde_json::{Map, Value};
use switchboard_core::{ChannelId, TenantId};
use switchboard_storage::Scope;
use switchboard_storage::channels::{self, CHANNEL_TABLES};
use switchboard_storage::history::{self, Pick};
use switchboard_storage::privacy::holds;

use crate::audit::Audit;
use crate::privacy::batch::BatchSize;
use crate::{App, AppError, AppResult};

/// The schedule that runs [`App::purge_disconnected_channels`].
pub const SCHEDULE: &str = "whatsapp.channel_purge";

/// How far one call got with a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPurge {
    /// Every row is gone and the summary audited.
    Purged,
    /// The batch budget ran out; the next call carries on.
    Unfinished,
    /// A legal hold keeps the data.
    Held,
}

fn add_count(counts: &mut Map<String, Value>, table: &str, n: u64) {
    let before = counts.get(table).and_then(Value::as_u64).unwrap_or(0);
    counts.insert(table.to_owned(), (before + n).into());
}

impl App {
    /// The `whatsapp.channel_purge` schedule: purges every disconnected channel whose grace
    /// period is over, spending at most `max_batches` transactions per channel (`None`: no
    /// limit). Returns each channel looked at with how far it got.
    pub async fn purge_disconnected_channels(
        &self,
        max_batches: Option<u64>,
    ) -> AppResult<Vec<(TenantId, ChannelId, ChannelPurge)>> {
        let due = channels::purge_due(&mut self.db.read().await?.platform(), self.now().0, 100).await?;
        let mut out = Vec::with_capacity(due.len());
        for (tenant, channel) in due {
            let (tenant, channel) = (TenantId::from_uuid(tenant), ChannelId::from_uuid(channel));
            match self.purge_channel(tenant, channel, max_batches).await {
                Ok(outcome) => out.push((tenant, channel, outcome)),
                // Purged meanwhile (a run that lost its schedule lease finished it).
                Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn purge_channel(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        max_batches: Option<u64>,
    ) -> AppResult<ChannelPurge> {
        let id = channel.as_uuid();
        let mut budget = max_batches.unwrap_or(u64::MAX);
        let (hold, recorded) = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(tenant);
            (holds::active_on_channel(&mut s, id).await?, channels::get(&mut s, id).await?.purge_hold_id)
        };
        match (hold, recorded) {
            (Some(hold), Some(recorded)) if hold.id == recorded => return Ok(ChannelPurge::Held),
            (Some(_), _) => return self.record_purge_hold(tenant, channel).await,
            (None, Some(_)) => {
                self.record_purge_hold(tenant, channel).await?;
            }
            (None, None) => {}
        }
        let mut size = BatchSize::new(self.db.backend());
        loop {
            if budget == 0 {
                return Ok(ChannelPurge::Unfinished);
            }
            budget -= 1;
            let mut tx = self.db.write().await?;
            let held_since = Instant::now();
            let mut s = tx.tenant(tenant);
            let row = channels::get(&mut s, id).await?;
            let mut counts: Map<String, Value> = match &row.purge_counts {
                Some(json) => serde_json::from_str(json).map_err(AppError::internal)?,
                None => Map::new(),
            };
            let Some((table, n)) = self.purge_channel_batch(&mut s, id, size.rows()).await? else {
                let summary = serde_json::json!({"phone_number_id": row.phone_number_id, "rows": counts});
                Audit::system("channel_purge")
                    .record(self, &mut s, "channel.purged", Some(("channel", channel.to_string())), summary)
                    .await?;
                channels::delete(&mut s, id).await?;
                tx.commit().await?;
                self.wa.channels.forget(channel);
                tracing::info!(%tenant, %channel, "disconnected channel purged");
                return Ok(ChannelPurge::Purged);
            };
            add_count(&mut counts, table, n);
            channels::set_purge_counts(&mut s, id, &Value::Object(counts).to_string()).await?;
            tx.commit().await?;
            size.observe(held_since.elapsed());
        }
    }

    /// Brings the channel's `held` state in line with its holds, in one transaction: a hold
    /// not recorded yet is set on the channel and audited once (`channel.purge_held`, the
    /// hold's id); a recorded hold that no longer applies is cleared (`channel.purge_resumed`).
    /// Later runs that find the same hold change nothing, so the log gets one entry per hold,
    /// not one per run.
    async fn record_purge_hold(&self, tenant: TenantId, channel: ChannelId) -> AppResult<ChannelPurge> {
        let id = channel.as_uuid();
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let recorded = channels::get(&mut s, id).await?.purge_hold_id;
        let hold = holds::active_on_channel(&mut s, id).await?;
        let target = Some(("channel", channel.to_string()));
        let outcome = match (&hold, recorded) {
            (Some(h), Some(r)) if h.id == r => ChannelPurge::Held,
            (Some(h), _) => {
                channels::set_purge_hold(&mut s, id, Some(h.id), now).await?;
                Audit::system("channel_purge")
                    .record(self, &mut s, "channel.purge_held", target, serde_json::json!({"legal_hold": h.id}))
                    .await?;
                tracing::info!(%tenant, %channel, hold = %h.id, "channel purge waits for a legal hold");
                ChannelPurge::Held
            }
            (None, Some(r)) => {
                channels::set_purge_hold(&mut s, id, None, now).await?;
                Audit::system("channel_purge")
                    .record(self, &mut s, "channel.purge_resumed", target, serde_json::json!({"legal_hold": r}))
                    .await?;
                ChannelPurge::Unfinished
            }
            (None, None) => ChannelPurge::Unfinished,
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// One batch of the first table that still holds rows of the channel: (table, rows).
    /// `None` when nothing is left. Media files are deleted before the caller commits (a
    /// rollback leaves rows whose file is gone, which the rerun removes).
    async fn purge_channel_batch(
        &self,
        s: &mut Scope<'_>,
        id: uuid::Uuid,
        limit: i64,
    ) -> AppResult<Option<(&'static str, u64)>> {
        let ids = history::pick_messages(s, Pick::Channel(id), limit).await?;
        if !ids.is_empty() {
            let removed = history::remove_messages(s, &ids).await?;
            self.delete_blobs(&removed.blob_keys).await?;
            return Ok(Some(("messages", removed.rows)));
        }
        for table in CHANNEL_TABLES {
            let n = channels::purge_batch(s, table, id, limit).await?;
            if n > 0 {
                return Ok(Some((table.name, n)));
            }
        }
        Ok(None)
    }
}
