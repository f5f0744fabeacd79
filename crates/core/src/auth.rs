//! Roles and permissions: the one permission table. Every HTTP route declares the permission it
//! needs; a user holds the permissions of their role, an API key the scopes it was created with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Supervisor,
    Agent,
    Analyst,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Supervisor, Role::Agent, Role::Analyst];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Analyst => "analyst",
        }
    }

    /// The permission table. Adding a permission means deciding here, once, who holds it.
    #[must_use]
    pub fn permissions(self) -> &'static [Permission] {
        use Permission as P;
        match self {
            Role::Owner => &P::ALL,
            // Everything but deleting the whole organisation, which only owners may do.
            Role::Admin => &[
                P::ContactsRead,
                P::ContactsWrite,
                P::ContactsDelete,
                P::ContactsViewPii,
                P::ConversationsRead,
                P::ConversationsManage,
                P::MessagesSend,
                P::ChannelsRead,
                P::ChannelsManage,
                P::TemplatesRead,
                P::TemplatesManage,
                P::UsersManage,
                P::ApiKeysManage,
                P::SettingsManage,
                P::AuditRead,
                P::PrivacyManage,
                P::ReportsRead,
            ],
            Role::Supervisor => &[
                P::ContactsRead,
                P::ContactsWrite,
                P::ContactsDelete,
                P::ContactsViewPii,
                P::ConversationsRead,
                P::ConversationsManage,
                P::MessagesSend,
                P::TemplatesRead,
                P::TemplatesManage,
                P::ChannelsRead,
                P::ReportsRead,
            ],
            Role::Agent => &[
                P::ContactsRead,
                P::ContactsWrite,
                P::ConversationsRead,
                P::ConversationsManage,
                P::MessagesSend,
                P::TemplatesRead,
                P::ChannelsRead,
            ],
            Role::Analyst => {
                &[P::ContactsRead, P::ConversationsRead, P::TemplatesRead, P::ChannelsRead, P::ReportsRead]
            }
        }
    }

    #[must_use]
    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Whether a user of this role may hand `target` to somebody. Only owners make owners.
    #[must_use]
    pub fn may_grant(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target != Role::Owner,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            Invalid::new("role", "invalid_role", "role must be one of owner, admin, supervisor, agent, analyst")
        })
    }
}

macro_rules! permissions {
    ($($variant:ident => $scope:literal,)*) => {
        /// What a route requires. The scope string is what API keys are created with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            pub const ALL: [Permission; [$($scope,)*].len()] = [$(Permission::$variant,)*];

            #[must_use]
            pub const fn scope(self) -> &'static str {
                match self { $(Permission::$variant => $scope,)* }
            }
        }
    };
}

permissions! {
    ContactsRead => "contacts:read",
    ContactsWrite => "contacts:write",
    ContactsDelete => "contacts:delete",
    ContactsViewPii => "contacts:view_pii",
    ConversationsRead => "conversations:read",
    ConversationsManage => "conversations:manage",
    MessagesSend => "messages:send",
    ChannelsRead => "channels:read",
    ChannelsManage => "channels:manage",
    TemplatesRead => "templates:read",
    TemplatesManage => "templates:manage",
    UsersManage => "users:manage",
    ApiKeysManage => "api_keys:manage",
    SettingsManage => "settings:manage",
    AuditRead => "audit:read",
    PrivacyManage => "privacy:manage",
    ReportsRead => "reports:read",
    TenantDelete => "tenant:delete",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scope())
    }
}

impl FromStr for Permission {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.scope() == s)
            .ok_or_else(|| Invalid::new("scopes", "invalid_scope", format!("unknown scope {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert!(seen.insert(p.scope()));
            assert_eq!(p.scope().parse::<Permission>().ok(), Some(p));
        }
    }

    #[test]
    fn only_owners_make_owners() {
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Admin.may_grant(Role::Owner));
        assert!(Role::Admin.may_grant(Role::Agent));
        assert!(!Role::Agent.may_grant(Role::Agent));
    }

    #[test]
    fn only_owners_delete_the_tenant() {
        assert!(Role::Owner.can(Permission::TenantDelete));
        for role in [Role::Admin, Role::Supervisor, Role::Agent, Role::Analyst] {
            assert!(!role.can(Permission::TenantDelete));
        }
        // Admins hold everything else.
        for p in Permission::ALL {
            assert_eq!(Role::Admin.can(p), p != Permission::TenantDelete, "{p}");
        }
    }

    #[test]
    fn agents_do_not_see_unmasked_pii() {
        assert!(!Role::Agent.can(Permission::ContactsViewPii));
        assert!(Role::Supervisor.can(Permission::ContactsViewPii));
        assert!(!Role::Analyst.can(Permission::MessagesSend));
    }
}
