//! The privacy engine on the real binary: PRIVACY.md §3 R8 (the retention purge is `kill -9`ed
//! mid-run, the server restarted, and the remaining rows compared with an uninterrupted run
//! over the same data), and `admin delete-tenant`.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::cli::{Setup, free_port, wait_ready};

/// Completed requests fulfilled ten years ago (due), one hour ago (kept), and held ones.
const DUE: i64 = 60_000;
const YOUNG: i64 = 50;
const HELD: i64 = 100;

fn uuid_sql(pg: bool, id: uuid::Uuid) -> String {
    if pg { format!("'{id}'::uuid") } else { format!("X'{}'", id.simple()) }
}

async fn seed(s: &Setup, pg: bool) -> String {
    let tenant = s.json(&["admin", "create-tenant", "--name", "Big"])["tenant_id"].as_str().unwrap().to_owned();
    let t = uuid_sql(pg, tenant.parse().unwrap());
    let free = uuid_sql(pg, uuid::Uuid::now_v7());
    let held = uuid_sql(pg, uuid::Uuid::now_v7());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for (n, contact, at, tag) in [
        (DUE, &free, now - 3_650 * 86_400_000, "due"),
        (YOUNG, &free, now - 3_600_000, "young"),
        (HELD, &held, now - 3_650 * 86_400_000, "held"),
    ] {
        let (id, series) = if pg {
            ("gen_random_uuid()".to_owned(), format!("SELECT generate_series(1, {n}) AS n"))
        } else {
            (
                "randomblob(16)".to_owned(),
                format!(
                    "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s"
                ),
            )
        };
        s.sql(&format!(
            "INSERT INTO privacy_requests (tenant_id, id, contact_id, kind, jurisdiction, status,
                 details, due_at, created_by, fulfilled_at, created_at, updated_at)
             SELECT {t}, {id}, {contact}, 'export', 'kvkk', 'completed',
                 '{{\"seed\": \"{tag}\", \"n\": ' || n || '}}', {at}, 'system:test', {at} + n, {at}, {at}
             FROM ({series}) q"
        ))
        .await;
    }
    s.sql(&format!(
        "INSERT INTO legal_holds (tenant_id, id, scope, subject_id, category, reason, placed_by, placed_at)
         VALUES ({t}, {}, 'contact', {held}, 'privacy_requests', 'Litigation', 'system:test', {now})",
        uuid_sql(pg, uuid::Uuid::now_v7())
    ))
    .await;
    tenant
}

async fn db(s: &Setup) -> switchboard_storage::Db {
    switchboard_storage::Db::connect(&s.db.url, &switchboard_storage::DbOptions::default()).await.unwrap()
}

async fn scalar(s: &Setup, sql: &str) -> i64 {
    let db = db(s).await;
    let mut c = db.read().await.unwrap();
    let v = match c.ex() {
        switchboard_storage::Ex::Sqlite(c) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *c).await.unwrap()
        }
        switchboard_storage::Ex::Pg(c) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *c).await.unwrap()
        }
    };
    drop(c);
    db.close().await;
    v
}

/// SHA-256 over the sorted seed details of the requests left.
async fn digest(s: &Setup) -> (usize, String) {
    let db = db(s).await;
    let mut c = db.read().await.unwrap();
    let sql = "SELECT details FROM privacy_requests ORDER BY details";
    let rows: Vec<String> = match c.ex() {
        switchboard_storage::Ex::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(&mut *c).await.unwrap(),
        switchboard_storage::Ex::Pg(c) => sqlx::query_scalar(sql).fetch_all(&mut *c).await.unwrap(),
    };
    drop(c);
    db.close().await;
    let mut h = Sha256::new();
    for r in &rows {
        h.update(r.as_bytes());
        h.update(b"\n");
    }
    (rows.len(), hex::encode(h.finalize()))
}

async fn serve(s: &Setup) -> Child {
    let port = free_port();
    let child = s
        .cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    child
}

async fn wait_finished(s: &Setup) {
    let start = Instant::now();
    while scalar(s, "SELECT COUNT(*) FROM retention_runs WHERE finished_at IS NOT NULL").await == 0 {
        assert!(start.elapsed() < Duration::from_secs(240), "the retention run never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

async fn retention_survives_kill_9(pg: bool) {
    let total = DUE + YOUNG + HELD;
    // An uninterrupted run.
    let Some(calm) = Setup::new(pg).await else {
        return;
    };
    seed(&calm, pg).await;
    let child = serve(&calm).await;
    wait_finished(&calm).await;
    stop(child);
    let expected = digest(&calm).await;
    assert_eq!(expected.0, usize::try_from(YOUNG + HELD).unwrap());

    // The same data, killed mid-purge.
    let Some(s) = Setup::new(pg).await else {
        return;
    };
    seed(&s, pg).await;
    let mut child = serve(&s).await;
    let start = Instant::now();
    loop {
        let left = scalar(&s, "SELECT COUNT(*) FROM privacy_requests").await;
        if left < total - 5_000 {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the purge did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = scalar(&s, "SELECT COUNT(*) FROM privacy_requests").await;
    assert!(left > YOUNG + HELD, "killed mid-run: {left} rows left (the purge must not have finished)");
    assert_eq!(
        scalar(&s, "SELECT COUNT(*) FROM retention_runs WHERE finished_at IS NULL").await,
        1,
        "the interrupted run is still open"
    );
    // Batch sizes vary (privacy::batch), but each batch counts its rows in its own transaction.
    assert_eq!(
        scalar(&s, "SELECT CAST(COALESCE(SUM(rows_purged), 0) AS BIGINT) FROM retention_run_counts WHERE category = 'privacy_requests'")
            .await,
        total - left,
        "only whole batches were committed, each with its count"
    );
    // A dead node's schedule lease runs out after the schedule period; pretend it has.
    s.sql("UPDATE schedules SET lease_until = 0, lease_owner = NULL WHERE name = 'privacy.retention'").await;
    let child = serve(&s).await;
    wait_finished(&s).await;
    stop(child);
    assert_eq!(digest(&s).await, expected, "the resumed run ends where an uninterrupted one does");
    assert_eq!(scalar(&s, "SELECT COUNT(*) FROM retention_runs").await, 1, "one run, resumed");
    calm.db.cleanup().await;
    s.db.cleanup().await;
}

#[tokio::test]
async fn retention_survives_kill_9_sqlite() {
    retention_survives_kill_9(false).await;
}

#[tokio::test]
async fn retention_survives_kill_9_postgres() {
    retention_survives_kill_9(true).await;
}

async fn delete_tenant_from_the_command_line(pg: bool) {
    let Some(s) = Setup::new(pg).await else {
        return;
    };
    let tenant = s.json(&["admin", "create-tenant", "--name", "Gone"])["tenant_id"].as_str().unwrap().to_owned();
    s.json(&["admin", "create-api-key", "--tenant", &tenant, "--name", "k"]);
    let out = s.json(&["admin", "delete-tenant", "--tenant", &tenant, "--tenant-purge-days", "7"]);
    assert_eq!(out["status"], "deactivated");
    assert_eq!(out["api_keys_revoked"], 1);
    assert!(out["purge_after"].is_string());
    assert_eq!(scalar(&s, "SELECT purge_after - requested_at FROM tenant_deletions").await, 7 * 86_400_000);
    assert_eq!(scalar(&s, "SELECT COUNT(*) FROM tenants WHERE status = 'deactivated'").await, 1);
    let bad = s.run(&["admin", "delete-tenant", "--tenant", &uuid::Uuid::now_v7().to_string()]);
    assert!(!bad.status.success());
    s.db.cleanup().await;
}

#[tokio::test]
async fn delete_tenant_from_the_command_line_sqlite() {
    delete_tenant_from_the_command_line(false).await;
}

#[tokio::test]
async fn delete_tenant_from_the_command_line_postgres() {
    delete_tenant_from_the_command_line(true).await;
}
