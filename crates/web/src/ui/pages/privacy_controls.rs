//! Legal holds (list, place on the tenant, a contact or a conversation, release with a reason)
//! and retention (the policy per data category with the seeds' defaults, and a dry run of
//! what a run now would remove). Each page mirrors its `/api/v1/privacy/holds…` or
//! `/api/v1/privacy/retention…` route and needs `privacy:manage`, as the API does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::AppError;
use switchboard_app::privacy::holds::{HoldQuery, HoldView, NewHold, ReleaseHold};
use switchboard_app::privacy::retention::{
    DryRunCategory, RetentionPoliciesInput, RetentionPolicyInput, RetentionPolicyView,
};
use switchboard_core::Permission;
use switchboard_core::privacy::{DataCategory, HoldScope};
use uuid::Uuid;

use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, UiError, Viewer, percent_encode};
use crate::ui::form::{Form, Query, filled};
use crate::ui::htmx;
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::pages::privacy::Done;
use crate::ui::pages::settings::Tab;
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let manage = Access::Perm(Permission::PrivacyManage);
    let holds = "/api/v1/privacy/holds";
    let retention = "/api/v1/privacy/retention";
    p.add(PageSpec::get("/privacy/holds", manage).mirrors(Method::GET, holds), holds_index)
        .add(PageSpec::post("/privacy/holds", manage).mirrors(Method::POST, holds), place)
        .add(
            PageSpec::post("/privacy/holds/{id}/release", manage)
                .mirrors(Method::POST, "/api/v1/privacy/holds/{id}/release"),
            release,
        )
        .add(PageSpec::get("/privacy/retention", manage).mirrors(Method::GET, retention), retention_index)
        .add(PageSpec::post("/privacy/retention", manage).mirrors(Method::PUT, retention), save_retention)
        .add(
            PageSpec::get("/privacy/retention/dry-run", manage)
                .mirrors(Method::GET, "/api/v1/privacy/retention/dry-run"),
            dry_run,
        )
}

/// The privacy area's tabs (every one needs `privacy:manage`, which the viewer holds here).
pub fn tabs(active: &str) -> Vec<Tab> {
    [
        ("privacy.tab.requests", "/privacy"),
        ("privacy.tab.holds", "/privacy/holds"),
        ("privacy.tab.retention", "/privacy/retention"),
    ]
    .into_iter()
    .map(|(label, href)| Tab { label, href, active: href == active })
    .collect()
}

fn category_key(c: &str) -> String {
    format!("privacy.category.{c}")
}

/// A hold as the page shows it (labels are translation keys).
pub struct HoldItem {
    pub id: String,
    pub scope_key: String,
    pub subject_id: Option<String>,
    pub category_key: Option<String>,
    pub reason: String,
    pub placed_at: String,
    pub active: bool,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
    /// Disconnected numbers whose purge the hold keeps waiting: (number, since).
    pub channel_purges: Vec<(String, String)>,
}

impl From<HoldView> for HoldItem {
    fn from(h: HoldView) -> Self {
        Self {
            id: h.id.to_string(),
            scope_key: format!("privacy.scope.{}", h.scope),
            subject_id: h.subject_id.map(|s| s.to_string()),
            category_key: h.category.as_deref().map(category_key),
            reason: h.reason,
            placed_at: short_time(&h.placed_at),
            active: h.active,
            released_at: h.released_at.as_deref().map(short_time),
            release_reason: h.release_reason,
            channel_purges: h
                .channel_purges
                .into_iter()
                .map(|c| (c.display_phone_number, short_time(&c.since)))
                .collect(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy/holds.html")]
struct HoldsPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    rows: Vec<HoldItem>,
    /// Only active holds listed (`?status=active`).
    active_only: bool,
    /// The next page's link, when there are older holds.
    next: Option<String>,
    /// The first page's link, when this is a later one.
    first: Option<String>,
    /// (value, translation key) of each scope and each category.
    scopes: Vec<(&'static str, String)>,
    categories: Vec<(&'static str, String)>,
    form: HoldForm,
    notice: Option<Notice>,
}

impl HoldsPage {
    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

#[derive(Deserialize, Default)]
struct HoldForm {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    subject_id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    reason: String,
}

/// Holds a page shows (newest first; the next ones behind a keyset cursor).
const HOLDS_PAGE: u32 = 25;

/// `?status=active|all` (all by default), `?cursor=` (the next page), `?done=`.
#[derive(Deserialize, Default)]
struct HoldsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

impl HoldsQuery {
    fn active_only(&self) -> bool {
        self.status.as_deref() == Some("active")
    }
}

async fn holds_page(
    s: &AppState,
    v: &Viewer,
    list: &HoldsQuery,
    form: HoldForm,
    notice: Option<Notice>,
) -> PageResult<HoldsPage> {
    let active_only = list.active_only();
    let q = HoldQuery {
        status: Some(if active_only { "active" } else { "all" }.into()),
        cursor: list.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(HOLDS_PAGE),
    };
    let paged = q.cursor.is_some();
    let page = s.app.list_holds(&v.principal, q).await?;
    let status = if active_only { "status=active&" } else { "" };
    Ok(HoldsPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Privacy),
        tabs: tabs("/privacy/holds"),
        active_only,
        next: page.next_cursor.map(|c| format!("/privacy/holds?{status}cursor={}", percent_encode(&c))),
        first: paged.then(|| format!("/privacy/holds{}", if active_only { "?status=active" } else { "" })),
        rows: page.items.into_iter().map(Into::into).collect(),
        scopes: HoldScope::ALL.iter().map(|h| (h.as_str(), format!("privacy.scope.{}", h.as_str()))).collect(),
        categories: DataCategory::ALL.iter().map(|c| (c.as_str(), category_key(c.as_str()))).collect(),
        form,
        notice,
    })
}

async fn holds_index(State(s): State<AppState>, v: Viewer, Query(q): Query<HoldsQuery>) -> PageResult {
    let done = match q.done.as_deref() {
        Some("placed") => Some(key("privacy.hold_placed")),
        Some("released") => Some(key("privacy.hold_released")),
        _ => None,
    };
    let notice = done.map(|k| Notice::success(v.t.get(k)));
    Ok(holds_page(&s, &v, &q, HoldForm::default(), notice).await?.into_response())
}

/// The holds page again with the problem shown beside the form (or an error page).
async fn holds_error(s: &AppState, v: &Viewer, form: HoldForm, e: AppError) -> PageResult {
    let status = status_of(&e);
    let notice = inline(v.t, e)?;
    let page = holds_page(s, v, &HoldsQuery::default(), form, Some(notice)).await?;
    Ok(htmx::at("/privacy/holds", (status, page).into_response()))
}

async fn place(State(s): State<AppState>, v: Viewer, Form(f): Form<HoldForm>) -> PageResult {
    let subject = filled(&f.subject_id);
    let body = serde_json::json!({"scope": f.scope, "subject_id": subject, "category": filled(&f.category),
        "reason": f.reason});
    let result = match serde_json::from_value::<NewHold>(body) {
        Ok(input) => s.app.place_hold(&v.principal, input).await,
        Err(_) => Err(switchboard_core::Invalid::new(
            "subject_id",
            "invalid_subject",
            "choose a scope and give the contact or conversation id",
        )
        .into()),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/privacy/holds?done=placed").into_response()),
        Err(e) => holds_error(&s, &v, f, e).await,
    }
}

#[derive(Deserialize, Default)]
struct ReleaseForm {
    #[serde(default)]
    reason: String,
}

async fn release(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> PageResult {
    let id: Uuid = id.parse().map_err(|_| UiError(AppError::NotFound))?;
    match s.app.release_hold(&v.principal, id, ReleaseHold { reason: filled(&f.reason) }).await {
        Ok(_) => Ok(Redirect::to("/privacy/holds?done=released").into_response()),
        Err(e) => holds_error(&s, &v, HoldForm::default(), e).await,
    }
}

/// A category's policy as the page shows it.
pub struct PolicyItem {
    pub category: String,
    pub label_key: String,
    pub after_days: String,
    pub cap_days: String,
    pub default_after_days: Option<u32>,
    pub default_cap_days: Option<u32>,
    pub customised: bool,
    pub enforced: bool,
}

impl From<RetentionPolicyView> for PolicyItem {
    fn from(p: RetentionPolicyView) -> Self {
        let text = |d: Option<u32>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            label_key: category_key(&p.category),
            after_days: text(p.after_days),
            cap_days: text(p.cap_days),
            category: p.category,
            default_after_days: p.default_after_days,
            default_cap_days: p.default_cap_days,
            customised: p.customised,
            enforced: p.enforced,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy/retention.html")]
struct RetentionPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    rows: Vec<PolicyItem>,
    notice: Option<Notice>,
}

async fn retention_page(s: &AppState, v: &Viewer, notice: Option<Notice>) -> PageResult<RetentionPage> {
    let rows = s.app.retention_policies(&v.principal).await?;
    Ok(RetentionPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Privacy),
        tabs: tabs("/privacy/retention"),
        rows: rows.into_iter().map(Into::into).collect(),
        notice,
    })
}

async fn retention_index(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let notice = (q.done.as_deref() == Some("saved")).then(|| Notice::success(v.t.get("privacy.retention_saved")));
    Ok(retention_page(&s, &v, notice).await?.into_response())
}

/// One row per category: `category`, `after_days` and `cap_days` repeated in the same order
/// (an empty field: no limit on that side).
#[derive(Deserialize, Default)]
struct RetentionForm {
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    after_days: Vec<String>,
    #[serde(default)]
    cap_days: Vec<String>,
}

fn policies(f: &RetentionForm) -> Result<RetentionPoliciesInput, AppError> {
    let days = |field: &str, v: Option<&String>| -> Result<Option<u32>, AppError> {
        match v.and_then(|v| filled(v)) {
            None => Ok(None),
            Some(d) => d.parse().map(Some).map_err(|_| {
                switchboard_core::Invalid::new(field, "invalid_days", "a whole number of days, or empty").into()
            }),
        }
    };
    let mut out = Vec::with_capacity(f.category.len());
    for (i, c) in f.category.iter().enumerate() {
        let category: DataCategory = serde_json::from_value(serde_json::json!(c))
            .map_err(|_| AppError::Malformed("unknown data category".into()))?;
        let after_days = days("after_days", f.after_days.get(i))?;
        let cap_days = days("cap_days", f.cap_days.get(i))?;
        out.push(RetentionPolicyInput { category, after_days, cap_days });
    }
    Ok(RetentionPoliciesInput { policies: out })
}

async fn save_retention(State(s): State<AppState>, v: Viewer, Form(f): Form<RetentionForm>) -> PageResult {
    let result = match policies(&f) {
        Ok(input) => s.app.put_retention_policies(&v.principal, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/privacy/retention?done=saved").into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let page = retention_page(&s, &v, Some(notice)).await?;
            Ok(htmx::at("/privacy/retention", (status, page).into_response()))
        }
    }
}

/// A category of the dry run as the page shows it.
pub struct DryRunItem {
    pub category: String,
    pub label_key: String,
    pub would_purge: Option<u64>,
    pub held_by: Option<String>,
}

impl From<DryRunCategory> for DryRunItem {
    fn from(c: DryRunCategory) -> Self {
        Self {
            label_key: category_key(&c.category),
            category: c.category,
            would_purge: c.would_purge,
            held_by: c.held_by,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "privacy/dry_run.html")]
struct DryRunPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    as_of: String,
    rows: Vec<DryRunItem>,
}

async fn dry_run(State(s): State<AppState>, v: Viewer) -> PageResult {
    let d = s.app.retention_dry_run(&v.principal).await?;
    Ok(DryRunPage {
        t: v.t,
        layout: Layout::new(Some(&v), Section::Privacy),
        tabs: tabs("/privacy/retention"),
        as_of: short_time(&d.as_of),
        rows: d.categories.into_iter().map(Into::into).collect(),
    }
    .into_response())
}
