//! `Sealed<T>`: a personal value as it exists in storage. Storage row types use it for every
//! personal column, so a plaintext name, phone number or message body cannot be written by
//! accident: the only way to make a `Sealed<T>` from a `T` is to encrypt it.

use std::fmt;
use std::marker::PhantomData;

use switchboard_core::{E164, Email, KeyId, WaId};

use crate::CryptoError;
use crate::envelope::{self, Aad};
use crate::keys::DataKey;

/// A value that can be sealed: it knows its byte form.
pub trait Plain: Sized {
    fn to_plain(&self) -> Vec<u8>;
    fn from_plain(bytes: Vec<u8>) -> Result<Self, CryptoError>;
}

pub struct Sealed<T> {
    bytes: Vec<u8>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Plain> Sealed<T> {
    #[must_use]
    pub fn seal(key: &DataKey, aad: &Aad<'_>, value: &T) -> Self {
        Self { bytes: key.seal_bytes(aad, &value.to_plain()), _value: PhantomData }
    }

    pub fn open(&self, key: &DataKey, aad: &Aad<'_>) -> Result<T, CryptoError> {
        T::from_plain(key.open_bytes(aad, &self.bytes)?)
    }
}

impl<T> Sealed<T> {
    /// Wraps ciphertext read back from storage. Only the storage layer calls this.
    #[must_use]
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self { bytes, _value: PhantomData }
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Which key sealed it: the one to fetch before opening.
    pub fn key_id(&self) -> Result<KeyId, CryptoError> {
        envelope::key_id_of(&self.bytes)
    }
}

impl<T> Clone for Sealed<T> {
    fn clone(&self) -> Self {
        Self::from_stored(self.bytes.clone())
    }
}

impl<T> fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.bytes.len())
    }
}

impl Plain for String {
    fn to_plain(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn from_plain(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        String::from_utf8(bytes).map_err(|_| CryptoError::Malformed)
    }
}

impl Plain for Vec<u8> {
    fn to_plain(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_plain(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        Ok(bytes)
    }
}

impl Plain for serde_json::Value {
    fn to_plain(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    fn from_plain(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        serde_json::from_slice(&bytes).map_err(|_| CryptoError::Malformed)
    }
}

macro_rules! plain_via_string {
    ($t:ty, $parse:expr) => {
        impl Plain for $t {
            fn to_plain(&self) -> Vec<u8> {
                self.as_str().as_bytes().to_vec()
            }
            fn from_plain(bytes: Vec<u8>) -> Result<Self, CryptoError> {
                let s = String::from_utf8(bytes).map_err(|_| CryptoError::Malformed)?;
                $parse(&s).map_err(|_| CryptoError::Malformed)
            }
        }
    };
}

plain_via_string!(E164, |s: &str| E164::parse(s, None));
plain_via_string!(Email, Email::parse);
plain_via_string!(WaId, WaId::parse);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::TenantId;
    use uuid::Uuid;

    #[test]
    fn sealed_value_opens_only_in_its_place() -> Result<(), CryptoError> {
        let key = DataKey::generate();
        let tenant = TenantId::new();
        let row = Uuid::now_v7();
        let aad = Aad::new(tenant, "contacts", "name", row);
        let s = Sealed::seal(&key, &aad, &"Ayşe Yılmaz".to_owned());
        assert!(!String::from_utf8_lossy(s.as_bytes()).contains("Ayşe"));
        assert_eq!(s.open(&key, &aad)?, "Ayşe Yılmaz");
        assert_eq!(s.key_id()?, key.id());
        for other in [
            Aad::new(TenantId::new(), "contacts", "name", row),
            Aad::new(tenant, "users", "name", row),
            Aad::new(tenant, "contacts", "email", row),
            Aad::new(tenant, "contacts", "name", Uuid::now_v7()),
        ] {
            assert_eq!(s.open(&key, &other).err(), Some(CryptoError::Tampered));
        }
        assert!(matches!(s.open(&DataKey::generate(), &aad), Err(CryptoError::WrongKey(_))));
        Ok(())
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let key = DataKey::generate();
        let aad = Aad::new(TenantId::new(), "m", "text", Uuid::nil());
        let sealed = Sealed::seal(&key, &aad, &"Merhaba".to_owned());
        for i in 0..sealed.as_bytes().len() {
            let mut b = sealed.as_bytes().to_vec();
            b[i] ^= 0x01;
            assert!(Sealed::<String>::from_stored(b).open(&key, &aad).is_err(), "byte {i}");
        }
        assert!(Sealed::<String>::from_stored(vec![1, 2, 3]).open(&key, &aad).is_err());
    }

    #[test]
    fn same_value_seals_differently_each_time() {
        let key = DataKey::generate();
        let aad = Aad::new(TenantId::new(), "m", "text", Uuid::nil());
        let v = "same".to_owned();
        assert_ne!(Sealed::seal(&key, &aad, &v).as_bytes(), Sealed::seal(&key, &aad, &v).as_bytes());
    }
}
