//! Query plans SQLite must keep. Without statistics its planner chooses by row-count guesses,
//! and a statement that joins a `VALUES` list to a tenant's table can flip from looking each
//! row up to scanning the whole tenant (see `filter::SQLITE_JOIN_ROWS`). SQLite only: the
//! guesses are SQLite's; PostgreSQL plans from its own statistics.

use crate::Backend;
use crate::conversations::{touch_inbound_sql, touch_outbound_sql};
use crate::filter::SQLITE_JOIN_ROWS;
use crate::messages::{accepted_many_sql, apply_statuses_sql};
use crate::search::{search_key_sql, search_keys_sql};
use crate::test_support::TestDb;

async fn plan(db: &crate::Db, sql: &str) -> Vec<String> {
    let mut conn = db.read().await.unwrap();
    let crate::Ex::Sqlite(c) = conn.ex() else { unreachable!("SQLite only") };
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&mut *c).await.unwrap();
    rows.into_iter().map(|r| r.3).collect()
}

#[tokio::test]
async fn joins_with_a_values_list_look_rows_up_by_id() {
    let t = TestDb::sqlite().await.unwrap();
    let n = SQLITE_JOIN_ROWS;
    let by_id = " AND id=?)";
    for (table, sql, lookup) in [
        ("conversations", touch_inbound_sql(Backend::Sqlite, n), by_id),
        ("conversations", touch_outbound_sql(Backend::Sqlite, n), by_id),
        ("conversations", search_key_sql(n), by_id),
        ("conversations", search_keys_sql(n), by_id),
        ("messages", accepted_many_sql(Backend::Sqlite, n), by_id),
        ("messages", apply_statuses_sql(Backend::Sqlite, n, true), by_id),
        ("messages", apply_statuses_sql(Backend::Sqlite, n, false), " AND provider_message_id=?)"),
    ] {
        let steps = plan(&t.db, &sql).await;
        assert!(
            steps.iter().any(|s| s.starts_with(&format!("SEARCH {table} USING")) && s.contains(lookup)),
            "{table}: {steps:?}"
        );
    }
    t.cleanup().await;
}
