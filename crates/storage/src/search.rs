//! The search index: keyed hashes of the words of contact names, phone numbers and message
//! texts (see `switchboard_core::search`), each pointing to its contact and, for message words,
//! its conversation. The hashes are made by the caller; this module only stores and matches them.

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::Result;
use crate::db::Scope;
use crate::filter::{Param, Where, bulk_chunks, bulk_sql, values_list};
use crate::history::delete_in;

/// One token of a contact (`conversation_id` None, `owner_id` the contact) or of a message
/// (`owner_id` the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRow {
    pub owner_id: Uuid,
    pub token: BlindIndex,
    pub contact_id: Uuid,
    pub conversation_id: Option<Uuid>,
}

/// Stores tokens with one statement per [`bulk_chunks`] chunk; tokens already stored
/// (a replayed message) are skipped.
pub async fn insert_many(s: &mut Scope<'_>, rows: &[TokenRow]) -> Result<()> {
    const COLS: usize = 4;
    let tid = s.tid();
    for chunk in bulk_chunks(s.backend(), rows) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO search_tokens (tenant_id, owner_id, token, contact_id, conversation_id)
             SELECT $1, v.* FROM (VALUES {}) AS v WHERE TRUE
             ON CONFLICT (tenant_id, owner_id, token) DO NOTHING",
                values_list(chunk.len(), COLS, 2)
            ),
        );
        on!(s.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tid);
            for r in chunk {
                q = q.bind(r.owner_id).bind(r.token).bind(r.contact_id).bind(r.conversation_id);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Removes every token of these owners (contacts or messages).
pub async fn remove_owned(s: &mut Scope<'_>, owners: &[Uuid]) -> Result<u64> {
    delete_in(s, "search_tokens", "owner_id", owners).await
}

/// Replaces the tokens of one owner (a contact renamed, a message edited).
pub async fn replace(s: &mut Scope<'_>, owner: Uuid, rows: &[TokenRow]) -> Result<()> {
    remove_owned(s, &[owner]).await?;
    insert_many(s, rows).await
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

/// Adds to `w` one condition per term, all required.
pub fn require_terms(w: &mut Where, tenant: Uuid, terms: &[BlindIndex], m: Matching) {
    for &t in terms {
        let tid = Param::Uuid(tenant);
        match m {
            Matching::Conversations => w.and(
                "(c.contact_id IN (SELECT t.contact_id FROM search_tokens t
                      WHERE t.tenant_id = ? AND t.token = ? AND t.conversation_id IS NULL)
                  OR c.id IN (SELECT t.conversation_id FROM search_tokens t
                      WHERE t.tenant_id = ? AND t.token = ? AND t.conversation_id IS NOT NULL))",
                [tid.clone(), Param::Blind(t), tid, Param::Blind(t)],
            ),
            Matching::Contacts => w.and(
                "c.id IN (SELECT t.contact_id FROM search_tokens t
                      WHERE t.tenant_id = ? AND t.token = ? AND t.conversation_id IS NULL)",
                [tid, Param::Blind(t)],
            ),
        }
    }
}
