//! Jobs of agent `jenkins`: Prow's jenkins-operator (`pkg/jenkins/controller.go`,
//! `pkg/jenkins/jenkins.go`) as pure rules — which operator runs a job, the
//! Jenkins job's path (`getJobName`), the build's parameters (`EnvForSpec`),
//! and what a build's state makes of the job. The dispatcher and the syncer
//! carry them out over the [`Jenkins`](crate::ports::Jenkins) port.
//!
//! Where Skiff differs from Prow, on purpose:
//! - **Enqueued is pending.** Prow leaves a job `triggered` while its build
//!   waits in Jenkins' queue; Skiff moves it to `pending` ("Jenkins job
//!   enqueued.") once Jenkins accepted the build, so the syncer follows it
//!   and the concurrency limits count it, as Prow's operator counts it.
//! - **Timeouts.** Prow's operator applies none. Skiff applies plank's: a
//!   build still queued `pod_pending_timeout` (10m) after it was queued ends
//!   the job as `error` and leaves the queue; one running longer than
//!   `pod_running_timeout` (48h) is stopped and the job `aborted`. While
//!   Jenkins cannot be asked, the same limits count from the record.
//! - **Results.** `NOT_BUILT` (and any result Jenkins may add) ends the job as
//!   `error`; Prow leaves it pending forever.
//! - **Branch names.** A `github_branch_source_job`'s base ref is one path
//!   segment (`release%2F1.0`), as Jenkins' multibranch names it; Prow pastes
//!   it raw, which breaks refs with `/`.

pub mod selector;
pub mod url_template;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::config::prow::{JenkinsOperator, Plank};
use crate::ports::{Jenkins, JenkinsBuild, JenkinsStatus, PortError};
use crate::prowjob::jobspec::{self, JobSpec, JobSpecError};
use crate::prowjob::state::TransitionError;
use crate::prowjob::{JENKINS_AGENT, ProwJob, ProwJobSpec, ProwJobState};

pub use selector::{Selector, SelectorError};

/// Jenkins masters by the `label_selector` of the operator they serve (the
/// empty string for a single operator).
pub type JenkinsMasters = BTreeMap<String, Arc<dyn Jenkins>>;

/// Prow's descriptions.
pub const ENQUEUED: &str = "Jenkins job enqueued.";
pub const RUNNING: &str = "Jenkins job running.";
pub const SUCCEEDED: &str = "Jenkins job succeeded.";
pub const FAILED: &str = "Jenkins job failed.";
pub const ABORTED: &str = "Jenkins job aborted.";
pub const MISSING: &str = "Error finding Jenkins job.";
pub const START_FAILED: &str = "Error starting Jenkins job";
pub const RUNNING_TIMEOUT: &str = "Jenkins job running timeout.";

/// Whether the job runs on Jenkins.
pub fn runs_on_jenkins(job: &ProwJob) -> bool {
    job.spec.agent == JENKINS_AGENT
}

/// The operator whose `label_selector` selects `labels`: the only one when
/// there is one (Prow forbids a selector then), else the first that matches.
/// A selector that does not parse selects nothing (check-config names it).
pub fn operator_for<'a>(
    operators: &'a [JenkinsOperator],
    labels: &BTreeMap<String, String>,
) -> Option<&'a JenkinsOperator> {
    if let [only] = operators {
        return Some(only);
    }
    operators.iter().find(|op| {
        Selector::parse(&op.label_selector).is_ok_and(|s| !s.is_empty() && s.matches(labels))
    })
}

/// Prow's `getJobName`, as a URL path below the Jenkins root: `a/b` is
/// `job/a/job/b`; a `github_branch_source_job` adds
/// `view/change-requests/job/PR-<n>` for a presubmit, `job/<base_ref>`
/// otherwise. Each name is one escaped path segment.
pub fn job_path(spec: &ProwJobSpec) -> String {
    let mut segments: Vec<String> = Vec::new();
    for part in spec.job.trim_matches('/').split('/') {
        segments.push("job".into());
        segments.push(escape_segment(part));
    }
    let branch_source = spec
        .jenkins_spec
        .as_ref()
        .is_some_and(|j| j.github_branch_source_job);
    if let (true, Some(refs)) = (branch_source, &spec.refs) {
        match refs.pulls.first() {
            Some(pull) => {
                segments.extend(["view".into(), "change-requests".into(), "job".into()]);
                segments.push(format!("PR-{}", pull.number));
            }
            None => {
                segments.push("job".into());
                segments.push(escape_segment(&refs.base_ref));
            }
        }
    }
    segments.join("/")
}

/// Percent-escapes what may not stand in a URL path segment.
fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The build's parameters: Prow's `EnvForSpec` of the job run as
/// `build_id` — `PROW_JOB_ID`, `BUILD_ID`, `JOB_SPEC`, `REPO_*`, `PULL_*` …
pub fn build_parameters(
    job: &ProwJob,
    build_id: &str,
) -> Result<Vec<(String, String)>, JobSpecError> {
    jobspec::env_for_spec(&JobSpec::new(&job.spec, build_id, &job.metadata.name))
}

/// The record of a triggered job whose build Jenkins queued (or that was
/// adopted) as `build_id`: `pending`, "Jenkins job enqueued.", filed under
/// the build id with its dashboard link.
pub fn enqueued(
    job: &ProwJob,
    build_id: &str,
    deck_url: &str,
    now: Timestamp,
) -> Result<ProwJob, TransitionError> {
    let mut next = job.clone();
    next.transition(ProwJobState::Pending, now, ENQUEUED)?;
    super::set_build(&mut next, build_id, deck_url);
    Ok(next)
}

/// The description of a job whose build could not be started, from the
/// adapter's error; `None` when a retry may help (Jenkins down, a 5xx, a
/// timeout), unless the job has been waiting longer than plank's
/// `pod_pending_timeout`: a Jenkins that stays down ends the job.
pub fn start_failure(
    job: &ProwJob,
    error: &PortError,
    plank: &Plank,
    now: Timestamp,
) -> Option<String> {
    if !error.is_retryable() {
        return Some(format!("{START_FAILED}: {error}"));
    }
    let waited = job.status.start_time.map(|t| now.duration_since(t))?;
    let limit = limit(plank.pod_pending_timeout().as_nanos());
    (waited >= limit).then(|| {
        format!(
            "{START_FAILED}: {error} (still failing after {})",
            plank.pod_pending_timeout()
        )
    })
}

/// What Jenkins said about a pending job's build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed<'a> {
    /// The queue item or build carrying the job's `PROW_JOB_ID`.
    Found(&'a JenkinsBuild),
    /// Jenkins answered, and has neither.
    Missing,
    /// Jenkins could not be asked (down, a 5xx): the record decides.
    Unknown,
}

/// What stopping a finishing job's build takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Nothing,
    /// `POST …/{number}/stop`.
    Build(u64),
    /// `POST queue/cancelItem?id=`.
    QueueItem(u64),
}

/// What a pending jenkins job calls for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Wait,
    /// Still going; the record must say so (Prow's "Jenkins job running.",
    /// the build number, the build id the build carries).
    Update(Box<ProwJob>),
    /// End the job, stopping what still runs first.
    Finish {
        state: ProwJobState,
        description: String,
        stop: Stop,
    },
}

fn limit(nanos: i64) -> SignedDuration {
    SignedDuration::from_nanos(nanos)
}

/// Prow's `syncPendingJob`, with plank's timeouts (see the module doc), as a
/// decision on one pending job and what Jenkins said of its build.
pub fn decide(
    job: &ProwJob,
    observed: Observed<'_>,
    plank: &Plank,
    deck_url: &str,
    now: Timestamp,
) -> Action {
    let finish = |state, description: String, stop| Action::Finish {
        state,
        description,
        stop,
    };
    let pending_for = job.status.pending_time.map(|t| now.duration_since(t));
    let pending_limit = limit(plank.pod_pending_timeout().as_nanos());
    let running_limit = limit(plank.pod_running_timeout().as_nanos());
    let over = |age: Option<SignedDuration>, limit| age.is_some_and(|a| a >= limit);
    let build = match observed {
        Observed::Found(build) => build,
        Observed::Missing => return finish(ProwJobState::Error, MISSING.into(), Stop::Nothing),
        Observed::Unknown => {
            let seen_running = !job.status.jenkins_build_id.is_empty();
            return if !seen_running && over(pending_for, pending_limit) {
                finish(
                    ProwJobState::Error,
                    format!(
                        "Jenkins build never seen leaving the queue within {} (Jenkins unreachable)",
                        plank.pod_pending_timeout()
                    ),
                    Stop::Nothing,
                )
            } else if seen_running && over(pending_for, running_limit) {
                finish(ProwJobState::Aborted, RUNNING_TIMEOUT.into(), Stop::Nothing)
            } else {
                Action::Wait
            };
        }
    };
    match &build.status {
        JenkinsStatus::Queued { item, why } => {
            if over(pending_for, pending_limit) {
                let mut description = format!(
                    "Jenkins build never left the queue within {}",
                    plank.pod_pending_timeout()
                );
                if !why.is_empty() {
                    description.push_str(": ");
                    description.push_str(why);
                }
                finish(ProwJobState::Error, description, Stop::QueueItem(*item))
            } else {
                Action::Wait
            }
        }
        JenkinsStatus::Running => {
            let started = build.started.or(job.status.pending_time);
            if over(started.map(|t| now.duration_since(t)), running_limit) {
                let stop = build.number.map_or(Stop::Nothing, Stop::Build);
                return finish(ProwJobState::Aborted, RUNNING_TIMEOUT.into(), stop);
            }
            let next = following(job, build, deck_url, RUNNING);
            if next == *job {
                Action::Wait
            } else {
                Action::Update(Box::new(next))
            }
        }
        JenkinsStatus::Finished { result } => {
            let (state, description) = match result.as_str() {
                "SUCCESS" => (ProwJobState::Success, SUCCEEDED.to_string()),
                "FAILURE" | "UNSTABLE" => (ProwJobState::Failure, FAILED.to_string()),
                "ABORTED" => (ProwJobState::Aborted, ABORTED.to_string()),
                other => (
                    ProwJobState::Error,
                    format!("Jenkins job ended as {other}."),
                ),
            };
            finish(state, description, Stop::Nothing)
        }
    }
}

/// `job` as it must read while `build` runs it (or once it finished):
/// Prow's build number and the build id the build carries.
pub fn following(
    job: &ProwJob,
    build: &JenkinsBuild,
    deck_url: &str,
    description: &str,
) -> ProwJob {
    let mut next = job.clone();
    next.status.description = description.to_string();
    if let Some(n) = build.number {
        next.status.jenkins_build_id = n.to_string();
    }
    if !build.build_id.is_empty() && build.build_id != job.status.build_id {
        super::set_build(&mut next, &build.build_id, deck_url);
    }
    next
}

/// The queue item or build of `job` among what Jenkins listed: a build
/// wins over a queue item (the item leaves the queue after its build
/// exists), the newest build over older ones.
pub fn find<'a>(
    job_id: &str,
    queued: &'a [JenkinsBuild],
    builds: &'a [JenkinsBuild],
) -> Option<&'a JenkinsBuild> {
    builds
        .iter()
        .filter(|b| b.prow_job_id == job_id)
        .max_by_key(|b| b.number)
        .or_else(|| queued.iter().find(|b| b.prow_job_id == job_id))
}

#[cfg(test)]
mod tests;
