//! Teams: groups of agents that conversations are assigned to. Everyone who reads
//! conversations may list them (the inbox's team folders); changing them is managing users.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::page::Page;
use switchboard_app::teams::{TeamInput, TeamView};
use switchboard_core::Permission;
use uuid::Uuid;

use super::whole;
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

pub fn routes(r: Routes) -> Routes {
    use Permission as P;
    let manage = Access::Perm(P::UsersManage);
    let member = "/api/v1/teams/{id}/members/{user_id}";
    r.add(
        RouteSpec::get("/api/v1/teams", Access::Perm(P::ConversationsRead), "Teams with their members, by name")
            .returns_list::<TeamView>(),
        list,
    )
    .add(
        RouteSpec::post("/api/v1/teams", manage, "Create a team")
            .body::<TeamInput>()
            .returns::<TeamView>()
            .status(StatusCode::CREATED),
        create,
    )
    .add(
        RouteSpec::patch("/api/v1/teams/{id}", manage, "Rename a team").body::<TeamInput>().returns::<TeamView>(),
        rename,
    )
    .add(RouteSpec::delete("/api/v1/teams/{id}", manage, "Delete a team (its conversations keep their agent)"), delete)
    .add(RouteSpec::put(member, manage, "Add a user to a team").returns::<TeamView>(), add_member)
    .add(RouteSpec::delete(member, manage, "Remove a user from a team").returns::<TeamView>(), remove_member)
}

async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<TeamView>>> {
    Ok(AxumJson(whole(s.app.list_teams(&p).await?)))
}

async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<TeamInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.create_team(&p, &b).await?)))
}

async fn rename(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<TeamInput>,
) -> ApiResult<AxumJson<TeamView>> {
    Ok(AxumJson(s.app.rename_team(&p, id, &b).await?))
}

async fn delete(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    s.app.delete_team(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path((team, user)): Path<(Uuid, Uuid)>,
) -> ApiResult<AxumJson<TeamView>> {
    Ok(AxumJson(s.app.set_team_member(&p, team, user, true).await?))
}

async fn remove_member(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path((team, user)): Path<(Uuid, Uuid)>,
) -> ApiResult<AxumJson<TeamView>> {
    Ok(AxumJson(s.app.set_team_member(&p, team, user, false).await?))
}
