//! A fresh database per test, on SQLite always and on PostgreSQL when
//! `SWITCHBOARD_TEST_DATABASE_URL` names a server. With `SWITCHBOARD_REQUIRE_PG=1` (CI) a
//! missing or unreachable PostgreSQL fails the test instead of skipping it.

use sqlx::Connection;

use crate::{Db, DbOptions};

pub const PG_URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";
pub const REQUIRE_PG_VAR: &str = "SWITCHBOARD_REQUIRE_PG";

pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

#[must_use]
pub fn require_pg() -> bool {
    std::env::var(REQUIRE_PG_VAR).is_ok_and(|v| v == "1" || v == "true")
}

/// The PostgreSQL admin URL for tests, or `None` after printing why PostgreSQL is skipped.
///
/// # Panics
/// When PostgreSQL is required (CI) but not configured.
#[allow(clippy::panic)]
#[must_use]
pub fn pg_admin_url() -> Option<String> {
    match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if require_pg() => {
            panic!("{REQUIRE_PG_VAR}=1 but {PG_URL_VAR} is not set: PostgreSQL tests cannot be skipped")
        }
        _ => {
            eprintln!("SKIPPED on PostgreSQL: set {PG_URL_VAR}=postgres://… to run this test there too");
            None
        }
    }
}

/// `url` with its database name replaced.
#[must_use]
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| scheme_end + i);
    let host = path_start.map_or(base, |i| &base[..i]);
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

impl TestDb {
    pub async fn sqlite() -> anyhow::Result<Self> {
        Self::sqlite_with(&DbOptions { max_connections: 4, ..DbOptions::default() }).await
    }

    /// A migrated SQLite database in a fresh temporary directory.
    pub async fn sqlite_with(options: &DbOptions) -> anyhow::Result<Self> {
        let t = Self::sqlite_empty_with(options).await?;
        t.db.migrate().await?;
        Ok(t)
    }

    /// An empty SQLite database (not migrated), for tests of the migration itself.
    pub async fn sqlite_empty() -> anyhow::Result<Self> {
        Self::sqlite_empty_with(&DbOptions { max_connections: 4, ..DbOptions::default() }).await
    }

    async fn sqlite_empty_with(options: &DbOptions) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let db = Db::connect(&url, options).await?;
        Ok(Self { db, url, _dir: Some(dir), pg: None })
    }

    /// A freshly created, migrated database on the PostgreSQL server of `admin_url`.
    pub async fn postgres_at(admin_url: String, options: &DbOptions) -> anyhow::Result<Self> {
        let t = Self::create_pg(admin_url, options).await?;
        t.db.migrate().await?;
        Ok(t)
    }

    /// A freshly created, migrated PostgreSQL database, or `None` when PostgreSQL is skipped.
    pub async fn postgres() -> anyhow::Result<Option<Self>> {
        let Some(admin_url) = pg_admin_url() else {
            return Ok(None);
        };
        Ok(Some(Self::postgres_at(admin_url, &Self::PG_OPTIONS).await?))
    }

    /// An empty PostgreSQL database (not migrated), for tests of the migration itself.
    pub async fn postgres_empty() -> anyhow::Result<Option<Self>> {
        match pg_admin_url() {
            Some(url) => Ok(Some(Self::create_pg(url, &Self::PG_OPTIONS).await?)),
            None => Ok(None),
        }
    }

    const PG_OPTIONS: DbOptions = DbOptions {
        max_connections: 8,
        sqlite_synchronous_full: true,
        acquire_timeout: std::time::Duration::from_secs(10),
    };

    async fn create_pg(admin_url: String, options: &DbOptions) -> anyhow::Result<Self> {
        let name = format!("sbt_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        admin.close().await?;
        let url = with_database(&admin_url, &name);
        let db = Db::connect(&url, options).await?;
        Ok(Self { db, url, _dir: None, pg: Some(PgDatabase { admin_url, name }) })
    }

    /// Closes the pools and drops a PostgreSQL test database. Skipped when a test fails
    /// (the database is then left behind for inspection; `.ci/run` removes leftovers).
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(pg) = self.pg
            && let Ok(mut admin) = sqlx::PgConnection::connect(&pg.admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name)))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Declares one test per backend for an `async fn(Db)` scenario:
/// `dual_test!(contacts_round_trip);` makes `contacts_round_trip::sqlite` and
/// `contacts_round_trip::postgres`.
#[macro_export]
macro_rules! dual_test {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::test_support::TestDb::sqlite().await.expect("sqlite test db");
                super::$scenario(t.db.clone()).await;
                t.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::test_support::TestDb::postgres().await.expect("postgres test db") else {
                    return;
                };
                super::$scenario(t.db.clone()).await;
                t.cleanup().await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_database_name() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
