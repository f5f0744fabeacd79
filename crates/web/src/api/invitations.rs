//! Invitations: managing users lists, creates (the token returned once) and revokes them; the
//! invitee's link is public: `GET /api/v1/invite/{token}` shows what it is for and
//! `POST /api/v1/invite/{token}` accepts it (name and password), creating the user.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_app::invitations::{Acceptance, CreatedInvitation, InvitationView, NewInvitation};
use switchboard_app::page::Page;
use switchboard_app::users::UserView;
use switchboard_core::Permission;
use uuid::Uuid;

use super::whole;
use crate::auth::Access;
use crate::client_ip::ClientIp;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

pub fn routes(r: Routes) -> Routes {
    let manage = Access::Perm(Permission::UsersManage);
    let link = "/api/v1/invite/{token}";
    r.add(
        RouteSpec::get("/api/v1/invitations", manage, "Pending invitations, newest first")
            .returns_list::<InvitationView>(),
        list,
    )
    .add(
        RouteSpec::post(
            "/api/v1/invitations",
            manage,
            "Invite a person by e-mail with a role; the token is returned once",
        )
        .body::<NewInvitation>()
        .returns::<CreatedInvitation>()
        .status(StatusCode::CREATED),
        create,
    )
    .add(RouteSpec::delete("/api/v1/invitations/{id}", manage, "Revoke a pending invitation"), revoke)
    .add(
        RouteSpec::get(link, Access::Public, "What an invitation link is for (410 when used, revoked or expired)")
            .returns::<InvitationView>(),
        show,
    )
    .add(
        RouteSpec::post(link, Access::Public, "Accept an invitation: the new user's name and password")
            .body::<AcceptBody>()
            .returns::<UserView>()
            .status(StatusCode::CREATED),
        accept,
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub name: String,
    /// The same rules as any password: 10 to 128 characters.
    pub password: String,
}

async fn list(State(s): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<InvitationView>>> {
    Ok(AxumJson(whole(s.app.list_invitations(&p).await?)))
}

async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<NewInvitation>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(s.app.create_invitation(&p, &b).await?)))
}

async fn revoke(State(s): State<AppState>, Caller(p): Caller, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    s.app.revoke_invitation(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show(State(s): State<AppState>, Path(token): Path<String>) -> ApiResult<AxumJson<InvitationView>> {
    Ok(AxumJson(s.app.open_invitation(&token).await?))
}

async fn accept(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    Json(b): Json<AcceptBody>,
) -> ApiResult<impl IntoResponse> {
    let input = Acceptance { name: b.name, password: b.password };
    Ok((StatusCode::CREATED, AxumJson(s.app.accept_invitation(&token, &input, ip).await?)))
}
