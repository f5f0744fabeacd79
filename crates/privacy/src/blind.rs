//! Blind indexes: the way to find a contact by phone number, e-mail or WhatsApp id without
//! storing the value. The index is a keyed HMAC-SHA256 of the normalised value, truncated to
//! 128 bits, under a key that is separate from the sealing keys and belongs to one tenant.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::DataKey;

/// What kind of value is indexed. Part of the HMAC input, so a phone number and a WhatsApp id
/// made of the same digits get different indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlindKind {
    Phone,
    Email,
    WaId,
    UserEmail,
    SearchToken,
}

impl BlindKind {
    fn tag(self) -> &'static [u8] {
        match self {
            BlindKind::Phone => b"phone",
            BlindKind::Email => b"email",
            BlindKind::WaId => b"wa_id",
            BlindKind::UserEmail => b"user_email",
            BlindKind::SearchToken => b"search_token",
        }
    }
}

/// A 16-byte index value, stored in an indexed column.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BlindIndex(pub [u8; 16]);

impl BlindIndex {
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BlindKey([u8; 32]);

impl BlindKey {
    /// The blind-index key of a tenant, derived from its data key: destroying the tenant key
    /// also destroys the ability to link index values back to people.
    #[must_use]
    pub fn for_tenant(tenant_key: &DataKey) -> Self {
        Self(tenant_key.derive(b"blind-index"))
    }

    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `value` must already be normalised (E.164, lower-cased e-mail, digits-only wa_id).
    #[must_use]
    pub fn index(&self, kind: BlindKind, value: &str) -> BlindIndex {
        // HMAC accepts keys of any length, so construction cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return BlindIndex([0; 16]);
        };
        mac.update(kind.tag());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        BlindIndex(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_depends_on_key_kind_and_value() {
        let a = BlindKey::from_bytes([1; 32]);
        let b = BlindKey::from_bytes([2; 32]);
        let v = "+905321112233";
        assert_eq!(a.index(BlindKind::Phone, v), a.index(BlindKind::Phone, v));
        assert_ne!(a.index(BlindKind::Phone, v), b.index(BlindKind::Phone, v));
        assert_ne!(a.index(BlindKind::Phone, v), a.index(BlindKind::WaId, v));
        assert_ne!(a.index(BlindKind::Phone, v), a.index(BlindKind::Phone, "+905321112234"));
    }
}
