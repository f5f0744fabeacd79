//! The audit chain's link function. Each entry's hash is an HMAC over the previous hash and the
//! entry's canonical bytes, keyed with a key derived from the master key. Whoever can write to
//! the database but does not hold the master key can neither edit an entry nor rebuild a
//! consistent chain after deleting or reordering entries.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::MasterKey;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    #[must_use]
    pub fn from_master(master: &MasterKey) -> Self {
        Self(master.derive(b"audit-chain"))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// The hash of an entry whose predecessor hashed to `prev`.
    #[must_use]
    pub fn link(&self, prev: &[u8], canonical: &[u8]) -> [u8; 32] {
        self.mac(&[b"link", prev, canonical])
    }

    /// A keyed digest of a value kept outside the chain (the actor's IP), so the value can be
    /// masked later while the chain still verifies.
    #[must_use]
    pub fn digest(&self, value: &[u8]) -> [u8; 32] {
        self.mac(&[b"side", value])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_depends_on_key_prev_and_content() {
        let a = ChainKey::from_master(&MasterKey::generate());
        let b = ChainKey::from_master(&MasterKey::generate());
        let h = a.link(&[0; 32], b"x");
        assert_eq!(h, a.link(&[0; 32], b"x"));
        assert_ne!(h, b.link(&[0; 32], b"x"));
        assert_ne!(h, a.link(&[1; 32], b"x"));
        assert_ne!(h, a.link(&[0; 32], b"y"));
        assert_ne!(a.link(b"ab", b"c"), a.link(b"a", b"bc"));
    }
}
