//! The deck's job list from indexes: the window of newest records and its
//! counts per state are read from one covering index (no record decoded),
//! then only the page's records are read. 10,000 records once took 143 ms
//! to list 200 of them (README "Benchmarks" has the figures now).

use rusqlite::types::Value;
use rusqlite::{Transaction, params_from_iter};
use skiff_core::ports::{JobPage, JobQuery, PageQuery, PortResult, page_from_list};
use skiff_core::prowjob::ProwJobState;

use super::{SqliteStore, decode, sql};

// Bulk writes, which exist for the page's bench over a million records.
mod seed;

/// Brings a file written before the deck paged up to date: the `hidden`
/// column (a fresh file has it from `SCHEMA`) filled from the records, and
/// the index the list pages through, which covers every column the window
/// and its counts read (so `jobs_by_start`, its prefix, goes).
pub(super) fn migrate(tx: &Transaction<'_>) -> PortResult<()> {
    let has_hidden: bool = tx
        .query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('jobs') WHERE name = 'hidden'",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;
    if !has_hidden {
        tx.execute_batch(
            "ALTER TABLE jobs ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
             UPDATE jobs SET hidden = 1 WHERE json_extract(record, '$.spec.hidden') = 1;",
        )
        .map_err(sql)?;
    }
    tx.execute_batch(
        "DROP INDEX IF EXISTS jobs_by_start;
         CREATE INDEX IF NOT EXISTS jobs_by_start_page
           ON jobs (start_time, id, state, job_type, hidden);",
    )
    .map_err(sql)
}

/// The `state` column back as a state (the column holds `as_str`).
fn state_of(s: &str) -> Option<ProwJobState> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn limit(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

impl SqliteStore {
    pub(super) async fn page_by_index(&self, q: &PageQuery) -> PortResult<JobPage> {
        let (filter, mut window_args): (&str, Vec<Value>) = match &q.query {
            JobQuery::All => ("1", vec![]),
            JobQuery::Job { name } => ("job_name = ?", vec![Value::Text(name.clone())]),
            _ => return page_from_list(self, q).await,
        };
        window_args.push(limit(q.window));
        let window = format!(
            "WITH w AS (
               SELECT id, state, job_type, hidden, start_time FROM jobs WHERE {filter}
               ORDER BY start_time DESC, id DESC LIMIT ?)"
        );
        let job_type = q
            .job_type
            .map_or(Value::Null, |t| Value::Text(t.as_str().into()));
        let state = q
            .state
            .map_or(Value::Null, |s| Value::Text(s.as_str().into()));
        let q = q.clone();
        self.db
            .read(move |tx| {
                // The window's counts: selected (not hidden, of the type) or
                // not, per state.
                let mut args = window_args.clone();
                args.push(job_type.clone());
                let t = args.len();
                let mut stmt = tx
                    .prepare(&format!(
                        "{window} SELECT state, hidden = 0 AND (?{t} IS NULL OR job_type = ?{t}),
                           COUNT(*) FROM w GROUP BY 1, 2",
                    ))
                    .map_err(sql)?;
                let groups = stmt
                    .query_map(params_from_iter(args), |row| {
                        Ok((
                            row.get::<_, Option<String>>(0)?,
                            row.get::<_, bool>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(sql)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql)?;
                let mut page = JobPage::default();
                for (s, selected, n) in groups {
                    page.scanned += count(n);
                    if !selected {
                        continue;
                    }
                    let s = s.as_deref().and_then(state_of);
                    if let Some(s) = s {
                        *page.counts.entry(s).or_default() += count(n);
                    }
                    if q.state.is_none() || s == q.state {
                        page.matching += count(n);
                    }
                }

                let mut args = window_args;
                let (t, s) = (args.len() + 1, args.len() + 2);
                args.extend([job_type, state, limit(q.limit), limit(q.offset)]);
                let mut stmt = tx
                    .prepare(&format!(
                        "{window} SELECT j.id, j.record FROM w JOIN jobs j ON j.id = w.id
                         WHERE w.hidden = 0 AND (?{t} IS NULL OR w.job_type = ?{t})
                           AND (?{s} IS NULL OR w.state = ?{s})
                         ORDER BY w.start_time DESC, w.id DESC LIMIT ?{} OFFSET ?{}",
                        s + 1,
                        s + 2
                    ))
                    .map_err(sql)?;
                page.jobs = stmt
                    .query_map(params_from_iter(args), |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .map_err(sql)?
                    .map(|row| {
                        let (id, record) = row.map_err(sql)?;
                        decode(&id, &record)
                    })
                    .collect::<PortResult<_>>()?;
                Ok(page)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use skiff_core::ports::{JobStore, PageQuery};
    use skiff_core::prowjob::{ProwJob, ProwJobState};

    use super::super::SqliteStore;

    fn record(id: &str, second: i64, hidden: bool) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = id.into();
        j.spec.job = "unit".into();
        j.spec.hidden = hidden;
        j.status.start_time = jiff::Timestamp::from_second(1_772_323_200 + second).ok();
        j.status.state = Some(ProwJobState::Success);
        j
    }

    fn all() -> PageQuery {
        PageQuery {
            query: skiff_core::ports::JobQuery::All,
            job_type: None,
            state: None,
            offset: 0,
            limit: 10,
            window: 10,
        }
    }

    #[tokio::test]
    async fn a_file_from_before_paging_gets_the_hidden_column_from_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiff.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.create(&record("seen", 1, false)).await.unwrap();
            store.create(&record("private", 2, true)).await.unwrap();
        }
        // Back to the schema of the release before: no `hidden`, the old
        // start-time index.
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "DROP INDEX jobs_by_start_page;
             ALTER TABLE jobs DROP COLUMN hidden;
             CREATE INDEX jobs_by_start ON jobs (start_time, id);",
        )
        .unwrap();
        drop(old);

        let store = SqliteStore::open(&path).unwrap();
        let page = store.page(&all()).await.unwrap();
        let ids: Vec<&str> = page.jobs.iter().map(|j| j.metadata.name.as_str()).collect();
        assert_eq!(ids, ["seen"], "the hidden record is filled in as hidden");
        assert_eq!((page.matching, page.scanned), (1, 2));
        // Opening again changes nothing.
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.page(&all()).await.unwrap().matching, 1);
    }
}
