//! How many rows a purge deletes per transaction. At most [`MAX_ROWS`] (short transactions, no
//! long locks). On SQLite every other write, webhooks included, waits while a batch holds the
//! single writer, so there a batch is sized to hold it about [`TARGET`]: fewer rows when they
//! are expensive (a message with its search document, reactions and media costs ~20 µs on our
//! machines, a finished request row a tenth of that) or the machine is busy. PostgreSQL's
//! writers do not wait for each other, so batches stay at [`MAX_ROWS`] there.

use std::time::Duration;

use switchboard_storage::Backend;

/// Rows per transaction, at most (Mattermost's figure).
pub const MAX_ROWS: i64 = 1000;
/// Fewest rows per transaction: below this the commit, not the rows, is the cost.
const MIN_ROWS: i64 = 50;
/// How long one batch should hold the writer. A webhook arriving meanwhile waits up to this,
/// plus its own commit: well inside the 50 ms acknowledgement target.
pub const TARGET: Duration = Duration::from_millis(12);

/// The next batch's size, learnt from the previous batches of the same purge.
#[derive(Debug, Clone, Copy)]
pub struct BatchSize {
    rows: i64,
    adaptive: bool,
}

impl BatchSize {
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        Self { rows: MAX_ROWS, adaptive: backend == Backend::Sqlite }
    }

    #[must_use]
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// Records that a batch of [`Self::rows`] rows held the writer for `took`. The next size
    /// aims at [`TARGET`], moving at most by half or double so one slow commit (a checkpoint,
    /// a busy disk) does not collapse it.
    pub fn observe(&mut self, took: Duration) {
        if !self.adaptive {
            return;
        }
        let took = took.as_secs_f64().max(1e-6);
        let factor = (TARGET.as_secs_f64() / took).clamp(0.5, 2.0);
        // Rows are at most MAX_ROWS, so the float conversion is exact.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let next = (self.rows as f64 * factor).round() as i64;
        self.rows = next.clamp(MIN_ROWS, MAX_ROWS);
    }
}

/// What is left of a purge's budget, in rows (a budget of N batches allows N × [`MAX_ROWS`]
/// rows, however the batches are sized).
#[derive(Debug, Clone, Copy)]
pub struct RowBudget(Option<u64>);

impl RowBudget {
    /// `None`: no limit.
    #[must_use]
    pub fn of_batches(max_batches: Option<u64>) -> Self {
        Self(max_batches.map(|b| b.saturating_mul(MAX_ROWS.unsigned_abs())))
    }

    #[must_use]
    pub fn spent(&self) -> bool {
        self.0 == Some(0)
    }

    /// The next batch's limit: the size, unless less budget is left.
    #[must_use]
    pub fn limit(&self, size: &BatchSize) -> i64 {
        match self.0 {
            Some(left) => size.rows().min(i64::try_from(left).unwrap_or(i64::MAX)),
            None => size.rows(),
        }
    }

    pub fn spend(&mut self, rows: u64) {
        self.0 = self.0.map(|left| left.saturating_sub(rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite() -> BatchSize {
        BatchSize::new(Backend::Sqlite)
    }

    #[test]
    fn starts_at_the_maximum_and_stays_there_while_batches_are_quick() {
        let mut b = sqlite();
        assert_eq!(b.rows(), MAX_ROWS);
        b.observe(Duration::from_millis(2));
        assert_eq!(b.rows(), MAX_ROWS);
    }

    #[test]
    fn shrinks_towards_the_target_at_most_by_half_per_batch() {
        let mut b = sqlite();
        b.observe(TARGET * 10);
        assert_eq!(b.rows(), MAX_ROWS / 2);
        b.observe(TARGET * 2);
        assert_eq!(b.rows(), MAX_ROWS / 4);
        b.observe(TARGET * 5 / 4);
        assert_eq!(b.rows(), 200);
        for _ in 0..20 {
            b.observe(Duration::from_secs(1));
        }
        assert_eq!(b.rows(), MIN_ROWS);
    }

    #[test]
    fn grows_back_when_batches_get_cheaper() {
        let mut b = sqlite();
        b.observe(TARGET * 4);
        b.observe(TARGET * 4);
        assert_eq!(b.rows(), 250);
        b.observe(TARGET / 2);
        assert_eq!(b.rows(), 500);
        b.observe(TARGET / 4);
        assert_eq!(b.rows(), MAX_ROWS);
    }

    #[test]
    fn postgresql_batches_stay_whole() {
        let mut b = BatchSize::new(Backend::Postgres);
        b.observe(TARGET * 10);
        assert_eq!(b.rows(), MAX_ROWS);
    }

    #[test]
    fn a_budget_of_batches_is_counted_in_rows() {
        let mut b = sqlite();
        b.observe(TARGET * 2);
        let mut budget = RowBudget::of_batches(Some(1));
        assert_eq!(budget.limit(&b), 500);
        budget.spend(500);
        assert!(!budget.spent());
        b.observe(TARGET / 4);
        assert_eq!(budget.limit(&b), 500, "capped by what is left");
        budget.spend(500);
        assert!(budget.spent());
        let unlimited = RowBudget::of_batches(None);
        assert_eq!(unlimited.limit(&b), MAX_ROWS);
        assert!(!unlimited.spent());
    }
}
