//! Send bodies for `POST /{version}/{phone-number-id}/messages` (PROTOCOLS §2.2–§2.4) and the
//! documented limits they must respect. [`OutboundMessage::validate`] runs before anything is
//! queued, so a request Meta would refuse with error 100 is refused at our API edge instead,
//! with the offending field named.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value, json};
use switchboard_core::Invalid;

pub const TEXT_MAX: usize = 4096;
pub const CAPTION_MAX: usize = 1024;
pub const BUTTON_BODY_MAX: usize = 1024;
pub const LIST_BODY_MAX: usize = 4096;
pub const HEADER_TEXT_MAX: usize = 60;
pub const FOOTER_MAX: usize = 60;
pub const BUTTONS_MAX: usize = 3;
pub const BUTTON_ID_MAX: usize = 256;
pub const BUTTON_TITLE_MAX: usize = 20;
pub const LIST_BUTTON_MAX: usize = 20;
pub const LIST_SECTIONS_MAX: usize = 10;
pub const LIST_ROWS_MAX: usize = 10;
pub const ROW_ID_MAX: usize = 200;
pub const ROW_TITLE_MAX: usize = 24;
pub const ROW_DESCRIPTION_MAX: usize = 72;
pub const SECTION_TITLE_MAX: usize = 24;
pub const TEMPLATE_NAME_MAX: usize = 512;
/// UNVERIFIED in Meta's docs; the commonly quoted limit.
pub const CALLBACK_DATA_MAX: usize = 512;

#[derive(Clone, PartialEq)]
pub struct OutboundMessage {
    /// E.164 with the leading `+`: without it Meta prepends the business number's country code.
    pub to: String,
    /// wamid of the message this one quotes.
    pub reply_to: Option<String>,
    /// Echoed on every status webhook of this message: our correlation id.
    pub biz_opaque_callback_data: Option<String>,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text {
        body: String,
        preview_url: bool,
    },
    Media {
        kind: MediaKind,
        source: MediaSource,
        caption: Option<String>,
        /// Documents only.
        filename: Option<String>,
    },
    Template {
        name: String,
        /// `en_US`, `pt_BR`, `tr`…: must match an approved translation.
        language: String,
        /// Meta's component objects (`{"type":"body","parameters":[…]}`), passed through.
        components: Vec<Value>,
    },
    InteractiveButtons {
        body: String,
        header: Option<String>,
        footer: Option<String>,
        buttons: Vec<ReplyButton>,
    },
    InteractiveList {
        body: String,
        /// Label of the button that opens the list.
        button: String,
        header: Option<String>,
        footer: Option<String>,
        sections: Vec<ListSection>,
    },
    /// An empty `emoji` removes the business's reaction (UNVERIFIED in Meta's docs).
    Reaction {
        message_id: String,
        emoji: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// An id from `POST /{phone-number-id}/media`.
    Id(String),
    /// A public https URL Meta fetches itself.
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyButton {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSection {
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// Mark an inbound message (and everything before it) as read, optionally showing the typing
/// indicator for up to 25 seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    pub message_id: String,
    pub typing: bool,
}

impl MediaKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    const fn takes_caption(self) -> bool {
        matches!(self, Self::Image | Self::Video | Self::Document)
    }
}

/// What WhatsApp accepts for sending an uploaded file (PROTOCOLS.md §2.5): the message type
/// a MIME type is sent as, and the largest file of that type. `None`: Meta refuses the type.
/// Stickers (`image/webp`) are not offered: they are not composed but picked in WhatsApp.
#[must_use]
pub fn send_limit(mime_type: &str) -> Option<(MediaKind, u64)> {
    const MB: u64 = 1024 * 1024;
    let essence = mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "image/jpeg" | "image/png" => (MediaKind::Image, 5 * MB),
        "video/mp4" | "video/3gpp" => (MediaKind::Video, 16 * MB),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => (MediaKind::Audio, 16 * MB),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            (MediaKind::Document, 100 * MB)
        }
        _ => return None,
    })
}

/// The MIME type of a file by its extension, for browsers that send none (or a generic one).
#[must_use]
pub fn mime_for_extension(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "opus" => "audio/ogg",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => return None,
    })
}

impl Content {
    /// The `type` field of the send body.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Media { kind, .. } => kind.as_str(),
            Self::Template { .. } => "template",
            Self::InteractiveButtons { .. } | Self::InteractiveList { .. } => "interactive",
            Self::Reaction { .. } => "reaction",
        }
    }

    /// Whether Meta accepts it outside the 24-hour customer-service window.
    #[must_use]
    pub const fn allowed_outside_window(&self) -> bool {
        matches!(self, Self::Template { .. })
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Text { body, preview_url } => json!({ "preview_url": preview_url, "body": body }),
            Self::Media { kind, source, caption, filename } => {
                let mut obj = Map::new();
                match source {
                    MediaSource::Id(id) => obj.insert("id".into(), json!(id)),
                    MediaSource::Link(link) => obj.insert("link".into(), json!(link)),
                };
                if let Some(caption) = caption {
                    obj.insert("caption".into(), json!(caption));
                }
                if let (MediaKind::Document, Some(filename)) = (kind, filename) {
                    obj.insert("filename".into(), json!(filename));
                }
                Value::Object(obj)
            }
            Self::Template { name, language, components } => {
                let mut obj = json!({ "name": name, "language": { "code": language } });
                if !components.is_empty() {
                    obj["components"] = json!(components);
                }
                obj
            }
            Self::InteractiveButtons { body, header, footer, buttons } => {
                let buttons: Vec<Value> = buttons
                    .iter()
                    .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                    .collect();
                interactive("button", body, header, footer, json!({ "buttons": buttons }))
            }
            Self::InteractiveList { body, button, header, footer, sections } => {
                let sections: Vec<Value> = sections.iter().map(ListSection::to_json).collect();
                interactive("list", body, header, footer, json!({ "button": button, "sections": sections }))
            }
            Self::Reaction { message_id, emoji } => {
                json!({ "message_id": message_id, "emoji": emoji })
            }
        }
    }
}

fn interactive(kind: &str, body: &str, header: &Option<String>, footer: &Option<String>, action: Value) -> Value {
    let mut obj = json!({ "type": kind, "body": { "text": body }, "action": action });
    if let Some(header) = header {
        obj["header"] = json!({ "type": "text", "text": header });
    }
    if let Some(footer) = footer {
        obj["footer"] = json!({ "text": footer });
    }
    obj
}

impl ListSection {
    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({ "id": r.id, "title": r.title });
                if let Some(d) = &r.description {
                    row["description"] = json!(d);
                }
                row
            })
            .collect();
        let mut obj = json!({ "rows": rows });
        if let Some(title) = &self.title {
            obj["title"] = json!(title);
        }
        obj
    }
}

impl OutboundMessage {
    /// Exactly the JSON body Meta expects.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let kind = self.content.type_name();
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.to,
            "type": kind,
        });
        body[kind] = self.content.to_json();
        if let Some(id) = &self.reply_to {
            body["context"] = json!({ "message_id": id });
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            body["biz_opaque_callback_data"] = json!(data);
        }
        body
    }

    /// Checks the documented limits. Lengths count characters, as Meta does.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate_to(&self.to)?;
        if let Some(id) = &self.reply_to {
            required("reply_to", id)?;
            if matches!(self.content, Content::Reaction { .. }) {
                return Err(Invalid::new("reply_to", "not_allowed", "a reaction cannot quote a message"));
            }
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            max_len("biz_opaque_callback_data", data, CALLBACK_DATA_MAX)?;
        }
        self.content.validate().map_err(|e| e.under("content"))
    }
}

impl Content {
    fn validate(&self) -> Result<(), Invalid> {
        match self {
            Self::Text { body, .. } => text("body", body, TEXT_MAX),
            Self::Media { kind, source, caption, filename } => {
                match source {
                    MediaSource::Id(id) => required("id", id)?,
                    MediaSource::Link(link) => {
                        if !(link.starts_with("https://") || link.starts_with("http://")) {
                            return Err(Invalid::new("link", "invalid_url", "media link must be an http(s) URL"));
                        }
                    }
                }
                if let Some(caption) = caption {
                    if !kind.takes_caption() {
                        return Err(Invalid::new("caption", "not_allowed", "audio and stickers cannot have a caption"));
                    }
                    max_len("caption", caption, CAPTION_MAX)?;
                }
                if filename.is_some() && *kind != MediaKind::Document {
                    return Err(Invalid::new("filename", "not_allowed", "only documents have a filename"));
                }
                Ok(())
            }
            Self::Template { name, language, .. } => {
                text("name", name, TEMPLATE_NAME_MAX)?;
                if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                    return Err(Invalid::new(
                        "name",
                        "invalid_template_name",
                        "template names are lowercase letters, digits and underscores",
                    ));
                }
                required("language", language)
            }
            Self::InteractiveButtons { body, header, footer, buttons } => {
                text("body", body, BUTTON_BODY_MAX)?;
                header_footer(header.as_deref(), footer.as_deref())?;
                count("buttons", buttons.len(), 1, BUTTONS_MAX)?;
                let mut ids = HashSet::new();
                let mut titles = HashSet::new();
                for (i, b) in buttons.iter().enumerate() {
                    let at = |e: Invalid| e.under(&format!("buttons[{i}]"));
                    text("id", &b.id, BUTTON_ID_MAX).map_err(at)?;
                    text("title", &b.title, BUTTON_TITLE_MAX).map_err(at)?;
                    if !ids.insert(b.id.as_str()) {
                        return Err(at(duplicate("id")));
                    }
                    if !titles.insert(b.title.as_str()) {
                        return Err(at(duplicate("title")));
                    }
                }
                Ok(())
            }
            Self::InteractiveList { body, button, header, footer, sections } => {
                text("body", body, LIST_BODY_MAX)?;
                text("button", button, LIST_BUTTON_MAX)?;
                header_footer(header.as_deref(), footer.as_deref())?;
                count("sections", sections.len(), 1, LIST_SECTIONS_MAX)?;
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                count("sections.rows", rows, 1, LIST_ROWS_MAX)?;
                let mut ids = HashSet::new();
                for (i, s) in sections.iter().enumerate() {
                    let at = |e: Invalid| e.under(&format!("sections[{i}]"));
                    match &s.title {
                        Some(title) => text("title", title, SECTION_TITLE_MAX).map_err(at)?,
                        // Meta requires section titles once there is more than one section.
                        None if sections.len() > 1 => return Err(at(missing("title"))),
                        None => {}
                    }
                    count("rows", s.rows.len(), 1, LIST_ROWS_MAX).map_err(at)?;
                    for (j, r) in s.rows.iter().enumerate() {
                        let at = |e: Invalid| at(e.under(&format!("rows[{j}]")));
                        text("id", &r.id, ROW_ID_MAX).map_err(at)?;
                        text("title", &r.title, ROW_TITLE_MAX).map_err(at)?;
                        if let Some(d) = &r.description {
                            max_len("description", d, ROW_DESCRIPTION_MAX).map_err(at)?;
                        }
                        if !ids.insert(r.id.as_str()) {
                            return Err(at(duplicate("id")));
                        }
                    }
                }
                Ok(())
            }
            Self::Reaction { message_id, .. } => required("message_id", message_id),
        }
    }
}

impl MarkRead {
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": self.message_id,
        });
        if self.typing {
            body["typing_indicator"] = json!({ "type": "text" });
        }
        body
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        required("message_id", &self.message_id)
    }
}

/// `+` then 8 to 15 digits: the E.164 shape. Full numbering-plan validation happened when the
/// contact's number was parsed into `switchboard_core::E164`.
fn validate_to(to: &str) -> Result<(), Invalid> {
    let ok = to.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new("to", "invalid_phone", "recipient must be an E.164 number with a leading +"))
    }
}

fn header_footer(header: Option<&str>, footer: Option<&str>) -> Result<(), Invalid> {
    if let Some(h) = header {
        text("header", h, HEADER_TEXT_MAX)?;
    }
    if let Some(f) = footer {
        text("footer", f, FOOTER_MAX)?;
    }
    Ok(())
}

fn missing(field: &str) -> Invalid {
    Invalid::new(field, "required", format!("{field} is required"))
}

fn duplicate(field: &str) -> Invalid {
    Invalid::new(field, "duplicate", format!("{field} must be unique"))
}

fn required(field: &str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() { Err(missing(field)) } else { Ok(()) }
}

fn max_len(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    if value.chars().count() > max {
        Err(Invalid::new(field, "too_long", format!("{field} must be at most {max} characters")))
    } else {
        Ok(())
    }
}

fn text(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    required(field, value)?;
    max_len(field, value, max)
}

fn count(field: &str, n: usize, min: usize, max: usize) -> Result<(), Invalid> {
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(Invalid::new(field, "wrong_count", format!("{field} must have between {min} and {max} items")))
    }
}

// Debug output ends up in logs: no recipient, no content.
impl fmt::Debug for OutboundMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundMessage")
            .field("type", &self.content.type_name())
            .field("reply_to", &self.reply_to)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(content: Content) -> OutboundMessage {
        OutboundMessage { to: "+5511987650001".into(), reply_to: None, biz_opaque_callback_data: None, content }
    }

    fn buttons(n: usize) -> Content {
        Content::InteractiveButtons {
            body: "Keep it?".into(),
            header: None,
            footer: None,
            buttons: (0..n).map(|i| ReplyButton { id: format!("b{i}"), title: format!("Option {i}") }).collect(),
        }
    }

    fn list(rows_per_section: &[usize]) -> Content {
        Content::InteractiveList {
            body: "Pick a slot".into(),
            button: "See times".into(),
            header: None,
            footer: None,
            sections: rows_per_section
                .iter()
                .enumerate()
                .map(|(s, &n)| ListSection {
                    title: Some(format!("Day {s}")),
                    rows: (0..n)
                        .map(|r| ListRow { id: format!("s{s}r{r}"), title: format!("{r}:00"), description: None })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn text_body_matches_meta() {
        let mut m = msg(Content::Text { body: "We have it in blue, size M.".into(), preview_url: false });
        m.reply_to = Some("wamid.TXT0001".into());
        m.biz_opaque_callback_data = Some("crm-msg-9f3a".into());
        assert_eq!(
            m.to_json(),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "+5511987650001",
                "context": { "message_id": "wamid.TXT0001" },
                "biz_opaque_callback_data": "crm-msg-9f3a",
                "type": "text",
                "text": { "preview_url": false, "body": "We have it in blue, size M." }
            })
        );
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn media_template_interactive_reaction_bodies() {
        let doc = msg(Content::Media {
            kind: MediaKind::Document,
            source: MediaSource::Link("https://files.example.test/quote-881.pdf".into()),
            caption: Some("Your quote".into()),
            filename: Some("quote-881.pdf".into()),
        });
        assert_eq!(
            doc.to_json()["document"],
            json!({ "link": "https://files.example.test/quote-881.pdf", "caption": "Your quote", "filename": "quote-881.pdf" })
        );
        let tpl = msg(Content::Template {
            name: "appointment_reminder".into(),
            language: "pt_BR".into(),
            components: vec![json!({ "type": "body", "parameters": [{ "type": "text", "text": "Ana" }] })],
        });
        let body = tpl.to_json();
        assert_eq!(body["type"], "template");
        assert_eq!(body["template"]["language"]["code"], "pt_BR");
        assert_eq!(body["template"]["components"][0]["parameters"][0]["text"], "Ana");

        let mut b = buttons(2);
        if let Content::InteractiveButtons { header, footer, .. } = &mut b {
            *header = Some("Appointment".into());
            *footer = Some("Clinica Exemplo".into());
        }
        let body = msg(b).to_json();
        assert_eq!(
            body["interactive"],
            json!({
                "type": "button",
                "header": { "type": "text", "text": "Appointment" },
                "body": { "text": "Keep it?" },
                "footer": { "text": "Clinica Exemplo" },
                "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "b0", "title": "Option 0" } },
                    { "type": "reply", "reply": { "id": "b1", "title": "Option 1" } } ] }
            })
        );
        let body = msg(list(&[2])).to_json();
        assert_eq!(body["interactive"]["type"], "list");
        assert_eq!(body["interactive"]["action"]["button"], "See times");
        assert_eq!(body["interactive"]["action"]["sections"][0]["rows"][1]["id"], "s0r1");

        let r = msg(Content::Reaction { message_id: "wamid.TXT0001".into(), emoji: "\u{1f44d}".into() });
        assert_eq!(r.to_json()["reaction"], json!({ "message_id": "wamid.TXT0001", "emoji": "\u{1f44d}" }));
    }

    #[test]
    fn mark_read_body() {
        let read = MarkRead { message_id: "wamid.TXT0001".into(), typing: true };
        assert_eq!(
            read.to_json(),
            json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.TXT0001",
                    "typing_indicator": { "type": "text" } })
        );
    }

    fn field_of(m: &OutboundMessage) -> Option<String> {
        m.validate().err().map(|e| e.field)
    }

    #[test]
    fn limits_are_enforced() {
        let long = |n: usize| "ç".repeat(n);
        let ok_text = msg(Content::Text { body: long(TEXT_MAX), preview_url: true });
        assert_eq!(ok_text.validate(), Ok(()), "4096 characters, not bytes");
        let cases: Vec<(OutboundMessage, &str)> = vec![
            (msg(Content::Text { body: long(TEXT_MAX + 1), preview_url: false }), "content.body"),
            (msg(Content::Text { body: "  ".into(), preview_url: false }), "content.body"),
            (
                msg(Content::Media {
                    kind: MediaKind::Image,
                    source: MediaSource::Id("1".into()),
                    caption: Some(long(CAPTION_MAX + 1)),
                    filename: None,
                }),
                "content.caption",
            ),
            (
                msg(Content::Media {
                    kind: MediaKind::Audio,
                    source: MediaSource::Id("1".into()),
                    caption: Some("hi".into()),
                    filename: None,
                }),
                "content.caption",
            ),
            (
                msg(Content::Media {
                    kind: MediaKind::Image,
                    source: MediaSource::Link("ftp://x".into()),
                    caption: None,
                    filename: None,
                }),
                "content.link",
            ),
            (msg(buttons(0)), "content.buttons"),
            (msg(buttons(4)), "content.buttons"),
            (msg(list(&[6, 5])), "content.sections.rows"),
            (msg(list(&[])), "content.sections"),
            (
                msg(Content::Template { name: "Bad Name".into(), language: "en_US".into(), components: vec![] }),
                "content.name",
            ),
        ];
        for (m, field) in cases {
            assert_eq!(field_of(&m).as_deref(), Some(field), "{:?}", m.content);
        }

        let mut b = buttons(2);
        if let Content::InteractiveButtons { buttons, .. } = &mut b {
            buttons[1].title = "x".repeat(BUTTON_TITLE_MAX + 1);
        }
        assert_eq!(field_of(&msg(b)).as_deref(), Some("content.buttons[1].title"));
        let mut b = buttons(2);
        if let Content::InteractiveButtons { buttons, .. } = &mut b {
            buttons[1].id = "b0".into();
        }
        assert_eq!(field_of(&msg(b)).as_deref(), Some("content.buttons[1].id"));
        let mut b = buttons(1);
        if let Content::InteractiveButtons { buttons, .. } = &mut b {
            buttons[0].id = "i".repeat(BUTTON_ID_MAX + 1);
        }
        assert_eq!(field_of(&msg(b)).as_deref(), Some("content.buttons[0].id"));

        let mut l = list(&[1, 2]);
        if let Content::InteractiveList { sections, .. } = &mut l {
            sections[1].rows[1].title = "t".repeat(ROW_TITLE_MAX + 1);
        }
        assert_eq!(field_of(&msg(l)).as_deref(), Some("content.sections[1].rows[1].title"));
        let mut l = list(&[1, 1]);
        if let Content::InteractiveList { sections, .. } = &mut l {
            sections[1].title = None;
        }
        assert_eq!(field_of(&msg(l)).as_deref(), Some("content.sections[1].title"));
        assert_eq!(msg(list(&[4, 6])).validate(), Ok(()));

        for bad_to in ["5511987650001", "+55 11 98765", "+1234", "+5511987650001x"] {
            let mut m = msg(buttons(1));
            m.to = bad_to.into();
            assert_eq!(field_of(&m).as_deref(), Some("to"), "{bad_to}");
        }
        let mut quoted_reaction = msg(Content::Reaction { message_id: "wamid.A".into(), emoji: String::new() });
        assert_eq!(quoted_reaction.validate(), Ok(()), "empty emoji removes");
        quoted_reaction.reply_to = Some("wamid.B".into());
        assert_eq!(field_of(&quoted_reaction).as_deref(), Some("reply_to"));
        let mut tagged = msg(buttons(1));
        tagged.biz_opaque_callback_data = Some("d".repeat(CALLBACK_DATA_MAX + 1));
        assert_eq!(field_of(&tagged).as_deref(), Some("biz_opaque_callback_data"));
    }

    #[test]
    fn send_limits_follow_the_media_type() {
        assert_eq!(send_limit("image/png"), Some((MediaKind::Image, 5 * 1024 * 1024)));
        assert_eq!(send_limit("Audio/OGG; codecs=opus"), Some((MediaKind::Audio, 16 * 1024 * 1024)));
        assert_eq!(send_limit("application/pdf").map(|l| l.0), Some(MediaKind::Document));
        assert_eq!(send_limit("image/svg+xml"), None);
        assert_eq!(send_limit("application/x-msdownload"), None);
        assert_eq!(mime_for_extension("Quote.PDF"), Some("application/pdf"));
        assert_eq!(mime_for_extension("noext"), None);
    }
}
