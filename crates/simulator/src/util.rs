//! Small shared helpers: clock, randomness, poisoned-lock recovery.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

/// Locks, ignoring poisoning: a panicked handler must not take the whole fake down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

pub(crate) fn now_secs() -> i64 {
    now_ms() / 1_000
}

/// True with probability `p`; NaN and values ≤ 0 never, ≥ 1 always.
pub(crate) fn chance(p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rand::random::<f64>() < p)
}

/// A wamid shaped like Meta's: `wamid.` + base64.
pub(crate) fn wamid() -> String {
    let mut bytes = [0u8; 27];
    rand::fill(&mut bytes);
    format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A numeric Graph object id with a recognisable prefix.
pub(crate) fn numeric_id(prefix: &str) -> String {
    format!("{prefix}{:013}", rand::random_range(0..10_000_000_000_000_u64))
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Digits of a phone number as Meta normalises `to`: `+`, spaces, `-`, `(`, `)` removed.
pub(crate) fn digits_of(to: &str) -> Option<String> {
    let digits: String = to.chars().filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')')).collect();
    let ok = (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(digits)
}
