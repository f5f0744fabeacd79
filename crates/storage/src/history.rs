//! Removing message history: all messages of one contact (erasure) or of one channel (its purge
//! after a disconnect), or those past their retention period, with their reactions and media
//! rows, and the conversations that are left with nothing. The blob keys of removed media are handed back: the blob store is not part of
//! the transaction, so the caller deletes the files (deleting a missing file is not an error,
//! which makes a crash followed by a rerun safe).

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;
use crate::filter::{bulk_chunks, bulk_sql, values_list};
use crate::privacy::holds::not_held_sql;
use crate::search;

/// The retention cut-offs of a category at one instant (see `core::privacy::Cutoffs`).
#[derive(Debug, Clone, Copy)]
pub struct DueBefore<'a> {
    /// Rows of conversations resolved before this are due.
    pub resolved_before: Option<i64>,
    /// Rows created before this are due, whatever their conversation's state.
    pub created_before: Option<i64>,
    /// The data category, matched against legal holds.
    pub category: &'a str,
}

/// Which messages to remove next.
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    Contact(Uuid),
    /// Every message of a channel (its purge after a disconnect).
    Channel(Uuid),
    Due(DueBefore<'a>),
}

/// What one removal did.
#[derive(Debug, Default)]
pub struct Removed {
    pub rows: u64,
    /// Blob-store keys of the removed media, to delete after (or before) the commit.
    pub blob_keys: Vec<String>,
}

/// Holds on the contact or the conversation of message `m` exclude it; `$4` is the category.
fn not_held(alias: &str) -> String {
    format!("{} AND {}", not_held_sql(alias, "contact_id", "$4"), not_held_sql(alias, "conversation_id", "$4"))
}

/// `FROM … WHERE …` of the rows of `rows` (aliased, created at `rows.created_at`, belonging to
/// message `m`) that are due: `$2` resolved-before, `$3` created-before, `$4` the category.
fn due_rows(rows: &str, alias: &str) -> String {
    format!(
        "FROM {rows}
           JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
         WHERE {alias}.tenant_id = $1
           AND ((c.status = 'resolved' AND c.resolved_at < $2) OR {alias}.created_at < $3)
           AND {}",
        not_held("m")
    )
}

const DUE_MESSAGES: &str = "messages m";
const DUE_MEDIA: &str = "media md JOIN messages m ON m.tenant_id = md.tenant_id AND m.id = md.message_id";

/// How many messages (`media = false`) or media rows are due, for the dry run.
pub async fn count_due(s: &mut Scope<'_>, due: DueBefore<'_>, media: bool) -> Result<u64> {
    let tid = s.tid();
    let from = if media { due_rows(DUE_MEDIA, "md") } else { due_rows(DUE_MESSAGES, "m") };
    let n: i64 = on!(s.ex(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}")))
        .bind(tid).bind(due.resolved_before).bind(due.created_before).bind(due.category)
        .fetch_one(&mut *c).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The next `limit` messages to remove, oldest first.
pub async fn pick_messages(s: &mut Scope<'_>, pick: Pick<'_>, limit: i64) -> Result<Vec<Uuid>> {
    let tid = s.tid();
    Ok(match pick {
        Pick::Contact(contact) => on!(s.ex(), c => sqlx::query_scalar(
            "SELECT id FROM messages WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id LIMIT $3",
        )
        .bind(tid).bind(contact).bind(limit)
        .fetch_all(&mut *c).await)?,
        Pick::Channel(channel) => on!(s.ex(), c => sqlx::query_scalar(
            "SELECT id FROM messages WHERE tenant_id = $1 AND channel_id = $2 ORDER BY id LIMIT $3",
        )
        .bind(tid).bind(channel).bind(limit)
        .fetch_all(&mut *c).await)?,
        Pick::Due(due) => {
            // Two index walks instead of one scan with an OR: past the cap by
            // `messages_created`, then the messages of resolved conversations by
            // `conversations_status` and `messages_conversation`. A scan would read every
            // message of the tenant for each batch of a purge. CROSS JOIN keeps SQLite from
            // putting messages in the outer loop (it did, and read them all each batch);
            // PostgreSQL plans it as the inner join it is.
            let sql = format!(
                "SELECT id FROM (SELECT m.id FROM messages m
                                  WHERE m.tenant_id = $1 AND m.created_at < $3 AND {held}
                                  ORDER BY m.created_at LIMIT $5) past_cap
                 UNION
                 SELECT id FROM (SELECT m.id FROM conversations c CROSS JOIN messages m
                                  WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
                                    AND c.tenant_id = $1 AND c.status = 'resolved' AND c.resolved_at < $2 AND {held}
                                  LIMIT $5) resolved
                 LIMIT $5",
                held = not_held("m")
            );
            on!(s.ex(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(tid).bind(due.resolved_before).bind(due.created_before).bind(due.category).bind(limit)
                .fetch_all(&mut *c).await)?
        }
    })
}

/// The next `limit` media rows past their retention period (by their message's conversation
/// and creation), with their blob keys.
pub async fn pick_media(s: &mut Scope<'_>, due: DueBefore<'_>, limit: i64) -> Result<Vec<(Uuid, Option<String>)>> {
    let tid = s.tid();
    let sql = format!("SELECT md.id, md.blob_key {} ORDER BY md.created_at, md.id LIMIT $5", due_rows(DUE_MEDIA, "md"));
    Ok(on!(s.ex(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tid).bind(due.resolved_before).bind(due.created_before).bind(due.category).bind(limit)
        .fetch_all(&mut *c).await)?)
}

/// Runs `DELETE FROM {table} WHERE tenant_id = $1 AND {column} IN (…ids)`, in chunks.
pub(crate) async fn delete_in(s: &mut Scope<'_>, table: &str, column: &str, ids: &[Uuid]) -> Result<u64> {
    let tid = s.tid();
    let mut n = 0;
    for chunk in bulk_chunks(s.backend(), ids) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND {column} IN (VALUES {})",
                values_list(chunk.len(), 1, 2)
            ),
        );
        n += on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(n)
}

/// Blob keys of the media of `messages`.
async fn blob_keys_of(s: &mut Scope<'_>, messages: &[Uuid]) -> Result<Vec<String>> {
    let tid = s.tid();
    let mut keys = Vec::new();
    for chunk in bulk_chunks(s.backend(), messages) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "SELECT blob_key FROM media WHERE tenant_id = $1 AND blob_key IS NOT NULL AND message_id IN (VALUES {})",
                values_list(chunk.len(), 1, 2)
            ),
        );
        let found: Vec<String> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        keys.extend(found);
    }
    Ok(keys)
}

/// Removes messages with their media rows, reactions and search tokens.
pub async fn remove_messages(s: &mut Scope<'_>, ids: &[Uuid]) -> Result<Removed> {
    let blob_keys = blob_keys_of(s, ids).await?;
    search::remove_owned(s, ids).await?;
    delete_in(s, "media", "message_id", ids).await?;
    delete_in(s, "message_reactions", "message_id", ids).await?;
    let rows = delete_in(s, "messages", "id", ids).await?;
    Ok(Removed { rows, blob_keys })
}

/// Removes media rows (the messages stay and show the media as gone).
pub async fn remove_media(s: &mut Scope<'_>, ids: &[Uuid]) -> Result<u64> {
    delete_in(s, "media", "id", ids).await
}

/// Removes the conversations of a contact whose messages are gone (their labels cascade).
pub async fn remove_conversations_of(s: &mut Scope<'_>, contact: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM conversations WHERE tenant_id = $1 AND contact_id = $2
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = $1 AND m.conversation_id = conversations.id)",
    )
    .bind(tid).bind(contact)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// After a retention batch: conversations that are due (resolved before the period, or silent
/// since before the cap) and have no messages left are removed, with the sealed preview they
/// hold (a copy of their last message).
pub async fn tidy_conversations(s: &mut Scope<'_>, due: DueBefore<'_>) -> Result<u64> {
    let tid = s.tid();
    let sql = format!(
        "DELETE FROM conversations WHERE tenant_id = $1
           AND ((status = 'resolved' AND resolved_at < $2) OR last_message_at < $3)
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = $1 AND m.conversation_id = conversations.id)
           AND {} AND {}",
        not_held_sql("conversations", "contact_id", "$4"),
        not_held_sql("conversations", "id", "$4")
    );
    Ok(on!(s.ex(), c => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tid).bind(due.resolved_before).bind(due.created_before).bind(due.category)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}
