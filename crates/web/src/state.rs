//! What every handler can reach.

use std::sync::Arc;

use switchboard_app::App;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub metrics: Arc<Metrics>,
    pub web: Arc<WebConfig>,
}

#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Set cookies `Secure` with the `__Host-` prefix: true when served over HTTPS.
    pub secure_cookies: bool,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Largest JSON body the API accepts.
    pub api_body_limit: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { secure_cookies: false, metrics_token: None, api_body_limit: 1024 * 1024 }
    }
}

impl AppState {
    #[must_use]
    pub fn new(app: Arc<App>, web: WebConfig) -> Self {
        Self { app, metrics: Arc::new(Metrics::default()), web: Arc::new(web) }
    }
}
