//! Connected WhatsApp numbers. Secrets are sealed under the tenant key. Webhooks find their
//! channel before the tenant is known (by channel id or phone_number_id): those two lookups
//! are platform-wide entry points.

use switchboard_privacy::Sealed;
use uuid::Uuid;

use crate::db::{Platform, Scope};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub access_token_sealed: Sealed<String>,
    pub app_secret_sealed: Sealed<String>,
    pub verify_token_sealed: Sealed<String>,
    pub graph_base_url: String,
    pub api_version: String,
    pub status: String,
    pub throughput_per_sec: i32,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub disconnected_at: Option<i64>,
    /// A disconnected channel's Meta data goes after this instant (see `purge_batch`).
    pub purge_after: Option<i64>,
    /// JSON object: rows removed so far by the purge, per table.
    pub purge_counts: Option<String>,
    /// The legal hold that keeps the due purge waiting (state `held`), and since when.
    pub purge_hold_id: Option<Uuid>,
    pub purge_held_at: Option<i64>,
}

const COLUMNS: &str = "tenant_id, id, kind, name, phone_number_id, waba_id, display_phone_number, \
    access_token_sealed, app_secret_sealed, verify_token_sealed, graph_base_url, api_version, status, \
    throughput_per_sec, quality_rating, messaging_limit, created_at, updated_at, disconnected_at, purge_after, \
    purge_counts, purge_hold_id, purge_held_at";

pub async fn insert(s: &mut Scope<'_>, r: &ChannelRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO channels (tenant_id, id, kind, name, phone_number_id, waba_id, display_phone_number,
             access_token_sealed, app_secret_sealed, verify_token_sealed, graph_base_url, api_version,
             status, throughput_per_sec, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(tid).bind(r.id).bind(&r.kind).bind(&r.name).bind(&r.phone_number_id).bind(&r.waba_id)
    .bind(&r.display_phone_number).bind(&r.access_token_sealed).bind(&r.app_secret_sealed)
    .bind(&r.verify_token_sealed).bind(&r.graph_base_url).bind(&r.api_version).bind(&r.status)
    .bind(r.throughput_per_sec).bind(r.created_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<ChannelRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

pub async fn list(s: &mut Scope<'_>) -> Result<Vec<ChannelRow>> {
    list_where(s, "disconnected_at IS NULL").await
}

/// The connected numbers and the disconnected ones whose data is not purged yet.
pub async fn list_with_disconnected(s: &mut Scope<'_>) -> Result<Vec<ChannelRow>> {
    list_where(s, "purge_counts IS NULL").await
}

async fn list_where(s: &mut Scope<'_>, filter: &'static str) -> Result<Vec<ChannelRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 AND {filter} ORDER BY created_at"
    )))
    .bind(tid).fetch_all(&mut *c).await)?)
}

/// Per-channel webhook URL: the channel, whatever its tenant.
pub async fn find_by_id(p: &mut Platform<'_>, id: Uuid) -> Result<Option<ChannelRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE id = $1"
    )))
    .bind(id).fetch_optional(&mut *c).await)?)
}

/// Platform-wide webhook URL: the connected channel of a phone_number_id.
pub async fn find_by_phone_number_id(p: &mut Platform<'_>, phone_number_id: &str) -> Result<Option<ChannelRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE phone_number_id = $1 AND disconnected_at IS NULL"
    )))
    .bind(phone_number_id).fetch_optional(&mut *c).await)?)
}

/// Platform-wide webhook URL, for changes that name only the WABA (template updates): the
/// oldest connected channel of that account.
pub async fn find_by_waba_id(p: &mut Platform<'_>, waba_id: &str) -> Result<Option<ChannelRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE waba_id = $1 AND disconnected_at IS NULL ORDER BY created_at LIMIT 1"
    )))
    .bind(waba_id).fetch_optional(&mut *c).await)?)
}

pub async fn set_status(s: &mut Scope<'_>, id: Uuid, status: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let disconnected = (status == "disconnected").then_some(now);
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE channels SET status = $3, updated_at = $4, disconnected_at = COALESCE($5, disconnected_at)
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(status).bind(now).bind(disconnected)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Quality rating and messaging limit, as Meta reports them.
pub async fn set_quality(
    s: &mut Scope<'_>,
    id: Uuid,
    quality: Option<&str>,
    limit: Option<&str>,
    now: i64,
) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE channels SET quality_rating = COALESCE($3, quality_rating),
             messaging_limit = COALESCE($4, messaging_limit), updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(quality).bind(limit).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Disconnects a channel: status `disconnected`, its Meta data due for purging at `purge_after`.
pub async fn disconnect(s: &mut Scope<'_>, id: Uuid, now: i64, purge_after: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE channels SET status = 'disconnected', updated_at = $3, disconnected_at = $3, purge_after = $4
         WHERE tenant_id = $1 AND id = $2 AND disconnected_at IS NULL",
    )
    .bind(tid).bind(id).bind(now).bind(purge_after)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The tenant's disconnected channel of a phone_number_id whose purge is not due yet before
/// `now` (connecting the number again takes it back, with its history).
pub async fn find_reconnectable(s: &mut Scope<'_>, phone_number_id: &str, now: i64) -> Result<Option<ChannelRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 AND phone_number_id = $2
           AND disconnected_at IS NOT NULL AND purge_after > $3 AND purge_counts IS NULL
         ORDER BY disconnected_at DESC LIMIT 1"
    )))
    .bind(tid).bind(phone_number_id).bind(now).fetch_optional(&mut *c).await)?)
}

/// Connects a disconnected channel again with new credentials: active, its purge cancelled.
pub async fn reconnect(s: &mut Scope<'_>, r: &ChannelRow) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE channels SET name = $3, waba_id = $4, display_phone_number = $5, access_token_sealed = $6,
             app_secret_sealed = $7, verify_token_sealed = $8, graph_base_url = $9, api_version = $10,
             status = 'active', throughput_per_sec = $11, updated_at = $12, disconnected_at = NULL,
             purge_after = NULL, purge_hold_id = NULL, purge_held_at = NULL
         WHERE tenant_id = $1 AND id = $2 AND disconnected_at IS NOT NULL AND purge_counts IS NULL",
    )
    .bind(tid).bind(r.id).bind(&r.name).bind(&r.waba_id).bind(&r.display_phone_number)
    .bind(&r.access_token_sealed).bind(&r.app_secret_sealed).bind(&r.verify_token_sealed)
    .bind(&r.graph_base_url).bind(&r.api_version).bind(r.throughput_per_sec).bind(r.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Disconnected channels whose purge is due, across tenants (a platform entry point for the
/// periodic purge): (tenant, channel).
pub async fn purge_due(p: &mut Platform<'_>, now: i64, limit: i64) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(on!(p.ex(), c => sqlx::query_as(
        "SELECT tenant_id, id FROM channels WHERE purge_after <= $1 AND disconnected_at IS NOT NULL
         ORDER BY purge_after LIMIT $2",
    )
    .bind(now).bind(limit).fetch_all(&mut *c).await)?)
}

/// Records what a purge batch removed (in the batch's transaction).
pub async fn set_purge_counts(s: &mut Scope<'_>, id: Uuid, counts: &str) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE channels SET purge_counts = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).bind(counts)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records that a legal hold keeps the channel's due purge waiting (`Some`), or that it goes
/// on (`None`).
pub async fn set_purge_hold(s: &mut Scope<'_>, id: Uuid, hold: Option<Uuid>, now: i64) -> Result<()> {
    let tid = s.tid();
    let at = hold.map(|_| now);
    on!(s.ex(), c => sqlx::query(
        "UPDATE channels SET purge_hold_id = $3, purge_held_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(hold).bind(at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The channels whose purge waits for a legal hold (`hold`: that one only), oldest first.
pub async fn purge_held(s: &mut Scope<'_>, hold: Option<Uuid>) -> Result<Vec<ChannelRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 AND purge_hold_id IS NOT NULL
           AND ($2 IS NULL OR purge_hold_id = $2)
         ORDER BY purge_held_at, id"
    )))
    .bind(tid).bind(hold).fetch_all(&mut *c).await)?)
}

/// A table holding a channel's Meta data: `rows` is a condition on it where `$1` is the
/// tenant and `$2` the channel; `key` identifies a row (batches are selected by it).
#[derive(Debug, Clone, Copy)]
pub struct ChannelTable {
    pub name: &'static str,
    pub key: &'static str,
    pub rows: &'static str,
}

const OF_CHANNEL: &str = "channel_id = $2";

/// What a channel purge deletes after its messages (which go through `history`, with their
/// media rows and files and their search tokens), children first. Templates belong to the WhatsApp Business
/// Account: they go only when no other channel of the tenant uses that account. The 24-hour
/// window is a column of the conversation and goes with it.
pub const CHANNEL_TABLES: &[ChannelTable] = &[
    ChannelTable {
        name: "conversation_activity",
        key: "id",
        rows: "conversation_id IN (SELECT id FROM conversations WHERE tenant_id = $1 AND channel_id = $2)",
    },
    ChannelTable {
        name: "conversation_labels",
        key: "conversation_id, label",
        rows: "conversation_id IN (SELECT id FROM conversations WHERE tenant_id = $1 AND channel_id = $2)",
    },
    ChannelTable { name: "conversations", key: "id", rows: OF_CHANNEL },
    ChannelTable { name: "parked_statuses", key: "channel_id, provider_message_id, status, error_code", rows: OF_CHANNEL },
    ChannelTable { name: "channel_events", key: "id", rows: OF_CHANNEL },
    ChannelTable {
        name: "webhook_event_subjects",
        key: "wa_id_index, event_id",
        rows: "event_id IN (SELECT id FROM webhook_events WHERE tenant_id = $1 AND channel_id = $2)",
    },
    ChannelTable { name: "webhook_events", key: "id", rows: OF_CHANNEL },
    ChannelTable {
        name: "templates",
        key: "id",
        rows: "waba_id IN (SELECT waba_id FROM channels WHERE tenant_id = $1 AND id = $2)
           AND NOT EXISTS (SELECT 1 FROM channels o WHERE o.tenant_id = $1 AND o.id <> $2 AND o.waba_id = templates.waba_id)",
    },
];

/// Deletes up to `limit` rows of `table` belonging to `channel`.
pub async fn purge_batch(s: &mut Scope<'_>, table: &ChannelTable, channel: Uuid, limit: i64) -> Result<u64> {
    let tid = s.tid();
    let ChannelTable { name, key, rows } = *table;
    Ok(on!(s.ex(), c => sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {name} WHERE tenant_id = $1 AND ({key}) IN (
             SELECT {key} FROM {name} WHERE tenant_id = $1 AND {rows} LIMIT $3)"
    )))
    .bind(tid).bind(channel).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Removes the channel row itself, at the end of its purge (with its sealed secrets).
pub async fn delete(s: &mut Scope<'_>, id: Uuid) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("DELETE FROM channels WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
