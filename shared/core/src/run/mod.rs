//! Running a job, as planning is deciding one: how a run starts (Prow plank's
//! `syncTriggeredJob`), how its pod's state becomes the job's (plank's
//! `syncPendingJob`), and which runs a newer one supersedes. Pure rules and
//! functions over the [`Cluster`](crate::ports::Cluster) port; the dispatcher
//! and the syncer carry them out against the job store. A PipelineRun's
//! outcome rule is [`crate::prowjob::pipeline_run::decide`]; a Jenkins
//! build's is [`jenkins::decide`].

pub mod jenkins;
pub mod pod;
pub mod start;
pub mod superseded;

use crate::prowjob::ProwJob;
use crate::prowjob::pipeline_run::runs_as_pipeline_run;
use crate::prowjob::pod::runs_in_pod;

pub use start::{
    Start, TRIGGERED_DESCRIPTION, adopt, finish, pending, restarted, set_build, start_pipeline_run,
    start_pod, start_run,
};
pub use superseded::superseded;

/// Whether Skiff's dispatcher starts the job: agent `kubernetes` (a pod),
/// `tekton-pipeline` (a PipelineRun) or `jenkins` (a Jenkins build). Only
/// these count for the limits.
pub fn is_dispatched(job: &ProwJob) -> bool {
    runs_in_pod(job) || runs_as_pipeline_run(job) || jenkins::runs_on_jenkins(job)
}
