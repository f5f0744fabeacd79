//! Who is acting: principals, and how requests become one (session cookie or API key).

mod api_keys;
mod sessions;
mod totp;

use std::net::IpAddr;

use ipnet::IpNet;
use switchboard_core::{ApiKeyId, Permission, Role, TenantId, UserId};

pub use api_keys::{ApiKeyView, NewApiKey};
pub use sessions::{LoginResult, SessionAuth, SessionView};
pub use totp::TotpEnrolment;

use crate::{AppError, AppResult};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: UserId,
        role: Role,
    },
    ApiKey {
        id: ApiKeyId,
        scopes: Vec<Permission>,
    },
    /// The operator at the command line, or Switchboard itself (jobs, retention).
    System {
        name: &'static str,
    },
}

/// The authenticated caller of a use case.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant: TenantId,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    /// The SHA-256 of the session token, for cookie-authenticated callers.
    pub session: Option<[u8; 32]>,
}

impl Principal {
    #[must_use]
    pub fn system(tenant: TenantId, name: &'static str) -> Self {
        Self { tenant, actor: Actor::System { name }, ip: None, session: None }
    }

    #[must_use]
    pub fn can(&self, p: Permission) -> bool {
        match &self.actor {
            Actor::User { role, .. } => role.can(p),
            Actor::ApiKey { scopes, .. } => scopes.contains(&p),
            Actor::System { .. } => true,
        }
    }

    pub fn require(&self, p: Permission) -> AppResult<()> {
        if self.can(p) { Ok(()) } else { Err(AppError::forbidden()) }
    }

    #[must_use]
    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn require_user(&self) -> AppResult<UserId> {
        self.user_id().ok_or(AppError::Forbidden {
            code: "user_required",
            message: "this action needs a logged-in user, not an API key",
        })
    }

    /// (kind, id) as recorded in the audit log.
    #[must_use]
    pub fn audit_actor(&self) -> (&'static str, Option<String>) {
        match &self.actor {
            Actor::User { id, .. } => ("user", Some(id.to_string())),
            Actor::ApiKey { id, .. } => ("api_key", Some(id.to_string())),
            Actor::System { name } => ("system", Some((*name).to_owned())),
        }
    }
}

/// Parses a tenant's stored allow-list. An empty list allows every address.
pub(crate) fn parse_allowlist(json: &str) -> Vec<IpNet> {
    serde_json::from_str::<Vec<String>>(json).unwrap_or_default().iter().filter_map(|s| parse_net(s)).collect()
}

/// A CIDR (`10.0.0.0/8`) or a single address (`203.0.113.7`).
#[must_use]
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

pub(crate) fn ip_allowed(allowlist: &[IpNet], ip: Option<IpAddr>) -> bool {
    if allowlist.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allowlist.iter().any(|net| net.contains(&ip))
}

pub(crate) fn ip_not_allowed() -> AppError {
    AppError::Forbidden { code: "ip_not_allowed", message: "this address is not on your organisation's allow-list" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_cidrs_and_mapped_v4() {
        let list = parse_allowlist(r#"["10.0.0.0/8", "203.0.113.7", "bogus"]"#);
        assert_eq!(list.len(), 2);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(ip_allowed(&list, ip("10.1.2.3")));
        assert!(ip_allowed(&list, ip("203.0.113.7")));
        assert!(ip_allowed(&list, ip("::ffff:10.9.9.9")));
        assert!(!ip_allowed(&list, ip("192.168.1.1")));
        assert!(!ip_allowed(&list, None));
        assert!(ip_allowed(&[], None));
    }
}
