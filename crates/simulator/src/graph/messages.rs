//! `POST /{v}/{phone-number-id}/messages`: sends and mark-as-read, with Meta's synchronous
//! errors, the 24-hour window rule (accepted, then `failed` 131047) and the fault injector.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::statuses::{self, Accepted, Billing, Outcome};
use super::{gate, validate};
use crate::config::ForcedError;
use crate::meta_error::ApiError;
use crate::sent::SentRecord;
use crate::state::Shared;
use crate::util::{chance, lock, now_ms, wamid};

enum Answer {
    Json(Value),
    /// Accepted, but the answer is never sent.
    Drop,
}

pub(crate) async fn send(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&shared, &id, &headers, &body).await {
        Ok(Answer::Json(v)) => Json(v).into_response(),
        Ok(Answer::Drop) => {
            // Hold the request until the client gives up (hyper then drops this future) or
            // the simulator stops.
            shared.cancel.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(e) => {
            lock(&shared.sent).reject(e.code);
            tracing::debug!(code = e.code, "simulated send refused");
            e.into_response()
        }
    }
}

async fn handle(shared: &Arc<Shared>, id: &str, headers: &HeaderMap, raw: &Bytes) -> Result<Answer, ApiError> {
    gate(shared, headers).await?;
    if id != shared.phone_number_id {
        return Err(ApiError::unknown_object(id));
    }
    let body: Map<String, Value> =
        serde_json::from_slice(raw).map_err(|_| ApiError::invalid("The request body is not a JSON object"))?;
    match body.get("messaging_product") {
        Some(Value::String(p)) if p == "whatsapp" => {}
        None => {
            return Err(ApiError::invalid("The parameter messaging_product is required."));
        }
        Some(_) => {
            return Err(ApiError::invalid("Param messaging_product must be whatsapp"));
        }
    }
    if body.contains_key("status") {
        return mark_read(shared, &body);
    }
    let send = validate::send(&body, &lock(&shared.templates))?;
    let forced = {
        let mut faults = lock(&shared.faults);
        (!faults.fail_next.is_empty()).then(|| faults.fail_next.remove(0))
    };
    if let Some(ForcedError { code, asynchronous: false }) = forced {
        return Err(ApiError::code(code));
    }
    let (throughput, pair_rate, failure_rate) = {
        let t = lock(&shared.tunables);
        (t.throughput_per_sec, t.pair_rate, t.failure_rate)
    };
    let now = now_ms();
    let window_open = {
        let mut limits = lock(&shared.limits);
        let started = Instant::now();
        if !limits.take_throughput(throughput, started) {
            return Err(ApiError::code(130429));
        }
        if !limits.take_pair(&send.to, pair_rate, started) {
            return Err(ApiError::code(131056));
        }
        limits.window_open(&send.to, now)
    };
    let unknown_media = send.media_id.as_deref().is_some_and(|m| lock(&shared.media).get(m).is_none());
    let is_template = send.kind == "template";
    let outcome = match forced {
        Some(ForcedError { code, .. }) => Outcome::Failed(code),
        // Meta accepts free-form messages outside the window and fails them asynchronously.
        None if !is_template && !window_open => Outcome::Failed(131047),
        None if unknown_media => Outcome::Failed(131053),
        None if chance(failure_rate) => Outcome::Failed(131026),
        None => Outcome::Delivered { reaction: send.kind == "reaction" },
    };
    let wamid = wamid();
    lock(&shared.sent).record(
        SentRecord {
            wamid: wamid.clone(),
            to: send.to.clone(),
            kind: send.kind,
            body: String::from_utf8_lossy(raw).into(),
            at_ms: now,
        },
        send.callback_data.as_deref(),
    );
    tracing::debug!(wamid = %wamid, kind = send.kind, "simulated send accepted");
    let billing = match &send.template_category {
        // Utility templates inside an open window are free, as everything non-template is.
        Some(category) => Billing { free: window_open && category == "utility", category: category.clone() },
        None => Billing { category: "service".into(), free: true },
    };
    statuses::schedule(
        shared,
        Accepted {
            wamid: wamid.clone(),
            recipient: send.to.clone(),
            callback_data: send.callback_data,
            billing,
            outcome,
        },
    );
    if chance(lock(&shared.faults).drop_response_rate) {
        lock(&shared.sent).counters.dropped_responses += 1;
        return Ok(Answer::Drop);
    }
    let mut message = json!({ "id": wamid });
    if is_template {
        message["message_status"] = json!("accepted");
    }
    Ok(Answer::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": send.to_input, "wa_id": send.to }],
        "messages": [message],
    })))
}

fn mark_read(shared: &Shared, body: &Map<String, Value>) -> Result<Answer, ApiError> {
    if body.get("status").and_then(Value::as_str) != Some("read") {
        return Err(ApiError::invalid("status must be read"));
    }
    if body.get("message_id").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(ApiError::invalid("The parameter message_id is required."));
    }
    lock(&shared.sent).counters.marked_read += 1;
    Ok(Answer::Json(json!({ "success": true })))
}
