//! The `reports` queue: a report that cannot be sent now waits here — until
//! the instant GitHub named for a rate limit, until the triggered delay ends,
//! or a while after an outage — so one job's trouble holds up no other job.
//! A message names the job and the state whose report waits: whoever
//! reports it reads the record fresh and reports what is true then — unless
//! the record has left that state, whose own change has reported the new one
//! (an unfinished state's report is not recorded, so without the state the
//! message would repeat that report).

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use skiff_core::ports::{BatchOutcome, Message, PortError};

use skiff_core::prowjob::{ProwJob, ProwJobState};

use crate::{Outcome, ReporterDeps, report_job_in};

/// After a passing failure (an outage, a lost race), the report is tried
/// again this much later.
pub const RETRY_DELAY: Duration = Duration::from_secs(30);

/// A message on the `reports` queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMessage {
    /// The job id.
    pub job: String,
    /// The state the report waits to report; absent in messages queued
    /// before it was kept, which report whatever state the record is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ProwJobState>,
}

impl ReportMessage {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| serde_json::json!({ "job": self.job }).to_string())
    }
}

/// What is left to do for a job after reporting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Done,
    /// Report again after this long, not before: the triggered delay, or a
    /// rate limit's end.
    Wait(Duration),
    /// A failure that may pass: report again later.
    Retry,
}

impl Next {
    /// Both must happen: a retry wins (it comes sooner and is counted
    /// towards the dead-letter queue), else the shorter wait.
    fn and(self, other: Next) -> Next {
        match (self, other) {
            (Next::Retry, _) | (_, Next::Retry) => Next::Retry,
            (Next::Wait(a), Next::Wait(b)) => Next::Wait(a.min(b)),
            (Next::Wait(a), Next::Done) | (Next::Done, Next::Wait(a)) => Next::Wait(a),
            (Next::Done, Next::Done) => Next::Done,
        }
    }
}

/// Whole seconds from `now` to `until`, rounded up, at least one.
fn wait_until(now: Timestamp, until: Timestamp) -> Duration {
    let ms = until.duration_since(now).as_millis().max(0);
    let secs = u64::try_from(ms).unwrap_or(0).div_ceil(1000).max(1);
    Duration::from_secs(secs)
}

pub(crate) fn after_error(e: &PortError, reporter: &str, job: &str, now: Timestamp) -> Next {
    if !e.is_retryable() {
        tracing::warn!(reporter, job, error = %e, "report refused; dropped");
        return Next::Done;
    }
    match e.retry_at() {
        Some(until) => {
            tracing::info!(reporter, job, %until, "rate limited; reporting later");
            Next::Wait(wait_until(now, until))
        }
        None => {
            tracing::warn!(reporter, job, error = %e, "report failed; retrying later");
            Next::Retry
        }
    }
}

/// Reports job `id` to every sink and says what is left to do.
pub async fn report_and_decide(id: &str, deps: &ReporterDeps<'_>) -> Next {
    report_state_and_decide(id, None, deps).await.0
}

/// [`report_and_decide`] of a report that waited for `state` (any state
/// when `None`); also the state the record was in, which is what a report
/// queued for later waits to report.
async fn report_state_and_decide(
    id: &str,
    state: Option<ProwJobState>,
    deps: &ReporterDeps<'_>,
) -> (Next, Option<ProwJobState>) {
    let now = deps.clock.now();
    let (outcomes, current) = match report_job_in(id, state, deps).await {
        Ok(reported) => reported,
        Err(e) => return (after_error(&e, "store", id, now), state),
    };
    let mut next = Next::Done;
    for (sink, outcome) in outcomes {
        next = next.and(match outcome {
            Ok(Outcome::Deferred { until }) => Next::Wait(wait_until(now, until)),
            Ok(outcome) => {
                tracing::debug!(?outcome, sink);
                Next::Done
            }
            Err(e) => after_error(&e, sink, id, now),
        });
    }
    (next, current)
}

/// One change of a job record as the jobs table's stream (or `skiff dev`'s
/// change feed) delivers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    /// Where it is in the stream: where a retry starts.
    pub sequence: &'a str,
    /// The job id.
    pub job: &'a str,
    /// The state the record was changed to.
    pub state: Option<ProwJobState>,
    /// Whether the change created the record or moved it to `state` from
    /// another; `false` when only something else changed (a report
    /// recorded, an annotation, a recreated pod's link).
    pub new_state: bool,
}

impl<'a> Change<'a> {
    /// The change at `sequence` that left `job` as it is now.
    pub fn of(sequence: &'a str, job: &'a ProwJob, new_state: bool) -> Self {
        Change {
            sequence,
            job: &job.metadata.name,
            state: job.status.state,
            new_state,
        }
    }
}

/// Reports changes in their order, as crier reports each state once:
/// - a change that left the state as it was reports nothing (its state was
///   reported on the change that entered it; a report that failed then
///   waits on the queue) — without reading the record;
/// - a change to a state the record has left reports nothing either: the
///   record's later change (later in the stream, which keeps one record's
///   changes in order) reports the state it is in.
///
/// A job that cannot be reported now is put on the retry queue and the
/// others go on; the sequence returned (if any) is where to start again
/// because even that failed (or there is no queue): the caller retries from
/// there, as before the queue existed.
pub async fn report_changes(changes: &[Change<'_>], deps: &ReporterDeps<'_>) -> Option<String> {
    for change in changes {
        let Change {
            sequence,
            job,
            state: changed_to,
            new_state,
        } = *change;
        if !new_state {
            continue;
        }
        let (next, state) = report_state_and_decide(job, changed_to, deps).await;
        let delay = match next {
            Next::Done => continue,
            Next::Wait(d) => d,
            Next::Retry => RETRY_DELAY,
        };
        let Some(queue) = deps.reports else {
            return Some(sequence.to_owned());
        };
        let body = ReportMessage {
            job: job.to_string(),
            state,
        }
        .to_body();
        if let Err(e) = queue.send_delayed(&[body], delay).await {
            tracing::warn!(error = %e, job, "cannot queue the report for later; retrying from here");
            return Some(sequence.to_owned());
        }
    }
    None
}

/// Handles a batch from the `reports` queue.
pub async fn handle_reports(messages: &[Message], deps: &ReporterDeps<'_>) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    for m in messages {
        let msg: ReportMessage = match serde_json::from_str(&m.body) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::warn!(receipt = %m.receipt, error = %e, "not a report retry; dropped");
                continue;
            }
        };
        match report_state_and_decide(&msg.job, msg.state, deps).await.0 {
            Next::Done => {}
            Next::Wait(d) => outcome.retry_after.push((m.receipt.clone(), d)),
            Next::Retry => outcome.retry.push(m.receipt.clone()),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds_and_never_to_zero() {
        let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            wait_until(now, at("2026-11-23T10:01:00Z")),
            Duration::from_secs(60)
        );
        assert_eq!(
            wait_until(now, at("2026-11-23T10:00:00.2Z")),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait_until(now, at("2026-11-23T09:00:00Z")),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_retry_wins_over_a_wait_and_the_shorter_wait_wins() {
        let w = |s| Next::Wait(Duration::from_secs(s));
        assert_eq!(w(60).and(Next::Retry), Next::Retry);
        assert_eq!(w(60).and(w(5)), w(5));
        assert_eq!(Next::Done.and(w(5)), w(5));
        assert_eq!(Next::Done.and(Next::Done), Next::Done);
    }
}
