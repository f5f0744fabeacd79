//! Tenants: the organisations using Switchboard.

use uuid::Uuid;

use crate::Result;
use crate::db::{Platform, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub default_region: String,
    /// JSON array of CIDR strings; empty means "no restriction".
    pub ip_allowlist: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deactivated_at: Option<i64>,
    /// `reopen` a resolved conversation when the customer writes again, or start a `new` one.
    pub resolved_conversation_policy: String,
    /// Mark inbound messages read on WhatsApp when an agent opens the conversation.
    pub send_read_receipts: bool,
}

const COLUMNS: &str = "id, name, status, default_region, ip_allowlist, created_at, updated_at, deactivated_at, \
    resolved_conversation_policy, send_read_receipts";

/// Creating a tenant is platform-level: there is no tenant to scope to yet.
pub async fn insert(p: &mut Platform<'_>, row: &TenantRow) -> Result<()> {
    on!(p.ex(), c => sqlx::query(
        "INSERT INTO tenants (id, name, status, default_region, ip_allowlist, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.id)
    .bind(&row.name)
    .bind(&row.status)
    .bind(&row.default_region)
    .bind(&row.ip_allowlist)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The scope's own tenant row.
pub async fn get(s: &mut Scope<'_>) -> Result<TenantRow> {
    let id = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TenantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *c)
    .await)?)
}

pub async fn find_by_name(p: &mut Platform<'_>, name: &str) -> Result<Option<TenantRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, TenantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants WHERE name = $1 ORDER BY created_at LIMIT 1"
    )))
    .bind(name)
    .fetch_optional(&mut *c)
    .await)?)
}

pub async fn list(p: &mut Platform<'_>) -> Result<Vec<TenantRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, TenantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants ORDER BY id"
    )))
    .fetch_all(&mut *c)
    .await)?)
}

/// Writes the settings columns of `row` (the service merges a PATCH first).
pub async fn update_settings(s: &mut Scope<'_>, row: &TenantRow, now: i64) -> Result<()> {
    let id = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE tenants SET name = $2, default_region = $3, ip_allowlist = $4, updated_at = $5,
             resolved_conversation_policy = $6, send_read_receipts = $7
         WHERE id = $1",
    )
    .bind(id)
    .bind(&row.name)
    .bind(&row.default_region)
    .bind(&row.ip_allowlist)
    .bind(now)
    .bind(&row.resolved_conversation_policy)
    .bind(row.send_read_receipts)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(())
}

pub async fn set_status(s: &mut Scope<'_>, status: &str, now: i64) -> Result<()> {
    let id = s.tid();
    let deactivated_at = (status == "deactivated").then_some(now);
    on!(s.ex(), c => sqlx::query(
        "UPDATE tenants SET status = $2, updated_at = $3, deactivated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(now)
    .bind(deactivated_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
