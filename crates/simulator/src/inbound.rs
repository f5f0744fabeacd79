//! Simulated customers writing to the business (`POST /_sim/inbound`): turns a compact request
//! into Meta's inbound message objects (PROTOCOLS §1.6), opens the customer-service window and
//! queues the webhooks.
//!
//! For every type, an object under the type's own key (`"image": {…}`) is used as Meta's
//! object verbatim; the convenience fields below build one otherwise.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::meta_error::webhook_error;
use crate::state::Shared;
use crate::util::{digits_of, lock, now_secs, wamid};
use crate::webhook::{delivery, payload};

const MAX_COUNT: u64 = 10_000;

type Obj = Map<String, Value>;

/// Creates the messages and queues their webhooks; returns their wamids.
pub(crate) fn send(shared: &Arc<Shared>, request: &Value) -> Result<Vec<String>, String> {
    let req = request.as_object().ok_or("the request must be a JSON object")?;
    let count = match req.get("count") {
        None => 1,
        Some(c) => c
            .as_u64()
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or(format!("count must be between 1 and {MAX_COUNT}"))?,
    };
    let batch = req.get("batch").and_then(Value::as_bool).unwrap_or(false);
    let timestamp = match req.get("timestamp") {
        None => now_secs(),
        Some(Value::Number(n)) => n.as_i64().ok_or("timestamp must be Unix seconds")?,
        Some(Value::String(s)) => s.parse().map_err(|_| "timestamp must be Unix seconds")?,
        Some(_) => return Err("timestamp must be Unix seconds".into()),
    };

    let (template, keep_id) = match req.get("raw_message") {
        Some(raw) => {
            let mut raw = raw.as_object().cloned().ok_or("raw_message must be an object")?;
            raw.entry("timestamp").or_insert_with(|| json!(timestamp.to_string()));
            let keep_id = raw.contains_key("id") && count == 1;
            (raw, keep_id)
        }
        None => (build(shared, req, timestamp)?, false),
    };
    let from = template.get("from").and_then(Value::as_str).map(str::to_owned);
    let user_id = template.get("from_user_id").and_then(Value::as_str).map(str::to_owned);
    let kind = template.get("type").and_then(Value::as_str).unwrap_or_default();
    // Meta sends `system` messages without a contact.
    let contact = (kind != "system").then(|| {
        let name = req.get("name").and_then(Value::as_str).unwrap_or("Simulated Customer");
        let mut c = json!({ "profile": { "name": name } });
        if let Some(from) = &from {
            c["wa_id"] = json!(from);
        }
        if let Some(user_id) = &user_id {
            c["user_id"] = json!(user_id);
        }
        c
    });

    let messages: Vec<Value> = (0..count)
        .map(|_| {
            let mut m = template.clone();
            if !keep_id {
                m.insert("id".into(), json!(wamid()));
            }
            Value::Object(m)
        })
        .collect();
    let wamids = messages.iter().map(|m| m["id"].as_str().unwrap_or_default().to_owned()).collect();

    if let Some(from) = &from
        && kind != "system"
    {
        lock(&shared.limits).open_window(from, timestamp.saturating_mul(1_000));
    }
    lock(&shared.sent).counters.inbound += count;
    if batch {
        let body = payload::inbound(shared, contact, messages);
        delivery::enqueue(shared, "messages", &body);
    } else {
        for m in messages {
            let body = payload::inbound(shared, contact.clone(), vec![m]);
            delivery::enqueue(shared, "messages", &body);
        }
    }
    Ok(wamids)
}

fn build(shared: &Shared, req: &Obj, timestamp: i64) -> Result<Obj, String> {
    let kind = req.get("type").and_then(Value::as_str).unwrap_or("text");
    let str_of = |key: &str| req.get(key).and_then(Value::as_str);
    let mut m = Obj::new();
    match str_of("from") {
        Some(from) => {
            let digits = digits_of(from).ok_or("from must be a phone number (digits)")?;
            m.insert("from".into(), json!(digits));
        }
        None if str_of("from_user_id").is_none() => {
            return Err("from (or from_user_id) is required".into());
        }
        None => {}
    }
    if let Some(user_id) = str_of("from_user_id") {
        m.insert("from_user_id".into(), json!(user_id));
    }
    m.insert("timestamp".into(), json!(timestamp.to_string()));
    m.insert("type".into(), json!(kind));
    if let Some(ctx) = req.get("context") {
        let ctx = match ctx {
            Value::String(id) => json!({ "from": shared.display_phone_number, "id": id }),
            Value::Object(_) => ctx.clone(),
            _ => return Err("context must be a wamid or an object".into()),
        };
        m.insert("context".into(), ctx);
    }
    if let Some(referral) = req.get("referral") {
        m.insert("referral".into(), referral.clone());
    }
    if let Some(verbatim) = req.get(kind).filter(|v| v.is_object() || v.is_array()) {
        if kind == "unsupported" {
            m.insert("errors".into(), json!([webhook_error(131051)]));
        }
        m.insert(kind.into(), verbatim.clone());
        return Ok(m);
    }
    let object = match kind {
        "text" => Some(json!({ "body": str_of("text").ok_or("text requires \"text\"")? })),
        "image" | "video" | "audio" | "document" | "sticker" => Some(media(shared, kind, req)?),
        "location" => {
            let coordinate =
                |key: &str| req.get(key).and_then(Value::as_f64).ok_or(format!("location requires numeric \"{key}\""));
            let mut loc = json!({
                "latitude": coordinate("latitude")?,
                "longitude": coordinate("longitude")?,
            });
            for key in ["name", "address", "url"] {
                if let Some(v) = str_of(key) {
                    loc[key] = json!(v);
                }
            }
            Some(loc)
        }
        "interactive" => Some(
            ["button_reply", "list_reply", "nfm_reply"]
                .into_iter()
                .find_map(|sub| req.get(sub).map(|v| json!({ "type": sub, sub: v })))
                .ok_or("interactive requires button_reply, list_reply, nfm_reply or interactive")?,
        ),
        "button" => {
            let text = str_of("text").ok_or("button requires \"text\"")?;
            Some(json!({ "text": text, "payload": str_of("payload").unwrap_or(text) }))
        }
        "reaction" => {
            let mut r = json!({ "message_id": str_of("message_id").ok_or("reaction requires \"message_id\"")? });
            // No emoji key at all means the reaction was removed.
            if let Some(emoji) = str_of("emoji") {
                r["emoji"] = json!(emoji);
            }
            Some(r)
        }
        "system" => {
            let new_wa_id = str_of("new_wa_id").ok_or("system requires \"new_wa_id\" or \"system\"")?;
            Some(json!({
                "body": str_of("body").map_or_else(
                    || format!("User changed from {} to {new_wa_id}", str_of("from").unwrap_or_default()),
                    str::to_owned,
                ),
                "wa_id": new_wa_id,
                "type": "user_changed_number",
            }))
        }
        "unsupported" => {
            m.insert("errors".into(), json!([webhook_error(131051)]));
            Some(json!({ "type": str_of("unsupported_type").unwrap_or("poll_creation") }))
        }
        "request_welcome" => None,
        "contacts" | "order" => return Err(format!("{kind} requires \"{kind}\"")),
        other => return Err(format!("unknown type {other}; use raw_message")),
    };
    if let Some(object) = object {
        m.insert(kind.into(), object);
    }
    Ok(m)
}

/// The media object of an inbound media message. `media: {mime_type, data_base64}` uploads
/// new content, `media_id` reuses stored media, and neither creates a small placeholder.
fn media(shared: &Shared, kind: &str, req: &Obj) -> Result<Value, String> {
    let default_mime = match kind {
        "image" => "image/jpeg",
        "video" => "video/mp4",
        "audio" => "audio/ogg; codecs=opus",
        "sticker" => "image/webp",
        _ => "application/pdf",
    };
    let (id, mime_type, sha256) = {
        let mut store = lock(&shared.media);
        let id = match (req.get("media_id").and_then(Value::as_str), req.get("media")) {
            (Some(id), _) => {
                store.get(id).ok_or("unknown media_id")?;
                id.to_owned()
            }
            (None, Some(spec)) => {
                let data = spec.get("data_base64").and_then(Value::as_str).ok_or("media requires data_base64")?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|_| "media.data_base64 is not base64")?;
                let mime = spec.get("mime_type").and_then(Value::as_str).unwrap_or(default_mime);
                store.insert(Bytes::from(bytes), mime)
            }
            (None, None) => store.insert(Bytes::from_static(b"simulated media"), default_mime),
        };
        let item = store.get(&id).ok_or("media vanished")?;
        (id.clone(), item.mime_type.clone(), item.sha256.clone())
    };
    let mut obj = json!({ "id": id, "mime_type": mime_type, "sha256": sha256 });
    let str_of = |key: &str| req.get(key).and_then(Value::as_str);
    if matches!(kind, "image" | "video" | "document")
        && let Some(caption) = str_of("caption")
    {
        obj["caption"] = json!(caption);
    }
    if kind == "document" {
        obj["filename"] = json!(str_of("filename").unwrap_or("document.pdf"));
    }
    if kind == "audio" {
        obj["voice"] = json!(req.get("voice").and_then(Value::as_bool).unwrap_or(false));
    }
    if kind == "sticker" {
        obj["animated"] = json!(req.get("animated").and_then(Value::as_bool).unwrap_or(false));
    }
    Ok(obj)
}
