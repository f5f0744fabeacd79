//! TOTP second factor: enrolment with a QR code, one-time recovery codes, and verification
//! that refuses a code whose time step was already used (replay).

use serde::Serialize;
use switchboard_core::{Email, Invalid, UserId};
use switchboard_privacy::Aad;
use switchboard_privacy::token::sha256;
use switchboard_storage::users::{self, UserRow};
use switchboard_storage::{Scope, sessions};
use totp_rs::{Builder, Secret, Totp};

use super::Principal;
use crate::audit::Audit;
use crate::{App, AppError, AppResult};

const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Switchboard";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// An SVG QR code of `otpauth_url`.
    pub qr_svg: String,
}

fn totp_for(secret: Vec<u8>, account: &str) -> AppResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(AppError::internal)
}

/// What an authenticator needs: the secret typed by hand, or its `otpauth://` URL as a QR code.
fn enrolment(secret: Vec<u8>, email: &Email) -> AppResult<TotpEnrolment> {
    let base32 = Secret::new(secret.clone().into_boxed_slice()).to_base32();
    let url = totp_for(secret, email.as_str())?.to_url().map_err(AppError::internal)?;
    let qr = qrcode::QrCode::new(url.as_bytes()).map_err(AppError::internal)?;
    let svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
    Ok(TotpEnrolment { secret: base32, otpauth_url: url, qr_svg: svg })
}

fn secret_aad(user: &UserRow) -> Aad<'static> {
    Aad::new(user.tenant_id.into(), "users", "totp_secret", user.id)
}

fn email_aad(user: &UserRow) -> Aad<'static> {
    Aad::new(user.tenant_id.into(), "users", "email", user.id)
}

/// Recovery codes are shown as `xxxx-xxxx-xxxx` and compared without dashes or case.
fn normalize_recovery(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

fn new_recovery_code() -> String {
    let mut b = [0u8; 6];
    rand::fill(&mut b);
    let h = hex::encode(b);
    format!("{}-{}-{}", &h[0..4], &h[4..8], &h[8..12])
}

impl App {
    async fn user_totp(&self, s: &mut Scope<'_>, user: &UserRow) -> AppResult<Option<Totp>> {
        let Some(sealed) = &user.totp_secret_sealed else {
            return Ok(None);
        };
        let secret = self.keys.open_tenant(s, &secret_aad(user), sealed).await?;
        let email: Email = self.keys.open_tenant(s, &email_aad(user), &user.email_sealed).await?;
        Ok(Some(totp_for(secret, email.as_str())?))
    }

    /// A TOTP code (6 digits) or an unused recovery code. A TOTP code is accepted once: the
    /// matched time step must be newer than the last accepted one (checked in the database).
    pub(crate) async fn check_second_factor(
        &self,
        s: &mut Scope<'_>,
        user: &UserRow,
        code: &str,
        now: i64,
    ) -> AppResult<bool> {
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(totp) = self.user_totp(s, user).await? else {
                return Ok(false);
            };
            let secs = u64::try_from(now / 1000).unwrap_or(0);
            let Some(step) = totp.check(code, secs) else {
                return Ok(false);
            };
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            return Ok(users::advance_totp_step(s, user.id, step).await?);
        }
        let normalized = normalize_recovery(code);
        if normalized.len() != 12 {
            return Ok(false);
        }
        Ok(users::use_recovery_code(s, user.id, &sha256(normalized.as_bytes()), now).await?)
    }

    /// Starts enrolment: a new secret, stored sealed and not yet active.
    pub async fn totp_begin(&self, p: &Principal) -> AppResult<TotpEnrolment> {
        let user_id = p.require_user()?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let user = users::get(&mut s, user_id.as_uuid()).await?;
        if user.totp_enabled {
            return Err(AppError::Conflict { field: None, message: "two-factor authentication is already on".into() });
        }
        let secret = Secret::generate();
        let bytes = secret.as_bytes().to_vec();
        let sealed = self.keys.seal_tenant(&mut s, &secret_aad(&user), &bytes).await?;
        users::set_totp(&mut s, user.id, Some(&sealed), false, now).await?;
        let email: Email = self.keys.open_tenant(&mut s, &email_aad(&user), &user.email_sealed).await?;
        tx.commit().await?;
        enrolment(bytes, &email)
    }

    /// The enrolment begun by [`Self::totp_begin`] and not yet confirmed, shown again (after a
    /// reload or a mistyped first code). `None` when there is none.
    pub async fn totp_pending(&self, p: &Principal) -> AppResult<Option<TotpEnrolment>> {
        let user_id = p.require_user()?;
        let mut c = self.db.read().await?;
        let mut s = c.tenant(p.tenant);
        let user = users::get(&mut s, user_id.as_uuid()).await?;
        let Some(sealed) = user.totp_secret_sealed.as_ref().filter(|_| !user.totp_enabled) else {
            return Ok(None);
        };
        let secret: Vec<u8> = self.keys.open_tenant(&mut s, &secret_aad(&user), sealed).await?;
        let email: Email = self.keys.open_tenant(&mut s, &email_aad(&user), &user.email_sealed).await?;
        enrolment(secret, &email).map(Some)
    }

    /// Finishes enrolment with a first valid code. Returns the recovery codes, shown once.
    /// Other sessions of the user end (a changed second factor must not leave old sessions).
    pub async fn totp_confirm(&self, p: &Principal, code: &str) -> AppResult<Vec<String>> {
        let user_id = p.require_user()?;
        self.limits.mfa(user_id)?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let user = users::get(&mut s, user_id.as_uuid()).await?;
        if user.totp_enabled || user.totp_secret_sealed.is_none() {
            return Err(AppError::Conflict { field: None, message: "start enrolment first".into() });
        }
        let code_ok = code.len() == 6 && self.check_second_factor(&mut s, &user, code, now).await?;
        if !code_ok {
            return Err(Invalid::new("code", "invalid_code", "the code is not valid").into());
        }
        let step = users::get(&mut s, user.id).await?.totp_last_step;
        users::set_totp(&mut s, user.id, user.totp_secret_sealed.as_ref(), true, now).await?;
        if let Some(step) = step {
            users::advance_totp_step(&mut s, user.id, step).await?;
        }
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| sha256(normalize_recovery(c).as_bytes())).collect();
        users::replace_recovery_codes(&mut s, user.id, &hashes).await?;
        sessions::delete_for_user(&mut s, user.id, p.session.as_ref().map(|h| &h[..])).await?;
        Audit::of(p)
            .record(self, &mut s, "user.totp_enabled", Some(("user", user_id.to_string())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns 2FA off, after re-checking the password.
    pub async fn totp_disable(&self, p: &Principal, password: &str) -> AppResult<()> {
        let user_id = p.require_user()?;
        self.reauthenticate(p, user_id, password).await?;
        let now = self.now().0;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        users::set_totp(&mut s, user_id.as_uuid(), None, false, now).await?;
        users::replace_recovery_codes(&mut s, user_id.as_uuid(), &[]).await?;
        sessions::delete_for_user(&mut s, user_id.as_uuid(), p.session.as_ref().map(|h| &h[..])).await?;
        Audit::of(p)
            .record(self, &mut s, "user.totp_disabled", Some(("user", user_id.to_string())), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reauthenticate(&self, p: &Principal, user: UserId, password: &str) -> AppResult<()> {
        let row = users::get(&mut self.db.read().await?.tenant(p.tenant), user.as_uuid()).await?;
        if self.passwords().verify(password.to_owned(), Some(row.password_hash)).await {
            Ok(())
        } else {
            Err(Invalid::new("password", "wrong_password", "the password is not correct").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_normalise() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalize_recovery(&c.to_uppercase()), normalize_recovery(&c));
        assert_eq!(normalize_recovery(&c).len(), 12);
    }
}
