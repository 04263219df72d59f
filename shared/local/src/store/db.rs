//! The SQLite connection the job store and the queues share, its
//! transactions, and SQLite's errors in the ports' terms.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};
use skiff_core::ports::{PortError, PortResult, Why};

use super::group_commit::Writer;
use super::{BUSY_TIMEOUT, SCHEMA, SCHEMA_VERSION, owned, page};

/// One SQLite file (or in-memory database) shared by the job store and every
/// queue. Cloning shares the connection.
///
/// Writes go through one connection, on a writer thread of its own that
/// commits them in groups ([`super::group_commit`]): SQLite allows a single
/// writer anyway, and a commit that runs a checkpoint waits for an `fsync`,
/// which must not stall the async worker threads the other handlers run on.
/// Reads run on `spawn_blocking`. A file has a second, read-only connection for
/// reads: in WAL mode a reader sees every commit that returned before it
/// began and never blocks a writer, so the syncer's listing and the
/// reporter's changes do not hold up a webhook's write (they did: the
/// webhook's p99 in `skiff bench pipeline`). An in-memory database is private
/// to its connection, so it reads through the writer's.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    reader: Option<Arc<Mutex<Connection>>>,
    writer: Arc<Writer>,
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub fn open(path: impl AsRef<Path>) -> PortResult<Db> {
        let path = path.as_ref();
        let opened = Connection::open(path).map_err(sql).and_then(Db::init);
        let reader = opened.and_then(|mut db| {
            db.reader = Some(Arc::new(Mutex::new(Db::reader(path)?)));
            Ok(db)
        });
        reader.map_err(|e| in_file(path, e))
    }

    /// The read-only connection of a file [`Db::init`] has set up (WAL is a
    /// property of the file, so it applies here too).
    fn reader(path: &Path) -> PortResult<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
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
        let conn = Arc::new(Mutex::new(conn));
        Ok(Db {
            writer: Arc::new(Writer::start(Arc::clone(&conn))?),
            conn,
            reader: None,
        })
    }

    /// The connection reads go through.
    fn for_reads(&self) -> Arc<Mutex<Connection>> {
        Arc::clone(self.reader.as_ref().unwrap_or(&self.conn))
    }

    /// Runs `f` on `conn` off the async threads.
    async fn run_on<T, F>(conn: Arc<Mutex<Connection>>, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
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

    /// Runs `f` as one write: all of it is committed, or none, and `Ok` only
    /// once it is. Writes are grouped into shared transactions
    /// ([`super::group_commit`]); `IMMEDIATE` takes the write lock up front,
    /// so another process's writer queues on the busy timeout instead of
    /// failing when a read turns into a write.
    pub(crate) async fn write<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        self.writer.write(f).await
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
        let conn = self.for_reads();
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
        Self::run_on(self.for_reads(), move |conn| {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The syncer's listing must not queue behind a write, nor a write behind
    /// it: a file's reads go through their own connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_of_a_file_does_not_wait_for_a_write_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("skiff.db")).unwrap();
        db.write(|tx| {
            execute_cached(tx, "CREATE TABLE t (v INTEGER NOT NULL) STRICT", []).map_err(sql)?;
            execute_cached(tx, "INSERT INTO t VALUES (1)", []).map_err(sql)?;
            Ok(())
        })
        .await
        .unwrap();

        let (holding, held) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let writer = db.clone();
        let write = tokio::spawn(async move {
            writer
                .write(move |tx| {
                    execute_cached(tx, "INSERT INTO t VALUES (2)", []).map_err(sql)?;
                    holding.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
                .await
        });
        held.recv().unwrap();

        let read = db.read(|tx| {
            query_row_cached(tx, "SELECT SUM(v) FROM t", [], |r| r.get::<_, i64>(0)).map_err(sql)
        });
        let during = tokio::time::timeout(Duration::from_secs(10), read).await;
        release.send(()).unwrap();
        write.await.unwrap().unwrap();
        assert_eq!(
            during.expect("the read waited for the write").unwrap(),
            1,
            "the read sees the last commit, not the write in progress"
        );
        let after = db
            .read(|tx| {
                query_row_cached(tx, "SELECT SUM(v) FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(sql)
            })
            .await
            .unwrap();
        assert_eq!(after, 3, "a read after a write returned sees it");
    }
}
