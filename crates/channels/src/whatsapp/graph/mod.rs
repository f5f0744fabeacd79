//! The Graph API client for WhatsApp Cloud (PROTOCOLS §2): sending, media, templates and the
//! phone-number object.
//!
//! Every method takes the access token as an argument: the client never stores it, and it only
//! travels in the `Authorization` header (reqwest marks that header sensitive). Logging is at
//! debug level with operation names and ids only. The client does not validate send bodies;
//! call [`OutboundMessage::validate`] at the API edge first.

mod error;
mod multipart;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{Method, RequestBuilder, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::GraphError;

use crate::whatsapp::codes::ErrorKind;
use crate::whatsapp::outbound::{MarkRead, OutboundMessage};

/// The most template pages [`GraphClient::list_templates`] follows: a guard against a paging
/// loop, far above the 6,000-template WABA maximum at 100 per page.
const MAX_TEMPLATE_PAGES: usize = 100;

#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// `https://graph.facebook.com`, or the simulator's base URL.
    pub base_url: String,
    /// `v24.0`.
    pub api_version: String,
    /// Limits only the TCP/TLS connect phase: a failure here means nothing was sent.
    pub connect_timeout: Duration,
    /// Whole-request limit for API calls.
    pub timeout: Duration,
    /// Whole-request limit for media uploads and downloads (up to 100 MB).
    pub media_timeout: Duration,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            base_url: "https://graph.facebook.com".into(),
            api_version: "v24.0".into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            media_timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no rustls CryptoProvider is installed; install one before building the client")]
    NoCryptoProvider,
    #[error("invalid Graph API base URL")]
    BadBaseUrl,
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The answer to an accepted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResponse {
    pub wamid: String,
    /// The canonical WhatsApp id of the recipient; may differ from the number sent to.
    pub wa_id: Option<String>,
    /// Template sends only: `accepted`, `held_for_quality_assessment`, `paused`.
    pub message_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    #[serde(default)]
    pub id: Option<String>,
    /// Valid for 5 minutes; download with the bearer token.
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub file_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedTemplate {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `base_url` without a trailing slash: paging links must start with it.
    base_url: String,
    /// `base_url/version`.
    root: String,
    media_timeout: Duration,
}

impl GraphClient {
    pub fn new(cfg: GraphConfig) -> Result<Self, BuildError> {
        // reqwest panics when building a client without a provider; fail politely instead.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(BuildError::NoCryptoProvider);
        }
        let base_url = cfg.base_url.trim_end_matches('/').to_owned();
        Url::parse(&base_url).map_err(|_| BuildError::BadBaseUrl)?;
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            root: format!("{base_url}/{}", cfg.api_version.trim_matches('/')),
            base_url,
            http,
            media_timeout: cfg.media_timeout,
        })
    }

    /// `POST /{phone-number-id}/messages`. An `Ambiguous` error means the message may have been
    /// accepted: wait for a status webhook carrying its `biz_opaque_callback_data` before
    /// sending again.
    pub async fn send_message(
        &self,
        token: &str,
        phone_number_id: &str,
        msg: &OutboundMessage,
    ) -> Result<SendResponse, GraphError> {
        self.send_json(token, phone_number_id, &msg.to_json()).await
    }

    /// [`Self::send_message`] for a body built earlier with [`OutboundMessage::to_json`] and
    /// stored (the outbox keeps the body it validated, and sends exactly that).
    pub async fn send_json(
        &self,
        token: &str,
        phone_number_id: &str,
        body: &serde_json::Value,
    ) -> Result<SendResponse, GraphError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            contacts: Vec<RawContact>,
            #[serde(default)]
            messages: Vec<RawSent>,
        }
        #[derive(Deserialize)]
        struct RawContact {
            #[serde(default)]
            wa_id: Option<String>,
        }
        #[derive(Deserialize)]
        struct RawSent {
            id: String,
            #[serde(default)]
            message_status: Option<String>,
        }

        let url = format!("{}/{}/messages", self.root, segment(phone_number_id)?);
        let raw: Raw = self.call_json("send_message", self.request(Method::POST, &url, token).json(body)).await?;
        let sent = raw
            .messages
            .into_iter()
            .next()
            .ok_or_else(|| GraphError::local(ErrorKind::Ambiguous, "send answered without a message id"))?;
        tracing::debug!(wamid = %sent.id, "whatsapp message accepted");
        Ok(SendResponse {
            wamid: sent.id,
            wa_id: raw.contacts.into_iter().next().and_then(|c| c.wa_id),
            message_status: sent.message_status,
        })
    }

    /// Marks an inbound message (and the ones before it) read; optionally shows "typing…".
    pub async fn mark_read(&self, token: &str, phone_number_id: &str, read: &MarkRead) -> Result<(), GraphError> {
        let url = format!("{}/{}/messages", self.root, segment(phone_number_id)?);
        self.call("mark_read", self.request(Method::POST, &url, token).json(&read.to_json())).await.map(drop)
    }

    /// `GET /{media-id}`: the short-lived download URL and the media's metadata.
    pub async fn get_media(&self, token: &str, media_id: &str) -> Result<MediaInfo, GraphError> {
        let url = format!("{}/{}", self.root, segment(media_id)?);
        self.call_json("get_media", self.request(Method::GET, &url, token)).await
    }

    /// Downloads media from a URL returned by [`Self::get_media`] (or a webhook's `url`),
    /// refusing more than `max_bytes` without reading further. Only pass URLs that came from
    /// Meta: the bearer token is sent along.
    pub async fn download_media(&self, token: &str, url: &str, max_bytes: u64) -> Result<Bytes, GraphError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| GraphError::local(ErrorKind::InvalidRequest, "media URL is not http(s)"))?;
        let mut resp = self
            .request(Method::GET, parsed.as_str(), token)
            .timeout(self.media_timeout)
            .send()
            .await
            .map_err(GraphError::from_transport)?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            let body = resp.bytes().await.map_err(GraphError::from_transport)?;
            return Err(GraphError::from_response(status, &body));
        }
        if resp.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_large(max_bytes));
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(GraphError::from_transport)? {
            if (buf.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large(max_bytes));
            }
            buf.extend_from_slice(&chunk);
        }
        tracing::debug!(bytes = buf.len(), "whatsapp media downloaded");
        Ok(buf.freeze())
    }

    /// `POST /{phone-number-id}/media` (multipart). Returns the media id.
    pub async fn upload_media(
        &self,
        token: &str,
        phone_number_id: &str,
        mime_type: &str,
        filename: &str,
        data: Bytes,
    ) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct Raw {
            id: String,
        }
        let url = format!("{}/{}/media", self.root, segment(phone_number_id)?);
        let form = multipart::Form::new(mime_type, filename, &data)?;
        let req = self
            .request(Method::POST, &url, token)
            .timeout(self.media_timeout)
            .header(reqwest::header::CONTENT_TYPE, form.content_type())
            .body(form.into_body(data));
        let raw: Raw = self.call_json("upload_media", req).await?;
        Ok(raw.id)
    }

    /// `DELETE /{media-id}`.
    pub async fn delete_media(&self, token: &str, media_id: &str) -> Result<(), GraphError> {
        let url = format!("{}/{}", self.root, segment(media_id)?);
        self.call("delete_media", self.request(Method::DELETE, &url, token)).await.map(drop)
    }

    /// Every template of the WABA, following `paging.next`.
    pub async fn list_templates(&self, token: &str, waba_id: &str) -> Result<Vec<Value>, GraphError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<Value>,
            #[serde(default)]
            paging: Option<Paging>,
        }
        #[derive(Deserialize)]
        struct Paging {
            #[serde(default)]
            next: Option<String>,
        }

        let mut url = Url::parse(&format!("{}/{}/message_templates", self.root, segment(waba_id)?))
            .map_err(|_| GraphError::local(ErrorKind::InvalidRequest, "bad template list URL"))?;
        url.query_pairs_mut()
            .append_pair("fields", "id,name,status,category,language,components,parameter_format,rejected_reason")
            .append_pair("limit", "100");
        let mut url = url.to_string();
        let mut templates = Vec::new();
        for _ in 0..MAX_TEMPLATE_PAGES {
            let page: Page = self.call_json("list_templates", self.request(Method::GET, &url, token)).await?;
            templates.extend(page.data);
            match page.paging.and_then(|p| p.next) {
                // The token goes with the next request, so it must stay on the Graph host.
                Some(next) if self.is_graph_url(&next) => url = next,
                Some(_) => {
                    return Err(GraphError::local(
                        ErrorKind::InvalidRequest,
                        "paging.next points outside the Graph API",
                    ));
                }
                None => return Ok(templates),
            }
        }
        Err(GraphError::local(ErrorKind::InvalidRequest, "template paging did not end"))
    }

    /// `POST /{waba-id}/message_templates` with Meta's creation body.
    pub async fn create_template(
        &self,
        token: &str,
        waba_id: &str,
        body: &Value,
    ) -> Result<CreatedTemplate, GraphError> {
        let url = format!("{}/{}/message_templates", self.root, segment(waba_id)?);
        self.call_json("create_template", self.request(Method::POST, &url, token).json(body)).await
    }

    /// `DELETE /{waba-id}/message_templates?name=…`: every language of that template.
    pub async fn delete_template(&self, token: &str, waba_id: &str, name: &str) -> Result<(), GraphError> {
        let mut url = Url::parse(&format!("{}/{}/message_templates", self.root, segment(waba_id)?))
            .map_err(|_| GraphError::local(ErrorKind::InvalidRequest, "bad template URL"))?;
        url.query_pairs_mut().append_pair("name", name);
        self.call("delete_template", self.request(Method::DELETE, url.as_str(), token)).await.map(drop)
    }

    /// The phone-number object: quality rating, throughput level, display number, verified
    /// name and messaging limit tier.
    pub async fn phone_number_info(&self, token: &str, phone_number_id: &str) -> Result<Value, GraphError> {
        let url = format!(
            "{}/{}?fields=quality_rating,throughput,display_phone_number,verified_name,whatsapp_business_manager_messaging_limit",
            self.root,
            segment(phone_number_id)?
        );
        self.call_json("phone_number_info", self.request(Method::GET, &url, token)).await
    }

    fn request(&self, method: Method, url: &str, token: &str) -> RequestBuilder {
        self.http.request(method, url).bearer_auth(token)
    }

    fn is_graph_url(&self, url: &str) -> bool {
        url.strip_prefix(&self.base_url).is_some_and(|rest| rest.starts_with('/'))
    }

    async fn call(&self, op: &'static str, req: RequestBuilder) -> Result<Bytes, GraphError> {
        let resp = req.send().await.map_err(|e| {
            let err = GraphError::from_transport(e);
            tracing::debug!(op, kind = ?err.kind, "graph call failed in transport");
            err
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(GraphError::from_transport)?;
        if (200..300).contains(&status) {
            tracing::debug!(op, status, "graph call succeeded");
            Ok(body)
        } else {
            let err = GraphError::from_response(status, &body);
            tracing::debug!(op, status, code = ?err.code, kind = ?err.kind, "graph call refused");
            Err(err)
        }
    }

    async fn call_json<T: DeserializeOwned>(&self, op: &'static str, req: RequestBuilder) -> Result<T, GraphError> {
        let body = self.call(op, req).await?;
        // A success status with an unreadable body: Meta acted on the request, we just cannot
        // tell the result.
        serde_json::from_slice(&body).map_err(|_| GraphError {
            http_status: Some(200),
            ..GraphError::local(ErrorKind::Ambiguous, "unreadable success body")
        })
    }
}

/// Ids go into URL paths: refuse anything that could change the path or query.
fn segment(id: &str) -> Result<&str, GraphError> {
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && id != "."
        && id != "..";
    if ok { Ok(id) } else { Err(GraphError::local(ErrorKind::InvalidRequest, "id is not a valid Graph path segment")) }
}

fn too_large(max: u64) -> GraphError {
    GraphError::local(ErrorKind::TooLarge, format!("media exceeds {max} bytes"))
}

fn opt_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrNum {
        Str(String),
        Num(u64),
    }
    Ok(match Option::<StrOrNum>::deserialize(d)? {
        Some(StrOrNum::Num(n)) => Some(n),
        Some(StrOrNum::Str(s)) => s.parse().ok(),
        None => None,
    })
}

#[cfg(test)]
mod tests;
