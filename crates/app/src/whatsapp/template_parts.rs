//! A template's parts as Meta describes them (PROTOCOLS.md §2.4, §2.6): a HEADER (text with
//! at most one variable, or an IMAGE / VIDEO / DOCUMENT), the BODY, a FOOTER and BUTTONS
//! (QUICK_REPLY, URL — whose address may end in a variable — and PHONE_NUMBER). From them:
//! what a send must give ([`TemplateShape`]), the `components` of a send, and the preview an
//! agent reads while filling the parameters in.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_core::Invalid;

use super::compose::{component_text, placeholders};
use crate::{AppError, AppResult};

/// Media for a template's IMAGE, VIDEO or DOCUMENT header: a public https link or the id of
/// media uploaded to Meta.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderMedia {
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub media_id: Option<String>,
    /// Shown to the customer for a DOCUMENT header.
    #[serde(default)]
    pub filename: Option<String>,
}

/// The values a template send gives.
#[derive(Debug, Clone, Default)]
pub struct TemplateArgs {
    /// Body values of a positional template ({{1}}, {{2}}, …).
    pub parameters: Vec<String>,
    /// Body values of a named template.
    pub named: BTreeMap<String, String>,
    /// Values of a text header's variable.
    pub header: Vec<String>,
    pub header_media: Option<HeaderMedia>,
    /// One value per URL button whose address ends in a variable, in button order.
    pub buttons: Vec<String>,
}

/// What a template asks of a send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateShape {
    /// Body placeholders: names, or `1`, `2`, … for a positional template.
    pub body_params: Vec<String>,
    pub named: bool,
    /// The variables of a text header: a name, or `1` for a positional one.
    pub header_params: Vec<String>,
    /// `image`, `video` or `document` when the header is media.
    pub header_media: Option<String>,
    /// The text of each URL button whose address takes a value, in order.
    pub url_buttons: Vec<String>,
}

/// A button as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, …
    pub kind: String,
    pub text: String,
    /// The address or phone number, its variable filled in when given.
    pub target: Option<String>,
}

/// A template with the values given so far filled in (unfilled placeholders stay `{{…}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplatePreview {
    pub header: Option<String>,
    /// `image`, `video` or `document`.
    pub header_media: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    pub buttons: Vec<PreviewButton>,
}

fn invalid(field: &str, code: &'static str, message: String) -> AppError {
    Invalid::new(field, code, message).into()
}

fn component<'a>(components: &'a Value, kind: &str) -> Option<&'a Value> {
    components
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(kind)))
}

/// The header's format, upper case (`TEXT` when not given).
fn header_format(components: &Value) -> Option<String> {
    component(components, "HEADER")
        .map(|h| h.get("format").and_then(Value::as_str).unwrap_or("TEXT").to_ascii_uppercase())
}

fn buttons(components: &Value) -> Vec<&Value> {
    component(components, "BUTTONS")
        .and_then(|b| b.get("buttons"))
        .and_then(Value::as_array)
        .map(|b| b.iter().collect())
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn is_dynamic_url(b: &Value) -> bool {
    str_of(b, "type").eq_ignore_ascii_case("URL") && str_of(b, "url").contains("{{")
}

/// What a template asks of a send.
#[must_use]
pub fn shape(components: &Value, parameter_format: &str) -> TemplateShape {
    let body = component_text(components, "BODY").unwrap_or_default();
    let (count, names) = placeholders(body);
    let named = parameter_format.eq_ignore_ascii_case("named") || !names.is_empty();
    let format = header_format(components);
    let header_params = match format.as_deref() {
        Some("TEXT") => {
            let (n, names) = placeholders(component_text(components, "HEADER").unwrap_or_default());
            if names.is_empty() { (1..=n).map(|i| i.to_string()).collect() } else { names }
        }
        _ => Vec::new(),
    };
    TemplateShape {
        body_params: if named { names } else { (1..=count).map(|n| n.to_string()).collect() },
        named,
        header_params,
        header_media: format.filter(|f| ["IMAGE", "VIDEO", "DOCUMENT"].contains(&f.as_str())).map(|f| f.to_lowercase()),
        url_buttons: buttons(components)
            .into_iter()
            .filter(|b| is_dynamic_url(b))
            .map(|b| str_of(b, "text").to_owned())
            .collect(),
    }
}

/// Replaces `{{key}}` with the value when one is given.
fn fill(text: &str, values: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (k, v) in values {
        if !v.trim().is_empty() {
            out = out.replace(&format!("{{{{{k}}}}}"), v.trim());
        }
    }
    out
}

fn positional(values: &[String]) -> Vec<(String, String)> {
    values.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), v.clone())).collect()
}

/// The template as the customer will see it, with the values given so far.
#[must_use]
pub fn preview(components: &Value, parameter_format: &str, a: &TemplateArgs) -> TemplatePreview {
    let s = shape(components, parameter_format);
    let body_values: Vec<(String, String)> =
        if s.named { a.named.iter().map(|(k, v)| (k.clone(), v.clone())).collect() } else { positional(&a.parameters) };
    let header_text = component_text(components, "HEADER").filter(|_| s.header_media.is_none());
    let mut dynamic = a.buttons.iter();
    TemplatePreview {
        header: header_text
            .map(|h| fill(h, &s.header_params.iter().cloned().zip(a.header.iter().cloned()).collect::<Vec<_>>())),
        header_media: s.header_media,
        body: fill(component_text(components, "BODY").unwrap_or_default(), &body_values),
        footer: component_text(components, "FOOTER").map(str::to_owned),
        buttons: buttons(components)
            .into_iter()
            .map(|b| {
                let kind = str_of(b, "type").to_ascii_uppercase();
                let target = match kind.as_str() {
                    "URL" if is_dynamic_url(b) => {
                        let value = dynamic.next().cloned().unwrap_or_default();
                        Some(fill(str_of(b, "url"), &[("1".to_owned(), value)]))
                    }
                    "URL" => Some(str_of(b, "url").to_owned()),
                    "PHONE_NUMBER" => Some(str_of(b, "phone_number").to_owned()),
                    _ => None,
                };
                PreviewButton { kind, text: str_of(b, "text").to_owned(), target }
            })
            .collect(),
    }
}

/// Checks a send's values against the template and builds Meta's `components`, plus the text
/// shown in the inbox (header, body and footer).
pub fn send_components(
    components: &Value,
    parameter_format: &str,
    a: &TemplateArgs,
) -> AppResult<(Vec<Value>, String)> {
    let s = shape(components, parameter_format);
    let mut out = Vec::new();
    // Header: text values, or the media.
    if let Some(kind) = &s.header_media {
        let m = a.header_media.as_ref().ok_or_else(|| {
            invalid(
                "header_media",
                "template_header_media",
                format!("the template's header needs a {kind}: give an https link or a media_id"),
            )
        })?;
        let mut obj = match (m.link.as_deref().map(str::trim), m.media_id.as_deref().map(str::trim)) {
            (Some(l), None) if l.starts_with("https://") => json!({"link": l}),
            (None, Some(id)) if !id.is_empty() => json!({"id": id}),
            _ => {
                return Err(invalid(
                    "header_media",
                    "template_header_media",
                    format!("the template's header needs a {kind}: give an https link or a media_id"),
                ));
            }
        };
        if let (true, Some(f)) = (kind == "document", m.filename.as_deref().map(str::trim).filter(|f| !f.is_empty())) {
            obj["filename"] = json!(f);
        }
        out.push(json!({"type": "header", "parameters": [{"type": kind, kind.as_str(): obj}]}));
    } else {
        if a.header_media.is_some() {
            return Err(invalid("header_media", "template_header_media", "the template's header is not media".into()));
        }
        if header_format(components).is_some_and(|f| f != "TEXT") {
            return Err(invalid(
                "name",
                "template_unsupported",
                "this template's header cannot be sent from here".into(),
            ));
        }
        if a.header.len() != s.header_params.len() {
            return Err(invalid(
                "header_parameters",
                "template_parameters",
                format!("the header needs {} parameter(s), {} given", s.header_params.len(), a.header.len()),
            ));
        }
        if !s.header_params.is_empty() {
            let params: Vec<Value> = s
                .header_params
                .iter()
                .zip(&a.header)
                .map(|(name, v)| match name.parse::<usize>() {
                    Ok(_) => json!({"type": "text", "text": v}),
                    Err(_) => json!({"type": "text", "parameter_name": name, "text": v}),
                })
                .collect();
            out.push(json!({"type": "header", "parameters": params}));
        }
    }
    // Body.
    if s.named {
        let mut expected = s.body_params.clone();
        expected.sort();
        if a.named.keys().ne(expected.iter()) {
            return Err(invalid(
                "named_parameters",
                "template_parameters",
                format!("the template needs exactly these parameters: {}", s.body_params.join(", ")),
            ));
        }
        if !s.body_params.is_empty() {
            let params: Vec<Value> = s
                .body_params
                .iter()
                .map(|n| json!({"type": "text", "parameter_name": n, "text": a.named.get(n)}))
                .collect();
            out.push(json!({"type": "body", "parameters": params}));
        }
    } else {
        if a.parameters.len() != s.body_params.len() {
            return Err(invalid(
                "parameters",
                "template_parameters",
                format!("the template needs {} body parameter(s), {} given", s.body_params.len(), a.parameters.len()),
            ));
        }
        if !a.parameters.is_empty() {
            out.push(json!({"type": "body", "parameters": a.parameters.iter().map(|p| json!({"type": "text", "text": p})).collect::<Vec<_>>()}));
        }
    }
    // Buttons: a value for each URL whose address ends in a variable.
    if a.buttons.len() != s.url_buttons.len() {
        return Err(invalid(
            "button_parameters",
            "template_parameters",
            format!("the template's buttons need {} parameter(s), {} given", s.url_buttons.len(), a.buttons.len()),
        ));
    }
    let mut values = a.buttons.iter();
    for (index, b) in buttons(components).into_iter().enumerate() {
        if is_dynamic_url(b)
            && let Some(v) = values.next()
        {
            out.push(json!({"type": "button", "sub_type": "url", "index": index.to_string(),
                "parameters": [{"type": "text", "text": v}]}));
        }
    }
    if a.parameters.iter().chain(a.named.values()).chain(&a.header).chain(&a.buttons).any(|p| p.trim().is_empty()) {
        return Err(invalid("parameters", "template_parameters", "template parameters cannot be empty".into()));
    }
    let p = preview(components, parameter_format, a);
    let text = [p.header, Some(p.body), p.footer].into_iter().flatten().collect::<Vec<_>>().join("\n\n");
    Ok((out, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Value {
        json!([
            {"type": "HEADER", "format": "TEXT", "text": "Sipariş {{1}}"},
            {"type": "BODY", "text": "Merhaba {{1}}, kargonuz {{2}}."},
            {"type": "FOOTER", "text": "Örnek Mağaza"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Tamam"},
                {"type": "URL", "text": "Takip", "url": "https://kargo.example/t/{{1}}"},
                {"type": "PHONE_NUMBER", "text": "Ara", "phone_number": "+905321112233"}]}
        ])
    }

    fn args() -> TemplateArgs {
        TemplateArgs {
            parameters: vec!["Ayşe".into(), "yolda".into()],
            header: vec!["#42".into()],
            buttons: vec!["AB12".into()],
            ..TemplateArgs::default()
        }
    }

    #[test]
    fn the_shape_names_every_value_a_send_needs() {
        let s = shape(&full(), "positional");
        assert_eq!(s.body_params, vec!["1", "2"]);
        assert_eq!((s.header_params, s.header_media), (vec!["1".to_owned()], None));
        assert_eq!(s.url_buttons, vec!["Takip"]);
        let media = json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "x"}]);
        assert_eq!(shape(&media, "positional").header_media.as_deref(), Some("image"));
    }

    #[test]
    fn components_for_header_body_and_url_button() {
        let (c, text) = send_components(&full(), "positional", &args()).unwrap();
        assert_eq!(c[0], json!({"type": "header", "parameters": [{"type": "text", "text": "#42"}]}));
        assert_eq!(c[1]["parameters"][1]["text"], "yolda");
        assert_eq!(
            c[2],
            json!({"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "AB12"}]})
        );
        assert_eq!(c.len(), 3);
        assert_eq!(text, "Sipariş #42\n\nMerhaba Ayşe, kargonuz yolda.\n\nÖrnek Mağaza");
        let missing = TemplateArgs { buttons: vec![], ..args() };
        assert!(send_components(&full(), "positional", &missing).is_err());
        let no_header = TemplateArgs { header: vec![], ..args() };
        assert!(send_components(&full(), "positional", &no_header).is_err());
    }

    #[test]
    fn a_named_header_variable_keeps_its_name() {
        let c = json!([{"type": "HEADER", "format": "TEXT", "text": "Order {{order}}"},
            {"type": "BODY", "text": "Hi {{first_name}}"}]);
        let a = TemplateArgs {
            named: [("first_name".to_owned(), "Ana".to_owned())].into(),
            header: vec!["#7".into()],
            ..TemplateArgs::default()
        };
        let (out, text) = send_components(&c, "named", &a).unwrap();
        assert_eq!(
            out[0],
            json!({"type": "header", "parameters": [{"type": "text", "parameter_name": "order", "text": "#7"}]})
        );
        assert_eq!(text, "Order #7\n\nHi Ana");
    }

    #[test]
    fn a_media_header_takes_a_link_or_an_id() {
        let doc = json!([{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Faturanız ektedir."}]);
        assert!(send_components(&doc, "positional", &TemplateArgs::default()).is_err());
        let http = HeaderMedia { link: Some("http://x.example/a.pdf".into()), ..HeaderMedia::default() };
        assert!(
            send_components(&doc, "positional", &TemplateArgs { header_media: Some(http), ..TemplateArgs::default() })
                .is_err()
        );
        let m = HeaderMedia {
            link: Some("https://x.example/a.pdf".into()),
            media_id: None,
            filename: Some("fatura.pdf".into()),
        };
        let (c, _) =
            send_components(&doc, "positional", &TemplateArgs { header_media: Some(m), ..TemplateArgs::default() })
                .unwrap();
        assert_eq!(
            c[0],
            json!({"type": "header", "parameters": [{"type": "document", "document": {"link": "https://x.example/a.pdf", "filename": "fatura.pdf"}}]})
        );
    }

    #[test]
    fn the_preview_fills_what_is_given() {
        let p = preview(
            &full(),
            "positional",
            &TemplateArgs { parameters: vec!["Ayşe".into()], ..TemplateArgs::default() },
        );
        assert_eq!(p.body, "Merhaba Ayşe, kargonuz {{2}}.");
        assert_eq!(p.header.as_deref(), Some("Sipariş {{1}}"));
        assert_eq!(p.footer.as_deref(), Some("Örnek Mağaza"));
        assert_eq!(p.buttons[1].target.as_deref(), Some("https://kargo.example/t/{{1}}"));
        let p = preview(&full(), "positional", &args());
        assert_eq!(p.buttons[1].target.as_deref(), Some("https://kargo.example/t/AB12"));
        assert_eq!(p.buttons[2].target.as_deref(), Some("+905321112233"));
    }
}
