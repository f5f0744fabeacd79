//! Sessions, 2FA, rate limits, the IP allow-list and API keys, through HTTP.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use switchboard_app::AppConfig;
use switchboard_app::clock::ManualClock;
use switchboard_core::{Millis, Role};
use switchboard_storage::Backend;
use switchboard_web::WebConfig;

use crate::support::{Api, PASSWORD, TestServer, error_code};

fn session_token(res: &reqwest::Response) -> String {
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let (pair, _) = cookie.split_once(';').unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

async fn login_raw(
    t: &TestServer,
    email: &str,
    password: &str,
    cookie: Option<&str>,
    ip: Option<&str>,
) -> reqwest::Response {
    let mut req =
        reqwest::Client::new().post(t.url("/api/v1/auth/login")).json(&json!({"email": email, "password": password}));
    if let Some(c) = cookie {
        req = req.header(COOKIE, format!("sb_session={c}"));
    }
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

async fn login(t: &TestServer, email: &str) -> String {
    let res = login_raw(t, email, PASSWORD, None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    session_token(&res)
}

fn with(t: &TestServer, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, t.url(path)).header(COOKIE, format!("sb_session={token}"))
}

async fn me_with(t: &TestServer, token: &str) -> StatusCode {
    with(t, reqwest::Method::GET, "/api/v1/me", token).send().await.unwrap().status()
}

async fn sessions_end_when_they_should(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let owner = &acme.owner;

    let res = login_raw(t, &owner.email, PASSWORD, None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    let first = session_token(&res);
    assert!(!res.text().await.unwrap().contains(&first), "the token is only in the cookie");
    assert_eq!(me_with(t, &first).await, StatusCode::OK);

    // Logging in again from the same browser replaces the session (no fixation).
    let second = session_token(&login_raw(t, &owner.email, PASSWORD, Some(&first), None).await);
    assert_ne!(first, second);
    assert_eq!(me_with(t, &first).await, StatusCode::UNAUTHORIZED);

    // Logout kills the token on the server.
    let res = with(t, reqwest::Method::POST, "/api/v1/auth/logout", &second).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_with(t, &second).await, StatusCode::UNAUTHORIZED);

    // A wrong password and an unknown account answer the same.
    let a = login_raw(t, &owner.email, "wrong password!", None, None).await;
    let b = login_raw(t, "nobody@example.test", "wrong password!", None, None).await;
    assert_eq!((a.status(), b.status()), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());

    // A password change ends the user's other sessions, not the one that made it.
    let one = login(t, &owner.email).await;
    let two = login(t, &owner.email).await;
    let res = with(t, reqwest::Method::POST, "/api/v1/me/password", &one)
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!((me_with(t, &one).await, me_with(t, &two).await), (StatusCode::OK, StatusCode::UNAUTHORIZED));
    assert_eq!(login_raw(t, &owner.email, PASSWORD, None, None).await.status(), StatusCode::UNAUTHORIZED);

    // A role change, or a disabled account, ends that user's sessions at once.
    let agent = t.user(acme.id, Role::Agent).await;
    let token = login(t, &agent.email).await;
    let admin = Api::new(t, &acme.key);
    let (s, u) = admin.patch(&format!("/api/v1/users/{}", agent.id), json!({"role": "analyst"})).await;
    assert_eq!((s, u["role"].as_str()), (StatusCode::OK, Some("analyst")));
    assert_eq!(me_with(t, &token).await, StatusCode::UNAUTHORIZED);
    let token = login(t, &agent.email).await;
    admin.patch(&format!("/api/v1/users/{}", agent.id), json!({"disabled": true})).await;
    assert_eq!(me_with(t, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_raw(t, &agent.email, PASSWORD, None, None).await.status(), StatusCode::UNAUTHORIZED);

    // API keys never act on owners; the last owner cannot demote themself; an admin cannot
    // make owners.
    let (s, _) = admin.patch(&format!("/api/v1/users/{}", owner.id), json!({"role": "agent"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let solo = t.tenant("Solo").await;
    let res = with(
        t,
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{}", solo.owner.id),
        &login(t, &solo.owner.email).await,
    )
    .json(&json!({"role": "agent"}))
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "role");
    let a = t.user(acme.id, Role::Admin).await;
    let res = with(t, reqwest::Method::POST, "/api/v1/users", &login(t, &a.email).await)
        .json(&json!({"email": "new-owner@example.test", "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // "Log out everywhere".
    let u = t.user(acme.id, Role::Agent).await;
    let (one, two) = (login(t, &u.email).await, login(t, &u.email).await);
    let list: Value =
        with(t, reqwest::Method::GET, "/api/v1/me/sessions", &one).send().await.unwrap().json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!((items.len(), items.iter().filter(|s| s["current"] == true).count()), (2, 1));
    let res = with(t, reqwest::Method::DELETE, "/api/v1/me/sessions", &one).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!((me_with(t, &one).await, me_with(t, &two).await), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
}
server_test!(sessions_end_when_they_should);

/// Idle and absolute timeouts, measured with a clock the test moves.
#[tokio::test]
async fn sessions_time_out() {
    let clock = Arc::new(ManualClock::new(Millis(1_800_000_000_000)));
    let t = TestServer::start_full(Backend::Sqlite, AppConfig::for_tests(), WebConfig::default(), clock.clone())
        .await
        .unwrap();
    let acme = t.tenant("Acme").await;
    let token = login(&t, &acme.owner.email).await;
    clock.advance(Millis::HOUR);
    assert_eq!(me_with(&t, &token).await, StatusCode::OK);
    clock.advance(2 * Millis::HOUR + Millis::MINUTE);
    assert_eq!(me_with(&t, &token).await, StatusCode::UNAUTHORIZED, "idle for over 2 h");

    let token = login(&t, &acme.owner.email).await;
    for hour in 1..12 {
        clock.advance(Millis::HOUR);
        assert_eq!(me_with(&t, &token).await, StatusCode::OK, "active session at hour {hour}");
    }
    clock.advance(Millis::HOUR);
    assert_eq!(me_with(&t, &token).await, StatusCode::UNAUTHORIZED, "12 h absolute limit");
    t.stop().await;
}

fn totp(secret_b32: &str) -> totp_rs::Totp {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).unwrap();
    totp_rs::Builder::new().with_secret(secret.as_bytes().to_vec()).with_account_name("test").build().unwrap()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn two_factor_login(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let user = t.user(acme.id, Role::Supervisor).await;
    let token = login(t, &user.email).await;
    let res = with(t, reqwest::Method::POST, "/api/v1/me/totp", &token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let enrol: Value = res.json().await.unwrap();
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(enrol["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"));
    let codes_of = totp(enrol["secret"].as_str().unwrap());

    let res = with(t, reqwest::Method::POST, "/api/v1/me/totp/confirm", &token)
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let now = now_secs();
    let res = with(t, reqwest::Method::POST, "/api/v1/me/totp/confirm", &token)
        .json(&json!({"code": codes_of.generate(now).to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> =
        serde_json::from_value(res.json::<Value>().await.unwrap()["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);

    // Login now stops at the second factor: nothing else is reachable meanwhile.
    let res = login_raw(t, &user.email, PASSWORD, None, None).await;
    let pending = session_token(&res);
    assert_eq!(res.json::<Value>().await.unwrap()["mfa_required"], true);
    let res = with(t, reqwest::Method::GET, "/api/v1/me", &pending).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res.json().await.unwrap()), "mfa_required");
    let step = |code: String, tok: &str| {
        with(t, reqwest::Method::POST, "/api/v1/auth/totp", tok).json(&json!({"code": code})).send()
    };
    assert_eq!(
        step("123456".into(), &pending).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "a wrong code is refused"
    );
    // The enrolment used the current step; the next step's code is accepted once (skew 1).
    let next = codes_of.generate(now + 30).to_string();
    assert_eq!(step(next.clone(), &pending).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(me_with(t, &pending).await, StatusCode::OK);

    // Replaying that code, or an older one, on a new login is refused.
    let again = session_token(&login_raw(t, &user.email, PASSWORD, None, None).await);
    assert_eq!(step(next, &again).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(step(codes_of.generate(now).to_string(), &again).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A recovery code works, once.
    assert_eq!(step(codes[0].to_uppercase(), &again).await.unwrap().status(), StatusCode::NO_CONTENT);
    let third = session_token(&login_raw(t, &user.email, PASSWORD, None, None).await);
    assert_eq!(step(codes[0].clone(), &third).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Too many wrong codes end the pending session: even a right code no longer helps.
    for _ in 0..4 {
        step("999999".into(), &third).await.unwrap();
    }
    assert_eq!(step(codes[1].clone(), &third).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Every step is audited.
    let (_, audit) = Api::new(t, &acme.key).get(&format!("/api/v1/audit?target_kind=user&target_id={}", user.id)).await;
    assert!(audit.to_string().contains("user.totp_enabled"));
    let (_, all) = Api::new(t, &acme.key).get("/api/v1/audit?limit=200").await;
    for action in ["login.succeeded", "login.mfa_failed", "login.mfa_passed"] {
        assert!(all.to_string().contains(action), "{action} not audited");
    }
}
server_test!(two_factor_login);

/// Login is limited per client address and per account-and-address: an attacker guessing the
/// owner's password elsewhere does not lock the owner out.
#[tokio::test]
async fn login_is_rate_limited_without_locking_out_the_owner() {
    let mut cfg = AppConfig::for_tests();
    cfg.limits.login_per_ip = 6;
    cfg.limits.login_per_account_ip = 3;
    cfg.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let t = TestServer::start(Backend::Sqlite, cfg).await.unwrap();
    let acme = t.tenant("Acme").await;
    let owner = &acme.owner.email;
    let attacker = Some("198.51.100.66");
    for _ in 0..3 {
        assert_eq!(login_raw(&t, owner, "guess guess guess", None, attacker).await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_raw(&t, owner, PASSWORD, None, attacker).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password: this address is throttled");
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(error_code(&res.json().await.unwrap()), "rate_limited");
    // The owner, from the office, is not locked out.
    assert_eq!(login_raw(&t, owner, PASSWORD, None, Some("203.0.113.10")).await.status(), StatusCode::OK);
    // Spraying many accounts from one address hits the per-address limit.
    for i in 0..3 {
        login_raw(&t, &format!("user{i}@example.test"), "guess guess guess", None, attacker).await;
    }
    assert_eq!(login_raw(&t, "other@example.test", "x", None, attacker).await.status(), StatusCode::TOO_MANY_REQUESTS);
    t.stop().await;
}

/// The allow-list applies to sessions, logins and API keys; X-Forwarded-For counts only from
/// a trusted proxy.
#[tokio::test]
async fn ip_allowlist_is_enforced() {
    let mut cfg = AppConfig::for_tests();
    cfg.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let t = TestServer::start(Backend::Sqlite, cfg).await.unwrap();
    let acme = t.tenant("Acme").await;
    let office = "203.0.113.10";
    let req = |method: reqwest::Method, path: &str, ip: &str| {
        reqwest::Client::new().request(method, t.url(path)).bearer_auth(&acme.key).header("x-forwarded-for", ip)
    };
    // A list that would shut out the caller is refused.
    let res = req(reqwest::Method::PATCH, "/api/v1/settings", office)
        .json(&json!({"ip_allowlist": ["10.0.0.0/8"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&res.json().await.unwrap()), "would_lock_you_out");
    let res = req(reqwest::Method::PATCH, "/api/v1/settings", office)
        .json(&json!({"ip_allowlist": ["203.0.113.0/24", "bad"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = req(reqwest::Method::PATCH, "/api/v1/settings", office)
        .json(&json!({"ip_allowlist": ["203.0.113.0/24"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(req(reqwest::Method::GET, "/api/v1/contacts", office).send().await.unwrap().status(), StatusCode::OK);
    let res = req(reqwest::Method::GET, "/api/v1/contacts", "198.51.100.7").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res.json().await.unwrap()), "ip_not_allowed");
    let res = login_raw(&t, &acme.owner.email, PASSWORD, None, Some("198.51.100.7")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(login_raw(&t, &acme.owner.email, PASSWORD, None, Some(office)).await.status(), StatusCode::OK);
    t.stop().await;

    // Without trusted proxies the header is the client's word, and is ignored.
    let t = TestServer::start(Backend::Sqlite, AppConfig::for_tests()).await.unwrap();
    let acme = t.tenant("Acme").await;
    let api = Api::new(&t, &acme.key);
    api.patch("/api/v1/settings", json!({"ip_allowlist": ["127.0.0.1/32"]})).await;
    let res = reqwest::Client::new()
        .get(t.url("/api/v1/contacts"))
        .bearer_auth(&acme.key)
        .header("x-forwarded-for", "203.0.113.10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "judged by the socket address 127.0.0.1");
    t.stop().await;
}

async fn api_keys_are_scoped_shown_once_and_revocable(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let admin = Api::new(t, &acme.key);
    let (s, created) = admin.post("/api/v1/api-keys", json!({"name": "reporting", "scopes": ["contacts:read"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sbk_"));
    let (_, list) = admin.get("/api/v1/api-keys").await;
    assert!(!list.to_string().contains(&key), "the key is never shown again");
    let id = created["api_key"]["id"].as_str().unwrap();

    let reader = Api::new(t, &key);
    assert_eq!(reader.get("/api/v1/contacts").await.0, StatusCode::OK);
    let (s, b) = reader.post("/api/v1/contacts", json!({})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    // A key cannot mint a key with more than it holds.
    let (_, k2) = admin.post("/api/v1/api-keys", json!({"name": "keys", "scopes": ["api_keys:manage"]})).await;
    let keymaker = k2["key"].as_str().unwrap().to_owned();
    let (s, b) =
        Api::new(t, &keymaker).post("/api/v1/api-keys", json!({"name": "x", "scopes": ["contacts:read"]})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "scope_not_held"));
    let (s, _) = admin.post("/api/v1/api-keys", json!({"name": "x", "scopes": ["nope:nope"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A secret with the right prefix but wrong body is refused.
    let forged = format!("{}_{}", &key[..key.rfind('_').unwrap()], "A".repeat(43));
    assert_eq!(Api::new(t, &forged).get("/api/v1/contacts").await.0, StatusCode::UNAUTHORIZED);

    assert_eq!(admin.delete(&format!("/api/v1/api-keys/{id}")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(reader.get("/api/v1/contacts").await.0, StatusCode::UNAUTHORIZED);
    let (_, audit) = admin.get(&format!("/api/v1/audit?target_kind=api_key&target_id={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created"]);
}
server_test!(api_keys_are_scoped_shown_once_and_revocable);
