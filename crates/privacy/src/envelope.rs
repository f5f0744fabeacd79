//! The envelope format every sealed value uses:
//!
//! ```text
//! version (1 byte, = 1) | key id (16 bytes) | nonce (12 bytes) | ciphertext + GCM tag
//! ```
//!
//! The additional authenticated data binds the ciphertext to tenant, table, column and row, so
//! a value copied into another row, column or tenant no longer opens. The header is
//! authenticated too.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Nonce, Payload};
use switchboard_core::{KeyId, TenantId};
use uuid::Uuid;

use crate::CryptoError;

pub const VERSION: u8 = 1;
const HEADER: usize = 1 + 16 + 12;

/// Where a sealed value lives. Opening requires the same four coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Aad<'a> {
    pub tenant: TenantId,
    pub table: &'a str,
    pub column: &'a str,
    pub row: Uuid,
}

impl<'a> Aad<'a> {
    #[must_use]
    pub fn new(tenant: TenantId, table: &'a str, column: &'a str, row: Uuid) -> Self {
        Self { tenant, table, column, row }
    }

    fn encode(&self, header: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(header.len() + 48 + self.table.len() + self.column.len());
        out.extend_from_slice(b"switchboard-aad-v1");
        out.extend_from_slice(header);
        out.extend_from_slice(self.tenant.as_uuid().as_bytes());
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        for part in [self.table.as_bytes(), self.column.as_bytes()] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(self.row.as_bytes());
        out
    }
}

pub(crate) fn seal(cipher: &Aes256Gcm, key_id: KeyId, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rand::fill(&mut nonce);
    let mut header = [0u8; HEADER];
    header[0] = VERSION;
    header[1..17].copy_from_slice(key_id.as_uuid().as_bytes());
    header[17..].copy_from_slice(&nonce);
    let aad_bytes = aad.encode(&header);
    // AES-GCM encryption of an in-memory buffer cannot fail for inputs below 64 GiB.
    let ciphertext = cipher
        .encrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg: plaintext, aad: &aad_bytes })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + ciphertext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&ciphertext);
    out
}

/// The key id an envelope was sealed with, read without decrypting.
pub fn key_id_of(envelope: &[u8]) -> Result<KeyId, CryptoError> {
    let header = envelope.get(..HEADER).ok_or(CryptoError::Malformed)?;
    if header.first() != Some(&VERSION) {
        return Err(CryptoError::Malformed);
    }
    let id = Uuid::from_slice(header.get(1..17).ok_or(CryptoError::Malformed)?).map_err(|_| CryptoError::Malformed)?;
    Ok(KeyId::from_uuid(id))
}

pub(crate) fn open(cipher: &Aes256Gcm, key_id: KeyId, aad: &Aad<'_>, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let found = key_id_of(envelope)?;
    if found != key_id {
        return Err(CryptoError::WrongKey(found));
    }
    let (header, ciphertext) = envelope.split_at(HEADER);
    let nonce: [u8; 12] = header.get(17..HEADER).and_then(|n| n.try_into().ok()).ok_or(CryptoError::Malformed)?;
    let aad_bytes = aad.encode(header);
    cipher
        .decrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg: ciphertext, aad: &aad_bytes })
        .map_err(|_| CryptoError::Tampered)
}
