//! The sweeper on the SQLite store `skiff dev` uses: its listing of old
//! records and of a job's runs decide what is kept.

use std::sync::Arc;
use std::time::Duration;

use skiff_core::config::Periodic;
use skiff_core::config::jobs::JobBase;
use skiff_core::ports::{Clock, JobQuery, JobStore};
use skiff_core::prowjob::ProwJobState;
use skiff_local::store::{Db, SqliteStore};
use skiff_sweeper::{Deps, sweep};
use skiff_testkit::{
    ManualClock, MemoryCluster, clusters, complete, config, periodic, presubmit, ts,
};

#[tokio::test]
async fn old_records_go_and_each_configured_periodic_keeps_its_latest_run() {
    let clock = Arc::new(ManualClock::new(ts("2026-12-23T10:00:00Z")));
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), clock.clone());
    let day = Duration::from_secs(24 * 3600);
    let ago = |days: u32| clock.now().checked_sub(day * days).unwrap();
    let runs = [
        periodic("n1", "ci-nightly", ago(10)),
        periodic("n2", "ci-nightly", ago(9)),
        presubmit("p1", "pull-widgets-unit", 42, ago(8)),
        presubmit("p2", "pull-widgets-unit", 42, ago(6)),
    ];
    for run in runs {
        let start = run.status.start_time.unwrap();
        let done = complete(run, ProwJobState::Success, start);
        assert!(store.create(&done).await.unwrap());
    }
    let mut config = config();
    config.jobs.periodics = vec![Periodic {
        base: JobBase {
            name: "ci-nightly".into(),
            ..JobBase::default()
        },
        ..Periodic::default()
    }];
    let cluster = MemoryCluster::new();
    let clusters = clusters(&[("default", &cluster)]);
    let deps = Deps {
        store: &store,
        clusters: &clusters,
        config: &config,
        clock: clock.as_ref(),
    };

    let report = sweep(&deps).await.unwrap();

    let mut left: Vec<String> = store
        .list(&JobQuery::All, None)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.metadata.name)
        .collect();
    left.sort();
    assert_eq!(left, ["n2", "p2"]);
    assert_eq!(
        (report.records_deleted, report.latest_periodics_kept),
        (2, 1)
    );
}
