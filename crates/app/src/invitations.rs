//! Invitations: an admin invites a person by e-mail with a role (no higher than they may grant,
//! as when creating a user). The invitation is a random single-use token, of which only the
//! hash is stored, shown once as the link `/invite/{token}`; it expires after seven days and can
//! be revoked. The invitee opens the link without logging in, sets a name and a password, and
//! becomes a user of that tenant with that role.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::{Email, Millis, Permission, Role, TenantId, UserId};
use switchboard_privacy::Aad;
use switchboard_privacy::token::{random_token, sha256};
use switchboard_storage::Scope;
use switchboard_storage::invitations::{self as repo, InvitationRow};
use switchboard_storage::{tenants, users};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::password::Passwords;
use crate::users::{UserView, may_grant, user_name};
use crate::{App, AppError, AppResult};

/// How long an invitation link works.
pub const INVITATION_TTL_MS: i64 = 7 * Millis::DAY;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    pub created_at: String,
    pub expires_at: String,
}

/// A new invitation with its token: the link is `/invite/{token}`, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedInvitation {
    #[serde(flatten)]
    pub invitation: InvitationView,
    pub token: String,
    /// `{public URL}/invite/{token}`: what to send the invitee.
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
}

/// What the invitee fills in.
#[derive(Debug, Clone, Deserialize)]
pub struct Acceptance {
    pub name: String,
    pub password: String,
}

fn email_aad(tenant: TenantId, id: Uuid) -> Aad<'static> {
    Aad::new(tenant, "invitations", "email", id)
}

/// A link that no longer works: used, revoked or expired.
fn gone(code: &'static str) -> AppError {
    let message = match code {
        "invitation_used" => "this invitation has been used",
        "invitation_revoked" => "this invitation has been revoked",
        _ => "this invitation has expired",
    };
    AppError::Gone { code, message }
}

fn check_open(r: &InvitationRow, now: i64) -> AppResult<()> {
    if r.accepted_at.is_some() {
        Err(gone("invitation_used"))
    } else if r.revoked_at.is_some() {
        Err(gone("invitation_revoked"))
    } else if now >= r.expires_at {
        Err(gone("invitation_expired"))
    } else {
        Ok(())
    }
}

/// A deleted (deactivated) organisation's invitations lead nowhere.
async fn active_tenant(s: &mut Scope<'_>) -> AppResult<()> {
    if tenants::get(s).await?.status == "active" { Ok(()) } else { Err(AppError::NotFound) }
}

impl App {
    async fn invitation_view(&self, s: &mut Scope<'_>, r: &InvitationRow) -> AppResult<InvitationView> {
        let email: Email = self.keys.open_tenant(s, &email_aad(s.tenant_id(), r.id), &r.email_sealed).await?;
        Ok(InvitationView {
            id: r.id.to_string(),
            email: email.to_string(),
            role: r.role.parse()?,
            created_at: Millis(r.created_at).to_rfc3339(),
            expires_at: Millis(r.expires_at).to_rfc3339(),
        })
    }

    /// Invites a person. An e-mail that already belongs to a user is a conflict.
    pub async fn create_invitation(&self, p: &Principal, input: &NewInvitation) -> AppResult<CreatedInvitation> {
        p.require(Permission::UsersManage)?;
        if !may_grant(p, input.role) {
            return Err(AppError::forbidden());
        }
        let email = Email::parse(&input.email)?;
        let index = self.keys.user_email_index(&email);
        let token = random_token(32);
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        if users::find_by_email_index(&mut tx.platform(), index).await?.is_some() {
            return Err(AppError::Conflict {
                field: Some("email".into()),
                message: "a user with this e-mail already exists".into(),
            });
        }
        let mut s = tx.tenant(p.tenant);
        let id = Uuid::now_v7();
        let row = InvitationRow {
            tenant_id: p.tenant.as_uuid(),
            id,
            token_hash: sha256(token.as_bytes()).to_vec(),
            email_sealed: self.keys.seal_tenant(&mut s, &email_aad(p.tenant, id), &email).await?,
            email_index: index,
            role: input.role.as_str().to_owned(),
            invited_by: p.user_id().map(|u| u.as_uuid()),
            created_at: now,
            expires_at: now + INVITATION_TTL_MS,
            revoked_at: None,
            accepted_at: None,
            accepted_user_id: None,
        };
        repo::insert(&mut s, &row).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "invitation.created",
                Some(("invitation", id.to_string())),
                json!({"role": input.role}),
            )
            .await?;
        let invitation = self.invitation_view(&mut s, &row).await?;
        tx.commit().await?;
        let url = format!("{}/invite/{token}", self.config.public_url.trim_end_matches('/'));
        Ok(CreatedInvitation { invitation, token, url })
    }

    /// Invitations not yet accepted, revoked or expired, newest first.
    pub async fn list_invitations(&self, p: &Principal) -> AppResult<Vec<InvitationView>> {
        p.require(Permission::UsersManage)?;
        let now = self.now().0;
        let mut conn = self.db.read().await?;
        let mut s = conn.tenant(p.tenant);
        let mut out = Vec::new();
        for r in repo::pending(&mut s, now).await? {
            out.push(self.invitation_view(&mut s, &r).await?);
        }
        Ok(out)
    }

    /// Revokes a pending invitation: its link stops working.
    pub async fn revoke_invitation(&self, p: &Principal, id: Uuid) -> AppResult<()> {
        p.require(Permission::UsersManage)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = repo::get(&mut s, id).await?;
        if !may_grant(p, row.role.parse()?) {
            return Err(AppError::forbidden());
        }
        check_open(&row, now)?;
        if !repo::revoke(&mut s, id, now).await? {
            return Err(gone("invitation_used"));
        }
        Audit::of(p)
            .record(self, &mut s, "invitation.revoked", Some(("invitation", id.to_string())), json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The invitation behind a link, while it works: unknown tokens are not found; used,
    /// revoked and expired ones are `Gone` (`invitation_used`, `_revoked`, `_expired`).
    pub async fn open_invitation(&self, token: &str) -> AppResult<InvitationView> {
        let now = self.now().0;
        let mut conn = self.db.read().await?;
        let row =
            repo::find_by_token(&mut conn.platform(), &sha256(token.as_bytes())).await?.ok_or(AppError::NotFound)?;
        check_open(&row, now)?;
        let mut s = conn.tenant(TenantId::from_uuid(row.tenant_id));
        active_tenant(&mut s).await?;
        self.invitation_view(&mut s, &row).await
    }

    /// Accepts an invitation: a user with the invited e-mail and role, the name and password
    /// given (the same rules as creating a user). Nothing is created when the link does not work.
    pub async fn accept_invitation(&self, token: &str, input: &Acceptance, ip: IpAddr) -> AppResult<UserView> {
        let name = user_name(Some(&input.name))?;
        Passwords::validate(&input.password)?;
        let hash = sha256(token.as_bytes());
        // Refuse a dead link before the (slow) password hash.
        self.open_invitation(token).await?;
        let password_hash = self.passwords().hash(input.password.clone()).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let row = repo::find_by_token(&mut tx.platform(), &hash).await?.ok_or(AppError::NotFound)?;
        check_open(&row, now)?;
        let tenant = TenantId::from_uuid(row.tenant_id);
        let mut s = tx.tenant(tenant);
        active_tenant(&mut s).await?;
        let email: Email = self.keys.open_tenant(&mut s, &email_aad(tenant, row.id), &row.email_sealed).await?;
        let role: Role = row.role.parse()?;
        let user = self.insert_user(&mut s, &email, name.as_deref(), role, password_hash, now).await?;
        if !repo::accept(&mut s, row.id, user.id, now).await? {
            return Err(gone("invitation_used"));
        }
        let who = Audit::user(UserId::from_uuid(user.id), Some(ip));
        let created = json!({"role": role, "invitation_id": row.id});
        who.record(self, &mut s, "user.created", Some(("user", user.id.to_string())), created).await?;
        who.record(
            self,
            &mut s,
            "invitation.accepted",
            Some(("invitation", row.id.to_string())),
            json!({"user_id": user.id, "role": role}),
        )
        .await?;
        let view = self.user_view(&mut s, user).await?;
        tx.commit().await?;
        Ok(view)
    }
}
