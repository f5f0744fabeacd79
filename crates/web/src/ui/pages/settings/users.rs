//! Users of the organisation: the list, creating one with a role (a generated password is
//! shown once), changing a role, disabling and enabling. Refusals such as "the last owner
//! cannot be demoted" appear in the user's row. Mirrors `/api/v1/users`. Invitations: inviting
//! a person by e-mail with a role (the link shown once), the pending ones with a revoke button
//! (mirrors `/api/v1/invitations`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::invitations::{CreatedInvitation, InvitationView, NewInvitation};
use switchboard_app::users::{NewUser, UserPatch, UserView};
use switchboard_core::{Permission, Role, UserId};

use super::{Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, role_key};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::UsersManage);
    let one = "/api/v1/users/{id}";
    p.add(PageSpec::get("/settings/users", a).mirrors(Method::GET, "/api/v1/users"), list)
        .add(PageSpec::post("/settings/users", a).mirrors(Method::POST, "/api/v1/users"), create)
        .add(PageSpec::post("/settings/users/{id}/role", a).mirrors(Method::PATCH, one), set_role)
        .add(PageSpec::post("/settings/users/{id}/status", a).mirrors(Method::PATCH, one), set_status)
        .add(PageSpec::post("/settings/users/invitations", a).mirrors(Method::POST, "/api/v1/invitations"), invite)
        .add(
            PageSpec::post("/settings/users/invitations/{id}/revoke", a)
                .mirrors(Method::DELETE, "/api/v1/invitations/{id}"),
            revoke,
        )
}

pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
}

pub struct UserItem {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: &'static str,
    pub role_label: &'static str,
    pub disabled: bool,
    pub totp_enabled: bool,
    /// The viewer's own row (no "disable" button: that would lock them out).
    pub me: bool,
    /// The viewer may change this user (only owners touch owners).
    pub manageable: bool,
    pub notice: Option<Notice>,
}

impl UserItem {
    fn new(v: &Viewer, u: UserView) -> Self {
        Self {
            id: u.id.to_string(),
            me: v.principal.user_id() == Some(u.id),
            manageable: v.role().may_grant(u.role),
            role: u.role.as_str(),
            role_label: role_key(u.role),
            email: u.email,
            name: u.name,
            disabled: u.disabled,
            totp_enabled: u.totp_enabled,
            notice: None,
        }
    }
}

fn grantable(v: &Viewer) -> Vec<RoleOption> {
    Role::ALL
        .into_iter()
        .filter(|r| v.role().may_grant(*r))
        .map(|r| RoleOption { value: r.as_str(), label: role_key(r) })
        .collect()
}

/// The "new user" form as typed, and what creating it gave (the password, once).
#[derive(Deserialize, Default)]
struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

pub struct Created {
    pub email: String,
    pub password: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/users.html")]
struct UsersPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    users: Vec<UserItem>,
    next: Option<String>,
    grantable: Vec<RoleOption>,
    created: Option<Created>,
    create_notice: Option<Notice>,
    email: String,
    name: String,
    role: String,
    invitations: Vec<InvitationItem>,
    /// The invitation just made, with its link (shown this once).
    invited: Option<CreatedInvitation>,
    invite_notice: Option<Notice>,
    invite_email: String,
    invite_role: String,
    done: Option<Notice>,
}

pub struct InvitationItem {
    pub id: String,
    pub email: String,
    pub role_label: &'static str,
    pub expires_at: String,
}

impl InvitationItem {
    fn new(i: InvitationView) -> Self {
        Self { id: i.id, email: i.email, role_label: role_key(i.role), expires_at: i.expires_at }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/_user_row.html")]
struct UserRowFragment {
    t: Tr,
    u: UserItem,
    grantable: Vec<RoleOption>,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn users_page(s: &AppState, v: &Viewer, cursor: Option<&str>) -> PageResult<UsersPage> {
    let page = s.app.list_users(&v.principal, cursor, None).await?;
    Ok(UsersPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Users),
        users: page.items.into_iter().map(|u| UserItem::new(v, u)).collect(),
        next: page.next_cursor.map(|c| format!("/settings/users?cursor={c}")),
        grantable: grantable(v),
        created: None,
        create_notice: None,
        email: String::new(),
        name: String::new(),
        role: Role::Agent.as_str().to_owned(),
        invitations: s.app.list_invitations(&v.principal).await?.into_iter().map(InvitationItem::new).collect(),
        invited: None,
        invite_notice: None,
        invite_email: String::new(),
        invite_role: Role::Agent.as_str().to_owned(),
        done: None,
    })
}

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<PageQuery>) -> PageResult {
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let mut page = users_page(&s, &v, cursor.as_deref()).await?;
    page.done = (q.done.as_deref() == Some("revoked")).then(|| Notice::success(v.t.get("settings.invitation_revoked")));
    Ok(page.into_response())
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<NewUserForm>) -> PageResult {
    let role = match f.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return create_failed(&s, &v, f, e.into()).await,
    };
    let input = NewUser {
        email: f.email.trim().to_owned(),
        role,
        name: filled(&f.name),
        password: (!f.password.is_empty()).then(|| f.password.clone()),
    };
    match s.app.create_user(&v.principal, input).await {
        Ok((user, password)) => {
            let mut page = users_page(&s, &v, None).await?;
            page.created = Some(Created { email: user.email, password });
            Ok(htmx::at("/settings/users", page.into_response()))
        }
        Err(e) => create_failed(&s, &v, f, e).await,
    }
}

async fn create_failed(s: &AppState, v: &Viewer, f: NewUserForm, e: AppError) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let mut page = users_page(s, v, None).await?;
    page.create_notice = Some(notice);
    page.email = f.email;
    page.name = f.name;
    page.role = f.role;
    Ok(htmx::at("/settings/users", (status, page).into_response()))
}

fn user_id(raw: &str) -> Result<UserId, UiError> {
    raw.parse().map_err(|_| UiError(AppError::NotFound))
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

#[derive(Deserialize)]
struct StatusForm {
    disabled: bool,
}

async fn set_role(
    State(s): State<AppState>,
    v: Viewer,
    hx: Hx,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> PageResult {
    let id = user_id(&id)?;
    let patch = f.role.parse::<Role>().map(|role| UserPatch { role: Some(role), ..UserPatch::default() });
    change(&s, &v, hx, id, patch.map_err(AppError::from), key("settings.role_changed")).await
}

async fn set_status(
    State(s): State<AppState>,
    v: Viewer,
    hx: Hx,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> PageResult {
    let patch = UserPatch { disabled: Some(f.disabled), ..UserPatch::default() };
    let done = if f.disabled { key("settings.user_disabled") } else { key("settings.user_enabled") };
    change(&s, &v, hx, user_id(&id)?, Ok(patch), done).await
}

/// Applies a change to one user. htmx swaps the user's row (with the outcome in it); without
/// JavaScript the list is shown again (with a refusal in the row).
async fn change(
    s: &AppState,
    v: &Viewer,
    hx: Hx,
    id: UserId,
    patch: Result<UserPatch, AppError>,
    done: &'static str,
) -> PageResult {
    let outcome = match patch {
        Ok(patch) => s.app.update_user(&v.principal, id, patch).await,
        Err(e) => Err(e),
    };
    let (status, user, notice) = match outcome {
        Ok(user) => (StatusCode::OK, user, Notice::success(v.t.get(done))),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            (status, s.app.get_user(&v.principal, id).await?, notice)
        }
    };
    if hx.fragment() {
        let mut u = UserItem::new(v, user);
        u.notice = Some(notice);
        let row = UserRowFragment { t: v.t, u, grantable: grantable(v) };
        return Ok((status, row).into_response());
    }
    if status == StatusCode::OK {
        return Ok(Redirect::to("/settings/users").into_response());
    }
    let mut page = users_page(s, v, None).await?;
    let id = id.to_string();
    if let Some(row) = page.users.iter_mut().find(|u| u.id == id) {
        row.notice = Some(notice);
    }
    Ok(htmx::at("/settings/users", (status, page).into_response()))
}

#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn invite(State(s): State<AppState>, v: Viewer, Form(f): Form<InviteForm>) -> PageResult {
    let result = match f.role.parse::<Role>() {
        Ok(role) => {
            let input = NewInvitation { email: f.email.trim().to_owned(), role };
            s.app.create_invitation(&v.principal, &input).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(created) => {
            let mut page = users_page(&s, &v, None).await?;
            page.invited = Some(created);
            Ok(htmx::at("/settings/users", page.into_response()))
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let mut page = users_page(&s, &v, None).await?;
            page.invite_notice = Some(notice);
            page.invite_email = f.email;
            page.invite_role = f.role;
            Ok(htmx::at("/settings/users", (status, page).into_response()))
        }
    }
}

async fn revoke(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let id: uuid::Uuid = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    match s.app.revoke_invitation(&v.principal, id).await {
        Ok(()) => Ok(Redirect::to("/settings/users?done=revoked").into_response()),
        Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthenticated(_))) => Err(e.into()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let mut page = users_page(&s, &v, None).await?;
            page.done = Some(notice);
            Ok(htmx::at("/settings/users", (status, page).into_response()))
        }
    }
}
