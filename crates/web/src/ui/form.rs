//! What pages read from requests: form bodies (`application/x-www-form-urlencoded`, repeated
//! keys collected into lists: `scopes=a&scopes=b`) and query strings. Unreadable input becomes
//! an error page, not a bare text answer.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use switchboard_app::AppError;

use super::access::UiError;

fn unreadable() -> UiError {
    UiError(AppError::Malformed("the form could not be read".into()))
}

pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum_extra::extract::Form::<T>::from_request(req, state).await.map(|f| Form(f.0)).map_err(|_| unreadable())
    }
}

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum_extra::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|_| unreadable())
    }
}

/// A text input: trimmed, `None` when left empty.
#[must_use]
pub fn filled(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}
