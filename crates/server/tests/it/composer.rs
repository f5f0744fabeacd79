//! The composer's attachments: a file chosen in the conversation view is checked against
//! WhatsApp's types and sizes, uploaded to the simulator's Graph API media endpoint and sent
//! by its id through the same use case as the API's media messages; refusals are shown beside
//! the form, and nothing is uploaded for them.

use reqwest::StatusCode;
use serde_json::Value;
use switchboard_core::Role;

use crate::inbox::page;
use crate::support::{Api, TestServer, Whatsapp};
use crate::ui::{location, logged_in};

pub(crate) const BOUNDARY: &str = "----switchboardTestBoundary7MA4YWxkTrZu0gW";

/// A form field: its name, the file name and type for a file, and its bytes.
pub(crate) type Field<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A `multipart/form-data` body.
pub(crate) fn multipart(parts: &[Field<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((file_name, mime)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn attach(
    c: &reqwest::Client,
    t: &TestServer,
    conv: &str,
    file: Option<(&str, &str, &[u8])>,
    caption: &str,
    site: &str,
) -> reqwest::Response {
    let mut parts: Vec<Field<'_>> = vec![("caption", None, caption.as_bytes())];
    match file {
        Some((name, mime, data)) => parts.push(("file", Some((name, mime)), data)),
        None => parts.push(("file", Some(("", "application/octet-stream")), b"")),
    }
    let mut req = c
        .post(t.url(&format!("/inbox/{conv}/attachments")))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("sec-fetch-site", site);
    if site == "cross-site" {
        req = req.header("origin", "https://evil.example");
    }
    req.body(multipart(&parts)).send().await.unwrap()
}

async fn sent(wa: &Whatsapp) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
    v["messages"].as_array().unwrap().clone()
}

async fn composer_sends_attachments(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let (conv, _) = t.customer_writes(a.id, &wa, "905321112233", "teklifi gönderir misiniz").await;
    let api = Api::new(t, &a.key);
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;

    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(
        html.contains("id=\"attach-form\"") && html.contains("enctype=\"multipart/form-data\""),
        "the attachment form"
    );

    // A document: uploaded to the number's media endpoint, sent by the id with its name and
    // caption, delivered by the simulator (which fails a send whose media id it does not know).
    let pdf = b"%PDF-1.4 teklif-7781-gizli-icerik %%EOF".to_vec();
    let res = attach(
        &agent,
        t,
        &conv,
        Some(("C:\\fakepath\\teklif.pdf", "application/pdf", &pdf)),
        "Teklifiniz",
        "same-origin",
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/inbox/{conv}?done=sent"));
    t.eventually("the document is sent", async || sent(&wa).await.iter().any(|m| m["type"] == "document")).await;
    let doc = sent(&wa).await.into_iter().find(|m| m["type"] == "document").unwrap();
    let d = &doc["body"]["document"];
    assert!(d["id"].as_str().is_some_and(|id| !id.is_empty()) && d["link"].is_null(), "by the uploaded id: {doc}");
    assert_eq!((d["filename"].as_str(), d["caption"].as_str()), (Some("teklif.pdf"), Some("Teklifiniz")), "{doc}");
    let listed = async || {
        let (_, list) = api.get(&format!("/api/v1/conversations/{conv}/messages")).await;
        list["items"].as_array().unwrap().iter().find(|m| m["type"] == "document").cloned().unwrap()
    };
    t.eventually("the document is delivered", async || {
        matches!(listed().await["status"].as_str(), Some("delivered" | "read"))
    })
    .await;
    // The inbox shows what was sent: the file is kept, sealed, and downloads as it was.
    let m = listed().await;
    assert_eq!((m["text"].as_str(), m["media"][0]["state"].as_str()), (Some("Teklifiniz"), Some("stored")), "{m}");
    let url = m["media"][0]["url"].as_str().unwrap();
    let bytes = agent.get(t.url(url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), pdf.as_slice());
    t.assert_not_stored(&["teklif-7781-gizli-icerik"]).await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains(url), "the thread links the sent file");

    // An image, its type read from the name when the browser gives none.
    let png = b"\x89PNG\r\n\x1a\nfake-image".to_vec();
    let res = attach(&agent, t, &conv, Some(("foto.png", "application/octet-stream", &png)), "", "same-origin").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    t.eventually("the image is sent", async || sent(&wa).await.iter().any(|m| m["type"] == "image")).await;

    // Refused beside the form, nothing uploaded or queued: a type WhatsApp does not take, a
    // file over its type's limit, a caption on audio, no file at all.
    let messages = t.count(a.id, "messages", "").await;
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    for (file, caption, field, text) in [
        (Some(("setup.exe", "application/x-msdownload", b"MZ".as_slice())), "", "file", "cannot send this type"),
        (Some(("big.jpg", "image/jpeg", big.as_slice())), "", "file", "too large"),
        (Some(("ses.ogg", "audio/ogg", b"OggS".as_slice())), "merhaba", "caption", "Audio cannot have a caption"),
        (None, "", "file", "choose a file"),
    ] {
        let res = attach(&agent, t, &conv, file, caption, "same-origin").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"attach-form\"") && html.contains("role=\"alert\""), "{text}: beside the form");
        assert!(html.contains(&format!("id=\"attach-{field}\"")), "{text}");
        let invalid = html.split(&format!("id=\"attach-{field}\"")).nth(1).unwrap().split('>').next().unwrap();
        assert!(invalid.contains("aria-invalid=\"true\""), "{text}: the field is marked");
        if field == "caption" {
            assert!(html.contains("value=\"merhaba\""), "the caption is kept");
        }
    }
    assert_eq!(t.count(a.id, "messages", "").await, messages, "nothing queued");
    assert_eq!(t.count(a.id, "media", "").await, 2, "nothing kept");

    // Who may: an analyst may not send, another tenant does not find the conversation, and a
    // form from another site is refused.
    let analyst = logged_in(t, &t.user(a.id, Role::Analyst).await).await;
    let res = attach(&analyst, t, &conv, Some(("a.pdf", "application/pdf", &pdf)), "", "same-origin").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let res = attach(&outsider, t, &conv, Some(("a.pdf", "application/pdf", &pdf)), "", "same-origin").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = attach(&agent, t, &conv, Some(("a.pdf", "application/pdf", &pdf)), "", "cross-site").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count(a.id, "messages", "").await, messages);
    assert_eq!(sent(&wa).await.len(), 2, "two files sent in all");
}
server_test!(composer_sends_attachments);
