//! The sweeper and the PipelineRuns of `tekton-pipeline` jobs, against
//! in-memory ports: a run lives as long as its job record (Prow's pipeline
//! controller deletes it with its ProwJob; sinker does not age runs), and
//! only clusters and namespaces of configured tekton jobs are looked at. The
//! cluster is the in-memory `MemoryCluster` (no Kubernetes API server can run
//! where these tests run; the adapter's PipelineRun calls are tested against
//! the HTTP-level fake in `shared/kube/tests/tekton.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use skiff_core::config::jobs::JobBase;
use skiff_core::config::{Config, Presubmit};
use skiff_core::ports::{Clock, Cluster, JobStore};
use skiff_core::prowjob::labels::{CREATED_BY_PROW, PROW_JOB_ID};
use skiff_core::prowjob::{ProwJobState, TEKTON_AGENT};
use skiff_sweeper::{Deps, SweepReport, sweep};
use skiff_testkit::{
    ManualClock, MemoryCluster, MemoryStore, clock_at, clusters, complete, config, tekton_presubmit,
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
    /// A config with one tekton presubmit, run in `tekton-ci`.
    fn new() -> Self {
        let clock = clock_at("2026-12-23T10:00:00Z");
        let cluster = MemoryCluster::new();
        let mut config = config();
        config.jobs.presubmits.insert(
            "acme/widgets".into(),
            vec![Presubmit {
                base: JobBase {
                    name: "pull-widgets-pipeline".into(),
                    agent: TEKTON_AGENT.into(),
                    namespace: Some("tekton-ci".into()),
                    ..JobBase::default()
                },
                ..Presubmit::default()
            }],
        );
        World {
            store: Arc::new(MemoryStore::new(clock.clone())),
            clusters: clusters(&[("default", &cluster)]),
            cluster,
            clock,
            config,
        }
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

    /// A run of job `id` in `tekton-ci`, created `age` ago.
    fn run(&self, id: &str, age: Duration) {
        self.cluster.add_run(
            id,
            "tekton-ci",
            &[(CREATED_BY_PROW, "true"), (PROW_JOB_ID, id)],
        );
        let created = self.clock.now().checked_sub(age).unwrap();
        self.cluster.update_run(id, |r| r.created = Some(created));
    }
}

#[tokio::test]
async fn runs_whose_record_is_gone_are_deleted_and_the_others_kept_whatever_their_age() {
    let w = World::new();
    // Complete for six days: a pod would be swept (24h); its run stays.
    let six_days_ago = w
        .clock
        .now()
        .checked_sub(Duration::from_secs(6 * DAY))
        .unwrap();
    let old = tekton_presubmit("kept", "pull-widgets-pipeline", 42, six_days_ago);
    w.store
        .put(complete(old, ProwJobState::Success, six_days_ago));
    w.run("kept", Duration::from_secs(6 * DAY));
    w.run("orphan", Duration::from_secs(DAY));
    w.run("young", Duration::from_secs(10));

    let report = w.sweep().await;

    assert_eq!(w.cluster.run_names(), ["kept", "young"]);
    assert_eq!(
        (report.pipeline_run_lists, report.pipeline_runs_deleted),
        (1, 1)
    );
    assert_eq!(
        w.cluster
            .calls()
            .into_iter()
            .filter(|c| c.contains("-run"))
            .collect::<Vec<_>>(),
        ["list-runs tekton-ci", "delete-run orphan"]
    );

    // Once its record is gone (sinker's 7 days), the run goes too.
    w.store.delete("kept").await.unwrap();
    w.sweep().await;
    assert_eq!(w.cluster.run_names(), ["young"]);
}

#[tokio::test]
async fn a_config_without_tekton_jobs_makes_no_tekton_call() {
    let mut w = World::new();
    w.config.jobs.presubmits.clear();
    w.run("orphan", Duration::from_secs(DAY));
    let report = w.sweep().await;
    assert_eq!(report.pipeline_run_lists, 0);
    assert_eq!(w.cluster.calls(), ["list"], "pods only");
}

#[tokio::test]
async fn excluded_clusters_and_clusters_without_tekton_are_left_alone() {
    let mut w = World::new();
    w.config.prow.sinker.exclude_clusters = vec!["default".into()];
    w.run("orphan", Duration::from_secs(DAY));
    let report = w.sweep().await;
    assert_eq!(report.pipeline_run_lists, 0);
    assert!(w.cluster.has_run("orphan"));

    let w = World::new();
    w.cluster.set_no_tekton(true);
    let report = w.sweep().await;
    assert_eq!((report.pipeline_run_lists, report.failures), (1, 0));
}
