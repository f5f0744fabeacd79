//! Deserialisers for fields Meta sends as either a JSON string or a JSON number
//! (`timestamp`, `message_template_id`, tier limits, …). Errors never quote the offending value:
//! these fields sit next to phone numbers and message text, and error strings end up in logs.

use serde::de::{self, Deserialize, Deserializer};
use serde_json::Number;

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StrOrNum {
    Str(String),
    Num(Number),
}

impl StrOrNum {
    fn into_string(self) -> String {
        match self {
            Self::Str(s) => s,
            Self::Num(n) => n.to_string(),
        }
    }

    fn to_i64<E: de::Error>(&self) -> Result<i64, E> {
        let parsed = match self {
            Self::Str(s) => s.trim().parse().ok(),
            Self::Num(n) => n.as_i64(),
        };
        parsed.ok_or_else(|| E::custom("expected an integer or a string of digits"))
    }

    fn to_f64<E: de::Error>(&self) -> Result<f64, E> {
        let parsed = match self {
            Self::Str(s) => s.trim().parse().ok(),
            Self::Num(n) => n.as_f64(),
        };
        parsed.ok_or_else(|| E::custom("expected a number or a numeric string"))
    }
}

fn wrong_type<E: de::Error>() -> E {
    E::custom("expected a string or a number")
}

pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    StrOrNum::deserialize(d).map(StrOrNum::into_string).map_err(|_| wrong_type())
}

pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<StrOrNum>::deserialize(d).map(|v| v.map(StrOrNum::into_string)).map_err(|_| wrong_type())
}

pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    StrOrNum::deserialize(d).map_err(|_| wrong_type::<D::Error>())?.to_i64()
}

pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<StrOrNum>::deserialize(d).map_err(|_| wrong_type::<D::Error>())?.map(|v| v.to_i64()).transpose()
}

pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    StrOrNum::deserialize(d).map_err(|_| wrong_type::<D::Error>())?.to_f64()
}

pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<StrOrNum>::deserialize(d).map_err(|_| wrong_type::<D::Error>())?.map(|v| v.to_f64()).transpose()
}
