//! Send-body validation as Meta does it (PROTOCOLS §2.2–§2.4): structural problems and length
//! limits are error 100; template lookups are 132001/132015/132016 and parameter-count
//! mismatches 132000.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::templates::TemplateStore;
use crate::meta_error::ApiError;
use crate::util::digits_of;

const TYPES: [&str; 11] = [
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
];

/// A send that passed validation.
pub(super) struct Send {
    /// Recipient digits: the wa_id the simulator answers with.
    pub to: String,
    pub to_input: String,
    pub kind: &'static str,
    /// Lowercase template category for templates (`utility`, `marketing`, …).
    pub template_category: Option<String>,
    /// The media id referenced by an id-based media send.
    pub media_id: Option<String>,
    pub callback_data: Option<String>,
}

type Obj = Map<String, Value>;

pub(super) fn send(body: &Obj, templates: &TemplateStore) -> Result<Send, ApiError> {
    if let Some(rt) = body.get("recipient_type")
        && !matches!(rt.as_str(), Some("individual" | "group"))
    {
        return Err(ApiError::invalid("recipient_type must be individual or group"));
    }
    let to_input = required_str(body, "to", "to")?;
    let to = digits_of(to_input).ok_or_else(|| ApiError::invalid("Invalid parameter: to is not a phone number"))?;
    let kind_name = match body.get("type") {
        // Meta defaults a missing type to text.
        None => "text",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::invalid("type must be a string")),
    };
    let kind = TYPES
        .into_iter()
        .find(|t| *t == kind_name)
        .ok_or_else(|| ApiError::invalid(format!("Param type must be one of {TYPES:?}")))?;
    if let Some(ctx) = body.get("context") {
        let ctx = object(Some(ctx), "context")?;
        required_str(ctx, "message_id", "context.message_id")?;
        if kind == "reaction" {
            return Err(ApiError::invalid("context is not allowed on reactions"));
        }
    }
    let callback_data = optional_str(body, "biz_opaque_callback_data", "biz_opaque_callback_data")?;
    if let Some(data) = callback_data {
        max_chars(data, 512, "biz_opaque_callback_data")?;
    }
    let payload = body.get(kind);
    let mut send = Send {
        to,
        to_input: to_input.to_owned(),
        kind,
        template_category: None,
        media_id: None,
        callback_data: callback_data.map(str::to_owned),
    };
    match kind {
        "text" => {
            let text = object(payload, "text")?;
            let body = required_str(text, "body", "text.body")?;
            max_chars(body, 4096, "text.body")?;
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            send.media_id = media(kind, object(payload, kind)?)?;
        }
        "location" => {
            let loc = object(payload, "location")?;
            for key in ["latitude", "longitude"] {
                let ok = match loc.get(key) {
                    Some(Value::Number(_)) => true,
                    Some(Value::String(s)) => s.trim().parse::<f64>().is_ok(),
                    _ => false,
                };
                if !ok {
                    return Err(ApiError::invalid(format!("location.{key} is required")));
                }
            }
        }
        "contacts" => contacts(payload)?,
        "interactive" => interactive(object(payload, "interactive")?)?,
        "template" => {
            send.template_category = Some(template(object(payload, "template")?, templates)?);
        }
        "reaction" => {
            let reaction = object(payload, "reaction")?;
            required_str(reaction, "message_id", "reaction.message_id")?;
            // An empty emoji removes the reaction; a missing one is an error.
            if !reaction.get("emoji").is_some_and(Value::is_string) {
                return Err(ApiError::invalid("reaction.emoji is required"));
            }
        }
        _ => {}
    }
    Ok(send)
}

fn media(kind: &str, m: &Obj) -> Result<Option<String>, ApiError> {
    let id = optional_str(m, "id", "id")?;
    let link = optional_str(m, "link", "link")?;
    let media_id = match (id, link) {
        (Some(id), None) => Some(id.to_owned()),
        (None, Some(link)) => {
            if !(link.starts_with("https://") || link.starts_with("http://")) {
                return Err(ApiError::invalid(format!("{kind}.link must be an http(s) URL")));
            }
            None
        }
        _ => {
            return Err(ApiError::invalid(format!("{kind} needs exactly one of id or link")));
        }
    };
    if let Some(caption) = optional_str(m, "caption", "caption")? {
        if matches!(kind, "audio" | "sticker") {
            return Err(ApiError::invalid(format!("{kind} cannot have a caption")));
        }
        max_chars(caption, 1024, &format!("{kind}.caption"))?;
    }
    if m.contains_key("filename") && kind != "document" {
        return Err(ApiError::invalid(format!("{kind} cannot have a filename")));
    }
    Ok(media_id)
}

fn contacts(payload: Option<&Value>) -> Result<(), ApiError> {
    let cards = payload
        .and_then(Value::as_array)
        .filter(|c| (1..=257).contains(&c.len()))
        .ok_or_else(|| ApiError::invalid("contacts must be an array of 1 to 257 cards"))?;
    for (i, card) in cards.iter().enumerate() {
        let name = card.get("name").and_then(Value::as_object);
        let formatted = name.and_then(|n| n.get("formatted_name")).and_then(Value::as_str);
        if formatted.is_none_or(|f| f.trim().is_empty()) {
            return Err(ApiError::invalid(format!("contacts[{i}].name.formatted_name is required")));
        }
    }
    Ok(())
}

fn interactive(i: &Obj) -> Result<(), ApiError> {
    let kind = required_str(i, "type", "interactive.type")?;
    let body_text = i.get("body").and_then(|b| b.get("text")).and_then(Value::as_str);
    if let Some(footer) = i.get("footer").and_then(|f| f.get("text")).and_then(Value::as_str) {
        max_chars(footer, 60, "interactive.footer.text")?;
    }
    let header = i.get("header").and_then(Value::as_object);
    if let Some(text) = header.and_then(|h| h.get("text")).and_then(Value::as_str) {
        max_chars(text, 60, "interactive.header.text")?;
    }
    let action = i.get("action").and_then(Value::as_object);
    match kind {
        "button" => {
            let body = nonempty(body_text, "interactive.body.text")?;
            max_chars(body, 1024, "interactive.body.text")?;
            let buttons = action
                .and_then(|a| a.get("buttons"))
                .and_then(Value::as_array)
                .filter(|b| (1..=3).contains(&b.len()))
                .ok_or_else(|| ApiError::invalid("interactive.action.buttons must have 1 to 3 buttons"))?;
            let mut ids = HashSet::new();
            let mut titles = HashSet::new();
            for (n, b) in buttons.iter().enumerate() {
                let reply = b
                    .get("reply")
                    .and_then(Value::as_object)
                    .ok_or_else(|| ApiError::invalid(format!("interactive.action.buttons[{n}].reply is required")))?;
                let at = format!("interactive.action.buttons[{n}].reply");
                let id = required_str(reply, "id", &format!("{at}.id"))?;
                let title = required_str(reply, "title", &format!("{at}.title"))?;
                max_chars(id, 256, &format!("{at}.id"))?;
                max_chars(title, 20, &format!("{at}.title"))?;
                if !ids.insert(id) || !titles.insert(title) {
                    return Err(ApiError::invalid("button ids and titles must be unique"));
                }
            }
        }
        "list" => {
            let body = nonempty(body_text, "interactive.body.text")?;
            max_chars(body, 4096, "interactive.body.text")?;
            let action = action.ok_or_else(|| ApiError::invalid("interactive.action is required"))?;
            let button = required_str(action, "button", "interactive.action.button")?;
            max_chars(button, 20, "interactive.action.button")?;
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .filter(|s| (1..=10).contains(&s.len()))
                .ok_or_else(|| ApiError::invalid("interactive.action.sections must have 1 to 10 sections"))?;
            let mut ids = HashSet::new();
            for (s, section) in sections.iter().enumerate() {
                if let Some(title) = section.get("title").and_then(Value::as_str) {
                    max_chars(title, 24, &format!("sections[{s}].title"))?;
                }
                let rows = section
                    .get("rows")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ApiError::invalid(format!("sections[{s}].rows is required")))?;
                for (r, row) in rows.iter().enumerate() {
                    let row = row.as_object().ok_or_else(|| ApiError::invalid("rows must be objects"))?;
                    let at = format!("sections[{s}].rows[{r}]");
                    let id = required_str(row, "id", &format!("{at}.id"))?;
                    max_chars(id, 200, &format!("{at}.id"))?;
                    max_chars(required_str(row, "title", &format!("{at}.title"))?, 24, &format!("{at}.title"))?;
                    if let Some(d) = optional_str(row, "description", &format!("{at}.description"))? {
                        max_chars(d, 72, &format!("{at}.description"))?;
                    }
                    if !ids.insert(id) {
                        return Err(ApiError::invalid("row ids must be unique"));
                    }
                }
            }
            if !(1..=10).contains(&ids.len()) {
                return Err(ApiError::invalid("a list has 1 to 10 rows in total"));
            }
        }
        // Other interactive types (cta_url, flow, product…) are accepted as given.
        _ => {}
    }
    Ok(())
}

/// Returns the template's category, lowercased, for pricing in status webhooks.
fn template(t: &Obj, templates: &TemplateStore) -> Result<String, ApiError> {
    let name = required_str(t, "name", "template.name")?;
    let language = t
        .get("language")
        .and_then(|l| l.get("code"))
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("template.language.code is required"))?;
    let components: &[Value] = match t.get("components") {
        None => &[],
        Some(Value::Array(c)) => c,
        Some(_) => return Err(ApiError::invalid("template.components must be an array")),
    };
    let not_found =
        || ApiError::code(132001).with_details(format!("template name ({name}) does not exist in {language}"));
    let tpl = templates.find(name, language).ok_or_else(not_found)?;
    match tpl.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => return Err(ApiError::code(132015)),
        "DISABLED" => return Err(ApiError::code(132016)),
        _ => return Err(not_found()),
    }
    let (want_header, want_body) = tpl.expected_params();
    let given = |kind: &str| -> usize {
        components
            .iter()
            .filter(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))
            .filter_map(|c| c.get("parameters").and_then(Value::as_array))
            .map(Vec::len)
            .sum()
    };
    for (part, want, got) in [("header", want_header, given("header")), ("body", Some(want_body), given("body"))] {
        if let Some(want) = want
            && want != got
        {
            return Err(ApiError::code(132000).with_details(format!(
                "{part}: number of localizable_params ({got}) does not match the expected number of params ({want})"
            )));
        }
    }
    // A media header takes one parameter of its kind, by id or https link.
    if let Some(kind) = tpl.header_media() {
        let params: Vec<&Value> = components
            .iter()
            .filter(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("header")))
            .filter_map(|c| c.get("parameters").and_then(Value::as_array))
            .flatten()
            .collect();
        let media = match params.as_slice() {
            [p] if p.get("type").and_then(Value::as_str) == Some(kind.as_str()) => p.get(kind.as_str()),
            _ => None,
        };
        let ok = media.is_some_and(|m| {
            m.get("id").and_then(Value::as_str).is_some_and(|i| !i.is_empty())
                ^ m.get("link").and_then(Value::as_str).is_some_and(|l| l.starts_with("https://"))
        });
        if !ok {
            return Err(
                ApiError::code(132012).with_details(format!("header: expected one {kind} parameter (id or link)"))
            );
        }
    }
    // A URL button whose address ends in a variable takes its suffix as a text parameter.
    for index in tpl.dynamic_url_buttons() {
        let given = components.iter().find(|c| {
            c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("button"))
                && c.get("sub_type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("url"))
                && c.get("index")
                    .is_some_and(|i| i.as_str() == Some(index.to_string().as_str()) || i.as_u64() == Some(index as u64))
        });
        let text = given
            .and_then(|c| c.get("parameters"))
            .and_then(Value::as_array)
            .filter(|p| p.len() == 1)
            .and_then(|p| p[0].get("text"))
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty());
        if text.is_none() {
            return Err(ApiError::code(132000)
                .with_details(format!("button at index {index}: expected one text parameter for the URL")));
        }
    }
    Ok(tpl.category.to_ascii_lowercase())
}

fn object<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a Obj, ApiError> {
    v.and_then(Value::as_object).ok_or_else(|| ApiError::invalid(format!("The parameter {path} is required.")))
}

fn required_str<'a>(obj: &'a Obj, key: &str, path: &str) -> Result<&'a str, ApiError> {
    nonempty(obj.get(key).and_then(Value::as_str), path)
}

fn nonempty<'a>(s: Option<&'a str>, path: &str) -> Result<&'a str, ApiError> {
    s.filter(|s| !s.trim().is_empty()).ok_or_else(|| ApiError::invalid(format!("The parameter {path} is required.")))
}

fn optional_str<'a>(obj: &'a Obj, key: &str, path: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(format!("{path} must be a string"))),
    }
}

fn max_chars(s: &str, max: usize, path: &str) -> Result<(), ApiError> {
    if s.chars().count() > max {
        Err(ApiError::invalid(format!("Param {path} must be at most {max} characters long.")))
    } else {
        Ok(())
    }
}
