//! The privacy engine end to end, on both engines: consents and keywords, data-subject
//! requests (isolation, verification, lockout, expiry), export bundles, erasure with and
//! without legal holds, retention across the boundary with batching and resume, and tenant
//! deletion.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_app::clock::ManualClock;
use switchboard_app::privacy::consent::{self, InboundRef, MetaPreference};
use switchboard_core::optout::{InboundText, KeywordAction};
use switchboard_core::privacy::Refusal;
use switchboard_core::{ContactId, Millis, TenantId};
use switchboard_storage::Ex;
use switchboard_storage::privacy::transfers;

use crate::support::{Api, TestServer, error_code};

/// 2026-01-01T00:00:00Z.
pub const START: i64 = 1_767_225_600_000;
const DAY: i64 = Millis::DAY;

/// Declares `name::sqlite` and `name::postgres` for an
/// `async fn(&TestServer, &ManualClock)` scenario on a server whose clock only moves when told.
macro_rules! clock_test {
    ($name:ident) => {
        mod $name {
            use std::sync::Arc;
            use switchboard_app::clock::ManualClock;

            async fn run(backend: switchboard_storage::Backend) {
                let clock = Arc::new(ManualClock::new(switchboard_core::Millis(super::START)));
                let Some(t) = crate::support::TestServer::start_full(
                    backend,
                    switchboard_app::AppConfig::for_tests(),
                    switchboard_web::WebConfig::default(),
                    clock.clone(),
                )
                .await
                else {
                    return;
                };
                super::hold_schedules(&t).await;
                super::$name(&t, &clock).await;
                t.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(switchboard_storage::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(switchboard_storage::Backend::Postgres).await;
            }
        }
    };
}

/// Runs one SQL statement.
pub async fn exec(t: &TestServer, sql: &str) {
    let mut tx = t.app.db.write().await.unwrap();
    match tx.ex() {
        Ex::Sqlite(c) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.unwrap();
        }
        Ex::Pg(c) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

pub async fn count(t: &TestServer, sql: &str) -> i64 {
    let mut c = t.app.db.read().await.unwrap();
    match c.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *c).await.unwrap(),
        Ex::Pg(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *c).await.unwrap(),
    }
}

/// A tenant id as SQL text for either engine.
pub fn tid_sql(t: &TestServer, id: impl std::fmt::Display) -> String {
    match t.backend() {
        switchboard_storage::Backend::Sqlite => {
            format!("X'{}'", id.to_string().replace('-', ""))
        }
        switchboard_storage::Backend::Postgres => format!("'{id}'::uuid"),
    }
}

/// Takes the privacy schedules' leases, as another node would, so the server's own scheduler
/// does not run them while a test moves the clock and runs them itself.
pub async fn hold_schedules(t: &TestServer) {
    hold_named_schedules(
        t,
        &["privacy.retention", "privacy.erasure_resume", "privacy.tenant_purge", "whatsapp.channel_purge"],
    )
    .await;
}

/// Takes these schedules' leases (see [`hold_schedules`]).
pub async fn hold_named_schedules(t: &TestServer, names: &[&str]) {
    for &name in names {
        let mut tx = t.app.db.write().await.unwrap();
        switchboard_storage::schedules::ensure(&mut tx.platform(), name, 0).await.unwrap();
        tx.commit().await.unwrap();
        exec(
            t,
            &format!("UPDATE schedules SET lease_owner = 'test', lease_until = {} WHERE name = '{name}'", i64::MAX),
        )
        .await;
    }
}

async fn contact(api: &Api<'_>, body: Value) -> String {
    let (s, c) = api.post("/api/v1/contacts", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

async fn request(api: &Api<'_>, contact: &str, kind: &str) -> Value {
    let (s, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": contact, "type": kind})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn attest(api: &Api<'_>, id: &str) {
    let (s, r) = api
        .post(
            &format!("/api/v1/privacy/requests/{id}/verify"),
            json!({"operator_attestation": "Checked the caller's identity card in person"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

/// A text body sent now.
pub fn inbound_now() -> InboundRef {
    inbound(InboundText::Body, jiff::Timestamp::now().as_millisecond())
}

fn inbound(text_kind: InboundText, at: i64) -> InboundRef {
    InboundRef { kind: text_kind, message_id: format!("wamid.{}", uuid::Uuid::now_v7().simple()), sent_at: Millis(at) }
}

async fn marketing(t: &TestServer, tenant: TenantId, id: &str) -> Result<(), Refusal> {
    let mut c = t.app.db.read().await.unwrap();
    consent::marketing_allowed(&mut c.tenant(tenant), id.parse::<ContactId>().unwrap()).await.unwrap()
}

async fn consents_and_keywords(t: &TestServer) {
    let a = t.tenant("Shop").await;
    let b = t.tenant("Other").await;
    let api = Api::new(t, &a.key);
    let id = contact(&api, json!({"name": "Ayşe", "phone": "+905321112233"})).await;
    let path = format!("/api/v1/contacts/{id}/consents");

    let (s, list) = api.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|c| c["state"] == "unknown"));
    assert_eq!(marketing(t, a.id, &id).await, Err(Refusal::NoConsent));

    // A grant needs a consent basis for marketing.
    let (s, e) = api
        .post(&path, json!({"purpose": "marketing", "state": "granted", "legal_basis": "gdpr_legitimate_interests"}))
        .await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "consent_basis_required"));
    let (s, e) = api.post(&path, json!({"purpose": "marketing", "state": "withdrawn", "source": "keyword"})).await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "source_not_allowed"));
    let (s, c) = api
        .post(
            &path,
            json!({"purpose": "marketing", "state": "granted", "legal_basis": "kvkk_explicit_consent",
                   "source": "import", "evidence": {"import_batch": "batch-7"}, "notice_version": "2026-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(
        (c["state"].as_str(), c["legal_basis_citation"].as_str(), c["source"].as_str()),
        (Some("granted"), Some("KVKK Art. 5/1"), Some("import"))
    );
    assert_eq!(marketing(t, a.id, &id).await, Ok(()));

    // Keywords: whole-message, Turkish reply to a Turkish keyword.
    let cid: ContactId = id.parse().unwrap();
    let now = t.app.now().0;
    let none = t.app.apply_inbound_keyword(a.id, cid, "STOP please", &inbound(InboundText::Body, now)).await.unwrap();
    assert_eq!(none, None);
    let none = t.app.apply_inbound_keyword(a.id, cid, "STOP", &inbound(InboundText::Caption, now)).await.unwrap();
    assert_eq!(none, None, "captions are not keywords");
    let out = t
        .app
        .apply_inbound_keyword(a.id, cid, " Durdur!\n", &inbound(InboundText::Body, now + 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.action, KeywordAction::OptOut);
    assert!(out.reply.contains("BAŞLA"), "{}", out.reply);
    assert_eq!(marketing(t, a.id, &id).await, Err(Refusal::Withdrawn));
    let out = t
        .app
        .apply_inbound_keyword(a.id, cid, "start", &inbound(InboundText::ButtonReply, now + 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.action, KeywordAction::OptIn);
    assert!(out.reply.contains("STOP"), "English reply to START: {}", out.reply);
    assert_eq!(marketing(t, a.id, &id).await, Ok(()));
    t.app.apply_meta_marketing_preference(a.id, cid, MetaPreference::Stop, Millis(now + 3), None).await.unwrap();
    let (_, list) = api.get(&path).await;
    let m = list["items"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing").unwrap().clone();
    assert_eq!((m["state"].as_str(), m["source"].as_str()), (Some("withdrawn"), Some("meta_preference")));
    assert!(m["granted_at"].is_string() && m["withdrawn_at"].is_string());

    // A tenant's own keyword list and reply.
    let (s, v) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/privacy/settings",
            Some(json!({"opt_out_keywords": ["Dur"], "opt_out_reply": "Tamam."})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let out =
        t.app.apply_inbound_keyword(a.id, cid, "DUR", &inbound(InboundText::Body, now + 4)).await.unwrap().unwrap();
    assert_eq!(out.reply, "Tamam.");

    // Audited, and another tenant sees nothing.
    let (_, audit) = api.get(&format!("/api/v1/audit?target_kind=contact&target_id={id}")).await;
    assert!(audit.to_string().contains("consent.recorded"));
    let api_b = Api::new(t, &b.key);
    assert_eq!(api_b.get(&path).await.0, StatusCode::NOT_FOUND);
    let (s, _) = api_b.post(&path, json!({"purpose": "marketing", "state": "withdrawn"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
server_test!(consents_and_keywords);

/// PRIVACY.md §2.4 case 74: another tenant's subject is not found, an unverified request gets
/// no data, three wrong codes lock it, and an expired code does not verify.
async fn requests_are_verified_before_anything_happens(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api = Api::new(t, &a.key);
    let mine = contact(&api, json!({"name": "Mine", "phone": "+905321112233"})).await;
    let theirs = contact(&Api::new(t, &b.key), json!({"name": "Theirs"})).await;

    let (s, _) = api.post("/api/v1/privacy/requests", json!({"contact_id": theirs, "type": "export"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let r = request(&api, &mine, "export").await;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!((r["status"].as_str(), r["jurisdiction"].as_str()), (Some("unverified"), Some("kvkk")));
    assert_eq!(r["due_at"], Millis(START + 30 * DAY).to_rfc3339());
    assert_eq!(r["days_left"], 30);
    let (_, ccpa) = api
        .post("/api/v1/privacy/requests", json!({"contact_id": mine, "type": "access", "jurisdiction": "ccpa"}))
        .await;
    assert_eq!(ccpa["due_at"], Millis(START + 45 * DAY).to_rfc3339());

    // The code's delivery job: ids only.
    let job = count(
        t,
        &format!("SELECT COUNT(*) FROM jobs WHERE kind = 'privacy.send_verification_code' AND payload LIKE '%{id}%'"),
    )
    .await;
    assert_eq!(job, 1);

    // No data before verification; B cannot even see the request.
    for (s, body) in [
        api.get(&format!("/api/v1/privacy/requests/{id}/export")).await,
        api.post(&format!("/api/v1/privacy/requests/{id}/fulfil"), json!({})).await,
    ] {
        assert_eq!((s, error_code(&body).as_str()), (StatusCode::CONFLICT, "request_unverified"));
    }
    let api_b = Api::new(t, &b.key);
    assert_eq!(api_b.get(&format!("/api/v1/privacy/requests/{id}")).await.0, StatusCode::NOT_FOUND);

    // The delivery job takes the code once.
    let rid: uuid::Uuid = id.parse().unwrap();
    let delivery = t.app.take_verification_code(a.id, rid).await.unwrap().unwrap();
    assert!(delivery.text.contains(&delivery.code) && delivery.text.contains("10 dakika"));
    assert!(t.app.take_verification_code(a.id, rid).await.unwrap().is_none());
    let wrong = if delivery.code == "000000" { "111111" } else { "000000" };
    let verify = format!("/api/v1/privacy/requests/{id}/verify");
    for left in ["2", "1"] {
        let (s, e) = api.post(&verify, json!({"code": wrong})).await;
        assert_eq!((s, error_code(&e).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_code"));
        assert!(e["error"]["message"].as_str().unwrap().contains(left));
    }
    let (s, e) = api.post(&verify, json!({"code": wrong})).await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::CONFLICT, "verification_locked"));
    let (s, e) = api.post(&verify, json!({"code": delivery.code})).await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::CONFLICT, "verification_locked"));
    let (_, r) = api.get(&format!("/api/v1/privacy/requests/{id}")).await;
    assert_eq!(r["status"], "verification_locked");
    // An operator who checked the requester can still verify it; that is audited.
    attest(&api, &id).await;
    let (_, audit) = api.get(&format!("/api/v1/audit?target_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"privacy_request.verified") && actions.contains(&"privacy_request.verification_failed"));
    assert!(!audit.to_string().contains("identity card"), "the attestation is sealed, not audited");

    // A code is good for ten minutes.
    let late = request(&api, &mine, "restriction").await;
    let late_id = late["id"].as_str().unwrap().to_owned();
    let d = t.app.take_verification_code(a.id, late_id.parse().unwrap()).await.unwrap().unwrap();
    clock.advance(10 * Millis::MINUTE);
    let (s, e) = api.post(&format!("/api/v1/privacy/requests/{late_id}/verify"), json!({"code": d.code})).await;
    assert_eq!((s, error_code(&e).as_str()), (StatusCode::CONFLICT, "code_expired"));
    let on_time = request(&api, &mine, "restriction").await;
    let on_id = on_time["id"].as_str().unwrap().to_owned();
    let d = t.app.take_verification_code(a.id, on_id.parse().unwrap()).await.unwrap().unwrap();
    clock.advance(9 * Millis::MINUTE);
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{on_id}/verify"), json!({"code": d.code})).await;
    assert_eq!((s, r["status"].as_str(), r["verified_by"].as_str()), (StatusCode::OK, Some("verified"), Some("code")));

    // Restriction freezes automated processing.
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{on_id}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    assert_eq!(marketing(t, a.id, &mine).await, Err(Refusal::Restricted));

    // The open list shows deadlines; completed ones only with status=all.
    let (_, open) = api.get("/api/v1/privacy/requests").await;
    assert!(open["items"].as_array().unwrap().iter().all(|r| r["status"] != "completed"));
    let (_, all) = api.get("/api/v1/privacy/requests?status=all&limit=2").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["next_cursor"].is_string());
}
clock_test!(requests_are_verified_before_anything_happens);

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.insert(f.name().unwrap().into_owned(), String::from_utf8_lossy(&bytes).into_owned());
    }
    out
}

/// PRIVACY.md §2.4 cases 31, 32 and 75: the bundle's content, CSV defused, no other subject's
/// data, and a signed link that expires.
async fn export_bundle(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("Shop").await;
    let api = Api::new(t, &a.key);
    let evil = "=HYPERLINK(\"http://evil\",\"x\")";
    let id = contact(
        &api,
        json!({"name": evil, "phone": "+905321112233", "email": "ayse@example.com",
               "labels": ["vip"], "attributes": {"note": "a,b \"c\"\nd"}}),
    )
    .await;
    contact(&api, json!({"name": "Other Person", "phone": "+905329998877", "email": "other@example.com"})).await;
    api.post(
        &format!("/api/v1/contacts/{id}/consents"),
        json!({"purpose": "marketing", "state": "granted", "legal_basis": "kvkk_explicit_consent"}),
    )
    .await;
    {
        let mut tx = t.app.db.write().await.unwrap();
        let at = t.app.now().0;
        transfers::record(
            &mut tx.tenant(a.id),
            id.parse().unwrap(),
            "Meta Platforms Ireland Ltd (WhatsApp Business Platform)",
            "IE",
            "messages",
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let r = request(&api, &id, "export").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let code = t.app.take_verification_code(a.id, rid.parse().unwrap()).await.unwrap().unwrap().code;
    api.post(&format!("/api/v1/privacy/requests/{rid}/verify"), json!({"code": code})).await;
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    // The link is built on the configured public URL; the test server listens elsewhere.
    let public = r["download_url"].as_str().unwrap();
    let (_, token) = public.split_once("/api/v1/privacy/exports/").unwrap();
    assert!(public.starts_with(&t.app.config.public_url));
    let link = t.url(&format!("/api/v1/privacy/exports/{token}"));

    // The link works without credentials; the operator route works too.
    let res = reqwest::get(&link).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let files = unzip(&res.bytes().await.unwrap());
    let (s, _) = api.get(&format!("/api/v1/privacy/requests/{rid}/export")).await;
    assert_eq!(s, StatusCode::OK);
    for name in [
        "README.txt",
        "subject.json",
        "contact.csv",
        "consents.csv",
        "consent_events.csv",
        "privacy_requests.csv",
        "disclosures.csv",
        "third_parties.csv",
    ] {
        assert!(files.contains_key(name), "{name} missing: {:?}", files.keys());
    }
    let subject: Value = serde_json::from_str(&files["subject.json"]).unwrap();
    assert_eq!(subject["contact"]["name"], evil);
    assert_eq!(subject["contact"]["phone"], "+905321112233");
    assert_eq!(subject["contact"]["email"], "ayse@example.com");
    let marketing = subject["consents"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing").unwrap();
    assert_eq!(marketing["state"], "granted");
    assert_eq!(subject["consent_events"].as_array().unwrap().len(), 1);
    assert_eq!(subject["privacy_requests"][0]["id"], rid.as_str());
    assert!(subject["disclosures"].as_array().unwrap().iter().any(|d| d["action"] == "contact.created"));
    assert_eq!(subject["third_parties"][0]["country"], "IE");
    // CSV: the formula is defused and RFC 4180 quoted; the phone starts with an apostrophe.
    let csv = &files["contact.csv"];
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""), "{csv}");
    assert!(csv.contains(",'+905321112233,"), "{csv}");
    assert!(csv.contains("\r\n"));
    assert!(files["README.txt"].contains("subject.json"));
    // Nothing of the other contact.
    for content in files.values() {
        for needle in ["Other Person", "+905329998877", "other@example.com"] {
            assert!(!content.contains(needle), "{needle} leaked into the bundle");
        }
    }

    // A forged token is not found; after seven days the link has expired.
    let (base, token) = link.rsplit_once('/').unwrap();
    let mut forged: Vec<char> = token.chars().collect();
    forged[10] = if forged[10] == 'A' { 'B' } else { 'A' };
    let forged = format!("{base}/{}", forged.into_iter().collect::<String>());
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), StatusCode::NOT_FOUND);
    clock.advance(7 * DAY);
    let res = reqwest::get(&link).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(&res.json().await.unwrap()), "link_expired");
    let (_, r) = api.get(&format!("/api/v1/privacy/requests/{rid}")).await;
    assert!(r["download_url"].is_null());
    // An erasure request never yields a bundle.
    let e = request(&api, &id, "erasure").await;
    let eid = e["id"].as_str().unwrap();
    attest(&api, eid).await;
    let (s, body) = api.get(&format!("/api/v1/privacy/requests/{eid}/export")).await;
    assert_eq!((s, error_code(&body).as_str()), (StatusCode::CONFLICT, "not_an_export"));
}
clock_test!(export_bundle);

/// PRIVACY.md §2.4 case 76 and R9: erasure leaves no personal value anywhere, destroys the
/// key, queues notifications for recipients, and keeps an opted-out contact suppressed.
async fn erasure_leaves_no_trace(t: &TestServer) {
    let a = t.tenant("Clinic").await;
    let api = Api::new(t, &a.key);
    let (name, phone, email) = ("Zeynep Kaya", "+905551234567", "zeynep.kaya@example.com");
    let id = contact(
        &api,
        json!({"name": name, "phone": phone, "email": email, "labels": ["patient"], "attributes": {"city": "Bursa"}}),
    )
    .await;
    let cid: ContactId = id.parse().unwrap();
    let keep = contact(&api, json!({"name": "Kept Person", "phone": "+905550000001"})).await;
    t.app.apply_inbound_keyword(a.id, cid, "STOP", &inbound(InboundText::Body, t.app.now().0)).await.unwrap().unwrap();
    {
        let mut tx = t.app.db.write().await.unwrap();
        transfers::record(
            &mut tx.tenant(a.id),
            cid.as_uuid(),
            "Meta Platforms Ireland Ltd (WhatsApp Business Platform)",
            "IE",
            "messages",
            t.app.now().0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let r = request(&api, &id, "erasure").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    attest(&api, &rid).await;
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    let steps = r["result"]["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["status"] == "done"));
    assert_eq!(steps.last().unwrap()["step"], "contact_key");
    assert_eq!(r["notifications"][0]["status"], "pending");
    assert_eq!(r["notifications"][0]["action"], "erasure");

    assert_eq!(api.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.get(&format!("/api/v1/contacts/{keep}")).await.0, StatusCode::OK);
    let (tenant, cid_sql) = (tid_sql(t, a.id), tid_sql(t, &id));
    for table in ["contact_keys", "consent_events", "consents", "transfer_log", "processing_limits"] {
        let n =
            count(t, &format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = {tenant} AND contact_id = {cid_sql}"))
                .await;
        assert_eq!(n, 0, "{table} still holds the contact");
    }
    assert_eq!(
        count(t, &format!("SELECT COUNT(*) FROM privacy_verification_codes WHERE tenant_id = {tenant}")).await,
        0
    );
    assert_eq!(
        count(t, &format!("SELECT COUNT(*) FROM jobs WHERE payload LIKE '%{id}%'")).await,
        0,
        "no job mentions the erased contact"
    );
    t.assert_not_stored(&[name, phone, email, "Bursa", "5551234567"]).await;
    // Running it again changes nothing.
    let (s, again) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, again["status"].as_str()), (StatusCode::OK, Some("completed")));

    // The opt-out outlives the contact: a re-import of the same number is not marketed to.
    let back = contact(&api, json!({"phone": phone})).await;
    api.post(
        &format!("/api/v1/contacts/{back}/consents"),
        json!({"purpose": "marketing", "state": "granted", "legal_basis": "kvkk_explicit_consent"}),
    )
    .await;
    assert_eq!(marketing(t, a.id, &back).await, Err(Refusal::Suppressed));
    let (_, v) = api.post("/api/v1/audit/verify", json!({})).await;
    assert_eq!(v["intact"], true);
}
server_test!(erasure_leaves_no_trace);

/// PRIVACY.md §2.4 case 76: a legal hold keeps held data and records why; after its release
/// the next run purges.
async fn erasure_waits_for_a_legal_hold(t: &TestServer) {
    let a = t.tenant("Firm").await;
    let api = Api::new(t, &a.key);
    let phone = "+905557654321";
    let id = contact(&api, json!({"name": "Held Person", "phone": phone})).await;
    api.post(
        &format!("/api/v1/contacts/{id}/consents"),
        json!({"purpose": "service", "state": "granted", "legal_basis": "kvkk_contract"}),
    )
    .await;
    let (s, hold) = api
        .post(
            "/api/v1/privacy/holds",
            json!({"scope": "contact", "subject_id": id, "category": "contact_profile", "reason": "Case 2026/17"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let (s, _) = api
        .post("/api/v1/privacy/holds", json!({"scope": "contact", "subject_id": uuid::Uuid::now_v7(), "reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a hold names one of the tenant's contacts");

    let r = request(&api, &id, "erasure").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    attest(&api, &rid).await;
    let (_, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!(r["status"], "held", "{r}");
    let steps = r["result"]["steps"].as_array().unwrap();
    let step = |name: &str| steps.iter().find(|s| s["step"] == name).unwrap().clone();
    assert_eq!(step("contact_profile")["status"], "held");
    assert_eq!(step("contact_profile")["hold_reason"], "Case 2026/17");
    assert_eq!(step("contact_key")["status"], "held", "the key stays while anything is held");
    assert_eq!(step("consents")["status"], "done", "what the hold does not cover goes");
    assert_eq!(api.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::OK);

    // The resume schedule leaves it held; after the release it finishes.
    t.app.resume_erasures().await.unwrap();
    assert_eq!(api.get(&format!("/api/v1/privacy/requests/{rid}")).await.1["status"], "held");
    let (s, released) =
        api.post(&format!("/api/v1/privacy/holds/{hold_id}/release"), json!({"reason": "Case closed"})).await;
    assert_eq!((s, released["active"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, _) = api.post(&format!("/api/v1/privacy/holds/{hold_id}/release"), json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    t.app.resume_erasures().await.unwrap();
    let (_, r) = api.get(&format!("/api/v1/privacy/requests/{rid}")).await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(api.get(&format!("/api/v1/contacts/{id}")).await.0, StatusCode::NOT_FOUND);
    t.assert_not_stored(&["Held Person", phone]).await;
    let (_, holds) = api.get("/api/v1/privacy/holds?status=all").await;
    assert_eq!(holds["items"][0]["release_reason"], "Case closed");
}
server_test!(erasure_waits_for_a_legal_hold);

/// Seeds `n` completed requests of `contact` in `tenant`, fulfilled at `at` (SQL, for speed).
pub async fn seed_requests(t: &TestServer, tenant: TenantId, contact: &str, n: i64, at: i64, tag: &str) {
    let (id, ten, con) = match t.backend() {
        switchboard_storage::Backend::Sqlite => ("randomblob(16)".to_owned(), tid_sql(t, tenant), tid_sql(t, contact)),
        switchboard_storage::Backend::Postgres => {
            ("gen_random_uuid()".to_owned(), tid_sql(t, tenant), tid_sql(t, contact))
        }
    };
    let series = match t.backend() {
        switchboard_storage::Backend::Sqlite => {
            format!("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s")
        }
        switchboard_storage::Backend::Postgres => format!("SELECT generate_series(1, {n}) AS n"),
    };
    exec(
        t,
        &format!(
            "INSERT INTO privacy_requests (tenant_id, id, contact_id, kind, jurisdiction, status,
                 details, due_at, created_by, fulfilled_at, created_at, updated_at)
             SELECT {ten}, {id}, {con}, 'export', 'kvkk', 'completed',
                 '{{\"seed\": \"{tag}\", \"n\": ' || n || '}}', {at}, 'system:test', {at} + n, {at}, {at}
             FROM ({series}) q"
        ),
    )
    .await;
}

/// The remaining seeded requests of a tenant, as a sorted list of their seed details.
pub async fn remaining(t: &TestServer, tenant: TenantId) -> Vec<String> {
    let sql = format!("SELECT details FROM privacy_requests WHERE tenant_id = {} ORDER BY details", tid_sql(t, tenant));
    let mut c = t.app.db.read().await.unwrap();
    match c.ex() {
        Ex::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await.unwrap(),
        Ex::Pg(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await.unwrap(),
    }
}

/// Retention across the boundary with an injected clock, at most 1,000 rows per batch, held
/// rows skipped, and an interrupted run resumed to the same end state as an uninterrupted one.
async fn retention_batches_and_resumes(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let (api_a, api_b) = (Api::new(t, &a.key), Api::new(t, &b.key));
    let held_a = contact(&api_a, json!({"name": "Held"})).await;
    let free_a = contact(&api_a, json!({"name": "Free"})).await;
    let held_b = contact(&api_b, json!({"name": "Held"})).await;
    let free_b = contact(&api_b, json!({"name": "Free"})).await;
    for (api, held) in [(&api_a, &held_a), (&api_b, &held_b)] {
        let (s, _) = api
            .post(
                "/api/v1/privacy/holds",
                json!({"scope": "contact", "subject_id": held, "category": "privacy_requests", "reason": "Audit 2026"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // The same data in both tenants: 2,500 old requests, 10 held, 5 one day younger than
    // the boundary.
    let old = START - 1_096 * DAY;
    for (tenant, free, held) in [(a.id, &free_a, &held_a), (b.id, &free_b, &held_b)] {
        seed_requests(t, tenant, free, 2_500, old, "old").await;
        seed_requests(t, tenant, held, 10, old, "held").await;
        seed_requests(t, tenant, free, 5, START - 1_094 * DAY, "young").await;
    }

    let (_, dry) = api_a.get("/api/v1/privacy/retention/dry-run").await;
    let cat =
        |v: &Value, c: &str| v["categories"].as_array().unwrap().iter().find(|x| x["category"] == c).unwrap().clone();
    assert_eq!(cat(&dry, "privacy_requests")["would_purge"], 2_500);
    assert_eq!(cat(&dry, "call_recordings")["enforced"], false);
    assert!(cat(&dry, "call_recordings")["would_purge"].is_null());

    // Tenant B: one uninterrupted run.
    let full = t.app.run_retention(b.id, None).await.unwrap();
    assert!(full.finished);
    assert_eq!(full.purged["privacy_requests"], 2_500);
    // Batches shrink when the writer is slow (privacy::batch), never beyond 1,000 rows.
    assert!(full.batches >= 3, "2,500 rows take at least three batches of at most 1,000");

    // Tenant A: stopped after one batch, exactly 1,000 rows gone.
    let first = t.app.run_retention(a.id, Some(1)).await.unwrap();
    assert!(!first.finished);
    assert_eq!(first.purged["privacy_requests"], 1_000);
    assert_eq!(remaining(t, a.id).await.len(), 2_515 - 1_000);
    // Time passes before the resume: the "young" rows are now due, but the resumed run keeps
    // measuring against its own start, so it ends where B's run ended.
    clock.advance(3 * DAY);
    let resumed = t.app.run_retention(a.id, None).await.unwrap();
    assert!(resumed.finished);
    assert_eq!((resumed.run_id, resumed.purged["privacy_requests"]), (first.run_id, 2_500));
    assert_eq!(remaining(t, a.id).await, remaining(t, b.id).await);
    assert_eq!(remaining(t, a.id).await.len(), 15);
    // The next run is a new one and takes the rows that fell due meanwhile; held rows stay.
    let next = t.app.run_retention(a.id, None).await.unwrap();
    assert_ne!(next.run_id, first.run_id);
    assert_eq!(next.purged["privacy_requests"], 5);
    assert!(remaining(t, a.id).await.iter().all(|d| d.contains("held")));
    // Each finished run left a summary in the audit log, and the chain still verifies.
    let (_, audit) = api_a.get("/api/v1/audit?target_kind=retention_run").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    assert_eq!(audit["items"][1]["details"]["purged"]["privacy_requests"], 2_500);
    assert_eq!(api_a.post("/api/v1/audit/verify", json!({})).await.1["intact"], true);
}
clock_test!(retention_batches_and_resumes);

/// Security logs keep their entries but lose the actor IP after the period; policies are
/// per tenant.
async fn retention_masks_old_security_logs(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("A").await;
    let api = Api::new(t, &a.key);
    contact(&api, json!({"name": "Early"})).await;
    let tenant = tid_sql(t, a.id);
    let with_ip = format!("SELECT COUNT(*) FROM audit_log WHERE tenant_id = {tenant} AND ip IS NOT NULL");
    let early = count(t, &with_ip).await;
    assert!(early > 0);
    let (s, p) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/privacy/retention",
            Some(json!({"policies": [{"category": "security_logs", "after_days": 365}, {"category": "billing", "after_days": 2555}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let pol = |c: &str| p["items"].as_array().unwrap().iter().find(|x| x["category"] == c).unwrap().clone();
    assert_eq!(
        (pol("security_logs")["after_days"].as_u64(), pol("security_logs")["customised"].as_bool()),
        (Some(365), Some(true))
    );
    assert_eq!((pol("messages")["after_days"].as_u64(), pol("messages")["cap_days"].as_u64()), (Some(365), Some(730)));
    let (s, _) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/privacy/retention",
            Some(json!({"policies": [{"category": "messages", "after_days": 0}]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // One day before the boundary nothing is masked; after it the early entries are.
    clock.advance(364 * DAY);
    t.app.run_retention(a.id, None).await.unwrap();
    assert_eq!(count(t, &with_ip).await, early + 1, "the PUT added an entry; none masked");
    clock.advance(2 * DAY);
    contact(&api, json!({"name": "Late"})).await;
    let report = t.app.run_retention(a.id, None).await.unwrap();
    assert!(report.purged["security_logs"] >= u64::try_from(early).unwrap());
    assert_eq!(count(t, &with_ip).await, 1, "only the entry after the boundary keeps its IP");
    assert_eq!(api.post("/api/v1/audit/verify", json!({})).await.1["intact"], true);
}
clock_test!(retention_masks_old_security_logs);

/// Tenant deletion: sessions, keys and logins die at once; the purge waits for the grace
/// period and for legal holds, then leaves no row of the tenant.
async fn tenant_deletion(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("Leaving").await;
    let b = t.tenant("Staying").await;
    let api = Api::new(t, &a.key);
    contact(&api, json!({"name": "Customer", "phone": "+905321110000"})).await;
    contact(&Api::new(t, &b.key), json!({"name": "Other"})).await;
    let admin = t.user(a.id, switchboard_core::Role::Admin).await;
    let owner = t.login(&a.owner).await;
    let admin_client = t.login(&admin).await;

    // Only owners, only with the confirmation, and not with an API key.
    let url = t.url(&format!("/api/v1/tenant?confirm={}", a.id));
    assert_eq!(admin_client.delete(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = owner.delete(t.url("/api/v1/tenant")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api.delete(&format!("/api/v1/tenant?confirm={}", a.id)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an API key cannot delete the organisation");
    let res = owner.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["purge_after"], Millis(START + 30 * DAY).to_rfc3339());

    // At once: every session and key refused, login refused.
    assert_eq!(admin_client.get(t.url("/api/v1/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.get("/api/v1/contacts").await.0, StatusCode::UNAUTHORIZED);
    let res = crate::support::client()
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"email": a.owner.email, "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let tenant = tid_sql(t, a.id);
    assert_eq!(count(t, &format!("SELECT COUNT(*) FROM sessions WHERE tenant_id = {tenant}")).await, 0);

    // Not before the grace period; not while a hold is active.
    assert!(t.app.purge_deleted_tenants().await.unwrap().is_empty());
    exec(
        t,
        &format!(
            "INSERT INTO legal_holds (tenant_id, id, scope, reason, placed_by, placed_at)
             VALUES ({tenant}, {}, 'tenant', 'Tax audit', 'system:test', {START})",
            tid_sql(t, uuid::Uuid::now_v7())
        ),
    )
    .await;
    clock.advance(30 * DAY);
    assert!(t.app.purge_deleted_tenants().await.unwrap().is_empty());
    assert_eq!(
        count(t, &format!("SELECT COUNT(*) FROM tenant_deletions WHERE tenant_id = {tenant} AND postponed_reason LIKE '%Tax audit%'")).await,
        1
    );
    exec(t, &format!("UPDATE legal_holds SET released_at = {START} WHERE tenant_id = {tenant}")).await;
    assert_eq!(t.app.purge_deleted_tenants().await.unwrap(), vec![a.id]);

    // Nothing of the tenant is left but the deletion record; the other tenant is untouched.
    for table in switchboard_storage::privacy::tenant_purge::TENANT_TABLES {
        let n =
            count(t, &format!("SELECT COUNT(*) FROM {} WHERE {} = {tenant}", table.name, table.tenant_column)).await;
        assert_eq!(n, 0, "{} still holds rows of the purged tenant", table.name);
    }
    let summary = count(
        t,
        &format!(
            "SELECT COUNT(*) FROM audit_log WHERE tenant_id = {} AND action = 'tenant.purged' AND target_id = '{}'",
            tid_sql(t, TenantId::PLATFORM),
            a.id
        ),
    )
    .await;
    assert_eq!(summary, 1);
    assert_eq!(Api::new(t, &b.key).get("/api/v1/contacts").await.1["items"].as_array().unwrap().len(), 1);
    t.assert_not_stored(&["Customer", "+905321110000"]).await;
}
clock_test!(tenant_deletion);

/// Erasure reaches the WhatsApp history: conversations, messages, reactions, media rows and
/// the sealed files in the blob store; deleting a contact through the API does the same.
async fn erasure_reaches_the_whatsapp_history(t: &TestServer) {
    use base64::Engine;
    let a = t.tenant("Pharmacy").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (conversation, _) = t.customer_writes(a.id, &wa, "905551112233", "ilaç listem ektedir").await;
    let picture = b"\xff\xd8\xff\xe0JFIF-prescription-of-the-subject".to_vec();
    wa.control()
        .inbound(&json!({"from": "905551112233", "type": "image", "caption": "reçetem",
            "media": {"mime_type": "image/jpeg", "data_base64": base64::engine::general_purpose::STANDARD.encode(&picture)}}))
        .unwrap();
    t.eventually("media stored", async || {
        let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages")).await;
        page["items"].as_array().is_some_and(|items| items.iter().any(|m| m["media"][0]["state"] == "stored"))
    })
    .await;
    assert_eq!(crate::support::files_under(t.app.blobs.root()).len(), 1);
    // An agent's private note about the subject is erased with the messages.
    let (s, _) =
        api.post(&format!("/api/v1/conversations/{conversation}/notes"), json!({"text": "alerjisi var"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, c) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    let id = c["contact"]["id"].as_str().or(c["contact_id"].as_str()).unwrap().to_owned();
    // A second customer, deleted through the API rather than a request.
    let (other_conversation, _) = t.customer_writes(a.id, &wa, "905559998877", "başka müşteri").await;
    let (_, oc) = api.get(&format!("/api/v1/conversations/{other_conversation}")).await;
    let other = oc["contact"]["id"].as_str().or(oc["contact_id"].as_str()).unwrap().to_owned();
    // Deliveries whose processing failed are kept sealed under the tenant key (these were cut
    // short, so the retry schedule keeps failing them); each names one of the customers.
    let ch = t.app.webhook_channel(wa.channel_id.parse().unwrap()).await.unwrap().unwrap();
    for (from, text) in [("905551112233", "şikayetim gizli kalsın"), ("905559998877", "diğer müşterinin şikayeti")]
    {
        let raw = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"value":{{"messages":[{{"from":"{from}","text":{{"body":"{text}"#
        );
        let delivery = switchboard_app::whatsapp::ingest::Delivery {
            channel: ch.clone(),
            notification: switchboard_channels::whatsapp::webhook::parse(br#"{"object":"x","entry":[]}"#).unwrap(),
            raw: raw.into_bytes().into(),
            received_at: t.app.now().0,
        };
        t.app.keep_failed(&delivery, &switchboard_app::AppError::Internal("simulated".into())).await.unwrap();
    }
    assert_eq!(t.count(a.id, "webhook_events", "AND state = 'failed'").await, 2);

    let r = request(&api, &id, "erasure").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    attest(&api, &rid).await;
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    let messages = r["result"]["steps"].as_array().unwrap().iter().find(|s| s["step"] == "messages").cloned();
    assert_eq!(messages.unwrap()["rows"], 4, "two messages, a note and one conversation");
    // Only the other customer's kept delivery is left, and its body does not name the subject.
    let left = {
        let mut conn = t.app.db.read().await.unwrap();
        switchboard_storage::webhook_events::failed(&mut conn.tenant(a.id), 10).await.unwrap()
    };
    assert_eq!(left.len(), 1);
    let mut tx = t.app.db.write().await.unwrap();
    let aad = switchboard_privacy::Aad::new(a.id, "webhook_events", "body", left[0].id);
    let body: Vec<u8> =
        t.app.keys.open_tenant(&mut tx.tenant(a.id), &aad, left[0].body_sealed.as_ref().unwrap()).await.unwrap();
    drop(tx);
    assert!(!crate::support::contains(&body, b"5551112233") && crate::support::contains(&body, b"5559998877"));
    assert_eq!(api.delete(&format!("/api/v1/contacts/{other}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        t.count(a.id, "webhook_events", "").await,
        t.count(a.id, "webhook_events", "AND state = 'processed'").await
    );
    assert_eq!(t.count(a.id, "webhook_event_subjects", "").await, 0);

    let tenant = tid_sql(t, a.id);
    for table in ["conversations", "messages", "media", "message_reactions"] {
        assert_eq!(count(t, &format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = {tenant}")).await, 0, "{table}");
    }
    assert_eq!(api.get(&format!("/api/v1/conversations/{conversation}")).await.0, StatusCode::NOT_FOUND);
    assert!(crate::support::files_under(t.app.blobs.root()).is_empty(), "the media file is deleted");
    t.assert_not_stored(&[
        "ilaç listem",
        "reçetem",
        "alerjisi var",
        "prescription-of-the-subject",
        "5551112233",
        "başka müşteri",
        "şikayetim gizli",
    ])
    .await;
}
server_test!(erasure_reaches_the_whatsapp_history);

/// Messages go one year after their conversation is resolved, and two years after they were
/// written whatever the conversation's state; a conversation under a legal hold keeps them.
async fn retention_of_messages(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("Shop").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (resolved, _) = t.customer_writes(a.id, &wa, "905320000001", "eski sipariş").await;
    let (open, _) = t.customer_writes(a.id, &wa, "905320000002", "açık konuşma").await;
    let (held, _) = t.customer_writes(a.id, &wa, "905320000003", "dava dosyası").await;
    // A note goes with the messages of its conversation.
    let (s, _) = api.post(&format!("/api/v1/conversations/{resolved}/notes"), json!({"text": "iade edildi"})).await;
    assert_eq!(s, StatusCode::CREATED);
    for c in [&resolved, &held] {
        let (s, v) = api.patch(&format!("/api/v1/conversations/{c}"), json!({"status": "resolved"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = api
        .post(
            "/api/v1/privacy/holds",
            json!({"scope": "conversation", "subject_id": held, "category": "messages", "reason": "Dispute 2026/17"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let messages_in = async |c: &str| {
        count(t, &format!("SELECT COUNT(*) FROM messages WHERE conversation_id = {}", tid_sql(t, c))).await
    };

    clock.advance(364 * DAY);
    assert!(!t.app.run_retention(a.id, None).await.unwrap().purged.contains_key("messages"));
    clock.advance(2 * DAY);
    let (_, dry) = api.get("/api/v1/privacy/retention/dry-run").await;
    let cat = dry["categories"].as_array().unwrap().iter().find(|c| c["category"] == "messages").unwrap().clone();
    assert_eq!((cat["enforced"].as_bool(), cat["would_purge"].as_u64()), (Some(true), Some(2)), "{cat}");
    let report = t.app.run_retention(a.id, None).await.unwrap();
    assert_eq!(report.purged["messages"], 2, "the message and the note");
    assert_eq!(api.get(&format!("/api/v1/conversations/{resolved}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!((messages_in(&open).await, messages_in(&held).await), (1, 1));

    // Past the two-year cap, the open conversation's message goes too, and the conversation
    // with it (nothing is left of it). The held one keeps everything.
    clock.advance(365 * DAY);
    assert_eq!(t.app.run_retention(a.id, None).await.unwrap().purged["messages"], 1);
    assert_eq!((messages_in(&open).await, messages_in(&held).await), (0, 1));
    assert_eq!(api.get(&format!("/api/v1/conversations/{open}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.get(&format!("/api/v1/conversations/{held}")).await.0, StatusCode::OK);
}
clock_test!(retention_of_messages);

/// The export bundle holds the subject's conversations (both directions) and their media
/// files, and nothing of another customer's.
async fn export_holds_the_whatsapp_history(t: &TestServer) {
    use base64::Engine;
    let a = t.tenant("Clinic").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (conversation, _) = t.customer_writes(a.id, &wa, "905551110000", "randevu almak istiyorum").await;
    let document = b"%PDF-1.4 lab results of the subject".to_vec();
    wa.control()
        .inbound(&json!({"from": "905551110000", "type": "document", "caption": "tahlil sonuçlarım",
            "media": {"mime_type": "application/pdf", "filename": "tahlil.pdf",
                      "data_base64": base64::engine::general_purpose::STANDARD.encode(&document)}}))
        .unwrap();
    t.customer_writes(a.id, &wa, "905559990000", "başka bir hastanın mesajı").await;
    t.eventually("media stored", async || {
        let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages")).await;
        page["items"].as_array().is_some_and(|items| items.iter().any(|m| m["media"][0]["state"] == "stored"))
    })
    .await;
    let (s, sent) = api
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"type": "text", "text": "Yarın 10:00 uygun"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{sent}");
    let (s, _) =
        api.post(&format!("/api/v1/conversations/{conversation}/notes"), json!({"text": "sabah arayın"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, c) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    let id = c["contact"]["id"].as_str().unwrap().to_owned();

    let r = request(&api, &id, "export").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    attest(&api, &rid).await;
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    let res = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/privacy/requests/{rid}/export")))
        .bearer_auth(&a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let files = unzip(&res.bytes().await.unwrap());
    let csv = &files["messages.csv"];
    for text in [
        "randevu almak istiyorum",
        "tahlil sonuçlarım",
        "Yarın 10:00 uygun",
        "sabah arayın",
        "inbound",
        "outbound",
        "note",
    ] {
        assert!(csv.contains(text), "{text} missing from messages.csv:\n{csv}");
    }
    assert!(!files.values().any(|f| f.contains("başka bir hastanın")), "another customer's message leaked");
    let pdf = files.iter().find(|(name, _)| name.starts_with("media/") && name.ends_with(".pdf")).unwrap();
    assert_eq!(pdf.1.as_bytes(), document.as_slice());
    let subject: Value = serde_json::from_str(&files["subject.json"]).unwrap();
    assert_eq!(subject["conversations"][0]["messages"].as_array().unwrap().len(), 4);
    assert!(files["README.txt"].contains("messages.csv"));
}
server_test!(export_holds_the_whatsapp_history);

/// Connects `wa`'s number again through the API (same phone_number_id and simulator).
async fn reconnect(api: &Api<'_>, wa: &crate::support::Whatsapp, waba_id: &str) -> (StatusCode, Value) {
    use crate::support::{SIM_SECRET, SIM_TOKEN, SIM_VERIFY};
    api.post(
        "/api/v1/channels/whatsapp",
        json!({"phone_number_id": wa.phone_number_id, "waba_id": waba_id, "display_phone_number": "15550001111",
            "access_token": SIM_TOKEN, "app_secret": SIM_SECRET, "verify_token": SIM_VERIFY,
            "graph_base_url": wa.sim.base_url}),
    )
    .await
}

/// A disconnected number stops at once; its Meta data goes 30 days later in batches that
/// resume, unless the number is connected again first or a legal hold keeps it.
async fn disconnected_channel_is_purged(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("Clinic").await;
    let api = Api::new(t, &a.key);
    let leaving = t.whatsapp(&a.key).await;
    let other_waba = "880000000000777";
    let cfg = switchboard_simulator::SimConfig {
        waba_id: other_waba.into(),
        status_delays_ms: (10, 20, 30),
        ..Default::default()
    };
    let back = t.whatsapp_with(&a.key, cfg).await;
    let (gone_conversation, _) = t.customer_writes(a.id, &leaving, "905320000011", "randevu iptali").await;
    let (kept_conversation, _) = t.customer_writes(a.id, &back, "905320000012", "yeni randevu").await;
    let waba = switchboard_simulator::SimConfig::default().waba_id;
    t.eventually("templates synced", async || {
        t.count(a.id, "templates", &format!("AND waba_id = '{waba}'")).await > 0
            && t.count(a.id, "templates", &format!("AND waba_id = '{other_waba}'")).await > 0
    })
    .await;

    assert_eq!(
        api.delete(&format!("/api/v1/channels/whatsapp/{}", leaving.channel_id)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, ch) = api.get(&format!("/api/v1/channels/whatsapp/{}", leaving.channel_id)).await;
    assert_eq!(
        (ch["status"].as_str(), ch["purge_after"].clone()),
        (Some("disconnected"), json!(Millis(START + 30 * DAY).to_rfc3339()))
    );
    // Webhooks for it are refused, sends too.
    let empty = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    assert_eq!(t.deliver(&leaving, empty).await, StatusCode::NOT_FOUND);
    let (s, _) = api
        .post(
            &format!("/api/v1/conversations/{gone_conversation}/messages"),
            json!({"type": "text", "text": "merhaba"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The other number is disconnected too, and connected again within the grace period.
    assert_eq!(api.delete(&format!("/api/v1/channels/whatsapp/{}", back.channel_id)).await.0, StatusCode::NO_CONTENT);
    clock.advance(10 * DAY);
    assert!(t.app.purge_disconnected_channels(None).await.unwrap().is_empty(), "not due yet");
    let (s, ch) = reconnect(&api, &back, other_waba).await;
    assert_eq!(
        (s, ch["id"].as_str(), ch["status"].as_str()),
        (StatusCode::CREATED, Some(back.channel_id.as_str()), Some("active")),
        "{ch}"
    );
    assert_eq!(ch["purge_after"], Value::Null);

    // Due: a tenant-wide legal hold keeps it waiting.
    clock.advance(21 * DAY);
    let (_, hold) = api.post("/api/v1/privacy/holds", json!({"scope": "tenant", "reason": "Inspection 12"})).await;
    let hold_id = hold["id"].as_str().unwrap().to_owned();
    let channel_path = format!("/api/v1/channels/whatsapp/{}", leaving.channel_id);
    let audited = async |action: &str| {
        let (_, log) = api.get(&format!("/api/v1/audit?target_kind=channel&target_id={}", leaving.channel_id)).await;
        log["items"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect::<Vec<_>>()
    };
    let (_, ch) = api.get(&channel_path).await;
    assert_eq!((ch["purge_state"].as_str(), &ch["purge_hold"]), (Some("scheduled"), &Value::Null), "{ch}");
    // Every run finds the hold; the channel records it and the log says so once.
    for _ in 0..3 {
        let outcome = t.app.purge_disconnected_channels(None).await.unwrap();
        assert_eq!(outcome.len(), 1);
        assert_eq!(outcome[0].2, switchboard_app::whatsapp::purge::ChannelPurge::Held);
    }
    let (_, ch) = api.get(&channel_path).await;
    assert_eq!(ch["purge_state"], "held", "{ch}");
    assert_eq!(
        (ch["purge_hold"]["hold_id"].as_str(), ch["purge_hold"]["reason"].as_str()),
        (Some(hold_id.as_str()), Some("Inspection 12"))
    );
    let held = audited("channel.purge_held").await;
    assert_eq!(held.len(), 1, "audited once, not per run");
    assert_eq!(held[0]["details"]["legal_hold"], hold_id);
    let (_, holds) = api.get("/api/v1/privacy/holds").await;
    let purges = &holds["items"][0]["channel_purges"];
    assert_eq!(purges[0]["channel_id"].as_str(), Some(leaving.channel_id.as_str()), "{holds}");
    // Both pages show it.
    let browser = crate::ui::logged_in(t, &a.owner).await;
    let page = browser.get(t.url("/settings/whatsapp")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"data-state="held""#) && page.contains("Inspection 12"), "{page}");
    let page = browser.get(t.url("/privacy/holds")).send().await.unwrap().text().await.unwrap();
    let number = purges[0]["display_phone_number"].as_str().unwrap();
    assert!(page.contains(&format!("Keeps the purge of disconnected number +{number} waiting")), "{page}");

    // Released: the channel is no longer held, the purge schedule is due at once.
    exec(t, "UPDATE schedules SET next_run_at = 9007199254740991 WHERE name = 'whatsapp.channel_purge'").await;
    let (s, _) = api.post(&format!("/api/v1/privacy/holds/{hold_id}/release"), json!({"reason": "closed"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, ch) = api.get(&channel_path).await;
    assert_eq!((ch["purge_state"].as_str(), &ch["purge_hold"]), (Some("scheduled"), &Value::Null), "{ch}");
    assert_eq!(audited("channel.purge_resumed").await.len(), 1);
    let due = count(t, "SELECT next_run_at FROM schedules WHERE name = 'whatsapp.channel_purge'").await;
    assert!(due <= switchboard_core::Clock::now(clock).0, "the purge runs at the next tick");

    // One batch, then the rest: the same end state as one run.
    use switchboard_app::whatsapp::purge::ChannelPurge;
    assert_eq!(t.app.purge_disconnected_channels(Some(1)).await.unwrap()[0].2, ChannelPurge::Unfinished);
    assert_eq!(t.app.purge_disconnected_channels(None).await.unwrap()[0].2, ChannelPurge::Purged);
    assert!(t.app.purge_disconnected_channels(None).await.unwrap().is_empty());

    let ch = tid_sql(t, &leaving.channel_id);
    let conv = tid_sql(t, &gone_conversation);
    for (table, column) in [
        ("messages", "channel_id"),
        ("conversations", "channel_id"),
        ("webhook_events", "channel_id"),
        ("channel_events", "channel_id"),
        ("channels", "id"),
        ("search_docs", "conversation_id"),
    ] {
        let id = if column == "conversation_id" { &conv } else { &ch };
        assert_eq!(count(t, &format!("SELECT COUNT(*) FROM {table} WHERE {column} = {id}")).await, 0, "{table}");
    }
    assert_eq!(t.count(a.id, "templates", &format!("AND waba_id = '{waba}'")).await, 0);
    assert!(t.count(a.id, "templates", &format!("AND waba_id = '{other_waba}'")).await > 0);
    assert_eq!(api.get(&format!("/api/v1/conversations/{kept_conversation}")).await.0, StatusCode::OK);
    assert_eq!(api.get(&format!("/api/v1/channels/whatsapp/{}", leaving.channel_id)).await.0, StatusCode::NOT_FOUND);
    let (_, log) = api.get(&format!("/api/v1/audit?target_kind=channel&target_id={}", leaving.channel_id)).await;
    let entry = log["items"].as_array().and_then(|i| i.iter().find(|e| e["action"] == "channel.purged")).cloned();
    let rows = entry.map(|e| e["details"]["rows"].clone()).unwrap_or_default();
    assert_eq!((rows["messages"].as_u64(), rows["conversations"].as_u64()), (Some(1), Some(1)), "{log}");
    t.assert_not_stored(&["randevu iptali"]).await;
}
clock_test!(disconnected_channel_is_purged);

/// With every 24-hour window closed, a verification code goes in an approved AUTHENTICATION
/// template (the code in the body and the copy-code button); without one the request says why.
async fn verification_code_outside_the_window(t: &TestServer, clock: &ManualClock) {
    let a = t.tenant("Bank").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (conversation, _) = t.customer_writes(a.id, &wa, "905320000021", "Merhaba").await;
    let (_, conv) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    let id = conv["contact"]["id"].as_str().unwrap().to_owned();
    clock.advance(2 * DAY);

    let path = format!("/api/v1/privacy/requests/{}", request(&api, &id, "access").await["id"].as_str().unwrap());
    t.eventually("delivery failed", async || api.get(&path).await.1["code_delivery"]["status"] == "failed").await;
    assert_eq!(api.get(&path).await.1["code_delivery"]["reason"], "no_authentication_template");

    let (s, tpl) = api
        .post(
            "/api/v1/templates",
            json!({"channel_id": wa.channel_id, "name": "data_request_code", "language": "en_US",
                "category": "AUTHENTICATION", "components": [
                    {"type": "BODY", "text": "{{1}} is your verification code.", "example": {"body_text": [["123456"]]}},
                    {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{tpl}");
    t.eventually("template approved", async || {
        let (_, list) = api.get("/api/v1/templates").await;
        list["items"].as_array().unwrap().iter().any(|t| t["name"] == "data_request_code" && t["status"] == "APPROVED")
    })
    .await;

    let path = format!("/api/v1/privacy/requests/{}", request(&api, &id, "export").await["id"].as_str().unwrap());
    let mut sent = Value::Null;
    t.eventually("the code went out in the template", async || {
        let v: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
        sent = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["body"]["template"]["name"] == "data_request_code")
            .map(|m| m["body"]["template"].clone())
            .unwrap_or_default();
        !sent.is_null()
    })
    .await;
    let code = sent["components"][0]["parameters"][0]["text"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6, "{sent}");
    assert_eq!(sent["components"][1]["sub_type"], "url", "the copy-code button carries it too: {sent}");
    assert_eq!(sent["components"][1]["parameters"][0]["text"], code.as_str());
    let (_, r) = api.get(&path).await;
    assert_eq!(r["code_delivery"]["template"], "data_request_code", "{r}");
    let (_, page) = api.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200")).await;
    let shown = page.to_string();
    assert!(!shown.contains(&code) && shown.contains("•••••• is your verification code"), "{shown}");
    let (s, v) = api.post(&format!("{path}/verify"), json!({"code": code})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("verified")), "{v}");
}
clock_test!(verification_code_outside_the_window);
