//! Files an agent attaches in the composer: checked against WhatsApp's types and sizes,
//! uploaded to the number's Graph API media endpoint, kept sealed in the blob store (so the
//! inbox shows what was sent), then sent by the media id through the same use case as every
//! other message ([`App::send_message`]: window, outbox, pacing, statuses).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use switchboard_channels::whatsapp::ErrorKind;
use switchboard_channels::whatsapp::outbound::{CAPTION_MAX, MediaKind, mime_for_extension, send_limit};
use switchboard_core::{ContactId, ConversationId, Invalid, Permission};
use switchboard_privacy::Aad;
use switchboard_storage::media::MediaRow;
use switchboard_storage::{conversations, templates};
use uuid::Uuid;

use super::compose::Compose;
use super::conversations::MessageView;
use super::template_parts::HeaderMedia;
use crate::auth::Principal;
use crate::{App, AppError, AppResult};

/// A file from the composer.
pub struct Attachment {
    /// The name the agent's file had (documents keep it for the customer).
    pub file_name: String,
    /// What the browser said the file is; empty or generic types are read from the name.
    pub mime_type: String,
    pub bytes: Bytes,
    pub caption: Option<String>,
}

fn invalid(field: &str, code: &'static str, message: String) -> AppError {
    Invalid::new(field, code, message).into()
}

/// The MIME type to send a file as, WhatsApp's message type for it and its size limit.
pub fn classify(a: &Attachment) -> AppResult<(String, MediaKind, u64)> {
    let given = a.mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let mime = if given.is_empty() || given == "application/octet-stream" {
        mime_for_extension(&a.file_name).map(str::to_owned).unwrap_or(given)
    } else {
        given
    };
    let (kind, limit) = send_limit(&mime).ok_or_else(|| {
        invalid(
            "file",
            "unsupported_media_type",
            "WhatsApp cannot send this type of file: send a JPEG or PNG image, an MP4 or 3GP video, \
             AAC, AMR, MP3, M4A or OGG audio, or a PDF, text or Office document"
                .into(),
        )
    })?;
    Ok((mime, kind, limit))
}

/// A file uploaded to Meta and kept sealed here, waiting for the message that uses it.
struct Uploaded {
    media_id: String,
    kind: MediaKind,
    file_name: String,
    row: MediaRow,
    blob_key: String,
}

impl App {
    /// Sends a file the agent attached. Checks the type and size before anything leaves, and
    /// that the conversation can take a free-form message now (no upload for a refused send).
    pub async fn send_attachment(
        &self,
        p: &Principal,
        conversation: ConversationId,
        a: Attachment,
    ) -> AppResult<MessageView> {
        p.require(Permission::MessagesSend)?;
        let caption = a.caption.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
        let (_, kind, _) = checked(&a)?;
        if let Some(c) = &caption {
            if kind == MediaKind::Audio {
                return Err(invalid("caption", "caption_not_allowed", "audio cannot have a caption".into()));
            }
            if c.chars().count() > CAPTION_MAX {
                return Err(invalid("caption", "too_long", format!("at most {CAPTION_MAX} characters")));
            }
        }
        let up = self.upload(p, conversation, &a, false).await?;
        let compose = Compose::Media {
            media: up.kind.as_str().to_owned(),
            link: None,
            media_id: Some(up.media_id),
            caption,
            filename: (up.kind == MediaKind::Document).then_some(up.file_name),
            reply_to: None,
        };
        let sent = self.send_composed(p, conversation, compose, Some(up.row)).await;
        if sent.is_err() {
            // Nothing refers to the file: do not keep it.
            let _ = self.blobs.delete(&up.blob_key).await;
        }
        sent
    }

    /// Sends a template whose IMAGE, VIDEO or DOCUMENT header is a file the agent chose: the
    /// file must be of the header's kind; it is uploaded and given to the template by its id.
    pub async fn send_template_with_header_file(
        &self,
        p: &Principal,
        conversation: ConversationId,
        compose: Compose,
        a: Attachment,
    ) -> AppResult<MessageView> {
        p.require(Permission::MessagesSend)?;
        let Compose::Template {
            name,
            language,
            parameters,
            named_parameters,
            header_parameters,
            button_parameters,
            ..
        } = compose
        else {
            return Err(invalid("type", "not_a_template", "a header file goes with a template".into()));
        };
        let (_, kind, _) = checked(&a)?;
        let wanted = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(p.tenant);
            let conv = conversations::get(&mut s, conversation.as_uuid()).await?;
            let ch = self.channel_info_in(&mut s, conv.channel_id.into()).await?;
            templates::by_name(&mut s, &ch.waba_id, &name)
                .await?
                .into_iter()
                .find(|t| switchboard_channels::whatsapp::webhook::same_language(&t.language, &language))
                .and_then(|t| {
                    let c: serde_json::Value = serde_json::from_str(&t.components).unwrap_or_default();
                    super::template_parts::shape(&c, &t.parameter_format).header_media
                })
        };
        match wanted {
            Some(w) if w == kind.as_str() => {}
            Some(w) => {
                return Err(invalid(
                    "header_file",
                    "template_header_kind",
                    format!("the template's header is a {w}, not a {}", kind.as_str()),
                ));
            }
            // No such template, or no media header: the send says which.
            None => {}
        }
        let up = self.upload(p, conversation, &a, true).await?;
        let compose = Compose::Template {
            name,
            language,
            parameters,
            named_parameters,
            header_parameters,
            header_media: Some(HeaderMedia {
                link: None,
                media_id: Some(up.media_id),
                filename: (up.kind == MediaKind::Document).then_some(up.file_name),
            }),
            button_parameters,
        };
        let sent = self.send_composed(p, conversation, compose, Some(up.row)).await;
        if sent.is_err() {
            let _ = self.blobs.delete(&up.blob_key).await;
        }
        sent
    }

    /// Checks that the conversation can send now (`template`: whatever the window), seals the
    /// file under the contact's key, uploads it to the number's media endpoint and stores it.
    async fn upload(
        &self,
        p: &Principal,
        conversation: ConversationId,
        a: &Attachment,
        template: bool,
    ) -> AppResult<Uploaded> {
        let (mime, kind, _) = checked(a)?;
        let now = self.now().0;
        let id = Uuid::now_v7();
        let blob_key = format!("media/{}/{}", p.tenant.as_uuid().simple(), id.simple());
        // Refused sends (closed window, disconnected number, another tenant's conversation)
        // are refused before the upload; the file is sealed under the contact's key meanwhile.
        let (conv, ch, sealed) = {
            let mut conn = self.db.read().await?;
            let mut s = conn.tenant(p.tenant);
            let (conv, ch) = self.sendable(&mut s, conversation, template, now).await?;
            let aad = Aad::new(p.tenant, "media", "blob", id);
            let sealed =
                self.keys.seal_contact(&mut s, ContactId::from_uuid(conv.contact_id), &aad, &a.bytes.to_vec()).await?;
            (conv, ch, sealed)
        };
        let graph = self.wa.graph(&ch.graph_base_url, &ch.api_version)?;
        let file_name = safe_file_name(&a.file_name, &mime);
        let media_id = graph
            .upload_media(&ch.access_token, &ch.phone_number_id, &mime, &file_name, a.bytes.clone())
            .await
            .map_err(|e| match e.kind {
                ErrorKind::InvalidRequest => {
                    let why = match e.details.as_deref().filter(|d| !d.is_empty()) {
                        Some(d) => format!("{} ({d})", e.message),
                        None => e.message.clone(),
                    };
                    invalid("file", "rejected_by_meta", format!("Meta refused the file: {why}"))
                }
                _ => AppError::Upstream { code: "graph_error", message: e.message },
            })?;
        self.blobs.put(&blob_key, sealed.into_bytes()).await?;
        let row = MediaRow {
            tenant_id: p.tenant.as_uuid(),
            id,
            message_id: Uuid::nil(),
            contact_id: conv.contact_id,
            channel_id: conv.channel_id,
            provider_media_id: media_id.clone(),
            kind: kind.as_str().to_owned(),
            mime_type: Some(mime),
            sha256: Some(STANDARD.encode(Sha256::digest(&a.bytes))),
            size_bytes: Some(i64::try_from(a.bytes.len()).unwrap_or(i64::MAX)),
            blob_key: Some(blob_key.clone()),
            state: "stored".into(),
            error: None,
            created_at: now,
            updated_at: now,
        };
        Ok(Uploaded { media_id, kind, file_name, row, blob_key })
    }
}

/// A file that is there, of a type WhatsApp sends, within its type's size.
fn checked(a: &Attachment) -> AppResult<(String, MediaKind, u64)> {
    if a.bytes.is_empty() {
        return Err(invalid("file", "required", "choose a file to send".into()));
    }
    let (mime, kind, limit) = classify(a)?;
    if a.bytes.len() as u64 > limit {
        return Err(invalid(
            "file",
            "media_too_large",
            format!("WhatsApp sends {} files of at most {} MB", kind.as_str(), limit / (1024 * 1024)),
        ));
    }
    Ok((mime, kind, limit))
}

/// The file name sent with a document: the agent's, without any path, or one from the type.
fn safe_file_name(name: &str, mime: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let clean: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect();
    if clean.is_empty() { format!("file.{}", super::media::extension(mime)) } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, mime: &str) -> Attachment {
        Attachment { file_name: name.into(), mime_type: mime.into(), bytes: Bytes::from_static(b"x"), caption: None }
    }

    #[test]
    fn the_type_comes_from_the_browser_or_the_name() {
        assert_eq!(classify(&file("a.png", "image/png")).unwrap().1, MediaKind::Image);
        assert_eq!(classify(&file("quote.pdf", "")).unwrap().0, "application/pdf");
        assert_eq!(classify(&file("voice.ogg", "application/octet-stream")).unwrap().1, MediaKind::Audio);
        assert!(classify(&file("x.exe", "application/x-msdownload")).is_err());
        assert!(classify(&file("logo.svg", "image/svg+xml")).is_err());
    }

    #[test]
    fn file_names_lose_their_path() {
        assert_eq!(safe_file_name("C:\\Users\\a\\quote.pdf", "application/pdf"), "quote.pdf");
        assert_eq!(safe_file_name("../../etc/passwd", "text/plain"), "passwd");
        assert_eq!(safe_file_name("", "application/pdf"), "file.pdf");
        assert_eq!(safe_file_name("a\"b\r\n.txt", "text/plain"), "ab.txt");
    }
}
