//! Many records written at once, for measuring the job list over a million
//! of them: through `create`, one transaction a record, 10,000 take ~17 s.
//! Here the rows `create` writes (the record at version 1, its pulls, the
//! change feed's entry; the same `Columns::insert`) go in in one
//! transaction; a test below pins that the two write the same rows.

use skiff_core::ports::PortResult;
use skiff_core::prowjob::ProwJob;

use super::super::{Columns, SqliteStore, with_version};

impl SqliteStore {
    /// Creates every record of `jobs` as [`create`] does, skipping ids
    /// already stored, in one transaction; returns how many were new. For
    /// benches and tests: one transaction holds the file's write lock until
    /// the last record is in.
    ///
    /// [`create`]: skiff_core::ports::JobStore::create
    #[doc(hidden)]
    pub async fn create_all<I>(&self, jobs: I) -> PortResult<usize>
    where
        I: IntoIterator<Item = ProwJob> + Send + 'static,
    {
        self.db
            .write(move |tx| {
                let mut created = 0;
                for job in jobs {
                    if Columns::of(&with_version(&job, 1))?.insert(tx)? {
                        created += 1;
                    }
                }
                Ok(created)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use rusqlite::types::Value;
    use skiff_core::ports::JobStore;
    use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Pull, Refs};

    use super::super::super::SqliteStore;

    fn record(i: i64) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = format!("seed-{i}");
        j.spec.job = ["unit", "lint"][usize::try_from(i % 2).unwrap_or(0)].into();
        j.spec.r#type = Some(if i % 3 == 0 {
            ProwJobType::Periodic
        } else {
            ProwJobType::Presubmit
        });
        j.spec.hidden = i % 4 == 0;
        if i % 3 != 0 {
            j.spec.refs = Some(Refs {
                org: "o".into(),
                repo: "r".into(),
                pulls: vec![Pull {
                    number: i,
                    ..Pull::default()
                }],
                ..Refs::default()
            });
        }
        j.status.start_time = jiff::Timestamp::from_second(1_772_323_200 + i).ok();
        j.status.state = Some(ProwJobState::Pending);
        j
    }

    /// Every row of the tables `create` writes, column by column.
    fn rows(path: &std::path::Path) -> Vec<Vec<Value>> {
        let conn = Connection::open(path).unwrap();
        let mut all = Vec::new();
        for (table, order) in [
            ("jobs", "id"),
            ("job_pulls", "job_id, number"),
            ("job_changes", "seq"),
        ] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
                .unwrap();
            let n = stmt.column_count();
            let got = stmt
                .query_map([], |row| {
                    (0..n)
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            all.push(vec![Value::Text(table.into())]);
            all.extend(got);
        }
        all
    }

    #[tokio::test]
    async fn creating_all_at_once_writes_the_rows_create_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (one, all) = (dir.path().join("one.db"), dir.path().join("all.db"));
        {
            let store = SqliteStore::open(&one).unwrap();
            for i in 0..12 {
                assert!(store.create(&record(i)).await.unwrap());
            }
            assert!(!store.create(&record(3)).await.unwrap());
            let store = SqliteStore::open(&all).unwrap();
            assert_eq!(store.create_all((0..12).map(record)).await.unwrap(), 12);
            assert_eq!(store.create_all([record(3)]).await.unwrap(), 0);
        }
        assert_eq!(rows(&one), rows(&all));
    }
}
