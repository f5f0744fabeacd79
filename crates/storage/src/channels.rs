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
}

const COLUMNS: &str = "tenant_id, id, kind, name, phone_number_id, waba_id, display_phone_number, \
    access_token_sealed, app_secret_sealed, verify_token_sealed, graph_base_url, api_version, status, \
    throughput_per_sec, quality_rating, messaging_limit, created_at, updated_at, disconnected_at";

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
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 AND disconnected_at IS NULL ORDER BY created_at"
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
