//! Logging in and out with a session cookie, and the 2FA step.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use crate::auth::{Access, session_cookie_name, session_token};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::routes::{RouteSpec, Routes};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    /// When true, POST a code to `/api/v1/auth/totp` before anything else.
    pub mfa_required: bool,
    pub user_id: String,
    pub tenant_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A 6-digit TOTP code, or a recovery code.
    pub code: String,
}

pub fn routes(r: Routes) -> Routes {
    r.add(
        RouteSpec::post("/api/v1/auth/login", Access::Public, "Log in; sets the session cookie")
            .body::<LoginBody>()
            .returns::<LoginAnswer>(),
        login,
    )
    .add(
        RouteSpec::post("/api/v1/auth/totp", Access::Public, "Finish login with a TOTP or recovery code")
            .body::<CodeBody>()
            .status(StatusCode::NO_CONTENT),
        totp_step,
    )
    .add(
        RouteSpec::post("/api/v1/auth/logout", Access::Public, "End this session").status(StatusCode::NO_CONTENT),
        logout,
    )
}

pub(crate) fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((session_cookie_name(state.web.secure_cookies), token))
        .http_only(true)
        .secure(state.web.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::milliseconds(state.app.config.session.absolute_ttl_ms))
        .build()
}

pub(crate) fn cleared_cookie(state: &AppState) -> Cookie<'static> {
    Cookie::build((session_cookie_name(state.web.secure_cookies), ""))
        .http_only(true)
        .secure(state.web.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::ZERO)
        .build()
}

async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let previous = session_token(&jar, state.web.secure_cookies);
    let r = state.app.login(&body.email, &body.password, ip, ua, previous.as_deref()).await?;
    let jar = jar.add(session_cookie(&state, r.token));
    Ok((
        jar,
        AxumJson(LoginAnswer {
            mfa_required: r.mfa_required,
            user_id: r.user.to_string(),
            tenant_id: r.tenant.to_string(),
        }),
    ))
}

async fn totp_step(
    State(state): State<AppState>,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Json(body): Json<CodeBody>,
) -> ApiResult<StatusCode> {
    let token = session_token(&jar, state.web.secure_cookies)
        .ok_or(ApiError(switchboard_app::AppError::Unauthenticated("log in first")))?;
    state.app.verify_mfa(&token, &body.code, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn logout(State(state): State<AppState>, jar: CookieJar, ClientIp(ip): ClientIp) -> ApiResult<impl IntoResponse> {
    if let Some(token) = session_token(&jar, state.web.secure_cookies) {
        state.app.logout(&token, ip).await?;
    }
    Ok((jar.add(cleared_cookie(&state)), StatusCode::NO_CONTENT))
}
