//! The ports: the smallest traits the handlers need from the outside world.
//! Every port has an embedded adapter (`shared/local`, for `skiff dev` and tests)
//! and a cloud adapter (`shared/aws`, `shared/kube`, `shared/scm`); handlers are
//! written once against these traits.
//!
//! All ports are `Send + Sync` and async: the same handler runs in a Lambda (one
//! event at a time) and in `skiff dev` (many loops in one process).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use serde::{Deserialize, Serialize};

use crate::prowjob::ProwJob;

mod review;
pub use review::*;

// ---------------------------------------------------------------------------
// Errors shared by the ports

/// A port error's words, and the error underneath when there is one (an SDK
/// error, an I/O error). The words say what failed and why, once; the cause
/// is kept for [`std::error::Error::source`], not printed again.
#[derive(Clone, Debug, Default)]
pub struct Why {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Why {
    pub fn new(message: impl Into<String>) -> Self {
        Why {
            message: message.into(),
            source: None,
        }
    }

    /// `message`, caused by `source`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Why {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.message
    }
}

impl std::ops::Deref for Why {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Two errors are equal when they say the same: the cause is not compared.
impl PartialEq for Why {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl Eq for Why {}

impl From<String> for Why {
    fn from(message: String) -> Self {
        Why::new(message)
    }
}

impl From<&str> for Why {
    fn from(message: &str) -> Self {
        Why::new(message)
    }
}

/// What went wrong talking to a port, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortError {
    /// A compare-and-set lost: someone changed the record first. Reload and
    /// decide again.
    Conflict(Why),
    NotFound(Why),
    /// The request itself is wrong (a 4xx): retrying will not help.
    Rejected(Why),
    /// Throttled, timed out, 5xx, disk busy: retry later.
    Unavailable(Why),
    /// The service said when to come back (GitHub's `Retry-After`,
    /// `X-RateLimit-Reset`, a secondary rate limit): a retry before `until`
    /// is refused again and prolongs the penalty.
    RateLimited {
        until: Timestamp,
        message: Why,
    },
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortError::Conflict(why) => write!(f, "conflict: {why}"),
            PortError::NotFound(why) => write!(f, "not found: {why}"),
            PortError::Rejected(why) => write!(f, "rejected: {why}"),
            PortError::Unavailable(why) => write!(f, "unavailable: {why}"),
            PortError::RateLimited { until, message } => {
                write!(f, "rate limited until {until}: {message}")
            }
        }
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let why = match self {
            PortError::Conflict(why)
            | PortError::NotFound(why)
            | PortError::Rejected(why)
            | PortError::Unavailable(why)
            | PortError::RateLimited { message: why, .. } => why,
        };
        why.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PortError::Unavailable(_) | PortError::Conflict(_) | PortError::RateLimited { .. }
        )
    }

    /// The earliest instant a retry may be sent, when the service named one.
    pub fn retry_at(&self) -> Option<Timestamp> {
        match self {
            PortError::RateLimited { until, .. } => Some(*until),
            _ => None,
        }
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
    /// Records `key` until `expires` unless a live record of it exists:
    /// [`Claim::Taken`] if it was not known (or had expired), else
    /// [`Claim::Held`] with the expiry it has. The basis of every "exactly
    /// once"; the expiry tells a short-lived claim from a long-lived mark.
    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim>;
    /// Records `key` until `expires`, whether it was known or not (a claim
    /// becomes a mark).
    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()>;
    /// Drops `key`, so the next claim of it succeeds again.
    async fn forget(&self, key: &str) -> PortResult<()>;

    /// [`JobStore::claim`], saying only whether this call took the key:
    /// `Ok(true)` if it was not known (or had expired), `Ok(false)` if it was.
    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        Ok(self.claim(key, expires).await? == Claim::Taken)
    }

    /// Keeps `value` under `key` until `expires`, replacing what was there:
    /// a cache of facts that never change for their key (OWNERS files by
    /// tree SHA). A store that keeps nothing (the default) only costs the
    /// caller the reads the cache would have saved.
    async fn put_value(&self, key: &str, value: &str, expires: Timestamp) -> PortResult<()> {
        let _ = (key, value, expires);
        Ok(())
    }

    /// The value kept under `key`, unless it expired.
    async fn get_value(&self, key: &str) -> PortResult<Option<String>> {
        let _ = key;
        Ok(None)
    }
}

/// What [`JobStore::claim`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was free; it is recorded now.
    Taken,
    /// A live record of the key exists until `until`.
    Held { until: Timestamp },
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
    /// Sends messages that become visible only after `delay` (SQS caps a
    /// delay at 15 minutes; a receiver that finds a message early defers it
    /// again). Adapters that cannot delay deliver at once, which is early
    /// but never lost.
    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        let _ = delay;
        self.send(bodies).await
    }
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
            .to_string()
            .into(),
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
// Jenkins

/// Where a build of a Prow job stands in Jenkins (Prow's `Build`:
/// `IsEnqueued`, `IsRunning`, then the result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JenkinsStatus {
    /// Waiting in Jenkins' queue: the queue item's id and Jenkins' reason
    /// (`Waiting for next available executor`).
    Queued { item: u64, why: String },
    /// Building (a matrix build may carry a result while its cells run).
    Running,
    /// Done, with Jenkins' result: `SUCCESS`, `UNSTABLE`, `FAILURE`,
    /// `ABORTED`, `NOT_BUILT`.
    Finished { result: String },
}

/// A queue item or build that carries a `PROW_JOB_ID` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JenkinsBuild {
    /// The `PROW_JOB_ID` parameter: the job record it runs.
    pub prow_job_id: String,
    /// The `BUILD_ID` parameter: where its artifacts are filed.
    pub build_id: String,
    /// Jenkins' build number; `None` while queued.
    pub number: Option<u64>,
    pub status: JenkinsStatus,
    /// When the build started (Jenkins' `timestamp`); `None` while queued.
    pub started: Option<Timestamp>,
}

/// A Jenkins master, as Prow's jenkins-operator drives it. `job` is the
/// job's URL path below the Jenkins root, already escaped
/// (`job/folder/job/name`; see [`crate::run::jenkins::job_path`]). A CSRF
/// crumb, when Jenkins asks for one, is the adapter's business.
#[async_trait]
pub trait Jenkins: Send + Sync {
    /// The Jenkins root URL, for messages.
    fn url(&self) -> &str;
    /// `POST {job}/buildWithParameters`: queues a build. The queue item's id
    /// when Jenkins says it (`Location`). Never retried by the adapter: an
    /// answer lost after Jenkins queued the build is found again by
    /// [`Jenkins::queued`] / [`Jenkins::builds`].
    async fn build(&self, job: &str, parameters: &[(String, String)]) -> PortResult<Option<u64>>;
    /// Queue items with a `PROW_JOB_ID` parameter (one `GET queue/api/json`).
    async fn queued(&self) -> PortResult<Vec<JenkinsBuild>>;
    /// The job's builds with a `PROW_JOB_ID` parameter (one `GET
    /// {job}/api/json`); a job Jenkins does not have has none, as in Prow.
    async fn builds(&self, job: &str) -> PortResult<Vec<JenkinsBuild>>;
    /// The build's console log (`consoleText`).
    async fn console_text(&self, job: &str, number: u64) -> PortResult<String>;
    /// Stops a running build (`POST {job}/{number}/stop`); a build that is
    /// gone is [`PortError::NotFound`].
    async fn stop(&self, job: &str, number: u64) -> PortResult<()>;
    /// Takes a queue item out of the queue (`POST queue/cancelItem`).
    async fn cancel_queued(&self, item: u64) -> PortResult<()>;
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

    // -- the review plugins' calls (GitHub only; see `no_review_calls`) --

    /// A pull request's files with their line counts (what `changed_files`
    /// lists, in the same call).
    async fn pull_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullFile>> {
        let _ = number;
        Err(no_review_calls(org, repo, "pull request files"))
    }
    /// Every label the repository has (`GET /repos/{o}/{r}/labels`).
    async fn repo_labels(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        Err(no_review_calls(org, repo, "repository labels"))
    }
    /// The issue's comments, oldest first, with their times.
    async fn issue_comments(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<IssueComment>> {
        let _ = number;
        Err(no_review_calls(org, repo, "issue comments"))
    }
    /// The pull request's reviews, oldest first.
    async fn reviews(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullReview>> {
        let _ = number;
        Err(no_review_calls(org, repo, "reviews"))
    }
    /// The logins of the repository's collaborators.
    async fn collaborators(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        Err(no_review_calls(org, repo, "collaborators"))
    }
    /// Whether `login` is an active member of the team `team` (a slug) of `org`.
    async fn is_team_member(&self, org: &str, team: &str, login: &str) -> PortResult<bool> {
        let _ = (team, login);
        Err(no_review_calls(org, "*", "team membership"))
    }
    /// `login`'s permission on the repository: `admin`, `maintain`, `write`,
    /// `triage`, `read` or `none`.
    async fn permission(&self, org: &str, repo: &str, login: &str) -> PortResult<String> {
        let _ = login;
        Err(no_review_calls(org, repo, "permissions"))
    }
    /// Where a branch points now, commit and tree.
    async fn branch_head(&self, org: &str, repo: &str, branch: &str) -> PortResult<BranchHead> {
        let _ = branch;
        Err(no_review_calls(org, repo, "branches"))
    }
    /// The whole tree `sha` (a tree or commit SHA), recursively.
    async fn tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<Tree> {
        let _ = sha;
        Err(no_review_calls(org, repo, "git trees"))
    }
    /// A file's text at `git_ref` (contents API); `None` if there is no such file.
    async fn file_content(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        let _ = (path, git_ref);
        Err(no_review_calls(org, repo, "file contents"))
    }
    /// The tree SHA of commit `sha`.
    async fn commit_tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<String> {
        let _ = sha;
        Err(no_review_calls(org, repo, "commits"))
    }
    /// The numbers of the pull requests `author` opened in the repository
    /// (GitHub's search `is:pr repo:o/r author:u`).
    async fn pulls_by_author(&self, org: &str, repo: &str, author: &str) -> PortResult<Vec<i64>> {
        let _ = author;
        Err(no_review_calls(org, repo, "issue search"))
    }
    /// The open pull requests into `base`.
    async fn open_pulls(
        &self,
        org: &str,
        repo: &str,
        base: &str,
    ) -> PortResult<Vec<crate::event::PullRequest>> {
        let _ = base;
        Err(no_review_calls(org, repo, "pull request lists"))
    }
    /// The combined status of `sha`.
    async fn combined_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<CombinedStatus> {
        let _ = sha;
        Err(no_review_calls(org, repo, "combined statuses"))
    }
    /// Who last added `label` to the issue (its events), if anyone did.
    async fn last_labeler(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<Option<String>> {
        let _ = (number, label);
        Err(no_review_calls(org, repo, "issue events"))
    }
    /// Assigns `logins`; the ones GitHub did not assign (not collaborators,
    /// or past its ten assignees). Assigning an assignee is a no-op.
    async fn assign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<Vec<String>> {
        let _ = (number, logins);
        Err(no_review_calls(org, repo, "assignees"))
    }
    /// Removes assignees; removing one who is not assigned is a no-op.
    async fn unassign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<()> {
        let _ = (number, logins);
        Err(no_review_calls(org, repo, "assignees"))
    }
    /// Requests reviews from users and teams (slugs of the repo's org); the
    /// users GitHub refused. Requesting twice is a no-op.
    async fn request_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<Vec<String>> {
        let _ = (number, users, teams);
        Err(no_review_calls(org, repo, "review requests"))
    }
    /// Withdraws review requests; withdrawing one not made is a no-op.
    async fn unrequest_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<()> {
        let _ = (number, users, teams);
        Err(no_review_calls(org, repo, "review requests"))
    }
    /// Opens or closes an issue or pull request; setting the state it has
    /// is a no-op.
    async fn set_issue_state(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        state: IssueState,
    ) -> PortResult<()> {
        let _ = (number, state);
        Err(no_review_calls(org, repo, "issue states"))
    }

    /// Whether check runs can be written here: GitHub's Checks API accepts
    /// them from GitHub Apps only, never from a personal token.
    fn checks_supported(&self) -> bool {
        false
    }
    /// Creates a check run (`POST /repos/{o}/{r}/check-runs`); its id.
    async fn create_check_run(&self, org: &str, repo: &str, run: &CheckRun) -> PortResult<i64> {
        let _ = run;
        Err(no_checks(org, repo))
    }
    /// Updates a check run (`PATCH /repos/{o}/{r}/check-runs/{id}`).
    async fn update_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        let _ = (id, run);
        Err(no_checks(org, repo))
    }
    /// The check run named `run.name` on `run.head_sha` whose `external_id`
    /// is `run.external_id`, if one exists (finds a run created by an
    /// attempt that crashed before it could remember the id).
    async fn find_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        let _ = run;
        Err(no_checks(org, repo))
    }
}

fn no_checks(org: &str, repo: &str) -> PortError {
    PortError::Rejected(format!(
        "{org}/{repo}: check runs need a GitHub App installation (the Checks API refuses tokens)"
    ).into())
}

/// A GitHub check run as the reporter writes it: one per job, named by the
/// job's context so branch protection and GitHub's "Re-run" button see the
/// same name a commit status would have had.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    /// The job id: the run is found again by it.
    pub external_id: String,
    /// The job's page; empty until the job has one.
    pub details_url: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// With `completed`: `success`, `failure`, `cancelled`, …
    pub conclusion: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// `output.title` and `output.summary`.
    pub title: String,
    pub summary: String,
    /// `output.text`: the tail of the job's log, once it has ended.
    pub text: String,
}

// ---------------------------------------------------------------------------
// HookDeliveries

/// Which GitHub webhook's deliveries to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hook {
    /// The GitHub App's webhook (`/app/hook/deliveries`, JWT).
    App,
    /// A repository webhook (`/repos/{org}/{repo}/hooks/{id}/deliveries`).
    Repo { org: String, repo: String, id: i64 },
    /// An organization webhook (`/orgs/{org}/hooks/{id}/deliveries`).
    Org { org: String, id: i64 },
}

impl Hook {
    /// `app`, `ORG/REPO:ID` or `ORG:ID`.
    pub fn parse(s: &str) -> Result<Hook, String> {
        let s = s.trim();
        if s == "app" {
            return Ok(Hook::App);
        }
        let usage =
            || format!("webhook {s:?}: expected `app`, `ORG/REPO:HOOK_ID` or `ORG:HOOK_ID`");
        let (owner, id) = s.rsplit_once(':').ok_or_else(usage)?;
        let id: i64 = id.parse().map_err(|_| usage())?;
        match owner.split_once('/') {
            Some((org, repo)) if !org.is_empty() && !repo.is_empty() && !repo.contains('/') => {
                Ok(Hook::Repo {
                    org: org.to_owned(),
                    repo: repo.to_owned(),
                    id,
                })
            }
            None if !owner.is_empty() => Ok(Hook::Org {
                org: owner.to_owned(),
                id,
            }),
            _ => Err(usage()),
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::App => f.write_str("app"),
            Hook::Repo { org, repo, id } => write!(f, "{org}/{repo}:{id}"),
            Hook::Org { org, id } => write!(f, "{org}:{id}"),
        }
    }
}

/// One attempt GitHub made to deliver an event (its "Recent Deliveries").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookDelivery {
    /// This attempt; what a redelivery request names.
    pub id: i64,
    /// `X-GitHub-Delivery`: the same for the original and its redeliveries.
    pub guid: String,
    pub delivered_at: Timestamp,
    pub redelivery: bool,
    /// The HTTP status the webhook answered; 0 when it did not answer.
    pub status_code: u16,
    /// `X-GitHub-Event`.
    pub event: String,
}

impl HookDelivery {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// GitHub's record of webhook deliveries: it never retries a failed one by
/// itself, but redelivers on request.
#[async_trait]
pub trait HookDeliveries: Send + Sync {
    /// Delivery attempts of `hook`, newest first, at least back to `since`.
    async fn deliveries(&self, hook: &Hook, since: Timestamp) -> PortResult<Vec<HookDelivery>>;
    /// Asks GitHub to deliver attempt `id` again.
    async fn redeliver(&self, hook: &Hook, id: i64) -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// Chat

/// A chat service to post job results to (Slack incoming webhooks).
#[async_trait]
pub trait Chat: Send + Sync {
    /// Posts `text` to `channel` through the webhook configured for `host`
    /// (Prow's `slack_reporter_config.host`; `*` is the default).
    async fn post(&self, host: &str, channel: &str, text: &str) -> PortResult<()>;
}

// ---------------------------------------------------------------------------
// CodeCommit

/// A CodeCommit pull request, as the reporter needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeCommitPull {
    /// Changes with every push; approvals are given to one revision.
    pub revision_id: String,
    /// `pullRequestTargets[0].sourceCommit` (the head).
    pub source_commit: String,
    /// `pullRequestTargets[0].destinationCommit` (the base).
    pub destination_commit: String,
    /// `OPEN` or `CLOSED`.
    pub status: String,
}

/// A comment on a CodeCommit pull request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeCommitComment {
    pub id: String,
    pub author_arn: String,
    pub content: String,
    /// The commit the comment was made on (the pull's source at the time).
    pub after_commit: String,
}

/// CodeCommit as the place results go: comments and approvals. `repo` is the
/// repository name; the adapter serves one region (the `org` of CodeCommit
/// jobs).
#[async_trait]
pub trait CodeCommit: Send + Sync {
    /// The region the adapter talks to.
    fn region(&self) -> &str;
    async fn pull_request(&self, number: i64) -> PortResult<CodeCommitPull>;
    /// Every comment on the pull request, oldest first, deleted ones left out.
    async fn comments(&self, repo: &str, number: i64) -> PortResult<Vec<CodeCommitComment>>;
    /// `PostCommentForPullRequest`; `token` makes a retried post a no-op
    /// (CodeCommit's `clientRequestToken`). Returns the comment id.
    #[allow(clippy::too_many_arguments)]
    async fn post_comment(
        &self,
        repo: &str,
        number: i64,
        before: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String>;
    /// `UpdateComment` (only the comment's author may).
    async fn update_comment(&self, id: &str, body: &str) -> PortResult<()>;
    /// `UpdatePullRequestApprovalState`: `APPROVE` or `REVOKE` on `revision_id`.
    async fn set_approval(&self, number: i64, revision_id: &str, approve: bool) -> PortResult<()>;
    /// `PostCommentForComparedCommit` on `after` (compared with its first
    /// parent); `token` as for [`CodeCommit::post_comment`].
    async fn post_commit_comment(
        &self,
        repo: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String>;
}

// ---------------------------------------------------------------------------
// LogStore

/// Where a finished job's logs and metadata go, in Prow's artifact layout
/// (`logs/<job>/<build>/…`, `pr-logs/pull/<org_repo>/<pr>/<job>/<build>/…`).
///
/// `path` and `name` are relative: a `..` segment, a leading `/` or a NUL is
/// [`PortError::Rejected`] by every adapter, so nothing outside the store's
/// root is ever read or written. `name` may have directories of its own
/// (`artifacts/junit.xml`); `path` + `name` is the object, however the two
/// are split.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Writes `name` (`build-log.txt`, `started.json`, `finished.json`, …)
    /// under the job's artifact path. Writing the same bytes twice is fine.
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()>;
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>>;
    /// Every object under the directory `path` (Spyglass's artifact list):
    /// names relative to `path`, in byte order, at most [`MAX_LISTED`] of
    /// them (the first ones; [`Listing::truncated`] says when there were
    /// more). A directory with nothing in it, or none at all, is empty.
    async fn list(&self, path: &str) -> PortResult<Listing>;
}

/// The most objects one [`LogStore::list`] returns: a job that writes more
/// (a test that dumps a file per case) still lists quickly, and a page
/// showing them stays readable.
pub const MAX_LISTED: usize = 10_000;

/// One object under a listed directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Relative to the listed path, `/`-separated (`artifacts/junit.xml`).
    pub name: String,
    /// Bytes.
    pub size: u64,
}

/// What [`LogStore::list`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub objects: Vec<StoredObject>,
    /// More objects exist than were returned (more than [`MAX_LISTED`]).
    pub truncated: bool,
}

// ---------------------------------------------------------------------------
// Clock

/// The time, from outside: tests drive a virtual clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock: the one place Skiff reads the time of day. Everything
/// else asks a [`Clock`], so tests drive time by hand.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_the_wall_clock() {
        let before = Timestamp::now();
        let now = SystemClock.now();
        assert!(now >= before && now <= Timestamp::now());
    }
}
