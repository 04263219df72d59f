//! The SQLite connection the job store and the queues share, its
//! transactions, and SQLite's errors in the ports' terms.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use skiff_core::ports::{PortError, PortResult, Why};

use super::{BUSY_TIMEOUT, SCHEMA, SCHEMA_VERSION, owned, page};

/// One SQLite file (or in-memory database) shared by the job store and every
/// queue. Cloning shares the connection.
///
/// One connection behind a mutex, used from `spawn_blocking`: SQLite allows a
/// single writer anyway, and a commit that runs a checkpoint waits for an
/// `fsync`, which must not stall the async worker threads the other handlers
/// run on.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub fn open(path: impl AsRef<Path>) -> PortResult<Db> {
        let path = path.as_ref();
        Connection::open(path)
            .map_err(sql)
            .and_then(Db::init)
            .map_err(|e| in_file(path, e))
    }

    /// A private database that lives as long as this handle and its clones.
    pub fn open_in_memory() -> PortResult<Db> {
        Connection::open_in_memory().map_err(sql).and_then(Db::init)
    }

    fn init(mut conn: Connection) -> PortResult<Db> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql)?;
        if mode != "wal" && mode != "memory" {
            // Still safe against a killed process (rollback journal), only
            // slower and with readers blocked by writers.
            tracing::warn!(journal_mode = %mode, "SQLite could not switch to WAL");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        // Every statement the store and the queues run stays compiled.
        conn.set_prepared_statement_cache_capacity(64);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(PortError::Rejected(format!(
                "database schema {version} is newer than this skiff understands ({SCHEMA_VERSION})"
            ).into()));
        }
        tx.execute_batch(SCHEMA).map_err(sql)?;
        page::migrate(&tx)?;
        owned::migrate(&tx)?;
        tx.execute_batch(crate::queue::SCHEMA).map_err(sql)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection off the async threads.
    async fn run<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let task = tokio::task::spawn_blocking(move || {
            // A panic mid-transaction rolled it back while unwinding, so the
            // connection behind a poisoned lock is still consistent.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(PortError::Unavailable(format!("database task: {e}").into())),
        }
    }

    /// Runs `f` in one write transaction: all of it is committed, or none.
    /// `IMMEDIATE` takes the write lock up front, so two writers queue on the
    /// busy timeout instead of failing when a read turns into a write.
    pub(crate) async fn write<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
        .await
    }

    /// [`Db::read`], then `after` on what it read, in the same blocking task
    /// but with the connection released: decoding a few thousand records
    /// (the syncer's pass) does not hold up the writers behind it.
    pub(crate) async fn read_then<T, U, F, G>(&self, f: F, after: G) -> PortResult<U>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
        G: FnOnce(T) -> PortResult<U> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let task = tokio::task::spawn_blocking(move || {
            let read = {
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(sql)?;
                f(&tx)?
            };
            after(read)
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(PortError::Unavailable(format!("database task: {e}").into())),
        }
    }

    /// Runs `f` on one consistent snapshot.
    pub(crate) async fn read<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(sql)?;
            f(&tx)
        })
        .await
    }
}

/// SQLite's errors in the ports' terms: a busy or locked file is worth
/// retrying, a uniqueness clash means someone else wrote first, any other
/// constraint means the input was wrong.
pub(crate) fn sql(e: rusqlite::Error) -> PortError {
    let kind: fn(Why) -> PortError = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                PortError::Conflict
            }
            ErrorCode::ConstraintViolation | ErrorCode::TooBig | ErrorCode::TypeMismatch => {
                PortError::Rejected
            }
            _ => PortError::Unavailable,
        },
        rusqlite::Error::ToSqlConversionFailure(_) => PortError::Rejected,
        _ => PortError::Unavailable,
    };
    kind(Why::caused_by(e.to_string(), e))
}

fn in_file(path: &Path, e: PortError) -> PortError {
    let at = |m: String| format!("{}: {m}", path.display());
    match e {
        PortError::Conflict(m) => PortError::Conflict(at(m.to_string()).into()),
        PortError::NotFound(m) => PortError::NotFound(at(m.to_string()).into()),
        PortError::Rejected(m) => PortError::Rejected(at(m.to_string()).into()),
        PortError::Unavailable(m) => PortError::Unavailable(at(m.to_string()).into()),
        PortError::RateLimited { until, message } => PortError::RateLimited {
            until,
            message: at(message.to_string()).into(),
        },
    }
}

/// `tx.execute` through the connection's statement cache: each statement
/// is compiled once per connection instead of once per call (a dozen
/// statements run per job in `skiff bench pipeline`).
pub(crate) fn execute_cached(
    tx: &Transaction<'_>,
    statement: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(statement)?.execute(params)
}

/// `tx.query_row` through the statement cache ([`execute_cached`]).
pub(crate) fn query_row_cached<T>(
    tx: &Transaction<'_>,
    statement: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(statement)?.query_row(params, f)
}
