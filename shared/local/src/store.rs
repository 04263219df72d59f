//! Job records and dedupe keys in SQLite: the embedded twin of the DynamoDB
//! jobs table. The same file holds the queues ([`crate::queue`]); both open it
//! through one [`Db`] handle.
//!
//! Durability: the file is in WAL mode with `synchronous=NORMAL`, and every
//! write is a savepoint of a `BEGIN IMMEDIATE` transaction that returns `Ok`
//! only once that transaction committed ([`group_commit`]), so a write that
//! returned `Ok` survives `kill -9` of `skiff dev` (it is in the WAL, which
//! the OS holds whether or not the process lives), and a write that was cut
//! short leaves nothing behind. An OS crash or power loss can lose the last commits but
//! never corrupts the file. `FULL` (an fsync per commit) bought power-loss
//! durability for a one-machine dev server at half its throughput
//! (README "Benchmarks"); on AWS, DynamoDB and SQS are durable either way. A record is stored as its JSON next to the few columns the queries
//! filter and sort on; the columns are derived from the JSON in the same
//! statement, so they cannot disagree.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction};
use rusqlite::{params, params_from_iter};
use skiff_core::ports::{
    Claim, Clock, JobPage, JobQuery, JobStore, PageQuery, PortError, PortResult,
};
use skiff_core::prowjob::{ProwJob, ProwJobType};

use skiff_core::ports::SystemClock;

/// Bumped when the schema changes in a way an older binary cannot read.
const SCHEMA_VERSION: i64 = 1;

/// How long a statement waits for another process (a second `skiff dev`, a
/// `sqlite3` shell) to release the file before reporting it busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    job_name    TEXT NOT NULL,
    job_type    TEXT,
    state       TEXT,
    complete    INTEGER NOT NULL,
    -- Whole seconds, as the record's JSON keeps them; NULL sorts last.
    start_time  INTEGER,
    record      TEXT NOT NULL,
    -- spec.hidden: never listed by the deck (added by page::migrate).
    hidden      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_by_name ON jobs (job_name, start_time, id);
CREATE INDEX IF NOT EXISTS jobs_by_completion ON jobs (complete, start_time, id);

-- One row per pull a job tests: a batch belongs to every pull it merges.
CREATE TABLE IF NOT EXISTS job_pulls (
    org     TEXT NOT NULL,
    repo    TEXT NOT NULL,
    number  INTEGER NOT NULL,
    job_id  TEXT NOT NULL,
    PRIMARY KEY (org, repo, number, job_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_pulls_by_job ON job_pulls (job_id);

-- Every create and update, in commit order: the embedded twin of the
-- DynamoDB stream the reporter reads on AWS.
CREATE TABLE IF NOT EXISTS job_changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    id   TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS job_changes_by_id ON job_changes (id, seq);

CREATE TABLE IF NOT EXISTS dedupe_keys (
    key      TEXT PRIMARY KEY,
    -- Unix milliseconds; the key is live while this is after now.
    expires  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS dedupe_keys_by_expiry ON dedupe_keys (expires);

-- Facts cached by a key that fixes them (OWNERS files by tree SHA).
CREATE TABLE IF NOT EXISTS kept_values (
    key      TEXT PRIMARY KEY,
    value    TEXT NOT NULL,
    expires  INTEGER NOT NULL
) STRICT;
";

mod db;
mod group_commit;
mod owned;
mod page;

pub use db::Db;
pub(crate) use db::{execute_cached, query_row_cached, sql};

pub(crate) fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn record_change(tx: &Transaction<'_>, id: &str) -> PortResult<()> {
    execute_cached(tx, "INSERT INTO job_changes (id) VALUES (?1)", [id]).map_err(sql)?;
    Ok(())
}

/// [`JobStore`] on SQLite.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// The store in the database file at `path`, on the wall clock.
    pub fn open(path: impl AsRef<Path>) -> PortResult<Self> {
        Ok(SqliteStore::new(Db::open(path)?, Arc::new(SystemClock)))
    }

    /// A store in a private in-memory database, on the wall clock.
    pub fn open_in_memory() -> PortResult<Self> {
        Ok(SqliteStore::new(
            Db::open_in_memory()?,
            Arc::new(SystemClock),
        ))
    }

    /// The store in `db`; `clock` decides when dedupe keys expire.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        SqliteStore { db, clock }
    }

    /// The database, to open queues in the same file.
    /// Records changed after `after` (a sequence number from an earlier
    /// call, 0 at first), oldest change first, at most `limit`: each with
    /// the sequence number to continue from. A record changed twice appears
    /// at its latest change only; deleted records are left out.
    pub async fn changes_since(&self, after: i64, limit: usize) -> PortResult<Vec<(i64, ProwJob)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read_then(
                move |tx| {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT c.seq, j.id, j.record FROM job_changes c JOIN jobs j ON j.id = c.id
                             WHERE c.seq > ?1
                               AND c.seq = (SELECT MAX(seq) FROM job_changes WHERE id = c.id)
                             ORDER BY c.seq LIMIT ?2",
                        )
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(params![after, limit], |row| {
                            Ok((
                                row.get::<_, i64>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                            ))
                        })
                        .map_err(sql)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
                },
                |rows| {
                    rows.into_iter()
                        .map(|(seq, id, record)| Ok((seq, decode(&id, &record)?)))
                        .collect()
                },
            )
            .await
    }

    /// Forgets changes up to and including `upto` (already consumed).
    pub async fn trim_changes(&self, upto: i64) -> PortResult<()> {
        self.db
            .write(move |tx| {
                execute_cached(tx, "DELETE FROM job_changes WHERE seq <= ?1", [upto])
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// What the queries filter and sort on, taken from the record.
struct Columns {
    id: String,
    job_name: String,
    job_type: Option<&'static str>,
    state: Option<&'static str>,
    complete: bool,
    start_time: Option<i64>,
    hidden: bool,
    pulls: Vec<(String, String, i64)>,
    record: String,
}

impl Columns {
    fn of(job: &ProwJob) -> PortResult<Columns> {
        let id = &job.metadata.name;
        if id.is_empty() {
            return Err(PortError::Rejected(
                "job record has no id (metadata.name)".into(),
            ));
        }
        let record = serde_json::to_string(job)
            .map_err(|e| PortError::Rejected(format!("job {id}: cannot encode: {e}").into()))?;
        let pulls = match &job.spec.refs {
            Some(refs) => refs
                .pulls
                .iter()
                .map(|p| (refs.org.clone(), refs.repo.clone(), p.number))
                .collect(),
            None => Vec::new(),
        };
        Ok(Columns {
            id: id.clone(),
            job_name: job.spec.job.clone(),
            job_type: job.spec.r#type.map(ProwJobType::as_str),
            state: job.status.state.map(|s| s.as_str()),
            complete: job.status.completion_time.is_some(),
            start_time: job.status.start_time.map(floor_second),
            hidden: job.spec.hidden,
            pulls,
            record,
        })
    }

    /// The record's pull rows after an update: rows it no longer has go,
    /// new ones come; unchanged rows (every update of a job in practice)
    /// are not rewritten, so the update dirties no page of `job_pulls`.
    fn replace_pulls(&self, tx: &Transaction<'_>) -> PortResult<()> {
        let mut stmt = tx
            .prepare_cached("SELECT org, repo, number FROM job_pulls WHERE job_id = ?1")
            .map_err(sql)?;
        let stored = stmt
            .query_map([&self.id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<(String, String, i64)>>>()
            .map_err(sql)?;
        for gone in stored.iter().filter(|p| !self.pulls.contains(p)) {
            execute_cached(
                tx,
                "DELETE FROM job_pulls WHERE org = ?1 AND repo = ?2 AND number = ?3 AND job_id = ?4",
                params![gone.0, gone.1, gone.2, self.id],
            )
            .map_err(sql)?;
        }
        self.insert_pulls(tx)
    }

    /// Inserts the record at version 1 with its pulls and its change-feed
    /// entry, unless its id is stored already; whether it was new.
    fn insert(&self, tx: &Transaction<'_>) -> PortResult<bool> {
        let inserted = execute_cached(
            tx,
            "INSERT INTO jobs
                   (id, version, job_name, job_type, state, complete, start_time, record, hidden)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO NOTHING",
            params![
                self.id,
                self.job_name,
                self.job_type,
                self.state,
                self.complete,
                self.start_time,
                self.record,
                self.hidden
            ],
        )
        .map_err(sql)?;
        if inserted == 0 {
            return Ok(false);
        }
        self.insert_pulls(tx)?;
        record_change(tx, &self.id)?;
        Ok(true)
    }

    fn insert_pulls(&self, tx: &Transaction<'_>) -> PortResult<()> {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO job_pulls (org, repo, number, job_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )
            .map_err(sql)?;
        for (org, repo, number) in &self.pulls {
            stmt.execute(params![org, repo, number, self.id])
                .map_err(sql)?;
        }
        Ok(())
    }
}

/// The record's JSON keeps whole seconds (Kubernetes' time format), so the
/// sort column does too: a listing never orders by precision the record lost.
fn floor_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() < 0 { s - 1 } else { s }
}

/// The smallest whole second not before `t`: `start < t` for a whole-second
/// `start` is `start < ceil(t)`.
fn ceil_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() > 0 { s + 1 } else { s }
}

fn decode(id: &str, record: &str) -> PortResult<ProwJob> {
    serde_json::from_str(record).map_err(|e| {
        PortError::Unavailable(format!("job {id}: stored record does not decode: {e}").into())
    })
}

fn with_version(job: &ProwJob, version: i64) -> ProwJob {
    let mut job = job.clone();
    job.metadata.resource_version = version.to_string();
    job
}

#[async_trait]
impl JobStore for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(id = %job.metadata.name))]
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        let cols = Columns::of(&with_version(job, 1))?;
        self.db.write(move |tx| cols.insert(tx)).await
    }

    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        let id = id.to_string();
        self.db
            .read(move |tx| {
                let record: Option<String> =
                    query_row_cached(tx, "SELECT record FROM jobs WHERE id = ?1", [&id], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(sql)?;
                record.map(|r| decode(&id, &r)).transpose()
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %job.metadata.name))]
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        let given = job.metadata.resource_version.clone();
        // A version this store never issued matches no stored record; it
        // still has to be told apart from a missing record below.
        let expected = given.parse::<i64>().ok();
        let next = expected.and_then(|v| v.checked_add(1)).unwrap_or(0);
        let cols = Columns::of(&with_version(job, next))?;
        self.db
            .write(move |tx| {
                let stored: Option<i64> = query_row_cached(tx, "SELECT version FROM jobs WHERE id = ?1", [&cols.id], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(sql)?;
                match stored {
                    None => return Err(PortError::NotFound(format!("job {}", cols.id).into())),
                    Some(v) if Some(v) != expected => {
                        return Err(PortError::Conflict(format!(
                            "job {}: resource version {given:?} is stale, the stored one is \"{v}\"",
                            cols.id
                        ).into()));
                    }
                    Some(_) => {}
                }
                execute_cached(tx,
                    "UPDATE jobs SET version = ?2, job_name = ?3, job_type = ?4, state = ?5,
                       complete = ?6, start_time = ?7, record = ?8, hidden = ?9
                     WHERE id = ?1",
                    params![
                        cols.id,
                        next,
                        cols.job_name,
                        cols.job_type,
                        cols.state,
                        cols.complete,
                        cols.start_time,
                        cols.record,
                        cols.hidden
                    ],
                )
                .map_err(sql)?;
                cols.replace_pulls(tx)?;
                record_change(tx, &cols.id)?;
                Ok((cols.id, cols.record))
            })
            .await
            // What a later `get` returns, not the caller's copy with
            // sub-second times the JSON does not keep; decoded after the
            // connection is released.
            .and_then(|(id, record)| decode(&id, &record))
    }

    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        let (join, filter, mut args): (&str, &str, Vec<Value>) = match query {
            JobQuery::All => ("", "1", vec![]),
            JobQuery::Pull { org, repo, number } => (
                "JOIN job_pulls p ON p.job_id = j.id",
                "p.org = ? AND p.repo = ? AND p.number = ?
                 AND j.job_type IN ('presubmit', 'batch')",
                vec![
                    Value::Text(org.clone()),
                    Value::Text(repo.clone()),
                    Value::Integer(*number),
                ],
            ),
            JobQuery::Job { name } => ("", "j.job_name = ?", vec![Value::Text(name.clone())]),
            JobQuery::Incomplete => ("", "j.complete = 0", vec![]),
            JobQuery::CompletedBefore(t) => (
                "",
                "j.complete = 1 AND j.start_time < ?",
                vec![Value::Integer(ceil_second(*t))],
            ),
            JobQuery::StartedSince(t) => (
                "",
                "j.start_time >= ?",
                vec![Value::Integer(ceil_second(*t))],
            ),
        };
        // SQLite reads a negative LIMIT as "no limit".
        args.push(Value::Integer(
            limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        ));
        let query = format!(
            "SELECT j.id, j.record FROM jobs j {join} WHERE {filter}
             ORDER BY j.start_time DESC, j.id DESC LIMIT ?"
        );
        self.db
            .read_then(
                move |tx| {
                    let mut stmt = tx.prepare_cached(&query).map_err(sql)?;
                    let rows = stmt
                        .query_map(params_from_iter(args), |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                        })
                        .map_err(sql)?;
                    rows.map(|row| row.map_err(sql))
                        .collect::<PortResult<Vec<(String, String)>>>()
                },
                |rows| {
                    let mut jobs = Vec::with_capacity(rows.len());
                    for (id, record) in rows {
                        jobs.push(decode(&id, &record)?);
                    }
                    Ok(jobs)
                },
            )
            .await
    }

    async fn page(&self, query: &PageQuery) -> PortResult<JobPage> {
        self.page_by_index(query).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn delete(&self, id: &str) -> PortResult<()> {
        let id = id.to_string();
        self.db
            .write(move |tx| {
                execute_cached(tx, "DELETE FROM jobs WHERE id = ?1", [&id]).map_err(sql)?;
                execute_cached(tx, "DELETE FROM job_pulls WHERE job_id = ?1", [&id])
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim> {
        if key.is_empty() {
            return Err(PortError::Rejected("empty dedupe key".into()));
        }
        let key = key.to_string();
        let now = millis(self.clock.now());
        let expires = millis(expires);
        self.db
            .write(move |tx| {
                // Expired keys count as absent; dropping them here both makes
                // that so for `key` and keeps the table from growing.
                execute_cached(tx, "DELETE FROM dedupe_keys WHERE expires <= ?1", [now])
                    .map_err(sql)?;
                let inserted = execute_cached(
                    tx,
                    "INSERT INTO dedupe_keys (key, expires) VALUES (?1, ?2)
                         ON CONFLICT (key) DO NOTHING",
                    params![key, expires],
                )
                .map_err(sql)?;
                if inserted == 1 {
                    return Ok(Claim::Taken);
                }
                let until: i64 = query_row_cached(
                    tx,
                    "SELECT expires FROM dedupe_keys WHERE key = ?1",
                    [&key],
                    |row| row.get(0),
                )
                .map_err(sql)?;
                Ok(Claim::Held {
                    until: Timestamp::from_millisecond(until).unwrap_or(Timestamp::MAX),
                })
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()> {
        if key.is_empty() {
            return Err(PortError::Rejected("empty dedupe key".into()));
        }
        let key = key.to_string();
        let expires = millis(expires);
        self.db
            .write(move |tx| {
                execute_cached(
                    tx,
                    "INSERT INTO dedupe_keys (key, expires) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET expires = excluded.expires, owner = NULL",
                    params![key, expires],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn forget(&self, key: &str) -> PortResult<()> {
        let key = key.to_string();
        self.db
            .write(move |tx| {
                execute_cached(tx, "DELETE FROM dedupe_keys WHERE key = ?1", [&key])
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn claim_as(&self, key: &str, owner: &str, expires: Timestamp) -> PortResult<Claim> {
        self.claim_owned(key, owner, expires).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn release(&self, key: &str, owner: &str) -> PortResult<()> {
        self.release_owned(key, owner).await
    }

    #[tracing::instrument(level = "debug", skip(self, value))]
    async fn put_value(&self, key: &str, value: &str, expires: Timestamp) -> PortResult<()> {
        let (key, value) = (key.to_string(), value.to_string());
        let now = millis(self.clock.now());
        let expires = millis(expires);
        self.db
            .write(move |tx| {
                execute_cached(tx, "DELETE FROM kept_values WHERE expires <= ?1", [now])
                    .map_err(sql)?;
                execute_cached(tx,
                    "INSERT INTO kept_values (key, value, expires) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                    params![key, value, expires],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn get_value(&self, key: &str) -> PortResult<Option<String>> {
        let key = key.to_string();
        let now = millis(self.clock.now());
        self.db
            .read(move |tx| {
                query_row_cached(
                    tx,
                    "SELECT value FROM kept_values WHERE key = ?1 AND expires > ?2",
                    params![key, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn whole_seconds_round_towards_the_comparison_that_keeps_strictness() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(floor_second(t("1970-01-01T00:00:10.5Z")), 10);
        assert_eq!(floor_second(t("1969-12-31T23:59:59.5Z")), -1);
        assert_eq!(ceil_second(t("1970-01-01T00:00:10Z")), 10);
        assert_eq!(ceil_second(t("1970-01-01T00:00:10.001Z")), 11);
        assert_eq!(ceil_second(t("1969-12-31T23:59:59.5Z")), 0);
    }

    #[test]
    fn constraint_errors_map_to_conflict_or_rejected() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT")
            .unwrap();
        conn.execute("INSERT INTO t VALUES ('a', 1)", []).unwrap();
        let dup = conn
            .execute("INSERT INTO t VALUES ('a', 2)", [])
            .unwrap_err();
        assert!(matches!(sql(dup), PortError::Conflict(_)));
        let null = conn
            .execute("INSERT INTO t VALUES ('b', NULL)", [])
            .unwrap_err();
        assert!(matches!(sql(null), PortError::Rejected(_)));
    }

    #[test]
    fn a_locked_file_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        Db::open(&path).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let err = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        let err = sql(err);
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        assert!(err.is_retryable());
    }
}
