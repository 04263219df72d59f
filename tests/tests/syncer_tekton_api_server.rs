//! `tekton-pipeline` jobs end to end through the real Kubernetes adapter: the
//! real dispatcher and syncer over the in-memory store, queue and log store
//! (the twins of `skiff_testkit`),
//! with the build cluster a `KubeCluster` reading a kubeconfig that points at
//! `skiff_kube::fake::FakeApiServer`. Kubernetes (and Tekton) is an
//! HTTP-level fake because no API server can run where these tests run; the
//! fake serves `tekton.dev/v1` PipelineRuns in the API's wire format and
//! records every request. No Tekton controller runs: each test moves the
//! run's `Succeeded` condition itself (`finish_pipeline_run`), as Tekton
//! would.
//!
//! Each test checks the job's state and description, the exact requests the
//! cluster received, and what the log store holds: a PipelineRun succeeding
//! → `success`, failing → `failure`, and an aborted job → its run deleted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skiff_core::config::Config;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{BatchOutcome, Clock, Cluster, Message};
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_kube::KubeCluster;
use skiff_kube::fake::FakeApiServer;
use skiff_syncer::{Deps, SyncReport, sync};
use skiff_testkit::*;

const RUNS: &str = "/apis/tekton.dev/v1/namespaces/tekton-ci/pipelineruns";
/// The syncer's one PipelineRun listing per pass, cluster and namespace.
const LIST_RUNS: &str = "GET /apis/tekton.dev/v1/namespaces/tekton-ci/pipelineruns?&labelSelector=created-by-prow%3Dtrue";

struct World {
    server: FakeApiServer,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    logs: Arc<MemoryLogs>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
    ids: Mutex<BuildIdGenerator>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let server = FakeApiServer::start().await;
        server.require_token(FakeApiServer::TOKEN);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, "fake").unwrap();
        let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::kubeconfig(
            "default",
            &kubeconfig,
            None,
            "test-pods",
        ));
        let clock = clock_at(T0);
        World {
            server,
            store: Arc::new(MemoryStore::new(clock.clone())),
            queue: Arc::new(MemoryQueue::new(clock.clone())),
            logs: Arc::new(MemoryLogs::default()),
            clusters: BTreeMap::from([("default".to_string(), cluster)]),
            clock,
            config: config(),
            ids: Mutex::new(BuildIdGenerator::new()),
            _dir: dir,
        }
    }

    /// Writes the record and delivers its dispatch message.
    async fn dispatch(&self, job: ProwJob) -> BatchOutcome {
        let id = job.metadata.name.clone();
        self.store.put(job);
        let message = Message {
            receipt: format!("r-{id}"),
            body: DispatchMessage { id }.to_body(),
            receive_count: 1,
        };
        let deps = skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        skiff_dispatcher::handle_batch(&[message], &deps).await
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

    /// The requests since the last call, as `VERB path?query`.
    fn take_requests(&self) -> Vec<String> {
        let lines = self
            .server
            .requests()
            .iter()
            .map(|r| match r.query.as_deref() {
                Some(q) if !q.is_empty() => format!("{} {}?{q}", r.method, r.path),
                _ => r.line(),
            })
            .collect();
        self.server.clear_requests();
        lines
    }

    fn build_log(&self, id: &str) -> String {
        let path = artifact_path(&self.store.job(id)).unwrap();
        self.logs.file(&path, "build-log.txt").unwrap_or_default()
    }
}

fn state(job: &ProwJob) -> (Option<ProwJobState>, &str, bool) {
    (
        job.status.state,
        job.status.description.as_str(),
        job.is_complete(),
    )
}

/// Dispatches a tekton presubmit and checks it became a PipelineRun.
async fn started(w: &World, id: &str, pr: i64) {
    let job = tekton_presubmit(id, "pull-widgets-pipeline", pr, ts(T0));
    assert_eq!(w.dispatch(job).await, BatchOutcome::default());
    assert_eq!(w.take_requests(), [format!("POST {RUNS}")]);
    let job = w.store.job(id);
    assert_eq!(
        state(&job),
        (Some(ProwJobState::Pending), "scheduling", false)
    );
    let run = w.server.pipeline_run(id).unwrap();
    assert_eq!(run["apiVersion"], "tekton.dev/v1");
    assert_eq!(
        run["metadata"]["labels"]["prow.k8s.io/build-id"],
        job.status.build_id.as_str()
    );
}

#[tokio::test]
async fn a_pipeline_run_that_succeeds_makes_the_job_succeed() {
    let w = World::new().await;
    started(&w, "j1", 42).await;

    w.server.start_pipeline_run("j1");
    w.sync().await;
    assert_eq!(w.take_requests(), [LIST_RUNS]);
    assert_eq!(
        state(&w.store.job("j1")),
        (
            Some(ProwJobState::Pending),
            "Tasks Completed: 0 (Failed: 0, Cancelled 0), Skipped: 0",
            false
        )
    );

    w.clock.advance(mins(5));
    w.server.finish_pipeline_run("j1", true, "Succeeded");
    let report = w.sync().await;

    assert_eq!(
        state(&w.store.job("j1")),
        (
            Some(ProwJobState::Success),
            "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
            true
        )
    );
    assert_eq!(w.take_requests(), [LIST_RUNS], "one API call per pass");
    assert_eq!(
        (report.pipeline_run_lists, report.pod_lists, report.finished),
        (1, 0, 1)
    );
    let log = w.build_log("j1");
    assert!(
        log.starts_with("PipelineRun tekton-ci/j1 (tekton.dev/v1)\nSucceeded: True\n"),
        "{log}"
    );
    assert!(
        w.server.pipeline_run("j1").is_some(),
        "kept with its record"
    );

    // Complete: no further calls.
    w.sync().await;
    assert!(w.take_requests().is_empty());
}

#[tokio::test]
async fn a_pipeline_run_that_fails_makes_the_job_fail() {
    let w = World::new().await;
    started(&w, "j1", 42).await;

    w.server.finish_pipeline_run("j1", false, "Failed");
    w.sync().await;

    assert_eq!(
        state(&w.store.job("j1")),
        (
            Some(ProwJobState::Failure),
            "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
            true
        )
    );
    assert_eq!(w.take_requests(), [LIST_RUNS]);
    let log = w.build_log("j1");
    assert!(
        log.contains("Succeeded: False\nCondition: Failed: Tasks Completed: 1 (Failed: 1"),
        "{log}"
    );
    let path = artifact_path(&w.store.job("j1")).unwrap();
    assert!(
        w.logs
            .file(&path, "finished.json")
            .is_some_and(|f| f.contains(r#""result":"failure""#))
    );
}

#[tokio::test]
async fn an_aborted_job_has_its_pipeline_run_deleted() {
    let w = World::new().await;
    started(&w, "j1", 42).await;
    w.server.start_pipeline_run("j1");

    let mut aborted = w.store.job("j1");
    aborted
        .transition(
            ProwJobState::Aborted,
            w.clock.now(),
            "Aborted by trigger plugin.",
        )
        .unwrap();
    w.store.put(aborted);
    w.sync().await;

    assert_eq!(
        state(&w.store.job("j1")),
        (
            Some(ProwJobState::Aborted),
            "Aborted by trigger plugin.",
            true
        )
    );
    assert_eq!(
        w.take_requests(),
        [LIST_RUNS.to_string(), format!("DELETE {RUNS}/j1")]
    );
    assert!(w.server.pipeline_run("j1").is_none(), "deleted");
    assert!(w.server.pipeline_runs().is_empty());
    let log = w.build_log("j1");
    assert!(
        log.contains("Job: aborted: Aborted by trigger plugin.\n"),
        "{log}"
    );
}

#[tokio::test]
async fn a_cluster_without_tekton_ends_the_job_as_error_saying_so() {
    let w = World::new().await;
    w.server.uninstall_tekton();
    let job = tekton_presubmit("j1", "pull-widgets-pipeline", 42, ts(T0));
    assert_eq!(w.dispatch(job).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert!(
        job.status.description.starts_with(
            "start pipeline: cluster default does not serve tekton.dev/v1 pipelineruns: Tekton \
             Pipelines is not installed there"
        ),
        "{}",
        job.status.description
    );
}
