//! Use cases: everything Switchboard does, independent of how it is asked (HTTP, CLI, jobs).
//!
//! A service method takes the acting [`auth::Principal`] first, checks what it may do, opens
//! the transaction, calls repositories, appends to the audit chain, enqueues jobs, and returns
//! a view the caller can show. Handlers in `switchboard-web` stay thin.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod error;
mod group_commit;
pub mod inbox;
pub mod invitations;
pub mod keys;
pub mod labels;
pub mod page;
pub mod password;
pub mod privacy;
pub mod ratelimit;
pub mod search;
pub mod seed;
pub mod teams;
pub mod tenants;
pub mod users;
pub mod whatsapp;

use std::sync::Arc;

use switchboard_core::Clock;
use switchboard_storage::Db;
use switchboard_storage::bus::EventBus;

pub use config::AppConfig;
pub use error::{AppError, AppResult};

/// Everything a use case needs. One per server; cheap to share behind an `Arc`.
pub struct App {
    pub db: Db,
    pub keys: keys::Keyring,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub config: AppConfig,
    pub limits: ratelimit::Limits,
    pub blobs: switchboard_storage::blobs::BlobStore,
    pub wa: whatsapp::WaState,
    passwords: password::Passwords,
    settings_cache: std::sync::Mutex<std::collections::HashMap<switchboard_core::TenantId, tenants::TenantSettings>>,
}

impl App {
    pub fn new(
        db: Db,
        keys: keys::Keyring,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        config: AppConfig,
        blobs: switchboard_storage::blobs::BlobStore,
    ) -> AppResult<Arc<Self>> {
        Ok(Arc::new(Self {
            limits: ratelimit::Limits::new(&config.limits),
            passwords: password::Passwords::new(&config.argon2)?,
            wa: whatsapp::WaState::new(&config.whatsapp),
            settings_cache: std::sync::Mutex::default(),
            blobs,
            db,
            keys,
            bus,
            clock,
            config,
        }))
    }

    /// Forgets idle rate-limit keys so memory stays bounded.
    pub fn shrink_limiters(&self) {
        self.limits.shrink();
        self.wa.pacing.shrink();
    }

    #[must_use]
    pub fn passwords(&self) -> &password::Passwords {
        &self.passwords
    }

    #[must_use]
    pub fn now(&self) -> switchboard_core::Millis {
        self.clock.now()
    }
}
