//! Labels: those in use on conversations and contacts with their counts (everyone who reads
//! conversations), renaming one everywhere (merging into a name in use) and deleting one
//! everywhere, each after a confirmation checked here (managing settings).
//! Mirrors `/api/v1/labels`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::labels::{LabelInput, LabelView};
use switchboard_core::Permission;

use super::{Done, Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

const PATH: &str = "/settings/labels";

pub fn routes(p: Pages) -> Pages {
    let read = Access::Perm(Permission::ConversationsRead);
    let manage = Access::Perm(Permission::SettingsManage);
    let one = "/api/v1/labels/{name}";
    p.add(PageSpec::get(PATH, read).mirrors(Method::GET, "/api/v1/labels"), show)
        .add(PageSpec::post("/settings/labels/rename", manage).mirrors(Method::PATCH, one), rename)
        .add(PageSpec::post("/settings/labels/delete", manage).mirrors(Method::DELETE, one), delete)
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/labels.html")]
struct LabelsPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    labels: Vec<LabelView>,
    can_manage: bool,
    /// The label whose rename was refused (its form opens again with the name typed).
    renaming: Option<String>,
    name: String,
    notice: Option<Notice>,
}

impl LabelsPage {
    fn renaming(&self, label: &str) -> bool {
        self.renaming.as_deref() == Some(label)
    }

    fn rename_invalid(&self, label: &str) -> bool {
        self.renaming(label) && crate::ui::notice::invalid(self.notice.as_ref(), "name")
    }
}

async fn render(s: &AppState, v: &Viewer) -> PageResult<LabelsPage> {
    Ok(LabelsPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Labels),
        labels: s.app.list_labels(&v.principal).await?,
        can_manage: v.can(Permission::SettingsManage),
        renaming: None,
        name: String::new(),
        notice: None,
    })
}

async fn show(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let mut page = render(&s, &v).await?;
    page.notice = match q.done.as_deref() {
        Some("renamed") => Some(Notice::success(v.t.get("settings.label_renamed"))),
        Some("deleted") => Some(Notice::success(v.t.get("settings.label_deleted"))),
        _ => None,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
struct LabelForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// The page again with a refusal, the rename form of `label` open with what was typed.
async fn refused(s: &AppState, v: &Viewer, status: StatusCode, notice: Notice, f: LabelForm) -> PageResult {
    let mut page = render(s, v).await?;
    page.renaming = Some(f.label);
    page.name = f.name;
    page.notice = Some(notice);
    Ok(htmx::at(PATH, (status, page).into_response()))
}

/// A label nobody in this organisation carries is not found, whatever the form says.
async fn known(s: &AppState, v: &Viewer, label: &str) -> PageResult<()> {
    if s.app.list_labels(&v.principal).await?.iter().any(|l| l.name == label) {
        Ok(())
    } else {
        Err(AppError::NotFound.into())
    }
}

async fn rename(State(s): State<AppState>, v: Viewer, Form(f): Form<LabelForm>) -> PageResult {
    known(&s, &v, &f.label).await?;
    if f.confirm.as_deref() != Some("yes") {
        let notice = Notice::error(v.t.get("settings.label_confirm_required"));
        return refused(&s, &v, StatusCode::UNPROCESSABLE_ENTITY, notice, f).await;
    }
    match s.app.rename_label(&v.principal, &f.label, &LabelInput { name: f.name.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=renamed")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            refused(&s, &v, status, notice, f).await
        }
    }
}

async fn delete(State(s): State<AppState>, v: Viewer, Form(f): Form<LabelForm>) -> PageResult {
    known(&s, &v, &f.label).await?;
    if f.confirm.as_deref() != Some("yes") {
        let notice = Notice::error(v.t.get("settings.label_confirm_required"));
        return refused(&s, &v, StatusCode::UNPROCESSABLE_ENTITY, notice, LabelForm { name: String::new(), ..f }).await;
    }
    s.app.delete_label(&v.principal, &f.label).await?;
    Ok(Redirect::to(&format!("{PATH}?done=deleted")).into_response())
}
