//! Contacts through the API: normalisation, validation, uniqueness, masking, tenant isolation,
//! auditing, and no plaintext personal data anywhere in the database.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::support::{Api, TestServer, error_code};

async fn contact_lifecycle(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let api = Api::new(t, &acme.key);

    let (s, c) = api
        .post("/api/v1/contacts", json!({"name": "Ayşe Yılmaz", "phone": "0532 111 22 33", "email": "Ayse@Example.com", "labels": ["vip", "vip", "clinic"], "attributes": {"city": "İzmir"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["phone"], "+905321112233");
    assert_eq!(c["labels"], json!(["clinic", "vip"]));
    assert!(c["id"].is_string() && c["created_at"].is_string());
    let id = c["id"].as_str().unwrap().to_owned();

    // The same number in another spelling is the same person: conflict, naming the field.
    let (s, b) = api.post("/api/v1/contacts", json!({"phone": "+90 (532) 111-22-33"})).await;
    assert_eq!((s, b["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("phone")));
    let (s, b) = api.post("/api/v1/contacts", json!({"email": "not-an-email"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"));

    // Found by exact phone (any spelling) and by e-mail (any case) through blind indexes.
    let (_, found) = api.get("/api/v1/contacts?phone=%2B90%20532%20111%2022%2033").await;
    assert_eq!(found["items"][0]["id"], id.as_str());
    let (_, found) = api.get("/api/v1/contacts?email=ayse@example.com").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, found) = api.get("/api/v1/contacts?label=clinic").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    // PATCH: absent keeps, null clears.
    let (s, c) = api.patch(&format!("/api/v1/contacts/{id}"), json!({"email": null, "name": "Ayşe Y."})).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (c["email"].clone(), c["name"].clone(), c["phone"].clone()),
        (Value::Null, json!("Ayşe Y."), json!("+905321112233"))
    );

    // Paging through many contacts.
    for i in 0..7 {
        api.post("/api/v1/contacts", json!({"name": format!("C{i}")})).await;
    }
    let (_, p1) = api.get("/api/v1/contacts?limit=5").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 5);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = api.get(&format!("/api/v1/contacts?limit=5&cursor={cursor}")).await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 3);
    assert!(p2["next_cursor"].is_null());

    // Every read and change is in the audit log, with field names and no values.
    let (_, audit) = api.get(&format!("/api/v1/audit?target_kind=contact&target_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["contact.updated", "contact.created"]);
    assert!(!audit.to_string().contains("Ayşe"));
    api.get(&format!("/api/v1/contacts/{id}")).await;
    let (_, audit) = api.get(&format!("/api/v1/audit?target_id={id}")).await;
    assert_eq!(audit["items"][0]["action"], "contact.read");

    // Delete, then it is gone and its key with it.
    let (s, _) = api.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api.delete(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
server_test!(contact_lifecycle);

/// Another tenant's contacts are never visible: not by id, not in lists, not by phone.
async fn contacts_are_isolated_between_tenants(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let (api_a, api_b) = (Api::new(t, &a.key), Api::new(t, &b.key));
    let (_, c) = api_a.post("/api/v1/contacts", json!({"name": "Only A", "phone": "+905321112233"})).await;
    let id = c["id"].as_str().unwrap();
    for (s, _) in [
        api_b.get(&format!("/api/v1/contacts/{id}")).await,
        api_b.patch(&format!("/api/v1/contacts/{id}"), json!({"name": "mine now"})).await,
        api_b.delete(&format!("/api/v1/contacts/{id}")).await,
    ] {
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (_, list) = api_b.get("/api/v1/contacts").await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = api_b.get("/api/v1/contacts?phone=%2B905321112233").await;
    assert_eq!(list["items"], json!([]));
    // B may hold the same number as A: uniqueness is per tenant.
    let (s, _) = api_b.post("/api/v1/contacts", json!({"phone": "+905321112233"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, still) = api_a.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(still["name"], "Only A");
}
server_test!(contacts_are_isolated_between_tenants);

/// Users without `contacts:view_pii` (agents) see masked phone numbers and e-mails.
async fn agents_see_masked_pii(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let (_, c) = Api::new(t, &acme.key)
        .post("/api/v1/contacts", json!({"phone": "+905321112233", "email": "ayse@example.com"}))
        .await;
    let id = c["id"].as_str().unwrap();
    let agent = t.user(acme.id, Role::Agent).await;
    let client = t.login(&agent).await;
    let seen: Value = client.get(t.url(&format!("/api/v1/contacts/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["phone"], "+90********33");
    assert_eq!(seen["email"], "a***@example.com");
    let supervisor = t.login(&t.user(acme.id, Role::Supervisor).await).await;
    let seen: Value =
        supervisor.get(t.url(&format!("/api/v1/contacts/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["phone"], "+905321112233");
}
server_test!(agents_see_masked_pii);

/// Contacts created with known values through the API: none of the values appears in any
/// text or byte column of the database (or the SQLite files).
async fn no_plaintext_personal_data_at_rest(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let api = Api::new(t, &acme.key);
    let (s, _) = api
        .post("/api/v1/contacts", json!({"name": "Zeynep Kahramanoğlu", "phone": "+905559876543", "email": "zeynep.k@example.org", "attributes": {"note": "allergic-to-penicillin"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, c) = api.post("/api/v1/contacts", json!({"name": "Mehmet Öztürk", "phone": "+4915123456789"})).await;
    api.patch(&format!("/api/v1/contacts/{}", c["id"].as_str().unwrap()), json!({"email": "mehmet.o@example.net"}))
        .await;
    t.assert_not_stored(&[
        "Zeynep",
        "Kahramano",
        "905559876543",
        "5559876543",
        "zeynep.k",
        "allergic-to-penicillin",
        "Mehmet",
        "15123456789",
        "mehmet.o",
    ])
    .await;
}
server_test!(no_plaintext_personal_data_at_rest);
