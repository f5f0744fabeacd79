//! The agent web app: server-rendered pages (askama templates in `templates/`) with htmx for
//! partial updates, served from the binary with everything they need (`static/`). Pages sit
//! behind the same permission table as the API: each route is registered here with an
//! [`Access`] and the API route it mirrors, and a test checks the two agree. Cookie sessions
//! only (the API's session cookie); every state change is a POST form behind the CSRF layer.
//!
//! `access` turns sessions into a viewer and failures into error pages, `layout` is the shell,
//! `i18n` the translations, `assets` the embedded files, `htmx` and `form` the request side;
//! `pages` holds one module per area.

pub mod access;
pub mod assets;
pub mod form;
pub mod htmx;
pub mod i18n;
pub mod layout;
pub mod multipart;
pub mod notice;
mod pages;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, get, on};

pub use layout::icon;

use crate::auth::Access;
use crate::state::AppState;

/// Largest form body a page accepts (a contact with its attributes fits many times over).
const FORM_LIMIT: usize = 64 * 1024;

/// A page route: method, path, who may use it, and the API route it mirrors (whose access
/// rule it must share; `None` for pages that only lead elsewhere, such as `/`).
#[derive(Clone, Debug)]
pub struct PageSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub mirrors: Option<(Method, &'static str)>,
}

impl PageSpec {
    #[must_use]
    pub fn get(path: &'static str, access: Access) -> Self {
        Self { method: Method::GET, path, access, mirrors: None }
    }

    #[must_use]
    pub fn post(path: &'static str, access: Access) -> Self {
        Self { method: Method::POST, path, access, mirrors: None }
    }

    #[must_use]
    pub fn mirrors(mut self, method: Method, api_path: &'static str) -> Self {
        self.mirrors = Some((method, api_path));
        self
    }
}

/// Collects page routes, each behind [`access::guard`] with its own rule.
pub struct Pages {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<PageSpec>,
}

impl Pages {
    fn new(state: &AppState) -> Self {
        Self { state: state.clone(), router: Router::new(), specs: Vec::new() }
    }

    #[must_use]
    pub fn add<H, T>(mut self, spec: PageSpec, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = if spec.method == Method::POST { MethodFilter::POST } else { MethodFilter::GET };
        let access = spec.access;
        let method_router = on(filter, handler).route_layer(axum::middleware::from_fn_with_state(
            self.state.clone(),
            move |axum::extract::State(s): axum::extract::State<AppState>,
                  req: axum::extract::Request,
                  next: axum::middleware::Next| { access::guard(s, access, req, next) },
        ));
        self.router = self.router.route(spec.path, method_router);
        self.specs.push(spec);
        self
    }
}

/// The web app's router and its page table.
pub fn router(state: &AppState) -> (Router<AppState>, Vec<PageSpec>) {
    let pages = Pages::new(state);
    let pages = pages::auth::routes(pages);
    let pages = pages::invite::routes(pages);
    let pages = pages::profile::routes(pages);
    let pages = pages::inbox::routes(pages);
    let pages = pages::contacts::routes(pages);
    let pages = pages::privacy::routes(pages);
    let pages = pages::privacy_controls::routes(pages);
    let pages = pages::settings::routes(pages);
    let router = pages
        .router
        .route("/static/{hash}/{*file}", get(assets::serve))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        // Forms posted from other sites are refused (Sec-Fetch-Site / Origin).
        .layer(tower_http::csrf::CsrfLayer::new());
    (router, pages.specs)
}

/// An HTML 404 page for paths nothing serves (outside `/api/`).
pub async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    let hx = htmx::Hx::from_headers(req.headers());
    let (parts, _) = req.into_parts();
    access::error_page(i18n::for_request(&parts), None, hx, &switchboard_app::AppError::NotFound)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    /// Every template and web-app source file, with its text (for tests that scan them).
    pub fn sources() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        collect(&root.join("templates"), &mut files);
        collect(&root.join("src/ui"), &mut files);
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p.display().to_string(), text)
            })
            .collect()
    }

    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, out);
            } else {
                out.push(path);
            }
        }
    }
}
