//! Retry delays: exponential with jitter, so a burst of failures does not retry in lockstep.

/// The delay before attempt `attempts + 1`, after `attempts` failures: `base · 2^(attempts−1)`,
/// capped at `cap`, then spread over ±25 %.
#[must_use]
pub fn backoff_ms(attempts: i32, base_ms: i64, cap_ms: i64) -> i64 {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let raw = base_ms.saturating_mul(1i64 << exp).min(cap_ms).max(1);
    let spread = raw / 4;
    if spread == 0 {
        return raw;
    }
    raw - spread + rand::random_range(0..=2 * spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        for _ in 0..100 {
            let d1 = backoff_ms(1, 1000, 60_000);
            assert!((750..=1250).contains(&d1), "{d1}");
            let d3 = backoff_ms(3, 1000, 60_000);
            assert!((3000..=5000).contains(&d3), "{d3}");
            let d20 = backoff_ms(20, 1000, 60_000);
            assert!((45_000..=75_000).contains(&d20), "{d20}");
        }
    }
}
