//! Repositories of the privacy engine (migration 0004): per-tenant privacy settings, the
//! consent ledger, processing limits and suppressions, data-subject requests with their codes,
//! erasure progress and third-party notifications, the disclosure log, legal holds, retention
//! policies and runs, and tenant deletion. Rows hold ids, enum strings, blind indexes and
//! sealed values; what they mean is decided in `switchboard-app::privacy`.

pub mod consents;
pub mod holds;
pub mod limits;
pub mod requests;
pub mod retention;
pub mod settings;
pub mod tenant_purge;
pub mod transfers;
