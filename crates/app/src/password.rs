//! Password hashing with Argon2id, off the async runtime (it is deliberately slow).

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use switchboard_core::Invalid;

use crate::config::Argon2Config;
use crate::{AppError, AppResult};

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    /// A hash of a random password, checked when the account does not exist so that a wrong
    /// e-mail and a wrong password take the same time.
    dummy: String,
}

impl Passwords {
    pub fn new(cfg: &Argon2Config) -> AppResult<Self> {
        let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None).map_err(AppError::internal)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon
            .hash_password(switchboard_privacy::token::random_token(16).as_bytes())
            .map_err(AppError::internal)?
            .to_string();
        Ok(Self { argon, dummy })
    }

    /// Rules for a new password: long enough to matter, short enough to hash.
    pub fn validate(password: &str) -> Result<(), Invalid> {
        let n = password.chars().count();
        if n < 10 {
            return Err(Invalid::new("password", "password_too_short", "use at least 10 characters"));
        }
        if n > 128 {
            return Err(Invalid::new("password", "password_too_long", "use at most 128 characters"));
        }
        Ok(())
    }

    pub async fn hash(&self, password: String) -> AppResult<String> {
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(AppError::internal)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Checks `password` against `hash`, or against the dummy when there is no account.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let argon = self.argon.clone();
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (self.dummy.clone(), false),
        };
        tokio::task::spawn_blocking(move || argon.verify_password(password.as_bytes(), hash.as_str()).is_ok() && real)
            .await
            .unwrap_or(false)
    }
}
