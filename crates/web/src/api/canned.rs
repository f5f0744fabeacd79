//! Canned responses: the tenant's stock replies, inserted with "/" in the inbox composer.
//! Everyone who reads conversations may list them; changing them is a settings permission.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::inbox::{CannedInput, CannedView};
use switchboard_app::page::Page;
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
    let manage = Access::Perm(P::SettingsManage);
    r.add(
        RouteSpec::get("/api/v1/canned-responses", Access::Perm(P::ConversationsRead), "Canned responses, by shortcut")
            .returns_list::<CannedView>(),
        list,
    )
    .add(
        RouteSpec::post("/api/v1/canned-responses", manage, "Create a canned response")
            .body::<CannedInput>()
            .returns::<CannedView>()
            .status(StatusCode::CREATED),
        create,
    )
    .add(
        RouteSpec::put("/api/v1/canned-responses/{id}", manage, "Change a canned response")
            .body::<CannedInput>()
            .returns::<CannedView>(),
        update,
    )
    .add(RouteSpec::delete("/api/v1/canned-responses/{id}", manage, "Delete a canned response"), delete)
}

async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<CannedView>>> {
    Ok(AxumJson(whole(s.app.list_canned(&p).await?)))
}

async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<CannedInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.save_canned(&p, None, &b).await?)))
}

async fn update(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<CannedInput>,
) -> ApiResult<AxumJson<CannedView>> {
    Ok(AxumJson(s.app.save_canned(&p, Some(id), &b).await?))
}

async fn delete(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    s.app.delete_canned(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
