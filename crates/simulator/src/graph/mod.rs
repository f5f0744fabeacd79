//! The fake Graph API (PROTOCOLS §2): sends, media, templates and the phone-number and WABA
//! objects, under any `/{version}/` prefix. Every endpoint requires the configured bearer token
//! and passes through the fault injector first.

pub(crate) mod media;
mod messages;
mod multipart;
mod objects;
mod statuses;
pub(crate) mod templates;
mod validate;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};

use crate::meta_error::ApiError;
use crate::state::Shared;
use crate::util::{chance, lock};

/// Documents may be 100 MB; leave room for the multipart framing.
const UPLOAD_LIMIT: usize = 101 * 1024 * 1024;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{version}/{id}", get(objects::get).delete(objects::delete))
        .route("/{version}/{id}/messages", post(messages::send))
        .route("/{version}/{id}/media", post(media::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route(
            "/{version}/{id}/message_templates",
            get(templates::list).post(templates::create).delete(templates::delete),
        )
        .route("/_sim/media/{id}", get(media::download))
}

/// Injected latency, then the bearer check, then injected 131016 errors.
async fn gate(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let (latency_ms, error_rate) = {
        let f = lock(&shared.faults);
        (f.latency_ms, f.error_rate)
    };
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == shared.access_token);
    if !authorised {
        return Err(ApiError::code(190));
    }
    if chance(error_rate) {
        return Err(ApiError::code(131016));
    }
    Ok(())
}

/// `http://host:port` as the client addressed us, for URLs handed back (media, paging).
fn origin(shared: &Shared, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| shared.base_url.clone(), |h| format!("http://{h}"))
}
