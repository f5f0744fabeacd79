//! WhatsApp end to end against the simulator: connect, receive every kind of message, send,
//! statuses, media; and the bad-input, duplicate, race and crash cases.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use switchboard_core::Clock;

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

/// Statuses of one payload are applied with one statement (`messages::apply_statuses`), not
/// one by one: every order of the four statuses in one delivery, each twice, half of them naming
/// our id and half only the wamid, ends as delivering them one by one does.
async fn statuses_of_one_payload_end_as_one_by_one(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let all = ["sent", "delivered", "read", "failed"];
    let mut orders: Vec<Vec<&str>> = vec![vec!["failed", "sent"], vec!["delivered", "failed"]];
    for a in 0..4 {
        for b in (0..4).filter(|b| *b != a) {
            for c in (0..4).filter(|c| *c != a && *c != b) {
                orders.push([a, b, c, 6 - a - b - c].iter().map(|&i| all[i]).collect());
            }
        }
    }
    assert_eq!(orders.len(), 26);
    for (n, order) in orders.into_iter().enumerate() {
        let (conversation, _) = t.customer_writes(acme.id, &wa, &format!("9053211133{n:02}"), "Merhaba").await;
        let (id, wamid) = send_text(t, &acme.key, &conversation, "one payload").await;
        let mut statuses = Vec::new();
        for (i, status) in order.iter().chain(order.iter()).enumerate() {
            let mut st = json!({"id": wamid, "status": status, "timestamp": (1_767_225_600 + i).to_string(),
                "recipient_id": "905321112233"});
            if i % 2 == 0 {
                st["biz_opaque_callback_data"] = json!(id);
            }
            if *status == "failed" {
                st["errors"] =
                    json!([{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "test"}}]);
            }
            statuses.push(st);
        }
        let body =
            serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
            "statuses": statuses}}]}]}))
            .unwrap();
        // Delivered again, every report changes nothing and is found known, not parked.
        for _ in 0..2 {
            assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
        }
        let end = message(t, &acme.key, &conversation, &id).await;
        let want = *order.iter().max_by_key(|s| rank(s)).unwrap();
        assert_eq!(end["status"], want, "{order:?}");
        if order.contains(&"failed") {
            assert_eq!(end["error"]["code"], 131026, "{order:?}: the failure is kept");
        }
    }
    assert_eq!(t.count(acme.id, "parked_statuses", "").await, 0);
}
server_test!(statuses_of_one_payload_end_as_one_by_one);

/// On PostgreSQL an ingest batch locks the messages its statuses update in id order before it
/// updates any (`messages::lock_for_statuses`): batches with statuses for the same messages in
/// opposite orders deadlocked, each costing a second. Here another transaction holds the lower
/// id; a batch whose first status is for the higher id must wait for the lower one without
/// having locked the higher. SQLite has one writer and no row locks: nothing to cross.
async fn status_batches_lock_messages_in_id_order(t: &TestServer) {
    use sqlx::{Connection, PgConnection};
    if t.backend() == switchboard_storage::Backend::Sqlite {
        return;
    }
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let mut sent = Vec::new();
    for n in 1..=2 {
        let (conversation, _) = t.customer_writes(acme.id, &wa, &format!("90532111220{n}"), "Merhaba").await;
        let (id, wamid) = send_text(t, &acme.key, &conversation, "lock order").await;
        sent.push((uuid::Uuid::parse_str(&id).unwrap(), wamid, conversation));
    }
    sent.sort();
    let [(low, low_wamid, low_conv), (high, high_wamid, high_conv)] = <[_; 2]>::try_from(sent).unwrap();
    // The higher id's status first, by our id; the lower one's by its wamid only.
    let statuses = json!([
        {"id": high_wamid, "status": "delivered", "timestamp": "1767225600", "recipient_id": "905321112202",
         "biz_opaque_callback_data": high.to_string()},
        {"id": low_wamid, "status": "delivered", "timestamp": "1767225600", "recipient_id": "905321112201"},
    ]);
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "statuses": statuses}}]}]}))
    .unwrap();

    let mut holder = PgConnection::connect(&t.db_url).await.unwrap();
    let mut held = holder.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE").bind(low).execute(&mut *held).await.unwrap();
    let check = async {
        let mut probe = PgConnection::connect(&t.db_url).await.unwrap();
        t.eventually("the batch waits for the lower id", async || {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut probe)
            .await
            .unwrap();
            waiting > 0
        })
        .await;
        let mut other = probe.begin().await.unwrap();
        let r =
            sqlx::query("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE NOWAIT").bind(high).execute(&mut *other).await;
        assert!(r.is_ok(), "the batch locked the higher id before waiting for the lower one: {r:?}");
        other.rollback().await.unwrap();
        held.commit().await.unwrap();
    };
    let (status, ()) = tokio::join!(t.deliver(&wa, &body), check);
    assert_eq!(status, StatusCode::OK);
    for (id, conversation) in [(low, low_conv), (high, high_conv)] {
        assert_eq!(message(t, &acme.key, &conversation, &id.to_string()).await["status"], "delivered");
    }
}
server_test!(status_batches_lock_messages_in_id_order);

/// Sends a text whose answer the network drops (the simulator accepts it, we never hear):
/// returns its id once it is `unknown`.
async fn unknown_send(t: &TestServer, key: &str, wa: &Whatsapp, conversation: &str, text: &str) -> String {
    wa.control().set_faults(switchboard_simulator::Faults { drop_response_rate: 1.0, ..Default::default() });
    let (s, m) = Api::new(t, key)
        .post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"type": "text", "text": text}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let id = m["id"].as_str().unwrap().to_owned();
    t.eventually("send unknown", async || message(t, key, conversation, &id).await["status"] == "unknown").await;
    id
}

/// A status that arrives before we know our send's wamid is reconciled by our id in
/// `biz_opaque_callback_data`.
async fn status_before_send_answer_is_reconciled(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    // The send's answer is dropped by the network: the outcome is unknown…
    let id = unknown_send(t, &acme.key, &wa, &conversation, "kayıp").await;
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

/// A status without our id, for a wamid we do not know yet, is parked; when the send that
/// gets that wamid is recorded (the sender's `accepted_many` then `apply_parked`, called here
/// as the sender does), the parked statuses apply and go.
async fn parked_statuses_apply_when_the_send_is_accepted(t: &TestServer) {
    use switchboard_storage::messages;
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp_with(&acme.key, quiet_simulator()).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    // No answer reaches us: the send stays without a wamid.
    let id = unknown_send(t, &acme.key, &wa, &conversation, "sonra").await;
    for (status, at) in [("sent", 1_767_225_600), ("delivered", 1_767_225_601)] {
        assert_eq!(t.deliver(&wa, &status_body(&wa, "wamid.LATE", status, None, at)).await, StatusCode::OK);
    }
    assert_eq!(t.count(acme.id, "parked_statuses", "").await, 2);
    let channel: uuid::Uuid = wa.channel_id.parse().unwrap();
    let mut tx = t.app.db.write().await.unwrap();
    let mut s = tx.tenant(acme.id);
    messages::accepted_many(&mut s, &[(id.parse().unwrap(), "wamid.LATE")], 1_767_225_602_000).await.unwrap();
    messages::apply_parked(&mut s, &[(channel, "wamid.LATE"), (channel, "wamid.NOTHING_PARKED")]).await.unwrap();
    tx.commit().await.unwrap();
    let m = message(t, &acme.key, &conversation, &id).await;
    assert_eq!((m["status"].as_str(), m["provider_message_id"].as_str()), (Some("delivered"), Some("wamid.LATE")));
    assert_eq!(t.count(acme.id, "parked_statuses", "").await, 0);
}
server_test!(parked_statuses_apply_when_the_send_is_accepted);

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

/// The server restarts while the simulator is delivering: every message the simulator sent is
/// present exactly once afterwards (Meta-style retries cover the gap; nothing acknowledged is
/// lost, nothing is doubled).
async fn restart_while_delivering(backend: switchboard_storage::Backend) {
    let Some(mut t) = TestServer::start(backend, switchboard_app::AppConfig::for_tests()).await else { return };
    let acme = t.tenant("Acme").await;
    let retries =
        switchboard_simulator::SimConfig { retry_schedule_ms: vec![0, 100, 300, 600, 1000], ..Default::default() };
    let wa = t.whatsapp_with(&acme.key, retries).await;
    let mut wamids = Vec::new();
    for i in 0..6 {
        let got = wa
            .control()
            .inbound(&json!({"from": format!("9054440000{i:02}"), "type": "text", "text": "yük", "count": 25}))
            .unwrap();
        wamids.extend(got);
        if i == 2 {
            t.restart().await;
            let (_, ch) = Api::new(&t, &acme.key).get(&format!("/api/v1/channels/whatsapp/{}", wa.channel_id)).await;
            wa.sim.set_webhook_url(ch["webhook_url"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(wamids.len(), 150);
    for w in &wamids {
        t.wait_for_wamid(acme.id, &wa, w).await;
    }
    assert_eq!(t.count(acme.id, "messages", "").await, 150, "each exactly once");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_while_delivering_sqlite() {
    restart_while_delivering(switchboard_storage::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_while_delivering_postgres() {
    restart_while_delivering(switchboard_storage::Backend::Postgres).await;
}

/// A send holds one read connection at a time. Here every reader but one is busy and the
/// number's cached settings have expired (the cache keeps them 30 s): the send still goes
/// through. It used to load them on a second connection while holding the first; under load,
/// 16 sends did so at once each time the cache expired and every send in the process stalled
/// for the pool's 10 s timeout, then one was refused with 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_waits_for_no_second_connection() {
    let (t, clock) = TestServer::with_manual_clock().await;
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    clock.advance(switchboard_core::Millis::MINUTE);
    // The test server's SQLite has four readers.
    let mut busy = Vec::new();
    for _ in 0..3 {
        busy.push(t.app.db.read().await.unwrap());
    }
    let api = Api::new(&t, &acme.key);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let send = api.post(&path, json!({"type": "text", "text": "selam"}));
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(5), send)
        .await
        .expect("the send waited for a second read connection");
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    drop(busy);
    t.stop().await;
}

/// Free-form messages need the 24-hour window; templates do not but must exist, be approved and
/// get their parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_and_templates() {
    let (t, clock) = TestServer::with_manual_clock().await;
    let acme = t.tenant("Acme").await;
    let api = Api::new(&t, &acme.key);
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let send = |body: Value| api.post(&path, body);
    assert_eq!(send(json!({"type": "text", "text": "açık"})).await.0, StatusCode::ACCEPTED);

    clock.advance(25 * switchboard_core::Millis::HOUR);
    let (s, b) = send(json!({"type": "text", "text": "kapalı"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "window_closed"));
    let (_, conv) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(conv["window_open"], false);

    // Templates arrive by the sync job that connecting the number enqueued.
    t.eventually("templates synced", async || {
        api.get("/api/v1/templates").await.1["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let (s, b) = send(json!({"type": "template", "name": "nope", "language": "tr"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_template"));
    let (s, b) =
        send(json!({"type": "template", "name": "appointment_reminder", "language": "tr", "parameters": ["Ayşe"]}))
            .await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "template_parameters"));
    let (s, m) = send(json!({"type": "template", "name": "appointment_reminder", "language": "tr", "parameters": ["Ayşe", "yarın 10:00"]})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{m}");
    assert!(m["text"].as_str().unwrap().contains("Ayşe"));
    let id = m["id"].as_str().unwrap().to_owned();
    t.eventually("template delivered", async || {
        matches!(message(&t, &acme.key, &conversation, &id).await["status"].as_str(), Some("delivered" | "read"))
    })
    .await;
    // A template that is not approved is refused.
    let (_, created) = api
        .post("/api/v1/templates", json!({"channel_id": wa.channel_id, "name": "pending_one", "language": "tr", "category": "UTILITY", "components": [{"type": "BODY", "text": "Bekleyin"}]}))
        .await;
    assert_eq!(created["status"], "PENDING");
    let (s, b) = send(json!({"type": "template", "name": "pending_one", "language": "tr"})).await;
    if s == StatusCode::UNPROCESSABLE_ENTITY {
        assert_eq!(error_code(&b), "template_not_approved");
    }
    // The customer writes again (at the time the server's clock says): the window reopens.
    let now_secs = clock.now().0 / 1000;
    let w = wa
        .control()
        .inbound(&json!({"from": "905321112233", "type": "text", "text": "Tekrar", "timestamp": now_secs}))
        .unwrap();
    t.wait_for_wamid(acme.id, &wa, &w[0]).await;
    assert_eq!(send(json!({"type": "text", "text": "yine açık"})).await.0, StatusCode::ACCEPTED);
    t.stop().await;
}

/// Meta's errors: a throughput limit is retried, a closed window reported by webhook fails the
/// message with Meta's code, a refused token fails it and marks the number for reconnection.
async fn send_errors_are_mapped(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    let faults = |codes: Vec<(i64, bool)>| switchboard_simulator::Faults {
        fail_next: codes
            .into_iter()
            .map(|(code, asynchronous)| switchboard_simulator::ForcedError { code, asynchronous })
            .collect(),
        ..Default::default()
    };
    wa.control().set_faults(faults(vec![(130429, false)]));
    let (id, _) = send_text(t, &acme.key, &conversation, "yeniden denenir").await;
    t.eventually("retried and delivered", async || {
        matches!(message(t, &acme.key, &conversation, &id).await["status"].as_str(), Some("delivered" | "read"))
    })
    .await;

    wa.control().set_faults(faults(vec![(131047, true)]));
    let (id, _) = send_text(t, &acme.key, &conversation, "pencere").await;
    t.eventually("failed by webhook", async || message(t, &acme.key, &conversation, &id).await["status"] == "failed")
        .await;
    assert_eq!(message(t, &acme.key, &conversation, &id).await["error"]["code"], 131047);

    wa.control().set_faults(faults(vec![(190, false)]));
    let api = Api::new(t, &acme.key);
    let (_, m) = api
        .post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"type": "text", "text": "token"}))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    t.eventually("failed on the token", async || message(t, &acme.key, &conversation, &id).await["status"] == "failed")
        .await;
    assert_eq!(message(t, &acme.key, &conversation, &id).await["error"]["code"], 190);
    t.eventually("number needs reconnection", async || {
        api.get(&format!("/api/v1/channels/whatsapp/{}", wa.channel_id)).await.1["status"] == "needs_reconnection"
    })
    .await;
    let (s, b) =
        api.post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"type": "text", "text": "x"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::CONFLICT, "conflict"));
}
server_test!(send_errors_are_mapped);

/// Inbound media is fetched with the number's token, checked, sealed under the contact's key
/// and served back whole; the blob on disk does not contain the file.
async fn media_is_fetched_and_sealed(t: &TestServer) {
    use base64::Engine;
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let picture = b"\xff\xd8\xff\xe0JFIF-fake-jpeg-with-a-secret-inside".to_vec();
    let wamids = wa
        .control()
        .inbound(&json!({"from": "905321112233", "type": "image", "caption": "reçete",
            "media": {"mime_type": "image/jpeg", "data_base64": base64::engine::general_purpose::STANDARD.encode(&picture)}}))
        .unwrap();
    let (_, conversation, _) = t.wait_for_wamid(acme.id, &wa, &wamids[0]).await;
    let api = Api::new(t, &acme.key);
    let mut media_url = String::new();
    t.eventually("media stored", async || {
        let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages")).await;
        let m = &page["items"][0]["media"][0];
        media_url = m["url"].as_str().unwrap_or_default().to_owned();
        m["state"] == "stored"
    })
    .await;
    let res = reqwest::Client::new().get(t.url(&media_url)).bearer_auth(&acme.key).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture);
    t.assert_not_stored(&["secret-inside", "reçete", "905321112233"]).await;
    // Another tenant cannot fetch it.
    let other = t.tenant("Other").await;
    let res = reqwest::Client::new().get(t.url(&media_url)).bearer_auth(&other.key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
server_test!(media_is_fetched_and_sealed);

/// Open, pending and snoozed conversations are reused; a resolved one reopens (default) or a
/// new one starts (tenant setting).
async fn conversation_rules(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let api = Api::new(t, &acme.key);
    let wa = t.whatsapp(&acme.key).await;
    let (first, _) = t.customer_writes(acme.id, &wa, "905321112233", "bir").await;
    let until = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(2)).unwrap().to_string();
    let (s, c) = api
        .patch(&format!("/api/v1/conversations/{first}"), json!({"status": "snoozed", "snoozed_until": until}))
        .await;
    assert_eq!((s, c["status"].as_str()), (StatusCode::OK, Some("snoozed")));
    let (again, _) = t.customer_writes(acme.id, &wa, "905321112233", "iki").await;
    assert_eq!(again, first, "a snoozed conversation is reused");
    let (_, c) = api.get(&format!("/api/v1/conversations/{first}")).await;
    assert_eq!(c["status"], "open", "and wakes up");

    api.patch(&format!("/api/v1/conversations/{first}"), json!({"status": "resolved"})).await;
    let (reopened, _) = t.customer_writes(acme.id, &wa, "905321112233", "üç").await;
    assert_eq!(reopened, first, "a resolved conversation reopens by default");

    api.patch("/api/v1/settings", json!({"resolved_conversation_policy": "new"})).await;
    api.patch(&format!("/api/v1/conversations/{first}"), json!({"status": "resolved"})).await;
    let (fresh, _) = t.customer_writes(acme.id, &wa, "905321112233", "dört").await;
    assert_ne!(fresh, first, "with the `new` policy a new conversation starts");
    // Reopening the old one now would make two open conversations: refused.
    let (s, _) = api.patch(&format!("/api/v1/conversations/{first}"), json!({"status": "open"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Assign, label, filter.
    let agent = t.user(acme.id, switchboard_core::Role::Agent).await;
    let (s, c) =
        api.patch(&format!("/api/v1/conversations/{fresh}"), json!({"assignee_id": agent.id, "labels": ["vip"]})).await;
    assert_eq!((s, c["labels"].clone()), (StatusCode::OK, json!(["vip"])));
    let (_, mine) = api.get(&format!("/api/v1/conversations?assignee={}", agent.id)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, labelled) = api.get("/api/v1/conversations?label=vip&status=open").await;
    assert_eq!(labelled["items"][0]["id"], fresh.as_str());
    let (_, none) = api.get("/api/v1/conversations?assignee=none&status=open").await;
    assert!(none["items"].as_array().unwrap().iter().all(|c| c["id"] != fresh.as_str()));
}
server_test!(conversation_rules);

/// Message texts, names and numbers from WhatsApp are sealed at rest.
async fn whatsapp_data_is_sealed(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let wamids = wa
        .control()
        .inbound(
            &json!({"from": "905337778899", "name": "Fadime Gizli", "type": "text", "text": "kanser tedavim hakkında"}),
        )
        .unwrap();
    let (_, conversation, _) = t.wait_for_wamid(acme.id, &wa, &wamids[0]).await;
    let (id, _) = send_text(t, &acme.key, &conversation.to_string(), "randevunuz onaylandı").await;
    assert!(!id.is_empty());
    t.assert_not_stored(&["Fadime", "Gizli", "905337778899", "5337778899", "kanser", "randevunuz onaylandı"]).await;
}
server_test!(whatsapp_data_is_sealed);

/// One platform-wide Meta app: deliveries are routed by phone_number_id, across tenants.
async fn platform_webhook_routes_by_number(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa_a = t.whatsapp(&a.key).await;
    let wa_b = t.whatsapp(&b.key).await;
    let change = |wa: &Whatsapp, wamid: &str| {
        json!({"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "X"}, "wa_id": "905321112233"}],
        "messages": [{"from": "905321112233", "id": wamid, "timestamp": "1767225600", "type": "text", "text": {"body": "hi"}}]}})
    };
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [
        change(&wa_a, "wamid.PA"), change(&wa_b, "wamid.PB"),
        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "999"},
          "messages": [{"from": "905321112233", "id": "wamid.PC", "timestamp": "1767225600", "type": "text", "text": {"body": "nobody's"}}]}}]}]}))
    .unwrap();
    let sig = switchboard_channels::whatsapp::signature::sign(b"platform-secret", &body);
    let (s, _) = t.post_webhook("/webhooks/whatsapp", body, Some(sig)).await;
    assert_eq!(s, StatusCode::OK);
    t.wait_for_wamid(a.id, &wa_a, "wamid.PA").await;
    t.wait_for_wamid(b.id, &wa_b, "wamid.PB").await;
    assert_eq!(t.count(a.id, "messages", "").await, 1);
    assert_eq!(t.count(b.id, "messages", "").await, 1);
}
server_test!(
    platform_webhook_routes_by_number,
    switchboard_app::AppConfig {
        whatsapp: switchboard_app::config::WhatsAppConfig {
            platform_app_secret: Some("platform-secret".into()),
            ..switchboard_app::AppConfig::for_tests().whatsapp
        },
        ..switchboard_app::AppConfig::for_tests()
    }
);

/// A business writes first: it starts the conversation with a contact who never wrote, and
/// only an approved template goes out; a customer's reply lands in the same conversation.
async fn business_writes_first(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let other = t.tenant("Other").await;
    let api = Api::new(t, &acme.key);
    let wa = t.whatsapp(&acme.key).await;
    let (s, contact) = api.post("/api/v1/contacts", json!({"name": "Zeynep Kaya", "phone": "+905551112233"})).await;
    assert_eq!(s, StatusCode::CREATED, "{contact}");
    let start = json!({"channel_id": wa.channel_id, "contact_id": contact["id"]});
    let (s, conv) = api.post("/api/v1/conversations", start.clone()).await;
    assert_eq!(s, StatusCode::OK, "{conv}");
    assert_eq!(conv["window_open"], false);
    let id = conv["id"].as_str().unwrap().to_owned();
    assert_eq!(api.post("/api/v1/conversations", start.clone()).await.1["id"], id.as_str(), "found, not duplicated");
    // Another tenant can neither use this contact nor this number.
    assert_eq!(Api::new(t, &other.key).post("/api/v1/conversations", start).await.0, StatusCode::NOT_FOUND);

    let path = format!("/api/v1/conversations/{id}/messages");
    let (s, b) = api.post(&path, json!({"type": "text", "text": "Merhaba"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "window_closed"));
    t.eventually("templates synced", async || {
        api.get("/api/v1/templates").await.1["items"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let (s, m) = api
        .post(&path, json!({"type": "template", "name": "appointment_reminder", "language": "tr", "parameters": ["Zeynep", "yarın 10:00"]}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{m}");
    let msg = m["id"].as_str().unwrap().to_owned();
    t.eventually("template delivered", async || {
        matches!(message(t, &acme.key, &id, &msg).await["status"].as_str(), Some("delivered" | "read"))
    })
    .await;
    let (reply_conv, _) = t.customer_writes(acme.id, &wa, "905551112233", "Geleceğim").await;
    assert_eq!(reply_conv, id, "the reply joins the conversation the business started");
    assert_eq!(t.count(acme.id, "contacts", "").await, 1, "the reply found the contact by its number");
}
server_test!(business_writes_first);

/// A delivery that was acknowledged but failed processing is kept sealed and processed again
/// by the retry schedule; one that keeps failing keeps its body and counts its attempts.
async fn failed_deliveries_are_retried(t: &TestServer) {
    use switchboard_storage::webhook_events::{self, NewWebhookEvent};
    // The server's own retry schedule would race the retries counted below.
    crate::privacy::hold_named_schedules(t, &["whatsapp.failed_webhooks"]).await;
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let good = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Retry"}, "wa_id": "905321112233"}],
        "messages": [{"from": "905321112233", "id": "wamid.RETRY1", "timestamp": "1767225600", "type": "text", "text": {"body": "tekrar"}}]}}]}]}))
    .unwrap();
    let channel: uuid::Uuid = wa.channel_id.parse().unwrap();
    let mut ids = Vec::new();
    for body in [good, b"{\"object\": \"whatsapp_business_account\", \"entry\": [{".to_vec()] {
        let id = uuid::Uuid::now_v7();
        let mut tx = t.app.db.write().await.unwrap();
        let mut s = tx.tenant(acme.id);
        let aad = switchboard_privacy::Aad::new(acme.id, "webhook_events", "body", id);
        let sealed = t.app.keys.seal_tenant(&mut s, &aad, &body).await.unwrap();
        let event = NewWebhookEvent {
            id,
            channel_id: channel,
            received_at: 1_767_225_600_000,
            state: "failed",
            body_sealed: Some(sealed),
            messages: 0,
            statuses: 0,
            error: Some("simulated".into()),
        };
        webhook_events::insert(&mut s, &event).await.unwrap();
        tx.commit().await.unwrap();
        ids.push(id);
    }
    assert_eq!(t.app.retry_failed_webhooks(acme.id, 100).await.unwrap(), (1, 1));
    t.wait_for_wamid(acme.id, &wa, "wamid.RETRY1").await;
    assert_eq!(t.app.retry_failed_webhooks(acme.id, 100).await.unwrap(), (0, 1), "the good one is done");
    let mut conn = t.app.db.read().await.unwrap();
    let left = webhook_events::failed(&mut conn.tenant(acme.id), 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].id, left[0].attempts), (ids[1], 2));
    assert!(left[0].body_sealed.is_some(), "a failing delivery keeps its body");
    assert_eq!(
        t.count(acme.id, "webhook_events", "AND state = 'processed' AND body_sealed IS NULL AND messages = 1").await,
        1
    );
}
server_test!(failed_deliveries_are_retried);

/// Many messages in one delivery are stored together: duplicates inside it count once, a
/// reaction finds the message it follows in the same delivery, the conversation's unread count
/// and preview reflect all of them.
async fn one_delivery_many_messages(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let text = |id: &str, from: &str, ts: &str, body: &str| json!({"from": from, "id": id, "timestamp": ts, "type": "text", "text": {"body": body}});
    let messages = json!([
        text("wamid.B1", "905321112233", "1767225600", "birinci"),
        text("wamid.B2", "905321112233", "1767225660", "ikinci"),
        text("wamid.B1", "905321112233", "1767225600", "birinci"),
        {"from": "905321112233", "id": "wamid.B3", "timestamp": "1767225670", "type": "reaction", "reaction": {"message_id": "wamid.B2", "emoji": "👍"}},
        text("wamid.B4", "905447654321", "1767225680", "başka biri"),
    ]);
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "880000000000001", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Ayşe"}, "wa_id": "905321112233"}, {"profile": {"name": "Mehmet"}, "wa_id": "905447654321"}],
        "messages": messages}}]}]}))
    .unwrap();
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    assert_eq!(t.count(acme.id, "messages", "").await, 3, "B1 once, B2, B4; the reaction is not a message");
    assert_eq!(t.count(acme.id, "message_reactions", "").await, 1, "the reaction found B2 in the same delivery");
    assert_eq!(t.count(acme.id, "webhook_events", "AND messages = 3").await, 1);
    let (_, page) = Api::new(t, &acme.key).get("/api/v1/conversations").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let ayse = items.iter().find(|c| c["contact"]["name"] == "Ayşe").unwrap();
    assert_eq!(ayse["unread_count"], 2);
    assert_eq!(ayse["preview"]["text"], "ikinci", "the newest message is the preview");
    // Delivered again: nothing changes.
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    assert_eq!(t.count(acme.id, "messages", "").await, 3);
    let (_, again) = Api::new(t, &acme.key).get("/api/v1/conversations").await;
    let ayse = again["items"].as_array().unwrap().iter().find(|c| c["contact"]["name"] == "Ayşe").cloned().unwrap();
    assert_eq!(ayse["unread_count"], 2);
}
server_test!(one_delivery_many_messages);
