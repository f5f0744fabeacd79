//! The inbox's actions beyond replying: private notes, mark unread, teams (settings, the
//! team folder, assigning to a team or another agent) and the `conversation.read` audit
//! entries of live refreshes. Each through the API and the pages, with the permission
//! checks and another tenant's 404.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::inbox::{conversation, escaped, forged, page, post};
use crate::support::{Api, TestServer, error_code};
use crate::ui::{location, logged_in};

const NOTE: &str = "Müşteri iade istiyor <b>acil</b>";

async fn notes_are_private_messages(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "iade edebilir miyim").await;
    let api = Api::new(t, &a.key);
    let before = conversation(t, &a.key, &conv).await;

    let (status, note) = api.post(&format!("/api/v1/conversations/{conv}/notes"), json!({"text": NOTE})).await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!((note["direction"].as_str(), note["type"].as_str()), (Some("note"), Some("note")));
    assert_eq!((note["status"].as_str(), note["text"].as_str()), (Some("recorded"), Some(NOTE)));
    let (_, list) = api.get(&format!("/api/v1/conversations/{conv}/messages")).await;
    let listed: Vec<&Value> = list["items"].as_array().unwrap().iter().filter(|m| m["direction"] == "note").collect();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], note["id"]);
    // Not sent, and the conversation's order and preview stay the customer's.
    let after = conversation(t, &a.key, &conv).await;
    assert_eq!((&after["preview"], &after["last_message_at"]), (&before["preview"], &before["last_message_at"]));
    assert_eq!(t.count(a.id, "jobs", "AND kind = 'whatsapp.send'").await, 0, "nothing queued for sending");
    // Sealed like message text.
    t.assert_not_stored(&["iade istiyor"]).await;

    let (status, body) = api.post(&format!("/api/v1/conversations/{conv}/notes"), json!({"text": "  "})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_note"));
    let (status, _) =
        Api::new(t, &b.key).post(&format!("/api/v1/conversations/{conv}/notes"), json!({"text": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's conversation");
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    let res = analyst.post(t.url(&format!("/api/v1/conversations/{conv}/notes"))).json(&json!({"text": "x"})).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::FORBIDDEN, "an analyst may not add notes");

    // The page: a Reply / Note toggle, the note as its own bubble, escaped.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let res = post(&agent, t, &format!("/inbox/{conv}/notes"), &[("text", "ikinci <i>not</i>")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/inbox/{conv}"));
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("id=\"mode-note\"") && html.contains("id=\"note-form\""), "the toggle");
    assert!(html.contains("msg-private") && html.contains(&escaped("ikinci <i>not</i>")), "the note bubble");
    assert!(!html.contains("ikinci <i>not</i>"));
    let res = post(&agent, t, &format!("/inbox/{conv}/notes"), &[("text", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "refused beside the note form");
    assert_eq!(
        post(&analyst, t, &format!("/inbox/{conv}/notes"), &[("text", "x")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    assert_eq!(
        post(&outsider, t, &format!("/inbox/{conv}/notes"), &[("text", "x")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(forged(&agent, t, &format!("/inbox/{conv}/notes"), &[("text", "x")]).await, StatusCode::FORBIDDEN);
    assert_eq!(t.count(a.id, "messages", "AND kind = 'note'").await, 2);
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/conversations/{id}/notes"]["post"].is_object(), "documented");
}
server_test!(notes_are_private_messages);

async fn mark_unread(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "merhaba").await;
    let api = Api::new(t, &a.key);
    api.get(&format!("/api/v1/conversations/{conv}/messages")).await;
    assert_eq!(conversation(t, &a.key, &conv).await["unread_count"], 0, "read");
    let (status, c) = api.patch(&format!("/api/v1/conversations/{conv}"), json!({"unread": true})).await;
    assert_eq!((status, &c["unread_count"]), (StatusCode::OK, &json!(1)), "{c}");
    let (status, c) = api.patch(&format!("/api/v1/conversations/{conv}"), json!({"unread": false})).await;
    assert_eq!((status, &c["unread_count"]), (StatusCode::OK, &json!(0)));
    let (status, _) =
        Api::new(t, &b.key).patch(&format!("/api/v1/conversations/{conv}"), json!({"unread": true})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // From the conversation view: back to the list, which shows it unread.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("id=\"act-unread\""));
    let res = post(&agent, t, &format!("/inbox/{conv}"), &[("action", "mark_unread")]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/inbox"));
    let (_, list) = page(&agent, t, "/inbox").await;
    assert!(list.contains("class=\"unread-count\""), "the list counts it unread");
    assert_eq!(conversation(t, &a.key, &conv).await["unread_count"], 1);
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    let res = post(&analyst, t, &format!("/inbox/{conv}"), &[("action", "mark_unread")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let res = post(&outsider, t, &format!("/inbox/{conv}"), &[("action", "mark_unread")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
server_test!(mark_unread);

async fn teams_and_assignment(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let api = Api::new(t, &a.key);
    let agent_user = t.user(a.id, Role::Agent).await;
    let (status, team) = api.post("/api/v1/teams", json!({"name": "Faturalama"})).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();
    let (status, body) = api.post("/api/v1/teams", json!({"name": "Faturalama"})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "conflict"));
    let member = format!("/api/v1/teams/{team_id}/members/{}", agent_user.id);
    let (status, team) = api.send(reqwest::Method::PUT, &member, None).await;
    assert_eq!(status, StatusCode::OK, "{team}");
    assert_eq!(team["members"][0]["id"], agent_user.id.to_string());
    // Another tenant can neither see nor change it; a user of another tenant cannot join.
    let other = Api::new(t, &b.key);
    assert!(other.get("/api/v1/teams").await.1["items"].as_array().unwrap().is_empty());
    assert_eq!(other.send(reqwest::Method::PUT, &member, None).await.0, StatusCode::NOT_FOUND);
    let stranger = t.user(b.id, Role::Agent).await;
    let (status, body) =
        api.send(reqwest::Method::PUT, &format!("/api/v1/teams/{team_id}/members/{}", stranger.id), None).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_user"));
    // Agents read teams (the inbox folders) but do not manage them.
    let agent = logged_in(t, &agent_user).await;
    let res = agent.get(t.url("/api/v1/teams")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = agent.post(t.url("/api/v1/teams")).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(page(&agent, t, "/settings/teams").await.0, StatusCode::FORBIDDEN);

    // A conversation in the team: patched, filtered, shown as an activity line.
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "fatura").await;
    let (second, _) = t.customer_writes(a.id, &wa, "905559998877", "başka").await;
    let path = format!("/api/v1/conversations/{conv}");
    let (status, body) = api.patch(&path, json!({"team_id": uuid::Uuid::now_v7()})).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_team"));
    let (status, c) = api.patch(&path, json!({"team_id": team_id})).await;
    assert_eq!((status, c["team_id"].as_str()), (StatusCode::OK, Some(team_id.as_str())));
    let (_, listed) = api.get(&format!("/api/v1/conversations?team_id={team_id}")).await;
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![conv.as_str()]);
    let (_, folder) = page(&agent, t, &format!("/inbox?team={team_id}")).await;
    assert!(folder.contains(&format!("/inbox/{conv}\"")) && !folder.contains(&format!("/inbox/{second}\"")));
    assert!(folder.contains("id=\"inbox-teams\"") && folder.contains("Faturalama"), "the team folder");

    // From the conversation view: to another agent and out of the team.
    let owner = logged_in(t, &a.owner).await;
    let form = [("action", "assign"), ("assignee", &agent_user.id.to_string()), ("team", "")];
    let res =
        post(&owner, t, &format!("/inbox/{second}"), &[("action", "assign"), ("assignee", ""), ("team", &team_id)])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(&owner, t, &format!("/inbox/{conv}"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let c = conversation(t, &a.key, &conv).await;
    assert_eq!((c["assignee_id"].as_str(), &c["team_id"]), (Some(agent_user.id.to_string().as_str()), &Value::Null));
    assert_eq!(conversation(t, &a.key, &second).await["team_id"], team_id.as_str());
    let (_, html) = page(&owner, t, &format!("/inbox/{conv}")).await;
    for line in [
        "Assigned to team Faturalama by an integration",
        "Removed from its team by you",
        "Assigned to a colleague by you",
    ] {
        assert!(html.contains(line), "activity line {line:?}");
    }
    assert!(html.contains("id=\"assign-form\"") && html.contains("id=\"assign-team\""));
    let res =
        post(&owner, t, &format!("/inbox/{conv}"), &[("action", "assign"), ("assignee", "nope"), ("team", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a bad id is refused inline");
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let res =
        post(&outsider, t, &format!("/inbox/{conv}"), &[("action", "assign"), ("assignee", ""), ("team", "")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.count(a.id, "conversation_activity", "AND kind LIKE 'team_%'").await, 3);
    assert!(t.count(a.id, "audit_log", "AND action = 'conversation.updated'").await >= 3, "assignments are audited");

    // The settings page: create a team (a taken name refused inline), add and remove members.
    let (status, html) = page(&owner, t, "/settings/teams").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Faturalama"));
    let res = post(&owner, t, "/settings/teams", &[("name", "Destek <b>")]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/teams?done=saved"));
    let res = post(&owner, t, "/settings/teams", &[("name", "Faturalama")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("A team has that name already."));
    let (_, teams) = api.get("/api/v1/teams").await;
    let support = teams["items"].as_array().unwrap().iter().find(|x| x["name"] == "Destek <b>").unwrap().clone();
    let support_id = support["id"].as_str().unwrap();
    let res =
        post(&owner, t, &format!("/settings/teams/{support_id}/members"), &[("user_id", &a.owner.id.to_string())])
            .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&owner, t, "/settings/teams").await;
    assert!(html.contains(&escaped("Destek <b>")) && !html.contains("Destek <b>"));
    let delete = format!("/settings/teams/{support_id}/members/{}/delete", a.owner.id);
    assert_eq!(post(&outsider, t, &delete, &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(post(&owner, t, &delete, &[]).await.status(), StatusCode::SEE_OTHER);
    let (_, teams) = api.get("/api/v1/teams").await;
    assert!(teams["items"].as_array().unwrap().iter().all(|x| x["name"] != "Destek <b>" || x["members"] == json!([])));

    // Deleting a team leaves its conversations in no team.
    let one = format!("/api/v1/teams/{team_id}");
    assert_eq!(other.delete(&one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(agent.delete(t.url(&one)).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(api.delete(&one).await.0, StatusCode::NO_CONTENT);
    assert_eq!(conversation(t, &a.key, &second).await["team_id"], Value::Null);
    assert_eq!(api.delete(&one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&outsider, t, &format!("/settings/teams/{support_id}/delete"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&owner, t, &format!("/settings/teams/{support_id}/delete"), &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(api.get("/api/v1/teams").await.1["items"].as_array().unwrap().is_empty());
    assert!(t.count(a.id, "audit_log", "AND action LIKE 'team.%'").await >= 7);
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/teams/{id}/members/{user_id}"]["put"].is_object(), "documented");
}
server_test!(teams_and_assignment);

/// Live refreshes fetch an open conversation again and again; only the first fetch of a
/// window is audited.
async fn conversation_reads_are_audited_once_per_window(t: &TestServer) {
    let a = t.tenant("A").await;
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "merhaba").await;
    let owner = logged_in(t, &a.owner).await;
    for _ in 0..3 {
        let res = owner.get(t.url(&format!("/inbox/{conv}"))).header("hx-request", "true").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let reads = "AND action = 'conversation.read'";
    assert_eq!(t.count(a.id, "audit_log", reads).await, 1);
    // Another user's read is their own entry.
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    assert_eq!(page(&agent, t, &format!("/inbox/{conv}")).await.0, StatusCode::OK);
    assert_eq!(t.count(a.id, "audit_log", reads).await, 2);
    // Older pages are read on purpose: each read is recorded.
    t.customer_writes(a.id, &wa, "905321112233", "ikinci mesaj").await;
    let api = Api::new(t, &a.key);
    let (_, first) = api.get(&format!("/api/v1/conversations/{conv}/messages?limit=1")).await;
    let older =
        format!("/api/v1/conversations/{conv}/messages?limit=1&cursor={}", first["next_cursor"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(api.get(&older).await.0, StatusCode::OK);
    }
    assert_eq!(t.count(a.id, "audit_log", reads).await, 5, "the API key's first read, then two older pages");
}
server_test!(conversation_reads_are_audited_once_per_window);

/// The contact panel edits name, labels and attributes through `update_contact`: audited,
/// `contacts:write` needed, phone kept, another tenant's conversation not found.
async fn contact_panel_edits(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "merhaba").await;
    let contact = conversation(t, &a.key, &conv).await["contact"]["id"].as_str().unwrap().to_owned();
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("id=\"contact-form\""), "agents hold contacts:write");
    let form = [
        ("name", "Ayşe <b>Yılmaz</b>"),
        ("labels", "vip, geri-ara"),
        ("attr_key", "şehir"),
        ("attr_value", "<i>İzmir</i>"),
        ("attr_key", ""),
        ("attr_value", ""),
    ];
    let res = post(&agent, t, &format!("/inbox/{conv}/contact"), &form).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("/inbox/{conv}?done=contact")));
    let (_, c) = Api::new(t, &a.key).get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(c["name"], "Ayşe <b>Yılmaz</b>");
    assert_eq!(c["labels"], json!(["geri-ara", "vip"]));
    assert_eq!(c["attributes"], json!({"şehir": "<i>İzmir</i>"}));
    assert_eq!(c["phone"], "+905321112233", "the phone is kept");
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains(&escaped("<i>İzmir</i>")) && !html.contains("<i>İzmir</i>"));
    let updated = format!("AND action = 'contact.updated' AND target_id = '{contact}'");
    assert_eq!(t.count(a.id, "audit_log", &updated).await, 1, "audited");
    // A mistake is shown beside the conversation.
    let res = post(&agent, t, &format!("/inbox/{conv}/contact"), &[("attr_key", ""), ("attr_value", "x")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without contacts:write (an analyst) no form and no change; another tenant: not found.
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    assert!(!page(&analyst, t, &format!("/inbox/{conv}")).await.1.contains("id=\"contact-form\""));
    let res = post(&analyst, t, &format!("/inbox/{conv}/contact"), &[("name", "x")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let res = post(&outsider, t, &format!("/inbox/{conv}/contact"), &[("name", "x")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(forged(&agent, t, &format!("/inbox/{conv}/contact"), &[("name", "x")]).await, StatusCode::FORBIDDEN);
    assert_eq!(t.count(a.id, "audit_log", &updated).await, 1);
}
server_test!(contact_panel_edits);
