//! End-to-end tests in a real browser: each test starts a server (SQLite is enough here),
//! seeds what its scenario needs through the application, and runs
//! `node e2e/<scenario>.mjs <base_url> <json args>`, which drives Debian's Chromium with
//! playwright-core (see `e2e/lib.mjs`). Screenshots land in `e2e/artifacts/`.
//!
//! Without `node`, `e2e/node_modules` (`npm ci` in `e2e/`) or `/usr/bin/chromium` the tests
//! print `SKIPPED browser test: …` and pass — unless `SWITCHBOARD_REQUIRE_BROWSER=1`, as in
//! CI, where that is a failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_app::AppConfig;
use switchboard_app::auth::Principal;
use switchboard_app::contacts::ContactInput;
use switchboard_core::{Clock, Role, TenantId};
use switchboard_storage::Backend;

use crate::support::{PASSWORD, TestServer, User};

const CHROMIUM: &str = "/usr/bin/chromium";
/// A scenario that takes longer has hung (each runs in a few seconds).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// What is missing to run browser tests, if anything.
fn missing() -> Option<String> {
    let node = std::process::Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !node.is_ok_and(|s| s.success()) {
        return Some("`node` is not installed".into());
    }
    if !e2e_dir().join("node_modules/playwright-core").is_dir() {
        return Some("e2e/node_modules is missing (run `npm ci` in e2e/)".into());
    }
    if !std::path::Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is missing (apt-get install chromium)"));
    }
    None
}

/// Whether to go on; `false` after printing why not (or panics when the browser is required).
fn browser_available(scenario: &str) -> bool {
    let Some(why) = missing() else { return true };
    assert!(
        std::env::var("SWITCHBOARD_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "browser test {scenario}: {why}, and SWITCHBOARD_REQUIRE_BROWSER=1"
    );
    println!("SKIPPED browser test: {scenario}: {why}");
    false
}

async fn run(t: &TestServer, scenario: &str, args: &Value) {
    // Output goes to a file rather than a pipe: nothing can block on a full pipe buffer.
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = log.reopen().unwrap();
    let mut child = std::process::Command::new("node")
        .arg(e2e_dir().join(format!("{scenario}.mjs")))
        .arg(&t.url)
        .arg(args.to_string())
        .current_dir(e2e_dir())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + SCENARIO_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    println!("--- {scenario} ---\n{output}");
    let status = status.unwrap_or_else(|| panic!("browser scenario {scenario} timed out:\n{output}"));
    assert!(
        status.success() && output.contains(&format!("PASSED {scenario}")),
        "browser scenario {scenario} failed ({status}):\n{output}"
    );
}

async fn start() -> TestServer {
    TestServer::start(Backend::Sqlite, AppConfig::for_tests()).await.unwrap()
}

fn login_args(u: &User) -> Value {
    json!({"email": u.email, "password": PASSWORD})
}

async fn contact(t: &TestServer, tenant: TenantId, name: &str, phone: Option<&str>) -> String {
    t.app
        .create_contact(
            &Principal::system(tenant, "test"),
            ContactInput {
                name: Some(Some(name.into())),
                phone: phone.map(|p| Some(p.to_owned())),
                labels: Some(vec!["<i>label</i>".into()]),
                ..ContactInput::default()
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_with_two_factor() {
    if !browser_available("two-factor") {
        return;
    }
    let t = start().await;
    let a = t.tenant("A").await;
    let agent = t.user(a.id, Role::Agent).await;
    run(&t, "two-factor", &login_args(&agent)).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_users_and_api_keys() {
    if !browser_available("settings") {
        return;
    }
    let t = start().await;
    let a = t.tenant("A").await;
    let (sim, cfg) = t.simulator(switchboard_simulator::SimConfig::default()).await;
    let mut args = login_args(&a.owner);
    args["whatsapp"] = json!({
        "phone_number_id": cfg.phone_number_id, "waba_id": cfg.waba_id, "display_phone_number": cfg.display_phone_number,
        "access_token": crate::support::SIM_TOKEN, "app_secret": crate::support::SIM_SECRET,
        "verify_token": crate::support::SIM_VERIFY, "graph_base_url": sim.base_url,
    });
    run(&t, "settings", &args).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_render_as_text_and_mask_by_role() {
    if !browser_available("contacts") {
        return;
    }
    let t = start().await;
    let a = t.tenant("A").await;
    let xss = "<img src=x onerror=alert(1)>";
    let html = "<b>Bold</b> & \"quoted\" <script>alert(2)</script>";
    let xss_id = contact(&t, a.id, xss, Some("+905321112233")).await;
    contact(&t, a.id, html, None).await;
    let args = json!({
        "supervisor": login_args(&t.user(a.id, Role::Supervisor).await),
        "agent": login_args(&t.user(a.id, Role::Agent).await),
        "xss_id": xss_id,
        "xss_name": xss,
        "html_name": html,
        "phone": "+905321112233",
        "masked_phone": switchboard_core::phone::mask_digits("+905321112233"),
    });
    run(&t, "contacts", &args).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_contact_is_not_found() {
    if !browser_available("tenant-isolation") {
        return;
    }
    let t = start().await;
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let name = "Only in tenant A";
    let id = contact(&t, a.id, name, Some("+905321112233")).await;
    let args = json!({
        "agent": login_args(&t.user(b.id, Role::Agent).await),
        "contact_id": id,
        "contact_name": name,
    });
    run(&t, "tenant-isolation", &args).await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_panel_and_a_request_going_through() {
    if !browser_available("privacy") {
        return;
    }
    let t = start().await;
    let a = t.tenant("A").await;
    let id = contact(&t, a.id, "Ayşe", Some("+905321112233")).await;
    let args = json!({
        "owner": login_args(&a.owner),
        "contact_id": id,
    });
    run(&t, "privacy", &args).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_live_replies_templates_and_actions() {
    if !browser_available("inbox") {
        return;
    }
    let (t, clock) = TestServer::with_manual_clock().await;
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    // Statuses slow enough for each tick to be seen on the page.
    let slow = switchboard_simulator::SimConfig { status_delays_ms: (500, 1500, 2500), ..Default::default() };
    let wa = t.whatsapp_with(&a.key, slow).await;
    let (old, _) = t.customer_writes(a.id, &wa, "905551112233", "Dün yazmıştım").await;
    let api = crate::support::Api::new(&t, &a.key);
    t.eventually("templates synced", async || {
        api.get("/api/v1/templates").await.1["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    // A day later: the first customer's window has closed; the one writing now opens a new one
    // (the simulator's message carries the server's time).
    let canned =
        switchboard_app::inbox::CannedInput { shortcut: "greet".into(), body: "Merhaba <b>hoş geldiniz</b>".into() };
    t.app.save_canned(&Principal::system(a.id, "test"), None, &canned).await.unwrap();
    let team = switchboard_app::teams::TeamInput { name: "Faturalama".into() };
    t.app.create_team(&Principal::system(a.id, "test"), &team).await.unwrap();
    let colleague = t.user(a.id, Role::Agent).await;
    // A template with a text header, a footer and buttons (one URL ending in a variable).
    let rich = json!({"name": "kargo_takip", "language": "tr", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Sipariş {{1}}"},
        {"type": "BODY", "text": "Merhaba {{1}}, kargonuz {{2}}."},
        {"type": "FOOTER", "text": "Örnek Mağaza"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Tamam"},
            {"type": "URL", "text": "Takip", "url": "https://kargo.example/t/{{1}}"}]}]});
    let res = reqwest::Client::new().post(format!("{}/_sim/templates", wa.sim.base_url)).json(&rich).send().await;
    assert!(res.unwrap().status().is_success());
    let (status, _) = api.post(&format!("/api/v1/channels/whatsapp/{}/templates/sync", wa.channel_id), json!({})).await;
    assert!(status.is_success());
    clock.advance(25 * switchboard_core::Millis::HOUR);
    let phone = "+905321112233";
    let args = json!({
        "agent": login_args(&t.user(a.id, Role::Agent).await),
        "outsider": login_args(&t.user(b.id, Role::Agent).await),
        "sim": wa.sim.base_url,
        "from": phone.trim_start_matches('+'),
        "name": crate::inbox::HTML_NAME,
        "text": crate::inbox::XSS_TEXT,
        "timestamp": clock.now().0 / 1000,
        "phone": phone,
        "masked_phone": switchboard_core::phone::mask_digits(phone),
        "old_conversation": old,
        "canned_shortcut": canned.shortcut,
        "canned_body": canned.body,
        "note": "<b>iade</b> istiyor",
        "team": team.name,
        "colleague": colleague.email,
    });
    run(&t, "inbox", &args).await;
    t.stop().await;
}
