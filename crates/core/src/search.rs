//! Search terms: how contact names, phone numbers and message texts become the tokens the search
//! index stores (as keyed hashes, never in clear), and how a query becomes the tokens it looks
//! for. Data and queries go through the same [`normalize_word`], so "AYŞE", "ayse" and "Ayşe"
//! meet: compatibility decomposition (NFKD: full-width letters, ligatures), diacritics dropped,
//! the Turkish dotless ı and dotted İ both read as `i`, then lower case.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Name prefixes start at this many characters; a query term must have at least this many.
pub const MIN_TERM_CHARS: usize = 2;
/// A phone query needs at least this many digits (shorter suffixes are not indexed).
pub const MIN_PHONE_DIGITS: usize = 4;
/// Longer words are cut to this many characters, in the index and in queries alike.
pub const MAX_TOKEN_CHARS: usize = 32;
/// At most this many distinct words of one message are indexed: each is a row written in the
/// ingest transaction, and the first words of a message are the ones people search for.
pub const MAX_MESSAGE_TOKENS: usize = 32;
/// At most this many terms of a query are used (all must match).
pub const MAX_QUERY_TERMS: usize = 5;

/// Lower-case letters and digits of `word`, without diacritics, cut to [`MAX_TOKEN_CHARS`].
#[must_use]
pub fn normalize_word(word: &str) -> String {
    // Most words are ASCII: nothing to decompose (same result, without the tables).
    if word.is_ascii() {
        return word
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(MAX_TOKEN_CHARS)
            .collect();
    }
    word.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(|c| match c {
            // Lower-casing `I` gives `i`, so the Turkish pair must meet it there.
            'ı' => 'i'.to_lowercase(),
            other => other.to_lowercase(),
        })
        .filter(|c| c.is_alphanumeric())
        .take(MAX_TOKEN_CHARS)
        .collect()
}

/// The normalised words of a text, in order, split at anything that is not a letter or digit
/// (spaces, punctuation, apostrophes: "Ayşe'nin" gives "ayse" and "nin").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c))).map(normalize_word).filter(|w| !w.is_empty())
}

fn push_unique(out: &mut Vec<String>, t: String) {
    if !out.contains(&t) {
        out.push(t);
    }
}

/// Tokens of a contact: every prefix (from [`MIN_TERM_CHARS`] characters) of every word of its
/// name, and every suffix (from [`MIN_PHONE_DIGITS`] digits) of its phone number's digits, so a
/// number is found by its last digits, its national number or in full.
#[must_use]
pub fn contact_tokens(name: Option<&str>, phone_digits: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for w in name.into_iter().flat_map(words) {
        let chars: Vec<char> = w.chars().collect();
        for end in MIN_TERM_CHARS..=chars.len() {
            push_unique(&mut out, chars[..end].iter().collect());
        }
    }
    let digits: String = phone_digits.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= MIN_PHONE_DIGITS {
        for start in 0..=digits.len() - MIN_PHONE_DIGITS {
            push_unique(&mut out, digits[start..].to_owned());
        }
    }
    out
}

/// Tokens of a message text: its distinct whole words of [`MIN_TERM_CHARS`] or more (shorter
/// ones can never be searched for), at most [`MAX_MESSAGE_TOKENS`].
#[must_use]
pub fn message_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(text).filter(|w| w.chars().count() >= MIN_TERM_CHARS) {
        if out.len() == MAX_MESSAGE_TOKENS {
            break;
        }
        push_unique(&mut out, w);
    }
    out
}

/// Why a query cannot be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// No term of [`MIN_TERM_CHARS`] characters (or a phone of [`MIN_PHONE_DIGITS`] digits).
    TooShort,
}

/// The tokens a query looks for, every one of which must match. A query made only of digits
/// and phone punctuation (`+90 532 111-22-33`, `0532…`) is one phone term: its digits without
/// leading zeros (a trunk prefix). Otherwise its words; shorter ones are ignored.
pub fn query_terms(q: &str) -> Result<Vec<String>, QueryError> {
    let q = q.trim();
    let phone_like = q.chars().any(|c| c.is_ascii_digit())
        && q.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
    if phone_like {
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        // A leading 0 is a trunk prefix ("0532 …"), except in a short tail such as the last
        // four digits "0246", which are a suffix as typed.
        let national = digits.trim_start_matches('0');
        let term = if national.len() >= MIN_PHONE_DIGITS { national } else { digits.as_str() };
        return if term.len() >= MIN_PHONE_DIGITS { Ok(vec![term.to_owned()]) } else { Err(QueryError::TooShort) };
    }
    let mut out = Vec::new();
    for w in words(q).filter(|w| w.chars().count() >= MIN_TERM_CHARS) {
        if out.len() == MAX_QUERY_TERMS {
            break;
        }
        push_unique(&mut out, w);
    }
    if out.is_empty() { Err(QueryError::TooShort) } else { Ok(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_case_and_diacritics_meet() {
        for w in ["AYŞE", "ayşe", "Ayse", "ＡＹＳＥ", "Ayşe"] {
            assert_eq!(normalize_word(w), "ayse", "{w}");
        }
        for w in ["İSTANBUL", "istanbul", "Istanbul", "ıstanbul", "I\u{307}stanbul"] {
            assert_eq!(normalize_word(w), "istanbul", "{w}");
        }
        assert_eq!(normalize_word("Çağrı"), "cagri");
        assert_eq!(normalize_word("Müller"), "muller");
        assert_eq!(normalize_word("élan"), "elan");
    }

    #[test]
    fn contacts_get_name_prefixes_and_phone_suffixes() {
        let t = contact_tokens(Some("Ayşe Yılmaz"), Some("+905321112233"));
        for want in ["ay", "ays", "ayse", "yi", "yilmaz", "2233", "5321112233", "905321112233"] {
            assert!(t.contains(&want.to_owned()), "{want} in {t:?}");
        }
        assert!(!t.contains(&"a".to_owned()));
        assert!(!t.contains(&"233".to_owned()));
        assert_eq!(contact_tokens(None, None), Vec::<String>::new());
        assert_eq!(contact_tokens(Some("Al"), None), vec!["al"]);
    }

    #[test]
    fn messages_get_distinct_whole_words() {
        assert_eq!(message_tokens("Merhaba, siparişim nerede? Merhaba!"), vec!["merhaba", "siparisim", "nerede"]);
        assert_eq!(message_tokens("Ayşe'nin"), vec!["ayse", "nin"]);
        assert_eq!(message_tokens(&"ww ".repeat(1000)).len(), 1);
        assert_eq!(message_tokens("a b c, ok"), vec!["ok"]);
        let many: String = (0..200).map(|i| format!("w{i} ")).collect();
        assert_eq!(message_tokens(&many).len(), MAX_MESSAGE_TOKENS);
    }

    #[test]
    fn queries() {
        assert_eq!(query_terms("  AYŞ "), Ok(vec!["ays".to_owned()]));
        assert_eq!(query_terms("0532 111 22 33"), Ok(vec!["5321112233".to_owned()]));
        assert_eq!(query_terms("+90 (532) 111-22-33"), Ok(vec!["905321112233".to_owned()]));
        assert_eq!(query_terms("2233"), Ok(vec!["2233".to_owned()]));
        assert_eq!(query_terms("223"), Err(QueryError::TooShort));
        assert_eq!(query_terms("0246"), Ok(vec!["0246".to_owned()]), "the last four digits, as typed");
        assert_eq!(query_terms("024"), Err(QueryError::TooShort));
        assert_eq!(query_terms("a"), Err(QueryError::TooShort));
        assert_eq!(query_terms("  !! "), Err(QueryError::TooShort));
        assert_eq!(query_terms("a sipariş nerede"), Ok(vec!["siparis".to_owned(), "nerede".to_owned()]));
        assert_eq!(query_terms("order 42"), Ok(vec!["order".to_owned(), "42".to_owned()]));
    }
}
