//! Webhook bodies shaped like Meta's (PROTOCOLS §1.5, §1.7, §1.9).

use serde_json::{Value, json};

use crate::state::Shared;
use crate::util::now_secs;

/// The `whatsapp_business_account` envelope around one change. Non-`messages` fields carry
/// `entry[].time`, as Meta's do.
pub(crate) fn envelope(shared: &Shared, field: &str, value: Value) -> Value {
    let mut entry = json!({
        "id": shared.waba_id,
        "changes": [{ "value": value, "field": field }],
    });
    if field != "messages" {
        entry["time"] = json!(now_secs());
    }
    json!({ "object": "whatsapp_business_account", "entry": [entry] })
}

fn metadata(shared: &Shared) -> Value {
    json!({
        "display_phone_number": shared.display_phone_number,
        "phone_number_id": shared.phone_number_id,
    })
}

/// A `messages` change with inbound messages (and the sender's contact, except for `system`
/// messages, which Meta sends without one).
pub(crate) fn inbound(shared: &Shared, contact: Option<Value>, messages: Vec<Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(shared),
        "messages": messages,
    });
    if let Some(contact) = contact {
        value["contacts"] = json!([contact]);
    }
    envelope(shared, "messages", value)
}

/// A `messages` change carrying one status.
pub(crate) fn status(shared: &Shared, status: Value) -> Value {
    envelope(
        shared,
        "messages",
        json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(shared),
            "statuses": [status],
        }),
    )
}
