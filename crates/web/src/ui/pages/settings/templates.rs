//! Message templates, per connected number: name, language, category, Meta's status, quality
//! and rejection reason; creating one (a body, with example values for its placeholders,
//! submitted to Meta for approval) and fetching the number's templates from Meta again.
//! Mirrors `/api/v1/templates` and `/api/v1/channels/whatsapp/{id}/templates/sync`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use switchboard_app::AppError;
use switchboard_app::whatsapp::templates::{NewTemplate, TemplateView};
use switchboard_core::{ChannelId, Invalid, Permission};
use switchboard_storage::bus::Event;
use uuid::Uuid;

use super::whatsapp::graph_notice;
use super::{Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, status_of};
use crate::ui::pages::inbox::{STREAM_LIFETIME, async_stream};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/templates";

pub fn routes(p: Pages) -> Pages {
    let manage = Access::Perm(Permission::TemplatesManage);
    let read = Access::Perm(Permission::TemplatesRead);
    p.add(PageSpec::get(PATH, read).mirrors(Method::GET, "/api/v1/templates"), list)
        .add(PageSpec::get("/settings/templates/events", read).mirrors(Method::GET, "/api/v1/templates"), events)
        .add(PageSpec::post(PATH, manage).mirrors(Method::POST, "/api/v1/templates"), create)
        .add(
            PageSpec::post("/settings/templates/{id}/sync", manage)
                .mirrors(Method::POST, "/api/v1/channels/whatsapp/{id}/templates/sync"),
            sync,
        )
}

/// A connected number and its account's templates.
pub struct NumberTemplates {
    pub id: String,
    pub display_phone_number: String,
    pub templates: Vec<TemplateView>,
}

#[derive(Deserialize, Default)]
struct TemplateForm {
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    body: String,
    /// One example value a line, for `{{1}}`, `{{2}}`, … in the body.
    #[serde(default)]
    examples: String,
    /// Empty (no header), `TEXT`, `IMAGE`, `VIDEO` or `DOCUMENT`.
    #[serde(default)]
    header_format: String,
    /// A text header, with at most one variable `{{1}}`…
    #[serde(default)]
    header_text: String,
    /// …and its example value.
    #[serde(default)]
    header_example: String,
    /// A media header's example: the handle of a file uploaded with Meta's resumable upload.
    #[serde(default)]
    header_handle: String,
    #[serde(default)]
    footer: String,
    /// Per button row: `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, or empty (no button).
    #[serde(default)]
    button_type: Vec<String>,
    #[serde(default)]
    button_text: Vec<String>,
    /// The address of a URL button (may end in `{{1}}`) or the number of a PHONE_NUMBER one.
    #[serde(default)]
    button_value: Vec<String>,
    /// An example of the URL with its variable filled in.
    #[serde(default)]
    button_example: Vec<String>,
}

/// Button rows the form shows.
const BUTTON_ROWS: usize = 3;

/// One button row of the form.
pub struct ButtonRow {
    pub kind: String,
    pub text: String,
    pub value: String,
    pub example: String,
}

impl TemplateForm {
    fn buttons(&self) -> Vec<ButtonRow> {
        let at = |v: &[String], i: usize| v.get(i).map(|x| x.trim().to_owned()).unwrap_or_default();
        (0..BUTTON_ROWS.max(self.button_type.len()))
            .map(|i| ButtonRow {
                kind: at(&self.button_type, i),
                text: at(&self.button_text, i),
                value: at(&self.button_value, i),
                example: at(&self.button_example, i),
            })
            .collect()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/templates.html")]
struct TemplatesPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    numbers: Vec<NumberTemplates>,
    can_manage: bool,
    form: TemplateForm,
    categories: [&'static str; 3],
    header_formats: [(&'static str, &'static str); 5],
    button_types: [(&'static str, &'static str); 4],
    notice: Option<Notice>,
    done: Option<Notice>,
}

impl TemplatesPage {
    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

/// Meta's status, for a CSS class: approved ones can be sent, rejected and paused ones not.
fn status_class(status: &str) -> &'static str {
    match status {
        "APPROVED" => "status-ok",
        "PENDING" | "IN_APPEAL" => "",
        _ => "status-off",
    }
}

async fn templates_page(s: &AppState, v: &Viewer) -> PageResult<TemplatesPage> {
    // One query for every template; each number shows its account's.
    let all = s.app.list_templates(&v.principal, None).await?;
    let numbers = s
        .app
        .list_channels(&v.principal)
        .await?
        .into_iter()
        .filter(|c| c.status != "disconnected")
        .map(|c| NumberTemplates {
            id: c.id.to_string(),
            display_phone_number: c.display_phone_number,
            templates: all.iter().filter(|t| t.waba_id == c.waba_id).cloned().collect(),
        })
        .collect();
    Ok(TemplatesPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Templates),
        numbers,
        can_manage: v.can(Permission::TemplatesManage),
        form: TemplateForm { language: "en_US".into(), category: "UTILITY".into(), ..TemplateForm::default() },
        categories: ["UTILITY", "MARKETING", "AUTHENTICATION"],
        header_formats: [
            ("", key("settings.tpl_header_none")),
            ("TEXT", key("settings.tpl_header_kind_text")),
            ("IMAGE", key("inbox.kind.image")),
            ("VIDEO", key("inbox.kind.video")),
            ("DOCUMENT", key("inbox.kind.document")),
        ],
        button_types: [
            ("", key("settings.tpl_button_none")),
            ("QUICK_REPLY", key("settings.tpl_button_quick_reply")),
            ("URL", key("settings.tpl_button_url")),
            ("PHONE_NUMBER", key("settings.tpl_button_phone")),
        ],
        notice: None,
        done: None,
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    count: Option<usize>,
}

/// The lists alone, fetched again when a template changes (`sse:templates`).
#[derive(Template, WebTemplate)]
#[template(path = "settings/templates.html", block = "lists")]
struct ListsFragment {
    t: Tr,
    numbers: Vec<NumberTemplates>,
    can_manage: bool,
}

async fn list(State(s): State<AppState>, v: Viewer, hx: Hx, Query(q): Query<ListQuery>) -> PageResult {
    let mut page = templates_page(&s, &v).await?;
    if hx.fragment() {
        return Ok(ListsFragment { t: v.t, numbers: page.numbers, can_manage: page.can_manage }.into_response());
    }
    page.done = match q.done.as_deref() {
        Some("created") => Some(Notice::success(v.t.get("settings.tpl_created"))),
        Some("synced") => {
            Some(Notice::success(v.t.fmt("settings.tpl_synced", &[("count", &q.count.unwrap_or(0).to_string())])))
        }
        _ => None,
    };
    Ok(page.into_response())
}

fn refuse(field: &str, code: &'static str, message: &str) -> AppError {
    Invalid::new(field, code, message).into()
}

/// The template Meta is asked for: a BODY (with example values for its placeholders), and the
/// HEADER, FOOTER and BUTTONS filled in (PROTOCOLS.md §2.6).
fn new_template(f: &TemplateForm) -> Result<NewTemplate, AppError> {
    let channel_id: Uuid =
        f.channel_id.parse().map_err(|_| Invalid::new("channel_id", "invalid_channel", "choose a connected number"))?;
    let examples: Vec<&str> = f.examples.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut components = Vec::new();
    match f.header_format.trim().to_ascii_uppercase().as_str() {
        "" => {}
        "TEXT" => {
            let text = f.header_text.trim();
            if text.is_empty() {
                return Err(refuse("header_text", "template_header_text", "write the header's text"));
            }
            let mut h = json!({"type": "HEADER", "format": "TEXT", "text": text});
            if text.contains("{{") {
                let example = f.header_example.trim();
                if example.is_empty() {
                    return Err(refuse(
                        "header_example",
                        "template_example",
                        "give an example for the header's variable",
                    ));
                }
                h["example"] = json!({"header_text": [example]});
            }
            components.push(h);
        }
        format @ ("IMAGE" | "VIDEO" | "DOCUMENT") => {
            let handle = f.header_handle.trim();
            if handle.is_empty() {
                return Err(refuse("header_handle", "template_header_handle", "give the handle of an example file"));
            }
            components.push(json!({"type": "HEADER", "format": format, "example": {"header_handle": [handle]}}));
        }
        _ => return Err(refuse("header_format", "invalid_header_format", "none, text, image, video or document")),
    }
    let mut body = json!({"type": "BODY", "text": f.body.trim()});
    if !examples.is_empty() {
        body["example"] = json!({"body_text": [examples]});
    }
    if !f.body.trim().is_empty() {
        components.push(body);
    }
    if !f.footer.trim().is_empty() {
        components.push(json!({"type": "FOOTER", "text": f.footer.trim()}));
    }
    let mut buttons = Vec::new();
    for b in f.buttons().into_iter().filter(|b| !b.kind.is_empty()) {
        if b.text.is_empty() {
            return Err(refuse("button_text", "template_button_text", "give every button a text"));
        }
        buttons.push(match b.kind.as_str() {
            "QUICK_REPLY" => json!({"type": "QUICK_REPLY", "text": b.text}),
            "URL" => {
                let mut url = json!({"type": "URL", "text": b.text, "url": b.value});
                if b.value.contains("{{") {
                    if b.example.is_empty() {
                        return Err(refuse("button_example", "template_example", "give an example of the address"));
                    }
                    url["example"] = json!([b.example]);
                }
                url
            }
            "PHONE_NUMBER" => json!({"type": "PHONE_NUMBER", "text": b.text, "phone_number": b.value}),
            _ => return Err(refuse("button_type", "invalid_button_type", "quick reply, URL or phone number")),
        });
    }
    if !buttons.is_empty() {
        components.push(json!({"type": "BUTTONS", "buttons": buttons}));
    }
    Ok(NewTemplate {
        channel_id,
        name: f.name.clone(),
        language: f.language.trim().to_owned(),
        category: f.category.clone(),
        parameter_format: None,
        components: if f.body.trim().is_empty() { Vec::new() } else { components },
    })
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<TemplateForm>) -> PageResult {
    let created = match new_template(&f) {
        Ok(input) => s.app.create_template(&v.principal, input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=created")).into_response()),
        Err(e) => {
            let status = status_of(&e);
            let mut page = templates_page(&s, &v).await?;
            page.notice = Some(graph_notice(v.t, e)?);
            page.form = f;
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

async fn sync(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let id: ChannelId = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    match s.app.sync_templates(&v.principal, id).await {
        Ok(count) => Ok(Redirect::to(&format!("{PATH}?done=synced&count={count}")).into_response()),
        Err(e) => {
            let status = status_of(&e);
            let mut page = templates_page(&s, &v).await?;
            page.done = Some(graph_notice(v.t, e)?);
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

/// `templates` whenever one of the tenant's templates changes (Meta's status, quality or
/// category webhooks): the page fetches its lists again through the permission-checked page.
/// Names only, like the inbox's stream; it ends with the server or after its lifetime.
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
    let names = move |e: &Event| {
        (e.tenant_id == tenant && e.topic.starts_with("template.")).then(|| vec!["templates".to_owned()])
    };
    Sse::new(async_stream(rx, names, end, "templates")).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}
