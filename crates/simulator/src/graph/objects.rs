//! `GET` and `DELETE /{v}/{id}` for the objects the simulator knows: the phone number
//! (PROTOCOLS §3.7), the WABA, media and templates.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{gate, media, templates};
use crate::meta_error::ApiError;
use crate::state::Shared;
use crate::util::lock;

#[derive(Deserialize)]
pub(crate) struct ObjectQuery {
    fields: Option<String>,
    phone_number_id: Option<String>,
}

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    Query(q): Query<ObjectQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    let object = if id == shared.phone_number_id {
        Some(phone_number(&shared))
    } else if id == shared.waba_id {
        Some(json!({
            "id": shared.waba_id,
            "name": "Switchboard Simulator",
            "currency": "USD",
            "timezone_id": "1",
            "message_template_namespace": "sim_namespace",
        }))
    } else if let Some(media) = media::object_json(&shared, &headers, &id) {
        if q.phone_number_id.as_deref().is_some_and(|p| p != shared.phone_number_id) {
            return Err(ApiError::invalid("phone_number_id does not match the media"));
        }
        Some(media)
    } else {
        templates::object_json(&shared, &id)
    };
    let object = object.ok_or_else(|| ApiError::unknown_object(&id))?;
    Ok(Json(select_fields(object, q.fields.as_deref())))
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    if media::delete(&shared, &id) { Ok(Json(json!({ "success": true }))) } else { Err(ApiError::unknown_object(&id)) }
}

fn phone_number(shared: &Shared) -> Value {
    let throughput = lock(&shared.tunables).throughput_per_sec;
    json!({
        "verified_name": "Switchboard Simulator",
        "display_phone_number": shared.display_phone_number,
        "quality_rating": "GREEN",
        "throughput": { "level": if throughput == 0 || throughput > 80 { "HIGH" } else { "STANDARD" } },
        "whatsapp_business_manager_messaging_limit": "TIER_2K",
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "platform_type": "CLOUD_API",
        "status": "CONNECTED",
        "id": shared.phone_number_id,
    })
}

/// Keeps only the requested `fields` (plus `id`), as Graph does.
fn select_fields(object: Value, fields: Option<&str>) -> Value {
    let (Some(fields), Value::Object(all)) = (fields, &object) else {
        return object;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let picked: Map<String, Value> = all
        .iter()
        .filter(|(k, _)| k.as_str() == "id" || wanted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(picked)
}
