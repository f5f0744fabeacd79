//! WhatsApp webhook payloads (PROTOCOLS §1.5–§1.9), parsed leniently: unknown fields are
//! ignored, optional fields are optional, and one odd change never fails the whole envelope.
//! Only a body that is not UTF-8, not JSON, or has no `object`/`entry` shape is an error.
//!
//! Verify the signature ([`super::signature::verify`]) on the raw bytes *before* calling
//! [`parse`].

mod lenient;
mod management;
mod message;
mod status;
mod wa_error;

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

pub use management::{
    OtherInfo, PhoneNumberQualityUpdate, RejectionInfo, TemplateCategoryUpdate, TemplateQualityUpdate,
    TemplateStatusUpdate, UserPreference, UserPreferencesValue, same_language,
};
pub use message::{
    Context, EchoMessage, InboundMessage, Interactive, Location, Media, MessageKind, Order, ProductItem,
};
pub use status::{Status, StatusKind};
pub use wa_error::WaError;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("webhook body is not UTF-8")]
    NotUtf8,
    // serde_json's syntax errors give a position, never a quote of the input.
    #[error("webhook body is not a WhatsApp envelope: {0}")]
    Json(#[from] serde_json::Error),
}

/// One webhook POST.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Notification {
    /// `whatsapp_business_account` for WhatsApp; anything else is the caller's to refuse.
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Entry {
    /// The WABA id.
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// Unix seconds; present on non-message fields.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub time: Option<i64>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub value: ChangeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    Messages(MessagesValue),
    /// `smb_message_echoes`: messages the business sent from the WhatsApp Business app.
    MessageEchoes(EchoesValue),
    TemplateStatus(TemplateStatusUpdate),
    TemplateQuality(TemplateQualityUpdate),
    TemplateCategory(TemplateCategoryUpdate),
    TemplateComponents(Value),
    PhoneNumberQuality(PhoneNumberQualityUpdate),
    AccountUpdate(Value),
    UserPreferences(UserPreferencesValue),
    /// A field this parser does not model (`calls`, `account_alerts`, `security`, …).
    Other {
        field: String,
        value: Value,
    },
    /// A modelled field whose value did not have the expected shape. Kept whole so it can be
    /// stored and looked at; `error` may quote values from the payload, so do not log it at a
    /// level that reaches shared logs.
    Invalid {
        field: String,
        error: String,
        value: Value,
    },
}

/// `value` of a `messages` change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessagesValue {
    pub metadata: Metadata,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub messages: Vec<InboundMessage>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// System-level errors not tied to one message (§1.8).
    #[serde(default)]
    pub errors: Vec<WaError>,
}

/// `value` of a `smb_message_echoes` change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EchoesValue {
    pub metadata: Metadata,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub message_echoes: Vec<EchoMessage>,
}

/// The business number a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "lenient::string")]
    pub display_phone_number: String,
    /// The id used in send URLs: identifies the channel.
    #[serde(deserialize_with = "lenient::string")]
    pub phone_number_id: String,
}

/// A customer as described in `contacts[]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct WaContact {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub wa_id: Option<String>,
    /// Business-scoped user id (2026 rollout).
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub parent_user_id: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub identity_key_hash: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

impl WaContact {
    /// The WhatsApp profile name, when given.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.profile.as_ref()?.name.as_deref()
    }
}

impl fmt::Debug for WaContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaContact")
            .field("has_wa_id", &self.wa_id.is_some())
            .field("has_user_id", &self.user_id.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Profile(<redacted>)")
    }
}

#[derive(Deserialize)]
struct RawChange {
    field: String,
    #[serde(default)]
    value: Value,
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawChange::deserialize(d)?;
        Ok(Self { value: ChangeValue::decode(&raw.field, raw.value), field: raw.field })
    }
}

impl ChangeValue {
    fn decode(field: &str, value: Value) -> Self {
        fn typed<T: serde::de::DeserializeOwned>(
            value: &Value,
            wrap: impl FnOnce(T) -> ChangeValue,
        ) -> Result<ChangeValue, serde_json::Error> {
            T::deserialize(value).map(wrap)
        }
        let decoded = match field {
            "messages" => typed(&value, Self::Messages),
            "smb_message_echoes" => typed(&value, Self::MessageEchoes),
            "message_template_status_update" => typed(&value, Self::TemplateStatus),
            "message_template_quality_update" => typed(&value, Self::TemplateQuality),
            "template_category_update" => typed(&value, Self::TemplateCategory),
            "message_template_components_update" => return Self::TemplateComponents(value),
            "phone_number_quality_update" => typed(&value, Self::PhoneNumberQuality),
            "account_update" => return Self::AccountUpdate(value),
            "user_preferences" => typed(&value, Self::UserPreferences),
            _ => {
                return Self::Other { field: field.to_owned(), value };
            }
        };
        decoded.unwrap_or_else(|e| Self::Invalid { field: field.to_owned(), error: e.to_string(), value })
    }
}

/// Parses a webhook body. Call only after the signature has been verified.
pub fn parse(body: &[u8]) -> Result<Notification, ParseError> {
    // Checked up front so invalid bytes get their own error rather than a JSON position.
    std::str::from_utf8(body).map_err(|_| ParseError::NotUtf8)?;
    // serde_json stops at 128 levels of nesting, so hostile depth is an error, not a stack
    // overflow.
    Ok(serde_json::from_slice(body)?)
}

/// Fields of a webhook that hold a customer's WhatsApp id: the contacts block (`wa_id`), an
/// inbound message's sender (`from`), a status's addressee (`recipient_id`), an echo's
/// addressee (`to`), and user-preference changes (`wa_id`).
const WA_ID_FIELDS: &[&str] = &["wa_id", "from", "recipient_id", "to"];

/// Every distinct WhatsApp id a webhook body names, wherever it sits, read from the raw JSON
/// rather than the typed parse: a body kept because processing failed may be one the parse
/// does not understand, and erasure must still find it. The ids are returned as written
/// (the caller normalises them). In a body that is not JSON (cut short, say) every run of 7 to
/// 15 digits counts: a phone-number-like value there may be a customer's id, and a spare one
/// only costs an index row that matches no contact.
#[must_use]
pub fn wa_ids(body: &[u8]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if WA_ID_FIELDS.contains(&k.as_str()) => {
                            if !out.contains(s) {
                                out.push(s.clone());
                            }
                        }
                        other => walk(other, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => walk(&v, &mut out),
        Err(_) => {
            for run in body.split(|b| !b.is_ascii_digit()).filter(|r| (7..=15).contains(&r.len())) {
                let id = String::from_utf8_lossy(run).into_owned();
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
