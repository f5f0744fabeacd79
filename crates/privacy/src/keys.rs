//! The key hierarchy. The master key (a file outside the database) wraps each tenant's keys;
//! a tenant's data key wraps each contact's key. Destroying a wrapped key makes everything
//! sealed under it unreadable, backups included: that is how erasure reaches backups.

use std::fmt;

use aes_gcm::aead::Key;
use aes_gcm::{Aes256Gcm, KeyInit};
use sha2::{Digest, Sha256};
use switchboard_core::{KeyId, TenantId};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::CryptoError;
use crate::envelope::{self, Aad};

/// Raw key bytes, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct KeyBytes([u8; 32]);

/// A 256-bit AES-GCM key with its id. Seals values, and wraps the keys below it.
#[derive(Clone)]
pub struct DataKey {
    id: KeyId,
    bytes: KeyBytes,
    cipher: Aes256Gcm,
}

impl DataKey {
    /// A fresh random key.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let key = Self::from_bytes(KeyId::new(), bytes);
        bytes.zeroize();
        key
    }

    fn from_bytes(id: KeyId, bytes: [u8; 32]) -> Self {
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes));
        Self { id, bytes: KeyBytes(bytes), cipher }
    }

    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    #[must_use]
    pub fn seal_bytes(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
        envelope::seal(&self.cipher, self.id, aad, plaintext)
    }

    pub fn open_bytes(&self, aad: &Aad<'_>, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
        envelope::open(&self.cipher, self.id, aad, envelope)
    }

    /// Wraps `child` under this key. `tenant`, `table` and the child's id are bound into the
    /// envelope, so a wrapped key cannot be moved to another tenant or row.
    #[must_use]
    pub fn wrap(&self, tenant: TenantId, table: &str, child: &DataKey) -> Vec<u8> {
        let aad = Aad::new(tenant, table, "wrapped_key", child.id.as_uuid());
        self.seal_bytes(&aad, &child.bytes.0)
    }

    /// Reverses [`DataKey::wrap`].
    pub fn unwrap_key(
        &self,
        tenant: TenantId,
        table: &str,
        child_id: KeyId,
        wrapped: &[u8],
    ) -> Result<DataKey, CryptoError> {
        let aad = Aad::new(tenant, table, "wrapped_key", child_id.as_uuid());
        let mut raw = self.open_bytes(&aad, wrapped)?;
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::BadKey)?;
        raw.zeroize();
        Ok(Self::from_bytes(child_id, bytes))
    }

    /// A sub-key for a different purpose (blind indexes), derived so that it never equals the
    /// data key itself.
    #[must_use]
    pub(crate) fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"switchboard-derive-v1");
        h.update(label);
        h.update(self.bytes.0);
        h.finalize().into()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

/// The root of the hierarchy, read from `SWITCHBOARD_MASTER_KEY_FILE` or `DATA_DIR/master.key`.
/// Its id is derived from its bytes, so each wrapped tenant key records which master key
/// wrapped it and a rotation can tell old from new.
#[derive(Clone, Debug)]
pub struct MasterKey(DataKey);

impl MasterKey {
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let key = Self::from_raw(bytes);
        bytes.zeroize();
        key
    }

    fn from_raw(bytes: [u8; 32]) -> Self {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self(DataKey::from_bytes(KeyId::from_uuid(Uuid::from_bytes(id)), bytes))
    }

    /// Parses the key file: 64 hexadecimal characters, surrounding whitespace ignored.
    pub fn from_file_contents(contents: &str) -> Result<Self, CryptoError> {
        let mut raw = hex::decode(contents.trim()).map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::BadKey)?;
        raw.zeroize();
        Ok(Self::from_raw(bytes))
    }

    /// The key file contents for a new key.
    #[must_use]
    pub fn to_file_contents(&self) -> String {
        format!("{}\n", hex::encode(self.0.bytes.0))
    }

    #[must_use]
    pub fn id(&self) -> KeyId {
        self.0.id
    }

    #[must_use]
    pub fn wrap(&self, tenant: TenantId, child: &DataKey) -> Vec<u8> {
        self.0.wrap(tenant, "tenant_keys", child)
    }

    pub fn unwrap_key(&self, tenant: TenantId, child_id: KeyId, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        self.0.unwrap_key(tenant, "tenant_keys", child_id, wrapped)
    }

    /// The key that seals platform-level secrets (the user e-mail index, for example).
    #[must_use]
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        self.0.derive(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_binds_tenant_and_row() -> Result<(), CryptoError> {
        let master = MasterKey::generate();
        let tenant = TenantId::new();
        let tk = DataKey::generate();
        let wrapped = master.wrap(tenant, &tk);
        let back = master.unwrap_key(tenant, tk.id(), &wrapped)?;
        let aad = Aad::new(tenant, "t", "c", Uuid::nil());
        assert_eq!(back.open_bytes(&aad, &tk.seal_bytes(&aad, b"x"))?, b"x");
        // Another tenant, or another key id, cannot unwrap it.
        assert!(master.unwrap_key(TenantId::new(), tk.id(), &wrapped).is_err());
        assert!(master.unwrap_key(tenant, KeyId::new(), &wrapped).is_err());
        // Another master key cannot either.
        assert!(MasterKey::generate().unwrap_key(tenant, tk.id(), &wrapped).is_err());
        Ok(())
    }

    #[test]
    fn master_key_file_round_trip() -> Result<(), CryptoError> {
        let m = MasterKey::generate();
        let again = MasterKey::from_file_contents(&m.to_file_contents())?;
        assert_eq!(m.id(), again.id());
        assert!(MasterKey::from_file_contents("abc").is_err());
        Ok(())
    }
}
