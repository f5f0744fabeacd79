//! A benchmark's world: a real server started in this process on a fresh database (a temporary
//! SQLite file, or a new PostgreSQL database that is dropped afterwards), a tenant with an API
//! key, and a WhatsApp number connected to an in-process Meta simulator.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use switchboard_app::auth::{NewApiKey, Principal};
use switchboard_app::clock::SystemClock;
use switchboard_app::whatsapp::channels::{ChannelView, ConnectWhatsApp};
use switchboard_app::{App, AppConfig};
use switchboard_core::{Permission, TenantId};
use switchboard_privacy::MasterKey;
use switchboard_server::Running;
use switchboard_server::launch::{LaunchConfig, launch};
use switchboard_simulator::{SimConfig, SimHandle, Simulator};
use switchboard_storage::DbOptions;
use switchboard_storage::test_support::TestDb;
use switchboard_web::WebConfig;
use tokio::net::TcpListener;

pub const APP_SECRET: &str = "bench-app-secret";
const ACCESS_TOKEN: &str = "bench-access-token";
const VERIFY_TOKEN: &str = "bench-verify-token";

pub struct Env {
    pub server: Running,
    pub sim: SimHandle,
    pub tenant: TenantId,
    /// An API key with every scope.
    pub key: String,
    pub channel: ChannelView,
    db: TestDb,
    _blobs: tempfile::TempDir,
}

/// The production configuration, with the simulator allowed as a Graph API and the per-key
/// API rate limit out of the way of a load generator.
#[must_use]
pub fn app_config() -> AppConfig {
    let mut cfg = AppConfig::default();
    cfg.whatsapp.allowed_graph_urls.push("http://127.0.0.1:*".into());
    cfg.limits.api_per_key = u32::MAX;
    cfg
}

impl Env {
    /// `pg`: a PostgreSQL URL to create the database on; `None`: SQLite.
    pub async fn start(pg: Option<&str>, app: AppConfig, sim: SimConfig) -> anyhow::Result<Self> {
        let options = DbOptions::default();
        let db = match pg {
            Some(url) => {
                TestDb::postgres_at(url.to_owned(), &options).await.context("creating the PostgreSQL database")?
            }
            None => TestDb::sqlite_with(&options).await?,
        };
        let blobs = tempfile::tempdir()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let app = AppConfig { public_url: format!("http://{}", listener.local_addr()?), ..app };
        let server = launch(
            LaunchConfig {
                db: db.db.clone(),
                master: MasterKey::generate(),
                app,
                web: WebConfig::default(),
                clock: Arc::new(SystemClock),
                blobs_dir: blobs.path().to_owned(),
            },
            listener,
        )
        .await?;
        let tenant = server.app.create_tenant("Bench").await.map_err(|e| anyhow!("{e}"))?.id;
        let system = Principal::system(tenant, "bench");
        let scopes = Permission::ALL.iter().map(|p| p.scope().to_owned()).collect();
        let (_, key) = server
            .app
            .create_api_key(&system, NewApiKey { name: "bench".into(), scopes })
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let sim_cfg = SimConfig {
            webhook_url: format!("{}/webhooks/whatsapp", server.url()),
            app_secret: APP_SECRET.into(),
            access_token: ACCESS_TOKEN.into(),
            verify_token: VERIFY_TOKEN.into(),
            ..sim
        };
        let sim = Simulator::start(TcpListener::bind("127.0.0.1:0").await?, sim_cfg.clone()).await?;
        let channel = server
            .app
            .connect_whatsapp(
                &system,
                ConnectWhatsApp {
                    name: Some("Bench".into()),
                    phone_number_id: sim_cfg.phone_number_id.clone(),
                    waba_id: sim_cfg.waba_id.clone(),
                    display_phone_number: sim_cfg.display_phone_number.clone(),
                    access_token: ACCESS_TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    verify_token: VERIFY_TOKEN.into(),
                    graph_base_url: Some(sim.base_url.clone()),
                    api_version: None,
                    throughput_per_sec: Some(sim_cfg.throughput_per_sec.clamp(1, 1000)),
                },
            )
            .await
            .map_err(|e| anyhow!("connecting the number: {e}"))?;
        sim.set_webhook_url(channel.webhook_url.clone());
        Ok(Self { server, sim, tenant, key, channel, db, _blobs: blobs })
    }

    #[must_use]
    pub fn app(&self) -> &Arc<App> {
        &self.server.app
    }

    #[must_use]
    pub fn system(&self) -> Principal {
        Principal::system(self.tenant, "bench")
    }

    #[must_use]
    pub fn backend(&self) -> &'static str {
        self.server.app.db.backend().as_str()
    }

    /// The path webhooks of the connected number are POSTed to.
    #[must_use]
    pub fn webhook_path(&self) -> String {
        format!("/webhooks/whatsapp/{}", self.channel.id)
    }

    /// Rows of `table` of the bench tenant (`and`: extra SQL conditions).
    pub async fn count(&self, table: &str, and: &str) -> anyhow::Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 {and}");
        let mut conn = self.server.app.db.read().await?;
        Ok(match conn.ex() {
            switchboard_storage::Ex::Sqlite(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(self.tenant.as_uuid()).fetch_one(&mut *c).await?
            }
            switchboard_storage::Ex::Pg(c) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(self.tenant.as_uuid()).fetch_one(&mut *c).await?
            }
        })
    }

    /// Gives PostgreSQL's planner the statistics a running database has. A bench database is
    /// seconds old, so autovacuum (which analyzes a new table within about a minute) has not run,
    /// and without statistics PostgreSQL finds a batch's contacts by scanning the tenant. SQLite
    /// is left as it is: the server never analyzes it, so production runs without statistics.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let mut conn = self.server.app.db.read().await?;
        if let switchboard_storage::Ex::Pg(c) = conn.ex() {
            sqlx::query("ANALYZE").execute(&mut *c).await?;
        }
        Ok(())
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
        self.sim.shutdown().await;
        self.db.cleanup().await;
    }
}
