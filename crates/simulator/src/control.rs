//! The control API under `/_sim/`: drive simulated customers, inspect what the business sent
//! and what was delivered, inject faults, tune limits and templates at runtime. Unauthenticated:
//! the simulator is a local test tool, bind it to loopback.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Faults, TunablesPatch};
use crate::state::Shared;
use crate::util::lock;
use crate::webhook::{delivery, payload};
use crate::{Stats, inbound};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/inbound", post(inbound_messages))
        .route("/_sim/sent", get(sent))
        .route("/_sim/deliveries", get(deliveries))
        .route("/_sim/stats", get(stats))
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/config", get(get_config).post(set_config))
        .route("/_sim/register", post(register))
        .route("/_sim/templates", post(add_template))
        .route("/_sim/webhook", post(raw_webhook))
}

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message.into() }))).into_response()
}

async fn inbound_messages(State(shared): State<Arc<Shared>>, Json(request): Json<Value>) -> Response {
    match inbound::send(&shared, &request) {
        Ok(wamids) => Json(json!({ "wamids": wamids })).into_response(),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    since: Option<u64>,
    limit: Option<usize>,
    clear: Option<bool>,
    body: Option<bool>,
}

async fn sent(State(shared): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> Json<Value> {
    Json(lock(&shared.sent).list(q.since.unwrap_or(0), q.limit.unwrap_or(1_000), q.clear.unwrap_or(false)))
}

async fn deliveries(State(shared): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> Json<Value> {
    Json(shared.webhooks.list(q.since.unwrap_or(0), q.limit.unwrap_or(500), q.body.unwrap_or(true)))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(Stats::of(&shared))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(lock(&shared.faults).clone())
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> Json<Faults> {
    *lock(&shared.faults) = faults.clone();
    Json(faults)
}

async fn get_config(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!(*lock(&shared.tunables)))
}

async fn set_config(State(shared): State<Arc<Shared>>, Json(patch): Json<TunablesPatch>) -> Json<Value> {
    let (changed_url, now) = {
        let mut t = lock(&shared.tunables);
        let before = t.webhook_url.clone();
        t.apply(patch);
        (t.webhook_url != before, json!(*t))
    };
    if changed_url {
        shared.webhooks.unverify();
    }
    Json(now)
}

async fn register(State(shared): State<Arc<Shared>>) -> Json<delivery::RegisterOutcome> {
    let url = lock(&shared.tunables).webhook_url.clone();
    Json(delivery::handshake(&shared, &url).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTemplate {
    name: String,
    language: String,
    #[serde(default = "utility")]
    category: String,
    #[serde(default = "approved")]
    status: String,
    /// Meta's component objects; or give `body` for a single BODY component.
    components: Option<Value>,
    body: Option<String>,
}

fn utility() -> String {
    "UTILITY".into()
}

fn approved() -> String {
    "APPROVED".into()
}

async fn add_template(State(shared): State<Arc<Shared>>, Json(t): Json<NewTemplate>) -> Response {
    let components = match (t.components, t.body) {
        (Some(c @ Value::Array(_)), _) => c,
        (None, Some(body)) => json!([{ "type": "BODY", "text": body }]),
        _ => return bad_request("give components (an array) or body"),
    };
    if t.name.is_empty() || t.language.is_empty() {
        return bad_request("name and language are required");
    }
    let id = lock(&shared.templates).upsert(&t.name, &t.language, &t.category, &t.status, components);
    Json(json!({ "id": id.to_string(), "status": t.status.to_ascii_uppercase() })).into_response()
}

/// Sends any non-message webhook (`phone_number_quality_update`, `account_update`, …).
async fn raw_webhook(State(shared): State<Arc<Shared>>, Json(request): Json<Value>) -> Response {
    let (Some(field), Some(value)) = (request.get("field").and_then(Value::as_str), request.get("value")) else {
        return bad_request("give field and value");
    };
    let body = payload::envelope(&shared, field, value.clone());
    delivery::enqueue(&shared, field, &body);
    Json(json!({ "queued": true })).into_response()
}
