//! Skiff in one process for reporting tests: the real handlers — webhook,
//! trigger, dispatcher, syncer, reporter (with its reports queue) and the
//! redelivery sweeper — over the embedded adapters (SQLite in memory, a
//! hand-driven clock), the in-memory build cluster (its pods run as soon as
//! they are dispatched and end when a test says so), and `GitHubScm` talking
//! HTTP to the fake GitHub of `skiff_tests::github`.
//!
//! Each step runs when the test calls it, so a test decides exactly what the
//! reporter sees (a `triggered` job before or after it started) and when
//! time passes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{BatchOutcome, Cluster, JobQuery, JobStore, Message, Queue, Scm};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::{ManualClock, MemoryCluster};
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};
use skiff_scm::{GitHubOptions, GitHubScm};
use skiff_tests::github::{self, GitHub, Shared, lock};

pub const ORG: &str = "acme";
pub const REPO: &str = "widgets";
pub const HEAD: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
pub const BASE: &str = "base000";
pub const APP_ID: u64 = 4242;
pub const INSTALLATION: i64 = 77;
/// Generated for these tests only (`openssl genrsa -traditional 2048`).
pub const APP_KEY: &str = include_str!("../../fixtures/test-github-app-key.pem");
const SECRET: &[u8] = b"reporting-tests";

/// `start` of the hand-driven clock.
pub fn start() -> jiff::Timestamp {
    "2026-11-23T10:00:00Z"
        .parse()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// What every pod logs: 80 numbered steps.
pub fn pod_log() -> String {
    (1..=80).map(|i| format!("step {i}\n")).collect()
}

/// How Skiff authenticates to the fake.
pub enum Auth {
    Token,
    App,
}

/// One Skiff, in process.
pub struct Ci {
    pub clock: Arc<ManualClock>,
    pub store: SqliteStore,
    pub events: SqliteQueue,
    pub dispatch: SqliteQueue,
    pub reports: SqliteQueue,
    /// Failure-comment updates (the FIFO comments queue on AWS).
    pub comments: SqliteQueue,
    pub cluster: Arc<MemoryCluster>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    pub logs: FsLogStore,
    pub config: Config,
    regexes: Regexes,
    pub github: Shared,
    pub github_url: String,
    pub scm: Arc<GitHubScm>,
    /// The trigger's code host for CodeCommit events, by region (none: they
    /// are dropped, naming their region).
    pub codecommit: Vec<(String, Arc<dyn Scm>)>,
    build_ids: Mutex<BuildIdGenerator>,
    cursor: Mutex<i64>,
    webhook: skiff_webhook::WebhookConfig,
    _dir: tempfile::TempDir,
}

/// A pull request object as GitHub's API returns it.
pub fn pull(number: i64, author: &str, head: &str) -> Value {
    json!({
        "number": number, "title": "Make widgets faster", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true,
        "html_url": format!("https://github.com/{ORG}/{REPO}/pull/{number}"),
        "user": {"login": author, "html_url": format!("https://github.com/{author}")},
        "labels": [],
        "head": {"sha": head, "ref": "faster", "repo": {"name": REPO, "owner": {"login": author}}},
        "base": {"sha": BASE, "ref": "main",
                 "repo": {"name": REPO, "full_name": format!("{ORG}/{REPO}"), "owner": {"login": ORG},
                          "html_url": format!("https://github.com/{ORG}/{REPO}")}}
    })
}

pub fn repository() -> Value {
    json!({"name": REPO, "full_name": format!("{ORG}/{REPO}"), "owner": {"login": ORG, "name": ORG},
           "html_url": format!("https://github.com/{ORG}/{REPO}")})
}

pub fn pr_event(action: &str, pull: &Value) -> Value {
    json!({"action": action, "number": pull["number"], "pull_request": pull,
           "repository": repository(), "sender": pull["user"]})
}

pub fn comment_event(number: i64, author: &str, body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": number, "state": "open", "pull_request": {"url": "x"}},
        "comment": {"body": body, "user": {"login": author},
                    "html_url": format!("https://github.com/{ORG}/{REPO}/pull/{number}#issuecomment-1")},
        "repository": repository(),
        "sender": {"login": author},
    })
}

/// GitHub's `check_run` `rerequested` event: the Re-run button.
pub fn rerun_event(check_name: &str, head: &str, number: i64, sender: &str) -> Value {
    json!({
        "action": "rerequested",
        "check_run": {
            "id": 1, "name": check_name, "head_sha": head, "status": "completed",
            "conclusion": "failure",
            "pull_requests": [{"number": number, "head": {"sha": head}, "base": {"ref": "main"}}]
        },
        "repository": repository(),
        "sender": {"login": sender},
    })
}

/// A GitHub with `alice` as org member and PR #1 open at [`HEAD`].
pub fn github_with_pr() -> GitHub {
    let mut gh = GitHub {
        members: vec!["alice".into()],
        files: vec!["main.go".into()],
        app_id: Some(APP_ID),
        app_slug: "skiff-ci".into(),
        ..GitHub::default()
    };
    gh.installations.insert(ORG.into(), INSTALLATION);
    gh.pulls
        .insert(format!("{ORG}/{REPO}#1"), pull(1, "alice", HEAD));
    gh
}

fn loaded(config_yaml: &str, jobs_yaml: &str) -> Config {
    let loaded = load(&[
        SourceFile {
            path: "config.yaml".into(),
            text: config_yaml.into(),
            role: FileRole::ProwConfig,
        },
        SourceFile {
            path: "jobs.yaml".into(),
            text: jobs_yaml.into(),
            role: FileRole::JobConfig,
        },
    ]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

impl Ci {
    pub async fn new(config_yaml: &str, jobs_yaml: &str, gh: GitHub, auth: Auth) -> Ci {
        let clock = Arc::new(ManualClock::new(start()));
        let db = Db::open_in_memory().expect("sqlite");
        let store = SqliteStore::new(db.clone(), clock.clone());
        let opts = || QueueOptions {
            clock: clock.clone(),
            ..QueueOptions::default()
        };
        let queue = |name: &str| SqliteQueue::new(db.clone(), name, opts()).expect("queue");
        let (github, github_url) = github::fake_github(gh);
        let mut options = match auth {
            Auth::Token => {
                let mut o = GitHubOptions::new(&github_url, "ghp_reporting_tests");
                o.bot_login = Some("skiff-bot".into());
                o
            }
            // An App asks GitHub for its slug: its bot is `<slug>[bot]`.
            Auth::App => GitHubOptions::app(&github_url, APP_ID, APP_KEY),
        };
        options.retries = 0;
        options.clock = clock.clone();
        let scm = Arc::new(GitHubScm::connect(options).await.expect("connect"));
        let cluster = MemoryCluster::new();
        cluster.set_default_log(&pod_log());
        let mut clusters: BTreeMap<String, Arc<dyn Cluster>> = BTreeMap::new();
        clusters.insert("default".into(), cluster.clone());
        let dir = tempfile::tempdir().expect("tempdir");
        Ci {
            store,
            events: queue("events"),
            dispatch: queue("dispatch"),
            reports: queue("reports"),
            comments: queue("comments"),
            cluster,
            clusters,
            logs: FsLogStore::new(dir.path().join("logs")),
            config: loaded(config_yaml, jobs_yaml),
            regexes: Regexes::default(),
            github,
            github_url,
            scm,
            codecommit: Vec::new(),
            build_ids: Mutex::new(BuildIdGenerator::new()),
            cursor: Mutex::new(0),
            webhook: skiff_webhook::WebhookConfig::new(vec![SECRET.to_vec()]),
            clock,
            _dir: dir,
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn now(&self) -> jiff::Timestamp {
        use skiff_core::ports::Clock;
        self.clock.now()
    }

    /// A signed delivery into the webhook handler.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &Value) -> (u16, String) {
        let body = body.to_string().into_bytes();
        let req = skiff_webhook::WebhookRequest {
            headers: vec![
                ("X-GitHub-Event".into(), event.into()),
                ("X-GitHub-Delivery".into(), delivery.into()),
                ("X-Hub-Signature-256".into(), github::sign(SECRET, &body)),
            ],
            body,
        };
        let deps = skiff_webhook::WebhookDeps {
            store: &self.store,
            events: &self.events,
            clock: self.clock.as_ref(),
            config: &self.webhook,
        };
        let r = skiff_webhook::handle(&req, &deps).await;
        (r.status, r.body)
    }

    fn reporter(&self) -> skiff_reporter::ReporterDeps<'_> {
        skiff_reporter::ReporterDeps {
            config: &self.config,
            store: &self.store,
            scm: self.scm.as_ref(),
            clock: self.clock.as_ref(),
            logs: Some(&self.logs),
            codecommit: None,
            chat: None,
            reports: Some(&self.reports),
            comments: Some(&self.comments),
        }
    }

    /// Drains the events queue into the trigger.
    pub async fn trigger(&self) -> usize {
        let codecommit: Vec<skiff_trigger::CodeCommitRegion<'_>> = self
            .codecommit
            .iter()
            .map(|(region, scm)| skiff_trigger::CodeCommitRegion {
                region,
                scm: scm.as_ref(),
            })
            .collect();
        let deps = skiff_trigger::TriggerDeps {
            config: &self.config,
            regexes: &self.regexes,
            store: &self.store,
            dispatch: &self.dispatch,
            scm: self.scm.as_ref(),
            codecommit: &codecommit,
            clock: self.clock.as_ref(),
            external: None,
        };
        drain(&self.events, |m| async move {
            skiff_trigger::handle_batch(&m, &deps).await
        })
        .await
    }

    /// Drains the dispatch queue into the dispatcher (pods start).
    pub async fn dispatch(&self) -> usize {
        let deps = skiff_dispatcher::Deps {
            store: &self.store,
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.build_ids,
        };
        let n = drain(&self.dispatch, |m| async move {
            skiff_dispatcher::handle_batch(&m, &deps).await
        })
        .await;
        // The kubelet starts every new pod at once (at the clock's start, as
        // the pods of these tests always have).
        self.cluster.start_pending(start());
        n
    }

    /// One syncer pass (ended pods become ended jobs).
    pub async fn sync(&self) {
        let deps = skiff_syncer::Deps {
            store: &self.store,
            queue: &self.dispatch,
            clusters: &self.clusters,
            logs: &self.logs,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.build_ids,
            redispatch_after: Duration::from_secs(3600),
        };
        skiff_syncer::sync(&deps).await.expect("sync");
    }

    /// Reports every change since the last call, as the stream delivers them.
    /// Then drains the comments queue, as its own poller would.
    pub async fn report(&self) -> usize {
        let deps = self.reporter();
        self.report_stream(&self.cursor, None, &deps).await + self.report_comments().await
    }

    /// Drains the comments queue (what is visible now) into the reporter.
    pub async fn report_comments(&self) -> usize {
        let deps = self.reporter();
        let deps = &deps;
        // Boxed: the reporters' futures are large for a test thread's stack.
        Box::pin(drain(&self.comments, |m| async move {
            Box::pin(skiff_reporter::comments::handle_comments(&m, deps)).await
        }))
        .await
    }

    /// Hands the stream's changes after `from` (default: after `cursor`) to
    /// the reporter `deps`, as the stream delivers them, and moves `cursor`
    /// past them; how many there were.
    pub async fn report_stream(
        &self,
        cursor: &Mutex<i64>,
        from: Option<i64>,
        deps: &skiff_reporter::ReporterDeps<'_>,
    ) -> usize {
        let after = from.unwrap_or_else(|| *cursor.lock().unwrap_or_else(|p| p.into_inner()));
        let changes = self
            .store
            .changes_since(after, 1000)
            .await
            .expect("changes");
        let seqs: Vec<String> = changes.iter().map(|(s, _)| s.to_string()).collect();
        // The feed keeps no old image: every change counts as a new state
        // here (a repeated pending status at worst, which the reporting
        // tests would see).
        let pairs: Vec<skiff_reporter::Change<'_>> = seqs
            .iter()
            .zip(changes.iter())
            .map(|(seq, (_, j))| skiff_reporter::Change::of(seq, j, true))
            .collect();
        // Boxed: the reporters' futures are large for a test thread's stack.
        let retry_from = Box::pin(skiff_reporter::report_changes(&pairs, deps)).await;
        assert_eq!(retry_from, None, "a report could not even be queued");
        if let Some((last, _)) = changes.last() {
            let mut cursor = cursor.lock().unwrap_or_else(|p| p.into_inner());
            *cursor = (*cursor).max(*last);
        }
        changes.len()
    }

    /// Drains the reports queue (what is visible now) into the reporter.
    pub async fn report_retries(&self) -> usize {
        let deps = self.reporter();
        let deps = &deps;
        drain(&self.reports, |m| async move {
            skiff_reporter::handle_reports(&m, deps).await
        })
        .await
            + self.report_comments().await
    }

    /// Trigger, dispatch and report until nothing moves.
    pub async fn settle(&self) {
        for _ in 0..20 {
            let n = self.trigger().await
                + self.dispatch().await
                + self.report().await
                + self.report_retries().await;
            if n == 0 {
                return;
            }
        }
        panic!("did not settle");
    }

    /// Ends `job`'s pod, syncs, and reports.
    pub async fn finish(&self, job: &str, ok: bool) {
        self.cluster.finish_job(job, ok, self.now());
        self.sync().await;
        self.settle().await;
    }

    pub async fn jobs(&self) -> Vec<ProwJob> {
        self.store.list(&JobQuery::All, None).await.expect("list")
    }

    pub async fn runs(&self, job: &str) -> Vec<ProwJob> {
        self.jobs()
            .await
            .into_iter()
            .filter(|j| j.spec.job == job)
            .collect()
    }

    pub async fn state(&self, job: &str) -> Option<ProwJobState> {
        self.runs(job).await.first().and_then(|j| j.status.state)
    }

    /// Forgets the requests the fake has seen so far.
    pub fn clear_seen(&self) {
        lock(&self.github).seen.clear();
    }

    /// Every request the fake saw, as `METHOD path`.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.github).lines()
    }
}

/// Receives what is visible, hands it over, and settles each message as
/// SQS would (as `skiff dev` does).
async fn drain<F, Fut>(queue: &dyn Queue, handle: F) -> usize
where
    F: FnOnce(Vec<Message>) -> Fut,
    Fut: std::future::Future<Output = BatchOutcome>,
{
    let messages = queue.receive(10).await.expect("receive");
    if messages.is_empty() {
        return 0;
    }
    let n = messages.len();
    let receipts: Vec<String> = messages.iter().map(|m| m.receipt.clone()).collect();
    let outcome = handle(messages).await;
    let mut done = Vec::new();
    for r in receipts {
        if let Some((_, delay)) = outcome.retry_after.iter().find(|(x, _)| *x == r) {
            queue.retry_later(&r, *delay).await.expect("retry later");
        } else if outcome.retry.contains(&r) {
            // Left alone: it comes back after the visibility timeout.
        } else {
            done.push(r);
        }
    }
    queue.ack(&done).await.expect("ack");
    n
}
