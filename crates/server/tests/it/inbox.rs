//! The inbox pages through HTTP: a customer's message shows up escaped, replies and actions go
//! through the application, another tenant gets 404, the phone is masked by role, forms from
//! other sites are refused, live events reach only the viewer's tenant, and open event
//! streams do not hold up the server's shutdown. The browser scenario is `e2e/inbox.mjs`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::support::{Api, TestServer, Whatsapp};
use crate::ui::{browser, location, logged_in};

pub const XSS_TEXT: &str = "<img src=x onerror=alert(1)>";
pub const HTML_NAME: &str = "<b>Ayşe</b> & co";
const PHONE: &str = "905321112233";

/// A customer with an HTML name writes an HTML message; (conversation id, message id).
pub async fn customer_with_markup(t: &TestServer, tenant: switchboard_core::TenantId, wa: &Whatsapp) -> String {
    let wamids =
        wa.control().inbound(&json!({"from": PHONE, "name": HTML_NAME, "type": "text", "text": XSS_TEXT})).unwrap();
    t.wait_for_wamid(tenant, wa, &wamids[0]).await.1.to_string()
}

/// Text as askama escapes it.
pub(crate) fn escaped(s: &str) -> String {
    s.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

pub(crate) async fn page(c: &reqwest::Client, t: &TestServer, path: &str) -> (StatusCode, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

pub(crate) async fn post(c: &reqwest::Client, t: &TestServer, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    c.post(t.url(path)).header("sec-fetch-site", "same-origin").form(form).send().await.unwrap()
}

/// A form posted from another site (CSRF): the status it gets.
pub(crate) async fn forged(c: &reqwest::Client, t: &TestServer, path: &str, form: &[(&str, &str)]) -> StatusCode {
    let res = c.post(t.url(path)).header("origin", "https://evil.example").header("sec-fetch-site", "cross-site");
    res.form(form).send().await.unwrap().status()
}

pub(crate) async fn conversation(t: &TestServer, key: &str, id: &str) -> Value {
    Api::new(t, key).get(&format!("/api/v1/conversations/{id}")).await.1
}

async fn inbox_pages_act_through_the_application(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let conv = customer_with_markup(t, a.id, &wa).await;
    let owner = logged_in(t, &a.owner).await;

    // The list and the conversation, with data as text.
    let (status, html) = page(&owner, t, "/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/inbox/{conv}")), "the conversation is listed");
    assert!(html.contains(&escaped(HTML_NAME)), "the name is escaped: {html}");
    assert!(!html.contains(HTML_NAME) && !html.contains(XSS_TEXT));
    let (status, html) = page(&owner, t, &format!("/inbox/{conv}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&escaped(XSS_TEXT)), "the message is escaped");
    assert!(!html.contains(XSS_TEXT));
    assert!(html.contains(&format!("+{PHONE}")), "an owner sees the phone whole");
    assert!(html.contains("id=\"composer\""), "the window is open: free text");
    // A fragment request gets the thread only (live refreshes).
    let res = owner.get(t.url(&format!("/inbox/{conv}"))).header("hx-request", "true").send().await.unwrap();
    let fragment = res.text().await.unwrap();
    assert!(fragment.contains("msg-in") && !fragment.contains("<html"), "{fragment}");

    // Figures (debug build, one conversation): page weight and time to answer.
    for path in ["/inbox".to_owned(), format!("/inbox/{conv}")] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..20 {
            let started = std::time::Instant::now();
            bytes = page(&owner, t, &path).await.1.len();
            times.push(started.elapsed());
        }
        times.sort();
        println!("{path}: {bytes} bytes, median {:?}, max {:?}", times[10], times[19]);
    }

    // An agent sees it masked.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(!html.contains(&format!("+{PHONE}")), "no whole phone for an agent");
    assert!(html.contains(&switchboard_core::phone::mask_digits(&format!("+{PHONE}"))), "masked phone");

    // A reply: queued, then sent, delivered and read by the simulator.
    let res = post(&owner, t, &format!("/inbox/{conv}/messages"), &[("text", "Merhaba <b>")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/inbox/{conv}"));
    t.eventually("the reply is read", async || {
        page(&owner, t, &format!("/inbox/{conv}")).await.1.contains("data-status=\"read\"")
    })
    .await;
    // An empty reply is refused beside the composer, not as an error page.
    let res = post(&owner, t, &format!("/inbox/{conv}/messages"), &[("text", "  ")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"composer\""));

    // Actions.
    let act = async |action: &[(&str, &str)]| {
        let res = post(&owner, t, &format!("/inbox/{conv}"), action).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{action:?}");
        conversation(t, &a.key, &conv).await
    };
    assert_eq!(act(&[("action", "assign_me")]).await["assignee_id"], a.owner.id.to_string());
    let (_, mine) = page(&owner, t, "/inbox?folder=mine").await;
    assert!(mine.contains(&format!("/inbox/{conv}")));
    let (_, unassigned) = page(&owner, t, "/inbox?folder=unassigned").await;
    assert!(!unassigned.contains(&format!("/inbox/{conv}\"")));
    assert_eq!(act(&[("action", "labels"), ("labels", "vip, <i>x</i>")]).await["labels"], json!(["<i>x</i>", "vip"]));
    let (_, labelled) = page(&owner, t, "/inbox?label=vip").await;
    assert!(labelled.contains(&format!("/inbox/{conv}")));
    assert_eq!(act(&[("action", "resolve")]).await["status"], "resolved");
    assert_eq!(act(&[("action", "reopen")]).await["status"], "open");
    assert_eq!(act(&[("action", "snooze"), ("until", "2099-01-01T10:00")]).await["status"], "snoozed");
    assert_eq!(act(&[("action", "unassign")]).await["assignee_id"], Value::Null);
    let res = post(&owner, t, &format!("/inbox/{conv}"), &[("action", "snooze"), ("until", "2001-01-01T10:00")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a snooze in the past is refused inline");
    let (_, snoozed) = page(&owner, t, "/inbox?status=snoozed").await;
    assert!(snoozed.contains(&format!("/inbox/{conv}")));
    let (_, open) = page(&owner, t, "/inbox?status=open").await;
    assert!(!open.contains(&format!("/inbox/{conv}\"")));
    // …each shown as an activity line of the conversation.
    let (_, html) = page(&owner, t, &format!("/inbox/{conv}")).await;
    for line in ["Assigned to you by you", "Resolved by you", "Reopened by you", "Snoozed by you", "Unassigned by you"]
    {
        assert!(html.contains(line), "activity line {line:?}");
    }
    assert!(t.count(a.id, "conversation_activity", "").await >= 5);
    let (status, _) = page(&owner, t, "/inbox?status=bogus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The search box reaches the application.
    assert_eq!(page(&owner, t, "/inbox?q=Ay%C5%9Fe").await.0, StatusCode::OK);

    // An analyst may read but not act or send.
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    let (status, html) = page(&analyst, t, &format!("/inbox/{conv}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"composer\"") && !html.contains("id=\"act-resolve\""));
    assert_eq!(
        post(&analyst, t, &format!("/inbox/{conv}"), &[("action", "resolve")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&analyst, t, &format!("/inbox/{conv}/messages"), &[("text", "x")]).await.status(),
        StatusCode::FORBIDDEN
    );

    // Another tenant: not found, on every inbox route, and nothing changes.
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let (status, html) = page(&outsider, t, &format!("/inbox/{conv}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Ayşe"));
    assert_eq!(
        post(&outsider, t, &format!("/inbox/{conv}"), &[("action", "resolve")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&outsider, t, &format!("/inbox/{conv}/messages"), &[("text", "x")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(!page(&outsider, t, "/inbox").await.1.contains(&conv));
    assert_eq!(page(&outsider, t, "/inbox/not-an-id").await.0, StatusCode::NOT_FOUND);
    assert_eq!(conversation(t, &a.key, &conv).await["status"], "snoozed");

    // Bulk: several conversations at once, each through the same checks.
    let (second, _) = t.customer_writes(a.id, &wa, "905559998877", "ikinci").await;
    let ids = [("id", conv.as_str()), ("id", second.as_str())];
    let res = post(&owner, t, "/inbox/bulk", &[&ids[..], &[("action", "label"), ("label", "toplu")]].concat()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(&owner, t, "/inbox/bulk", &[&ids[..], &[("action", "resolve")]].concat()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for id in [&conv, &second] {
        let c = conversation(t, &a.key, id).await;
        assert_eq!(c["status"], "resolved");
        assert!(c["labels"].as_array().unwrap().contains(&json!("toplu")), "{c}");
    }
    let res = post(&outsider, t, "/inbox/bulk", &[("id", conv.as_str()), ("action", "assign_me")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another tenant's ids are not found");
    assert_eq!(conversation(t, &a.key, &conv).await["assignee_id"], Value::Null);
    let res = post(&analyst, t, "/inbox/bulk", &[("id", conv.as_str()), ("action", "resolve")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(act(&[("action", "snooze"), ("until", "2099-01-01T10:00")]).await["status"], "snoozed");

    // Forms from another site are refused.
    assert_eq!(forged(&owner, t, &format!("/inbox/{conv}"), &[("action", "resolve")]).await, StatusCode::FORBIDDEN);
    let status = forged(&owner, t, &format!("/inbox/{conv}/messages"), &[("text", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(conversation(t, &a.key, &conv).await["status"], "snoozed");
}
server_test!(inbox_pages_act_through_the_application);

/// Reads an event stream until `want` appears (or `wait` passes); everything read.
pub(crate) async fn read_events(res: &mut reqwest::Response, want: &str, wait: Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    seen
}

async fn live_events_reach_only_their_tenant(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let owner = logged_in(t, &a.owner).await;
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let mut mine = owner.get(t.url("/inbox/events")).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert!(mine.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut theirs = outsider.get(t.url("/inbox/events")).send().await.unwrap();
    let started = std::time::Instant::now();
    let conv = customer_with_markup(t, a.id, &wa).await;
    let seen = read_events(&mut mine, &format!("event: c-{conv}"), Duration::from_secs(5)).await;
    assert!(seen.contains("event: list") && seen.contains(&format!("event: c-{conv}")), "{seen}");
    println!("live event after {:?}", started.elapsed());
    let other = read_events(&mut theirs, "event: ", Duration::from_millis(500)).await;
    assert!(!other.contains("event: "), "another tenant's event leaked: {other}");
    // Without a session there is no stream.
    let res = browser().get(t.url("/inbox/events")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
server_test!(live_events_reach_only_their_tenant);

/// An open event stream does not keep a stopping server waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_end_on_shutdown() {
    let t =
        TestServer::start(switchboard_storage::Backend::Sqlite, switchboard_app::AppConfig::for_tests()).await.unwrap();
    let a = t.tenant("A").await;
    let owner = logged_in(&t, &a.owner).await;
    let mut stream = owner.get(t.url("/inbox/events")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), t.stop()).await.expect("shutdown waited for the event stream");
    println!("shutdown with an open stream took {:?}", started.elapsed());
    assert!(matches!(tokio::time::timeout(Duration::from_secs(2), stream.chunk()).await, Ok(Ok(None) | Err(_))));
}

/// When the window has closed the composer is a template picker, and a template sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_window_offers_templates() {
    let (t, clock) = TestServer::with_manual_clock().await;
    let a = t.tenant("A").await;
    let wa = t.whatsapp(&a.key).await;
    let conv = customer_with_markup(&t, a.id, &wa).await;
    let api = Api::new(&t, &a.key);
    t.eventually("templates synced", async || {
        api.get("/api/v1/templates").await.1["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    clock.advance(25 * switchboard_core::Millis::HOUR);
    let owner = logged_in(&t, &a.owner).await;
    let (_, html) = page(&owner, &t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("id=\"template-picker\"") && !html.contains("id=\"composer\""));
    assert!(html.contains("appointment_reminder"));
    // Free text is refused; the template with its parameters goes.
    let res = post(&owner, &t, &format!("/inbox/{conv}/messages"), &[("text", "hello")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = [("template", "appointment_reminder"), ("language", "tr"), ("param", "Ayşe"), ("param", "yarın 10:00")];
    let res = post(&owner, &t, &format!("/inbox/{conv}/messages"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    t.eventually("the template is delivered", async || {
        let html = page(&owner, &t, &format!("/inbox/{conv}")).await.1;
        html.contains("yarın 10:00")
            && (html.contains("data-status=\"delivered\"") || html.contains("data-status=\"read\""))
    })
    .await;
    t.stop().await;
}

/// Canned responses: listed to whoever reads conversations, changed only with the settings
/// permission, per tenant; offered in the composer; managed on a settings page.
async fn canned_responses(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api = Api::new(t, &a.key);
    let (status, created) =
        api.post("/api/v1/canned-responses", json!({"shortcut": "/Greet", "body": "Merhaba <b>{name}</b>!"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["shortcut"], "greet");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = api.post("/api/v1/canned-responses", json!({"shortcut": "greet", "body": "again"})).await;
    assert_eq!((status, crate::support::error_code(&body).as_str()), (StatusCode::CONFLICT, "conflict"));
    let (status, body) = api.post("/api/v1/canned-responses", json!({"shortcut": "no spaces", "body": "x"})).await;
    assert_eq!(
        (status, crate::support::error_code(&body).as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_shortcut")
    );
    let (status, updated) = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/canned-responses/{id}"),
            Some(json!({"shortcut": "hello", "body": "Selam"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, list) = api.get("/api/v1/canned-responses").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["body"], "Selam");

    // Another tenant sees none of them and cannot touch them.
    let other = Api::new(t, &b.key);
    assert!(other.get("/api/v1/canned-responses").await.1["items"].as_array().unwrap().is_empty());
    assert_eq!(other.delete(&format!("/api/v1/canned-responses/{id}")).await.0, StatusCode::NOT_FOUND);
    let (status, _) = other
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/canned-responses/{id}"),
            Some(json!({"shortcut": "x", "body": "y"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An agent reads them (for the composer) but may not change them.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    assert_eq!(page(&agent, t, "/settings/canned-responses").await.0, StatusCode::FORBIDDEN);
    let res = post(&agent, t, "/settings/canned-responses", &[("shortcut", "x"), ("body", "y")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let wa = t.whatsapp(&a.key).await;
    let conv = customer_with_markup(t, a.id, &wa).await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(
        html.contains("data-shortcut=\"hello\"") && html.contains("data-body=\"Selam\""),
        "offered in the composer"
    );

    // The settings page: add (a taken shortcut is refused inline), delete.
    let owner = logged_in(t, &a.owner).await;
    let res = post(&owner, t, "/settings/canned-responses", &[("shortcut", "bye"), ("body", "Görüşürüz <i>")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(&owner, t, "/settings/canned-responses", &[("shortcut", "bye"), ("body", "again")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("That shortcut is taken."));
    let (_, html) = page(&owner, t, "/settings/canned-responses").await;
    assert!(html.contains("/bye") && html.contains(&escaped("Görüşürüz <i>")));
    let outsider = logged_in(t, &t.user(b.id, Role::Owner).await).await;
    let res = post(&outsider, t, &format!("/settings/canned-responses/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = post(&owner, t, &format!("/settings/canned-responses/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(api.get("/api/v1/canned-responses").await.1["items"].as_array().unwrap().len(), 1);
    // In the OpenAPI document.
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/canned-responses/{id}"].is_object(), "documented");
}
server_test!(canned_responses);
