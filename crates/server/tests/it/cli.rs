//! The command-line contract, exercised on the real binary: admin commands print JSON,
//! `audit verify` catches tampering, `serve` shuts down on SIGTERM, and a full run's logs
//! contain no personal data or secrets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_storage::test_support::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A data directory and database for the binary, on SQLite or PostgreSQL.
pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) db: TestDb,
}

impl Setup {
    pub(crate) async fn new(pg: bool) -> Option<Self> {
        switchboard_server::install_crypto_provider();
        let db = if pg { TestDb::postgres_empty().await.unwrap()? } else { TestDb::sqlite().await.unwrap() };
        Some(Self { dir: tempfile::tempdir().unwrap(), db })
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("SWITCHBOARD_DATA_DIR", self.dir.path())
            .env("SWITCHBOARD_DATABASE_URL", &self.db.url)
            .env_remove("SWITCHBOARD_MASTER_KEY_FILE")
            .env("SWITCHBOARD_LOG_FORMAT", "text");
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{args:?} printed no JSON: {}", String::from_utf8_lossy(&out.stdout)))
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) async fn sql(&self, statement: &str) {
        let db =
            switchboard_storage::Db::connect(&self.db.url, &switchboard_storage::DbOptions::default()).await.unwrap();
        let mut tx = db.write().await.unwrap();
        match tx.ex() {
            switchboard_storage::Ex::Sqlite(c) => {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut *c).await.unwrap();
            }
            switchboard_storage::Ex::Pg(c) => {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut *c).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
        db.close().await;
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn admin_and_audit_verify(pg: bool) {
    let Some(s) = Setup::new(pg).await else {
        return;
    };
    let t = s.json(&["admin", "create-tenant", "--name", "Clinic"]);
    let tenant = t["tenant_id"].as_str().unwrap().to_owned();
    assert!(s.path("master.key").exists(), "first start creates the master key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(s.path("master.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::write(s.path("pw"), "a long enough password\n").unwrap();
    let u = s.json(&[
        "admin",
        "create-user",
        "--tenant",
        &tenant,
        "--email",
        "dr@example.test",
        "--role",
        "admin",
        "--password-file",
        s.path("pw").to_str().unwrap(),
    ]);
    assert!(u["user_id"].is_string() && u.get("password").is_none());
    let generated =
        s.json(&["admin", "create-user", "--tenant", &tenant, "--email", "agent@example.test", "--role", "agent"]);
    assert!(generated["password"].as_str().unwrap().len() >= 20);
    let k = s.json(&[
        "admin",
        "create-api-key",
        "--tenant",
        &tenant,
        "--name",
        "ci",
        "--scope",
        "contacts:read",
        "--scope",
        "contacts:write",
    ]);
    assert!(k["key"].as_str().unwrap().starts_with("sbk_"));
    assert_eq!(k["scopes"], json!(["contacts:read", "contacts:write"]));

    // Bad input: clear errors, non-zero exit.
    let bad = s.run(&["admin", "create-user", "--tenant", &tenant, "--email", "x", "--role", "agent"]);
    assert!(!bad.status.success());
    let bad = s.run(&[
        "admin",
        "create-user",
        "--tenant",
        &uuid::Uuid::now_v7().to_string(),
        "--email",
        "y@example.test",
        "--role",
        "agent",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no tenant"));

    // Intact chain.
    let ok = s.run(&["audit", "verify"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let report: Value = serde_json::from_slice(ok.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!((report["intact"].clone(), report["entries"].as_u64().unwrap() >= 4), (json!(true), true));

    // Edited, deleted, reordered: each is caught and the first broken entry is named.
    let verify_fails_at = |seq: i64| {
        let out = s.run(&["audit", "verify", "--tenant", &tenant]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(stderr.contains(&format!("broken at entry {seq}")), "{stderr}");
    };
    let id = if pg { format!("'{tenant}'") } else { format!("X'{}'", tenant.replace('-', "")) };
    s.sql(&format!("UPDATE audit_log SET action = 'x' WHERE tenant_id = {id} AND seq = 2")).await;
    verify_fails_at(2);
    s.sql(&format!("UPDATE audit_log SET action = 'user.created' WHERE tenant_id = {id} AND seq = 2")).await;
    assert!(s.run(&["audit", "verify", "--tenant", &tenant]).status.success(), "restored");
    s.sql(&format!("UPDATE audit_log SET seq = -1 WHERE tenant_id = {id} AND seq = 2")).await;
    s.sql(&format!("UPDATE audit_log SET seq = 2 WHERE tenant_id = {id} AND seq = 3")).await;
    s.sql(&format!("UPDATE audit_log SET seq = 3 WHERE tenant_id = {id} AND seq = -1")).await;
    verify_fails_at(2);
    s.sql(&format!("DELETE FROM audit_log WHERE tenant_id = {id} AND seq = 1")).await;
    verify_fails_at(1);

    // The wrong master key is refused rather than silently producing unreadable data.
    std::fs::write(s.path("other.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let out = s.cmd(&["audit", "verify"]).env("SWITCHBOARD_MASTER_KEY_FILE", s.path("other.key")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("different master key"));
    s.db.cleanup().await;
}

#[tokio::test]
async fn admin_and_audit_verify_sqlite() {
    admin_and_audit_verify(false).await;
}

#[tokio::test]
async fn admin_and_audit_verify_postgres() {
    admin_and_audit_verify(true).await;
}

pub(crate) async fn wait_ready(url: &str) {
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {url} did not become ready");
}

fn terminate(pid: u32) {
    Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A whole session against the real binary with debug logging: login, contacts with known
/// personal values, lookups by phone in the query string, failed logins, API keys. Then
/// SIGTERM, a clean exit, and no personal value or secret anywhere in the output.
async fn logs_hold_no_personal_data(pg: bool) {
    let Some(s) = Setup::new(pg).await else {
        return;
    };
    let tenant = s.json(&["admin", "create-tenant", "--name", "Shop"])["tenant_id"].as_str().unwrap().to_owned();
    let password = "pw-Secret-Horse-4711";
    std::fs::write(s.path("pw"), password).unwrap();
    let email = "owner.person@example.test";
    s.json(&[
        "admin",
        "create-user",
        "--tenant",
        &tenant,
        "--email",
        email,
        "--role",
        "owner",
        "--password-file",
        s.path("pw").to_str().unwrap(),
    ]);
    let key =
        s.json(&["admin", "create-api-key", "--tenant", &tenant, "--name", "k"])["key"].as_str().unwrap().to_owned();

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (out_path, err_path) = (s.path("stdout.log"), s.path("stderr.log"));
    let mut child = s
        .cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    wait_ready(&url).await;

    let (name, phone, contact_email) = ("Gülşen Karaağaç", "+905337654321", "gulsen.k@example.org");
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = browser
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let bad = browser
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": "ghost.user@example.test", "password": "nope-nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let c: Value = browser
        .post(format!("{url}/api/v1/contacts"))
        .json(&json!({"name": name, "phone": phone, "email": contact_email, "attributes": {"secret_note": "kidney-transplant"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = c["id"].as_str().unwrap();
    browser.get(format!("{url}/api/v1/contacts/{id}")).send().await.unwrap();
    browser.get(format!("{url}/api/v1/contacts?phone=%2B905337654321")).send().await.unwrap();
    browser.get(format!("{url}/api/v1/contacts?email={contact_email}")).send().await.unwrap();
    browser.patch(format!("{url}/api/v1/contacts/{id}")).json(&json!({"phone": "bad-phone-12"})).send().await.unwrap();
    let api = reqwest::Client::new();
    api.get(format!("{url}/api/v1/contacts")).bearer_auth(&key).send().await.unwrap();
    api.get(format!("{url}/api/v1/contacts")).bearer_auth(format!("{key}x")).send().await.unwrap();
    browser.delete(format!("{url}/api/v1/contacts/{id}")).send().await.unwrap();

    terminate(child.id());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "graceful shutdown on SIGTERM exits 0");
    let logs = format!("{}{}", read(&out_path), read(&err_path));
    assert!(logs.contains("switchboard is listening") && logs.contains("shutting down"), "logs were captured: {logs}");
    let secret = key.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 40);
    for needle in [
        name,
        "Gülşen",
        phone,
        "5337654321",
        contact_email,
        "gulsen.k",
        "kidney-transplant",
        email,
        "ghost.user",
        password,
        secret,
    ] {
        assert!(!logs.contains(needle), "logs contain {needle:?}");
    }
    s.db.cleanup().await;
}

#[tokio::test]
async fn logs_hold_no_personal_data_sqlite() {
    logs_hold_no_personal_data(false).await;
}

#[tokio::test]
async fn logs_hold_no_personal_data_postgres() {
    logs_hold_no_personal_data(true).await;
}

#[test]
fn migrate_prints_json_and_help_lists_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["migrate", "--data-dir", dir.path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), json!({"migrated": true}));
    let help = String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap();
    for cmd in ["serve", "migrate", "admin", "audit"] {
        assert!(help.contains(cmd));
    }
}
