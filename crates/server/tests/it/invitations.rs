//! Invitations: an admin invites a person by e-mail with a role on `/settings/users` (the link
//! shown once); the invitee opens `/invite/{token}` without logging in, sets a name and a
//! password, and logs in. Used, expired, revoked and unknown links are refused and create
//! nothing; a role above what the inviter may grant is refused; another tenant's admin neither
//! sees nor revokes the invitation.

use reqwest::StatusCode;
use serde_json::json;
use switchboard_core::{Role, TenantId, UserId};
use switchboard_storage::invitations;

use crate::inbox::{forged, page, post};
use crate::support::{Api, PASSWORD, TestServer, User, error_code};
use crate::ui::{browser, location, logged_in};

/// The token in the link shown once after inviting.
fn token_in(html: &str) -> String {
    let link = html.split("id=\"invitation-link\">").nth(1).unwrap().split('<').next().unwrap();
    link.rsplit("/invite/").next().unwrap().to_owned()
}

async fn invite(c: &reqwest::Client, t: &TestServer, email: &str, role: &str) -> (StatusCode, String) {
    let res = post(c, t, "/settings/users/invitations", &[("email", email), ("role", role)]).await;
    (res.status(), res.text().await.unwrap())
}

async fn accept(t: &TestServer, token: &str, name: &str, password: &str) -> reqwest::Response {
    let c = browser();
    let path = format!("/invite/{token}");
    c.post(t.url(&path))
        .header("sec-fetch-site", "same-origin")
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
}

async fn expire(t: &TestServer, tenant: TenantId, id: &str) {
    let mut tx = t.app.db.write().await.unwrap();
    let past = t.app.now().0 - 1;
    invitations::set_expires_at(&mut tx.tenant(tenant), id.parse().unwrap(), past).await.unwrap();
    tx.commit().await.unwrap();
}

async fn invite_accept_and_refusals(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let admin = logged_in(t, &t.user(a.id, Role::Admin).await).await;
    let users_before = t.count(a.id, "users", "").await;

    // Invite: the link shown once, the invitation listed as pending, audited.
    let (status, html) = invite(&admin, t, "yeni.kisi@example.test", "supervisor").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let token = token_in(&html);
    assert!(token.len() >= 40, "{token}");
    let (_, html) = page(&admin, t, "/settings/users").await;
    assert!(html.contains("id=\"invitations-table\"") && html.contains("yeni.kisi@example.test"));
    assert!(!html.contains(&token), "the link is shown only once");
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'invitation.created'").await, 1);
    t.assert_not_stored(&["yeni.kisi@example.test", &token]).await;
    assert_eq!(
        forged(&admin, t, "/settings/users/invitations", &[("email", "x@example.test"), ("role", "agent")]).await,
        StatusCode::FORBIDDEN
    );

    // Escalation: an admin may not invite an owner; an agent may not invite at all.
    let (status, _) = invite(&admin, t, "boss@example.test", "owner").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        Api::new(t, &a.key).post("/api/v1/invitations", json!({"email": "o@example.test", "role": "owner"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an API key makes no owners either: {body}");
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let (status, _) = invite(&agent, t, "a@example.test", "agent").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An e-mail already in use is refused.
    let (status, html) = invite(&admin, t, &a.owner.email, "agent").await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");

    // The invitee opens the link without logging in, and accepts it.
    let anonymous = browser();
    let (status, html) = page(&anonymous, t, &format!("/invite/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("yeni.kisi@example.test") && html.contains("id=\"invite-form\""));
    let res = accept(t, &token, "Yeni Kişi", "short").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "the password rules of any user");
    assert_eq!(t.count(a.id, "users", "").await, users_before + 1);
    let res = accept(t, &token, "Yeni Kişi", PASSWORD).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/login?welcome=1"));
    let (_, html) = page(&browser(), t, "/login?welcome=1").await;
    assert!(html.contains("Your account is ready. Log in with your e-mail and password."));
    assert_eq!(t.count(a.id, "users", "").await, users_before + 2);
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'invitation.accepted'").await, 1);
    let (_, list) = Api::new(t, &a.key).get("/api/v1/users?limit=100").await;
    let new =
        list["items"].as_array().unwrap().iter().find(|u| u["email"] == "yeni.kisi@example.test").unwrap().clone();
    assert_eq!((new["role"].as_str(), new["name"].as_str()), (Some("supervisor"), Some("Yeni Kişi")));
    let user = User {
        id: new["id"].as_str().unwrap().parse::<UserId>().unwrap(),
        email: "yeni.kisi@example.test".into(),
        role: Role::Supervisor,
    };
    let c = logged_in(t, &user).await;
    assert_eq!(page(&c, t, "/inbox").await.0, StatusCode::OK, "logs in normally");

    // Reuse: refused, nothing created.
    let res = accept(t, &token, "Başka", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("This invitation has already been used."));
    assert_eq!(page(&anonymous, t, &format!("/invite/{token}")).await.0, StatusCode::GONE);
    assert_eq!(t.count(a.id, "users", "").await, users_before + 2);
    // Unknown token.
    let (status, html) = page(&anonymous, t, "/invite/not-a-real-token").await;
    assert!(status == StatusCode::NOT_FOUND && html.contains("This invitation link is not valid."));
    assert_eq!(accept(t, "not-a-real-token", "X", PASSWORD).await.status(), StatusCode::NOT_FOUND);
    // The API link answers the same.
    let res = anonymous.get(t.url(&format!("/api/v1/invite/{token}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);

    // Expired (the invitation's expiry moved into the past).
    let (_, html) = invite(&admin, t, "late@example.test", "agent").await;
    let late = token_in(&html);
    let (_, list) = Api::new(t, &a.key).get("/api/v1/invitations").await;
    let late_id = list["items"].as_array().unwrap().iter().find(|i| i["email"] == "late@example.test").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expire(t, a.id, &late_id).await;
    let (status, html) = page(&anonymous, t, &format!("/invite/{late}")).await;
    assert!(status == StatusCode::GONE && html.contains("This invitation has expired."), "{status}");
    assert_eq!(accept(t, &late, "Late", PASSWORD).await.status(), StatusCode::GONE);
    let (_, list) = Api::new(t, &a.key).get("/api/v1/invitations").await;
    assert!(list["items"].as_array().unwrap().iter().all(|i| i["email"] != "late@example.test"), "no longer pending");

    // Revoked: another tenant's admin neither sees nor revokes it; this tenant's admin does.
    let (_, html) = invite(&admin, t, "revoked@example.test", "analyst").await;
    let revoked = token_in(&html);
    let (_, list) = Api::new(t, &a.key).get("/api/v1/invitations").await;
    let id = list["items"].as_array().unwrap().iter().find(|i| i["email"] == "revoked@example.test").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let (_, html) = page(&outsider, t, "/settings/users").await;
    assert!(!html.contains("revoked@example.test"));
    let (_, other) = Api::new(t, &b.key).get("/api/v1/invitations").await;
    assert_eq!(other["items"], json!([]));
    let revoke = format!("/settings/users/invitations/{id}/revoke");
    assert_eq!(post(&outsider, t, &revoke, &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(Api::new(t, &b.key).delete(&format!("/api/v1/invitations/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(&anonymous, t, &format!("/invite/{revoked}")).await.0, StatusCode::OK, "still open");
    let res = post(&admin, t, &revoke, &[]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/users?done=revoked"));
    let (status, html) = page(&anonymous, t, &format!("/invite/{revoked}")).await;
    assert!(status == StatusCode::GONE && html.contains("This invitation has been revoked."));
    assert_eq!(accept(t, &revoked, "R", PASSWORD).await.status(), StatusCode::GONE);
    let (status, body) = Api::new(t, &a.key).delete(&format!("/api/v1/invitations/{id}")).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::GONE, "invitation_revoked"));
    assert_eq!(t.count(a.id, "audit_log", "AND action = 'invitation.revoked'").await, 1);
    assert_eq!(t.count(a.id, "users", "").await, users_before + 2, "nothing created by refused links");
}
server_test!(invite_accept_and_refusals);

/// The seven days by the app's clock (SQLite only: the manual clock's server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_expires_after_seven_days() {
    let (t, clock) = TestServer::with_manual_clock().await;
    let a = t.tenant("A").await;
    let (status, created) =
        Api::new(&t, &a.key).post("/api/v1/invitations", json!({"email": "week@example.test", "role": "agent"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(created["url"].as_str().unwrap().ends_with(&format!("/invite/{token}")));
    let link = format!("/invite/{token}");
    clock.advance(7 * switchboard_core::Millis::DAY - 60_000);
    assert_eq!(page(&browser(), &t, &link).await.0, StatusCode::OK, "a minute before the end");
    clock.advance(60_000);
    let (status, html) = page(&browser(), &t, &link).await;
    assert!(status == StatusCode::GONE && html.contains("This invitation has expired."), "{status}");
    assert_eq!(accept(&t, &token, "Week", PASSWORD).await.status(), StatusCode::GONE);
    assert_eq!(t.count(a.id, "invitations", "AND accepted_at IS NOT NULL").await, 0);
    t.stop().await;
}
