//! The role × route matrix: every route of the published OpenAPI document, called by every role
//! of tenant A, by an admin of tenant B, and anonymously. The expected answer follows from the
//! route's declared permission and the permission table alone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::{Permission, Role};

use crate::support::{Api, TestServer, User, Whatsapp};

/// Tenant A's world for the matrix: its number, and the simulators of numbers made to be
/// disconnected (kept alive until the end of the test).
struct World<'a> {
    t: &'a TestServer,
    api: Api<'a>,
    tenant: switchboard_core::TenantId,
    wa: Whatsapp,
    spare: Vec<Whatsapp>,
    /// A user of the tenant, for `{user_id}`.
    member: String,
}

impl World<'_> {
    /// The route with its ids filled in: a fresh object for `{id}`, the tenant's user for
    /// `{user_id}`.
    async fn path_for(&mut self, template: &str) -> String {
        let object = self.object_for(template).await;
        template.replace("{id}", &object).replace("{user_id}", &self.member)
    }

    /// A fresh object of tenant A for the `{id}` of `path`, so destructive calls never
    /// interfere with each other.
    async fn object_for(&mut self, path: &str) -> String {
        let (t, api) = (self.t, &self.api);
        if path.starts_with("/api/v1/contacts/") {
            let (_, c) = api.post("/api/v1/contacts", json!({"name": "Matrix"})).await;
            c["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/users/") {
            t.user(self.tenant, Role::Agent).await.id.to_string()
        } else if path.starts_with("/api/v1/api-keys/") {
            let (_, k) = api.post("/api/v1/api-keys", json!({"name": "m", "scopes": ["contacts:read"]})).await;
            k["api_key"]["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/channels/whatsapp/") {
            let wa = t.whatsapp(api.key).await;
            let id = wa.channel_id.clone();
            self.spare.push(wa);
            id
        } else if path.starts_with("/api/v1/conversations/") {
            let from = format!("90532{:07}", rand::random_range(0..10_000_000u32));
            t.customer_writes(self.tenant, &self.wa, &from, "matrix").await.0
        } else if path.starts_with("/api/v1/templates/") {
            let name = format!("matrix_{}", rand::random_range(0..1_000_000_000u32));
            let (s, tpl) = api
                .post(
                    "/api/v1/templates",
                    json!({"channel_id": self.wa.channel_id, "name": name, "language": "tr", "category": "UTILITY",
                    "components": [{"type": "BODY", "text": "Merhaba"}]}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{tpl}");
            tpl["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/privacy/requests/") {
            let (_, c) = api.post("/api/v1/contacts", json!({"name": "Subject"})).await;
            let (_, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": c["id"], "type": "export"})).await;
            r["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/privacy/holds/") {
            let (_, h) = api.post("/api/v1/privacy/holds", json!({"scope": "tenant", "reason": "matrix"})).await;
            h["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/canned-responses/") {
            let shortcut = format!("m{}", rand::random_range(0..1_000_000_000u32));
            let (_, c) = api.post("/api/v1/canned-responses", json!({"shortcut": shortcut, "body": "matrix"})).await;
            c["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/teams/") {
            let name = format!("matrix {}", rand::random_range(0..1_000_000_000u32));
            let (_, team) = api.post("/api/v1/teams", json!({"name": name})).await;
            team["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/invitations/") {
            let email = format!("matrix-{}@example.test", rand::random_range(0..1_000_000_000u32));
            let (_, i) = api.post("/api/v1/invitations", json!({"email": email, "role": "agent"})).await;
            i["id"].as_str().unwrap().to_owned()
        } else if path.starts_with("/api/v1/media/") {
            // No media exists: permitted callers get 404, which the matrix accepts.
            uuid::Uuid::now_v7().to_string()
        } else {
            panic!("the matrix does not know how to make an object for {path}: add it here")
        }
    }
}

/// A body that passes validation, so that a request across tenants really reaches the tenant
/// check instead of stopping at the body.
fn valid_body(template: &str) -> Value {
    match template {
        "/api/v1/conversations/{id}/messages" => json!({"type": "text", "text": "hello"}),
        "/api/v1/canned-responses/{id}" => json!({"shortcut": "elsewhere", "body": "hello"}),
        "/api/v1/conversations/{id}/notes" => json!({"text": "hello"}),
        "/api/v1/teams/{id}" => json!({"name": "elsewhere"}),
        _ => json!({}),
    }
}

async fn call(t: &TestServer, client: &reqwest::Client, method: &Method, path: &str, body: Value) -> StatusCode {
    let mut req = client.request(method.clone(), t.url(path));
    if *method == Method::POST || *method == Method::PATCH || *method == Method::PUT {
        req = req.json(&body);
    }
    req.send().await.unwrap().status()
}

async fn every_route_enforces_its_permission(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api_a = Api::new(t, &a.key);
    let member = a.owner.id.to_string();
    let mut world =
        World { t, api: Api::new(t, &a.key), tenant: a.id, wa: t.whatsapp(&a.key).await, spare: Vec::new(), member };
    let doc: Value = reqwest::get(t.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
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
            let needs: Option<Permission> = op.get("x-permission").and_then(Value::as_str).map(|s| s.parse().unwrap());
            let has_id = template.contains("{id}");
            let label = format!("{method} {template}");

            // Anonymous.
            let path = if has_id { world.path_for(template).await } else { template.clone() };
            let status = call(t, &reqwest::Client::new(), &method, &path, json!({})).await;
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
                let path = if has_id { world.path_for(template).await } else { template.clone() };
                let client = t.login(user).await;
                let status = call(t, &client, &method, &path, json!({})).await;
                let allowed = needs.is_none_or(|p| user.role.can(p));
                assert!(!status.is_server_error(), "{label} as {:?} gave {status}", user.role);
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
                let path = world.path_for(template).await;
                let client = t.login(&outsider).await;
                assert_eq!(
                    call(t, &client, &method, &path, valid_body(template)).await,
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
