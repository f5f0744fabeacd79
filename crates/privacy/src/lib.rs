//! Personal data protection primitives: AES-256-GCM envelopes, the key hierarchy
//! (master key → tenant key → contact key), `Sealed<T>` values and blind indexes.
//!
//! This crate is pure computation. Where wrapped keys are stored, and which key seals which
//! column, is decided by the storage and application layers.

pub mod blind;
pub mod chain;
mod codec;
pub mod envelope;
pub mod keys;
pub mod mac;
pub mod sealed;
pub mod token;

pub use blind::{BlindIndex, BlindKey, BlindKind};
pub use chain::ChainKey;
pub use envelope::Aad;
pub use keys::{DataKey, MasterKey};
pub use mac::MacKey;
pub use sealed::{Plain, Sealed};

/// Why sealed data could not be opened, or a key not unwrapped. Deliberately uninformative:
/// the caller learns that the data is unreadable, not why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed data is malformed")]
    Malformed,
    #[error("sealed data was made with key {0}, not the key given")]
    WrongKey(switchboard_core::KeyId),
    #[error("authentication failed: data or context was altered")]
    Tampered,
    #[error("key material is invalid")]
    BadKey,
}
