//! Tenant deletion: the record of a requested deletion (a platform row that outlives the
//! tenant), and the batched removal of every row a tenant owns.
//!
//! **Extension point:** [`TENANT_TABLES`] lists every tenant-owned table in the order rows
//! can be deleted (children before parents). A migration that adds a tenant-owned table adds
//! it here; the storage test `tenant_tables_cover_the_schema` fails until it does.

use uuid::Uuid;

use crate::Result;
use crate::db::{Platform, Scope};

/// A tenant-owned table: the column holding the tenant id and the columns that, with it,
/// identify a row (what batches are selected by).
#[derive(Debug, Clone, Copy)]
pub struct TenantTable {
    pub name: &'static str,
    pub tenant_column: &'static str,
    pub key: &'static str,
}

const fn t(name: &'static str, key: &'static str) -> TenantTable {
    TenantTable { name, tenant_column: "tenant_id", key }
}

/// Every tenant-owned table, children first; the tenant row itself last.
pub const TENANT_TABLES: &[TenantTable] = &[
    t("team_members", "team_id, user_id"),
    t("sessions", "token_hash"),
    t("user_recovery_codes", "user_id, code_hash"),
    t("invitations", "id"),
    t("users", "id"),
    t("api_keys", "id"),
    t("search_docs", "id"),
    t("message_reactions", "message_id, reactor"),
    t("parked_statuses", "channel_id, provider_message_id, status, error_code"),
    t("media", "id"),
    t("messages", "id"),
    t("conversation_activity", "id"),
    t("conversation_labels", "conversation_id, label"),
    t("conversations", "id"),
    t("teams", "id"),
    t("templates", "id"),
    t("canned_responses", "id"),
    t("channel_events", "id"),
    t("webhook_event_subjects", "wa_id_index, event_id"),
    t("webhook_events", "id"),
    t("channels", "id"),
    t("contact_labels", "contact_id, label"),
    t("contacts", "id"),
    t("contact_keys", "contact_id, key_id"),
    t("consent_events", "id"),
    t("consents", "contact_id, purpose"),
    t("processing_limits", "contact_id, kind"),
    t("suppressions", "identifier_index"),
    t("privacy_verification_codes", "request_id"),
    t("erasure_steps", "request_id, step"),
    t("third_party_notifications", "id"),
    t("privacy_requests", "id"),
    t("transfer_log", "contact_id, recipient, category"),
    t("legal_holds", "id"),
    t("retention_run_counts", "run_id, category"),
    t("retention_runs", "id"),
    t("retention_policies", "category"),
    t("privacy_settings", "tenant_id"),
    t("jobs", "id"),
    t("audit_log", "seq"),
    t("audit_heads", "tenant_id"),
    t("tenant_keys", "key_id"),
    TenantTable { name: "tenants", tenant_column: "id", key: "id" },
];

/// Platform tables that are not owned by one tenant (never purged with a tenant).
pub const PLATFORM_TABLES: &[&str] = &["schedules", "tenant_deletions"];

/// Deletes up to `limit` of the scope's tenant rows from `table`. Search documents go
/// through [`crate::search::purge_batch`]: their SQLite FTS5 rows carry no tenant.
pub async fn purge_batch(s: &mut Scope<'_>, table: &TenantTable, limit: i64) -> Result<u64> {
    if table.name == "search_docs" {
        return crate::search::purge_batch(s, limit).await;
    }
    let tid = s.tid();
    let TenantTable { name, tenant_column: tc, key } = *table;
    Ok(on!(s.ex(), c => sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {name} WHERE {tc} = $1 AND ({key}) IN (
             SELECT {key} FROM {name} WHERE {tc} = $1 LIMIT $2)"
    )))
    .bind(tid).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeletionRow {
    pub tenant_id: Uuid,
    pub requested_at: i64,
    pub requested_by: String,
    pub purge_after: i64,
    pub postponed_reason: Option<String>,
    pub purged_at: Option<i64>,
    /// JSON: rows purged per table.
    pub summary: Option<String>,
}

const COLUMNS: &str = "tenant_id, requested_at, requested_by, purge_after, postponed_reason, purged_at, summary";

/// Records a deletion request; a second request keeps the first one's schedule.
pub async fn request(s: &mut Scope<'_>, requested_by: &str, now: i64, purge_after: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO tenant_deletions (tenant_id, requested_at, requested_by, purge_after)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tid).bind(now).bind(requested_by).bind(purge_after)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn deletion(s: &mut Scope<'_>) -> Result<Option<DeletionRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, DeletionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenant_deletions WHERE tenant_id = $1"
    )))
    .bind(tid)
    .fetch_optional(&mut *c).await)?)
}

/// Deletions whose grace period is over and that are not purged yet.
pub async fn due(p: &mut Platform<'_>, now: i64) -> Result<Vec<DeletionRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, DeletionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenant_deletions WHERE purged_at IS NULL AND purge_after <= $1
         ORDER BY purge_after"
    )))
    .bind(now)
    .fetch_all(&mut *c).await)?)
}

pub async fn postpone(s: &mut Scope<'_>, reason: Option<&str>) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE tenant_deletions SET postponed_reason = $2 WHERE tenant_id = $1",
    )
    .bind(tid).bind(reason)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn mark_purged(s: &mut Scope<'_>, now: i64, summary: &str) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE tenant_deletions SET purged_at = $2, summary = $3, postponed_reason = NULL
         WHERE tenant_id = $1",
    )
    .bind(tid).bind(now).bind(summary)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
