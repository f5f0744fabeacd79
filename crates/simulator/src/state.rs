//! The simulator's shared state. Each store sits behind its own short-held `std` mutex (never
//! across an await), so concurrent sends contend only briefly.

use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use crate::config::{Faults, SimConfig, Tunables};
use crate::graph::media::MediaStore;
use crate::graph::templates::TemplateStore;
use crate::limits::Limits;
use crate::sent::SentLog;
use crate::webhook::delivery::Webhooks;

pub(crate) struct Shared {
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    /// `http://127.0.0.1:PORT`, used when a request carries no `Host` header.
    pub base_url: String,
    pub tunables: Mutex<Tunables>,
    pub faults: Mutex<Faults>,
    pub limits: Mutex<Limits>,
    pub sent: Mutex<SentLog>,
    pub media: Mutex<MediaStore>,
    pub templates: Mutex<TemplateStore>,
    pub webhooks: Webhooks,
    /// Stops status timers, deliveries and held responses on shutdown.
    pub cancel: CancellationToken,
}

impl Shared {
    pub(crate) fn new(cfg: &SimConfig, base_url: String, webhooks: Webhooks) -> Self {
        Self {
            phone_number_id: cfg.phone_number_id.clone(),
            waba_id: cfg.waba_id.clone(),
            display_phone_number: cfg.display_phone_number.clone(),
            access_token: cfg.access_token.clone(),
            app_secret: cfg.app_secret.clone(),
            verify_token: cfg.verify_token.clone(),
            base_url,
            tunables: Mutex::new(Tunables::from_config(cfg)),
            faults: Mutex::new(Faults::default()),
            limits: Mutex::new(Limits::new()),
            sent: Mutex::new(SentLog::new()),
            media: Mutex::new(MediaStore::default()),
            templates: Mutex::new(TemplateStore::seeded()),
            webhooks,
            cancel: CancellationToken::new(),
        }
    }
}
