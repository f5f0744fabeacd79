//! Inbound `messages[]` items (PROTOCOLS §1.6) and the business's own message echoes
//! (`smb_message_echoes`). Every message keeps the object exactly as received in `raw`, and
//! decoding the type-specific part never fails: a type we do not know, or a known type whose
//! object is malformed, becomes [`MessageKind::Unknown`] instead of being dropped.

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::lenient;
use super::wa_error::WaError;

/// One message a customer sent to the business.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct InboundMessage {
    /// Sender's phone number / wa_id. Users with a business-scoped id may lack it.
    pub from: Option<String>,
    /// Business-scoped user id (`US.1349…`), when Meta sends one.
    pub from_user_id: Option<String>,
    /// The wamid: the deduplication key.
    pub id: String,
    /// Unix seconds (Meta sends a string).
    pub timestamp: i64,
    pub kind: MessageKind,
    pub context: Option<Context>,
    /// Click-to-WhatsApp ad metadata, kept as received.
    pub referral: Option<Value>,
    pub errors: Vec<WaError>,
    /// The message object as received.
    pub raw: Value,
}

/// A message the business sent from another client (the WhatsApp Business app), echoed to the
/// API (`field: smb_message_echoes`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct EchoMessage {
    pub from: Option<String>,
    pub to: Option<String>,
    pub to_user_id: Option<String>,
    pub id: String,
    pub timestamp: i64,
    pub kind: MessageKind,
    pub context: Option<Context>,
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    Text {
        body: String,
    },
    Image(Media),
    Video(Media),
    Audio(Media),
    Document(Media),
    Sticker(Media),
    Location(Location),
    /// Shared contact cards, kept as received (their shape is wide and rarely needed typed).
    Contacts(Vec<Value>),
    Interactive(Interactive),
    /// A tap on a template's quick-reply button.
    Button {
        text: Option<String>,
        payload: Option<String>,
    },
    /// `emoji: None` means the customer removed their reaction (Meta omits the emoji or sends "").
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    Order(Order),
    System {
        body: Option<String>,
        /// The new wa_id for `user_changed_number`.
        wa_id: Option<String>,
        /// `user_changed_number`, `customer_identity_changed`, …
        kind: Option<String>,
    },
    /// `type: unsupported` (or the older `unknown`); `kind` is `unsupported.type` when given.
    Unsupported {
        kind: Option<String>,
    },
    RequestWelcome,
    /// The customer edited an earlier message; `message` is the new content.
    Edit {
        original_message_id: String,
        message: Box<MessageKind>,
    },
    /// The customer deleted an earlier message.
    Revoke {
        original_message_id: String,
    },
    /// A type this parser does not know, or a known type whose object is malformed.
    Unknown {
        type_name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Media {
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Base64 (current docs) or hex (older): treat as opaque.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    /// Audio only: a voice note rather than an audio file.
    #[serde(default)]
    pub voice: Option<bool>,
    /// Sticker only.
    #[serde(default)]
    pub animated: Option<bool>,
    /// Direct download URL (needs the bearer token), rolled out from November 2025.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Location {
    #[serde(deserialize_with = "lenient::f64")]
    pub latitude: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Interactive {
    ButtonReply {
        id: String,
        title: String,
    },
    ListReply {
        id: String,
        title: String,
        description: Option<String>,
    },
    /// A WhatsApp Flow completion; `response_json` is a JSON document in a string.
    NfmReply {
        name: Option<String>,
        body: Option<String>,
        response_json: String,
    },
    /// Any other interactive answer (e.g. `call_permission_reply`), or none at all: Meta has
    /// sent `type: interactive` without the object alongside a `value.errors` entry.
    Other(Value),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Order {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub catalog_id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub product_items: Vec<ProductItem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProductItem {
    #[serde(deserialize_with = "lenient::string")]
    pub product_retailer_id: String,
    #[serde(deserialize_with = "lenient::i64")]
    pub quantity: i64,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub item_price: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Context {
    /// The business number the quoted message came from.
    #[serde(default)]
    pub from: Option<String>,
    /// wamid of the quoted message (or of the message holding the tapped button).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub forwarded: bool,
    #[serde(default)]
    pub frequently_forwarded: bool,
    #[serde(default)]
    pub referred_product: Option<Value>,
}

#[derive(Deserialize)]
struct Common {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    to: Option<String>,
    #[serde(default)]
    to_user_id: Option<String>,
    id: String,
    #[serde(deserialize_with = "lenient::i64")]
    timestamp: i64,
    #[serde(rename = "type", default)]
    type_name: Option<String>,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    referral: Option<Value>,
    #[serde(default)]
    errors: Vec<WaError>,
}

impl TryFrom<Value> for InboundMessage {
    type Error = serde_json::Error;

    fn try_from(raw: Value) -> Result<Self, Self::Error> {
        let c = Common::deserialize(&raw)?;
        Ok(Self {
            kind: MessageKind::decode(c.type_name.as_deref().unwrap_or_default(), &raw),
            from: c.from,
            from_user_id: c.from_user_id,
            id: c.id,
            timestamp: c.timestamp,
            context: c.context,
            referral: c.referral,
            errors: c.errors,
            raw,
        })
    }
}

impl TryFrom<Value> for EchoMessage {
    type Error = serde_json::Error;

    fn try_from(raw: Value) -> Result<Self, Self::Error> {
        let c = Common::deserialize(&raw)?;
        Ok(Self {
            kind: MessageKind::decode(c.type_name.as_deref().unwrap_or_default(), &raw),
            from: c.from,
            to: c.to,
            to_user_id: c.to_user_id,
            id: c.id,
            timestamp: c.timestamp,
            context: c.context,
            raw,
        })
    }
}

#[derive(Deserialize)]
struct TextObject {
    body: String,
}

#[derive(Deserialize)]
struct ButtonObject {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
struct ReactionObject {
    message_id: String,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct SystemObject {
    #[serde(default)]
    body: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    wa_id: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct EditObject {
    original_message_id: String,
    #[serde(default)]
    message: Value,
}

#[derive(Deserialize)]
struct RevokeObject {
    original_message_id: String,
}

#[derive(Deserialize)]
struct ReplyObject {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct NfmObject {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    body: Option<String>,
    response_json: String,
}

fn typed<T: DeserializeOwned>(v: Option<&Value>) -> Option<T> {
    v.and_then(|v| T::deserialize(v).ok())
}

impl MessageKind {
    /// Decodes the type-specific object of `message` (the object named after `type_name`).
    fn decode(type_name: &str, message: &Value) -> Self {
        let obj = message.get(type_name);
        let decoded = match type_name {
            "text" => typed::<TextObject>(obj).map(|t| Self::Text { body: t.body }),
            "image" => typed(obj).map(Self::Image),
            "video" => typed(obj).map(Self::Video),
            "audio" => typed(obj).map(Self::Audio),
            "document" => typed(obj).map(Self::Document),
            "sticker" => typed(obj).map(Self::Sticker),
            "location" => typed(obj).map(Self::Location),
            "contacts" => obj.and_then(Value::as_array).map(|cards| Self::Contacts(cards.clone())),
            "interactive" => Some(Self::Interactive(Interactive::decode(obj))),
            "button" => typed::<ButtonObject>(obj).map(|b| Self::Button { text: b.text, payload: b.payload }),
            "reaction" => typed::<ReactionObject>(obj)
                .map(|r| Self::Reaction { message_id: r.message_id, emoji: r.emoji.filter(|e| !e.is_empty()) }),
            "order" => typed(obj).map(Self::Order),
            "system" => typed::<SystemObject>(obj).map(|s| Self::System { body: s.body, wa_id: s.wa_id, kind: s.kind }),
            "unsupported" | "unknown" => Some(Self::Unsupported {
                kind: obj.and_then(|o| o.get("type")).and_then(Value::as_str).map(str::to_owned),
            }),
            "request_welcome" => Some(Self::RequestWelcome),
            "edit" => typed::<EditObject>(obj).map(|e| {
                let inner_type = e.message.get("type").and_then(Value::as_str);
                Self::Edit {
                    original_message_id: e.original_message_id,
                    message: Box::new(Self::decode(inner_type.unwrap_or_default(), &e.message)),
                }
            }),
            "revoke" => typed::<RevokeObject>(obj).map(|r| Self::Revoke { original_message_id: r.original_message_id }),
            _ => None,
        };
        decoded.unwrap_or_else(|| Self::Unknown { type_name: type_name.to_owned() })
    }

    /// The wire name of the type (`text`, `image`, …), for storage and metrics.
    #[must_use]
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Image(_) => "image",
            Self::Video(_) => "video",
            Self::Audio(_) => "audio",
            Self::Document(_) => "document",
            Self::Sticker(_) => "sticker",
            Self::Location(_) => "location",
            Self::Contacts(_) => "contacts",
            Self::Interactive(_) => "interactive",
            Self::Button { .. } => "button",
            Self::Reaction { .. } => "reaction",
            Self::Order(_) => "order",
            Self::System { .. } => "system",
            Self::Unsupported { .. } => "unsupported",
            Self::RequestWelcome => "request_welcome",
            Self::Edit { .. } => "edit",
            Self::Revoke { .. } => "revoke",
            Self::Unknown { type_name } => type_name,
        }
    }

    /// The media object, for the five media types.
    #[must_use]
    pub fn media(&self) -> Option<&Media> {
        match self {
            Self::Image(m) | Self::Video(m) | Self::Audio(m) | Self::Document(m) | Self::Sticker(m) => Some(m),
            _ => None,
        }
    }
}

impl Interactive {
    fn decode(obj: Option<&Value>) -> Self {
        let sub = obj.and_then(|o| o.get("type")).and_then(Value::as_str);
        let field = |name: &str| obj.and_then(|o| o.get(name));
        let decoded = match sub {
            Some("button_reply") => {
                typed::<ReplyObject>(field("button_reply")).map(|r| Self::ButtonReply { id: r.id, title: r.title })
            }
            Some("list_reply") => typed::<ReplyObject>(field("list_reply")).map(|r| Self::ListReply {
                id: r.id,
                title: r.title,
                description: r.description,
            }),
            Some("nfm_reply") => typed::<NfmObject>(field("nfm_reply")).map(|n| Self::NfmReply {
                name: n.name,
                body: n.body,
                response_json: n.response_json,
            }),
            _ => None,
        };
        decoded.unwrap_or_else(|| Self::Other(obj.cloned().unwrap_or(Value::Null)))
    }
}

// Debug output ends up in logs: show ids and types, never numbers or text.
impl fmt::Debug for InboundMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundMessage")
            .field("id", &self.id)
            .field("type", &self.kind.type_name())
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EchoMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoMessage")
            .field("id", &self.id)
            .field("type", &self.kind.type_name())
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}
