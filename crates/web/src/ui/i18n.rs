//! Translations. Every user-visible string of the web app comes from `i18n/<locale>.txt`,
//! compiled into the binary: one `key = value` pair a line, `#` starts a comment, `{name}`
//! marks a placeholder. The locale is the logged-in user's, or before login the best match of
//! `Accept-Language`. A key missing in one language falls back to English, then to the key
//! itself (logged), so a gap shows up as text rather than an error page.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;

use super::access::Viewer;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    Tr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Tr];

    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Tr => "tr",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    const fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../../i18n/en.txt"),
            Locale::Tr => include_str!("../../i18n/tr.txt"),
        }
    }

    /// The best supported language of an `Accept-Language` header (`tr-TR,tr;q=0.9,en;q=0.8`);
    /// English when nothing matches.
    #[must_use]
    pub fn negotiate(accept_language: &str) -> Self {
        let mut best: Option<(Locale, u16)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(1000, parse_quality);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(locale) = Self::from_code(primary) else {
                continue;
            };
            if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((locale, quality));
            }
        }
        best.map_or(Locale::En, |(l, _)| l)
    }
}

/// `q=0.8` → 800; malformed values count as 0 (not acceptable).
fn parse_quality(q: &str) -> u16 {
    q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).map_or(0, |q| (q * 1000.0).round() as u16)
}

type Catalog = HashMap<&'static str, &'static str>;

/// Parses a translation file. Returns the pairs and the numbers of lines that are neither
/// blank, a comment nor `key = value` (a unit test requires there are none).
fn parse(src: &'static str) -> (Catalog, Vec<usize>) {
    let mut map = HashMap::new();
    let mut bad = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(" = ") {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                map.insert(k.trim(), v.trim());
            }
            _ => bad.push(n + 1),
        }
    }
    (map, bad)
}

fn catalogs() -> &'static [Catalog; 2] {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    CATALOGS.get_or_init(|| Locale::ALL.map(|l| parse(l.source()).0))
}

fn catalog(locale: Locale) -> &'static Catalog {
    let [en, tr] = catalogs();
    match locale {
        Locale::En => en,
        Locale::Tr => tr,
    }
}

/// The translations of one locale; cheap to copy into every view.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tr(pub Locale);

impl Tr {
    /// The `lang` attribute of pages.
    #[must_use]
    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    #[must_use]
    pub fn get(&self, key: &str) -> &'static str {
        self.lookup(key).unwrap_or_else(|| {
            tracing::warn!(key, "missing translation");
            "?"
        })
    }

    /// A translation when the key exists (keys built from error codes may not).
    #[must_use]
    pub fn lookup(&self, key: &str) -> Option<&'static str> {
        catalog(self.0).get(key).or_else(|| catalog(Locale::En).get(key)).copied()
    }

    /// A translation with its `{name}` placeholders filled in.
    #[must_use]
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.get(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// Marks a translation key chosen in code rather than written in a template, so the
/// key-coverage test finds it.
#[must_use]
pub const fn key(k: &'static str) -> &'static str {
    k
}

/// The locale of a request: the viewer's own setting once logged in, `Accept-Language`
/// before.
impl<S: Send + Sync> FromRequestParts<S> for Tr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(for_request(parts))
    }
}

pub(crate) fn for_request(parts: &Parts) -> Tr {
    if let Some(v) = parts.extensions.get::<Viewer>() {
        return v.t;
    }
    let header = parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    Tr(Locale::negotiate(header))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(l: Locale) -> BTreeSet<&'static str> {
        catalog(l).keys().copied().collect()
    }

    fn placeholders(s: &str) -> BTreeSet<String> {
        s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(name, _)| name.to_owned())).collect()
    }

    #[test]
    fn both_languages_have_exactly_the_same_keys() {
        let en = keys(Locale::En);
        let tr = keys(Locale::Tr);
        let only_en: Vec<_> = en.difference(&tr).collect();
        let only_tr: Vec<_> = tr.difference(&en).collect();
        assert!(only_en.is_empty() && only_tr.is_empty(), "only in en: {only_en:?}; only in tr: {only_tr:?}");
        assert!(en.len() > 100, "{} keys", en.len());
    }

    #[test]
    fn files_parse_cleanly_with_matching_placeholders() {
        for l in Locale::ALL {
            let (map, bad) = parse(l.source());
            assert!(bad.is_empty(), "{}.txt: malformed lines {bad:?}", l.code());
            let mut seen = BTreeSet::new();
            for line in l.source().lines() {
                if let Some((k, _)) = line.split_once(" = ") {
                    assert!(seen.insert(k.trim()), "{}.txt: {k} twice", l.code());
                }
            }
            for (k, v) in map {
                let en = catalog(Locale::En).get(k).copied().unwrap_or_default();
                assert_eq!(placeholders(v), placeholders(en), "{}: {k}", l.code());
            }
        }
    }

    /// Every key a template or page handler asks for (`t.get("…")`, `t.fmt("…"`, `key("…")`)
    /// exists, so a typo cannot ship as a `?` on a page.
    #[test]
    fn every_key_in_use_exists() {
        let mut used = 0;
        for (file, text) in crate::ui::tests::sources() {
            for marker in ["t.get(\"", "t.fmt(\"", "key(\""] {
                for rest in text.split(marker).skip(1) {
                    let key = rest.split('"').next().unwrap();
                    if key.contains('.') {
                        used += 1;
                        assert!(catalog(Locale::En).contains_key(key), "{} uses missing key {key}", file);
                    }
                }
            }
        }
        assert!(used > 100, "only {used} keys found in use");
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(Locale::negotiate("tr-TR,tr;q=0.9,en;q=0.8"), Locale::Tr);
        assert_eq!(Locale::negotiate("de-DE,de;q=0.9,tr;q=0.5"), Locale::Tr);
        assert_eq!(Locale::negotiate("en;q=0.4, TR;q=0.6"), Locale::Tr);
        assert_eq!(Locale::negotiate("tr;q=0, en"), Locale::En);
        assert_eq!(Locale::negotiate("de, fr"), Locale::En);
        assert_eq!(Locale::negotiate(""), Locale::En);
        assert_eq!(Locale::negotiate("tr;q=abc"), Locale::En);
    }

    #[test]
    fn placeholders_are_filled() {
        let t = Tr(Locale::En);
        let s = t.fmt("audit.verify_intact", &[("entries", "12")]);
        assert!(s.contains("12") && !s.contains('{'), "{s}");
    }
}
