//! The trigger function end to end over in-memory ports: what one event
//! leaves behind, and that delivering it again — whole, or after a failure
//! halfway — leaves exactly the same.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::github;
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{BatchOutcome, Message};
use skiff_core::prowjob::labels::{EVENT_GUID, RETEST};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_testkit::{ManualClock, MemoryQueue, MemoryScm, MemoryStore};
use skiff_trigger::{CodeCommitRegion, TriggerDeps, handle_batch};

use common::{BOT, code_host, unavailable};

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: lint
    always_run: true
    optional: true
    spec: {containers: [{image: golang, command: [make, lint]}]}
  - name: docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [make, docs]}]}
postsubmits:
  us-east-1/my-repo:
  - name: publish
    branches: ['^main$']
    spec: {containers: [{image: alpine, command: [publish]}]}
  - name: post-docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [make, docs]}]}
"#;

const ABORTED: &str = "Aborted by trigger plugin.";

fn config() -> Config {
    let loaded = load(&[SourceFile {
        path: "jobs.yaml".into(),
        text: JOBS.into(),
        role: FileRole::JobConfig,
    }]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

struct World {
    config: Config,
    regexes: Regexes,
    store: MemoryStore,
    dispatch: MemoryQueue,
    /// GitHub.
    scm: MemoryScm,
    /// CodeCommit in us-east-1.
    cc: MemoryScm,
    clock: Arc<ManualClock>,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        World {
            config: config(),
            regexes: Regexes::default(),
            store: MemoryStore::new(clock.clone()),
            dispatch: MemoryQueue::new(clock.clone()),
            scm: code_host(),
            cc: code_host(),
            clock,
        }
    }

    async fn run(&self, messages: &[Message]) -> BatchOutcome {
        let deps = TriggerDeps {
            config: &self.config,
            regexes: &self.regexes,
            store: &self.store,
            dispatch: &self.dispatch,
            scm: &self.scm,
            codecommit: &[CodeCommitRegion {
                region: "us-east-1",
                scm: &self.cc,
            }],
            clock: self.clock.as_ref(),
            external: None,
        };
        handle_batch(messages, &deps).await
    }

    /// Runs one message and checks it was finished, not sent back.
    async fn done(&self, m: &Message) {
        let outcome = self.run(std::slice::from_ref(m)).await;
        assert_eq!(
            outcome,
            BatchOutcome::default(),
            "{} was not finished",
            m.receipt
        );
    }

    fn records_of(&self, delivery: &str) -> Vec<ProwJob> {
        self.store
            .all()
            .into_iter()
            .filter(|j| j.metadata.labels.get(EVENT_GUID).map(String::as_str) == Some(delivery))
            .collect()
    }

    fn state_of(&self, id: &str) -> (Option<ProwJobState>, String) {
        let j = self.store.job(id);
        (j.status.state, j.status.description)
    }

    /// Makes the pull request GitHub's API returns.
    fn open_pr(&self, pr: &Value) {
        let model = github::parse_pull_request(pr.to_string().as_bytes()).unwrap();
        self.scm.add_pull(model);
    }

    /// How many times the dispatch queue was asked to send (an empty send
    /// counts too: "no send" means no call at all).
    fn send_calls(&self) -> usize {
        self.dispatch
            .journal()
            .iter()
            .filter(|m| *m == "send")
            .count()
    }
}

fn names(jobs: &[ProwJob]) -> BTreeSet<String> {
    jobs.iter().map(|j| j.spec.job.clone()).collect()
}

fn ids(jobs: &[ProwJob]) -> BTreeSet<String> {
    jobs.iter().map(|j| j.metadata.name.clone()).collect()
}

fn repository() -> Value {
    json!({"name": "widgets", "owner": {"login": "acme"}, "html_url": "https://github.com/acme/widgets"})
}

fn pr_object(number: i64, author: &str, head: &str, labels: &[&str]) -> Value {
    json!({
        "number": number,
        "title": "Make widgets faster",
        "body": "",
        "user": {"login": author, "html_url": format!("https://github.com/{author}")},
        "html_url": format!("https://github.com/acme/widgets/pull/{number}"),
        "head": {"sha": head, "ref": "faster"},
        "base": {"sha": "base-then", "ref": "main", "repo": repository()},
        "draft": false,
        "state": "open",
        "merged": false,
        "mergeable": true,
        "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
    })
}

fn pr_event(action: &str, pr: &Value) -> Value {
    json!({"action": action, "number": pr["number"], "pull_request": pr, "sender": pr["user"]})
}

fn comment_event(number: i64, author: &str, body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": number, "state": "open", "pull_request": {"url": "x"}},
        "comment": {
            "body": body,
            "user": {"login": author},
            "html_url": format!("https://github.com/acme/widgets/pull/{number}#issuecomment-1"),
        },
        "repository": repository(),
    })
}

fn message(receipt: &str, body: String) -> Message {
    Message {
        receipt: receipt.into(),
        body,
        receive_count: 1,
    }
}

fn gh(event: &str, delivery: &str, payload: &Value) -> Message {
    let body = EventMessage {
        source: EventSource::Github,
        event: event.into(),
        delivery: delivery.into(),
        body: payload.to_string(),
        signature: String::new(),
    }
    .to_body();
    message(&format!("r-{delivery}"), body)
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_trusted_pr_opened_creates_the_planned_records_and_dispatches_them() {
    let w = World::new();
    let pr = pr_object(7, "alice", "head-1", &[]);
    w.done(&gh("pull_request", "d-1", &pr_event("opened", &pr)))
        .await;

    let created = w.records_of("d-1");
    assert_eq!(
        names(&created),
        BTreeSet::from(["unit".into(), "lint".into()]),
        "always_run jobs run; docs has no docs/ change"
    );
    assert_eq!(w.store.all().len(), 2, "nothing but the planned records");
    for j in &created {
        assert_eq!(
            j.status.state,
            Some(ProwJobState::Triggered),
            "{}",
            j.spec.job
        );
        let refs = j.spec.refs.as_ref().unwrap();
        assert_eq!(refs.base_sha, "base-now", "base SHA read at event time");
        assert_eq!(refs.pulls[0].sha, "head-1");
    }
    assert_eq!(w.send_calls(), 1, "all dispatch messages in one send");
    assert_eq!(
        w.dispatch.sent_ids().into_iter().collect::<BTreeSet<_>>(),
        ids(&created)
    );
    assert!(w.scm.bot_comments().is_empty());
    assert!(w.scm.called("add_label").is_empty());
}

#[tokio::test]
async fn the_same_message_twice_creates_nothing_new_and_comments_once() {
    let w = World::new();
    let trusted = gh(
        "pull_request",
        "d-1",
        &pr_event("opened", &pr_object(7, "alice", "h", &[])),
    );
    let untrusted = gh(
        "pull_request",
        "d-2",
        &pr_event("opened", &pr_object(8, "stranger", "h", &[])),
    );
    w.done(&trusted).await;
    w.done(&untrusted).await;
    let before = w.store.all();
    let dispatched = w.dispatch.sent_ids();

    w.clock.advance(Duration::from_secs(60));
    w.done(&trusted).await;
    w.done(&untrusted).await;

    assert_eq!(w.store.all(), before, "no record created or changed");
    assert_eq!(w.scm.bot_comments().len(), 1, "the welcome is posted once");
    assert_eq!(w.scm.called("create_comment").len(), 1);
    // Sending a job again is harmless: the dispatcher starts a pod once.
    assert_eq!(
        w.dispatch.sent_ids(),
        [dispatched.clone(), dispatched].concat()
    );
}

#[tokio::test]
async fn an_untrusted_pr_gets_the_label_and_one_comment_and_no_jobs() {
    let w = World::new();
    let pr = pr_object(8, "stranger", "h", &[]);
    w.done(&gh("pull_request", "d-1", &pr_event("opened", &pr)))
        .await;

    assert_eq!(
        w.scm.labels(8),
        BTreeSet::from(["needs-ok-to-test".to_string()])
    );
    let comments = w.scm.bot_comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("@stranger"), "{}", comments[0]);
    assert!(comments[0].contains("/ok-to-test"), "{}", comments[0]);
    assert!(w.store.all().is_empty());
    assert_eq!(w.send_calls(), 0, "nothing to dispatch, no send");
}

#[tokio::test]
async fn synchronize_aborts_the_older_running_records_and_never_its_own() {
    let w = World::new();
    let old = pr_object(7, "alice", "head-1", &[]);
    w.done(&gh("pull_request", "d-1", &pr_event("opened", &old)))
        .await;
    let old_jobs = w.records_of("d-1");
    let unit = old_jobs.iter().find(|j| j.spec.job == "unit").unwrap();
    let lint = old_jobs.iter().find(|j| j.spec.job == "lint").unwrap();
    let (unit, lint) = (unit.metadata.name.clone(), lint.metadata.name.clone());
    w.store.modify(&unit, |j| {
        j.transition(
            ProwJobState::Pending,
            j.status.start_time.unwrap(),
            "running",
        )
        .unwrap()
    });
    // A finished run and another PR's run are none of this event's business.
    w.done(&gh(
        "pull_request",
        "d-8",
        &pr_event("opened", &pr_object(8, "alice", "x", &[])),
    ))
    .await;
    let other_pr: BTreeSet<String> = ids(&w.records_of("d-8"));
    w.store.modify(&lint, |j| {
        j.transition(
            ProwJobState::Pending,
            j.status.start_time.unwrap(),
            "running",
        )
        .unwrap();
        j.transition(
            ProwJobState::Success,
            j.status.start_time.unwrap(),
            "passed",
        )
        .unwrap();
    });

    w.clock.advance(Duration::from_secs(120));
    let new = pr_object(7, "alice", "head-2", &[]);
    let sync = gh("pull_request", "d-2", &pr_event("synchronize", &new));
    w.done(&sync).await;

    assert_eq!(
        w.state_of(&unit),
        (Some(ProwJobState::Aborted), ABORTED.into())
    );
    assert_eq!(
        w.state_of(&lint).0,
        Some(ProwJobState::Success),
        "finished runs stay"
    );
    for id in &other_pr {
        assert_eq!(
            w.state_of(id).0,
            Some(ProwJobState::Triggered),
            "other PR untouched"
        );
    }
    let fresh = w.records_of("d-2");
    assert_eq!(
        names(&fresh),
        BTreeSet::from(["unit".into(), "lint".into()])
    );

    // Delivered again (SQS does that), the event must not abort what it started.
    w.done(&sync).await;
    for j in w.records_of("d-2") {
        assert_eq!(
            j.status.state,
            Some(ProwJobState::Triggered),
            "{}",
            j.spec.job
        );
    }
}

#[tokio::test]
async fn an_abort_that_loses_its_compare_and_set_looks_again() {
    let w = World::new();
    let old = pr_object(7, "alice", "head-1", &[]);
    w.done(&gh("pull_request", "d-1", &pr_event("opened", &old)))
        .await;
    let olds = ids(&w.records_of("d-1"));

    // The syncer finishes the job between our read and our write: a finished
    // job must stay finished, not be overwritten as aborted.
    w.store.interfere_with_next_update(|j| {
        let t = j.status.start_time.unwrap();
        j.transition(ProwJobState::Pending, t, "running").unwrap();
        j.transition(ProwJobState::Failure, t, "failed").unwrap();
    });
    let new = pr_object(7, "alice", "head-2", &[]);
    w.done(&gh("pull_request", "d-2", &pr_event("synchronize", &new)))
        .await;

    let states: BTreeSet<_> = olds.iter().map(|id| w.state_of(id).0).collect();
    assert_eq!(
        states,
        BTreeSet::from([Some(ProwJobState::Failure), Some(ProwJobState::Aborted)]),
        "one was finished by the other writer, the other aborted"
    );
    // One lost write, reloaded and found finished; one abort written.
    assert_eq!(w.store.count("update"), 2);
    assert_eq!(
        w.store.count("get"),
        3,
        "the record was read again after the lost write"
    );
}

#[tokio::test]
async fn a_retryable_failure_while_planning_retries_and_the_redelivery_completes_once() {
    let w = World::new();
    w.scm.faults().next("branch_sha", unavailable());
    let m = gh(
        "pull_request",
        "d-1",
        &pr_event("opened", &pr_object(7, "alice", "h", &[])),
    );

    let first = w.run(std::slice::from_ref(&m)).await;
    assert_eq!(first.retry, ["r-d-1"]);
    assert!(w.store.all().is_empty());
    assert_eq!(w.send_calls(), 0);

    w.done(&m).await;
    assert_eq!(w.records_of("d-1").len(), 2);
    assert_eq!(w.dispatch.sent_ids().len(), 2);
}

#[tokio::test]
async fn a_failed_comment_is_released_retried_and_posted_exactly_once() {
    let w = World::new();
    w.scm.faults().next("create_comment", unavailable());
    let m = gh(
        "pull_request",
        "d-1",
        &pr_event("opened", &pr_object(8, "stranger", "h", &[])),
    );

    let first = w.run(std::slice::from_ref(&m)).await;
    assert_eq!(first.retry, ["r-d-1"]);
    assert!(w.scm.bot_comments().is_empty());
    assert!(
        w.store.keys().is_empty(),
        "the claim on the comment is released"
    );

    w.done(&m).await;
    w.done(&m).await;
    assert_eq!(w.scm.bot_comments().len(), 1);
    assert_eq!(
        w.scm.labels(8),
        BTreeSet::from(["needs-ok-to-test".to_string()])
    );
}

#[tokio::test]
async fn a_failed_dispatch_is_retried_without_new_records() {
    let w = World::new();
    w.dispatch.faults().next("send", unavailable());
    let m = gh(
        "pull_request",
        "d-1",
        &pr_event("opened", &pr_object(7, "alice", "h", &[])),
    );

    assert_eq!(w.run(std::slice::from_ref(&m)).await.retry, ["r-d-1"]);
    let after_first = w.store.all();
    assert_eq!(after_first.len(), 2, "records are written before dispatch");

    w.done(&m).await;
    assert_eq!(w.store.all(), after_first);
    assert_eq!(
        w.dispatch.sent_ids().into_iter().collect::<BTreeSet<_>>(),
        ids(&after_first)
    );
}

#[tokio::test]
async fn a_store_failure_on_create_is_retried() {
    let w = World::new();
    w.store.faults().next("create", unavailable());
    let m = gh(
        "pull_request",
        "d-1",
        &pr_event("opened", &pr_object(7, "alice", "h", &[])),
    );
    assert_eq!(w.run(std::slice::from_ref(&m)).await.retry, ["r-d-1"]);
    assert_eq!(
        w.send_calls(),
        0,
        "nothing dispatched before its record exists"
    );
    w.done(&m).await;
    assert_eq!(w.records_of("d-1").len(), 2);
}

#[tokio::test]
async fn malformed_messages_are_dropped_not_retried() {
    let w = World::new();
    let codecommit_garbage = EventMessage {
        source: EventSource::Codecommit,
        event: "CodeCommit Repository State Change".into(),
        delivery: "d-3".into(),
        body: "[1, 2]".into(),
        signature: String::new(),
    };
    let outcome = w
        .run(&[
            message("not-json", "not json".into()),
            message("not-an-event-message", r#"{"id":"x"}"#.into()),
            gh("pull_request", "d-2", &json!({"action": "opened"})),
            message("cc", codecommit_garbage.to_body()),
        ])
        .await;
    assert_eq!(outcome, BatchOutcome::default());
    assert!(w.store.journal().is_empty());
    assert!(w.scm.calls().is_empty());
}

#[tokio::test]
async fn a_permanent_fact_error_drops_the_message() {
    let w = World::new();
    // No such pull request: GitHub answers 404, which no retry changes.
    let m = gh(
        "issue_comment",
        "d-1",
        &comment_event(99, "alice", "/test unit"),
    );
    assert_eq!(w.run(&[m]).await, BatchOutcome::default());
    assert!(w.store.all().is_empty());
    assert_eq!(w.scm.called("pull_request"), ["pull_request 99"]);
}

#[tokio::test]
async fn a_batch_sends_back_only_the_messages_that_may_succeed_later() {
    let w = World::new();
    w.scm.faults().next("branch_sha", unavailable());
    let outcome = w
        .run(&[
            gh(
                "pull_request",
                "d-1",
                &pr_event("opened", &pr_object(7, "alice", "h", &[])),
            ),
            message("garbage", "garbage".into()),
            gh(
                "pull_request",
                "d-2",
                &pr_event("opened", &pr_object(8, "alice", "h", &[])),
            ),
        ])
        .await;
    assert_eq!(outcome.retry, ["r-d-1"]);
    assert!(w.records_of("d-1").is_empty());
    assert_eq!(
        w.records_of("d-2").len(),
        2,
        "a failure does not hold up the rest"
    );
}

#[tokio::test]
async fn retest_reruns_what_failed_according_to_the_records_in_the_store() {
    let w = World::new();
    let pr = pr_object(7, "bob", "head-1", &["ok-to-test"]);
    w.open_pr(&pr);
    w.done(&gh("pull_request", "d-1", &pr_event("reopened", &pr)))
        .await;
    for j in w.records_of("d-1") {
        let end = if j.spec.job == "unit" {
            ProwJobState::Failure
        } else {
            ProwJobState::Success
        };
        w.store.modify(&j.metadata.name, |j| {
            let t = j.status.start_time.unwrap();
            j.transition(ProwJobState::Pending, t, "").unwrap();
            j.transition(end, t, "").unwrap();
        });
    }
    let lists_before = w.store.count("list");

    w.clock.advance(Duration::from_secs(300));
    // The first attempt writes the record, then cannot dispatch it.
    w.dispatch.faults().next("send", unavailable());
    let retest = gh(
        "issue_comment",
        "d-2",
        &comment_event(7, "alice", "/retest"),
    );
    assert_eq!(w.run(std::slice::from_ref(&retest)).await.retry, ["r-d-2"]);

    let rerun = w.records_of("d-2");
    assert_eq!(
        names(&rerun),
        BTreeSet::from(["unit".into()]),
        "only the failed job"
    );
    assert_eq!(
        rerun[0].metadata.labels.get(RETEST).map(String::as_str),
        Some("true")
    );
    assert_eq!(
        w.store.count("list"),
        lists_before + 1,
        "the PR's records were read"
    );

    // The redelivery must see the store as the first attempt saw it — not
    // take its own new record for a run that needs no retest — and so
    // dispatch the job the first attempt could not.
    w.done(&retest).await;
    assert_eq!(w.records_of("d-2").len(), 1);
    assert_eq!(w.dispatch.sent_ids().last(), Some(&rerun[0].metadata.name));
}

#[tokio::test]
async fn a_test_command_prunes_the_bots_earlier_help_replies_only() {
    let w = World::new();
    w.open_pr(&pr_object(7, "alice", "h", &[]));
    let help = w.scm.seed_comment(
        7,
        BOT,
        "@alice: The specified target(s) for `/test` were not found.\nThe following commands are available to trigger required jobs:\n```\n/test unit\n```",
    );
    let welcome = w
        .scm
        .seed_comment(7, BOT, "Hi @stranger, thanks for the pull request!");
    let quote = w.scm.seed_comment(
        7,
        "alice",
        "Quoting the bot: The following commands are available to trigger required jobs:",
    );

    w.done(&gh(
        "issue_comment",
        "d-1",
        &comment_event(7, "alice", "/test unit"),
    ))
    .await;

    assert_eq!(
        w.scm.called("delete_comment"),
        [format!("delete_comment {help}")]
    );
    let left: Vec<i64> = w.scm.comments(7).iter().map(|c| c.id).collect();
    assert_eq!(left, [welcome, quote]);
    assert_eq!(names(&w.records_of("d-1")), BTreeSet::from(["unit".into()]));
}

#[tokio::test]
async fn an_unknown_test_target_gets_one_help_reply_and_prunes_nothing() {
    let w = World::new();
    w.open_pr(&pr_object(7, "alice", "h", &[]));
    let m = gh(
        "issue_comment",
        "d-1",
        &comment_event(7, "alice", "/test nope"),
    );
    w.done(&m).await;
    w.done(&m).await;
    let replies = w.scm.bot_comments();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("were not found"), "{}", replies[0]);
    assert!(w.scm.called("list_comments").is_empty());
    assert!(w.store.all().is_empty());
}

#[tokio::test]
async fn ok_to_test_swaps_the_labels_and_starts_the_jobs() {
    let w = World::new();
    w.scm.seed_label(8, "needs-ok-to-test");
    w.open_pr(&pr_object(8, "stranger", "h", &["needs-ok-to-test"]));
    w.done(&gh(
        "issue_comment",
        "d-1",
        &comment_event(8, "alice", "/ok-to-test"),
    ))
    .await;
    assert_eq!(w.scm.labels(8), BTreeSet::from(["ok-to-test".to_string()]));
    assert_eq!(
        names(&w.records_of("d-1")),
        BTreeSet::from(["unit".into(), "lint".into()])
    );
}

#[tokio::test]
async fn removing_a_label_that_is_already_gone_is_done_not_failed() {
    let w = World::new();
    // The PR says it has the label; GitHub has already lost it.
    w.open_pr(&pr_object(8, "stranger", "h", &["needs-ok-to-test"]));
    let outcome = w
        .run(&[gh(
            "issue_comment",
            "d-1",
            &comment_event(8, "alice", "/ok-to-test"),
        )])
        .await;
    assert_eq!(outcome, BatchOutcome::default());
    assert_eq!(
        w.scm.called("remove_label"),
        ["remove_label needs-ok-to-test"]
    );
}

fn codecommit_push(id: &str, event: &str, old: Option<&str>) -> Message {
    codecommit_push_in("us-east-1", id, event, old)
}

fn codecommit_push_in(region: &str, id: &str, event: &str, old: Option<&str>) -> Message {
    let mut detail = json!({
        "event": event,
        "repositoryName": "my-repo",
        "referenceType": "branch",
        "referenceName": "main",
        "referenceFullName": "refs/heads/main",
        "commitId": "c2",
        "callerUserArn": "arn:aws:iam::123456789012:user/Mary",
    });
    if let Some(old) = old {
        detail["oldCommitId"] = json!(old);
    }
    let body = json!({
        "version": "0",
        "id": id,
        "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:codecommit:{region}:123456789012:my-repo")],
        "detail": detail,
    });
    let m = EventMessage {
        source: EventSource::Codecommit,
        event: "CodeCommit Repository State Change".into(),
        delivery: id.into(),
        body: body.to_string(),
        signature: String::new(),
    };
    message(&format!("r-{id}"), m.to_body())
}

#[tokio::test]
async fn a_codecommit_push_asks_for_the_changed_files_between_the_commits() {
    let mut w = World::new();
    w.cc.set_compared(&["docs/index.md"]);
    w.done(&codecommit_push("ev-1", "referenceUpdated", Some("c1")))
        .await;
    assert_eq!(w.cc.called("compare_files"), ["compare_files c1...c2"]);
    assert!(w.scm.calls().is_empty(), "GitHub is not asked");
    assert_eq!(
        names(&w.records_of("ev-1")),
        BTreeSet::from(["publish".into(), "post-docs".into()])
    );
    assert_eq!(w.dispatch.sent_ids().len(), 2);

    // A new branch has nothing to compare with: only unfiltered jobs run.
    w = World::new();
    w.done(&codecommit_push("ev-2", "referenceCreated", None))
        .await;
    assert!(w.cc.called("compare_files").is_empty());
    assert_eq!(
        names(&w.records_of("ev-2")),
        BTreeSet::from(["publish".into()])
    );
}

#[tokio::test]
async fn a_codecommit_event_from_a_region_without_a_client_is_dropped_and_asks_nobody() {
    let w = World::new();
    let outcome = w
        .run(&[codecommit_push_in(
            "eu-west-1",
            "ev-1",
            "referenceUpdated",
            Some("c1"),
        )])
        .await;
    assert_eq!(outcome, BatchOutcome::default(), "permanent: not retried");
    assert!(w.store.all().is_empty());
    assert!(w.scm.calls().is_empty(), "not GitHub");
    assert!(w.cc.calls().is_empty(), "not another region");
}

#[tokio::test]
async fn ignored_events_touch_nothing() {
    let w = World::new();
    let outcome = w
        .run(&[
            gh(
                "pull_request",
                "d-1",
                &pr_event("assigned", &pr_object(7, "alice", "h", &[])),
            ),
            gh("star", "d-2", &json!({"action": "created"})),
        ])
        .await;
    assert_eq!(outcome, BatchOutcome::default());
    assert!(w.store.all().is_empty());
    assert_eq!(w.send_calls(), 0);
    assert!(w.scm.called("create_comment").is_empty());
}
