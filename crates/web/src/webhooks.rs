//! Provider webhooks. Outside `/api/v1` and outside the session/API-key world: each delivery
//! proves itself by its signature, checked over the raw bytes before anything is parsed.
//!
//! `GET` answers Meta's verification handshake. `POST` answers 200 only after the delivery is
//! committed (see `switchboard_app::whatsapp::ingest`); 401 for a missing or wrong signature,
//! 413 over the size limit, 400 for a body that is not a WhatsApp notification, 503 when the
//! database is unavailable (Meta retries) — and in none of those cases is anything stored.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_app::AppError;
use switchboard_app::whatsapp::channels::ChannelInfo;
use switchboard_app::whatsapp::ingest::{Delivery, for_channel};
use switchboard_channels::whatsapp::{signature, webhook};
use switchboard_core::ChannelId;
use switchboard_privacy::token::ct_eq;
use uuid::Uuid;

use crate::error::{ApiError, error_response};
use crate::extract::{Path, payload_too_large};
use crate::state::AppState;

const METRIC: &str = "switchboard_webhooks_total";

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/webhooks/whatsapp", get(verify_platform).post(receive_platform))
        .route("/webhooks/whatsapp/{channel_id}", get(verify_channel).post(receive_channel))
        .layer(DefaultBodyLimit::max(state.app.config.whatsapp.webhook_body_limit))
}

/// Meta's handshake: `hub.mode=subscribe`, the verify token, and a challenge echoed as plain
/// text. Anything else is 403 (and the challenge is never reflected as HTML).
fn handshake(q: &HashMap<String, String>, expected: Option<&str>) -> Response {
    let mode_ok = q.get("hub.mode").is_some_and(|m| m == "subscribe");
    let token_ok = match (q.get("hub.verify_token"), expected) {
        (Some(given), Some(want)) => ct_eq(given.as_bytes(), want.as_bytes()),
        _ => false,
    };
    match q.get("hub.challenge") {
        Some(challenge) if mode_ok && token_ok && challenge.len() <= 256 => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge.clone()).into_response()
        }
        _ => error_response(StatusCode::FORBIDDEN, "verification_failed", "verify token or mode does not match", None),
    }
}

async fn verify_channel(
    State(st): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match st.app.webhook_channel(ChannelId::from_uuid(id)).await {
        Ok(Some(ch)) => handshake(&q, Some(&ch.verify_token)),
        Ok(None) => error_response(StatusCode::NOT_FOUND, "not_found", "no such channel", None),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn verify_platform(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    handshake(&q, st.app.config.whatsapp.platform_verify_token.as_deref())
}

fn reject(st: &AppState, result: &str, status: StatusCode, code: &str, message: &str) -> Response {
    st.metrics.inc(METRIC, &format!("result=\"{result}\""));
    error_response(status, code, message, None)
}

/// Why a delivery was refused before anything was stored.
enum Refused {
    TooLarge,
    Unreadable,
    BadSignature,
    NotWhatsApp,
    Malformed,
}

impl Refused {
    fn respond(self, st: &AppState) -> Response {
        match self {
            Refused::TooLarge => {
                st.metrics.inc(METRIC, "result=\"too_large\"");
                payload_too_large()
            }
            Refused::Unreadable => {
                reject(st, "malformed", StatusCode::BAD_REQUEST, "malformed", "the body could not be read")
            }
            Refused::BadSignature => reject(
                st,
                "bad_signature",
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "missing or invalid X-Hub-Signature-256",
            ),
            Refused::NotWhatsApp => reject(
                st,
                "malformed",
                StatusCode::BAD_REQUEST,
                "unsupported_object",
                "not a WhatsApp Business Account notification",
            ),
            Refused::Malformed => {
                reject(st, "malformed", StatusCode::BAD_REQUEST, "malformed", "the body is not a WhatsApp notification")
            }
        }
    }
}

/// Checks size, signature and shape; returns the parsed notification.
fn accept(
    secret: &str,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<webhook::Notification, Refused> {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(Refused::TooLarge),
        Err(_) => return Err(Refused::Unreadable),
    };
    let header = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    if signature::verify(secret.as_bytes(), header, body).is_err() {
        return Err(Refused::BadSignature);
    }
    match webhook::parse(body) {
        Ok(n) if n.object == "whatsapp_business_account" => Ok(n),
        Ok(_) => Err(Refused::NotWhatsApp),
        Err(_) => Err(Refused::Malformed),
    }
}

async fn deliver(
    st: &AppState,
    parts: Vec<(std::sync::Arc<ChannelInfo>, webhook::Notification)>,
    raw: Bytes,
    received_at: i64,
) -> Response {
    let results = futures::future::join_all(parts.into_iter().map(|(channel, notification)| {
        st.app.ingest(Delivery { channel, notification, raw: raw.clone(), received_at })
    }))
    .await;
    match results.into_iter().find_map(Result::err) {
        None => {
            st.metrics.inc(METRIC, "result=\"accepted\"");
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Some(e) => {
            st.metrics.inc(METRIC, "result=\"unavailable\"");
            tracing::warn!(error = %e, "webhook not committed; Meta will retry");
            ApiError(match e {
                AppError::Unavailable => AppError::Unavailable,
                other => AppError::Internal(other.to_string()),
            })
            .into_response()
        }
    }
}

async fn receive_channel(
    State(st): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received_at = st.app.now().0;
    let ch = match st.app.webhook_channel(ChannelId::from_uuid(id)).await {
        Ok(Some(ch)) => ch,
        Ok(None) => return reject(&st, "unknown_channel", StatusCode::NOT_FOUND, "not_found", "no such channel"),
        Err(e) => return ApiError(e).into_response(),
    };
    let n = match accept(&ch.app_secret, &headers, &body) {
        Ok(n) => n,
        Err(r) => return r.respond(&st),
    };
    let (mine, dropped) = for_channel(&ch, &n);
    if dropped > 0 {
        st.metrics.inc(METRIC, "result=\"foreign_changes_dropped\"");
        tracing::warn!(channel = %ch.id, changes = dropped, "dropped changes of another number sent to this channel's URL");
    }
    let raw = body.unwrap_or_default();
    if mine.entry.is_empty() {
        return (StatusCode::OK, "EVENT_RECEIVED").into_response();
    }
    deliver(&st, vec![(ch, mine)], raw, received_at).await
}

async fn receive_platform(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received_at = st.app.now().0;
    let Some(secret) = st.app.config.whatsapp.platform_app_secret.clone() else {
        return reject(
            &st,
            "unknown_channel",
            StatusCode::NOT_FOUND,
            "not_found",
            "no platform-wide Meta app is configured",
        );
    };
    let n = match accept(&secret, &headers, &body) {
        Ok(n) => n,
        Err(r) => return r.respond(&st),
    };
    let (parts, orphans) = match st.app.route_notification(&n).await {
        Ok(r) => r,
        Err(e) => return ApiError(e).into_response(),
    };
    if orphans > 0 {
        st.metrics.inc(METRIC, "result=\"unroutable_changes\"");
        tracing::warn!(changes = orphans, "changes for numbers no tenant has connected");
    }
    deliver(&st, parts, body.unwrap_or_default(), received_at).await
}
