//! The reporter: Prow's crier over Skiff's ports. Every change of a job
//! record (the jobs table's stream on AWS, the store's change feed in `skiff
//! dev`) and every report that waited on the `reports` queue comes to
//! [`report_job`], which is crier's reconcile loop:
//!
//! 1. read the job record once (a stream can deliver an old image late, and
//!    reporting it would put an old state back);
//! 2. for each sink ([`Reporter`]: GitHub, CodeCommit, Slack — crier's
//!    reporters): skip it unless it reports this job now (`should_report`),
//!    or if it reported this state already (`prev_report_states[name]`);
//! 3. call it;
//! 4. record the reported state with a compare-and-set, so a repeat reports
//!    nothing twice — except a report of an unfinished job that repeats
//!    harmlessly (a GitHub status: [`Reporter::repeats_harmlessly`]), which
//!    is not worth a write.
//!
//! A sink that fails returns before its state is recorded, so the change is
//! reported again on retry; every sink's report is safe to repeat. A report
//! that cannot be sent now (GitHub's rate limits, an outage, the triggered
//! delay) waits on the `reports` queue ([`queue`]) without holding up others.

mod codecommit;
pub mod comments;
mod github;
pub mod health;
pub mod queue;
mod slack;
mod template;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::metrics as metric;
use skiff_core::ports::{
    Chat, Clock, CodeCommit, JobStore, LogStore, PortError, PortResult, Queue, Scm,
};
use skiff_core::prowjob::{ProwJob, ProwJobState};

pub use codecommit::{Approval, CodeCommitComment, CodeCommitReporter};
pub use github::{CommentReport, GitHubReporter, StatusReport, description_with_base_sha};
pub use health::RateLimitNotes;
pub use queue::{Change, Next, ReportMessage, handle_reports, report_and_decide, report_changes};
pub use slack::SlackReporter;

/// Record writes lost to concurrent writers before giving up (the next
/// delivery of the change retries).
const MAX_RECORD_ATTEMPTS: usize = 5;
/// Record writes (and reloads) that may fail as unavailable — a throttle, a
/// 5xx, a lost answer, after the SDK's own retries — before the report is
/// given up for a retry. The report was sent by then, and a retry would
/// send it again: a second call is worth more than a repeated status.
const MAX_UNAVAILABLE_RECORD_CALLS: usize = 3;

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
    pub reports: Option<&'a dyn Queue>,
    /// The comments queue failure-comment updates wait on, one pull
    /// request's at a time ([`comments`]). `None`: the comment is updated
    /// in the report, which is right only where one job of a pull is
    /// reported at a time (tests, one loop).
    pub comments: Option<&'a dyn Queue>,
}

impl<'a> ReporterDeps<'a> {
    /// No logs, CodeCommit, Slack, report queue or comments queue.
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
            reports: None,
            comments: None,
        }
    }
}

/// One place results go: crier's `reportClient`.
#[async_trait]
pub trait Reporter: Send + Sync {
    /// The key in `prev_report_states` (crier's reporter name).
    fn name(&self) -> &'static str;

    /// Whether this sink reports `job` as it is now (crier's `ShouldReport`);
    /// why not, when it does not.
    fn should_report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> Result<(), Skip>;

    /// Reports `job` in its current state. An error leaves the state
    /// unrecorded, so the report is tried again.
    async fn report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<Sent>;

    /// Whether this sink's report of a job that has not finished may be
    /// sent again without changing what anyone sees (a commit status with
    /// the same state and text). Such a report is not recorded in
    /// `prev_report_states`: the record write would cost more than the rare
    /// repeat (a redelivered change), and the job's next change reports over
    /// it anyway. A finished job's report is always recorded.
    fn repeats_harmlessly(&self) -> bool {
        false
    }
}

/// What a sink did with a report.
// Made once per sink and report and never stored: the size costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Done: record the state (and the annotation, when given).
    Reported {
        detail: Detail,
        annotation: Option<(&'static str, String)>,
    },
    /// Not yet: look again at `until`; nothing is recorded.
    NotYet { until: Timestamp },
}

impl Sent {
    fn done(detail: Detail) -> Sent {
        Sent::Reported {
            detail,
            annotation: None,
        }
    }
}

/// What each sink sent, for logs and tests.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    GitHub {
        status: StatusReport,
        comment: CommentReport,
    },
    CodeCommit {
        comment: CodeCommitComment,
        approval: Approval,
    },
    Slack {
        host: String,
        channel: String,
        text: String,
    },
    /// The Slack template does not render: recorded as reported, never
    /// retried (it fails the same way every time).
    SlackTemplateError(String),
}

/// What reporting a job to one sink came to.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sink does not report this job (now).
    NotReported(Skip),
    /// This state was reported before: nothing was sent.
    AlreadyReported(ProwJobState),
    /// Not yet (the triggered delay); look again at `until`.
    Deferred { until: Timestamp },
    Reported {
        state: ProwJobState,
        detail: Detail,
        recorded: Recorded,
    },
}

/// Why a sink does not report a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// No record has the job's id (deleted since the change).
    NotStored,
    /// A queued report's record has left the state it waited to report;
    /// the change to its new state reports that.
    MovedOn,
    /// `report: false` (`skip_report`).
    ReportDisabled,
    /// The job reports to Gerrit.
    GerritReported,
    /// Not a presubmit or postsubmit in `github_reporter.job_types_to_report`.
    TypeNotReported,
    /// Tests several pulls (a batch): Prow does not report those.
    Batch,
    NoRefs,
    /// No state yet, or one the sink has nothing for (`scheduling`).
    NoState,
    /// Neither a pull SHA nor a base SHA to put the status on.
    NoSha,
    /// A CodeCommit repository: its results go to CodeCommit.
    NotGitHub,
    /// A GitHub repository: CodeCommit's sink leaves it alone.
    NotCodeCommit,
    /// CodeCommit has no statuses: only ends are reported.
    NotComplete,
    /// Neither one pull request nor a push.
    NotOnePullOrPush,
    /// The sink's client is not configured here.
    NoClient,
    /// The job's `reporter_config` asks for no report (no Slack channel, or
    /// `report: false`).
    NotConfigured,
    /// The job's `job_states_to_report` leaves this state out.
    StateNotReported,
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
    /// Not written: the job has not finished and the sink's report repeats
    /// harmlessly ([`Reporter::repeats_harmlessly`]).
    NotNeeded,
}

/// Crier's reporters, in the order they run.
pub fn sinks() -> [&'static dyn Reporter; 3] {
    [&GitHubReporter, &CodeCommitReporter, &SlackReporter]
}

/// Reports job `id` to every sink (crier's reconcile): the record is read
/// once, each sink reports what it has not, and the outcome of each is
/// returned in [`sinks`] order. An error reading the record is returned.
pub async fn report_job(
    id: &str,
    deps: &ReporterDeps<'_>,
) -> PortResult<Vec<(&'static str, PortResult<Outcome>)>> {
    Ok(report_job_in(id, None, deps).await?.0)
}

/// [`report_job`] of a report that waited for `state` (any state when
/// `None`): a record that has left it is not reported ([`Skip::MovedOn`]).
/// Also the state the record was read in.
pub(crate) async fn report_job_in(
    id: &str,
    state: Option<ProwJobState>,
    deps: &ReporterDeps<'_>,
) -> PortResult<(
    Vec<(&'static str, PortResult<Outcome>)>,
    Option<ProwJobState>,
)> {
    let skip_all = |why: Skip| {
        sinks()
            .iter()
            .map(|s| (s.name(), Ok(Outcome::NotReported(why))))
            .collect()
    };
    let Some(mut job) = deps.store.get(id).await? else {
        return Ok((skip_all(Skip::NotStored), state));
    };
    let current = job.status.state;
    if state.is_some() && state != current {
        return Ok((skip_all(Skip::MovedOn), current));
    }
    let mut outcomes = Vec::new();
    let mut gone = false;
    for sink in sinks() {
        // A record deleted under one sink is deleted for the others too.
        let outcome = if gone {
            Ok(Outcome::NotReported(Skip::NotStored))
        } else {
            report_to(sink, &mut job, deps).await
        };
        gone |= matches!(
            outcome,
            Ok(Outcome::Reported {
                recorded: Recorded::Gone,
                ..
            })
        );
        outcomes.push((sink.name(), outcome));
    }
    Ok((outcomes, current))
}

/// Reports job `id` to one sink: [`report_job`]'s loop for a single sink.
pub async fn report_one(
    sink: &dyn Reporter,
    id: &str,
    deps: &ReporterDeps<'_>,
) -> PortResult<Outcome> {
    match deps.store.get(id).await? {
        Some(mut job) => report_to(sink, &mut job, deps).await,
        None => Ok(Outcome::NotReported(Skip::NotStored)),
    }
}

/// Reports `job` to `sink` and records it; `job` becomes the stored record
/// after the write, so the next sink records on top of it.
#[tracing::instrument(skip_all, fields(sink = sink.name(), job = %job.metadata.name, name = %job.spec.job))]
async fn report_to(
    sink: &dyn Reporter,
    job: &mut ProwJob,
    deps: &ReporterDeps<'_>,
) -> PortResult<Outcome> {
    if let Err(skip) = sink.should_report(job, deps) {
        return Ok(Outcome::NotReported(skip));
    }
    let Some(state) = job.status.state else {
        return Ok(Outcome::NotReported(Skip::NoState));
    };
    if job.status.prev_report_states.get(sink.name()) == Some(&state) {
        return Ok(Outcome::AlreadyReported(state));
    }
    let sent = sink.report(job, deps).await;
    let result = if sent.is_ok() { "success" } else { "error" };
    metrics::counter!(
        metric::REPORTING_RESULTS.name,
        "reporter" => sink.name(),
        "result" => result
    )
    .increment(1);
    let (detail, annotation) = match sent? {
        Sent::NotYet { until } => return Ok(Outcome::Deferred { until }),
        Sent::Reported { detail, annotation } => (detail, annotation),
    };
    let (recorded, stored) =
        if annotation.is_none() && sink.repeats_harmlessly() && !job.is_complete() {
            (Recorded::NotNeeded, None)
        } else {
            record(job.clone(), sink.name(), state, annotation, deps.store).await?
        };
    // Crier's latency: from the job's end to the end of its report.
    if let Some(done) = job.status.completion_time {
        metrics::histogram!(metric::REPORT_LATENCY.name, "reporter" => sink.name())
            .record(metric::seconds_between(done, deps.clock.now()));
    }
    if let Some(stored) = stored {
        *job = stored;
    }
    tracing::info!(state = state.as_str(), ?detail, ?recorded, "reported");
    Ok(Outcome::Reported {
        state,
        detail,
        recorded,
    })
}

/// Writes `prev_report_states[reporter] = state` (and `annotation`, when
/// given) with compare-and-set, reloading on conflict; the record as stored
/// after. A record that has since moved on still gets the reported state (its
/// new state differs, so it is reported on its own change) unless that newer
/// state was reported already.
async fn record(
    mut current: ProwJob,
    reporter: &str,
    state: ProwJobState,
    annotation: Option<(&str, String)>,
    store: &dyn JobStore,
) -> PortResult<(Recorded, Option<ProwJob>)> {
    let mut unavailable = 0;
    let mut attempts = 0;
    while attempts < MAX_RECORD_ATTEMPTS {
        let prev = current.status.prev_report_states.get(reporter).copied();
        let annotated = annotation
            .as_ref()
            .is_none_or(|(k, v)| current.metadata.annotations.get(*k) == Some(v));
        if prev == Some(state) && annotated {
            return Ok((Recorded::Saved, Some(current)));
        }
        if prev.is_some() && prev == current.status.state && prev != Some(state) {
            return Ok((Recorded::AlreadyNewer, Some(current)));
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
            Ok(stored) => return Ok((Recorded::Saved, Some(stored))),
            // Reload: on a lost answer the write may have landed, and the
            // reloaded record then shows it (the check above returns).
            Err(PortError::Conflict(_)) => attempts += 1,
            Err(e @ PortError::Unavailable(_)) => {
                unavailable += 1;
                if unavailable >= MAX_UNAVAILABLE_RECORD_CALLS {
                    return Err(e);
                }
                tracing::warn!(error = %e, "recording the reported state failed; trying again");
            }
            Err(PortError::NotFound(_)) => return Ok((Recorded::Gone, None)),
            Err(e) => return Err(e),
        }
        loop {
            match store.get(&current.metadata.name).await {
                Ok(Some(fresh)) => {
                    current = fresh;
                    break;
                }
                Ok(None) => return Ok((Recorded::Gone, None)),
                Err(e @ PortError::Unavailable(_)) => {
                    unavailable += 1;
                    if unavailable >= MAX_UNAVAILABLE_RECORD_CALLS {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    Err(PortError::Conflict(
        format!(
            "job {} kept changing while recording its reported state",
            current.metadata.name
        )
        .into(),
    ))
}

/// `now + secs`, saturating at the end of time.
fn later(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}
