//! crier's GitHub reporter: a commit status on the pull's head SHA (or the
//! base SHA of a postsubmit) — or, where `skiff.reporting.checks_repos` asks
//! for one and an App installation allows it, the job's check run — and the
//! pull request's failure comment.
//!
//! A `triggered` state is held back for
//! `skiff.reporting.triggered_report_delay`: a job that starts sooner is
//! reported once, as pending with its link.

mod checks;
pub(crate) mod comment;
mod status;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::config::prow::GitHubReporter as GitHubReporterConfig;
use skiff_core::event::codecommit::is_codecommit_link;
use skiff_core::keys::{self, CHECK_RUN_ANNOTATION, STATUS_SENT_ANNOTATION};
use skiff_core::ports::{CheckRun, CommitStatus, PortError, PortResult};
use skiff_core::prowjob::labels::GERRIT_REPORT_LABEL;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

use crate::{Detail, Reporter, ReporterDeps, Sent, Skip};

pub use status::description_with_base_sha;

/// The GitHub sink.
pub struct GitHubReporter;

/// The commit status part of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusReport {
    Sent {
        sha: String,
        status: CommitStatus,
    },
    /// The job's check run was created or updated instead of a status.
    CheckRun {
        id: i64,
        run: CheckRun,
    },
    /// GitHub refused for good (the SHA was force-pushed away, or the context
    /// has reached GitHub's limit of statuses): Prow gives up on the report,
    /// comment included, and so does Skiff.
    Dropped {
        sha: String,
        error: String,
    },
}

/// The failure comment part of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentReport {
    /// The comment does not cover this report; the reason says why.
    NotCovered(&'static str),
    /// The repository or its org is in `github_reporter.no_comment_repos`.
    OptedOut,
    /// The comments on the pull request already say this.
    Unchanged,
    /// A new comment was posted (a fresh notification) and older ones deleted.
    Created { deleted: Vec<i64> },
    /// The comment was edited in place; older ones deleted.
    Edited { id: i64, deleted: Vec<i64> },
    /// No failure left to show: the comments were deleted.
    Deleted { ids: Vec<i64> },
    /// The comment changes: the update waits on the comments queue, in the
    /// pull request's group (`crate::comments`).
    Queued,
}

#[async_trait]
impl Reporter for GitHubReporter {
    fn name(&self) -> &'static str {
        keys::GITHUB_REPORTER
    }

    /// Prow's `ShouldReport` of the GitHub reporter and of `report.go`
    /// together.
    fn should_report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> Result<(), Skip> {
        let refs = reported_refs(job, &deps.config.prow.github_reporter)?;
        let state = job.status.state.ok_or(Skip::NoState)?;
        status::github_state(state).ok_or(Skip::NoState)?;
        if head_sha(refs).is_empty() {
            return Err(Skip::NoSha);
        }
        Ok(())
    }

    /// A status of the same state and text shows the same; the failure
    /// comment is only written for finished jobs, which are recorded.
    fn repeats_harmlessly(&self) -> bool {
        true
    }

    async fn report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<Sent> {
        let github = &deps.config.prow.github_reporter;
        let (Ok(refs), Some(state)) = (reported_refs(job, github), job.status.state) else {
            return Err(PortError::Rejected(
                format!("job {} is not reported to GitHub", job.metadata.name).into(),
            ));
        };
        let sha = head_sha(refs);
        if let Some(until) = triggered_hold(job, state, deps) {
            return Ok(Sent::NotYet { until });
        }

        let reporting = &deps.config.prow.skiff.reporting;
        let use_checks =
            reporting.uses_checks(&refs.org, &refs.repo) && deps.scm.checks_supported();
        let mut annotation = None;
        let status = if use_checks {
            match checks::report(job, refs, sha, state, deps).await {
                Ok((id, run)) => {
                    annotation = Some((CHECK_RUN_ANNOTATION, id.to_string()));
                    StatusReport::CheckRun { id, run }
                }
                Err(e) if status::is_unrecoverable(&e) => dropped(sha, &e),
                Err(e) => return Err(e),
            }
        } else {
            let github_state = status::github_state(state).unwrap_or("pending");
            let commit_status = CommitStatus {
                state: github_state.to_owned(),
                context: job.spec.context.clone(),
                description: description_with_base_sha(&job.status.description, &refs.base_sha),
                target_url: job.status.url.clone(),
            };
            let sent_before = job
                .metadata
                .annotations
                .get(STATUS_SENT_ANNOTATION)
                .is_some_and(|s| s == state.as_str());
            let written = if sent_before {
                Ok(())
            } else {
                deps.scm
                    .create_status(&refs.org, &refs.repo, sha, &commit_status)
                    .await
            };
            match written {
                Ok(()) => StatusReport::Sent {
                    sha: sha.to_owned(),
                    status: commit_status,
                },
                Err(e) if status::is_unrecoverable(&e) => dropped(sha, &e),
                Err(e) => return Err(e),
            }
        };

        let comment = match status {
            StatusReport::Dropped { .. } => CommentReport::NotCovered("the status was dropped"),
            StatusReport::Sent { .. } | StatusReport::CheckRun { .. } => {
                match comment::report(job, refs, deps).await {
                    Ok(c) => c,
                    Err(e) => {
                        if matches!(status, StatusReport::Sent { .. }) {
                            note_status_sent(job, state, deps).await;
                        }
                        return Err(e);
                    }
                }
            }
        };
        Ok(Sent::Reported {
            detail: Detail::GitHub { status, comment },
            annotation,
        })
    }
}

/// Notes on the record that `state`'s status is on GitHub, so the retry of
/// a report whose comment failed does not write it again. Best effort: if
/// the note cannot be written, the retry writes the same status twice,
/// which changes nothing GitHub shows.
async fn note_status_sent(job: &ProwJob, state: ProwJobState, deps: &ReporterDeps<'_>) {
    let id = &job.metadata.name;
    let mut current = match deps.store.get(id).await {
        Ok(Some(j)) => j,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot note the status as sent");
            return;
        }
    };
    if current.status.state != Some(state) {
        return;
    }
    current
        .metadata
        .annotations
        .insert(STATUS_SENT_ANNOTATION.to_owned(), state.as_str().to_owned());
    if let Err(e) = deps.store.update(&current).await {
        tracing::warn!(error = %e, "cannot note the status as sent");
    }
}

/// The SHA a status goes on: the pull's head, else the pushed base.
fn head_sha(refs: &Refs) -> &str {
    refs.pulls
        .first()
        .map_or(refs.base_sha.as_str(), |p| p.sha.as_str())
}

fn dropped(sha: &str, e: &PortError) -> StatusReport {
    tracing::warn!(sha, error = %e, "GitHub refused the report for good; not retrying");
    StatusReport::Dropped {
        sha: sha.to_owned(),
        error: e.to_string(),
    }
}

/// When a `triggered` job that was never reported should be looked at again,
/// if it should wait: most jobs start within seconds, and their `pending`
/// report (with the job's link) then covers `triggered` too — one write
/// instead of two. Only with a queue to wait on.
fn triggered_hold(
    job: &ProwJob,
    state: ProwJobState,
    deps: &ReporterDeps<'_>,
) -> Option<Timestamp> {
    deps.reports?;
    if state != ProwJobState::Triggered
        || job
            .status
            .prev_report_states
            .contains_key(keys::GITHUB_REPORTER)
    {
        return None;
    }
    let delay = deps.config.prow.skiff.reporting.triggered_report_delay();
    if delay.is_zero() {
        return None;
    }
    let since = job.metadata.creation_timestamp.or(job.status.start_time)?;
    let until = since.checked_add(delay).ok()?;
    (deps.clock.now() < until).then_some(until)
}

/// The job's refs when crier's GitHub reporter reports it at all.
fn reported_refs<'j>(job: &'j ProwJob, github: &GitHubReporterConfig) -> Result<&'j Refs, Skip> {
    if !job.spec.report {
        return Err(Skip::ReportDisabled);
    }
    if job
        .metadata
        .labels
        .get(GERRIT_REPORT_LABEL)
        .is_some_and(|v| !v.is_empty())
    {
        return Err(Skip::GerritReported);
    }
    // crier only reports presubmits and postsubmits to GitHub, and of those
    // only the types in job_types_to_report.
    let reported = matches!(
        job.spec.r#type,
        Some(t @ (ProwJobType::Presubmit | ProwJobType::Postsubmit)) if github.job_types_to_report().contains(&t)
    );
    if !reported {
        return Err(Skip::TypeNotReported);
    }
    let refs = job.spec.refs.as_ref().ok_or(Skip::NoRefs)?;
    if is_codecommit_link(&refs.repo_link) {
        return Err(Skip::NotGitHub);
    }
    if refs.pulls.len() > 1 {
        return Err(Skip::Batch);
    }
    Ok(refs)
}
