//! The job runtime: workers that claim jobs from the `jobs` table under a lease, run them, and
//! record the outcome; and schedules for periodic work, each run by one node at a time.
//!
//! What a job does is not known here: the application registers [`Handler`]s by job kind.
//! Enqueueing happens in `switchboard-storage::jobs`, inside the caller's transaction.

mod backoff;
mod schedule;
mod worker;

pub use backoff::backoff_ms;
pub use schedule::{Periodic, Scheduler};
pub use worker::{Handler, JobError, QueueSpec, Worker, payload_id};

/// Wakes idle workers when work is enqueued on this node (other nodes find it by polling).
pub type Wakeup = std::sync::Arc<tokio::sync::Notify>;
