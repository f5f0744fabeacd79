//! Timings of the privacy engine on SQLite, for docs/PERFORMANCE.md. Ignored by default:
//!
//! ```sh
//! cargo test --release -p switchboard-server --test it privacy_bench -- --ignored --nocapture
//! ```
//!
//! Measured: the retention purge of 100,000 data-subject request records and the masking of
//! 100,000 security-log IPs (rows per second, 1,000 per transaction); the export and the erasure
//! of a WhatsApp customer with 10,000 messages; the purge of 100,000 messages past their
//! retention while webhooks keep arriving, with those webhooks' acknowledgement latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_core::Millis;
use switchboard_storage::Backend;

use crate::privacy::{exec, hold_schedules, seed_requests};
use crate::support::{Api, SIM_SECRET, TestServer, Whatsapp};

const ROWS: i64 = 100_000;
const MESSAGES: usize = 10_000;
const OLD_CUSTOMERS: usize = 100;
/// Messages per signed webhook when filling the database (Meta batches too).
const PER_WEBHOOK: usize = 100;
/// Steady inbound rate during the purge, webhooks per second.
const STEADY_RATE: u64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn privacy_bench() {
    let t = TestServer::start(Backend::Sqlite, switchboard_app::AppConfig::for_tests()).await.unwrap();
    hold_schedules(&t).await;
    let a = t.tenant("Bench").await;
    let api = Api::new(&t, &a.key);
    let (_, c) = api
        .post("/api/v1/contacts", json!({"name": "Bench Subject", "phone": "+905321112233", "email": "b@example.com"}))
        .await;
    let contact = c["id"].as_str().unwrap().to_owned();
    let old = t.app.now().0 - 4 * 365 * Millis::DAY;

    // Retention: 100,000 closed request records.
    seed_requests(&t, a.id, &contact, ROWS, old, "bench").await;
    let started = Instant::now();
    let report = t.app.run_retention(a.id, None).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.purged["privacy_requests"], u64::try_from(ROWS).unwrap());
    println!(
        "retention purge, privacy_requests: {ROWS} rows in {secs:.2} s = {:.0} rows/s ({} batches)",
        ROWS as f64 / secs,
        report.batches
    );

    // Retention: 100,000 security-log entries with an IP to mask.
    let tenant = format!("X'{}'", a.id.as_uuid().simple());
    exec(
        &t,
        &format!(
            "INSERT INTO audit_log (tenant_id, seq, id, at, actor_kind, ip, action, details, prev_hash, hash)
             SELECT {tenant}, 1000000 + n, randomblob(16), {old}, 'user', '10.0.0.1', 'bench', '{{}}', x'00', x'00'
             FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n FROM s)"
        ),
    )
    .await;
    let started = Instant::now();
    let report = t.app.run_retention(a.id, None).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(report.purged["security_logs"] >= u64::try_from(ROWS).unwrap());
    println!(
        "retention purge, security_logs (IP masking): {} rows in {secs:.2} s = {:.0} rows/s",
        report.purged["security_logs"],
        report.purged["security_logs"] as f64 / secs
    );
    exec(&t, "DELETE FROM audit_log WHERE action = 'bench'").await;

    // Export and erasure of a WhatsApp customer with 10,000 messages.
    let wa = t.whatsapp(&a.key).await;
    let subject = "905321110000";
    deliver_texts(&t, &wa, subject, 0, MESSAGES).await;
    let contact = whatsapp_contact(&api, &wa, subject).await;
    for i in 0..1_000 {
        let state = if i % 2 == 0 { "granted" } else { "withdrawn" };
        api.post(
            &format!("/api/v1/contacts/{contact}/consents"),
            json!({"purpose": "marketing", "state": state, "legal_basis": "kvkk_explicit_consent"}),
        )
        .await;
    }
    let rid = verified_request(&api, &contact, "export").await;
    api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    let started = Instant::now();
    let file = t
        .app
        .export_privacy_request(&switchboard_app::auth::Principal::system(a.id, "bench"), rid.parse().unwrap())
        .await
        .unwrap();
    println!(
        "export of one contact ({MESSAGES} messages, 1,000 consent events): {:.0} ms, {} KiB zip",
        started.elapsed().as_secs_f64() * 1000.0,
        file.bytes.len() / 1024
    );
    let rid = verified_request(&api, &contact, "erasure").await;
    let started = Instant::now();
    let (_, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!(r["status"], "completed", "{r}");
    println!(
        "erasure of that contact ({MESSAGES} messages, 1,000 consent events), over HTTP: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Message retention while customers keep writing: 100,000 messages past the two-year cap
    // are purged while single-message webhooks arrive at a steady rate.
    for n in 0..OLD_CUSTOMERS {
        deliver_texts(&t, &wa, &format!("90532200{n:04}"), 0, ROWS as usize / OLD_CUSTOMERS).await;
    }
    exec(&t, &format!("UPDATE messages SET created_at = {old}")).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(steady_ingest(
        t.url(&format!("/webhooks/whatsapp/{}", wa.channel_id)),
        wa.phone_number_id.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let started = Instant::now();
    let report = t.app.run_retention(a.id, None).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let finished = Instant::now();
    stop.store(true, Ordering::Relaxed);
    // Only webhooks sent while the purge ran; the second before it is warm-up (the server is
    // still merging the search index after the 1,000 webhooks that loaded the messages).
    let mut acks: Vec<Duration> =
        load.await.unwrap().into_iter().filter(|(at, _)| (started..finished).contains(at)).map(|(_, d)| d).collect();
    assert!(report.purged["messages"] >= u64::try_from(ROWS).unwrap(), "{:?}", report.purged);
    acks.sort_unstable();
    let p99 = acks[acks.len() * 99 / 100];
    println!(
        "retention purge, messages: {} rows in {secs:.2} s = {:.0} rows/s; meanwhile {} webhooks acknowledged, ack p50 {:.1} ms, p99 {:.1} ms",
        report.purged["messages"],
        report.purged["messages"] as f64 / secs,
        acks.len(),
        acks[acks.len() / 2].as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0
    );
    t.stop().await;
}

/// One signed `messages` webhook holding `texts.len()` text messages from `from`.
fn texts_webhook(phone_number_id: &str, from: &str, texts: &[(String, String)]) -> Vec<u8> {
    let messages: Vec<_> = texts
        .iter()
        .map(|(wamid, text)| {
            json!({"from": from, "id": wamid, "timestamp": "1764000000", "type": "text", "text": {"body": text}})
        })
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": from}], "messages": messages}}]}]}))
    .unwrap()
}

static WAMIDS: AtomicU64 = AtomicU64::new(0);

fn text(n: usize) -> (String, String) {
    let id = WAMIDS.fetch_add(1, Ordering::Relaxed);
    (format!("wamid.bench{id:012}"), format!("Merhaba, sipariş {n} hakkında yazıyorum; kargo ne zaman gelir?"))
}

/// `count` messages from one customer, in webhooks of [`PER_WEBHOOK`].
async fn deliver_texts(t: &TestServer, wa: &Whatsapp, from: &str, first: usize, count: usize) {
    for chunk in (first..first + count).collect::<Vec<_>>().chunks(PER_WEBHOOK) {
        let texts: Vec<_> = chunk.iter().map(|n| text(*n)).collect();
        assert!(t.deliver(wa, &texts_webhook(&wa.phone_number_id, from, &texts)).await.is_success());
    }
}

async fn whatsapp_contact(api: &Api<'_>, wa: &Whatsapp, wa_id: &str) -> String {
    let (_, page) = api.get(&format!("/api/v1/conversations?channel_id={}&limit=200", wa.channel_id)).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one customer so far ({wa_id})");
    items[0]["contact"]["id"].as_str().or(items[0]["contact_id"].as_str()).unwrap().to_owned()
}

async fn verified_request(api: &Api<'_>, contact: &str, kind: &str) -> String {
    let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": kind})).await;
    let rid = r["id"].as_str().unwrap().to_owned();
    api.post(&format!("/api/v1/privacy/requests/{rid}/verify"), json!({"operator_attestation": "bench"})).await;
    rid
}

/// Single-message webhooks from fresh customers at [`STEADY_RATE`] until `stop`; returns when
/// each was sent and how long its acknowledgement took.
async fn steady_ingest(url: String, phone_number_id: String, stop: Arc<AtomicBool>) -> Vec<(Instant, Duration)> {
    let client = reqwest::Client::new();
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    let mut inflight = tokio::task::JoinSet::new();
    let mut acks = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        n += 1;
        let body = texts_webhook(&phone_number_id, &format!("90533{n:07}"), &[text(n)]);
        let sig = switchboard_channels::whatsapp::signature::sign(SIM_SECRET.as_bytes(), &body);
        let req =
            client.post(&url).header("content-type", "application/json").header("x-hub-signature-256", sig).body(body);
        inflight.spawn(async move {
            let started = Instant::now();
            let res = req.send().await.unwrap();
            assert!(res.status().is_success());
            (started, started.elapsed())
        });
        while let Some(done) = inflight.try_join_next() {
            acks.push(done.unwrap());
        }
    }
    while let Some(done) = inflight.join_next().await {
        acks.push(done.unwrap());
    }
    acks
}
