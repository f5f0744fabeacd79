//! Timings of the privacy engine on SQLite, for docs/PERFORMANCE.md. Ignored by default:
//!
//! ```sh
//! cargo test --release -p switchboard-server --test it privacy_bench -- --ignored --nocapture
//! ```
//!
//! Measured: the retention purge of 100,000 data-subject request records and the masking of
//! 100,000 security-log IPs (rows per second, 1,000 per transaction), the export of one
//! contact's bundle, and the erasure of one contact.

use std::time::Instant;

use serde_json::json;
use switchboard_core::Millis;
use switchboard_storage::Backend;

use crate::privacy::{count, exec, hold_schedules, seed_requests};
use crate::support::{Api, TestServer};

const ROWS: i64 = 100_000;

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

    // Export: a contact with 1,000 consent events and 1,000 audit entries about it.
    for i in 0..1_000 {
        let state = if i % 2 == 0 { "granted" } else { "withdrawn" };
        api.post(
            &format!("/api/v1/contacts/{contact}/consents"),
            json!({"purpose": "marketing", "state": state, "legal_basis": "kvkk_explicit_consent"}),
        )
        .await;
    }
    let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": "export"})).await;
    let rid = r["id"].as_str().unwrap().to_owned();
    api.post(&format!("/api/v1/privacy/requests/{rid}/verify"), json!({"operator_attestation": "bench"})).await;
    api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    let started = Instant::now();
    let file = t
        .app
        .export_privacy_request(&switchboard_app::auth::Principal::system(a.id, "bench"), rid.parse().unwrap())
        .await
        .unwrap();
    println!(
        "export of one contact (1,000 consent events, {} audit entries): {:.0} ms, {} KiB zip",
        count(&t, &format!("SELECT COUNT(*) FROM audit_log WHERE target_id = '{contact}'")).await,
        started.elapsed().as_secs_f64() * 1000.0,
        file.bytes.len() / 1024
    );

    // Erasure of that contact.
    let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": "erasure"})).await;
    let rid = r["id"].as_str().unwrap().to_owned();
    api.post(&format!("/api/v1/privacy/requests/{rid}/verify"), json!({"operator_attestation": "bench"})).await;
    let started = Instant::now();
    let (_, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!(r["status"], "completed");
    println!(
        "erasure of one contact (1,000 consent events, 8 steps), over HTTP: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    t.stop().await;
}
