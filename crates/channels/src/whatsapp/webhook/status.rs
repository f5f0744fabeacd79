//! Outbound message statuses (`statuses[]`, PROTOCOLS §1.7) and the ordering rule that makes
//! applying them idempotent: statuses arrive duplicated and out of order, so a message only
//! ever moves up the ranking and `failed` is terminal.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::lenient;
use super::wa_error::WaError;

#[derive(Clone, PartialEq, Deserialize)]
pub struct Status {
    /// The wamid returned by the send call.
    pub id: String,
    pub status: StatusKind,
    #[serde(deserialize_with = "lenient::i64")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub recipient_id: Option<String>,
    /// `group` for group sends; absent for individuals.
    #[serde(default)]
    pub recipient_type: Option<String>,
    /// The value set on the send, echoed back: correlates a status with our message even when
    /// the send response was lost.
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    pub errors: Vec<WaError>,
    #[serde(default)]
    pub conversation: Option<Value>,
    #[serde(default)]
    pub pricing: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusKind {
    Sent,
    Delivered,
    Read,
    /// First play of a voice message.
    Played,
    Failed,
    /// Older docs only.
    Deleted,
    Other(String),
}

impl StatusKind {
    /// Position on the delivery ladder: `sent` 1 < `delivered` 2 < `read` = `played` 3.
    /// `None` for statuses off the ladder (`failed`, `deleted`, unknown), which callers handle
    /// separately. Apply a status only if its rank is higher than the stored one.
    #[must_use]
    pub const fn rank(&self) -> Option<u8> {
        match self {
            Self::Sent => Some(1),
            Self::Delivered => Some(2),
            Self::Read | Self::Played => Some(3),
            Self::Failed | Self::Deleted | Self::Other(_) => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
            Self::Other(s) => s,
        }
    }
}

impl From<String> for StatusKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            "deleted" => Self::Deleted,
            _ => Self::Other(s),
        }
    }
}

impl<'de> Deserialize<'de> for StatusKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

// Debug output ends up in logs: no recipient number.
impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Status")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("timestamp", &self.timestamp)
            .field("errors", &self.errors.iter().map(|e| e.code).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_monotonic() {
        assert!(StatusKind::Sent.rank() < StatusKind::Delivered.rank());
        assert!(StatusKind::Delivered.rank() < StatusKind::Read.rank());
        assert_eq!(StatusKind::Played.rank(), StatusKind::Read.rank());
        assert_eq!(StatusKind::Failed.rank(), None);
        assert_eq!(StatusKind::from("warning".to_owned()).rank(), None);
    }
}
