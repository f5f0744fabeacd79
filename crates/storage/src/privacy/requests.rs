//! Data-subject requests and what hangs off them: the verification code, erasure progress and
//! the third parties to notify. Also the retention purges of closed requests and old codes.

use uuid::Uuid;

use crate::db::{Platform, Scope};
use crate::privacy::holds::not_held_sql;
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub kind: String,
    pub jurisdiction: String,
    pub status: String,
    /// JSON: what the request names beyond its kind (purposes of a consent withdrawal).
    pub details: String,
    pub due_at: i64,
    pub created_by: String,
    pub verified_at: Option<i64>,
    pub verified_by: Option<String>,
    pub attestation_sealed: Option<Vec<u8>>,
    pub fulfilled_at: Option<i64>,
    /// JSON: what fulfilment did (steps, counts, holds, notifications).
    pub result: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, contact_id, kind, jurisdiction, status, details, due_at, created_by, \
    verified_at, verified_by, attestation_sealed, fulfilled_at, result, created_at, updated_at";

pub async fn insert(s: &mut Scope<'_>, r: &RequestRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO privacy_requests (tenant_id, id, contact_id, kind, jurisdiction, status,
             details, due_at, created_by, verified_at, verified_by, attestation_sealed,
             fulfilled_at, result, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(tid).bind(r.id).bind(r.contact_id).bind(&r.kind).bind(&r.jurisdiction)
    .bind(&r.status).bind(&r.details).bind(r.due_at).bind(&r.created_by).bind(r.verified_at)
    .bind(&r.verified_by).bind(&r.attestation_sealed).bind(r.fulfilled_at).bind(&r.result)
    .bind(r.created_at).bind(r.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<RequestRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, RequestRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM privacy_requests WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id)
    .fetch_one(&mut *c).await)?)
}

/// Newest first. `open_only` leaves out completed requests.
pub async fn list(s: &mut Scope<'_>, open_only: bool, before: Option<Uuid>, limit: i64) -> Result<Vec<RequestRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, RequestRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM privacy_requests WHERE tenant_id = $1
           AND (NOT $2 OR status <> 'completed') AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4"
    )))
    .bind(tid).bind(open_only).bind(before).bind(limit)
    .fetch_all(&mut *c).await)?)
}

pub async fn for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<RequestRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, RequestRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM privacy_requests WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id"
    )))
    .bind(tid).bind(contact)
    .fetch_all(&mut *c).await)?)
}

/// Writes status, verification, fulfilment and result of a request.
pub async fn update(s: &mut Scope<'_>, r: &RequestRow) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE privacy_requests SET status = $3, verified_at = $4, verified_by = $5,
             attestation_sealed = $6, fulfilled_at = $7, result = $8, updated_at = $9
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(r.id).bind(&r.status).bind(r.verified_at).bind(&r.verified_by)
    .bind(&r.attestation_sealed).bind(r.fulfilled_at).bind(&r.result).bind(r.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces what a request records beyond its state (its purposes, how its code was delivered).
pub async fn set_details(s: &mut Scope<'_>, id: Uuid, details: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE privacy_requests SET details = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).bind(details).bind(now)
        .execute(&mut *c).await.map(|_| ()))?;
    Ok(())
}

/// Erasures to carry on with: started and not finished (a crash), or waiting for a legal hold.
pub async fn resumable(p: &mut Platform<'_>, limit: i64) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(on!(p.ex(), c => sqlx::query_as(
        "SELECT tenant_id, id FROM privacy_requests WHERE status IN ('in_progress', 'held')
         ORDER BY updated_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *c).await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub request_id: Uuid,
    pub code_hash: Vec<u8>,
    pub code_sealed: Option<Vec<u8>>,
    pub attempts: i32,
    pub expires_at: i64,
    pub created_at: i64,
}

pub async fn insert_code(s: &mut Scope<'_>, r: &CodeRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO privacy_verification_codes (tenant_id, request_id, code_hash, code_sealed,
             attempts, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tid).bind(r.request_id).bind(&r.code_hash).bind(&r.code_sealed).bind(r.attempts)
    .bind(r.expires_at).bind(r.created_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn code(s: &mut Scope<'_>, request: Uuid) -> Result<Option<CodeRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, CodeRow>(
        "SELECT request_id, code_hash, code_sealed, attempts, expires_at, created_at
         FROM privacy_verification_codes WHERE tenant_id = $1 AND request_id = $2",
    )
    .bind(tid).bind(request)
    .fetch_optional(&mut *c).await)?)
}

/// Counts a wrong code; returns the attempts so far.
pub async fn count_attempt(s: &mut Scope<'_>, request: Uuid) -> Result<i32> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "UPDATE privacy_verification_codes SET attempts = attempts + 1
         WHERE tenant_id = $1 AND request_id = $2 RETURNING attempts",
    )
    .bind(tid).bind(request)
    .fetch_one(&mut *c).await)?)
}

/// Removes the sealed copy of the code, returning it: delivery happens once.
pub async fn take_sealed_code(s: &mut Scope<'_>, request: Uuid) -> Result<Option<Vec<u8>>> {
    let tid = s.tid();
    let sealed: Option<Option<Vec<u8>>> = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT code_sealed FROM privacy_verification_codes WHERE tenant_id = $1 AND request_id = $2",
    )
    .bind(tid).bind(request)
    .fetch_optional(&mut *c).await)?;
    on!(s.ex(), c => sqlx::query(
        "UPDATE privacy_verification_codes SET code_sealed = NULL
         WHERE tenant_id = $1 AND request_id = $2",
    )
    .bind(tid).bind(request)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(sealed.flatten())
}

pub async fn delete_code(s: &mut Scope<'_>, request: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM privacy_verification_codes WHERE tenant_id = $1 AND request_id = $2",
    )
    .bind(tid).bind(request)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// Erasure: the verification codes of every request of the contact.
pub async fn delete_codes_for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM privacy_verification_codes WHERE tenant_id = $1 AND request_id IN (
             SELECT id FROM privacy_requests WHERE tenant_id = $1 AND contact_id = $2)",
    )
    .bind(tid).bind(contact)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

/// The erasure steps a request has finished, with the rows each affected.
pub async fn steps_done(s: &mut Scope<'_>, request: Uuid) -> Result<Vec<(String, i64)>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as(
        "SELECT step, rows_affected FROM erasure_steps WHERE tenant_id = $1 AND request_id = $2
         ORDER BY finished_at, step",
    )
    .bind(tid).bind(request)
    .fetch_all(&mut *c).await)?)
}

/// Records a finished step. Another node running the same request (the resume schedule runs
/// on every node) may have recorded it first: its record stands, steps being idempotent.
pub async fn step_done(s: &mut Scope<'_>, request: Uuid, step: &str, rows: i64, now: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO erasure_steps (tenant_id, request_id, step, rows_affected, finished_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, request_id, step) DO NOTHING",
    )
    .bind(tid).bind(request).bind(step).bind(rows).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: Uuid,
    pub request_id: Uuid,
    pub contact_id: Uuid,
    pub recipient: String,
    pub country: String,
    /// JSON array of category names.
    pub categories: String,
    /// `erasure` or `rectification`.
    pub action: String,
    pub status: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

pub async fn insert_notification(s: &mut Scope<'_>, n: &NotificationRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO third_party_notifications (tenant_id, id, request_id, contact_id, recipient,
             country, categories, action, status, created_at, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tid).bind(n.id).bind(n.request_id).bind(n.contact_id).bind(&n.recipient)
    .bind(&n.country).bind(&n.categories).bind(&n.action).bind(&n.status).bind(n.created_at)
    .bind(n.sent_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn notifications(s: &mut Scope<'_>, request: Uuid) -> Result<Vec<NotificationRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, NotificationRow>(
        "SELECT id, request_id, contact_id, recipient, country, categories, action, status,
                created_at, sent_at
         FROM third_party_notifications WHERE tenant_id = $1 AND request_id = $2
         ORDER BY recipient, id",
    )
    .bind(tid).bind(request)
    .fetch_all(&mut *c).await)?)
}

/// Retention of request records: deletes up to `limit` requests completed before `before`
/// whose contact is not under a hold covering `category`, with their codes, erasure progress
/// and notifications. Returns the requests deleted.
pub async fn purge_completed(s: &mut Scope<'_>, before: i64, category: &str, limit: i64) -> Result<u64> {
    let tid = s.tid();
    let held = not_held_sql("r", "contact_id", "$3");
    // The same ordered selection in each statement of the transaction picks the same requests.
    let batch = format!(
        "SELECT r.id FROM privacy_requests r WHERE r.tenant_id = $1 AND r.status = 'completed'
           AND r.fulfilled_at < $2 AND {held} ORDER BY r.fulfilled_at, r.id LIMIT $4"
    );
    Ok(on!(s.ex(), c => {
        for table in ["privacy_verification_codes", "erasure_steps", "third_party_notifications"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND request_id IN ({batch})"
            )))
            .bind(tid).bind(before).bind(category).bind(limit)
            .execute(&mut *c).await?;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM privacy_requests WHERE tenant_id = $1 AND id IN ({batch})"
        )))
        .bind(tid).bind(before).bind(category).bind(limit)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?)
}

/// How many completed requests [`purge_completed`] would delete (for the dry run).
pub async fn count_completed(s: &mut Scope<'_>, before: i64, category: &str) -> Result<u64> {
    let tid = s.tid();
    let held = not_held_sql("r", "contact_id", "$3");
    let n: i64 = on!(s.ex(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM privacy_requests r WHERE r.tenant_id = $1
           AND r.status = 'completed' AND r.fulfilled_at < $2 AND {held}"
    )))
    .bind(tid).bind(before).bind(category)
    .fetch_one(&mut *c).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Retention of verification codes: up to `limit` codes that expired before `before`.
pub async fn purge_codes(s: &mut Scope<'_>, before: i64, limit: i64) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query(
        "DELETE FROM privacy_verification_codes WHERE tenant_id = $1 AND request_id IN (
             SELECT request_id FROM privacy_verification_codes
             WHERE tenant_id = $1 AND expires_at < $2 LIMIT $3)",
    )
    .bind(tid).bind(before).bind(limit)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?)
}

pub async fn count_codes(s: &mut Scope<'_>, before: i64) -> Result<u64> {
    let tid = s.tid();
    let n: i64 = on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM privacy_verification_codes WHERE tenant_id = $1 AND expires_at < $2",
    )
    .bind(tid).bind(before)
    .fetch_one(&mut *c).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}
