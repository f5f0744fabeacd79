//! Per-route access control. Every route declares an [`Access`] when it is registered
//! (`crate::routes`); this middleware authenticates the caller (API key or session cookie),
//! checks the permission, and hands the [`Principal`] to the handler.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use switchboard_app::AppError;
use switchboard_app::auth::Principal;
use switchboard_core::Permission;

use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed (health, login, webhooks verify their own signatures).
    Public,
    /// Any logged-in user or API key of the tenant.
    Authenticated,
    /// Holders of this permission.
    Perm(Permission),
}

/// The session cookie. Over HTTPS it carries the `__Host-` prefix, which browsers accept only
/// with `Secure`, `Path=/` and no `Domain`.
#[must_use]
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-sb_session" } else { "sb_session" }
}

fn client_ip(parts: &Parts) -> IpAddr {
    parts.extensions.get::<ClientIp>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0)
}

/// The session token from the request's cookie, if any.
#[must_use]
pub fn session_token(jar: &CookieJar, secure: bool) -> Option<String> {
    jar.get(session_cookie_name(secure)).map(|c| c.value().to_owned())
}

async fn authenticate(state: &AppState, parts: &Parts) -> Result<Principal, AppError> {
    let ip = client_ip(parts);
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let value = auth.to_str().map_err(|_| AppError::Unauthenticated("malformed Authorization header"))?;
        let token =
            value.strip_prefix("Bearer ").ok_or(AppError::Unauthenticated("use Authorization: Bearer <API key>"))?;
        return state.app.api_key_auth(token.trim(), ip).await;
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let token =
        session_token(&jar, state.web.secure_cookies).ok_or(AppError::Unauthenticated("log in or send an API key"))?;
    let auth = state.app.session_auth(&token, ip).await?;
    if auth.mfa_pending {
        return Err(AppError::Forbidden { code: "mfa_required", message: "finish the two-factor step first" });
    }
    Ok(auth.principal)
}

pub async fn authorize(state: AppState, access: Access, req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    // Split off the body: it is not `Sync`, so it must not be borrowed across an await.
    let (mut parts, body) = req.into_parts();
    let principal = match authenticate(&state, &parts).await {
        Ok(p) => p,
        Err(e) => return ApiError(e).into_response(),
    };
    if let Access::Perm(p) = access
        && let Err(e) = principal.require(p)
    {
        return ApiError(e).into_response();
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}
