//! Standing limits on a contact's processing (restriction, objection) and the suppression list
//! of erased contacts' identifiers that had opted out of marketing.

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

/// Idempotent: a limit already in place stays as it was.
pub async fn set(s: &mut Scope<'_>, contact: Uuid, kind: &str, request: Option<Uuid>, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "INSERT INTO processing_limits (tenant_id, contact_id, kind, request_id, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(tid).bind(contact).bind(kind).bind(request).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The kinds of limit in place for the contact.
pub async fn kinds(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<String>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT kind FROM processing_limits WHERE tenant_id = $1 AND contact_id = $2 ORDER BY kind",
    )
    .bind(tid).bind(contact)
    .fetch_all(&mut *c).await)?)
}

pub async fn delete_for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM processing_limits WHERE tenant_id = $1 AND contact_id = $2",
    )
    .bind(tid).bind(contact)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

pub async fn suppress(
    s: &mut Scope<'_>,
    index: BlindIndex,
    reason: &str,
    request: Option<Uuid>,
    now: i64,
) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "INSERT INTO suppressions (tenant_id, identifier_index, reason, request_id, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(tid).bind(index).bind(reason).bind(request).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Whether any of `indexes` is on the suppression list.
pub async fn any_suppressed(s: &mut Scope<'_>, indexes: &[BlindIndex]) -> Result<bool> {
    let tid = s.tid();
    for &index in indexes {
        let n: i64 = on!(s.ex(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM suppressions WHERE tenant_id = $1 AND identifier_index = $2",
        )
        .bind(tid).bind(index)
        .fetch_one(&mut *c).await)?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
