//! Storage: one SQL text per query, run on SQLite or PostgreSQL, chosen from the database URL
//! at start. Every repository function takes a tenant-scoped handle ([`Scope`]) first, so a
//! query cannot forget its tenant. Per-backend SQL exists only where the dialects really
//! differ (job claiming, full-text search, backup).
//!
//! Repository modules hold row types and SQL; they know nothing about HTTP or business rules.

#[macro_use]
mod macros;
#[macro_use]
pub mod filter;

pub mod api_keys;
pub mod audit;
pub mod blobs;
pub mod bus;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod db;
pub mod error;
pub mod history;
pub mod inbox;
pub mod invitations;
pub mod jobs;
pub mod keys;
pub mod labels;
mod locks;
pub mod media;
pub mod messages;
pub mod privacy;
pub mod schedules;
pub mod search;
pub mod sessions;
pub mod teams;
pub mod templates;
pub mod tenants;
pub mod users;
pub mod webhook_events;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use db::{Backend, Conn, Db, DbOptions, Ex, Platform, Scope, Tx};
pub use error::StoreError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
