//! Logging in and out, the 2FA step, and turning a session cookie into a principal.

use std::net::IpAddr;

use serde::Serialize;
use switchboard_core::{Email, Millis, Role, TenantId, UserId};
use switchboard_privacy::BlindIndex;
use switchboard_privacy::token::{random_token, sha256};
use switchboard_storage::sessions::{self, SessionRow};
use switchboard_storage::{tenants, users};

use super::{Actor, Principal, ip_allowed, ip_not_allowed, parse_allowlist};
use crate::audit::Audit;
use crate::password::Passwords;
use crate::{App, AppError, AppResult};

pub struct LoginResult {
    /// The new session token, for the cookie. Shown nowhere else.
    pub token: String,
    pub mfa_required: bool,
    pub tenant: TenantId,
    pub user: UserId,
}

/// A cookie-authenticated caller; `mfa_pending` sessions may only finish the 2FA step.
pub struct SessionAuth {
    pub principal: Principal,
    pub mfa_pending: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    pub ip: String,
    pub user_agent: String,
    pub created_at: String,
    pub last_seen_at: String,
}

const BAD_LOGIN: &str = "invalid e-mail or password";
const BAD_SESSION: &str = "session expired or invalid; log in again";

fn session_id(hash: &[u8]) -> String {
    hex::encode(hash.get(..8).unwrap_or_default())
}

impl App {
    /// Checks credentials and opens a session (pending 2FA when the user has it). Any session
    /// the browser already had is ended: a login always yields a new token.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: IpAddr,
        user_agent: &str,
        previous_token: Option<&str>,
    ) -> AppResult<LoginResult> {
        let email = Email::parse(email).ok();
        let index = email.as_ref().map_or(BlindIndex([0; 16]), |e| self.keys.user_email_index(e));
        self.limits.login(ip, index)?;
        let user = match email {
            Some(_) => users::find_by_email_index(&mut self.db.read().await?.platform(), index).await?,
            None => None,
        };
        let password_ok =
            self.passwords().verify(password.to_owned(), user.as_ref().map(|u| u.password_hash.clone())).await;
        let now = self.now().0;
        let Some(user) = user else {
            tracing::info!(%ip, "login failed: unknown account");
            return Err(AppError::Unauthenticated(BAD_LOGIN));
        };
        let tenant = TenantId::from_uuid(user.tenant_id);
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(tenant);
        let t = tenants::get(&mut s).await?;
        let audit = Audit::anonymous(ip);
        if !password_ok || user.disabled || t.status != "active" {
            let reason = if !password_ok {
                "wrong_password"
            } else if user.disabled {
                "user_disabled"
            } else {
                "tenant_inactive"
            };
            audit
                .record(
                    self,
                    &mut s,
                    "login.failed",
                    Some(("user", user.id.to_string())),
                    serde_json::json!({"reason": reason}),
                )
                .await?;
            tx.commit().await?;
            tracing::info!(%ip, %tenant, "login failed");
            return Err(AppError::Unauthenticated(BAD_LOGIN));
        }
        if !ip_allowed(&parse_allowlist(&t.ip_allowlist), Some(ip)) {
            audit
                .record(
                    self,
                    &mut s,
                    "login.refused",
                    Some(("user", user.id.to_string())),
                    serde_json::json!({"reason": "ip_not_allowed"}),
                )
                .await?;
            tx.commit().await?;
            return Err(ip_not_allowed());
        }
        if let Some(old) = previous_token {
            sessions::delete(&mut s, &sha256(old.as_bytes())).await?;
        }
        let token = random_token(32);
        let mfa_required = user.totp_enabled;
        sessions::insert(
            &mut s,
            &SessionRow {
                token_hash: sha256(token.as_bytes()).to_vec(),
                tenant_id: user.tenant_id,
                user_id: user.id,
                mfa_state: if mfa_required { "pending" } else { "not_required" }.to_owned(),
                mfa_attempts: 0,
                ip: ip.to_string(),
                user_agent: user_agent.chars().take(200).collect(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + self.config.session.absolute_ttl_ms,
            },
        )
        .await?;
        let who = Audit::user(UserId::from_uuid(user.id), Some(ip));
        who.record(self, &mut s, "login.succeeded", None, serde_json::json!({"mfa_required": mfa_required})).await?;
        tx.commit().await?;
        Ok(LoginResult { token, mfa_required, tenant, user: UserId::from_uuid(user.id) })
    }

    /// The 2FA step of a login: a TOTP code, or one of the user's recovery codes. Wrong codes
    /// are counted on the session; too many end it.
    pub async fn verify_mfa(&self, token: &str, code: &str, ip: IpAddr) -> AppResult<()> {
        let hash = sha256(token.as_bytes());
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let row = sessions::find(&mut tx.platform(), &hash)
            .await?
            .filter(|r| r.expires_at > now)
            .ok_or(AppError::Unauthenticated(BAD_SESSION))?;
        if row.mfa_state != "pending" {
            return Ok(());
        }
        let user_id = UserId::from_uuid(row.user_id);
        self.limits.mfa(user_id)?;
        let mut s = tx.tenant(TenantId::from_uuid(row.tenant_id));
        let user = users::get(&mut s, row.user_id).await?;
        let ok = self.check_second_factor(&mut s, &user, code, now).await?;
        let audit = Audit::user(user_id, Some(ip));
        if ok {
            sessions::set_mfa(&mut s, &hash, "passed", row.mfa_attempts).await?;
            audit.record(self, &mut s, "login.mfa_passed", None, serde_json::json!({})).await?;
        } else {
            let attempts = row.mfa_attempts + 1;
            if attempts >= self.config.session.max_mfa_attempts {
                sessions::delete(&mut s, &hash).await?;
            } else {
                sessions::set_mfa(&mut s, &hash, "pending", attempts).await?;
            }
            audit.record(self, &mut s, "login.mfa_failed", None, serde_json::json!({"attempts": attempts})).await?;
        }
        tx.commit().await?;
        if ok { Ok(()) } else { Err(AppError::Unauthenticated("invalid code")) }
    }

    /// Resolves a session token. Idle and absolute timeouts, a disabled user, a deactivated
    /// tenant and the IP allow-list are all checked here, on every request.
    pub async fn session_auth(&self, token: &str, ip: IpAddr) -> AppResult<SessionAuth> {
        let hash = sha256(token.as_bytes());
        let now = self.now().0;
        let row = sessions::find_auth(&mut self.db.read().await?.platform(), &hash)
            .await?
            .ok_or(AppError::Unauthenticated(BAD_SESSION))?;
        let tenant = TenantId::from_uuid(row.tenant_id);
        let expired = now >= row.expires_at || now >= row.last_seen_at + self.config.session.idle_ttl_ms;
        if expired || row.disabled || row.tenant_status != "active" {
            let mut tx = self.db.write().await?;
            sessions::delete(&mut tx.tenant(tenant), &hash).await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated(BAD_SESSION));
        }
        if !ip_allowed(&parse_allowlist(&row.ip_allowlist), Some(ip)) {
            return Err(ip_not_allowed());
        }
        let role: Role = row.role.parse().map_err(AppError::internal)?;
        // Record activity at most once a minute: the idle timeout needs no finer grain.
        if now - row.last_seen_at > Millis::MINUTE {
            let mut tx = self.db.write().await?;
            sessions::touch(&mut tx.tenant(tenant), &hash, now).await?;
            tx.commit().await?;
        }
        Ok(SessionAuth {
            principal: Principal {
                tenant,
                actor: Actor::User { id: UserId::from_uuid(row.user_id), role },
                ip: Some(ip),
                session: Some(hash),
            },
            mfa_pending: row.mfa_state == "pending",
        })
    }

    /// Ends the session of this token (if it is one).
    pub async fn logout(&self, token: &str, ip: IpAddr) -> AppResult<()> {
        let hash = sha256(token.as_bytes());
        let mut tx = self.db.write().await?;
        if let Some(row) = sessions::find(&mut tx.platform(), &hash).await? {
            let mut s = tx.tenant(TenantId::from_uuid(row.tenant_id));
            sessions::delete(&mut s, &hash).await?;
            Audit::user(UserId::from_uuid(row.user_id), Some(ip))
                .record(self, &mut s, "logout", None, serde_json::json!({}))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Log out everywhere": ends every session of the caller, this one included.
    pub async fn logout_everywhere(&self, p: &Principal) -> AppResult<u64> {
        let user = p.require_user()?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let n = sessions::delete_for_user(&mut s, user.as_uuid(), None).await?;
        Audit::of(p).record(self, &mut s, "logout.everywhere", None, serde_json::json!({"sessions": n})).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn list_sessions(&self, p: &Principal) -> AppResult<Vec<SessionView>> {
        let user = p.require_user()?;
        let rows = sessions::list_for_user(&mut self.db.read().await?.tenant(p.tenant), user.as_uuid()).await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionView {
                id: session_id(&r.token_hash),
                current: p.session.is_some_and(|h| h.as_slice() == r.token_hash.as_slice()),
                ip: r.ip,
                user_agent: r.user_agent,
                created_at: Millis(r.created_at).to_rfc3339(),
                last_seen_at: Millis(r.last_seen_at).to_rfc3339(),
            })
            .collect())
    }

    /// Changes the caller's password and ends their other sessions.
    pub async fn change_password(&self, p: &Principal, current: &str, new: &str) -> AppResult<()> {
        let user_id = p.require_user()?;
        Passwords::validate(new)?;
        let user = users::get(&mut self.db.read().await?.tenant(p.tenant), user_id.as_uuid()).await?;
        if !self.passwords().verify(current.to_owned(), Some(user.password_hash)).await {
            return Err(AppError::Invalid(switchboard_core::Invalid::new(
                "current_password",
                "wrong_password",
                "the current password is not correct",
            )));
        }
        let hash = self.passwords().hash(new.to_owned()).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        users::set_password(&mut s, user_id.as_uuid(), &hash, now).await?;
        let ended = sessions::delete_for_user(&mut s, user_id.as_uuid(), p.session.as_ref().map(|h| &h[..])).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "user.password_changed",
                Some(("user", user_id.to_string())),
                serde_json::json!({"other_sessions_ended": ended}),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
