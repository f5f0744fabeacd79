//! Sending from the inbox: validate what the agent composed, then write the message (status
//! `queued`) and its send job in one transaction — the outbox. The sender does the rest.
//!
//! Free-form messages need an open customer-service window (a customer message in the last
//! 24 hours on this number); templates do not, but must exist, be approved, and get exactly
//! the parameters they declare.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_channels::whatsapp::outbound::{ListRow, ListSection, MediaKind, MediaSource, ReplyButton};
use switchboard_channels::whatsapp::{Content, OutboundMessage};
use switchboard_core::{ContactId, ConversationId, Invalid, MessageId, Millis, Permission};
use switchboard_privacy::Aad;
use switchboard_storage::bus::Event;
use switchboard_storage::conversations::{ConversationRow, OutboundTouch};
use switchboard_storage::jobs::{self, NewJob};
use switchboard_storage::media::{self, MediaRow};
use switchboard_storage::messages::{self, MessageRow};
use switchboard_storage::search::SearchDoc;
use switchboard_storage::templates::TemplateRow;
use switchboard_storage::{Scope, conversations, search, templates};
use uuid::Uuid;

use super::content;
use super::conversations::MessageView;
use super::template_parts::{HeaderMedia, TemplateArgs, send_components};
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

pub const WINDOW_MS: i64 = 24 * Millis::HOUR;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonInput {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowInput {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionInput {
    #[serde(default)]
    pub title: Option<String>,
    pub rows: Vec<RowInput>,
}

/// What an agent (or an integration) sends. `reply_to` quotes one of the conversation's
/// messages by our id.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Compose {
    Text {
        text: String,
        #[serde(default)]
        preview_url: bool,
        #[serde(default)]
        reply_to: Option<Uuid>,
    },
    Media {
        /// image, video, audio, document or sticker
        media: String,
        /// A public https URL Meta fetches…
        #[serde(default)]
        link: Option<String>,
        /// …or the id of media uploaded to Meta.
        #[serde(default)]
        media_id: Option<String>,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        filename: Option<String>,
        #[serde(default)]
        reply_to: Option<Uuid>,
    },
    Template {
        name: String,
        language: String,
        /// Body parameters of a positional template, in order ({{1}}, {{2}}, …).
        #[serde(default)]
        parameters: Vec<String>,
        /// Body parameters of a named template.
        #[serde(default)]
        named_parameters: BTreeMap<String, String>,
        /// Text parameters of the header, when it has variables.
        #[serde(default)]
        header_parameters: Vec<String>,
        /// The media of an IMAGE, VIDEO or DOCUMENT header.
        #[serde(default)]
        header_media: Option<HeaderMedia>,
        /// One value per URL button whose address ends in a variable, in button order.
        #[serde(default)]
        button_parameters: Vec<String>,
    },
    Buttons {
        body: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        footer: Option<String>,
        buttons: Vec<ButtonInput>,
        #[serde(default)]
        reply_to: Option<Uuid>,
    },
    List {
        body: String,
        button: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        footer: Option<String>,
        sections: Vec<SectionInput>,
    },
    Reaction {
        /// Our id of the message to react to.
        message_id: Uuid,
        /// An empty string removes the reaction.
        emoji: String,
    },
}

/// A message our side wrote, for [`App::store_message`].
pub(crate) struct StoredMessage<'a> {
    pub kind: &'a str,
    pub status: &'static str,
    /// The whole content, sealed as it is.
    pub content: &'a Value,
    /// The text shown in the inbox (and indexed for search).
    pub text: Option<&'a str>,
    /// The wamid replied to.
    pub reply_to: Option<String>,
    pub sender: Option<Uuid>,
}

/// A message for the outbox.
pub(crate) struct Outbound {
    pub kind: String,
    /// The text as sent.
    pub text: Option<String>,
    /// What the inbox shows instead of `text`, when it must not show it.
    pub shown: Option<String>,
    pub details: Value,
    pub message: OutboundMessage,
    /// The wamid replied to.
    pub reply_to: Option<String>,
    pub sender: Option<Uuid>,
    /// Re-checked against marketing consent by the sender.
    pub marketing: bool,
}

/// One send ready to write: the message, its search document, the conversation's new
/// preview, its send job and attachment. Computing it reads; writing it is [`write_sends`].
pub(crate) struct PreparedSend {
    pub row: MessageRow,
    doc: SearchDoc,
    touch: OutboundTouch,
    job: NewJob,
    media: Vec<MediaRow>,
}

/// Writes sends of one tenant in the caller's transaction, a statement per table for all of
/// them: the outbox (each message and its job commit together).
pub(crate) async fn write_sends(s: &mut Scope<'_>, sends: &[&PreparedSend]) -> AppResult<()> {
    let rows: Vec<MessageRow> = sends.iter().map(|p| p.row.clone()).collect();
    messages::insert_many(s, &rows).await?;
    let docs: Vec<SearchDoc> = sends.iter().map(|p| p.doc.clone()).collect();
    search::insert_many(s, &docs).await?;
    // The newest message of each conversation names its preview.
    let mut touches: Vec<OutboundTouch> = Vec::with_capacity(sends.len());
    for p in sends {
        match touches.iter_mut().find(|t| t.id == p.touch.id) {
            Some(t) if t.at <= p.touch.at => *t = p.touch.clone(),
            Some(_) => {}
            None => touches.push(p.touch.clone()),
        }
    }
    conversations::touch_outbound(s, &touches).await?;
    let jobs: Vec<NewJob> = sends.iter().map(|p| p.job.clone()).collect();
    let now = sends.iter().map(|p| p.job.run_at).max().unwrap_or_default();
    jobs::enqueue_many(s, &jobs, now).await?;
    for m in sends.iter().flat_map(|p| &p.media) {
        media::insert(s, m).await?;
    }
    Ok(())
}

/// The live-inbox event of a message our side wrote.
pub(crate) fn created_event(tenant: switchboard_core::TenantId, row: &MessageRow) -> Event {
    Event {
        tenant_id: tenant.as_uuid(),
        topic: "message.created".into(),
        subject: Some(row.id),
        related: Some(row.conversation_id),
        at: row.created_at,
    }
}

fn invalid(field: &str, code: &'static str, message: &str) -> AppError {
    Invalid::new(field, code, message).into()
}

fn media_kind(name: &str) -> AppResult<MediaKind> {
    Ok(match name {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        "document" => MediaKind::Document,
        "sticker" => MediaKind::Sticker,
        _ => return Err(invalid("media", "invalid_media_kind", "image, video, audio, document or sticker")),
    })
}

/// Placeholders of a template text: positional (`{{1}}` → count) or named (names).
#[must_use]
pub fn placeholders(text: &str) -> (usize, Vec<String>) {
    let mut positional = 0usize;
    let mut named = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        match inner.parse::<usize>() {
            Ok(n) => positional = positional.max(n),
            Err(_) if !inner.is_empty() => {
                if !named.iter().any(|x| x == inner) {
                    named.push(inner.to_owned());
                }
            }
            Err(_) => {}
        }
        rest = &after[end + 2..];
    }
    (positional, named)
}

/// The text of a template's component (`BODY`, `HEADER`, …).
#[must_use]
pub fn component_text<'a>(components: &'a Value, kind: &str) -> Option<&'a str> {
    components
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))?
        .get("text")
        .and_then(Value::as_str)
}

/// Whether a template can carry a one-time code: an approved AUTHENTICATION template whose
/// body has exactly one positional placeholder (Meta's authentication templates do: "{{1}} is
/// your verification code").
#[must_use]
pub fn otp_ready(t: &TemplateRow) -> bool {
    let comps: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
    let (count, names) = placeholders(component_text(&comps, "BODY").unwrap_or_default());
    t.status == "APPROVED" && t.category.eq_ignore_ascii_case("AUTHENTICATION") && count == 1 && names.is_empty()
}

/// Meta's components for a one-time code in an AUTHENTICATION template: the code is the
/// body's parameter and, when the template has a one-time-password button (copy code, one
/// tap: listed as `OTP`, or `URL` once approved), that button's parameter too (PROTOCOLS.md
/// §2.4). Returns the components, the text as sent and the text with the code masked.
fn otp_components(t: &TemplateRow, code: &str) -> (Vec<Value>, String, String) {
    let comps: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
    let body = component_text(&comps, "BODY").unwrap_or("{{1}}");
    let mut out = vec![json!({"type": "body", "parameters": [{"type": "text", "text": code}]})];
    let mut buttons = comps
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c.get("type").and_then(Value::as_str).is_some_and(|k| k.eq_ignore_ascii_case("BUTTONS")))
        .filter_map(|c| c.get("buttons").and_then(Value::as_array))
        .flatten();
    let otp = |b: &Value| {
        b.get("type").and_then(Value::as_str).is_some_and(|k| ["OTP", "URL"].iter().any(|o| k.eq_ignore_ascii_case(o)))
    };
    if let Some(index) = buttons.position(otp) {
        out.push(json!({"type": "button", "sub_type": "url", "index": index.to_string(),
            "parameters": [{"type": "text", "text": code}]}));
    }
    (out, body.replace("{{1}}", code), body.replace("{{1}}", "••••••"))
}

/// The wamid of one of the conversation's messages (for replies and reactions).
async fn wamid_in(s: &mut Scope<'_>, conversation: ConversationId, id: Uuid, field: &str) -> AppResult<String> {
    let m = messages::in_conversation(s, conversation.as_uuid(), id)
        .await
        .map_err(|_| invalid(field, "unknown_message", "no such message in this conversation"))?;
    m.provider_message_id.ok_or_else(|| invalid(field, "message_not_sent", "that message has no WhatsApp id yet"))
}

impl App {
    /// The number to send to: the contact's WhatsApp id, else its phone number.
    pub(crate) async fn recipient(&self, s: &mut Scope<'_>, contact: ContactId) -> AppResult<String> {
        let t = s.tenant_id();
        let c = switchboard_storage::contacts::get(s, contact.as_uuid()).await?;
        if let Some(w) = &c.wa_id_sealed {
            let w: switchboard_core::WaId =
                self.keys.open_contact(s, contact, &Aad::new(t, "contacts", "wa_id", contact.as_uuid()), w).await?;
            return Ok(format!("+{}", w.as_str()));
        }
        if let Some(p) = &c.phone_sealed {
            let p: switchboard_core::E164 =
                self.keys.open_contact(s, contact, &Aad::new(t, "contacts", "phone", contact.as_uuid()), p).await?;
            return Ok(p.to_string());
        }
        Err(Invalid::new("conversation", "no_number", "the contact has no WhatsApp number").into())
    }

    /// Whether the conversation's number can send now, and a free-form message (not a
    /// template) fits in the customer-service window. Answers the conversation and its number.
    pub(crate) async fn sendable(
        &self,
        s: &mut Scope<'_>,
        conversation: ConversationId,
        template: bool,
        now: i64,
    ) -> AppResult<(ConversationRow, std::sync::Arc<super::channels::ChannelInfo>)> {
        let conv = conversations::get(s, conversation.as_uuid()).await?;
        let ch = self.channel_info_in(s, conv.channel_id.into()).await?;
        if ch.status != "active" {
            return Err(AppError::Conflict {
                field: None,
                message: format!("this number cannot send: it is {}", ch.status.replace('_', " ")),
            });
        }
        let window_open = conversations::last_inbound_at(s, conv.contact_id, conv.channel_id)
            .await?
            .is_some_and(|t| now < t + WINDOW_MS);
        if !template && !window_open {
            return Err(invalid(
                "type",
                "window_closed",
                "the 24-hour customer service window is closed: send an approved template",
            ));
        }
        Ok((conv, ch))
    }

    /// Queues a message for sending. Answers with the stored message (status `queued`).
    pub async fn send_message(
        &self,
        p: &Principal,
        conversation: ConversationId,
        compose: Compose,
    ) -> AppResult<MessageView> {
        self.send_composed(p, conversation, compose, None).await
    }

    /// [`App::send_message`], with the media row of a file uploaded for it (an attachment),
    /// written in the same transaction as the message.
    ///
    /// The checks and the sealing run on a read connection; the writes are group-committed
    /// with other sends ([`super::outbox`]). This answers once they are committed.
    pub(crate) async fn send_composed(
        &self,
        p: &Principal,
        conversation: ConversationId,
        compose: Compose,
        attached: Option<MediaRow>,
    ) -> AppResult<MessageView> {
        p.require(Permission::MessagesSend)?;
        let now = self.now().0;
        let (send, view) = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(p.tenant);
            self.prepare_composed(&mut s, p, conversation, compose, attached, now).await?
        };
        self.queue_prepared(p.tenant, send).await?;
        Ok(view)
    }

    /// Everything a composed send writes, and the view of its message: the checks (number
    /// active, window, template), the recipient, the Graph body, sealed.
    async fn prepare_composed(
        &self,
        s: &mut Scope<'_>,
        p: &Principal,
        conversation: ConversationId,
        compose: Compose,
        attached: Option<MediaRow>,
        now: i64,
    ) -> AppResult<(PreparedSend, MessageView)> {
        let is_template = matches!(compose, Compose::Template { .. });
        let (conv, ch) = self.sendable(s, conversation, is_template, now).await?;
        let contact = ContactId::from_uuid(conv.contact_id);
        let to = self.recipient(s, contact).await?;
        let (kind, text, details, outbound, reply_to) =
            self.build_outbound(s, &ch.waba_id, conversation, to, compose).await?;
        // Marketing templates are checked against consent again at the moment of sending.
        let marketing = details["template"]["category"].as_str().is_some_and(|c| c.eq_ignore_ascii_case("MARKETING"));
        let o = Outbound {
            kind,
            text,
            shown: None,
            details,
            message: outbound,
            reply_to,
            sender: p.user_id().map(|u| u.as_uuid()),
            marketing,
        };
        let mut send = self.prepare_outbound(s, &conv, o, now).await?;
        send.media = attached.map(|m| MediaRow { message_id: send.row.id, ..m }).into_iter().collect();
        let view = self.message_view(s, &send.row, &[], &send.media).await?;
        Ok((send, view))
    }

    /// Tells live inboxes about a message our side wrote (after its commit). A lost event only
    /// delays a refresh, so a failure to publish is not the caller's failure.
    pub(crate) async fn message_created(&self, tenant: switchboard_core::TenantId, row: &MessageRow) {
        let _ = self.bus.publish(&created_event(tenant, row)).await;
    }

    /// Writes a message our side wrote (an agent's note) in the caller's transaction.
    pub(crate) async fn store_message(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        m: StoredMessage<'_>,
        now: i64,
    ) -> AppResult<MessageRow> {
        let (row, doc) = self.prepare_message(s, conv, m, now).await?;
        messages::insert(s, &row).await?;
        search::insert_many(s, std::slice::from_ref(&doc)).await?;
        Ok(row)
    }

    /// A message our side wrote, ready to store: its content sealed under the contact's key,
    /// its words hashed for search.
    async fn prepare_message(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        m: StoredMessage<'_>,
        now: i64,
    ) -> AppResult<(MessageRow, SearchDoc)> {
        let tenant = s.tenant_id();
        let contact = ContactId::from_uuid(conv.contact_id);
        let id = MessageId::new().as_uuid();
        let sealed =
            self.keys.seal_contact(s, contact, &Aad::new(tenant, "messages", "content", id), m.content).await?;
        let row = MessageRow {
            tenant_id: tenant.as_uuid(),
            id,
            conversation_id: conv.id,
            contact_id: conv.contact_id,
            channel_id: conv.channel_id,
            direction: "outbound".into(),
            kind: m.kind.to_owned(),
            provider_message_id: None,
            content_sealed: Some(sealed),
            status: m.status.into(),
            error_code: None,
            error_title: None,
            error_details: None,
            reply_to_provider_id: m.reply_to,
            sender_user_id: m.sender,
            provider_ts: None,
            time_flagged: false,
            edited: false,
            deleted: false,
            sort_at: now,
            created_at: now,
            updated_at: now,
        };
        // What agents see is what they can find (a verification code is indexed masked).
        let doc = self.message_tokens(s, id, conv.contact_id, conv.id, m.text).await?;
        Ok((row, doc))
    }

    /// The outbox: stores the message (`queued`, content sealed under the contact's key),
    /// touches the conversation and enqueues its send, in the caller's transaction.
    pub(crate) async fn queue_outbound(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        o: Outbound,
        now: i64,
    ) -> AppResult<MessageRow> {
        let send = self.prepare_outbound(s, conv, o, now).await?;
        write_sends(s, &[&send]).await?;
        Ok(send.row)
    }

    /// What [`App::queue_outbound`] writes, computed without writing.
    async fn prepare_outbound(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        o: Outbound,
        now: i64,
    ) -> AppResult<PreparedSend> {
        o.message.validate()?;
        let tenant = s.tenant_id();
        let contact = ContactId::from_uuid(conv.contact_id);
        let mut body = o.message.to_json();
        if let Some(obj) = body.as_object_mut() {
            // Filled in at send time: the current number of the contact, and our message id.
            obj.remove("to");
            obj.remove("biz_opaque_callback_data");
        }
        let shown = o.shown.as_ref().or(o.text.as_ref());
        let stored = json!({"v": 1, "type": o.kind, "text": shown, "details": o.details, "reply_to": o.reply_to,
            "graph": body});
        let (row, doc) = self
            .prepare_message(
                s,
                conv,
                StoredMessage {
                    kind: &o.kind,
                    status: "queued",
                    content: &stored,
                    text: shown.map(String::as_str),
                    reply_to: o.reply_to.clone(),
                    sender: o.sender,
                },
                now,
            )
            .await?;
        let preview = content::preview(&o.kind, shown.map(String::as_str));
        let preview = self
            .keys
            .seal_contact(s, contact, &Aad::new(tenant, "conversations", "preview", conv.id), &preview)
            .await?;
        let mut payload = json!({"message_id": row.id});
        if o.marketing {
            payload["marketing"] = Value::Bool(true);
        }
        let job = NewJob {
            queue: super::SEND_QUEUE.into(),
            kind: super::SEND_QUEUE.into(),
            payload: payload.to_string(),
            run_at: now,
            max_attempts: 12,
            dedupe_key: Some(format!("send:{}", row.id)),
        };
        let touch = OutboundTouch { id: conv.id, at: now, preview };
        Ok(PreparedSend { row, doc, touch, job, media: Vec::new() })
    }

    /// Queues a text the system writes to a customer (a keyword confirmation, a verification
    /// code) in a conversation whose window is open. `shown` replaces the text in the inbox
    /// when the text itself must not be read there later.
    pub(crate) async fn queue_system_text(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        text: String,
        shown: Option<String>,
        now: i64,
    ) -> AppResult<MessageRow> {
        let content = Content::Text { body: text.clone(), preview_url: false };
        self.queue_system(s, conv, content, text, shown, json!({"system": true}), now).await
    }

    /// Queues a one-time code in an approved AUTHENTICATION template (one the window does not
    /// limit; see [`otp_ready`]). The inbox shows the template's text with the code masked.
    pub(crate) async fn queue_system_code(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        t: &TemplateRow,
        code: &str,
        now: i64,
    ) -> AppResult<MessageRow> {
        let (components, text, shown) = otp_components(t, code);
        let details =
            json!({"system": true, "template": {"name": t.name, "language": t.language, "category": t.category}});
        let content = Content::Template { name: t.name.clone(), language: t.language.clone(), components };
        self.queue_system(s, conv, content, text, Some(shown), details, now).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn queue_system(
        &self,
        s: &mut Scope<'_>,
        conv: &ConversationRow,
        content: Content,
        text: String,
        shown: Option<String>,
        details: Value,
        now: i64,
    ) -> AppResult<MessageRow> {
        let to = self.recipient(s, ContactId::from_uuid(conv.contact_id)).await?;
        let kind = content.type_name().to_owned();
        let message = OutboundMessage { to, reply_to: None, biz_opaque_callback_data: None, content };
        let o = Outbound {
            kind,
            text: Some(text),
            shown,
            details,
            message,
            reply_to: None,
            sender: None,
            marketing: false,
        };
        self.queue_outbound(s, conv, o, now).await
    }

    /// (kind, text shown in the inbox, details, the message for Meta, wamid replied to).
    async fn build_outbound(
        &self,
        s: &mut Scope<'_>,
        waba_id: &str,
        conversation: ConversationId,
        to: String,
        compose: Compose,
    ) -> AppResult<(String, Option<String>, Value, OutboundMessage, Option<String>)> {
        let msg = |content: Content, reply: Option<String>| OutboundMessage {
            to: to.clone(),
            reply_to: reply,
            biz_opaque_callback_data: None,
            content,
        };
        Ok(match compose {
            Compose::Text { text, preview_url, reply_to } => {
                let reply = match reply_to {
                    Some(r) => Some(wamid_in(s, conversation, r, "reply_to").await?),
                    None => None,
                };
                (
                    "text".into(),
                    Some(text.clone()),
                    json!({}),
                    msg(Content::Text { body: text, preview_url }, reply.clone()),
                    reply,
                )
            }
            Compose::Media { media, link, media_id, caption, filename, reply_to } => {
                let kind = media_kind(&media)?;
                let source = match (link, media_id) {
                    (Some(l), None) if l.starts_with("https://") => MediaSource::Link(l),
                    (None, Some(id)) if !id.trim().is_empty() => MediaSource::Id(id),
                    _ => return Err(invalid("link", "media_source", "give either an https link or a media_id")),
                };
                let reply = match reply_to {
                    Some(r) => Some(wamid_in(s, conversation, r, "reply_to").await?),
                    None => None,
                };
                let details = json!({"media": media, "filename": filename});
                (
                    media.clone(),
                    caption.clone(),
                    details,
                    msg(Content::Media { kind, source, caption, filename }, reply.clone()),
                    reply,
                )
            }
            Compose::Template {
                name,
                language,
                parameters,
                named_parameters,
                header_parameters,
                header_media,
                button_parameters,
            } => {
                let all = templates::by_name(s, waba_id, &name).await?;
                let t = all
                    .into_iter()
                    .find(|t| switchboard_channels::whatsapp::webhook::same_language(&t.language, &language))
                    .ok_or_else(|| {
                        invalid(
                            "name",
                            "unknown_template",
                            "no such template in this language: synchronise templates or create it",
                        )
                    })?;
                if t.status != "APPROVED" {
                    return Err(invalid(
                        "name",
                        "template_not_approved",
                        &format!("the template is {}, not APPROVED", t.status),
                    ));
                }
                let args = TemplateArgs {
                    parameters,
                    named: named_parameters,
                    header: header_parameters,
                    header_media,
                    buttons: button_parameters,
                };
                let comps: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
                let (components, rendered) = send_components(&comps, &t.parameter_format, &args)?;
                let details = json!({"template": {"name": t.name, "language": t.language, "category": t.category}});
                (
                    "template".into(),
                    Some(rendered),
                    details,
                    msg(Content::Template { name: t.name, language: t.language, components }, None),
                    None,
                )
            }
            Compose::Buttons { body, header, footer, buttons, reply_to } => {
                let reply = match reply_to {
                    Some(r) => Some(wamid_in(s, conversation, r, "reply_to").await?),
                    None => None,
                };
                let details = json!({"buttons": buttons.iter().map(|b| json!({"id": b.id, "title": b.title})).collect::<Vec<_>>()});
                let buttons = buttons.into_iter().map(|b| ReplyButton { id: b.id, title: b.title }).collect();
                (
                    "interactive".into(),
                    Some(body.clone()),
                    details,
                    msg(Content::InteractiveButtons { body, header, footer, buttons }, reply.clone()),
                    reply,
                )
            }
            Compose::List { body, button, header, footer, sections } => {
                let details = json!({"list": {"button": button, "sections": sections.iter().map(|s| json!({"title": s.title, "rows": s.rows.iter().map(|r| json!({"id": r.id, "title": r.title, "description": r.description})).collect::<Vec<_>>()})).collect::<Vec<_>>()}});
                let sections = sections
                    .into_iter()
                    .map(|s| ListSection {
                        title: s.title,
                        rows: s
                            .rows
                            .into_iter()
                            .map(|r| ListRow { id: r.id, title: r.title, description: r.description })
                            .collect(),
                    })
                    .collect();
                (
                    "interactive".into(),
                    Some(body.clone()),
                    details,
                    msg(Content::InteractiveList { body, button, header, footer, sections }, None),
                    None,
                )
            }
            Compose::Reaction { message_id, emoji } => {
                let target = wamid_in(s, conversation, message_id, "message_id").await?;
                let details = json!({"reaction": {"to": target, "emoji": emoji}});
                (
                    "reaction".into(),
                    Some(emoji.clone()),
                    details,
                    msg(Content::Reaction { message_id: target, emoji }, None),
                    None,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str, format: &str) -> TemplateRow {
        TemplateRow {
            tenant_id: Uuid::nil(),
            id: Uuid::nil(),
            waba_id: "1".into(),
            provider_template_id: None,
            name: "t".into(),
            language: "tr".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            parameter_format: format.into(),
            components: json!([{"type": "BODY", "text": body}]).to_string(),
            quality: None,
            rejected_reason: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_code_fills_the_authentication_body_and_its_copy_code_button() {
        let mut t = template("{{1}} is your verification code.", "positional");
        assert!(!otp_ready(&t), "a UTILITY template does not carry codes");
        t.category = "AUTHENTICATION".into();
        t.components = json!([{"type": "BODY", "text": "{{1}} is your verification code."},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Copy code", "url": "https://www.whatsapp.com/otp/code/?code=otp{{1}}"}]}])
        .to_string();
        assert!(otp_ready(&t));
        let (c, text, shown) = otp_components(&t, "123456");
        assert_eq!(
            (text.as_str(), shown.as_str()),
            ("123456 is your verification code.", "•••••• is your verification code.")
        );
        assert_eq!(c[0]["parameters"][0]["text"], "123456");
        assert_eq!((c[1]["sub_type"].as_str(), c[1]["index"].as_str()), (Some("url"), Some("0")));
        assert_eq!(c[1]["parameters"][0]["text"], "123456");
        t.status = "PENDING".into();
        assert!(!otp_ready(&t));
        let two = template("{{1}} and {{2}}", "positional");
        assert!(!otp_ready(&TemplateRow { category: "AUTHENTICATION".into(), ..two }));
    }

    fn sent(t: &TemplateRow, parameters: &[&str], named: &[(&str, &str)]) -> AppResult<(Vec<Value>, String)> {
        let comps: Value = serde_json::from_str(&t.components).unwrap();
        let args = TemplateArgs {
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
            named: named.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..TemplateArgs::default()
        };
        send_components(&comps, &t.parameter_format, &args)
    }

    #[test]
    fn positional_parameters_must_match() {
        let t = template("Merhaba {{1}}, randevunuz {{2}}.", "positional");
        let (c, text) = sent(&t, &["Ayşe", "yarın"], &[]).unwrap();
        assert_eq!(text, "Merhaba Ayşe, randevunuz yarın.");
        assert_eq!(c[0]["parameters"][1]["text"], "yarın");
        assert!(sent(&t, &["Ayşe"], &[]).is_err());
        assert!(sent(&t, &["Ayşe", " "], &[]).is_err());
    }

    #[test]
    fn named_parameters_must_match() {
        let t = template("Hi {{first_name}}, order {{order}}", "named");
        let (c, text) = sent(&t, &[], &[("first_name", "Ana"), ("order", "42")]).unwrap();
        assert_eq!(text, "Hi Ana, order 42");
        assert_eq!(c[0]["parameters"][0]["parameter_name"], "first_name");
        assert!(sent(&t, &[], &[("first_name", "Ana")]).is_err());
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(placeholders("a {{1}} b {{3}} {{2}}"), (3, vec![]));
        assert_eq!(placeholders("{{ name }} {{x}} {{name}}"), (0, vec!["name".to_owned(), "x".to_owned()]));
        assert_eq!(placeholders("none"), (0, vec![]));
    }
}
