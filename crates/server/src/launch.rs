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
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
    background: JoinHandle<()>,
}

impl Running {
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, lets open ones finish, stops workers, closes the pools.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Ok(Err(e)) = self.http.await {
            tracing::warn!(error = %e, "HTTP server ended with an error");
        }
        let _ = self.background.await;
        self.app.db.close().await;
    }
}

/// Starts everything on an already-bound listener (tests bind 127.0.0.1:0).
pub async fn launch(cfg: LaunchConfig, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let bus: Arc<dyn EventBus> = match cfg.db.pg_pool() {
        Some(pool) => PgBus::start(pool.clone())
            .await
            .context("starting the PostgreSQL event listener")?,
        None => InProcessBus::new(),
    };
    let app = App::new(cfg.db, Keyring::new(cfg.master), bus, cfg.clock, cfg.app)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let router = switchboard_web::router(AppState::new(app.clone(), cfg.web));
    let stop = CancellationToken::new();
    let http = tokio::spawn(switchboard_web::serve(
        listener,
        router,
        stop.clone().cancelled_owned(),
    ));
    let background = tokio::spawn(housekeeping::run(app.clone(), stop.clone()));
    Ok(Running {
        addr,
        app,
        stop,
        http,
        background,
    })
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
    cfg.privacy.tenant_purge_grace_ms = i64::from(args.tenant_purge_days) * 24 * 3_600_000;
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
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let public_url = app_cfg.public_url.clone();
    let running = launch(
        LaunchConfig {
            db,
            master,
            app: app_cfg,
            web,
            clock: Arc::new(SystemClock),
        },
        listener,
    )
    .await?;
    tracing::info!(addr = %running.addr, backend = running.app.db.backend().as_str(), bus = running.app.bus.name(), "switchboard is listening");
    if args.demo {
        let seed = running
            .app
            .seed_demo()
            .await
            .map_err(|e| anyhow::anyhow!("seeding the demo tenant: {e}"))?;
        println!("Switchboard demo is running at {public_url}");
        println!("  log in:   {} / {}", seed.email, seed.password);
        println!("  API key:  {}", seed.api_key);
        println!(
            "  try:      curl -H 'Authorization: Bearer {}' {public_url}/api/v1/contacts",
            seed.api_key
        );
    } else {
        println!("Switchboard is running at {public_url}");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
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
