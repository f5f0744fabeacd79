//! Users and API keys of the tenant.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use switchboard_app::auth::{ApiKeyView, NewApiKey};
use switchboard_app::page::Page;
use switchboard_app::users::{NewUser, UserPatch, UserView};
use switchboard_core::{ApiKeyId, Permission, UserId};

use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// Present only when no password was given: generated, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyView,
    /// The key itself (`sbk_…`). Shown once; only its hash is stored.
    pub key: String,
}

pub fn routes(r: Routes) -> Routes {
    let manage = Access::Perm(Permission::UsersManage);
    let keys = Access::Perm(Permission::ApiKeysManage);
    r.add(RouteSpec::get("/api/v1/users", manage, "List users").query::<PageQuery>().returns_list::<UserView>(), list)
        .add(
            RouteSpec::post("/api/v1/users", manage, "Create a user")
                .body::<NewUser>()
                .returns::<CreatedUser>()
                .status(StatusCode::CREATED),
            create,
        )
        .add(RouteSpec::get("/api/v1/users/{id}", manage, "Get a user").returns::<UserView>(), get_one)
        .add(
            RouteSpec::patch("/api/v1/users/{id}", manage, "Change role, disable or enable; ends the user's sessions")
                .body::<UserPatch>()
                .returns::<UserView>(),
            patch,
        )
        .add(
            RouteSpec::post("/api/v1/users/{id}/logout", manage, "End all sessions of a user")
                .status(StatusCode::NO_CONTENT),
            end_sessions,
        )
        .add(
            RouteSpec::get("/api/v1/api-keys", keys, "List API keys").query::<PageQuery>().returns_list::<ApiKeyView>(),
            list_keys,
        )
        .add(
            RouteSpec::post("/api/v1/api-keys", keys, "Create an API key (shown once)")
                .body::<NewApiKey>()
                .returns::<CreatedApiKey>()
                .status(StatusCode::CREATED),
            create_key,
        )
        .add(RouteSpec::delete("/api/v1/api-keys/{id}", keys, "Revoke an API key"), revoke_key)
}

async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult<AxumJson<Page<UserView>>> {
    Ok(AxumJson(s.app.list_users(&p, q.cursor.as_deref(), q.limit).await?))
}

async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(body): Json<NewUser>,
) -> ApiResult<impl IntoResponse> {
    let (user, password) = s.app.create_user(&p, body).await?;
    Ok((StatusCode::CREATED, AxumJson(CreatedUser { user, password })))
}

async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> ApiResult<AxumJson<UserView>> {
    Ok(AxumJson(s.app.get_user(&p, id).await?))
}

async fn patch(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<UserId>,
    Json(body): Json<UserPatch>,
) -> ApiResult<AxumJson<UserView>> {
    Ok(AxumJson(s.app.update_user(&p, id, body).await?))
}

async fn end_sessions(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    s.app.end_user_sessions(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_keys(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult<AxumJson<Page<ApiKeyView>>> {
    Ok(AxumJson(s.app.list_api_keys(&p, q.cursor.as_deref(), q.limit).await?))
}

async fn create_key(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(body): Json<NewApiKey>,
) -> ApiResult<impl IntoResponse> {
    let (api_key, key) = s.app.create_api_key(&p, body).await?;
    Ok((StatusCode::CREATED, AxumJson(CreatedApiKey { api_key, key })))
}

async fn revoke_key(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<ApiKeyId>) -> ApiResult<StatusCode> {
    s.app.revoke_api_key(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
