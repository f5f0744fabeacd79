//! Inbox search: by contact name prefix, phone digits and message words, through tokens that
//! hold no word in clear; never across tenants; gone with the data they came from.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::privacy::{count, tid_sql};
use crate::support::{Api, TestServer, error_code};

/// The ids of the conversations a search finds.
async fn found(api: &Api<'_>, q: &str) -> Vec<String> {
    let (s, page) = api.get(&format!("/api/v1/conversations?q={}", urlencode(q))).await;
    assert_eq!(s, StatusCode::OK, "{q}: {page}");
    ids(&page)
}

/// On SQLite, the FTS5 table holds exactly one row per search document: none left behind by
/// a removal (`search_fts_docsize` has a row per FTS5 row).
pub async fn assert_index_consistent(t: &TestServer) {
    if t.backend() == switchboard_storage::Backend::Sqlite {
        let rowid = "CASE WHEN d.conversation_id IS NULL THEN d.id ELSE ((SELECT c.search_key FROM conversations c
             WHERE c.tenant_id = d.tenant_id AND c.id = d.conversation_id) << 32) | d.id END";
        let docs = count(t, "SELECT COUNT(*) FROM search_docs").await;
        let fts = count(t, "SELECT COUNT(*) FROM search_fts_docsize").await;
        let matched = count(
            t,
            &format!("SELECT COUNT(*) FROM search_docs d WHERE EXISTS (SELECT 1 FROM search_fts_docsize f WHERE f.id = {rowid})"),
        )
        .await;
        assert_eq!((fts, matched), (docs, docs), "FTS5 rows, documents with their FTS5 row, documents");
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

fn urlencode(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn search_by_name_phone_and_text(t: &TestServer) {
    let a = t.tenant("Acme").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (first, _) = t.customer_writes(a.id, &wa, "905321112233", "Siparişim nerede kaldı?").await;
    let (second, _) = t.customer_writes(a.id, &wa, "905559998877", "Randevu almak istiyorum").await;
    // A contact an agent created, then wrote to first.
    let (s, ayse) = api.post("/api/v1/contacts", json!({"name": "Ayşe Yılmaz", "phone": "0532 444 55 66"})).await;
    assert_eq!(s, StatusCode::CREATED, "{ayse}");
    let (s, third) =
        api.post("/api/v1/conversations", json!({"channel_id": wa.channel_id, "contact_id": ayse["id"]})).await;
    assert!(s.is_success(), "{third}");
    let third = third["id"].as_str().unwrap().to_owned();

    // Message words, whatever the case, diacritics or Turkish İ/ı.
    assert_eq!(found(&api, "SİPARİŞİM").await, vec![first.clone()]);
    assert_eq!(found(&api, "siparisim nerede").await, vec![first.clone()]);
    assert_eq!(found(&api, "randevu").await, vec![second.clone()]);
    assert!(found(&api, "sipar").await.is_empty(), "message words match whole");
    assert!(found(&api, "siparisim randevu").await.is_empty(), "every word must match");
    // Name prefixes (the simulator's customers are all "Test Customer").
    assert_eq!(found(&api, "ayş").await, vec![third.clone()]);
    assert_eq!(found(&api, "YILM").await, vec![third.clone()]);
    let mut customers = found(&api, "test cust").await;
    customers.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(customers, want);
    // Phone digits: the last ones, the national number with a trunk 0, in full.
    assert_eq!(found(&api, "2233").await, vec![first.clone()]);
    assert_eq!(found(&api, "0532 111 22 33").await, vec![first.clone()]);
    assert_eq!(found(&api, "+90 532 444 55 66").await, vec![third.clone()]);
    // With the other filters.
    let (_, page) = api.get("/api/v1/conversations?q=randevu&status=resolved").await;
    assert!(ids(&page).is_empty());

    // An agent's message is searchable too.
    let (s, m) = api
        .post(&format!("/api/v1/conversations/{second}/messages"), json!({"type": "text", "text": "Kargonuz yolda"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{m}");
    assert_eq!(found(&api, "kargonuz").await, vec![second.clone()]);

    // Contacts: by name prefix or phone digits.
    let (s, page) = api.get("/api/v1/contacts?q=yilmaz").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), vec![ayse["id"].as_str().unwrap().to_owned()]);
    let (_, page) = api.get("/api/v1/contacts?q=8877").await;
    assert_eq!(ids(&page).len(), 1);

    // A rename replaces the name's tokens.
    let (s, _) =
        api.patch(&format!("/api/v1/contacts/{}", ayse["id"].as_str().unwrap()), json!({"name": "Zeynep Kaya"})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(found(&api, "ayse").await.is_empty());
    assert_eq!(found(&api, "zey").await, vec![third.clone()]);
    assert_eq!(found(&api, "5566").await, vec![third.clone()], "the phone's tokens stay");

    // Too short: 422.
    for q in ["a", "  ", "123", "!!", "ş"] {
        let (s, body) = api.get(&format!("/api/v1/conversations?q={}", urlencode(q))).await;
        if q.trim().is_empty() {
            assert_eq!(s, StatusCode::OK, "an empty search is no search");
            continue;
        }
        assert_eq!((s, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "query_too_short"), "{q}");
    }
    let (s, body) = api.get("/api/v1/contacts?q=x").await;
    assert_eq!((s, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "query_too_short"));

    // Another tenant with the same customer and words finds only its own.
    let b = t.tenant("Globex").await;
    let bapi = Api::new(t, &b.key);
    let bwa = t.whatsapp(&b.key).await;
    let (theirs, _) = t.customer_writes(b.id, &bwa, "905321112233", "Siparişim nerede kaldı?").await;
    assert_eq!(found(&bapi, "siparisim").await, vec![theirs.clone()]);
    assert_eq!(found(&bapi, "2233").await, vec![theirs.clone()]);
    assert!(found(&bapi, "zeynep").await.is_empty());
    assert!(found(&bapi, "kargonuz").await.is_empty());
    assert_eq!(found(&api, "siparisim").await, vec![first.clone()]);

    // No word is stored in clear.
    t.assert_not_stored(&["siparisim", "Siparişim", "kargonuz", "zeynep"]).await;
}
server_test!(search_by_name_phone_and_text);

/// Erasure, contact deletion and retention take the tokens with the data.
async fn tokens_go_with_their_data(t: &TestServer) {
    let a = t.tenant("Clinic").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    t.customer_writes(a.id, &wa, "905551112233", "ilaç listem ektedir").await;
    let (conversation, _) = t.customer_writes(a.id, &wa, "905551112233", "reçetem hazır mı").await;
    let (_, c) = api.get(&format!("/api/v1/conversations/{conversation}")).await;
    let subject = c["contact"]["id"].as_str().unwrap().to_owned();
    t.customer_writes(a.id, &wa, "905554443322", "başka müşteri").await;
    let other_contact = found(&api, "3322").await;
    assert_eq!(other_contact.len(), 1);
    let tokens_of =
        async |contact: &str| t.count(a.id, "search_docs", &format!("AND contact_id = {}", tid_sql(t, contact))).await;
    // The contact's name and phone, and each of its two messages.
    assert_eq!(tokens_of(&subject).await, 3);

    // Erasure through a data-subject request.
    let (s, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": subject, "type": "erasure"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap();
    let (s, _) = api
        .post(&format!("/api/v1/privacy/requests/{rid}/verify"), json!({"operator_attestation": "Seen in person"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{rid}/fulfil"), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");
    assert!(r["result"]["steps"].as_array().unwrap().iter().any(|s| s["step"] == "search_tokens"), "{r}");
    assert_eq!(tokens_of(&subject).await, 0);
    assert_index_consistent(t).await;
    assert!(found(&api, "recetem").await.is_empty());
    assert!(found(&api, "2233").await.is_empty());

    // Deleting the other contact through the API.
    let (_, oc) = api.get(&format!("/api/v1/conversations/{}", other_contact[0])).await;
    let other = oc["contact"]["id"].as_str().unwrap().to_owned();
    assert!(tokens_of(&other).await > 0);
    assert_eq!(api.delete(&format!("/api/v1/contacts/{other}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(t.count(a.id, "search_docs", "").await, 0);
    assert_index_consistent(t).await;
}
server_test!(tokens_go_with_their_data);
