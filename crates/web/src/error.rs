//! The one place errors become HTTP. Every error body has the shape
//! `{"error":{"code":"…","message":"…","field":"…"}}`.

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_app::AppError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `malformed`, `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `invalid_phone`, `rate_limited`, …
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<switchboard_core::Invalid> for ApiError {
    fn from(e: switchboard_core::Invalid) -> Self {
        Self(AppError::Invalid(e))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[must_use]
pub fn error_response(status: StatusCode, code: &str, message: &str, field: Option<String>) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), field } };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::Malformed(m) => error_response(StatusCode::BAD_REQUEST, "malformed", &m, None),
            AppError::Unauthenticated(m) => error_response(StatusCode::UNAUTHORIZED, "unauthenticated", m, None),
            AppError::Forbidden { code, message } => error_response(StatusCode::FORBIDDEN, code, message, None),
            AppError::NotFound => error_response(StatusCode::NOT_FOUND, "not_found", "not found", None),
            AppError::Conflict { field, message } => error_response(StatusCode::CONFLICT, "conflict", &message, field),
            AppError::WrongState { code, message } => error_response(StatusCode::CONFLICT, code, message, None),
            AppError::Gone { code, message } => error_response(StatusCode::GONE, code, message, None),
            AppError::Invalid(i) => {
                let field = (!i.field.is_empty()).then_some(i.field);
                error_response(StatusCode::UNPROCESSABLE_ENTITY, i.code, &i.message, field)
            }
            AppError::RateLimited { retry_after_secs } => {
                let mut res = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests; retry later",
                    None,
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res
            }
            AppError::Upstream { code, message } => error_response(StatusCode::BAD_GATEWAY, code, &message, None),
            AppError::Unavailable => {
                error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "service temporarily unavailable", None)
            }
            AppError::Internal(detail) => {
                // The detail names our own failure (never request data); the client learns nothing.
                tracing::error!(error = %detail, "internal error");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
            }
        }
    }
}

/// A handler panicked: answer 500 in the usual shape, log without the panic payload (it
/// could quote request data).
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
}
