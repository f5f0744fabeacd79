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
    pub whatsapp: WhatsAppConfig,
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
pub struct WhatsAppConfig {
    /// Graph API base URLs a tenant may connect a number against. Meta's is always allowed;
    /// others (the simulator) only when an operator lists them: a tenant-chosen URL would
    /// otherwise let a tenant make the server call internal addresses with its tokens. An
    /// entry ending in `*` allows every URL starting with what precedes it.
    pub allowed_graph_urls: Vec<String>,
    pub default_api_version: String,
    /// The app secret of one platform-wide Meta app (`/webhooks/whatsapp`), if used.
    pub platform_app_secret: Option<String>,
    pub platform_verify_token: Option<String>,
    /// Largest webhook body accepted (Meta sends up to 3 MB).
    pub webhook_body_limit: usize,
    /// Most webhook deliveries committed together (group commit).
    pub ingest_batch: usize,
    /// Parallel ingest writers on PostgreSQL (SQLite has one writer, so one there).
    pub ingest_writers: usize,
    /// Sends in flight at once across all numbers of this node.
    pub send_concurrency: usize,
    /// Largest media file downloaded, in bytes, per kind (Meta's documented limits).
    pub media_limits: MediaLimits,
    /// Whole-request limit for Graph API calls. A send that times out is `unknown`, not resent.
    pub graph_timeout: std::time::Duration,
    /// A disconnected number's Meta data is purged this long after the disconnect, unless the
    /// number is connected again first.
    pub channel_purge_grace_ms: i64,
}

#[derive(Clone, Debug)]
pub struct MediaLimits {
    pub image: u64,
    pub video: u64,
    pub audio: u64,
    pub document: u64,
    pub sticker: u64,
}

pub const META_GRAPH_URL: &str = "https://graph.facebook.com";

impl Default for WhatsAppConfig {
    fn default() -> Self {
        const MB: u64 = 1024 * 1024;
        Self {
            allowed_graph_urls: vec![META_GRAPH_URL.to_owned()],
            default_api_version: "v24.0".into(),
            platform_app_secret: None,
            platform_verify_token: None,
            webhook_body_limit: 3 * 1024 * 1024,
            ingest_batch: 256,
            ingest_writers: 4,
            send_concurrency: 128,
            media_limits: MediaLimits {
                image: 5 * MB,
                video: 16 * MB,
                audio: 16 * MB,
                document: 100 * MB,
                sticker: MB / 2,
            },
            graph_timeout: std::time::Duration::from_secs(20),
            channel_purge_grace_ms: 30 * 24 * 3_600_000,
        }
    }
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
            session: SessionConfig { absolute_ttl_ms: 12 * 3_600_000, idle_ttl_ms: 2 * 3_600_000, max_mfa_attempts: 5 },
            // OWASP's baseline for Argon2id: 19 MiB, 2 iterations, 1 lane.
            argon2: Argon2Config { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 },
            limits: LimitsConfig { login_per_ip: 30, login_per_account_ip: 10, mfa_per_user: 10, api_per_key: 6000 },
            trusted_proxies: Vec::new(),
            node_id: format!("node-{}", uuid::Uuid::now_v7().simple()),
            whatsapp: WhatsAppConfig::default(),
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
            argon2: Argon2Config { memory_kib: 256, iterations: 1, parallelism: 1 },
            whatsapp: WhatsAppConfig {
                allowed_graph_urls: vec![META_GRAPH_URL.to_owned(), "http://127.0.0.1:*".to_owned()],
                graph_timeout: std::time::Duration::from_secs(2),
                ..WhatsAppConfig::default()
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
