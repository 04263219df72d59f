//! The sweeper against in-memory ports: record ages, the periodics' latest
//! runs, pod ages and orphans.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::config::jobs::JobBase;
use skiff_core::config::{Config, Periodic};
use skiff_core::duration::GoDuration;
use skiff_core::ports::{Clock, Cluster, PortError};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::labels::{CREATED_BY_PROW, PROW_BUILD_ID, PROW_JOB_ID};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_sweeper::{Deps, SweepReport, sweep};
use skiff_testkit::{
    ManualClock, MemoryCluster, MemoryStore, T0, clock_at, clusters, complete, config, pending,
    periodic, presubmit, ts,
};

const DAY: u64 = 24 * 3600;

struct World {
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    cluster: Arc<MemoryCluster>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
}

impl World {
    fn new() -> Self {
        // Far enough from T0 that "days ago" stays after it.
        let clock = clock_at("2026-12-23T10:00:00Z");
        let cluster = MemoryCluster::new();
        World {
            store: Arc::new(MemoryStore::new(clock.clone())),
            clusters: clusters(&[("default", &cluster)]),
            cluster,
            clock,
            config: config(),
        }
    }

    fn ago(&self, d: Duration) -> Timestamp {
        self.clock.now().checked_sub(d).unwrap()
    }

    async fn sweep(&self) -> SweepReport {
        let deps = Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
        };
        sweep(&deps).await.unwrap()
    }

    /// A record started `started` ago and completed `completed` ago.
    fn done(&self, job: ProwJob, started: Duration, completed: Duration) -> ProwJob {
        let mut job = job;
        job.status.start_time = Some(self.ago(started));
        complete(job, ProwJobState::Success, self.ago(completed))
    }

    /// A pod of job `id`, created and started `started` ago.
    fn pod(&self, id: &str, started: Option<Duration>) {
        let created = self.ago(started.unwrap_or(Duration::ZERO));
        let build = BuildIdGenerator::new().next(created.as_millisecond());
        self.cluster.add(
            id,
            &[
                (CREATED_BY_PROW, "true"),
                (PROW_JOB_ID, id),
                (PROW_BUILD_ID, &build),
            ],
        );
        self.cluster
            .update(id, |p| p.start_time = started.map(|_| created));
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test]
async fn complete_records_older_than_max_prowjob_age_are_deleted() {
    let w = World::new();
    let old = w.done(
        presubmit("old", "pull-a", 1, ts(T0)),
        secs(8 * DAY),
        secs(8 * DAY - 600),
    );
    let young = w.done(
        presubmit("young", "pull-a", 1, ts(T0)),
        secs(6 * DAY),
        secs(6 * DAY),
    );
    let mut running = presubmit("running", "pull-a", 1, ts(T0));
    running.status.start_time = Some(w.ago(secs(9 * DAY)));
    let edge = w.done(
        presubmit("edge", "pull-a", 1, ts(T0)),
        secs(7 * DAY),
        secs(7 * DAY),
    );
    for j in [old, young, running, edge] {
        w.store.put(j);
    }

    let report = w.sweep().await;

    assert_eq!(
        w.store.ids(),
        ["edge", "running", "young"],
        "exactly 7d is not older than 7d"
    );
    assert_eq!(report.records_deleted, 1);
}

#[tokio::test]
async fn the_latest_run_of_a_configured_periodic_is_kept_however_old() {
    let mut w = World::new();
    w.config.jobs.periodics = vec![Periodic {
        base: JobBase {
            name: "ci-nightly".into(),
            ..JobBase::default()
        },
        ..Periodic::default()
    }];
    let runs = [
        ("n1", "ci-nightly", 10),
        ("n2", "ci-nightly", 9),
        ("gone1", "ci-removed", 10),
        ("gone2", "ci-removed", 9),
    ];
    for (id, job, days) in runs {
        let run = w.done(
            periodic(id, job, ts(T0)),
            secs(days * DAY),
            secs(days * DAY),
        );
        w.store.put(run);
    }

    let report = w.sweep().await;

    assert_eq!(
        w.store.ids(),
        ["n2"],
        "a periodic no longer configured keeps nothing"
    );
    assert_eq!(report.latest_periodics_kept, 1);
    assert_eq!(report.records_deleted, 3);

    // A newer run takes over; the kept one can go once the newer is old too.
    let newer = w.done(
        periodic("n3", "ci-nightly", ts(T0)),
        secs(8 * DAY),
        secs(8 * DAY),
    );
    w.store.put(newer);
    w.sweep().await;
    assert_eq!(w.store.ids(), ["n3"]);
}

#[tokio::test]
async fn pods_of_complete_jobs_go_after_max_pod_age_or_the_ttl() {
    let mut w = World::new();
    w.config.prow.sinker.terminated_pod_ttl = Some(GoDuration::from_hours(2));
    // Started 25h ago, finished 1h ago: aged.
    w.store.put(w.done(
        presubmit("aged", "pull-a", 1, ts(T0)),
        secs(25 * 3600),
        secs(3600),
    ));
    w.pod("aged", Some(secs(25 * 3600)));
    // Finished 3h ago: past the 2h TTL.
    w.store.put(w.done(
        presubmit("ttled", "pull-a", 1, ts(T0)),
        secs(4 * 3600),
        secs(3 * 3600),
    ));
    w.pod("ttled", Some(secs(4 * 3600)));
    // Finished 1h ago, started 2h ago: stays.
    w.store.put(w.done(
        presubmit("fresh", "pull-a", 1, ts(T0)),
        secs(2 * 3600),
        secs(3600),
    ));
    w.pod("fresh", Some(secs(2 * 3600)));
    // Still running after 30h: never deleted here (the syncer owns it).
    let mut running = pending(
        presubmit("running", "pull-a", 1, ts(T0)),
        "1",
        w.ago(secs(30 * 3600)),
    );
    running.status.start_time = Some(w.ago(secs(30 * 3600)));
    w.store.put(running);
    w.pod("running", Some(secs(30 * 3600)));

    let report = w.sweep().await;

    assert_eq!(w.cluster.names(), ["fresh", "running"]);
    assert_eq!(report.pods_deleted, 2);
    assert_eq!(report.pod_lists, 1);
}

#[tokio::test]
async fn terminated_pod_ttl_defaults_to_max_pod_age() {
    let w = World::new();
    w.store.put(w.done(
        presubmit("a", "pull-a", 1, ts(T0)),
        secs(23 * 3600),
        secs(23 * 3600),
    ));
    w.pod("a", None);
    w.sweep().await;
    assert_eq!(w.cluster.names(), ["a"], "23h < 24h");
    w.clock.advance(secs(3601));
    w.sweep().await;
    assert!(w.cluster.names().is_empty(), "completed over 24h ago");
}

#[tokio::test]
async fn orphan_pods_are_deleted_once_older_than_thirty_seconds() {
    let w = World::new();
    // Created just now (its build id says so), not started yet.
    w.pod("young-orphan", None);
    w.pod("old-orphan", Some(secs(31)));
    w.cluster.add("no-age", &[(CREATED_BY_PROW, "true")]);

    let report = w.sweep().await;

    assert_eq!(w.cluster.names(), ["young-orphan"]);
    assert_eq!(report.orphans_deleted, 2);

    w.clock.advance(secs(30));
    w.sweep().await;
    assert_eq!(
        w.cluster.names(),
        ["young-orphan"],
        "30s is not older than 30s"
    );
    w.clock.advance(secs(1));
    w.sweep().await;
    assert!(w.cluster.names().is_empty());
}

#[tokio::test]
async fn a_pod_is_matched_to_its_job_by_the_id_label() {
    let w = World::new();
    let mut running = presubmit("job-1", "pull-a", 1, ts(T0));
    running.status.start_time = Some(w.ago(secs(3600)));
    w.store.put(running);
    w.cluster.add(
        "renamed-pod",
        &[(CREATED_BY_PROW, "true"), (PROW_JOB_ID, "job-1")],
    );
    w.cluster
        .update("renamed-pod", |p| p.start_time = Some(w.ago(secs(3600))));
    w.sweep().await;
    assert_eq!(
        w.cluster.names(),
        ["renamed-pod"],
        "its job is running, not orphaned"
    );
}

#[tokio::test]
async fn excluded_clusters_are_not_swept() {
    let mut w = World::new();
    w.config.prow.sinker.exclude_clusters = vec!["default".into()];
    w.pod("orphan", Some(secs(3600)));
    let report = w.sweep().await;
    assert_eq!(report.pod_lists, 0);
    assert_eq!(w.cluster.names(), ["orphan"]);
}

#[tokio::test]
async fn a_store_outage_keeps_every_pod() {
    let w = World::new();
    w.pod("a", Some(secs(3 * DAY)));
    w.store
        .faults()
        .down(PortError::Unavailable("store is down".into()));
    let deps = Deps {
        store: w.store.as_ref(),
        clusters: &w.clusters,
        config: &w.config,
        clock: w.clock.as_ref(),
    };
    assert!(sweep(&deps).await.is_err());
    assert_eq!(w.cluster.names(), ["a"]);
}
