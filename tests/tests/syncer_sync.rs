//! The syncer and the dispatcher together against the in-memory twins of
//! the ports (`skiff_testkit`), driven by a hand-moved clock: each plank rule
//! for running jobs, end to end through the records, the pods and the log
//! store. Pods are started by the real dispatcher (`handle_batch`), then
//! moved by hand and judged by the real syncer (`sync`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_core::config::Config;
use skiff_core::duration::GoDuration;
use skiff_core::keys::GITHUB_REPORTER;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Clock, Cluster, LogStore, Message, PodPhase, PortError};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{DecorationConfig, ProwJob, ProwJobState};
use skiff_syncer::{Deps, SyncReport, sync};
use skiff_testkit::*;

struct World {
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    logs: Arc<MemoryLogs>,
    cluster: Arc<MemoryCluster>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
    ids: Mutex<BuildIdGenerator>,
}

impl World {
    fn new() -> Self {
        let clock = clock_at(T0);
        let cluster = MemoryCluster::new();
        World {
            store: Arc::new(MemoryStore::new(clock.clone())),
            queue: Arc::new(MemoryQueue::new(clock.clone())),
            logs: Arc::new(MemoryLogs::default()),
            clusters: clusters(&[("default", &cluster)]),
            cluster,
            clock,
            config: config(),
            ids: Mutex::new(BuildIdGenerator::new()),
        }
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            clusters: &self.clusters,
            logs: self.logs.as_ref(),
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
            redispatch_after: mins(2),
        }
    }

    async fn sync(&self) -> SyncReport {
        sync(&self.deps()).await.unwrap()
    }

    fn dispatcher(&self) -> skiff_dispatcher::Deps<'_> {
        skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        }
    }

    async fn deliver(&self, id: &str) -> skiff_core::ports::BatchOutcome {
        let message = Message {
            receipt: format!("r-{id}"),
            body: DispatchMessage { id: id.into() }.to_body(),
            receive_count: 1,
        };
        skiff_dispatcher::handle_batch(&[message], &self.dispatcher()).await
    }

    /// Creates the record and lets the real dispatcher start its pod.
    async fn start(&self, job: ProwJob) -> String {
        let id = job.metadata.name.clone();
        self.store.put(job);
        self.deliver(&id).await;
        assert_eq!(
            self.store.job(&id).status.state,
            Some(ProwJobState::Pending)
        );
        self.cluster.clear_calls();
        id
    }

    fn run(&self, id: &str, log: &str) {
        let now = self.clock.now();
        self.cluster.update(id, |p| {
            p.phase = PodPhase::Running;
            p.start_time = Some(now);
        });
        self.cluster.set_log(id, log);
    }

    fn exit(&self, id: &str, ok: bool) {
        let now = self.clock.now();
        self.cluster.update(id, |p| {
            p.phase = if ok {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
            p.all_succeeded = ok;
            p.finished_time = Some(now);
        });
    }

    fn job(&self, id: &str) -> ProwJob {
        self.store.job(id)
    }

    fn path(&self, id: &str) -> String {
        skiff_core::prowjob::artifacts::artifact_path(&self.job(id)).unwrap()
    }
}

fn state(job: &ProwJob) -> (Option<ProwJobState>, &str, bool) {
    (
        job.status.state,
        job.status.description.as_str(),
        job.is_complete(),
    )
}

fn job(id: &str) -> ProwJob {
    presubmit(id, "pull-widgets-unit", 42, ts(T0))
}

// --- phase mapping ----------------------------------------------------------

#[tokio::test]
async fn succeeded_pod_makes_success_after_its_logs_are_saved() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.clock.advance(mins(1));
    w.run(&id, "ok  \tacme/widgets\t0.4s\n");
    w.clock.advance(mins(3));
    w.exit(&id, true);
    let before = w.clock.now();

    let report = w.sync().await;

    let done = w.job(&id);
    assert_eq!(
        state(&done),
        (Some(ProwJobState::Success), "Job succeeded.", true)
    );
    assert_eq!(done.status.completion_time, Some(before));
    let path = w.path(&id);
    assert!(
        path.starts_with("pr-logs/pull/acme_widgets/42/pull-widgets-unit/"),
        "{path}"
    );
    assert_eq!(
        w.logs.file(&path, "build-log.txt").as_deref(),
        Some("ok  \tacme/widgets\t0.4s\n")
    );
    assert_eq!(
        w.logs.file(&path, "started.json").as_deref(),
        Some(concat!(
            r#"{"timestamp":1795428000,"pull":"42","repos":{"acme/widgets":"main:0a1b2c,42:sha-j1"},"#,
            r#""repo-commit":"sha-j1","repo-version":"sha-j1"}"#
        ))
    );
    assert_eq!(
        w.logs.file(&path, "finished.json").as_deref(),
        Some(r#"{"timestamp":1795428240,"passed":true,"result":"success","revision":"sha-j1"}"#)
    );
    // The pod stays for the sweeper.
    assert!(w.cluster.has(&id));
    assert_eq!(w.cluster.calls(), ["list", "log j1"]);
    assert_eq!(
        report,
        SyncReport {
            jobs: 1,
            store_lists: 1,
            pod_lists: 1,
            writes: 1,
            pod_logs: 1,
            log_puts: 4,
            finished: 1,
            ..SyncReport::default()
        }
    );

    // Complete jobs are not looked at again.
    w.cluster.clear_calls();
    let again = w.sync().await;
    assert_eq!((again.jobs, again.writes, again.pod_lists), (0, 0, 0));
    assert!(w.cluster.calls().is_empty());
}

#[tokio::test]
async fn failed_pod_makes_failure_and_a_pod_that_cannot_run_makes_error() {
    let w = World::new();
    let a = w.start(job("a")).await;
    let b = w
        .start(presubmit("b", "pull-widgets-lint", 42, ts(T0)))
        .await;
    w.run(&a, "FAIL\n");
    w.exit(&a, false);
    w.cluster.update(&b, |p| {
        p.phase = PodPhase::Failed;
        p.reason =
            Some("ContainerCannotRun: exec: \"mak\": executable file not found in $PATH".into());
    });

    w.sync().await;

    assert_eq!(
        state(&w.job(&a)),
        (Some(ProwJobState::Failure), "Job failed.", true)
    );
    assert_eq!(
        w.logs.file(&w.path(&a), "finished.json").as_deref(),
        Some(r#"{"timestamp":1795428000,"passed":false,"result":"failure","revision":"sha-a"}"#)
    );
    assert_eq!(
        state(&w.job(&b)),
        (
            Some(ProwJobState::Error),
            "ContainerCannotRun: exec: \"mak\": executable file not found in $PATH",
            true
        )
    );
}

#[tokio::test]
async fn running_pods_and_young_pending_pods_cost_no_writes() {
    let w = World::new();
    let a = w.start(job("a")).await;
    w.start(presubmit("b", "pull-widgets-lint", 42, ts(T0)))
        .await;
    w.run(&a, "");
    w.clock.advance(mins(4));
    let report = w.sync().await;
    assert_eq!(
        (report.store_lists, report.pod_lists, report.writes),
        (1, 1, 0)
    );
    assert_eq!(w.cluster.calls(), ["list"]);
}

#[tokio::test]
async fn one_pod_listing_per_cluster_and_one_write_per_changed_job() {
    let mut w = World::new();
    let gpu = MemoryCluster::new();
    w.clusters = clusters(&[("default", &w.cluster), ("gpu", &gpu)]);
    for id in ["a", "b", "c"] {
        w.start(presubmit(id, &format!("pull-{id}"), 42, ts(T0)))
            .await;
        w.run(id, "");
    }
    let mut on_gpu = presubmit("g", "pull-gpu", 42, ts(T0));
    on_gpu.spec.cluster = "gpu".into();
    w.store.put(on_gpu);
    w.deliver("g").await;
    gpu.update("g", |p| {
        p.phase = PodPhase::Succeeded;
        p.all_succeeded = true;
    });
    gpu.set_log("g", "");
    gpu.clear_calls();
    w.exit("a", true);

    let report = w.sync().await;
    assert_eq!(report.store_lists, 1);
    assert_eq!(report.pod_lists, 2);
    assert_eq!(report.writes, 2);
    assert_eq!(report.finished, 2);
    assert_eq!(w.cluster.count("list"), 1);
    assert_eq!(gpu.calls(), ["list", "log g"]);
}

/// A cluster whose log reads take a moment, counting how many are read at
/// once.
struct SlowLogs {
    inner: Arc<MemoryCluster>,
    reading: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Cluster for SlowLogs {
    async fn create_pod(
        &self,
        pod: &skiff_core::ports::PodRequest,
    ) -> skiff_core::ports::PortResult<skiff_core::ports::Created> {
        self.inner.create_pod(pod).await
    }
    async fn list_pods(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> skiff_core::ports::PortResult<Vec<skiff_core::ports::PodInfo>> {
        self.inner.list_pods(labels).await
    }
    async fn pod_log(&self, name: &str) -> skiff_core::ports::PortResult<String> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.reading.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        // A round trip: the pass may go on with other jobs meanwhile.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        self.reading.fetch_sub(1, SeqCst);
        self.inner.pod_log(name).await
    }
    async fn delete_pod(&self, name: &str) -> skiff_core::ports::PortResult<()> {
        self.inner.delete_pod(name).await
    }
}

/// A pass over many finished pods does not wait for each job's log copy
/// and write before starting the next (plank reconciles with a pool of
/// workers): the round trips of different jobs overlap, and every job still
/// ends once.
#[tokio::test]
async fn a_pass_syncs_finished_jobs_side_by_side() {
    let mut w = World::new();
    let ids: Vec<String> = (0..40).map(|i| format!("j{i:02}")).collect();
    for id in &ids {
        w.start(presubmit(id, &format!("pull-{id}"), 42, ts(T0)))
            .await;
        w.run(id, "ok\n");
        w.exit(id, true);
    }
    let slow = Arc::new(SlowLogs {
        inner: w.cluster.clone(),
        reading: Default::default(),
        most: Default::default(),
    });
    w.clusters = BTreeMap::from([("default".to_string(), slow.clone() as Arc<dyn Cluster>)]);

    let report = w.sync().await;
    assert_eq!(report.finished, ids.len());
    assert_eq!(report.pod_logs, ids.len());
    let most = slow.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most > 1,
        "log reads never overlapped: the pass is sequential"
    );
    assert!(
        most <= 16,
        "{most} log reads at once: the pass has no bound"
    );
    for id in &ids {
        assert_eq!(state(&w.job(id)).0, Some(ProwJobState::Success), "{id}");
    }
}

// --- timeouts ---------------------------------------------------------------

#[tokio::test]
async fn unscheduled_for_five_minutes_is_a_scheduling_timeout() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.clock.advance(mins(5) - Duration::from_secs(1));
    assert_eq!(w.sync().await.writes, 0);
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));

    w.clock.advance(Duration::from_secs(1));
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Error), "Pod scheduling timeout.", true)
    );
    assert!(!w.cluster.has(&id), "the pod is deleted");
    assert!(w.logs.file(&w.path(&id), "finished.json").is_some());
}

#[tokio::test]
async fn started_but_pending_for_ten_minutes_is_a_pending_timeout_with_the_reason() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.clock.advance(mins(1));
    let started = w.clock.now();
    w.cluster.update(&id, |p| {
        p.start_time = Some(started);
        p.reason = Some("ErrImagePull: golang:1.23: manifest unknown".into());
    });
    w.clock.advance(mins(9));
    w.sync().await;
    assert_eq!(
        w.job(&id).status.state,
        Some(ProwJobState::Pending),
        "9m pending is fine"
    );

    w.clock.advance(mins(1));
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Pod pending timeout: ErrImagePull: golang:1.23: manifest unknown",
            true
        )
    );
    assert!(!w.cluster.has(&id));
}

#[tokio::test]
async fn running_for_48_hours_is_aborted_and_completed() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "still going\n");
    w.clock.advance(Duration::from_secs(48 * 3600 - 1));
    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));

    w.clock.advance(Duration::from_secs(1));
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Aborted), "Pod running timeout.", true)
    );
    assert!(!w.cluster.has(&id));
    let path = w.path(&id);
    assert_eq!(
        w.logs.file(&path, "build-log.txt").as_deref(),
        Some("still going\n")
    );
    assert!(
        w.logs
            .file(&path, "finished.json")
            .unwrap()
            .contains(r#""result":"aborted""#)
    );
}

/// crier's GCS reporter for a decorated pod: the pod utilities uploaded the
/// log and `started.json`; the syncer reads no pod log, leaves what they
/// wrote, writes the `finished.json` the sidecar did not (its result in
/// lowercase, `uploader: crier`) and `prowjob.json`.
#[tokio::test]
async fn a_decorated_job_keeps_what_its_pod_utilities_uploaded_and_gets_only_what_is_missing() {
    let w = World::new();
    let mut decorated = job("j1");
    decorated.spec.decoration_config = Some(DecorationConfig::default());
    let id = w.start(decorated).await;
    w.run(&id, "the pod's own log, which the sidecar uploaded");
    let path = w.path(&id);
    let sidecars_started = r#"{"timestamp":1795428000,"repo-commit":"merged"}"#;
    w.logs
        .put(&path, "started.json", sidecars_started.as_bytes())
        .await
        .unwrap();
    w.logs
        .put(&path, "build-log.txt", b"uploaded by the sidecar")
        .await
        .unwrap();
    w.clock.advance(mins(2));
    w.exit(&id, false);

    let report = w.sync().await;

    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Failure));
    assert_eq!(w.cluster.calls(), ["list"], "no pod log is read");
    assert_eq!(report.pod_logs, 0);
    assert_eq!(
        w.logs.file(&path, "started.json").as_deref(),
        Some(sidecars_started)
    );
    assert_eq!(
        w.logs.file(&path, "build-log.txt").as_deref(),
        Some("uploaded by the sidecar")
    );
    assert_eq!(
        w.logs.file(&path, "finished.json").as_deref(),
        Some(
            r#"{"timestamp":1795428120,"passed":false,"metadata":{"uploader":"crier"},"result":"failure"}"#
        )
    );
    let record: ProwJob =
        serde_json::from_str(&w.logs.file(&path, "prowjob.json").unwrap()).unwrap();
    assert_eq!(record.metadata.name, id);
}

#[tokio::test]
async fn per_job_timeouts_from_decoration_config_win() {
    let w = World::new();
    let mut quick = job("j1");
    quick.spec.decoration_config = Some(DecorationConfig {
        pod_running_timeout: Some(GoDuration::from_hours(1)),
        pod_unscheduled_timeout: Some(GoDuration::from_mins(30)),
        ..decoration()
    });
    let mut patient = quick.clone();
    patient.metadata.name = "j2".into();
    patient.spec.job = "pull-widgets-slow".into();
    let running = w.start(quick).await;
    let unscheduled = w.start(patient).await;
    w.run(&running, "");
    w.clock.advance(mins(29));
    w.sync().await;
    assert_eq!(
        w.job(&unscheduled).status.state,
        Some(ProwJobState::Pending),
        "29m < 30m"
    );
    assert_eq!(
        w.job(&running).status.state,
        Some(ProwJobState::Pending),
        "29m < 1h"
    );

    w.clock.advance(mins(31));
    w.sync().await;
    assert_eq!(
        state(&w.job(&running)),
        (Some(ProwJobState::Aborted), "Pod running timeout.", true)
    );
    assert_eq!(
        state(&w.job(&unscheduled)),
        (Some(ProwJobState::Error), "Pod scheduling timeout.", true)
    );
}

// --- unexpected stops ---------------------------------------------------------

#[tokio::test]
async fn oom_killed_pod_is_an_error_and_stays_for_inspection() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "fatal error: runtime: out of memory\n");
    w.cluster.update(&id, |p| p.oom_killed = true);
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Job pod was OOM killed by the cluster.",
            true
        )
    );
    assert!(w.cluster.has(&id));
    assert!(
        w.logs
            .file(&w.path(&id), "build-log.txt")
            .unwrap()
            .contains("out of memory")
    );
}

#[tokio::test]
async fn evicted_pod_is_revived_with_a_new_build_id_until_max_revivals() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    let mut builds = vec![w.job(&id).status.build_id];

    for revival in 1..=3 {
        w.run(&id, "");
        w.cluster.update(&id, |p| {
            p.phase = PodPhase::Failed;
            p.evicted = true;
            p.reason = Some("Evicted".into());
        });
        w.clock.advance(mins(1));
        let report = w.sync().await;
        assert!(
            !w.cluster.has(&id),
            "revival {revival}: the evicted pod is deleted"
        );
        assert_eq!(
            report.writes, 0,
            "revival {revival}: the record waits for the pod to go"
        );
        assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));

        w.clock.advance(mins(1));
        w.sync().await;
        let job = w.job(&id);
        assert!(w.cluster.has(&id), "revival {revival}: a new pod");
        assert_eq!(job.status.pod_revival_count, revival);
        assert_eq!(job.status.state, Some(ProwJobState::Pending));
        let build = job.status.build_id.clone();
        assert_eq!(w.cluster.build_id(&id), build);
        assert!(
            !builds.contains(&build),
            "revival {revival}: a new build id"
        );
        assert!(job.status.url.ends_with(&build), "{}", job.status.url);
        builds.push(build);
    }

    w.cluster.update(&id, |p| {
        p.phase = PodPhase::Failed;
        p.evicted = true;
    });
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Job pod reached max revivals (3) after being stopped unexpectedly (evicted)",
            true
        )
    );
}

#[tokio::test]
async fn evicted_pod_with_error_on_eviction_is_an_error() {
    let w = World::new();
    let mut j = job("j1");
    j.spec.error_on_eviction = true;
    let id = w.start(j).await;
    w.cluster.update(&id, |p| {
        p.phase = PodPhase::Failed;
        p.evicted = true;
    });
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Job pod was evicted by the cluster.",
            true
        )
    );
    assert!(w.cluster.has(&id), "kept, as plank keeps it");
}

#[tokio::test]
async fn a_vanished_pod_is_recreated_with_a_new_build_id() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    let first = w.job(&id).status.build_id;
    w.cluster.vanish(&id);
    w.clock.advance(mins(1));

    let report = w.sync().await;

    let job = w.job(&id);
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(job.status.pod_revival_count, 1);
    assert_ne!(job.status.build_id, first);
    assert_eq!(w.cluster.build_id(&id), job.status.build_id);
    assert_eq!((report.pod_creates, report.writes), (1, 1));
}

#[tokio::test]
async fn a_pod_deleted_under_a_running_job_is_an_error() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "interrupted\n");
    w.cluster.update(&id, |p| p.deleting = true);
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Pod got deleted unexpectedly",
            true
        )
    );
    assert_eq!(
        w.logs.file(&w.path(&id), "build-log.txt").as_deref(),
        Some("interrupted\n")
    );
}

#[tokio::test]
async fn a_lost_record_write_after_a_revival_is_repaired_from_the_pods_build_id() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.cluster.vanish(&id);
    w.store.conflict_on_next_update(&id);
    let report = w.sync().await;
    assert_eq!((report.pod_creates, report.conflicts), (1, 1));
    let pod_build = w.cluster.build_id(&id);
    assert_ne!(w.job(&id).status.build_id, pod_build, "the write was lost");

    w.sync().await;
    let job = w.job(&id);
    assert_eq!(job.status.build_id, pod_build, "taken from the pod's label");
    assert!(job.status.url.ends_with(&pod_build));
}

// --- aborts -----------------------------------------------------------------

#[tokio::test]
async fn an_aborted_job_has_its_pod_deleted_and_is_completed() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "half way\n");
    let mut aborted = w.job(&id);
    aborted
        .transition(
            ProwJobState::Aborted,
            w.clock.now(),
            "Aborted by a new push.",
        )
        .unwrap();
    w.store.put(aborted);
    w.clock.advance(Duration::from_secs(30));

    w.sync().await;

    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Aborted), "Aborted by a new push.", true)
    );
    assert!(!w.cluster.has(&id));
    assert_eq!(
        w.logs.file(&w.path(&id), "build-log.txt").as_deref(),
        Some("half way\n")
    );
}

#[tokio::test]
async fn an_aborted_job_that_never_had_a_pod_is_completed() {
    let w = World::new();
    let mut j = job("j1");
    j.transition(ProwJobState::Aborted, ts(T0), "Aborted by a new push.")
        .unwrap();
    w.store.put(j);
    let report = w.sync().await;
    assert!(w.job("j1").is_complete());
    assert_eq!(w.logs.count(), 0, "no build, no artifacts");
    assert_eq!(
        w.cluster.calls(),
        ["delete j1"],
        "deleting a missing pod is fine"
    );
    assert_eq!((report.writes, report.finished), (1, 1));
}

#[tokio::test]
async fn older_runs_of_a_presubmit_are_aborted_and_never_reported() {
    let w = World::new();
    let old = w
        .start(presubmit("old", "pull-widgets-unit", 42, ts(T0)))
        .await;
    w.run(&old, "");
    let queued = presubmit(
        "queued",
        "pull-widgets-unit",
        42,
        ts(T0).checked_add(Duration::from_secs(1)).unwrap(),
    );
    w.store.put(queued);
    w.clock.advance(mins(1));
    let mut newer = presubmit("new", "pull-widgets-unit", 42, w.clock.now());
    if let Some(refs) = newer.spec.refs.as_mut() {
        refs.pulls[0].sha = "second-push".into();
    }
    let new = w.start(newer).await;
    let other_pr = w
        .start(presubmit("other", "pull-widgets-unit", 43, ts(T0)))
        .await;

    let report = w.sync().await;

    for gone in [old.as_str(), "queued"] {
        let job = w.job(gone);
        assert_eq!(job.status.state, Some(ProwJobState::Aborted), "{gone}");
        assert!(job.is_complete(), "{gone}: completed in the same pass");
        assert_eq!(
            job.status.prev_report_states.get(GITHUB_REPORTER),
            Some(&ProwJobState::Aborted),
            "{gone}: marked as reported"
        );
    }
    assert!(!w.cluster.has(&old));
    assert_eq!(w.job(&new).status.state, Some(ProwJobState::Pending));
    assert_eq!(w.job(&other_pr).status.state, Some(ProwJobState::Pending));
    assert_eq!(report.superseded, 2);
    assert_eq!(
        report.writes, 4,
        "abort, then complete, for each of the two"
    );
}

// --- triggered jobs -----------------------------------------------------------

#[tokio::test]
async fn a_triggered_job_without_a_live_message_is_sent_again_once_per_period() {
    let w = World::new();
    w.store.put(job("lost"));
    w.store.put(presubmit(
        "young",
        "pull-widgets-lint",
        42,
        ts(T0).checked_add(mins(1)).unwrap(),
    ));

    w.clock.advance(mins(2) - Duration::from_secs(1));
    w.sync().await;
    assert!(w.queue.sent_ids().is_empty(), "younger than 2m");

    w.clock.advance(Duration::from_secs(1));
    let report = w.sync().await;
    assert_eq!(w.queue.sent_ids(), ["lost"]);
    assert_eq!(report.redispatched, 1);

    w.clock.advance(mins(1));
    w.sync().await;
    assert_eq!(
        w.queue.sent_ids(),
        ["lost", "young"],
        "lost not again within the period"
    );

    w.clock.advance(mins(1));
    w.sync().await;
    assert_eq!(w.queue.sent_ids(), ["lost", "young", "lost"]);
}

#[tokio::test]
async fn a_triggered_job_the_dispatcher_keeps_deferring_is_not_sent_again() {
    let w = World::new();
    let mut busy = job("running");
    busy.spec.max_concurrency = 1;
    w.start(busy).await;
    let start = ts(T0).checked_add(Duration::from_secs(1)).unwrap();
    let mut waiting = presubmit("waiting", "pull-widgets-unit", 7, start);
    waiting.spec.max_concurrency = 1;
    w.store.put(waiting);
    for _ in 0..30 {
        let out = w.deliver("waiting").await;
        assert_eq!(out.retry_after.len(), 1, "deferred");
        w.clock.advance(Duration::from_secs(10));
        w.sync().await;
    }
    assert!(w.queue.sent_ids().is_empty(), "its message is alive");
}

// --- failures -----------------------------------------------------------------

#[tokio::test]
async fn a_job_whose_log_cannot_be_read_waits_for_the_next_pass() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "done\n");
    w.exit(&id, true);
    w.cluster.set_logs_unavailable(true);

    let report = w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
    assert_eq!((report.writes, report.failures), (0, 1));

    w.cluster.set_logs_unavailable(false);
    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Success));
    assert_eq!(
        w.logs.file(&w.path(&id), "build-log.txt").as_deref(),
        Some("done\n")
    );
}

#[tokio::test]
async fn a_lost_write_leaves_the_job_for_the_next_pass() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.run(&id, "");
    w.exit(&id, true);
    w.store.conflict_on_next_update(&id);

    let report = w.sync().await;
    assert_eq!(
        (report.writes, report.conflicts, report.finished),
        (1, 1, 0)
    );
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));

    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Success));
}

#[tokio::test]
async fn an_unreachable_cluster_skips_its_jobs_and_the_pass_goes_on() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.cluster
        .faults()
        .down(PortError::Unavailable("cluster unreachable".into()));
    let report = w.sync().await;
    assert_eq!(
        (report.pod_lists, report.failures, report.writes),
        (1, 1, 0)
    );
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
}

#[tokio::test]
async fn a_store_outage_fails_the_pass() {
    let w = World::new();
    w.store
        .faults()
        .down(PortError::Unavailable("store is down".into()));
    assert!(sync(&w.deps()).await.is_err());
}
