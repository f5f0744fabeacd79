//! Wrapped data keys: each tenant's (wrapped by the master key) and each contact's (wrapped by
//! the tenant key). Deleting a row crypto-shreds what was sealed under that key.

use uuid::Uuid;

use crate::Result;
use crate::db::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantKeyRow {
    pub key_id: Uuid,
    /// `data` or `index`.
    pub purpose: String,
    pub master_key_id: Uuid,
    pub wrapped: Vec<u8>,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactKeyRow {
    pub key_id: Uuid,
    pub tenant_key_id: Uuid,
    pub wrapped: Vec<u8>,
    pub created_at: i64,
}

pub async fn insert_tenant_key(s: &mut Scope<'_>, row: &TenantKeyRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO tenant_keys (tenant_id, key_id, purpose, master_key_id, wrapped, active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tid)
    .bind(row.key_id)
    .bind(&row.purpose)
    .bind(row.master_key_id)
    .bind(&row.wrapped)
    .bind(row.active)
    .bind(row.created_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The key of `purpose` that new values are sealed (or indexed) with.
pub async fn active_tenant_key(s: &mut Scope<'_>, purpose: &str) -> Result<Option<TenantKeyRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TenantKeyRow>(
        "SELECT key_id, purpose, master_key_id, wrapped, active, created_at FROM tenant_keys
         WHERE tenant_id = $1 AND purpose = $2 AND active ORDER BY created_at DESC LIMIT 1",
    )
    .bind(tid)
    .bind(purpose)
    .fetch_optional(&mut *c)
    .await)?)
}

pub async fn tenant_key(s: &mut Scope<'_>, key_id: Uuid) -> Result<Option<TenantKeyRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, TenantKeyRow>(
        "SELECT key_id, purpose, master_key_id, wrapped, active, created_at FROM tenant_keys
         WHERE tenant_id = $1 AND key_id = $2",
    )
    .bind(tid)
    .bind(key_id)
    .fetch_optional(&mut *c)
    .await)?)
}

/// Crypto-shreds the tenant: nothing sealed for it can be opened afterwards, backups included.
pub async fn delete_tenant_keys(s: &mut Scope<'_>) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM tenant_keys WHERE tenant_id = $1")
        .bind(tid)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?)
}

pub async fn insert_contact_key(s: &mut Scope<'_>, contact_id: Uuid, row: &ContactKeyRow) -> Result<()> {
    let tid = s.tid();
    on!(s.ex(), c => sqlx::query(
        "INSERT INTO contact_keys (tenant_id, contact_id, key_id, tenant_key_id, wrapped, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tid)
    .bind(contact_id)
    .bind(row.key_id)
    .bind(row.tenant_key_id)
    .bind(&row.wrapped)
    .bind(row.created_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A specific key of a contact, or its newest when `key_id` is `None`.
pub async fn contact_key(s: &mut Scope<'_>, contact_id: Uuid, key_id: Option<Uuid>) -> Result<Option<ContactKeyRow>> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query_as::<_, ContactKeyRow>(
        "SELECT key_id, tenant_key_id, wrapped, created_at FROM contact_keys
         WHERE tenant_id = $1 AND contact_id = $2 AND ($3 IS NULL OR key_id = $3)
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(tid)
    .bind(contact_id)
    .bind(key_id)
    .fetch_optional(&mut *c)
    .await)?)
}

/// Crypto-shreds one contact.
pub async fn delete_contact_keys(s: &mut Scope<'_>, contact_id: Uuid) -> Result<u64> {
    let tid = s.tid();
    Ok(on!(s.ex(), c => sqlx::query("DELETE FROM contact_keys WHERE tenant_id = $1 AND contact_id = $2")
        .bind(tid)
        .bind(contact_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Tenant keys wrapped by a master key other than `master_key_id` (a wrong key file).
pub async fn count_foreign_master(p: &mut crate::db::Platform<'_>, master_key_id: Uuid) -> Result<i64> {
    Ok(on!(p.ex(), c => sqlx::query_scalar("SELECT COUNT(*) FROM tenant_keys WHERE master_key_id <> $1")
        .bind(master_key_id)
        .fetch_one(&mut *c)
        .await)?)
}
