//! Labels across the organisation: everyone who reads conversations may list them with their
//! counts; renaming (merging) and deleting a label everywhere is managing settings.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use switchboard_app::labels::{LabelInput, LabelView};
use switchboard_app::page::Page;
use switchboard_core::Permission;

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
        RouteSpec::get(
            "/api/v1/labels",
            Access::Perm(P::ConversationsRead),
            "Labels in use on conversations and contacts, by name, with their counts",
        )
        .returns_list::<LabelView>(),
        list,
    )
    .add(
        RouteSpec::patch("/api/v1/labels/{name}", manage, "Rename a label everywhere (merging into one that exists)")
            .body::<LabelInput>()
            .returns::<LabelView>(),
        rename,
    )
    .add(
        RouteSpec::delete("/api/v1/labels/{name}", manage, "Remove a label from every conversation and contact"),
        delete,
    )
}

async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<LabelView>>> {
    Ok(AxumJson(whole(s.app.list_labels(&p).await?)))
}

async fn rename(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(name): Path<String>,
    Json(b): Json<LabelInput>,
) -> ApiResult<AxumJson<LabelView>> {
    Ok(AxumJson(s.app.rename_label(&p, &name, &b).await?))
}

async fn delete(State(s): State<AppState>, Caller(p): Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.app.delete_label(&p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
