//! The per-PR comment lock when the answer to the write that took it is lost
//! (a DynamoDB timeout, a 500 sent after the write): the lock is held in the
//! report's name, so the report's retry takes it again and the comment is
//! written once, at once — not after the lock's 120 s, by which time a short
//! queue visibility could have dead-lettered the report. Against the
//! in-memory twins; the store twin applies the claim, then fails its answer.

mod support;

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::keys;
use skiff_core::ports::PortError;
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::{Next, ReporterDeps, report_and_decide};
use skiff_testkit::{ManualClock, MemoryScm, MemoryStore};
use support::*;

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
}

impl World {
    fn new() -> Self {
        let clock = clock();
        Self {
            config: Config::default(),
            store: MemoryStore::new(clock.clone()),
            scm: MemoryScm::default(),
            clock,
        }
    }

    /// One delivery of the job's report (the stream's, or the `reports`
    /// queue's): what is left to do after it.
    async fn deliver(&self, id: &str) -> Next {
        let scm = Guarded(&self.scm);
        let deps = ReporterDeps::new(&self.config, &self.store, &scm, self.clock.as_ref());
        report_and_decide(id, &deps).await
    }

    /// Stores job `id` of `context` as failed, its earlier states reported.
    fn failed(&self, id: &str, context: &str) {
        let mut j = presubmit(id, context);
        j.transition(ProwJobState::Pending, now(), "Job triggered.")
            .unwrap();
        j.status.url = URL.into();
        j.transition(ProwJobState::Failure, now(), "Job failed.")
            .unwrap();
        j.status
            .prev_report_states
            .insert(keys::GITHUB_REPORTER.into(), ProwJobState::Pending);
        self.store.put(j);
    }

    fn lose_the_next_lock_answer(&self) {
        self.store.faults().lose_answer(
            "claim_as",
            PortError::Unavailable("DynamoDB PutItem: timed out after the write".into()),
        );
    }

    fn lock_is_free(&self) -> bool {
        !self
            .store
            .knows_key(&keys::github_comment_lock("acme", "widgets", 42))
    }
}

#[tokio::test]
async fn a_lost_answer_on_the_lock_write_is_retried_into_one_comment() {
    let w = World::new();
    w.failed("j1", CONTEXT);
    w.lose_the_next_lock_answer();

    assert_eq!(
        w.deliver("j1").await,
        Next::Retry,
        "the lost answer fails it"
    );
    assert!(w.scm.comments(42).is_empty());
    assert!(!w.lock_is_free(), "the write itself took the lock");

    // No time passes: the retry must not wait for the lock to expire.
    assert_eq!(
        w.deliver("j1").await,
        Next::Done,
        "the retry takes it again"
    );
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body, failure_comment(&[row(CONTEXT, URL)]));
    assert!(w.lock_is_free(), "released after the update");
    assert_eq!(
        w.scm.statuses().len(),
        1,
        "the retry does not write the status the failed attempt wrote"
    );

    assert_eq!(w.deliver("j1").await, Next::Done);
    assert_eq!(w.scm.comments(42).len(), 1, "a repeat writes nothing");
    assert_eq!(w.scm.statuses().len(), 1);
}

#[tokio::test]
async fn a_lock_whose_answer_was_lost_still_keeps_other_reports_out() {
    let w = World::new();
    w.failed("j1", CONTEXT);
    w.failed("j2", "pull-widgets-lint");
    w.lose_the_next_lock_answer();
    assert_eq!(w.deliver("j1").await, Next::Retry);

    // Another job's report finds the lock held and waits its turn: were it
    // let in, each would post a comment lacking the other's row.
    assert_eq!(w.deliver("j2").await, Next::Retry);
    assert!(w.scm.comments(42).is_empty());

    assert_eq!(w.deliver("j1").await, Next::Done);
    assert_eq!(w.deliver("j2").await, Next::Done);
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(
        comments[0].body,
        failure_comment(&[row(CONTEXT, URL), row("pull-widgets-lint", URL)])
    );
    assert!(w.lock_is_free());
}
