//! The keyring: unwraps and caches the keys of the hierarchy (master → tenant → contact) and
//! makes blind indexes. Unwrapped keys stay in memory only; the database holds them wrapped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use switchboard_core::{ContactId, Email, KeyId, TenantId};
use switchboard_privacy::{Aad, BlindIndex, BlindKey, BlindKind, ChainKey, DataKey, MacKey, MasterKey, Plain, Sealed};
use switchboard_storage::Scope;
use switchboard_storage::keys::{self as key_repo, ContactKeyRow, TenantKeyRow};

use crate::{AppError, AppResult};

/// Bound on cached contact keys; the cache is cleared when it grows past this.
const CONTACT_CACHE_MAX: usize = 200_000;

pub struct Keyring {
    master: MasterKey,
    chain: ChainKey,
    user_index: BlindKey,
    privacy: MacKey,
    tenant_keys: Mutex<HashMap<(TenantId, KeyId), Arc<DataKey>>>,
    active: Mutex<HashMap<(TenantId, &'static str), KeyId>>,
    blind: Mutex<HashMap<TenantId, Arc<BlindKey>>>,
    contacts: Mutex<HashMap<(TenantId, ContactId), Arc<DataKey>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold no invariants a panicking holder could break: use them anyway.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

const DATA: &str = "data";
const INDEX: &str = "index";

impl Keyring {
    #[must_use]
    pub fn new(master: MasterKey) -> Self {
        Self {
            chain: ChainKey::from_master(&master),
            user_index: BlindKey::from_bytes(master.derive(b"user-email-index")),
            privacy: MacKey::derive(&master, b"privacy-mac"),
            master,
            tenant_keys: Mutex::default(),
            active: Mutex::default(),
            blind: Mutex::default(),
            contacts: Mutex::default(),
        }
    }

    #[must_use]
    pub fn chain(&self) -> &ChainKey {
        &self.chain
    }

    /// Signs export links and hashes data-subject verification codes.
    #[must_use]
    pub fn privacy_mac(&self) -> &MacKey {
        &self.privacy
    }

    /// The platform-wide index of a user's e-mail (login happens before the tenant is known).
    #[must_use]
    pub fn user_email_index(&self, email: &Email) -> BlindIndex {
        self.user_index.index(BlindKind::UserEmail, &email.normalized())
    }

    /// Creates a new tenant's data and index keys, in the caller's transaction.
    pub async fn provision_tenant(&self, s: &mut Scope<'_>, now: i64) -> AppResult<()> {
        for purpose in [DATA, INDEX] {
            let key = DataKey::generate();
            key_repo::insert_tenant_key(
                s,
                &TenantKeyRow {
                    key_id: key.id().as_uuid(),
                    purpose: purpose.to_owned(),
                    master_key_id: self.master.id().as_uuid(),
                    wrapped: self.master.wrap(s.tenant_id(), &key),
                    active: true,
                    created_at: now,
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn load_tenant_key(&self, s: &mut Scope<'_>, row: TenantKeyRow) -> AppResult<Arc<DataKey>> {
        let tenant = s.tenant_id();
        let id = KeyId::from_uuid(row.key_id);
        if let Some(k) = lock(&self.tenant_keys).get(&(tenant, id)) {
            return Ok(k.clone());
        }
        if row.master_key_id != self.master.id().as_uuid() {
            return Err(AppError::Internal("tenant key was wrapped by another master key".into()));
        }
        let key = Arc::new(self.master.unwrap_key(tenant, id, &row.wrapped)?);
        lock(&self.tenant_keys).insert((tenant, id), key.clone());
        Ok(key)
    }

    async fn active_key(&self, s: &mut Scope<'_>, purpose: &'static str) -> AppResult<Arc<DataKey>> {
        let tenant = s.tenant_id();
        let cached = lock(&self.active).get(&(tenant, purpose)).copied();
        if let Some(id) = cached
            && let Some(k) = lock(&self.tenant_keys).get(&(tenant, id))
        {
            return Ok(k.clone());
        }
        let row = key_repo::active_tenant_key(s, purpose)
            .await?
            .ok_or_else(|| AppError::Internal(format!("tenant has no active {purpose} key")))?;
        let key = self.load_tenant_key(s, row).await?;
        lock(&self.active).insert((tenant, purpose), key.id());
        Ok(key)
    }

    /// The tenant's active data key: seals tenant-level secrets and wraps contact keys.
    pub async fn tenant_key(&self, s: &mut Scope<'_>) -> AppResult<Arc<DataKey>> {
        self.active_key(s, DATA).await
    }

    async fn tenant_key_by_id(&self, s: &mut Scope<'_>, id: KeyId) -> AppResult<Arc<DataKey>> {
        if let Some(k) = lock(&self.tenant_keys).get(&(s.tenant_id(), id)) {
            return Ok(k.clone());
        }
        let row = key_repo::tenant_key(s, id.as_uuid())
            .await?
            .ok_or(AppError::Internal("the key this value was sealed with no longer exists".into()))?;
        self.load_tenant_key(s, row).await
    }

    /// The tenant's blind-index key.
    pub async fn blind_key(&self, s: &mut Scope<'_>) -> AppResult<Arc<BlindKey>> {
        let tenant = s.tenant_id();
        if let Some(k) = lock(&self.blind).get(&tenant) {
            return Ok(k.clone());
        }
        let key = Arc::new(BlindKey::for_tenant(&*self.active_key(s, INDEX).await?));
        lock(&self.blind).insert(tenant, key.clone());
        Ok(key)
    }

    pub async fn blind_index(&self, s: &mut Scope<'_>, kind: BlindKind, value: &str) -> AppResult<BlindIndex> {
        Ok(self.blind_key(s).await?.index(kind, value))
    }

    /// Seals a tenant-level value (user e-mail, channel secrets).
    pub async fn seal_tenant<T: Plain>(&self, s: &mut Scope<'_>, aad: &Aad<'_>, value: &T) -> AppResult<Sealed<T>> {
        Ok(Sealed::seal(&*self.tenant_key(s).await?, aad, value))
    }

    pub async fn open_tenant<T: Plain>(&self, s: &mut Scope<'_>, aad: &Aad<'_>, sealed: &Sealed<T>) -> AppResult<T> {
        let key = self.tenant_key_by_id(s, sealed.key_id()?).await?;
        Ok(sealed.open(&key, aad)?)
    }

    /// Creates a contact's own key, wrapped by the tenant key, in the caller's transaction.
    pub async fn provision_contact(&self, s: &mut Scope<'_>, contact: ContactId, now: i64) -> AppResult<Arc<DataKey>> {
        let tenant_key = self.tenant_key(s).await?;
        let key = Arc::new(DataKey::generate());
        key_repo::insert_contact_key(
            s,
            contact.as_uuid(),
            &ContactKeyRow {
                key_id: key.id().as_uuid(),
                tenant_key_id: tenant_key.id().as_uuid(),
                wrapped: tenant_key.wrap(s.tenant_id(), "contact_keys", &key),
                created_at: now,
            },
        )
        .await?;
        self.remember_contact(s.tenant_id(), contact, key.clone());
        Ok(key)
    }

    fn remember_contact(&self, tenant: TenantId, contact: ContactId, key: Arc<DataKey>) {
        let mut cache = lock(&self.contacts);
        if cache.len() >= CONTACT_CACHE_MAX {
            cache.clear();
        }
        cache.insert((tenant, contact), key);
    }

    /// The key a contact's values are sealed with (its newest), or the one with `id`.
    pub async fn contact_key(
        &self,
        s: &mut Scope<'_>,
        contact: ContactId,
        id: Option<KeyId>,
    ) -> AppResult<Arc<DataKey>> {
        let tenant = s.tenant_id();
        if let Some(k) = lock(&self.contacts).get(&(tenant, contact))
            && id.is_none_or(|id| id == k.id())
        {
            return Ok(k.clone());
        }
        let row = key_repo::contact_key(s, contact.as_uuid(), id.map(|i| i.as_uuid()))
            .await?
            .ok_or(AppError::Internal("contact key missing (erased contact?)".into()))?;
        let tenant_key = self.tenant_key_by_id(s, KeyId::from_uuid(row.tenant_key_id)).await?;
        let key =
            Arc::new(tenant_key.unwrap_key(tenant, "contact_keys", KeyId::from_uuid(row.key_id), &row.wrapped)?);
        if id.is_none() {
            self.remember_contact(tenant, contact, key.clone());
        }
        Ok(key)
    }

    pub async fn seal_contact<T: Plain>(
        &self,
        s: &mut Scope<'_>,
        contact: ContactId,
        aad: &Aad<'_>,
        value: &T,
    ) -> AppResult<Sealed<T>> {
        Ok(Sealed::seal(&*self.contact_key(s, contact, None).await?, aad, value))
    }

    pub async fn open_contact<T: Plain>(
        &self,
        s: &mut Scope<'_>,
        contact: ContactId,
        aad: &Aad<'_>,
        sealed: &Sealed<T>,
    ) -> AppResult<T> {
        let key = self.contact_key(s, contact, Some(sealed.key_id()?)).await?;
        Ok(sealed.open(&key, aad)?)
    }

    /// Drops an erased contact's key from memory on this node.
    pub fn forget_contact(&self, tenant: TenantId, contact: ContactId) {
        lock(&self.contacts).remove(&(tenant, contact));
    }

    /// Drops a purged tenant's keys from memory on this node.
    pub fn forget_tenant(&self, tenant: TenantId) {
        lock(&self.contacts).retain(|(t, _), _| *t != tenant);
        lock(&self.tenant_keys).retain(|(t, _), _| *t != tenant);
        lock(&self.active).retain(|(t, _), _| *t != tenant);
        lock(&self.blind).remove(&tenant);
    }
}
