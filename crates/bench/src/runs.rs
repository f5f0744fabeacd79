//! The benchmarks. Each prints what it measured, the backend and the settings; the figures
//! in docs/PERFORMANCE.md are copied from this output.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use switchboard_app::contacts::ContactInput;
use switchboard_app::whatsapp::compose::Compose;
use switchboard_app::whatsapp::conversations::StartConversation;
use switchboard_channels::whatsapp::{signature, webhook};
use switchboard_core::{ConversationId, TenantId};
use switchboard_privacy::{Aad, DataKey, Sealed};
use switchboard_simulator::SimConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::env::{APP_SECRET, Env, app_config};
use crate::load::{Call, Conn, MakeCall, Outcome, closed_loop, open_loop};
use crate::payload::Inbound;
use crate::stats::Samples;

fn print_http(label: &str, o: &mut Outcome) {
    println!(
        "  {label}: {} ok, {} failed in {:.1} s = {:.0} req/s; latency {}",
        o.ok,
        o.failed,
        o.elapsed.as_secs_f64(),
        o.rate(),
        o.latency.line()
    );
    if let Some(f) = &o.first_failure {
        println!("    first failure: {f}");
    }
}

/// Seal + open of personal values on one core, then on every core at once.
pub fn crypto(seconds: u64) -> anyhow::Result<()> {
    let message: String = "Merhaba, randevumu yarın saat 10:00'a alabilir miyiz? ".repeat(18);
    let values = [("phone number, 13 bytes", "+905321112233".to_owned()), ("message text, 1 KB", message)];
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("seal + open (AES-256-GCM envelope, random nonce, AAD bound to tenant/table/column/row)");
    for (label, value) in &values {
        let one = seal_open_loop(value, Duration::from_secs(seconds));
        let all: f64 = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..cores).map(|_| s.spawn(|| seal_open_loop(value, Duration::from_secs(seconds)))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        });
        println!(
            "  {label}: {:.0} seal+open/s on one core ({:.2} µs each); {all:.0}/s on {cores} cores",
            one,
            1e6 / one
        );
    }
    Ok(())
}

fn seal_open_loop(value: &String, d: Duration) -> f64 {
    let key = DataKey::generate();
    let tenant = TenantId::new();
    let row = Uuid::now_v7();
    let aad = Aad::new(tenant, "messages", "content", row);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < d {
        for _ in 0..256 {
            let sealed = Sealed::seal(&key, &aad, value);
            let opened: Result<String, _> = sealed.open(&key, &aad);
            debug_assert_eq!(opened.as_ref().ok(), Some(value));
            n += u64::from(opened.is_ok());
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bearer(env: &Env) -> String {
    format!("Bearer {}", env.key)
}

/// `POST /api/v1/contacts` with a name, a phone number and an e-mail (all sealed, all
/// blind-indexed), each request a new contact.
pub async fn contacts(seconds: u64, concurrency: &[usize], pg: Option<String>) -> anyhow::Result<()> {
    let env = Env::start(pg.as_deref(), app_config(), SimConfig::default()).await?;
    println!("POST /api/v1/contacts on {} ({} s per concurrency level)", env.backend(), seconds);
    let auth = bearer(&env);
    let next = Arc::new(AtomicU64::new(0));
    for &c in concurrency {
        let (auth, next) = (auth.clone(), next.clone());
        let make: MakeCall = Arc::new(move |_, _| {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let body = json!({"name": format!("Customer {n}"), "phone": format!("+90532{n:07}"), "email": format!("c{n}@example.com")});
            Call::post_json("/api/v1/contacts".into(), Bytes::from(body.to_string()))
                .header("authorization", auth.clone())
        });
        let mut o = closed_loop(env.server.addr, c, Duration::from_secs(seconds), make).await?;
        print_http(&format!("{c} concurrent"), &mut o);
        ensure!(o.failed == 0, "requests failed");
    }
    env.stop().await;
    Ok(())
}

fn inbound_for(env: &Env) -> Inbound {
    Inbound::new(&env.channel.waba_id, &env.channel.phone_number_id, &env.channel.display_phone_number, APP_SECRET)
}

/// Signed text webhooks from a pool of `contacts` customers; stream ids keep wamids unique
/// across the runs of one process.
fn webhook_calls(inbound: Inbound, path: String, contacts: usize, stream_base: usize) -> MakeCall {
    let inbound = Arc::new(inbound);
    Arc::new(move |conn, seq| {
        let stream = stream_base + conn;
        let from = (stream.wrapping_mul(7919) + usize::try_from(seq).unwrap_or(0)) % contacts.max(1);
        let d = inbound.text(stream, seq, from);
        Call::post_json(path.clone(), d.body).header(signature::HEADER, d.signature)
    })
}

/// The same HTTP path as the webhook endpoint — body limit, signature check over the raw bytes,
/// typed parse — answering 200 without storing anything: the ceiling the storage path is
/// compared with.
async fn ceiling_server() -> anyhow::Result<(std::net::SocketAddr, CancellationToken)> {
    async fn receive(headers: HeaderMap, body: Bytes) -> StatusCode {
        let sig = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
        if signature::verify(APP_SECRET.as_bytes(), sig, &body).is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        match webhook::parse(&body) {
            Ok(n) if n.object == "whatsapp_business_account" => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
    let router = axum::Router::new()
        .route("/webhooks/whatsapp/{channel_id}", post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(3 * 1024 * 1024));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    tokio::spawn(switchboard_web::serve(listener, router, stop.clone().cancelled_owned()));
    Ok((addr, stop))
}

/// Acknowledged-and-durable webhook rate over `connections` connections, then the ceiling.
pub async fn ingest(seconds: u64, connections: usize, contacts: usize, pg: Option<String>) -> anyhow::Result<()> {
    let env = Env::start(pg.as_deref(), app_config(), SimConfig::default()).await?;
    println!(
        "ingest on {}: signed text webhooks of ~1.5 KB, unique wamids, {contacts} customers, {connections} connections, {seconds} s",
        env.backend()
    );
    let path = env.webhook_path();
    let warm = closed_loop(
        env.server.addr,
        connections,
        Duration::from_secs(2),
        webhook_calls(inbound_for(&env), path.clone(), contacts, 10_000),
    )
    .await?;
    env.analyze().await?;
    let mut o = closed_loop(
        env.server.addr,
        connections,
        Duration::from_secs(seconds),
        webhook_calls(inbound_for(&env), path.clone(), contacts, 20_000),
    )
    .await?;
    print_http("stored (200 after commit)", &mut o);
    let acked = warm.ok + o.ok;
    let stored = u64::try_from(env.count("messages", "").await?)?;
    let conversations = env.count("conversations", "").await?;
    println!(
        "  messages stored {stored} = acknowledged {acked} (incl. {} warm-up); {conversations} conversations",
        warm.ok
    );
    // Processing is part of the commit that precedes the answer, so what was acknowledged is
    // already readable: the newest conversation's newest message through the API.
    let visible = newest_message_via_api(&env).await?;
    println!("  newest message through the API right after the run: {visible}");
    let (addr, stop) = ceiling_server().await?;
    let mut ceiling = closed_loop(
        addr,
        connections,
        Duration::from_secs(seconds),
        webhook_calls(inbound_for(&env), path, contacts, 30_000),
    )
    .await?;
    stop.cancel();
    print_http("ceiling (verify + parse, no storage)", &mut ceiling);
    println!("  storage path / ceiling = {:.1} %", 100.0 * o.rate() / ceiling.rate().max(1.0));
    env.stop().await;
    ensure!(o.failed == 0 && warm.failed == 0, "deliveries were refused");
    ensure!(stored == acked, "acknowledged {acked} but stored {stored}");
    Ok(())
}

async fn newest_message_via_api(env: &Env) -> anyhow::Result<String> {
    let mut conn = Conn::open(env.server.addr).await?;
    let get = |path: String| Call {
        method: hyper::Method::GET,
        path,
        body: Bytes::new(),
        headers: vec![("authorization", bearer(env))],
    };
    let (s, body) = conn.call(get("/api/v1/conversations?limit=1".into())).await?;
    ensure!(s == StatusCode::OK, "listing conversations: {s}");
    let page: Value = serde_json::from_slice(&body)?;
    let id = page["items"][0]["id"].as_str().context("no conversation")?.to_owned();
    let (s, body) = conn.call(get(format!("/api/v1/conversations/{id}/messages?limit=1"))).await?;
    ensure!(s == StatusCode::OK, "listing messages: {s}");
    let page: Value = serde_json::from_slice(&body)?;
    let m = &page["items"][0];
    Ok(format!("{} ({} chars of text)", m["provider_message_id"], m["text"].as_str().map_or(0, |t| t.chars().count())))
}

/// Creates `n` contacts with a phone number and a conversation each on the bench number,
/// `parallel` at a time (setup; not measured).
async fn contacts_with_conversations(env: &Env, n: usize, parallel: usize) -> anyhow::Result<Vec<Uuid>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let (app, p, next, channel) = (env.app().clone(), env.system(), next.clone(), env.channel.id);
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n as u64 {
                    return anyhow::Ok(out);
                }
                let input: ContactInput =
                    serde_json::from_value(json!({"name": format!("Customer {i}"), "phone": format!("+9053{i:08}")}))?;
                let c = app.create_contact(&p, input).await.map_err(|e| anyhow!("{e}"))?;
                let conv = app
                    .start_conversation(&p, StartConversation { channel_id: channel, contact_id: c.id })
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                out.push(conv.id.as_uuid());
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    Ok(all)
}

/// Concurrent callers of the send API in the send bench, as many integrations or agents would be.
const PRODUCERS: usize = 64;

/// `messages` template messages to distinct customers with the number's throughput set to
/// `rate`: the achieved rate at the simulator, duplicates, and every message terminal.
pub async fn send(messages: usize, rate: u32, pg: Option<String>) -> anyhow::Result<()> {
    let sim = SimConfig { throughput_per_sec: rate, status_delays_ms: (20, 60, 120), ..SimConfig::default() };
    let env = Env::start(pg.as_deref(), app_config(), sim).await?;
    println!(
        "send on {}: {messages} template messages to distinct customers at a configured {rate} msg/s",
        env.backend()
    );
    let setup = Instant::now();
    wait_for_templates(&env).await?;
    let conversations = contacts_with_conversations(&env, messages, 32).await?;
    println!("  setup: {messages} contacts and conversations in {:.1} s", setup.elapsed().as_secs_f64());
    env.analyze().await?;

    let stats = env.sim.control();
    let queued = Arc::new(AtomicU64::new(0));
    let mut producer = {
        let (app, p, queued) = (env.app().clone(), env.system(), queued.clone());
        let conversations = Arc::new(conversations);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for part in 0..PRODUCERS {
                let (app, p, queued, conversations) = (app.clone(), p.clone(), queued.clone(), conversations.clone());
                tasks.spawn(async move {
                    for (i, conv) in conversations.iter().enumerate().skip(part).step_by(PRODUCERS) {
                        let compose: Compose = serde_json::from_value(json!({
                            "type": "template", "name": "order_update", "language": "en_US", "parameters": [format!("#{i:06}")]
                        }))?;
                        app.send_message(&p, ConversationId::from_uuid(*conv), compose)
                            .await
                            .map_err(|e| anyhow!("send {i} refused: {e:?}"))?;
                        queued.fetch_add(1, Ordering::Relaxed);
                    }
                    anyhow::Ok(())
                });
            }
            while let Some(r) = tasks.join_next().await {
                r??;
            }
            anyhow::Ok(started.elapsed())
        })
    };
    // The achieved rate is measured where Meta would see it: accepted sends at the simulator,
    // from the first to the last.
    let target = messages as u64;
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    // The outbound messages and their jobs do not exist when the setup is analyzed; on
    // PostgreSQL, statistics from tables that small made the planner read a message by scanning
    // a conversation index. Autovacuum analyzes a table once a tenth of it changed, within a
    // minute; a run this short never sees it, so it is done once here, a tenth of the way in.
    let mut analyzed = false;
    let last = loop {
        let accepted = stats.stats().sends.accepted;
        let now = Instant::now();
        if accepted > 0 && first.is_none() {
            first = Some(now);
        }
        if !analyzed && accepted >= target / 10 {
            env.analyze().await?;
            analyzed = true;
        }
        if accepted >= target {
            break now;
        }
        if producer.is_finished() && (queued.load(Ordering::Relaxed) as usize) < messages {
            // A send the API refused stops the producer: say why instead of waiting for sends
            // that were never queued.
            (&mut producer).await??;
        }
        if started.elapsed() > Duration::from_secs(messages as u64 / u64::from(rate.max(1)) * 3 + 120) {
            bail!("only {accepted} of {messages} sends accepted in time");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    // The sender can only be as fast as the messages are queued: say how fast that was.
    let queueing = producer.await??;
    let first = first.unwrap_or(last);
    let achieved = (target - 1) as f64 / (last - first).as_secs_f64().max(1e-9);
    let s = stats.stats();
    println!(
        "  accepted by the simulator: {} in {:.2} s = {achieved:.1} msg/s ({:+.2} % of {rate}); queued by the producer: {} in {:.2} s = {:.1} msg/s",
        s.sends.accepted,
        (last - first).as_secs_f64(),
        100.0 * (achieved - f64::from(rate)) / f64::from(rate),
        queued.load(Ordering::Relaxed),
        queueing.as_secs_f64(),
        queued.load(Ordering::Relaxed) as f64 / queueing.as_secs_f64().max(1e-9)
    );
    println!("  refused by the simulator: {:?}; duplicates at the simulator: {}", s.sends.rejected, s.sends.duplicates);
    let terminal = Instant::now();
    loop {
        let open = env
            .count("messages", "AND direction = 'outbound' AND status NOT IN ('delivered', 'read', 'failed')")
            .await?;
        if open == 0 {
            break;
        }
        if terminal.elapsed() > Duration::from_secs(300) {
            bail!("{open} messages never reached a terminal status");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let read = env.count("messages", "AND direction = 'outbound' AND status = 'read'").await?;
    let failed = env.count("messages", "AND direction = 'outbound' AND status = 'failed'").await?;
    println!(
        "  all {messages} terminal {:.1} s after the last send: {read} read, {failed} failed",
        terminal.elapsed().as_secs_f64()
    );
    env.stop().await;
    ensure!(s.sends.duplicates == 0, "the simulator saw duplicates");
    ensure!((achieved - f64::from(rate)).abs() <= f64::from(rate) * 0.02, "achieved rate is not within 2 %");
    Ok(())
}

async fn wait_for_templates(env: &Env) -> anyhow::Result<()> {
    for _ in 0..500 {
        let list = env.app().list_templates(&env.system(), None).await.map_err(|e| anyhow!("{e}"))?;
        if list.iter().any(|t| t.name == "order_update" && t.status == "APPROVED") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the simulator's templates were never synced")
}

/// Webhook received → `message.created` on the event bus (in-process on SQLite, LISTEN/NOTIFY
/// on PostgreSQL), at a fixed inbound rate.
pub async fn latency(rate: u32, seconds: u64, pg: Option<String>) -> anyhow::Result<()> {
    let env = Env::start(pg.as_deref(), app_config(), SimConfig::default()).await?;
    println!("latency on {} (bus: {}): {rate} messages/s for {seconds} s", env.backend(), env.app().bus.name());
    // The first message of each of the 1,000 customers creates their contact and conversation;
    // those happen before the measured window, which is the steady state.
    let warm = open_loop(
        env.server.addr,
        32,
        rate,
        Duration::from_secs(2),
        webhook_calls(inbound_for(&env), env.webhook_path(), 1000, 10_000),
    )
    .await?;
    env.analyze().await?;
    let mut events = env.app().bus.subscribe();
    let tenant = env.tenant.as_uuid();
    let collector = tokio::spawn(async move {
        let mut samples = Samples::default();
        let mut lagged = 0u64;
        loop {
            match events.recv().await {
                Ok(e) if e.tenant_id == tenant && e.topic == "message.created" => {
                    let now = jiff::Timestamp::now().as_millisecond();
                    samples.push_micros(u64::try_from(now - e.at).unwrap_or(0) * 1000);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => lagged += n,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return (samples, lagged),
            }
        }
    });
    let make = webhook_calls(inbound_for(&env), env.webhook_path(), 1000, 40_000);
    let mut o = open_loop(env.server.addr, 32, rate, Duration::from_secs(seconds), make).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    print_http("webhook acknowledged", &mut o);
    let stored = env.count("messages", "").await?;
    env.stop().await;
    let (mut bus, lagged) = collector.await?;
    println!(
        "  received → event on the bus (ms resolution): {} events of {} stored after the warm-up; {}; lagged {lagged}",
        bus.len(),
        stored - i64::try_from(warm.ok)?,
        bus.line()
    );
    ensure!(o.failed == 0 && warm.failed == 0, "deliveries were refused");
    Ok(())
}
