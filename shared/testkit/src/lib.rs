//! What Skiff's tests share, so no test includes another crate's files: the
//! in-memory twin of every port (from [`skiff_local::memory`]), a fixed
//! start of time, and job records as the trigger and dispatcher make them.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::config::Config;
use skiff_core::prowjob::{
    DecorationConfig, GcsConfiguration, KUBERNETES_AGENT, ObjectMeta, ProwJob, ProwJobSpec,
    ProwJobState, ProwJobStatus, ProwJobType, Pull, Refs, TEKTON_AGENT, TektonPipelineRunSpec,
    UtilityImages,
};

pub use skiff_local::memory::*;

/// The instant every test world starts at.
pub const T0: &str = "2026-11-23T10:00:00Z";

/// `s` as an instant; panics on a malformed literal (a test's mistake).
pub fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad timestamp literal {s:?}: {e}"))
}

pub fn mins(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

/// A hand-driven clock at `at`.
pub fn clock_at(at: &str) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(ts(at)))
}

// ---------------------------------------------------------------------------
// Records

pub fn pod_spec() -> core::PodSpec {
    core::PodSpec {
        containers: vec![core::Container {
            name: "main".into(),
            image: Some("golang:1.23".into()),
            command: Some(vec!["make".into(), "test".into()]),
            ..core::Container::default()
        }],
        ..core::PodSpec::default()
    }
}

/// A triggered presubmit of `job` for PR `pr`, started at `start`.
pub fn presubmit(id: &str, job: &str, pr: i64, start: Timestamp) -> ProwJob {
    ProwJob {
        api_version: "prow.k8s.io/v1".into(),
        kind: "ProwJob".into(),
        metadata: ObjectMeta {
            name: id.into(),
            ..ObjectMeta::default()
        },
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            agent: KUBERNETES_AGENT.into(),
            job: job.into(),
            context: job.into(),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: "0a1b2c".into(),
                pulls: vec![Pull {
                    number: pr,
                    author: "alice".into(),
                    sha: format!("sha-{id}"),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            pod_spec: Some(pod_spec()),
            ..ProwJobSpec::default()
        },
        status: ProwJobStatus {
            start_time: Some(start),
            state: Some(ProwJobState::Triggered),
            ..ProwJobStatus::default()
        },
    }
}

/// A complete decoration config, as a valid config gives every decorated
/// job: Prow's utility images and an S3 bucket.
pub fn decoration() -> DecorationConfig {
    DecorationConfig {
        utility_images: Some(UtilityImages {
            clonerefs: "ecr.example/prow/clonerefs:v20260821".into(),
            initupload: "ecr.example/prow/initupload:v20260821".into(),
            entrypoint: "ecr.example/prow/entrypoint:v20260821".into(),
            sidecar: "ecr.example/prow/sidecar:v20260821".into(),
        }),
        gcs_configuration: Some(GcsConfiguration {
            bucket: "s3://skiff-logs".into(),
            path_strategy: "explicit".into(),
            ..GcsConfiguration::default()
        }),
        ..DecorationConfig::default()
    }
}

/// A triggered periodic of `job`, started at `start`.
pub fn periodic(id: &str, job: &str, start: Timestamp) -> ProwJob {
    let mut pj = presubmit(id, job, 0, start);
    pj.spec.r#type = Some(ProwJobType::Periodic);
    pj.spec.refs = None;
    pj
}

/// A PipelineRun spec with a git checkout of the job's refs and one test task.
pub fn pipeline_run_spec() -> serde_json::Value {
    serde_json::json!({
        "pipelineSpec": {
            "tasks": [
                {"name": "checkout", "taskRef": {"name": "PROW_IMPLICIT_GIT_REF"}},
                {"name": "unit", "runAfter": ["checkout"], "taskRef": {"name": "go-test"}}
            ]
        }
    })
}

/// A triggered presubmit of agent `tekton-pipeline`, run in `namespace`.
pub fn tekton_presubmit(id: &str, job: &str, pr: i64, start: Timestamp) -> ProwJob {
    let mut pj = presubmit(id, job, pr, start);
    pj.spec.agent = TEKTON_AGENT.into();
    pj.spec.pod_spec = None;
    pj.spec.namespace = "tekton-ci".into();
    pj.spec.tekton_pipeline_run_spec = Some(TektonPipelineRunSpec {
        v1beta1: Some(pipeline_run_spec()),
    });
    pj
}

/// `job` moved to pending as the dispatcher would have, with build id `build`.
pub fn pending(mut job: ProwJob, build: &str, at: Timestamp) -> ProwJob {
    job.status.state = Some(ProwJobState::Pending);
    job.status.pending_time = Some(at);
    job.status.build_id = build.into();
    job.status.pod_name = job.metadata.name.clone();
    job.status.description = "Job triggered.".into();
    job
}

pub fn complete(mut job: ProwJob, state: ProwJobState, at: Timestamp) -> ProwJob {
    job.status.state = Some(state);
    job.status.completion_time = Some(at);
    job
}

pub fn config() -> Config {
    let mut c = Config::default();
    c.prow.pod_namespace = "test-pods".into();
    c.prow.skiff.deck_url = "https://ci.example.com".into();
    c
}
