//! API keys: the list, creating one with scopes (only scopes the creator holds are offered;
//! the key is shown once, in the answer to the form), revoking. Mirrors `/api/v1/api-keys`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::auth::{ApiKeyView, NewApiKey};
use switchboard_core::{ApiKeyId, Permission};

use super::{Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::ApiKeysManage);
    p.add(PageSpec::get("/settings/api-keys", a).mirrors(Method::GET, "/api/v1/api-keys"), list)
        .add(PageSpec::post("/settings/api-keys", a).mirrors(Method::POST, "/api/v1/api-keys"), create)
        .add(
            PageSpec::post("/settings/api-keys/{id}/revoke", a).mirrors(Method::DELETE, "/api/v1/api-keys/{id}"),
            revoke,
        )
}

pub struct KeyItem {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

impl From<ApiKeyView> for KeyItem {
    fn from(k: ApiKeyView) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            created_at: short_time(&k.created_at),
            last_used_at: k.last_used_at.as_deref().map(short_time),
            revoked: k.revoked_at.is_some(),
        }
    }
}

pub struct ScopeOption {
    pub scope: &'static str,
    pub checked: bool,
}

pub struct NewKey {
    pub name: String,
    pub key: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/api_keys.html")]
struct ApiKeysPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    keys: Vec<KeyItem>,
    next: Option<String>,
    scopes: Vec<ScopeOption>,
    name: String,
    new_key: Option<NewKey>,
    notice: Option<Notice>,
    done: Option<Notice>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// The page, with the scopes of the form ticked as `checked` says.
async fn keys_page(s: &AppState, v: &Viewer, cursor: Option<&str>, checked: &[String]) -> PageResult<ApiKeysPage> {
    let page = s.app.list_api_keys(&v.principal, cursor, None).await?;
    Ok(ApiKeysPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::ApiKeys),
        keys: page.items.into_iter().map(KeyItem::from).collect(),
        next: page.next_cursor.map(|c| format!("/settings/api-keys?cursor={c}")),
        // Nobody can mint a key that does more than they can: only held scopes are offered.
        scopes: Permission::ALL
            .into_iter()
            .filter(|p| v.can(*p))
            .map(|p| ScopeOption { scope: p.scope(), checked: checked.iter().any(|c| c == p.scope()) })
            .collect(),
        name: String::new(),
        new_key: None,
        notice: None,
        done: None,
    })
}

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<ListQuery>) -> PageResult {
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let mut page = keys_page(&s, &v, cursor.as_deref(), &[]).await?;
    if q.done.as_deref() == Some("revoked") {
        page.done = Some(Notice::success(v.t.get("settings.key_revoked")));
    }
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<NewKeyForm>) -> PageResult {
    let input = NewApiKey { name: f.name.clone(), scopes: f.scopes.clone() };
    match s.app.create_api_key(&v.principal, input).await {
        Ok((view, key)) => {
            let mut page = keys_page(&s, &v, None, &[]).await?;
            page.new_key = Some(NewKey { name: view.name, key });
            Ok(htmx::at("/settings/api-keys", page.into_response()))
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let mut page = keys_page(&s, &v, None, &f.scopes).await?;
            page.name = f.name;
            page.notice = Some(notice);
            Ok(htmx::at("/settings/api-keys", (status, page).into_response()))
        }
    }
}

async fn revoke(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let id: ApiKeyId = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    s.app.revoke_api_key(&v.principal, id).await?;
    Ok(Redirect::to("/settings/api-keys?done=revoked").into_response())
}
