//! Switchboard's domain vocabulary: typed identifiers, validated values (E.164 phone numbers,
//! e-mail addresses), roles and permissions, and the pure rules built on them.
//!
//! Nothing in this crate performs I/O. Every other crate depends on it; it depends on none of
//! them. Values are parsed at the edge into these types so that invalid input cannot travel
//! further in.

pub mod auth;
pub mod email;
pub mod error;
pub mod ids;
pub mod optout;
pub mod phone;
pub mod privacy;
pub mod search;
pub mod time;

pub use auth::{Permission, Role};
pub use email::Email;
pub use error::Invalid;
pub use ids::*;
pub use phone::{E164, WaId};
pub use time::{Clock, Millis};
