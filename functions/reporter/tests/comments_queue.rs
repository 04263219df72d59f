//! The comments queue: a report whose failure comment changes queues the
//! update in its pull request's group instead of taking a lock, and the
//! queue's handler applies the updates one at a time from the comments as
//! they are then. Against the in-memory twins (the store, the GitHub twin,
//! the queue); the queue's one-message-per-group delivery is SQS FIFO's,
//! checked against moto in shared/aws/tests/sqs.rs.

mod support;

use std::sync::Arc;
use std::time::Duration;

use skiff_core::config::Config;
use skiff_core::keys;
use skiff_core::ports::{Message, PortError, Queue};
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::comments::{CommentMessage, handle_comments};
use skiff_reporter::{Next, ReporterDeps, report_and_decide};
use skiff_testkit::{ManualClock, MemoryQueue, MemoryScm, MemoryStore, ScmCall};
use support::*;

const LINT: &str = "pull-widgets-lint";

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
    comments: MemoryQueue,
}

impl World {
    fn new() -> Self {
        let clock = clock();
        Self {
            config: Config::default(),
            store: MemoryStore::new(clock.clone()),
            scm: MemoryScm::default(),
            comments: MemoryQueue::new(clock.clone()),
            clock,
        }
    }

    fn deps<'a>(&'a self, scm: &'a Guarded<'a>) -> ReporterDeps<'a> {
        let mut deps = ReporterDeps::new(&self.config, &self.store, scm, self.clock.as_ref());
        deps.comments = Some(&self.comments);
        deps
    }

    /// One delivery of the job's report (the stream's): what is left to do.
    async fn report(&self, id: &str) -> Next {
        let scm = Guarded(&self.scm);
        report_and_decide(id, &self.deps(&scm)).await
    }

    /// The messages visible on the comments queue, received.
    async fn receive(&self) -> Vec<Message> {
        self.comments.receive(10).await.unwrap()
    }

    /// Hands `messages` to the handler and acknowledges what it is done with.
    async fn handle(&self, messages: &[Message]) -> skiff_core::ports::BatchOutcome {
        let scm = Guarded(&self.scm);
        let outcome = handle_comments(messages, &self.deps(&scm)).await;
        let done: Vec<String> = messages
            .iter()
            .map(|m| m.receipt.clone())
            .filter(|r| outcome.is_done(r))
            .collect();
        self.comments.ack(&done).await.unwrap();
        outcome
    }

    /// Stores job `id` of `context` as ended in `state`, its pending
    /// state reported.
    fn ended(&self, id: &str, context: &str, state: ProwJobState) {
        let mut j = presubmit(id, context);
        j.transition(ProwJobState::Pending, now(), "Job triggered.")
            .unwrap();
        j.status.url = URL.into();
        j.transition(state, now(), "Job ended.").unwrap();
        j.status
            .prev_report_states
            .insert(keys::GITHUB_REPORTER.into(), ProwJobState::Pending);
        self.store.put(j);
    }

    fn creates(&self) -> usize {
        self.scm
            .count_calls(|c| matches!(c, ScmCall::CreateComment { .. }))
    }
}

#[tokio::test]
async fn a_report_that_changes_the_comment_queues_it_and_writes_no_lock() {
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Failure);
    let writes = w.store.calls();
    assert_eq!(w.report("j1").await, Next::Done);
    assert!(w.scm.comments(42).is_empty(), "not updated in the report");
    assert!(w.store.keys().is_empty(), "no lock item");
    let calls = w.store.calls();
    assert_eq!(
        calls.remembers - writes.remembers,
        0,
        "no lock taken or given back"
    );
    assert_eq!(
        w.store.job("j1").status.prev_report_states[keys::GITHUB_REPORTER],
        ProwJobState::Failure,
        "the report is recorded: the update is on the queue"
    );
    let messages = w.receive().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        serde_json::from_str::<CommentMessage>(&messages[0].body).unwrap(),
        CommentMessage {
            job: "j1".into(),
            state: ProwJobState::Failure
        }
    );

    let outcome = w.handle(&messages).await;
    assert_eq!(outcome, Default::default());
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body, failure_comment(&[row(CONTEXT, URL)]));
}

#[tokio::test]
async fn a_report_that_leaves_the_comment_as_it_is_queues_nothing() {
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Success);
    assert_eq!(w.report("j1").await, Next::Done);
    assert!(w.comments.is_empty());
    assert_eq!(
        w.scm
            .count_calls(|c| matches!(c, ScmCall::ListComments { .. })),
        1,
        "one read of the comments"
    );
}

#[tokio::test]
async fn two_jobs_decided_on_the_same_comments_both_get_their_row() {
    // Both reports read the pull's comments before either update is made —
    // two jobs finishing together. Each update, taken from the queue in
    // turn, starts from the comments as they are then.
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Failure);
    w.ended("j2", LINT, ProwJobState::Failure);
    assert_eq!(w.report("j1").await, Next::Done);
    assert_eq!(w.report("j2").await, Next::Done);
    let messages = w.receive().await;
    assert_eq!(messages.len(), 2);
    w.handle(&messages).await;
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(
        comments[0].body,
        failure_comment(&[row(CONTEXT, URL), row(LINT, URL)])
    );
}

#[tokio::test]
async fn an_update_delivered_twice_posts_one_comment() {
    // The queue's answer to the send was lost and the report sent it again,
    // past the FIFO queue's five-minute deduplication: the second finds the
    // job's row posted and changes nothing.
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Failure);
    let body = serde_json::to_string(&CommentMessage {
        job: "j1".into(),
        state: ProwJobState::Failure,
    })
    .unwrap();
    w.comments.send(&[body.clone(), body]).await.unwrap();
    let messages = w.receive().await;
    assert_eq!(messages.len(), 2);
    w.handle(&messages).await;
    assert_eq!(w.creates(), 1, "one comment posted");
    assert_eq!(
        w.scm
            .count_calls(|c| matches!(c, ScmCall::EditComment { .. })),
        0,
        "and not edited either"
    );
    assert_eq!(w.scm.comments(42).len(), 1);
}

#[tokio::test]
async fn a_failed_update_gives_back_its_message_and_every_later_one() {
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Failure);
    w.ended("j2", LINT, ProwJobState::Failure);
    w.report("j1").await;
    w.report("j2").await;
    w.scm.faults().next(
        "create_comment",
        PortError::Unavailable("GitHub: 502".into()),
    );
    let messages = w.receive().await;
    let outcome = w.handle(&messages).await;
    assert_eq!(
        outcome.retry_after,
        [(messages[0].receipt.clone(), Duration::from_secs(30))]
    );
    assert_eq!(
        outcome.retry,
        [messages[1].receipt.clone()],
        "the later message waits behind it: a group keeps its order"
    );
    assert!(w.scm.comments(42).is_empty());

    // Back after the wait, in order: both rows.
    w.clock.advance(Duration::from_secs(31));
    let again = w.receive().await;
    assert_eq!(again.len(), 2);
    assert_eq!(w.handle(&again).await, Default::default());
    assert_eq!(
        w.scm.comments(42)[0].body,
        failure_comment(&[row(CONTEXT, URL), row(LINT, URL)])
    );
}

#[tokio::test]
async fn an_update_whose_job_is_gone_or_moved_on_is_dropped() {
    let w = World::new();
    w.ended("j1", CONTEXT, ProwJobState::Failure);
    let msg = |job: &str, state| {
        serde_json::to_string(&CommentMessage {
            job: job.into(),
            state,
        })
        .unwrap()
    };
    w.comments
        .send(&[
            msg("gone", ProwJobState::Failure),
            msg("j1", ProwJobState::Success),
            "not json".into(),
        ])
        .await
        .unwrap();
    let messages = w.receive().await;
    assert_eq!(w.handle(&messages).await, Default::default());
    assert!(w.scm.comments(42).is_empty());
    assert!(w.comments.is_empty(), "all three acknowledged");
}
