//! Canned responses: the list, adding one, deleting one. Agents insert them with "/" in the
//! inbox composer. Mirrors `/api/v1/canned-responses`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::inbox::{CannedInput, CannedView};
use switchboard_core::Permission;
use uuid::Uuid;

use super::{Done, Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/canned-responses";

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::SettingsManage);
    let api = "/api/v1/canned-responses";
    p.add(PageSpec::get(PATH, a).mirrors(Method::POST, api), list)
        .add(PageSpec::post(PATH, a).mirrors(Method::POST, api), create)
        .add(
            PageSpec::post("/settings/canned-responses/{id}/delete", a)
                .mirrors(Method::DELETE, "/api/v1/canned-responses/{id}"),
            delete,
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/canned.html")]
struct CannedPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    items: Vec<CannedView>,
    shortcut: String,
    body: String,
    notice: Option<Notice>,
    done: Option<Notice>,
}

impl CannedPage {
    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

async fn canned_page(s: &AppState, v: &Viewer) -> PageResult<CannedPage> {
    Ok(CannedPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Canned),
        items: s.app.list_canned(&v.principal).await?,
        shortcut: String::new(),
        body: String::new(),
        notice: None,
        done: None,
    })
}

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let mut page = canned_page(&s, &v).await?;
    page.done = match q.done.as_deref() {
        Some("saved") => Some(Notice::success(v.t.get("settings.canned_saved"))),
        Some("deleted") => Some(Notice::success(v.t.get("settings.canned_deleted"))),
        _ => None,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
struct CannedForm {
    #[serde(default)]
    shortcut: String,
    #[serde(default)]
    body: String,
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<CannedForm>) -> PageResult {
    let input = CannedInput { shortcut: f.shortcut.clone(), body: f.body.clone() };
    match s.app.save_canned(&v.principal, None, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=saved")).into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let mut page = canned_page(&s, &v).await?;
            page.shortcut = f.shortcut;
            page.body = f.body;
            page.notice = Some(notice);
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

async fn delete(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let id: Uuid = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    s.app.delete_canned(&v.principal, id).await?;
    Ok(Redirect::to(&format!("{PATH}?done=deleted")).into_response())
}
