//! The organisation's settings: name, default phone region, and the IP allow-list (one
//! address or CIDR a line). A list that would shut out the editor's own address is refused
//! with that explanation. Mirrors `/api/v1/settings`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use switchboard_app::tenants::{SettingsPatch, TenantView};
use switchboard_core::Permission;

use super::{Done, Part, Tab, tabs};
use crate::auth::Access;
use crate::state::AppState;
use crate::ui::access::{PageResult, Viewer};
use crate::ui::form::{Form, Query};
use crate::ui::htmx;
use crate::ui::i18n::Tr;
use crate::ui::layout::{Layout, Section};
use crate::ui::notice::{Notice, inline, status_of};
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let a = Access::Perm(Permission::SettingsManage);
    p.add(PageSpec::get("/settings/organisation", a).mirrors(Method::GET, "/api/v1/settings"), show)
        .add(PageSpec::post("/settings/organisation", a).mirrors(Method::PATCH, "/api/v1/settings"), save)
}

/// The form's fields, as stored or as typed.
#[derive(Deserialize, Default)]
struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    default_region: String,
    #[serde(default)]
    ip_allowlist: String,
}

impl From<TenantView> for OrgForm {
    fn from(t: TenantView) -> Self {
        Self { name: t.name, default_region: t.default_region, ip_allowlist: t.ip_allowlist.join("\n") }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/organisation.html")]
struct OrgPage {
    t: Tr,
    layout: Layout,
    tabs: Vec<Tab>,
    name: String,
    default_region: String,
    ip_allowlist: String,
    /// The editor's address as the server sees it: what the allow-list must include.
    your_ip: String,
    notice: Option<Notice>,
}

impl OrgPage {
    fn new(v: &Viewer, f: OrgForm, notice: Option<Notice>) -> Self {
        Self {
            t: v.t,
            layout: Layout::new(Some(v), Section::Settings),
            tabs: tabs(v, Part::Organisation),
            name: f.name,
            default_region: f.default_region,
            ip_allowlist: f.ip_allowlist,
            your_ip: v.principal.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            notice,
        }
    }

    fn invalid(&self, field: &str) -> bool {
        crate::ui::notice::invalid(self.notice.as_ref(), field)
    }
}

async fn show(State(s): State<AppState>, v: Viewer, Query(q): Query<Done>) -> PageResult {
    let current = s.app.settings(&v.principal).await?;
    let done = (q.done.as_deref() == Some("saved")).then(|| Notice::success(v.t.get("settings.saved")));
    Ok(OrgPage::new(&v, current.into(), done).into_response())
}

async fn save(State(s): State<AppState>, v: Viewer, Form(f): Form<OrgForm>) -> PageResult {
    let patch = SettingsPatch {
        name: Some(f.name.clone()),
        default_region: Some(f.default_region.clone()),
        ip_allowlist: Some(
            f.ip_allowlist.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        ),
        ..SettingsPatch::default()
    };
    match s.app.update_settings(&v.principal, patch).await {
        Ok(_) => Ok(Redirect::to("/settings/organisation?done=saved").into_response()),
        Err(e) => {
            let status = status_of(&e);
            let notice = inline(v.t, e)?;
            let page = OrgPage::new(&v, f, Some(notice));
            Ok(htmx::at("/settings/organisation", (status, page).into_response()))
        }
    }
}
