//! Message templates, per connected number: name, language, category, Meta's status, quality
//! and rejection reason; creating one (a body, with example values for its placeholders,
//! submitted to Meta for approval) and fetching the number's templates from Meta again.
//! Mirrors `/api/v1/templates` and `/api/v1/channels/whatsapp/{id}/templates/sync`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use switchboard_app::AppError;
use switchboard_app::whatsapp::templates::{NewTemplate, TemplateView};
use switchboard_core::{ChannelId, Invalid, Permission};
use uuid::Uuid;

use super::whatsapp::graph_notice;
use super::{Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, status_of};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/templates";

pub fn routes(p: Pages) -> Pages {
    let manage = Access::Perm(Permission::TemplatesManage);
    p.add(PageSpec::get(PATH, Access::Perm(Permission::TemplatesRead)).mirrors(Method::GET, "/api/v1/templates"), list)
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

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<ListQuery>) -> PageResult {
    let mut page = templates_page(&s, &v).await?;
    page.done = match q.done.as_deref() {
        Some("created") => Some(Notice::success(v.t.get("settings.tpl_created"))),
        Some("synced") => {
            Some(Notice::success(v.t.fmt("settings.tpl_synced", &[("count", &q.count.unwrap_or(0).to_string())])))
        }
        _ => None,
    };
    Ok(page.into_response())
}

/// The template Meta is asked for: a BODY, with its example values when it has placeholders.
fn new_template(f: &TemplateForm) -> Result<NewTemplate, AppError> {
    let channel_id: Uuid =
        f.channel_id.parse().map_err(|_| Invalid::new("channel_id", "invalid_channel", "choose a connected number"))?;
    let examples: Vec<&str> = f.examples.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut body = json!({"type": "BODY", "text": f.body.trim()});
    if !examples.is_empty() {
        body["example"] = json!({"body_text": [examples]});
    }
    Ok(NewTemplate {
        channel_id,
        name: f.name.clone(),
        language: f.language.trim().to_owned(),
        category: f.category.clone(),
        parameter_format: None,
        components: if f.body.trim().is_empty() { Vec::new() } else { vec![body] },
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
