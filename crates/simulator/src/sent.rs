//! Everything the business sent through the simulator, kept compactly (the request body as a
//! string, not a parsed tree) so a 100,000-message benchmark fits in memory, plus counters.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::Serialize;
use serde_json::{Value, json};

/// Totals since start (not reset by `?clear=true`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Sends answered with a wamid.
    pub accepted: u64,
    /// Sends refused synchronously, by Meta error code.
    pub rejected: BTreeMap<i64, u64>,
    /// Accepted sends whose `biz_opaque_callback_data` had been accepted before.
    pub duplicates: u64,
    /// Accepted sends whose answer was deliberately dropped (`drop_response_rate`).
    pub dropped_responses: u64,
    /// Accepted sends that ended in a `failed` status webhook, by error code.
    pub failed: BTreeMap<i64, u64>,
    pub marked_read: u64,
    /// Inbound messages created through the control API.
    pub inbound: u64,
}

pub(crate) struct SentRecord {
    pub wamid: String,
    pub to: String,
    pub kind: &'static str,
    pub body: Box<str>,
    pub at_ms: i64,
}

pub(crate) struct SentLog {
    /// Sequence number of `records[0]`.
    base: u64,
    records: VecDeque<SentRecord>,
    callback_data_seen: HashSet<String>,
    pub counters: Counters,
}

impl SentLog {
    pub(crate) fn new() -> Self {
        Self { base: 0, records: VecDeque::new(), callback_data_seen: HashSet::new(), counters: Counters::default() }
    }

    pub(crate) fn record(&mut self, record: SentRecord, callback_data: Option<&str>) {
        self.counters.accepted += 1;
        if let Some(data) = callback_data
            && !self.callback_data_seen.insert(data.to_owned())
        {
            self.counters.duplicates += 1;
        }
        self.records.push_back(record);
    }

    pub(crate) fn reject(&mut self, code: i64) {
        *self.counters.rejected.entry(code).or_default() += 1;
    }

    pub(crate) fn failed(&mut self, code: i64) {
        *self.counters.failed.entry(code).or_default() += 1;
    }

    /// Records with sequence ≥ `since`, at most `limit`, as JSON; then drops everything listed
    /// so far when `clear` is set.
    pub(crate) fn list(&mut self, since: u64, limit: usize, clear: bool) -> Value {
        let start = usize::try_from(since.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let items: Vec<Value> = self
            .records
            .iter()
            .enumerate()
            .skip(start)
            .take(limit)
            .map(|(i, r)| {
                json!({
                    "seq": self.base + i as u64,
                    "wamid": r.wamid,
                    "to": r.to,
                    "type": r.kind,
                    "body": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
                    "at_ms": r.at_ms,
                })
            })
            .collect();
        let next = self.base + (start.min(self.records.len()) + items.len()) as u64;
        if clear {
            let drop = usize::try_from(next - self.base).unwrap_or(usize::MAX);
            self.records.drain(..drop.min(self.records.len()));
            self.base = next;
        }
        json!({ "counters": self.counters, "messages": items, "next_since": next })
    }
}
