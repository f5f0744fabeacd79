//! The caller's own account: profile, password, 2FA, sessions.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use switchboard_app::auth::{SessionView, TotpEnrolment};
use switchboard_app::page::Page;
use switchboard_app::users::{UserPatch, UserView};

use crate::api::session::cleared_cookie;
use crate::api::whole;
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::{Caller, Json};
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub locale: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Shown once. Each works once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

pub fn routes(r: Routes) -> Routes {
    let a = Access::Authenticated;
    r.add(RouteSpec::get("/api/v1/me", a, "Your profile").returns::<UserView>(), me)
        .add(
            RouteSpec::patch("/api/v1/me", a, "Change your language").body::<MePatch>().returns::<UserView>(),
            patch_me,
        )
        .add(
            RouteSpec::post("/api/v1/me/password", a, "Change your password; your other sessions end")
                .body::<PasswordChange>()
                .status(StatusCode::NO_CONTENT),
            change_password,
        )
        .add(
            RouteSpec::post("/api/v1/me/totp", a, "Start 2FA enrolment: secret and QR code")
                .returns::<TotpEnrolment>()
                .status(StatusCode::CREATED),
            totp_begin,
        )
        .add(
            RouteSpec::post("/api/v1/me/totp/confirm", a, "Confirm 2FA with a first code; returns recovery codes")
                .body::<super::session::CodeBody>()
                .returns::<RecoveryCodes>(),
            totp_confirm,
        )
        .add(
            RouteSpec::post("/api/v1/me/totp/disable", a, "Turn 2FA off (password required)")
                .body::<PasswordBody>()
                .status(StatusCode::NO_CONTENT),
            totp_disable,
        )
        .add(RouteSpec::get("/api/v1/me/sessions", a, "Your open sessions").returns_list::<SessionView>(), sessions)
        .add(RouteSpec::delete("/api/v1/me/sessions", a, "Log out everywhere"), logout_everywhere)
}

async fn me(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<UserView>> {
    Ok(AxumJson(state.app.me(&p).await?))
}

async fn patch_me(
    State(state): State<AppState>,
    Caller(p): Caller,
    Json(body): Json<MePatch>,
) -> ApiResult<AxumJson<UserView>> {
    let id = p.require_user()?;
    let patch = UserPatch { locale: Some(body.locale), ..UserPatch::default() };
    Ok(AxumJson(state.app.update_user(&p, id, patch).await?))
}

async fn change_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    state.app.change_password(&p, &b.current_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn totp_begin(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, AxumJson(state.app.totp_begin(&p).await?)))
}

async fn totp_confirm(
    State(state): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<super::session::CodeBody>,
) -> ApiResult<AxumJson<RecoveryCodes>> {
    Ok(AxumJson(RecoveryCodes { recovery_codes: state.app.totp_confirm(&p, &b.code).await? }))
}

async fn totp_disable(
    State(state): State<AppState>,
    Caller(p): Caller,
    Json(b): Json<PasswordBody>,
) -> ApiResult<StatusCode> {
    state.app.totp_disable(&p, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(State(state): State<AppState>, Caller(p): Caller) -> ApiResult<AxumJson<Page<SessionView>>> {
    Ok(AxumJson(whole(state.app.list_sessions(&p).await?)))
}

async fn logout_everywhere(
    State(state): State<AppState>,
    Caller(p): Caller,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    state.app.logout_everywhere(&p).await?;
    Ok((jar.add(cleared_cookie(&state)), StatusCode::NO_CONTENT))
}
