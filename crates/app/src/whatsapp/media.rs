//! Media of inbound messages: a job resolves Meta's media id, downloads the file with the
//! number's token (within the size limit of its kind), checks its SHA-256, seals it under the
//! contact's key and puts it in the blob store. Failures retry with backoff and end as
//! "media unavailable"; they never block or lose the message itself.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_channels::whatsapp::ErrorKind;
use switchboard_core::{ChannelId, ContactId, Permission, TenantId};
use switchboard_jobs::{Handler, JobError, payload_id};
use switchboard_privacy::Aad;
use switchboard_storage::Scope;
use switchboard_storage::bus::Event;
use switchboard_storage::jobs::JobRow;
use switchboard_storage::media::{self, MediaRow};
use uuid::Uuid;

use crate::audit::Audit;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

/// A stored media file, opened for download.
pub struct MediaFile {
    pub bytes: Vec<u8>,
    /// Only types safe to hand to a browser; anything else is `application/octet-stream`.
    pub content_type: String,
    /// Shown inline (images, audio, video) or offered as a download.
    pub inline: bool,
    pub file_name: String,
}

const INLINE_TYPES: [&str; 11] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "audio/ogg",
    "audio/mpeg",
    "audio/aac",
    "audio/mp4",
    "audio/amr",
    "video/mp4",
    "video/3gpp",
    "application/pdf",
];

fn safe_type(mime: Option<&str>) -> (String, bool) {
    let base = mime.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if INLINE_TYPES.contains(&base.as_str()) {
        let inline = base != "application/pdf";
        (base, inline)
    } else {
        ("application/octet-stream".into(), false)
    }
}

pub(crate) fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/mp4" => "m4a",
        "audio/amr" => "amr",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// Meta's `sha256` is base64 in current payloads and hex in older ones.
fn digest_matches(expected: &str, bytes: &[u8]) -> bool {
    let d = Sha256::digest(bytes);
    let e = expected.trim();
    e == STANDARD.encode(d) || e.eq_ignore_ascii_case(&hex::encode(d))
}

fn blob_key(tenant: TenantId, id: Uuid) -> String {
    format!("media/{}/{}", tenant.as_uuid().simple(), id.simple())
}

enum Fetch {
    Retry(String),
    GiveUp(String),
}

impl App {
    fn media_limit(&self, kind: &str) -> u64 {
        let l = &self.config.whatsapp.media_limits;
        match kind {
            "image" => l.image,
            "video" => l.video,
            "audio" => l.audio,
            "sticker" => l.sticker,
            _ => l.document,
        }
    }

    /// One attempt to fetch and store a media file.
    pub(crate) async fn fetch_media(&self, tenant: TenantId, id: Uuid, last_attempt: bool) -> Result<(), JobError> {
        let m = {
            let mut conn = self.db.read().await.map_err(|e| JobError::Retry(e.to_string()))?;
            match media::get(&mut conn.tenant(tenant), id).await {
                Ok(m) => m,
                // Erased meanwhile: nothing to fetch.
                Err(switchboard_storage::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(JobError::Retry(e.to_string())),
            }
        };
        if m.state != "pending" {
            return Ok(());
        }
        match self.try_fetch(tenant, &m).await {
            Ok(()) => Ok(()),
            Err(Fetch::GiveUp(why)) => {
                self.media_unavailable(tenant, &m, &why).await;
                Err(JobError::Fatal(why))
            }
            Err(Fetch::Retry(why)) if last_attempt => {
                self.media_unavailable(tenant, &m, &why).await;
                Err(JobError::Fatal(why))
            }
            Err(Fetch::Retry(why)) => {
                let mut tx = self.db.write().await.map_err(|e| JobError::Retry(e.to_string()))?;
                let _ = media::attempt_failed(&mut tx.tenant(tenant), id, &why, false, self.now().0).await;
                let _ = tx.commit().await;
                Err(JobError::Retry(why))
            }
        }
    }

    async fn try_fetch(&self, tenant: TenantId, m: &MediaRow) -> Result<(), Fetch> {
        let retry = |e: &dyn std::fmt::Display| Fetch::Retry(e.to_string());
        let ch = self.channel_info(tenant, ChannelId::from_uuid(m.channel_id)).await.map_err(|e| retry(&e))?;
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version).map_err(|e| retry(&e))?;
        let limit = self.media_limit(&m.kind);
        let graph_err = |e: switchboard_channels::whatsapp::GraphError| match e.kind {
            ErrorKind::TooLarge => Fetch::GiveUp(format!("larger than the {limit} byte limit for {}", m.kind)),
            ErrorKind::InvalidRequest if e.http_status == Some(404) => {
                Fetch::Retry("media not found (link expired?)".into())
            }
            _ => Fetch::Retry(e.message),
        };
        let info = graph.get_media(&ch.access_token, &m.provider_media_id).await.map_err(graph_err)?;
        if info.file_size.is_some_and(|s| s > limit) {
            return Err(Fetch::GiveUp(format!("larger than the {limit} byte limit for {}", m.kind)));
        }
        let bytes = graph.download_media(&ch.access_token, &info.url, limit).await.map_err(graph_err)?;
        if let Some(expected) = m.sha256.as_deref().or(info.sha256.as_deref())
            && !digest_matches(expected, &bytes)
        {
            return Err(Fetch::Retry("checksum mismatch".into()));
        }
        let mime = info.mime_type.or_else(|| m.mime_type.clone()).unwrap_or_else(|| "application/octet-stream".into());
        let key = blob_key(tenant, m.id);
        let now = self.now().0;
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let sealed = {
            let mut conn = self.db.read().await.map_err(|e| retry(&e))?;
            let mut s = conn.tenant(tenant);
            self.keys
                .seal_contact(
                    &mut s,
                    ContactId::from_uuid(m.contact_id),
                    &Aad::new(tenant, "media", "blob", m.id),
                    &bytes.to_vec(),
                )
                .await
                .map_err(|e| retry(&e))?
        };
        self.blobs.put(&key, sealed.into_bytes()).await.map_err(|e| retry(&e))?;
        let mut tx = self.db.write().await.map_err(|e| retry(&e))?;
        media::stored(&mut tx.tenant(tenant), m.id, &key, &mime, size, now).await.map_err(|e| retry(&e))?;
        tx.commit().await.map_err(|e| retry(&e))?;
        let _ = self
            .bus
            .publish(&Event {
                tenant_id: tenant.as_uuid(),
                topic: "message.updated".into(),
                subject: Some(m.message_id),
                related: None,
                at: now,
            })
            .await;
        Ok(())
    }

    async fn media_unavailable(&self, tenant: TenantId, m: &MediaRow, why: &str) {
        tracing::warn!(media = %m.id, reason = why, "media unavailable");
        let now = self.now().0;
        if let Ok(mut tx) = self.db.write().await {
            let _ = media::attempt_failed(&mut tx.tenant(tenant), m.id, why, true, now).await;
            let _ = tx.commit().await;
        }
        let _ = self
            .bus
            .publish(&Event {
                tenant_id: tenant.as_uuid(),
                topic: "message.updated".into(),
                subject: Some(m.message_id),
                related: None,
                at: now,
            })
            .await;
    }

    /// Deletes media files (erasure, retention); a file already gone is fine.
    pub(crate) async fn delete_blobs(&self, keys: &[String]) -> AppResult<()> {
        for key in keys {
            self.blobs.delete(key).await?;
        }
        Ok(())
    }

    /// The bytes of a stored media file, opened (the caller audits the read).
    pub(crate) async fn open_media(&self, s: &mut Scope<'_>, m: &MediaRow) -> AppResult<Vec<u8>> {
        let key = m
            .blob_key
            .clone()
            .filter(|_| m.state == "stored")
            .ok_or(AppError::Conflict { field: None, message: format!("media is {}", m.state) })?;
        let sealed = switchboard_privacy::Sealed::<Vec<u8>>::from_stored(self.blobs.get(&key).await?);
        let tenant = s.tenant_id();
        self.keys
            .open_contact(s, ContactId::from_uuid(m.contact_id), &Aad::new(tenant, "media", "blob", m.id), &sealed)
            .await
    }

    /// A stored media file, opened. Reading it is reading personal data: audited.
    pub async fn download_media(&self, p: &Principal, id: Uuid) -> AppResult<MediaFile> {
        p.require(Permission::ConversationsRead)?;
        let mut tx = self.db.write().await?;
        let mut s = tx.tenant(p.tenant);
        let m = media::get(&mut s, id).await?;
        let bytes = self.open_media(&mut s, &m).await?;
        Audit::of(p)
            .record(
                self,
                &mut s,
                "media.read",
                Some(("media", id.to_string())),
                serde_json::json!({"contact_id": m.contact_id}),
            )
            .await?;
        tx.commit().await?;
        let (content_type, inline) = safe_type(m.mime_type.as_deref());
        let file_name = format!("{}-{}.{}", m.kind, id.simple(), extension(&content_type));
        Ok(MediaFile { bytes, content_type, inline, file_name })
    }
}

/// Runs the WhatsApp jobs that are not sends: media downloads, read receipts, template syncs.
pub struct WhatsAppJobs(pub Arc<App>);

#[async_trait]
impl Handler for WhatsAppJobs {
    async fn run(&self, job: &JobRow) -> Result<(), JobError> {
        let tenant = TenantId::from_uuid(job.tenant_id);
        let app = &self.0;
        match job.kind.as_str() {
            super::JOB_MEDIA => {
                app.fetch_media(tenant, payload_id(job, "media_id")?, job.attempts >= job.max_attempts).await
            }
            super::JOB_TEMPLATE_SYNC => app
                .sync_templates_for(tenant, ChannelId::from_uuid(payload_id(job, "channel_id")?))
                .await
                .map(drop)
                .map_err(|e| JobError::Retry(e.to_string())),
            super::JOB_MARK_READ => {
                let v: Value = serde_json::from_str(&job.payload).map_err(|e| JobError::Fatal(e.to_string()))?;
                let wamid = v
                    .get("wamid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| JobError::Fatal("payload without wamid".into()))?;
                app.mark_read_on_whatsapp(tenant, payload_id(job, "conversation_id")?, wamid)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            other => Err(JobError::Fatal(format!("unknown WhatsApp job {other}"))),
        }
    }
}

impl App {
    async fn mark_read_on_whatsapp(&self, tenant: TenantId, conversation: Uuid, wamid: &str) -> AppResult<()> {
        let conv =
            switchboard_storage::conversations::get(&mut self.db.read().await?.tenant(tenant), conversation).await?;
        let ch = self.channel_info(tenant, ChannelId::from_uuid(conv.channel_id)).await?;
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        graph
            .mark_read(
                &ch.access_token,
                &ch.phone_number_id,
                &switchboard_channels::whatsapp::MarkRead { message_id: wamid.to_owned(), typing: false },
            )
            .await
            .map_err(|e| AppError::Upstream { code: "graph_error", message: e.message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_in_both_encodings() {
        let b = b"hello";
        let d = Sha256::digest(b);
        assert!(digest_matches(&STANDARD.encode(d), b));
        assert!(digest_matches(&hex::encode(d).to_uppercase(), b));
        assert!(!digest_matches("nope", b));
    }

    #[test]
    fn only_safe_types_are_served_as_such() {
        assert_eq!(safe_type(Some("image/jpeg")), ("image/jpeg".into(), true));
        assert_eq!(safe_type(Some("audio/ogg; codecs=opus")), ("audio/ogg".into(), true));
        assert_eq!(safe_type(Some("text/html")), ("application/octet-stream".into(), false));
        assert_eq!(safe_type(Some("image/svg+xml")), ("application/octet-stream".into(), false));
        assert_eq!(safe_type(None).0, "application/octet-stream");
    }
}
