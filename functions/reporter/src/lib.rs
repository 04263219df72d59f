//! The reporter: Prow's crier over Skiff's ports — the GitHub reporter
//! (commit statuses or check runs, and the failure comment), CodeCommit's
//! results, and Slack.
//!
//! Every change of a job record (the jobs table's stream on AWS, the store's
//! change loop in `skiff dev`) is handed to [`report_job`], which runs each
//! reporter. The GitHub reporter ([`report`])
//!
//! 1. reports each state once: not again while
//!    `status.prev_report_states["github-reporter"]` equals the state;
//! 2. holds a `triggered` state back for `skiff.reporting.triggered_report_delay`
//!    (a job that starts sooner is reported once, as pending with its link);
//! 3. sets the commit status on the pull's head SHA (or the base SHA), or the
//!    job's check run where `skiff.reporting.checks_repos` asks for one;
//! 4. keeps one failure comment per pull request up to date (completed
//!    presubmits only);
//! 5. records the reported state with a compare-and-set.
//!
//! A failed step returns the error before the state is recorded, so the change
//! is reported again on retry; every step is safe to repeat. A report that
//! cannot be sent now (GitHub's rate limits, an outage, the triggered delay)
//! goes to the `reports` queue to be tried again when it can be
//! ([`report_changes`], [`handle_retries`]), so it holds up no other job.

mod checks;
mod codecommit;
mod comment;
mod retry;
mod slack;
mod status;
mod template;

use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::config::prow::GitHubReporter;
use skiff_core::event::codecommit::is_codecommit_link;
use skiff_core::ports::{
    Chat, CheckRun, Clock, CodeCommit, CommitStatus, JobStore, LogStore, PortError, Queue, Scm,
};
use skiff_core::prowjob::labels::GERRIT_REPORT_LABEL;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};

pub use checks::CHECK_RUN_ANNOTATION;
pub use codecommit::{CODECOMMIT_REPORTER_NAME, CodeCommitReport, RESULTS_TAG};
pub use retry::{Next, RetryMessage, handle_retries, report_changes, report_job};
pub use slack::{SLACK_REPORTER_NAME, SlackReport};
pub use status::description_with_base_sha;

/// The key in `prev_report_states`, Prow's name for this reporter.
pub const REPORTER_NAME: &str = "github-reporter";
/// Marks the bot comment that holds the failure table.
pub const COMMENT_TAG: &str = "<!-- test report -->";

/// Record writes lost to concurrent writers before giving up (the next
/// delivery of the change retries).
const MAX_RECORD_ATTEMPTS: usize = 5;

/// What the reporters need from the outside world.
pub struct ReporterDeps<'a> {
    pub config: &'a Config,
    pub store: &'a dyn JobStore,
    pub scm: &'a dyn Scm,
    pub clock: &'a dyn Clock,
    /// Job logs, for the tail a check run shows. `None`: check runs carry
    /// no log.
    pub logs: Option<&'a dyn LogStore>,
    /// Where CodeCommit jobs report. `None`: their results are dropped
    /// with a log line.
    pub codecommit: Option<&'a dyn CodeCommit>,
    /// Slack webhooks for `reporter_config.slack`. `None`: not reported.
    pub chat: Option<&'a dyn Chat>,
    /// The `reports` queue reports that cannot be sent now wait on. `None`:
    /// nothing is deferred (a triggered job is reported at once, and a
    /// failure is retried in place).
    pub retries: Option<&'a dyn Queue>,
}

impl<'a> ReporterDeps<'a> {
    /// The GitHub reporter alone: no logs, CodeCommit, Slack or retry queue.
    pub fn new(
        config: &'a Config,
        store: &'a dyn JobStore,
        scm: &'a dyn Scm,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            config,
            store,
            scm,
            clock,
            logs: None,
            codecommit: None,
            chat: None,
            retries: None,
        }
    }
}

/// What one call to [`report`] did.
// Returned once per change and never stored, so the size of `Reported` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The GitHub reporter does not report this job (now).
    NotReported(Skip),
    /// This state was reported before: nothing was sent.
    AlreadyReported(ProwJobState),
    /// Not yet: the job is `triggered` and may start within
    /// `skiff.reporting.triggered_report_delay`; look again at `until`.
    Deferred { until: Timestamp },
    Reported {
        state: ProwJobState,
        status: StatusReport,
        comment: CommentReport,
        recorded: Recorded,
    },
}

/// Why a job is not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// No record has the job's id (deleted since the change).
    NotStored,
    /// `report: false` (`skip_report`).
    ReportDisabled,
    /// The job reports to Gerrit.
    GerritReported,
    /// Not a presubmit or postsubmit in `github_reporter.job_types_to_report`.
    TypeNotReported,
    /// Tests several pulls (a batch): Prow does not report those.
    Batch,
    NoRefs,
    /// No state yet, or one GitHub has no status for (`scheduling`).
    NoState,
    /// Neither a pull SHA nor a base SHA to put the status on.
    NoSha,
    /// A CodeCommit repository: its results go to CodeCommit.
    NotGitHub,
}

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
}

/// What happened to `prev_report_states` after reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// It holds the reported state.
    Saved,
    /// The record moved on to a newer state that was reported already; that
    /// newer record was left as it is.
    AlreadyNewer,
    /// The record was deleted meanwhile.
    Gone,
}

/// Reports `job` to GitHub the way Prow's crier does.
///
/// The record is read again from the store first: a stream can deliver an old
/// image late, and reporting it would put an old state back on GitHub.
#[tracing::instrument(skip_all, fields(job = %job.metadata.name, name = %job.spec.job))]
pub async fn report(job: &ProwJob, deps: &ReporterDeps<'_>) -> Result<ReportOutcome, PortError> {
    let Some(job) = deps.store.get(&job.metadata.name).await? else {
        return Ok(ReportOutcome::NotReported(Skip::NotStored));
    };
    let github = &deps.config.prow.github_reporter;
    let refs = match should_report(&job, github) {
        Ok(refs) => refs,
        Err(skip) => return Ok(ReportOutcome::NotReported(skip)),
    };
    let Some(state) = job.status.state else {
        return Ok(ReportOutcome::NotReported(Skip::NoState));
    };
    if job.status.prev_report_states.get(REPORTER_NAME) == Some(&state) {
        return Ok(ReportOutcome::AlreadyReported(state));
    }
    let Some(github_state) = status::github_state(state) else {
        return Ok(ReportOutcome::NotReported(Skip::NoState));
    };
    let sha = refs
        .pulls
        .first()
        .map_or(refs.base_sha.as_str(), |p| p.sha.as_str());
    if sha.is_empty() {
        return Ok(ReportOutcome::NotReported(Skip::NoSha));
    }
    if let Some(until) = triggered_hold(&job, state, deps) {
        return Ok(ReportOutcome::Deferred { until });
    }

    let reporting = &deps.config.prow.skiff.reporting;
    let use_checks = reporting.uses_checks(&refs.org, &refs.repo) && deps.scm.checks_supported();
    let mut annotation = None;
    let status = if use_checks {
        match checks::report(&job, refs, sha, state, deps).await {
            Ok((id, run)) => {
                annotation = Some((CHECK_RUN_ANNOTATION, id.to_string()));
                StatusReport::CheckRun { id, run }
            }
            Err(e) if status::is_unrecoverable(&e) => dropped(sha, &e),
            Err(e) => return Err(e),
        }
    } else {
        let commit_status = CommitStatus {
            state: github_state.to_owned(),
            context: job.spec.context.clone(),
            description: description_with_base_sha(&job.status.description, &refs.base_sha),
            target_url: job.status.url.clone(),
        };
        match deps
            .scm
            .create_status(&refs.org, &refs.repo, sha, &commit_status)
            .await
        {
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
            comment::report(&job, refs, deps).await?
        }
    };

    let recorded = record(job.clone(), REPORTER_NAME, state, annotation, deps.store).await?;
    tracing::info!(
        state = state.as_str(),
        ?status,
        ?comment,
        ?recorded,
        "reported"
    );
    Ok(ReportOutcome::Reported {
        state,
        status,
        comment,
        recorded,
    })
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
    deps.retries?;
    if state != ProwJobState::Triggered || job.status.prev_report_states.contains_key(REPORTER_NAME)
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

/// Prow's `ShouldReport` of the GitHub reporter and of `report.go` together:
/// the job's refs when it is reported.
fn should_report<'j>(job: &'j ProwJob, github: &GitHubReporter) -> Result<&'j Refs, Skip> {
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

/// Writes `prev_report_states[reporter] = state` (and `annotation`, when
/// given) with compare-and-set, reloading on conflict. A record that has since
/// moved on still gets the reported state (its new state differs, so it is
/// reported on its own change) unless that newer state was reported already.
async fn record(
    mut current: ProwJob,
    reporter: &str,
    state: ProwJobState,
    annotation: Option<(&str, String)>,
    store: &dyn JobStore,
) -> Result<Recorded, PortError> {
    for _ in 0..MAX_RECORD_ATTEMPTS {
        let prev = current.status.prev_report_states.get(reporter).copied();
        let annotated = annotation
            .as_ref()
            .is_none_or(|(k, v)| current.metadata.annotations.get(*k) == Some(v));
        if prev == Some(state) && annotated {
            return Ok(Recorded::Saved);
        }
        if prev.is_some() && prev == current.status.state && prev != Some(state) {
            return Ok(Recorded::AlreadyNewer);
        }
        current
            .status
            .prev_report_states
            .insert(reporter.to_owned(), state);
        if let Some((k, v)) = &annotation {
            current
                .metadata
                .annotations
                .insert((*k).to_owned(), v.clone());
        }
        match store.update(&current).await {
            Ok(_) => return Ok(Recorded::Saved),
            Err(PortError::Conflict(_)) => match store.get(&current.metadata.name).await? {
                Some(fresh) => current = fresh,
                None => return Ok(Recorded::Gone),
            },
            Err(PortError::NotFound(_)) => return Ok(Recorded::Gone),
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "job {} kept changing while recording its reported state",
        current.metadata.name
    )))
}

/// `now + secs`, saturating at the end of time.
fn later(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}
