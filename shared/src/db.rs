//! Storage: one diesel connection type over SQLite (embedded, the default) and PostgreSQL,
//! r2d2 pools, embedded migrations, and queries run off the async executor.
//!
//! SQLite allows one writer at a time. Rather than letting concurrent writers race into
//! "database is locked", each process writes through exactly one connection owned by a
//! writer thread: write transactions queue on a channel, and the thread runs whatever has
//! queued up as one group: each in its own savepoint, all committed together (group
//! commit), and only then answered. A failed transaction rolls back its savepoint alone.
//! Reads use their own pool and never block (WAL). PostgreSQL uses one pool for both. Code that must not race across processes uses
//! conditional updates (`… WHERE stock >= ?`) and unique constraints, which behave the same
//! on both backends.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::path::Path;
use std::sync::{Arc, Mutex};
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
    #[error("the group commit failed: {0}")]
    Commit(String),
    #[error("database file: {0}")]
    File(String),
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
                // A small page cache: reads come through the memory map anyway, and every
                // commit trims the cache by scanning its hash table, which a large cache
                // made a few per cent of the checkout's CPU.
                // The busy timeout first: without it, the journal-mode pragma fails at once
                // when another process (a running service beside `marketplace outbox`, a
                // connection closing and checkpointing) holds the lock for a moment.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -2000; \
                     PRAGMA mmap_size = 268435456;",
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

/// A crate's migrations for both backends, embedded at build time, and the sets of other
/// crates whose tables it builds on (the outbox of `shared`, the budgets of `privacy`).
/// Each table is created by the crate that owns it; a service's database runs its
/// `builds_on` first, then its own. Versions are unique across the sets, so the one
/// bookkeeping table of applied versions serves them all.
/// The fields are functions because `EmbeddedMigrations` is a constant that cannot be
/// copied; [`migrations!`](crate::migrations) writes them.
#[derive(Clone, Copy)]
pub struct Migrations {
    pub sqlite: fn() -> EmbeddedMigrations,
    pub postgres: fn() -> EmbeddedMigrations,
    pub builds_on: &'static [Migrations],
}

/// A crate's [`Migrations`]: its SQLite and PostgreSQL folders (relative to the crate, as
/// `diesel_migrations::embed_migrations!` takes them) and the migrations it builds on.
#[macro_export]
macro_rules! migrations {
    ($sqlite:literal, $postgres:literal $(,)?) => {
        $crate::migrations!($sqlite, $postgres, builds_on: &[])
    };
    ($sqlite:literal, $postgres:literal, builds_on: $on:expr $(,)?) => {
        $crate::db::Migrations {
            sqlite: || {
                const M: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!($sqlite);
                M
            },
            postgres: || {
                const M: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!($postgres);
                M
            },
            builds_on: $on,
        }
    };
}

impl Migrations {
    /// Runs what is pending of `builds_on`, then of this set; answers how many ran.
    pub fn run(&self, conn: &mut AnyConnection) -> Result<usize, DbError> {
        let mut ran = 0;
        for base in self.builds_on {
            ran += base.run(conn)?;
        }
        let applied = match conn {
            AnyConnection::Sqlite(c) => c.run_pending_migrations((self.sqlite)()).map(|v| v.len()),
            AnyConnection::Postgresql(c) => c.run_pending_migrations((self.postgres)()).map(|v| v.len()),
        };
        Ok(ran + applied.map_err(|e| DbError::Migration(e.to_string()))?)
    }

    pub fn pending(&self, conn: &mut AnyConnection) -> Result<bool, DbError> {
        for base in self.builds_on {
            if base.pending(conn)? {
                return Ok(true);
            }
        }
        let pending = match conn {
            AnyConnection::Sqlite(c) => c.has_pending_migration((self.sqlite)()),
            AnyConnection::Postgresql(c) => c.has_pending_migration((self.postgres)()),
        };
        pending.map_err(|e| DbError::Migration(e.to_string()))
    }
}

/// A service's database: a writer and a reader pool (one pool for both on PostgreSQL).
#[derive(Clone)]
pub struct Db {
    write: Writer,
    read: DbPool,
    backend: Backend,
    migrations: Migrations,
}

#[derive(Clone)]
enum Writer {
    Pool(DbPool),
    Serial(Arc<SerialWriter>),
}

/// Most transactions one group commit takes from the queue.
const MAX_GROUP: usize = 64;

/// What a queued write returns once it ran: a call that answers its caller with the
/// outcome of the group's commit.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Finish + Send>;

/// SQLite's single writer: the connection (shared with [`Db::write_blocking`]) and the
/// queue its thread drains.
struct SerialWriter {
    conn: Arc<Mutex<AnyConnection>>,
    jobs: std::sync::mpsc::Sender<Job>,
}

impl SerialWriter {
    fn start(conn: AnyConnection, manager: Manager) -> Result<Arc<SerialWriter>, DbError> {
        let conn = Arc::new(Mutex::new(conn));
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let thread_conn = conn.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                // Ends when every `Db` handle (and so every sender) is gone.
                while let Ok(first) = queue.recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match queue.try_recv() {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    let mut conn = thread_conn.lock().unwrap_or_else(|p| p.into_inner());
                    if !run_group(&mut conn, group) {
                        // A job panicked inside its savepoint: the transaction state is
                        // unknown, so start over on a new connection (closing the old one
                        // rolls back whatever it still held).
                        match manager.establish() {
                            Ok(fresh) => *conn = fresh,
                            Err(e) => tracing::error!(error = %e, "cannot reopen the SQLite writer"),
                        }
                    }
                }
            })
            .map_err(|e| DbError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(Arc::new(SerialWriter { conn, jobs }))
    }
}

/// Runs a group of queued transactions inside one transaction, each in a savepoint, then
/// tells each caller whether the commit held. A panicking job fails the whole group (its
/// callers retry); returns false when that happened.
fn run_group(conn: &mut AnyConnection, group: Vec<Job>) -> bool {
    let mut finishes: Vec<Finish> = Vec::with_capacity(group.len());
    let mut panicked = false;
    let outcome = conn.transaction::<(), diesel::result::Error, _>(|c| {
        for job in group {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(c))) {
                Ok(finish) => finishes.push(finish),
                Err(_) => {
                    panicked = true;
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
        }
        Ok(())
    });
    let outcome = if panicked {
        Err("a transaction in the group panicked".to_string())
    } else {
        outcome.map_err(|e| e.to_string())
    };
    for finish in finishes {
        finish(outcome.clone());
    }
    !panicked
}

/// SQLite creates its `-wal` and `-shm` files with the database file's mode, so the
/// database file is made 0600 before SQLite first opens it; files an older build left
/// wider are narrowed. URIs and in-memory databases are left to SQLite.
fn owner_only_sqlite_files(path: &str) -> Result<(), DbError> {
    if path.starts_with("file:") || path.starts_with(':') || path.is_empty() {
        return Ok(());
    }
    let path = Path::new(path);
    let io = |e: std::io::Error| DbError::File(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::files::create_dir(parent).map_err(io)?;
    }
    crate::files::ensure_file(path).map_err(io)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match crate::files::narrow(Path::new(&side)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    Ok(())
}

impl Db {
    /// Connects, creating the SQLite file (0600) and its folder (0700) if needed, and runs
    /// pending migrations.
    pub fn open(url: &str, pool_size: u32, migrations: Migrations) -> Result<Db, DbError> {
        let manager = Manager::new(url);
        let backend = manager.backend;
        if backend == Backend::Sqlite {
            owner_only_sqlite_files(&manager.url)?;
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
                let mut conn = manager.establish()?;
                // Migrate before any reader opens the file, so readers see the schema.
                migrations.run(&mut conn)?;
                (Writer::Serial(SerialWriter::start(conn, manager.clone())?), build(pool_size)?)
            }
            Backend::Postgres => {
                let pool = build(pool_size)?;
                migrate_postgres_exclusively(&mut *pool.get()?, &migrations)?;
                (Writer::Pool(pool.clone()), pool)
            }
        };
        Ok(Db { write, read, backend, migrations })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` in a write transaction, off the async executor.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.write {
            Writer::Pool(pool) => {
                let pool = pool.clone();
                run_blocking(move || {
                    let mut conn = pool.get().map_err(DbError::from)?;
                    let conn: &mut AnyConnection = &mut conn;
                    conn.transaction(f)
                })
                .await
            }
            Writer::Serial(writer) => {
                let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
                let job: Job = Box::new(move |c: &mut AnyConnection| {
                    // Nested in the group's transaction: a savepoint of its own.
                    let result = c.transaction(f);
                    Box::new(move |committed: Result<(), String>| {
                        let answer = match committed {
                            Ok(()) => result,
                            Err(e) => Err(DbError::Commit(e).into()),
                        };
                        let _ = tx.send(answer);
                    })
                });
                writer.jobs.send(job).map_err(|_| DbError::Cancelled)?;
                rx.await.unwrap_or_else(|_| Err(DbError::Cancelled.into()))
            }
        }
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
        match &self.write {
            Writer::Pool(pool) => {
                let mut conn = pool.get().map_err(DbError::from)?;
                let conn: &mut AnyConnection = &mut conn;
                conn.transaction(f)
            }
            Writer::Serial(writer) => {
                let mut conn = writer.conn.lock().unwrap_or_else(|p| p.into_inner());
                conn.transaction(f)
            }
        }
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

    const NONE: Migrations = Migrations {
        sqlite: || diesel_migrations::EmbeddedMigrations::new(&[]),
        postgres: || diesel_migrations::EmbeddedMigrations::new(&[]),
        builds_on: &[],
    };

    fn count(db: &Db) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        db.read_blocking(|c| diesel::sql_query("SELECT count(*) AS n FROM t").get_result::<N>(c).map_err(DbError::from))
            .unwrap()
            .n
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_keeps_each_transaction_atomic_and_survives_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("g.db").to_str().unwrap(), 2, NONE).unwrap();
        db.write_blocking(|c| c.batch_execute("CREATE TABLE t (v INTEGER NOT NULL)").map_err(DbError::from)).unwrap();

        // 200 concurrent writers: the odd ones fail after writing, so only their savepoint goes.
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |c| {
                        c.batch_execute(&format!("INSERT INTO t (v) VALUES ({i})"))?;
                        if i % 2 == 1 {
                            return Err(DbError::Commit("refused".into()));
                        }
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap().is_ok() as i64;
        }
        assert_eq!(ok, 100);
        assert_eq!(count(&db), 100);

        // A panicking transaction fails its group but not the writer.
        let panicked = db
            .write(|c| -> Result<(), DbError> {
                c.batch_execute("INSERT INTO t (v) VALUES (-1)")?;
                panic!("a bug in a handler")
            })
            .await;
        assert!(panicked.is_err());
        db.write(|c| c.batch_execute("INSERT INTO t (v) VALUES (7)").map_err(DbError::from)).await.unwrap();
        assert_eq!(count(&db), 101);
    }
}
