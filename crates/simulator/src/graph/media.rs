//! Media (PROTOCOLS §2.5): uploads, media objects with 5-minute download URLs pointing back at
//! the simulator, authenticated downloads, deletion. Inbound media created through the control
//! API lives in the same store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{gate, multipart, origin};
use crate::meta_error::ApiError;
use crate::state::Shared;
use crate::util::{lock, numeric_id, random_token};

const URL_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Expired download tokens are swept once this many have accumulated.
const TOKEN_SWEEP_AT: usize = 10_000;

pub(crate) struct MediaItem {
    pub bytes: Bytes,
    pub mime_type: String,
    /// Base64 of the SHA-256, as current Meta docs show.
    pub sha256: String,
}

#[derive(Default)]
pub(crate) struct MediaStore {
    items: HashMap<String, MediaItem>,
    /// Download token → (media id, expiry).
    urls: HashMap<String, (String, Instant)>,
}

impl MediaStore {
    pub(crate) fn insert(&mut self, bytes: Bytes, mime_type: &str) -> String {
        let id = numeric_id("77");
        let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        self.items.insert(id.clone(), MediaItem { bytes, mime_type: mime_type.to_owned(), sha256 });
        id
    }

    pub(crate) fn get(&self, id: &str) -> Option<&MediaItem> {
        self.items.get(id)
    }

    fn download_token(&mut self, id: &str) -> String {
        let now = Instant::now();
        if self.urls.len() >= TOKEN_SWEEP_AT {
            self.urls.retain(|_, (_, expires)| *expires > now);
        }
        let token = random_token();
        self.urls.insert(token.clone(), (id.to_owned(), now + URL_LIFETIME));
        token
    }
}

/// The size limit for a MIME type Meta accepts for sending, or `None` if unsupported.
fn size_limit(mime_type: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let essence = mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "image/jpeg" | "image/png" => 5 * MB,
        "image/webp" => 500 * 1024,
        "video/mp4" | "video/3gpp" | "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => 16 * MB,
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => 100 * MB,
        _ => return None,
    })
}

/// `POST /{v}/{phone-number-id}/media` (multipart: `messaging_product`, `file`, `type`).
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    gate(&shared, &headers).await?;
    if id != shared.phone_number_id {
        return Err(ApiError::unknown_object(&id));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parts = multipart::parse(content_type, &body)
        .ok_or_else(|| ApiError::invalid("Expected a multipart/form-data body"))?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let product = field("messaging_product").map(|p| p.data.as_ref());
    if product != Some(b"whatsapp".as_slice()) {
        return Err(ApiError::invalid("The parameter messaging_product is required."));
    }
    let file = field("file").ok_or_else(|| ApiError::invalid("The parameter file is required."))?;
    let mime_type = field("type")
        .and_then(|p| std::str::from_utf8(&p.data).ok().map(str::to_owned))
        .or_else(|| file.content_type.clone())
        .ok_or_else(|| ApiError::invalid("The parameter type is required."))?;
    let limit = size_limit(&mime_type)
        .ok_or_else(|| ApiError::code(131053).with_details(format!("Unsupported media type {mime_type}")))?;
    if file.data.len() > limit {
        return Err(
            ApiError::code(131053).with_details(format!("Media exceeds the {limit} byte limit for {mime_type}"))
        );
    }
    let id = lock(&shared.media).insert(file.data.clone(), &mime_type);
    Ok(Json(json!({ "id": id })))
}

/// The media object for `GET /{v}/{media-id}`, with a fresh download URL.
pub(crate) fn object_json(shared: &Shared, headers: &HeaderMap, id: &str) -> Option<Value> {
    let mut store = lock(&shared.media);
    let (mime_type, sha256, size) = {
        let item = store.get(id)?;
        (item.mime_type.clone(), item.sha256.clone(), item.bytes.len())
    };
    let token = store.download_token(id);
    Some(json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/_sim/media/{id}?token={token}", origin(shared, headers)),
        "mime_type": mime_type,
        "sha256": sha256,
        "file_size": size.to_string(),
        "id": id,
    }))
}

pub(crate) fn delete(shared: &Shared, id: &str) -> bool {
    lock(&shared.media).items.remove(id).is_some()
}

#[derive(Deserialize)]
pub(crate) struct DownloadQuery {
    token: Option<String>,
}

/// `GET <media url>`: needs the bearer token and an unexpired URL; 404 otherwise, as Meta's
/// lookaside host answers.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    gate(&shared, &headers).await?;
    let store = lock(&shared.media);
    let valid = q
        .token
        .and_then(|t| store.urls.get(&t).cloned())
        .is_some_and(|(media, expires)| media == id && expires > Instant::now());
    let item = store.get(&id).filter(|_| valid);
    let Some(item) = item else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let mut resp = Body::from(item.bytes.clone()).into_response();
    if let Ok(ct) = HeaderValue::from_str(&item.mime_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(resp)
}
