//! Sessions for pages. Every page route runs [`guard`] with the access rule it was registered
//! with: no session sends the browser to `/login`, a session waiting for its second factor to
//! the TOTP step, a missing permission gets a 403 page. The signed-in [`Viewer`] (principal,
//! profile, language) is handed to the handler. Handlers return [`UiError`] for failures they
//! do not show inline; `guard` turns those into error pages with the viewer's layout, so
//! errors never leak internals and look the same everywhere.

use std::net::IpAddr;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use switchboard_app::AppError;
use switchboard_app::auth::{Actor, Principal};
use switchboard_app::users::UserView;
use switchboard_core::{Permission, Role};

use super::htmx::{self, Hx};
use super::i18n::{self, Locale, Tr, key};
use super::layout::{Layout, Section};
use super::notice::{Notice, status_of};
use crate::api::session::cleared_cookie;
use crate::auth::{Access, session_token};
use crate::client_ip::ClientIp;
use crate::state::AppState;

/// The signed-in user of a page request.
#[derive(Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub me: UserView,
    pub t: Tr,
}

impl Viewer {
    #[must_use]
    pub fn can(&self, p: Permission) -> bool {
        self.principal.can(p)
    }

    #[must_use]
    pub fn role(&self) -> Role {
        match self.principal.actor {
            Actor::User { role, .. } => role,
            // Pages are for session users only; other actors never reach a handler.
            _ => Role::Analyst,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Viewer>().cloned().ok_or_else(|| {
            // A handler that needs a viewer on a public route is a wiring bug.
            UiError(AppError::Internal("page route without a session check".into()))
        })
    }
}

/// A failure a handler does not show inline; [`guard`] renders it as a page.
pub struct UiError(pub AppError);

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

pub type PageResult<T = Response> = Result<T, UiError>;

/// Carries a handler's error out to [`guard`], which knows the viewer and the language.
#[derive(Clone)]
struct Failure(Arc<AppError>);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let mut res = status_of(&self.0).into_response();
        res.extensions_mut().insert(Failure(Arc::new(self.0)));
        res
    }
}

enum Gate {
    Login,
    SecondFactor,
    Failed(AppError),
}

fn client_ip(parts: &Parts) -> IpAddr {
    parts.extensions.get::<ClientIp>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0)
}

async fn resolve(state: &AppState, parts: &Parts) -> Result<Viewer, Gate> {
    let jar = CookieJar::from_headers(&parts.headers);
    let token = session_token(&jar, state.web.secure_cookies).ok_or(Gate::Login)?;
    let gate = |e: AppError| match e {
        AppError::Unauthenticated(_) => Gate::Login,
        other => Gate::Failed(other),
    };
    let auth = state.app.session_auth(&token, client_ip(parts)).await.map_err(gate)?;
    if auth.mfa_pending {
        return Err(Gate::SecondFactor);
    }
    let me = state.app.me(&auth.principal).await.map_err(gate)?;
    let t = Tr(Locale::from_code(&me.locale).unwrap_or_default());
    Ok(Viewer { principal: auth.principal, me, t })
}

/// The access check of every page route (see `super::Pages::add`).
pub async fn guard(state: AppState, access: Access, req: Request, next: Next) -> Response {
    let hx = Hx::from_headers(req.headers());
    let (mut parts, body) = req.into_parts();
    let viewer = if access == Access::Public {
        None
    } else {
        match resolve(&state, &parts).await {
            Ok(v) => Some(v),
            Err(Gate::Login) => return to_login(&state, hx, return_path(&parts, hx)),
            Err(Gate::SecondFactor) => return hx.redirect("/login/totp"),
            Err(Gate::Failed(e)) => return error_page(i18n::for_request(&parts), None, hx, &e),
        }
    };
    if let (Access::Perm(p), Some(v)) = (access, &viewer)
        && !v.can(p)
    {
        return error_page(v.t, viewer.as_ref(), hx, &AppError::forbidden());
    }
    if let Some(v) = &viewer {
        parts.extensions.insert(v.clone());
    }
    let t = i18n::for_request(&parts);
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if let Some(Failure(e)) = res.extensions_mut().remove::<Failure>() {
        res = match &*e {
            AppError::Unauthenticated(_) => to_login(&state, hx, None),
            other => error_page(t, viewer.as_ref(), hx, other),
        };
    }
    htmx::vary(&mut res);
    res
}

/// Where to come back to after logging in: the page that was asked for, when it was a plain
/// page load.
fn return_path(parts: &Parts, hx: Hx) -> Option<String> {
    (parts.method == Method::GET && !hx.fragment())
        .then(|| parts.uri.path_and_query().map(ToString::to_string))
        .flatten()
        .filter(|p| safe_next(p).is_some())
}

/// `next` is followed only to a path of this site: `/…`, never `//host` or `/\host`.
#[must_use]
pub fn safe_next(next: &str) -> Option<&str> {
    let ok =
        next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// Sends the browser to the login page, forgetting a session cookie that no longer works.
pub fn to_login(state: &AppState, hx: Hx, next: Option<String>) -> Response {
    let target = match next.as_deref().filter(|n| *n != "/") {
        Some(n) => format!("/login?next={}", percent_encode(n)),
        None => "/login".to_owned(),
    };
    (CookieJar::new().add(cleared_cookie(state)), hx.redirect(&target)).into_response()
}

/// Encodes a path for a query value (everything but unreserved characters and `/`).
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    layout: Layout,
    title: &'static str,
    notice: Notice,
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html", block = "notice")]
struct ErrorFragment {
    notice: Notice,
}

/// An error as a page (or, for a fragment request, as a message in the fragment's place).
pub fn error_page(t: Tr, viewer: Option<&Viewer>, hx: Hx, e: &AppError) -> Response {
    if let AppError::Internal(detail) = e {
        // The detail names our own failure (never request data); the page says nothing of it.
        tracing::error!(error = %detail, "internal error on a page");
    }
    let status = status_of(e);
    let notice = Notice::of(t, e);
    if hx.fragment() {
        return (status, ErrorFragment { notice }).into_response();
    }
    let title = match status {
        StatusCode::FORBIDDEN => key("error.forbidden_title"),
        StatusCode::NOT_FOUND => key("error.not_found_title"),
        StatusCode::TOO_MANY_REQUESTS => key("error.rate_limited_title"),
        _ => key("error.generic_title"),
    };
    let page = ErrorPage { t, layout: Layout::new(viewer, Section::None), title, notice };
    (status, page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/contacts?label=vip"), Some("/contacts?label=vip"));
        assert_eq!(safe_next("//evil.example/x"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/a\nb"), None);
        assert_eq!(percent_encode("/contacts?q=a b&x"), "/contacts%3Fq%3Da%20b%26x");
    }
}
