//! What the inbox keeps besides conversations and messages: the activity of a conversation
//! (who assigned, resolved, reopened it) and the tenant's canned responses.

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub kind: String,
    pub actor_user_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    /// The team a conversation was assigned to.
    pub target_team_id: Option<Uuid>,
    /// The team's name when the line was written (kept for deleted teams).
    pub target_team_name: Option<String>,
    pub created_at: i64,
}

pub async fn record_activity(s: &mut Scope<'_>, a: &ActivityRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO conversation_activity (tenant_id, id, conversation_id, kind, actor_user_id, target_user_id,
             target_team_id, target_team_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tid).bind(a.id).bind(a.conversation_id).bind(&a.kind).bind(a.actor_user_id).bind(a.target_user_id)
    .bind(a.target_team_id).bind(&a.target_team_name).bind(a.created_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A conversation's activity between two times (inclusive), oldest first.
pub async fn activity(s: &mut Scope<'_>, conversation: Uuid, from: i64, to: i64) -> Result<Vec<ActivityRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ActivityRow>(
        "SELECT id, conversation_id, kind, actor_user_id, target_user_id, target_team_id, target_team_name, created_at
         FROM conversation_activity
         WHERE tenant_id = $1 AND conversation_id = $2 AND created_at BETWEEN $3 AND $4 ORDER BY created_at, id",
    )
    .bind(tid).bind(conversation).bind(from).bind(to).fetch_all(&mut *c).await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CannedRow {
    pub id: Uuid,
    pub shortcut: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const CANNED: &str = "id, shortcut, body, created_at, updated_at";

/// All canned responses, by shortcut.
pub async fn canned_list(s: &mut Scope<'_>) -> Result<Vec<CannedRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CANNED} FROM canned_responses WHERE tenant_id = $1 ORDER BY shortcut"
    )))
    .bind(tid).fetch_all(&mut *c).await)?)
}

pub async fn canned_get(s: &mut Scope<'_>, id: Uuid) -> Result<CannedRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CANNED} FROM canned_responses WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// Inserts or updates (by id); a shortcut already taken is a conflict.
pub async fn canned_save(s: &mut Scope<'_>, r: &CannedRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO canned_responses (tenant_id, id, shortcut, body, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, id) DO UPDATE SET shortcut = excluded.shortcut, body = excluded.body,
             updated_at = excluded.updated_at",
    )
    .bind(tid).bind(r.id).bind(&r.shortcut).bind(&r.body).bind(r.created_at).bind(r.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes one; the number of rows deleted (0: there was none).
pub async fn canned_delete(s: &mut Scope<'_>, id: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM canned_responses WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?)
}
