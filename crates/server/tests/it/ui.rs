//! The web app through HTTP: every page behind its permission (the same rule as the API route
//! it mirrors), sessions and redirects, cross-tenant 404s, CSRF, security headers, assets and
//! languages. What needs a real browser (htmx, the CSP in force, XSS) is in `browser.rs`.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use serde_json::json;
use switchboard_app::auth::Principal;
use switchboard_app::contacts::ContactInput;
use switchboard_core::Role;
use switchboard_web::auth::Access;
use switchboard_web::ui::layout::SETTINGS_PERMISSIONS;
use switchboard_web::{AppState, WebConfig};

use crate::support::{PASSWORD, TestServer, User};

/// A browser-like client: keeps cookies, does not follow redirects (the tests look at them).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) async fn logged_in(t: &TestServer, user: &User) -> reqwest::Client {
    let c = browser();
    let res =
        c.post(t.url("/login")).form(&[("email", user.email.as_str()), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {}", user.email);
    c
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn contact(t: &TestServer, tenant: switchboard_core::TenantId, name: &str) -> String {
    t.app
        .create_contact(
            &Principal::system(tenant, "test"),
            ContactInput {
                name: Some(Some(name.into())),
                phone: Some(Some("+905321112233".into())),
                ..ContactInput::default()
            },
        )
        .await
        .unwrap()
        .id
        .to_string()
}

async fn every_page_enforces_its_permission(t: &TestServer) {
    let state = AppState::new(t.app.clone(), WebConfig::default());
    let (_, api) = switchboard_web::api::router(&state);
    let (_, pages) = switchboard_web::ui::router(&state);

    // A page shares the access rule of the API route it mirrors.
    for p in &pages {
        if let Some((method, path)) = &p.mirrors {
            let a = api
                .iter()
                .find(|r| r.method == *method && r.path == *path)
                .unwrap_or_else(|| panic!("{} {} mirrors no API route {method} {path}", p.method, p.path));
            assert_eq!(a.access, p.access, "{} {} vs {method} {path}", p.method, p.path);
        } else {
            assert_ne!(p.access, Access::Public, "{} needs a rule", p.path);
        }
    }
    assert!(pages.len() > 30, "{} pages", pages.len());

    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let id = contact(t, a.id, "Matrix").await;
    let user_id = a.owner.id.to_string();
    let (_, request) = crate::support::Api::new(t, &a.key)
        .post("/api/v1/privacy/requests", serde_json::json!({"contact_id": id, "type": "access"}))
        .await;
    let request_id = request["id"].as_str().unwrap().to_owned();
    let wa = t.whatsapp(&a.key).await;
    let conv = crate::inbox::customer_with_markup(t, a.id, &wa).await;
    let fill = |path: &str| {
        let value = match path {
            p if p.starts_with("/settings/users") => &user_id,
            p if p.starts_with("/privacy/requests") => &request_id,
            p if p.starts_with("/inbox/") => &conv,
            _ => &id,
        };
        path.replace("{id}", value)
    };

    // Anonymous: every page but the login pages leads to /login.
    let anonymous = browser();
    for p in pages.iter().filter(|p| p.access != Access::Public) {
        let res = anonymous.request(p.method.clone(), t.url(&fill(p.path))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{} {}", p.method, p.path);
        assert!(location(&res).starts_with("/login"), "{} {}", p.method, p.path);
    }
    // …keeping where it was going, for GETs.
    let res = anonymous.get(t.url("/contacts?label=vip")).send().await.unwrap();
    assert_eq!(location(&res), "/login?next=/contacts%3Flabel%3Dvip");

    // Each role: GET pages open or answer 403 as the permission table says.
    let gets: Vec<_> =
        pages.iter().filter(|p| p.method == reqwest::Method::GET && p.access != Access::Public).collect();
    for role in Role::ALL {
        let user = t.user(a.id, role).await;
        let c = logged_in(t, &user).await;
        for p in &gets {
            let res = c.get(t.url(&fill(p.path))).send().await.unwrap();
            let status = res.status();
            let allowed = match p.access {
                Access::Perm(perm) => role.can(perm),
                _ => true,
            };
            let label = format!("GET {} as {role}", p.path);
            if p.path == "/settings" {
                let any = SETTINGS_PERMISSIONS.iter().any(|x| role.can(*x));
                let expected = if any { StatusCode::SEE_OTHER } else { StatusCode::FORBIDDEN };
                assert_eq!(status, expected, "{label}");
            } else if allowed {
                assert!(status == StatusCode::OK || status == StatusCode::SEE_OTHER, "{label}: {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{label}");
                let body = res.text().await.unwrap();
                assert!(body.contains("Not allowed"), "{label}: an error page");
            }
        }
    }

    // Another tenant's contact is not found, on every contact page.
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    for path in ["/contacts/{id}", "/contacts/{id}/edit", "/contacts/{id}/delete"] {
        let res = outsider.get(t.url(&path.replace("{id}", &id))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!res.text().await.unwrap().contains("Matrix"));
    }
    let res = outsider.post(t.url(&format!("/contacts/{id}/delete"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // …and another tenant's data-subject request, and consents.
    let res = outsider.get(t.url(&format!("/privacy/requests/{request_id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for (path, form) in [
        (format!("/privacy/requests/{request_id}/verify"), vec![("operator_attestation", "x")]),
        (format!("/privacy/requests/{request_id}/fulfil"), vec![]),
        (format!("/contacts/{id}/consents"), vec![("purpose", "marketing"), ("state", "withdrawn")]),
    ] {
        let res = outsider.post(t.url(&path)).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = outsider
        .post(t.url(&format!("/settings/users/{user_id}/role")))
        .form(&[("role", "agent")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // …and it is still there.
    let owner = logged_in(t, &a.owner).await;
    let res = owner.get(t.url(&format!("/contacts/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Matrix"));
    let res = owner.get(t.url("/contacts/not-an-id")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
server_test!(every_page_enforces_its_permission);

async fn sessions_and_forms(t: &TestServer) {
    let a = t.tenant("A").await;

    // A wrong password shows the form again with a message, in the browser's language.
    let c = browser();
    let res = c
        .post(t.url("/login"))
        .header(ACCEPT_LANGUAGE, "tr-TR,tr;q=0.9")
        .form(&[("email", a.owner.email.as_str()), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = res.text().await.unwrap();
    assert!(body.contains("E-posta veya parola hatalı"), "Turkish before login");
    assert!(body.contains(&a.owner.email), "the e-mail is kept");

    // The right one: a session cookie and on to the page asked for.
    let res = c
        .post(t.url("/login"))
        .form(&[("email", a.owner.email.as_str()), ("password", PASSWORD), ("next", "/settings/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/settings/users");
    // `next` never leads off the site.
    let res = c
        .post(t.url("/login"))
        .form(&[("email", a.owner.email.as_str()), ("password", PASSWORD), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/");
    assert_eq!(location(&c.get(t.url("/")).send().await.unwrap()), "/inbox");
    assert_eq!(location(&c.get(t.url("/login")).send().await.unwrap()), "/");

    // The user's language follows them after login.
    let res = c.post(t.url("/profile/locale")).form(&[("locale", "tr")]).send().await.unwrap();
    assert_eq!(location(&res), "/profile?done=language");
    let page = c.get(t.url("/profile?done=language")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("lang=\"tr\"") && page.contains("Dil kaydedildi"), "{page}");

    // Inline errors: the last owner cannot be demoted; the allow-list must include you.
    let res = c
        .post(t.url(&format!("/settings/users/{}/role", a.owner.id)))
        .header("hx-request", "true")
        .form(&[("role", "agent")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let row = res.text().await.unwrap();
    assert!(row.starts_with("<tr") && row.contains("Son sahibin rolü düşürülemez"), "a row fragment: {row}");
    let res = c
        .post(t.url("/settings/organisation"))
        .form(&[("name", "A"), ("default_region", "TR"), ("ip_allowlist", "203.0.113.0/24")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("sizi dışarıda bırakır") && body.contains("aria-invalid=\"true\""));

    // A fragment request without a session is told where to go rather than given a page.
    let res = browser().get(t.url("/contacts")).header("hx-request", "true").send().await.unwrap();
    assert_eq!(res.headers()["hx-redirect"], "/login");

    // Logout ends the session on the server.
    let res = c.post(t.url("/logout")).send().await.unwrap();
    assert_eq!(location(&res), "/login");
    assert!(location(&c.get(t.url("/contacts")).send().await.unwrap()).starts_with("/login"));

    // A session waiting for its second factor goes to the TOTP step, nowhere else.
    let user = t.user(a.id, Role::Agent).await;
    let p = Principal {
        tenant: a.id,
        actor: switchboard_app::auth::Actor::User { id: user.id, role: Role::Agent },
        ip: None,
        session: None,
    };
    let enrol = t.app.totp_begin(&p).await.unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&enrol.secret).unwrap().as_bytes().to_vec())
        .with_account_name("test")
        .build()
        .unwrap();
    t.app.totp_confirm(&p, &totp.generate_current().to_string()).await.unwrap();
    let c = browser();
    let res =
        c.post(t.url("/login")).form(&[("email", user.email.as_str()), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(location(&res), "/login/totp");
    assert_eq!(location(&c.get(t.url("/contacts")).send().await.unwrap()), "/login/totp");
    let res = c.post(t.url("/login/totp")).form(&[("code", "12")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("not valid"));
}
server_test!(sessions_and_forms);

async fn csrf_headers_assets_and_not_found(t: &TestServer) {
    let a = t.tenant("A").await;
    let c = logged_in(t, &a.owner).await;

    // A form posted from another site is refused; the same form from this site passes.
    let res = c
        .post(t.url("/contacts"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser()
        .post(t.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", a.owner.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "login CSRF");
    let res = c
        .post(t.url("/contacts"))
        .header("origin", &t.url)
        .header("sec-fetch-site", "same-origin")
        .form(&[("name", "Real")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/contacts/"));

    // Security headers on pages; no inline script or style in the markup.
    let anonymous = browser();
    for path in ["/login", "/contacts", "/settings/users", "/profile", "/nowhere"] {
        let client = if path == "/login" { &anonymous } else { &c };
        let res = client.get(t.url(path)).send().await.unwrap();
        let h = res.headers().clone();
        assert_eq!(h["content-security-policy"], switchboard_web::security::CSP, "{path}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h[CACHE_CONTROL], "no-store");
        assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains(" style="), "{path}: inline style");
        for script in body.split("<script").skip(1) {
            let (tag, rest) = script.split_once('>').unwrap();
            assert!(tag.contains(" src=\"/static/"), "{path}: inline script");
            assert!(rest.starts_with("</script>"), "{path}: script body");
        }
    }
    let res = c.get(t.url("/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = c.get(t.url("/api/v1/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_found");

    // Assets: content-hashed, immutable, and a stale hash is gone.
    let page = anonymous.get(t.url("/login")).send().await.unwrap().text().await.unwrap();
    let css = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.ends_with("/app.css"))
        .unwrap()
        .to_owned();
    let res = reqwest::get(t.url(&css)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert!(res.headers()["content-security-policy"].to_str().is_ok());
    let stale = format!("/static/ffffffffffffffff/{}", css.rsplit('/').next().unwrap());
    assert_eq!(reqwest::get(t.url(&stale)).await.unwrap().status(), StatusCode::NOT_FOUND);

    // The API keeps its JSON answers next to the pages.
    let res = reqwest::Client::new()
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({"email": a.owner.email, "password": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
}
server_test!(csrf_headers_assets_and_not_found);

/// Legal holds and retention through their pages: place (a mistake shown beside the form),
/// list, release with a reason; periods saved and shown; the dry run counts and names the hold
/// that keeps a category; another tenant's hold is 404 and a cross-site form is refused.
async fn privacy_holds_and_retention_pages(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let c = logged_in(t, &a.owner).await;
    let text = async |path: &str| {
        let res = c.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    };
    assert!(text("/privacy/holds").await.contains("No legal holds."));

    let res = c.post(t.url("/privacy/holds")).form(&[("scope", "contact"), ("reason", "Case 7")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"id="hold-subject" value="" class="mono" aria-invalid="true""#), "{body}");
    let res = c
        .post(t.url("/privacy/holds"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("scope", "tenant"), ("reason", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let form = [("scope", "tenant"), ("subject_id", ""), ("category", "messages"), ("reason", "Tax audit 2026/4")];
    let res = c.post(t.url("/privacy/holds")).form(&form).send().await.unwrap();
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/privacy/holds?done=placed"));
    let page = text("/privacy/holds?done=placed").await;
    assert!(page.contains("Legal hold placed.") && page.contains("Tax audit 2026/4") && page.contains("release-form"));
    let hold = page.split(r#"data-id=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();

    // The dry run names the hold that keeps messages; the other categories are counted.
    let dry = text("/privacy/retention/dry-run").await;
    assert!(dry.contains("Kept by a legal hold") && dry.contains("Tax audit 2026/4"), "{dry}");
    assert!(dry.contains(r#"data-category="verification_codes""#));

    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let res =
        outsider.post(t.url(&format!("/privacy/holds/{hold}/release"))).form(&[("reason", "x")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = c.post(t.url(&format!("/privacy/holds/{hold}/release"))).form(&[("reason", "")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a release needs its reason");
    let res = c
        .post(t.url(&format!("/privacy/holds/{hold}/release")))
        .form(&[("reason", "Audit closed")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = text("/privacy/holds").await;
    assert!(page.contains("Released") && page.contains("Audit closed") && !page.contains("release-form"));

    // Retention: the seeds' defaults, a change saved, a wrong value shown.
    let page = text("/privacy/retention").await;
    assert!(page.contains(r#"data-category="messages""#) && page.contains(r#"name="after_days" value="365""#));
    let res = c
        .post(t.url("/privacy/retention"))
        .form(&[("category", "messages"), ("after_days", "30"), ("cap_days", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = c
        .post(t.url("/privacy/retention"))
        .form(&[("category", "messages"), ("after_days", "30"), ("cap_days", "60")])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/privacy/retention?done=saved"));
    let policies = t.app.retention_policies(&Principal::system(a.id, "test")).await.unwrap();
    let m = policies.iter().find(|p| p.category == "messages").unwrap();
    assert_eq!((m.after_days, m.cap_days, m.customised), (Some(30), Some(60), true));
    assert!(text("/privacy/retention?done=saved").await.contains("Retention periods saved."));
}
server_test!(privacy_holds_and_retention_pages);

/// Settings › Privacy: the defaults by region (KVKK, 30 days; STOP, DURDUR, İPTAL,
/// UNSUBSCRIBE / START, BAŞLA), a keyword in both lists and an empty list refused beside the
/// field, keywords deduplicated as the matcher normalises them, the jurisdiction's deadline
/// used by the next request, and one audit entry naming the changed fields (never values).
async fn privacy_settings_page(t: &TestServer) {
    let a = t.tenant("A").await;
    let c = logged_in(t, &a.owner).await;
    let api = crate::support::Api::new(t, &a.key);
    let res = c.get(t.url("/settings/privacy")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    for k in ["STOP\nDURDUR\nİPTAL\nUNSUBSCRIBE", "START\nBAŞLA", "New requests now follow KVKK: due 30 days"] {
        assert!(page.contains(k), "{k} in {page}");
    }
    assert!(page.contains(r#"href="/settings/privacy" class="active""#), "the settings tab");

    let form = |out: &'static str, resume: &'static str| {
        vec![
            ("jurisdiction", "ccpa"),
            ("language", "tr"),
            ("opt_out_keywords", out),
            ("opt_in_keywords", resume),
            ("opt_out_reply_en", "Done, no more messages."),
            ("opt_out_reply_tr", "Tamam, artık yazmayacağız."),
            ("opt_in_reply_en", ""),
            ("opt_in_reply_tr", " "),
            ("notice_version", "2026-01"),
        ]
    };
    let res = c.post(t.url("/settings/privacy")).form(&form("STOP\nDur", "START\n dur. ")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("cannot be both an opt-out and a resume keyword"), "{body}");
    assert!(body.contains(r#"id="ps-opt-in" name="opt_in_keywords" rows="3" class="mono" aria-describedby="ps-keywords-hint" aria-invalid="true""#));
    assert!(body.contains("START\n dur."), "what was typed is kept");
    let res = c.post(t.url("/settings/privacy")).form(&form(" \n , ", "START")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Give at least one keyword"));
    let (s, v) =
        api.send(reqwest::Method::PUT, "/api/v1/privacy/settings", Some(json!({"opt_out_keywords": []}))).await;
    assert_eq!((s, crate::support::error_code(&v).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "keywords_required"));
    let (_, v) = api.get("/api/v1/privacy/settings").await;
    assert_eq!(v["opt_out_keywords"], json!(["STOP", "DURDUR", "İPTAL", "UNSUBSCRIBE"]), "nothing saved");

    let res =
        c.post(t.url("/settings/privacy")).form(&form("STOP\nstop.\nDur, İptal\nIPTAL", "BAŞLA")).send().await.unwrap();
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/privacy?done=saved"));
    let (_, v) = api.get("/api/v1/privacy/settings").await;
    assert_eq!(v["opt_out_keywords"], json!(["STOP", "Dur", "İptal"]), "{v}");
    assert_eq!(v["opt_in_keywords"], json!(["BAŞLA"]));
    assert_eq!((v["jurisdiction"].as_str(), v["response_days"].as_i64()), (Some("ccpa"), Some(45)));
    assert_eq!(v["opt_out_replies"], json!({"en": "Done, no more messages.", "tr": "Tamam, artık yazmayacağız."}));
    assert_eq!((&v["opt_in_replies"], &v["opt_out_reply"]), (&json!({}), &json!(null)), "{v}");
    let page = c.get(t.url("/settings/privacy?done=saved")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Privacy settings saved.") && page.contains(r#"<option value="ccpa" selected>"#));
    assert!(page.contains("due 45 days"));

    // The matcher uses them at once: the reply in the keyword's language, else the tenant's.
    let id = contact(t, a.id, "Deadline").await;
    let cid: switchboard_core::ContactId = id.parse().unwrap();
    for (i, (text, reply)) in [
        ("stop!", "Done, no more messages."),
        ("IPTAL", "Tamam, artık yazmayacağız."),
        ("dur", "Tamam, artık yazmayacağız."),
    ]
    .into_iter()
    .enumerate()
    {
        let at = switchboard_core::Millis(jiff::Timestamp::now().as_millisecond() + i64::try_from(i).unwrap());
        let r = switchboard_app::privacy::consent::InboundRef {
            kind: switchboard_core::optout::InboundText::Body,
            message_id: format!("wamid.settings{i}"),
            sent_at: at,
        };
        let out = t.app.apply_inbound_keyword(a.id, cid, text, &r).await.unwrap().expect(text);
        assert_eq!(out.reply, reply, "{text}");
    }
    assert!(
        t.app.apply_inbound_keyword(a.id, cid, "DURDUR", &crate::privacy::inbound_now()).await.unwrap().is_none(),
        "no longer a keyword"
    );

    // The next request follows CCPA; the audit entry names fields only.
    let (s, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": id, "type": "access"})).await;
    assert_eq!((s, r["jurisdiction"].as_str()), (StatusCode::CREATED, Some("ccpa")));
    assert!(matches!(r["days_left"].as_i64(), Some(44 | 45)), "45 days from now: {r}");
    let (_, audit) = api.get(&format!("/api/v1/audit?target_kind=tenant&target_id={}", a.id)).await;
    let entries: Vec<_> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "privacy.settings_updated").collect();
    assert_eq!(entries.len(), 1, "{audit}");
    let changed = entries[0]["details"]["changed"].to_string();
    for f in ["jurisdiction", "language", "opt_out_keywords", "opt_in_keywords", "opt_out_replies", "notice_version"] {
        assert!(changed.contains(f), "{f} in {changed}");
    }
    assert!(!changed.contains("opt_in_replies") && !audit.to_string().contains("Tamam"), "{changed}");

    // An agent cannot open it; another tenant keeps its defaults.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    assert_eq!(agent.get(t.url("/settings/privacy")).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let b = t.tenant("B").await;
    let (_, v) = crate::support::Api::new(t, &b.key).get("/api/v1/privacy/settings").await;
    assert_eq!(v["opt_out_keywords"], json!(["STOP", "DURDUR", "İPTAL", "UNSUBSCRIBE"]));
}
server_test!(privacy_settings_page);

/// The legal-hold list is paged by keyset (the hold id, newest first), in the API and on the
/// page: every hold once, the next page behind a link, active ones only on request.
async fn legal_holds_are_paged(t: &TestServer) {
    let a = t.tenant("A").await;
    let api = crate::support::Api::new(t, &a.key);
    let mut ids = Vec::new();
    for i in 0..30 {
        let (s, h) = api.post("/api/v1/privacy/holds", json!({"scope": "tenant", "reason": format!("Case {i}")})).await;
        assert_eq!(s, StatusCode::CREATED, "{h}");
        ids.push(h["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..4] {
        let (s, _) = api.post(&format!("/api/v1/privacy/holds/{id}/release"), json!({"reason": "closed"})).await;
        assert_eq!(s, StatusCode::OK);
    }
    let walk = async |filter: &str| {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/privacy/holds?{filter}&limit=7&cursor={c}"),
                None => format!("/api/v1/privacy/holds?{filter}&limit=7"),
            };
            let (s, page) = api.get(&path).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 7);
            seen.extend(items.iter().map(|h| h["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        seen
    };
    let all = walk("status=all").await;
    let mut expected = ids.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(all, expected, "every hold once, newest first");
    let active = walk("status=active").await;
    assert_eq!(active, expected[..26].to_vec());
    let (s, v) = api.get("/api/v1/privacy/holds?cursor=not-a-cursor").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // The page: 25, then the rest behind the link; the first page's link back.
    let c = logged_in(t, &a.owner).await;
    let rows = |page: &str| -> Vec<String> {
        page.split(r#"<tr data-id=""#).skip(1).map(|r| r.split('"').next().unwrap().to_owned()).collect()
    };
    let first = c.get(t.url("/privacy/holds")).send().await.unwrap().text().await.unwrap();
    assert_eq!(rows(&first), expected[..25].to_vec());
    assert!(!first.contains(r#"id="holds-first""#));
    let next = first.split(r#"href=""#).find(|h| h.starts_with("/privacy/holds?cursor=")).unwrap();
    let next = next.split('"').next().unwrap().replace("&#38;", "&");
    let res = c.get(t.url(&next)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let second = res.text().await.unwrap();
    assert_eq!(rows(&second), expected[25..].to_vec());
    assert!(second.contains(r#"id="holds-first""#) && !second.contains(r#"id="holds-next""#));
    let active = c.get(t.url("/privacy/holds?status=active")).send().await.unwrap().text().await.unwrap();
    assert!(
        active.contains(r#"href="/privacy/holds?status=active&#38;cursor="#),
        "the filter stays in the link: {active}"
    );
    assert!(rows(&active).iter().all(|id| !ids[..4].contains(id)));
}
server_test!(legal_holds_are_paged);

/// The request list on `/privacy` is paged by keyset too: open requests by default, 25 a page,
/// every one once; `?status=all` adds the completed ones.
async fn privacy_requests_are_paged(t: &TestServer) {
    let a = t.tenant("A").await;
    let api = crate::support::Api::new(t, &a.key);
    let id = contact(t, a.id, "Paged").await;
    let mut ids = Vec::new();
    for _ in 0..27 {
        let (s, r) = api.post("/api/v1/privacy/requests", json!({"contact_id": id, "type": "access"})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let (s, r) = api
        .post(&format!("/api/v1/privacy/requests/{}/verify", ids[0]), json!({"operator_attestation": "ID seen"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, r) = api.post(&format!("/api/v1/privacy/requests/{}/fulfil", ids[0]), json!({})).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("completed")), "{r}");

    let c = logged_in(t, &a.owner).await;
    let rows = |page: &str| -> Vec<String> {
        page.split(r#"<tr data-id=""#).skip(1).map(|r| r.split('"').next().unwrap().to_owned()).collect()
    };
    let get = async |path: &str| {
        let res = c.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    };
    let link = |page: &str, id: &str| -> Option<String> {
        let tag = page.split(&format!(r#"id="{id}""#)).next()?;
        page.contains(&format!(r#"id="{id}""#))
            .then(|| tag.rsplit(r#"href=""#).next().unwrap().split('"').next().unwrap().replace("&#38;", "&"))
    };
    let first = get("/privacy").await;
    let mut seen = rows(&first);
    assert_eq!(seen.len(), 25);
    assert!(link(&first, "requests-first").is_none());
    let second = get(&link(&first, "requests-next").expect("a next page")).await;
    seen.extend(rows(&second));
    assert!(link(&second, "requests-next").is_none() && link(&second, "requests-first").is_some());
    let mut open = ids[1..].to_vec();
    open.sort();
    seen.sort();
    assert_eq!(seen, open, "the open ones, each once");

    let all = get("/privacy?status=all").await;
    let next = link(&all, "requests-next").expect("a next page");
    assert!(next.starts_with("/privacy?status=all&cursor="), "{next}");
    let mut every = rows(&all);
    every.extend(rows(&get(&next).await));
    every.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(every, expected);
}
server_test!(privacy_requests_are_paged);
