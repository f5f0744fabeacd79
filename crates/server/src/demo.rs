//! The demo (`serve --demo`) and the standalone simulator (`switchboard sim`). The demo runs
//! the Meta simulator beside the server, connects the demo tenant's number to it, and lets a
//! few simulated customers write now and then, so a newcomer sees a live inbox.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use switchboard_app::App;
use switchboard_app::auth::Principal;
use switchboard_app::demo::DemoSeed;
use switchboard_app::whatsapp::channels::ConnectWhatsApp;
use switchboard_simulator::{SimConfig, SimControl, SimHandle, Simulator};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::SimArgs;

/// Demo-only secrets shared by the simulator and the demo number.
const APP_SECRET: &str = "demo-app-secret";
const VERIFY_TOKEN: &str = "demo-verify-token";
const ACCESS_TOKEN: &str = "demo-access-token";

pub struct Demo {
    pub seed: DemoSeed,
    sim: SimHandle,
    customers: JoinHandle<()>,
    stop: CancellationToken,
}

impl Demo {
    #[must_use]
    pub fn simulator_url(&self) -> &str {
        &self.sim.base_url
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.customers.await;
        self.sim.shutdown().await;
    }
}

const CUSTOMERS: [(&str, &str, &str); 4] = [
    ("905321112233", "Ayşe Yılmaz", "Merhaba, yarın için randevu almak istiyorum."),
    ("905447654321", "Mehmet Demir", "Siparişim ne zaman kargoya verilir?"),
    ("5511987650001", "Ana Lima", "Hi! Is the blue one still in stock?"),
    ("4915123456789", "Jonas Becker", "Können Sie mir die Rechnung schicken?"),
];

const FOLLOW_UPS: [&str; 5] =
    ["Teşekkürler!", "Saat kaçta açıksınız?", "Can I change the size?", "👍", "Adresi paylaşır mısınız?"];

fn say(sim: &SimControl, (from, name, text): (&str, &str, &str)) {
    if let Err(e) = sim.inbound(&json!({"from": from, "name": name, "type": "text", "text": text})) {
        tracing::warn!(error = %e, "simulated customer could not write");
    }
}

pub async fn start(app: &Arc<App>, sim_listen: SocketAddr) -> anyhow::Result<Demo> {
    let seed = app.seed_demo().await.map_err(|e| anyhow::anyhow!("seeding the demo tenant: {e}"))?;
    let cfg = SimConfig {
        webhook_url: format!("{}/webhooks/whatsapp", app.config.public_url),
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        access_token: ACCESS_TOKEN.into(),
        ..SimConfig::default()
    };
    let phone_number_id = cfg.phone_number_id.clone();
    let listener =
        TcpListener::bind(sim_listen).await.with_context(|| format!("binding the demo simulator to {sim_listen}"))?;
    let sim = Simulator::start(listener, cfg.clone()).await?;
    let system = Principal::system(seed.tenant, "demo");
    let existing = app.list_channels(&system).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let channel = match existing.into_iter().find(|c| c.phone_number_id == phone_number_id) {
        Some(c) if c.graph_base_url == sim.base_url => c,
        stale => {
            if let Some(c) = stale {
                app.disconnect_channel(&system, c.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            app.connect_whatsapp(
                &system,
                ConnectWhatsApp {
                    name: Some("Demo clinic".into()),
                    phone_number_id: cfg.phone_number_id.clone(),
                    waba_id: cfg.waba_id.clone(),
                    display_phone_number: cfg.display_phone_number.clone(),
                    access_token: ACCESS_TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    verify_token: VERIFY_TOKEN.into(),
                    graph_base_url: Some(sim.base_url.clone()),
                    api_version: None,
                    throughput_per_sec: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("connecting the demo number: {e}"))?
        }
    };
    sim.set_webhook_url(channel.webhook_url.clone());
    let _ = sim.register().await;
    let stop = CancellationToken::new();
    let customers = {
        let sim = sim.control();
        let stop = stop.clone();
        tokio::spawn(async move {
            for c in CUSTOMERS {
                say(&sim, c);
            }
            let mut i = 0usize;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(45)) => {
                        let (from, name, _) = CUSTOMERS[i % CUSTOMERS.len()];
                        say(&sim, (from, name, FOLLOW_UPS[i % FOLLOW_UPS.len()]));
                        i += 1;
                    }
                }
            }
        })
    };
    Ok(Demo { seed, sim, customers, stop })
}

pub async fn run_simulator(args: SimArgs) -> anyhow::Result<ExitCode> {
    let cfg = SimConfig {
        webhook_url: args.webhook_url,
        app_secret: args.app_secret,
        verify_token: args.verify_token,
        access_token: args.access_token,
        phone_number_id: args.phone_number_id,
        waba_id: args.waba_id,
        display_phone_number: args.display_phone_number,
        throughput_per_sec: args.throughput,
        failure_rate: args.failure_rate,
        ..SimConfig::default()
    };
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let sim = Simulator::start(listener, cfg).await?;
    println!("Meta simulator listening at {}", sim.base_url);
    let outcome = sim.register().await;
    tracing::info!(?outcome, "webhook handshake");
    crate::launch::shutdown_signal().await;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
