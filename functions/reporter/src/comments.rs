//! The comments queue: a failure-comment update that changes something
//! waits here in its pull request's group. The queue hands out a group's
//! next message only once the one before it is done (an SQS FIFO queue's
//! message groups; `skiff dev`'s one loop), so two jobs of one pull
//! finishing together never edit its comment at once — crier holds a
//! per-PR lock in memory for the same reason — and serializing them costs
//! no store write.
//!
//! A message names the job and the state it reports; the handler reads the
//! record fresh and updates the comment from the comments as they are then.
//! A message delivered twice finds its job's row posted and changes nothing
//! (`comment::plan`).

use serde::{Deserialize, Serialize};
use skiff_core::ports::{BatchOutcome, Message, PortResult, Queue};
use skiff_core::prowjob::{ProwJob, ProwJobState, Refs};

use crate::ReporterDeps;
use crate::github::CommentReport;
use crate::github::comment::update_now;
use crate::queue::{Next, RETRY_DELAY, after_error};

/// SQS's longest `MessageGroupId`.
const MAX_GROUP: usize = 128;

/// A message on the comments queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentMessage {
    /// The job id.
    pub job: String,
    /// The finished state whose comment update waits.
    pub state: ProwJobState,
}

/// The message group of a pull request's comment: `org/repo#number`, in
/// the characters SQS takes, at most [`MAX_GROUP`] of them (a longer name
/// shares its group with another now and then, which only orders them).
pub fn group(refs: &Refs, number: i64) -> String {
    format!("{}/{}#{number}", refs.org, refs.repo)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(MAX_GROUP)
        .collect()
}

/// Queues `job`'s comment update in its pull request's group.
pub(crate) async fn queue(
    job: &ProwJob,
    refs: &Refs,
    number: i64,
    queue: &dyn Queue,
) -> PortResult<()> {
    let Some(state) = job.status.state else {
        return Ok(());
    };
    let message = CommentMessage {
        job: job.metadata.name.clone(),
        state,
    };
    let body = serde_json::to_string(&message).map_err(|e| {
        skiff_core::ports::PortError::Rejected(format!("comment message: {e}").into())
    })?;
    queue.send_in_group(&group(refs, number), &[body]).await
}

/// Handles a batch from the comments queue, in order. A message that must
/// wait (a rate limit, an outage) is given back with every message after
/// it: a group's messages stay in their order.
pub async fn handle_comments(messages: &[Message], deps: &ReporterDeps<'_>) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let now = deps.clock.now();
    let mut held = false;
    for m in messages {
        if held {
            outcome.retry.push(m.receipt.clone());
            continue;
        }
        let msg: CommentMessage = match serde_json::from_str(&m.body) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::warn!(receipt = %m.receipt, error = %e, "not a comment update; dropped");
                continue;
            }
        };
        let next = match update(&msg, deps).await {
            Ok(report) => {
                tracing::info!(job = %msg.job, ?report, "failure comment");
                Next::Done
            }
            Err(e) => after_error(&e, "github-comment", &msg.job, now),
        };
        let delay = match next {
            Next::Done => continue,
            Next::Wait(d) => d,
            Next::Retry => RETRY_DELAY,
        };
        outcome.retry_after.push((m.receipt.clone(), delay));
        held = true;
    }
    outcome
}

/// The comment update of one message, if its job is still there and still
/// in the state the message names.
async fn update(msg: &CommentMessage, deps: &ReporterDeps<'_>) -> PortResult<CommentReport> {
    let Some(job) = deps.store.get(&msg.job).await? else {
        return Ok(CommentReport::NotCovered("the job record is gone"));
    };
    if job.status.state != Some(msg.state) {
        return Ok(CommentReport::NotCovered(
            "the job has left the queued state",
        ));
    }
    let Some(refs) = job.spec.refs.as_ref() else {
        return Ok(CommentReport::NotCovered("the job has no refs"));
    };
    update_now(&job, refs, deps).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_the_pull_request_in_characters_sqs_takes_and_within_its_limit() {
        let refs = |org: &str, repo: &str| Refs {
            org: org.into(),
            repo: repo.into(),
            ..Default::default()
        };
        assert_eq!(group(&refs("acme", "widgets"), 42), "acme/widgets#42");
        assert_eq!(group(&refs("acme", "wid gets"), 42), "acme/wid_gets#42");
        let long = group(&refs("acme", &"r".repeat(300)), 42);
        assert_eq!(long.len(), MAX_GROUP);
        assert!(long.starts_with("acme/rrr"));
    }

    #[test]
    fn a_message_round_trips_and_its_body_is_the_same_for_the_same_report() {
        let m = CommentMessage {
            job: "j1".into(),
            state: ProwJobState::Failure,
        };
        let body = serde_json::to_string(&m).unwrap();
        // The FIFO queue deduplicates by content: the same report must
        // give the same bytes.
        assert_eq!(body, r#"{"job":"j1","state":"failure"}"#);
        assert_eq!(serde_json::from_str::<CommentMessage>(&body).unwrap(), m);
    }
}
