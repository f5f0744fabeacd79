//! What every handler can reach.

use std::sync::Arc;

use switchboard_app::App;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub metrics: Arc<Metrics>,
    pub web: Arc<WebConfig>,
    /// Set when the server stops: live streams (`/inbox/events`) end, so the graceful
    /// shutdown, which waits for open requests, is not held up by them.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
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
        Self {
            app,
            metrics: Arc::new(Metrics::default()),
            web: Arc::new(web),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// Ends every live stream (called when the server begins to shut down).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }
}
