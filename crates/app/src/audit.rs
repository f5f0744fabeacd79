//! Writing to and reading the audit chain. Entries name the actor, the target by id, and what
//! changed by field name; personal values never go in.

use std::net::IpAddr;

use serde::Serialize;
use switchboard_core::{Millis, Permission, TenantId, UserId};
use switchboard_storage::Scope;
use switchboard_storage::audit::{self, AuditEntry, AuditFilter};

use crate::auth::Principal;
use crate::page::{self, Cursor, Page};
use crate::{App, AppResult};

/// Who an audit entry is attributed to.
pub struct Audit {
    kind: &'static str,
    id: Option<String>,
    ip: Option<IpAddr>,
}

impl Audit {
    #[must_use]
    pub fn of(p: &Principal) -> Self {
        let (kind, id) = p.audit_actor();
        Self { kind, id, ip: p.ip }
    }

    #[must_use]
    pub fn user(id: UserId, ip: Option<IpAddr>) -> Self {
        Self { kind: "user", id: Some(id.to_string()), ip }
    }

    #[must_use]
    pub fn anonymous(ip: IpAddr) -> Self {
        Self { kind: "anonymous", id: None, ip: Some(ip) }
    }

    #[must_use]
    pub fn system(name: &str) -> Self {
        Self { kind: "system", id: Some(name.to_owned()), ip: None }
    }

    /// Appends an entry in the caller's transaction.
    pub async fn record(
        &self,
        app: &App,
        s: &mut Scope<'_>,
        action: &str,
        target: Option<(&str, String)>,
        details: serde_json::Value,
    ) -> AppResult<()> {
        let (target_kind, target_id) = target.map_or((None, None), |(k, id)| (Some(k.to_owned()), Some(id)));
        audit::append(
            s,
            app.keys.chain(),
            &AuditEntry {
                at: app.now().0,
                actor_kind: self.kind.to_owned(),
                actor_id: self.id.clone(),
                ip: self.ip.map(|ip| ip.to_string()),
                action: action.to_owned(),
                target_kind,
                target_id,
                details,
            },
        )
        .await?;
        Ok(())
    }

    /// Appends an entry unless the same actor recorded the same action on the same target in
    /// the last `window_ms`. For reads that repeat without anything new being learnt (see
    /// `list_messages`); an actor without an id, or a window of 0, is always recorded.
    pub async fn record_throttled(
        &self,
        app: &App,
        s: &mut Scope<'_>,
        action: &str,
        target: (&str, String),
        details: serde_json::Value,
        window_ms: i64,
    ) -> AppResult<()> {
        if let Some(actor_id) = self.id.as_ref().filter(|_| window_ms > 0) {
            let recorded = audit::Recorded {
                actor_kind: self.kind,
                actor_id,
                action,
                target_kind: target.0,
                target_id: &target.1,
            };
            if audit::recorded_since(s, recorded, app.now().0 - window_ms).await? {
                return Ok(());
            }
        }
        self.record(app, s, action, Some(target), details).await
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: String,
    pub seq: i64,
    pub created_at: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    pub intact: bool,
    pub entries: u64,
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
}

impl App {
    pub async fn audit_list(
        &self,
        p: &Principal,
        filter: AuditFilter,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> AppResult<Page<AuditView>> {
        p.require(Permission::AuditRead)?;
        let before = page::decode_seq(cursor)?;
        let limit = page::limit(limit);
        let rows = audit::list(&mut self.db.read().await?.tenant(p.tenant), &filter, before, limit + 1).await?;
        Ok(Page::from_rows(
            rows,
            limit,
            |r| Cursor::Seq(r.seq),
            |r| AuditView {
                id: r.id.to_string(),
                seq: r.seq,
                created_at: Millis(r.at).to_rfc3339(),
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                ip: r.ip,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            },
        ))
    }

    pub async fn audit_verify(&self, p: &Principal) -> AppResult<VerifyView> {
        p.require(Permission::AuditRead)?;
        self.audit_verify_tenant(p.tenant).await
    }

    /// Verification without a principal, for `switchboard audit verify`.
    pub async fn audit_verify_tenant(&self, tenant: TenantId) -> AppResult<VerifyView> {
        let v = audit::verify(&mut self.db.read().await?.tenant(tenant), self.keys.chain()).await?;
        Ok(VerifyView {
            intact: v.broken.is_none(),
            entries: v.entries,
            first_broken_seq: v.broken.as_ref().map(|b| b.seq),
            reason: v.broken.map(|b| b.reason),
        })
    }
}
