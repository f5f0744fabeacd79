//! The job table: a durable queue and the transactional outbox. A job enqueued inside a
//! transaction exists exactly when that transaction commits. Claims are leases: a worker that
//! dies leaves its jobs to be reclaimed when `lease_until` passes.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::Result;
use crate::db::{Ex, Platform, Scope};
use crate::filter::{bulk_chunks, bulk_sql, id_list, values_list};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    /// JSON with ids only; never personal values.
    pub payload: String,
    pub run_at: i64,
    pub max_attempts: i32,
    /// Jobs with the same (tenant, queue, dedupe key) are one job: the second enqueue is a no-op.
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub run_at: i64,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "tenant_id, id, queue, kind, payload, state, run_at, attempts, max_attempts, \
    lease_owner, lease_until, last_error, dedupe_key, created_at, updated_at, finished_at";

/// Enqueues in the caller's transaction. Returns the new job's id, or `None` when a job with
/// the same dedupe key already exists.
pub async fn enqueue(s: &mut Scope<'_>, job: &NewJob, now: i64) -> Result<Option<Uuid>> {
    Ok(enqueue_many(s, std::slice::from_ref(job), now).await?.into_iter().next())
}

/// Enqueues many with one statement per [`bulk_chunks`] chunk; returns the ids of the jobs
/// created (a job whose dedupe key exists already is not).
pub async fn enqueue_many(s: &mut Scope<'_>, jobs: &[NewJob], now: i64) -> Result<Vec<Uuid>> {
    const COLS: usize = 7;
    let tid = s.tid();
    let mut created = Vec::with_capacity(jobs.len());
    for chunk in bulk_chunks(s.backend(), jobs) {
        let sql = bulk_sql(
            s.backend(),
            format!(
                "INSERT INTO jobs (tenant_id, id, queue, kind, payload, run_at, max_attempts, dedupe_key, state,
                     attempts, created_at, updated_at)
                 SELECT $1, v.*, 'ready', 0, $2, $3 FROM (VALUES {}) AS v WHERE TRUE
                 ON CONFLICT (tenant_id, queue, dedupe_key) DO NOTHING
                 RETURNING id",
                values_list(chunk.len(), COLS, 4)
            ),
        );
        let ids: Vec<Uuid> = on!(s.ex(), c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tid).bind(now).bind(now);
            for j in chunk {
                q = q.bind(Uuid::now_v7()).bind(&j.queue).bind(&j.kind).bind(&j.payload).bind(j.run_at)
                    .bind(j.max_attempts).bind(&j.dedupe_key);
            }
            q.fetch_all(&mut *c).await
        })?;
        created.extend(ids);
    }
    Ok(created)
}

/// Claims up to `limit` due jobs of `queue` for `owner` until `lease_until`.
/// PostgreSQL skips rows other nodes are claiming; SQLite's single writer serialises claims.
pub async fn claim(
    p: &mut Platform<'_>,
    queue: &str,
    owner: &str,
    limit: i64,
    now: i64,
    lease_until: i64,
) -> Result<Vec<JobRow>> {
    let rows = match p.ex() {
        Ex::Sqlite(c) => {
            sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(format!(
                "UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3,
                     attempts = attempts + 1, updated_at = $4
                 WHERE (tenant_id, id) IN (
                     SELECT tenant_id, id FROM jobs
                     WHERE queue = $1 AND state = 'ready' AND run_at <= $4
                     ORDER BY run_at LIMIT $5)
                 RETURNING {COLUMNS}"
            )))
            .bind(queue)
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        }
        // Picked, then updated by primary key, in two statements. As one (`IN (subquery)`, or a
        // CTE joined back), plans made from statistics taken while the queue was empty scanned
        // the table per picked job (up to 238k buffers per claim: the PostgreSQL sender ran at
        // 240-310 msg/s); `tenant_id = $1 AND id = ANY($2)` is a key lookup whatever they say.
        Ex::Pg(c) => {
            let picked: Vec<(Uuid, Uuid)> = sqlx::query_as(
                "SELECT tenant_id, id FROM jobs WHERE queue = $1 AND state = 'ready' AND run_at <= $2
                 ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED",
            )
            .bind(queue)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
            let mut by_tenant: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
            for (tenant, id) in picked {
                by_tenant.entry(tenant).or_default().push(id);
            }
            let mut rows = Vec::new();
            for (tenant, ids) in by_tenant {
                rows.extend(
                    sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(format!(
                        "UPDATE jobs SET state = 'running', lease_owner = $3, lease_until = $4,
                             attempts = attempts + 1, updated_at = $5
                         WHERE tenant_id = $1 AND id = ANY($2)
                         RETURNING {COLUMNS}"
                    )))
                    .bind(tenant)
                    .bind(ids)
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .fetch_all(&mut *c)
                    .await?,
                );
            }
            rows
        }
    };
    Ok(rows)
}

/// Marks a claimed job done. Fenced by the lease owner: a worker whose lease expired and whose
/// job was reclaimed cannot overwrite the new run's outcome. Returns false when fenced off.
pub async fn complete(p: &mut Platform<'_>, tenant: Uuid, id: Uuid, owner: &str, now: i64) -> Result<bool> {
    Ok(complete_many(p, tenant, &[id], owner, now).await? == 1)
}

/// [`complete`] for many jobs of one tenant leased by `owner`; returns how many were completed.
pub async fn complete_many(p: &mut Platform<'_>, tenant: Uuid, ids: &[Uuid], owner: &str, now: i64) -> Result<u64> {
    let backend = p.ex().backend();
    let mut done = 0;
    for chunk in bulk_chunks(backend, ids) {
        let sql = bulk_sql(
            backend,
            format!(
                "UPDATE jobs SET state = 'done', finished_at = $3, updated_at = $3, lease_owner = NULL,
                     lease_until = NULL
                 WHERE tenant_id = $1 AND lease_owner = $2 AND state = 'running' AND id IN ({})",
                id_list(chunk.len(), 4)
            ),
        );
        done += on!(p.ex(), c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(owner).bind(now);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(done)
}

/// Records a failure: back to `ready` at `retry_at`, or `dead` when `retry_at` is `None`.
pub async fn fail(
    p: &mut Platform<'_>,
    tenant: Uuid,
    id: Uuid,
    owner: &str,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    let state = if retry_at.is_some() { "ready" } else { "dead" };
    let finished = retry_at.is_none().then_some(now);
    let n = on!(p.ex(), c => sqlx::query(
        "UPDATE jobs SET state = $4, run_at = COALESCE($5, run_at), last_error = $6, updated_at = $7,
             finished_at = $8, lease_owner = NULL, lease_until = NULL
         WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(tenant).bind(id).bind(owner).bind(state).bind(retry_at).bind(error).bind(now).bind(finished)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Extends the lease of a long-running job.
pub async fn extend_lease(p: &mut Platform<'_>, tenant: Uuid, id: Uuid, owner: &str, until: i64) -> Result<bool> {
    let n = on!(p.ex(), c => sqlx::query(
        "UPDATE jobs SET lease_until = $4 WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(tenant).bind(id).bind(owner).bind(until)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Returns jobs whose lease expired (their worker died or hung) to the queue, or buries them
/// when their attempts are used up.
pub async fn reap_expired(p: &mut Platform<'_>, queue: &str, now: i64) -> Result<u64> {
    Ok(on!(p.ex(), c => sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'ready' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN $2 ELSE NULL END,
             last_error = 'lease expired: worker stopped before finishing',
             lease_owner = NULL, lease_until = NULL, updated_at = $2
         WHERE queue = $1 AND state = 'running' AND lease_until < $2",
    )
    .bind(queue).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Deletes finished (`done`) jobs older than `before`, at most `limit` rows.
pub async fn purge_done(p: &mut Platform<'_>, before: i64, limit: i64) -> Result<u64> {
    Ok(on!(p.ex(), c => sqlx::query(
        "DELETE FROM jobs WHERE (tenant_id, id) IN (
             SELECT tenant_id, id FROM jobs WHERE state = 'done' AND finished_at < $1 LIMIT $2)",
    )
    .bind(before).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<JobRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id)
    .fetch_one(&mut *c).await)?)
}

pub async fn find_by_dedupe(s: &mut Scope<'_>, queue: &str, key: &str) -> Result<Option<JobRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND queue = $2 AND dedupe_key = $3"
    )))
    .bind(tid).bind(queue).bind(key)
    .fetch_optional(&mut *c).await)?)
}

/// Jobs per queue and state for the unfinished states, for `/metrics`.
pub async fn depth(p: &mut Platform<'_>) -> Result<Vec<(String, String, i64)>> {
    Ok(on!(p.ex(), c => sqlx::query_as(
        "SELECT queue, state, COUNT(*) FROM jobs WHERE state IN ('ready', 'running', 'dead')
         GROUP BY queue, state ORDER BY queue, state",
    )
    .fetch_all(&mut *c).await)?)
}

/// Erasure: deletes up to `limit` jobs (not running ones: their worker holds the lease) whose
/// payload mentions `needle` (a contact's id). Payloads hold ids only, so an id is enough.
pub async fn delete_mentioning(s: &mut Scope<'_>, needle: &str, limit: i64) -> Result<u64> {
    let tid = s.tid();
    let pattern = format!("%{needle}%");
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM jobs WHERE tenant_id = $1 AND id IN (
             SELECT id FROM jobs WHERE tenant_id = $1 AND state <> 'running' AND payload LIKE $2
             LIMIT $3)",
    )
    .bind(tid).bind(pattern).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}
