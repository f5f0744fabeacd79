//! Logging in (e-mail and password, then the TOTP step when the user has 2FA) and out, and
//! `/`, which leads to the first page the user may open.

use std::net::IpAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_core::Permission;

use crate::api::session::{cleared_cookie, session_cookie};
use crate::auth::{Access, session_token};
use crate::client_ip::ClientIp;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer, percent_encode, safe_next, to_login};
use crate::ui::form::{Form, Query};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let public = Access::Public;
    p.add(PageSpec::get("/login", public).mirrors(Method::POST, "/api/v1/auth/login"), login_page)
        .add(PageSpec::post("/login", public).mirrors(Method::POST, "/api/v1/auth/login"), login)
        .add(PageSpec::get("/login/totp", public).mirrors(Method::POST, "/api/v1/auth/totp"), totp_page)
        .add(PageSpec::post("/login/totp", public).mirrors(Method::POST, "/api/v1/auth/totp"), totp_step)
        .add(PageSpec::post("/logout", public).mirrors(Method::POST, "/api/v1/auth/logout"), logout)
        .add(PageSpec::get("/", Access::Authenticated), home)
}

#[derive(Deserialize, Default)]
struct Next {
    #[serde(default)]
    next: Option<String>,
    /// `1` after accepting an invitation: the account exists, log in.
    #[serde(default)]
    welcome: Option<String>,
}

impl Next {
    /// Where to go once logged in: `next` when it is a path of this site, else `/`.
    fn target(&self) -> &str {
        self.next.as_deref().and_then(safe_next).unwrap_or("/")
    }

    /// `?next=…` to carry the target through the login steps.
    fn query(&self) -> String {
        match self.target() {
            "/" => String::new(),
            n => format!("?next={}", percent_encode(n)),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    layout: Layout,
    email: String,
    next: String,
    notice: Option<Notice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "login_totp.html")]
struct TotpPage {
    t: Tr,
    layout: Layout,
    next: String,
    notice: Option<Notice>,
}

/// What the browser's session cookie says about the login so far.
enum Progress {
    None,
    SecondFactor,
    Done,
}

async fn progress(s: &AppState, jar: &CookieJar, ip: IpAddr) -> Progress {
    let Some(token) = session_token(jar, s.web.secure_cookies) else {
        return Progress::None;
    };
    match s.app.session_auth(&token, ip).await {
        Ok(a) if a.mfa_pending => Progress::SecondFactor,
        Ok(_) => Progress::Done,
        Err(_) => Progress::None,
    }
}

async fn login_page(
    State(s): State<AppState>,
    t: Tr,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Query(next): Query<Next>,
) -> Response {
    match progress(&s, &jar, ip).await {
        Progress::Done => Redirect::to(next.target()).into_response(),
        Progress::SecondFactor => Redirect::to(&format!("/login/totp{}", next.query())).into_response(),
        Progress::None => LoginPage {
            t,
            layout: Layout::new(None, Section::None),
            email: String::new(),
            next: next.target().to_owned(),
            notice: (next.welcome.as_deref() == Some("1")).then(|| Notice::success(t.get("invite.accepted"))),
        }
        .into_response(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(s): State<AppState>,
    t: Tr,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let previous = session_token(&jar, s.web.secure_cookies);
    let next = Next { next: f.next, welcome: None };
    match s.app.login(&f.email, &f.password, ip, ua, previous.as_deref()).await {
        Ok(r) => {
            let to = if r.mfa_required { format!("/login/totp{}", next.query()) } else { next.target().to_owned() };
            Ok((jar.add(session_cookie(&s, r.token)), Redirect::to(&to)).into_response())
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = match e {
                AppError::Unauthenticated(_) => Notice::error(t.get("login.failed")),
                other => inline(t, other)?,
            };
            let page = LoginPage {
                t,
                layout: Layout::new(None, Section::None),
                email: f.email,
                next: next.target().to_owned(),
                notice: Some(notice),
            };
            Ok(htmx::at("/login", (status, page).into_response()))
        }
    }
}

async fn totp_page(
    State(s): State<AppState>,
    t: Tr,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Query(next): Query<Next>,
) -> Response {
    match progress(&s, &jar, ip).await {
        Progress::Done => Redirect::to(next.target()).into_response(),
        Progress::None => Redirect::to("/login").into_response(),
        Progress::SecondFactor => {
            TotpPage { t, layout: Layout::new(None, Section::None), next: next.target().to_owned(), notice: None }
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    #[serde(default)]
    next: Option<String>,
}

async fn totp_step(
    State(s): State<AppState>,
    t: Tr,
    hx: Hx,
    jar: CookieJar,
    ClientIp(ip): ClientIp,
    Form(f): Form<CodeForm>,
) -> PageResult {
    let next = Next { next: f.next, welcome: None };
    let Some(token) = session_token(&jar, s.web.secure_cookies) else {
        return Ok(to_login(&s, hx, None));
    };
    let Err(e) = s.app.verify_mfa(&token, &f.code, ip).await else {
        return Ok(Redirect::to(next.target()).into_response());
    };
    // Too many wrong codes end the pending session: then the login starts over.
    if !matches!(progress(&s, &jar, ip).await, Progress::SecondFactor) {
        return Ok(to_login(&s, hx, None));
    }
    let status = status_of(&e);
    let notice = match e {
        AppError::Unauthenticated(_) => Notice::error(t.get("totp.invalid")),
        other => inline(t, other)?,
    };
    let page =
        TotpPage { t, layout: Layout::new(None, Section::None), next: next.target().to_owned(), notice: Some(notice) };
    Ok(htmx::at("/login/totp", (status, page).into_response()))
}

async fn logout(State(s): State<AppState>, jar: CookieJar, ClientIp(ip): ClientIp) -> PageResult {
    if let Some(token) = session_token(&jar, s.web.secure_cookies) {
        s.app.logout(&token, ip).await?;
    }
    Ok((jar.add(cleared_cookie(&s)), Redirect::to("/login")).into_response())
}

async fn home(v: Viewer) -> Response {
    let to = if v.can(Permission::ConversationsRead) {
        "/inbox"
    } else if v.can(Permission::ContactsRead) {
        "/contacts"
    } else {
        "/profile"
    };
    Redirect::to(to).into_response()
}
