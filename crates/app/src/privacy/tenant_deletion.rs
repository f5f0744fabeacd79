//! Deleting a tenant (the product's "account deletion": deactivate within 24 hours, purge
//! within 30 days).
//!
//! At once, in one transaction: the tenant is deactivated (logins, sessions and API keys are
//! refused from then on: `login`, `session_auth` and `api_key_auth` check the tenant's
//! status), every session is deleted and every API key revoked. After the grace period
//! (`PrivacyConfig::tenant_purge_grace_ms`, 30 days by default) the `privacy.tenant_purge`
//! schedule destroys the tenant's keys first (crypto-shredding: backups become unreadable),
//! then deletes every row of every table in `TENANT_TABLES` in batches (resumable: a crash
//! leaves fewer rows, the next run carries on), and finally appends a summary (ids and row
//! counts only) to the platform's audit chain. While the tenant has an active legal hold the
//! purge waits, and says why.
//!
//! Hook for channel integrations: a deactivated tenant's channels must stop sending and
//! receiving. The purge of a disconnected number's Meta data is `whatsapp::purge`.

use std::time::Instant;

use serde::Serialize;
use switchboard_core::{Invalid, Millis, Permission, TenantId};
use switchboard_storage::privacy::holds;
use switchboard_storage::privacy::tenant_purge::{self as repo, TENANT_TABLES};
use switchboard_storage::{api_keys, keys, sessions, tenants};

use crate::audit::Audit;
use crate::auth::{Actor, Principal};
use crate::privacy::actor_ref;
use crate::privacy::batch::BatchSize;
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantDeletionView {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    pub status: String,
    pub requested_at: String,
    /// When the tenant's data is purged for good.
    pub purge_after: String,
    pub sessions_ended: u64,
    pub api_keys_revoked: u64,
}

impl App {
    /// Deactivates the tenant now and schedules its purge. Owners only (from a session, not an
    /// API key), or the operator at the command line. `confirm` must repeat the tenant's id.
    pub async fn request_tenant_deletion(&self, p: &Principal, confirm: &str) -> AppResult<TenantDeletionView> {
        p.require(Permission::TenantDelete)?;
        if matches!(p.actor, Actor::ApiKey { .. }) {
            p.require_user()?;
        }
        if confirm.trim() != p.tenant.to_string() {
            return Err(Invalid::new(
                "confirm",
                "confirmation_required",
                "repeat the tenant's id in confirm to delete it",
            )
            .into());
        }
        let now = self.now();
        let purge_after = now.plus_ms(self.config.privacy.tenant_purge_grace_ms);
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        tenants::set_status(&mut s, "deactivated", now.0).await?;
        let sessions_ended = sessions::delete_for_tenant(&mut s).await?;
        let api_keys_revoked = api_keys::revoke_all(&mut s, now.0).await?;
        repo::request(&mut s, &actor_ref(p), now.0, purge_after.0).await?;
        let d = repo::deletion(&mut s).await?.ok_or_else(|| AppError::internal("deletion request missing"))?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "tenant.deletion_requested",
                Some(("tenant", p.tenant.to_string())),
                serde_json::json!({"purge_after": Millis(d.purge_after).to_rfc3339(),
                    "sessions_ended": sessions_ended, "api_keys_revoked": api_keys_revoked}),
            )
            .await?;
        tx.commit().await?;
        Ok(TenantDeletionView {
            tenant_id: p.tenant,
            status: "deactivated".into(),
            requested_at: Millis(d.requested_at).to_rfc3339(),
            purge_after: Millis(d.purge_after).to_rfc3339(),
            sessions_ended,
            api_keys_revoked,
        })
    }

    /// The `privacy.tenant_purge` schedule: purges every deleted tenant whose grace period is
    /// over. Returns the tenants purged completely in this call.
    pub async fn purge_deleted_tenants(&self) -> AppResult<Vec<TenantId>> {
        let due = repo::due(&mut self.db.read().await?.platform(), self.now().0).await?;
        let mut purged = Vec::new();
        for d in due {
            let tenant = TenantId::from_uuid(d.tenant_id);
            if self.purge_tenant(tenant).await? {
                purged.push(tenant);
            }
        }
        Ok(purged)
    }

    /// Purges one tenant; false when a legal hold postpones it.
    async fn purge_tenant(&self, tenant: TenantId) -> AppResult<bool> {
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        if let Some(hold) = holds::any_active(&mut s).await? {
            repo::postpone(&mut s, Some(&format!("legal hold {}: {}", hold.id, hold.reason))).await?;
            tx.commit().await?;
            tracing::info!(%tenant, "tenant purge postponed by a legal hold");
            return Ok(false);
        }
        let keys_destroyed = keys::delete_tenant_keys(&mut s).await?;
        tx.commit().await?;
        self.keys.forget_tenant(tenant);

        let mut counts = serde_json::Map::new();
        counts.insert("tenant_keys_destroyed".into(), keys_destroyed.into());
        let mut head = None;
        for table in TENANT_TABLES {
            if table.name == "audit_log" {
                head = self.chain_head(tenant).await?;
            }
            let mut total = 0u64;
            let mut size = BatchSize::new(self.db.backend());
            loop {
                let limit = size.rows();
                let mut tx = self.db.write().await?;
                let held_since = Instant::now();
                let n = repo::purge_batch(&mut tx.tenant(tenant), table, limit).await?;
                tx.commit().await?;
                total += n;
                if i64::try_from(n).unwrap_or(i64::MAX) < limit {
                    break;
                }
                size.observe(held_since.elapsed());
            }
            counts.insert(table.name.to_owned(), total.into());
        }
        let summary = serde_json::json!({"rows": counts, "audit_head": head});
        let mut tx = self.db.write().await?;
        Audit::system("tenant_purge")
            .record(
                self,
                &mut tx.tenant(TenantId::PLATFORM),
                "tenant.purged",
                Some(("tenant", tenant.to_string())),
                summary.clone(),
            )
            .await?;
        repo::mark_purged(&mut tx.tenant(tenant), self.now().0, &summary.to_string()).await?;
        tx.commit().await?;
        tracing::info!(%tenant, "tenant purged");
        Ok(true)
    }

    /// The tenant chain's last sequence number and hash, kept in the purge summary as proof
    /// of what the deleted log held.
    async fn chain_head(&self, tenant: TenantId) -> AppResult<Option<serde_json::Value>> {
        let head = switchboard_storage::audit::head(&mut self.db.read().await?.tenant(tenant)).await?;
        Ok(head.map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hex::encode(hash)})))
    }
}
