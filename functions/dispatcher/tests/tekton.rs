//! The dispatcher starting `tekton-pipeline` jobs as Tekton PipelineRuns, as
//! Prow's pipeline controller does, against in-memory ports (the cluster is
//! the in-memory `MemoryCluster`; the real kube adapter against the HTTP-level
//! fake API server is exercised in `functions/syncer/tests/tekton.rs`).

mod world;

use serde_json::json;
use skiff_core::ports::{BatchOutcome, Clock};
use skiff_core::prowjob::labels::{PROW_BUILD_ID, PROW_JOB_ID};
use skiff_core::prowjob::{ProwJobState, ProwJobType, TektonPipelineRunSpec};
use skiff_dispatcher::BLOCKED_RETRY;
use skiff_testkit::{T0, presubmit, tekton_presubmit, ts};
use world::World;

fn job(id: &str) -> skiff_core::prowjob::ProwJob {
    tekton_presubmit(id, "pull-widgets-pipeline", 42, ts(T0))
}

#[tokio::test]
async fn a_tekton_job_becomes_a_pipeline_run_in_its_namespace_and_goes_pending_scheduling() {
    let w = World::new();
    w.store.put(job("j1"));

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());

    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(job.status.description, "scheduling", "Prow's description");
    assert_eq!(job.status.pending_time, Some(w.clock.now()));
    assert_eq!(job.status.pod_name, "", "a run names no pod");
    let build = job.status.build_id.clone();
    assert_eq!(build.len(), 19, "a snowflake: {build}");
    assert!(job.status.url.ends_with(&build), "{}", job.status.url);

    assert_eq!(w.cluster.calls(), ["create-run j1"], "no pod, one create");
    let run = w.cluster.run_request("j1");
    assert_eq!(run.namespace, "tekton-ci", "the job's own namespace");
    assert_eq!(run.labels[PROW_BUILD_ID], build);
    assert_eq!(run.labels[PROW_JOB_ID], "j1");
    let params = run.spec["params"].as_array().cloned().unwrap_or_default();
    assert!(params.contains(&json!({"name": "BUILD_ID", "value": build})));
    assert_eq!(
        run.spec["pipelineSpec"]["tasks"][0]["taskRef"]["name"],
        "git-clone"
    );

    // Redelivery is a no-op: the record is pending now.
    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    assert_eq!(w.cluster.count("create-run"), 1);
}

#[tokio::test]
async fn a_tekton_job_without_a_namespace_runs_in_pod_namespace() {
    let w = World::new();
    let mut j = job("j1");
    j.spec.namespace.clear();
    w.store.put(j);
    w.deliver(&["j1"]).await;
    assert_eq!(w.cluster.run_request("j1").namespace, "test-pods");
}

#[tokio::test]
async fn an_existing_pipeline_run_is_adopted_with_its_build_id() {
    let w = World::new();
    w.store.put(job("j1"));
    w.cluster.add_run(
        "j1",
        "tekton-ci",
        &[
            (PROW_JOB_ID, "j1"),
            (PROW_BUILD_ID, "1799999999999999999"),
            ("created-by-prow", "true"),
        ],
    );

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());

    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(job.status.build_id, "1799999999999999999");
    assert_eq!(w.cluster.calls(), ["create-run j1", "list-runs tekton-ci"]);
}

#[tokio::test]
async fn a_cluster_that_cannot_run_tekton_ends_the_job_as_error_saying_so() {
    let w = World::new();
    w.store.put(job("j1"));
    w.cluster.set_no_tekton(true);

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(
        job.status.description,
        "start pipeline: this build cluster cannot run Tekton PipelineRuns: agent tekton-pipeline \
         needs a Kubernetes cluster with Tekton Pipelines installed"
    );
    assert!(job.is_complete());
}

#[tokio::test]
async fn a_refused_pipeline_run_ends_the_job_as_error_in_prows_words() {
    let w = World::new();
    w.store.put(job("j1"));
    w.cluster.reject_creates(Some(
        "pipelineruns.tekton.dev \"j1\" is forbidden: exceeded quota",
    ));

    w.deliver(&["j1"]).await;
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(
        job.status.description,
        "start pipeline: pipelineruns.tekton.dev \"j1\" is forbidden: exceeded quota"
    );
}

#[tokio::test]
async fn a_spec_prow_would_refuse_ends_the_job_as_error_before_any_call() {
    let w = World::new();
    let mut j = job("j1");
    j.spec.r#type = Some(ProwJobType::Periodic);
    j.spec.refs = None;
    w.store.put(j);
    let mut j = job("j2");
    j.spec.tekton_pipeline_run_spec = Some(TektonPipelineRunSpec { v1beta1: None });
    w.store.put(j);

    w.deliver(&["j1", "j2"]).await;
    let cases = [
        (
            "j1",
            "error preparing resources: invalid pipeline_run_spec: periodic jobs do not have an \
             implicit git ref to replace PROW_IMPLICIT_GIT_REF",
        ),
        (
            "j2",
            "error preparing resources: prowjob \"j2\": pipeline run spec not found",
        ),
    ];
    for (id, description) in cases {
        let job = w.store.job(id);
        assert_eq!(job.status.state, Some(ProwJobState::Error), "{id}");
        assert_eq!(job.status.description, description, "{id}");
    }
    assert!(w.cluster.calls().is_empty());
}

#[tokio::test]
async fn tekton_jobs_share_the_concurrency_limits() {
    let mut w = World::new();
    let mut first = job("run-a");
    first.spec.max_concurrency = 1;
    let mut second = tekton_presubmit("run-b", "pull-widgets-pipeline", 43, ts(T0));
    second.spec.max_concurrency = 1;
    second.status.start_time = Some(ts("2026-11-23T10:00:01Z"));
    w.store.put(first);
    w.store.put(second);

    let out = w.deliver(&["run-a", "run-b"]).await;
    assert_eq!(out.retry_after, [("r1-run-b".to_string(), BLOCKED_RETRY)]);
    assert_eq!(w.state("run-a"), Some(ProwJobState::Pending));
    assert_eq!(w.state("run-b"), Some(ProwJobState::Triggered));

    // plank.max_concurrency counts a pending run like a pending pod.
    w.config.prow.plank.max_concurrency = 1;
    w.store
        .put(presubmit("pod-job", "pull-widgets-unit", 44, ts(T0)));
    let out = w.deliver(&["pod-job"]).await;
    assert_eq!(out.retry_after, [("r0-pod-job".to_string(), BLOCKED_RETRY)]);
    assert_eq!(w.cluster.count("create"), 0);
}

#[tokio::test]
async fn a_jenkins_job_with_no_jenkins_known_ends_as_error_and_touches_no_cluster() {
    let w = World::new();
    let mut j = job("j1");
    j.spec.agent = "jenkins".into();
    w.store.put(j);
    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    assert_eq!(w.state("j1"), Some(ProwJobState::Error));
    assert!(w.cluster.calls().is_empty());
}
