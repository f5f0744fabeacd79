use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;

fn vectors_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared webhook vectors not found at {}", dir.display());
        None
    }
}

/// The named payloads of one `pywa__updates__*.json` file, re-serialised to bytes.
fn pywa(dir: &std::path::Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    let path = dir.join(format!("pywa__updates__{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    cases.into_iter().map(|(k, v)| (k, serde_json::to_vec(&v).unwrap())).collect()
}

fn one_case(name: &str, case: &str) -> Option<Notification> {
    let dir = vectors_dir()?;
    let cases = pywa(&dir, name);
    Some(parse(&cases[case]).unwrap())
}

fn first_value(n: &Notification) -> &ChangeValue {
    &n.entry[0].changes[0].value
}

fn first_message(n: &Notification) -> &InboundMessage {
    match first_value(n) {
        ChangeValue::Messages(v) => &v.messages[0],
        other => panic!("expected messages, got {other:?}"),
    }
}

fn first_status(n: &Notification) -> &Status {
    match first_value(n) {
        ChangeValue::Messages(v) => &v.statuses[0],
        other => panic!("expected messages, got {other:?}"),
    }
}

fn check_kinds(kind: &MessageKind, file: &str, case: &str) {
    match kind {
        MessageKind::Unknown { type_name } => {
            panic!("{file}/{case}: message type {type_name:?} not decoded")
        }
        MessageKind::Edit { message, .. } => check_kinds(message, file, case),
        _ => {}
    }
}

#[test]
fn every_pywa_vector_parses_without_invalid_changes() {
    let Some(dir) = vectors_dir() else { return };
    let mut files = 0;
    let mut payloads = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(name) = file.strip_prefix("pywa__updates__").and_then(|f| f.strip_suffix(".json")) else {
            continue;
        };
        files += 1;
        for (case, body) in pywa(&dir, name) {
            payloads += 1;
            let n = parse(&body).unwrap_or_else(|e| panic!("{file}/{case}: {e}"));
            assert_eq!(n.object, "whatsapp_business_account", "{file}/{case}");
            assert!(!n.entry.is_empty(), "{file}/{case}");
            for change in n.entry.iter().flat_map(|e| &e.changes) {
                match &change.value {
                    ChangeValue::Invalid { field, error, .. } => {
                        panic!("{file}/{case}: change {field} invalid: {error}")
                    }
                    ChangeValue::Messages(v) => {
                        for m in &v.messages {
                            check_kinds(&m.kind, &file, &case);
                        }
                    }
                    ChangeValue::MessageEchoes(v) => {
                        for m in &v.message_echoes {
                            check_kinds(&m.kind, &file, &case);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(files, 19, "pywa vector files");
    assert_eq!(payloads, 74, "pywa named payloads");
}

#[test]
fn text_message() {
    let Some(n) = one_case("message", "text") else {
        return;
    };
    let ChangeValue::Messages(v) = first_value(&n) else { panic!() };
    assert_eq!(v.metadata.phone_number_id, "1122334455667");
    assert_eq!(v.contacts[0].wa_id.as_deref(), Some("972987654321"));
    assert_eq!(v.contacts[0].name(), Some("Test Name"));
    assert_eq!(v.contacts[0].user_id.as_deref(), Some("US.13491208655302741918"));
    let m = &v.messages[0];
    assert_eq!(m.from.as_deref(), Some("972987654321"));
    assert_eq!(m.id, "wamid.xyzxyz");
    assert_eq!(m.timestamp, 1_697_043_223);
    assert_eq!(m.kind, MessageKind::Text { body: "Body Text".into() });
    assert_eq!(m.raw["text"]["body"], "Body Text");
}

#[test]
fn reactions_and_their_removal() {
    let Some(dir) = vectors_dir() else { return };
    let cases = pywa(&dir, "message");
    let kind = |case: &str| first_message(&parse(&cases[case]).unwrap()).kind.clone();
    assert_eq!(
        kind("reaction"),
        MessageKind::Reaction { message_id: "wamid.yzxyzx=".into(), emoji: Some("\u{1f62e}".into()) }
    );
    for removed in ["unreaction_empty", "unreaction_no_emoji"] {
        assert_eq!(
            kind(removed),
            MessageKind::Reaction { message_id: "wamid.yzxyzx=".into(), emoji: None },
            "{removed}"
        );
    }
}

#[test]
fn media_location_contacts_order_unsupported() {
    let Some(dir) = vectors_dir() else { return };
    let cases = pywa(&dir, "message");
    let msg = |case: &str| first_message(&parse(&cases[case]).unwrap()).clone();

    let with_url = msg("media_with_url");
    let media = with_url.kind.media().unwrap();
    assert!(matches!(with_url.kind, MessageKind::Image(_)));
    assert_eq!(media.id, "65463453");
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert!(media.url.as_deref().unwrap().starts_with("https://lookaside"));

    let doc = msg("document");
    let MessageKind::Document(d) = &doc.kind else { panic!() };
    assert_eq!(d.filename.as_deref(), Some("filename.pdf"));
    assert_eq!(d.caption.as_deref(), Some("caption"));
    assert!(doc.context.as_ref().unwrap().forwarded);

    let MessageKind::Audio(voice) = msg("voice").kind else { panic!() };
    assert_eq!(voice.voice, Some(true));
    let MessageKind::Sticker(sticker) = msg("animated_sticker").kind else { panic!() };
    assert_eq!(sticker.animated, Some(true));

    let MessageKind::Location(loc) = msg("chosen_location").kind else { panic!() };
    assert!((loc.latitude - 37.461_197_8).abs() < 1e-9);
    assert_eq!(loc.name.as_deref(), Some("Facebook HQ"));
    let MessageKind::Location(here) = msg("current_location").kind else { panic!() };
    assert_eq!(here.name, None);

    let MessageKind::Contacts(cards) = msg("contacts").kind else { panic!() };
    assert_eq!(cards.len(), 3);
    assert_eq!(cards[0]["name"]["formatted_name"], "Chandler Bing");

    let MessageKind::Order(order) = msg("order").kind else { panic!() };
    assert_eq!(order.catalog_id.as_deref(), Some("354160437058781"));
    assert_eq!(order.product_items.len(), 3);
    assert_eq!(order.product_items[0].product_retailer_id, "HAMBURGER");
    assert_eq!(order.product_items[0].quantity, 3);
    assert_eq!(order.product_items[0].item_price, Some(30.0));

    let unsupported = msg("unsupported");
    assert_eq!(unsupported.kind, MessageKind::Unsupported { kind: None });
    assert_eq!(unsupported.errors[0].code, 131051);
    assert_eq!(unsupported.errors[0].details.as_deref(), Some("Message type is currently not supported."));
    assert_eq!(msg("unsupported_with_type").kind, MessageKind::Unsupported { kind: Some("pool".into()) });

    let reply = msg("reply");
    let ctx = reply.context.unwrap();
    assert_eq!(ctx.id.as_deref(), Some("wamid.xyzxyz=="));
    assert_eq!(ctx.from.as_deref(), Some("972123456789"));
    assert!(msg("forwarded_many_times").context.unwrap().frequently_forwarded);

    let referral = msg("referral").referral.unwrap();
    assert_eq!(referral["ctwa_clid"], "CTWA_CLID");
}

#[test]
fn interactive_without_object_keeps_the_value_errors() {
    let Some(n) = one_case("message", "interactive_message_with_err") else {
        return;
    };
    let ChangeValue::Messages(v) = first_value(&n) else { panic!() };
    assert_eq!(v.messages[0].kind, MessageKind::Interactive(Interactive::Other(Value::Null)));
    assert_eq!(v.errors[0].code, 131000);
    assert_eq!(v.errors[0].details.as_deref(), Some("Unsupported webhook payload"));
}

#[test]
fn replies_to_buttons_lists_and_flows() {
    let Some(dir) = vectors_dir() else { return };
    let button = pywa(&dir, "callback_button");
    let kind = |body: &[u8]| first_message(&parse(body).unwrap()).kind.clone();
    assert_eq!(
        kind(&button["button"]),
        MessageKind::Interactive(Interactive::ButtonReply { id: "callback_data".into(), title: "title".into() })
    );
    assert_eq!(
        kind(&button["quick_reply"]),
        MessageKind::Button { text: Some("title".into()), payload: Some("callback_data".into()) }
    );
    let no_ctx = parse(&button["quick_reply_without_context"]).unwrap();
    let m = first_message(&no_ctx);
    assert_eq!(m.context, None);
    assert_eq!(m.from_user_id.as_deref(), Some("US.13491208655302741918"));

    let list = pywa(&dir, "callback_selection");
    assert_eq!(
        kind(&list["description"]),
        MessageKind::Interactive(Interactive::ListReply {
            id: "callback_data".into(),
            title: "title".into(),
            description: Some("description".into())
        })
    );

    let flow = pywa(&dir, "flow_completion");
    let MessageKind::Interactive(Interactive::NfmReply { name, body, response_json }) = kind(&flow["completion"])
    else {
        panic!()
    };
    assert_eq!(name.as_deref(), Some("flow"));
    assert_eq!(body.as_deref(), Some("Sent"));
    let answers: Value = serde_json::from_str(&response_json).unwrap();
    assert_eq!(answers["delivery_rating"], "4");

    let permission = pywa(&dir, "call_permission_update");
    let MessageKind::Interactive(Interactive::Other(obj)) = kind(&permission["accept"]) else { panic!() };
    assert_eq!(obj["type"], "call_permission_reply");
}

#[test]
fn statuses() {
    let Some(dir) = vectors_dir() else { return };
    let cases = pywa(&dir, "message_status");
    let status = |case: &str| first_status(&parse(&cases[case]).unwrap()).clone();

    let sent = status("sent");
    assert_eq!(sent.id, "wamid.xyzxyz");
    assert_eq!(sent.status, StatusKind::Sent);
    assert_eq!(sent.timestamp, 1_698_266_945);
    assert_eq!(sent.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(sent.pricing.as_ref().unwrap()["category"], "service");
    assert_eq!(sent.conversation.as_ref().unwrap()["origin"]["type"], "service");
    assert_eq!(status("delivered").status, StatusKind::Delivered);
    assert_eq!(status("read").status, StatusKind::Read);
    assert_eq!(status("played").status, StatusKind::Played);

    let failed = status("failed");
    assert_eq!(failed.status, StatusKind::Failed);
    assert_eq!(failed.errors[0].code, 130472);
    assert_eq!(failed.errors[0].title.as_deref(), Some("User's number is part of an experiment"));
    assert_eq!(failed.errors[0].kind(), Some(crate::whatsapp::ErrorKind::Undeliverable));
    assert!(failed.errors[0].href.is_some());

    assert_eq!(status("with_tracker").biz_opaque_callback_data.as_deref(), Some("some data"));
    assert_eq!(status("group").recipient_type.as_deref(), Some("group"));
}

#[test]
fn template_webhooks() {
    let Some(dir) = vectors_dir() else { return };
    let status = pywa(&dir, "template_status_update");
    let ChangeValue::TemplateStatus(approved) = first_value(&parse(&status["approved"]).unwrap()).clone() else {
        panic!()
    };
    assert_eq!(approved.event, "APPROVED");
    assert_eq!(approved.message_template_id, "1689556908129832");
    assert_eq!(approved.name.as_deref(), Some("order_confirmation"));
    assert_eq!(approved.reason.as_deref(), Some("NONE"));
    let rejected = parse(&status["rejected"]).unwrap();
    assert_eq!(rejected.entry[0].time, Some(1_751_247_548));
    let ChangeValue::TemplateStatus(rejected) = first_value(&rejected).clone() else { panic!() };
    assert_eq!(rejected.event, "REJECTED");
    assert_eq!(rejected.reason.as_deref(), Some("INVALID_FORMAT"));
    assert!(rejected.rejection_info.unwrap().recommendation.unwrap().starts_with("Separate parameters"));

    let Some(quality) = one_case("template_quality_update", "yellow") else {
        return;
    };
    let ChangeValue::TemplateQuality(q) = first_value(&quality) else { panic!() };
    assert_eq!(q.new_quality_score.as_deref(), Some("YELLOW"));
    assert_eq!(q.message_template_id, "806312974732579");

    let Some(category) = one_case("template_category_update", "marketing") else {
        return;
    };
    let ChangeValue::TemplateCategory(c) = first_value(&category) else { panic!() };
    assert_eq!(c.new_category.as_deref(), Some("MARKETING"));

    let Some(components) = one_case("template_components_update", "element") else {
        return;
    };
    let ChangeValue::TemplateComponents(v) = first_value(&components) else { panic!() };
    assert_eq!(v["message_template_name"], "my_message_template");
}

#[test]
fn system_edit_revoke_echoes_preferences_calls_accounts() {
    let Some(dir) = vectors_dir() else { return };
    let system = pywa(&dir, "system");
    let changed = parse(&system["phone_number_change"]).unwrap();
    let ChangeValue::Messages(v) = first_value(&changed) else { panic!() };
    assert!(v.contacts.is_empty());
    assert_eq!(
        v.messages[0].kind,
        MessageKind::System {
            body: Some("User A changed from 972987654321 to 972912345678".into()),
            wa_id: Some("972912345678".into()),
            kind: Some("user_changed_number".into())
        }
    );

    let Some(edit) = one_case("edited_message", "image") else {
        return;
    };
    let MessageKind::Edit { original_message_id, message } = &first_message(&edit).kind else { panic!() };
    assert!(original_message_id.starts_with("wamid.HBgLMTQxMjU1"));
    let MessageKind::Image(image) = message.as_ref() else { panic!() };
    assert_eq!(image.caption.as_deref(), Some("Updated image caption"));

    let Some(revoke) = one_case("deleted_message", "revoke") else {
        return;
    };
    assert_eq!(
        first_message(&revoke).kind,
        MessageKind::Revoke { original_message_id: "<ORIGINAL_WHATSAPP_MESSAGE_ID>".into() }
    );

    let echoes = pywa(&dir, "outgoing_message");
    let text = parse(&echoes["text"]).unwrap();
    let ChangeValue::MessageEchoes(v) = first_value(&text) else { panic!() };
    let echo = &v.message_echoes[0];
    assert_eq!(echo.to.as_deref(), Some("<WHATSAPP_USER_PHONE_NUMBER>"));
    assert_eq!(echo.kind, MessageKind::Text { body: "Test message".into() });
    let edited = parse(&echoes["edit"]).unwrap();
    let ChangeValue::MessageEchoes(v) = first_value(&edited) else { panic!() };
    assert!(matches!(v.message_echoes[0].kind, MessageKind::Edit { .. }));

    let prefs = pywa(&dir, "user_marketing_preferences");
    let resume = parse(&prefs["resume"]).unwrap();
    let ChangeValue::UserPreferences(p) = first_value(&resume) else { panic!() };
    let pref = &p.user_preferences[0];
    assert_eq!(pref.wa_id.as_deref(), Some("16505551234"));
    assert_eq!(pref.value.as_deref(), Some("resume"));
    assert_eq!(pref.category.as_deref(), Some("marketing_messages"));
    assert_eq!(pref.timestamp, Some(1_731_705_721));

    let Some(call) = one_case("call_connect", "user_initiated") else {
        return;
    };
    assert!(matches!(first_value(&call), ChangeValue::Other { field, .. } if field == "calls"));

    let Some(account) = one_case("account_update", "account_violation") else {
        return;
    };
    let ChangeValue::AccountUpdate(v) = first_value(&account) else { panic!() };
    assert_eq!(v["violation_info"]["violation_type"], "ADULT");
}

#[test]
fn malformed_messenger_vector_is_refused() {
    let Some(dir) = vectors_dir() else { return };
    let body = std::fs::read(dir.join("ker0x-messenger__Callback__invalid_message.json")).unwrap();
    assert!(matches!(parse(&body), Err(ParseError::Json(_))));
}

#[test]
fn hostile_bodies_are_errors_not_crashes() {
    let deep = "[".repeat(100_000);
    assert!(parse(deep.as_bytes()).is_err());
    let deep_inside = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"x","value":{}}}]}}]}}"#,
        "{\"a\":".repeat(100_000)
    );
    assert!(parse(deep_inside.as_bytes()).is_err());
    assert!(matches!(
        parse(b"{\"object\":\"whatsapp_business_account\",\"entry\":[],\"x\":\"\xff\"}"),
        Err(ParseError::NotUtf8)
    ));
    assert!(parse(b"").is_err());
    assert!(parse(b"null").is_err());
    assert!(parse(b"{\"entry\":[]}").is_err());
}

#[test]
fn one_bad_change_does_not_sink_the_envelope() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": 880000000000001_u64,
            "time": "1767231000",
            "unknown_entry_key": true,
            "changes": [
                { "field": "messages", "value": { "messages": [] } },
                { "field": "brand_new_field", "value": { "x": 1 } },
                { "field": "phone_number_quality_update", "value": {
                    "display_phone_number": 15550001111_u64, "event": "FLAGGED",
                    "current_limit": "TIER_1K", "max_daily_conversations_per_business": 2000 } },
                { "field": "message_template_status_update", "value": {
                    "event": "PAUSED", "message_template_id": "1689000000000001",
                    "other_info": { "title": "FIRST_PAUSE", "description": "low quality" } } },
                { "field": "messages", "value": {
                    "metadata": { "display_phone_number": "15550001111", "phone_number_id": "106000000000001" },
                    "messages": [{ "from": "5511987650001", "id": "wamid.A", "timestamp": 1767225600,
                                   "type": "hologram", "hologram": {}, "new_top_level": 1 },
                                 { "from": "5511987650001", "id": "wamid.B", "timestamp": "1767225601",
                                   "type": "request_welcome" },
                                 { "from": "5511987650001", "id": "wamid.C", "timestamp": "1767225602",
                                   "type": "text", "text": { "no_body": true } }] } }
            ]
        }]
    });
    let n = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    let entry = &n.entry[0];
    assert_eq!(entry.id, "880000000000001");
    assert_eq!(entry.time, Some(1_767_231_000));
    let values: Vec<_> = entry.changes.iter().map(|c| &c.value).collect();
    assert!(matches!(values[0], ChangeValue::Invalid { field, .. } if field == "messages"));
    assert!(matches!(values[1], ChangeValue::Other { field, .. } if field == "brand_new_field"));
    let ChangeValue::PhoneNumberQuality(q) = values[2] else { panic!() };
    assert_eq!(q.event, "FLAGGED");
    assert_eq!(q.display_phone_number.as_deref(), Some("15550001111"));
    assert_eq!(q.max_daily_conversations_per_business.as_deref(), Some("2000"));
    let ChangeValue::TemplateStatus(t) = values[3] else { panic!() };
    assert_eq!(t.other_info.as_ref().unwrap().title.as_deref(), Some("FIRST_PAUSE"));
    let ChangeValue::Messages(m) = values[4] else { panic!() };
    assert_eq!(m.messages[0].kind, MessageKind::Unknown { type_name: "hologram".into() });
    assert_eq!(m.messages[0].timestamp, 1_767_225_600);
    assert_eq!(m.messages[1].kind, MessageKind::RequestWelcome);
    assert_eq!(m.messages[2].kind, MessageKind::Unknown { type_name: "text".into() });
}

#[test]
fn debug_output_hides_personal_data() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": "106" },
            "contacts": [{ "profile": { "name": "Ana Lima" }, "wa_id": "5511987650001" }],
            "messages": [{ "from": "5511987650001", "id": "wamid.X", "timestamp": "1",
                           "type": "text", "text": { "body": "secret text" } }],
            "statuses": [{ "id": "wamid.Y", "status": "sent", "timestamp": "1",
                           "recipient_id": "5511987650001" }] } }] }]
    });
    let n = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    let ChangeValue::Messages(v) = first_value(&n) else { panic!() };
    let shown = format!("{:?} {:?} {:?}", v.contacts, v.messages, v.statuses);
    for secret in ["5511987650001", "Ana Lima", "secret text"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("wamid.X"));
}

#[test]
fn language_codes_compare_loosely() {
    assert!(same_language("en_US", "en-US"));
    assert!(same_language("pt_BR", "PT-br"));
    assert!(!same_language("en", "en_US"));
}

#[test]
fn wa_ids_are_found_wherever_they_sit() {
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": "42"},
            "contacts": [{"wa_id": "905320000001"}],
            "messages": [{"from": "905320000001", "id": "wamid.1", "type": "text", "text": {"body": "x"}}],
            "statuses": [{"id": "wamid.2", "recipient_id": "905320000002"}]}},
        {"field": "smb_message_echoes", "value": {"message_echoes": [{"from": "15550001111", "to": "905320000003"}]}},
        {"field": "user_preferences", "value": {"user_preferences": [{"wa_id": "905320000004"}]}}]}]}))
    .unwrap();
    assert_eq!(wa_ids(&body), ["905320000001", "905320000002", "15550001111", "905320000003", "905320000004"]);
    let cut = br#"{"entry": [{"changes": [{"value": {"messages": [{"from": "905320000001", "timestamp": "17"#;
    assert_eq!(wa_ids(cut), ["905320000001"], "cut short: the digit runs");
}
