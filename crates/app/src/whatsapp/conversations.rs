//! The inbox: conversations with their contact, a conversation's messages, and the agent's
//! actions on a conversation. Reading messages is reading personal data: it is audited.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use switchboard_core::{ChannelId, ContactId, ConversationId, E164, Invalid, Millis, Permission};
use switchboard_privacy::Aad;
use switchboard_storage::bus::Event;
use switchboard_storage::conversations::{self, Assignee, ConversationRow, ListFilter};
use switchboard_storage::jobs::{self, NewJob};
use switchboard_storage::media::{self, MediaRow};
use switchboard_storage::messages::{self, MessageRow};
use switchboard_storage::{Scope, contacts, teams, users};
use uuid::Uuid;

use super::compose::{StoredMessage, WINDOW_MS};
use super::content;
use crate::audit::Audit;
use crate::auth::Principal;
use crate::inbox::{ActivityTarget, record_activity};
use crate::page::{self, Cursor, Page};
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactBrief {
    #[schema(value_type = String, format = Uuid)]
    pub id: ContactId,
    pub name: Option<String>,
    /// Masked unless the caller may see personal data in full.
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ConversationId,
    /// open, pending, snoozed or resolved
    pub status: String,
    pub channel_id: String,
    pub contact: ContactBrief,
    pub assignee_id: Option<String>,
    /// The team it is assigned to.
    pub team_id: Option<String>,
    pub labels: Vec<String>,
    pub unread_count: i32,
    pub last_message_at: String,
    /// The kind and first characters of the latest message.
    #[schema(value_type = Option<Object>)]
    pub preview: Option<Value>,
    /// Whether free-form messages may be sent (the customer wrote in the last 24 hours).
    pub window_open: bool,
    pub window_expires_at: Option<String>,
    pub snoozed_until: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub details: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub id: String,
    pub kind: String,
    pub mime_type: Option<String>,
    /// pending, stored or unavailable ("media unavailable" in the inbox)
    pub state: String,
    pub size_bytes: Option<i64>,
    /// Where to download it (authenticated).
    pub url: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReactionView {
    /// contact or business
    pub by: String,
    pub emoji: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    /// inbound, outbound, or note (an agent's private note: never sent to the customer)
    pub direction: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    /// received (inbound); queued, sending, accepted, sent, delivered, read, failed, unknown;
    /// recorded (a note)
    pub status: String,
    pub provider_message_id: Option<String>,
    pub created_at: String,
    /// The time Meta reports for an inbound message.
    pub provider_timestamp: Option<String>,
    /// The provider time was implausible (far future or past) and was not used for ordering.
    pub time_flagged: bool,
    pub error: Option<MessageError>,
    pub media: Vec<MediaView>,
    pub reactions: Vec<ReactionView>,
    /// The wamid of the message this one quotes.
    pub reply_to: Option<String>,
    pub forwarded: bool,
    pub edited: bool,
    pub deleted: bool,
    #[schema(value_type = Object)]
    pub details: Value,
    #[schema(value_type = Option<Object>)]
    pub referral: Option<Value>,
    pub sender_user_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ConversationQuery {
    /// open, pending, snoozed or resolved
    pub status: Option<String>,
    pub channel_id: Option<Uuid>,
    /// `me`, `none` (unassigned) or a user id
    pub assignee: Option<String>,
    pub label: Option<String>,
    pub contact_id: Option<Uuid>,
    /// Conversations assigned to this team.
    pub team_id: Option<Uuid>,
    /// Search: contact name prefixes, phone digits (4 or more) and whole words of messages; every
    /// word must match. Fewer than 2 letters (or 4 digits) → 422 `query_too_short`.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct MessageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn explicit<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Starting (or finding) the conversation with a contact on a number, so a business can write
/// first — an appointment reminder, an order update — with an approved template.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    #[schema(value_type = String, format = Uuid)]
    pub channel_id: ChannelId,
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: ContactId,
}

/// An agent's action on a conversation. Absent fields are kept; `assignee_id: null` unassigns.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationPatch {
    pub status: Option<String>,
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub assignee_id: Option<Option<Uuid>>,
    /// RFC 3339; required when snoozing.
    pub snoozed_until: Option<String>,
    pub labels: Option<Vec<String>>,
    /// A team id, or null to take it out of its team.
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub team_id: Option<Option<Uuid>>,
    /// `true` marks the conversation unread (it counts at least one unread message again);
    /// `false` marks it read.
    pub unread: Option<bool>,
}

/// An agent's private note on a conversation: shown to colleagues, never sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// 1 to 4096 characters.
    pub text: String,
}

/// The kind of the message rows that hold notes. Notes live in `messages` (direction
/// `outbound`, no provider id, status `received`, whose rank no status report can move) so they
/// are sealed, searched, exported, erased and purged exactly like the messages around them;
/// the API shows them with direction `note`.
pub const NOTE_KIND: &str = "note";
const NOTE_MAX: usize = 4096;
/// `conversation.read` is recorded at most once per user and conversation in this window.
const READ_AUDIT_WINDOW_MS: i64 = 10 * Millis::MINUTE;

const STATUSES: [&str; 4] = ["open", "pending", "snoozed", "resolved"];

fn mask_or(phone: E164, pii: bool) -> String {
    if pii { phone.to_string() } else { phone.masked() }
}

impl App {
    async fn conversation_view(
        &self,
        s: &mut Scope<'_>,
        c: &ConversationRow,
        pii: bool,
        now: i64,
    ) -> AppResult<ConversationView> {
        let t = s.tenant_id();
        let contact = ContactId::from_uuid(c.contact_id);
        let row = contacts::get(s, c.contact_id).await?;
        let name = match &row.name_sealed {
            Some(n) => {
                Some(self.keys.open_contact(s, contact, &Aad::new(t, "contacts", "name", c.contact_id), n).await?)
            }
            None => None,
        };
        let phone = match &row.phone_sealed {
            Some(p) => Some(mask_or(
                self.keys.open_contact(s, contact, &Aad::new(t, "contacts", "phone", c.contact_id), p).await?,
                pii,
            )),
            None => None,
        };
        let preview = match &c.preview_sealed {
            Some(p) => serde_json::from_str(
                &self.keys.open_contact(s, contact, &Aad::new(t, "conversations", "preview", c.id), p).await?,
            )
            .ok(),
            None => None,
        };
        let expires = c.last_inbound_at.map(|at| at + WINDOW_MS);
        Ok(ConversationView {
            id: ConversationId::from_uuid(c.id),
            status: c.status.clone(),
            channel_id: c.channel_id.to_string(),
            contact: ContactBrief { id: contact, name, phone },
            assignee_id: c.assignee_id.map(|a| a.to_string()),
            team_id: c.team_id.map(|t| t.to_string()),
            labels: conversations::labels(s, c.id).await?,
            unread_count: c.unread_count,
            last_message_at: Millis(c.last_message_at).to_rfc3339(),
            preview,
            window_open: expires.is_some_and(|e| now < e),
            window_expires_at: expires.map(|e| Millis(e).to_rfc3339()),
            snoozed_until: c.snoozed_until.map(|t| Millis(t).to_rfc3339()),
            created_at: Millis(c.created_at).to_rfc3339(),
        })
    }

    pub async fn list_conversations(&self, p: &Principal, q: ConversationQuery) -> AppResult<Page<ConversationView>> {
        p.require(Permission::ConversationsRead)?;
        if let Some(st) = &q.status
            && !STATUSES.contains(&st.as_str())
        {
            return Err(Invalid::new("status", "invalid_status", "open, pending, snoozed or resolved").into());
        }
        let assignee = match q.assignee.as_deref() {
            None | Some("") | Some("any") => Assignee::Any,
            Some("none") => Assignee::Nobody,
            Some("me") => Assignee::User(p.require_user()?.as_uuid()),
            Some(other) => Assignee::User(
                other.parse().map_err(|_| Invalid::new("assignee", "invalid_assignee", "me, none or a user id"))?,
            ),
        };
        let before = page::decode_at_id(q.cursor.as_deref())?;
        let limit = page::limit(q.limit);
        let now = self.now().0;
        let pii = p.can(Permission::ContactsViewPii);
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let terms = match q.q.as_deref().filter(|x| !x.trim().is_empty()) {
            Some(query) => self.query_tokens(&mut s, query).await?,
            None => Vec::new(),
        };
        let filter = ListFilter {
            status: q.status,
            channel: q.channel_id,
            assignee,
            label: q.label.filter(|l| !l.is_empty()),
            contact: q.contact_id,
            team: q.team_id,
            terms,
        };
        let rows = conversations::list(&mut s, &filter, before, limit + 1).await?;
        let page = Page::from_rows(rows, limit, |r| Cursor::AtId(r.last_message_at, r.id), |r| r);
        let mut items = Vec::with_capacity(page.items.len());
        for r in &page.items {
            items.push(self.conversation_view(&mut s, r, pii, now).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// The contact's active conversation on the number, or a new one (the same rule as an
    /// inbound message follows, so the two never make two conversations).
    pub async fn start_conversation(&self, p: &Principal, input: StartConversation) -> AppResult<ConversationView> {
        p.require(Permission::MessagesSend)?;
        let ch = self.channel_info(p.tenant, input.channel_id).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        contacts::get(&mut s, input.contact_id.as_uuid()).await?;
        let id = self.conversation_for(&mut s, &ch, input.contact_id, now).await?;
        let row = conversations::get(&mut s, id.as_uuid()).await?;
        let view = self.conversation_view(&mut s, &row, p.can(Permission::ContactsViewPii), now).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_conversation(&self, p: &Principal, id: ConversationId) -> AppResult<ConversationView> {
        p.require(Permission::ConversationsRead)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let row = conversations::get(&mut s, id.as_uuid()).await?;
        self.conversation_view(&mut s, &row, p.can(Permission::ContactsViewPii), self.now().0).await
    }

    pub(crate) async fn message_view(
        &self,
        s: &mut Scope<'_>,
        m: &MessageRow,
        reactions: &[(Uuid, String, String)],
        media: &[MediaRow],
    ) -> AppResult<MessageView> {
        let rendered = match &m.content_sealed {
            Some(c) => {
                let v: Value = self
                    .keys
                    .open_contact(
                        s,
                        ContactId::from_uuid(m.contact_id),
                        &Aad::new(s.tenant_id(), "messages", "content", m.id),
                        c,
                    )
                    .await?;
                content::render(&v)
            }
            None => content::Rendered { details: json!({}), ..content::Rendered::default() },
        };
        let note = m.kind == NOTE_KIND;
        Ok(MessageView {
            id: m.id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            direction: if note { NOTE_KIND.to_owned() } else { m.direction.clone() },
            kind: m.kind.clone(),
            text: rendered.text,
            status: if note { "recorded".to_owned() } else { m.status.clone() },
            provider_message_id: m.provider_message_id.clone(),
            created_at: Millis(m.created_at).to_rfc3339(),
            provider_timestamp: m.provider_ts.map(|t| Millis(t).to_rfc3339()),
            time_flagged: m.time_flagged,
            error: (m.error_code.is_some() || m.error_title.is_some()).then(|| MessageError {
                code: m.error_code,
                title: m.error_title.clone(),
                details: m.error_details.clone(),
            }),
            media: media
                .iter()
                .filter(|x| x.message_id == m.id)
                .map(|x| MediaView {
                    id: x.id.to_string(),
                    kind: x.kind.clone(),
                    mime_type: x.mime_type.clone(),
                    state: x.state.clone(),
                    size_bytes: x.size_bytes,
                    url: format!("/api/v1/media/{}", x.id),
                })
                .collect(),
            reactions: reactions
                .iter()
                .filter(|r| r.0 == m.id)
                .map(|r| ReactionView { by: r.1.clone(), emoji: r.2.clone() })
                .collect(),
            reply_to: rendered.reply_to.or_else(|| m.reply_to_provider_id.clone()),
            forwarded: rendered.forwarded,
            edited: m.edited,
            deleted: m.deleted,
            details: rendered.details,
            referral: rendered.referral,
            sender_user_id: m.sender_user_id.map(|u| u.to_string()),
        })
    }

    /// A page of a conversation's messages, newest first. Opening it clears the unread count
    /// and, when the tenant asks for it, marks the customer's messages read on WhatsApp.
    pub async fn list_messages(
        &self,
        p: &Principal,
        id: ConversationId,
        q: MessageQuery,
    ) -> AppResult<Page<MessageView>> {
        p.require(Permission::ConversationsRead)?;
        let before = page::decode_at_id(q.cursor.as_deref())?;
        let limit = page::limit(q.limit);
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let conv = conversations::get(&mut s, id.as_uuid()).await?;
        let rows = messages::page(&mut s, conv.id, before, limit + 1).await?;
        let page = Page::from_rows(rows, limit, |r| Cursor::AtId(r.sort_at, r.id), |r| r);
        let ids: Vec<Uuid> = page.items.iter().map(|m| m.id).collect();
        let reactions = messages::reactions(&mut s, &ids).await?;
        let media = media::of_messages(&mut s, &ids).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for m in &page.items {
            items.push(self.message_view(&mut s, m, &reactions, &media).await?);
        }
        if before.is_none() && conv.unread_count > 0 {
            conversations::mark_read(&mut s, conv.id).await?;
            let latest_inbound =
                page.items.iter().find(|m| m.direction == "inbound").and_then(|m| m.provider_message_id.clone());
            if let Some(wamid) = latest_inbound.filter(|_| p.user_id().is_some())
                && self.tenant_settings(&mut s).await?.send_read_receipts
            {
                jobs::enqueue(
                    &mut s,
                    &NewJob {
                        queue: super::QUEUE.into(),
                        kind: super::JOB_MARK_READ.into(),
                        payload: json!({"conversation_id": conv.id, "wamid": wamid}).to_string(),
                        run_at: now,
                        max_attempts: 3,
                        dedupe_key: Some(format!("read:{wamid}")),
                    },
                    now,
                )
                .await?;
            }
        }
        // An open conversation's latest page is fetched again on every live update (each
        // message, each status tick), so an entry per fetch would flood the chain with entries
        // that say nothing new: who read which conversation is known from the first read of a
        // window. Older pages are read on purpose, one by one, and each is recorded.
        let window = if before.is_none() { READ_AUDIT_WINDOW_MS } else { 0 };
        Audit::of(p)
            .record_throttled(
                self,
                &mut s,
                "conversation.read",
                ("conversation", id.to_string()),
                json!({"contact_id": conv.contact_id, "messages": ids.len()}),
                window,
            )
            .await?;
        tx.commit().await?;
        self.wa.jobs_wakeup.notify_waiters();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn update_conversation(
        &self,
        p: &Principal,
        id: ConversationId,
        patch: ConversationPatch,
    ) -> AppResult<ConversationView> {
        p.require(Permission::ConversationsManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let mut row = conversations::get(&mut s, id.as_uuid()).await?;
        let (status_before, assignee_before, team_before) = (row.status.clone(), row.assignee_id, row.team_id);
        let mut changed = Vec::new();
        if let Some(status) = &patch.status {
            if !STATUSES.contains(&status.as_str()) {
                return Err(Invalid::new("status", "invalid_status", "open, pending, snoozed or resolved").into());
            }
            if status != "snoozed" {
                row.snoozed_until = None;
            }
            row.status.clone_from(status);
            changed.push("status");
        }
        if let Some(until) = &patch.snoozed_until {
            let t: jiff::Timestamp =
                until.parse().map_err(|_| Invalid::new("snoozed_until", "invalid_time", "an RFC 3339 time"))?;
            row.snoozed_until = Some(t.as_millisecond());
            changed.push("snoozed_until");
        }
        if row.status == "snoozed" && row.snoozed_until.is_none_or(|u| u <= now) {
            return Err(Invalid::new("snoozed_until", "snooze_in_past", "snoozing needs a time in the future").into());
        }
        if let Some(assignee) = patch.assignee_id {
            if let Some(u) = assignee {
                let user = users::get(&mut s, u)
                    .await
                    .map_err(|_| Invalid::new("assignee_id", "unknown_user", "no such user"))?;
                if user.disabled {
                    return Err(Invalid::new("assignee_id", "user_disabled", "that user is disabled").into());
                }
            }
            row.assignee_id = assignee;
            changed.push("assignee_id");
        }
        if let Some(team) = patch.team_id {
            if let Some(t) = team {
                teams::get(&mut s, t).await.map_err(|_| Invalid::new("team_id", "unknown_team", "no such team"))?;
            }
            conversations::set_team(&mut s, row.id, team, now).await?;
            row.team_id = team;
            changed.push("team_id");
        }
        match patch.unread {
            Some(true) => conversations::mark_unread(&mut s, row.id).await?,
            Some(false) => conversations::mark_read(&mut s, row.id).await?,
            None => {}
        }
        if patch.unread.is_some() {
            changed.push("unread");
        }
        if let Some(labels) = &patch.labels {
            let clean = crate::contacts::clean_labels(labels)?;
            conversations::set_labels(&mut s, row.id, &clean).await?;
            changed.push("labels");
        }
        conversations::update(&mut s, row.id, &row.status, row.assignee_id, row.snoozed_until, now).await.map_err(
            |e| match AppError::from(e) {
                AppError::Conflict { .. } => AppError::Conflict {
                    field: Some("status".into()),
                    message: "the contact already has an open conversation on this number".into(),
                },
                other => other,
            },
        )?;
        // Activity lines for the changes an agent reads in the conversation.
        if row.status != status_before || row.status == "snoozed" && patch.snoozed_until.is_some() {
            let kind = match row.status.as_str() {
                "open" if status_before == "resolved" || status_before == "snoozed" => Some("reopened"),
                "resolved" => Some("resolved"),
                "snoozed" => Some("snoozed"),
                _ => None,
            };
            if let Some(kind) = kind {
                record_activity(&mut s, p, row.id, kind, ActivityTarget::Nobody, now).await?;
            }
        }
        if row.assignee_id != assignee_before {
            let kind = if row.assignee_id.is_some() { "assigned" } else { "unassigned" };
            record_activity(&mut s, p, row.id, kind, ActivityTarget::User(row.assignee_id), now).await?;
        }
        if row.team_id != team_before {
            let kind = if row.team_id.is_some() { "team_assigned" } else { "team_unassigned" };
            record_activity(&mut s, p, row.id, kind, ActivityTarget::Team(row.team_id), now).await?;
        }
        Audit::of(p)
            .record(
                self,
                &mut s,
                "conversation.updated",
                Some(("conversation", id.to_string())),
                json!({"fields": changed}),
            )
            .await?;
        let updated = conversations::get(&mut s, row.id).await?;
        let view = self.conversation_view(&mut s, &updated, p.can(Permission::ContactsViewPii), now).await?;
        tx.commit().await?;
        let _ = self
            .bus
            .publish(&Event {
                tenant_id: p.tenant.as_uuid(),
                topic: "conversation.updated".into(),
                subject: Some(row.id),
                related: row.assignee_id,
                at: now,
            })
            .await;
        Ok(view)
    }

    /// Adds an agent's private note to a conversation. It is stored with the messages but never
    /// sent, and leaves the conversation's order, preview and unread count alone.
    pub async fn add_note(&self, p: &Principal, id: ConversationId, input: &NoteInput) -> AppResult<MessageView> {
        p.require(Permission::ConversationsManage)?;
        let text = input.text.trim();
        if text.is_empty() || text.chars().count() > NOTE_MAX {
            return Err(Invalid::new("text", "invalid_note", "between 1 and 4096 characters").into());
        }
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let conv = conversations::get(&mut s, id.as_uuid()).await?;
        let content = json!({"v": 1, "type": NOTE_KIND, "text": text});
        let stored = StoredMessage {
            kind: NOTE_KIND,
            status: "received",
            content: &content,
            text: Some(text),
            reply_to: None,
            sender: p.user_id().map(|u| u.as_uuid()),
        };
        let row = self.store_message(&mut s, &conv, stored, now).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "conversation.note_added",
                Some(("conversation", id.to_string())),
                json!({"contact_id": conv.contact_id, "message_id": row.id}),
            )
            .await?;
        let view = self.message_view(&mut s, &row, &[], &[]).await?;
        tx.commit().await?;
        self.message_created(p.tenant, &row).await;
        Ok(view)
    }
}
