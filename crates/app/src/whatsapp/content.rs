//! What a message says, as stored and as shown.
//!
//! Inbound messages are stored as the message object exactly as Meta sent it (sealed), so no
//! type is lost — not even one we do not understand yet — and views are derived from it on
//! read. Outbound messages are stored as what the agent composed.

use serde::Serialize;
use serde_json::{Value, json};
use switchboard_channels::whatsapp::webhook::{InboundMessage, Interactive, MessageKind};
use switchboard_core::optout::InboundText;

/// The text of a message that may be an opt-out or opt-in keyword: a text body or the title
/// of a tapped button. Captions and everything else never are (see `core::optout`).
#[must_use]
pub fn keyword_text(kind: &MessageKind) -> Option<(InboundText, &str)> {
    match kind {
        MessageKind::Text { body } => Some((InboundText::Body, body)),
        MessageKind::Interactive(Interactive::ButtonReply { title, .. }) => Some((InboundText::ButtonReply, title)),
        MessageKind::Button { text, payload } => {
            text.as_deref().or(payload.as_deref()).map(|t| (InboundText::ButtonReply, t))
        }
        _ => None,
    }
}

/// The stored form of an inbound message.
#[must_use]
pub fn inbound_content(m: &InboundMessage) -> Value {
    json!({"v": 1, "raw": m.raw})
}

/// The readable text of a message kind: body, caption, button or list title, place name.
#[must_use]
pub fn kind_text(kind: &MessageKind) -> Option<String> {
    match kind {
        MessageKind::Text { body } => Some(body.clone()),
        MessageKind::Image(m) | MessageKind::Video(m) | MessageKind::Document(m) => m.caption.clone(),
        MessageKind::Audio(_) | MessageKind::Sticker(_) => None,
        MessageKind::Location(l) => l.name.clone().or_else(|| l.address.clone()),
        MessageKind::Interactive(Interactive::ButtonReply { title, .. } | Interactive::ListReply { title, .. }) => {
            Some(title.clone())
        }
        MessageKind::Interactive(Interactive::NfmReply { body, .. }) => body.clone(),
        MessageKind::Button { text, payload } => text.clone().or_else(|| payload.clone()),
        MessageKind::Order(o) => o.text.clone(),
        MessageKind::System { body, .. } => body.clone(),
        MessageKind::Edit { message, .. } => kind_text(message),
        MessageKind::Reaction { emoji, .. } => emoji.clone(),
        MessageKind::Interactive(Interactive::Other(_))
        | MessageKind::Contacts(_)
        | MessageKind::Unsupported { .. }
        | MessageKind::RequestWelcome
        | MessageKind::Revoke { .. }
        | MessageKind::Unknown { .. } => None,
    }
}

/// Type-specific facts the text does not carry (coordinates, cards, ids of replies), for views.
fn kind_details(kind: &MessageKind, raw: &Value) -> Value {
    match kind {
        MessageKind::Location(l) => {
            json!({"latitude": l.latitude, "longitude": l.longitude, "name": l.name, "address": l.address, "url": l.url})
        }
        MessageKind::Contacts(cards) => json!({"contacts": cards}),
        MessageKind::Interactive(Interactive::ButtonReply { id, title }) => {
            json!({"reply": {"kind": "button_reply", "id": id, "title": title}})
        }
        MessageKind::Interactive(Interactive::ListReply { id, title, description }) => {
            json!({"reply": {"kind": "list_reply", "id": id, "title": title, "description": description}})
        }
        MessageKind::Interactive(Interactive::NfmReply { name, response_json, .. }) => {
            json!({"reply": {"kind": "nfm_reply", "name": name, "response_json": response_json}})
        }
        MessageKind::Interactive(Interactive::Other(v)) => json!({"interactive": v}),
        MessageKind::Button { payload, .. } => json!({"payload": payload}),
        MessageKind::Order(_) => json!({"order": raw.get("order")}),
        MessageKind::System { kind, wa_id, .. } => json!({"system": {"kind": kind, "new_wa_id": wa_id}}),
        MessageKind::Unsupported { kind } => json!({"unsupported_type": kind}),
        MessageKind::Unknown { type_name } => json!({"unknown_type": type_name, "raw": raw}),
        MessageKind::Reaction { message_id, emoji } => json!({"reaction": {"to": message_id, "emoji": emoji}}),
        MessageKind::Audio(m) => json!({"voice": m.voice.unwrap_or(false)}),
        MessageKind::Sticker(m) => json!({"animated": m.animated.unwrap_or(false)}),
        _ => json!({}),
    }
}

/// A compact preview for the conversation list (kind and at most 120 characters of text).
#[must_use]
pub fn preview(kind: &str, text: Option<&str>) -> String {
    let text: String = text.unwrap_or_default().chars().take(120).collect();
    json!({"kind": kind, "text": text}).to_string()
}

/// What a stored message says, derived for views.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub text: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
    /// The wamid this message replies to (quotes).
    pub reply_to: Option<String>,
    pub forwarded: bool,
    #[schema(value_type = Option<Object>)]
    pub referral: Option<Value>,
}

/// Renders stored content (inbound raw object or outbound composition).
#[must_use]
pub fn render(content: &Value) -> Rendered {
    if let Some(raw) = content.get("raw") {
        return match serde_json::from_value::<InboundMessage>(raw.clone()) {
            Ok(m) => Rendered {
                text: kind_text(&m.kind),
                details: kind_details(&m.kind, raw),
                reply_to: m.context.as_ref().and_then(|c| c.id.clone()),
                forwarded: m.context.as_ref().is_some_and(|c| c.forwarded || c.frequently_forwarded),
                referral: m.referral,
            },
            Err(_) => Rendered { details: json!({"raw": raw}), ..Rendered::default() },
        };
    }
    Rendered {
        text: content.get("text").and_then(Value::as_str).map(str::to_owned),
        details: content.get("details").cloned().unwrap_or_else(|| json!({})),
        reply_to: content.get("reply_to").and_then(Value::as_str).map(str::to_owned),
        forwarded: false,
        referral: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(v: Value) -> InboundMessage {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn renders_inbound_kinds_from_the_raw_object() {
        let text = inbound(json!({"from": "905321112233", "id": "wamid.1", "timestamp": "1767225600", "type": "text",
            "text": {"body": "Merhaba"}, "context": {"from": "15550001111", "id": "wamid.OUT"}}));
        let r = render(&inbound_content(&text));
        assert_eq!((r.text.as_deref(), r.reply_to.as_deref()), (Some("Merhaba"), Some("wamid.OUT")));

        let loc = inbound(json!({"from": "1", "id": "wamid.2", "timestamp": "1", "type": "location",
            "location": {"latitude": 41.0, "longitude": 29.0, "name": "Kadıköy"}}));
        let r = render(&inbound_content(&loc));
        assert_eq!(r.text.as_deref(), Some("Kadıköy"));
        assert_eq!(r.details["latitude"], 41.0);

        let odd = inbound(
            json!({"from": "1", "id": "wamid.3", "timestamp": "1", "type": "poll_creation", "poll": {"q": "?"}}),
        );
        let r = render(&inbound_content(&odd));
        assert_eq!(r.details["unknown_type"], "poll_creation");
        assert_eq!(r.details["raw"]["poll"]["q"], "?", "unknown types are kept whole");
    }

    #[test]
    fn preview_is_short() {
        let p: Value = serde_json::from_str(&preview("text", Some(&"x".repeat(500)))).unwrap();
        assert_eq!(p["text"].as_str().unwrap().len(), 120);
    }
}
