//! A small builder for queries whose WHERE clause depends on which filters are given (the
//! inbox). Only static SQL fragments are appended; values always travel as bind parameters,
//! numbered `$n` so one text runs on both engines.

use switchboard_privacy::BlindIndex;
use uuid::Uuid;

use crate::db::Backend;

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

/// Placeholders for an `IN (…)` list of `n` values numbered from `$start`: `$3, $4, $5`. A
/// plain list (not `VALUES`) keeps both engines on their primary-key lookup per value.
#[must_use]
pub fn id_list(n: usize, start: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Rows per multi-row statement: far below SQLite's 32,766 and PostgreSQL's 65,535 bound
/// parameters for the widest table.
pub const MAX_ROWS_PER_STATEMENT: usize = 500;

/// Splits `rows` for multi-row statements ([`values_list`]) on this engine.
///
/// On SQLite the chunks are powers of two (at most 256 rows), so a statement comes in eight
/// texts and sqlx's prepared-statement cache keeps them all; with one text per batch size the
/// ingest writer re-parsed its inserts for every batch (7 % of its time). PostgreSQL, where
/// every statement is a round trip, gets as few chunks as possible.
pub fn bulk_chunks<T>(backend: Backend, rows: &[T]) -> impl Iterator<Item = &[T]> {
    chunks(backend, rows, MAX_ROWS_PER_STATEMENT)
}

/// Rows per `UPDATE … FROM (VALUES …)` statement on SQLite. Without statistics SQLite's
/// planner takes one tenant's rows for a handful; past some 40 rows in the list it scans the
/// tenant's whole table and probes the list instead of looking each row up (64 touches in a
/// tenant of 20k conversations took 11 ms). At 16 it looks rows up (a test checks the plan).
pub const SQLITE_JOIN_ROWS: usize = 16;

/// [`bulk_chunks`] for statements that join a `VALUES` list to a table: see
/// [`SQLITE_JOIN_ROWS`].
pub fn join_chunks<T>(backend: Backend, rows: &[T]) -> impl Iterator<Item = &[T]> {
    chunks(backend, rows, SQLITE_JOIN_ROWS)
}

fn chunks<T>(backend: Backend, rows: &[T], sqlite_max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = match backend {
            Backend::Sqlite => {
                let cap = rest.len().min(sqlite_max);
                1 << cap.ilog2()
            }
            Backend::Postgres => rest.len().min(MAX_ROWS_PER_STATEMENT),
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// The text of a multi-row statement for this engine: on SQLite, `$1, $2, …` (numbered in
/// order of appearance, each once) become anonymous `?`.
///
/// sqlx binds every SQLite parameter by first asking for its name, and SQLite finds the name of
/// a `$n` by walking the statement's list of named parameters: quadratic in the parameter
/// count, 15 % of the ingest writer's time for a 64-row message insert. Anonymous parameters
/// have no name, so binding them is linear. A text that does not number its parameters in
/// order is returned unchanged (correct, only slower).
#[must_use]
pub fn bulk_sql(backend: Backend, sql: String) -> String {
    if backend == Backend::Postgres {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut chars = sql.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch != '$' {
            out.push(ch);
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = chars.peek() {
            if !d.is_ascii_digit() {
                break;
            }
            end = j + 1;
            chars.next();
        }
        match sql[start..end].parse::<usize>() {
            Ok(n) if n == expected => {
                out.push('?');
                expected += 1;
            }
            Ok(_) => return sql,
            Err(_) => out.push_str(&sql[i..end]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_rows_after_the_leading_parameters() {
        assert_eq!(values_list(2, 2, 2), "($2, $3), ($4, $5)");
        assert_eq!(values_list(3, 1, 1), "($1), ($2), ($3)");
    }

    #[test]
    fn sqlite_chunks_are_powers_of_two_and_cover_every_row() {
        let rows: Vec<usize> = (0..1000).collect();
        for n in [0, 1, 2, 3, 37, 255, 256, 257, 1000] {
            let chunks: Vec<&[usize]> = bulk_chunks(Backend::Sqlite, &rows[..n]).collect();
            assert!(chunks.iter().all(|c| c.len().is_power_of_two() && c.len() <= 256), "{n}");
            assert_eq!(chunks.concat(), rows[..n].to_vec());
            let pg: Vec<&[usize]> = bulk_chunks(Backend::Postgres, &rows[..n]).collect();
            assert_eq!(pg.len(), n.div_ceil(MAX_ROWS_PER_STATEMENT));
        }
    }

    #[test]
    fn sqlite_gets_anonymous_parameters_only_when_they_are_in_order() {
        let sql = format!("INSERT INTO t SELECT $1, v.* FROM (VALUES {}) AS v", values_list(2, 2, 2));
        assert_eq!(
            bulk_sql(Backend::Sqlite, sql.clone()),
            "INSERT INTO t SELECT ?, v.* FROM (VALUES (?, ?), (?, ?)) AS v"
        );
        assert_eq!(bulk_sql(Backend::Postgres, sql.clone()), sql);
        let reused = "SELECT $1 WHERE a = $2 OR b = $2".to_owned();
        assert_eq!(bulk_sql(Backend::Sqlite, reused.clone()), reused);
        assert_eq!(bulk_sql(Backend::Sqlite, "SELECT '$' || $1".into()), "SELECT '$' || ?");
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
