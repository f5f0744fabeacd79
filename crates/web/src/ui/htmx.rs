//! The few htmx 2 headers the pages use. A request from htmx that targets part of a page
//! (`HX-Request` without `HX-Boosted`) gets a fragment; everything else — first loads, boosted
//! links and forms, browsers without JavaScript — gets the whole page.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

pub const HX_REQUEST: HeaderName = HeaderName::from_static("hx-request");
pub const HX_BOOSTED: HeaderName = HeaderName::from_static("hx-boosted");
pub const HX_REDIRECT: HeaderName = HeaderName::from_static("hx-redirect");
pub const HX_REPLACE_URL: HeaderName = HeaderName::from_static("hx-replace-url");

#[derive(Clone, Copy, Debug, Default)]
pub struct Hx {
    pub request: bool,
    pub boosted: bool,
}

impl Hx {
    #[must_use]
    pub fn from_headers(h: &HeaderMap) -> Self {
        let yes = |name: &HeaderName| h.get(name).is_some_and(|v| v.as_bytes() == b"true");
        Self { request: yes(&HX_REQUEST), boosted: yes(&HX_BOOSTED) }
    }

    /// Whether to answer with a fragment rather than a whole page.
    #[must_use]
    pub fn fragment(self) -> bool {
        self.request && !self.boosted
    }

    /// Sends the browser to `to`. A fragment request must not get a whole page swapped into
    /// its target, so htmx is told to navigate instead of following a redirect itself.
    #[must_use]
    pub fn redirect(self, to: &str) -> Response {
        if self.fragment()
            && let Ok(v) = HeaderValue::from_str(to)
        {
            return (StatusCode::OK, [(HX_REDIRECT, v)]).into_response();
        }
        Redirect::to(to).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Hx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// A page rendered in answer to a POST (a form with an error, a key shown once) belongs at
/// its page's address: boosted navigation shows `path` in the address bar, so a reload GETs
/// the page instead of re-posting. Pages also vary with `HX-Request`.
#[must_use]
pub fn at(path: &str, mut res: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(path) {
        res.headers_mut().insert(HX_REPLACE_URL, v);
    }
    res
}

/// Marks a response as depending on the htmx headers (whole page or fragment).
pub fn vary(res: &mut Response) {
    res.headers_mut().append(header::VARY, HeaderValue::from_static("HX-Request"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_only_for_targeted_htmx_requests() {
        let mut h = HeaderMap::new();
        assert!(!Hx::from_headers(&h).fragment());
        h.insert(HX_REQUEST, HeaderValue::from_static("true"));
        assert!(Hx::from_headers(&h).fragment());
        h.insert(HX_BOOSTED, HeaderValue::from_static("true"));
        assert!(!Hx::from_headers(&h).fragment());
    }

    #[test]
    fn fragment_requests_are_redirected_by_header() {
        let hx = Hx { request: true, boosted: false };
        let res = hx.redirect("/login");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[HX_REDIRECT], "/login");
        let res = Hx::default().redirect("/login");
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/login");
    }
}
