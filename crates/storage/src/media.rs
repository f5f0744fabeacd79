//! Media attached to messages. The bytes live sealed in the blob store; this table tracks
//! the download.

use uuid::Uuid;

use crate::db::Scope;
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub message_id: Uuid,
    pub contact_id: Uuid,
    pub channel_id: Uuid,
    pub provider_media_id: String,
    pub kind: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<i64>,
    pub blob_key: Option<String>,
    pub state: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, message_id, contact_id, channel_id, provider_media_id, kind, mime_type, \
    sha256, size_bytes, blob_key, state, error, created_at, updated_at";

pub async fn insert(s: &mut Scope<'_>, m: &MediaRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO media (tenant_id, id, message_id, contact_id, channel_id, provider_media_id, kind, mime_type,
             sha256, size_bytes, blob_key, state, error, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tid).bind(m.id).bind(m.message_id).bind(m.contact_id).bind(m.channel_id).bind(&m.provider_media_id)
    .bind(&m.kind).bind(&m.mime_type).bind(&m.sha256).bind(m.size_bytes).bind(&m.blob_key).bind(&m.state)
    .bind(&m.error).bind(m.created_at).bind(m.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<MediaRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// Every media row of a contact, oldest first (an export).
pub async fn of_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<MediaRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE tenant_id = $1 AND contact_id = $2 ORDER BY created_at, id"
    )))
    .bind(tid).bind(contact).fetch_all(&mut *c).await)?)
}

pub async fn of_messages(s: &mut Scope<'_>, messages: &[Uuid]) -> Result<Vec<MediaRow>> {
    let tid = s.tid();
    let mut out = Vec::new();
    for &m in messages {
        let rows: Vec<MediaRow> = on!(s.ex(), c => sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM media WHERE tenant_id = $1 AND message_id = $2"
        )))
        .bind(tid).bind(m).fetch_all(&mut *c).await)?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn stored(s: &mut Scope<'_>, id: Uuid, blob_key: &str, mime: &str, size: i64, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE media SET state = 'stored', blob_key = $3, mime_type = $4, size_bytes = $5, error = NULL, updated_at = $6
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(blob_key).bind(mime).bind(size).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Records a failed attempt; `unavailable` once retries are exhausted or retrying cannot help.
pub async fn attempt_failed(s: &mut Scope<'_>, id: Uuid, error: &str, unavailable: bool, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE media SET error = $3, state = CASE WHEN $4 THEN 'unavailable' ELSE state END, updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(error).bind(unavailable).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
