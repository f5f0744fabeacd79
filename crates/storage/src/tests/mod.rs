//! Storage tests. Each scenario runs on SQLite and on PostgreSQL (see `dual_test!`).

mod audit_chain;
mod jobs_queue;
mod plans;
mod privacy;
mod schema;
mod search;
