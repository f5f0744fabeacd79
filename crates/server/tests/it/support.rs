//! Starting servers, making tenants and users, and looking inside the database.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_app::auth::{NewApiKey, Principal};
use switchboard_app::clock::SystemClock;
use switchboard_app::users::NewUser;
use switchboard_app::{App, AppConfig};
use switchboard_core::{Permission, Role, TenantId, UserId};
use switchboard_privacy::MasterKey;
use switchboard_server::Running;
use switchboard_server::launch::{LaunchConfig, launch};
use switchboard_storage::test_support::TestDb;
use switchboard_storage::{Backend, Ex};
use switchboard_web::WebConfig;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub url: String,
    pub app: Arc<App>,
    pub db_url: String,
    running: Option<Running>,
    db: TestDb,
    pub blobs: tempfile::TempDir,
    master: MasterKey,
    config: AppConfig,
    web: WebConfig,
    clock: Arc<dyn switchboard_core::Clock>,
}

/// Declares `name::sqlite` and `name::postgres` for an `async fn(&TestServer)` scenario.
macro_rules! server_test {
    ($name:ident) => {
        server_test!($name, switchboard_app::AppConfig::for_tests());
    };
    ($name:ident, $config:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = crate::support::TestServer::start(switchboard_storage::Backend::Sqlite, $config).await.unwrap();
                super::$name(&t).await;
                t.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = crate::support::TestServer::start(switchboard_storage::Backend::Postgres, $config).await
                else {
                    return;
                };
                super::$name(&t).await;
                t.stop().await;
            }
        }
    };
}

impl TestServer {
    /// `None` when PostgreSQL was asked for but is not configured (the test is skipped).
    pub async fn start(backend: Backend, config: AppConfig) -> Option<Self> {
        Self::start_with(backend, config, WebConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: AppConfig, web: WebConfig) -> Option<Self> {
        Self::start_full(backend, config, web, Arc::new(SystemClock)).await
    }

    /// A SQLite server whose clock starts now and only moves when the test advances it.
    pub async fn with_manual_clock() -> (Self, Arc<switchboard_app::clock::ManualClock>) {
        let now = switchboard_core::Millis(jiff::Timestamp::now().as_millisecond());
        let clock = Arc::new(switchboard_app::clock::ManualClock::new(now));
        let t = Self::start_full(Backend::Sqlite, AppConfig::for_tests(), WebConfig::default(), clock.clone()).await;
        (t.unwrap(), clock)
    }

    pub async fn start_full(
        backend: Backend,
        config: AppConfig,
        web: WebConfig,
        clock: Arc<dyn switchboard_core::Clock>,
    ) -> Option<Self> {
        switchboard_server::install_crypto_provider();
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite().await.unwrap(),
            Backend::Postgres => TestDb::postgres().await.unwrap()?,
        };
        let master = MasterKey::generate();
        let blobs = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = config;
        config.public_url = format!("http://{}", listener.local_addr().unwrap());
        let keep = (master.clone(), config.clone(), web.clone(), clock.clone());
        let running = launch(
            LaunchConfig { db: db.db.clone(), master, app: config, web, clock, blobs_dir: blobs.path().to_owned() },
            listener,
        )
        .await
        .unwrap();
        Some(Self {
            url: running.url(),
            app: running.app.clone(),
            db_url: db.url.clone(),
            running: Some(running),
            db,
            blobs,
            master: keep.0,
            config: keep.1,
            web: keep.2,
            clock: keep.3,
        })
    }

    /// Stops this node (as a deploy or a crash-restart would) and starts a new one on the same
    /// database, master key and blob store, listening on a new port.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let options = switchboard_storage::DbOptions { max_connections: 8, ..Default::default() };
        let db = switchboard_storage::Db::connect(&self.db_url, &options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = self.config.clone();
        config.public_url = format!("http://{}", listener.local_addr().unwrap());
        let cfg = LaunchConfig {
            db,
            master: self.master.clone(),
            app: config,
            web: self.web.clone(),
            clock: self.clock.clone(),
            blobs_dir: self.blobs.path().to_owned(),
        };
        let running = launch(cfg, listener).await.unwrap();
        self.url = running.url();
        self.app = running.app.clone();
        self.running = Some(running);
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.db.cleanup().await;
    }

    pub fn backend(&self) -> Backend {
        self.app.db.backend()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A tenant with an owner, and an API key with every scope.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let t = self.app.create_tenant(name).await.unwrap();
        let owner = self.user(t.id, Role::Owner).await;
        let (_, key) = self
            .app
            .create_api_key(
                &Principal::system(t.id, "test"),
                NewApiKey {
                    name: "all".into(),
                    scopes: Permission::ALL.iter().map(|p| p.scope().to_owned()).collect(),
                },
            )
            .await
            .unwrap();
        Tenant { id: t.id, owner, key }
    }

    pub async fn user(&self, tenant: TenantId, role: Role) -> User {
        let email = format!("{}-{}@example.test", role.as_str(), uuid::Uuid::now_v7().simple());
        let (view, _) = self
            .app
            .create_user(
                &Principal::system(tenant, "test"),
                NewUser { email: email.clone(), role, name: None, password: Some(PASSWORD.into()) },
            )
            .await
            .unwrap();
        User { id: view.id, email, role }
    }

    /// A client holding a fresh session of `user`.
    pub async fn login(&self, user: &User) -> reqwest::Client {
        let client = client();
        let res = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": user.email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login of {}", user.email);
        client
    }

    /// Every text and byte value stored in any table, for scans for leaked plaintext.
    pub async fn all_stored_values(&self) -> Vec<Vec<u8>> {
        let mut conn = self.app.db.read().await.unwrap();
        let mut out = Vec::new();
        match conn.ex() {
            Ex::Sqlite(c) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&mut *c)
                .await
                .unwrap();
                for t in tables {
                    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(&t)
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                    for col in cols {
                        // CAST AS BLOB gives the stored bytes of text and blob values alike.
                        let sql = format!("SELECT CAST(\"{col}\" AS BLOB) FROM \"{t}\" WHERE \"{col}\" IS NOT NULL");
                        let vals: Vec<Vec<u8>> =
                            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await.unwrap();
                        out.extend(vals);
                    }
                }
            }
            Ex::Pg(c) => {
                let cols: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public'",
                )
                .fetch_all(&mut *c)
                .await
                .unwrap();
                for (t, col, ty) in cols {
                    let sql = if ty == "bytea" {
                        format!("SELECT \"{col}\" FROM \"{t}\" WHERE \"{col}\" IS NOT NULL")
                    } else {
                        format!("SELECT convert_to(\"{col}\"::text, 'UTF8') FROM \"{t}\" WHERE \"{col}\" IS NOT NULL")
                    };
                    let vals: Vec<Vec<u8>> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await.unwrap();
                    out.extend(vals);
                }
            }
        }
        out
    }

    /// Asserts that none of `needles` occurs in any stored value (nor, on SQLite, anywhere in
    /// the database files on disk).
    pub async fn assert_not_stored(&self, needles: &[&str]) {
        let values = self.all_stored_values().await;
        assert!(values.len() > 20, "the scan must see data ({} values)", values.len());
        for needle in needles {
            for v in &values {
                assert!(!contains(v, needle.as_bytes()), "plaintext {needle:?} found in a stored value");
            }
        }
        for file in files_under(self.blobs.path()) {
            let bytes = std::fs::read(&file).unwrap();
            for needle in needles {
                assert!(!contains(&bytes, needle.as_bytes()), "plaintext {needle:?} found in blob {}", file.display());
            }
        }
        if self.backend() == Backend::Sqlite {
            let path = self.db_url.trim_start_matches("sqlite:");
            for file in [path.to_owned(), format!("{path}-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    for needle in needles {
                        assert!(!contains(&bytes, needle.as_bytes()), "plaintext {needle:?} found in {file}");
                    }
                }
            }
        }
    }
}

/// Every file below `dir`.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

pub struct Tenant {
    pub id: TenantId,
    pub owner: User,
    /// An API key with every scope.
    pub key: String,
}

#[derive(Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
}

/// Request helpers with an API key.
pub struct Api<'a> {
    pub server: &'a TestServer,
    pub key: &'a str,
    client: reqwest::Client,
}

impl<'a> Api<'a> {
    pub fn new(server: &'a TestServer, key: &'a str) -> Self {
        Self { server, key, client: reqwest::Client::new() }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.server.url(path)).bearer_auth(self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// Asserts the standard error shape and returns its code.
pub fn error_code(body: &Value) -> String {
    let e = body.get("error").unwrap_or_else(|| panic!("not an error body: {body}"));
    assert!(e.get("message").and_then(Value::as_str).is_some(), "error without message: {body}");
    e["code"].as_str().unwrap().to_owned()
}

/// A WhatsApp number of a test tenant, connected to its own simulator.
pub struct Whatsapp {
    pub sim: switchboard_simulator::SimHandle,
    pub channel_id: String,
    pub phone_number_id: String,
}

impl Whatsapp {
    pub fn control(&self) -> switchboard_simulator::SimControl {
        self.sim.control()
    }
}

pub const SIM_SECRET: &str = "test-app-secret";
pub const SIM_TOKEN: &str = "test-access-token";
pub const SIM_VERIFY: &str = "test-verify-token";

impl TestServer {
    /// Starts a simulator with a fresh phone_number_id and connects it through the API.
    pub async fn whatsapp(&self, key: &str) -> Whatsapp {
        let fast = switchboard_simulator::SimConfig { status_delays_ms: (10, 20, 30), ..Default::default() };
        self.whatsapp_with(key, fast).await
    }

    /// A simulator with a fresh phone_number_id and the test secrets, not connected yet.
    pub async fn simulator(
        &self,
        base: switchboard_simulator::SimConfig,
    ) -> (switchboard_simulator::SimHandle, switchboard_simulator::SimConfig) {
        let cfg = switchboard_simulator::SimConfig {
            webhook_url: self.url("/webhooks/whatsapp"),
            app_secret: SIM_SECRET.into(),
            access_token: SIM_TOKEN.into(),
            verify_token: SIM_VERIFY.into(),
            phone_number_id: format!("1{:014}", rand::random_range(0..100_000_000_000_000u64)),
            ..base
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (switchboard_simulator::Simulator::start(listener, cfg.clone()).await.unwrap(), cfg)
    }

    pub async fn whatsapp_with(&self, key: &str, base: switchboard_simulator::SimConfig) -> Whatsapp {
        let (sim, cfg) = self.simulator(base).await;
        let phone_number_id = cfg.phone_number_id.clone();
        let (status, ch) = Api::new(self, key)
            .post(
                "/api/v1/channels/whatsapp",
                json!({
                    "phone_number_id": phone_number_id, "waba_id": cfg.waba_id, "display_phone_number": cfg.display_phone_number,
                    "access_token": SIM_TOKEN, "app_secret": SIM_SECRET, "verify_token": SIM_VERIFY,
                    "graph_base_url": sim.base_url,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ch}");
        sim.set_webhook_url(ch["webhook_url"].as_str().unwrap().to_owned());
        Whatsapp { sim, channel_id: ch["id"].as_str().unwrap().to_owned(), phone_number_id }
    }

    /// A customer writes; returns (conversation id, message id) once the message is stored.
    pub async fn customer_writes(&self, tenant: TenantId, wa: &Whatsapp, from: &str, text: &str) -> (String, String) {
        let wamids = wa
            .control()
            .inbound(&json!({"from": from, "name": "Test Customer", "type": "text", "text": text}))
            .unwrap();
        let found = self.wait_for_wamid(tenant, wa, &wamids[0]).await;
        (found.1.to_string(), found.0.to_string())
    }

    /// Waits until a message with this wamid is stored: (message, conversation, contact).
    pub async fn wait_for_wamid(
        &self,
        tenant: TenantId,
        wa: &Whatsapp,
        wamid: &str,
    ) -> (uuid::Uuid, uuid::Uuid, uuid::Uuid) {
        let channel: uuid::Uuid = wa.channel_id.parse().unwrap();
        for _ in 0..400 {
            let mut conn = self.app.db.read().await.unwrap();
            if let Some(found) =
                switchboard_storage::messages::find_by_provider_id(&mut conn.tenant(tenant), channel, wamid)
                    .await
                    .unwrap()
            {
                return found;
            }
            drop(conn);
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let deliveries =
            reqwest::get(format!("{}/_sim/deliveries", wa.sim.base_url)).await.unwrap().text().await.unwrap();
        panic!("message {wamid} never arrived; simulator deliveries: {deliveries}");
    }
}

impl TestServer {
    /// POSTs a raw webhook body to a channel's URL with the given signature header.
    pub async fn post_webhook(&self, path: &str, body: Vec<u8>, signature: Option<String>) -> (StatusCode, String) {
        let mut req = reqwest::Client::new().post(self.url(path)).header("content-type", "application/json").body(body);
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        let res = req.send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// Signs with the test app secret and POSTs to the channel's webhook URL.
    pub async fn deliver(&self, wa: &Whatsapp, body: &[u8]) -> StatusCode {
        let sig = switchboard_channels::whatsapp::signature::sign(SIM_SECRET.as_bytes(), body);
        self.post_webhook(&format!("/webhooks/whatsapp/{}", wa.channel_id), body.to_vec(), Some(sig)).await.0
    }

    /// A `SELECT COUNT(*) … WHERE tenant_id = $1 [AND …]` against the database.
    pub async fn count(&self, tenant: TenantId, table: &str, and: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 {and}");
        let mut conn = self.app.db.read().await.unwrap();
        match conn.ex() {
            Ex::Sqlite(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid()).fetch_one(&mut *c).await.unwrap()
            }
            Ex::Pg(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid()).fetch_one(&mut *c).await.unwrap()
            }
        }
    }

    /// Polls until `f` holds (5 s at most).
    pub async fn eventually<F: AsyncFnMut() -> bool>(&self, what: &str, mut f: F) {
        for _ in 0..250 {
            if f().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("never happened: {what}");
    }
}
