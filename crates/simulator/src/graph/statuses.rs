//! The status webhooks that follow an accepted send (PROTOCOLS §1.7): `sent` → `delivered` →
//! `read` on the configured delays, or a single `failed` with an error. Reactions only ever get
//! `sent`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::meta_error::webhook_error;
use crate::state::Shared;
use crate::util::{lock, now_secs};
use crate::webhook::{delivery, payload};

pub(super) enum Outcome {
    Delivered { reaction: bool },
    Failed(i64),
}

/// What a status says about pricing: `category` as Meta spells it and whether it is free.
pub(super) struct Billing {
    pub category: String,
    pub free: bool,
}

pub(super) struct Accepted {
    pub wamid: String,
    pub recipient: String,
    pub callback_data: Option<String>,
    pub billing: Billing,
    pub outcome: Outcome,
}

pub(super) fn schedule(shared: &Arc<Shared>, sent: Accepted) {
    let (delays, emit_read) = {
        let t = lock(&shared.tunables);
        (t.status_delays_ms, t.emit_read)
    };
    if let Outcome::Failed(code) = sent.outcome {
        lock(&shared.sent).failed(code);
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let conversation_id = format!("{:032x}", rand::random::<u128>());
        let steps: Vec<(&str, u64)> = match sent.outcome {
            Outcome::Failed(_) => vec![("failed", delays.0)],
            Outcome::Delivered { reaction: true } => vec![("sent", delays.0)],
            Outcome::Delivered { reaction: false } => {
                let mut steps = vec![("sent", delays.0), ("delivered", delays.1.saturating_sub(delays.0))];
                if emit_read {
                    steps.push(("read", delays.2.saturating_sub(delays.1)));
                }
                steps
            }
        };
        for (status, wait) in steps {
            tokio::select! {
                () = shared.cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            let body = status_json(&sent, status, &conversation_id);
            delivery::enqueue(&shared, &format!("statuses.{status}"), &payload::status(&shared, body));
        }
    });
}

fn status_json(sent: &Accepted, status: &str, conversation_id: &str) -> Value {
    let now = now_secs();
    let mut v = json!({
        "id": sent.wamid,
        "status": status,
        "timestamp": now.to_string(),
        "recipient_id": sent.recipient,
    });
    if let Some(data) = &sent.callback_data {
        v["biz_opaque_callback_data"] = json!(data);
    }
    match (&sent.outcome, status) {
        (Outcome::Failed(code), _) => v["errors"] = json!([webhook_error(*code)]),
        // Pricing and conversation ride on `sent` and on one later status, never on both
        // `delivered` and `read`.
        (_, "sent" | "delivered") => {
            let mut conversation = json!({
                "id": conversation_id,
                "origin": { "type": sent.billing.category },
            });
            if status == "sent" {
                conversation["expiration_timestamp"] = json!((now + 24 * 60 * 60).to_string());
            }
            v["conversation"] = conversation;
            v["pricing"] = json!({
                "billable": !sent.billing.free,
                "pricing_model": "PMP",
                "type": if sent.billing.free { "free_customer_service" } else { "regular" },
                "category": sent.billing.category,
            });
        }
        _ => {}
    }
    v
}
