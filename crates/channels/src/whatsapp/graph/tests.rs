use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes as Body;
use axum::extract::{Path, Query, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::whatsapp::outbound::Content;

const TOKEN: &str = "EAAG-test-token";

async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client(base_url: &str, timeout: Duration) -> GraphClient {
    let _ = rustls::crypto::ring::default_provider().install_default();
    GraphClient::new(GraphConfig {
        base_url: base_url.into(),
        api_version: "v24.0".into(),
        connect_timeout: Duration::from_secs(2),
        timeout,
        media_timeout: timeout,
    })
    .unwrap()
}

fn text_message() -> OutboundMessage {
    OutboundMessage {
        to: "+5511987650001".into(),
        reply_to: None,
        biz_opaque_callback_data: Some("crm-1".into()),
        content: Content::Text { body: "Merhaba".into(), preview_url: false },
    }
}

fn meta_error(code: i64) -> Value {
    json!({ "error": {
        "message": format!("(#{code}) something"),
        "type": "OAuthException",
        "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": format!("details of {code}") },
        "fbtrace_id": "AbCdEf" } })
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

/// `/v24.0/{id}/messages`: `ok` accepts, a number answers with that Meta error code.
async fn messages(Path(id): Path<String>, headers: HeaderMap, body: Body) -> impl IntoResponse {
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(meta_error(190))).into_response();
    }
    let sent: Value = serde_json::from_slice(&body).unwrap();
    match id.as_str() {
        "ok" => {
            assert_eq!(sent, text_message().to_json());
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": "+5511987650001", "wa_id": "5511987650001" }],
                "messages": [{ "id": "wamid.OUT1" }] }))
            .into_response()
        }
        "read" => {
            assert_eq!(sent["status"], "read");
            axum::Json(json!({ "success": true })).into_response()
        }
        "html502" => (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response(),
        "garbage200" => (StatusCode::OK, "not json").into_response(),
        code => {
            let code: i64 = code.parse().unwrap();
            let status = match code {
                131000 | 131016 => StatusCode::INTERNAL_SERVER_ERROR,
                130429 => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, axum::Json(meta_error(code))).into_response()
        }
    }
}

#[tokio::test]
async fn send_success_and_mark_read() {
    let base = serve(Router::new().route("/v24.0/{id}/messages", post(messages))).await;
    let c = client(&base, Duration::from_secs(5));
    let sent = c.send_message(TOKEN, "ok", &text_message()).await.unwrap();
    assert_eq!(
        sent,
        SendResponse { wamid: "wamid.OUT1".into(), wa_id: Some("5511987650001".into()), message_status: None }
    );
    let read = MarkRead { message_id: "wamid.IN1".into(), typing: true };
    c.mark_read(TOKEN, "read", &read).await.unwrap();
}

#[tokio::test]
async fn meta_errors_are_classified_and_kept() {
    let base = serve(Router::new().route("/v24.0/{id}/messages", post(messages))).await;
    let c = client(&base, Duration::from_secs(5));
    for (id, kind) in [
        ("130429", ErrorKind::RateLimited),
        ("80007", ErrorKind::RateLimited),
        ("131056", ErrorKind::PairRate),
        ("131047", ErrorKind::WindowClosed),
        ("132001", ErrorKind::TemplateInvalid),
        ("132000", ErrorKind::TemplateInvalid),
        ("100", ErrorKind::InvalidRequest),
        ("131008", ErrorKind::InvalidRequest),
        ("131000", ErrorKind::Transient),
        ("131016", ErrorKind::Transient),
        ("131057", ErrorKind::Transient),
        ("368", ErrorKind::Account),
        ("html502", ErrorKind::Transient),
        ("garbage200", ErrorKind::Ambiguous),
    ] {
        let err = c.send_message(TOKEN, id, &text_message()).await.unwrap_err();
        assert_eq!(err.kind, kind, "{id}: {err}");
        if let Ok(code) = id.parse::<i64>() {
            assert_eq!(err.code, Some(code));
            assert_eq!(err.message, format!("(#{code}) something"));
            assert_eq!(err.details, Some(format!("details of {code}")));
            assert_eq!(err.fbtrace_id.as_deref(), Some("AbCdEf"));
        }
    }
    let err = c.send_message("wrong-token", "ok", &text_message()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert_eq!((err.code, err.http_status), (Some(190), Some(401)));
    assert!(!err.to_string().contains("wrong-token"));

    let err = c.send_message(TOKEN, "../other", &text_message()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn refused_connection_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client(&format!("http://{addr}"), Duration::from_secs(2));
    let err = c.send_message(TOKEN, "106", &text_message()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
}

/// A server that reads the request and then either holds the connection open without
/// answering or closes it.
async fn swallowing_server(hold: bool) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(0));
    let seen = received.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                if n > 0 {
                    *seen.lock().unwrap() += 1;
                }
                if hold {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                drop(sock);
            });
        }
    });
    (format!("http://{addr}"), received)
}

#[tokio::test]
async fn no_answer_after_sending_is_ambiguous() {
    for hold in [true, false] {
        let (base, received) = swallowing_server(hold).await;
        let c = client(&base, Duration::from_millis(300));
        let err = c.send_message(TOKEN, "106", &text_message()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Ambiguous, "hold={hold}: {err}");
        assert!(!err.kind.is_retryable());
        assert_eq!(*received.lock().unwrap(), 1, "the request did reach the server");
    }
}

async fn media_info(Path(id): Path<String>, headers: HeaderMap) -> impl IntoResponse {
    assert!(authorised(&headers));
    axum::Json(json!({
        "messaging_product": "whatsapp", "url": format!("/download/{id}"),
        "mime_type": "image/jpeg", "sha256": "abc=", "file_size": "1000", "id": id }))
}

async fn download(headers: HeaderMap) -> impl IntoResponse {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    ([("content-type", "image/jpeg")], vec![7u8; 1000]).into_response()
}

/// Answers with a chunked body (no Content-Length) of 3 × 400 bytes.
async fn chunked_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = sock.read(&mut buf).await;
                let mut resp =
                    b"HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                for _ in 0..3 {
                    resp.extend_from_slice(b"190\r\n");
                    resp.extend_from_slice(&[1u8; 400]);
                    resp.extend_from_slice(b"\r\n");
                }
                resp.extend_from_slice(b"0\r\n\r\n");
                let _ = sock.write_all(&resp).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn media_info_download_and_size_limit() {
    let base = serve(Router::new().route("/v24.0/{id}", get(media_info)).route("/download/{id}", get(download))).await;
    let c = client(&base, Duration::from_secs(5));
    let info = c.get_media(TOKEN, "770000000000101").await.unwrap();
    assert_eq!(info.file_size, Some(1000));
    assert_eq!(info.mime_type.as_deref(), Some("image/jpeg"));
    let url = format!("{base}{}", info.url);
    let bytes = c.download_media(TOKEN, &url, 1000).await.unwrap();
    assert_eq!(bytes.len(), 1000);
    let err = c.download_media(TOKEN, &url, 999).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    let err = c.download_media("bad", &url, 5000).await.unwrap_err();
    assert_eq!(err.http_status, Some(401));
    let err = c.download_media(TOKEN, "file:///etc/passwd", 10).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);

    let chunked = format!("{}/anything", chunked_server().await);
    assert_eq!(c.download_media(TOKEN, &chunked, 1200).await.unwrap().len(), 1200);
    let err = c.download_media(TOKEN, &chunked, 1199).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
}

async fn upload(headers: HeaderMap, body: Body) -> impl IntoResponse {
    assert!(authorised(&headers));
    let ct = headers["content-type"].to_str().unwrap().to_owned();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with(&format!("--{boundary}\r\n")));
    assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
    assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
    assert!(text.contains("name=\"type\"\r\n\r\nimage/png\r\n"));
    assert!(text.contains("filename=\"evilname.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n"));
    axum::Json(json!({ "id": "770000000000401" }))
}

#[tokio::test]
async fn upload_is_multipart() {
    let base = serve(Router::new().route("/v24.0/{id}/media", post(upload))).await;
    let c = client(&base, Duration::from_secs(5));
    let id =
        c.upload_media(TOKEN, "106", "image/png", "evil\"\r\nname.png", Bytes::from_static(b"PNGDATA")).await.unwrap();
    assert_eq!(id, "770000000000401");
    let err = c.upload_media(TOKEN, "106", "image/png\r\nX: y", "a", Bytes::new()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[derive(serde::Deserialize)]
struct PageQuery {
    after: Option<String>,
    name: Option<String>,
}

#[tokio::test]
async fn templates_follow_paging_and_delete_by_name() {
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let base_cell = Arc::new(Mutex::new(String::new()));
    let cell = base_cell.clone();
    let log = deleted.clone();
    let app = Router::new().route(
        "/v24.0/{waba}/message_templates",
        get(move |Query(q): Query<PageQuery>, RawQuery(raw): RawQuery| {
            let base = cell.lock().unwrap().clone();
            async move {
                assert!(raw.unwrap().contains("limit=100"));
                match q.after.as_deref() {
                    None => axum::Json(json!({
                        "data": [{ "name": "a" }, { "name": "b" }],
                        "paging": { "cursors": { "after": "c1" },
                                    "next": format!("{base}/v24.0/880/message_templates?limit=100&after=c1") } })),
                    Some("c1") => axum::Json(json!({
                        "data": [{ "name": "c" }],
                        "paging": { "next": "https://evil.example/steal?limit=100&after=c2" } })),
                    Some(_) => axum::Json(json!({ "data": [] })),
                }
            }
        })
        .post(|body: Body| async move {
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["name"], "new_one");
            axum::Json(json!({ "id": "1689", "status": "PENDING", "category": "UTILITY" }))
        })
        .delete(move |Query(q): Query<PageQuery>| {
            log.lock().unwrap().push(q.name.unwrap_or_default());
            async { axum::Json(json!({ "success": true })) }
        }),
    );
    let base = serve(app).await;
    *base_cell.lock().unwrap() = base.clone();
    let c = client(&base, Duration::from_secs(5));
    // The second page points off the Graph host: refused rather than sending the token there.
    let err = c.list_templates(TOKEN, "880").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);

    let created = c.create_template(TOKEN, "880", &json!({ "name": "new_one" })).await.unwrap();
    assert_eq!(created.status.as_deref(), Some("PENDING"));
    c.delete_template(TOKEN, "880", "a b&c").await.unwrap();
    assert_eq!(deleted.lock().unwrap().as_slice(), ["a b&c"]);
}

#[tokio::test]
async fn templates_paging_collects_all_pages() {
    let base_cell = Arc::new(Mutex::new(String::new()));
    let cell = base_cell.clone();
    let app = Router::new().route(
        "/v24.0/{waba}/message_templates",
        get(move |Query(q): Query<PageQuery>| {
            let base = cell.lock().unwrap().clone();
            async move {
                match q.after.as_deref() {
                    None => axum::Json(json!({
                        "data": [{ "name": "a" }],
                        "paging": { "next": format!("{base}/v24.0/880/message_templates?after=c1") } })),
                    _ => axum::Json(json!({ "data": [{ "name": "b" }], "paging": { "cursors": {} } })),
                }
            }
        }),
    );
    let base = serve(app).await;
    *base_cell.lock().unwrap() = base.clone();
    let c = client(&base, Duration::from_secs(5));
    let all = c.list_templates(TOKEN, "880").await.unwrap();
    let names: Vec<_> = all.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test]
async fn phone_number_info_asks_for_the_quality_fields() {
    let app = Router::new().route(
        "/v24.0/{id}",
        get(|RawQuery(q): RawQuery| async move {
            assert!(q.unwrap().contains("quality_rating"));
            axum::Json(json!({ "quality_rating": "GREEN", "throughput": { "level": "STANDARD" }, "id": "106" }))
        }),
    );
    let base = serve(app).await;
    let info = client(&base, Duration::from_secs(5)).phone_number_info(TOKEN, "106").await.unwrap();
    assert_eq!(info["quality_rating"], "GREEN");
}
