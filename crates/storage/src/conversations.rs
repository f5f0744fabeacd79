//! Conversations: the thread between a contact and one of the tenant's numbers. At most one is
//! not resolved per contact and number (a partial unique index), so concurrent first messages
//! cannot open two.

use switchboard_privacy::{BlindIndex, Sealed};
use uuid::Uuid;

use crate::db::{Backend, Scope};
use crate::filter::{Param, Where, bulk_chunks, bulk_sql, join_chunks, values_list};
use crate::locks::{self, Batched};
use crate::search::{self, Matching};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub contact_id: Uuid,
    pub channel_id: Uuid,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub snoozed_until: Option<i64>,
    pub last_message_at: i64,
    pub last_inbound_at: Option<i64>,
    pub unread_count: i32,
    pub preview_sealed: Option<Sealed<String>>,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    pub team_id: Option<Uuid>,
}

const COLUMNS: &str = "tenant_id, id, contact_id, channel_id, status, assignee_id, snoozed_until, \
    last_message_at, last_inbound_at, unread_count, preview_sealed, created_at, updated_at, resolved_at, team_id";

/// The conversation to reuse: open, pending or snoozed.
pub async fn find_active(s: &mut Scope<'_>, contact: Uuid, channel: Uuid) -> Result<Option<(Uuid, String)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT id, status FROM conversations
         WHERE tenant_id = $1 AND contact_id = $2 AND channel_id = $3 AND status <> 'resolved'",
    )
    .bind(tid).bind(contact).bind(channel).fetch_optional(&mut *c).await)?)
}

/// (contact, conversation) of the open, pending or snoozed conversations of these contacts on
/// a number: one lookup for a whole ingest batch.
pub async fn active_of(s: &mut Scope<'_>, channel: Uuid, contacts: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>> {
    let tid = s.tid();
    let mut out = Vec::with_capacity(contacts.len());
    for chunk in bulk_chunks(s.backend(), contacts) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "SELECT contact_id, id FROM conversations
             WHERE tenant_id = $1 AND channel_id = $2 AND status <> 'resolved' AND contact_id IN {}",
                values_list(1, chunk.len(), 3)
            ),
        );
        let rows: Vec<(Uuid, Uuid)> = on!(s.ex(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tid).bind(channel);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn latest_resolved(s: &mut Scope<'_>, contact: Uuid, channel: Uuid) -> Result<Option<Uuid>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT id FROM conversations WHERE tenant_id = $1 AND contact_id = $2 AND channel_id = $3
         AND status = 'resolved' ORDER BY last_message_at DESC LIMIT 1",
    )
    .bind(tid).bind(contact).bind(channel).fetch_optional(&mut *c).await)?)
}

/// Opens a conversation. False when another one was opened concurrently (the caller then
/// reuses that one).
pub async fn insert(s: &mut Scope<'_>, id: Uuid, contact: Uuid, channel: Uuid, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "INSERT INTO conversations (tenant_id, id, contact_id, channel_id, status, last_message_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $5, $5)
         ON CONFLICT (tenant_id, contact_id, channel_id) WHERE status <> 'resolved' DO NOTHING",
    )
    .bind(tid).bind(id).bind(contact).bind(channel).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Inserts many conversations as they are, one statement per [`bulk_chunks`] chunk
/// (bulk loads).
pub async fn insert_many(s: &mut Scope<'_>, rows: &[ConversationRow]) -> Result<()> {
    const COLS: usize = 14;
    let tid = s.tid();
    for chunk in bulk_chunks(s.backend(), rows) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO conversations ({COLUMNS}) SELECT $1, v.* FROM (VALUES {}) AS v WHERE TRUE",
                values_list(chunk.len(), COLS, 2)
            ),
        );
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for r in chunk {
                q = q.bind(r.id).bind(r.contact_id).bind(r.channel_id).bind(&r.status).bind(r.assignee_id)
                    .bind(r.snoozed_until).bind(r.last_message_at).bind(r.last_inbound_at).bind(r.unread_count)
                    .bind(&r.preview_sealed).bind(r.created_at).bind(r.updated_at).bind(r.resolved_at).bind(r.team_id);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub async fn reopen(s: &mut Scope<'_>, id: Uuid, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE conversations SET status = 'open', resolved_at = NULL, snoozed_until = NULL, updated_at = $3
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// New inbound messages of one conversation.
#[derive(Debug, Clone)]
pub struct InboundTouch {
    pub id: Uuid,
    /// The newest message's time.
    pub at: i64,
    /// How many messages arrived.
    pub count: i32,
    /// The preview of the newest message.
    pub preview: Sealed<String>,
    pub now: i64,
}

/// Records new inbound messages, one statement for many conversations: newer timestamps win,
/// unread grows, a snoozed conversation wakes up.
pub async fn touch_inbound(s: &mut Scope<'_>, touches: &[InboundTouch]) -> Result<()> {
    let tid = s.tid();
    locks::in_id_order(s, Batched::Conversations, &touches.iter().map(|t| t.id).collect::<Vec<_>>()).await?;
    for chunk in join_chunks(s.backend(), touches) {
        let sql = touch_inbound_sql(s.backend(), chunk.len());
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for t in chunk {
                q = q.bind(t.id).bind(t.at).bind(t.count).bind(&t.preview).bind(t.now);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A message our side wrote in one conversation.
#[derive(Debug, Clone)]
pub struct OutboundTouch {
    pub id: Uuid,
    pub at: i64,
    /// The preview of the message.
    pub preview: Sealed<String>,
}

/// Records messages our side wrote, one statement for many conversations: the conversation is
/// read, newer timestamps win. Give each conversation once (its newest message): which of two
/// rows for one conversation an `UPDATE … FROM` applies is not defined.
pub async fn touch_outbound(s: &mut Scope<'_>, touches: &[OutboundTouch]) -> Result<()> {
    let tid = s.tid();
    locks::in_id_order(s, Batched::Conversations, &touches.iter().map(|t| t.id).collect::<Vec<_>>()).await?;
    for chunk in join_chunks(s.backend(), touches) {
        let sql = touch_outbound_sql(s.backend(), chunk.len());
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for t in chunk {
                q = q.bind(t.id).bind(t.at).bind(&t.preview);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

// A CTE rather than `FROM (VALUES …) AS v(…)`: SQLite names VALUES columns only there.
pub(crate) fn touch_inbound_sql(backend: Backend, rows: usize) -> String {
    bulk_sql(backend, format!(
        "WITH v (id, at, n, preview, now) AS (VALUES {})
         UPDATE conversations SET
             last_message_at = CASE WHEN conversations.last_message_at < v.at THEN v.at ELSE conversations.last_message_at END,
             last_inbound_at = CASE WHEN conversations.last_inbound_at IS NULL OR conversations.last_inbound_at < v.at
                 THEN v.at ELSE conversations.last_inbound_at END,
             unread_count = conversations.unread_count + v.n,
             preview_sealed = v.preview,
             status = CASE WHEN conversations.status = 'snoozed' THEN 'open' ELSE conversations.status END,
             snoozed_until = CASE WHEN conversations.status = 'snoozed' THEN NULL ELSE conversations.snoozed_until END,
             updated_at = v.now
         FROM v WHERE conversations.tenant_id = $1 AND conversations.id = v.id",
        values_list(rows, 5, 2)
    ))
}

pub(crate) fn touch_outbound_sql(backend: Backend, rows: usize) -> String {
    bulk_sql(backend, format!(
        "WITH v (id, at, preview) AS (VALUES {})
         UPDATE conversations SET
             last_message_at = CASE WHEN conversations.last_message_at < v.at THEN v.at ELSE conversations.last_message_at END,
             preview_sealed = v.preview, unread_count = 0, updated_at = v.at
         FROM v WHERE conversations.tenant_id = $1 AND conversations.id = v.id",
        values_list(rows, 3, 2)
    ))
}

/// When the customer last wrote to this number (the 24-hour service window).
pub async fn last_inbound_at(s: &mut Scope<'_>, contact: Uuid, channel: Uuid) -> Result<Option<i64>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT MAX(last_inbound_at) FROM conversations WHERE tenant_id = $1 AND contact_id = $2 AND channel_id = $3",
    )
    .bind(tid).bind(contact).bind(channel).fetch_one(&mut *c).await)?)
}

/// Every conversation of a contact, oldest first (an export).
pub async fn of_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<ConversationRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM conversations WHERE tenant_id = $1 AND contact_id = $2 ORDER BY created_at, id"
    )))
    .bind(tid).bind(contact).fetch_all(&mut *c).await)?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<ConversationRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM conversations WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Any,
    Nobody,
    User(Uuid),
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub status: Option<String>,
    pub channel: Option<Uuid>,
    pub assignee: Assignee,
    pub label: Option<String>,
    pub contact: Option<Uuid>,
    pub team: Option<Uuid>,
    /// Search tokens, all required (see [`crate::search::require_terms`]).
    pub terms: Vec<BlindIndex>,
}

/// Newest activity first; `before` is the (last_message_at, id) of the previous page's last row.
pub async fn list(
    s: &mut Scope<'_>,
    f: &ListFilter,
    before: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<ConversationRow>> {
    let mut w = Where::default();
    w.and("c.tenant_id = ?", [Param::Uuid(s.tid())]);
    if let Some(status) = &f.status {
        w.and("c.status = ?", [Param::Text(status.clone())]);
    }
    if let Some(ch) = f.channel {
        w.and("c.channel_id = ?", [Param::Uuid(ch)]);
    }
    match f.assignee {
        Assignee::Any => {}
        Assignee::Nobody => w.and("c.assignee_id IS NULL", []),
        Assignee::User(u) => w.and("c.assignee_id = ?", [Param::Uuid(u)]),
    }
    if let Some(team) = f.team {
        w.and("c.team_id = ?", [Param::Uuid(team)]);
    }
    if let Some(contact) = f.contact {
        w.and("c.contact_id = ?", [Param::Uuid(contact)]);
    }
    if let Some(label) = &f.label {
        w.and(
            "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.tenant_id = c.tenant_id AND l.conversation_id = c.id AND l.label = ?)",
            [Param::Text(label.clone())],
        );
    }
    search::require_terms(&mut w, s.backend(), s.tid(), &f.terms, Matching::Conversations);
    if let Some((at, id)) = before {
        w.and(
            "(c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?))",
            [Param::Int(at), Param::Int(at), Param::Uuid(id)],
        );
    }
    let limit = w.push(Param::Int(limit));
    let cols = COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {cols} FROM conversations c WHERE {} ORDER BY c.last_message_at DESC, c.id DESC LIMIT {limit}",
        w.sql()
    );
    Ok(on!(s.ex(), c => bind_all!(sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql.clone())), w)
        .fetch_all(&mut *c).await)?)
}

/// Applies a change of status, assignee or snooze. Resolving sets `resolved_at`; leaving
/// `resolved` can conflict with a newer open conversation of the same contact (409).
pub async fn update(
    s: &mut Scope<'_>,
    id: Uuid,
    status: &str,
    assignee: Option<Uuid>,
    snoozed_until: Option<i64>,
    now: i64,
) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE conversations SET status = $3, assignee_id = $4, snoozed_until = $5, updated_at = $6,
             resolved_at = CASE WHEN $3 = 'resolved' THEN COALESCE(resolved_at, $6) ELSE NULL END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(status).bind(assignee).bind(snoozed_until).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn mark_read(s: &mut Scope<'_>, id: Uuid) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE conversations SET unread_count = 0 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An agent marks a conversation unread: it counts at least one unread message again (more
/// when customer messages are waiting already).
pub async fn mark_unread(s: &mut Scope<'_>, id: Uuid) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "UPDATE conversations SET unread_count = CASE WHEN unread_count > 0 THEN unread_count ELSE 1 END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Puts a conversation in a team (or, with `None`, in none).
pub async fn set_team(s: &mut Scope<'_>, id: Uuid, team: Option<Uuid>, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE conversations SET team_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).bind(team).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_labels(s: &mut Scope<'_>, id: Uuid, labels: &[String]) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query("DELETE FROM conversation_labels WHERE tenant_id = $1 AND conversation_id = $2")
            .bind(tid).bind(id).execute(&mut *c).await?;
        for l in labels {
            sqlx::query("INSERT INTO conversation_labels (tenant_id, conversation_id, label) VALUES ($1, $2, $3)")
                .bind(tid).bind(id).bind(l).execute(&mut *c).await?;
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

pub async fn labels(s: &mut Scope<'_>, id: Uuid) -> Result<Vec<String>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT label FROM conversation_labels WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY label",
    )
    .bind(tid).bind(id).fetch_all(&mut *c).await)?)
}
