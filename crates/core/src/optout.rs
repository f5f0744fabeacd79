//! Opt-out and opt-in keywords in inbound messages (STOP, DURDUR, İPTAL, UNSUBSCRIBE; START,
//! BAŞLA).
//!
//! **Policy: whole-message match after normalisation**, as Twilio and Braze do. The message
//! must *be* the keyword, give or take case, width, surrounding punctuation, emoji and
//! whitespace. So `stop`, ` STOP\n`, `Stop.`, `ＳＴＯＰ`, `Durdur!`, `iptal`, `Iptal` all opt
//! out, while `STOP please` and `don't stop` do not: a sentence that contains a keyword is a
//! message for a person, who can act on it. Only the text of a text message and of a
//! button reply is matched; a media caption never is (it describes the media).
//!
//! Normalisation, in order:
//! 1. full-width forms (U+FF01–U+FF5E, U+3000) become their ASCII counterparts;
//! 2. leading and trailing characters that are neither letters nor digits are dropped
//!    (whitespace, punctuation, emoji), and inner whitespace runs become one space;
//! 3. case is folded without locale traps: every Turkish I (I, ı, İ, i, and I + U+0307) folds
//!    to `I`, then everything is upper-cased;
//! 4. Turkish letters fold to their ASCII base (Ş→S, Ç→C, Ğ→G, Ö→O, Ü→U), so `BASLA` typed on
//!    a keyboard without Turkish letters matches `BAŞLA`.
//!
//! Keywords are normalised the same way, so a tenant may configure them in any spelling.

use serde::{Deserialize, Serialize};

/// What an inbound message carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundText {
    /// The body of a text message.
    Body,
    /// The title or payload of a button the customer tapped.
    ButtonReply,
    /// The caption of an image, video or document: never matched (see the module policy).
    Caption,
}

/// What a keyword asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordAction {
    OptOut,
    OptIn,
}

/// The language of a confirmation reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Tr,
    #[default]
    En,
}

impl Language {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Language::Tr => "tr",
            Language::En => "en",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tr" => Some(Language::Tr),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The language of a tenant in this home region.
    #[must_use]
    pub fn for_region(region: &str) -> Self {
        if region == "TR" { Language::Tr } else { Language::En }
    }
}

pub const DEFAULT_OPT_OUT: [&str; 4] = ["STOP", "DURDUR", "İPTAL", "UNSUBSCRIBE"];
pub const DEFAULT_OPT_IN: [&str; 2] = ["START", "BAŞLA"];

/// A tenant's keyword configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keywords {
    pub opt_out: Vec<String>,
    pub opt_in: Vec<String>,
}

impl Default for Keywords {
    fn default() -> Self {
        Self {
            opt_out: DEFAULT_OPT_OUT.iter().map(|s| (*s).to_owned()).collect(),
            opt_in: DEFAULT_OPT_IN.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// A keyword that matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordMatch {
    pub action: KeywordAction,
    /// The configured keyword, as configured.
    pub keyword: String,
    /// The language the customer used, when the keyword is one of the built-in ones.
    pub language: Option<Language>,
}

impl Keywords {
    /// The keyword `text` is, if any. Opt-out wins if a tenant configured a word in both lists.
    #[must_use]
    pub fn match_message(&self, kind: InboundText, text: &str) -> Option<KeywordMatch> {
        if kind == InboundText::Caption {
            return None;
        }
        // Normalising keeps every letter and digit, so a text with more of them than the
        // longest keyword has cannot be one. Most messages are such texts: this spares
        // normalising them (2 % of the ingest workers' time).
        let longest = self.opt_out.iter().chain(&self.opt_in).map(|k| normalize(k).chars().count()).max();
        if text.chars().filter(|c| c.is_alphanumeric()).nth(longest.unwrap_or(0)).is_some() {
            return None;
        }
        let n = normalize(text);
        if n.is_empty() {
            return None;
        }
        let lists = [(KeywordAction::OptOut, &self.opt_out), (KeywordAction::OptIn, &self.opt_in)];
        lists.into_iter().find_map(|(action, list)| {
            list.iter().find(|k| normalize(k) == n).map(|k| KeywordMatch {
                action,
                keyword: k.clone(),
                language: builtin_language(&n),
            })
        })
    }
}

/// The language of a built-in keyword (already normalised), for the default reply.
fn builtin_language(normalized: &str) -> Option<Language> {
    match normalized {
        "STOP" | "UNSUBSCRIBE" | "START" => Some(Language::En),
        "DURDUR" | "IPTAL" | "BASLA" => Some(Language::Tr),
        _ => None,
    }
}

/// The default confirmation reply.
#[must_use]
pub const fn default_reply(action: KeywordAction, lang: Language) -> &'static str {
    match (action, lang) {
        (KeywordAction::OptOut, Language::Tr) => {
            "Pazarlama mesajları listemizden çıkarıldınız. Yeniden abone olmak için BAŞLA yazabilirsiniz."
        }
        (KeywordAction::OptOut, Language::En) => {
            "You have been unsubscribed from marketing messages. Reply START to subscribe again."
        }
        (KeywordAction::OptIn, Language::Tr) => {
            "Pazarlama mesajlarına yeniden abone oldunuz. Çıkmak için DURDUR yazabilirsiniz."
        }
        (KeywordAction::OptIn, Language::En) => {
            "You are subscribed to marketing messages again. Reply STOP to unsubscribe."
        }
    }
}

/// Normalises a message or keyword for comparison (see the module documentation).
#[must_use]
pub fn normalize(text: &str) -> String {
    let widened: String = text.chars().map(narrow).collect();
    let trimmed = widened.trim_matches(|c: char| !c.is_alphanumeric());
    let mut out = String::with_capacity(trimmed.len());
    let mut space = false;
    for c in trimmed.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        // The combining dot above of a decomposed İ (I + U+0307) carries no meaning here.
        if c == '\u{0307}' {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'I' | 'ı' | 'İ' | 'i' => out.push('I'),
            'ş' | 'Ş' => out.push('S'),
            'ç' | 'Ç' => out.push('C'),
            'ğ' | 'Ğ' => out.push('G'),
            'ö' | 'Ö' => out.push('O'),
            'ü' | 'Ü' => out.push('U'),
            other => out.extend(other.to_uppercase()),
        }
    }
    out
}

/// Full-width ASCII variants (U+FF01–U+FF5E) and the ideographic space to ASCII.
fn narrow(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PRIVACY.md §2.4 cases 29 and 30.
    #[test]
    fn keyword_variants() {
        let k = Keywords::default();
        let out = Some(KeywordAction::OptOut);
        let inn = Some(KeywordAction::OptIn);
        let table: &[(&str, Option<KeywordAction>)] = &[
            ("STOP", out),
            ("stop", out),
            (" STOP\n", out),
            ("Stop.", out),
            ("ＳＴＯＰ", out),
            ("ｓｔｏｐ！", out),
            ("\u{3000}STOP\u{3000}", out),
            ("DURDUR", out),
            ("durdur", out),
            ("Durdur!", out),
            ("DURDUR 🙏", out),
            ("İPTAL", out),
            ("iptal", out),
            ("Iptal", out),
            ("IPTAL", out),
            ("ıptal", out),
            ("İptal", out),
            ("I\u{0307}PTAL", out),
            ("UNSUBSCRIBE", out),
            ("unsubscribe...", out),
            ("\"stop\"", out),
            ("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!   stop   ..............................", out),
            ("START", inn),
            ("start", inn),
            ("BAŞLA", inn),
            ("başla", inn),
            ("Basla!", inn),
            ("BASLA", inn),
            // Not keywords: whole-message policy.
            ("STOP please", None),
            ("STOP PLEASE", None),
            ("please stop", None),
            ("don't stop", None),
            ("don’t stop!", None),
            ("STOPP", None),
            ("S T O P", None),
            ("stopping", None),
            ("UNSUBSCRIBE2", None),
            ("", None),
            ("   ", None),
            ("!!!", None),
            ("Merhaba", None),
        ];
        for (text, expected) in table {
            assert_eq!(k.match_message(InboundText::Body, text).map(|m| m.action), *expected, "{text:?}");
        }
    }

    #[test]
    fn captions_never_match_buttons_do() {
        let k = Keywords::default();
        assert_eq!(k.match_message(InboundText::Caption, "STOP"), None);
        assert_eq!(k.match_message(InboundText::ButtonReply, "Stop").map(|m| m.action), Some(KeywordAction::OptOut));
    }

    #[test]
    fn reply_language_follows_the_keyword() {
        let k = Keywords::default();
        let m = k.match_message(InboundText::Body, "durdur").unwrap();
        assert_eq!((m.keyword.as_str(), m.language), ("DURDUR", Some(Language::Tr)));
        let m = k.match_message(InboundText::Body, "stop").unwrap();
        assert_eq!(m.language, Some(Language::En));
        let custom = Keywords { opt_out: vec!["Dur".into()], opt_in: vec![] };
        let m = custom.match_message(InboundText::Body, "DUR!").unwrap();
        assert_eq!((m.action, m.language), (KeywordAction::OptOut, None));
        assert!(default_reply(KeywordAction::OptOut, Language::Tr).contains("BAŞLA"));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("  İptal  Et. "), "IPTAL ET");
        assert_eq!(normalize("ＳＴＯＰ"), "STOP");
        assert_eq!(normalize("çğöşü"), "CGOSU");
    }
}
