//! Starting a run: mint a build id, create the job's pod (or PipelineRun)
//! named by the job id, and write what the record must say about it. The
//! dispatcher starts triggered jobs this way; the syncer starts a pending
//! job's run again when it went missing or was evicted.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;
use tracing::{info, warn};

use crate::ports::{Cluster, Created, PortError, PortResult};
use crate::prowjob::artifacts::job_url;
use crate::prowjob::build_id::BuildIdGenerator;
use crate::prowjob::labels::{PROW_BUILD_ID, PROW_JOB_ID};
use crate::prowjob::pipeline_run::{
    self, pipeline_run_namespace, pipeline_run_request, runs_as_pipeline_run,
};
use crate::prowjob::pod::pod_request;
use crate::prowjob::state::TransitionError;
use crate::prowjob::{ProwJob, ProwJobState};

/// Plank's description of a job whose pod was created.
pub const TRIGGERED_DESCRIPTION: &str = "Job triggered.";

/// What creating a job's pod (or PipelineRun) came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new pod or run, running as this build.
    Created { build_id: String },
    /// A pod or run of that name is already there.
    AlreadyExists,
    /// The pod or run can never be created; the job's `error` description.
    Unprocessable(String),
}

fn next_build_id(build_ids: &Mutex<BuildIdGenerator>, now: Timestamp) -> String {
    let mut ids = build_ids.lock().unwrap_or_else(PoisonError::into_inner);
    ids.next(now.as_millisecond())
}

/// Starts the job's run on `cluster`: a PipelineRun for agent
/// `tekton-pipeline` (in the job's namespace, default `pod_namespace`), else
/// a pod in `pod_namespace`. Errors are the retryable ones; a refusal is
/// [`Start::Unprocessable`].
pub async fn start_run(
    job: &ProwJob,
    cluster: &dyn Cluster,
    pod_namespace: &str,
    build_ids: &Mutex<BuildIdGenerator>,
    now: Timestamp,
) -> PortResult<Start> {
    if runs_as_pipeline_run(job) {
        let namespace = pipeline_run_namespace(job, pod_namespace);
        start_pipeline_run(job, cluster, namespace, build_ids, now).await
    } else {
        start_pod(job, cluster, pod_namespace, build_ids, now).await
    }
}

/// Mints a build id and creates the job's pod in `namespace` on `cluster`.
/// Errors are the retryable ones; a refusal is [`Start::Unprocessable`].
pub async fn start_pod(
    job: &ProwJob,
    cluster: &dyn Cluster,
    namespace: &str,
    build_ids: &Mutex<BuildIdGenerator>,
    now: Timestamp,
) -> PortResult<Start> {
    let build_id = next_build_id(build_ids, now);
    let pod = match pod_request(job, &build_id, namespace) {
        Ok(pod) => pod,
        Err(e) => return Ok(Start::Unprocessable(format!("Pod can not be created: {e}"))),
    };
    match cluster.create_pod(&pod).await {
        Ok(Created::Created) => Ok(Start::Created { build_id }),
        Ok(Created::AlreadyExists) => Ok(Start::AlreadyExists),
        Err(PortError::Rejected(msg)) => Ok(Start::Unprocessable(format!(
            "Pod can not be created: {msg}"
        ))),
        Err(e) => Err(e),
    }
}

/// Mints a build id and creates the job's PipelineRun in `namespace` on
/// `cluster`. Errors are the retryable ones; a spec that cannot be built, a
/// refusal, or a cluster without Tekton is [`Start::Unprocessable`].
pub async fn start_pipeline_run(
    job: &ProwJob,
    cluster: &dyn Cluster,
    namespace: &str,
    build_ids: &Mutex<BuildIdGenerator>,
    now: Timestamp,
) -> PortResult<Start> {
    let build_id = next_build_id(build_ids, now);
    let run = match pipeline_run_request(job, &build_id, namespace) {
        Ok(run) => run,
        Err(e) => {
            return Ok(Start::Unprocessable(format!(
                "error preparing resources: {e}"
            )));
        }
    };
    match cluster.create_pipeline_run(&run).await {
        Ok(Created::Created) => Ok(Start::Created { build_id }),
        Ok(Created::AlreadyExists) => Ok(Start::AlreadyExists),
        Err(PortError::Rejected(msg)) => Ok(Start::Unprocessable(format!("start pipeline: {msg}"))),
        Err(e) => Err(e),
    }
}

/// The build id of the job's existing pod or PipelineRun (plank's
/// `getPodBuildID`): `None` when it is not there any more.
pub async fn adopt(
    job: &ProwJob,
    cluster: &dyn Cluster,
    pod_namespace: &str,
) -> PortResult<Option<String>> {
    let id = &job.metadata.name;
    let selector = BTreeMap::from([(PROW_JOB_ID.to_string(), id.clone())]);
    let labels = if runs_as_pipeline_run(job) {
        let namespace = pipeline_run_namespace(job, pod_namespace);
        let runs = cluster.list_pipeline_runs(namespace, &selector).await?;
        runs.into_iter().find(|r| &r.name == id).map(|r| r.labels)
    } else {
        let pods = cluster.list_pods(&selector).await?;
        pods.into_iter().find(|p| &p.name == id).map(|p| p.labels)
    };
    let Some(labels) = labels else {
        return Ok(None);
    };
    let build_id = labels.get(PROW_BUILD_ID).cloned().unwrap_or_default();
    if build_id.is_empty() {
        warn!(job_id = %id, "adopted pod or run has no build id label");
    }
    info!(job_id = %id, build_id = %build_id, "adopting the existing pod or run");
    Ok(Some(build_id))
}

/// Files the job under `build_id`: the build id and the dashboard link that
/// follows from it (the link names the build's artifact directory).
pub fn set_build(job: &mut ProwJob, build_id: &str, deck_url: &str) {
    job.status.build_id = build_id.to_string();
    job.status.url = job_url(deck_url, job);
}

/// The record of a triggered job whose run was created or adopted as
/// `build_id`: `pending` with `pendingTime`, plank's "Job triggered." and the
/// pod's name for a pod; Prow's pipeline controller's "scheduling" and no pod
/// name for a PipelineRun (a run has many pods).
pub fn pending(
    job: &ProwJob,
    build_id: &str,
    deck_url: &str,
    now: Timestamp,
) -> Result<ProwJob, TransitionError> {
    let mut next = job.clone();
    let description = if runs_as_pipeline_run(job) {
        pipeline_run::SCHEDULING
    } else {
        next.status.pod_name = job.metadata.name.clone();
        TRIGGERED_DESCRIPTION
    };
    next.transition(ProwJobState::Pending, now, description)?;
    set_build(&mut next, build_id, deck_url);
    Ok(next)
}

/// The record of a pending job whose run was started again as `build_id`:
/// one more revival, and for a PipelineRun the description back to
/// "scheduling".
pub fn restarted(job: &ProwJob, build_id: &str, deck_url: &str) -> ProwJob {
    let mut next = job.clone();
    next.status.pod_revival_count += 1;
    if runs_as_pipeline_run(job) {
        next.status.description = pipeline_run::SCHEDULING.to_string();
    }
    set_build(&mut next, build_id, deck_url);
    next
}

/// Moves `job` to its final `state` (an aborted job is completed too).
pub fn finish(
    job: &mut ProwJob,
    state: ProwJobState,
    description: &str,
    now: Timestamp,
) -> Result<(), TransitionError> {
    job.transition(state, now, description)?;
    match state {
        ProwJobState::Aborted => job.complete_abort(now),
        _ => Ok(()),
    }
}
