//! A small builder for queries whose WHERE clause depends on which filters are given (the
//! inbox). Only static SQL fragments are appended; values always travel as bind parameters,
//! numbered `$n` so one text runs on both engines.

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum Param {
    Uuid(Uuid),
    Text(String),
    Int(i64),
    Blind(BlindIndex),
}

#[derive(Debug, Default)]
pub struct Where {
    clauses: Vec<String>,
    pub params: Vec<Param>,
}

impl Where {
    /// Adds `fragment`, in which `?` stands for the next parameter.
    pub fn and(&mut self, fragment: &'static str, values: impl IntoIterator<Item = Param>) {
        let mut text = String::with_capacity(fragment.len() + 8);
        let mut values = values.into_iter();
        for ch in fragment.chars() {
            if ch == '?' {
                if let Some(v) = values.next() {
                    self.params.push(v);
                }
                text.push_str(&format!("${}", self.params.len()));
            } else {
                text.push(ch);
            }
        }
        self.clauses.push(text);
    }

    #[must_use]
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() { "TRUE".into() } else { self.clauses.join(" AND ") }
    }

    /// The placeholder for a parameter appended after the filters (e.g. LIMIT).
    pub fn push(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// Binds every parameter of `$w` onto the query `$q` (inside an `on!` arm).
macro_rules! bind_all {
    ($q:expr, $w:expr) => {{
        let mut q = $q;
        for p in &$w.params {
            q = match p {
                $crate::filter::Param::Uuid(u) => q.bind(*u),
                $crate::filter::Param::Text(t) => q.bind(t.clone()),
                $crate::filter::Param::Int(i) => q.bind(*i),
                $crate::filter::Param::Blind(b) => q.bind(*b),
            };
        }
        q
    }};
}

/// Placeholders for a multi-row statement: `rows` groups of `cols` parameters, numbered from
/// `$start` — `($2, $3), ($4, $5)` for (2, 2, 2).
#[must_use]
pub fn values_list(rows: usize, cols: usize, start: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", start + r * cols + c));
        }
        out.push(')');
    }
    out
}

/// Rows per multi-row statement: far below SQLite's 32,766 and PostgreSQL's 65,535 bound
/// parameters for the widest table.
pub const MAX_ROWS_PER_STATEMENT: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_rows_after_the_leading_parameters() {
        assert_eq!(values_list(2, 2, 2), "($2, $3), ($4, $5)");
        assert_eq!(values_list(3, 1, 1), "($1), ($2), ($3)");
    }

    #[test]
    fn numbers_placeholders_in_order() {
        let mut w = Where::default();
        w.and("tenant_id = ?", [Param::Int(1)]);
        w.and("(a = ? OR b = ?)", [Param::Int(2), Param::Int(3)]);
        let limit = w.push(Param::Int(50));
        assert_eq!(w.sql(), "tenant_id = $1 AND (a = $2 OR b = $3)");
        assert_eq!(limit, "$4");
    }
}
