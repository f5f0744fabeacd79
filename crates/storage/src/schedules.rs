//! Periodic work. A schedule row plus a lease means one node runs each due schedule, however
//! many nodes are up.

use switchboard_core::TenantId;

use crate::Result;
use crate::db::Platform;

/// Creates the schedule if missing, first due at `first_run_at`.
pub async fn ensure(p: &mut Platform<'_>, name: &str, first_run_at: i64) -> Result<()> {
    on!(p.ex(), c => sqlx::query(
        "INSERT INTO schedules (tenant_id, name, next_run_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(TenantId::PLATFORM.as_uuid()).bind(name).bind(first_run_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes the lease on a due schedule. True when this node should run it now.
pub async fn try_claim(p: &mut Platform<'_>, name: &str, owner: &str, now: i64, lease_until: i64) -> Result<bool> {
    let n = on!(p.ex(), c => sqlx::query(
        "UPDATE schedules SET lease_owner = $3, lease_until = $4
         WHERE tenant_id = $1 AND name = $2 AND next_run_at <= $5
           AND (lease_until IS NULL OR lease_until < $5)",
    )
    .bind(TenantId::PLATFORM.as_uuid()).bind(name).bind(owner).bind(lease_until).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Releases the lease after a run and sets the next due time.
pub async fn finish(p: &mut Platform<'_>, name: &str, owner: &str, now: i64, next_run_at: i64) -> Result<bool> {
    let n = on!(p.ex(), c => sqlx::query(
        "UPDATE schedules SET next_run_at = $4, last_run_at = $5, lease_owner = NULL, lease_until = NULL
         WHERE tenant_id = $1 AND name = $2 AND lease_owner = $3",
    )
    .bind(TenantId::PLATFORM.as_uuid()).bind(name).bind(owner).bind(next_run_at).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Makes a schedule due now (something it waited for happened), so the next tick runs it.
pub async fn run_soon(p: &mut Platform<'_>, name: &str, now: i64) -> Result<()> {
    on!(p.ex(), c => sqlx::query(
        "UPDATE schedules SET next_run_at = $3 WHERE tenant_id = $1 AND name = $2 AND next_run_at > $3",
    )
    .bind(TenantId::PLATFORM.as_uuid()).bind(name).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
