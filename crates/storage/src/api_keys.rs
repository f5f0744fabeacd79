//! API keys: `sb_<prefix>_<secret>`. The prefix is stored in clear to find the key; the secret
//! only as a SHA-256 digest.

use uuid::Uuid;

use crate::db::{Platform, Scope};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    /// Space-separated permission scopes.
    pub scopes: String,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "tenant_id, id, name, prefix, secret_hash, scopes, created_by, created_at, \
    last_used_at, revoked_at";

pub async fn insert(s: &mut Scope<'_>, row: &ApiKeyRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO api_keys (tenant_id, id, name, prefix, secret_hash, scopes, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tid).bind(row.id).bind(&row.name).bind(&row.prefix).bind(&row.secret_hash)
    .bind(&row.scopes).bind(row.created_by).bind(row.created_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Entry point for every bearer-authenticated request.
pub async fn find_by_prefix(p: &mut Platform<'_>, prefix: &str) -> Result<Option<ApiKeyRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, ApiKeyRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_keys WHERE prefix = $1"
    )))
    .bind(prefix)
    .fetch_optional(&mut *c).await)?)
}

pub async fn list(s: &mut Scope<'_>, after: Option<Uuid>, limit: i64) -> Result<Vec<ApiKeyRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ApiKeyRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 AND ($2 IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    )))
    .bind(tid).bind(after).bind(limit)
    .fetch_all(&mut *c).await)?)
}

pub async fn revoke(s: &mut Scope<'_>, id: Uuid, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tid).bind(id).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn revoke_all(s: &mut Scope<'_>, now: i64) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(tid).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Records use at most once a minute per key, to keep the hot path free of writes.
pub async fn touch(s: &mut Scope<'_>, id: Uuid, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE api_keys SET last_used_at = $3
         WHERE tenant_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3 - 60000)",
    )
    .bind(tid).bind(id).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A key together with its tenant's state and IP allow-list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyAuthRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub secret_hash: Vec<u8>,
    pub scopes: String,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub tenant_status: String,
    pub ip_allowlist: String,
}

pub async fn find_auth(p: &mut Platform<'_>, prefix: &str) -> Result<Option<ApiKeyAuthRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, ApiKeyAuthRow>(
        "SELECT k.tenant_id, k.id, k.secret_hash, k.scopes, k.revoked_at, k.last_used_at,
                t.status AS tenant_status, t.ip_allowlist
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
         WHERE k.prefix = $1",
    )
    .bind(prefix)
    .fetch_optional(&mut *c).await)?)
}
