//! What went wrong with a Graph API call, classified for the caller (see [`ErrorKind`]), with
//! Meta's own code, message and details kept for display and support.
//!
//! The transport rule that matters most: a failure before the request could reach Meta
//! (connection refused, DNS, connect timeout) is `Transient`; a failure after it was written
//! (timeout waiting for the answer, connection reset, unreadable success body) is `Ambiguous`,
//! because the message may already be on its way.

use serde::Deserialize;

use crate::whatsapp::codes::{self, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} (code {code:?}, HTTP {http_status:?}): {message}")]
pub struct GraphError {
    pub kind: ErrorKind,
    pub http_status: Option<u16>,
    /// Meta's `error.code`.
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    /// Meta's `error.message` (`(#131056) … pair rate limit hit`) or a transport description.
    pub message: String,
    /// `error.error_data.details`.
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: MetaError,
}

#[derive(Deserialize)]
struct MetaError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_data: Option<ErrorData>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl GraphError {
    pub(crate) fn local(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            http_status: None,
            code: None,
            subcode: None,
            message: message.into(),
            details: None,
            fbtrace_id: None,
        }
    }

    /// An error answer from Meta (any non-2xx status).
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Self {
                kind: codes::classify(error.code, status),
                http_status: Some(status),
                code: error.code,
                subcode: error.error_subcode,
                message: error.message.unwrap_or_default(),
                details: error.error_data.and_then(|d| d.details),
                fbtrace_id: error.fbtrace_id,
            },
            // Proxies and load balancers answer with HTML; the status is all there is.
            Err(_) => Self {
                http_status: Some(status),
                ..Self::local(codes::classify(None, status), format!("HTTP {status} without a Graph error body"))
            },
        }
    }

    /// A transport failure. reqwest's message is used without the URL (media URLs carry
    /// signed query strings).
    pub(crate) fn from_transport(e: reqwest::Error) -> Self {
        let kind = if e.is_connect() {
            ErrorKind::Transient
        } else if e.is_builder() {
            ErrorKind::InvalidRequest
        } else {
            // Timeouts and resets after the connection was made: the request may have been
            // received and acted on.
            ErrorKind::Ambiguous
        };
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::local(kind, message)
    }
}
