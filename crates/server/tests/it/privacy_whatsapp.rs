//! The privacy engine on real WhatsApp traffic (the simulator): opt-out keywords and Meta's
//! marketing preference from inbound webhooks, marketing consent checked at the moment of
//! sending, and verification codes delivered over WhatsApp.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::TenantId;

use crate::support::{Api, Tenant, TestServer, Whatsapp, error_code};

const CUSTOMER: &str = "905321112233";

/// A signed `messages` webhook with one text from `from`, as Meta sends it.
fn text_body(wa: &Whatsapp, from: &str, wamid: &str, text: &str) -> Vec<u8> {
    let ts = jiff::Timestamp::now().as_second().to_string();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": switchboard_simulator::SimConfig::default().waba_id, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Test Customer"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": ts, "type": "text", "text": {"body": text}}]}}]}]}))
    .unwrap()
}

/// Meta's `user_preferences` webhook (the shape of `pywa__updates__user_marketing_preferences`).
fn preference_body(wa: &Whatsapp, wa_id: &str, value: &str, ts: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": switchboard_simulator::SimConfig::default().waba_id, "changes": [{"field": "user_preferences", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": wa.phone_number_id},
        "contacts": [{"profile": {"name": "Test Name"}, "wa_id": wa_id}],
        "user_preferences": [{"wa_id": wa_id, "detail": "User requested", "category": "marketing_messages", "value": value, "timestamp": ts}]}}]}]}))
    .unwrap()
}

async fn sent_texts(wa: &Whatsapp) -> Vec<String> {
    let v: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"]["text"]["body"].as_str().map(str::to_owned))
        .collect()
}

async fn marketing_state(api: &Api<'_>, contact: &str) -> (String, String) {
    let (_, list) = api.get(&format!("/api/v1/contacts/{contact}/consents")).await;
    let m = list["items"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing").unwrap().clone();
    (m["state"].as_str().unwrap_or_default().to_owned(), m["source"].as_str().unwrap_or_default().to_owned())
}

async fn keyword_events(t: &TestServer, tenant: TenantId, source: &str) -> i64 {
    t.count(tenant, "consent_events", &format!("AND source = '{source}'")).await
}

/// Tenant Acme with a connected number and a first message from [`CUSTOMER`]:
/// (tenant, number, conversation id, contact id).
async fn acme_with_customer(t: &TestServer) -> (Tenant, Whatsapp, String, String) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, CUSTOMER, "Merhaba").await;
    let (_, conv) = Api::new(t, &acme.key).get(&format!("/api/v1/conversations/{conversation}")).await;
    let contact = conv["contact"]["id"].as_str().unwrap().to_owned();
    (acme, wa, conversation, contact)
}

/// STOP from the customer withdraws marketing and is answered once, even when Meta delivers
/// the webhook twice; sentences that contain a keyword are for a person; START resumes.
async fn keyword_from_whatsapp(t: &TestServer) {
    let (acme, wa, conversation, contact) = acme_with_customer(t).await;
    let api = Api::new(t, &acme.key);

    let body = text_body(&wa, CUSTOMER, "wamid.STOP-1", "STOP");
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK, "the replay is acknowledged");
    t.eventually("STOP withdrew marketing", async || marketing_state(&api, &contact).await.0 == "withdrawn").await;
    assert_eq!(marketing_state(&api, &contact).await.1, "keyword");
    t.eventually("the confirmation went out", async || sent_texts(&wa).await.len() == 1).await;
    // Replays do nothing more, and neither does the job running again.
    let message = t.wait_for_wamid(acme.id, &wa, "wamid.STOP-1").await.0;
    t.app.answer_keyword(acme.id, message).await.unwrap();
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(keyword_events(t, acme.id, "keyword").await, 1);
    assert_eq!(sent_texts(&wa).await.len(), 1);
    assert_eq!(t.count(acme.id, "jobs", "AND kind = 'privacy.inbound_keyword'").await, 1);

    // The documented policy: the message must be the keyword.
    for (i, text) in ["STOP please", "don't stop", "Stop."].iter().enumerate() {
        let wamid = format!("wamid.SENTENCE-{i}");
        assert_eq!(t.deliver(&wa, &text_body(&wa, CUSTOMER, &wamid, text)).await, StatusCode::OK);
        t.wait_for_wamid(acme.id, &wa, &wamid).await;
    }
    // "Stop." is the keyword again (punctuation dropped): a second event, a second reply.
    t.eventually("Stop. answered", async || sent_texts(&wa).await.len() == 2).await;
    assert_eq!(t.count(acme.id, "jobs", "AND kind = 'privacy.inbound_keyword'").await, 2);

    let body = text_body(&wa, CUSTOMER, "wamid.START-1", "başla");
    assert_eq!(t.deliver(&wa, &body).await, StatusCode::OK);
    t.eventually("BAŞLA granted marketing", async || marketing_state(&api, &contact).await.0 == "granted").await;
    t.eventually("the opt-in confirmation went out", async || sent_texts(&wa).await.len() == 3).await;
    // The replies are ordinary outbound messages of the conversation.
    let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await;
    let outbound = page["items"].as_array().unwrap().iter().filter(|m| m["direction"] == "outbound").count();
    assert_eq!(outbound, 3);
}

/// WhatsApp's own "stop marketing messages" switch, replayed, and resumed.
async fn meta_user_preferences(t: &TestServer) {
    let (acme, wa, _, contact) = acme_with_customer(t).await;
    let api = Api::new(t, &acme.key);
    let ts = jiff::Timestamp::now().as_second() - 5;
    let stop = preference_body(&wa, CUSTOMER, "stop", ts);
    assert_eq!(t.deliver(&wa, &stop).await, StatusCode::OK);
    assert_eq!(t.deliver(&wa, &stop).await, StatusCode::OK);
    assert_eq!(marketing_state(&api, &contact).await, ("withdrawn".to_owned(), "meta_preference".to_owned()));
    assert_eq!(keyword_events(t, acme.id, "meta_preference").await, 1, "a replay records nothing");
    // Meta confirms to the customer itself: nothing is sent.
    assert!(sent_texts(&wa).await.is_empty());
    // Signups and other categories are stored, not applied.
    let signup = preference_body(&wa, CUSTOMER, "signup", ts + 1);
    assert_eq!(t.deliver(&wa, &signup).await, StatusCode::OK);
    assert_eq!(keyword_events(t, acme.id, "meta_preference").await, 1);
    let resume = preference_body(&wa, CUSTOMER, "resume", ts + 2);
    assert_eq!(t.deliver(&wa, &resume).await, StatusCode::OK);
    assert_eq!(marketing_state(&api, &contact).await.0, "granted");
    // An opt-out from someone who never wrote makes a contact that keeps it.
    let stranger = preference_body(&wa, "905559998877", "stop", ts);
    assert_eq!(t.deliver(&wa, &stranger).await, StatusCode::OK);
    assert_eq!(keyword_events(t, acme.id, "meta_preference").await, 3);
}

async fn message_of(api: &Api<'_>, conversation: &str, id: &str) -> Value {
    let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await;
    page["items"].as_array().unwrap().iter().find(|m| m["id"] == id).cloned().unwrap_or(Value::Null)
}

/// A marketing template queued before the STOP is not sent after it; a restricted contact gets
/// no marketing either; the refusal is audited.
async fn marketing_checked_when_sending(t: &TestServer) {
    let (acme, wa, conversation, contact) = acme_with_customer(t).await;
    let api = Api::new(t, &acme.key);
    let client = reqwest::Client::new();
    client
        .post(format!("{}/_sim/templates", wa.sim.base_url))
        .json(&json!({"name": "spring_sale", "language": "tr", "category": "MARKETING", "body": "Bahar indirimi başladı!"}))
        .send()
        .await
        .unwrap();
    let (s, b) = api.post(&format!("/api/v1/channels/whatsapp/{}/templates/sync", wa.channel_id), json!({})).await;
    assert!(s.is_success(), "{b}");
    t.eventually("the marketing template synced", async || {
        api.get("/api/v1/templates").await.1["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t["name"] == "spring_sale"))
    })
    .await;
    let send = async || {
        let (s, m) = api
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                json!({"type": "template", "name": "spring_sale", "language": "tr"}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{m}");
        m["id"].as_str().unwrap().to_owned()
    };

    // No grant yet: refused at the moment of sending.
    let id = send().await;
    t.eventually("refused without consent", async || message_of(&api, &conversation, &id).await["status"] == "failed")
        .await;
    let m = message_of(&api, &conversation, &id).await;
    assert!(m.to_string().contains("no_marketing_consent"), "{m}");

    let (s, c) = api
        .post(
            &format!("/api/v1/contacts/{contact}/consents"),
            json!({"purpose": "marketing", "state": "granted", "legal_basis": "kvkk_explicit_consent", "source": "form", "evidence": {"form": "web-signup"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = send().await;
    t.eventually("sent with consent", async || {
        matches!(
            message_of(&api, &conversation, &id).await["status"].as_str(),
            Some("accepted" | "sent" | "delivered" | "read")
        )
    })
    .await;

    // Queued, held back by Meta's throughput limit; the customer says STOP meanwhile.
    wa.control().set_faults(switchboard_simulator::Faults {
        fail_next: vec![
            switchboard_simulator::ForcedError { code: 130_429, asynchronous: false },
            switchboard_simulator::ForcedError { code: 130_429, asynchronous: false },
        ],
        ..Default::default()
    });
    let held = send().await;
    t.eventually("the first attempt was throttled", async || {
        t.count(acme.id, "jobs", "AND queue = 'whatsapp.send' AND attempts >= 1 AND state = 'ready'").await >= 1
    })
    .await;
    assert_eq!(t.deliver(&wa, &text_body(&wa, CUSTOMER, "wamid.STOP-M", "DURDUR")).await, StatusCode::OK);
    t.eventually("DURDUR withdrew marketing", async || marketing_state(&api, &contact).await.0 == "withdrawn").await;
    for _ in 0..5 {
        if message_of(&api, &conversation, &held).await["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let m = message_of(&api, &conversation, &held).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert!(m.to_string().contains("no_marketing_consent") && m.to_string().contains("withdrawn"), "{m}");
    assert!(t.count(acme.id, "audit_log", "AND action = 'message.marketing_refused'").await >= 2);
    let spring = |v: &Value| v["body"]["template"]["name"] == "spring_sale";
    let sent: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
    assert_eq!(sent["messages"].as_array().unwrap().iter().filter(|v| spring(v)).count(), 1, "only the consented one");

    // Granted again, but restricted: still no marketing.
    api.post(
        &format!("/api/v1/contacts/{contact}/consents"),
        json!({"purpose": "marketing", "state": "granted", "legal_basis": "kvkk_explicit_consent"}),
    )
    .await;
    let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": "restriction"})).await;
    let rid = r["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("/api/v1/privacy/requests/{rid}/verify"),
        json!({"operator_attestation": "called back on file number"}),
    )
    .await;
    let (s, _) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let id = send().await;
    t.eventually("restricted: refused", async || message_of(&api, &conversation, &id).await["status"] == "failed")
        .await;
    assert!(message_of(&api, &conversation, &id).await.to_string().contains("restricted"));
}

/// The code reaches the customer over WhatsApp and verifies the request; the inbox shows it
/// masked; with no open window the request says so; another tenant sees nothing.
async fn verification_code_over_whatsapp(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let other = t.tenant("Other").await;
    let api = Api::new(t, &acme.key);
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, CUSTOMER, "Verilerimi istiyorum").await;
    let (_, conv) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    let contact = conv["contact"]["id"].as_str().unwrap().to_owned();
    let (s, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": "access"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_owned();
    let mut code = String::new();
    t.eventually("the code went out", async || {
        code = sent_texts(&wa)
            .await
            .iter()
            .find_map(|text| text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).map(str::to_owned))
            .unwrap_or_default();
        !code.is_empty()
    })
    .await;
    let path = format!("/api/v1/privacy/requests/{rid}");
    t.eventually("delivery recorded", async || {
        matches!(
            api.get(&path).await.1["code_delivery"]["status"].as_str(),
            Some("accepted" | "sent" | "delivered" | "read")
        )
    })
    .await;
    // The inbox shows the message with the code masked.
    let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await;
    let shown = page.to_string();
    assert!(!shown.contains(&code) && shown.contains("••••••"), "{shown}");
    // Another tenant: 404, whatever it asks.
    let foreign = Api::new(t, &other.key);
    assert_eq!(foreign.get(&path).await.0, StatusCode::NOT_FOUND);
    let (s, e) = foreign.post(&format!("{path}/verify"), json!({"code": code})).await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let (s, v) = api.post(&format!("{path}/verify"), json!({"code": code})).await;
    assert_eq!((s, v["status"].as_str(), v["verified_by"].as_str()), (StatusCode::OK, Some("verified"), Some("code")));

    // A contact who never wrote and has no number: nowhere to send, and the request says so.
    let failed = async |contact: &Value, reason: &str| {
        let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": "erasure"})).await;
        let path = format!("/api/v1/privacy/requests/{}", r["id"].as_str().unwrap());
        t.eventually("delivery failed", async || api.get(&path).await.1["code_delivery"]["status"] == "failed").await;
        assert_eq!(api.get(&path).await.1["code_delivery"]["reason"], reason);
    };
    let (_, nameless) = api.post("/api/v1/contacts", json!({"name": "Numarasız"})).await;
    failed(&nameless["id"], "no_conversation").await;
    // One with a phone: the connected number has no AUTHENTICATION template yet.
    let (s, c) = api.post("/api/v1/contacts", json!({"name": "Mehmet", "phone": "+905551112233"})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    failed(&c["id"], "no_authentication_template").await;

    // With an approved one, the code goes to the phone in that template, in a conversation
    // opened for it, masked in the inbox, and verifies the request.
    let (s, tpl) = api
        .post(
            "/api/v1/templates",
            json!({"channel_id": wa.channel_id, "name": "first_contact_code", "language": "tr",
                "category": "AUTHENTICATION", "components": [
                    {"type": "BODY", "text": "{{1}} doğrulama kodunuzdur.", "example": {"body_text": [["123456"]]}},
                    {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Kopyala"}]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{tpl}");
    t.eventually("template approved", async || {
        let (_, list) = api.get("/api/v1/templates").await;
        list["items"].as_array().unwrap().iter().any(|t| t["name"] == "first_contact_code" && t["status"] == "APPROVED")
    })
    .await;
    let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": c["id"], "type": "access"})).await;
    let path = format!("/api/v1/privacy/requests/{}", r["id"].as_str().unwrap());
    let mut sent = Value::Null;
    t.eventually("the code went out in the template", async || {
        let v: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
        sent = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["body"]["template"]["name"] == "first_contact_code")
            .map(|m| m["body"].clone())
            .unwrap_or_default();
        !sent.is_null()
    })
    .await;
    assert_eq!(sent["to"].as_str().map(|to| to.trim_start_matches('+')), Some("905551112233"), "{sent}");
    let code = sent["template"]["components"][0]["parameters"][0]["text"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6, "{sent}");
    t.eventually("delivery recorded", async || {
        matches!(
            api.get(&path).await.1["code_delivery"]["status"].as_str(),
            Some("accepted" | "sent" | "delivered" | "read")
        )
    })
    .await;
    assert_eq!(api.get(&path).await.1["code_delivery"]["template"], "first_contact_code");
    let (_, convs) = api.get(&format!("/api/v1/conversations?contact_id={}", c["id"].as_str().unwrap())).await;
    let opened = convs["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(convs["items"][0]["channel_id"].as_str(), Some(wa.channel_id.as_str()), "{convs}");
    let (_, page) = api.get(&format!("/api/v1/conversations/{opened}/messages?limit=200")).await;
    let shown = page.to_string();
    assert!(!shown.contains(&code) && shown.contains("•••••• doğrulama kodunuzdur."), "{shown}");
    let (s, v) = api.post(&format!("{path}/verify"), json!({"code": code})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("verified")), "{v}");
}

server_test!(keyword_from_whatsapp);
server_test!(meta_user_preferences);
server_test!(marketing_checked_when_sending);
server_test!(verification_code_over_whatsapp);
