//! Templates with every part Meta has: a HEADER (text with a variable, or a document / image),
//! the BODY, a FOOTER and BUTTONS (quick reply, a URL ending in a variable, a phone number).
//! Created on the settings page (the simulator checks the components as Meta does), previewed
//! in the inbox's picker (server-rendered), and sent with the right `components` (the
//! simulator refuses a send without the header media or the URL's value).

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_core::Role;

use crate::inbox::{customer_with_markup, escaped, forged, page, post};
use crate::support::{Api, TestServer, Whatsapp};
use crate::ui::{location, logged_in};

fn kargo() -> Value {
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

fn fatura() -> Value {
    json!([{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Faturanız ektedir."}])
}

/// Adds approved templates to the simulator and fetches them.
async fn with_templates(t: &TestServer, key: &str, wa: &Whatsapp) {
    for (name, components) in [("kargo_takip", kargo()), ("fatura_belge", fatura())] {
        let res = reqwest::Client::new()
            .post(format!("{}/_sim/templates", wa.sim.base_url))
            .json(&json!({"name": name, "language": "tr", "components": components}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let (status, body) =
        Api::new(t, key).post(&format!("/api/v1/channels/whatsapp/{}/templates/sync", wa.channel_id), json!({})).await;
    assert!(status.is_success(), "{body}");
}

async fn sent_templates(wa: &Whatsapp) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/_sim/sent", wa.sim.base_url)).await.unwrap().json().await.unwrap();
    v["messages"].as_array().unwrap().iter().filter(|m| m["type"] == "template").map(|m| m["body"].clone()).collect()
}

async fn rich_templates_are_created_previewed_and_sent(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let api = Api::new(t, &a.key);
    let owner = logged_in(t, &a.owner).await;

    // Create: every part posted as Meta's components.
    let form = [
        ("channel_id", wa.channel_id.as_str()),
        ("name", "siparis_durumu"),
        ("language", "tr"),
        ("category", "UTILITY"),
        ("header_format", "TEXT"),
        ("header_text", "Sipariş {{1}}"),
        ("header_example", "#1001"),
        ("body", "Merhaba {{1}}, kargonuz {{2}}."),
        ("examples", "Ayşe\nyolda"),
        ("footer", "Örnek Mağaza"),
        ("button_type", "QUICK_REPLY"),
        ("button_text", "Tamam"),
        ("button_value", ""),
        ("button_example", ""),
        ("button_type", "URL"),
        ("button_text", "Takip"),
        ("button_value", "https://kargo.example/t/{{1}}"),
        ("button_example", "https://kargo.example/t/AB12"),
        ("button_type", "PHONE_NUMBER"),
        ("button_text", "Ara"),
        ("button_value", "+905321112233"),
        ("button_example", ""),
    ];
    let res = post(&owner, t, "/settings/templates", &form).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/settings/templates?done=created"));
    let (_, list) = api.get("/api/v1/templates").await;
    let created = list["items"].as_array().unwrap().iter().find(|t| t["name"] == "siparis_durumu").unwrap().clone();
    let c = &created["components"];
    assert_eq!(
        c[0],
        json!({"type": "HEADER", "format": "TEXT", "text": "Sipariş {{1}}", "example": {"header_text": ["#1001"]}})
    );
    assert_eq!(c[1]["example"], json!({"body_text": [["Ayşe", "yolda"]]}));
    assert_eq!(c[2], json!({"type": "FOOTER", "text": "Örnek Mağaza"}));
    assert_eq!(
        c[3]["buttons"],
        json!([{"type": "QUICK_REPLY", "text": "Tamam"},
            {"type": "URL", "text": "Takip", "url": "https://kargo.example/t/{{1}}", "example": ["https://kargo.example/t/AB12"]},
            {"type": "PHONE_NUMBER", "text": "Ara", "phone_number": "+905321112233"}])
    );
    // A media header with its example handle.
    let media = [
        ("channel_id", wa.channel_id.as_str()),
        ("name", "fatura_gorsel"),
        ("language", "tr"),
        ("category", "UTILITY"),
        ("header_format", "IMAGE"),
        ("header_handle", "4::aW1hZ2UvcG5n:ARZ"),
        ("body", "Faturanız ektedir."),
    ];
    let res = post(&owner, t, "/settings/templates", &media).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Mistakes: refused beside the form, the field marked — ours (no handle) and Meta's (the
    // URL's variable not at its end), with what was typed kept.
    let mut no_handle = media;
    no_handle[1].1 = "fatura_eksik";
    no_handle[5].1 = "";
    let res = post(&owner, t, "/settings/templates", &no_handle).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let field = html.split("id=\"tpl-header-handle\"").nth(1).unwrap().split('>').next().unwrap();
    assert!(field.contains("aria-invalid=\"true\""), "{field}");
    let mut bad_url = form;
    bad_url[1].1 = "siparis_bozuk";
    bad_url[16].1 = "https://kargo.example/{{1}}/takip";
    let res = post(&owner, t, "/settings/templates", &bad_url).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("one variable, at the end of the url"),
        "Meta's words: {}",
        html.split("role=\"alert\"").nth(1).unwrap_or_default().split("</div>").next().unwrap_or_default()
    );
    assert!(html.contains(&escaped("https://kargo.example/{{1}}/takip")), "kept");
    assert_eq!(forged(&owner, t, "/settings/templates", &form).await, StatusCode::FORBIDDEN);

    // The picker's preview, rendered by the server as values are typed.
    with_templates(t, &a.key, &wa).await;
    let conv = customer_with_markup(t, a.id, &wa).await;
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let preview = |q: &str| format!("/inbox/{conv}/template-preview?template=kargo_takip&language=tr&{q}");
    let (status, html) =
        page(&agent, t, &preview("header_param=%2342&param=Ay%C5%9Fe&param=&button_param=<b>x</b>")).await;
    assert_eq!(status, StatusCode::OK);
    for part in ["Sipariş #42", "Merhaba Ayşe, kargonuz {{2}}.", "Örnek Mağaza", "Tamam", "+905321112233"] {
        assert!(html.contains(&escaped(part)), "{part} in {html}");
    }
    assert!(html.contains(&escaped("https://kargo.example/t/<b>x</b>")) && !html.contains("<b>x</b>"), "escaped");
    let (status, _) = page(&agent, t, &format!("/inbox/{conv}/template-preview?template=nope&language=tr")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    assert_eq!(page(&outsider, t, &preview("param=x")).await.0, StatusCode::NOT_FOUND);

    // Sending: header, body and the URL button's value become Meta's components.
    let send = [
        ("template", "kargo_takip"),
        ("language", "tr"),
        ("header_param", "#42"),
        ("param", "Ayşe"),
        ("param", "yolda"),
        ("button_param", "AB12"),
    ];
    let res = post(&agent, t, &format!("/inbox/{conv}/messages"), &send).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Without the button's value: refused beside the picker, nothing sent.
    let res = post(&agent, t, &format!("/inbox/{conv}/messages"), &send[..5]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let doc = [("template", "fatura_belge"), ("language", "tr"), ("header_link", "https://files.example/f-1.pdf")];
    let res = post(&agent, t, &format!("/inbox/{conv}/messages"), &doc).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(&agent, t, &format!("/inbox/{conv}/messages"), &doc[..2]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a media header needs its link");
    // A document header from a file: uploaded to the number's media endpoint, given by its id
    // (multipart); a file of another kind is refused before anything is uploaded.
    let file_send = async |file: (&str, &str, &[u8])| {
        let body = crate::composer::multipart(&[
            ("template", None, b"fatura_belge"),
            ("language", None, b"tr"),
            ("header_link", None, b""),
            ("header_file", Some((file.0, file.1)), file.2),
        ]);
        agent
            .post(t.url(&format!("/inbox/{conv}/template-file")))
            .header("content-type", format!("multipart/form-data; boundary={}", crate::composer::BOUNDARY))
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .unwrap()
    };
    let res = file_send(("foto.png", "image/png", b"\x89PNG fake")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "an image for a document header");
    assert!(res.text().await.unwrap().contains("not of the kind the template"));
    let res = file_send(("fatura-7.pdf", "application/pdf", b"%PDF-1.4 fatura %%EOF")).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("/inbox/{conv}")));
    t.eventually("three templates sent", async || sent_templates(&wa).await.len() == 3).await;
    let with_file =
        sent_templates(&wa).await.into_iter().rev().find(|m| m["template"]["name"] == "fatura_belge").unwrap();
    let document = &with_file["template"]["components"][0]["parameters"][0]["document"];
    assert!(document["id"].as_str().is_some_and(|i| !i.is_empty()) && document["link"].is_null(), "{with_file}");
    assert_eq!(document["filename"], "fatura-7.pdf");
    assert_eq!(t.count(a.id, "media", "").await, 1, "the header file is kept with its message");

    let sent = sent_templates(&wa).await;
    let k = sent.iter().find(|m| m["template"]["name"] == "kargo_takip").unwrap();
    assert_eq!(
        k["template"]["components"],
        json!([{"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ayşe"}, {"type": "text", "text": "yolda"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "AB12"}]}])
    );
    let f = sent.iter().find(|m| m["template"]["name"] == "fatura_belge").unwrap();
    // (the first fatura_belge, sent with a link)
    assert_eq!(
        f["template"]["components"],
        json!([{"type": "header", "parameters": [{"type": "document", "document": {"link": "https://files.example/f-1.pdf"}}]}])
    );
    // The simulator accepted both (it fails a send missing the header media or the URL value).
    t.eventually("both delivered", async || {
        let (_, list) = api.get(&format!("/api/v1/conversations/{conv}/messages")).await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] == "template")
            .all(|m| matches!(m["status"].as_str(), Some("delivered" | "read")))
    })
    .await;
    let (_, html) = page(&agent, t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("Merhaba Ayşe, kargonuz yolda."), "the thread shows the text sent");
}
server_test!(rich_templates_are_created_previewed_and_sent);

/// A closed window's picker asks for every value: the header's, the body's, the URL button's,
/// and a link for a media header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_asks_for_every_value() {
    let (t, clock) = TestServer::with_manual_clock().await;
    let a = t.tenant("A").await;
    let wa = t.whatsapp(&a.key).await;
    let conv = customer_with_markup(&t, a.id, &wa).await;
    with_templates(&t, &a.key, &wa).await;
    clock.advance(25 * switchboard_core::Millis::HOUR);
    let owner = logged_in(&t, &a.owner).await;
    let (_, html) = page(&owner, &t, &format!("/inbox/{conv}")).await;
    assert!(html.contains("id=\"template-picker\""));
    let form = html.split("value=\"kargo_takip\"").nth(1).unwrap().split("</form>").next().unwrap();
    assert_eq!(form.matches("name=\"header_param\"").count(), 1);
    assert_eq!(form.matches("name=\"param\"").count(), 2);
    assert_eq!(form.matches("name=\"button_param\"").count(), 1);
    assert!(form.contains("hx-get=\"/inbox/") && form.contains("template-preview"), "the live preview");
    assert!(form.contains(&escaped("Sipariş {{1}}")) && form.contains("Örnek Mağaza"), "the preview before typing");
    let doc = html.split("value=\"fatura_belge\"").nth(1).unwrap().split("</form>").next().unwrap();
    assert!(doc.contains("name=\"header_link\"") && !doc.contains("name=\"param\""));
    assert!(doc.contains("name=\"header_file\"") && doc.contains("accept=\"text/plain,application/pdf"), "a file");
    let start = html.split("value=\"fatura_belge\"").next().unwrap().rsplit("<form").next().unwrap();
    assert!(start.contains("enctype=\"multipart/form-data\"") && start.contains("/template-file"), "{start}");
    t.stop().await;
}

/// Meta's template status webhooks reach an open templates page as a `templates` event (the
/// tenant's only), and the page's lists are fetched again as a fragment.
async fn template_status_updates_are_live(t: &TestServer) {
    let a = t.tenant("A").await;
    let b = t.tenant("B").await;
    let wa = t.whatsapp(&a.key).await;
    let agent = logged_in(t, &t.user(a.id, Role::Agent).await).await;
    let outsider = logged_in(t, &t.user(b.id, Role::Admin).await).await;
    let (status, html) = page(&agent, t, "/settings/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("sse-connect=\"/settings/templates/events\"") && html.contains("sse:templates"));
    let mut mine = agent.get(t.url("/settings/templates/events")).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::OK);
    assert!(mine.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut theirs = outsider.get(t.url("/settings/templates/events")).send().await.unwrap();
    // Created PENDING; the simulator approves it a moment later with a status webhook.
    let (status, created) = Api::new(t, &a.key)
        .post(
            "/api/v1/templates",
            json!({"channel_id": wa.channel_id, "name": "canli_durum", "language": "tr", "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Merhaba"}]}),
        )
        .await;
    assert_eq!((status, created["status"].as_str()), (StatusCode::CREATED, Some("PENDING")), "{created}");
    let seen = crate::inbox::read_events(&mut mine, "event: templates", std::time::Duration::from_secs(10)).await;
    assert!(seen.contains("event: templates"), "{seen}");
    let other = crate::inbox::read_events(&mut theirs, "event: ", std::time::Duration::from_millis(500)).await;
    assert!(!other.contains("event: "), "another tenant's event leaked: {other}");
    // The fragment the page fetches: the lists alone, the template approved.
    let res = agent.get(t.url("/settings/templates")).header("hx-request", "true").send().await.unwrap();
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("data-template=\"canli_durum\""), "{fragment}");
    let row = fragment.split("data-template=\"canli_durum\"").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("APPROVED"), "{row}");
    let res = crate::ui::browser().get(t.url("/settings/templates/events")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no session, no stream");
}
server_test!(template_status_updates_are_live);
