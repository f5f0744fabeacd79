//! End-to-end tests of the simulator over real sockets, using the channels crate's client,
//! signature check and parser as Switchboard would.

#[cfg(test)]
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_channels::whatsapp::outbound::{Content, OutboundMessage};
use switchboard_channels::whatsapp::webhook::{ChangeValue, Interactive, MessageKind, StatusKind};
use switchboard_channels::whatsapp::{ErrorKind, MarkRead};
use switchboard_simulator::{Faults, PairRate};

use common::*;

const CUSTOMER: &str = "905321112233";

#[cfg(test)]
fn assert_meta_error(status: u16, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "{body}");
    let e = &body["error"];
    assert_eq!(e["code"], want_code, "{body}");
    assert_eq!(e["type"], "OAuthException");
    assert!(e["message"].as_str().unwrap().starts_with(&format!("(#{want_code}) ")), "{body}");
    assert!(e["fbtrace_id"].as_str().is_some());
    if want_code != 190 {
        assert_eq!(e["error_data"]["messaging_product"], "whatsapp");
        assert!(e["error_data"]["details"].as_str().is_some());
    }
}

#[tokio::test]
async fn send_bodies_are_validated_like_meta() {
    let h = Harness::start(|_| {}).await;
    let to = format!("+{CUSTOMER}");
    let mut no_product = text_to(&to, "hi");
    no_product.as_object_mut().unwrap().remove("messaging_product");
    let mut no_to = text_to(&to, "hi");
    no_to.as_object_mut().unwrap().remove("to");
    let buttons: Vec<Value> = (0..4)
        .map(|i| json!({ "type": "reply", "reply": { "id": format!("b{i}"), "title": format!("B{i}") } }))
        .collect();
    let cases = [
        no_product,
        no_to,
        text_to(&to, &"x".repeat(4097)),
        text_to(&to, ""),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "hologram" }),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "image", "image": {} }),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "image",
                "image": { "id": "1", "caption": "c".repeat(1025) } }),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "audio",
                "audio": { "id": "1", "caption": "no" } }),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "interactive",
                "interactive": { "type": "button", "body": { "text": "?" }, "action": { "buttons": buttons } } }),
        json!({ "messaging_product": "whatsapp", "to": to, "type": "reaction",
                "reaction": { "message_id": "wamid.X" } }),
        json!({ "messaging_product": "whatsapp", "to": "not-a-number", "type": "text", "text": { "body": "x" } }),
        json!({ "messaging_product": "sms", "to": to, "type": "text", "text": { "body": "x" } }),
    ];
    for body in &cases {
        let (status, answer) = h.send_raw(body).await;
        assert_meta_error(status, &answer, 400, 100);
    }
    // 4096 characters of a two-byte letter is within the limit.
    let (status, _) = h.send_raw(&text_to(&to, &"ş".repeat(4096))).await;
    assert_eq!(status, 200);

    let resp = h
        .http
        .post(format!("{}/v24.0/999/messages", h.sim.base_url))
        .bearer_auth(TOKEN)
        .json(&text_to(&to, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["error"]["error_subcode"], 33);

    let stats = h.sim.stats();
    assert_eq!(stats.sends.rejected.get(&100), Some(&(cases.len() as u64 + 1)));
    assert_eq!(stats.sends.accepted, 1);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn bad_or_missing_token_is_190_with_401() {
    let h = Harness::start(|_| {}).await;
    for token in [Some("wrong"), None] {
        let mut req =
            h.http.post(format!("{}/v24.0/{PHONE_ID}/messages", h.sim.base_url)).json(&text_to("+905321112233", "x"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.headers().contains_key("www-authenticate"));
        let status = resp.status().as_u16();
        assert_meta_error(status, &resp.json().await.unwrap(), 401, 190);
    }
    let err = h.graph(Duration::from_secs(5)).phone_number_info("wrong", PHONE_ID).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn outside_the_window_a_send_is_accepted_then_fails_131047() {
    let h = Harness::start(|_| {}).await;
    let graph = h.graph(Duration::from_secs(5));
    let msg = |tag: &str| OutboundMessage {
        to: format!("+{CUSTOMER}"),
        reply_to: None,
        biz_opaque_callback_data: Some(tag.into()),
        content: Content::Text { body: "Merhaba".into(), preview_url: false },
    };
    let cold = graph.send_message(TOKEN, PHONE_ID, &msg("cold")).await.unwrap();
    assert!(cold.wamid.starts_with("wamid."));
    assert_eq!(cold.wa_id.as_deref(), Some(CUSTOMER));
    assert_eq!(cold.message_status, None);
    assert!(eventually(5, || !h.receiver.statuses_of(&cold.wamid).is_empty()).await);
    let failed = h.receiver.statuses_of(&cold.wamid);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, StatusKind::Failed);
    assert_eq!(failed[0].errors[0].code, 131047);
    assert_eq!(failed[0].errors[0].kind(), Some(ErrorKind::WindowClosed));
    assert_eq!(failed[0].biz_opaque_callback_data.as_deref(), Some("cold"));

    h.customer_says(CUSTOMER, "Merhaba").await;
    let warm = graph.send_message(TOKEN, PHONE_ID, &msg("warm")).await.unwrap();
    assert!(eventually(5, || h.receiver.statuses_of(&warm.wamid).len() == 3).await);
    let ladder = h.receiver.statuses_of(&warm.wamid);
    let kinds: Vec<_> = ladder.iter().map(|s| s.status.clone()).collect();
    assert_eq!(kinds, [StatusKind::Sent, StatusKind::Delivered, StatusKind::Read]);
    for s in &ladder {
        assert_eq!(s.biz_opaque_callback_data.as_deref(), Some("warm"));
        assert_eq!(s.recipient_id.as_deref(), Some(CUSTOMER));
        assert!(s.timestamp > 1_700_000_000);
    }
    let pricing = ladder[0].pricing.as_ref().unwrap();
    assert_eq!(pricing["category"], "service");
    assert_eq!(pricing["type"], "free_customer_service");
    assert!(ladder[0].conversation.as_ref().unwrap()["expiration_timestamp"].is_string());
    assert!(ladder[2].pricing.is_none());

    // A stale inbound message (25 hours ago) does not open the window.
    let other = "905329998877";
    h.control(
        "inbound",
        &json!({ "from": other, "type": "text", "text": "old", "timestamp": json!(now_secs() - 25 * 3600) }),
    )
    .await;
    let (status, answer) = h.send_raw(&text_to(&format!("+{other}"), "late")).await;
    assert_eq!(status, 200);
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(eventually(5, || !h.receiver.statuses_of(&wamid).is_empty()).await);
    assert_eq!(h.receiver.statuses_of(&wamid)[0].errors[0].code, 131047);
    h.sim.shutdown().await;
}

#[cfg(test)]
fn now_secs() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

#[tokio::test]
async fn templates_are_checked_synchronously() {
    let h = Harness::start(|_| {}).await;
    let to = format!("+{CUSTOMER}");
    // Approved templates go out without an open window.
    let (status, answer) = h.send_raw(&template_to(&to, "appointment_reminder", "tr", &["Ayşe", "6 Ocak"])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["messages"][0]["message_status"], "accepted");
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(eventually(5, || h.receiver.statuses_of(&wamid).len() == 3).await);
    let pricing = h.receiver.statuses_of(&wamid)[0].pricing.clone().unwrap();
    assert_eq!(pricing["category"], "utility");
    assert_eq!(pricing["billable"], true);

    let (status, answer) = h.send_raw(&template_to(&to, "no_such", "en_US", &[])).await;
    assert_meta_error(status, &answer, 400, 132001);
    let (status, answer) = h.send_raw(&template_to(&to, "hello_world", "tr", &[])).await;
    assert_meta_error(status, &answer, 400, 132001);
    let (status, answer) = h.send_raw(&template_to(&to, "appointment_reminder", "tr", &["only one"])).await;
    assert_meta_error(status, &answer, 400, 132000);
    let (status, _) = h.send_raw(&template_to(&to, "hello_world", "en_US", &[])).await;
    assert_eq!(status, 200);

    h.control(
        "templates",
        &json!({ "name": "paused_one", "language": "en_US", "status": "PAUSED", "body": "Hi {{1}}" }),
    )
    .await;
    let (status, answer) = h.send_raw(&template_to(&to, "paused_one", "en_US", &["x"])).await;
    assert_meta_error(status, &answer, 400, 132015);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn throughput_limit_gives_130429() {
    let h = Harness::start(|c| c.throughput_per_sec = 3).await;
    let mut codes = Vec::new();
    for i in 0..6 {
        let (status, answer) = h.send_raw(&template_to(&format!("+90532111{i:04}"), "hello_world", "en_US", &[])).await;
        codes.push(if status == 200 {
            0
        } else {
            assert_meta_error(status, &answer, 400, 130429);
            130429
        });
    }
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 3, "{codes:?}");
    let graph = h.graph(Duration::from_secs(5));
    let err = graph
        .send_message(
            TOKEN,
            PHONE_ID,
            &OutboundMessage {
                to: "+905321110000".into(),
                reply_to: None,
                biz_opaque_callback_data: None,
                content: Content::Template { name: "hello_world".into(), language: "en_US".into(), components: vec![] },
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.code, Some(130429));
    h.sim.shutdown().await;
}

#[tokio::test]
async fn pair_rate_gives_131056_for_that_recipient_only() {
    let h = Harness::start(|c| {
        c.pair_rate = PairRate { burst: 2, window_ms: 60_000 };
    })
    .await;
    let send = |to: &str| template_to(to, "hello_world", "en_US", &[]);
    assert_eq!(h.send_raw(&send("+905321112233")).await.0, 200);
    assert_eq!(h.send_raw(&send("+905321112233")).await.0, 200);
    let (status, answer) = h.send_raw(&send("+905321112233")).await;
    assert_meta_error(status, &answer, 400, 131056);
    assert_eq!(h.send_raw(&send("+905320000000")).await.0, 200);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn media_round_trip() {
    let h = Harness::start(|_| {}).await;
    let graph = h.graph(Duration::from_secs(5));
    let data = Bytes::from_static(b"\x89PNG fake image bytes");
    let id = graph.upload_media(TOKEN, PHONE_ID, "image/png", "photo.png", data.clone()).await.unwrap();
    let info = graph.get_media(TOKEN, &id).await.unwrap();
    assert_eq!(info.mime_type.as_deref(), Some("image/png"));
    assert_eq!(info.file_size, Some(data.len() as u64));
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data));
    assert_eq!(info.sha256.as_deref(), Some(sha.as_str()));
    assert!(info.url.starts_with(&h.sim.base_url));
    let bytes = graph.download_media(TOKEN, &info.url, 1_000).await.unwrap();
    assert_eq!(bytes, data);
    let denied = graph.download_media("wrong", &info.url, 1_000).await.unwrap_err();
    assert_eq!(denied.kind, ErrorKind::Auth);
    let forged = format!("{}?token=forged", info.url.split('?').next().unwrap());
    let missing = graph.download_media(TOKEN, &forged, 1_000).await.unwrap_err();
    assert_eq!(missing.http_status, Some(404));

    let unsupported =
        graph.upload_media(TOKEN, PHONE_ID, "application/x-msdownload", "a.exe", data.clone()).await.unwrap_err();
    assert_eq!(unsupported.code, Some(131053));

    graph.delete_media(TOKEN, &id).await.unwrap();
    assert!(graph.get_media(TOKEN, &id).await.is_err());

    // Inbound media from a customer is retrievable the same way.
    let payload = base64::engine::general_purpose::STANDARD.encode(b"JPEGDATA");
    h.control(
        "inbound",
        &json!({ "from": CUSTOMER, "type": "image", "caption": "bu mu?",
                 "media": { "mime_type": "image/jpeg", "data_base64": payload } }),
    )
    .await;
    assert!(eventually(5, || !h.receiver.accepted().is_empty()).await);
    let note = &h.receiver.accepted()[0];
    let ChangeValue::Messages(v) = &note.entry[0].changes[0].value else { panic!() };
    let MessageKind::Image(media) = &v.messages[0].kind else { panic!() };
    assert_eq!(media.caption.as_deref(), Some("bu mu?"));
    let info = graph.get_media(TOKEN, &media.id).await.unwrap();
    assert_eq!(info.sha256, media.sha256);
    let bytes = graph.download_media(TOKEN, &info.url, 1_000).await.unwrap();
    assert_eq!(&bytes[..], b"JPEGDATA");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn created_templates_are_reviewed_by_webhook_and_listed() {
    let h = Harness::start(|_| {}).await;
    let graph = h.graph(Duration::from_secs(5));
    let body = |name: &str| {
        json!({ "name": name, "language": "en_US", "category": "UTILITY",
                "components": [{ "type": "BODY", "text": "Hi {{1}}", "example": { "body_text": [["Ana"]] } }] })
    };
    let created = graph.create_template(TOKEN, WABA_ID, &body("welcome_back")).await.unwrap();
    assert_eq!(created.status.as_deref(), Some("PENDING"));
    assert_eq!(created.category.as_deref(), Some("UTILITY"));
    let rejected = graph.create_template(TOKEN, WABA_ID, &body("please_reject_me")).await.unwrap();
    let dup = graph.create_template(TOKEN, WABA_ID, &body("welcome_back")).await.unwrap_err();
    assert_eq!(dup.code, Some(100));

    let events = || {
        h.receiver
            .accepted()
            .into_iter()
            .flat_map(|n| n.entry)
            .flat_map(|e| e.changes)
            .filter_map(|c| match c.value {
                ChangeValue::TemplateStatus(t) => Some(t),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(eventually(5, || events().len() == 2).await);
    let events = events();
    let approved = events.iter().find(|e| e.message_template_id == created.id).unwrap();
    assert_eq!(approved.event, "APPROVED");
    assert_eq!(approved.name.as_deref(), Some("welcome_back"));
    let refused = events.iter().find(|e| e.message_template_id == rejected.id).unwrap();
    assert_eq!(refused.event, "REJECTED");
    assert_eq!(refused.reason.as_deref(), Some("INVALID_FORMAT"));

    let (status, _) = h.send_raw(&template_to("+905321112233", "welcome_back", "en_US", &["Ana"])).await;
    assert_eq!(status, 200);

    // 3 seeded + 2 created, listed across pages of 2.
    let all = graph.list_templates(TOKEN, WABA_ID).await.unwrap();
    assert_eq!(all.len(), 5);
    let mut names = Vec::new();
    let mut url = format!("{}/v24.0/{WABA_ID}/message_templates?limit=2", h.sim.base_url);
    loop {
        let page: Value = h.http.get(&url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        names.extend(page["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(names.len(), 5, "{names:?}");

    graph.delete_template(TOKEN, WABA_ID, "welcome_back").await.unwrap();
    assert_eq!(graph.list_templates(TOKEN, WABA_ID).await.unwrap().len(), 4);
    let gone = graph.delete_template(TOKEN, WABA_ID, "welcome_back").await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::InvalidRequest);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn inbound_webhook_is_signed_escaped_and_parses() {
    let h = Harness::start(|_| {}).await;
    let wamid = h.customer_says(CUSTOMER, "Merhaba 👍 çok güzel").await;
    assert!(eventually(5, || !h.receiver.posts().is_empty()).await);
    let post = &h.receiver.posts()[0];
    assert_eq!(post.content_type.as_deref(), Some("application/json"));
    let raw = std::str::from_utf8(&post.body).unwrap();
    assert!(raw.is_ascii(), "{raw}");
    assert!(raw.contains(r#""name":"Ay\u015fe""#), "{raw}");
    assert!(raw.contains(r"Merhaba \ud83d\udc4d \u00e7ok g\u00fczel"), "{raw}");
    assert_eq!(
        switchboard_channels::whatsapp::signature::verify(SECRET.as_bytes(), post.signature.as_deref(), &post.body),
        Ok(())
    );

    let note = &h.receiver.accepted()[0];
    assert_eq!(note.object, "whatsapp_business_account");
    assert_eq!(note.entry[0].id, WABA_ID);
    let ChangeValue::Messages(v) = &note.entry[0].changes[0].value else { panic!() };
    assert_eq!(v.metadata.phone_number_id, PHONE_ID);
    assert_eq!(v.metadata.display_phone_number, "15550001111");
    assert_eq!(v.contacts[0].name(), Some("Ayşe"));
    assert_eq!(v.contacts[0].wa_id.as_deref(), Some(CUSTOMER));
    let m = &v.messages[0];
    assert_eq!(m.id, wamid);
    assert_eq!(m.from.as_deref(), Some(CUSTOMER));
    assert_eq!(m.kind, MessageKind::Text { body: "Merhaba 👍 çok güzel".into() });
    assert!(m.raw["timestamp"].is_string());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn every_inbound_type_arrives_as_meta_would_send_it() {
    let h = Harness::start(|_| {}).await;
    let requests = [
        json!({ "type": "text", "text": "reply", "context": "wamid.OUT1" }),
        json!({ "type": "image", "caption": "pic" }),
        json!({ "type": "video" }),
        json!({ "type": "audio", "voice": true }),
        json!({ "type": "document", "filename": "fatura.pdf" }),
        json!({ "type": "sticker", "animated": true }),
        json!({ "type": "location", "latitude": 41.0082, "longitude": 28.9784, "name": "Sultanahmet" }),
        json!({ "type": "contacts", "contacts": [{ "name": { "formatted_name": "Ali Veli" } }] }),
        json!({ "type": "interactive", "button_reply": { "id": "yes", "title": "Evet" }, "context": "wamid.OUT2" }),
        json!({ "type": "interactive", "list_reply": { "id": "r1", "title": "09:30", "description": "Salı" } }),
        json!({ "type": "button", "text": "Onayla", "payload": "appt:1:confirm" }),
        json!({ "type": "reaction", "message_id": "wamid.OUT3", "emoji": "❤️" }),
        json!({ "type": "reaction", "message_id": "wamid.OUT3" }),
        json!({ "type": "order", "order": { "catalog_id": "1", "product_items": [{ "product_retailer_id": "sku", "quantity": 2, "item_price": 9.5, "currency": "TRY" }] } }),
        json!({ "type": "system", "new_wa_id": "905320000001" }),
        json!({ "type": "unsupported", "unsupported_type": "poll_creation" }),
        json!({ "type": "request_welcome" }),
        json!({ "type": "text", "text": "ad", "referral": { "source_type": "ad", "ctwa_clid": "clid" } }),
        json!({ "raw_message": { "from": CUSTOMER, "id": "wamid.RAW1", "type": "revoke", "revoke": { "original_message_id": "wamid.X" } } }),
    ];
    for mut r in requests.clone() {
        if r.get("raw_message").is_none() {
            r["from"] = json!(CUSTOMER);
        }
        h.control("inbound", &r).await;
    }
    assert!(eventually(5, || h.receiver.accepted().len() == requests.len()).await);
    let mut kinds = Vec::new();
    for note in h.receiver.accepted() {
        let ChangeValue::Messages(v) = &note.entry[0].changes[0].value else { panic!() };
        let m = &v.messages[0];
        if matches!(m.kind, MessageKind::System { .. }) {
            assert!(v.contacts.is_empty(), "system messages carry no contact");
        }
        kinds.push((m.kind.clone(), m.context.clone(), m.referral.clone(), m.errors.clone()));
    }
    let find = |pred: &dyn Fn(&MessageKind) -> bool| kinds.iter().find(|k| pred(&k.0)).cloned().unwrap();
    let reply = find(&|k| matches!(k, MessageKind::Text { body } if body == "reply"));
    assert_eq!(reply.1.unwrap().id.as_deref(), Some("wamid.OUT1"));
    let ad = find(&|k| matches!(k, MessageKind::Text { body } if body == "ad"));
    assert_eq!(ad.2.unwrap()["ctwa_clid"], "clid");
    assert!(matches!(find(&|k| matches!(k, MessageKind::Audio(_))).0, MessageKind::Audio(m) if m.voice == Some(true)));
    assert!(
        matches!(find(&|k| matches!(k, MessageKind::Document(_))).0, MessageKind::Document(m) if m.filename.as_deref() == Some("fatura.pdf"))
    );
    assert!(
        matches!(find(&|k| matches!(k, MessageKind::Sticker(_))).0, MessageKind::Sticker(m) if m.animated == Some(true))
    );
    assert!(matches!(find(&|k| matches!(k, MessageKind::Video(_))).0, MessageKind::Video(_)));
    assert!(
        matches!(find(&|k| matches!(k, MessageKind::Location(_))).0, MessageKind::Location(l) if l.name.as_deref() == Some("Sultanahmet"))
    );
    assert!(matches!(find(&|k| matches!(k, MessageKind::Contacts(_))).0, MessageKind::Contacts(c) if c.len() == 1));
    let button = find(&|k| matches!(k, MessageKind::Interactive(Interactive::ButtonReply { .. })));
    assert_eq!(button.1.unwrap().id.as_deref(), Some("wamid.OUT2"));
    find(&|k| matches!(k, MessageKind::Interactive(Interactive::ListReply { description: Some(_), .. })));
    find(&|k| matches!(k, MessageKind::Button { payload: Some(p), .. } if p == "appt:1:confirm"));
    find(&|k| matches!(k, MessageKind::Reaction { emoji: Some(e), .. } if e == "❤️"));
    find(&|k| matches!(k, MessageKind::Reaction { emoji: None, .. }));
    find(&|k| matches!(k, MessageKind::Order(o) if o.product_items[0].quantity == 2));
    find(&|k| matches!(k, MessageKind::System { wa_id: Some(w), .. } if w == "905320000001"));
    let unsupported = find(&|k| matches!(k, MessageKind::Unsupported { kind: Some(t) } if t == "poll_creation"));
    assert_eq!(unsupported.3[0].code, 131051);
    find(&|k| matches!(k, MessageKind::RequestWelcome));
    find(&|k| matches!(k, MessageKind::Revoke { .. }));
    find(&|k| matches!(k, MessageKind::Image(m) if m.caption.as_deref() == Some("pic")));

    // count + batch: several messages in one POST, all distinct.
    let before = h.receiver.posts().len();
    let answer = h.control("inbound", &json!({ "from": CUSTOMER, "text": "çoklu", "count": 3, "batch": true })).await;
    let wamids = answer["wamids"].as_array().unwrap();
    assert_eq!(wamids.len(), 3);
    assert!(eventually(5, || h.receiver.posts().len() == before + 1).await);
    let last = h.receiver.accepted().pop().unwrap();
    let ChangeValue::Messages(v) = &last.entry[0].changes[0].value else { panic!() };
    let ids: Vec<_> = v.messages.iter().map(|m| json!(m.id)).collect();
    assert_eq!(&ids, wamids);

    let bad = h
        .http
        .post(format!("{}/_sim/inbound", h.sim.base_url))
        .json(&json!({ "type": "text", "text": "no sender" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_200() {
    let h = Harness::start(|_| {}).await;
    h.receiver.script.lock().unwrap().extend([500, 503]);
    h.customer_says(CUSTOMER, "retry me").await;
    assert!(eventually(5, || h.receiver.posts().len() == 3).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let posts = h.receiver.posts();
    assert_eq!(posts.len(), 3, "no delivery after the 200");
    let answered: Vec<_> = posts.iter().map(|p| p.answered).collect();
    assert_eq!(answered, [500, 503, 200]);
    assert!(posts.iter().all(|p| p.body == posts[0].body && p.signature == posts[0].signature));
    assert_eq!(h.receiver.accepted().len(), 1, "handled exactly once");

    let log = h.get("deliveries").await;
    let d = &log["deliveries"][0];
    assert_eq!(d["state"], "delivered");
    assert_eq!(d["kind"], "messages");
    let statuses: Vec<_> = d["attempts"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(503), json!(200)]);
    assert_eq!(d["body"].as_str().unwrap().as_bytes(), posts[0].body.as_slice());
    assert_eq!(log["totals"]["delivered"], 1);
    assert_eq!(log["totals"]["failed_attempts"], 2);
    assert_eq!(log["registrations"][0]["registered"], true);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn retries_stop_at_the_maximum_age() {
    let h = Harness::start(|c| {
        c.retry_schedule_ms = vec![0, 20];
        c.max_retry_age_ms = 100;
    })
    .await;
    h.receiver.script.lock().unwrap().extend([500; 100]);
    h.customer_says(CUSTOMER, "never").await;
    assert!(eventually(5, || h.sim.stats().webhooks.abandoned == 1).await);
    let n = h.receiver.posts().len();
    assert!((3..=6).contains(&n), "{n} attempts");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn nothing_is_posted_until_the_handshake_succeeds() {
    let h = Harness::start(|_| {}).await;
    *h.receiver.expected_token.lock().unwrap() = "another-token".into();
    let outcome = h.sim.register().await;
    assert!(!outcome.registered);
    assert_eq!(outcome.status, Some(403));
    h.customer_says(CUSTOMER, "hello?").await;
    assert!(eventually(5, || h.sim.stats().webhooks.failed_attempts >= 1).await);
    assert!(h.receiver.posts().is_empty());
    let log = h.get("deliveries").await;
    assert!(log["deliveries"][0]["attempts"][0]["error"].as_str().unwrap().contains("not verified"));

    *h.receiver.expected_token.lock().unwrap() = VERIFY.into();
    let outcome = h.control("register", &json!({})).await;
    assert_eq!(outcome["registered"], true);
    assert_eq!(outcome["challenge_echoed"], true);
    assert!(eventually(5, || h.receiver.accepted().len() == 1).await);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn dropped_responses_are_ambiguous_but_the_send_happened() {
    let h = Harness::start(|_| {}).await;
    h.customer_says(CUSTOMER, "hi").await;
    h.sim.set_faults(Faults { drop_response_rate: 1.0, ..Faults::default() });
    let graph = h.graph(Duration::from_millis(300));
    let msg = OutboundMessage {
        to: format!("+{CUSTOMER}"),
        reply_to: None,
        biz_opaque_callback_data: Some("crm-42".into()),
        content: Content::Text { body: "did it go?".into(), preview_url: false },
    };
    let err = graph.send_message(TOKEN, PHONE_ID, &msg).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Ambiguous, "{err}");
    let stats = h.sim.stats();
    assert_eq!(stats.sends.accepted, 1);
    assert_eq!(stats.sends.dropped_responses, 1);
    // The status webhooks reveal the outcome, correlated by callback data.
    assert!(
        eventually(5, || h.receiver.statuses().iter().any(|s| s.biz_opaque_callback_data.as_deref() == Some("crm-42")))
            .await
    );

    h.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let err = graph.send_message(TOKEN, PHONE_ID, &msg).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, Some(131016));
    assert_eq!(h.sim.stats().sends.accepted, 1);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn forced_errors_latency_and_counters() {
    let h = Harness::start(|_| {}).await;
    h.customer_says(CUSTOMER, "hi").await;
    h.control(
        "faults",
        &json!({ "latency_ms": 100, "fail_next": [{ "code": 131048 }, { "code": 131026, "async": true }] }),
    )
    .await;
    let to = format!("+{CUSTOMER}");
    let started = Instant::now();
    let (status, answer) = h.send_raw(&text_to(&to, "one")).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_meta_error(status, &answer, 400, 131048);
    let (status, answer) = h.send_raw(&text_to(&to, "two")).await;
    assert_eq!(status, 200);
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(eventually(5, || !h.receiver.statuses_of(&wamid).is_empty()).await);
    assert_eq!(h.receiver.statuses_of(&wamid)[0].errors[0].code, 131026);
    h.control("faults", &json!({})).await;

    let mut tagged = text_to(&to, "three");
    tagged["biz_opaque_callback_data"] = json!("same");
    assert_eq!(h.send_raw(&tagged).await.0, 200);
    assert_eq!(h.send_raw(&tagged).await.0, 200);
    let read = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN" });
    let (status, answer) = h.send_raw(&read).await;
    assert_eq!((status, answer), (200, json!({ "success": true })));
    h.graph(Duration::from_secs(5))
        .mark_read(TOKEN, PHONE_ID, &MarkRead { message_id: "wamid.IN".into(), typing: true })
        .await
        .unwrap();

    let sent = h.get("sent?since=1&limit=10").await;
    let counters = &sent["counters"];
    assert_eq!(counters["accepted"], 3);
    assert_eq!(counters["duplicates"], 1);
    assert_eq!(counters["marked_read"], 2);
    assert_eq!(counters["rejected"]["131048"], 1);
    assert_eq!(counters["failed"]["131026"], 1);
    assert_eq!(counters["inbound"], 1);
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["seq"], 1);
    assert_eq!(messages[0]["to"], CUSTOMER);
    assert_eq!(messages[0]["type"], "text");
    assert_eq!(messages[0]["body"]["text"]["body"], "three");
    assert_eq!(sent["next_since"], 3);
    let cleared = h.get("sent?clear=true").await;
    assert_eq!(cleared["messages"].as_array().unwrap().len(), 3);
    assert_eq!(h.get("sent").await["messages"].as_array().unwrap().len(), 0);

    let config = h.control("config", &json!({ "throughput_per_sec": 1000, "emit_read": false })).await;
    assert_eq!(config["throughput_per_sec"], 1000);
    let info = h.graph(Duration::from_secs(5)).phone_number_info(TOKEN, PHONE_ID).await.unwrap();
    assert_eq!(info["quality_rating"], "GREEN");
    assert_eq!(info["throughput"]["level"], "HIGH");
    assert_eq!(info["display_phone_number"], "15550001111");
    assert!(info.get("status").is_none(), "only the requested fields");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn raw_webhooks_reach_the_receiver() {
    let h = Harness::start(|_| {}).await;
    h.control(
        "webhook",
        &json!({ "field": "phone_number_quality_update",
                 "value": { "display_phone_number": "15550001111", "event": "THROUGHPUT_UPGRADE",
                            "max_daily_conversations_per_business": "TIER_UNLIMITED" } }),
    )
    .await;
    assert!(eventually(5, || h.receiver.accepted().len() == 1).await);
    let note = &h.receiver.accepted()[0];
    assert!(note.entry[0].time.is_some());
    let ChangeValue::PhoneNumberQuality(q) = &note.entry[0].changes[0].value else { panic!() };
    assert_eq!(q.event, "THROUGHPUT_UPGRADE");
    h.sim.shutdown().await;
}

/// Many concurrent sends: every one accepted, every status delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_all_get_their_statuses() {
    let h = Harness::start(|c| {
        c.throughput_per_sec = 0;
        c.emit_read = false;
    })
    .await;
    let graph = h.graph(Duration::from_secs(10));
    let n = 300;
    let sends = (0..n).map(|i| {
        let graph = graph.clone();
        async move {
            graph
                .send_message(
                    TOKEN,
                    PHONE_ID,
                    &OutboundMessage {
                        to: format!("+90532{i:07}"),
                        reply_to: None,
                        biz_opaque_callback_data: Some(format!("m{i}")),
                        content: Content::Template {
                            name: "order_update".into(),
                            language: "en_US".into(),
                            components: vec![
                                json!({ "type": "body", "parameters": [{ "type": "text", "text": "#1" }] }),
                            ],
                        },
                    },
                )
                .await
        }
    });
    let results = futures_join_all(sends).await;
    assert!(results.iter().all(Result::is_ok));
    assert!(eventually(20, || h.sim.stats().webhooks.delivered == 2 * n).await, "{:?}", h.sim.stats());
    assert_eq!(h.sim.stats().sends.accepted, n);
    h.sim.shutdown().await;
}

#[cfg(test)]
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The benchmark shape: 1,000 sends per second. `cargo test --release -- --ignored` to run;
/// set SIM_BENCH_SENDS (default 10,000; the full benchmark is 100,000).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: slow"]
async fn sustains_1000_sends_per_second() {
    let total: u64 = std::env::var("SIM_BENCH_SENDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let h = Harness::start(|c| {
        c.throughput_per_sec = 1_000;
        c.pair_rate = PairRate { burst: 0, window_ms: 0 };
        c.emit_read = false;
    })
    .await;
    let graph = h.graph(Duration::from_secs(10));
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut handles = Vec::new();
    for batch in 0..total / 10 {
        tick.tick().await;
        for i in 0..10 {
            let graph = graph.clone();
            let n = batch * 10 + i;
            handles.push(tokio::spawn(async move {
                graph
                    .send_message(
                        TOKEN,
                        PHONE_ID,
                        &OutboundMessage {
                            to: format!("+9053{n:08}"),
                            reply_to: None,
                            biz_opaque_callback_data: None,
                            content: Content::Template {
                                name: "hello_world".into(),
                                language: "en_US".into(),
                                components: vec![],
                            },
                        },
                    )
                    .await
            }));
        }
    }
    let mut failures = 0;
    for handle in handles {
        if handle.await.unwrap().is_err() {
            failures += 1;
        }
    }
    let elapsed = started.elapsed();
    eprintln!("{total} sends in {elapsed:?}, {failures} refused; stats {:?}", h.sim.stats());
    assert!(failures * 100 <= total, "more than 1% refused");
    h.sim.shutdown().await;
}
