//! Data-subject requests: the open ones with their deadline clocks and an intake form, and a
//! request's page (verify by the customer's code or an operator's attestation, fulfil,
//! download the export). Each page mirrors a `/api/v1/privacy/requests` route and needs
//! `privacy:manage`, as the API does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::privacy::requests::{NewPrivacyRequest, PrivacyRequestView, RequestQuery, VerifyInput};
use switchboard_core::Permission;
use uuid::Uuid;

use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer, percent_encode};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

/// The request types the intake form offers, in the API's words.
const KINDS: [&str; 7] =
    ["access", "export", "rectification", "erasure", "restriction", "objection", "withdraw_consent"];

pub fn routes(p: Pages) -> Pages {
    let manage = Access::Perm(Permission::PrivacyManage);
    let list = "/api/v1/privacy/requests";
    let one = "/api/v1/privacy/requests/{id}";
    p.add(PageSpec::get("/privacy", manage).mirrors(Method::GET, list), index)
        .add(PageSpec::post("/privacy/requests", manage).mirrors(Method::POST, list), create)
        .add(PageSpec::get("/privacy/requests/{id}", manage).mirrors(Method::GET, one), show)
        .add(
            PageSpec::post("/privacy/requests/{id}/verify", manage)
                .mirrors(Method::POST, "/api/v1/privacy/requests/{id}/verify"),
            verify,
        )
        .add(
            PageSpec::post("/privacy/requests/{id}/fulfil", manage)
                .mirrors(Method::POST, "/api/v1/privacy/requests/{id}/fulfil"),
            fulfil,
        )
}

fn request_id(raw: &str) -> Result<Uuid, UiError> {
    raw.parse().map_err(|_| UiError(AppError::NotFound))
}

/// A request as the pages show it (labels are translation keys).
pub struct RequestItem {
    pub id: String,
    pub contact_id: String,
    pub kind_key: String,
    pub status: String,
    pub status_key: String,
    pub jurisdiction: String,
    pub created_at: String,
    pub due_at: String,
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub verified_by: Option<String>,
    pub fulfilled_at: Option<String>,
    pub code_delivery_key: Option<String>,
    pub code_delivery_reason: Option<String>,
    pub download_url: Option<String>,
    pub unverified: bool,
}

impl From<PrivacyRequestView> for RequestItem {
    fn from(r: PrivacyRequestView) -> Self {
        let delivery = r.code_delivery.as_ref();
        Self {
            id: r.id.to_string(),
            contact_id: r.contact_id.to_string(),
            kind_key: format!("privacy.kind.{}", r.kind),
            status_key: format!("privacy.status.{}", r.status),
            unverified: matches!(r.status.as_str(), "unverified" | "verification_locked"),
            status: r.status,
            jurisdiction: r.jurisdiction.to_uppercase(),
            created_at: short_time(&r.created_at),
            due_at: short_time(&r.due_at),
            days_left: r.days_left,
            overdue: r.overdue,
            verified_by: r.verified_by,
            fulfilled_at: r.fulfilled_at.as_deref().map(short_time),
            code_delivery_key: delivery
                .and_then(|d| d["status"].as_str())
                .map(|s| format!("privacy.delivery.{}", if s == "failed" { "failed" } else { "sent" })),
            code_delivery_reason: delivery.and_then(|d| d["reason"].as_str()).map(str::to_owned),
            download_url: r.download_url,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy/index.html")]
struct IndexPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<crate::ui::pages::settings::Tab>,
    rows: Vec<RequestItem>,
    /// All requests listed (`?status=all`), not only the open ones.
    all: bool,
    /// The next page's link, when there are older requests.
    next: Option<String>,
    /// The first page's link, when this is a later one.
    first: Option<String>,
    /// (value, translation key) of each request type.
    kinds: Vec<(&'static str, String)>,
    contact_id: String,
    notice: Option<Notice>,
}

impl IndexPage {
    fn contact_invalid(&self) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), "contact_id")
    }
}

/// Requests a page shows (newest first; the next ones behind a keyset cursor).
const REQUESTS_PAGE: u32 = 25;

/// `?status=open|all` (open by default) and `?cursor=` (the next page).
#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn index_page(
    s: &AppState,
    v: &Viewer,
    list: &ListQuery,
    contact_id: String,
    notice: Option<Notice>,
) -> PageResult<IndexPage> {
    let all = list.status.as_deref() == Some("all");
    let q = RequestQuery {
        status: Some(if all { "all" } else { "open" }.into()),
        cursor: list.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(REQUESTS_PAGE),
    };
    let paged = q.cursor.is_some();
    let page = s.app.list_privacy_requests(&v.principal, q).await?;
    let filter = if all { "status=all&" } else { "" };
    Ok(IndexPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Privacy),
        tabs: super::privacy_controls::tabs("/privacy"),
        all,
        next: page.next_cursor.map(|c| format!("/privacy?{filter}cursor={}", percent_encode(&c))),
        first: paged.then(|| format!("/privacy{}", if all { "?status=all" } else { "" })),
        rows: page.items.into_iter().map(Into::into).collect(),
        kinds: KINDS.iter().map(|k| (*k, format!("privacy.kind.{k}"))).collect(),
        contact_id,
        notice,
    })
}

async fn index(State(s): State<AppState>, v: Viewer, Query(q): Query<ListQuery>) -> PageResult {
    Ok(index_page(&s, &v, &q, String::new(), None).await?.into_response())
}

#[derive(Deserialize, Default)]
struct IntakeForm {
    #[serde(default)]
    contact_id: String,
    #[serde(default, rename = "type")]
    kind: String,
}

async fn create(State(s): State<AppState>, v: Viewer, Form(f): Form<IntakeForm>) -> PageResult {
    let body = serde_json::json!({"contact_id": f.contact_id.trim(), "type": f.kind});
    let result = match serde_json::from_value::<NewPrivacyRequest>(body) {
        Ok(input) => s.app.create_privacy_request(&v.principal, input).await,
        Err(_) => Err(switchboard_core::Invalid::new("contact_id", "invalid_contact", "give a contact id").into()),
    };
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/privacy/requests/{}?done=created", r.id)).into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let page = index_page(&s, &v, &ListQuery::default(), f.contact_id, Some(notice)).await?;
            Ok(htmx::at("/privacy", (status, page).into_response()))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy/show.html")]
struct RequestPage {
    t: Tr,
    layout: Layout,
    r: RequestItem,
    notice: Option<Notice>,
}

/// `?done=…` after a change: which success message to show (only known ones are).
#[derive(Deserialize, Default)]
pub(super) struct Done {
    #[serde(default)]
    pub(super) done: Option<String>,
}

async fn request_page(s: &AppState, v: &Viewer, id: Uuid, notice: Option<Notice>) -> PageResult<RequestPage> {
    let r = s.app.get_privacy_request(&v.principal, id).await?;
    Ok(RequestPage { t: v.t, layout: Layout::new(Some(v), Section::Privacy), r: r.into(), notice })
}

async fn show(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Query(q): Query<Done>) -> PageResult {
    let done = match q.done.as_deref() {
        Some("created") => Some(key("privacy.done_created")),
        Some("verified") => Some(key("privacy.done_verified")),
        Some("fulfilled") => Some(key("privacy.done_fulfilled")),
        _ => None,
    };
    let notice = done.map(|k| Notice::success(v.t.get(k)));
    Ok(request_page(&s, &v, request_id(&id)?, notice).await?.into_response())
}

/// The request's page again with the problem shown (or an error page for the others).
async fn request_error(s: &AppState, v: &Viewer, id: Uuid, e: AppError) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let page = request_page(s, v, id, Some(notice)).await?;
    Ok(htmx::at(&format!("/privacy/requests/{id}"), (status, page).into_response()))
}

#[derive(Deserialize, Default)]
struct VerifyForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    operator_attestation: String,
}

async fn verify(State(s): State<AppState>, v: Viewer, Path(id): Path<String>, Form(f): Form<VerifyForm>) -> PageResult {
    let id = request_id(&id)?;
    let some = |x: String| (!x.trim().is_empty()).then(|| x.trim().to_owned());
    let input = VerifyInput { code: some(f.code), operator_attestation: some(f.operator_attestation) };
    match s.app.verify_privacy_request(&v.principal, id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/privacy/requests/{id}?done=verified")).into_response()),
        Err(e) => request_error(&s, &v, id, e).await,
    }
}

async fn fulfil(State(s): State<AppState>, v: Viewer, Path(id): Path<String>) -> PageResult {
    let id = request_id(&id)?;
    match s.app.fulfil_privacy_request(&v.principal, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/privacy/requests/{id}?done=fulfilled")).into_response()),
        Err(e) => request_error(&s, &v, id, e).await,
    }
}
