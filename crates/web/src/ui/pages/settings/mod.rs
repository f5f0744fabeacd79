//! Settings, by role: users, teams, labels, API keys, the organisation, canned responses, WhatsApp
//! numbers, message templates, privacy (keywords, replies, jurisdiction), the audit log. Each part needs its own permission (the one its
//! API routes need; numbers and templates, which every role may read, are in the tabs for those
//! who may change them); `/settings` opens the first part the user may see, and the tabs show
//! only those.

mod api_keys;
mod audit;
mod canned;
mod labels;
mod organisation;
mod privacy;
mod teams;
mod templates;
mod users;
mod whatsapp;

use axum::response::{IntoResponse, Redirect, Response};
use switchboard_app::AppError;
use switchboard_core::Permission;

use crate::auth::Access;
use crate::ui::access::{PageResult, Viewer};
use crate::ui::i18n::key;
use crate::ui::{PageSpec, Pages};

pub fn routes(p: Pages) -> Pages {
    let p = p.add(PageSpec::get("/settings", Access::Authenticated), index);
    let p = users::routes(p);
    let p = api_keys::routes(p);
    let p = organisation::routes(p);
    let p = canned::routes(p);
    let p = teams::routes(p);
    let p = labels::routes(p);
    let p = whatsapp::routes(p);
    let p = templates::routes(p);
    let p = privacy::routes(p);
    audit::routes(p)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Users,
    Teams,
    Labels,
    ApiKeys,
    Organisation,
    Canned,
    WhatsApp,
    Templates,
    Privacy,
    Audit,
}

impl Part {
    const ALL: [Part; 10] = [
        Part::Users,
        Part::Teams,
        Part::Labels,
        Part::ApiKeys,
        Part::Organisation,
        Part::Canned,
        Part::WhatsApp,
        Part::Templates,
        Part::Privacy,
        Part::Audit,
    ];

    fn permission(self) -> Permission {
        match self {
            Part::Users | Part::Teams => Permission::UsersManage,
            Part::ApiKeys => Permission::ApiKeysManage,
            // Everyone who reads conversations may read the labels; the tab is for those who
            // change them.
            Part::Organisation | Part::Canned | Part::Labels => Permission::SettingsManage,
            // Everyone may read numbers and templates (agents pick them in the inbox); the
            // settings show them to those who manage them.
            Part::WhatsApp => Permission::ChannelsManage,
            Part::Templates => Permission::TemplatesManage,
            Part::Privacy => Permission::PrivacyManage,
            Part::Audit => Permission::AuditRead,
        }
    }

    fn href(self) -> &'static str {
        match self {
            Part::Users => "/settings/users",
            Part::Teams => "/settings/teams",
            Part::Labels => "/settings/labels",
            Part::ApiKeys => "/settings/api-keys",
            Part::Organisation => "/settings/organisation",
            Part::Canned => "/settings/canned-responses",
            Part::WhatsApp => "/settings/whatsapp",
            Part::Templates => "/settings/templates",
            Part::Privacy => "/settings/privacy",
            Part::Audit => "/settings/audit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Part::Users => key("settings.users"),
            Part::Teams => key("settings.teams"),
            Part::Labels => key("settings.labels"),
            Part::ApiKeys => key("settings.api_keys"),
            Part::Organisation => key("settings.organisation"),
            Part::Canned => key("settings.canned"),
            Part::WhatsApp => key("settings.whatsapp"),
            Part::Templates => key("settings.templates"),
            Part::Privacy => key("settings.privacy"),
            Part::Audit => key("settings.audit"),
        }
    }
}

/// `?done=…` after a change: which success message to show.
#[derive(serde::Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

pub struct Tab {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// The tabs of the settings the viewer may open.
#[must_use]
pub fn tabs(v: &Viewer, active: Part) -> Vec<Tab> {
    Part::ALL
        .into_iter()
        .filter(|p| v.can(p.permission()))
        .map(|p| Tab { label: p.label(), href: p.href(), active: p == active })
        .collect()
}

async fn index(v: Viewer) -> PageResult<Response> {
    match Part::ALL.into_iter().find(|p| v.can(p.permission())) {
        Some(p) => Ok(Redirect::to(p.href()).into_response()),
        None => Err(AppError::forbidden().into()),
    }
}
