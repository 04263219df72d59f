//! Every dedupe key, lease, marker and reporter name that more than one place
//! must spell the same way. Keys live in the job store's dedupe space
//! ([`crate::ports::JobStore::remember`]); markers live in comments on the
//! code host; reporter names are the keys of `status.prev_report_states`.
//!
//! Each entry says who writes it and who reads it: a key spelled twice is a
//! key that will one day be spelled two ways.

// ---------------------------------------------------------------------------
// Reporter names (`prev_report_states` keys, Prow's crier names)

/// crier's GitHub reporter (`GitHubReporterName`). Written by the reporter's
/// GitHub sink after a status or check run; written by the syncer on a
/// superseded presubmit so the old commit never shows "aborted".
pub const GITHUB_REPORTER: &str = "github-reporter";
/// Skiff's CodeCommit reporter. Written and read by the reporter's CodeCommit
/// sink.
pub const CODECOMMIT_REPORTER: &str = "codecommit-reporter";
/// crier's Slack reporter (`slackreporter`). Written and read by the
/// reporter's Slack sink.
pub const SLACK_REPORTER: &str = "slackreporter";

// ---------------------------------------------------------------------------
// Dedupe keys and leases

/// A GitHub delivery: claimed by the webhook for [`DELIVERY_CLAIM_LEASE`]
/// before it queues the event, kept as a mark for the dedupe TTL once the
/// event is queued. A live mark drops a redelivery as a duplicate; a live
/// claim answers "try again" (an attempt is queuing it, or died doing so).
/// Read by the redelivery function, which redelivers only deliveries that
/// hold neither.
pub fn delivery(guid: &str) -> String {
    format!("delivery/{guid}")
}

/// How long a webhook's claim on a delivery lives: longer than the webhook
/// function may run (its timeout is 30 s), so a live attempt never loses its
/// claim, and short, so a delivery whose attempt died is taken again soon.
/// A [`delivery`] key that lives longer than this from now is a mark.
pub const DELIVERY_CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether a held [`delivery`] key that lives until `until` is a mark, not a
/// claim taken with `lease`: claims live at most one lease (plus a store's
/// rounding to whole seconds), marks days.
pub fn is_delivery_mark(
    until: jiff::Timestamp,
    now: jiff::Timestamp,
    lease: std::time::Duration,
) -> bool {
    let claims_end = now
        .checked_add(lease.saturating_mul(2))
        .unwrap_or(jiff::Timestamp::MAX);
    until > claims_end
}

/// A redelivery of attempt `attempt` of delivery `guid` was asked for.
/// Written and read by the redelivery function, so no failed attempt is
/// redelivered twice.
pub fn redelivery(guid: &str, attempt: i64) -> String {
    format!("redelivery/{guid}/{attempt}")
}

/// The `n`-th comment a delivery's plan posts (a help reply, an
/// `/ok-to-test` notice). Claimed by the trigger before posting, released if
/// the post fails, so a redelivered event comments once.
pub fn delivery_comment(delivery: &str, n: usize) -> String {
    format!("{delivery}/comment/{n}")
}

/// A triggered job's dispatch message is alive (waiting for a concurrency
/// slot, or just sent). Refreshed by the dispatcher each time it defers the
/// job; taken by the syncer before it sends the job again, so a job is never
/// re-sent while its message still circulates.
pub fn dispatch_waiting(job_id: &str) -> String {
    format!("dispatch-waiting/{job_id}")
}

/// The dispatcher asked Jenkins for `job_id`'s build (or is asking). A later
/// delivery that finds it held looks for the build by its `PROW_JOB_ID`
/// before queueing one, so a lost answer never starts a second build.
pub fn jenkins_start(job_id: &str) -> String {
    format!("jenkins-start/{job_id}")
}

/// The first time the pod log of `job_id`'s build `build_id` could not be
/// read. Written and read by the syncer (with [`log_window`]) to give up on a
/// log that stays unreadable.
pub fn log_failing(job_id: &str, build_id: &str) -> String {
    format!("log-failing/{job_id}/{build_id}")
}

/// The window after [`log_failing`] during which the syncer keeps waiting for
/// a pod's log; once it has expired the job finishes without it.
pub fn log_window(job_id: &str, build_id: &str) -> String {
    format!("log-window/{job_id}/{build_id}")
}

/// The reporter's GitHub sink created (or is creating) the check run of
/// `job_id`. Written before the create; a later attempt that finds it looks
/// the run up instead of creating a second one.
pub fn check_run_created(job_id: &str) -> String {
    format!("{GITHUB_REPORTER}/check-run/{job_id}")
}

/// The lock on a CodeCommit pull request's results comment. Taken and
/// released by the reporter's CodeCommit sink.
pub fn codecommit_comment_lock(region: &str, repo: &str, number: i64) -> String {
    format!("{CODECOMMIT_REPORTER}/comment-lock/{region}/{repo}#{number}")
}

/// The reporter's CodeCommit sink approved (`approve`) or revoked the
/// approval of a pull request's revision. Written before
/// `UpdatePullRequestApprovalState`, the opposite key forgotten after it, so
/// a repeated report calls CodeCommit once per change of mind.
pub fn codecommit_approval(
    region: &str,
    repo: &str,
    number: i64,
    revision_id: &str,
    approve: bool,
) -> String {
    let verdict = if approve { "approved" } else { "revoked" };
    format!("{CODECOMMIT_REPORTER}/approval/{region}/{repo}#{number}@{revision_id}/{verdict}")
}

// ---------------------------------------------------------------------------
// Values for the deck's health page (`crate::health`)

/// The id-key of a gangway execution sent with an `Idempotency-Key`: the
/// caller (its IAM principal, `-` in `skiff dev` without auth) and the key, so
/// a retried call answers the first run. Written and read by gangway only
/// (the job id is `job_id` of it).
pub fn gangway_execution(caller: &str, key: &str) -> String {
    format!("gangway/{caller}/{key}")
}

/// The scheduler's last tick ([`crate::health::SchedulerTick`]). Written by
/// the scheduler every tick; read by the deck's `/health`.
pub const SCHEDULER_TICK: &str = "health/scheduler-tick";

/// GitHub's rate limit left per identity ([`crate::health::RateLimits`]).
/// Written by the reporter (merged with what is there, at most once a minute
/// per process); read by the deck's `/health`.
pub const GITHUB_RATE_LIMITS: &str = "health/github-rate-limits";

// ---------------------------------------------------------------------------
// Markers on the code host and job records

/// Begins the CodeCommit results comment; the head commit and ` -->` follow.
/// Written by the reporter's CodeCommit sink; read by the sink (to edit its
/// own table) and by the trigger (the bot's own table must trigger nothing).
pub const RESULTS_TAG: &str = "<!-- skiff test results";

/// Marks the GitHub failure comment (Prow's `<!-- test report -->`). Written
/// by the reporter's GitHub sink; read by it to find its own comment.
pub const COMMENT_TAG: &str = "<!-- test report -->";

/// The job record annotation holding the id of the job's check run. Written
/// by the reporter's GitHub sink; read by it to update instead of create.
pub const CHECK_RUN_ANNOTATION: &str = "skiff.dev/github-check-run";

/// The job state whose commit status the GitHub reporter wrote while the
/// rest of that report (the failure comment) failed: the report's retry does
/// not write the same status again.
pub const STATUS_SENT_ANNOTATION: &str = "skiff.dev/github-status-sent";

/// The GitHub events the trigger acts on. The webhook drops every other
/// event before it costs a queue message; the redelivery function redelivers
/// only these.
pub const ACTED_ON: [&str; 10] = [
    "pull_request",
    "issue_comment",
    "pull_request_review",
    "push",
    "check_run",
    "check_suite",
    // GitHub's merge queue (`skiff.merge_queue.repos`).
    "merge_group",
    // The review plugins' (label and help act on issues) and external
    // plugins' events.
    "issues",
    "pull_request_review_comment",
    "status",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_key_living_past_two_leases_is_a_mark() {
        let now = jiff::Timestamp::from_second(1_000_000).unwrap();
        let lease = DELIVERY_CLAIM_LEASE;
        let at = |s: i64| jiff::Timestamp::from_second(1_000_000 + s).unwrap();
        assert!(!is_delivery_mark(at(60), now, lease), "a fresh claim");
        assert!(!is_delivery_mark(at(61), now, lease), "a claim rounded up");
        assert!(is_delivery_mark(at(7 * 24 * 3600), now, lease), "a mark");
    }

    /// The keys are stored in live tables: a change of spelling orphans
    /// every key written before it (a redelivery would run twice).
    #[test]
    fn keys_are_spelled_as_stored() {
        assert_eq!(delivery("d-1"), "delivery/d-1");
        assert_eq!(redelivery("d-1", 7), "redelivery/d-1/7");
        assert_eq!(delivery_comment("d-1", 0), "d-1/comment/0");
        assert_eq!(dispatch_waiting("j"), "dispatch-waiting/j");
        assert_eq!(log_failing("j", "1"), "log-failing/j/1");
        assert_eq!(log_window("j", "1"), "log-window/j/1");
        assert_eq!(check_run_created("j"), "github-reporter/check-run/j");
        assert_eq!(SCHEDULER_TICK, "health/scheduler-tick");
        assert_eq!(GITHUB_RATE_LIMITS, "health/github-rate-limits");
        assert_eq!(
            codecommit_comment_lock("us-east-1", "r", 4),
            "codecommit-reporter/comment-lock/us-east-1/r#4"
        );
        assert_eq!(
            codecommit_approval("us-east-1", "r", 4, "rev", true),
            "codecommit-reporter/approval/us-east-1/r#4@rev/approved"
        );
        assert_eq!(
            codecommit_approval("us-east-1", "r", 4, "rev", false),
            "codecommit-reporter/approval/us-east-1/r#4@rev/revoked"
        );
    }
}
