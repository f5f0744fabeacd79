//! Wiring: database, keyring, event bus, application, HTTP router and background workers —
//! started together and stopped together.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use switchboard_app::clock::SystemClock;
use switchboard_app::keys::Keyring;
use switchboard_app::{App, AppConfig};
use switchboard_core::Clock;
use switchboard_privacy::MasterKey;
use switchboard_storage::Db;
use switchboard_storage::bus::{EventBus, InProcessBus, PgBus};
use switchboard_web::{AppState, WebConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::{housekeeping, settings};

pub struct LaunchConfig {
    pub db: Db,
    pub master: MasterKey,
    pub app: AppConfig,
    pub web: WebConfig,
    pub clock: Arc<dyn Clock>,
    /// Where sealed media files are kept (the blob store).
    pub blobs_dir: std::path::PathBuf,
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop_http: CancellationToken,
    stop_background: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    background: JoinHandle<()>,
}

impl Running {
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and lets open ones finish (webhooks still waiting for their
    /// commit get it), then stops the background loops, then closes the pools.
    pub async fn shutdown(self) {
        self.stop_http.cancel();
        if let Ok(Err(e)) = self.http.await {
            tracing::warn!(error = %e, "HTTP server ended with an error");
        }
        self.stop_background.cancel();
        let _ = self.background.await;
        self.app.db.close().await;
    }
}

/// Starts everything on an already-bound listener (tests bind 127.0.0.1:0).
pub async fn launch(cfg: LaunchConfig, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let bus: Arc<dyn EventBus> = match cfg.db.pg_pool() {
        Some(pool) => PgBus::start(pool.clone()).await.context("starting the PostgreSQL event listener")?,
        None => InProcessBus::new(),
    };
    let blobs = switchboard_storage::blobs::BlobStore::new(cfg.blobs_dir);
    let app = App::new(cfg.db, Keyring::new(cfg.master), bus, cfg.clock, cfg.app, blobs)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = AppState::new(app.clone(), cfg.web);
    let streams = state.clone();
    let router = switchboard_web::router(state);
    let stop_http = CancellationToken::new();
    let stop_background = CancellationToken::new();
    let stopping = stop_http.clone();
    let shutdown = async move {
        stopping.cancelled().await;
        // Open event streams would otherwise keep the graceful shutdown waiting forever.
        streams.close_streams();
    };
    let http = tokio::spawn(switchboard_web::serve(listener, router, shutdown));
    let background = tokio::spawn(housekeeping::run(app.clone(), stop_background.clone()));
    Ok(Running { addr, app, stop_http, stop_background, http, background })
}

fn app_config(args: &ServeArgs) -> anyhow::Result<AppConfig> {
    let mut cfg = AppConfig {
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.listen))
            .trim_end_matches('/')
            .to_owned(),
        ..AppConfig::default()
    };
    cfg.whatsapp.platform_app_secret = settings::secret_from_env("SWITCHBOARD_META_APP_SECRET")?;
    cfg.whatsapp.platform_verify_token = settings::secret_from_env("SWITCHBOARD_META_VERIFY_TOKEN")?;
    cfg.whatsapp.webhook_body_limit = args.webhook_body_limit;
    cfg.whatsapp.allowed_graph_urls.extend(args.allow_graph_url.iter().map(|u| u.trim_end_matches('/').to_owned()));
    if args.demo {
        cfg.whatsapp.allowed_graph_urls.push(format!("http://{}", args.sim_listen));
    }
    cfg.privacy.tenant_purge_grace_ms = i64::from(args.tenant_purge_days) * 24 * 3_600_000;
    cfg.whatsapp.channel_purge_grace_ms = i64::from(args.channel_purge_days) * 24 * 3_600_000;
    for p in args.trusted_proxies.iter().filter(|p| !p.trim().is_empty()) {
        let net = switchboard_app::auth::parse_net(p)
            .with_context(|| format!("--trusted-proxy {p:?} is not an address or CIDR"))?;
        cfg.trusted_proxies.push(net);
    }
    Ok(cfg)
}

pub async fn serve_until_signal(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let app_cfg = app_config(&args)?;
    let web = WebConfig {
        secure_cookies: app_cfg.public_url.starts_with("https://"),
        metrics_token: settings::secret_from_env("SWITCHBOARD_METRICS_TOKEN")?,
        api_body_limit: args.api_body_limit,
    };
    let (db, master) = settings::open(&args.storage).await?;
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let public_url = app_cfg.public_url.clone();
    let blobs_dir = args.storage.data_dir.join("blobs");
    let running =
        launch(LaunchConfig { db, master, app: app_cfg, web, clock: Arc::new(SystemClock), blobs_dir }, listener)
            .await?;
    tracing::info!(addr = %running.addr, backend = running.app.db.backend().as_str(), bus = running.app.bus.name(), "switchboard is listening");
    let demo = if args.demo {
        let demo = crate::demo::start(&running.app, args.sim_listen).await?;
        println!("Switchboard demo is running at {public_url}");
        println!("  log in:     {} / {}", demo.seed.email, demo.seed.password);
        println!("  API key:    {}", demo.seed.api_key);
        println!("  simulator:  {} (simulated customers write to the demo number)", demo.simulator_url());
        println!(
            "  try:        curl -H 'Authorization: Bearer {}' {public_url}/api/v1/conversations",
            demo.seed.api_key
        );
        Some(demo)
    } else {
        println!("Switchboard is running at {public_url}");
        None
    };
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    if let Some(demo) = demo {
        demo.stop().await;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
