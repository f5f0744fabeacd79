//! Static files (our CSS, icons, the vendored htmx), embedded in the binary with rust-embed and
//! served under content-hashed URLs — `/static/<hash>/<file>` — with a year-long immutable
//! cache: a changed file gets a new URL, so browsers never hold a stale copy. A URL whose hash
//! is not the file's current one is 404, never the wrong bytes. Debug builds read the files
//! from disk (edits show after a restart); release builds carry them inside.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "static/"]
struct Static;

/// Hex digits of the SHA-256 kept in URLs: 64 bits tell versions of a file apart.
const HASH_CHARS: usize = 16;

/// File name → content hash, computed once.
fn manifest() -> &'static HashMap<String, String> {
    static MANIFEST: OnceLock<HashMap<String, String>> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        Static::iter()
            .filter_map(|name| {
                let file = Static::get(&name)?;
                let hash = hex::encode(file.metadata.sha256_hash());
                Some((name.into_owned(), hash[..HASH_CHARS].to_owned()))
            })
            .collect()
    })
}

/// The URL of a static file. An unknown name is a wiring bug (a unit test checks every name
/// the templates use); it yields a URL that answers 404 rather than failing the page.
#[must_use]
pub fn url(name: &str) -> String {
    match manifest().get(name) {
        Some(hash) => format!("/static/{hash}/{name}"),
        None => {
            tracing::error!(name, "unknown static file");
            format!("/static/missing/{name}")
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// `GET /static/{hash}/{*file}`.
pub async fn serve(Path((hash, name)): Path<(String, String)>) -> Response {
    let current = manifest().get(&name).is_some_and(|h| *h == hash);
    match Static::get(&name).filter(|_| current) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type(&name))),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn bytes(name: &str) -> Vec<u8> {
        Static::get(name).unwrap_or_else(|| panic!("{name} is not embedded")).data.into_owned()
    }

    /// The vendored htmx files are exactly what `scripts/vendor-web-assets.sh` recorded.
    #[test]
    fn vendored_files_match_their_recorded_sha256() {
        let sums = String::from_utf8(bytes("vendor/SHA256SUMS")).unwrap();
        let mut listed = Vec::new();
        for line in sums.lines().filter(|l| !l.trim().is_empty()) {
            let (expected, file) = line.split_once("  ").unwrap();
            let actual = hex::encode(Sha256::digest(bytes(&format!("vendor/{file}"))));
            assert_eq!(actual, expected, "vendor/{file} differs from SHA256SUMS");
            listed.push(file.to_owned());
        }
        for name in Static::iter().filter(|n| n.starts_with("vendor/")) {
            let file = name.trim_start_matches("vendor/");
            assert!(file == "SHA256SUMS" || listed.iter().any(|l| l == file), "{name} is not in SHA256SUMS");
        }
        assert!(listed.iter().any(|f| f == "htmx.min.js"));
        assert!(listed.iter().any(|f| f == "htmx-ext-sse.min.js"));
    }

    #[tokio::test]
    async fn urls_carry_the_content_hash_and_stale_hashes_are_404() {
        let u = url("app.css");
        let digest = hex::encode(Sha256::digest(bytes("app.css")));
        assert_eq!(u, format!("/static/{}/app.css", &digest[..HASH_CHARS]));

        let res = serve(Path((digest[..HASH_CHARS].to_owned(), "app.css".into()))).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");

        let stale = serve(Path(("0000000000000000".into(), "app.css".into()))).await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
        let missing = serve(Path((digest[..HASH_CHARS].to_owned(), "nope.css".into()))).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    /// Every static file and icon symbol a template or the layout names exists.
    #[test]
    fn templates_name_existing_assets_and_icons() {
        let icons = String::from_utf8(bytes("icons.svg")).unwrap();
        let texts = crate::ui::tests::sources();
        let mut seen = 0;
        for (_, text) in &texts {
            for rest in text.split("asset(\"").skip(1) {
                let name = rest.split('"').next().unwrap();
                assert!(manifest().contains_key(name), "no static file {name}");
                seen += 1;
            }
            for rest in text.split("\"i-").skip(1) {
                let name = rest.split('"').next().unwrap();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                    continue; // not an icon id (this test's own source, for one)
                }
                let id = format!("i-{name}");
                assert!(icons.contains(&format!("id=\"{id}\"")), "no icon {id}");
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen}");
    }
}
