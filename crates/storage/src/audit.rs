//! The audit log: append-only and chained per tenant (see `switchboard_privacy::chain`).
//! Appends run inside the caller's transaction, so an action and its audit entry commit
//! together or not at all.

use serde::Serialize;
use switchboard_privacy::ChainKey;
use uuid::Uuid;

use crate::Result;
use crate::db::{Ex, Scope};

/// What happened. `details` holds ids and field names, never personal values.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub id: Uuid,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub ip_digest: Option<Vec<u8>>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

const COLUMNS: &str = "tenant_id, seq, id, at, actor_kind, actor_id, ip, ip_digest, action, \
    target_kind, target_id, details, prev_hash, hash";

/// The bytes an entry's hash covers. Field order is fixed by the struct; `details` is the
/// exact stored text, never re-serialised.
#[derive(Serialize)]
struct Canonical<'a> {
    v: u8,
    tenant_id: Uuid,
    seq: i64,
    id: Uuid,
    at: i64,
    actor_kind: &'a str,
    actor_id: Option<&'a str>,
    ip_digest: Option<String>,
    action: &'a str,
    target_kind: Option<&'a str>,
    target_id: Option<&'a str>,
    details: &'a str,
}

fn canonical(row: &AuditRow) -> Vec<u8> {
    serde_json::to_vec(&Canonical {
        v: 1,
        tenant_id: row.tenant_id,
        seq: row.seq,
        id: row.id,
        at: row.at,
        actor_kind: &row.actor_kind,
        actor_id: row.actor_id.as_deref(),
        ip_digest: row.ip_digest.as_ref().map(hex::encode),
        action: &row.action,
        target_kind: row.target_kind.as_deref(),
        target_id: row.target_id.as_deref(),
        details: &row.details,
    })
    .unwrap_or_default()
}

const GENESIS: [u8; 32] = [0; 32];

/// Appends an entry to the scope's tenant chain. On PostgreSQL the chain head is locked
/// `FOR UPDATE`, serialising appends per tenant; SQLite's single writer already does.
pub async fn append(s: &mut Scope<'_>, key: &ChainKey, entry: &AuditEntry) -> Result<AuditRow> {
    let tid = s.tid();
    let head: (i64, Vec<u8>) = match s.ex() {
        Ex::Sqlite(c) => {
            sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING")
                .bind(tid)
                .bind(GENESIS.to_vec())
                .execute(&mut *c)
                .await?;
            sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
                .bind(tid)
                .fetch_one(&mut *c)
                .await?
        }
        Ex::Pg(c) => {
            sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING")
                .bind(tid)
                .bind(GENESIS.to_vec())
                .execute(&mut *c)
                .await?;
            sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE")
                .bind(tid)
                .fetch_one(&mut *c)
                .await?
        }
    };
    let mut row = AuditRow {
        tenant_id: tid,
        seq: head.0 + 1,
        id: Uuid::now_v7(),
        at: entry.at,
        actor_kind: entry.actor_kind.clone(),
        actor_id: entry.actor_id.clone(),
        ip: entry.ip.clone(),
        ip_digest: entry.ip.as_ref().map(|ip| key.digest(ip.as_bytes()).to_vec()),
        action: entry.action.clone(),
        target_kind: entry.target_kind.clone(),
        target_id: entry.target_id.clone(),
        details: entry.details.to_string(),
        prev_hash: head.1,
        hash: Vec::new(),
    };
    row.hash = key.link(&row.prev_hash, &canonical(&row)).to_vec();
    on!(s.ex(), c => {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, seq, id, at, actor_kind, actor_id, ip, ip_digest, action,
                 target_kind, target_id, details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(row.tenant_id).bind(row.seq).bind(row.id).bind(row.at).bind(&row.actor_kind)
        .bind(&row.actor_id).bind(&row.ip).bind(&row.ip_digest).bind(&row.action)
        .bind(&row.target_kind).bind(&row.target_id).bind(&row.details).bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(&mut *c).await?;
        sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1")
            .bind(tid).bind(row.seq).bind(&row.hash)
            .execute(&mut *c).await
            .map(|r| r.rows_affected())
    })?;
    Ok(row)
}

/// Filters for reading the log.
/// Who did what to which target, for [`recorded_since`].
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
}

/// Whether this actor has an entry with this action on this target at or after `since`
/// (found through `audit_log_target`).
pub async fn recorded_since(s: &mut Scope<'_>, r: Recorded<'_>, since: i64) -> Result<bool> {
    let tid = s.tid();
    let found: Option<i32> = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT 1 FROM audit_log WHERE tenant_id = $1 AND target_kind = $2 AND target_id = $3 AND action = $4
           AND actor_kind = $5 AND actor_id = $6 AND at >= $7 LIMIT 1",
    )
    .bind(tid).bind(r.target_kind).bind(r.target_id).bind(r.action).bind(r.actor_kind).bind(r.actor_id).bind(since)
    .fetch_optional(&mut *c).await)?;
    Ok(found.is_some())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
}

/// Newest first, entries with `seq < before`.
pub async fn list(s: &mut Scope<'_>, filter: &AuditFilter, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 AND ($2 IS NULL OR seq < $2)
           AND ($3 IS NULL OR target_kind = $3) AND ($4 IS NULL OR target_id = $4)
         ORDER BY seq DESC LIMIT $5"
    )))
    .bind(tid).bind(before).bind(filter.target_kind.as_deref()).bind(filter.target_id.as_deref()).bind(limit)
    .fetch_all(&mut *c).await)?)
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    pub broken: Option<Broken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The sequence number of the first entry that does not verify (or where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// Recomputes the chain from the entries themselves, not from their stored hashes: an edited
/// entry, a deleted or reordered one, and a cut-off tail (the head remembers the last
/// sequence number and hash) are all found.
pub async fn verify(s: &mut Scope<'_>, key: &ChainKey) -> Result<Verification> {
    let tid = s.tid();
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_vec();
    let mut count = 0u64;
    let broken = |entries: u64, seq: i64, reason: &str| {
        Ok(Verification { entries, broken: Some(Broken { seq, reason: reason.to_owned() }) })
    };
    loop {
        let batch: Vec<AuditRow> = on!(s.ex(), c => sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1000"
        )))
        .bind(tid).bind(expected_seq)
        .fetch_all(&mut *c).await)?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            count += 1;
            if row.seq != expected_seq {
                return broken(count, expected_seq, "entry missing: sequence numbers are not contiguous");
            }
            if row.prev_hash != prev {
                return broken(count, row.seq, "previous-hash link does not match the preceding entry");
            }
            if let (Some(ip), Some(d)) = (&row.ip, &row.ip_digest)
                && key.digest(ip.as_bytes()).as_slice() != d.as_slice()
            {
                return broken(count, row.seq, "actor IP was altered");
            }
            if key.link(&row.prev_hash, &canonical(&row)).as_slice() != row.hash.as_slice() {
                return broken(count, row.seq, "entry content does not match its hash");
            }
            prev = row.hash;
            expected_seq += 1;
        }
    }
    let head: Option<(i64, Vec<u8>)> = on!(s.ex(), c => sqlx::query_as(
        "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
    )
    .bind(tid).fetch_optional(&mut *c).await)?;
    let last = expected_seq - 1;
    match head {
        None if last == 0 => {}
        None => return broken(count, 1, "chain head is missing"),
        Some((seq, _)) if seq > last => {
            return broken(count, last + 1, "entries missing at the end of the log (head is further on)");
        }
        Some((seq, _)) if seq < last => {
            return broken(count, seq + 1, "chain head does not match the log");
        }
        Some((_, hash)) if hash != prev => {
            return broken(count, last, "chain head hash does not match the last entry");
        }
        Some(_) => {}
    }
    Ok(Verification { entries: count, broken: None })
}

/// Masks the actor IP of entries older than `before` (retention of security logs); the chain
/// still verifies because only the IP's keyed digest is part of it.
pub async fn mask_ips_before(s: &mut Scope<'_>, before: i64) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "UPDATE audit_log SET ip = NULL WHERE tenant_id = $1 AND at < $2 AND ip IS NOT NULL",
    )
    .bind(tid).bind(before)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Masks the actor IP of at most `limit` entries older than `before`: the batched form of
/// [`mask_ips_before`] for the retention job, so no transaction holds the log for long.
pub async fn mask_ips_batch(s: &mut Scope<'_>, before: i64, limit: i64) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "UPDATE audit_log SET ip = NULL WHERE tenant_id = $1 AND seq IN (
             SELECT seq FROM audit_log WHERE tenant_id = $1 AND at < $2 AND ip IS NOT NULL
             ORDER BY at LIMIT $3)",
    )
    .bind(tid).bind(before).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// How many entries [`mask_ips_batch`] has still to mask.
pub async fn count_unmasked_before(s: &mut Scope<'_>, before: i64) -> Result<u64> {
    let tid = s.tid();
    let n: i64 = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND at < $2 AND ip IS NOT NULL",
    )
    .bind(tid).bind(before)
    .fetch_one(&mut *c).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The chain head of the scope's tenant: the last sequence number and its hash.
pub async fn head(s: &mut Scope<'_>) -> Result<Option<(i64, Vec<u8>)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
    )
    .bind(tid).fetch_optional(&mut *c).await)?)
}
