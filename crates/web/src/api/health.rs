//! Liveness, readiness, metrics and the OpenAPI document.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_privacy::token::ct_eq;
use switchboard_storage::jobs;
use utoipa::openapi::OpenApi;

use crate::error::error_response;
use crate::state::AppState;

pub fn router(openapi: OpenApi) -> Router<AppState> {
    let doc = Bytes::from(serde_json::to_vec_pretty(&openapi).unwrap_or_default());
    Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        )
}

/// Ready when the database answers and every migration this binary knows is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.db.migrations_current().await {
        Ok(true) => axum::Json(serde_json::json!({"status": "ready"})).into_response(),
        Ok(false) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations_pending",
            "database schema is not current",
            None,
        ),
        Err(_) => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "database is not reachable", None)
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.web.metrics_token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| ct_eq(g.as_bytes(), token.as_bytes())) {
            return error_response(StatusCode::UNAUTHORIZED, "unauthenticated", "metrics need the metrics token", None);
        }
    }
    let mut extra = String::new();
    if let Ok(mut conn) = state.app.db.read().await
        && let Ok(rows) = jobs::depth(&mut conn.platform()).await
    {
        extra.push_str("# HELP switchboard_jobs Jobs by queue and state.\n# TYPE switchboard_jobs gauge\n");
        for (queue, st, n) in rows {
            extra.push_str(&format!("switchboard_jobs{{queue=\"{queue}\",state=\"{st}\"}} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(&extra)).into_response()
}
