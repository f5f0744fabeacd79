//! The consent ledger: events are appended, never changed; `consents` holds the current state
//! per contact and purpose, moved only by an event at least as recent as the one it shows (a
//! late-arriving older event stays in the ledger without overriding a newer decision).

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentEventRow {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub purpose: String,
    pub state: String,
    pub legal_basis: Option<String>,
    pub source: String,
    /// JSON object of ids.
    pub evidence: String,
    pub notice_version: Option<String>,
    /// `user:<id>`, `api_key:<id>` or `system:<name>`.
    pub actor: String,
    pub occurred_at: i64,
    pub recorded_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    pub purpose: String,
    pub state: String,
    pub legal_basis: Option<String>,
    pub source: String,
    pub event_id: Uuid,
    pub notice_version: Option<String>,
    pub changed_at: i64,
    pub granted_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
}

const CURRENT: &str = "purpose, state, legal_basis, source, event_id, notice_version, changed_at, \
    granted_at, withdrawn_at";

/// Appends the event and moves the current state, in the caller's transaction.
pub async fn append(s: &mut Scope<'_>, e: &ConsentEventRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query(
            "INSERT INTO consent_events (tenant_id, id, contact_id, purpose, state, legal_basis,
                 source, evidence, notice_version, actor, occurred_at, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(tid).bind(e.id).bind(e.contact_id).bind(&e.purpose).bind(&e.state)
        .bind(&e.legal_basis).bind(&e.source).bind(&e.evidence).bind(&e.notice_version)
        .bind(&e.actor).bind(e.occurred_at).bind(e.recorded_at)
        .execute(&mut *c).await?;
        sqlx::query(
            "INSERT INTO consents (tenant_id, contact_id, purpose, state, legal_basis, source,
                 event_id, notice_version, changed_at, granted_at, withdrawn_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (tenant_id, contact_id, purpose) DO UPDATE SET
                 state = excluded.state, legal_basis = excluded.legal_basis,
                 source = excluded.source, event_id = excluded.event_id,
                 notice_version = excluded.notice_version, changed_at = excluded.changed_at,
                 granted_at = COALESCE(excluded.granted_at, consents.granted_at),
                 withdrawn_at = COALESCE(excluded.withdrawn_at, consents.withdrawn_at)
             WHERE consents.changed_at <= excluded.changed_at",
        )
        .bind(tid).bind(e.contact_id).bind(&e.purpose).bind(&e.state).bind(&e.legal_basis)
        .bind(&e.source).bind(e.id).bind(&e.notice_version).bind(e.occurred_at)
        .bind((e.state == "granted").then_some(e.occurred_at))
        .bind((e.state == "withdrawn").then_some(e.occurred_at))
        .execute(&mut *c).await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The current state of every purpose recorded for the contact.
pub async fn current(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<ConsentRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ConsentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CURRENT} FROM consents WHERE tenant_id = $1 AND contact_id = $2 ORDER BY purpose"
    )))
    .bind(tid).bind(contact)
    .fetch_all(&mut *c).await)?)
}

pub async fn current_for(s: &mut Scope<'_>, contact: Uuid, purpose: &str) -> Result<Option<ConsentRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ConsentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CURRENT} FROM consents WHERE tenant_id = $1 AND contact_id = $2 AND purpose = $3"
    )))
    .bind(tid).bind(contact).bind(purpose)
    .fetch_optional(&mut *c).await)?)
}

/// The contact's whole ledger, oldest first.
pub async fn events(s: &mut Scope<'_>, contact: Uuid) -> Result<Vec<ConsentEventRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ConsentEventRow>(
        "SELECT id, contact_id, purpose, state, legal_basis, source, evidence, notice_version,
                actor, occurred_at, recorded_at
         FROM consent_events WHERE tenant_id = $1 AND contact_id = $2
         ORDER BY occurred_at, id",
    )
    .bind(tid).bind(contact)
    .fetch_all(&mut *c).await)?)
}

/// Erasure: the ledger and the current state of one contact.
pub async fn delete_for_contact(s: &mut Scope<'_>, contact: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => {
        let a = sqlx::query("DELETE FROM consent_events WHERE tenant_id = $1 AND contact_id = $2")
            .bind(tid).bind(contact).execute(&mut *c).await?.rows_affected();
        let b = sqlx::query("DELETE FROM consents WHERE tenant_id = $1 AND contact_id = $2")
            .bind(tid).bind(contact).execute(&mut *c).await?.rows_affected();
        Ok::<_, sqlx::Error>(a + b)
    })?)
}
