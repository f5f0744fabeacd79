//! The inbox: three panes — folders and filters, the conversation list, the open conversation
//! with its composer and the contact beside it. Everything comes from the application's inbox
//! functions, so masking (phones without `contacts:view_pii`), tenancy (another tenant's
//! conversation is not found) and auditing (reading messages) are theirs. Live updates arrive
//! over server-sent events (`/inbox/events`): the events name what changed, and the panes
//! fetch their own fragments again through the same permission-checked pages.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect};
use futures::Stream;
use serde::Deserialize;
use serde_json::Value;
use switchboard_app::AppError;
use switchboard_app::inbox::{ActivityView, CannedView};
use switchboard_app::teams::{AgentView, TeamRef};
use switchboard_app::whatsapp::attachments::Attachment;
use switchboard_app::whatsapp::compose::Compose;
use switchboard_app::whatsapp::conversations::{
    ConversationPatch, ConversationQuery, ConversationView, MessageQuery, MessageView, NOTE_KIND, NoteInput,
};
use switchboard_app::whatsapp::template_parts::{self, HeaderMedia, TemplateArgs, TemplatePreview, TemplateShape};
use switchboard_core::{ConversationId, Permission};
use switchboard_storage::bus::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer, percent_encode};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::multipart;
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::pages::contacts::{ContactForm, ContactItem};
use crate::ui::{PageSpec, Pages};

const LIST_SIZE: u32 = 50;
const THREAD_SIZE: u32 = 100;
/// A live stream ends after this long and the browser reconnects, so a session that ended or
/// lost its permission stops receiving events soon after.
pub(crate) const STREAM_LIFETIME: Duration = Duration::from_secs(300);

pub fn routes(p: Pages) -> Pages {
    use Permission as P;
    let read = Access::Perm(P::ConversationsRead);
    let list_api = "/api/v1/conversations";
    p.add(PageSpec::get("/inbox", read).mirrors(Method::GET, list_api), list)
        .add(PageSpec::get("/inbox/events", read).mirrors(Method::GET, list_api), events)
        .add(PageSpec::get("/inbox/{id}", read).mirrors(Method::GET, "/api/v1/conversations/{id}/messages"), show)
        .add(
            PageSpec::post("/inbox/{id}/messages", Access::Perm(P::MessagesSend))
                .mirrors(Method::POST, "/api/v1/conversations/{id}/messages"),
            send,
        )
        .add(
            PageSpec::get("/inbox/{id}/template-preview", Access::Perm(P::TemplatesRead))
                .mirrors(Method::GET, "/api/v1/templates"),
            template_preview,
        )
        .add(
            PageSpec::post("/inbox/{id}/template-file", Access::Perm(P::MessagesSend))
                .mirrors(Method::POST, "/api/v1/conversations/{id}/messages"),
            send_template_file,
        )
        .add(
            PageSpec::post("/inbox/{id}/attachments", Access::Perm(P::MessagesSend))
                .mirrors(Method::POST, "/api/v1/conversations/{id}/messages"),
            attach,
        )
        .add(
            PageSpec::post("/inbox/{id}/notes", Access::Perm(P::ConversationsManage))
                .mirrors(Method::POST, "/api/v1/conversations/{id}/notes"),
            note,
        )
        .add(
            PageSpec::post("/inbox/{id}/contact", Access::Perm(P::ContactsWrite))
                .mirrors(Method::PATCH, "/api/v1/contacts/{id}"),
            edit_contact,
        )
        .add(
            PageSpec::post("/inbox/{id}", Access::Perm(P::ConversationsManage))
                .mirrors(Method::PATCH, "/api/v1/conversations/{id}"),
            act,
        )
        .add(
            PageSpec::post("/inbox/bulk", Access::Perm(P::ConversationsManage))
                .mirrors(Method::PATCH, "/api/v1/conversations/{id}"),
            bulk,
        )
}

/// An id from the path; one that is not an id names no conversation.
fn conversation_id(raw: &str) -> Result<ConversationId, UiError> {
    raw.parse().map_err(|_| UiError(AppError::NotFound))
}

// --- Filters -----------------------------------------------------------------------------

/// The left pane's choices, kept in the query string.
#[derive(Deserialize, Default, Clone)]
struct Filters {
    /// `mine`, `unassigned` or empty (all).
    #[serde(default)]
    folder: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    label: String,
    /// A team id: the team's folder.
    #[serde(default)]
    team: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: Option<String>,
}

/// An id from a form or query field; one that is not an id is a mistake of that field.
fn field_id(field: &str, raw: &str) -> Result<Option<uuid::Uuid>, AppError> {
    match filled(raw) {
        Some(v) => Ok(Some(
            v.parse().map_err(|_| AppError::from(switchboard_core::Invalid::new(field, "invalid_id", "not an id")))?,
        )),
        None => Ok(None),
    }
}

impl Filters {
    /// The query string of these filters with one of them changed (`None` keeps all).
    fn with(&self, change: Option<(&str, &str)>) -> String {
        let mut pairs = [
            ("folder", self.folder.as_str()),
            ("status", self.status.as_str()),
            ("channel", self.channel.as_str()),
            ("label", self.label.as_str()),
            ("team", self.team.as_str()),
            ("q", self.q.as_str()),
        ];
        if let Some((k, v)) = change
            && let Some(p) = pairs.iter_mut().find(|p| p.0 == k)
        {
            p.1 = v;
        }
        let query: Vec<String> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
        if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) }
    }

    fn query(&self) -> Result<ConversationQuery, AppError> {
        Ok(ConversationQuery {
            status: filled(&self.status),
            channel_id: field_id("channel_id", &self.channel)?,
            team_id: field_id("team_id", &self.team)?,
            assignee: match self.folder.as_str() {
                "mine" => Some("me".into()),
                "unassigned" => Some("none".into()),
                _ => None,
            },
            label: filled(&self.label),
            q: filled(&self.q),
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
            limit: Some(LIST_SIZE),
            ..ConversationQuery::default()
        })
    }
}

/// A link of the left pane.
pub struct FilterLink {
    pub label: String,
    pub href: String,
    pub active: bool,
}

struct FilterPane {
    folders: Vec<FilterLink>,
    statuses: Vec<FilterLink>,
    channels: Vec<FilterLink>,
    /// A folder per team (empty when there are none).
    teams: Vec<FilterLink>,
}

async fn filter_pane(s: &AppState, v: &Viewer, f: &Filters) -> PageResult<FilterPane> {
    let link = |label: String, field: &str, value: &str, current: &str| FilterLink {
        label,
        href: format!("/inbox{}", f.with(Some((field, value)))),
        active: current == value,
    };
    let folders = [
        ("", key("inbox.folder_all")),
        ("mine", key("inbox.folder_mine")),
        ("unassigned", key("inbox.folder_unassigned")),
    ]
    .into_iter()
    .map(|(value, k)| link(v.t.get(k).to_owned(), "folder", value, &f.folder))
    .collect();
    let statuses = [
        ("", key("inbox.status_any")),
        ("open", key("inbox.status.open")),
        ("pending", key("inbox.status.pending")),
        ("snoozed", key("inbox.status.snoozed")),
        ("resolved", key("inbox.status.resolved")),
    ]
    .into_iter()
    .map(|(value, k)| link(v.t.get(k).to_owned(), "status", value, &f.status))
    .collect();
    let mut channels = Vec::new();
    if v.can(Permission::ChannelsRead) {
        let all = s.app.list_channels(&v.principal).await?;
        if all.len() > 1 || !f.channel.is_empty() {
            channels.push(link(v.t.get("inbox.channel_any").to_owned(), "channel", "", &f.channel));
            for c in all {
                let label = if c.name.is_empty() { c.display_phone_number.clone() } else { c.name.clone() };
                channels.push(link(label, "channel", &c.id.to_string(), &f.channel));
            }
        }
    }
    let all = s.app.team_names(&v.principal).await?;
    let mut teams = Vec::new();
    if !all.is_empty() {
        teams.push(link(v.t.get("inbox.team_any").to_owned(), "team", "", &f.team));
        teams.extend(all.into_iter().map(|t| link(t.name, "team", &t.id, &f.team)));
    }
    Ok(FilterPane { folders, statuses, channels, teams })
}

// --- The conversation list ---------------------------------------------------------------

pub struct ConvItem {
    pub id: String,
    pub name: Option<String>,
    pub status: String,
    pub preview: String,
    pub unread: i32,
    pub time: String,
    /// How long the customer-service window stays open, when it is.
    pub window_left: Option<String>,
    pub labels: Vec<String>,
    pub mine: bool,
    pub assigned: bool,
}

/// The translation key of a conversation status.
#[must_use]
pub fn status_key(status: &str) -> &'static str {
    match status {
        "open" => key("inbox.status.open"),
        "pending" => key("inbox.status.pending"),
        "snoozed" => key("inbox.status.snoozed"),
        _ => key("inbox.status.resolved"),
    }
}

/// `3h 12m`, `12m`, `< 1m`.
fn duration_text(t: Tr, ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (h, m) = ((minutes / 60).to_string(), (minutes % 60).to_string());
    match (minutes / 60, minutes % 60) {
        (0, 0) => t.get("inbox.less_than_a_minute").to_owned(),
        (0, _) => t.fmt("inbox.minutes", &[("m", &m)]),
        _ => t.fmt("inbox.hours_minutes", &[("h", &h), ("m", &m)]),
    }
}

fn millis(rfc3339: &str) -> Option<i64> {
    rfc3339.parse::<jiff::Timestamp>().ok().map(jiff::Timestamp::as_millisecond)
}

fn preview_text(t: Tr, preview: Option<&Value>) -> String {
    let Some(p) = preview else { return String::new() };
    match p.get("text").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(text) => text.to_owned(),
        None => kind_label(t, p.get("kind").and_then(Value::as_str).unwrap_or_default()),
    }
}

/// The name of a message kind (`[image]` and the like), for previews of messages without text.
fn kind_label(t: Tr, kind: &str) -> String {
    let k = format!("inbox.kind.{kind}");
    t.lookup(&k).map_or_else(|| t.get("inbox.kind.other").to_owned(), str::to_owned)
}

impl ConvItem {
    fn new(t: Tr, c: &ConversationView, me: Option<String>, now: i64) -> Self {
        let window_left = c
            .window_open
            .then(|| c.window_expires_at.as_deref().and_then(millis))
            .flatten()
            .map(|e| duration_text(t, e - now));
        Self {
            id: c.id.to_string(),
            name: c.contact.name.clone(),
            status: c.status.clone(),
            preview: preview_text(t, c.preview.as_ref()),
            unread: c.unread_count,
            time: short_time(&c.last_message_at),
            window_left,
            labels: c.labels.clone(),
            mine: me.is_some() && c.assignee_id == me,
            assigned: c.assignee_id.is_some(),
        }
    }
}

pub struct ListPane {
    pub rows: Vec<ConvItem>,
    pub next: Option<String>,
    pub notice: Option<Notice>,
    /// The conversation shown beside the list.
    pub open: Option<String>,
    /// The list's own address (live updates fetch it again).
    pub refresh: String,
    /// Rows can be ticked for a bulk action.
    pub can_manage: bool,
    /// The teams a bulk action can assign to (with `conversations:manage`).
    pub teams: Vec<TeamRef>,
}

fn me(v: &Viewer) -> Option<String> {
    v.principal.user_id().map(|u| u.to_string())
}

async fn list_pane(s: &AppState, v: &Viewer, f: &Filters, open: Option<String>) -> PageResult<(StatusCode, ListPane)> {
    let base = f.with(None);
    let refresh = match &open {
        Some(id) => format!("/inbox{}{}open={id}", base, if base.is_empty() { "?" } else { "&" }),
        None => format!("/inbox{base}"),
    };
    let now = s.app.now().0;
    let can_manage = v.can(Permission::ConversationsManage);
    let page = match f.query() {
        Ok(q) => s.app.list_conversations(&v.principal, q).await,
        Err(e) => Err(e),
    };
    match page {
        Ok(page) => {
            let next = page.next_cursor.map(|c| {
                format!("/inbox{}{}cursor={}", base, if base.is_empty() { "?" } else { "&" }, percent_encode(&c))
            });
            let me = me(v);
            let rows: Vec<ConvItem> = page.items.iter().map(|c| ConvItem::new(v.t, c, me.clone(), now)).collect();
            let teams = if can_manage && !rows.is_empty() { s.app.team_names(&v.principal).await? } else { Vec::new() };
            Ok((StatusCode::OK, ListPane { rows, next, notice: None, open, refresh, can_manage, teams }))
        }
        Err(e) => Ok((
            status_of(&e),
            ListPane {
                rows: Vec::new(),
                next: None,
                notice: Some(inline(v.t, e)?),
                open,
                refresh,
                can_manage,
                teams: Vec::new(),
            },
        )),
    }
}

// --- The open conversation ---------------------------------------------------------------

pub struct MediaItem {
    pub url: String,
    pub kind: String,
    pub mime: String,
    pub available: bool,
}

pub struct MsgItem {
    pub id: String,
    pub outbound: bool,
    /// An agent's private note (never sent).
    pub note: bool,
    pub text: Option<String>,
    /// The delivery state (`sent`, `delivered`, `read`, `failed`, …; `received` inbound).
    pub status: String,
    pub status_label: String,
    /// Meta's reason of a failed send.
    pub error: Option<String>,
    pub time: String,
    pub media: Vec<MediaItem>,
    pub reactions: Vec<String>,
    /// The text of the quoted message (or a placeholder when it is not on this page).
    pub quote: Option<String>,
    /// Name, address and a map link of a location.
    pub location: Option<(String, String)>,
    /// Names of shared contact cards.
    pub cards: Vec<String>,
    pub kind_label: String,
    pub forwarded: bool,
    pub edited: bool,
    pub deleted: bool,
}

fn status_label(t: Tr, status: &str) -> String {
    t.lookup(&format!("inbox.tick.{status}")).map_or_else(|| status.to_owned(), str::to_owned)
}

fn location(details: &Value) -> Option<(String, String)> {
    let lat = details.get("latitude")?.as_f64()?;
    let lon = details.get("longitude")?.as_f64()?;
    let name = [details.get("name"), details.get("address")]
        .iter()
        .filter_map(|v| v.and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" · ");
    let name = if name.is_empty() { format!("{lat:.5}, {lon:.5}") } else { name };
    Some((name, format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}")))
}

fn cards(details: &Value) -> Vec<String> {
    details
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(|n| n.get("formatted_name")).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

impl MsgItem {
    fn new(t: Tr, m: &MessageView, all: &[MessageView]) -> Self {
        let quote = m.reply_to.as_ref().map(|wamid| {
            all.iter()
                .find(|x| x.provider_message_id.as_deref() == Some(wamid))
                .and_then(|x| x.text.clone())
                .unwrap_or_else(|| t.get("inbox.quoted_earlier").to_owned())
        });
        let error = m.error.as_ref().map(|e| {
            let parts: Vec<String> =
                [e.code.map(|c| c.to_string()), e.title.clone(), e.details.clone()].into_iter().flatten().collect();
            parts.join(" · ")
        });
        Self {
            id: m.id.clone(),
            outbound: m.direction == "outbound",
            note: m.direction == NOTE_KIND,
            text: m.text.clone(),
            status_label: status_label(t, &m.status),
            status: m.status.clone(),
            error,
            time: short_time(&m.created_at),
            media: m
                .media
                .iter()
                .map(|x| MediaItem {
                    url: x.url.clone(),
                    kind: x.kind.clone(),
                    mime: x.mime_type.clone().unwrap_or_default(),
                    available: x.state == "stored",
                })
                .collect(),
            reactions: m.reactions.iter().map(|r| r.emoji.clone()).filter(|e| !e.is_empty()).collect(),
            quote,
            location: location(&m.details),
            cards: cards(&m.details),
            kind_label: kind_label(t, &m.kind),
            forwarded: m.forwarded,
            edited: m.edited,
            deleted: m.deleted,
        }
    }
}

/// An approved template offered when the window is closed: one input per value it takes
/// (header, body, URL buttons) and its preview, fetched again as the inputs change.
pub struct TemplateChoice {
    pub name: String,
    pub language: String,
    pub shape: TemplateShape,
    pub preview: TemplatePreview,
}

fn template_choice(t: &switchboard_app::whatsapp::templates::TemplateView) -> TemplateChoice {
    TemplateChoice {
        name: t.name.clone(),
        language: t.language.clone(),
        shape: template_parts::shape(&t.components, &t.parameter_format),
        preview: template_parts::preview(&t.components, &t.parameter_format, &TemplateArgs::default()),
    }
}

/// What a file input offers for a media header of this kind.
#[must_use]
pub fn accept_for(kind: &str) -> &'static str {
    match kind {
        "image" => "image/jpeg,image/png",
        "video" => "video/mp4,video/3gpp",
        _ => "text/plain,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx",
    }
}

/// The translation key of a media kind's name (`inbox.kind.image`, …).
#[must_use]
pub fn media_key(kind: &str) -> &'static str {
    match kind {
        "image" => key("inbox.kind.image"),
        "video" => key("inbox.kind.video"),
        _ => key("inbox.kind.document"),
    }
}

/// A line of the conversation: a message, or an activity line (assigned, resolved, …).
pub enum Line {
    Msg(Box<MsgItem>),
    Activity { text: String, time: String },
}

pub struct Thread {
    pub lines: Vec<Line>,
    pub older: Option<String>,
}

pub struct Composer {
    pub window_open: bool,
    pub window_left: Option<String>,
    /// Milliseconds the window stays open by the server's clock, for the countdown script.
    pub window_left_ms: i64,
    pub templates: Vec<TemplateChoice>,
    /// Offered with "/" at the start of a reply.
    pub canned: Vec<CannedView>,
    pub can_send: bool,
    /// Private notes may be added (the Reply / Note toggle).
    pub can_note: bool,
    /// The note form is the one shown (a refused note comes back to it).
    pub note_mode: bool,
    /// The attachment form is open (a refused attachment comes back to it).
    pub attach_open: bool,
}

pub struct ContactPanel {
    pub id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub pii: bool,
    pub labels: Vec<String>,
    pub attributes: Vec<(String, String)>,
    /// The attribute rows of the edit form, with `contacts:write`.
    pub edit_rows: Option<Vec<(String, String)>>,
    pub past: Vec<ConvItem>,
}

pub struct Open {
    pub c: ConvItem,
    /// The conversation's assignee and team ids (empty for none), for the assign form.
    pub assignee_id: String,
    pub team_id: String,
    /// The name of the conversation's team.
    pub team: Option<String>,
    /// Who and which team it can be assigned to (with `conversations:manage`).
    pub agents: Vec<AgentView>,
    pub teams: Vec<TeamRef>,
    pub snoozed_until: Option<String>,
    pub thread: Thread,
    pub composer: Composer,
    pub contact: ContactPanel,
    pub can_manage: bool,
    pub notice: Option<Notice>,
    /// What the composer had when a send was refused.
    pub draft: String,
    /// The attachment's caption when its send was refused.
    pub caption: String,
}

#[derive(Deserialize, Default)]
struct ThreadQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Who did something, as the viewer reads it.
fn who(t: Tr, v: &Viewer, user: Option<&str>) -> String {
    match user {
        Some(u) if me(v).as_deref() == Some(u) => t.get("inbox.activity.you").to_owned(),
        Some(_) => t.get("inbox.activity.colleague").to_owned(),
        None => t.get("inbox.activity.integration").to_owned(),
    }
}

fn activity_text(t: Tr, v: &Viewer, a: &ActivityView, teams: &[TeamRef]) -> String {
    let by = who(t, v, a.actor_user_id.as_deref());
    let team = || {
        teams
            .iter()
            .find(|x| Some(&x.id) == a.target_team_id.as_ref())
            .map_or_else(|| t.get("inbox.activity.a_team").to_owned(), |x| x.name.clone())
    };
    match a.kind.as_str() {
        "team_assigned" => t.fmt("inbox.activity.team_assigned", &[("team", &team()), ("by", &by)]),
        "team_unassigned" => t.fmt("inbox.activity.team_unassigned", &[("by", &by)]),
        "team_deleted" => {
            let name = a.target_team_name.clone().unwrap_or_else(|| t.get("inbox.activity.a_team").to_owned());
            t.fmt("inbox.activity.team_deleted", &[("team", &name), ("by", &by)])
        }
        "assigned" => {
            t.fmt("inbox.activity.assigned", &[("who", &who(t, v, a.target_user_id.as_deref())), ("by", &by)])
        }
        "unassigned" => t.fmt("inbox.activity.unassigned", &[("by", &by)]),
        "resolved" => t.fmt("inbox.activity.resolved", &[("by", &by)]),
        "reopened" => t.fmt("inbox.activity.reopened", &[("by", &by)]),
        _ => t.fmt("inbox.activity.snoozed", &[("by", &by)]),
    }
}

async fn thread(s: &AppState, v: &Viewer, id: ConversationId, cursor: Option<String>) -> PageResult<Thread> {
    let latest_page = cursor.as_deref().is_none_or(str::is_empty);
    let q = MessageQuery { cursor: cursor.filter(|c| !c.is_empty()), limit: Some(THREAD_SIZE) };
    let page = s.app.list_messages(&v.principal, id, q).await?;
    let time = |m: &MessageView| millis(&m.created_at).unwrap_or_default();
    // Activity between the oldest message shown (or the start, on the last page) and the
    // newest (or now, on the first page).
    let from = if page.next_cursor.is_some() { page.items.last().map_or(0, time) } else { 0 };
    let to = if latest_page { i64::MAX } else { page.items.first().map_or(i64::MAX, time) };
    let activity = s.app.conversation_activity(&v.principal, id, from, to).await?;
    let teams = if activity.iter().any(|a| a.target_team_id.is_some()) {
        s.app.team_names(&v.principal).await?
    } else {
        Vec::new()
    };
    let mut lines: Vec<(i64, Line)> = page
        .items
        .iter()
        .map(|m| (time(m), Line::Msg(Box::new(MsgItem::new(v.t, m, &page.items)))))
        .chain(activity.iter().map(|a| {
            let line = Line::Activity { text: activity_text(v.t, v, a, &teams), time: short_time(&a.created_at) };
            (millis(&a.created_at).unwrap_or_default(), line)
        }))
        .collect();
    // Messages arrive newest first; a stable sort keeps equal times in reading order.
    lines.reverse();
    lines.sort_by_key(|(at, _)| *at);
    Ok(Thread {
        lines: lines.into_iter().map(|(_, l)| l).collect(),
        older: page.next_cursor.map(|c| format!("/inbox/{id}?cursor={}", percent_encode(&c))),
    })
}

async fn open(s: &AppState, v: &Viewer, id: ConversationId, cursor: Option<String>) -> PageResult<Open> {
    let conv = s.app.get_conversation(&v.principal, id).await?;
    let thread = thread(s, v, id, cursor).await?;
    let now = s.app.now().0;
    let c = ConvItem::new(v.t, &conv, me(v), now);
    let templates = if !conv.window_open && v.can(Permission::TemplatesRead) {
        let channel = conv.channel_id.parse().map_err(|_| UiError(AppError::NotFound))?;
        s.app
            .list_templates(&v.principal, Some(channel))
            .await?
            .iter()
            .filter(|t| t.status == "APPROVED")
            .map(template_choice)
            .collect()
    } else {
        Vec::new()
    };
    let canned = if conv.window_open && v.can(Permission::MessagesSend) {
        s.app.list_canned(&v.principal).await?
    } else {
        Vec::new()
    };
    let contact: Option<ContactItem> = if v.can(Permission::ContactsRead) {
        Some(s.app.get_contact(&v.principal, conv.contact.id).await?.into())
    } else {
        None
    };
    // The edit form holds the name, labels and attributes; phone and e-mail stay on the
    // contact page (an empty field there clears them, which a masked viewer must not do).
    let edit_rows = match &contact {
        Some(c) if v.can(Permission::ContactsWrite) => Some(ContactForm::from_item(c, false).rows()),
        _ => None,
    };
    let past = s
        .app
        .list_conversations(
            &v.principal,
            ConversationQuery {
                contact_id: Some(conv.contact.id.as_uuid()),
                limit: Some(10),
                ..ConversationQuery::default()
            },
        )
        .await?
        .items
        .iter()
        .filter(|x| x.id != conv.id)
        .map(|x| ConvItem::new(v.t, x, me(v), now))
        .collect();
    let can_manage = v.can(Permission::ConversationsManage);
    let agents = if can_manage { s.app.list_agents(&v.principal).await? } else { Vec::new() };
    let teams = s.app.team_names(&v.principal).await?;
    Ok(Open {
        assignee_id: conv.assignee_id.clone().unwrap_or_default(),
        team_id: conv.team_id.clone().unwrap_or_default(),
        team: teams.iter().find(|x| Some(&x.id) == conv.team_id.as_ref()).map(|x| x.name.clone()),
        agents,
        teams,
        composer: Composer {
            window_open: conv.window_open,
            window_left: c.window_left.clone(),
            window_left_ms: conv.window_expires_at.as_deref().and_then(millis).map_or(0, |e| (e - now).max(0)),
            templates,
            canned,
            can_send: v.can(Permission::MessagesSend),
            can_note: can_manage,
            note_mode: false,
            attach_open: false,
        },
        contact: ContactPanel {
            id: conv.contact.id.to_string(),
            name: conv.contact.name.clone(),
            phone: conv.contact.phone.clone(),
            pii: v.can(Permission::ContactsViewPii),
            labels: contact.as_ref().map(|c| c.labels.clone()).unwrap_or_default(),
            attributes: contact.map(|c| c.attributes).unwrap_or_default(),
            edit_rows,
            past,
        },
        snoozed_until: conv.snoozed_until.as_deref().map(short_time),
        c,
        thread,
        can_manage,
        notice: None,
        draft: String::new(),
        caption: String::new(),
    })
}

// --- Pages -------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "inbox/index.html")]
struct InboxPage {
    t: Tr,
    layout: Layout,
    f: Filters,
    pane: FilterPane,
    list: ListPane,
    open: Option<Open>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/index.html", block = "list")]
struct ListFragment {
    t: Tr,
    list: ListPane,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/_thread.html")]
struct ThreadFragment {
    t: Tr,
    thread: Thread,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(flatten)]
    f: Filters,
    /// The conversation open beside the list (live refreshes keep it marked).
    #[serde(default)]
    open: Option<String>,
}

async fn page(s: &AppState, v: &Viewer, f: Filters, open: Option<Open>, status: StatusCode) -> PageResult {
    let (list_status, list) = list_pane(s, v, &f, open.as_ref().map(|o| o.c.id.clone())).await?;
    let page = InboxPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Inbox),
        pane: filter_pane(s, v, &f).await?,
        f,
        list,
        open,
    };
    Ok((if status == StatusCode::OK { list_status } else { status }, page).into_response())
}

async fn list(State(s): State<AppState>, v: Viewer, hx: Hx, Query(q): Query<ListQuery>) -> PageResult {
    if hx.fragment() {
        let open = q.open.filter(|o| !o.is_empty());
        let (status, list) = list_pane(&s, &v, &q.f, open).await?;
        return Ok((status, ListFragment { t: v.t, list }).into_response());
    }
    page(&s, &v, q.f, None, StatusCode::OK).await
}

async fn show(
    State(s): State<AppState>,
    v: Viewer,
    hx: Hx,
    Path(id): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> PageResult {
    let id = conversation_id(&id)?;
    if hx.fragment() {
        let thread = thread(&s, &v, id, q.cursor).await?;
        return Ok(ThreadFragment { t: v.t, thread }.into_response());
    }
    let mut o = open(&s, &v, id, q.cursor).await?;
    o.notice = match q.done.as_deref() {
        Some("sent") => Some(key("inbox.done_sent")),
        Some("saved") => Some(key("inbox.done_saved")),
        Some("contact") => Some(key("inbox.contact_saved")),
        _ => None,
    }
    .map(|k| Notice::success(v.t.get(k)));
    page(&s, &v, Filters::default(), Some(o), StatusCode::OK).await
}

/// What the composer held when it was refused, and which of its forms it was.
enum Draft {
    None,
    Reply(String),
    Note(String),
    /// The caption of a refused attachment (the file itself is chosen again).
    Attachment(String),
}

/// The conversation again with a problem beside the composer or the actions.
async fn refused(s: &AppState, v: &Viewer, id: ConversationId, e: AppError, draft: Draft) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let mut o = open(s, v, id, None).await?;
    o.notice = Some(notice);
    match draft {
        Draft::Reply(text) => o.draft = text,
        Draft::Note(text) => {
            o.draft = text;
            o.composer.note_mode = true;
        }
        Draft::Attachment(caption) => {
            o.caption = caption;
            o.composer.attach_open = true;
        }
        Draft::None => {}
    }
    Ok(htmx::at(&format!("/inbox/{id}"), page(s, v, Filters::default(), Some(o), status).await?))
}

// --- Sending -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SendForm {
    #[serde(default)]
    text: String,
    /// A template's name and language: the window is closed.
    #[serde(default)]
    template: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    param: Vec<String>,
    /// The placeholder names of a named template, one per `param`.
    #[serde(default)]
    param_name: Vec<String>,
    /// Values of a text header's variables.
    #[serde(default)]
    header_param: Vec<String>,
    /// An https link to the media of an IMAGE, VIDEO or DOCUMENT header.
    #[serde(default)]
    header_link: Option<String>,
    /// Values of the URL buttons whose address ends in a variable.
    #[serde(default)]
    button_param: Vec<String>,
}

impl SendForm {
    fn template_args(&self) -> TemplateArgs {
        let trimmed = |v: &[String]| v.iter().map(|p| p.trim().to_owned()).collect::<Vec<_>>();
        let (parameters, named) = if self.param_name.is_empty() {
            (trimmed(&self.param), Default::default())
        } else {
            (Vec::new(), self.param_name.iter().cloned().zip(trimmed(&self.param)).collect())
        };
        TemplateArgs {
            parameters,
            named,
            header: trimmed(&self.header_param),
            header_media: self
                .header_link
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| HeaderMedia { link: Some(l.to_owned()), ..HeaderMedia::default() }),
            buttons: trimmed(&self.button_param),
        }
    }

    fn compose(&self) -> Compose {
        if self.template.is_empty() {
            return Compose::Text { text: self.text.trim().to_owned(), preview_url: false, reply_to: None };
        }
        let a = self.template_args();
        Compose::Template {
            name: self.template.clone(),
            language: self.language.clone(),
            parameters: a.parameters,
            named_parameters: a.named,
            header_parameters: a.header,
            header_media: a.header_media,
            button_parameters: a.buttons,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox/_template_preview.html")]
struct PreviewFragment {
    t: Tr,
    p: TemplatePreview,
}

/// The template picker's live preview: the template with the values typed so far, rendered
/// here (htmx fetches it as the inputs change). The conversation names the number.
async fn template_preview(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(f): Query<SendForm>,
) -> PageResult {
    let id = conversation_id(&id)?;
    let conv = s.app.get_conversation(&v.principal, id).await?;
    if f.template.is_empty() {
        // No template chosen: nothing to preview.
        return Ok(StatusCode::OK.into_response());
    }
    let channel = conv.channel_id.parse().map_err(|_| UiError(AppError::NotFound))?;
    let t = s
        .app
        .list_templates(&v.principal, Some(channel))
        .await?
        .into_iter()
        .find(|t| t.name == f.template && t.language == f.language)
        .ok_or(UiError(AppError::NotFound))?;
    let p = template_parts::preview(&t.components, &t.parameter_format, &f.template_args());
    Ok(PreviewFragment { t: v.t, p }.into_response())
}

async fn send(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Form(f): Form<SendForm>) -> PageResult {
    let id = conversation_id(&id)?;
    match s.app.send_message(&v.principal, id, f.compose()).await {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}")).into_response()),
        Err(e) => refused(&s, &v, id, e, Draft::Reply(f.text)).await,
    }
}

/// The largest attachment form: WhatsApp's largest file (a 100 MB document) and the rest of
/// the form. Each file type's own limit is the application's check.
const ATTACHMENT_LIMIT: usize = 100 * 1024 * 1024 + 64 * 1024;

fn content_type(req: &axum::extract::Request) -> String {
    req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned()
}

/// A file from the composer (`multipart/form-data`: `file`, `caption`), through
/// `send_attachment`: uploaded to the number's Graph API media endpoint and sent by its id.
async fn attach(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> PageResult {
    let id = conversation_id(&id)?;
    let content_type = content_type(&req);
    let mut caption = String::new();
    let result = match multipart::read(&content_type, req.into_body(), ATTACHMENT_LIMIT, "file").await {
        Ok(parts) => {
            caption = multipart::text(&parts, "caption");
            let file =
                parts.into_iter().find(|p| p.name == "file" && p.file_name.as_deref().is_some_and(|f| !f.is_empty()));
            let attachment = file.map_or_else(
                || Attachment {
                    file_name: String::new(),
                    mime_type: String::new(),
                    bytes: bytes::Bytes::new(),
                    caption: None,
                },
                |f| Attachment {
                    file_name: f.file_name.unwrap_or_default(),
                    mime_type: f.content_type.unwrap_or_default(),
                    bytes: f.data,
                    caption: filled(&caption),
                },
            );
            s.app.send_attachment(&v.principal, id, attachment).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}?done=sent")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => refused(&s, &v, id, e, Draft::Attachment(caption)).await,
    }
}

/// A template whose header is media, from the picker (`multipart/form-data`): the fields of
/// [`SendForm`] and, instead of a link, a file (`header_file`) uploaded and given by its id.
async fn send_template_file(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> PageResult {
    let id = conversation_id(&id)?;
    let content_type = content_type(&req);
    let result = match multipart::read(&content_type, req.into_body(), ATTACHMENT_LIMIT, "header_file").await {
        Ok(parts) => {
            let f = SendForm {
                text: String::new(),
                template: multipart::text(&parts, "template"),
                language: multipart::text(&parts, "language"),
                param: multipart::texts(&parts, "param"),
                param_name: multipart::texts(&parts, "param_name"),
                header_param: multipart::texts(&parts, "header_param"),
                header_link: Some(multipart::text(&parts, "header_link")),
                button_param: multipart::texts(&parts, "button_param"),
            };
            let file = parts
                .into_iter()
                .find(|p| p.name == "header_file" && p.file_name.as_deref().is_some_and(|f| !f.is_empty()));
            match file {
                Some(file) => {
                    let a = Attachment {
                        file_name: file.file_name.unwrap_or_default(),
                        mime_type: file.content_type.unwrap_or_default(),
                        bytes: file.data,
                        caption: None,
                    };
                    s.app.send_template_with_header_file(&v.principal, id, f.compose(), a).await
                }
                None => s.app.send_message(&v.principal, id, f.compose()).await,
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => refused(&s, &v, id, e, Draft::None).await,
    }
}

#[derive(Deserialize, Default)]
struct NoteForm {
    #[serde(default)]
    text: String,
}

async fn note(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Form(f): Form<NoteForm>) -> PageResult {
    let id = conversation_id(&id)?;
    match s.app.add_note(&v.principal, id, &NoteInput { text: f.text.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => refused(&s, &v, id, e, Draft::Note(f.text)).await,
    }
}

// --- The contact panel -------------------------------------------------------------------

/// Name, labels and attributes of the conversation's contact, through `update_contact` (its
/// permission, validation and audit entry). Phone and e-mail are kept.
async fn edit_contact(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ContactForm>,
) -> PageResult {
    let id = conversation_id(&id)?;
    let contact = s.app.get_conversation(&v.principal, id).await?.contact.id;
    match s.app.update_contact(&v.principal, contact, f.for_panel()).await {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}?done=contact")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => refused(&s, &v, id, e, Draft::None).await,
    }
}

// --- Actions -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ActionForm {
    /// `assign_me`, `unassign`, `assign` (`assignee` and `team`), `mark_unread`, `resolve`,
    /// `reopen`, `snooze`, `labels`.
    #[serde(default)]
    action: String,
    /// A user id, or empty for nobody, for `assign`.
    #[serde(default)]
    assignee: String,
    /// A team id, or empty for none, for `assign`.
    #[serde(default)]
    team: String,
    /// `YYYY-MM-DDTHH:MM` (UTC) for `snooze`.
    #[serde(default)]
    until: String,
    /// Comma-separated, for `labels`.
    #[serde(default)]
    labels: String,
}

impl ActionForm {
    fn patch(&self, v: &Viewer) -> Result<ConversationPatch, AppError> {
        let mut p = ConversationPatch::default();
        match self.action.as_str() {
            "assign_me" => p.assignee_id = Some(Some(v.principal.require_user()?.as_uuid())),
            "unassign" => p.assignee_id = Some(None),
            "assign" => {
                p.assignee_id = Some(field_id("assignee_id", &self.assignee)?);
                p.team_id = Some(field_id("team_id", &self.team)?);
            }
            "mark_unread" => p.unread = Some(true),
            "resolve" => p.status = Some("resolved".into()),
            "reopen" => p.status = Some("open".into()),
            "snooze" => {
                p.status = Some("snoozed".into());
                // A datetime-local value has no zone: the form says it is UTC.
                let until = self.until.trim();
                let until = if until.len() == 16 { format!("{until}:00Z") } else { until.to_owned() };
                p.snoozed_until = Some(until);
            }
            "labels" => p.labels = Some(self.labels.split(',').filter_map(filled).collect()),
            _ => return Err(AppError::Malformed("unknown action".into())),
        }
        Ok(p)
    }
}

async fn act(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Form(f): Form<ActionForm>) -> PageResult {
    let id = conversation_id(&id)?;
    let result = match f.patch(&v) {
        Ok(patch) => s.app.update_conversation(&v.principal, id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        // Showing the conversation again would read it: back to the list, where it is unread.
        Ok(_) if f.action == "mark_unread" => Ok(Redirect::to("/inbox").into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}?done=saved")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => refused(&s, &v, id, e, Draft::None).await,
    }
}

#[derive(Deserialize, Default)]
struct BulkForm {
    /// The conversations ticked in the list.
    #[serde(default)]
    id: Vec<String>,
    /// `assign_me`, `resolve`, `label` (adds `label` to each) or `team` (moves each to `team`,
    /// or out of its team when empty).
    #[serde(default)]
    action: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    team: String,
}

/// One action on every ticked conversation, each through `update_conversation` (its own
/// permission check, tenancy, audit and activity line). Stops at the first refusal.
async fn bulk(State(s): State<AppState>, v: Viewer, Form(f): Form<BulkForm>) -> PageResult {
    for raw in &f.id {
        let id = conversation_id(raw)?;
        let patch = if f.action == "label" {
            let label = filled(&f.label)
                .ok_or_else(|| AppError::from(switchboard_core::Invalid::new("label", "required", "a label")))?;
            let mut labels = s.app.get_conversation(&v.principal, id).await?.labels;
            labels.push(label);
            ConversationPatch { labels: Some(labels), ..ConversationPatch::default() }
        } else if f.action == "team" {
            ConversationPatch { team_id: Some(field_id("team_id", &f.team)?), ..ConversationPatch::default() }
        } else if matches!(f.action.as_str(), "assign_me" | "resolve") {
            ActionForm { action: f.action.clone(), ..ActionForm::default() }.patch(&v)?
        } else {
            return Err(AppError::Malformed("unknown action".into()).into());
        };
        s.app.update_conversation(&v.principal, id, patch).await?;
    }
    Ok(Redirect::to("/inbox").into_response())
}

// --- Live updates ------------------------------------------------------------------------

/// The SSE events a bus event becomes: `list` when the conversation list may have changed,
/// `c-<conversation id>` when a conversation's messages or state did.
fn sse_names(e: &Event) -> Vec<String> {
    let conversation = match e.topic.as_str() {
        "conversation.updated" => e.subject,
        t if t.starts_with("message.") => e.related,
        _ => None,
    };
    let mut names = Vec::new();
    if matches!(e.topic.as_str(), "conversation.updated" | "message.created") {
        names.push("list".to_owned());
    }
    if let Some(c) = conversation {
        names.push(format!("c-{c}"));
    }
    names
}

async fn events(State(s): State<AppState>, v: Viewer) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let tenant = v.principal.tenant.as_uuid();
    let rx = s.app.bus.subscribe();
    let mut closing = s.closing.subscribe();
    let deadline = tokio::time::Instant::now() + STREAM_LIFETIME;
    let end = async move {
        tokio::select! {
            _ = closing.wait_for(|c| *c) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    };
    let stream = async_stream(rx, move |e| (e.tenant_id == tenant).then(|| sse_names(e)), end, "list");
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}

/// Bus events as SSE events until `end` completes or the bus closes. A subscriber that fell
/// behind gets a `lagged` event (refresh everything shown) instead of the ones it missed.
pub(crate) fn async_stream(
    rx: tokio::sync::broadcast::Receiver<Event>,
    names: impl Fn(&Event) -> Option<Vec<String>> + Send + 'static,
    end: impl std::future::Future<Output = ()> + Send + 'static,
    lagged: &'static str,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    use futures::StreamExt;
    let end = Box::pin(end);
    futures::stream::unfold((rx, end, names), move |(mut rx, mut end, names)| async move {
        loop {
            let got = tokio::select! {
                () = &mut end => return None,
                got = rx.recv() => got,
            };
            let batch = match got {
                Ok(e) => match names(&e) {
                    Some(n) if !n.is_empty() => n,
                    _ => continue,
                },
                Err(RecvError::Lagged(_)) => vec![lagged.to_owned()],
                Err(RecvError::Closed) => return None,
            };
            return Some((batch, (rx, end, names)));
        }
    })
    .flat_map(|batch| futures::stream::iter(batch.into_iter().map(|n| Ok(SseEvent::default().event(n).data("1")))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_links_keep_the_other_filters() {
        let f = Filters { folder: "mine".into(), label: "vip list".into(), ..Filters::default() };
        assert_eq!(f.with(Some(("status", "open"))), "?folder=mine&status=open&label=vip%20list");
        assert_eq!(f.with(Some(("folder", ""))), "?label=vip%20list");
        assert_eq!(Filters::default().with(None), "");
    }

    #[test]
    fn bus_events_name_what_to_refresh() {
        let c = uuid::Uuid::new_v4();
        let e = |topic: &str, subject, related| Event {
            tenant_id: uuid::Uuid::nil(),
            topic: topic.into(),
            subject,
            related,
            at: 0,
        };
        assert_eq!(sse_names(&e("message.created", None, Some(c))), vec!["list".to_owned(), format!("c-{c}")]);
        assert_eq!(sse_names(&e("message.status", None, Some(c))), vec![format!("c-{c}")]);
        assert_eq!(sse_names(&e("conversation.updated", Some(c), None)), vec!["list".to_owned(), format!("c-{c}")]);
        assert!(sse_names(&e("contact.updated", Some(c), None)).is_empty());
    }

    #[test]
    fn times_are_read_from_rfc3339() {
        assert_eq!(millis("2026-12-05T10:00:00Z"), Some(1_796_464_800_000));
        assert_eq!(millis("soon"), None);
    }
}
