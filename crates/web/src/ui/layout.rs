//! The shell every signed-in page shares: navigation by permission, the user's name and role,
//! and asset URLs. `templates/base.html` renders it; pages put their content in its `main`
//! block (and may replace the whole `body` block, as the login pages do).

use std::fmt;

use switchboard_core::{Permission, Role};

use super::access::Viewer;
use super::assets;
use super::i18n::key;

/// Which navigation entry is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    None,
    Inbox,
    Contacts,
    Privacy,
    Settings,
    Profile,
}

pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    /// A symbol of `static/icons.svg`.
    pub icon: &'static str,
    pub active: bool,
}

pub struct Layout {
    /// Name (or e-mail) and the translation key of the role of the signed-in user; `None` on
    /// the login pages.
    pub user: Option<(String, &'static str)>,
    pub nav: Vec<NavItem>,
}

/// The permissions that open a part of the settings; the settings entry shows for any.
pub const SETTINGS_PERMISSIONS: [Permission; 7] = [
    Permission::UsersManage,
    Permission::ApiKeysManage,
    Permission::SettingsManage,
    Permission::ChannelsManage,
    Permission::TemplatesManage,
    Permission::PrivacyManage,
    Permission::AuditRead,
];

impl Layout {
    #[must_use]
    pub fn new(viewer: Option<&Viewer>, section: Section) -> Self {
        let Some(v) = viewer else {
            return Self { user: None, nav: Vec::new() };
        };
        let p = &v.principal;
        let role = v.role();
        // The order of the sidebar.
        let entries = [
            (Section::Inbox, key("nav.inbox"), "/inbox", "i-inbox", p.can(Permission::ConversationsRead)),
            (Section::Contacts, key("nav.contacts"), "/contacts", "i-contacts", p.can(Permission::ContactsRead)),
            (Section::Privacy, key("nav.privacy"), "/privacy", "i-shield", p.can(Permission::PrivacyManage)),
            (
                Section::Settings,
                key("nav.settings"),
                "/settings",
                "i-settings",
                SETTINGS_PERMISSIONS.iter().any(|x| p.can(*x)),
            ),
            (Section::Profile, key("nav.profile"), "/profile", "i-profile", true),
        ];
        let nav = entries
            .into_iter()
            .filter(|e| e.4)
            .map(|(s, label, href, icon, _)| NavItem { label, href, icon, active: s == section })
            .collect();
        Self { user: Some((v.me.name.clone().unwrap_or_else(|| v.me.email.clone()), role_key(role))), nav }
    }

    /// The content-hashed URL of a static file.
    #[must_use]
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }
}

/// An icon: a symbol of `static/icons.svg`, drawn in the text colour. The markup is ours and
/// the id a constant of our code, so askama may emit it unescaped (`HtmlSafe`).
#[derive(Clone, Copy, Debug)]
pub struct Icon(&'static str);

#[must_use]
pub fn icon(id: &'static str) -> Icon {
    Icon(id)
}

impl fmt::Display for Icon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ids are `i-` and lowercase letters; anything else would be a bug, drawn as nothing.
        if !self.0.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return Ok(());
        }
        write!(
            f,
            r#"<svg class="icon" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>"#,
            assets::url("icons.svg"),
            self.0
        )
    }
}

impl askama::filters::HtmlSafe for Icon {}

/// The translation key of a role's name.
#[must_use]
pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Owner => key("role.owner"),
        Role::Admin => key("role.admin"),
        Role::Supervisor => key("role.supervisor"),
        Role::Agent => key("role.agent"),
        Role::Analyst => key("role.analyst"),
    }
}

/// `2026-11-23T16:44:05.123Z` → `2026-11-23 16:44 UTC`, for tables.
#[must_use]
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(s) if rfc3339.ends_with('Z') => format!("{} UTC", s.replace('T', " ")),
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_reference_the_sprite_and_refuse_odd_ids() {
        let html = icon("i-contacts").to_string();
        assert!(html.contains("icons.svg#i-contacts\""), "{html}");
        assert_eq!(icon("i-x\"><script>").to_string(), "");
    }

    #[test]
    fn times_are_shortened() {
        assert_eq!(short_time("2026-11-23T16:44:05.123Z"), "2026-11-23 16:44 UTC");
        assert_eq!(short_time("garbage"), "garbage");
    }
}
