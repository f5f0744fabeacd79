//! The search index: keyed hashes of the words of contact names, phone numbers and message
//! texts (see `switchboard_core::search`), one document per owner (a contact or a message)
//! pointing to its contact and, for a message, its conversation. The hashes are made by the
//! caller; this module only stores and matches them.
//!
//! The words live in an inverted index, which takes a document's words as one append:
//! on SQLite a contentless FTS5 table (`search_fts`, each word the hex of its hash), on
//! PostgreSQL the GIN-indexed `search_docs.tokens`. A B-tree row per word cost two thirds of
//! the SQLite ingest transaction (migration 0009).
//!
//! On SQLite a message's FTS5 rowid is `conversations.search_key << 32 | search_docs.id`, so a
//! search gets conversations from the index without looking up each matching document; a
//! contact's is its document's id, below 2^32. Document ids therefore
//! stay below 2^32 (4 billion documents per database).
//!
//! FTS5 does not merge its segments inside the transactions that write them (migration 0013):
//! [`merge_step`] does it in small steps of their own, so no webhook waits behind a merge.

use std::collections::HashMap;
use std::fmt::Write as _;

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::{Result, StoreError};
use sqlx::PgConnection;

use crate::db::{Backend, Ex, Platform, Scope};
use crate::filter::{Param, Where, bulk_chunks, bulk_sql, join_chunks, values_list};
use crate::history::delete_in;

/// The words of one owner: a contact (`conversation_id` None, `owner_id` the contact) or a
/// message (`owner_id` the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    pub owner_id: Uuid,
    pub contact_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub tokens: Vec<BlindIndex>,
}

/// The FTS5 rowid of the document `d` (SQL over `search_docs d`).
pub(crate) const FTS_ROWID: &str =
    "CASE WHEN d.conversation_id IS NULL THEN d.id ELSE ((SELECT c.search_key FROM conversations c
     WHERE c.tenant_id = d.tenant_id AND c.id = d.conversation_id) << 32) | d.id END";

/// How a word is written into SQLite's FTS5 table and looked up there.
fn fts_word(token: &BlindIndex) -> String {
    let mut out = String::with_capacity(32);
    for b in token.as_bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Stores documents with one statement per [`bulk_chunks`] chunk (two on SQLite). An owner
/// already indexed (a replayed message) keeps its document; documents without words are not
/// stored.
pub async fn insert_many(s: &mut Scope<'_>, docs: &[SearchDoc]) -> Result<()> {
    let docs: Vec<&SearchDoc> = docs.iter().filter(|d| !d.tokens.is_empty()).collect();
    let tid = s.tid();
    match s.ex() {
        Ex::Pg(c) => insert_pg(c, tid, &docs).await,
        Ex::Sqlite(_) => insert_sqlite(s, &docs).await,
    }
}

pub(crate) fn search_keys_sql(rows: usize) -> String {
    bulk_sql(
        Backend::Sqlite,
        format!(
            "SELECT id, search_key FROM conversations WHERE tenant_id = $1 AND id IN (VALUES {})",
            values_list(rows, 1, 2)
        ),
    )
}

/// Gives conversations without one their search key. `+` keeps SQLite from reaching the few
/// rows without a key through the `search_key` index (then probing the list for each): there
/// may be many (conversations without messages).
pub(crate) fn search_key_sql(rows: usize) -> String {
    bulk_sql(
        Backend::Sqlite,
        format!(
            "WITH v (id, key) AS (VALUES {})
             UPDATE conversations SET search_key = v.key FROM v
             WHERE conversations.tenant_id = ${} AND conversations.id = v.id
               AND +conversations.search_key IS NULL",
            values_list(rows, 2, 1),
            rows * 2 + 1
        ),
    )
}

async fn insert_sqlite(s: &mut Scope<'_>, docs: &[&SearchDoc]) -> Result<()> {
    let tid = s.tid();
    for chunk in bulk_chunks(Backend::Sqlite, docs) {
        let sql = bulk_sql(
            Backend::Sqlite,
            format!(
                "INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id)
                 SELECT $1, v.* FROM (VALUES {}) AS v WHERE TRUE
                 ON CONFLICT (tenant_id, owner_id) DO NOTHING RETURNING id, owner_id",
                values_list(chunk.len(), 3, 2)
            ),
        );
        let ids: Vec<(i64, Uuid)> = on!(s.ex(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tid);
            for d in chunk {
                q = q.bind(d.owner_id).bind(d.contact_id).bind(d.conversation_id);
            }
            q.fetch_all(&mut *c).await
        })?;
        if ids.is_empty() {
            continue;
        }
        let by_owner: HashMap<Uuid, &SearchDoc> = chunk.iter().map(|d| (d.owner_id, *d)).collect();
        let keys = conversation_keys(s, &ids, &by_owner).await?;
        let mut rows: Vec<(i64, String)> = Vec::with_capacity(ids.len());
        for (id, owner) in &ids {
            let Some(d) = by_owner.get(owner) else { continue };
            if *id >= 1 << 32 {
                return Err(StoreError::Corrupt("search document ids reached 2^32".into()));
            }
            let rowid = match d.conversation_id {
                None => *id,
                Some(conv) => {
                    let key = keys.get(&conv).ok_or_else(|| {
                        StoreError::Corrupt(format!("search document of a message in a missing conversation {conv}"))
                    })?;
                    (key << 32) | id
                }
            };
            rows.push((rowid, d.tokens.iter().map(fts_word).collect::<Vec<_>>().join(" ")));
        }
        for part in bulk_chunks(Backend::Sqlite, &rows) {
            let sql = bulk_sql(
                Backend::Sqlite,
                format!("INSERT INTO search_fts (rowid, terms) VALUES {}", values_list(part.len(), 2, 1)),
            );
            on!(s.ex(), c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (rowid, terms) in part {
                    q = q.bind(*rowid).bind(terms.as_str());
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
    }
    Ok(())
}

/// The search key of each conversation of these new message documents, giving a conversation
/// without one the id of its first document. Read first: in steady state every conversation
/// has its key, and the update (a second statement per chunk) is only needed for new ones.
async fn conversation_keys(
    s: &mut Scope<'_>,
    ids: &[(i64, Uuid)],
    docs: &HashMap<Uuid, &SearchDoc>,
) -> Result<HashMap<Uuid, i64>> {
    let mut first: HashMap<Uuid, i64> = HashMap::new();
    for (id, owner) in ids {
        if let Some(conv) = docs.get(owner).and_then(|d| d.conversation_id) {
            let e = first.entry(conv).or_insert(*id);
            *e = (*e).min(*id);
        }
    }
    let first: Vec<(Uuid, i64)> = first.into_iter().collect();
    let tid = s.tid();
    let mut keys = HashMap::with_capacity(first.len());
    for part in join_chunks(Backend::Sqlite, &first) {
        let sql = search_keys_sql(part.len());
        let found: Vec<(Uuid, Option<i64>)> = on!(s.ex(), c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tid);
            for (conv, _) in part {
                q = q.bind(*conv);
            }
            q.fetch_all(&mut *c).await
        })?;
        let mut missing: Vec<(Uuid, i64)> = Vec::new();
        for (conv, key) in found {
            match key {
                Some(k) => {
                    keys.insert(conv, k);
                }
                None => missing.extend(part.iter().filter(|(c, _)| *c == conv)),
            }
        }
        if missing.is_empty() {
            continue;
        }
        let sql = search_key_sql(missing.len());
        let set = on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (conv, id) in &missing {
                q = q.bind(*conv).bind(*id);
            }
            q.bind(tid).execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        // Only this transaction writes (SQLite has one writer), so a key read as missing a
        // moment ago is now the one just set.
        if set != missing.len() as u64 {
            return Err(StoreError::Corrupt(format!("gave {set} of {} conversations their search key", missing.len())));
        }
        keys.extend(missing);
    }
    Ok(keys)
}

/// PostgreSQL only: arrays have no SQLite type, so this cannot go through `on!`.
async fn insert_pg(c: &mut PgConnection, tid: Uuid, docs: &[&SearchDoc]) -> Result<()> {
    for chunk in bulk_chunks(Backend::Postgres, docs) {
        let sql = format!(
            "INSERT INTO search_docs (tenant_id, owner_id, contact_id, conversation_id, tokens)
             SELECT $1, v.* FROM (VALUES {}) AS v(owner, contact, conversation, tokens)
             ON CONFLICT (tenant_id, owner_id) DO NOTHING",
            pg_values(chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
        for d in chunk {
            let tokens: Vec<&[u8]> = d.tokens.iter().map(BlindIndex::as_bytes).collect();
            q = q.bind(d.owner_id).bind(d.contact_id).bind(d.conversation_id).bind(tokens);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// `($2::uuid, $3::uuid, $4::uuid, $5::bytea[]), …`: PostgreSQL cannot infer the type of a
/// NULL conversation or of an array inside VALUES.
fn pg_values(rows: usize) -> String {
    (0..rows)
        .map(|r| {
            let n = 2 + r * 4;
            format!("(${n}::uuid, ${}::uuid, ${}::uuid, ${}::bytea[])", n + 1, n + 2, n + 3)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes the documents of these owners (contacts or messages).
pub async fn remove_owned(s: &mut Scope<'_>, owners: &[Uuid]) -> Result<u64> {
    if s.backend() == Backend::Sqlite {
        let tid = s.tid();
        for chunk in bulk_chunks(Backend::Sqlite, owners) {
            let sql = bulk_sql(
                Backend::Sqlite,
                format!(
                    "DELETE FROM search_fts WHERE rowid IN (
                         SELECT {FTS_ROWID} FROM search_docs d WHERE d.tenant_id = $1 AND d.owner_id IN (VALUES {}))",
                    values_list(chunk.len(), 1, 2)
                ),
            );
            on!(s.ex(), c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
    }
    delete_in(s, "search_docs", "owner_id", owners).await
}

/// One bounded step of merging SQLite's FTS5 segments (and rewriting those with many deleted
/// rows), in the caller's transaction. Returns whether there was anything to merge; always
/// false on PostgreSQL, whose GIN index merges its own pending list.
pub async fn merge_step(p: &mut Platform<'_>) -> Result<bool> {
    let Ex::Sqlite(c) = p.ex() else { return Ok(false) };
    // FTS5's documented way to tell: total_changes() grows by at least 2 when it merged.
    let before: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *c).await?;
    // At most 32 pages of output: a few milliseconds of the writer's time.
    sqlx::query("INSERT INTO search_fts(search_fts, rank) VALUES ('merge', 8)").execute(&mut *c).await?;
    let after: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *c).await?;
    Ok(after - before >= 2)
}

/// Replaces the document of one owner (a contact renamed, a message edited).
pub async fn replace(s: &mut Scope<'_>, doc: &SearchDoc) -> Result<()> {
    remove_owned(s, &[doc.owner_id]).await?;
    insert_many(s, std::slice::from_ref(doc)).await
}

/// Deletes up to `limit` of the scope's tenant's documents (tenant purge): on SQLite their
/// FTS5 rows first, which carry no tenant.
pub async fn purge_batch(s: &mut Scope<'_>, limit: i64) -> Result<u64> {
    let tid = s.tid();
    // (document id, FTS5 rowid); the rowid only matters on SQLite.
    let rowid = if s.backend() == Backend::Sqlite { FTS_ROWID } else { "d.id" };
    let docs: Vec<(i64, i64)> = on!(s.ex(), c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT d.id, {rowid} FROM search_docs d WHERE d.tenant_id = $1 LIMIT $2"
    )))
    .bind(tid).bind(limit)
    .fetch_all(&mut *c).await)?;
    for chunk in bulk_chunks(s.backend(), &docs) {
        let list = values_list(chunk.len(), 1, 1);
        let mut statements = vec![(format!("DELETE FROM search_docs WHERE id IN (VALUES {list})"), false)];
        if s.backend() == Backend::Sqlite {
            statements.insert(0, (format!("DELETE FROM search_fts WHERE rowid IN (VALUES {list})"), true));
        }
        for (sql, fts) in statements {
            let sql = bulk_sql(s.backend(), sql);
            on!(s.ex(), c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, rowid) in chunk {
                    q = q.bind(if fts { *rowid } else { *id });
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
    }
    Ok(docs.len() as u64)
}

/// What a search filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Conversations (alias `c`): their contact has the token (name or phone), or one of their
    /// messages has it.
    Conversations,
    /// Contacts (alias `c`): by name or phone.
    Contacts,
}

/// Adds to `w` one condition per term, all required. On SQLite, message words give search
/// keys straight from the FTS5 rowids (no tenant check needed there: the words are keyed
/// hashes under the tenant's key, and `c` is the tenant's); contact words are looked up in
/// their documents, `CROSS JOIN` keeping the FTS5 lookup first (left to choose, the planner
/// scanned the tenant's documents by `search_docs_owner`).
pub fn require_terms(w: &mut Where, backend: Backend, tenant: Uuid, terms: &[BlindIndex], m: Matching) {
    for t in terms {
        let tid = Param::Uuid(tenant);
        let term = match backend {
            Backend::Sqlite => Param::Text(format!("\"{}\"", fts_word(t))),
            Backend::Postgres => Param::Blind(*t),
        };
        match (m, backend) {
            (Matching::Conversations, Backend::Sqlite) => w.and(
                "(c.contact_id IN (SELECT d.contact_id FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid
                      WHERE search_fts MATCH ? AND f.rowid < 4294967296 AND d.tenant_id = ?)
                  OR c.search_key IN (SELECT rowid >> 32 FROM search_fts
                      WHERE search_fts MATCH ? AND rowid >= 4294967296))",
                [term.clone(), tid, term],
            ),
            (Matching::Conversations, Backend::Postgres) => w.and(
                "(c.contact_id IN (SELECT d.contact_id FROM search_docs d
                      WHERE d.tokens @> ARRAY[?::bytea] AND d.tenant_id = ? AND d.conversation_id IS NULL)
                  OR c.id IN (SELECT d.conversation_id FROM search_docs d
                      WHERE d.tokens @> ARRAY[?::bytea] AND d.tenant_id = ? AND d.conversation_id IS NOT NULL))",
                [term.clone(), tid.clone(), term, tid],
            ),
            (Matching::Contacts, Backend::Sqlite) => w.and(
                "c.id IN (SELECT d.contact_id FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid
                      WHERE search_fts MATCH ? AND f.rowid < 4294967296 AND d.tenant_id = ?)",
                [term, tid],
            ),
            (Matching::Contacts, Backend::Postgres) => w.and(
                "c.id IN (SELECT d.contact_id FROM search_docs d
                      WHERE d.tokens @> ARRAY[?::bytea] AND d.tenant_id = ? AND d.conversation_id IS NULL)",
                [term, tid],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_words_are_the_lowercase_hex_of_the_hash() {
        let mut b = [0u8; 16];
        b[0] = 0xAB;
        b[15] = 0x01;
        assert_eq!(fts_word(&BlindIndex(b)), "ab000000000000000000000000000001");
    }

    #[test]
    fn pg_values_cast_nullable_and_array_columns() {
        assert_eq!(
            pg_values(2),
            "($2::uuid, $3::uuid, $4::uuid, $5::bytea[]), ($6::uuid, $7::uuid, $8::uuid, $9::bytea[])"
        );
    }
}
