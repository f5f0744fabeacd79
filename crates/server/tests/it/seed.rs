//! `switchboard seed`: a small seed is consistent — the counts add up, everything opens with
//! the tenant's keys, and it is searchable like real data.

use reqwest::StatusCode;
use switchboard_app::seed::SeedPlan;

use crate::support::{Api, TestServer};

async fn small_seed_is_consistent(t: &TestServer) {
    let a = t.tenant("Seeded").await;
    let plan = SeedPlan { contacts: 120, messages: 1000, agents: 2, batch: 50 };
    let mut batches = 0;
    let report = t.app.seed(a.id, plan, |_, _, _| batches += 1).await.unwrap();
    assert_eq!(batches, 3);
    assert_eq!((report.contacts, report.conversations, report.messages, report.agents), (120, 120, 1000, 2));
    assert_eq!(t.count(a.id, "contacts", "").await, 120);
    assert_eq!(t.count(a.id, "contact_keys", "").await, 120);
    assert_eq!(t.count(a.id, "conversations", "").await, 120);
    assert_eq!(t.count(a.id, "messages", "").await, 1000);
    assert_eq!(t.count(a.id, "search_docs", "").await, report.search_docs as i64);
    crate::search::assert_index_consistent(t).await;
    assert_eq!(t.count(a.id, "users", "AND role = 'agent'").await, 2);

    // Everything opens: the inbox, a conversation's messages, the contacts.
    let api = Api::new(t, &a.key);
    let (s, page) = api.get("/api/v1/conversations?limit=50").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert!(items.iter().all(|c| c["contact"]["name"].as_str().is_some_and(|n| n.contains(' '))));
    assert!(items.iter().all(|c| c["preview"]["text"].as_str().is_some_and(|p| !p.is_empty())));
    let first = items[0]["id"].as_str().unwrap();
    let (s, msgs) = api.get(&format!("/api/v1/conversations/{first}/messages?limit=100")).await;
    assert_eq!(s, StatusCode::OK, "{msgs}");
    let msgs = msgs["items"].as_array().unwrap();
    assert!(msgs.len() >= 8, "{}", msgs.len());
    assert!(msgs.iter().all(|m| m["text"].as_str().is_some_and(|x| !x.is_empty())), "{msgs:?}");
    let (_, open) = api.get("/api/v1/conversations?status=open&limit=100").await;
    assert!(!open["items"].as_array().unwrap().is_empty());

    // Searchable: a message word every seed uses, a name, a phone's last digits.
    let (_, found) = api.get("/api/v1/conversations?q=merhaba&limit=100").await;
    assert!(!found["items"].as_array().unwrap().is_empty(), "{found}");
    let name = items[0]["contact"]["name"].as_str().unwrap().split(' ').next().unwrap().to_owned();
    let (_, found) = api.get(&format!("/api/v1/conversations?q={}&limit=100", &name)).await;
    assert!(found["items"].as_array().unwrap().iter().any(|c| c["id"] == first), "{name}: {found}");
    let (_, contact) = api.get(&format!("/api/v1/contacts/{}", items[0]["contact"]["id"].as_str().unwrap())).await;
    let phone = contact["phone"].as_str().unwrap();
    let (_, found) = api.get(&format!("/api/v1/conversations?q={}", &phone[phone.len() - 7..])).await;
    assert_eq!(found["items"][0]["id"], first, "{phone}");
}
server_test!(small_seed_is_consistent);
