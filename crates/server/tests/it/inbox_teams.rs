//! Teams beyond creating them: a bulk "assign to team" in the conversation list, renaming
//! (API `PATCH /api/v1/teams/{id}` and the settings page), and deleting a team, which leaves an
//! activity line naming it in each of its conversations.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::inbox::{conversation, escaped, forged, page, post};
use crate::support::{Api, TestServer, error_code};
use crate::ui::{location, logged_in};

async fn bulk_team_rename_and_delete(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api = Api::new(t, &a.key);
    let wa = t.whatsapp(&a.key).await;
    let (one, _) = t.customer_writes(a.id, &wa, "905321112233", "fatura").await;
    let (two, _) = t.customer_writes(a.id, &wa, "905559998877", "iade").await;
    let (three, _) = t.customer_writes(a.id, &wa, "905441112200", "başka").await;
    let (_, team) = api.post("/api/v1/teams", json!({"name": "Destek"})).await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    api.post("/api/v1/teams", json!({"name": "Satış"})).await;
    let owner = logged_in(t, &a.owner).await;

    // Bulk: the list offers the teams; the ticked conversations move, the others stay.
    let (_, list) = page(&owner, t, "/inbox").await;
    assert!(list.contains("id=\"bulk-team\"") && list.contains("value=\"team\""), "the bulk team choice");
    let form = [("id", one.as_str()), ("id", two.as_str()), ("action", "team"), ("team", team_id.as_str())];
    let res = post(&owner, t, "/inbox/bulk", &form).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/inbox"));
    for c in [&one, &two] {
        assert_eq!(conversation(t, &a.key, c).await["team_id"], team_id.as_str());
    }
    assert_eq!(conversation(t, &a.key, &three).await["team_id"], Value::Null);
    let (_, folder) = page(&owner, t, &format!("/inbox?team={team_id}")).await;
    assert!(folder.contains(&format!("/inbox/{one}\"")) && !folder.contains(&format!("/inbox/{three}\"")));
    // An unknown team is refused; a user without conversations:manage and another tenant too.
    let res = post(&owner, t, "/inbox/bulk", &[("id", three.as_str()), ("action", "team"), ("team", "nope")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    let form = [("id", three.as_str()), ("action", "team"), ("team", team_id.as_str())];
    assert_eq!(post(&analyst, t, "/inbox/bulk", &form).await.status(), StatusCode::FORBIDDEN);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    assert_eq!(post(&outsider, t, "/inbox/bulk", &form).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(conversation(t, &a.key, &three).await["team_id"], Value::Null);
    // …and out of its team again, for the third one put there first.
    post(&owner, t, "/inbox/bulk", &form).await;
    let res = post(&owner, t, "/inbox/bulk", &[("id", three.as_str()), ("action", "team"), ("team", "")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(conversation(t, &a.key, &three).await["team_id"], Value::Null);

    // Rename through the API: validated, unique, the tenant's own, for users:manage.
    let path = format!("/api/v1/teams/{team_id}");
    let (status, renamed) = api.patch(&path, json!({"name": "  Müşteri Destek  "})).await;
    assert_eq!((status, renamed["name"].as_str()), (StatusCode::OK, Some("Müşteri Destek")), "{renamed}");
    let (status, body) = api.patch(&path, json!({"name": "Satış"})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "conflict"));
    let (status, body) = api.patch(&path, json!({"name": " "})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_team_name"));
    assert_eq!(Api::new(t, &b.key).patch(&path, json!({"name": "x"})).await.0, StatusCode::NOT_FOUND);
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let res = agent.patch(t.url(&path)).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/teams/{id}"]["patch"].is_object(), "documented");

    // Rename on the settings page: refused beside its own form (opened again, the name kept).
    let rename = format!("/settings/teams/{team_id}/rename");
    let res = post(&owner, t, &rename, &[("name", "Satış")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("A team has that name already."));
    let field = html.split(&format!("id=\"rename-{team_id}\"")).nth(1).unwrap().split('>').next().unwrap();
    assert!(field.contains("aria-invalid=\"true\"") && field.contains("value=\"Satış\""), "{field}");
    let res = post(&owner, t, &rename, &[("name", "Destek <b>")]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/teams?done=saved"));
    let (_, html) = page(&owner, t, "/settings/teams").await;
    assert!(html.contains(&escaped("Destek <b>")) && !html.contains("Destek <b>"));
    assert_eq!(forged(&owner, t, &rename, &[("name", "x")]).await, StatusCode::FORBIDDEN);
    assert_eq!(post(&outsider, t, &rename, &[("name", "x")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(post(&agent, t, &rename, &[("name", "x")]).await.status(), StatusCode::FORBIDDEN);
    // The conversation's activity shows the team by its new name.
    let (_, html) = page(&owner, t, &format!("/inbox/{one}")).await;
    assert!(html.contains(&escaped("Assigned to team Destek <b> by you")), "activity with the new name");
    assert!(t.count(a.id, "audit_log", "AND action = 'team.renamed'").await == 2);

    // Deleting the team: each of its conversations says so, naming the team it was in.
    assert_eq!(api.delete(&path).await.0, StatusCode::NO_CONTENT);
    for c in [&one, &two] {
        assert_eq!(conversation(t, &a.key, c).await["team_id"], Value::Null);
        let (_, html) = page(&owner, t, &format!("/inbox/{c}")).await;
        assert!(
            html.contains(&escaped("Removed from team Destek <b> when an integration deleted it")),
            "the deletion's activity line"
        );
    }
    assert_eq!(t.count(a.id, "conversation_activity", "AND kind = 'team_deleted'").await, 2, "one per conversation");
    let (_, html) = page(&owner, t, &format!("/inbox/{three}")).await;
    assert!(!html.contains("when an integration deleted it"), "not in a conversation outside the team");
}
server_test!(bulk_team_rename_and_delete);
