//! The WhatsApp settings pages over HTTP: connecting a number through the form against the
//! simulator (the webhook URL and verify token shown once, secrets never), Meta's refusal
//! beside the form, disconnecting after a confirmation, templates per number (fetched from
//! Meta, created), each behind its API route's permission and within the tenant.

use reqwest::StatusCode;
use switchboard_core::Role;

use crate::support::{SIM_SECRET, SIM_TOKEN, SIM_VERIFY, TestServer};
use crate::ui::{location, logged_in};

async fn whatsapp_and_template_pages(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let owner = logged_in(t, &a.owner).await;
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let outsider = logged_in(t, &b.owner).await;
    let text = async |c: &reqwest::Client, path: &str| {
        let res = c.get(t.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    };

    let page = text(&owner, "/settings/whatsapp").await;
    assert!(page.contains("No WhatsApp number connected yet.") && page.contains("connect-form"), "{page}");
    assert!(page.contains(r#"href="/settings/templates""#), "the templates tab");

    let (sim, cfg) = t.simulator(switchboard_simulator::SimConfig::default()).await;
    let form = |token: &str| {
        [
            ("phone_number_id", cfg.phone_number_id.clone()),
            ("waba_id", cfg.waba_id.clone()),
            ("display_phone_number", cfg.display_phone_number.clone()),
            ("access_token", token.to_owned()),
            ("app_secret", SIM_SECRET.to_owned()),
            ("verify_token", SIM_VERIFY.to_owned()),
            ("graph_base_url", sim.base_url.clone()),
            ("api_version", String::new()),
        ]
    };

    // A wrong token: Meta's refusal beside the form, the field marked, no secret echoed.
    let res = owner.post(t.url("/settings/whatsapp")).form(&form("wrong-token")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("The Graph API refused: Meta refused the access token"), "{body}");
    assert!(body.contains(r#"autocomplete="off" aria-invalid="true""#), "{body}");
    assert!(body.contains(&format!(r#"value="{}""#, cfg.phone_number_id)), "the other fields kept");
    for secret in ["wrong-token", SIM_SECRET, SIM_VERIFY] {
        assert!(!body.contains(secret), "{secret} rendered back");
    }

    // Refused from another site, and to an agent (who may read the list, without the form).
    let res = owner
        .post(t.url("/settings/whatsapp"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&form(SIM_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = agent.post(t.url("/settings/whatsapp")).form(&form(SIM_TOKEN)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!text(&agent, "/settings/whatsapp").await.contains("connect-form"));

    // Connected: the webhook URL and the verify token to paste into Meta, shown once.
    let res = owner.post(t.url("/settings/whatsapp")).form(&form(SIM_TOKEN)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("hx-replace-url").unwrap(), "/settings/whatsapp");
    let body = res.text().await.unwrap();
    let id = body.split(r#"<tr data-id=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(body.contains(&format!(r#"id="wa-webhook-url">{}</code>"#, t.url(&format!("/webhooks/whatsapp/{id}")))));
    assert!(body.contains(&format!(r#"id="wa-verify-token">{SIM_VERIFY}</code>"#)), "{body}");
    assert!(!body.contains(SIM_TOKEN) && !body.contains(SIM_SECRET));
    let page = text(&owner, "/settings/whatsapp").await;
    assert!(page.contains(&cfg.phone_number_id) && page.contains(">Connected<") && !page.contains(SIM_VERIFY));
    assert!(text(&agent, "/settings/whatsapp").await.contains(&cfg.phone_number_id), "agents read the list");

    // Another tenant sees nothing of it and cannot act on it.
    for path in ["/settings/whatsapp", "/settings/templates"] {
        let page = text(&outsider, path).await;
        assert!(!page.contains(&cfg.phone_number_id) && !page.contains(&id), "{path}");
    }
    for path in [format!("/settings/whatsapp/{id}/disconnect"), format!("/settings/templates/{id}/sync")] {
        let res = outsider.post(t.url(&path)).form(&[("confirm", "yes")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Templates: fetched from Meta, created, listed under the number with their status.
    let res = owner.post(t.url(&format!("/settings/templates/{id}/sync"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/settings/templates?done=synced"), "{}", location(&res));
    let new = [
        ("channel_id", id.as_str()),
        ("name", "order_shipped"),
        ("language", "en_US"),
        ("category", "UTILITY"),
        ("body", "Your order {{1}} is on its way."),
        ("examples", "A-1001"),
    ];
    let res = agent.post(t.url("/settings/templates")).form(&new).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut bad = new;
    bad[1].1 = "Order Shipped";
    let res = owner.post(t.url("/settings/templates")).form(&bad).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(r#"value="Order Shipped" aria-invalid="true""#));
    let res = owner.post(t.url("/settings/templates")).form(&new).send().await.unwrap();
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/templates?done=created"));
    let page = text(&owner, "/settings/templates?done=created").await;
    assert!(page.contains("Template submitted to Meta.") && page.contains(r#"data-template="order_shipped""#));
    assert!(page.contains(&format!(r#"data-channel="{id}""#)) && page.contains("template-form"));
    let page = text(&agent, "/settings/templates").await;
    assert!(page.contains("order_shipped") && !page.contains("template-form"), "agents read templates");

    // Disconnecting needs the confirmation; then the number shows when its data goes.
    let path = format!("/settings/whatsapp/{id}/disconnect");
    let res = owner.post(t.url(&path)).form(&[("confirm", "")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Tick the box"));
    let res = agent.post(t.url(&path)).form(&[("confirm", "yes")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = owner.post(t.url(&path)).form(&[("confirm", "yes")]).send().await.unwrap();
    assert_eq!(
        (res.status(), location(&res).as_str()),
        (StatusCode::SEE_OTHER, "/settings/whatsapp?done=disconnected")
    );
    let page = text(&owner, "/settings/whatsapp?done=disconnected").await;
    assert!(page.contains("Number disconnected.") && page.contains("Data purged after"), "{page}");
    assert!(!page.contains(&format!(r#"/settings/whatsapp/{id}/disconnect""#)));
}
server_test!(whatsapp_and_template_pages);
