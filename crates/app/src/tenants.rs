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
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub default_region: Option<String>,
    pub ip_allowlist: Option<Vec<String>>,
}

pub(crate) fn view(r: TenantRow) -> TenantView {
    TenantView {
        id: TenantId::from_uuid(r.id),
        name: r.name,
        status: r.status,
        default_region: r.default_region,
        ip_allowlist: serde_json::from_str(&r.ip_allowlist).unwrap_or_default(),
        created_at: Millis(r.created_at).to_rfc3339(),
    }
}

fn valid_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Invalid::new(
            "name",
            "invalid_name",
            "name must be 1 to 200 characters",
        ));
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
        };
        let mut tx = self.db.write().await?;
        tenants::insert(&mut tx.platform(), &row).await?;
        let mut s = tx.tenant(TenantId::from_uuid(row.id));
        self.keys.provision_tenant(&mut s, now).await?;
        Audit::system("cli")
            .record(
                self,
                &mut s,
                "tenant.created",
                Some(("tenant", row.id.to_string())),
                serde_json::json!({}),
            )
            .await?;
        tx.commit().await?;
        Ok(view(row))
    }

    pub async fn settings(&self, p: &Principal) -> AppResult<TenantView> {
        p.require(Permission::SettingsManage)?;
        Ok(view(
            tenants::get(&mut self.db.read().await?.tenant(p.tenant)).await?,
        ))
    }

    /// Updates settings. An allow-list that would shut out the caller's own address is
    /// refused, so an admin cannot lock the whole organisation out by mistake.
    pub async fn update_settings(
        &self,
        p: &Principal,
        patch: SettingsPatch,
    ) -> AppResult<TenantView> {
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
            row.ip_allowlist =
                serde_json::to_string(&nets.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .unwrap_or_else(|_| "[]".into());
            changed.push("ip_allowlist");
        }
        tenants::update_settings(
            &mut s,
            &row.name,
            &row.default_region,
            &row.ip_allowlist,
            now,
        )
        .await?;
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
        row.updated_at = now;
        Ok(view(row))
    }
}
