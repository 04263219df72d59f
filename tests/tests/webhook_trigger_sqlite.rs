//! Steps 1 and 2 of a pull request's flow on the embedded adapters `skiff
//! dev` runs: GitHub's delivery through the webhook onto the SQLite `events`
//! queue, the trigger reading it into SQLite job records and the `dispatch`
//! queue — with the redeliveries SQS makes after a crash or a failure.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::messages::DispatchMessage;
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{BatchOutcome, JobQuery, JobStore, PortError, Queue};
use skiff_core::prowjob::ProwJobState;
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};
use skiff_testkit::{ManualClock, MemoryScm};
use skiff_tests::github::sign;
use skiff_trigger::{TriggerDeps, handle_batch};
use skiff_webhook::{WebhookConfig, WebhookDeps, WebhookRequest, WebhookResponse};

const SECRET: &[u8] = b"dev-secret";
const VISIBILITY: Duration = Duration::from_secs(30);

fn unavailable() -> PortError {
    PortError::Unavailable("503 from upstream".into())
}

/// GitHub: alice is a member, every branch is at `base-now`.
fn github() -> MemoryScm {
    let scm = MemoryScm::new("skiff-bot");
    scm.add_member("alice");
    scm.set_changed_files(&["src/main.go"]);
    scm.set_branch_sha("base-now");
    scm
}

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: golang, command: [make, lint]}]}
"#;

struct Local {
    config: Config,
    regexes: Regexes,
    webhook: WebhookConfig,
    store: SqliteStore,
    events: SqliteQueue,
    dispatch: SqliteQueue,
    scm: MemoryScm,
    clock: Arc<ManualClock>,
}

impl Local {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(
            "2027-01-04T10:00:00Z".parse::<Timestamp>().unwrap(),
        ));
        let db = Db::open_in_memory().unwrap();
        let opts = QueueOptions {
            visibility_timeout: VISIBILITY,
            max_receives: 5,
            clock: clock.clone(),
        };
        let loaded = load(&[SourceFile {
            path: "jobs.yaml".into(),
            text: JOBS.into(),
            role: FileRole::JobConfig,
        }]);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        Local {
            config: loaded.config,
            regexes: Regexes::default(),
            webhook: WebhookConfig::new(vec![SECRET.to_vec()]),
            store: SqliteStore::new(db.clone(), clock.clone()),
            events: SqliteQueue::new(db.clone(), "events", opts.clone()).unwrap(),
            dispatch: SqliteQueue::new(db, "dispatch", opts).unwrap(),
            scm: github(),
            clock,
        }
    }

    async fn post(&self, event: &str, delivery: &str, payload: &Value) -> WebhookResponse {
        let body = payload.to_string().into_bytes();
        let signature = sign(SECRET, &body);
        let req = WebhookRequest {
            headers: vec![
                ("x-github-event".into(), event.into()),
                ("x-github-delivery".into(), delivery.into()),
                ("x-hub-signature-256".into(), signature),
            ],
            body,
        };
        let deps = WebhookDeps {
            store: &self.store,
            events: &self.events,
            clock: self.clock.as_ref(),
            config: &self.webhook,
        };
        skiff_webhook::handle(&req, &deps).await
    }

    /// One poll of the events queue, as the Lambda event source mapping
    /// does it: handle the batch, then delete what was not sent back —
    /// unless `crash` says the function died before it could.
    async fn pump(&self, crash: bool) -> BatchOutcome {
        let batch = self.events.receive(10).await.unwrap();
        let deps = TriggerDeps {
            config: &self.config,
            regexes: &self.regexes,
            store: &self.store,
            dispatch: &self.dispatch,
            scm: &self.scm,
            codecommit: &[],
            clock: self.clock.as_ref(),
            external: None,
        };
        let outcome = handle_batch(&batch, &deps).await;
        if !crash {
            let done: Vec<String> = batch
                .iter()
                .map(|m| m.receipt.clone())
                .filter(|r| !outcome.retry.contains(r))
                .collect();
            self.events.ack(&done).await.unwrap();
        }
        outcome
    }

    async fn dispatched(&self) -> Vec<String> {
        let batch = self.dispatch.receive(100).await.unwrap();
        let receipts: Vec<String> = batch.iter().map(|m| m.receipt.clone()).collect();
        self.dispatch.ack(&receipts).await.unwrap();
        batch
            .iter()
            .map(|m| serde_json::from_str::<DispatchMessage>(&m.body).unwrap().id)
            .collect()
    }

    async fn pr_records(&self, number: i64) -> Vec<skiff_core::prowjob::ProwJob> {
        let q = JobQuery::Pull {
            org: "acme".into(),
            repo: "widgets".into(),
            number,
        };
        self.store.list(&q, None).await.unwrap()
    }
}

fn pr_event(action: &str, number: i64, author: &str, head: &str) -> Value {
    let repo = json!({"name": "widgets", "owner": {"login": "acme"}, "html_url": "https://github.com/acme/widgets"});
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": "t",
            "user": {"login": author},
            "head": {"sha": head, "ref": "feature"},
            "base": {"sha": "b", "ref": "main", "repo": repo},
            "state": "open",
            "labels": [],
        },
        "sender": {"login": author},
    })
}

#[tokio::test]
async fn a_pull_request_reaches_dispatch_once_through_every_redelivery() {
    let local = Local::new();
    let opened = pr_event("opened", 7, "alice", "head-1");

    assert_eq!(
        local.post("pull_request", "g-1", &opened).await.body,
        "queued"
    );
    // GitHub's "Redeliver" button: acknowledged, not queued again.
    assert_eq!(
        local.post("pull_request", "g-1", &opened).await.body,
        "duplicate delivery"
    );

    // The trigger does all its work and dies before deleting the message;
    // SQS hands it out again after the visibility timeout.
    assert_eq!(local.pump(true).await, BatchOutcome::default());
    local.clock.advance(VISIBILITY + Duration::from_secs(1));
    assert_eq!(local.pump(false).await, BatchOutcome::default());
    assert!(local.events.receive(10).await.unwrap().is_empty());

    let records = local.pr_records(7).await;
    let names: BTreeSet<_> = records.iter().map(|j| j.spec.job.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["unit", "lint"]));
    let ids: BTreeSet<String> = records.iter().map(|j| j.metadata.name.clone()).collect();
    let dispatched = local.dispatched().await;
    assert_eq!(dispatched.len(), 4, "each handling sends every job once");
    assert_eq!(dispatched.into_iter().collect::<BTreeSet<_>>(), ids);

    // A new push aborts those runs through the store's compare-and-set.
    local.clock.advance(Duration::from_secs(60));
    let sync = pr_event("synchronize", 7, "alice", "head-2");
    assert_eq!(
        local.post("pull_request", "g-2", &sync).await.body,
        "queued"
    );
    assert_eq!(local.pump(false).await, BatchOutcome::default());
    let after = local.pr_records(7).await;
    assert_eq!(after.len(), 4);
    for j in &after {
        let sha = &j.spec.refs.as_ref().unwrap().pulls[0].sha;
        let want = if sha == "head-1" {
            ProwJobState::Aborted
        } else {
            ProwJobState::Triggered
        };
        assert_eq!(j.status.state, Some(want), "{} at {sha}", j.spec.job);
    }
}

#[tokio::test]
async fn a_failed_event_comes_back_and_finishes_with_one_comment() {
    let local = Local::new();
    local.scm.faults().next("create_comment", unavailable());
    let opened = pr_event("opened", 8, "stranger", "h");
    assert_eq!(
        local.post("pull_request", "g-1", &opened).await.body,
        "queued"
    );

    let first = local.pump(false).await;
    assert_eq!(
        first.retry.len(),
        1,
        "the comment failed: the event goes back"
    );
    assert!(local.scm.bot_comments().is_empty());

    local.clock.advance(VISIBILITY + Duration::from_secs(1));
    assert_eq!(local.pump(false).await, BatchOutcome::default());
    local.clock.advance(VISIBILITY + Duration::from_secs(1));
    assert!(local.events.receive(10).await.unwrap().is_empty());
    assert!(local.events.dead_letters().await.unwrap().is_empty());
    assert_eq!(local.scm.bot_comments().len(), 1);
    assert!(local.pr_records(8).await.is_empty());
}
