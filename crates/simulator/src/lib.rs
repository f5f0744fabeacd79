//! A standalone fake of Meta's WhatsApp Cloud API for demos, tests and benchmarks.
//!
//! It serves the Graph API endpoints Switchboard calls (sends, media, templates, the
//! phone-number object) with Meta's validation, limits and error shapes, and delivers webhooks
//! to Switchboard the way Meta does: after a GET handshake, signed over exact ASCII-escaped
//! bytes, retried until answered with 200. A control API under `/_sim/` plays the customers
//! and injects faults. See `docs/SIMULATOR.md`.

mod config;
mod control;
mod escape;
mod graph;
mod inbound;
mod limits;
mod meta_error;
mod sent;
mod state;
mod util;
mod webhook;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{Faults, ForcedError, PairRate, SimConfig};
pub use sent::Counters;
pub use webhook::delivery::{DeliveryTotals, RegisterOutcome};

use crate::state::Shared;
use crate::util::lock;
use crate::webhook::delivery::{self, Webhooks};

const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("bad simulator request: {0}")]
    BadRequest(String),
}

/// Counters and webhook totals (`GET /_sim/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub sends: Counters,
    pub webhooks: DeliveryTotals,
}

impl Stats {
    fn of(shared: &Shared) -> Self {
        Self { sends: lock(&shared.sent).counters.clone(), webhooks: shared.webhooks.totals() }
    }
}

pub struct Simulator;

impl Simulator {
    /// Serves on `listener` until [`SimHandle::shutdown`]; spawns the webhook delivery tasks.
    ///
    /// Installs rustls' ring provider as the process default if none is installed yet (the
    /// HTTP client needs one even for plain http).
    pub async fn start(listener: TcpListener, cfg: SimConfig) -> std::io::Result<SimHandle> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race to another installer is fine: any provider will do.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let addr = listener.local_addr()?;
        let ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(ip, addr.port()));
        let webhooks = Webhooks::new().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(&cfg, base_url.clone(), webhooks));
        let app = Router::new()
            .merge(graph::routes())
            .merge(control::routes())
            .fallback(unknown_path)
            .with_state(shared.clone());
        let stop = shared.cancel.clone();
        let server =
            tokio::spawn(
                async move { axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await },
            );
        tracing::debug!(%base_url, "whatsapp simulator listening");
        Ok(SimHandle { base_url, shared, server })
    }
}

async fn unknown_path() -> (StatusCode, axum::Json<Value>) {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": {
            "message": "Unknown path components",
            "type": "OAuthException",
            "code": 2500,
        } })),
    )
}

pub struct SimHandle {
    /// `http://127.0.0.1:PORT`: the Graph base URL to configure in Switchboard.
    pub base_url: String,
    shared: Arc<Shared>,
    server: JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// Stops serving, cancels pending status timers and webhook retries, and waits (briefly)
    /// for in-flight requests to finish.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.server).await;
    }

    /// Points webhooks at a new URL. Pending retries use it too; the next delivery performs
    /// the handshake again.
    pub fn set_webhook_url(&self, url: String) {
        lock(&self.shared.tunables).webhook_url = url;
        self.shared.webhooks.unverify();
    }

    /// Performs the GET handshake against the webhook URL now.
    pub async fn register(&self) -> RegisterOutcome {
        let url = lock(&self.shared.tunables).webhook_url.clone();
        delivery::handshake(&self.shared, &url).await
    }

    /// Same as `POST /_sim/inbound`: a customer sends messages; returns their wamids.
    pub fn inbound(&self, request: &Value) -> Result<Vec<String>, SimError> {
        inbound::send(&self.shared, request).map_err(SimError::BadRequest)
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    pub fn stats(&self) -> Stats {
        Stats::of(&self.shared)
    }

    /// A handle other tasks can keep (simulated customers, fault injection in tests).
    #[must_use]
    pub fn control(&self) -> SimControl {
        SimControl { shared: self.shared.clone() }
    }
}

/// Drives a running simulator from anywhere; cheap to clone.
#[derive(Clone)]
pub struct SimControl {
    shared: Arc<Shared>,
}

impl SimControl {
    /// Same as `POST /_sim/inbound`.
    pub fn inbound(&self, request: &Value) -> Result<Vec<String>, SimError> {
        inbound::send(&self.shared, request).map_err(SimError::BadRequest)
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats::of(&self.shared)
    }
}
