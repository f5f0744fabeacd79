//! Retention policies (a tenant's overrides of the defaults) and retention runs: the instant a
//! run measures against, its batches, and the rows it purged per category, each updated in the
//! transaction of the batch it counts.

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    pub category: String,
    pub after_days: Option<i32>,
    pub cap_days: Option<i32>,
    pub updated_at: i64,
}

pub async fn policies(s: &mut Scope<'_>) -> Result<Vec<PolicyRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, PolicyRow>(
        "SELECT category, after_days, cap_days, updated_at FROM retention_policies
         WHERE tenant_id = $1 ORDER BY category",
    )
    .bind(tid)
    .fetch_all(&mut *c).await)?)
}

pub async fn put_policy(s: &mut Scope<'_>, p: &PolicyRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO retention_policies (tenant_id, category, after_days, cap_days, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, category) DO UPDATE SET after_days = excluded.after_days,
             cap_days = excluded.cap_days, updated_at = excluded.updated_at",
    )
    .bind(tid).bind(&p.category).bind(p.after_days).bind(p.cap_days).bind(p.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub as_of: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub batches: i64,
}

/// The tenant's unfinished run, if one was interrupted.
pub async fn open_run(s: &mut Scope<'_>) -> Result<Option<RunRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, RunRow>(
        "SELECT id, as_of, started_at, finished_at, batches FROM retention_runs
         WHERE tenant_id = $1 AND finished_at IS NULL ORDER BY started_at LIMIT 1",
    )
    .bind(tid)
    .fetch_optional(&mut *c).await)?)
}

pub async fn insert_run(s: &mut Scope<'_>, r: &RunRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO retention_runs (tenant_id, id, as_of, started_at, finished_at, batches)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tid).bind(r.id).bind(r.as_of).bind(r.started_at).bind(r.finished_at).bind(r.batches)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Adds one batch of `rows` purged in `category` to the run.
pub async fn count_batch(s: &mut Scope<'_>, run: Uuid, category: &str, rows: u64) -> Result<()> {
    let tid = s.tid();
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    on!(s.ex(), c => {
        sqlx::query("UPDATE retention_runs SET batches = batches + 1 WHERE tenant_id = $1 AND id = $2")
            .bind(tid).bind(run).execute(&mut *c).await?;
        sqlx::query(
            "INSERT INTO retention_run_counts (tenant_id, run_id, category, rows_purged)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, run_id, category) DO UPDATE SET
                 rows_purged = retention_run_counts.rows_purged + excluded.rows_purged",
        )
        .bind(tid).bind(run).bind(category).bind(rows)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Rows purged per category so far in the run.
pub async fn counts(s: &mut Scope<'_>, run: Uuid) -> Result<Vec<(String, i64)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT category, rows_purged FROM retention_run_counts
         WHERE tenant_id = $1 AND run_id = $2 ORDER BY category",
    )
    .bind(tid).bind(run)
    .fetch_all(&mut *c).await)?)
}

pub async fn batches(s: &mut Scope<'_>, run: Uuid) -> Result<i64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT batches FROM retention_runs WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(run)
    .fetch_one(&mut *c).await)?)
}

/// Closes the run and forgets finished runs older than `forget_before` (their summary stays in
/// the audit log).
pub async fn finish_run(s: &mut Scope<'_>, run: Uuid, now: i64, forget_before: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query("UPDATE retention_runs SET finished_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tid).bind(run).bind(now).execute(&mut *c).await?;
        sqlx::query(
            "DELETE FROM retention_run_counts WHERE tenant_id = $1 AND run_id IN (
                 SELECT id FROM retention_runs WHERE tenant_id = $1 AND finished_at < $2)",
        )
        .bind(tid).bind(forget_before).execute(&mut *c).await?;
        sqlx::query("DELETE FROM retention_runs WHERE tenant_id = $1 AND finished_at < $2")
            .bind(tid).bind(forget_before).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}
