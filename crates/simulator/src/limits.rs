//! The per-number throughput limit (130429), the per-recipient pair rate (131056) and the
//! 24-hour customer-service windows (131047). All O(1) per send.

use std::collections::HashMap;
use std::time::Instant;

use crate::config::PairRate;

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

pub(crate) struct Limits {
    bucket: Bucket,
    pairs: HashMap<String, PairWindow>,
    /// wa_id → time of the customer's last inbound message (ms).
    windows: HashMap<String, i64>,
}

/// A token bucket holding up to one second of sends, so short bursts at the configured rate
/// pass and sustained excess does not.
struct Bucket {
    tokens: f64,
    last: Instant,
}

struct PairWindow {
    started: Instant,
    count: u32,
}

impl Limits {
    pub(crate) fn new() -> Self {
        Self {
            bucket: Bucket { tokens: f64::MAX, last: Instant::now() },
            pairs: HashMap::new(),
            windows: HashMap::new(),
        }
    }

    /// Takes one send from the phone number's budget; `rate` 0 means unlimited.
    pub(crate) fn take_throughput(&mut self, rate: u32, now: Instant) -> bool {
        if rate == 0 {
            return true;
        }
        let rate = f64::from(rate);
        let elapsed = now.saturating_duration_since(self.bucket.last).as_secs_f64();
        self.bucket.tokens = (self.bucket.tokens.min(rate) + elapsed * rate).min(rate);
        self.bucket.last = now;
        if self.bucket.tokens >= 1.0 {
            self.bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one message from the recipient's pair budget.
    pub(crate) fn take_pair(&mut self, wa_id: &str, rate: PairRate, now: Instant) -> bool {
        if rate.burst == 0 {
            return true;
        }
        let window = self.pairs.entry(wa_id.to_owned()).or_insert(PairWindow { started: now, count: 0 });
        if now.saturating_duration_since(window.started).as_millis() >= u128::from(rate.window_ms) {
            window.started = now;
            window.count = 0;
        }
        if window.count < rate.burst {
            window.count += 1;
            true
        } else {
            false
        }
    }

    /// An inbound message at `at_ms` opens or refreshes the window (never moves it back).
    pub(crate) fn open_window(&mut self, wa_id: &str, at_ms: i64) {
        let last = self.windows.entry(wa_id.to_owned()).or_insert(at_ms);
        *last = (*last).max(at_ms);
    }

    pub(crate) fn window_open(&self, wa_id: &str, now_ms: i64) -> bool {
        self.windows.get(wa_id).is_some_and(|&last| now_ms < last.saturating_add(DAY_MS))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn throughput_allows_one_second_of_burst_then_refills() {
        let mut l = Limits::new();
        let t0 = Instant::now();
        assert!((0..10).all(|_| l.take_throughput(10, t0)));
        assert!(!l.take_throughput(10, t0));
        assert!(l.take_throughput(10, t0 + Duration::from_millis(110)));
        assert!((0..1000).all(|_| l.take_throughput(0, t0)));
    }

    #[test]
    fn pair_rate_is_per_recipient() {
        let mut l = Limits::new();
        let rate = PairRate { burst: 2, window_ms: 1_000 };
        let t0 = Instant::now();
        assert!(l.take_pair("a", rate, t0));
        assert!(l.take_pair("a", rate, t0));
        assert!(!l.take_pair("a", rate, t0));
        assert!(l.take_pair("b", rate, t0));
        assert!(l.take_pair("a", rate, t0 + Duration::from_millis(1_000)));
    }

    #[test]
    fn window_lasts_24_hours() {
        let mut l = Limits::new();
        assert!(!l.window_open("a", 0));
        l.open_window("a", 1_000);
        l.open_window("a", 500);
        assert!(l.window_open("a", 1_000 + DAY_MS - 1));
        assert!(!l.window_open("a", 1_000 + DAY_MS));
    }
}
