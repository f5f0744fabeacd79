//! API keys: `sbk_<prefix>_<secret>`, scoped to a subset of the creator's permissions, stored
//! as the prefix plus a SHA-256 of the secret, shown once.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use switchboard_core::{ApiKeyId, Invalid, Millis, Permission, TenantId};
use switchboard_privacy::token::{ct_eq, random_token, sha256};
use switchboard_storage::api_keys::{self, ApiKeyRow};

use super::{Actor, Principal, ip_allowed, ip_not_allowed, parse_allowlist};
use crate::audit::Audit;
use crate::page::{self, Cursor, Page};
use crate::{App, AppError, AppResult};

const PREFIX: &str = "sbk_";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn view(r: ApiKeyRow) -> ApiKeyView {
    ApiKeyView {
        id: ApiKeyId::from_uuid(r.id),
        name: r.name,
        prefix: format!("{PREFIX}{}", r.prefix),
        scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: Millis(r.created_at).to_rfc3339(),
        last_used_at: r.last_used_at.map(|t| Millis(t).to_rfc3339()),
        revoked_at: r.revoked_at.map(|t| Millis(t).to_rfc3339()),
    }
}

const BAD_KEY: &str = "invalid or revoked API key";

impl App {
    /// Creates a key. Returns the view and the full key, which is never shown again.
    pub async fn create_api_key(&self, p: &Principal, input: NewApiKey) -> AppResult<(ApiKeyView, String)> {
        p.require(Permission::ApiKeysManage)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Invalid::new("name", "invalid_name", "name must be 1 to 100 characters").into());
        }
        if input.scopes.is_empty() {
            return Err(Invalid::new("scopes", "scopes_required", "give the key at least one scope").into());
        }
        let mut scopes = Vec::new();
        for s in &input.scopes {
            let perm: Permission = s.parse()?;
            // Nobody can mint a key that can do more than they can.
            if !p.can(perm) {
                return Err(Invalid::new("scopes", "scope_not_held", format!("you do not hold the scope {s}")).into());
            }
            if !scopes.contains(&perm) {
                scopes.push(perm);
            }
        }
        let prefix = hex::encode(&sha256(random_token(16).as_bytes())[..6]);
        let secret = random_token(32);
        let now = self.now().0;
        let row = ApiKeyRow {
            tenant_id: p.tenant.as_uuid(),
            id: ApiKeyId::new().as_uuid(),
            name: name.to_owned(),
            prefix: prefix.clone(),
            secret_hash: sha256(secret.as_bytes()).to_vec(),
            scopes: scopes.iter().map(|s| s.scope()).collect::<Vec<_>>().join(" "),
            created_by: p.user_id().map(|u| u.as_uuid()),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        api_keys::insert(&mut s, &row).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "api_key.created",
                Some(("api_key", row.id.to_string())),
                serde_json::json!({"scopes": row.scopes.split(' ').collect::<Vec<_>>()}),
            )
            .await?;
        tx.commit().await?;
        Ok((view(row), format!("{PREFIX}{prefix}_{secret}")))
    }

    pub async fn list_api_keys(
        &self,
        p: &Principal,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> AppResult<Page<ApiKeyView>> {
        p.require(Permission::ApiKeysManage)?;
        let after = page::decode_id(cursor)?;
        let limit = page::limit(limit);
        let rows = api_keys::list(&mut self.db.read().await?.tenant(p.tenant), after, limit + 1).await?;
        Ok(Page::from_rows(rows, limit, |r| Cursor::Id(r.id), view))
    }

    pub async fn revoke_api_key(&self, p: &Principal, id: ApiKeyId) -> AppResult<()> {
        p.require(Permission::ApiKeysManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        api_keys::revoke(&mut s, id.as_uuid(), now).await?;
        Audit::of(p)
            .record(self, &mut s, "api_key.revoked", Some(("api_key", id.to_string())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resolves `Authorization: Bearer sbk_…`.
    pub async fn api_key_auth(&self, bearer: &str, ip: IpAddr) -> AppResult<Principal> {
        let (prefix, secret) = bearer
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .ok_or(AppError::Unauthenticated(BAD_KEY))?;
        let row = api_keys::find_auth(&mut self.db.read().await?.platform(), prefix)
            .await?
            .ok_or(AppError::Unauthenticated(BAD_KEY))?;
        if !ct_eq(&sha256(secret.as_bytes()), &row.secret_hash)
            || row.revoked_at.is_some()
            || row.tenant_status != "active"
        {
            return Err(AppError::Unauthenticated(BAD_KEY));
        }
        if !ip_allowed(&parse_allowlist(&row.ip_allowlist), Some(ip)) {
            return Err(ip_not_allowed());
        }
        let id = ApiKeyId::from_uuid(row.id);
        self.limits.api_key(id)?;
        let tenant = TenantId::from_uuid(row.tenant_id);
        let now = self.now().0;
        if row.last_used_at.is_none_or(|t| now - t > Millis::MINUTE) {
            let mut tx = self.db.write().await?;
            api_keys::touch(&mut tx.tenant(tenant), row.id, now).await?;
            tx.commit().await?;
        }
        Ok(Principal {
            tenant,
            actor: Actor::ApiKey { id, scopes: row.scopes.split_whitespace().filter_map(|s| s.parse().ok()).collect() },
            ip: Some(ip),
            session: None,
        })
    }
}
