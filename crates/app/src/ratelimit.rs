//! Per-node abuse limits (GCRA via governor). Login is limited per client IP and per
//! account-and-IP pair: an attacker guessing the owner's password from elsewhere exhausts only
//! their own budget, so they cannot lock the owner out of the owner's own network.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use switchboard_core::{ApiKeyId, UserId};
use switchboard_privacy::BlindIndex;

use crate::config::LimitsConfig;
use crate::{AppError, AppResult};

pub struct Limits {
    login_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_account: DefaultKeyedRateLimiter<(BlindIndex, IpAddr)>,
    mfa_user: DefaultKeyedRateLimiter<UserId>,
    api_key: DefaultKeyedRateLimiter<ApiKeyId>,
}

fn per_minute<K: Hash + Eq + Clone>(n: u32) -> DefaultKeyedRateLimiter<K> {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_minute(n).allow_burst(n))
}

fn check<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> AppResult<()> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
    })
}

impl Limits {
    #[must_use]
    pub fn new(cfg: &LimitsConfig) -> Self {
        Self {
            login_ip: per_minute(cfg.login_per_ip),
            login_account: per_minute(cfg.login_per_account_ip),
            mfa_user: per_minute(cfg.mfa_per_user),
            api_key: per_minute(cfg.api_per_key),
        }
    }

    pub fn login(&self, ip: IpAddr, account: BlindIndex) -> AppResult<()> {
        check(&self.login_ip, &ip)?;
        check(&self.login_account, &(account, ip))
    }

    pub fn mfa(&self, user: UserId) -> AppResult<()> {
        check(&self.mfa_user, &user)
    }

    pub fn api_key(&self, key: ApiKeyId) -> AppResult<()> {
        check(&self.api_key, &key)
    }

    /// Forgets idle keys so memory stays bounded.
    pub fn shrink(&self) {
        self.login_ip.retain_recent();
        self.login_account.retain_recent();
        self.mfa_user.retain_recent();
        self.api_key.retain_recent();
    }
}
