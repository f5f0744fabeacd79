//! Connection pools, transactions and the tenant-scoped handle.
//!
//! SQLite runs in WAL mode with one writer connection (write transactions open with
//! `BEGIN IMMEDIATE`, so a reader never has to upgrade its lock and hit `SQLITE_BUSY`) and a
//! pool of read-only readers. PostgreSQL uses one pool for both.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use switchboard_core::TenantId;

use crate::{Result, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static PG_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct DbOptions {
    /// PostgreSQL pool size, or the number of SQLite readers. Keep nodes × pool below the
    /// server's `max_connections`.
    pub max_connections: u32,
    /// `synchronous=FULL` (the default) makes every SQLite commit durable on power loss, which
    /// "acknowledge only after a durable commit" needs. `NORMAL` is durable against process
    /// crashes only.
    pub sqlite_synchronous_full: bool,
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { max_connections: 16, sqlite_synchronous_full: true, acquire_timeout: Duration::from_secs(10) }
    }
}

/// A handle on the database. Cheap to clone; clones share the pools.
#[derive(Clone)]
pub struct Db(Arc<Pools>);

enum Pools {
    Sqlite { write: SqlitePool, read: SqlitePool },
    Pg(PgPool),
}

impl Db {
    /// Connects to `sqlite:PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, opts).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_pg(url, opts).await
        } else {
            Err(StoreError::Sql(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres://".into(),
            )))
        }
    }

    async fn connect_sqlite(url: &str, opts: &DbOptions) -> Result<Self> {
        let sync = if opts.sqlite_synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
        let base = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("cache_size", "-32768")
            .pragma("temp_store", "memory");
        // No ping before handing out a connection: a local SQLite connection cannot have hung
        // up, and the ping is a round trip to its worker thread on every acquire (for the
        // writer, once per write transaction). sqlx still pings on release.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.clone().create_if_missing(true))
            .await?;
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(opts.max_connections.max(2))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self(Arc::new(Pools::Sqlite { write, read })))
    }

    async fn connect_pg(url: &str, opts: &DbOptions) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?
            .options([("statement_timeout", "60s"), ("idle_in_transaction_session_timeout", "120s")]);
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self(Arc::new(Pools::Pg(pool))))
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        match &*self.0 {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Pg(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool, for LISTEN/NOTIFY. `None` on SQLite.
    #[must_use]
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &*self.0 {
            Pools::Pg(p) => Some(p),
            Pools::Sqlite { .. } => None,
        }
    }

    /// Applies pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile, so
    /// several nodes starting together are safe.
    pub async fn migrate(&self) -> Result<()> {
        match &*self.0 {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pools::Pg(p) => PG_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Applies migrations up to `version` only (tests of a migration's data conversion).
    #[cfg(test)]
    pub(crate) async fn migrate_to(&self, version: i64) -> Result<()> {
        match &*self.0 {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run_to(version, write).await?,
            Pools::Pg(p) => PG_MIGRATIONS.run_to(version, p).await?,
        }
        Ok(())
    }

    /// True when every migration this binary knows is applied.
    pub async fn migrations_current(&self) -> Result<bool> {
        let expected = match self.backend() {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().count(),
            Backend::Postgres => PG_MIGRATIONS.iter().count(),
        };
        let mut conn = self.read().await?;
        let applied: i64 = on!(conn.ex(), c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
        )
        .fetch_one(&mut *c)
        .await)?;
        Ok(usize::try_from(applied).unwrap_or(0) >= expected)
    }

    /// A write transaction. On SQLite this waits for the single writer connection.
    pub async fn write(&self) -> Result<Tx> {
        Ok(match &*self.0 {
            Pools::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> Result<Conn> {
        Ok(match &*self.0 {
            Pools::Sqlite { read, .. } => Conn::Sqlite(read.acquire().await?),
            Pools::Pg(p) => Conn::Pg(p.acquire().await?),
        })
    }

    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        let _: i32 = on!(conn.ex(), c => sqlx::query_scalar("SELECT 1").fetch_one(&mut *c).await)?;
        Ok(())
    }

    pub async fn close(&self) {
        match &*self.0 {
            Pools::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Pools::Pg(p) => p.close().await,
        }
    }
}

/// An executor borrowed from a transaction or a pooled connection.
pub enum Ex<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Ex<'_> {
    pub fn reborrow(&mut self) -> Ex<'_> {
        match self {
            Ex::Sqlite(c) => Ex::Sqlite(c),
            Ex::Pg(c) => Ex::Pg(c),
        }
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Ex::Sqlite(_) => Backend::Sqlite,
            Ex::Pg(_) => Backend::Postgres,
        }
    }
}

pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Tx::Sqlite(t) => Ex::Sqlite(t),
            Tx::Pg(t) => Ex::Pg(t),
        }
    }

    /// The handle every tenant-owned query goes through.
    pub fn tenant(&mut self, tenant: TenantId) -> Scope<'_> {
        Scope { ex: self.ex(), tenant }
    }

    /// The handle for the few platform-wide entry points (login by e-mail, session and API key
    /// lookup, job claiming) that run before a tenant is known.
    pub fn platform(&mut self) -> Platform<'_> {
        Platform { ex: self.ex() }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Pg(t) => t.rollback().await?,
        }
        Ok(())
    }
}

pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl Conn {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Conn::Sqlite(c) => Ex::Sqlite(c),
            Conn::Pg(c) => Ex::Pg(c),
        }
    }

    pub fn tenant(&mut self, tenant: TenantId) -> Scope<'_> {
        Scope { ex: self.ex(), tenant }
    }

    pub fn platform(&mut self) -> Platform<'_> {
        Platform { ex: self.ex() }
    }
}

/// A connection bound to one tenant. Repository functions take it first and add its tenant
/// to every statement.
pub struct Scope<'a> {
    ex: Ex<'a>,
    tenant: TenantId,
}

impl Scope<'_> {
    #[must_use]
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    pub(crate) fn ex(&mut self) -> Ex<'_> {
        self.ex.reborrow()
    }

    /// The tenant id as bound into SQL.
    pub(crate) fn tid(&self) -> uuid::Uuid {
        self.tenant.as_uuid()
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        self.ex.backend()
    }
}

/// A connection for platform-wide lookups. Deliberately small: see [`Tx::platform`].
pub struct Platform<'a> {
    ex: Ex<'a>,
}

impl Platform<'_> {
    pub(crate) fn ex(&mut self) -> Ex<'_> {
        self.ex.reborrow()
    }

    /// Narrows to one tenant once the entry point has identified it.
    pub fn tenant(&mut self, tenant: TenantId) -> Scope<'_> {
        Scope { ex: self.ex.reborrow(), tenant }
    }
}
