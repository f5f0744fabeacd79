//! Health, readiness, metrics, the OpenAPI document, and the error shape for bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, TestServer, error_code};

async fn health_ready_metrics_and_openapi(t: &TestServer) {
    let c = reqwest::Client::new();
    assert_eq!(c.get(t.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    let ready: Value = c.get(t.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    let tenant = t.tenant("Acme").await;
    let api = Api::new(t, &tenant.key);
    api.get("/api/v1/contacts").await;
    let metrics = c.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("switchboard_http_requests_total{route=\"/api/v1/contacts\",method=\"GET\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_http_request_duration_seconds_bucket{route=\"/api/v1/contacts\""));

    let doc: Value = c.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/users",
        "/api/v1/api-keys",
        "/api/v1/audit",
        "/api/v1/me",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    assert_eq!(doc["paths"]["/api/v1/contacts"]["post"]["x-permission"], "contacts:write");
    assert!(doc["components"]["schemas"]["ContactView"].is_object());
}
server_test!(health_ready_metrics_and_openapi);

async fn bad_input_gets_a_clear_error(t: &TestServer) {
    let tenant = t.tenant("Acme").await;
    let c = reqwest::Client::new();
    let post = |body: &'static str, ct: &'static str| {
        c.post(t.url("/api/v1/contacts")).bearer_auth(&tenant.key).header("content-type", ct).body(body).send()
    };
    let check = async |res: reqwest::Response, status: StatusCode, code: &str| {
        assert_eq!(res.status(), status);
        let body: Value = res.json().await.unwrap();
        assert_eq!(error_code(&body), code, "{body}");
    };
    check(post("{not json", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed").await;
    check(post("{\"name\": 5}", "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        .await;
    check(
        post("{\"tenant_id\": \"x\"}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    check(post("{}", "text/plain").await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    // Depth inside a free-form object: serde's recursion limit stops it, no stack overflow.
    let nested = format!("{{\"attributes\": {}1{}}}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let res = c
        .post(t.url("/api/v1/contacts"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    check(res, StatusCode::BAD_REQUEST, "malformed").await;
    let invalid_utf8 = vec![b'{', b'"', b'n', b'a', b'm', b'e', b'"', b':', b'"', 0xff, 0xfe, b'"', b'}'];
    let res = c
        .post(t.url("/api/v1/contacts"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body(invalid_utf8)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let res = c
        .post(t.url("/api/v1/contacts"))
        .bearer_auth(&tenant.key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    check(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let api = Api::new(t, &tenant.key);
    let (s, b) = api.get("/api/v1/nope").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = api.get("/api/v1/contacts/not-a-uuid").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::BAD_REQUEST, "malformed"));
    let (s, b) = api.get("/api/v1/contacts?cursor=%%%").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = api.get("/api/v1/contacts?limit=abc").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::BAD_REQUEST, "malformed"));
    let (s, b) = api.post("/api/v1/contacts", json!({"phone": "12"})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone"));
    assert_eq!(b["error"]["field"], "phone");

    // Credentials.
    let (s, b) = Api::new(t, "sbk_nope_nope").get("/api/v1/contacts").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let res = c.get(t.url("/api/v1/contacts")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A cookie-authenticated request from another site is refused before it reaches a handler.
    let res = c
        .post(t.url("/api/v1/contacts"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
server_test!(bad_input_gets_a_clear_error);

async fn security_headers_are_set(t: &TestServer) {
    let res = reqwest::get(t.url("/healthz")).await.unwrap();
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
}
server_test!(security_headers_are_set);
