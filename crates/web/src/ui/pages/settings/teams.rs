//! Teams: the list with each team's members, creating, renaming and deleting a team, adding and
//! removing members.
//! Mirrors `/api/v1/teams`; managing users is the permission.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::teams::{AgentView, TeamInput, TeamView};
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

const PATH: &str = "/settings/teams";

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::UsersManage);
    let member = "/api/v1/teams/{id}/members/{user_id}";
    p.add(PageSpec::get(PATH, a).mirrors(Method::POST, "/api/v1/teams"), show)
        .add(PageSpec::post(PATH, a).mirrors(Method::POST, "/api/v1/teams"), create)
        .add(PageSpec::post("/settings/teams/{id}/rename", a).mirrors(Method::PATCH, "/api/v1/teams/{id}"), rename)
        .add(PageSpec::post("/settings/teams/{id}/delete", a).mirrors(Method::DELETE, "/api/v1/teams/{id}"), delete)
        .add(PageSpec::post("/settings/teams/{id}/members", a).mirrors(Method::PUT, member), add_member)
        .add(
            PageSpec::post("/settings/teams/{id}/members/{user_id}/delete", a).mirrors(Method::DELETE, member),
            remove_member,
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/teams.html")]
struct TeamsPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    teams: Vec<TeamView>,
    /// Who can be added to a team.
    users: Vec<AgentView>,
    name: String,
    /// The team whose rename was refused (its form opens again with the name typed).
    renaming: Option<Uuid>,
    notice: Option<Notice>,
}

impl TeamsPage {
    fn invalid(&self, field: &str) -> bool {
        self.renaming.is_none() && crate::ui::notice::invalid(self.notice.as_ref(), field)
    }

    fn renaming(&self, team: &str) -> bool {
        self.renaming.is_some_and(|r| r.to_string() == team)
    }

    fn rename_invalid(&self, team: &str) -> bool {
        self.renaming(team) && crate::ui::notice::invalid(self.notice.as_ref(), "name")
    }
}

/// The page, with a notice (a success, or a refusal beside the forms) and the name typed.
async fn render(
    s: &AppState,
    v: &Viewer,
    notice: Option<Notice>,
    name: String,
    renaming: Option<Uuid>,
) -> PageResult<TeamsPage> {
    Ok(TeamsPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Teams),
        teams: s.app.list_teams(&v.principal).await?,
        users: s.app.list_agents(&v.principal).await?,
        name,
        renaming,
        notice,
    })
}

async fn show(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let done = (q.done.as_deref() == Some("saved")).then(|| Notice::success(v.t.get("settings.team_saved")));
    Ok(render(&s, &v, done, String::new(), None).await?.into_response())
}

/// Back to the list after a change, or the list with the refusal shown.
async fn answer<T>(s: &AppState, v: &Viewer, result: Result<T, AppError>, name: String) -> PageResult {
    answer_for(s, v, result, name, None).await
}

async fn answer_for<T>(
    s: &AppState,
    v: &Viewer,
    result: Result<T, AppError>,
    name: String,
    renaming: Option<Uuid>,
) -> PageResult {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}?done=saved")).into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => {
            let status = status_of(&e);
            let page = render(s, v, Some(inline(v.t, e)?), name, renaming).await?;
            Ok(htmx::at(PATH, (status, page).into_response()))
        }
    }
}

#[derive(Deserialize, Default)]
struct TeamForm {
    #[serde(default)]
    name: String,
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<TeamForm>) -> PageResult {
    let result = s.app.create_team(&v.principal, &TeamInput { name: f.name.clone() }).await;
    answer(&s, &v, result, f.name).await
}

#[derive(Deserialize, Default)]
struct MemberForm {
    #[serde(default)]
    user_id: String,
}

fn path_id(raw: &str) -> Result<Uuid, UiError> {
    raw.parse().map_err(|_| UiError(AppError::NotFound))
}

async fn add_member(
    State(s): State<AppState>,
    v: Viewer,
    Path(team): Path<String>,
    Form(f): Form<MemberForm>,
) -> PageResult {
    let team = path_id(&team)?;
    let result = match f.user_id.parse::<Uuid>() {
        Ok(user) => s.app.set_team_member(&v.principal, team, user, true).await,
        Err(_) => Err(switchboard_core::Invalid::new("user_id", "unknown_user", "no such user").into()),
    };
    answer(&s, &v, result, String::new()).await
}

async fn rename(State(s): State<AppState>, v: Viewer, Path(team): Path<String>, Form(f): Form<TeamForm>) -> PageResult {
    let team = path_id(&team)?;
    let result = s.app.rename_team(&v.principal, team, &TeamInput { name: f.name.clone() }).await;
    answer_for(&s, &v, result, f.name, Some(team)).await
}

async fn delete(State(s): State<AppState>, v: Viewer, Path(team): Path<String>) -> PageResult {
    let result = s.app.delete_team(&v.principal, path_id(&team)?).await;
    answer(&s, &v, result, String::new()).await
}

async fn remove_member(State(s): State<AppState>, v: Viewer, Path((team, user)): Path<(String, String)>) -> PageResult {
    let (team, user) = (path_id(&team)?, path_id(&user)?);
    let result = s.app.set_team_member(&v.principal, team, user, false).await;
    answer(&s, &v, result, String::new()).await
}
