//! Contacts.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_app::contacts::{ContactInput, ContactQuery, ContactView};
use switchboard_app::page::Page;
use switchboard_core::{ContactId, Permission};

use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

pub fn routes(r: Routes) -> Routes {
    use Permission as P;
    r.add(
        RouteSpec::get(
            "/api/v1/contacts",
            Access::Perm(P::ContactsRead),
            "List contacts, newest first; find by exact phone or e-mail",
        )
        .query::<ContactQuery>()
        .returns_list::<ContactView>(),
        list,
    )
    .add(
        RouteSpec::post("/api/v1/contacts", Access::Perm(P::ContactsWrite), "Create a contact")
            .body::<ContactInput>()
            .returns::<ContactView>()
            .status(StatusCode::CREATED),
        create,
    )
    .add(
        RouteSpec::get("/api/v1/contacts/{id}", Access::Perm(P::ContactsRead), "Get a contact")
            .returns::<ContactView>(),
        get_one,
    )
    .add(
        RouteSpec::patch(
            "/api/v1/contacts/{id}",
            Access::Perm(P::ContactsWrite),
            "Change a contact (null clears a field)",
        )
        .body::<ContactInput>()
        .returns::<ContactView>(),
        patch,
    )
    .add(
        RouteSpec::delete(
            "/api/v1/contacts/{id}",
            Access::Perm(P::ContactsDelete),
            "Delete a contact and destroy its key",
        ),
        delete,
    )
}

async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ContactQuery>,
) -> ApiResult<AxumJson<Page<ContactView>>> {
    Ok(AxumJson(s.app.list_contacts(&p, q).await?))
}

async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<ContactInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.create_contact(&p, b).await?)))
}

async fn get_one(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ContactId>,
) -> ApiResult<AxumJson<ContactView>> {
    Ok(AxumJson(s.app.get_contact(&p, id).await?))
}

async fn patch(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ContactId>,
    Json(b): Json<ContactInput>,
) -> ApiResult<AxumJson<ContactView>> {
    Ok(AxumJson(s.app.update_contact(&p, id, b).await?))
}

async fn delete(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<ContactId>) -> ApiResult<StatusCode> {
    s.app.delete_contact(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
