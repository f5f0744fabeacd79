//! Row locks in one order. A PostgreSQL transaction that updates several rows of a table, one
//! statement at a time or with one multi-row `UPDATE … FROM`, locks them in whatever order they
//! come (statement order, or the plan's). Two writers with rows in common in different orders
//! deadlock; PostgreSQL notices after `deadlock_timeout` (1 s) and one batch is retried. Writers
//! that update several messages or conversations lock them here first, in id order, so their
//! locks cannot cross. SQLite has one writer and no row locks.
//!
//! `FOR NO KEY UPDATE` is the lock those `UPDATE`s take themselves. `FOR UPDATE` would also wait
//! for the `FOR KEY SHARE` locks that inserting a message takes on its conversation (the foreign
//! key), in the insert's order, and deadlocked with them instead.

use uuid::Uuid;

use crate::Result;
use crate::db::{Ex, Scope};

/// The tables whose rows several writers update in batches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Batched {
    Messages,
    Conversations,
}

/// Locks these rows of the scope's tenant in id order (PostgreSQL; nothing to do for one row).
pub(crate) async fn in_id_order(s: &mut Scope<'_>, table: Batched, ids: &[Uuid]) -> Result<()> {
    let tid = s.tid();
    if let Ex::Pg(c) = s.ex()
        && ids.len() > 1
    {
        let sql = match table {
            Batched::Messages => {
                "SELECT 1 FROM messages WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE"
            }
            Batched::Conversations => {
                "SELECT 1 FROM conversations WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE"
            }
        };
        sqlx::query(sql).bind(tid).bind(ids).fetch_all(&mut *c).await?;
    }
    Ok(())
}
