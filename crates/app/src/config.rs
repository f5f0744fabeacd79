//! Settings of the application layer. The binary fills them from its command line and
//! environment; tests build them directly.

use ipnet::IpNet;

#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The URL the server is reached at, used for links such as webhook URLs.
    pub public_url: String,
    pub session: SessionConfig,
    pub argon2: Argon2Config,
    pub limits: LimitsConfig,
    /// Proxies whose `X-Forwarded-For` is believed. Empty: the socket peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Identifies this process in job leases.
    pub node_id: String,
    pub privacy: PrivacyConfig,
}

#[derive(Clone, Debug)]
pub struct PrivacyConfig {
    /// A deleted tenant is purged this long after the deletion request.
    pub tenant_purge_grace_ms: i64,
    /// How long a signed export download link works.
    pub export_link_ttl_ms: i64,
}

#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Sessions end this long after login, whatever happens.
    pub absolute_ttl_ms: i64,
    /// Sessions end after this long without a request.
    pub idle_ttl_ms: i64,
    /// A pending 2FA step is abandoned after this many wrong codes.
    pub max_mfa_attempts: i32,
}

#[derive(Clone, Debug)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Per-node abuse limits (requests per minute, with an equal burst).
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    pub login_per_ip: u32,
    pub login_per_account_ip: u32,
    pub mfa_per_user: u32,
    pub api_per_key: u32,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            session: SessionConfig {
                absolute_ttl_ms: 12 * 3_600_000,
                idle_ttl_ms: 2 * 3_600_000,
                max_mfa_attempts: 5,
            },
            // OWASP's baseline for Argon2id: 19 MiB, 2 iterations, 1 lane.
            argon2: Argon2Config {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
            },
            limits: LimitsConfig {
                login_per_ip: 30,
                login_per_account_ip: 10,
                mfa_per_user: 10,
                api_per_key: 6000,
            },
            trusted_proxies: Vec::new(),
            node_id: format!("node-{}", uuid::Uuid::now_v7().simple()),
            privacy: PrivacyConfig {
                tenant_purge_grace_ms: 30 * 24 * 3_600_000,
                export_link_ttl_ms: 7 * 24 * 3_600_000,
            },
        }
    }
}

impl AppConfig {
    /// Cheap password hashing for tests, so authentication tests do not crawl.
    #[must_use]
    pub fn for_tests() -> Self {
        Self {
            argon2: Argon2Config {
                memory_kib: 256,
                iterations: 1,
                parallelism: 1,
            },
            // Tests log in hundreds of times from one address; limits get their own test.
            limits: LimitsConfig {
                login_per_ip: 100_000,
                login_per_account_ip: 100_000,
                mfa_per_user: 100_000,
                api_per_key: 100_000,
            },
            ..Self::default()
        }
    }
}
