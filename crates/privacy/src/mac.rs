//! Keyed MACs for values Switchboard hands out and later checks: data-subject verification
//! codes (stored only as a MAC) and signed export links. The key is derived from the master
//! key, so a database copy alone can neither check a guessed code nor forge a link.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::MasterKey;
use crate::token::ct_eq;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MacKey([u8; 32]);

impl MacKey {
    #[must_use]
    pub fn derive(master: &MasterKey, label: &[u8]) -> Self {
        Self(master.derive(label))
    }

    /// HMAC-SHA256 of `data` under this key, separated by `domain` so a tag made for one use
    /// never verifies for another.
    #[must_use]
    pub fn tag(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(&(domain.len() as u64).to_be_bytes());
        mac.update(domain);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a tag made by [`MacKey::tag`].
    #[must_use]
    pub fn verify(&self, domain: &[u8], data: &[u8], tag: &[u8]) -> bool {
        ct_eq(&self.tag(domain, data), tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_key_domain_and_data() {
        let m = MasterKey::generate();
        let k = MacKey::derive(&m, b"a");
        let t = k.tag(b"code", b"123456");
        assert!(k.verify(b"code", b"123456", &t));
        assert!(!k.verify(b"link", b"123456", &t));
        assert!(!k.verify(b"code", b"123457", &t));
        assert!(!MacKey::derive(&m, b"b").verify(b"code", b"123456", &t));
        assert!(!k.verify(b"code", b"123456", &t[..16]));
    }
}
