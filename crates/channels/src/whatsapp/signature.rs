//! `X-Hub-Signature-256`: the HMAC-SHA256 that Meta puts on every webhook POST (PROTOCOLS §1.3).
//!
//! The MAC is computed over the raw request bytes with the app secret as key. Parsing is
//! deliberately strict: exactly `sha256=` followed by 64 **lowercase** hex digits, nothing
//! before, after or in between. Meta documents and sends lowercase; a header in any other shape
//! did not come from Meta unmodified, so it is refused rather than normalised. The comparison
//! itself is constant-time (`Mac::verify_slice`).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header name, lowercase as `http::HeaderMap` stores it.
pub const HEADER: &str = "x-hub-signature-256";

const PREFIX: &str = "sha256=";
const HEX_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("X-Hub-Signature-256 carries more than one signature")]
    Multiple,
    #[error("X-Hub-Signature-256 does not start with `sha256=`")]
    BadPrefix,
    #[error("X-Hub-Signature-256 must be 64 hex digits")]
    BadLength,
    #[error("X-Hub-Signature-256 must be lowercase hex")]
    NotLowercaseHex,
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Checks `header` (the value of `X-Hub-Signature-256`) against `body`, the exact bytes received.
pub fn verify(app_secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.contains(',') {
        return Err(SignatureError::Multiple);
    }
    let hex_digits = header.strip_prefix(PREFIX).ok_or(SignatureError::BadPrefix)?;
    if hex_digits.len() != HEX_LEN {
        return Err(SignatureError::BadLength);
    }
    let tag = decode_lower_hex(hex_digits.as_bytes()).ok_or(SignatureError::NotLowercaseHex)?;
    mac(app_secret, body).verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
}

/// The full header value (`sha256=<hex>`) for `body`, as Meta would send it.
#[must_use]
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("{PREFIX}{}", hex::encode(mac(app_secret, body).finalize().into_bytes()))
}

fn mac(app_secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; the fallback key only
    // exists to avoid a panic path and would make every comparison fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(body);
    mac
}

fn decode_lower_hex(digits: &[u8]) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *byte = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-app-secret";

    #[test]
    fn round_trip() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(SECRET, body);
        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), 7 + 64);
        assert_eq!(verify(SECRET, Some(&header), body), Ok(()));
    }

    #[test]
    fn known_answer() {
        // RFC 4231 test case 2.
        let header = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(header, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn escaped_unicode_body_is_signed_as_received() {
        // Meta escapes non-ASCII; the signature covers the escaped bytes, so a re-encoded body
        // with the literal character must not verify.
        let escaped = br#"{"text":{"body":"Fran\u00e7ois"}}"#;
        let literal = "{\"text\":{\"body\":\"Fran\u{e7}ois\"}}".as_bytes();
        let header = sign(SECRET, escaped);
        assert_eq!(verify(SECRET, Some(&header), escaped), Ok(()));
        assert_eq!(verify(SECRET, Some(&header), literal), Err(SignatureError::Mismatch));
    }

    #[test]
    fn bad_headers_are_refused() {
        let body = b"{}";
        let good = sign(SECRET, body);
        let digits = &good[7..];
        let cases: Vec<(Option<String>, SignatureError)> = vec![
            (None, SignatureError::Missing),
            (Some(String::new()), SignatureError::BadPrefix),
            (Some(digits.to_owned()), SignatureError::BadPrefix),
            (Some(format!("sha1={digits}")), SignatureError::BadPrefix),
            (Some(format!("SHA256={digits}")), SignatureError::BadPrefix),
            (Some(format!(" {good}")), SignatureError::BadPrefix),
            (Some(format!("sha256= {digits}")), SignatureError::BadLength),
            (Some(format!("{good} ")), SignatureError::BadLength),
            (Some(format!("sha256={}", &digits[..63])), SignatureError::BadLength),
            (Some(format!("{good}0")), SignatureError::BadLength),
            (Some(format!("sha256={}", digits.to_uppercase())), SignatureError::NotLowercaseHex),
            (Some(format!("sha256={}zz", &digits[..62])), SignatureError::NotLowercaseHex),
            (Some(format!("{good},{good}")), SignatureError::Multiple),
            (Some(format!("{good}, {good}")), SignatureError::Multiple),
            (Some(sign(b"other-secret", body)), SignatureError::Mismatch),
            (Some(sign(SECRET, b"{ }")), SignatureError::Mismatch),
        ];
        for (header, want) in cases {
            assert_eq!(verify(SECRET, header.as_deref(), body), Err(want), "header {header:?}");
        }
    }
}
