//! The one `multipart/form-data` body the media upload needs (`messaging_product`, `type`,
//! `file`), written by hand rather than pulling in reqwest's multipart feature.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use super::GraphError;
use crate::whatsapp::codes::ErrorKind;

pub(super) struct Form {
    boundary: String,
    head: String,
}

impl Form {
    pub(super) fn new(mime_type: &str, filename: &str, data: &[u8]) -> Result<Self, GraphError> {
        // Header values: no quotes, line breaks or backslashes that could end the part header.
        let unsafe_char = |c: char| matches!(c, '"' | '\\' | '\r' | '\n') || c.is_control();
        if mime_type.is_empty() || mime_type.chars().any(unsafe_char) {
            return Err(GraphError::local(ErrorKind::InvalidRequest, "invalid media MIME type"));
        }
        let filename: String = filename.chars().filter(|c| !unsafe_char(*c)).collect();
        // Derived from the content, so the boundary cannot occur inside it (that would need a
        // file containing its own hash).
        let boundary = format!("switchboard-{}", &hex::encode(Sha256::digest(data))[..32]);
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{mime_type}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: {mime_type}\r\n\r\n"
        );
        Ok(Self { boundary, head })
    }

    pub(super) fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub(super) fn into_body(self, data: Bytes) -> Bytes {
        let tail = format!("\r\n--{}--\r\n", self.boundary);
        let mut body = BytesMut::with_capacity(self.head.len() + data.len() + tail.len());
        body.extend_from_slice(self.head.as_bytes());
        body.extend_from_slice(&data);
        body.extend_from_slice(tail.as_bytes());
        body.freeze()
    }
}
