//! The signed-in user's own account: language, password, two-factor enrolment (QR code,
//! first code, recovery codes shown once) and removal, and open sessions with "log out
//! everywhere". Every page here mirrors a `/api/v1/me` route and needs only a session.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use switchboard_app::auth::SessionView;
use switchboard_app::users::UserPatch;

use crate::api::session::cleared_cookie;
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::{Locale, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let a = Access::Authenticated;
    p.add(PageSpec::get("/profile", a).mirrors(Method::GET, "/api/v1/me"), profile)
        .add(PageSpec::post("/profile/locale", a).mirrors(Method::PATCH, "/api/v1/me"), set_locale)
        .add(PageSpec::post("/profile/password", a).mirrors(Method::POST, "/api/v1/me/password"), change_password)
        .add(PageSpec::post("/profile/totp/begin", a).mirrors(Method::POST, "/api/v1/me/totp"), totp_begin)
        .add(PageSpec::get("/profile/totp", a).mirrors(Method::POST, "/api/v1/me/totp"), totp_page)
        .add(PageSpec::post("/profile/totp", a).mirrors(Method::POST, "/api/v1/me/totp/confirm"), totp_confirm)
        .add(PageSpec::post("/profile/totp/disable", a).mirrors(Method::POST, "/api/v1/me/totp/disable"), totp_disable)
        .add(
            PageSpec::post("/profile/sessions/end-all", a).mirrors(Method::DELETE, "/api/v1/me/sessions"),
            end_all_sessions,
        )
}

pub struct SessionItem {
    pub current: bool,
    pub ip: String,
    pub user_agent: String,
    pub created_at: String,
    pub last_seen_at: String,
}

impl From<SessionView> for SessionItem {
    fn from(s: SessionView) -> Self {
        Self {
            current: s.current,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: short_time(&s.created_at),
            last_seen_at: short_time(&s.last_seen_at),
        }
    }
}

/// A language the user can pick, named in itself.
pub struct LanguageOption {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/index.html")]
struct ProfilePage {
    t: crate::ui::i18n::Tr,
    layout: Layout,
    email: String,
    name: String,
    totp_enabled: bool,
    languages: Vec<LanguageOption>,
    sessions: Vec<SessionItem>,
    done: Option<Notice>,
    password_notice: Option<Notice>,
    totp_notice: Option<Notice>,
}

/// Which form of the profile page an error belongs to.
enum Part {
    Password,
    Totp,
}

async fn profile_page(s: &AppState, v: &Viewer, done: Option<Notice>) -> PageResult<ProfilePage> {
    let sessions = s.app.list_sessions(&v.principal).await?;
    Ok(ProfilePage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Profile),
        email: v.me.email.clone(),
        name: v.me.name.clone().unwrap_or_default(),
        totp_enabled: v.me.totp_enabled,
        languages: Locale::ALL
            .into_iter()
            .map(|l| LanguageOption {
                code: l.code(),
                label: match l {
                    Locale::En => "English",
                    Locale::Tr => "Türkçe",
                },
                selected: l == v.t.0,
            })
            .collect(),
        sessions: sessions.into_iter().map(SessionItem::from).collect(),
        done,
        password_notice: None,
        totp_notice: None,
    })
}

/// The profile page again, with `e` beside the form it came from (or an error page).
async fn with_error(s: &AppState, v: &Viewer, part: Part, e: switchboard_app::AppError) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let mut page = profile_page(s, v, None).await?;
    match part {
        Part::Password => page.password_notice = Some(notice),
        Part::Totp => page.totp_notice = Some(notice),
    }
    Ok(htmx::at("/profile", (status, page).into_response()))
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

async fn profile(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    // Only known outcomes are shown: the query string cannot put text on the page.
    let done = match q.done.as_deref() {
        Some("password") => Some(key("profile.done_password")),
        Some("language") => Some(key("profile.done_language")),
        Some("totp_off") => Some(key("profile.done_totp_off")),
        _ => None,
    };
    let done = done.map(|k| Notice::success(v.t.get(k)));
    Ok(profile_page(&s, &v, done).await?.into_response())
}

#[derive(Deserialize)]
struct LocaleForm {
    locale: String,
}

async fn set_locale(State(s): State<AppState>, v: Viewer, Form(f): Form<LocaleForm>) -> PageResult {
    let patch = UserPatch { locale: Some(f.locale), ..UserPatch::default() };
    let me = v.principal.require_user()?;
    s.app.update_user(&v.principal, me, patch).await?;
    Ok(Redirect::to("/profile?done=language").into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(State(s): State<AppState>, v: Viewer, Form(f): Form<PasswordForm>) -> PageResult {
    if f.new_password != f.confirm_password {
        let mut page = profile_page(&s, &v, None).await?;
        page.password_notice = Some(Notice {
            field: Some("confirm_password".into()),
            ..Notice::error(v.t.get("profile.password_mismatch"))
        });
        return Ok(htmx::at("/profile", (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()));
    }
    match s.app.change_password(&v.principal, &f.current_password, &f.new_password).await {
        Ok(()) => Ok(Redirect::to("/profile?done=password").into_response()),
        Err(e) => with_error(&s, &v, Part::Password, e).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/totp.html")]
struct TotpEnrolPage {
    t: crate::ui::i18n::Tr,
    layout: Layout,
    secret: String,
    /// The QR code's SVG as a `data:` URL for an `<img>`: the markup is never put into the
    /// page itself.
    qr_src: String,
    notice: Option<Notice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile/recovery_codes.html")]
struct RecoveryCodesPage {
    t: crate::ui::i18n::Tr,
    layout: Layout,
    codes: Vec<String>,
}

async fn totp_begin(State(s): State<AppState>, v: Viewer) -> PageResult {
    match s.app.totp_begin(&v.principal).await {
        Ok(_) => Ok(Redirect::to("/profile/totp").into_response()),
        Err(e) => with_error(&s, &v, Part::Totp, e).await,
    }
}

async fn enrol_page(s: &AppState, v: &Viewer, notice: Option<Notice>) -> PageResult<Option<TotpEnrolPage>> {
    let Some(e) = s.app.totp_pending(&v.principal).await? else {
        return Ok(None);
    };
    Ok(Some(TotpEnrolPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Profile),
        secret: e.secret,
        qr_src: format!("data:image/svg+xml;base64,{}", STANDARD.encode(e.qr_svg)),
        notice,
    }))
}

async fn totp_page(State(s): State<AppState>, v: Viewer) -> PageResult {
    Ok(match enrol_page(&s, &v, None).await? {
        Some(page) => page.into_response(),
        // Nothing begun (or already on): the profile has the buttons.
        None => Redirect::to("/profile").into_response(),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn totp_confirm(State(s): State<AppState>, v: Viewer, Form(f): Form<CodeForm>) -> PageResult {
    match s.app.totp_confirm(&v.principal, f.code.trim()).await {
        Ok(codes) => {
            let page = RecoveryCodesPage { t: v.t, layout: Layout::new(Some(&v), Section::Profile), codes };
            Ok(htmx::at("/profile/totp", page.into_response()))
        }
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            Ok(match enrol_page(&s, &v, Some(notice)).await? {
                Some(page) => htmx::at("/profile/totp", (status, page).into_response()),
                None => Redirect::to("/profile").into_response(),
            })
        }
    }
}

#[derive(Deserialize)]
struct PasswordOnly {
    password: String,
}

async fn totp_disable(State(s): State<AppState>, v: Viewer, Form(f): Form<PasswordOnly>) -> PageResult {
    match s.app.totp_disable(&v.principal, &f.password).await {
        Ok(()) => Ok(Redirect::to("/profile?done=totp_off").into_response()),
        Err(e) => with_error(&s, &v, Part::Totp, e).await,
    }
}

async fn end_all_sessions(State(s): State<AppState>, v: Viewer, jar: CookieJar) -> PageResult {
    s.app.logout_everywhere(&v.principal).await?;
    Ok((jar.add(cleared_cookie(&s)), Redirect::to("/login")).into_response())
}
