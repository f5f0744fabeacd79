//! The error object Meta attaches to failed statuses, unsupported messages and `value.errors`
//! (PROTOCOLS §1.7, §1.8): `{code, title, message, error_data: {details}, href}`.

use serde::Deserialize;

use super::lenient;
use crate::whatsapp::codes::{self, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawWaError")]
pub struct WaError {
    pub code: i64,
    pub title: Option<String>,
    pub message: Option<String>,
    /// `error_data.details`: the human explanation.
    pub details: Option<String>,
    pub href: Option<String>,
}

impl WaError {
    /// What the caller should do about it; `None` for codes the table does not know.
    #[must_use]
    pub fn kind(&self) -> Option<ErrorKind> {
        codes::kind_of_code(self.code)
    }
}

#[derive(Deserialize)]
struct RawWaError {
    #[serde(deserialize_with = "lenient::i64")]
    code: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<ErrorData>,
    #[serde(default)]
    href: Option<String>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl From<RawWaError> for WaError {
    fn from(raw: RawWaError) -> Self {
        Self {
            code: raw.code,
            title: raw.title,
            message: raw.message,
            details: raw.error_data.and_then(|d| d.details),
            href: raw.href,
        }
    }
}
