//! Messages shown on pages, and how an application error becomes one. Errors a user can fix
//! (a wrong value, a conflict, a refused action) are shown inline next to the form that caused
//! them; the rest become an error page (`super::access`). Texts come from the translations:
//! `err.<code>` for validation codes, `err.conflict.<field>` for conflicts; an error with no
//! translation shows the application's own (English) message, which never carries internals.

use axum::http::StatusCode;
use switchboard_app::AppError;

use super::i18n::Tr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Success,
    Error,
}

#[derive(Clone, Debug)]
pub struct Notice {
    pub tone: Tone,
    pub text: String,
    /// The form field at fault, to mark it `aria-invalid`.
    pub field: Option<String>,
}

impl Notice {
    #[must_use]
    pub fn success(text: impl Into<String>) -> Self {
        Self { tone: Tone::Success, text: text.into(), field: None }
    }

    #[must_use]
    pub fn error(text: impl Into<String>) -> Self {
        Self { tone: Tone::Error, text: text.into(), field: None }
    }

    #[must_use]
    pub fn is_error(&self) -> bool {
        self.tone == Tone::Error
    }

    /// Whether `field` is the one at fault (templates: `aria-invalid`).
    #[must_use]
    pub fn on(&self, field: &str) -> bool {
        self.field.as_deref() == Some(field)
    }

    /// The translated text of `e`.
    #[must_use]
    pub fn of(t: Tr, e: &AppError) -> Self {
        let (key, field, fallback) = describe(e);
        Self { tone: Tone::Error, text: t.lookup(&key).map_or(fallback, str::to_owned), field }
    }
}

/// Whether a template should mark `field` invalid given an optional notice.
#[must_use]
pub fn invalid(notice: Option<&Notice>, field: &str) -> bool {
    notice.is_some_and(|n| n.on(field))
}

/// The translation key, the field at fault and the application's own message.
fn describe(e: &AppError) -> (String, Option<String>, String) {
    let message = e.to_string();
    match e {
        AppError::Invalid(i) => {
            (format!("err.{}", i.code), (!i.field.is_empty()).then(|| base_field(&i.field)), i.message.clone())
        }
        AppError::Conflict { field, .. } => (
            field.as_deref().map_or_else(|| "err.conflict".to_owned(), |f| format!("err.conflict.{f}")),
            field.clone(),
            message,
        ),
        AppError::Forbidden { code, .. } | AppError::WrongState { code, .. } | AppError::Gone { code, .. } => {
            (format!("err.{code}"), None, message)
        }
        AppError::Unauthenticated(_) => ("err.unauthenticated".into(), None, message),
        AppError::NotFound => ("err.not_found".into(), None, message),
        AppError::Malformed(_) => ("err.malformed".into(), None, message),
        AppError::RateLimited { .. } => ("err.rate_limited".into(), None, message),
        AppError::Upstream { .. } => ("err.upstream".into(), None, message),
        AppError::Unavailable => ("err.unavailable".into(), None, message),
        // The detail is logged where the error is turned into a page, never shown.
        AppError::Internal(_) => ("err.internal".into(), None, "internal error".into()),
    }
}

/// `ip_allowlist[2]` → `ip_allowlist`: forms have one input per list.
fn base_field(field: &str) -> String {
    field.split('[').next().unwrap_or(field).to_owned()
}

/// Splits errors into those shown inline beside the form and those that become an error page.
pub fn inline(t: Tr, e: AppError) -> Result<Notice, AppError> {
    match e {
        AppError::Invalid(_)
        | AppError::Conflict { .. }
        | AppError::WrongState { .. }
        | AppError::Gone { .. }
        | AppError::Forbidden { .. }
        | AppError::RateLimited { .. }
        | AppError::Malformed(_) => Ok(Notice::of(t, &e)),
        other => Err(other),
    }
}

/// The HTTP status of a page that shows `e`.
#[must_use]
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Malformed(_) => StatusCode::BAD_REQUEST,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } | AppError::WrongState { .. } => StatusCode::CONFLICT,
        AppError::Gone { .. } => StatusCode::GONE,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Upstream { .. } => StatusCode::BAD_GATEWAY,
        AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::Invalid;

    use super::*;
    use crate::ui::i18n::Locale;

    #[test]
    fn errors_are_translated_with_their_field() {
        let t = Tr(Locale::Tr);
        let e = AppError::Invalid(Invalid::new(
            "ip_allowlist",
            "would_lock_you_out",
            "the list must include your own current address",
        ));
        let n = Notice::of(t, &e);
        assert!(n.on("ip_allowlist"));
        assert_eq!(n.text, t.get("err.would_lock_you_out"));
        let e = AppError::Conflict { field: Some("role".into()), message: "the last owner cannot be demoted".into() };
        assert_eq!(Notice::of(t, &e).text, t.get("err.conflict.role"));
    }

    #[test]
    fn untranslated_codes_fall_back_to_the_message_and_internals_stay_hidden() {
        let t = Tr(Locale::En);
        let e = AppError::Invalid(Invalid::new("x", "brand_new_code", "a readable message"));
        assert_eq!(Notice::of(t, &e).text, "a readable message");
        let e = AppError::Internal("connection to 10.0.0.5 refused".into());
        assert!(!Notice::of(t, &e).text.contains("10.0.0.5"));
        assert!(inline(t, AppError::Internal("x".into())).is_err());
        assert!(inline(t, AppError::NotFound).is_err());
    }
}
