//! Extractors that fail in our error shape instead of axum's plain-text rejections: malformed
//! JSON is 400, a body over the limit 413, a wrong content type 415, a well-formed body with
//! a wrong or unknown field 422.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use switchboard_app::auth::Principal;

use crate::error::error_response;

/// `axum::Json` with our rejections.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(&e)),
        }
    }
}

fn json_rejection(e: &JsonRejection) -> Response {
    match e {
        JsonRejection::JsonDataError(err) => {
            let text = err.body_text();
            let field = text.split_once('`').and_then(|(_, rest)| rest.split_once('`')).map(|(f, _)| f.to_owned());
            error_response(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &clean(&text), field)
        }
        JsonRejection::JsonSyntaxError(_) => {
            error_response(StatusCode::BAD_REQUEST, "malformed", "the body is not valid JSON", None)
        }
        JsonRejection::MissingJsonContentType(_) => error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: application/json",
            None,
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        _ => error_response(StatusCode::BAD_REQUEST, "malformed", "the body could not be read", None),
    }
}

#[must_use]
pub fn payload_too_large() -> Response {
    error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than allowed", None)
}

/// serde's messages quote the offending input; keep the part that names the problem.
fn clean(text: &str) -> String {
    let t = text.split(": ").skip(1).collect::<Vec<_>>().join(": ");
    let t = if t.is_empty() { text.to_owned() } else { t };
    t.split(" at line ").next().unwrap_or(&t).chars().take(200).collect()
}

/// `axum::extract::Query` with our rejections.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |e: QueryRejection| error_response(StatusCode::BAD_REQUEST, "malformed", &clean(&e.body_text()), None),
        )
    }
}

/// `axum::extract::Path` with our rejections: an id that is not a UUID is 400.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(
            |_: PathRejection| error_response(StatusCode::BAD_REQUEST, "malformed", "invalid id in path", None),
        )
    }
}

/// The authenticated caller, put in place by the route's access check (`crate::auth`).
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or_else(|| {
            // A route that extracts a caller without requiring one is a wiring bug.
            tracing::error!("route has no access check");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
    }
}
