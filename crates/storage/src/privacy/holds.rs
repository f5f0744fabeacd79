//! Legal holds. An active hold (not released) keeps what it covers out of retention purges and
//! erasure. Row-level purges exclude held contacts in SQL with [`not_held_sql`]; tenant-wide
//! holds are checked before a category is purged at all.

use uuid::Uuid;

use crate::db::Scope;
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    pub id: Uuid,
    pub scope: String,
    pub subject_id: Option<Uuid>,
    /// `None`: every category.
    pub category: Option<String>,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: i64,
    pub released_at: Option<i64>,
    pub released_by: Option<String>,
    pub release_reason: Option<String>,
}

const COLUMNS: &str = "id, scope, subject_id, category, reason, placed_by, placed_at, \
    released_at, released_by, release_reason";

pub async fn insert(s: &mut Scope<'_>, h: &HoldRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO legal_holds (tenant_id, id, scope, subject_id, category, reason, placed_by,
             placed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tid).bind(h.id).bind(&h.scope).bind(h.subject_id).bind(&h.category).bind(&h.reason)
    .bind(&h.placed_by).bind(h.placed_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<HoldRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_holds WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id)
    .fetch_one(&mut *c).await)?)
}

/// Newest first; only active ones unless `include_released`.
pub async fn list(s: &mut Scope<'_>, include_released: bool, before: Option<Uuid>, limit: i64) -> Result<Vec<HoldRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_holds WHERE tenant_id = $1
           AND ($2 OR released_at IS NULL) AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4"
    )))
    .bind(tid).bind(include_released).bind(before).bind(limit)
    .fetch_all(&mut *c).await)?)
}

/// Releases an active hold. `NotFound` when there is none with this id or it was released.
pub async fn release(s: &mut Scope<'_>, id: Uuid, by: &str, reason: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE legal_holds SET released_at = $3, released_by = $4, release_reason = $5
         WHERE tenant_id = $1 AND id = $2 AND released_at IS NULL",
    )
    .bind(tid).bind(id).bind(now).bind(by).bind(reason)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Active holds that cover `subject` (a contact or conversation) or the whole tenant, in any
/// category. With `subject = None`, only the tenant-wide ones.
pub async fn active_covering(s: &mut Scope<'_>, subject: Option<Uuid>) -> Result<Vec<HoldRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_holds WHERE tenant_id = $1 AND released_at IS NULL
           AND (scope = 'tenant' OR ($2 IS NOT NULL AND subject_id = $2))
         ORDER BY placed_at, id"
    )))
    .bind(tid).bind(subject)
    .fetch_all(&mut *c).await)?)
}

/// Whether the tenant has any active hold (tenant purge waits while one exists).
pub async fn any_active(s: &mut Scope<'_>) -> Result<Option<HoldRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_holds WHERE tenant_id = $1 AND released_at IS NULL
         ORDER BY placed_at, id LIMIT 1"
    )))
    .bind(tid)
    .fetch_optional(&mut *c).await)?)
}

/// An active hold that keeps a channel's purge waiting: a tenant-wide one, or one on a
/// conversation of the channel or on a contact who wrote to it (in any category: the purge
/// removes the channel's data as a whole).
pub async fn active_on_channel(s: &mut Scope<'_>, channel: Uuid) -> Result<Option<HoldRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, HoldRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM legal_holds h WHERE h.tenant_id = $1 AND h.released_at IS NULL
           AND (h.scope = 'tenant' OR EXISTS (SELECT 1 FROM conversations c WHERE c.tenant_id = $1
                AND c.channel_id = $2 AND (c.id = h.subject_id OR c.contact_id = h.subject_id)))
         ORDER BY h.placed_at, h.id LIMIT 1"
    )))
    .bind(tid).bind(channel)
    .fetch_optional(&mut *c).await)?)
}

/// A SQL condition that is true when no active hold of the subject named by
/// `alias.subject_column` covers `category`, where `category_param` is the placeholder bound
/// to the category name. For purges of contact- or conversation-owned rows:
/// `DELETE … WHERE … AND {not_held_sql("m", "conversation_id", "$4")}`.
#[must_use]
pub fn not_held_sql(alias: &str, subject_column: &str, category_param: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = {alias}.tenant_id
           AND h.released_at IS NULL AND h.subject_id = {alias}.{subject_column}
           AND (h.category IS NULL OR h.category = {category_param}))"
    )
}
