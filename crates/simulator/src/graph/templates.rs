//! Message templates (PROTOCOLS §2.6): a small in-memory store seeded with approved templates,
//! the list/create/delete endpoints, and asynchronous review that ends in a
//! `message_template_status_update` webhook.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_channels::whatsapp::webhook::same_language;

use super::{gate, origin};
use crate::meta_error::ApiError;
use crate::state::Shared;
use crate::util::lock;
use crate::webhook::{delivery, payload};

const FIRST_ID: u64 = 1_689_000_000_000_001;
const DEFAULT_PAGE: usize = 25;
const MAX_PAGE: usize = 1_000;

#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub id: u64,
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    pub components: Value,
    pub rejected_reason: Option<String>,
}

impl Template {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "components": self.components,
            "parameter_format": "POSITIONAL",
        });
        if let Some(reason) = &self.rejected_reason {
            v["rejected_reason"] = json!(reason);
        }
        v
    }

    /// Distinct `{{…}}` placeholders in the header (only when it is a text header) and body.
    pub(crate) fn expected_params(&self) -> (Option<usize>, usize) {
        let component = |kind: &str| {
            self.components.as_array().and_then(|cs| {
                cs.iter().find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))
            })
        };
        let text_of = |c: &Value| c.get("text").and_then(Value::as_str).map(placeholders);
        let header = component("HEADER").and_then(|h| {
            let is_text = h.get("format").and_then(Value::as_str).is_none_or(|f| f.eq_ignore_ascii_case("TEXT"));
            if is_text { text_of(h) } else { None }
        });
        let body = component("BODY").and_then(text_of).unwrap_or(0);
        (header, body)
    }
}

impl Template {
    fn component(&self, kind: &str) -> Option<&Value> {
        self.components.as_array().and_then(|cs| {
            cs.iter().find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))
        })
    }

    /// `image`, `video` or `document` for a media header.
    pub(crate) fn header_media(&self) -> Option<String> {
        let format = self.component("HEADER")?.get("format")?.as_str()?.to_ascii_lowercase();
        ["image", "video", "document"].contains(&format.as_str()).then_some(format)
    }

    /// The indexes of the URL buttons whose address ends in a variable.
    pub(crate) fn dynamic_url_buttons(&self) -> Vec<usize> {
        self.component("BUTTONS")
            .and_then(|b| b.get("buttons"))
            .and_then(Value::as_array)
            .map(|bs| {
                bs.iter()
                    .enumerate()
                    .filter(|(_, b)| {
                        b.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("URL"))
                            && b.get("url").and_then(Value::as_str).is_some_and(|u| u.contains("{{"))
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Checks the components of a template submitted for review as Meta does (PROTOCOLS.md §2.6):
/// one BODY; a HEADER is TEXT (≤ 60 characters, at most one variable, with its example) or
/// IMAGE / VIDEO / DOCUMENT with an example `header_handle`; a FOOTER ≤ 60 characters without
/// variables; BUTTONS: 1 to 10, QUICK_REPLY (text ≤ 25), URL (https, a variable only at the
/// end, then an example) and PHONE_NUMBER (a number ≤ 20 characters).
pub(crate) fn check_components(components: &[Value]) -> Result<(), String> {
    let kind = |c: &Value| c.get("type").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    let text = |c: &Value| c.get("text").and_then(Value::as_str).unwrap_or_default().to_owned();
    if components.iter().filter(|c| kind(c) == "BODY").count() != 1 {
        return Err("components must include exactly one BODY component".into());
    }
    for c in components {
        match kind(c).as_str() {
            "BODY" => {
                let body = text(c);
                if body.trim().is_empty() || body.chars().count() > 1024 {
                    return Err("BODY text must be 1 to 1024 characters".into());
                }
                if placeholders(&body) > 0
                    && c.pointer("/example/body_text/0").is_none()
                    && c.pointer("/example/body_text_named_params").is_none()
                {
                    return Err("BODY with variables needs example.body_text".into());
                }
            }
            "HEADER" => {
                let format = c.get("format").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
                match format.as_str() {
                    "TEXT" => {
                        let t = text(c);
                        if t.trim().is_empty() || t.chars().count() > 60 {
                            return Err("HEADER text must be 1 to 60 characters".into());
                        }
                        match placeholders(&t) {
                            0 => {}
                            1 if c.pointer("/example/header_text/0").and_then(Value::as_str).is_some() => {}
                            1 => return Err("HEADER with a variable needs example.header_text".into()),
                            _ => return Err("HEADER text can have at most one variable".into()),
                        }
                    }
                    "IMAGE" | "VIDEO" | "DOCUMENT" => {
                        if c.pointer("/example/header_handle/0").and_then(Value::as_str).is_none_or(str::is_empty) {
                            return Err(format!("{format} HEADER needs example.header_handle"));
                        }
                    }
                    "LOCATION" => {}
                    _ => return Err("HEADER format must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION".into()),
                }
            }
            "FOOTER" => {
                let t = text(c);
                if t.trim().is_empty() || t.chars().count() > 60 || t.contains("{{") {
                    return Err("FOOTER text must be 1 to 60 characters without variables".into());
                }
            }
            "BUTTONS" => {
                let buttons = c.get("buttons").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                if buttons.is_empty() || buttons.len() > 10 {
                    return Err("BUTTONS must have 1 to 10 buttons".into());
                }
                for b in buttons {
                    let label = text(b);
                    if label.trim().is_empty() || label.chars().count() > 25 {
                        return Err("button text must be 1 to 25 characters".into());
                    }
                    match kind(b).as_str() {
                        "QUICK_REPLY" => {}
                        "URL" => {
                            let url = b.get("url").and_then(Value::as_str).unwrap_or_default();
                            let vars = placeholders(url);
                            if !url.starts_with("https://") || url.chars().count() > 2000 {
                                return Err("URL button needs an https url".into());
                            }
                            if vars > 1 || (vars == 1 && !url.trim_end().ends_with("}}")) {
                                return Err("URL button can have one variable, at the end of the url".into());
                            }
                            if vars == 1 && b.pointer("/example/0").and_then(Value::as_str).is_none() {
                                return Err("URL button with a variable needs an example".into());
                            }
                        }
                        "PHONE_NUMBER" => {
                            let phone = b.get("phone_number").and_then(Value::as_str).unwrap_or_default();
                            if phone.trim().is_empty() || phone.chars().count() > 20 {
                                return Err("PHONE_NUMBER button needs a phone_number of at most 20 characters".into());
                            }
                        }
                        "OTP" | "COPY_CODE" | "FLOW" | "CATALOG" | "MPM" => {}
                        other => return Err(format!("unknown button type {other}")),
                    }
                }
            }
            other => return Err(format!("unknown component type {other}")),
        }
    }
    Ok(())
}

fn placeholders(text: &str) -> usize {
    let mut seen = HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        seen.insert(after[..end].trim());
        rest = &after[end + 2..];
    }
    seen.len()
}

pub(crate) struct TemplateStore {
    by_id: BTreeMap<u64, Template>,
    next_id: u64,
}

impl TemplateStore {
    /// `hello_world` (en_US, no parameters), `appointment_reminder` (tr, 2 body parameters),
    /// `order_update` (en_US, 1 body parameter), all APPROVED.
    pub(crate) fn seeded() -> Self {
        let mut store = Self { by_id: BTreeMap::new(), next_id: FIRST_ID };
        for (name, language, category, components) in [
            (
                "hello_world",
                "en_US",
                "UTILITY",
                json!([
                    { "type": "HEADER", "format": "TEXT", "text": "Hello World" },
                    { "type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta." },
                    { "type": "FOOTER", "text": "WhatsApp Business Platform sample message" }
                ]),
            ),
            (
                "appointment_reminder",
                "tr",
                "UTILITY",
                json!([
                    { "type": "BODY", "text": "Merhaba {{1}}, randevunuz {{2}} tarihinde.",
                      "example": { "body_text": [["Ayşe", "6 Ocak 09:30"]] } },
                    { "type": "BUTTONS", "buttons": [
                        { "type": "QUICK_REPLY", "text": "Onayla" },
                        { "type": "QUICK_REPLY", "text": "Ertele" } ] }
                ]),
            ),
            (
                "order_update",
                "en_US",
                "UTILITY",
                json!([{ "type": "BODY", "text": "Your order {{1}} has shipped.",
                         "example": { "body_text": [["#1001"]] } }]),
            ),
        ] {
            store.upsert(name, language, category, "APPROVED", components);
        }
        store
    }

    pub(crate) fn find(&self, name: &str, language: &str) -> Option<&Template> {
        self.by_id.values().find(|t| t.name == name && same_language(&t.language, language))
    }

    /// Inserts, or replaces the template with the same name and language. Returns its id.
    pub(crate) fn upsert(
        &mut self,
        name: &str,
        language: &str,
        category: &str,
        status: &str,
        components: Value,
    ) -> u64 {
        let existing = self.find(name, language).map(|t| t.id);
        let id = existing.unwrap_or_else(|| {
            let id = self.next_id;
            self.next_id += 1;
            id
        });
        self.by_id.insert(
            id,
            Template {
                id,
                name: name.to_owned(),
                language: language.to_owned(),
                category: category.to_ascii_uppercase(),
                status: status.to_ascii_uppercase(),
                components,
                rejected_reason: None,
            },
        );
        id
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Template> {
        self.by_id.get(&id)
    }
}

fn check_waba(shared: &Shared, id: &str) -> Result<(), ApiError> {
    if id == shared.waba_id { Ok(()) } else { Err(ApiError::unknown_object(id)) }
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
    after: Option<String>,
    name: Option<String>,
    status: Option<String>,
    category: Option<String>,
    language: Option<String>,
}

/// `GET /{v}/{waba-id}/message_templates`: cursor paging (`after` = last id seen) with filters.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    check_waba(&shared, &id)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = match q.after.as_deref() {
        None => Bound::Unbounded,
        Some(cursor) => Bound::Excluded(cursor.parse::<u64>().map_err(|_| ApiError::invalid("Invalid after cursor"))?),
    };
    let matches = |field: &Option<String>, value: &str| field.as_deref().is_none_or(|f| f.eq_ignore_ascii_case(value));
    let page: Vec<Value> = {
        let store = lock(&shared.templates);
        store
            .by_id
            .range((after, Bound::Unbounded))
            .map(|(_, t)| t)
            .filter(|t| {
                matches(&q.name, &t.name)
                    && matches(&q.status, &t.status)
                    && matches(&q.category, &t.category)
                    && q.language.as_deref().is_none_or(|l| same_language(l, &t.language))
            })
            .take(limit + 1)
            .map(Template::to_json)
            .collect()
    };
    let has_more = page.len() > limit;
    let data: Vec<Value> = page.into_iter().take(limit).collect();
    let mut body = json!({ "data": data });
    if let (Some(first), Some(last)) = (data.first(), data.last()) {
        let (first, last) = (first["id"].clone(), last["id"].clone());
        body["paging"] = json!({ "cursors": { "before": first, "after": last } });
        if has_more
            && let Ok(mut next) = Url::parse(&format!("{}/{version}/{id}/message_templates", origin(&shared, &headers)))
        {
            {
                let mut query = next.query_pairs_mut();
                query.append_pair("limit", &limit.to_string());
                query.append_pair("after", last.as_str().unwrap_or_default());
                for (key, value) in
                    [("name", &q.name), ("status", &q.status), ("category", &q.category), ("language", &q.language)]
                {
                    if let Some(value) = value {
                        query.append_pair(key, value);
                    }
                }
            }
            body["paging"]["next"] = json!(next.as_str());
        }
    }
    Ok(Json(body))
}

/// `POST /{v}/{waba-id}/message_templates`: stored PENDING, reviewed after
/// `template_approval_ms`. Names containing `reject` are rejected.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    check_waba(&shared, &id)?;
    let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::trim);
    let name = field("name")
        .filter(|n| {
            !n.is_empty()
                && n.len() <= 512
                && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .ok_or_else(|| ApiError::invalid("name must be lowercase letters, digits and underscores"))?;
    let language = field("language")
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::invalid("The parameter language is required."))?;
    let category = field("category")
        .map(str::to_ascii_uppercase)
        .filter(|c| matches!(c.as_str(), "MARKETING" | "UTILITY" | "AUTHENTICATION"))
        .ok_or_else(|| ApiError::invalid("category must be MARKETING, UTILITY or AUTHENTICATION"))?;
    let components = body
        .get("components")
        .filter(|c| {
            c.as_array().is_some_and(|cs| {
                cs.iter().any(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("BODY")))
            })
        })
        .cloned()
        .ok_or_else(|| ApiError::invalid("components must include a BODY component"))?;
    check_components(components.as_array().map(Vec::as_slice).unwrap_or_default()).map_err(ApiError::invalid)?;
    let template_id = {
        let mut store = lock(&shared.templates);
        if store.find(name, language).is_some() {
            return Err(ApiError {
                subcode: Some(2_388_024),
                ..ApiError::invalid(format!("Message template \"{name}\" already exists in {language}"))
            });
        }
        store.upsert(name, language, &category, "PENDING", components)
    };
    let delay = lock(&shared.tunables).template_approval_ms;
    tokio::spawn(review(shared.clone(), template_id, delay));
    Ok(Json(json!({
        "id": template_id.to_string(),
        "status": "PENDING",
        "category": category,
    })))
}

async fn review(shared: Arc<Shared>, template_id: u64, delay_ms: u64) {
    tokio::select! {
        () = shared.cancel.cancelled() => return,
        () = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
    }
    let value = {
        let mut store = lock(&shared.templates);
        let Some(t) = store.by_id.get_mut(&template_id) else {
            return;
        };
        if t.status != "PENDING" {
            return;
        }
        let rejected = t.name.contains("reject");
        let mut value = json!({
            "event": if rejected { "REJECTED" } else { "APPROVED" },
            "message_template_id": t.id,
            "message_template_name": t.name,
            "message_template_language": t.language,
            "reason": if rejected { "INVALID_FORMAT" } else { "NONE" },
            "message_template_category": t.category,
        });
        if rejected {
            t.status = "REJECTED".into();
            t.rejected_reason = Some("INVALID_FORMAT".into());
            value["rejection_info"] = json!({
                "reason": "The simulator rejects templates whose name contains \"reject\".",
                "recommendation": "Choose another name.",
            });
        } else {
            t.status = "APPROVED".into();
        }
        value
    };
    let body = payload::envelope(&shared, "message_template_status_update", value);
    delivery::enqueue(&shared, "message_template_status_update", &body);
}

#[derive(Deserialize)]
pub(crate) struct DeleteQuery {
    name: Option<String>,
    hsm_id: Option<String>,
}

/// `DELETE /{v}/{waba-id}/message_templates?name=…[&hsm_id=…]`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    Query(q): Query<DeleteQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    check_waba(&shared, &id)?;
    let name = q.name.filter(|n| !n.is_empty()).ok_or_else(|| ApiError::invalid("The parameter name is required."))?;
    let hsm_id =
        q.hsm_id.as_deref().map(str::parse::<u64>).transpose().map_err(|_| ApiError::invalid("Invalid hsm_id"))?;
    let mut store = lock(&shared.templates);
    let before = store.by_id.len();
    store.by_id.retain(|id, t| !(t.name == name && hsm_id.is_none_or(|h| h == *id)));
    if store.by_id.len() == before {
        return Err(ApiError::invalid(format!("Template {name} not found")));
    }
    Ok(Json(json!({ "success": true })))
}

/// The template object for `GET /{v}/{template-id}`.
pub(crate) fn object_json(shared: &Shared, id: &str) -> Option<Value> {
    let id = id.parse().ok()?;
    lock(&shared.templates).get(id).map(Template::to_json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_once_each() {
        assert_eq!(placeholders("Hi {{1}}, {{2}} and {{1}} again"), 2);
        assert_eq!(placeholders("no params"), 0);
        assert_eq!(placeholders("{{first_name}} {{ 2 }} {{unclosed"), 2);
        let store = TemplateStore::seeded();
        assert_eq!(store.find("appointment_reminder", "tr").map(Template::expected_params), Some((None, 2)));
        assert_eq!(store.find("hello_world", "en-us").map(Template::expected_params), Some((Some(0), 0)));
    }
}
