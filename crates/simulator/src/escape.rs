//! Meta's webhook serialisation: JSON with every non-ASCII character escaped as lowercase
//! `\uXXXX` (surrogate pairs beyond the BMP). The signature is computed over exactly these
//! bytes, so receivers that re-serialise before verifying fail as they would with Meta.

use std::fmt::Write;

use serde_json::Value;

pub(crate) fn ascii_json(value: &Value) -> String {
    let plain = value.to_string();
    let mut out = String::with_capacity(plain.len() + plain.len() / 8);
    for c in plain.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_ascii_becomes_lowercase_escapes() {
        let v = json!({ "name": "Ayşe 👍", "k\u{e9}y": "\u{e7}\n\"" });
        let s = ascii_json(&v);
        assert!(s.is_ascii());
        assert!(s.contains(r#""Ay\u015fe \ud83d\udc4d""#), "{s}");
        assert!(s.contains(r#""k\u00e9y":"\u00e7\n\"""#), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
