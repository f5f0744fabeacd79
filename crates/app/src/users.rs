//! Users of a tenant: creation, roles, disabling. A role change or a disabled account ends the
//! user's sessions at once.

use serde::{Deserialize, Serialize};
use switchboard_core::{Email, Invalid, Millis, Permission, Role, TenantId, UserId};
use switchboard_privacy::Aad;
use switchboard_storage::users::{self, UserRow};
use switchboard_storage::{Scope, sessions};

use crate::audit::Audit;
use crate::auth::{Actor, Principal};
use crate::page::{self, Cursor, Page};
use crate::password::Passwords;
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub locale: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    #[serde(default)]
    pub name: Option<String>,
    /// When absent a random password is generated and returned once.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub locale: Option<String>,
}

/// A user's name as given: trimmed, empty is none, at most 200 characters.
pub(crate) fn user_name(name: Option<&str>) -> AppResult<Option<String>> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(Invalid::new("name", "invalid_name", "name must be at most 200 characters").into());
    }
    Ok(name)
}

pub const LOCALES: [&str; 2] = ["en", "tr"];

pub(crate) fn may_grant(p: &Principal, role: Role) -> bool {
    match &p.actor {
        Actor::User { role: mine, .. } => mine.may_grant(role),
        Actor::ApiKey { .. } => role != Role::Owner,
        Actor::System { .. } => true,
    }
}

fn email_aad(tenant: TenantId, id: uuid::Uuid) -> Aad<'static> {
    Aad::new(tenant, "users", "email", id)
}

fn name_aad(tenant: TenantId, id: uuid::Uuid) -> Aad<'static> {
    Aad::new(tenant, "users", "name", id)
}

impl App {
    pub(crate) async fn user_view(&self, s: &mut Scope<'_>, r: UserRow) -> AppResult<UserView> {
        let tenant = s.tenant_id();
        let email: Email = self.keys.open_tenant(s, &email_aad(tenant, r.id), &r.email_sealed).await?;
        let name = match &r.name_sealed {
            Some(n) => Some(self.keys.open_tenant(s, &name_aad(tenant, r.id), n).await?),
            None => None,
        };
        Ok(UserView {
            id: UserId::from_uuid(r.id),
            email: email.to_string(),
            name,
            role: r.role.parse()?,
            disabled: r.disabled,
            totp_enabled: r.totp_enabled,
            locale: r.locale,
            created_at: Millis(r.created_at).to_rfc3339(),
        })
    }

    /// Inserts a user (e-mail and name sealed, the e-mail blind-indexed); an e-mail in use is a
    /// conflict on `email`. The caller audits and commits.
    pub(crate) async fn insert_user(
        &self,
        s: &mut Scope<'_>,
        email: &Email,
        name: Option<&str>,
        role: Role,
        password_hash: String,
        now: i64,
    ) -> AppResult<UserRow> {
        let tenant = s.tenant_id();
        let id = UserId::new().as_uuid();
        let row = UserRow {
            tenant_id: tenant.as_uuid(),
            id,
            email_sealed: self.keys.seal_tenant(s, &email_aad(tenant, id), email).await?,
            email_index: self.keys.user_email_index(email),
            name_sealed: match name {
                Some(n) => Some(self.keys.seal_tenant(s, &name_aad(tenant, id), &n.to_owned()).await?),
                None => None,
            },
            password_hash,
            role: role.as_str().to_owned(),
            disabled: false,
            locale: "en".into(),
            totp_secret_sealed: None,
            totp_enabled: false,
            totp_last_step: None,
            created_at: now,
            updated_at: now,
        };
        users::insert(s, &row).await.map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => AppError::Conflict {
                field: Some("email".into()),
                message: "a user with this e-mail already exists".into(),
            },
            other => other,
        })?;
        Ok(row)
    }

    /// Creates a user. Returns the generated password when none was given.
    pub async fn create_user(&self, p: &Principal, input: NewUser) -> AppResult<(UserView, Option<String>)> {
        p.require(Permission::UsersManage)?;
        if !may_grant(p, input.role) {
            return Err(AppError::forbidden());
        }
        let email = Email::parse(&input.email)?;
        let name = user_name(input.name.as_deref())?;
        let (password, generated) = match input.password {
            Some(pw) => {
                Passwords::validate(&pw)?;
                (pw, None)
            }
            None => {
                let pw = switchboard_privacy::token::random_token(15);
                (pw.clone(), Some(pw))
            }
        };
        let hash = self.passwords().hash(password).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let row = self.insert_user(&mut s, &email, name.as_deref(), input.role, hash, now).await?;
        let id = row.id;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "user.created",
                Some(("user", id.to_string())),
                serde_json::json!({"role": input.role}),
            )
            .await?;
        let view = self.user_view(&mut s, row).await?;
        tx.commit().await?;
        Ok((view, generated))
    }

    pub async fn list_users(
        &self,
        p: &Principal,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> AppResult<Page<UserView>> {
        p.require(Permission::UsersManage)?;
        let after = page::decode_id(cursor)?;
        let limit = page::limit(limit);
        let mut c = self.db.read().await?;
        let mut s = c.tenant(p.tenant);
        let rows = users::list(&mut s, after, limit + 1).await?;
        let page = Page::from_rows(rows, limit, |r| Cursor::Id(r.id), |r| r);
        let mut items = Vec::with_capacity(page.items.len());
        for r in page.items {
            items.push(self.user_view(&mut s, r).await?);
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn get_user(&self, p: &Principal, id: UserId) -> AppResult<UserView> {
        if p.user_id() != Some(id) {
            p.require(Permission::UsersManage)?;
        }
        let mut c = self.db.read().await?;
        let mut s = c.tenant(p.tenant);
        let row = users::get(&mut s, id.as_uuid()).await?;
        self.user_view(&mut s, row).await
    }

    /// The caller's own profile.
    pub async fn me(&self, p: &Principal) -> AppResult<UserView> {
        let id = p.require_user()?;
        self.get_user(p, id).await
    }

    pub async fn update_user(&self, p: &Principal, id: UserId, patch: UserPatch) -> AppResult<UserView> {
        let own_locale_only = p.user_id() == Some(id) && patch.role.is_none() && patch.disabled.is_none();
        if !own_locale_only {
            p.require(Permission::UsersManage)?;
        }
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let before = users::get(&mut s, id.as_uuid()).await?;
        let current: Role = before.role.parse()?;
        let mut end_sessions = false;
        let mut changed = serde_json::Map::new();
        if let Some(role) = patch.role.filter(|r| *r != current) {
            if !may_grant(p, role) || !may_grant(p, current) {
                return Err(AppError::forbidden());
            }
            if current == Role::Owner && users::count_owners(&mut s).await? <= 1 {
                return Err(AppError::Conflict {
                    field: Some("role".into()),
                    message: "the last owner cannot be demoted".into(),
                });
            }
            users::set_role(&mut s, id.as_uuid(), role.as_str(), now).await?;
            changed.insert("role".into(), serde_json::json!({"from": current, "to": role}));
            end_sessions = true;
        }
        if let Some(disabled) = patch.disabled.filter(|d| *d != before.disabled) {
            if !may_grant(p, current) {
                return Err(AppError::forbidden());
            }
            if disabled && current == Role::Owner && users::count_owners(&mut s).await? <= 1 {
                return Err(AppError::Conflict {
                    field: Some("disabled".into()),
                    message: "the last owner cannot be disabled".into(),
                });
            }
            users::set_disabled(&mut s, id.as_uuid(), disabled, now).await?;
            changed.insert("disabled".into(), serde_json::json!(disabled));
            end_sessions |= disabled;
        }
        if let Some(locale) = patch.locale {
            if !LOCALES.contains(&locale.as_str()) {
                return Err(Invalid::new("locale", "invalid_locale", "locale must be en or tr").into());
            }
            users::set_locale(&mut s, id.as_uuid(), &locale, now).await?;
            changed.insert("locale".into(), serde_json::json!(locale));
        }
        if end_sessions {
            sessions::delete_for_user(&mut s, id.as_uuid(), None).await?;
        }
        if !changed.is_empty() {
            let action = if changed.contains_key("role") { "user.role_changed" } else { "user.updated" };
            Audit::of(p)
                .record(self, &mut s, action, Some(("user", id.to_string())), serde_json::Value::Object(changed))
                .await?;
        }
        let row = users::get(&mut s, id.as_uuid()).await?;
        let view = self.user_view(&mut s, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// An administrator ends all sessions of a user.
    pub async fn end_user_sessions(&self, p: &Principal, id: UserId) -> AppResult<u64> {
        p.require(Permission::UsersManage)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        users::get(&mut s, id.as_uuid()).await?;
        let n = sessions::delete_for_user(&mut s, id.as_uuid(), None).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "user.sessions_ended",
                Some(("user", id.to_string())),
                serde_json::json!({"sessions": n}),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
