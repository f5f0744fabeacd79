//! The HTTP edge: the JSON API under `/api/v1`, health and metrics, the agent web app (`ui`),
//! and (in later modules) provider webhooks. Handlers parse input, call one use case on
//! [`switchboard_app::App`], and shape the answer; errors become HTTP in [`error`] only.

pub mod api;
pub mod auth;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod security;
pub mod state;
pub mod ui;
pub mod webhooks;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

pub use state::{AppState, WebConfig};

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (api, table) = api::router(&state);
    let (pages, _) = ui::router(&state);
    let openapi = openapi::document(&table);
    api::health::router(openapi)
        .merge(api)
        .merge(webhooks::router(&state))
        .merge(pages)
        .fallback(|req: axum::extract::Request| async move {
            if req.uri().path().starts_with("/api/") { api::not_found() } else { ui::not_found(req).await }
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), client_ip::resolve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
