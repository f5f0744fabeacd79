//! The JSON API under `/api/v1`. One module per resource; `router` lists every route with its
//! permission.

pub mod audit;
pub mod canned;
pub mod channels;
pub mod contacts;
pub mod health;
pub mod inbox;
pub mod invitations;
pub mod labels;
pub mod me;
pub mod privacy;
pub mod session;
pub mod settings;
pub mod teams;
pub mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use serde::Serialize;
use switchboard_app::page::Page;

use crate::error::error_response;
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

/// The API router and its route table.
pub fn router(state: &AppState) -> (Router<AppState>, Vec<RouteSpec>) {
    let routes = Routes::new(state);
    let routes = session::routes(routes);
    let routes = me::routes(routes);
    let routes = users::routes(routes);
    let routes = invitations::routes(routes);
    let routes = settings::routes(routes);
    let routes = contacts::routes(routes);
    let routes = audit::routes(routes);
    let routes = channels::routes(routes);
    let routes = inbox::routes(routes);
    let routes = canned::routes(routes);
    let routes = teams::routes(routes);
    let routes = labels::routes(routes);
    let routes = privacy::routes(routes);
    let (router, table) = routes.into_parts();
    let router = router
        .layer(DefaultBodyLimit::max(state.web.api_body_limit))
        // Cookie-authenticated requests from other sites are refused (API-key requests carry
        // no Origin / Sec-Fetch-Site and pass).
        .layer(tower_http::csrf::CsrfLayer::new());
    (router, table)
}

/// The answer for unknown paths under `/api/` (the top-level router's fallback sends the rest
/// to the web app's HTML 404).
pub fn not_found() -> axum::response::Response {
    error_response(StatusCode::NOT_FOUND, "not_found", "no such route", None)
}

/// A list answer without paging (short lists such as a user's sessions).
pub fn whole<T: Serialize>(items: Vec<T>) -> Page<T> {
    Page { items, next_cursor: None }
}
