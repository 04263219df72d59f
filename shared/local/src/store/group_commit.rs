//! Writes to the SQLite file, committed in groups by one writer thread.
//!
//! Every write used to be its own transaction on a blocking thread, all of
//! them queuing on the connection's mutex: at a few thousand writes a second
//! (`skiff bench pipeline`) a webhook's three writes waited behind dozens of
//! others, each committing its own pages to the WAL. The writer thread takes
//! whatever writes are waiting (up to [`MAX_GROUP`]), runs each in its own
//! savepoint of one `BEGIN IMMEDIATE` transaction, and commits once: the
//! writes run in the order they arrived, each sees the ones before it, a
//! write that fails or panics is rolled back to its savepoint alone, and no
//! caller hears `Ok` before the commit that holds its write has returned
//! (so what returned `Ok` survives `kill -9`, as before).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use skiff_core::ports::{PortError, PortResult};
use tokio::sync::oneshot;

use super::db::sql;

/// The most writes one transaction holds: enough to drain a burst, few
/// enough that the first in the group does not wait long for the last.
const MAX_GROUP: usize = 64;

/// What a caller hears: its write's result, or the panic it raised.
type Answer<T> = std::thread::Result<PortResult<T>>;

/// A write after it ran: whether its changes stay, and how to tell its
/// caller once the group's commit is known.
struct Ran {
    wrote: bool,
    answer: Box<dyn FnOnce(PortResult<()>) + Send>,
}

/// A caller's write, run in the group's transaction, or refused with the
/// error that kept the group from starting.
type Job = Box<dyn FnOnce(Result<&Transaction<'_>, PortError>) -> Ran + Send>;

/// The handle writes are sent through; the thread ends when the last
/// handle is dropped.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Writer {
    pub(super) fn start(conn: Arc<Mutex<Connection>>) -> PortResult<Writer> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("skiff-sqlite-writer".into())
            .spawn(move || serve(&conn, &queue))
            .map_err(|e| {
                PortError::Unavailable(format!("starting the database writer: {e}").into())
            })?;
        Ok(Writer {
            jobs: Mutex::new(jobs),
        })
    }

    /// Runs `f` in the next group; its result once that group committed.
    pub(super) async fn write<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Answer<T>>();
        let job: Job = Box::new(move |tx| {
            let tx = match tx {
                Ok(tx) => tx,
                Err(e) => return refused(reply, e),
            };
            match catch_unwind(AssertUnwindSafe(|| f(tx))) {
                Ok(Ok(out)) => Ran {
                    wrote: true,
                    answer: Box::new(move |committed| {
                        let _ = reply.send(Ok(committed.map(|()| out)));
                    }),
                },
                Ok(Err(e)) => refused(reply, e),
                Err(panic) => Ran {
                    wrote: false,
                    answer: Box::new(move |_| {
                        let _ = reply.send(Err(panic));
                    }),
                },
            }
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
        if sent.is_err() {
            return Err(stopped());
        }
        match answer.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(stopped()),
        }
    }
}

fn refused<T: Send + 'static>(reply: oneshot::Sender<Answer<T>>, e: PortError) -> Ran {
    Ran {
        wrote: false,
        answer: Box::new(move |_| {
            let _ = reply.send(Ok(Err(e)));
        }),
    }
}

fn stopped() -> PortError {
    PortError::Unavailable("the database writer has stopped".into())
}

fn serve(conn: &Mutex<Connection>, queue: &mpsc::Receiver<Job>) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match queue.recv() {
                Ok(job) => waiting.push_back(job),
                Err(mpsc::RecvError) => return,
            }
        }
        while waiting.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => break,
            }
        }
        // A panic is caught per write, so the lock is poisoned only by a
        // reader's panic, which left no transaction open.
        let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
        commit_group(&mut conn, &mut waiting);
    }
}

/// Runs writes from the front of `waiting` in one transaction and answers
/// them. Writes the group could not take (its transaction broke under them)
/// stay in `waiting` for the next group.
fn commit_group(conn: &mut Connection, waiting: &mut VecDeque<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = sql(e);
            for job in waiting.drain(..) {
                (job(Err(e.clone())).answer)(Err(e.clone()));
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(waiting.len());
    let mut broken = None;
    while let Some(job) = waiting.pop_front() {
        if let Err(e) = run_sql(&tx, "SAVEPOINT write") {
            waiting.push_front(job);
            broken = Some(e);
            break;
        }
        let ran = job(Ok(&tx));
        let end = if ran.wrote {
            run_sql(&tx, "RELEASE write")
        } else {
            run_sql(&tx, "ROLLBACK TO write").and_then(|()| run_sql(&tx, "RELEASE write"))
        };
        answers.push(ran.answer);
        if let Err(e) = end {
            // SQLite ended the transaction itself (a full disk, an I/O
            // error): nothing of this group is written.
            broken = Some(e);
            break;
        }
    }
    let committed = match broken {
        Some(e) => Err(e),
        None => tx.commit().map_err(sql),
    };
    for answer in answers {
        answer(committed.clone());
    }
}

fn run_sql(tx: &Transaction<'_>, statement: &str) -> PortResult<()> {
    tx.prepare_cached(statement)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(sql)
}

#[cfg(test)]
mod tests {
    use super::super::db::{Db, execute_cached, query_row_cached};
    use super::*;

    async fn table() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("skiff.db")).unwrap();
        db.write(|tx| {
            execute_cached(tx, "CREATE TABLE t (k INTEGER PRIMARY KEY) STRICT", []).map_err(sql)
        })
        .await
        .unwrap();
        (dir, db)
    }

    async fn keys(db: &Db) -> Vec<i64> {
        db.read(|tx| {
            let mut s = tx.prepare("SELECT k FROM t ORDER BY k").map_err(sql)?;
            let rows = s.query_map([], |r| r.get(0)).map_err(sql)?;
            rows.collect::<Result<Vec<i64>, _>>().map_err(sql)
        })
        .await
        .unwrap()
    }

    /// Holds the writer thread until released, so the writes sent meanwhile
    /// queue and are taken as one group.
    async fn hold_the_writer(
        db: &Db,
    ) -> (tokio::task::JoinHandle<()>, std::sync::mpsc::Sender<()>) {
        let (holding, held) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let db = db.clone();
        let hold = tokio::spawn(async move {
            db.write(move |_| {
                holding.send(()).unwrap();
                released.recv().unwrap();
                Ok(())
            })
            .await
            .unwrap();
        });
        held.recv().unwrap();
        (hold, release)
    }

    async fn insert(db: &Db, k: i64) -> PortResult<()> {
        db.write(move |tx| {
            execute_cached(tx, "INSERT INTO t VALUES (?1)", [k])
                .map(|_| ())
                .map_err(sql)
        })
        .await
    }

    /// `tokio::join!(biased; …)` polls its futures in order, so the writes are
    /// sent in that order; the last releases the writer once they wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_in_a_group_is_undone_alone() {
        let (_dir, db) = table().await;
        let (hold, release) = hold_the_writer(&db).await;
        let (first, failing, clash, last, ()) = tokio::join!(
            biased;
            insert(&db, 1),
            // Writes its row, then fails: its row must go, the others' stay.
            db.write(|tx| {
                execute_cached(tx, "INSERT INTO t VALUES (2)", []).map_err(sql)?;
                Err::<(), _>(PortError::Rejected("no".into()))
            }),
            insert(&db, 1),
            insert(&db, 3),
            async { release.send(()).unwrap() },
        );
        hold.await.unwrap();
        assert!(first.is_ok(), "{first:?}");
        assert!(
            matches!(failing, Err(PortError::Rejected(_))),
            "{failing:?}"
        );
        assert!(matches!(clash, Err(PortError::Conflict(_))), "{clash:?}");
        assert!(last.is_ok(), "{last:?}");
        assert_eq!(keys(&db).await, [1, 3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_panics_its_caller_and_no_other() {
        let (_dir, db) = table().await;
        let (hold, release) = hold_the_writer(&db).await;
        let panicking = {
            let db = db.clone();
            async move {
                tokio::spawn(async move {
                    db.write(|tx| -> PortResult<()> {
                        execute_cached(tx, "INSERT INTO t VALUES (2)", []).map_err(sql)?;
                        panic!("a bug in a write");
                    })
                    .await
                })
                .await
            }
        };
        let (before, panicked, after, ()) = tokio::join!(
            biased;insert(&db, 1), panicking, insert(&db, 3), async {
                release.send(()).unwrap()
            },);
        hold.await.unwrap();
        assert!(before.is_ok(), "{before:?}");
        assert!(panicked.unwrap_err().is_panic());
        assert!(after.is_ok(), "{after:?}");
        assert_eq!(keys(&db).await, [1, 3]);
    }

    /// Each write sees the ones before it, as if they ran one by one; none
    /// is lost however many arrive at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_arriving_together_all_commit_in_arrival_order() {
        let (_dir, db) = table().await;
        let writes: Vec<_> = (0..300)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(|tx| {
                        let next: i64 =
                            query_row_cached(tx, "SELECT COUNT(*) FROM t", [], |r| r.get(0))
                                .map_err(sql)?;
                        execute_cached(tx, "INSERT INTO t VALUES (?1)", [next]).map_err(sql)?;
                        Ok(next)
                    })
                    .await
                })
            })
            .collect();
        let mut seen = Vec::new();
        for w in writes {
            seen.push(w.await.unwrap().unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..300).collect::<Vec<i64>>());
        assert_eq!(keys(&db).await.len(), 300);
    }
}
