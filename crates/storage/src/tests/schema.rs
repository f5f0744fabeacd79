use crate::dual_test;
use std::collections::BTreeMap;

use crate::db::{Db, Ex};
use crate::test_support::TestDb;

/// table → (column → nullable), plus the set of explicitly created index names.
type Shape = (BTreeMap<String, BTreeMap<String, bool>>, Vec<String>);

async fn shape(db: &Db) -> Shape {
    let mut conn = db.read().await.unwrap();
    let mut tables = BTreeMap::new();
    let mut indexes: Vec<String>;
    match conn.ex() {
        Ex::Sqlite(c) => {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
                 AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE '%_fts_%'",
            )
            .fetch_all(&mut *c)
            .await
            .unwrap();
            for t in names {
                let cols: Vec<(String, i64)> = sqlx::query_as("SELECT name, \"notnull\" FROM pragma_table_info($1)")
                    .bind(&t)
                    .fetch_all(&mut *c)
                    .await
                    .unwrap();
                tables.insert(t, cols.into_iter().map(|(n, nn)| (n, nn == 0)).collect());
            }
            indexes = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                .fetch_all(&mut *c)
                .await
                .unwrap();
        }
        Ex::Pg(c) => {
            let cols: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, is_nullable::text
                 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(&mut *c)
            .await
            .unwrap();
            for (t, col, nullable) in cols {
                tables.entry(t).or_insert_with(BTreeMap::new).insert(col, nullable == "YES");
            }
            indexes = sqlx::query_scalar(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'
                 AND indexname NOT LIKE '%_pkey' AND tablename <> '_sqlx_migrations'",
            )
            .fetch_all(&mut *c)
            .await
            .unwrap();
        }
    }
    indexes.sort();
    (tables, indexes)
}

/// Both migration trees must produce the same tables, columns, nullability and indexes.
#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(pg) = TestDb::postgres().await.unwrap() else {
        return;
    };
    let lite = TestDb::sqlite().await.unwrap();
    let (mut lt, mut li) = shape(&lite.db).await;
    let (mut pt, mut pi) = shape(&pg.db).await;
    // The planned differences (migration 0009): PostgreSQL keeps search words in a GIN-indexed
    // column, SQLite in the FTS5 table `search_fts`, whose rowids carry a conversation key.
    assert_eq!(pt.get_mut("search_docs").and_then(|c| c.remove("tokens")), Some(false));
    pi.retain(|i| i != "search_docs_tokens");
    assert_eq!(lt.get_mut("conversations").and_then(|c| c.remove("search_key")), Some(true));
    li.retain(|i| i != "conversations_search_key");
    assert_eq!(lt.keys().collect::<Vec<_>>(), pt.keys().collect::<Vec<_>>(), "tables differ");
    for (table, cols) in &lt {
        assert_eq!(Some(cols), pt.get(table), "columns of {table} differ (name → nullable)");
    }
    assert_eq!(li, pi, "indexes differ");
    assert!(lt.contains_key("contacts") && li.contains(&"contacts_phone".to_owned()));
    lite.cleanup().await;
    pg.cleanup().await;
}

async fn migrations_are_current_and_idempotent(db: Db) {
    assert!(db.migrations_current().await.unwrap());
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
}
dual_test!(migrations_are_current_and_idempotent);

/// Several nodes booting at once against one PostgreSQL must not trip over each other.
#[tokio::test]
async fn concurrent_migrations_on_postgres() {
    let Some(t) = TestDb::postgres_empty().await.unwrap() else {
        return;
    };
    let mut handles = Vec::new();
    for _ in 0..4 {
        let url = t.url.clone();
        handles.push(tokio::spawn(async move {
            let db = Db::connect(&url, &crate::DbOptions::default()).await.unwrap();
            db.migrate().await.unwrap();
            db.migrations_current().await.unwrap()
        }));
    }
    for h in handles {
        assert!(h.await.unwrap());
    }
    t.cleanup().await;
}
