//! WhatsApp end to end against the simulator: connect, receive every kind of message, send,
//! statuses, media; and the bad-input, duplicate, race and crash cases.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, SIM_SECRET, SIM_VERIFY, TestServer, Whatsapp, error_code};

fn vectors_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: ../shared/vectors is not present beside the repository");
        None
    }
}

/// Points a vector payload at our channel (its number and account ids become ours) and gives
/// its messages ids of their own: the fixtures reuse three wamids across 23 cases, and only
/// the first of each would be stored (correctly — duplicates insert nothing).
fn retarget(mut v: Value, wa: &Whatsapp, case: &str) -> Value {
    if let Some(entries) = v.get_mut("entry").and_then(Value::as_array_mut) {
        for e in entries {
            e["id"] = json!("880000000000001");
            for c in e.get_mut("changes").and_then(Value::as_array_mut).into_iter().flatten() {
                let Some(value) = c.get_mut("value") else { continue };
                if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.insert("phone_number_id".into(), json!(wa.phone_number_id));
                }
                for m in value.get_mut("messages").and_then(Value::as_array_mut).into_iter().flatten() {
                    if let Some(id) = m.get("id").and_then(Value::as_str) {
                        m["id"] = json!(format!("{id}.{case}"));
                    }
                }
            }
        }
    }
    v
}

fn messages_of(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for e in v["entry"].as_array().into_iter().flatten() {
        for c in e["changes"].as_array().into_iter().flatten() {
            out.extend(c["value"]["messages"].as_array().into_iter().flatten().cloned());
        }
    }
    out
}

/// Every payload of the pywa vectors, signed and posted, is acknowledged and lands: each
/// message as a row of its type (or applied to its target), statuses of unknown sends parked,
/// everything else as channel events. Posting them all again adds no message.
async fn vectors_land_as_rows(t: &TestServer) {
    let Some(dir) = vectors_dir() else { return };
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("pywa__updates__"))
        .collect();
    files.sort();
    let mut payloads = Vec::new();
    for f in &files {
        let cases: serde_json::Map<String, Value> = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        for (name, body) in cases {
            let case = format!("{}:{name}", f.file_name().unwrap().to_str().unwrap());
            payloads.push((case.clone(), retarget(body, &wa, &case)));
        }
    }
    assert!(payloads.len() >= 70, "{} payloads", payloads.len());
    for round in 0..2 {
        for (name, body) in &payloads {
            let status = t.deliver(&wa, &serde_json::to_vec(body).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "round {round}, {name}");
        }
        if round == 0 {
            let n = t.count(acme.id, "messages", "").await;
            let events = t.count(acme.id, "channel_events", "").await;
            assert!(n > 0 && events > 0);
        }
    }
    assert_eq!(t.count(acme.id, "webhook_events", "AND state = 'processed'").await, 2 * payloads.len() as i64);
    let kinds_stored: Vec<(String, String)> = {
        let mut conn = t.app.db.read().await.unwrap();
        let mut out = Vec::new();
        for (_, body) in &payloads {
            for m in messages_of(body) {
                let id = m["id"].as_str().unwrap().to_owned();
                let kind = m["type"].as_str().unwrap_or_default().to_owned();
                let found = switchboard_storage::messages::find_by_provider_id(
                    &mut conn.tenant(acme.id),
                    wa.channel_id.parse().unwrap(),
                    &id,
                )
                .await
                .unwrap();
                if !["reaction", "edit", "revoke"].contains(&kind.as_str()) {
                    assert!(found.is_some(), "message {id} of type {kind} was not stored");
                }
                out.push((id, kind));
            }
        }
        out
    };
    let distinct: std::collections::BTreeSet<&String> = kinds_stored
        .iter()
        .filter(|(_, k)| !["reaction", "edit", "revoke"].contains(&k.as_str()))
        .map(|(id, _)| id)
        .collect();
    let rows = t.count(acme.id, "messages", "AND direction = 'inbound'").await;
    assert!(rows >= distinct.len() as i64, "{rows} rows for {} distinct messages", distinct.len());
    // Statuses of sends we never made wait (parked) instead of being dropped: wamid.xyzxyz
    // sent, delivered, read (played counts as read), failed 130472, and the group status.
    assert_eq!(t.count(acme.id, "parked_statuses", "").await, 5);
    assert!(t.count(acme.id, "channel_events", "AND field = 'message_template_status_update'").await >= 2);
    // What the inbox shows for the plain text vector.
    let (_, list) = Api::new(t, &acme.key).get("/api/v1/conversations?limit=200").await;
    assert!(!list["items"].as_array().unwrap().is_empty());
    let mut texts = Vec::new();
    for c in list["items"].as_array().unwrap() {
        let (_, msgs) = Api::new(t, &acme.key)
            .get(&format!("/api/v1/conversations/{}/messages?limit=200", c["id"].as_str().unwrap()))
            .await;
        for m in msgs["items"].as_array().unwrap() {
            texts.push((m["type"].as_str().unwrap().to_owned(), m["text"].clone()));
        }
    }
    assert!(texts.iter().any(|(k, t)| k == "text" && t == "Body Text"), "{texts:?}");
    for kind in [
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "order",
        "unsupported",
        "interactive",
        "button",
        "system",
    ] {
        assert!(texts.iter().any(|(k, _)| k == kind), "no {kind} message in the inbox: {texts:?}");
    }
}
server_test!(vectors_land_as_rows);

/// Forged, malformed and oversized deliveries get a clear status and store nothing.
async fn bad_deliveries_store_nothing(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let path = format!("/webhooks/whatsapp/{}", wa.channel_id);
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Eve"}, "wa_id": "905551112233"}],
        "messages": [{"from": "905551112233", "id": "wamid.FORGED", "timestamp": "1767225600", "type": "text", "text": {"body": "transfer all money"}}]}}]}]})).unwrap();
    let good = switchboard_channels::whatsapp::signature::sign(SIM_SECRET.as_bytes(), &body);
    let mut altered = body.clone();
    let last = altered.len() - 3;
    altered[last] ^= 1;
    let hexpart = good.trim_start_matches("sha256=").to_owned();
    let cases: Vec<(&str, Vec<u8>, Option<String>, StatusCode)> = vec![
        ("unsigned", body.clone(), None, StatusCode::UNAUTHORIZED),
        (
            "wrong secret",
            body.clone(),
            Some(switchboard_channels::whatsapp::signature::sign(b"other-secret", &body)),
            StatusCode::UNAUTHORIZED,
        ),
        ("one byte changed", altered, Some(good.clone()), StatusCode::UNAUTHORIZED),
        ("no prefix", body.clone(), Some(hexpart.clone()), StatusCode::UNAUTHORIZED),
        ("upper-case hex", body.clone(), Some(format!("sha256={}", hexpart.to_uppercase())), StatusCode::UNAUTHORIZED),
        ("inner space", body.clone(), Some(format!("sha256= {hexpart}")), StatusCode::UNAUTHORIZED),
        ("two signatures", body.clone(), Some(format!("{good},{good}")), StatusCode::UNAUTHORIZED),
        ("sha1", body.clone(), Some(format!("sha1={hexpart}")), StatusCode::UNAUTHORIZED),
    ];
    for (name, b, sig, want) in cases {
        let (status, text) = t.post_webhook(&path, b, sig).await;
        assert_eq!(status, want, "{name}: {text}");
        assert_eq!(error_code(&serde_json::from_str(&text).unwrap()), "invalid_signature", "{name}");
    }
    let signed = |b: &[u8]| Some(switchboard_channels::whatsapp::signature::sign(SIM_SECRET.as_bytes(), b));
    let malformed = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    assert_eq!(t.post_webhook(&path, malformed.clone(), signed(&malformed)).await.0, StatusCode::BAD_REQUEST);
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    assert_eq!(t.post_webhook(&path, nested.clone(), signed(&nested)).await.0, StatusCode::BAD_REQUEST);
    let bad_utf8 = b"{\"object\": \"\xff\xfe\"}".to_vec();
    assert_eq!(t.post_webhook(&path, bad_utf8.clone(), signed(&bad_utf8)).await.0, StatusCode::BAD_REQUEST);
    let page = br#"{"object": "page", "entry": []}"#.to_vec();
    assert_eq!(t.post_webhook(&path, page.clone(), signed(&page)).await.0, StatusCode::BAD_REQUEST);
    if let Some(dir) = vectors_dir() {
        let messenger = std::fs::read(dir.join("ker0x-messenger__Callback__invalid_message.json")).unwrap();
        assert_eq!(t.post_webhook(&path, messenger.clone(), signed(&messenger)).await.0, StatusCode::BAD_REQUEST);
    }
    let huge = vec![b' '; 3 * 1024 * 1024 + 1];
    let (status, text) = t.post_webhook(&path, huge.clone(), signed(&huge)).await;
    assert_eq!(
        (status, error_code(&serde_json::from_str(&text).unwrap()).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // Unknown channel; platform URL without a configured app.
    let (status, _) =
        t.post_webhook(&format!("/webhooks/whatsapp/{}", uuid::Uuid::now_v7()), body.clone(), Some(good.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(t.post_webhook("/webhooks/whatsapp", body.clone(), Some(good.clone())).await.0, StatusCode::NOT_FOUND);
    // Another number's change, correctly signed with this channel's secret, is not stored here.
    let foreign = String::from_utf8(body.clone()).unwrap().replace(&wa.phone_number_id, "999999999999999").into_bytes();
    assert_eq!(t.post_webhook(&path, foreign.clone(), signed(&foreign)).await.0, StatusCode::OK);

    for table in ["messages", "contacts", "conversations", "webhook_events", "channel_events"] {
        assert_eq!(t.count(acme.id, table, "").await, 0, "{table} must be empty");
    }
    // The real thing is accepted.
    assert_eq!(t.post_webhook(&path, body.clone(), Some(good)).await.0, StatusCode::OK);
    assert_eq!(t.count(acme.id, "messages", "").await, 1);
}
server_test!(bad_deliveries_store_nothing);

async fn verification_handshake(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let get = |q: String| reqwest::get(t.url(&format!("/webhooks/whatsapp/{}?{q}", wa.channel_id)));
    let res = get(format!("hub.mode=subscribe&hub.verify_token={SIM_VERIFY}&hub.challenge=1158201444")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(res.text().await.unwrap(), "1158201444");
    let res = get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = get(format!("hub.mode=unsubscribe&hub.verify_token={SIM_VERIFY}&hub.challenge=1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A challenge full of markup is echoed as plain text, never as HTML.
    let res = get(format!(
        "hub.mode=subscribe&hub.verify_token={SIM_VERIFY}&hub.challenge=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    ))
    .await
    .unwrap();
    assert_eq!(res.headers()["content-type"].to_str().unwrap(), "text/plain; charset=utf-8");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}
server_test!(verification_handshake);

fn status_body(wa: &Whatsapp, wamid: &str, status: &str, code: Option<i64>, at: i64) -> Vec<u8> {
    let mut st = json!({"id": wamid, "status": status, "timestamp": at.to_string(), "recipient_id": "905321112233"});
    if let Some(code) = code {
        st["errors"] = json!([{"code": code, "title": "Message undeliverable", "error_data": {"details": "test"}}]);
    }
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "statuses": [st]}}]}]}))
    .unwrap()
}

fn quiet_simulator() -> switchboard_simulator::SimConfig {
    // No automatic statuses: the test delivers its own, in the order it wants.
    switchboard_simulator::SimConfig {
        status_delays_ms: (3_600_000, 3_600_000, 3_600_000),
        emit_read: false,
        ..Default::default()
    }
}

async fn message(t: &TestServer, key: &str, conversation: &str, id: &str) -> Value {
    let (_, page) = Api::new(t, key).get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await;
    page["items"].as_array().unwrap().iter().find(|m| m["id"] == id).cloned().unwrap_or(Value::Null)
}

/// Sends a text and waits until Meta (the simulator) accepted it; returns (message id, wamid).
async fn send_text(t: &TestServer, key: &str, conversation: &str, text: &str) -> (String, String) {
    let (s, m) = Api::new(t, key)
        .post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"type": "text", "text": text}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    let mut wamid = String::new();
    t.eventually("send accepted", async || {
        wamid = message(t, key, conversation, &id).await["provider_message_id"].as_str().unwrap_or_default().to_owned();
        !wamid.is_empty()
    })
    .await;
    (id, wamid)
}

const RANK: [&str; 5] = ["accepted", "sent", "failed", "delivered", "read"];

fn rank(status: &str) -> usize {
    RANK.iter().position(|s| *s == status).unwrap_or(0)
}

/// Statuses in every order, each delivered twice: the end state follows the rank rule
/// (read > delivered > failed > sent), a failure is recorded even when it does not win, and no
/// intermediate answer of the API ever goes backwards.
async fn statuses_in_any_order_end_the_same(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let all = ["sent", "delivered", "read", "failed"];
    let mut orders: Vec<Vec<&str>> = Vec::new();
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                for d in 0..4 {
                    let o = [a, b, c, d];
                    if (0..4).all(|i| o.contains(&i)) {
                        orders.push(o.iter().map(|&i| all[i]).collect());
                    }
                }
            }
        }
    }
    assert_eq!(orders.len(), 24);
    // Subsets too: read without delivered, failed after delivered, failed alone.
    orders.push(vec!["read"]);
    orders.push(vec!["delivered", "failed"]);
    orders.push(vec!["failed", "sent"]);
    for (n, order) in orders.into_iter().enumerate() {
        // A customer per order: our own pair-rate pacing would otherwise slow the sends down.
        let (conversation, _) = t.customer_writes(acme.id, &wa, &format!("9053211122{n:02}"), "Merhaba").await;
        let (id, wamid) = send_text(t, &acme.key, &conversation, "status test").await;
        let mut seen = 0;
        for (i, status) in order.iter().enumerate() {
            let code = (*status == "failed").then_some(131026);
            let body = status_body(&wa, &wamid, status, code, 1_767_225_600 + i as i64);
            for _ in 0..2 {
                assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
            }
            let now = message(t, &acme.key, &conversation, &id).await;
            let r = rank(now["status"].as_str().unwrap());
            assert!(r >= seen, "{order:?}: went back to {}", now["status"]);
            seen = r;
        }
        let end = message(t, &acme.key, &conversation, &id).await;
        let want = *order.iter().max_by_key(|s| rank(s)).unwrap();
        assert_eq!(end["status"], want, "{order:?}");
        if order.contains(&"failed") {
            assert_eq!(end["error"]["code"], 131026, "{order:?}: the failure is kept");
        }
    }
}
server_test!(statuses_in_any_order_end_the_same);

/// A status that arrives before we know our send's wamid is reconciled by our id in
/// `biz_opaque_callback_data`.
async fn status_before_send_answer_is_reconciled(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    // The send's answer is dropped by the network: the outcome is unknown…
    wa.control().set_faults(switchboard_simulator::Faults { drop_response_rate: 1.0, ..Default::default() });
    let (s, m) = Api::new(t, &acme.key)
        .post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"type": "text", "text": "kayıp"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let id = m["id"].as_str().unwrap().to_owned();
    t.eventually("send unknown", async || message(t, &acme.key, &conversation, &id).await["status"] == "unknown").await;
    // …until a status webhook names our message.
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "statuses": [{"id": "wamid.RECONCILED", "status": "delivered", "timestamp": "1767225600", "recipient_id": "905321112233", "biz_opaque_callback_data": id}]}}]}]})).unwrap();
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    let m = message(t, &acme.key, &conversation, &id).await;
    assert_eq!(
        (m["status"].as_str(), m["provider_message_id"].as_str()),
        (Some("delivered"), Some("wamid.RECONCILED"))
    );
    // Never sent twice: the simulator accepted exactly one.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(wa.control().stats().sends.accepted, 1);
}
server_test!(status_before_send_answer_is_reconciled);

/// The same delivery arriving ten times at once is one message, one unread, one event.
async fn concurrent_duplicates_are_one_message(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let mut events = t.app.bus.subscribe();
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Dup"}, "wa_id": "905001112233"}],
        "messages": [{"from": "905001112233", "id": "wamid.DUP1", "timestamp": "1767225600", "type": "text", "text": {"body": "bir kez"}}]}}]}]})).unwrap();
    let results = futures::future::join_all((0..10).map(|_| t.deliver(&wa, &body))).await;
    assert!(results.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(t.count(acme.id, "messages", "").await, 1);
    assert_eq!(t.count(acme.id, "contacts", "").await, 1);
    assert_eq!(t.count(acme.id, "conversations", "AND unread_count = 1").await, 1);
    let mut created = 0;
    while let Ok(Ok(e)) = tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await {
        created += usize::from(e.topic == "message.created");
    }
    assert_eq!(created, 1, "one message, one event");
}
server_test!(concurrent_duplicates_are_one_message);

/// Two first messages from a new number, processed at the same moment by different writers,
/// make one contact and one conversation.
async fn racing_first_messages_make_one_contact(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    for round in 0..5 {
        let from = format!("9055500000{round:02}");
        let bodies: Vec<Vec<u8>> = (0..4)
            .map(|i| serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
                "contacts": [{"profile": {"name": "Racer"}, "wa_id": from}],
                "messages": [{"from": from, "id": format!("wamid.RACE{round}.{i}"), "timestamp": "1767225600", "type": "text", "text": {"body": "hi"}}]}}]}]})).unwrap())
            .collect();
        let results = futures::future::join_all(bodies.iter().map(|b| t.deliver(&wa, b))).await;
        assert!(results.iter().all(|s| *s == StatusCode::OK));
    }
    assert_eq!(t.count(acme.id, "contacts", "").await, 5);
    assert_eq!(t.count(acme.id, "conversations", "").await, 5);
    assert_eq!(t.count(acme.id, "messages", "").await, 20);
}
server_test!(
    racing_first_messages_make_one_contact,
    switchboard_app::AppConfig {
        whatsapp: switchboard_app::config::WhatsAppConfig {
            ingest_writers: 4,
            ingest_batch: 1,
            ..switchboard_app::AppConfig::for_tests().whatsapp
        },
        ..switchboard_app::AppConfig::for_tests()
    }
);
