//! The ports: the smallest traits the handlers need from the outside world.
//! Every port has an embedded adapter (`shared/local`, for `skiff dev` and tests)
//! and a cloud adapter (`shared/aws`, `shared/kube`, `shared/scm`); handlers are
//! written once against these traits.
//!
//! All ports are `Send + Sync` and async: the same handler runs in a Lambda (one
//! event at a time) and in `skiff dev` (many loops in one process).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use serde::{Deserialize, Serialize};

use crate::prowjob::ProwJob;

// ---------------------------------------------------------------------------
// Errors shared by the ports

/// What went wrong talking to a port, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// A compare-and-set lost: someone changed the record first. Reload and
    /// decide again.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is wrong (a 4xx): retrying will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Throttled, timed out, 5xx, disk busy: retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable(_) | PortError::Conflict(_))
    }
}

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------------------
// JobStore

/// Which job records to list. Results are newest first (by start time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobQuery {
    /// Every record.
    All,
    /// Presubmits (and batches) of one pull request.
    Pull {
        org: String,
        repo: String,
        number: i64,
    },
    /// Runs of one job, by name.
    Job { name: String },
    /// Records not complete yet (triggered, pending, aborted-not-cleaned-up).
    Incomplete,
    /// Complete records whose start time is before the instant.
    CompletedBefore(Timestamp),
}

/// Job records, keyed by id (`metadata.name`), with optimistic concurrency on
/// `metadata.resource_version` and dedupe keys with an expiry.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Creates the record if no record has its id. `Ok(true)` created,
    /// `Ok(false)` it already existed (creating twice is a no-op). The stored
    /// record gets a resource version.
    async fn create(&self, job: &ProwJob) -> PortResult<bool>;
    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>>;
    /// Compare-and-set: replaces the record if its stored resource version is
    /// `job.metadata.resource_version`; returns the record with its new
    /// version. [`PortError::Conflict`] if someone else changed it first.
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob>;
    /// Newest first; at most `limit` records when given.
    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>>;
    /// Deleting a record that does not exist is not an error.
    async fn delete(&self, id: &str) -> PortResult<()>;
    /// Records `key` until `expires`. `Ok(true)` if it was not known (or had
    /// expired), `Ok(false)` if it was: the basis of every "exactly once".
    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool>;
    /// Drops `key`, so the next `remember` of it succeeds again.
    async fn forget(&self, key: &str) -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// Queue

/// A received message. `receipt` identifies this delivery of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub receipt: String,
    pub body: String,
    /// How many times it has been delivered, this time included.
    pub receive_count: u32,
}

/// A queue with at-least-once delivery: a received message comes back after its
/// visibility timeout unless acknowledged, and moves to a dead-letter queue
/// after the adapter's maximum number of receives.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages (adapters batch them: SQS takes ten at a time).
    async fn send(&self, bodies: &[String]) -> PortResult<()>;
    /// Up to `max` visible messages; each becomes invisible for the visibility
    /// timeout.
    async fn receive(&self, max: usize) -> PortResult<Vec<Message>>;
    /// Done: the messages will not come back.
    async fn ack(&self, receipts: &[String]) -> PortResult<()>;
    /// Not now: make the message visible again after `delay`.
    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()>;
}

/// What a batch handler reports: the receipts to deliver again (SQS's
/// `batchItemFailures`). Everything else in the batch is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub retry: Vec<String>,
    /// Messages to retry after a delay instead of the visibility timeout
    /// (a job waiting for a concurrency slot).
    pub retry_after: Vec<(String, Duration)>,
}

// ---------------------------------------------------------------------------
// Cluster

/// A pod to create: a complete Kubernetes pod, named by the job id.
#[derive(Clone, Debug, PartialEq)]
pub struct PodRequest {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: core::PodSpec,
}

/// Kubernetes' pod phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// What the syncer needs to know about a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub phase: PodPhase,
    /// When the cluster created it (`metadata.creationTimestamp`); the
    /// scheduling timeout counts from here.
    pub created: Option<Timestamp>,
    /// When the kubelet started it (unset while unscheduled).
    pub start_time: Option<Timestamp>,
    /// When its containers finished, if they did.
    pub finished_time: Option<Timestamp>,
    /// The pod is being deleted.
    pub deleting: bool,
    /// Every container terminated with exit code 0.
    pub all_succeeded: bool,
    /// A container was OOM-killed.
    pub oom_killed: bool,
    /// The node evicted the pod.
    pub evicted: bool,
    /// Why it is stuck or failed, in the cluster's words
    /// (`ErrImagePull: …`, `Unschedulable: 0/3 nodes …`).
    pub reason: Option<String>,
}

/// Whether a create made the pod (or PipelineRun) or found it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// A Tekton `PipelineRun` to create (agent `tekton-pipeline`), named by the
/// job id. `spec` is the run's whole `spec`, already substituted (see
/// [`crate::prowjob::pipeline_run`]); Kubernetes types for Tekton do not
/// exist in k8s-openapi, so it stays JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineRunRequest {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: serde_json::Value,
}

/// The status of a Kubernetes condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    /// `Unknown`, and any value Kubernetes does not define.
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// A PipelineRun's `Succeeded` condition (Tekton's knative-style status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SucceededCondition {
    pub status: ConditionStatus,
    /// `Running`, `Succeeded`, `Failed`, `Cancelled`, `PipelineRunTimeout` …
    pub reason: String,
    pub message: String,
}

/// What the syncer needs to know about a PipelineRun.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineRunInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `status.startTime`: Tekton's controller picked the run up.
    pub start_time: Option<Timestamp>,
    /// `status.completionTime`.
    pub completion_time: Option<Timestamp>,
    /// The `Succeeded` condition; `None` while Tekton has not reported one.
    pub succeeded: Option<SucceededCondition>,
    /// The run is being deleted.
    pub deleting: bool,
}

/// Why a cluster without Tekton refuses PipelineRun calls: the default of
/// [`Cluster`]'s PipelineRun operations.
pub fn cannot_run_tekton() -> PortError {
    PortError::Rejected(
        "this build cluster cannot run Tekton PipelineRuns: agent tekton-pipeline needs a \
         Kubernetes cluster with Tekton Pipelines installed"
            .to_string(),
    )
}

/// A build cluster: where test pods (and, on Kubernetes with Tekton, the
/// PipelineRuns of `tekton-pipeline` jobs) run.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Creates the pod; a pod of that name already there is
    /// [`Created::AlreadyExists`] (the caller adopts it).
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created>;
    /// Pods with all of these labels (one list call per sync).
    async fn list_pods(&self, labels: &BTreeMap<String, String>) -> PortResult<Vec<PodInfo>>;
    /// The pod's log (all containers, test container first).
    async fn pod_log(&self, name: &str) -> PortResult<String>;
    /// Deleting a pod that is gone is not an error.
    async fn delete_pod(&self, name: &str) -> PortResult<()>;

    /// Creates the PipelineRun in its namespace; one of that name already
    /// there is [`Created::AlreadyExists`] (the caller adopts it). A cluster
    /// that cannot run Tekton answers [`PortError::Rejected`] saying so (the
    /// default).
    async fn create_pipeline_run(&self, run: &PipelineRunRequest) -> PortResult<Created> {
        let _ = run;
        Err(cannot_run_tekton())
    }

    /// PipelineRuns in `namespace` with all of these labels (one list call).
    /// A cluster that cannot run Tekton answers [`PortError::Rejected`] (the
    /// default): no PipelineRun can exist there.
    async fn list_pipeline_runs(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> PortResult<Vec<PipelineRunInfo>> {
        let _ = (namespace, labels);
        Err(cannot_run_tekton())
    }

    /// Deletes the PipelineRun (its TaskRuns and their pods go with it).
    /// Deleting one that is gone is not an error; a cluster that cannot run
    /// Tekton answers [`PortError::Rejected`] (the default).
    async fn delete_pipeline_run(&self, namespace: &str, name: &str) -> PortResult<()> {
        let _ = (namespace, name);
        Err(cannot_run_tekton())
    }
}

// ---------------------------------------------------------------------------
// Scm

/// A commit status (GitHub's `POST /repos/{o}/{r}/statuses/{sha}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    /// `pending`, `success`, `failure` or `error`.
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
}

/// A comment on an issue or pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub body: String,
}

/// The code host: facts for planning, and where results are reported.
#[async_trait]
pub trait Scm: Send + Sync {
    /// The bot's own login (its comments and labels are not acted on).
    fn bot_login(&self) -> &str;
    async fn pull_request(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<crate::event::PullRequest>;
    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>>;
    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool>;
    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool>;
    /// The SHA a branch points at now.
    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String>;
    /// A comment's text by id (CodeCommit events do not carry it).
    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String>;
    /// Files changed between two commits (CodeCommit pushes do not list them).
    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>>;

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()>;
    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>>;
    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()>;
    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()>;
    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()>;
    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()>;
    async fn remove_label(&self, org: &str, repo: &str, number: i64, label: &str)
    -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// LogStore

/// Where a finished job's logs and metadata go, in Prow's artifact layout
/// (`logs/<job>/<build>/…`, `pr-logs/pull/<org_repo>/<pr>/<job>/<build>/…`).
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Writes `name` (`build-log.txt`, `started.json`, `finished.json`, …)
    /// under the job's artifact path. Writing the same bytes twice is fine.
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()>;
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>>;
}

// ---------------------------------------------------------------------------
// Clock

/// The time, from outside: tests drive a virtual clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}
