//! Meta's error codes (PROTOCOLS §2.7) sorted into the few decisions a caller actually makes:
//! reconnect the channel, back off, switch to a template, fix the request, alert an admin, give
//! up on this recipient, or retry. The same table serves synchronous Graph errors and the
//! asynchronous `errors[]` of a `failed` status webhook.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The access token is invalid or expired (0, 190): the channel needs reconnecting.
    Auth,
    /// Throughput or API-rate quota hit (130429, 4, 80007, 131048): retry later with backoff.
    RateLimited,
    /// Too many messages to this one recipient (131056): wait; other recipients are unaffected.
    PairRate,
    /// The 24-hour customer-service window is closed (131047): send a template instead.
    WindowClosed,
    /// The template is unknown, unapproved, paused, disabled or given the wrong parameters.
    TemplateInvalid,
    /// The request itself is wrong (100, 131008, 131009, 131051, 131053, other 4xx): fix it,
    /// never retry it unchanged.
    InvalidRequest,
    /// The account, number or app permissions are missing or restricted: alert an admin.
    Account,
    /// This recipient cannot get this message (not on WhatsApp, opted out, per-user limits).
    Undeliverable,
    /// Provably not delivered and worth retrying: Meta-side trouble (131000, 131016, 131057,
    /// HTTP 5xx) or a connection that never reached Meta.
    Transient,
    /// The request may have reached Meta but no answer came back (timeout or reset after
    /// sending). Retrying blindly risks a duplicate; reconcile through status webhooks
    /// (`biz_opaque_callback_data`) first.
    Ambiguous,
    /// A download exceeded the caller's size limit.
    TooLarge,
}

impl ErrorKind {
    /// Whether the same request may simply be sent again later.
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::PairRate | Self::Transient)
    }
}

/// The kind of a Meta error code, or `None` for codes this table does not know (the caller then
/// falls back on the HTTP status, see [`classify`]).
#[must_use]
pub const fn kind_of_code(code: i64) -> Option<ErrorKind> {
    Some(match code {
        0 | 190 => ErrorKind::Auth,
        4 | 80007 | 130429 | 131048 => ErrorKind::RateLimited,
        131056 => ErrorKind::PairRate,
        131047 => ErrorKind::WindowClosed,
        132000 | 132001 | 132005 | 132007 | 132012 | 132015 | 132016 | 132068 | 132069 => ErrorKind::TemplateInvalid,
        100 | 131008 | 131009 | 131021 | 131051 | 131053 | 135000 => ErrorKind::InvalidRequest,
        3 | 10 | 200..=299 | 368 | 131005 | 131031 | 131042 | 131045 | 131063 | 131064 | 133000..=133016 => {
            ErrorKind::Account
        }
        130472 | 131026 | 131049 | 131050 | 131052 => ErrorKind::Undeliverable,
        // 1 and 2 are Graph's generic "unknown" / "service unavailable" errors.
        1 | 2 | 131000 | 131016 | 131057 => ErrorKind::Transient,
        _ => return None,
    })
}

/// Classifies an error answer: by Meta's code when known (Meta says to branch on the code, not
/// the status), otherwise by HTTP status.
#[must_use]
pub const fn classify(code: Option<i64>, http_status: u16) -> ErrorKind {
    if let Some(code) = code
        && let Some(kind) = kind_of_code(code)
    {
        return kind;
    }
    match http_status {
        401 => ErrorKind::Auth,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes_are_classified() {
        for (code, want) in [
            (190, ErrorKind::Auth),
            (0, ErrorKind::Auth),
            (130429, ErrorKind::RateLimited),
            (4, ErrorKind::RateLimited),
            (80007, ErrorKind::RateLimited),
            (131048, ErrorKind::RateLimited),
            (131056, ErrorKind::PairRate),
            (131047, ErrorKind::WindowClosed),
            (132000, ErrorKind::TemplateInvalid),
            (132001, ErrorKind::TemplateInvalid),
            (132012, ErrorKind::TemplateInvalid),
            (132015, ErrorKind::TemplateInvalid),
            (132016, ErrorKind::TemplateInvalid),
            (100, ErrorKind::InvalidRequest),
            (131008, ErrorKind::InvalidRequest),
            (131009, ErrorKind::InvalidRequest),
            (131051, ErrorKind::InvalidRequest),
            (131053, ErrorKind::InvalidRequest),
            (131000, ErrorKind::Transient),
            (131016, ErrorKind::Transient),
            (131057, ErrorKind::Transient),
            (131026, ErrorKind::Undeliverable),
            (130472, ErrorKind::Undeliverable),
            (368, ErrorKind::Account),
            (133005, ErrorKind::Account),
        ] {
            assert_eq!(classify(Some(code), 400), want, "code {code}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_on_http_status() {
        assert_eq!(classify(Some(999_999), 503), ErrorKind::Transient);
        assert_eq!(classify(None, 500), ErrorKind::Transient);
        assert_eq!(classify(None, 401), ErrorKind::Auth);
        assert_eq!(classify(None, 429), ErrorKind::RateLimited);
        assert_eq!(classify(Some(999_999), 400), ErrorKind::InvalidRequest);
        assert_eq!(classify(None, 404), ErrorKind::InvalidRequest);
    }

    #[test]
    fn only_quota_and_transient_errors_are_retryable() {
        assert!(ErrorKind::Transient.is_retryable());
        assert!(ErrorKind::PairRate.is_retryable());
        assert!(!ErrorKind::Ambiguous.is_retryable());
        assert!(!ErrorKind::WindowClosed.is_retryable());
    }
}
