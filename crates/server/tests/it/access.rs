//! The role × route matrix: every route of the published OpenAPI document, called by every role
//! of tenant A, by an admin of tenant B, and anonymously. The expected answer follows from the
//! route's declared permission and the permission table alone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::{Permission, Role};

use crate::support::{Api, TestServer, User};

/// A fresh object of tenant A for the `{id}` of `path`, so destructive calls never interfere.
async fn object_for(
    t: &TestServer,
    api: &Api<'_>,
    path: &str,
    tenant: switchboard_core::TenantId,
) -> String {
    if path.starts_with("/api/v1/contacts/") {
        let (_, c) = api
            .post("/api/v1/contacts", json!({"name": "Matrix"}))
            .await;
        c["id"].as_str().unwrap().to_owned()
    } else if path.starts_with("/api/v1/users/") {
        t.user(tenant, Role::Agent).await.id.to_string()
    } else if path.starts_with("/api/v1/api-keys/") {
        let (_, k) = api
            .post(
                "/api/v1/api-keys",
                json!({"name": "m", "scopes": ["contacts:read"]}),
            )
            .await;
        k["api_key"]["id"].as_str().unwrap().to_owned()
    } else if path.starts_with("/api/v1/privacy/requests/") {
        let (_, c) = api
            .post("/api/v1/contacts", json!({"name": "Subject"}))
            .await;
        let (_, r) = api
            .post(
                "/api/v1/privacy/requests",
                json!({"contact_id": c["id"], "type": "export"}),
            )
            .await;
        r["id"].as_str().unwrap().to_owned()
    } else if path.starts_with("/api/v1/privacy/holds/") {
        let (_, h) = api
            .post(
                "/api/v1/privacy/holds",
                json!({"scope": "tenant", "reason": "matrix"}),
            )
            .await;
        h["id"].as_str().unwrap().to_owned()
    } else {
        panic!("the matrix does not know how to make an object for {path}: add it here")
    }
}

async fn call(t: &TestServer, client: &reqwest::Client, method: &Method, path: &str) -> StatusCode {
    let mut req = client.request(method.clone(), t.url(path));
    if *method == Method::POST || *method == Method::PATCH {
        req = req.json(&json!({}));
    }
    req.send().await.unwrap().status()
}

async fn every_route_enforces_its_permission(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api_a = Api::new(t, &a.key);
    let doc: Value = reqwest::get(t.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut users: Vec<User> = Vec::new();
    for role in Role::ALL {
        users.push(t.user(a.id, role).await);
    }
    let outsider = t.user(b.id, Role::Admin).await;
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let public = op.get("security").is_none();
            let needs: Option<Permission> = op
                .get("x-permission")
                .and_then(Value::as_str)
                .map(|s| s.parse().unwrap());
            let has_id = template.contains("{id}");
            let label = format!("{method} {template}");

            // Anonymous.
            let path = if has_id {
                template.replace("{id}", &object_for(t, &api_a, template, a.id).await)
            } else {
                template.clone()
            };
            let status = call(t, &reqwest::Client::new(), &method, &path).await;
            if public {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{label} is public");
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{label} anonymous");
            }
            if public {
                checked += 1;
                continue;
            }

            // Each role of tenant A.
            for user in &users {
                let path = if has_id {
                    template.replace("{id}", &object_for(t, &api_a, template, a.id).await)
                } else {
                    template.clone()
                };
                let client = t.login(user).await;
                let status = call(t, &client, &method, &path).await;
                let allowed = needs.is_none_or(|p| user.role.can(p));
                assert!(
                    !status.is_server_error(),
                    "{label} as {:?} gave {status}",
                    user.role
                );
                if allowed {
                    assert!(
                        status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                        "{label} as {:?} must be allowed, got {status}",
                        user.role
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{label} as {:?}", user.role);
                }
                checked += 1;
            }

            // An admin of tenant B never reaches tenant A's objects.
            if has_id {
                let path = template.replace("{id}", &object_for(t, &api_a, template, a.id).await);
                let client = t.login(&outsider).await;
                assert_eq!(
                    call(t, &client, &method, &path).await,
                    StatusCode::NOT_FOUND,
                    "{label} across tenants"
                );
                // …and it is still there for its owner.
                if template.starts_with("/api/v1/contacts/") {
                    assert_eq!(api_a.get(&path).await.0, StatusCode::OK);
                }
            }
        }
    }
    assert!(checked > 100, "the matrix covered only {checked} cases");
}
server_test!(every_route_enforces_its_permission);
