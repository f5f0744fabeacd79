//! Invitations to join a tenant. Only the SHA-256 of the link's token is stored; the e-mail is
//! sealed under the tenant key with the same platform blind index as `users.email_index`.

use switchboard_core::Email;
use switchboard_privacy::{BlindIndex, Sealed};
use uuid::Uuid;

use crate::Result;
use crate::db::{Platform, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub email_sealed: Sealed<Email>,
    pub email_index: BlindIndex,
    pub role: String,
    pub invited_by: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub accepted_user_id: Option<Uuid>,
}

const COLUMNS: &str = "tenant_id, id, token_hash, email_sealed, email_index, role, invited_by, created_at, \
    expires_at, revoked_at, accepted_at, accepted_user_id";

pub async fn insert(s: &mut Scope<'_>, r: &InvitationRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO invitations (tenant_id, id, token_hash, email_sealed, email_index, role, invited_by,
             created_at, expires_at, revoked_at, accepted_at, accepted_user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL)",
    )
    .bind(tid).bind(r.id).bind(&r.token_hash).bind(&r.email_sealed).bind(r.email_index).bind(&r.role)
    .bind(r.invited_by).bind(r.created_at).bind(r.expires_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The invitation link's entry point: the invitation with this token hash, whatever its tenant.
pub async fn find_by_token(p: &mut Platform<'_>, token_hash: &[u8]) -> Result<Option<InvitationRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
    )))
    .bind(token_hash).fetch_optional(&mut *c).await)?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<InvitationRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid).bind(id).fetch_one(&mut *c).await)?)
}

/// Invitations neither accepted, revoked nor expired at `now`, newest first.
pub async fn pending(s: &mut Scope<'_>, now: i64) -> Result<Vec<InvitationRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invitations
         WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         ORDER BY created_at DESC, id"
    )))
    .bind(tid).bind(now).fetch_all(&mut *c).await)?)
}

/// Revokes a pending invitation; false when it was no longer pending.
pub async fn revoke(s: &mut Scope<'_>, id: Uuid, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE invitations SET revoked_at = $3
         WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(tid).bind(id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Marks a pending, unexpired invitation used by `user`; false when it was not (a second use
/// of the link, a revocation or an expiry in between).
pub async fn accept(s: &mut Scope<'_>, id: Uuid, user: Uuid, now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE invitations SET accepted_at = $3, accepted_user_id = $4
         WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(tid).bind(id).bind(now).bind(user).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Moves an invitation's expiry (tests and operators).
pub async fn set_expires_at(s: &mut Scope<'_>, id: Uuid, expires_at: i64) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query("UPDATE invitations SET expires_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tid).bind(id).bind(expires_at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
