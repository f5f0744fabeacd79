//! Users: the people who log in. E-mail and name are sealed under the tenant key; the e-mail's
//! blind index (under a platform key) finds the user at login.

use switchboard_core::Email;
use switchboard_privacy::{BlindIndex, Sealed};
use uuid::Uuid;

use crate::db::{Platform, Scope};
use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email_sealed: Sealed<Email>,
    pub email_index: BlindIndex,
    pub name_sealed: Option<Sealed<String>>,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub locale: String,
    pub totp_secret_sealed: Option<Sealed<Vec<u8>>>,
    pub totp_enabled: bool,
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "tenant_id, id, email_sealed, email_index, name_sealed, password_hash, role, \
    disabled, locale, totp_secret_sealed, totp_enabled, totp_last_step, created_at, updated_at";

pub async fn insert(s: &mut Scope<'_>, row: &UserRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO users (tenant_id, id, email_sealed, email_index, name_sealed, password_hash,
             role, disabled, locale, totp_secret_sealed, totp_enabled, totp_last_step, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tid)
    .bind(row.id)
    .bind(&row.email_sealed)
    .bind(row.email_index)
    .bind(&row.name_sealed)
    .bind(&row.password_hash)
    .bind(&row.role)
    .bind(row.disabled)
    .bind(&row.locale)
    .bind(&row.totp_secret_sealed)
    .bind(row.totp_enabled)
    .bind(row.totp_last_step)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Login: the user with this e-mail index, in whichever tenant.
pub async fn find_by_email_index(p: &mut Platform<'_>, index: BlindIndex) -> Result<Option<UserRow>> {
    Ok(on!(p.ex(), c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE email_index = $1"
    )))
    .bind(index)
    .fetch_optional(&mut *c)
    .await)?)
}

pub async fn get(s: &mut Scope<'_>, id: Uuid) -> Result<UserRow> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tid)
    .bind(id)
    .fetch_one(&mut *c)
    .await)?)
}

/// A page of users ordered by id, starting after `after`.
pub async fn list(s: &mut Scope<'_>, after: Option<Uuid>, limit: i64) -> Result<Vec<UserRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND ($2 IS NULL OR id > $2)
         ORDER BY id LIMIT $3"
    )))
    .bind(tid)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?)
}

pub async fn count_owners(s: &mut Scope<'_>) -> Result<i64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'owner' AND NOT disabled",
    )
    .bind(tid)
    .fetch_one(&mut *c)
    .await)?)
}

fn update_one(n: u64) -> Result<()> {
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn set_password(s: &mut Scope<'_>, id: Uuid, hash: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(hash).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    update_one(n)
}

pub async fn set_role(s: &mut Scope<'_>, id: Uuid, role: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(role).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    update_one(n)
}

pub async fn set_disabled(s: &mut Scope<'_>, id: Uuid, disabled: bool, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET disabled = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(disabled).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    update_one(n)
}

pub async fn set_locale(s: &mut Scope<'_>, id: Uuid, locale: &str, now: i64) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET locale = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(locale).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    update_one(n)
}

/// Stores a TOTP secret awaiting confirmation (`enabled = false`) or confirms/clears it.
pub async fn set_totp(
    s: &mut Scope<'_>,
    id: Uuid,
    secret: Option<&Sealed<Vec<u8>>>,
    enabled: bool,
    now: i64,
) -> Result<()> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET totp_secret_sealed = $3, totp_enabled = $4, totp_last_step = NULL,
             updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid).bind(id).bind(secret).bind(enabled).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    update_one(n)
}

/// Records the time step of an accepted TOTP code, only if it is newer than the last one.
/// Returns false when the step was already used (a replay): the compare-and-set happens in the
/// database so two nodes cannot both accept the same code.
pub async fn advance_totp_step(s: &mut Scope<'_>, id: Uuid, step: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE users SET totp_last_step = $3
         WHERE tenant_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
    )
    .bind(tid).bind(id).bind(step)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn replace_recovery_codes(s: &mut Scope<'_>, user: Uuid, hashes: &[[u8; 32]]) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => {
        sqlx::query("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
            .bind(tid).bind(user).execute(&mut *c).await?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO user_recovery_codes (tenant_id, user_id, code_hash) VALUES ($1, $2, $3)",
            )
            .bind(tid).bind(user).bind(h.to_vec()).execute(&mut *c).await?;
        }
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

/// Spends a recovery code. True when the code existed and was unused.
pub async fn use_recovery_code(s: &mut Scope<'_>, user: Uuid, hash: &[u8; 32], now: i64) -> Result<bool> {
    let tid = s.tid();
    let n = on!(s.ex(), c => sqlx::query(
        "UPDATE user_recovery_codes SET used_at = $4
         WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(tid).bind(user).bind(hash.to_vec()).bind(now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn unused_recovery_codes(s: &mut Scope<'_>, user: Uuid) -> Result<i64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL",
    )
    .bind(tid).bind(user)
    .fetch_one(&mut *c).await)?)
}
