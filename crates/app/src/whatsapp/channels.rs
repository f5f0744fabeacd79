//! Connecting a WhatsApp number, and finding a number's secrets fast when its webhooks arrive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use switchboard_channels::whatsapp::ErrorKind;
use switchboard_core::{ChannelId, Invalid, Millis, Permission, TenantId};
use switchboard_privacy::Aad;
use switchboard_storage::Scope;
use switchboard_storage::channels::{self, ChannelRow};
use switchboard_storage::jobs::{self, NewJob};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

/// What webhooks and sends need of a number, opened once and cached briefly (so that a
/// disconnect or a new token on another node takes effect within the TTL).
#[derive(Clone)]
pub struct ChannelInfo {
    pub tenant: TenantId,
    pub id: ChannelId,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub app_secret: String,
    pub verify_token: String,
    pub access_token: String,
    pub graph_base_url: String,
    pub api_version: String,
    pub status: String,
    pub throughput: u32,
    loaded_at: i64,
}

impl std::fmt::Debug for ChannelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelInfo").field("id", &self.id).field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

const CACHE_TTL: i64 = 30_000;

#[derive(Default)]
pub(crate) struct ChannelCache {
    by_id: Mutex<HashMap<ChannelId, Arc<ChannelInfo>>>,
}

impl ChannelCache {
    fn get(&self, id: ChannelId, now: i64) -> Option<Arc<ChannelInfo>> {
        let map = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&id).filter(|c| now - c.loaded_at < CACHE_TTL).cloned()
    }

    fn put(&self, info: Arc<ChannelInfo>) {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner).insert(info.id, info);
    }

    pub(crate) fn forget(&self, id: ChannelId) {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectWhatsApp {
    #[serde(default)]
    pub name: Option<String>,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    /// Sealed at rest, never returned.
    pub access_token: String,
    /// Sealed at rest, never returned. Verifies `X-Hub-Signature-256` on this number's webhooks.
    pub app_secret: String,
    /// The token to paste into Meta's webhook settings (checked on the GET handshake).
    pub verify_token: String,
    /// Default `https://graph.facebook.com`; other URLs only when the operator allows them.
    #[serde(default)]
    pub graph_base_url: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    /// Sends per second this number may make (Meta's default tier is 80, up to 1,000).
    #[serde(default)]
    pub throughput_per_sec: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub graph_base_url: String,
    pub api_version: String,
    /// `active`, `needs_reconnection` (Meta refused the token) or `disconnected`.
    pub status: String,
    pub throughput_per_sec: i32,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    /// Paste this into Meta's webhook settings, with the verify token.
    pub webhook_url: String,
    pub created_at: String,
    /// A disconnected number: when its Meta data (conversations, messages, media, templates,
    /// webhook events) is purged, unless it is connected again before.
    pub purge_after: Option<String>,
    /// A disconnected number's purge: `scheduled` (waits for `purge_after`) or `held` (due,
    /// but a legal hold keeps the data; see `purge_hold`). Null for a connected number.
    pub purge_state: Option<String>,
    /// The legal hold that keeps the purge waiting, while `purge_state` is `held`.
    pub purge_hold: Option<PurgeHoldView>,
}

/// The legal hold a channel purge waits for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PurgeHoldView {
    #[schema(value_type = String, format = Uuid)]
    pub hold_id: Uuid,
    /// The hold's reason (a reference such as a case number).
    pub reason: String,
    /// When the purge first found the hold.
    pub since: String,
}

fn secret_aad(tenant: TenantId, column: &'static str, id: Uuid) -> Aad<'static> {
    Aad::new(tenant, "channels", column, id)
}

fn digits(field: &str, v: &str) -> Result<String, Invalid> {
    let v = v.trim();
    if v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(field, "invalid_id", format!("{field} must be Meta's numeric id")));
    }
    Ok(v.to_owned())
}

fn secret(field: &str, v: &str) -> Result<String, Invalid> {
    let v = v.trim();
    if v.is_empty() || v.len() > 4096 || v.chars().any(char::is_whitespace) {
        return Err(Invalid::new(field, "invalid_secret", format!("{field} must be a non-empty token without spaces")));
    }
    Ok(v.to_owned())
}

impl App {
    pub(crate) fn channel_view(&self, r: &ChannelRow) -> ChannelView {
        ChannelView {
            id: ChannelId::from_uuid(r.id),
            kind: r.kind.clone(),
            name: r.name.clone(),
            phone_number_id: r.phone_number_id.clone(),
            waba_id: r.waba_id.clone(),
            display_phone_number: r.display_phone_number.clone(),
            graph_base_url: r.graph_base_url.clone(),
            api_version: r.api_version.clone(),
            status: r.status.clone(),
            throughput_per_sec: r.throughput_per_sec,
            quality_rating: r.quality_rating.clone(),
            messaging_limit: r.messaging_limit.clone(),
            webhook_url: format!("{}/webhooks/whatsapp/{}", self.config.public_url, r.id),
            created_at: Millis(r.created_at).to_rfc3339(),
            purge_after: r.purge_after.map(|t| Millis(t).to_rfc3339()),
            purge_state: match (r.purge_after, r.purge_hold_id) {
                (_, Some(_)) => Some("held".into()),
                (Some(_), None) => Some("scheduled".into()),
                (None, None) => None,
            },
            purge_hold: None,
        }
    }

    /// The view with the hold a held purge waits for (its reason read from the hold).
    pub(crate) async fn channel_view_in(&self, s: &mut Scope<'_>, r: &ChannelRow) -> AppResult<ChannelView> {
        let mut v = self.channel_view(r);
        if let (Some(id), Some(since)) = (r.purge_hold_id, r.purge_held_at) {
            let hold = switchboard_storage::privacy::holds::get(s, id).await?;
            v.purge_hold = Some(PurgeHoldView { hold_id: id, reason: hold.reason, since: Millis(since).to_rfc3339() });
        }
        Ok(v)
    }

    fn allowed_graph_url(&self, url: &str) -> Result<String, Invalid> {
        let url = url.trim().trim_end_matches('/');
        let allowed = |a: &String| match a.strip_suffix('*') {
            Some(prefix) => url.starts_with(prefix),
            None => a.trim_end_matches('/') == url,
        };
        if self.config.whatsapp.allowed_graph_urls.iter().any(allowed) {
            Ok(url.to_owned())
        } else {
            Err(Invalid::new(
                "graph_base_url",
                "graph_url_not_allowed",
                "this Graph API address is not allowed on this server",
            ))
        }
    }

    /// Connects a number after checking the token against the Graph API.
    pub async fn connect_whatsapp(&self, p: &Principal, input: ConnectWhatsApp) -> AppResult<ChannelView> {
        p.require(Permission::ChannelsManage)?;
        let phone_number_id = digits("phone_number_id", &input.phone_number_id)?;
        let waba_id = digits("waba_id", &input.waba_id)?;
        let display = input.display_phone_number.trim().trim_start_matches('+').replace([' ', '-'], "");
        if display.is_empty() || !display.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                Invalid::new("display_phone_number", "invalid_phone", "the business number, digits only").into()
            );
        }
        let access_token = secret("access_token", &input.access_token)?;
        let app_secret = secret("app_secret", &input.app_secret)?;
        let verify_token = secret("verify_token", &input.verify_token)?;
        let base = self.allowed_graph_url(input.graph_base_url.as_deref().unwrap_or(crate::config::META_GRAPH_URL))?;
        let version = input.api_version.unwrap_or_else(|| self.config.whatsapp.default_api_version.clone());
        if !version.starts_with('v') || version.len() > 10 {
            return Err(Invalid::new("api_version", "invalid_version", "a Graph API version such as v24.0").into());
        }
        let throughput = input.throughput_per_sec.unwrap_or(80);
        if !(1..=1000).contains(&throughput) {
            return Err(Invalid::new(
                "throughput_per_sec",
                "invalid_throughput",
                "between 1 and 1000 messages per second",
            )
            .into());
        }
        let graph = self.wa.graph(&base, &version)?;
        if let Err(e) = graph.phone_number_info(&access_token, &phone_number_id).await {
            return Err(match e.kind {
                ErrorKind::Auth => Invalid::new(
                    "access_token",
                    "invalid_access_token",
                    format!("Meta refused the access token: {}", e.message),
                )
                .into(),
                ErrorKind::InvalidRequest | ErrorKind::Account => Invalid::new(
                    "phone_number_id",
                    "phone_number_rejected",
                    format!("Meta did not accept this number: {}", e.message),
                )
                .into(),
                _ => AppError::Upstream {
                    code: "graph_unreachable",
                    message: format!("could not reach the Graph API: {}", e.message),
                },
            });
        }
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        // The same number connected again before its purge: the old channel comes back (with
        // its conversations), and the purge is cancelled.
        let previous = channels::find_reconnectable(&mut s, &phone_number_id, now).await?;
        let id = previous.as_ref().map_or_else(ChannelId::new, |r| ChannelId::from_uuid(r.id));
        let row = ChannelRow {
            tenant_id: p.tenant.as_uuid(),
            id: id.as_uuid(),
            kind: "whatsapp".into(),
            name: input
                .name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("+{display}")),
            phone_number_id,
            waba_id,
            display_phone_number: display,
            access_token_sealed: self
                .keys
                .seal_tenant(&mut s, &secret_aad(p.tenant, "access_token", id.as_uuid()), &access_token)
                .await?,
            app_secret_sealed: self
                .keys
                .seal_tenant(&mut s, &secret_aad(p.tenant, "app_secret", id.as_uuid()), &app_secret)
                .await?,
            verify_token_sealed: self
                .keys
                .seal_tenant(&mut s, &secret_aad(p.tenant, "verify_token", id.as_uuid()), &verify_token)
                .await?,
            graph_base_url: base,
            api_version: version,
            status: "active".into(),
            throughput_per_sec: i32::try_from(throughput).unwrap_or(80),
            quality_rating: None,
            messaging_limit: None,
            created_at: now,
            updated_at: now,
            disconnected_at: None,
            purge_after: None,
            purge_counts: None,
            purge_hold_id: None,
            purge_held_at: None,
        };
        let stored = match &previous {
            Some(_) => channels::reconnect(&mut s, &row).await,
            None => channels::insert(&mut s, &row).await,
        };
        stored.map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => AppError::Conflict {
                field: Some("phone_number_id".into()),
                message: "this number is already connected".into(),
            },
            other => other,
        })?;
        self.enqueue_template_sync(&mut s, id, now).await?;
        let (action, details) = match &previous {
            Some(r) => (
                "channel.reconnected",
                serde_json::json!({"kind": "whatsapp", "purge_cancelled": r.purge_after.map(|t| Millis(t).to_rfc3339())}),
            ),
            None => ("channel.connected", serde_json::json!({"kind": "whatsapp"})),
        };
        Audit::of(p).record(self, &mut s, action, Some(("channel", id.to_string())), details).await?;
        tx.commit().await?;
        self.wa.channels.forget(id);
        self.wa.jobs_wakeup.notify_waiters();
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let row = channels::get(&mut s, id.as_uuid()).await?;
        self.channel_view_in(&mut s, &row).await
    }

    pub(crate) async fn enqueue_template_sync(&self, s: &mut Scope<'_>, channel: ChannelId, now: i64) -> AppResult<()> {
        jobs::enqueue(
            s,
            &NewJob {
                queue: super::QUEUE.into(),
                kind: super::JOB_TEMPLATE_SYNC.into(),
                payload: serde_json::json!({"channel_id": channel}).to_string(),
                run_at: now,
                max_attempts: 5,
                dedupe_key: None,
            },
            now,
        )
        .await?;
        Ok(())
    }

    pub async fn list_channels(&self, p: &Principal) -> AppResult<Vec<ChannelView>> {
        self.channels_listed(p, false).await
    }

    /// The connected numbers and, until their data is purged, the disconnected ones (with
    /// `purge_after`), for the settings page.
    pub async fn list_channels_with_disconnected(&self, p: &Principal) -> AppResult<Vec<ChannelView>> {
        self.channels_listed(p, true).await
    }

    async fn channels_listed(&self, p: &Principal, disconnected: bool) -> AppResult<Vec<ChannelView>> {
        p.require(Permission::ChannelsRead)?;
        let mut s = self.db.read().await?;
        let mut s = s.tenant(p.tenant);
        let rows =
            if disconnected { channels::list_with_disconnected(&mut s).await? } else { channels::list(&mut s).await? };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.channel_view_in(&mut s, r).await?);
        }
        Ok(out)
    }

    pub async fn get_channel(&self, p: &Principal, id: ChannelId) -> AppResult<ChannelView> {
        p.require(Permission::ChannelsRead)?;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let row = channels::get(&mut s, id.as_uuid()).await?;
        self.channel_view_in(&mut s, &row).await
    }

    /// Disconnects a number: webhooks (404 on its URL, ignored on the platform URL) and sends
    /// stop at once; its Meta data is purged after `channel_purge_grace_ms` unless the same
    /// phone_number_id is connected again before (see `purge_disconnected_channels`).
    pub async fn disconnect_channel(&self, p: &Principal, id: ChannelId) -> AppResult<()> {
        p.require(Permission::ChannelsManage)?;
        let now = self.now();
        let purge_after = now.plus_ms(self.config.whatsapp.channel_purge_grace_ms);
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        channels::disconnect(&mut s, id.as_uuid(), now.0, purge_after.0).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "channel.disconnected",
                Some(("channel", id.to_string())),
                serde_json::json!({"purge_after": purge_after.to_rfc3339()}),
            )
            .await?;
        tx.commit().await?;
        self.wa.channels.forget(id);
        Ok(())
    }

    async fn open_channel(&self, s: &mut Scope<'_>, r: &ChannelRow, now: i64) -> AppResult<ChannelInfo> {
        let t = TenantId::from_uuid(r.tenant_id);
        Ok(ChannelInfo {
            tenant: t,
            id: ChannelId::from_uuid(r.id),
            phone_number_id: r.phone_number_id.clone(),
            waba_id: r.waba_id.clone(),
            display_phone_number: r.display_phone_number.clone(),
            app_secret: self.keys.open_tenant(s, &secret_aad(t, "app_secret", r.id), &r.app_secret_sealed).await?,
            verify_token: self
                .keys
                .open_tenant(s, &secret_aad(t, "verify_token", r.id), &r.verify_token_sealed)
                .await?,
            access_token: self
                .keys
                .open_tenant(s, &secret_aad(t, "access_token", r.id), &r.access_token_sealed)
                .await?,
            graph_base_url: r.graph_base_url.clone(),
            api_version: r.api_version.clone(),
            status: r.status.clone(),
            throughput: u32::try_from(r.throughput_per_sec).unwrap_or(80),
            loaded_at: now,
        })
    }

    /// The connected channel a per-channel webhook URL names, or `None` (unknown or
    /// disconnected: answered 404).
    pub async fn webhook_channel(&self, id: ChannelId) -> AppResult<Option<Arc<ChannelInfo>>> {
        let now = self.now().0;
        if let Some(c) = self.wa.channels.get(id, now) {
            return Ok(Some(c));
        }
        let mut conn = self.db.read().await?;
        let Some(row) = channels::find_by_id(&mut conn.platform(), id.as_uuid()).await? else { return Ok(None) };
        if row.disconnected_at.is_some() {
            return Ok(None);
        }
        let info = Arc::new(self.open_channel(&mut conn.tenant(TenantId::from_uuid(row.tenant_id)), &row, now).await?);
        self.wa.channels.put(info.clone());
        Ok(Some(info))
    }

    /// The channel of a phone_number_id, for the platform-wide webhook URL.
    pub async fn channel_by_phone_number_id(&self, phone_number_id: &str) -> AppResult<Option<Arc<ChannelInfo>>> {
        let row = channels::find_by_phone_number_id(&mut self.db.read().await?.platform(), phone_number_id).await?;
        match row {
            Some(r) => self.webhook_channel(ChannelId::from_uuid(r.id)).await,
            None => Ok(None),
        }
    }

    pub(crate) async fn channel_by_waba_id(&self, waba_id: &str) -> AppResult<Option<Arc<ChannelInfo>>> {
        let row = channels::find_by_waba_id(&mut self.db.read().await?.platform(), waba_id).await?;
        match row {
            Some(r) => self.webhook_channel(ChannelId::from_uuid(r.id)).await,
            None => Ok(None),
        }
    }

    /// A channel of this tenant with its secrets, for sends and media downloads. A caller
    /// that holds a connection uses [`App::channel_info_in`] instead: waiting for a second
    /// connection while holding one deadlocks the pool once enough callers do it at once
    /// (every send stalled for the pool's timeout each time the cache expired).
    pub(crate) async fn channel_info(&self, tenant: TenantId, id: ChannelId) -> AppResult<Arc<ChannelInfo>> {
        if let Some(c) = self.cached_channel(tenant, id) {
            return Ok(c);
        }
        self.channel_info_in(&mut self.db.read().await?.tenant(tenant), id).await
    }

    /// [`App::channel_info`] through the caller's connection.
    pub(crate) async fn channel_info_in(&self, s: &mut Scope<'_>, id: ChannelId) -> AppResult<Arc<ChannelInfo>> {
        if let Some(c) = self.cached_channel(s.tenant_id(), id) {
            return Ok(c);
        }
        let now = self.now().0;
        let row = channels::get(s, id.as_uuid()).await?;
        let info = Arc::new(self.open_channel(s, &row, now).await?);
        self.wa.channels.put(info.clone());
        Ok(info)
    }

    fn cached_channel(&self, tenant: TenantId, id: ChannelId) -> Option<Arc<ChannelInfo>> {
        self.wa.channels.get(id, self.now().0).filter(|c| c.tenant == tenant)
    }

    /// Meta refused the token: the number needs reconnecting before it can send again.
    pub(crate) async fn channel_needs_reconnection(&self, tenant: TenantId, id: ChannelId) -> AppResult<()> {
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        channels::set_status(&mut s, id.as_uuid(), "needs_reconnection", now).await?;
        Audit::system("whatsapp")
            .record(
                self,
                &mut s,
                "channel.needs_reconnection",
                Some(("channel", id.to_string())),
                serde_json::json!({"code": 190}),
            )
            .await?;
        tx.commit().await?;
        self.wa.channels.forget(id);
        Ok(())
    }
}
