//! The Tekton `PipelineRun` a job of agent `tekton-pipeline` runs as, and
//! what its status means for the job: Prow's pipeline controller
//! (`cmd/pipeline/controller.go`, `cmd/pipeline/main.go`), pure.
//!
//! # What Prow does (kubernetes-sigs/prow at `a619408`)
//!
//! - **Which spec.** `tekton_pipeline_run_spec.v1beta1` if set, else
//!   `pipeline_run_spec` (`ProwJobSpec.GetPipelineRunSpec`,
//!   `pkg/apis/prowjobs/v1/types.go`). Since August 2024 (commit `18ba2fb0b`,
//!   "s/v1beta1/v1/ for all pipeline imports") **both** fields hold a Tekton
//!   `v1` `PipelineRunSpec` and the controller creates **`tekton.dev/v1`**
//!   PipelineRuns (`TektonV1().PipelineRuns(ns).Create`); the `v1beta1` key
//!   only keeps its old name. Before that Prow created `tekton.dev/v1beta1`
//!   runs (from August 2022, `9b94aa5c4`, converting a `v1alpha1`
//!   `pipeline_run_spec` until May 2023, `ec7b5aed0`), and before August
//!   2022 only `v1alpha1` existed.
//! - **Object** (`makePipelineRun`, `pipelineMeta`): name = the ProwJob's
//!   name; namespace = the job's `spec.namespace` (the config's `namespace`,
//!   defaulted to `pod_namespace`, which is why only tekton jobs may set it);
//!   labels and annotations = `decorate.LabelsAndAnnotationsForJob` (the
//!   job's labels, `created-by-prow`, `prow.k8s.io/{type,job,context,refs.*}`,
//!   `prow.k8s.io/id` and `prow.k8s.io/build-id`; no `plank-version`); spec =
//!   a copy of the job's spec.
//! - **Parameters instead of env.** `downwardapi.EnvForSpec` (`CI`,
//!   `JOB_NAME`, `JOB_TYPE`, `JOB_SPEC`, `BUILD_ID`, `PROW_JOB_ID`, and the
//!   `REPO_*`/`PULL_*`/`SRC_*` of the job type; no `BUILD_NUMBER`, which is
//!   for the kubernetes agent only) is appended to `spec.params`, sorted by
//!   name, each as a string param. Same-named params already in the spec are
//!   left there ("TODO: make this handle existing values").
//! - **`PROW_IMPLICIT_GIT_REF`.** Every task of `spec.pipelineSpec.tasks`
//!   whose `taskRef.name` is `PROW_IMPLICIT_GIT_REF` (the job's `refs`; an
//!   error on a job without refs) or contains `PROW_EXTRA_GIT_REF_<n>`
//!   (`extra_refs[n]`; unanchored regex `PROW_EXTRA_GIT_REF_(\d+)`) is
//!   replaced by `{taskRef: {name: git-clone}, params: [url, revision]}`
//!   (`makePipelineGitTask`): `url` = `clone_uri`, else `<repo_link>.git`,
//!   else `https://github.com/<org>/<repo>.git`; `revision` = the first
//!   pull's SHA (`pull/<n>/head` without one), else `base_sha`, else
//!   `base_ref`. Until May 2023 the same names were looked for in
//!   `spec.resources[].resourceRef.name` and became inline git
//!   `PipelineResource` specs with the same `url`/`revision`; Tekton `v1` has
//!   no resources. `config.ValidatePipelineRunSpec` is checked first:
//!   periodics may not use the implicit ref, `PROW_EXTRA_GIT_REF_` indexes
//!   may not have leading zeros, and every extra ref must be used exactly by
//!   index.
//! - **Start** (`reconcile`): a job that wants a run and has none (triggered,
//!   or pending with its run gone) gets a new build id (tot or snowflake) and
//!   URL, then the run is created. A create error ends the job as `error`
//!   "start pipeline: <error>"; a spec that cannot be built is retried
//!   forever. No concurrency limit is applied.
//! - **Status** (`prowJobStatus`), from the `Succeeded` condition; the
//!   description is the condition's message, else its reason, else the word
//!   given here (`description`):
//!   - no condition: `error` "missing end condition" if `completionTime` is
//!     set, else `pending` "scheduling";
//!   - `True` → `success` ("succeeded"); `False` → `failure` ("failed"),
//!     whatever the reason: a cancelled or timed-out run
//!     (`Cancelled`, `PipelineRunTimeout`) is a failure too;
//!   - otherwise not started → `pending` ("initializing"); started →
//!     `pending` ("running").
//!
//!   The job is written whenever state or description change, so a pending
//!   job's description follows the run ("Tasks Completed: 1 …").
//!   Tekton's own `timeouts` end a run; Prow applies no timeout of its own.
//! - **Abort.** An `aborted` job's run is **cancelled**
//!   (`spec.status: CancelledRunFinally`, an update), not deleted, and the
//!   controller never sets the job's completion time. Runs of the same job and
//!   `org/repo@base_ref [pulls]` are deduplicated for every job type
//!   (postsubmits only without `pipeline.allow_concurrent_postsubmit_jobs`):
//!   older ones become `aborted` "aborted" and complete at once.
//! - **Cleanup.** A run whose ProwJob is gone (sinker deletes ProwJobs after
//!   `max_prowjob_age`) is deleted if it is labelled `created-by-prow=true`.
//!   Sinker itself (`cmd/sinker`) does not touch PipelineRuns.
//!
//! # What Skiff does differently, on purpose
//!
//! - **Parameters the spec already has** get the job's value in place instead
//!   of a duplicate: Tekton refuses two params of one name.
//! - **The git task keeps its own fields.** Prow's replacement task has no
//!   `name` (Tekton requires one) and drops `runAfter` and `workspaces`;
//!   Skiff replaces `taskRef` with `{name: git-clone}` and sets the `url` and
//!   `revision` params, keeping the task's name, other params, workspaces
//!   and ordering. Tasks without a `taskRef` (an inline `taskSpec`) are left
//!   alone; Prow dereferences the missing `taskRef` and panics.
//! - **A spec that cannot be built** (the checks above) ends the job as
//!   `error` "error preparing resources: …" instead of being retried forever.
//! - **Abort deletes the run** (then completes the job), as the issue asks:
//!   the [`crate::ports::Cluster`] port has no update, deleting stops the
//!   TaskRun pods at once, and a job never completed would stay incomplete
//!   for good (looked at by every sync pass, never deleted by the sweeper).
//! - Concurrency limits, superseded presubmits, revival counting and the
//!   adopted build id are Skiff's rules for every job; see the dispatcher and
//!   the syncer.
//! - An unrecognised condition status counts as `Unknown` (Prow's
//!   "unknown status" error case for one).
//! - The spec is sent as written. Prow decodes it into Tekton's `v1` Go
//!   types first, which silently drops fields `v1` does not have (a
//!   `v1beta1`-shaped `serviceAccountName`, `timeout` or `resources`);
//!   Skiff passes them on for Tekton to accept or refuse, so a spec written
//!   for `v1beta1` fails visibly instead of running differently.
//! - A job whose `cluster` is not configured ends as `error` (the
//!   dispatcher's rule for every job); Prow's controller runs it on the
//!   default cluster.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::jobspec::{JobSpec, JobSpecError, env_for_spec};
use super::labels::labels_and_annotations_for_job;
use super::{ProwJob, ProwJobState, ProwJobType, Refs, TEKTON_AGENT};
use crate::ports::{ConditionStatus, PipelineRunInfo, PipelineRunRequest, SucceededCondition};

/// Tekton's API group.
pub const TEKTON_GROUP: &str = "tekton.dev";
/// The Tekton API version PipelineRuns are created in, as Prow does.
pub const TEKTON_VERSION: &str = "v1";
/// `apiVersion` of the PipelineRuns Skiff creates.
pub const PIPELINE_RUN_API_VERSION: &str = "tekton.dev/v1";
pub const PIPELINE_RUN_KIND: &str = "PipelineRun";
/// The resource's plural name, as in its API path.
pub const PIPELINE_RUNS: &str = "pipelineruns";

/// The `taskRef.name` replaced by a clone of the job's own refs.
pub const PROW_IMPLICIT_GIT_REF: &str = "PROW_IMPLICIT_GIT_REF";
/// `PROW_EXTRA_GIT_REF_<n>`: replaced by a clone of `extra_refs[n]`.
pub const PROW_EXTRA_GIT_REF: &str = "PROW_EXTRA_GIT_REF_";
/// The task the git refs become (Tekton catalog's `git-clone`).
pub const GIT_CLONE_TASK: &str = "git-clone";

/// Prow's description of a run Tekton has not reported on yet: the job's
/// description when it goes pending.
pub const SCHEDULING: &str = "scheduling";
const INITIALIZING: &str = "initializing";
const RUNNING: &str = "running";
const SUCCEEDED: &str = "succeeded";
const FAILED: &str = "failed";
const MISSING_CONDITION: &str = "missing end condition";
/// A run deleted under a job that had not finished (Skiff's; plank's words
/// for a pod).
pub const DELETED_UNEXPECTEDLY: &str = "PipelineRun got deleted unexpectedly";

/// Why no PipelineRun can be built for a job. Retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineRunError {
    #[error("prowjob {0:?}: pipeline run spec not found")]
    MissingSpec(String),
    #[error("prowjob {job:?}: the pipeline run spec is not a mapping")]
    NotAMapping { job: String },
    #[error(transparent)]
    JobSpec(#[from] JobSpecError),
    #[error(
        "invalid pipeline_run_spec: periodic jobs do not have an implicit git ref to replace {PROW_IMPLICIT_GIT_REF}"
    )]
    ImplicitRefOnPeriodic,
    #[error(
        "invalid pipeline_run_spec: task {task:?}: leading zeros are not allowed in PROW_EXTRA_GIT_REF_* indexes"
    )]
    LeadingZero { task: String },
    #[error(
        "invalid pipeline_run_spec: extra_refs[{0}] is not used; some task must reference PROW_EXTRA_GIT_REF_{0}"
    )]
    UnusedExtraRef(usize),
    #[error(
        "invalid pipeline_run_spec: {count} extra_refs are specified, but the following PROW_EXTRA_GIT_REF_* indexes are used: {used}"
    )]
    ExtraRefCount { count: usize, used: String },
    #[error("{PROW_IMPLICIT_GIT_REF:?} requested on a ProwJob without an implicit git ref")]
    NoImplicitRefs,
}

/// Whether the job runs as a Tekton PipelineRun (agent `tekton-pipeline`).
pub fn runs_as_pipeline_run(job: &ProwJob) -> bool {
    job.spec.agent == TEKTON_AGENT
}

/// The namespace of the job's PipelineRun: the job's own `namespace`, or
/// `pod_namespace` when it has none.
pub fn pipeline_run_namespace<'a>(job: &'a ProwJob, pod_namespace: &'a str) -> &'a str {
    if job.spec.namespace.is_empty() {
        pod_namespace
    } else {
        &job.spec.namespace
    }
}

/// The job's PipelineRun spec as written: `tekton_pipeline_run_spec.v1beta1`,
/// else `pipeline_run_spec` (Prow's `GetPipelineRunSpec`).
pub fn pipeline_run_spec(job: &ProwJob) -> Option<&Value> {
    job.spec
        .tekton_pipeline_run_spec
        .as_ref()
        .and_then(|t| t.v1beta1.as_ref())
        .or(job.spec.pipeline_run_spec.as_ref())
}

/// The PipelineRun for `job` run as build `build_id`, in `namespace`, with
/// the job's variables as params and its git refs substituted (see the
/// module documentation).
pub fn pipeline_run_request(
    job: &ProwJob,
    build_id: &str,
    namespace: &str,
) -> Result<PipelineRunRequest, PipelineRunError> {
    let id = &job.metadata.name;
    let written =
        pipeline_run_spec(job).ok_or_else(|| PipelineRunError::MissingSpec(id.clone()))?;
    let mut spec = match written {
        Value::Object(map) => map.clone(),
        _ => return Err(PipelineRunError::NotAMapping { job: id.clone() }),
    };
    validate(job, &spec)?;

    let env = env_for_spec(&JobSpec::new(&job.spec, build_id, id))?;
    update_array(&mut spec, "params", |params| {
        for (name, value) in env {
            set_param(params, &name, Value::String(value));
        }
    });

    if let Some(tasks) = spec
        .get_mut("pipelineSpec")
        .and_then(|p| p.get_mut("tasks"))
        .and_then(Value::as_array_mut)
    {
        for task in tasks.iter_mut().filter_map(Value::as_object_mut) {
            let refs = match git_ref(task) {
                Some(GitRef::Implicit) => job
                    .spec
                    .refs
                    .as_ref()
                    .ok_or(PipelineRunError::NoImplicitRefs)?,
                // validate() checked every index against extra_refs.
                Some(GitRef::Extra(i)) => match job.spec.extra_refs.get(i) {
                    Some(refs) => refs,
                    None => continue,
                },
                None => continue,
            };
            task.insert("taskRef".into(), json!({ "name": GIT_CLONE_TASK }));
            update_array(task, "params", |params| {
                set_param(params, "url", Value::String(clone_url(refs)));
                set_param(params, "revision", Value::String(revision(refs)));
            });
        }
    }

    let mut labelled = job.clone();
    labelled.status.build_id = build_id.to_string();
    let (labels, annotations) = labels_and_annotations_for_job(&labelled);
    Ok(PipelineRunRequest {
        name: id.clone(),
        namespace: namespace.to_string(),
        labels,
        annotations,
        spec: Value::Object(spec),
    })
}

/// The request as the Kubernetes object a cluster adapter sends.
pub fn to_kube_object(run: &PipelineRunRequest) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(run.name));
    metadata.insert("namespace".into(), json!(run.namespace));
    if !run.labels.is_empty() {
        metadata.insert("labels".into(), json!(run.labels));
    }
    if !run.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(run.annotations));
    }
    json!({
        "apiVersion": PIPELINE_RUN_API_VERSION,
        "kind": PIPELINE_RUN_KIND,
        "metadata": metadata,
        "spec": run.spec,
    })
}

enum GitRef {
    Implicit,
    Extra(usize),
}

fn task_ref_name(task: &Map<String, Value>) -> Option<&str> {
    task.get("taskRef")?.get("name")?.as_str()
}

fn git_ref(task: &Map<String, Value>) -> Option<GitRef> {
    let name = task_ref_name(task)?;
    if name == PROW_IMPLICIT_GIT_REF {
        return Some(GitRef::Implicit);
    }
    extra_ref_digits(name).and_then(|d| d.parse().ok().map(GitRef::Extra))
}

/// The digits of the leftmost `PROW_EXTRA_GIT_REF_<digits>` in `name`, as
/// Prow's unanchored `PROW_EXTRA_GIT_REF_(\d+)` finds them.
fn extra_ref_digits(name: &str) -> Option<&str> {
    name.match_indices(PROW_EXTRA_GIT_REF).find_map(|(at, m)| {
        let rest = &name[at + m.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

/// Prow's `ValidatePipelineRunSpec`.
fn validate(job: &ProwJob, spec: &Map<String, Value>) -> Result<(), PipelineRunError> {
    let tasks = spec
        .get("pipelineSpec")
        .and_then(|p| p.get("tasks"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut used = BTreeSet::new();
    for task in tasks.iter().filter_map(Value::as_object) {
        let Some(name) = task_ref_name(task) else {
            continue;
        };
        if job.spec.r#type == Some(ProwJobType::Periodic) && name == PROW_IMPLICIT_GIT_REF {
            return Err(PipelineRunError::ImplicitRefOnPeriodic);
        }
        let Some(digits) = extra_ref_digits(name) else {
            continue;
        };
        if digits.len() > 1 && digits.starts_with('0') {
            let task = task.get("name").and_then(Value::as_str).unwrap_or_default();
            return Err(PipelineRunError::LeadingZero {
                task: task.to_string(),
            });
        }
        // An index too large for usize can match no extra ref.
        used.insert(digits.parse::<usize>().unwrap_or(usize::MAX));
    }
    let count = job.spec.extra_refs.len();
    if let Some(unused) = (0..count).find(|i| !used.contains(i)) {
        return Err(PipelineRunError::UnusedExtraRef(unused));
    }
    if used.len() != count {
        let used: Vec<String> = used.iter().map(usize::to_string).collect();
        return Err(PipelineRunError::ExtraRefCount {
            count,
            used: used.join(", "),
        });
    }
    Ok(())
}

/// Applies `change` to the array under `key` (an empty one if it is missing
/// or not an array), keeping the key where it was.
fn update_array(map: &mut Map<String, Value>, key: &str, change: impl FnOnce(&mut Vec<Value>)) {
    let slot = map.entry(key.to_string()).or_insert(Value::Null);
    let mut items = match std::mem::take(slot) {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    change(&mut items);
    *slot = Value::Array(items);
}

/// Sets param `name` to `value`: in place if the list has it, else appended.
fn set_param(params: &mut Vec<Value>, name: &str, value: Value) {
    let existing = params
        .iter_mut()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name));
    match existing {
        Some(Value::Object(param)) => {
            param.insert("value".into(), value);
        }
        _ => params.push(json!({ "name": name, "value": value })),
    }
}

/// Where the git task clones from (`makePipelineGitTask`).
fn clone_url(refs: &Refs) -> String {
    if !refs.clone_uri.is_empty() {
        refs.clone_uri.clone()
    } else if !refs.repo_link.is_empty() {
        format!("{}.git", refs.repo_link)
    } else {
        format!("https://github.com/{}/{}.git", refs.org, refs.repo)
    }
}

/// What the git task checks out (`makePipelineGitTask`).
fn revision(refs: &Refs) -> String {
    match refs.pulls.first() {
        Some(pull) if !pull.sha.is_empty() => pull.sha.clone(),
        Some(pull) => format!("pull/{}/head", pull.number),
        None if !refs.base_sha.is_empty() => refs.base_sha.clone(),
        None => refs.base_ref.clone(),
    }
}

/// Prow's `description`: the condition's message, else its reason, else
/// `fallback`.
fn description(cond: &SucceededCondition, fallback: &str) -> String {
    if !cond.message.is_empty() {
        cond.message.clone()
    } else if !cond.reason.is_empty() {
        cond.reason.clone()
    } else {
        fallback.to_string()
    }
}

/// Prow's `prowJobStatus`: the job state and description a PipelineRun's
/// status stands for.
pub fn prow_job_status(run: &PipelineRunInfo) -> (ProwJobState, String) {
    let Some(cond) = &run.succeeded else {
        return if run.completion_time.is_some() {
            (ProwJobState::Error, MISSING_CONDITION.to_string())
        } else {
            (ProwJobState::Pending, SCHEDULING.to_string())
        };
    };
    match cond.status {
        ConditionStatus::True => (ProwJobState::Success, description(cond, SUCCEEDED)),
        ConditionStatus::False => (ProwJobState::Failure, description(cond, FAILED)),
        ConditionStatus::Unknown if run.start_time.is_none() => {
            (ProwJobState::Pending, description(cond, INITIALIZING))
        }
        ConditionStatus::Unknown => (ProwJobState::Pending, description(cond, RUNNING)),
    }
}

/// What a pending job's PipelineRun calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunDecision {
    /// Still going: the job stays pending with this description.
    Running { description: String },
    /// Over: the job ends in `state` with `description`.
    Finished {
        state: ProwJobState,
        description: String,
    },
    /// There is no run: start another (Prow recreates it).
    Missing,
}

/// The decision on a pending job, given its PipelineRun (if listed). A run
/// being deleted before it finished ends the job as `error`
/// [`DELETED_UNEXPECTEDLY`].
pub fn decide(run: Option<&PipelineRunInfo>) -> RunDecision {
    let Some(run) = run else {
        return RunDecision::Missing;
    };
    match prow_job_status(run) {
        (ProwJobState::Pending, _) if run.deleting => RunDecision::Finished {
            state: ProwJobState::Error,
            description: DELETED_UNEXPECTEDLY.to_string(),
        },
        (ProwJobState::Pending, description) => RunDecision::Running { description },
        (state, description) => RunDecision::Finished { state, description },
    }
}

/// The `build-log.txt` of a job run as a PipelineRun. A run has no single
/// log (each task is a pod of its own, which Tekton keeps with the run), so
/// the file says which run it was, how it ended in Tekton's words, and where
/// the task logs are, so the artifact layout stays complete.
pub fn build_log(job: &ProwJob, namespace: &str, run: Option<&PipelineRunInfo>) -> String {
    let name = &job.metadata.name;
    let mut out = format!("PipelineRun {namespace}/{name} ({PIPELINE_RUN_API_VERSION})\n");
    match run {
        None => out.push_str("Succeeded: (the run was not found)\n"),
        Some(PipelineRunInfo {
            succeeded: None, ..
        }) => out.push_str("Succeeded: (no condition reported)\n"),
        Some(PipelineRunInfo {
            succeeded: Some(cond),
            ..
        }) => {
            out.push_str(&format!("Succeeded: {}\n", cond.status.as_str()));
            if !cond.reason.is_empty() || !cond.message.is_empty() {
                out.push_str(&format!("Condition: {}: {}\n", cond.reason, cond.message));
            }
        }
    }
    let state = job.status.state.map_or("", ProwJobState::as_str);
    out.push_str(&format!("Job: {state}: {}\n", job.status.description));
    out.push_str(&format!(
        "Task logs: kubectl logs -n {namespace} -l tekton.dev/pipelineRun={name} --all-containers\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::{ObjectMeta, ProwJobSpec, ProwJobStatus, Pull, TektonPipelineRunSpec};
    use jiff::Timestamp;
    use std::collections::BTreeMap;

    const ID: &str = "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44";
    const BUILD: &str = "1823456789012345678";

    fn refs() -> Refs {
        Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            repo_link: "https://github.com/acme/widgets".into(),
            base_ref: "main".into(),
            base_sha: "0a1b2c".into(),
            base_link: "https://github.com/acme/widgets/commit/0a1b2c".into(),
            pulls: vec![Pull {
                number: 42,
                author: "alice".into(),
                sha: "9f8e7d".into(),
                title: "Fix bug".into(),
                head_ref: "fix-bug".into(),
                link: "https://github.com/acme/widgets/pull/42".into(),
                commit_link: "https://github.com/acme/widgets/pull/42/commits/9f8e7d".into(),
                author_link: "https://github.com/alice".into(),
                ..Pull::default()
            }],
            ..Refs::default()
        }
    }

    fn presubmit(spec: Value) -> ProwJob {
        ProwJob {
            api_version: "prow.k8s.io/v1".into(),
            kind: "ProwJob".into(),
            metadata: ObjectMeta {
                name: ID.into(),
                labels: BTreeMap::from([
                    ("created-by-prow".into(), "true".into()),
                    (
                        "event-GUID".into(),
                        "5f8a1c00-0000-11ef-8000-000000000001".into(),
                    ),
                    ("prow.k8s.io/is-optional".into(), "false".into()),
                ]),
                ..ObjectMeta::default()
            },
            spec: ProwJobSpec {
                r#type: Some(ProwJobType::Presubmit),
                agent: TEKTON_AGENT.into(),
                cluster: "default".into(),
                namespace: "tekton-ci".into(),
                job: "pull-widgets-pipeline".into(),
                context: "ci/pipeline".into(),
                rerun_command: "/test pull-widgets-pipeline".into(),
                report: true,
                refs: Some(refs()),
                tekton_pipeline_run_spec: Some(TektonPipelineRunSpec {
                    v1beta1: Some(spec),
                }),
                ..ProwJobSpec::default()
            },
            status: ProwJobStatus {
                state: Some(ProwJobState::Triggered),
                ..ProwJobStatus::default()
            },
        }
    }

    fn periodic(spec: Value) -> ProwJob {
        let mut pj = presubmit(spec);
        pj.spec.r#type = Some(ProwJobType::Periodic);
        pj.spec.refs = None;
        pj
    }

    /// A complete PipelineRun for a trigger-created presubmit, pinned: the
    /// metadata, the job's variables as params (after the spec's own, one
    /// of them overridden), and the implicit git ref substituted in place.
    #[test]
    fn presubmit_pipeline_run_is_pinned() {
        let spec = json!({
            "params": [
                {"name": "GOFLAGS", "value": "-mod=vendor"},
                {"name": "BUILD_ID", "value": "stale"}
            ],
            "pipelineSpec": {
                "params": [{"name": "BUILD_ID", "type": "string"}],
                "workspaces": [{"name": "source"}],
                "tasks": [
                    {
                        "name": "checkout",
                        "taskRef": {"name": "PROW_IMPLICIT_GIT_REF"},
                        "params": [{"name": "depth", "value": "1"}],
                        "workspaces": [{"name": "output", "workspace": "source"}]
                    },
                    {
                        "name": "unit",
                        "runAfter": ["checkout"],
                        "taskRef": {"name": "go-test"},
                        "params": [{"name": "build", "value": "$(params.BUILD_ID)"}]
                    }
                ]
            },
            "timeouts": {"pipeline": "1h0m0s"}
        });
        let run = pipeline_run_request(&presubmit(spec), BUILD, "tekton-ci").unwrap();
        let got = serde_json::to_string_pretty(&to_kube_object(&run)).unwrap();
        let job_spec = r#"{\"type\":\"presubmit\",\"job\":\"pull-widgets-pipeline\",\"buildid\":\"1823456789012345678\",\"prowjobid\":\"3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44\",\"refs\":{\"org\":\"acme\",\"repo\":\"widgets\",\"repo_link\":\"https://github.com/acme/widgets\",\"base_ref\":\"main\",\"base_sha\":\"0a1b2c\",\"base_link\":\"https://github.com/acme/widgets/commit/0a1b2c\",\"pulls\":[{\"number\":42,\"author\":\"alice\",\"sha\":\"9f8e7d\",\"title\":\"Fix bug\",\"head_ref\":\"fix-bug\",\"link\":\"https://github.com/acme/widgets/pull/42\",\"commit_link\":\"https://github.com/acme/widgets/pull/42/commits/9f8e7d\",\"author_link\":\"https://github.com/alice\"}]}}"#;
        let want = r#"{
  "apiVersion": "tekton.dev/v1",
  "kind": "PipelineRun",
  "metadata": {
    "name": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
    "namespace": "tekton-ci",
    "labels": {
      "created-by-prow": "true",
      "event-GUID": "5f8a1c00-0000-11ef-8000-000000000001",
      "prow.k8s.io/build-id": "1823456789012345678",
      "prow.k8s.io/context": "pipeline",
      "prow.k8s.io/id": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
      "prow.k8s.io/is-optional": "false",
      "prow.k8s.io/job": "pull-widgets-pipeline",
      "prow.k8s.io/refs.base_ref": "main",
      "prow.k8s.io/refs.org": "acme",
      "prow.k8s.io/refs.pull": "42",
      "prow.k8s.io/refs.repo": "widgets",
      "prow.k8s.io/type": "presubmit"
    },
    "annotations": {
      "prow.k8s.io/context": "ci/pipeline",
      "prow.k8s.io/job": "pull-widgets-pipeline"
    }
  },
  "spec": {
    "params": [
      {
        "name": "GOFLAGS",
        "value": "-mod=vendor"
      },
      {
        "name": "BUILD_ID",
        "value": "1823456789012345678"
      },
      {
        "name": "CI",
        "value": "true"
      },
      {
        "name": "JOB_NAME",
        "value": "pull-widgets-pipeline"
      },
      {
        "name": "JOB_SPEC",
        "value": "JOB_SPEC_VALUE"
      },
      {
        "name": "JOB_TYPE",
        "value": "presubmit"
      },
      {
        "name": "PROW_JOB_ID",
        "value": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44"
      },
      {
        "name": "PULL_BASE_REF",
        "value": "main"
      },
      {
        "name": "PULL_BASE_SHA",
        "value": "0a1b2c"
      },
      {
        "name": "PULL_HEAD_REF",
        "value": "fix-bug"
      },
      {
        "name": "PULL_NUMBER",
        "value": "42"
      },
      {
        "name": "PULL_PULL_SHA",
        "value": "9f8e7d"
      },
      {
        "name": "PULL_REFS",
        "value": "main:0a1b2c,42:9f8e7d"
      },
      {
        "name": "PULL_TITLE",
        "value": "Fix bug"
      },
      {
        "name": "REPO_NAME",
        "value": "widgets"
      },
      {
        "name": "REPO_OWNER",
        "value": "acme"
      },
      {
        "name": "SRC_BASE",
        "value": "acme/widgets"
      },
      {
        "name": "SRC_HOST",
        "value": "github.com"
      }
    ],
    "pipelineSpec": {
      "params": [
        {
          "name": "BUILD_ID",
          "type": "string"
        }
      ],
      "workspaces": [
        {
          "name": "source"
        }
      ],
      "tasks": [
        {
          "name": "checkout",
          "taskRef": {
            "name": "git-clone"
          },
          "params": [
            {
              "name": "depth",
              "value": "1"
            },
            {
              "name": "url",
              "value": "https://github.com/acme/widgets.git"
            },
            {
              "name": "revision",
              "value": "9f8e7d"
            }
          ],
          "workspaces": [
            {
              "name": "output",
              "workspace": "source"
            }
          ]
        },
        {
          "name": "unit",
          "runAfter": [
            "checkout"
          ],
          "taskRef": {
            "name": "go-test"
          },
          "params": [
            {
              "name": "build",
              "value": "$(params.BUILD_ID)"
            }
          ]
        }
      ]
    },
    "timeouts": {
      "pipeline": "1h0m0s"
    }
  }
}"#
        .replace("JOB_SPEC_VALUE", job_spec);
        assert_eq!(got, want);
    }

    #[test]
    fn the_v1beta1_field_wins_over_pipeline_run_spec() {
        let mut pj = presubmit(json!({"pipelineRef": {"name": "new"}}));
        pj.spec.pipeline_run_spec = Some(json!({"pipelineRef": {"name": "old"}}));
        let run = pipeline_run_request(&pj, BUILD, "ns").unwrap();
        assert_eq!(run.spec["pipelineRef"]["name"], "new");
        pj.spec.tekton_pipeline_run_spec = None;
        let run = pipeline_run_request(&pj, BUILD, "ns").unwrap();
        assert_eq!(run.spec["pipelineRef"]["name"], "old");
        pj.spec.pipeline_run_spec = None;
        assert_eq!(
            pipeline_run_request(&pj, BUILD, "ns").unwrap_err(),
            PipelineRunError::MissingSpec(ID.into())
        );
    }

    #[test]
    fn params_are_the_job_env_without_build_number() {
        let run = pipeline_run_request(&periodic(json!({})), BUILD, "ns").unwrap();
        let names: Vec<&str> = run.spec["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "BUILD_ID",
                "CI",
                "JOB_NAME",
                "JOB_SPEC",
                "JOB_TYPE",
                "PROW_JOB_ID"
            ]
        );
    }

    fn task(name: &str, task_ref: &str) -> Value {
        json!({"name": name, "taskRef": {"name": task_ref}})
    }

    fn with_tasks(mut pj: ProwJob, tasks: Vec<Value>) -> ProwJob {
        pj.spec.tekton_pipeline_run_spec = Some(TektonPipelineRunSpec {
            v1beta1: Some(json!({"pipelineSpec": {"tasks": tasks}})),
        });
        pj
    }

    fn clone_params(run: &PipelineRunRequest, i: usize) -> (String, String, String) {
        let task = &run.spec["pipelineSpec"]["tasks"][i];
        let param = |n: &str| {
            task["params"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == n)
                .map(|p| p["value"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default()
        };
        (
            task["taskRef"]["name"].as_str().unwrap_or_default().into(),
            param("url"),
            param("revision"),
        )
    }

    /// `makePipelineGitTask`'s source URL and revision rules.
    #[test]
    fn git_refs_become_git_clone_tasks_with_prows_url_and_revision() {
        let base = |f: &dyn Fn(&mut Refs)| {
            let mut r = Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                ..Refs::default()
            };
            f(&mut r);
            r
        };
        let pull = |sha: &str| Pull {
            number: 7,
            sha: sha.into(),
            ..Pull::default()
        };
        let cases: Vec<(&str, Refs, &str, &str)> = vec![
            (
                "clone_uri wins",
                base(&|r| {
                    r.clone_uri = "https://git.example.com/w.git".into();
                    r.repo_link = "https://github.com/acme/widgets".into();
                }),
                "https://git.example.com/w.git",
                "main",
            ),
            (
                "repo_link plus .git",
                base(&|r| r.repo_link = "https://gitlab.com/acme/widgets".into()),
                "https://gitlab.com/acme/widgets.git",
                "main",
            ),
            (
                "GitHub by default",
                base(&|_| {}),
                "https://github.com/acme/widgets.git",
                "main",
            ),
            (
                "base sha over base ref",
                base(&|r| r.base_sha = "0a1b".into()),
                "https://github.com/acme/widgets.git",
                "0a1b",
            ),
            (
                "first pull's sha over base",
                base(&|r| {
                    r.base_sha = "0a1b".into();
                    r.pulls = vec![pull("9f8e"), pull("ffff")];
                }),
                "https://github.com/acme/widgets.git",
                "9f8e",
            ),
            (
                "pull head ref when the pull has no sha",
                base(&|r| r.pulls = vec![pull("")]),
                "https://github.com/acme/widgets.git",
                "pull/7/head",
            ),
        ];
        for (name, refs, url, rev) in cases {
            let mut pj = with_tasks(
                presubmit(json!({})),
                vec![task("src", PROW_IMPLICIT_GIT_REF)],
            );
            // A presubmit's env needs a pull; the base-only cases are
            // postsubmits.
            if refs.pulls.is_empty() {
                pj.spec.r#type = Some(ProwJobType::Postsubmit);
            }
            pj.spec.refs = Some(refs);
            let run = pipeline_run_request(&pj, BUILD, "ns").unwrap();
            assert_eq!(
                clone_params(&run, 0),
                (GIT_CLONE_TASK.into(), url.into(), rev.into()),
                "{name}"
            );
        }
    }

    #[test]
    fn extra_refs_are_substituted_by_index_and_other_tasks_are_left_alone() {
        let mut pj = with_tasks(
            periodic(json!({})),
            vec![
                task("b", "PROW_EXTRA_GIT_REF_1"),
                task("a", "PROW_EXTRA_GIT_REF_0"),
                task("joke", "PROW_EXTRA_GIT_REF_LOL_JK"),
                task("other", "some-other-ref"),
                json!({"name": "inline", "taskSpec": {"steps": []}}),
            ],
        );
        pj.spec.extra_refs = vec![
            Refs {
                org: "org0".into(),
                repo: "r0".into(),
                base_ref: "main".into(),
                ..Refs::default()
            },
            Refs {
                org: "org1".into(),
                repo: "r1".into(),
                base_ref: "dev".into(),
                base_sha: "abc".into(),
                ..Refs::default()
            },
        ];
        let run = pipeline_run_request(&pj, BUILD, "ns").unwrap();
        assert_eq!(
            clone_params(&run, 0),
            (
                "git-clone".into(),
                "https://github.com/org1/r1.git".into(),
                "abc".into()
            )
        );
        assert_eq!(
            clone_params(&run, 1),
            (
                "git-clone".into(),
                "https://github.com/org0/r0.git".into(),
                "main".into()
            )
        );
        let tasks = &run.spec["pipelineSpec"]["tasks"];
        assert_eq!(tasks[0]["name"], "b", "the task keeps its name");
        assert_eq!(tasks[2], task("joke", "PROW_EXTRA_GIT_REF_LOL_JK"));
        assert_eq!(tasks[3], task("other", "some-other-ref"));
        assert_eq!(
            tasks[4],
            json!({"name": "inline", "taskSpec": {"steps": []}})
        );
    }

    /// `ValidatePipelineRunSpec` and `makePipelineRun`'s own checks.
    #[test]
    fn specs_prow_would_refuse_are_refused_with_prows_reason() {
        let extra = |n: usize| -> Vec<Refs> {
            (0..n)
                .map(|i| Refs {
                    org: format!("o{i}"),
                    repo: "r".into(),
                    ..Refs::default()
                })
                .collect()
        };
        let cases: Vec<(&str, ProwJob, PipelineRunError)> = vec![
            (
                "periodics have no implicit ref",
                with_tasks(periodic(json!({})), vec![task("s", PROW_IMPLICIT_GIT_REF)]),
                PipelineRunError::ImplicitRefOnPeriodic,
            ),
            (
                "leading zeros",
                {
                    let mut pj = with_tasks(
                        periodic(json!({})),
                        vec![task("s", "PROW_EXTRA_GIT_REF_01")],
                    );
                    pj.spec.extra_refs = extra(2);
                    pj
                },
                PipelineRunError::LeadingZero { task: "s".into() },
            ),
            (
                "every extra ref must be used",
                {
                    let mut pj =
                        with_tasks(periodic(json!({})), vec![task("s", "PROW_EXTRA_GIT_REF_1")]);
                    pj.spec.extra_refs = extra(2);
                    pj
                },
                PipelineRunError::UnusedExtraRef(0),
            ),
            (
                "no index past the extra refs",
                {
                    let mut pj = with_tasks(
                        periodic(json!({})),
                        vec![
                            task("s", "PROW_EXTRA_GIT_REF_0"),
                            task("t", "PROW_EXTRA_GIT_REF_3"),
                        ],
                    );
                    pj.spec.extra_refs = extra(1);
                    pj
                },
                PipelineRunError::ExtraRefCount {
                    count: 1,
                    used: "0, 3".into(),
                },
            ),
            (
                "a batch without refs",
                {
                    let mut pj =
                        with_tasks(presubmit(json!({})), vec![task("s", PROW_IMPLICIT_GIT_REF)]);
                    pj.spec.r#type = Some(ProwJobType::Batch);
                    pj.spec.refs = None;
                    pj
                },
                PipelineRunError::JobSpec(JobSpecError::MissingRefs {
                    job: "pull-widgets-pipeline".into(),
                    job_type: ProwJobType::Batch,
                }),
            ),
            (
                "a spec that is not a mapping",
                presubmit(json!(["not", "a", "spec"])),
                PipelineRunError::NotAMapping { job: ID.into() },
            ),
        ];
        for (name, pj, want) in cases {
            assert_eq!(
                pipeline_run_request(&pj, BUILD, "ns").unwrap_err(),
                want,
                "{name}"
            );
        }
        assert_eq!(
            PipelineRunError::UnusedExtraRef(0).to_string(),
            "invalid pipeline_run_spec: extra_refs[0] is not used; some task must reference PROW_EXTRA_GIT_REF_0"
        );
    }

    #[test]
    fn the_namespace_is_the_jobs_own_else_pod_namespace() {
        let mut pj = presubmit(json!({}));
        assert_eq!(pipeline_run_namespace(&pj, "test-pods"), "tekton-ci");
        pj.spec.namespace.clear();
        assert_eq!(pipeline_run_namespace(&pj, "test-pods"), "test-pods");
        assert!(runs_as_pipeline_run(&pj));
        pj.spec.agent = "kubernetes".into();
        assert!(!runs_as_pipeline_run(&pj));
    }

    fn at(s: i64) -> Option<Timestamp> {
        Some(Timestamp::from_second(1_795_428_000 + s).unwrap())
    }

    fn info(
        status: Option<ConditionStatus>,
        reason: &str,
        message: &str,
        started: bool,
        finished: bool,
    ) -> PipelineRunInfo {
        PipelineRunInfo {
            name: ID.into(),
            labels: BTreeMap::new(),
            created: at(0),
            start_time: if started { at(1) } else { None },
            completion_time: if finished { at(60) } else { None },
            succeeded: status.map(|status| SucceededCondition {
                status,
                reason: reason.into(),
                message: message.into(),
            }),
            deleting: false,
        }
    }

    /// Prow's `prowJobStatus` (`TestProwJobStatus` in
    /// `cmd/pipeline/controller_test.go`), with and without a message.
    #[test]
    fn the_succeeded_condition_maps_to_prows_state_and_description() {
        use ConditionStatus::*;
        use ProwJobState::*;
        let cases: Vec<(&str, PipelineRunInfo, ProwJobState, &str)> = vec![
            (
                "no condition yet",
                info(None, "", "", false, false),
                Pending,
                "scheduling",
            ),
            (
                "no condition but completed",
                info(None, "", "", true, true),
                Error,
                "missing end condition",
            ),
            (
                "true, message",
                info(
                    Some(True),
                    "Succeeded",
                    "All Tasks have completed executing",
                    true,
                    true,
                ),
                Success,
                "All Tasks have completed executing",
            ),
            (
                "true, reason only",
                info(Some(True), "Succeeded", "", true, true),
                Success,
                "Succeeded",
            ),
            (
                "true, nothing",
                info(Some(True), "", "", true, true),
                Success,
                "succeeded",
            ),
            (
                "false, message",
                info(
                    Some(False),
                    "Failed",
                    "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
                    true,
                    true,
                ),
                Failure,
                "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
            ),
            (
                "false, nothing",
                info(Some(False), "", "", true, true),
                Failure,
                "failed",
            ),
            (
                "cancelled is a failure",
                info(Some(False), "Cancelled", "", true, true),
                Failure,
                "Cancelled",
            ),
            (
                "timed out is a failure",
                info(Some(False), "PipelineRunTimeout", "", true, true),
                Failure,
                "PipelineRunTimeout",
            ),
            (
                "unknown, not started",
                info(Some(Unknown), "", "", false, false),
                Pending,
                "initializing",
            ),
            (
                "unknown, not started, message",
                info(Some(Unknown), "Started", "hola", false, false),
                Pending,
                "hola",
            ),
            (
                "unknown, started",
                info(Some(Unknown), "", "", true, false),
                Pending,
                "running",
            ),
            (
                "unknown, started, reason",
                info(Some(Unknown), "Running", "", true, false),
                Pending,
                "Running",
            ),
            (
                "unknown although completed is still running",
                info(Some(Unknown), "", "", true, true),
                Pending,
                "running",
            ),
        ];
        for (name, run, state, description) in cases {
            assert_eq!(
                prow_job_status(&run),
                (state, description.to_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn a_run_being_deleted_ends_the_job_only_if_it_had_not_finished() {
        use ConditionStatus::*;
        let deleting = |mut r: PipelineRunInfo| {
            r.deleting = true;
            r
        };
        let cases: Vec<(&str, Option<PipelineRunInfo>, RunDecision)> = vec![
            ("missing", None, RunDecision::Missing),
            (
                "running",
                Some(info(Some(Unknown), "Running", "", true, false)),
                RunDecision::Running {
                    description: "Running".into(),
                },
            ),
            (
                "running, being deleted",
                Some(deleting(info(Some(Unknown), "Running", "", true, false))),
                RunDecision::Finished {
                    state: ProwJobState::Error,
                    description: DELETED_UNEXPECTEDLY.into(),
                },
            ),
            (
                "succeeded, being deleted",
                Some(deleting(info(Some(True), "Succeeded", "", true, true))),
                RunDecision::Finished {
                    state: ProwJobState::Success,
                    description: "Succeeded".into(),
                },
            ),
            (
                "failed",
                Some(info(Some(False), "Failed", "", true, true)),
                RunDecision::Finished {
                    state: ProwJobState::Failure,
                    description: "Failed".into(),
                },
            ),
        ];
        for (name, run, want) in cases {
            assert_eq!(decide(run.as_ref()), want, "{name}");
        }
    }

    #[test]
    fn the_build_log_names_the_run_its_condition_and_where_task_logs_are() {
        let mut pj = presubmit(json!({}));
        pj.status.state = Some(ProwJobState::Failure);
        pj.status.description = "Tasks Completed: 1 (Failed: 1)".into();
        let run = info(
            Some(ConditionStatus::False),
            "Failed",
            "Tasks Completed: 1 (Failed: 1)",
            true,
            true,
        );
        assert_eq!(
            build_log(&pj, "tekton-ci", Some(&run)),
            format!(
                "PipelineRun tekton-ci/{ID} (tekton.dev/v1)\n\
                 Succeeded: False\n\
                 Condition: Failed: Tasks Completed: 1 (Failed: 1)\n\
                 Job: failure: Tasks Completed: 1 (Failed: 1)\n\
                 Task logs: kubectl logs -n tekton-ci -l tekton.dev/pipelineRun={ID} --all-containers\n"
            )
        );
        pj.status.state = Some(ProwJobState::Aborted);
        pj.status.description = "Aborted by trigger plugin.".into();
        let log = build_log(&pj, "tekton-ci", None);
        assert!(
            log.contains("Succeeded: (the run was not found)\n"),
            "{log}"
        );
        assert!(
            log.contains("Job: aborted: Aborted by trigger plugin.\n"),
            "{log}"
        );
    }
}
