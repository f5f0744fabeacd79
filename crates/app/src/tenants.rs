//! Tenants and their settings.

use serde::{Deserialize, Serialize};
use switchboard_core::{Invalid, Millis, Permission, TenantId};
use switchboard_storage::tenants::{self, TenantRow};

use crate::audit::Audit;
use crate::auth::{Principal, ip_allowed, parse_net};
use crate::{App, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    #[schema(value_type = String, format = Uuid)]
    pub id: TenantId,
    pub name: String,
    pub status: String,
    pub default_region: String,
    pub ip_allowlist: Vec<String>,
    /// `reopen` (default) or `new`: what a customer's message to a resolved conversation does.
    pub resolved_conversation_policy: String,
    pub send_read_receipts: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub default_region: Option<String>,
    pub ip_allowlist: Option<Vec<String>>,
    pub resolved_conversation_policy: Option<String>,
    pub send_read_receipts: Option<bool>,
}

pub(crate) fn view(r: TenantRow) -> TenantView {
    TenantView {
        id: TenantId::from_uuid(r.id),
        name: r.name,
        status: r.status,
        default_region: r.default_region,
        ip_allowlist: serde_json::from_str(&r.ip_allowlist).unwrap_or_default(),
        resolved_conversation_policy: r.resolved_conversation_policy,
        send_read_receipts: r.send_read_receipts,
        created_at: Millis(r.created_at).to_rfc3339(),
    }
}

fn valid_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Invalid::new("name", "invalid_name", "name must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

impl App {
    /// Creates a tenant with its keys. A platform operation (command line, demo seeding).
    pub async fn create_tenant(&self, name: &str) -> AppResult<TenantView> {
        let name = valid_name(name)?;
        let now = self.now().0;
        let row = TenantRow {
            id: TenantId::new().as_uuid(),
            name,
            status: "active".into(),
            default_region: "TR".into(),
            ip_allowlist: "[]".into(),
            created_at: now,
            updated_at: now,
            deactivated_at: None,
            resolved_conversation_policy: "reopen".into(),
            send_read_receipts: false,
        };
        let mut tx = self.db.write().await?;
        tenants::insert(&mut tx.platform(), &row).await?;
        let mut s = tx.tenant(TenantId::from_uuid(row.id));
        self.keys.provision_tenant(&mut s, now).await?;
        Audit::system("cli")
            .record(self, &mut s, "tenant.created", Some(("tenant", row.id.to_string())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(view(row))
    }

    pub async fn settings(&self, p: &Principal) -> AppResult<TenantView> {
        p.require(Permission::SettingsManage)?;
        Ok(view(tenants::get(&mut self.db.read().await?.tenant(p.tenant)).await?))
    }

    /// Updates settings. An allow-list that would shut out the caller's own address is
    /// refused, so an admin cannot lock the whole organisation out by mistake.
    pub async fn update_settings(&self, p: &Principal, patch: SettingsPatch) -> AppResult<TenantView> {
        p.require(Permission::SettingsManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let mut row = tenants::get(&mut s).await?;
        let mut changed = Vec::new();
        if let Some(name) = patch.name {
            row.name = valid_name(&name)?;
            changed.push("name");
        }
        if let Some(region) = patch.default_region {
            let region = region.trim().to_ascii_uppercase();
            if !switchboard_core::phone::is_known_region(&region) {
                return Err(Invalid::new(
                    "default_region",
                    "invalid_region",
                    "use an ISO 3166 country code such as TR",
                )
                .into());
            }
            row.default_region = region;
            changed.push("default_region");
        }
        if let Some(list) = patch.ip_allowlist {
            let mut nets = Vec::new();
            for (i, entry) in list.iter().enumerate() {
                let net = parse_net(entry).ok_or_else(|| {
                    Invalid::new(
                        format!("ip_allowlist[{i}]"),
                        "invalid_cidr",
                        "use an address or CIDR such as 203.0.113.0/24",
                    )
                })?;
                nets.push(net);
            }
            if !ip_allowed(&nets, p.ip) && p.ip.is_some() {
                return Err(Invalid::new(
                    "ip_allowlist",
                    "would_lock_you_out",
                    "the list must include your own current address",
                )
                .into());
            }
            row.ip_allowlist = serde_json::to_string(&nets.iter().map(ToString::to_string).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into());
            changed.push("ip_allowlist");
        }
        if let Some(policy) = patch.resolved_conversation_policy {
            if policy != "reopen" && policy != "new" {
                return Err(Invalid::new("resolved_conversation_policy", "invalid_policy", "reopen or new").into());
            }
            row.resolved_conversation_policy = policy;
            changed.push("resolved_conversation_policy");
        }
        if let Some(v) = patch.send_read_receipts {
            row.send_read_receipts = v;
            changed.push("send_read_receipts");
        }
        tenants::update_settings(&mut s, &row, now).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "settings.updated",
                Some(("tenant", p.tenant.to_string())),
                serde_json::json!({"fields": changed}),
            )
            .await?;
        tx.commit().await?;
        self.forget_tenant_settings(p.tenant);
        row.updated_at = now;
        Ok(view(row))
    }
}

/// The settings the message pipeline consults on every message, cached briefly per tenant.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    pub default_region: String,
    pub reopen_resolved: bool,
    pub send_read_receipts: bool,
    loaded_at: i64,
}

const SETTINGS_TTL: i64 = 10_000;

impl App {
    pub(crate) async fn tenant_settings(&self, s: &mut switchboard_storage::Scope<'_>) -> AppResult<TenantSettings> {
        let now = self.now().0;
        let tenant = s.tenant_id();
        if let Some(t) = self.settings_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&tenant)
            && now - t.loaded_at < SETTINGS_TTL
        {
            return Ok(t.clone());
        }
        let row = tenants::get(s).await?;
        let t = TenantSettings {
            default_region: row.default_region,
            reopen_resolved: row.resolved_conversation_policy == "reopen",
            send_read_receipts: row.send_read_receipts,
            loaded_at: now,
        };
        self.settings_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(tenant, t.clone());
        Ok(t)
    }

    pub(crate) fn forget_tenant_settings(&self, tenant: TenantId) {
        self.settings_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&tenant);
    }
}
