//! The audit log: newest first, a page at a time, filtered by target, and a "verify chain"
//! button that checks every entry's hash link and says where the chain breaks, if it does.
//! Mirrors `/api/v1/audit`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Method;
use axum::response::IntoResponse;
use serde::Deserialize;
use switchboard_app::audit::{AuditView, VerifyView};
use switchboard_core::Permission;
use switchboard_storage::audit::AuditFilter;

use super::{Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer, percent_encode};
use crate::ui::form::{Query, filled};
use crate::ui::htmx::{self, Hx};
use crate::ui::i18n::{Tr, key};
use crate::ui::layout::{Layout, Section, short_time};
use crate::ui::notice::Notice;
use crate::ui::{PageSpec, Pages};

/// The kinds of target the filter offers (what the application records).
const TARGET_KINDS: [&str; 4] = ["contact", "user", "api_key", "tenant"];
const PAGE_SIZE: u32 = 50;

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::AuditRead);
    p.add(PageSpec::get("/settings/audit", a).mirrors(Method::GET, "/api/v1/audit"), list)
        .add(PageSpec::post("/settings/audit/verify", a).mirrors(Method::POST, "/api/v1/audit/verify"), verify)
}

pub struct AuditItem {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub target: String,
    pub details: String,
}

/// Ids are long; their last characters tell actors apart on screen (UUIDv7s share their
/// leading, time-based digits).
fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

impl From<AuditView> for AuditItem {
    fn from(a: AuditView) -> Self {
        let actor = match &a.actor_id {
            Some(id) => format!("{} {}", a.actor_kind, short_id(id)),
            None => a.actor_kind.clone(),
        };
        let target = match (&a.target_kind, &a.target_id) {
            (Some(k), Some(id)) => format!("{k} {id}"),
            (Some(k), None) => k.clone(),
            _ => String::new(),
        };
        Self {
            seq: a.seq,
            at: short_time(&a.created_at),
            actor,
            ip: a.ip.unwrap_or_default(),
            action: a.action,
            target,
            details: if a.details.is_null() { String::new() } else { a.details.to_string() },
        }
    }
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    target_kind: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub struct KindOption {
    pub value: &'static str,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/audit.html")]
struct AuditPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    rows: Vec<AuditItem>,
    next: Option<String>,
    kinds: Vec<KindOption>,
    target_id: String,
    verify: Option<Notice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/audit.html", block = "verify")]
struct VerifyFragment {
    verify: Option<Notice>,
}

async fn audit_page(s: &AppState, v: &Viewer, q: AuditQuery) -> PageResult<AuditPage> {
    let filter = AuditFilter { target_kind: filled(&q.target_kind), target_id: filled(&q.target_id) };
    let page =
        s.app.audit_list(&v.principal, filter, q.cursor.as_deref().filter(|c| !c.is_empty()), Some(PAGE_SIZE)).await?;
    let next = page.next_cursor.map(|c| {
        format!(
            "/settings/audit?target_kind={}&target_id={}&cursor={c}",
            percent_encode(q.target_kind.trim()),
            percent_encode(q.target_id.trim())
        )
    });
    Ok(AuditPage {
        t: v.t,
        layout: Layout::new(Some(v), Section::Settings),
        tabs: tabs(v, Part::Audit),
        rows: page.items.into_iter().map(AuditItem::from).collect(),
        next,
        kinds: TARGET_KINDS.into_iter().map(|k| KindOption { value: k, selected: q.target_kind.trim() == k }).collect(),
        target_id: q.target_id.trim().to_owned(),
        verify: None,
    })
}

async fn list(State(s): State<AppState>, v: Viewer, Query(q): Query<AuditQuery>) -> PageResult {
    Ok(audit_page(&s, &v, q).await?.into_response())
}

fn verdict(t: Tr, r: &VerifyView) -> Notice {
    let entries = r.entries.to_string();
    match r.first_broken_seq {
        None if r.intact => Notice::success(t.fmt("audit.verify_intact", &[("entries", &entries)])),
        seq => Notice::error(t.fmt(
            key("audit.verify_broken"),
            &[("seq", &seq.map(|s| s.to_string()).unwrap_or_default()), ("reason", r.reason.as_deref().unwrap_or(""))],
        )),
    }
}

async fn verify(State(s): State<AppState>, v: Viewer, hx: Hx) -> PageResult {
    let result = s.app.audit_verify(&v.principal).await?;
    let verify = Some(verdict(v.t, &result));
    if hx.fragment() {
        return Ok(VerifyFragment { verify }.into_response());
    }
    let mut page = audit_page(&s, &v, AuditQuery::default()).await?;
    page.verify = verify;
    Ok(htmx::at("/settings/audit", page.into_response()))
}
