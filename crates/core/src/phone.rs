//! Phone numbers. Customers type numbers in every shape (`+90 (532) 111-22-33`, `0532 111 22 33`,
//! Arabic-Indic or full-width digits); all of them become one canonical E.164 string so that
//! one person never becomes two contacts and two people never merge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// A validated phone number in E.164 form, e.g. `+905321112233`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses `input`, reading numbers without a `+` country prefix as numbers of
    /// `default_region` (an ISO 3166 alpha-2 code such as `TR`).
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, Invalid> {
        let ascii = ascii_digits(input.trim());
        if ascii.is_empty() || ascii.len() > 64 {
            return Err(invalid_phone());
        }
        let region = default_region.and_then(|r| phonenumber::country::Id::from_str(&r.to_ascii_uppercase()).ok());
        // A number written as 00<country code>… is international too.
        let normalised = match ascii.strip_prefix("00") {
            Some(rest) if region.is_none() || !ascii.starts_with('+') => format!("+{rest}"),
            _ => ascii,
        };
        let number = phonenumber::parse(region, &normalised).map_err(|_| invalid_phone())?;
        if !phonenumber::is_valid(&number) {
            return Err(invalid_phone());
        }
        let formatted = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self(formatted))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+`: the form WhatsApp uses for `wa_id`.
    #[must_use]
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }

    /// A form safe to show to users without the "view phone numbers" permission:
    /// country code and the last two digits, e.g. `+90*********33`.
    #[must_use]
    pub fn masked(&self) -> String {
        mask_digits(&self.0)
    }
}

/// Masks every digit except a short prefix and the last two.
#[must_use]
pub fn mask_digits(s: &str) -> String {
    let total = s.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= 2 || seen > total.saturating_sub(2) { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

fn invalid_phone() -> Invalid {
    Invalid::new("phone", "invalid_phone", "not a valid phone number; use international format such as +905321112233")
}

/// Maps Arabic-Indic, extended Arabic-Indic and full-width digits (and the full-width plus) to
/// ASCII, so the parser sees one alphabet.
fn ascii_digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            '\u{FF0B}' => '+',
            other => other,
        })
        .collect()
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deliberately hides the number: `Debug` output ends up in logs.
impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("E164(<redacted>)")
    }
}

impl TryFrom<String> for E164 {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s, None)
    }
}

impl From<E164> for String {
    fn from(p: E164) -> Self {
        p.0
    }
}

/// A WhatsApp user id (`wa_id`): digits only. Usually the phone number without `+`, but Meta
/// says the two may differ, so it is its own type and its own blind index.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WaId(String);

impl WaId {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim().trim_start_matches('+');
        if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new("wa_id", "invalid_wa_id", "wa_id must be digits"));
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The phone number this id most likely is, when it parses as one.
    #[must_use]
    pub fn to_e164(&self) -> Option<E164> {
        E164::parse(&format!("+{}", self.0), None).ok()
    }
}

impl fmt::Debug for WaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaId(<redacted>)")
    }
}

impl TryFrom<String> for WaId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<WaId> for String {
    fn from(w: WaId) -> Self {
        w.0
    }
}

/// Whether `region` is an ISO 3166 alpha-2 code the phone-number data knows (`TR`, `DE`, …).
#[must_use]
pub fn is_known_region(region: &str) -> bool {
    region.len() == 2
        && region.bytes().all(|b| b.is_ascii_uppercase())
        && phonenumber::country::Id::from_str(region).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_spellings_of_one_number_are_one_e164() -> Result<(), Invalid> {
        let want = "+905321112233";
        for input in [
            "+905321112233",
            "+90 (532) 111-22-33",
            " +90 532 111 22 33 ",
            "00905321112233",
            "0532 111 22 33",
            "5321112233",
            "+٩٠٥٣٢١١١٢٢٣٣",
            "＋９０５３２１１１２２３３",
        ] {
            assert_eq!(E164::parse(input, Some("TR"))?.as_str(), want, "input {input:?}");
        }
        Ok(())
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for input in ["", "abc", "+1", "12", "+90 532", "+999123456789", &"9".repeat(80)] {
            let err = E164::parse(input, Some("TR")).err();
            assert_eq!(err.map(|e| e.code), Some("invalid_phone"), "input {input:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_number() -> Result<(), Invalid> {
        let p = E164::parse("+905321112233", None)?;
        assert!(!format!("{p:?}").contains("5321112233"));
        assert_eq!(p.masked(), "+90********33");
        Ok(())
    }

    #[test]
    fn wa_id_is_digits() {
        assert!(WaId::parse("905321112233").is_ok());
        assert!(WaId::parse("90532x").is_err());
        assert_eq!(
            WaId::parse("905321112233").ok().and_then(|w| w.to_e164()).map(String::from),
            Some("+905321112233".to_owned())
        );
    }
}
