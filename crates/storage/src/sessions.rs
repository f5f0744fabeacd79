//! Browser sessions. Only the SHA-256 of the token is stored; the token itself lives in the
//! user's cookie. Ending a session is deleting its row, so it takes effect on every node at once.

use uuid::Uuid;

use crate::Result;
use crate::db::{Platform, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// `pending` until the TOTP step passes; `passed`; or `not_required` without 2FA.
    pub mfa_state: String,
    pub mfa_attempts: i32,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "token_hash, tenant_id, user_id, mfa_state, mfa_attempts, ip, user_agent, \
    created_at, last_seen_at, expires_at";

pub async fn insert(s: &mut Scope<'_>, row: &SessionRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, mfa_state, mfa_attempts, ip,
             user_agent, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&row.token_hash).bind(tid).bind(row.user_id).bind(&row.mfa_state)
    .bind(row.mfa_attempts).bind(&row.ip).bind(&row.user_agent)
    .bind(row.created_at).bind(row.last_seen_at).bind(row.expires_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Entry point for every cookie-authenticated request: the session, whatever its tenant.
pub async fn find(p: &mut Platform<'_>, token_hash: &[u8]) -> Result<Option<SessionRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions WHERE token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(&mut *c)
    .await)?)
}

pub async fn touch(s: &mut Scope<'_>, token_hash: &[u8], now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND token_hash = $2",
    )
    .bind(tid).bind(token_hash).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_mfa(s: &mut Scope<'_>, token_hash: &[u8], state: &str, attempts: i32) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE sessions SET mfa_state = $3, mfa_attempts = $4 WHERE tenant_id = $1 AND token_hash = $2",
    )
    .bind(tid).bind(token_hash).bind(state).bind(attempts)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(s: &mut Scope<'_>, token_hash: &[u8]) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND token_hash = $2")
        .bind(tid).bind(token_hash)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Ends every session of a user, optionally sparing one (the caller's own).
pub async fn delete_for_user(s: &mut Scope<'_>, user: Uuid, except: Option<&[u8]>) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND ($3 IS NULL OR token_hash <> $3)",
    )
    .bind(tid).bind(user).bind(except)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

pub async fn delete_for_tenant(s: &mut Scope<'_>) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM sessions WHERE tenant_id = $1")
        .bind(tid)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

pub async fn list_for_user(s: &mut Scope<'_>, user: Uuid) -> Result<Vec<SessionRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC"
    )))
    .bind(tid).bind(user)
    .fetch_all(&mut *c).await)?)
}

/// Housekeeping: removes expired sessions across tenants.
pub async fn delete_expired(p: &mut Platform<'_>, now: i64) -> Result<u64> {
    Ok(on!(p.ex(), c => sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// What a request needs to know about its session, in one query: the session, the user's
/// current role and state, and the tenant's state and IP allow-list. Reading role and
/// disabled flag on every request is what makes a role change or a disabled account take
/// effect at once.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionAuthRow {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub mfa_state: String,
    pub mfa_attempts: i32,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub role: String,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub tenant_status: String,
    pub ip_allowlist: String,
}

pub async fn find_auth(p: &mut Platform<'_>, token_hash: &[u8]) -> Result<Option<SessionAuthRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, SessionAuthRow>(
        "SELECT s.tenant_id, s.user_id, s.mfa_state, s.mfa_attempts, s.last_seen_at, s.expires_at,
                u.role, u.disabled, u.totp_enabled, t.status AS tenant_status, t.ip_allowlist
         FROM sessions s
         JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
         JOIN tenants t ON t.id = s.tenant_id
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *c)
    .await)?)
}
