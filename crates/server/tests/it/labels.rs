//! Labels across a tenant: `GET /api/v1/labels` with counts of conversations and contacts,
//! renaming one everywhere (merging into a name in use) and deleting one everywhere, through the
//! API and `/settings/labels` (after a confirmation checked by the server); another tenant's
//! labels are never listed or touched.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::inbox::{conversation, escaped, forged, page, post};
use crate::support::{Api, TestServer, error_code};
use crate::ui::{location, logged_in};

fn labels_of(v: &Value) -> Vec<(String, i64, i64)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["conversations"].as_i64().unwrap(),
                l["contacts"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(name: &str, conversations: i64, contacts: i64) -> (String, i64, i64) {
    (name.to_owned(), conversations, contacts)
}

async fn labels_listed_renamed_and_deleted(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api = Api::new(t, &a.key);
    let other = Api::new(t, &b.key);
    let wa = t.whatsapp(&a.key).await;
    let (one, _) = t.customer_writes(a.id, &wa, "905321112233", "fatura").await;
    let (two, _) = t.customer_writes(a.id, &wa, "905559998877", "iade").await;
    let labels = |l: &[&str]| json!({"labels": l});
    api.patch(&format!("/api/v1/conversations/{one}"), labels(&["vip", "iade"])).await;
    api.patch(&format!("/api/v1/conversations/{two}"), labels(&["önemli", "vip"])).await;
    let (status, contact) = api.post("/api/v1/contacts", json!({"name": "Ayşe", "labels": ["vip", "bayi"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    // Another tenant's labels, some with the same names.
    let (status, _) = other.post("/api/v1/contacts", json!({"name": "B", "labels": ["vip", "gizli"]})).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, list) = api.get("/api/v1/labels").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        labels_of(&list),
        vec![row("bayi", 0, 1), row("iade", 1, 0), row("vip", 2, 1), row("önemli", 1, 0)],
        "every label of the tenant with its counts, no other tenant's"
    );
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/labels/{name}"]["patch"].is_object(), "documented");

    // Rename: validated like labels, the tenant's own, settings:manage only.
    let (status, body) = api.patch("/api/v1/labels/iade", json!({"name": " "})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_label"), "{body}");
    let (status, _) = api.patch("/api/v1/labels/iade", json!({"name": "x".repeat(51)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.patch("/api/v1/labels/iade", json!({"name": "x"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.patch("/api/v1/labels/gizli", json!({"name": "x"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.delete("/api/v1/labels/gizli").await.0, StatusCode::NOT_FOUND, "another tenant's label");
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let res = agent.patch(t.url("/api/v1/labels/iade")).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = agent.get(t.url("/api/v1/labels")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "agents may read them");

    // Renaming into a name in use merges: the conversation with both keeps one.
    let (status, merged) = api.patch("/api/v1/labels/iade", json!({"name": "  vip "})).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!((merged["name"].as_str(), merged["conversations"].as_i64()), (Some("vip"), Some(2)));
    assert_eq!(conversation(t, &a.key, &one).await["labels"], json!(["vip"]));
    let (status, renamed) = api.patch("/api/v1/labels/%C3%B6nemli", json!({"name": "acil"})).await;
    assert_eq!((status, renamed["conversations"].as_i64()), (StatusCode::OK, Some(1)), "{renamed}");
    assert_eq!(conversation(t, &a.key, &two).await["labels"], json!(["acil", "vip"]));
    let (_, list) = api.get("/api/v1/labels").await;
    assert_eq!(labels_of(&list), vec![row("acil", 1, 0), row("bayi", 0, 1), row("vip", 2, 1)]);
    let (_, list) = other.get("/api/v1/labels").await;
    assert_eq!(labels_of(&list), vec![row("gizli", 0, 1), row("vip", 0, 1)], "the other tenant's untouched");
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'label.renamed'").await, 2);

    // The settings page: the list for every reader, the forms for those who manage settings.
    let owner = logged_in(t, &a.owner).await;
    let (status, html) = page(&owner, t, "/settings/labels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"labels-table\"") && html.contains("action=\"/settings/labels/rename\""));
    assert!(!html.contains("gizli"), "another tenant's label is not listed");
    let (status, html) = page(&agent, t, "/settings/labels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("acil") && !html.contains("/settings/labels/rename"), "read-only for agents");
    let form = [("label", "acil"), ("name", "Acil <b>"), ("confirm", "yes")];
    assert_eq!(post(&agent, t, "/settings/labels/rename", &form).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(forged(&owner, t, "/settings/labels/rename", &form).await, StatusCode::FORBIDDEN);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    assert_eq!(post(&outsider, t, "/settings/labels/rename", &form).await.status(), StatusCode::NOT_FOUND);
    let delete_gizli = [("label", "gizli"), ("confirm", "yes")];
    assert_eq!(post(&owner, t, "/settings/labels/delete", &delete_gizli).await.status(), StatusCode::NOT_FOUND);
    // Without the confirmation nothing changes.
    let res = post(&owner, t, "/settings/labels/rename", &[("label", "acil"), ("name", "Acil <b>")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Tick the box to confirm."));
    let res = post(&owner, t, "/settings/labels/rename", &[("label", "acil"), ("name", ""), ("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(&owner, t, "/settings/labels/rename", &form).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/labels?done=renamed"));
    let (_, html) = page(&owner, t, "/settings/labels?done=renamed").await;
    assert!(html.contains("Label renamed.") && html.contains(&escaped("Acil <b>")) && !html.contains("Acil <b>"));
    assert_eq!(conversation(t, &a.key, &two).await["labels"], json!(["Acil <b>", "vip"]));

    // Delete: confirmed, everywhere, audited.
    let res = post(&owner, t, "/settings/labels/delete", &[("label", "vip")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(conversation(t, &a.key, &one).await["labels"], json!(["vip"]), "not without the confirmation");
    let res = post(&owner, t, "/settings/labels/delete", &[("label", "vip"), ("confirm", "yes")]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/labels?done=deleted"));
    assert_eq!(conversation(t, &a.key, &one).await["labels"], json!([]));
    let (_, c) = api.get(&format!("/api/v1/contacts/{contact_id}")).await;
    assert_eq!(c["labels"], json!(["bayi"]), "{c}");
    assert_eq!(api.delete("/api/v1/labels/bayi").await.0, StatusCode::NO_CONTENT);
    let (_, list) = api.get("/api/v1/labels").await;
    assert_eq!(labels_of(&list), vec![row("Acil <b>", 1, 0)]);
    let (_, list) = other.get("/api/v1/labels").await;
    assert_eq!(labels_of(&list), vec![row("gizli", 0, 1), row("vip", 0, 1)], "the other tenant's untouched");
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'label.deleted'").await, 2);
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'label.renamed'").await, 3);
}
server_test!(labels_listed_renamed_and_deleted);
