//! The syncer on `tekton-pipeline` jobs, together with the dispatcher,
//! against the in-memory twins of the ports (`skiff_testkit`) and a
//! hand-moved clock: each rule of Prow's pipeline controller (and Skiff's
//! deliberate differences) end to end through the records, the PipelineRuns
//! and the log store. Runs are started by the real dispatcher
//! (`handle_batch`). The cluster here is the in-memory `MemoryCluster`; the
//! real kube adapter against the HTTP-level fake API server (Kubernetes is a
//! fake because no API server can run where these tests run) is in
//! `syncer_tekton_api_server.rs`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_core::config::Config;
use skiff_core::keys::GITHUB_REPORTER;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Clock, Cluster, Message, PortError};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{ProwJob, ProwJobState};
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

    async fn sync(&self) -> SyncReport {
        let deps = Deps {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            clusters: &self.clusters,
            logs: self.logs.as_ref(),
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
            redispatch_after: mins(2),
        };
        sync(&deps).await.unwrap()
    }

    /// Creates the record and lets the real dispatcher start its run.
    async fn start(&self, job: ProwJob) -> String {
        let id = job.metadata.name.clone();
        self.store.put(job);
        let message = Message {
            receipt: format!("r-{id}"),
            body: DispatchMessage { id: id.clone() }.to_body(),
            receive_count: 1,
        };
        let deps = skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        skiff_dispatcher::handle_batch(&[message], &deps).await;
        assert_eq!(
            self.store.job(&id).status.state,
            Some(ProwJobState::Pending)
        );
        self.cluster.clear_calls();
        id
    }

    fn job(&self, id: &str) -> ProwJob {
        self.store.job(id)
    }

    fn path(&self, id: &str) -> String {
        skiff_core::prowjob::artifacts::artifact_path(&self.job(id)).unwrap()
    }

    fn abort(&self, id: &str, why: &str) {
        let mut aborted = self.job(id);
        aborted
            .transition(ProwJobState::Aborted, self.clock.now(), why)
            .unwrap();
        self.store.put(aborted);
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
    tekton_presubmit(id, "pull-widgets-pipeline", 42, ts(T0))
}

#[tokio::test]
async fn a_succeeded_run_makes_success_with_a_build_log_naming_the_run() {
    let w = World::new();
    let id = w.start(job("j1")).await;

    // Not picked up yet: pending "scheduling", as the dispatcher wrote.
    let report = w.sync().await;
    assert_eq!(report.writes, 0);
    assert_eq!(w.cluster.calls(), ["list-runs tekton-ci"]);

    // Running: the description follows the condition, written once.
    w.clock.advance(mins(1));
    w.cluster.start_run(&id, w.clock.now());
    assert_eq!(w.sync().await.writes, 1);
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Pending),
            "Tasks Completed: 0 (Failed: 0, Cancelled 0), Skipped: 0",
            false
        )
    );
    assert_eq!(w.sync().await.writes, 0, "nothing changed");

    w.clock.advance(mins(3));
    let end = w.clock.now();
    w.cluster.finish_run(
        &id,
        true,
        "Succeeded",
        "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0",
        end,
    );
    w.cluster.clear_calls();
    let report = w.sync().await;

    let done = w.job(&id);
    assert_eq!(
        state(&done),
        (
            Some(ProwJobState::Success),
            "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0",
            true
        )
    );
    assert_eq!(done.status.completion_time, Some(end));
    let path = w.path(&id);
    assert_eq!(
        w.logs.file(&path, "build-log.txt").as_deref(),
        Some(
            "PipelineRun tekton-ci/j1 (tekton.dev/v1)\n\
             Succeeded: True\n\
             Condition: Succeeded: Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0\n\
             Job: success: Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0\n\
             Task logs: kubectl logs -n tekton-ci -l tekton.dev/pipelineRun=j1 --all-containers\n"
        )
    );
    assert_eq!(
        w.logs.file(&path, "finished.json").as_deref(),
        Some(r#"{"timestamp":1795428240,"passed":true,"result":"success","revision":"sha-j1"}"#)
    );
    assert!(w.logs.file(&path, "started.json").is_some());
    // The run stays while its record does (Prow deletes it with the ProwJob).
    assert!(w.cluster.has_run(&id));
    assert_eq!(w.cluster.calls(), ["list-runs tekton-ci"]);
    assert_eq!(
        report,
        SyncReport {
            jobs: 1,
            store_lists: 1,
            pipeline_run_lists: 1,
            writes: 1,
            log_puts: 4,
            finished: 1,
            ..SyncReport::default()
        }
    );
}

#[tokio::test]
async fn a_false_condition_is_a_failure_whatever_the_reason() {
    let w = World::new();
    let cases = [
        (
            "failed",
            "Failed",
            "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
        ),
        ("cancelled", "Cancelled", ""),
        ("timed-out", "PipelineRunTimeout", ""),
    ];
    for (pr, (id, reason, message)) in cases.into_iter().enumerate() {
        // One pull request each: runs of one change would supersede.
        w.start(tekton_presubmit(
            id,
            "pull-widgets-pipeline",
            pr as i64 + 1,
            ts(T0),
        ))
        .await;
        w.cluster
            .finish_run(id, false, reason, message, w.clock.now());
    }
    w.sync().await;
    for (id, reason, message) in cases {
        let description = if message.is_empty() { reason } else { message };
        assert_eq!(
            state(&w.job(id)),
            (Some(ProwJobState::Failure), description, true),
            "{id}"
        );
        let log = w
            .logs
            .file(&w.path(id), "build-log.txt")
            .unwrap_or_default();
        assert!(log.contains("Succeeded: False\n"), "{id}: {log}");
    }
}

#[tokio::test]
async fn one_run_listing_per_cluster_and_namespace_and_none_without_tekton_jobs() {
    let mut w = World::new();
    let gpu = MemoryCluster::new();
    w.clusters = clusters(&[("default", &w.cluster), ("gpu", &gpu)]);
    w.start(job("a")).await;
    w.start(tekton_presubmit("b", "pull-widgets-pipeline", 43, ts(T0)))
        .await;
    let mut c = tekton_presubmit("c", "pull-widgets-pipeline", 44, ts(T0));
    c.spec.namespace.clear();
    w.start(c).await;
    w.start(presubmit("pod", "pull-widgets-unit", 42, ts(T0)))
        .await;

    let report = w.sync().await;
    let mut calls = w.cluster.calls();
    calls.sort();
    assert_eq!(
        calls,
        ["list", "list-runs tekton-ci", "list-runs test-pods"]
    );
    assert_eq!((report.pod_lists, report.pipeline_run_lists), (1, 2));
    assert!(gpu.calls().is_empty(), "no jobs there, no calls");

    // A pass over pod jobs alone makes no Tekton call.
    let w = World::new();
    w.start(presubmit("pod", "pull-widgets-unit", 42, ts(T0)))
        .await;
    let report = w.sync().await;
    assert_eq!(w.cluster.calls(), ["list"]);
    assert_eq!(report.pipeline_run_lists, 0);
}

#[tokio::test]
async fn runs_have_no_pod_timeouts() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.clock.advance(mins(60));
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Pending), "scheduling", false),
        "never picked up for an hour: still Tekton's to decide"
    );
    w.cluster.start_run(&id, w.clock.now());
    w.clock.advance(Duration::from_secs(49 * 3600));
    w.sync().await;
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
}

#[tokio::test]
async fn an_aborted_job_has_its_run_deleted_and_is_completed() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.cluster.start_run(&id, w.clock.now());
    w.abort(&id, "Aborted by trigger plugin.");

    let report = w.sync().await;

    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Aborted),
            "Aborted by trigger plugin.",
            true
        )
    );
    assert!(!w.cluster.has_run(&id));
    assert_eq!(w.cluster.calls(), ["list-runs tekton-ci", "delete-run j1"]);
    let log = w
        .logs
        .file(&w.path(&id), "build-log.txt")
        .unwrap_or_default();
    assert!(log.contains("Succeeded: Unknown\n"), "{log}");
    assert!(
        log.contains("Job: aborted: Aborted by trigger plugin.\n"),
        "{log}"
    );
    assert_eq!(
        (report.pipeline_run_deletes, report.writes, report.finished),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_aborted_job_that_never_had_a_run_is_completed_without_a_listing() {
    let w = World::new();
    let mut j = job("j1");
    j.transition(ProwJobState::Aborted, ts(T0), "Aborted by a new push.")
        .unwrap();
    w.store.put(j);
    w.sync().await;
    assert!(w.job("j1").is_complete());
    assert_eq!(w.logs.count(), 0, "no build, no artifacts");
    assert_eq!(w.cluster.calls(), ["delete-run j1"]);
}

#[tokio::test]
async fn older_runs_of_a_tekton_presubmit_are_aborted_and_their_runs_deleted() {
    let w = World::new();
    let old = w.start(job("old")).await;
    w.clock.advance(mins(1));
    let mut newer = tekton_presubmit("new", "pull-widgets-pipeline", 42, w.clock.now());
    if let Some(refs) = newer.spec.refs.as_mut() {
        refs.pulls[0].sha = "second-push".into();
    }
    let new = w.start(newer).await;

    let report = w.sync().await;

    let gone = w.job(&old);
    assert_eq!(gone.status.state, Some(ProwJobState::Aborted));
    assert!(gone.is_complete());
    assert_eq!(
        gone.status.prev_report_states.get(GITHUB_REPORTER),
        Some(&ProwJobState::Aborted)
    );
    assert!(!w.cluster.has_run(&old));
    assert!(w.cluster.has_run(&new));
    assert_eq!(w.job(&new).status.state, Some(ProwJobState::Pending));
    assert_eq!(report.superseded, 1);
}

#[tokio::test]
async fn a_missing_run_is_started_again_with_a_new_build_id_until_max_revivals() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    let mut builds = vec![w.job(&id).status.build_id];
    for revival in 1..=3 {
        w.cluster.vanish_run(&id);
        w.clock.advance(mins(1));
        let report = w.sync().await;
        assert_eq!(report.pipeline_run_creates, 1);
        let job = w.job(&id);
        assert_eq!(job.status.pod_revival_count, revival);
        assert_eq!(
            (job.status.state, job.status.description.as_str()),
            (Some(ProwJobState::Pending), "scheduling")
        );
        assert!(!builds.contains(&job.status.build_id), "a new build id");
        assert_eq!(
            w.cluster.run_request(&id).labels["prow.k8s.io/build-id"],
            job.status.build_id
        );
        builds.push(job.status.build_id);
    }
    w.cluster.vanish_run(&id);
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "Job PipelineRun reached max revivals (3) after going missing",
            true
        )
    );
    let log = w
        .logs
        .file(&w.path(&id), "build-log.txt")
        .unwrap_or_default();
    assert!(
        log.contains("Succeeded: (the run was not found)\n"),
        "{log}"
    );
}

#[tokio::test]
async fn a_run_deleted_under_a_running_job_is_an_error() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.cluster.start_run(&id, w.clock.now());
    w.cluster.update_run(&id, |r| r.deleting = true);
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (
            Some(ProwJobState::Error),
            "PipelineRun got deleted unexpectedly",
            true
        )
    );
}

#[tokio::test]
async fn a_completed_run_without_a_condition_is_an_error() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    let now = w.clock.now();
    w.cluster.update_run(&id, |r| {
        r.start_time = Some(now);
        r.completion_time = Some(now);
    });
    w.sync().await;
    assert_eq!(
        state(&w.job(&id)),
        (Some(ProwJobState::Error), "missing end condition", true)
    );
}

#[tokio::test]
async fn pending_tekton_jobs_on_a_cluster_without_tekton_end_as_error() {
    let w = World::new();
    w.cluster.set_no_tekton(true);
    w.store
        .put(pending(job("j1"), "1799999999999999999", ts(T0)));
    w.sync().await;
    let done = w.job("j1");
    assert_eq!(done.status.state, Some(ProwJobState::Error));
    assert!(
        done.status
            .description
            .starts_with("start pipeline: this build cluster cannot run Tekton PipelineRuns"),
        "{}",
        done.status.description
    );
    assert_eq!(w.cluster.calls(), ["list-runs tekton-ci", "create-run j1"]);
}

#[tokio::test]
async fn a_lost_record_write_is_repaired_from_the_runs_build_id() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    let build = w.job(&id).status.build_id;
    let mut stale = w.job(&id);
    stale.status.build_id = "1700000000000000000".into();
    w.store.put(stale);
    assert_eq!(w.sync().await.writes, 1);
    let job = w.job(&id);
    assert_eq!(job.status.build_id, build);
    assert!(job.status.url.ends_with(&build), "{}", job.status.url);
}

#[tokio::test]
async fn an_unreachable_cluster_skips_its_runs_and_the_pass_goes_on() {
    let w = World::new();
    let id = w.start(job("j1")).await;
    w.cluster
        .faults()
        .down(PortError::Unavailable("cluster unreachable".into()));
    let report = w.sync().await;
    assert_eq!((report.failures, report.writes), (1, 0));
    assert_eq!(w.job(&id).status.state, Some(ProwJobState::Pending));
}
