//! The webhook inbox and the channel event log.

use switchboard_privacy::{BlindIndex, Sealed};
use uuid::Uuid;

use crate::Result;
use crate::db::Scope;
use crate::filter::{bulk_chunks, bulk_sql, values_list};

#[derive(Debug, Clone)]
pub struct NewWebhookEvent {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub received_at: i64,
    pub state: &'static str,
    pub body_sealed: Option<Sealed<Vec<u8>>>,
    pub messages: i32,
    pub statuses: i32,
    pub error: Option<String>,
}

pub async fn insert(s: &mut Scope<'_>, e: &NewWebhookEvent) -> Result<()> {
    insert_many(s, std::slice::from_ref(e)).await
}

/// The events of an ingest batch, one statement per [`bulk_chunks`] chunk.
pub async fn insert_many(s: &mut Scope<'_>, events: &[NewWebhookEvent]) -> Result<()> {
    const COLS: usize = 8;
    let tid = s.tid();
    for chunk in bulk_chunks(s.backend(), events) {
        let sql = bulk_sql(s.backend(), format!(
            "INSERT INTO webhook_events (tenant_id, id, channel_id, received_at, state, body_sealed, messages, statuses, error)
             SELECT $1, v.* FROM (VALUES {}) AS v",
            values_list(chunk.len(), COLS, 2)
        ));
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for e in chunk {
                q = q.bind(e.id).bind(e.channel_id).bind(e.received_at).bind(e.state).bind(&e.body_sealed)
                    .bind(e.messages).bind(e.statuses).bind(&e.error);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedEvent {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub received_at: i64,
    pub body_sealed: Option<Sealed<Vec<u8>>>,
    pub attempts: i32,
}

pub async fn failed(s: &mut Scope<'_>, limit: i64) -> Result<Vec<FailedEvent>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, FailedEvent>(
        "SELECT id, channel_id, received_at, body_sealed, attempts FROM webhook_events
         WHERE tenant_id = $1 AND state = 'failed' ORDER BY attempts, received_at LIMIT $2",
    )
    .bind(tid).bind(limit).fetch_all(&mut *c).await)?)
}

/// Records whom a kept body is about (blind indexes of the WhatsApp ids it names), so an
/// erasure finds it without opening every kept body.
pub async fn insert_subjects(s: &mut Scope<'_>, event: Uuid, wa_indexes: &[BlindIndex]) -> Result<()> {
    let tid = s.tid();
    for chunk in bulk_chunks(s.backend(), wa_indexes) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO webhook_event_subjects (tenant_id, event_id, wa_id_index)
                 SELECT $1, $2, v.* FROM (VALUES {}) AS v WHERE true ON CONFLICT DO NOTHING",
                values_list(chunk.len(), 1, 3)
            ),
        );
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid).bind(event);
            for index in chunk {
                q = q.bind(*index);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Erasure: deletes up to `limit` kept webhook events that name this WhatsApp id (by its
/// blind index), with their subject rows. Returns the events deleted.
pub async fn delete_for_subject(s: &mut Scope<'_>, wa_index: BlindIndex, limit: i64) -> Result<u64> {
    let tid = s.tid();
    let events: Vec<Uuid> = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT event_id FROM webhook_event_subjects WHERE tenant_id = $1 AND wa_id_index = $2 LIMIT $3",
    )
    .bind(tid).bind(wa_index).bind(limit)
    .fetch_all(&mut *c).await)?;
    crate::history::delete_in(s, "webhook_event_subjects", "event_id", &events).await?;
    crate::history::delete_in(s, "webhook_events", "id", &events).await
}

/// After a successful reprocessing: the body is no longer needed, nor whom it was about.
pub async fn mark_processed(s: &mut Scope<'_>, id: Uuid, messages: i32, statuses: i32) -> Result<()> {
    let tid = s.tid();
    crate::history::delete_in(s, "webhook_event_subjects", "event_id", &[id]).await?;
    on!(s.ex(), c => sqlx::query(
        "UPDATE webhook_events SET state = 'processed', body_sealed = NULL, error = NULL,
             messages = $3, statuses = $4, attempts = attempts + 1
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(messages).bind(statuses)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn record_failure(s: &mut Scope<'_>, id: Uuid, error: &str) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE webhook_events SET error = $3, attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(error)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Counts by state, for tests and operators.
pub async fn counts(s: &mut Scope<'_>) -> Result<Vec<(String, i64)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT state, COUNT(*) FROM webhook_events WHERE tenant_id = $1 GROUP BY state ORDER BY state",
    )
    .bind(tid).fetch_all(&mut *c).await)?)
}

#[derive(Debug, Clone)]
pub struct NewChannelEvent {
    pub channel_id: Uuid,
    pub field: String,
    /// A short, value-free description (`template APPROVED`, `quality GREEN`).
    pub summary: String,
    pub payload_sealed: Option<Sealed<serde_json::Value>>,
    pub at: i64,
}

pub async fn insert_channel_event(s: &mut Scope<'_>, e: &NewChannelEvent) -> Result<Uuid> {
    let tid = s.tid();
    let id = Uuid::now_v7();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO channel_events (tenant_id, id, channel_id, field, summary, payload_sealed, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tid).bind(id).bind(e.channel_id).bind(&e.field).bind(&e.summary).bind(&e.payload_sealed).bind(e.at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelEventRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub field: String,
    pub summary: String,
    pub at: i64,
}

pub async fn channel_events(s: &mut Scope<'_>, channel: Uuid, limit: i64) -> Result<Vec<ChannelEventRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelEventRow>(
        "SELECT id, channel_id, field, summary, at FROM channel_events
         WHERE tenant_id = $1 AND channel_id = $2 ORDER BY at DESC, id DESC LIMIT $3",
    )
    .bind(tid).bind(channel).bind(limit).fetch_all(&mut *c).await)?)
}
