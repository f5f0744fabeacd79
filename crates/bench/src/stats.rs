//! Latency samples and their percentiles.

use std::time::Duration;

#[derive(Default)]
pub struct Samples(Vec<u64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn push_micros(&mut self, us: u64) {
        self.0.push(us);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile in milliseconds.
    pub fn ms(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * (self.0.len() - 1) as f64).round() as usize;
        self.0.get(rank.min(self.0.len() - 1)).copied().unwrap_or_default() as f64 / 1000.0
    }

    pub fn line(&mut self) -> String {
        format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ms(50.0),
            self.ms(95.0),
            self.ms(99.0),
            self.ms(100.0)
        )
    }
}
