//! Time as UTC milliseconds since the Unix epoch. Both databases store `BIGINT` milliseconds,
//! which sort and compare identically everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub const SECOND: i64 = 1_000;
    pub const MINUTE: i64 = 60 * Self::SECOND;
    pub const HOUR: i64 = 60 * Self::MINUTE;
    pub const DAY: i64 = 24 * Self::HOUR;

    #[must_use]
    pub const fn plus_ms(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    #[must_use]
    pub const fn minus_ms(self, ms: i64) -> Self {
        Self(self.0.saturating_sub(ms))
    }

    /// RFC 3339 rendering for APIs and logs.
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        jiff::Timestamp::from_millisecond(self.0).map(|t| t.to_string()).unwrap_or_default()
    }

    /// From Unix seconds, the unit Meta uses in webhook `timestamp` fields.
    #[must_use]
    pub const fn from_unix_seconds(s: i64) -> Self {
        Self(s.saturating_mul(1_000))
    }
}

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_rfc3339())
    }
}

/// The source of "now". Production uses the system clock; tests inject a clock they can move
/// across retention and session-expiry boundaries.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}
