//! Storage: one diesel connection type over SQLite (embedded, the default) and PostgreSQL,
//! r2d2 pools, embedded migrations, and queries run off the async executor.
//!
//! SQLite allows one writer at a time. Rather than letting concurrent writers race into
//! "database is locked", each process writes through a pool of exactly one connection, so
//! writers queue in the pool, while reads use their own pool and never block (WAL).
//! PostgreSQL uses one pool for both. Code that must not race across processes uses
//! conditional updates (`… WHERE stock >= ?`) and unique constraints, which behave the same
//! on both backends.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::path::Path;
use std::time::Duration;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Conn = AnyConnection;
pub type DbPool = r2d2::Pool<Manager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("the blocking task was cancelled")]
    Cancelled,
}

impl DbError {
    /// A transient condition worth a `503` with `Retry-After` rather than a `500`.
    pub fn is_busy(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(kind, diesel::result::DatabaseErrorKind::SerializationFailure)
                    || info.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

/// True when the error is a unique-constraint violation: the insert-or-nothing signal used
/// by idempotency keys, inboxes and claims.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// Opens connections of the backend the URL names, SQLite with the pragmas we rely on.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl Manager {
    pub fn new(url: &str) -> Manager {
        let backend = Backend::of_url(url);
        let url = match backend {
            Backend::Sqlite => url.strip_prefix("sqlite://").unwrap_or(url).to_string(),
            Backend::Postgres => url.to_string(),
        };
        Manager { url, backend }
    }

    pub fn establish(&self) -> Result<AnyConnection, DbError> {
        match self.backend {
            Backend::Postgres => Ok(AnyConnection::Postgresql(diesel::PgConnection::establish(&self.url)?)),
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.url)?;
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;",
                )?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = DbError;

    fn connect(&self) -> Result<AnyConnection, DbError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), DbError> {
        conn.ping().map_err(DbError::from)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        conn.is_broken()
    }
}

/// A service's migrations for both backends, embedded at build time.
/// The fields are functions because `EmbeddedMigrations` is a constant that cannot be
/// copied; pass closures that return the `embed_migrations!` constants.
#[derive(Clone, Copy)]
pub struct Migrations {
    pub sqlite: fn() -> EmbeddedMigrations,
    pub postgres: fn() -> EmbeddedMigrations,
}

impl Migrations {
    pub fn run(&self, conn: &mut AnyConnection) -> Result<usize, DbError> {
        let applied = match conn {
            AnyConnection::Sqlite(c) => c.run_pending_migrations((self.sqlite)()).map(|v| v.len()),
            AnyConnection::Postgresql(c) => c.run_pending_migrations((self.postgres)()).map(|v| v.len()),
        };
        applied.map_err(|e| DbError::Migration(e.to_string()))
    }

    pub fn pending(&self, conn: &mut AnyConnection) -> Result<bool, DbError> {
        let pending = match conn {
            AnyConnection::Sqlite(c) => c.has_pending_migration((self.sqlite)()),
            AnyConnection::Postgresql(c) => c.has_pending_migration((self.postgres)()),
        };
        pending.map_err(|e| DbError::Migration(e.to_string()))
    }
}

/// A service's database: a writer pool and a reader pool (the same pool on PostgreSQL).
#[derive(Clone)]
pub struct Db {
    write: DbPool,
    read: DbPool,
    backend: Backend,
    migrations: Migrations,
}

impl Db {
    /// Connects, creating the SQLite file's folder if needed, and runs pending migrations.
    pub fn open(url: &str, pool_size: u32, migrations: Migrations) -> Result<Db, DbError> {
        let manager = Manager::new(url);
        let backend = manager.backend;
        if backend == Backend::Sqlite {
            if let Some(parent) = Path::new(&manager.url).parent() {
                if !parent.as_os_str().is_empty() {
                    let _ = std::fs::create_dir_all(parent);
                }
            }
        }
        let build = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size.max(1))
                .min_idle(Some(1))
                .connection_timeout(Duration::from_secs(30))
                .build(manager.clone())
        };
        let (write, read) = match backend {
            Backend::Sqlite => {
                let write = build(1)?;
                // Migrate before any reader opens the file, so readers see the schema.
                migrations.run(&mut *write.get()?)?;
                (write, build(pool_size)?)
            }
            Backend::Postgres => {
                let pool = build(pool_size)?;
                migrate_postgres_exclusively(&mut *pool.get()?, &migrations)?;
                (pool.clone(), pool)
            }
        };
        Ok(Db { write, read, backend, migrations })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` in a write transaction on a blocking thread.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let pool = self.write.clone();
        run_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            let conn: &mut AnyConnection = &mut conn;
            conn.transaction(f)
        })
        .await
    }

    /// Runs `f` on a reader connection, in a transaction so it sees one snapshot.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let pool = self.read.clone();
        run_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            let conn: &mut AnyConnection = &mut conn;
            conn.transaction(f)
        })
        .await
    }

    /// The same as [`Db::write`], for command-line tools and tests outside a runtime.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.write.get().map_err(DbError::from)?;
        let conn: &mut AnyConnection = &mut conn;
        conn.transaction(f)
    }

    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.read.get().map_err(DbError::from)?;
        let conn: &mut AnyConnection = &mut conn;
        conn.transaction(f)
    }

    /// Ready: the database answers and no migration is pending.
    pub async fn ready(&self) -> Result<(), DbError> {
        let pool = self.read.clone();
        let migrations = self.migrations;
        run_blocking(move || {
            let mut conn = pool.get()?;
            conn.ping()?;
            if migrations.pending(&mut conn)? {
                return Err(DbError::Migration("migrations pending".into()));
            }
            Ok(())
        })
        .await
    }
}

async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(_) => Err(DbError::Cancelled.into()),
    }
}

/// Several copies of a service may start at once against one PostgreSQL database; an
/// advisory lock makes one of them migrate while the others wait.
fn migrate_postgres_exclusively(conn: &mut AnyConnection, migrations: &Migrations) -> Result<(), DbError> {
    const LOCK: i64 = 0x6d61_726b_6574; // "market"
    conn.batch_execute(&format!("SELECT pg_advisory_lock({LOCK})"))?;
    let result = migrations.run(conn);
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK})"))?;
    result.map(|_| ())
}

/// Creates a PostgreSQL database (for a fresh test run or `marketplace migrate --create`).
/// `admin_url` points at an existing database of the same server, e.g. `postgres`.
pub fn create_postgres_database(admin_url: &str, name: &str) -> Result<String, DbError> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(DbError::Migration(format!("invalid database name {name}")));
    }
    let mut conn = diesel::PgConnection::establish(admin_url)?;
    conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let (base, _) = admin_url.rsplit_once('/').unwrap_or((admin_url, ""));
    Ok(format!("{base}/{name}"))
}

/// Drops a database made by [`create_postgres_database`], closing its connections.
pub fn drop_postgres_database(admin_url: &str, name: &str) -> Result<(), DbError> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(DbError::Migration(format!("invalid database name {name}")));
    }
    let mut conn = diesel::PgConnection::establish(admin_url)?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url() {
        assert_eq!(Backend::of_url("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("sqlite://data/x.db"), Backend::Sqlite);
        assert_eq!(Backend::of_url("data/x.db"), Backend::Sqlite);
        assert_eq!(Manager::new("sqlite://data/x.db").url, "data/x.db");
    }

    #[test]
    fn sqlite_connections_use_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Manager::new(dir.path().join("t.db").to_str().unwrap()).establish().unwrap();
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(&mut conn).unwrap();
        assert_eq!(mode.journal_mode, "wal");
    }
}
