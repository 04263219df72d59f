//! The review plugins through the trigger, over in-memory ports: real
//! GitHub webhook payloads (`@octokit/webhooks-examples`, via
//! `SKIFF_WEBHOOK_EXAMPLES`; run with ./scripts/test)
//! re-addressed to `acme/widgets`, the labels, comments, assignees and
//! forwards they leave behind, and that delivering one again changes
//! nothing twice.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::github;
use skiff_core::messages::{EventMessage, EventSource};
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{BatchOutcome, HookForwarder, Message, PortError, PortResult, PullFile};
use skiff_testkit::{ManualClock, MemoryQueue, MemoryScm, MemoryStore};
use skiff_trigger::{CodeCommitRegion, TriggerDeps, handle_batch};

use common::{BOT, code_host};

const PLUGINS: &str = r#"
plugins:
  acme:
    plugins: [lgtm, approve, hold, wip, label, assign]
    excluded_repos: [private]
external_plugins:
  acme/widgets:
  - name: cherrypicker
    endpoint: http://cherry.example/hook
    events: [issue_comment]
  - name: flaky
    endpoint: http://flaky.example/hook
    events: [issue_comment]
"#;

const ROOT_OWNERS: &str = "approvers:\n- root-lead\nreviewers:\n- rita\n";
const DOCS_OWNERS: &str = "approvers:\n- docs-lead\n";

fn config() -> Config {
    let loaded = load(&[SourceFile {
        path: "plugins.yaml".into(),
        text: PLUGINS.into(),
        role: FileRole::PluginConfig,
    }]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    loaded.config
}

/// One forward: endpoint, headers, body.
type Forwarded = (String, Vec<(String, String)>, Vec<u8>);

/// External plugins: what each endpoint received, and which are down.
#[derive(Default)]
struct Plugins {
    received: Mutex<Vec<Forwarded>>,
    down: Mutex<Vec<String>>,
}

#[async_trait]
impl HookForwarder for Plugins {
    async fn forward(
        &self,
        endpoint: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> PortResult<u16> {
        if self.down.lock().unwrap().iter().any(|d| d == endpoint) {
            return Err(PortError::Unavailable(
                format!("POST {endpoint}: connection refused").into(),
            ));
        }
        self.received
            .lock()
            .unwrap()
            .push((endpoint.into(), headers.to_vec(), body.to_vec()));
        Ok(200)
    }
}

struct World {
    config: Config,
    regexes: Regexes,
    store: MemoryStore,
    dispatch: MemoryQueue,
    scm: MemoryScm,
    cc: MemoryScm,
    clock: Arc<ManualClock>,
    plugins: Plugins,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        let scm = code_host();
        for who in ["author", "rita", "root-lead", "docs-lead", "bob"] {
            scm.add_collaborator(who);
        }
        scm.set_repo_labels(&["kind/bug", "lgtm", "approved", "do-not-merge/hold"]);
        scm.set_files(
            "base-now",
            &[("OWNERS", ROOT_OWNERS), ("docs/OWNERS", DOCS_OWNERS)],
        );
        let pr = github::parse_pull_request(pr_object("author").to_string().as_bytes()).unwrap();
        scm.add_pull(pr);
        scm.set_pull_files(
            7,
            vec![
                PullFile {
                    filename: "docs/guide.md".into(),
                    status: "modified".into(),
                    additions: 3,
                    deletions: 1,
                    patch: String::new(),
                },
                PullFile {
                    filename: "src/main.go".into(),
                    status: "modified".into(),
                    additions: 2,
                    deletions: 0,
                    patch: String::new(),
                },
            ],
        );
        World {
            config: config(),
            regexes: Regexes::default(),
            store: MemoryStore::new(clock.clone()),
            dispatch: MemoryQueue::new(clock.clone()),
            scm,
            cc: code_host(),
            clock,
            plugins: Plugins::default(),
        }
    }

    async fn run(&self, m: &Message) -> BatchOutcome {
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
            external: Some(&self.plugins),
        };
        handle_batch(std::slice::from_ref(m), &deps).await
    }

    async fn done(&self, m: &Message) {
        assert_eq!(self.run(m).await, BatchOutcome::default(), "{}", m.receipt);
    }

    fn labels(&self) -> Vec<String> {
        self.scm.labels(7).into_iter().collect()
    }

    fn bot_comments(&self) -> Vec<String> {
        self.scm
            .comments(7)
            .into_iter()
            .filter(|c| c.author == BOT)
            .map(|c| c.body)
            .collect()
    }
}

/// A real example of `event` (with `action`), from the examples GitHub's
/// own SDK ships.
fn example(event: &str, action: &str) -> Value {
    let path = std::env::var_os("SKIFF_WEBHOOK_EXAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
                "../../.test-tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
            )
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run through ./scripts/test",
            path.display()
        )
    });
    let all: Value = serde_json::from_str(&text).unwrap();
    all.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == event)
        .flat_map(|e| e["examples"].as_array().cloned().unwrap_or_default())
        .find(|x| x["action"] == action)
        .unwrap_or_else(|| panic!("no {event} example with action {action}"))
}

fn readdress(v: &mut Value) {
    v["repository"]["name"] = json!("widgets");
    v["repository"]["full_name"] = json!("acme/widgets");
    v["repository"]["owner"]["login"] = json!("acme");
    v["repository"]["html_url"] = json!("https://github.com/acme/widgets");
}

fn pr_object(author: &str) -> Value {
    let mut pr = example("pull_request", "opened")["pull_request"].clone();
    pr["number"] = json!(7);
    pr["title"] = json!("Make widgets faster");
    pr["body"] = json!("");
    pr["user"]["login"] = json!(author);
    pr["state"] = json!("open");
    pr["draft"] = json!(false);
    pr["labels"] = json!([]);
    pr["head"]["sha"] = json!("head-1");
    pr["base"]["ref"] = json!("main");
    pr["base"]["repo"]["name"] = json!("widgets");
    pr["base"]["repo"]["owner"]["login"] = json!("acme");
    pr["html_url"] = json!("https://github.com/acme/widgets/pull/7");
    pr
}

/// A real `issue_comment` `created` on PR 7 by `who`, saying `body`.
fn comment(who: &str, body: &str, labels: &[&str]) -> Value {
    let mut v = example("issue_comment", "created");
    readdress(&mut v);
    v["issue"]["number"] = json!(7);
    v["issue"]["state"] = json!("open");
    v["issue"]["user"]["login"] = json!("author");
    v["issue"]["pull_request"] =
        json!({"url": "https://api.github.com/repos/acme/widgets/pulls/7"});
    v["issue"]["labels"] = json!(
        labels
            .iter()
            .map(|l| json!({"name": l}))
            .collect::<Vec<_>>()
    );
    v["issue"]["assignees"] = json!([]);
    v["comment"]["body"] = json!(body);
    v["comment"]["user"]["login"] = json!(who);
    v["comment"]["user"]["type"] = json!("User");
    v["sender"]["login"] = json!(who);
    v
}

/// A real `pull_request` event on PR 7.
fn pr_event(action: &str, title: &str, labels: &[&str]) -> Value {
    let mut v = example("pull_request", "opened");
    readdress(&mut v);
    v["action"] = json!(action);
    v["number"] = json!(7);
    let mut pr = pr_object("author");
    pr["title"] = json!(title);
    pr["labels"] = json!(
        labels
            .iter()
            .map(|l| json!({"name": l}))
            .collect::<Vec<_>>()
    );
    v["pull_request"] = pr;
    v
}

fn gh(event: &str, delivery: &str, payload: &Value) -> Message {
    Message {
        receipt: format!("r-{delivery}"),
        body: EventMessage {
            source: EventSource::Github,
            event: event.into(),
            delivery: delivery.into(),
            body: payload.to_string(),
            signature: "sha256=from-github".into(),
        }
        .to_body(),
        receive_count: 1,
    }
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn lgtm_by_the_author_is_refused_and_by_a_reviewer_labels_once() {
    let w = World::new();
    w.done(&gh(
        "issue_comment",
        "d-1",
        &comment("author", "/lgtm", &[]),
    ))
    .await;
    assert!(!w.labels().contains(&"lgtm".to_string()));
    let refused = w.bot_comments();
    assert!(
        refused
            .iter()
            .any(|c| c.contains("you cannot LGTM your own PR")),
        "{refused:?}"
    );

    let m = gh("issue_comment", "d-2", &comment("rita", "/lgtm", &[]));
    w.done(&m).await;
    assert!(w.labels().contains(&"lgtm".to_string()), "{:?}", w.labels());
    // GitHub delivers it again: no second write.
    let adds = w.scm.called("add_label").len();
    w.done(&m).await;
    assert_eq!(w.scm.called("add_label").len(), adds);
}

#[tokio::test]
async fn a_push_removes_lgtm() {
    let w = World::new();
    w.scm.seed_label(7, "lgtm");
    w.done(&gh(
        "pull_request",
        "d-sync",
        &pr_event("synchronize", "Make widgets faster", &["lgtm"]),
    ))
    .await;
    assert!(
        !w.labels().contains(&"lgtm".to_string()),
        "{:?}",
        w.labels()
    );
    assert!(
        w.bot_comments()
            .iter()
            .any(|c| c.contains("LGTM label has been removed")),
        "{:?}",
        w.bot_comments()
    );
}

#[tokio::test]
async fn a_sub_directory_approver_covers_only_their_files() {
    let w = World::new();
    // The approve plugin reads the PR's comments: GitHub lists the new one.
    w.scm.seed_comment(7, "docs-lead", "/approve");
    w.done(&gh(
        "issue_comment",
        "d-a1",
        &comment("docs-lead", "/approve", &[]),
    ))
    .await;
    assert!(
        !w.labels().contains(&"approved".to_string()),
        "{:?}",
        w.labels()
    );
    let notifier = w.bot_comments();
    assert!(
        notifier
            .iter()
            .any(|c| c.contains("[APPROVALNOTIFIER]") && c.contains("NOT APPROVED")),
        "{notifier:?}"
    );
    w.scm.seed_comment(7, "root-lead", "/approve");
    w.done(&gh(
        "issue_comment",
        "d-a2",
        &comment("root-lead", "/approve", &[]),
    ))
    .await;
    assert!(
        w.labels().contains(&"approved".to_string()),
        "{:?}",
        w.labels()
    );
}

#[tokio::test]
async fn a_malformed_owners_file_is_named_with_its_line_in_the_notifier() {
    let w = World::new();
    let broken = "approvers:\n- docs-lead\nreviewers: [rita\n";
    w.scm.set_files(
        "base-broken",
        &[("OWNERS", ROOT_OWNERS), ("docs/OWNERS", broken)],
    );
    let want = skiff_core::plugins::owners::parse_owners("docs/OWNERS", broken)
        .expect_err("the file is malformed");
    assert!(want.starts_with("docs/OWNERS:"), "{want}");
    w.scm.seed_comment(7, "root-lead", "/approve");
    w.done(&gh(
        "issue_comment",
        "d-o1",
        &comment("root-lead", "/approve", &[]),
    ))
    .await;
    let notifier = w.bot_comments();
    let notifier = notifier
        .iter()
        .find(|c| c.contains("[APPROVALNOTIFIER]"))
        .unwrap_or_else(|| panic!("no notifier: {notifier:?}"));
    assert!(
        notifier.contains(&format!("- `{want}`")),
        "the notifier names the file and line: {notifier}"
    );
    // The file's approvers are skipped; the root approver covers it all.
    assert!(notifier.contains("This PR is **APPROVED**"), "{notifier}");
    assert!(notifier.ends_with("-->"), "META stays last: {notifier}");
}

#[tokio::test]
async fn hold_and_hold_cancel_add_and_remove_the_label() {
    let w = World::new();
    w.done(&gh("issue_comment", "d-h1", &comment("bob", "/hold", &[])))
        .await;
    assert!(w.labels().contains(&"do-not-merge/hold".to_string()));
    w.done(&gh(
        "issue_comment",
        "d-h2",
        &comment("bob", "/hold cancel", &["do-not-merge/hold"]),
    ))
    .await;
    assert!(!w.labels().contains(&"do-not-merge/hold".to_string()));
}

#[tokio::test]
async fn a_wip_title_labels_and_a_plain_one_unlabels() {
    let w = World::new();
    w.done(&gh(
        "pull_request",
        "d-w1",
        &pr_event("edited", "WIP: faster", &[]),
    ))
    .await;
    assert!(
        w.labels()
            .contains(&"do-not-merge/work-in-progress".to_string())
    );
    w.done(&gh(
        "pull_request",
        "d-w2",
        &pr_event("edited", "Faster", &["do-not-merge/work-in-progress"]),
    ))
    .await;
    assert!(
        !w.labels()
            .contains(&"do-not-merge/work-in-progress".to_string())
    );
}

#[tokio::test]
async fn kind_bug_labels_and_assign_assigns() {
    let w = World::new();
    w.done(&gh(
        "issue_comment",
        "d-k",
        &comment("bob", "/kind bug", &[]),
    ))
    .await;
    assert!(
        w.labels().contains(&"kind/bug".to_string()),
        "{:?}",
        w.labels()
    );
    w.done(&gh(
        "issue_comment",
        "d-as",
        &comment("rita", "/assign @bob", &[]),
    ))
    .await;
    assert!(w.scm.assignees(7).contains("bob"));
}

#[tokio::test]
async fn one_plugin_failing_does_not_stop_the_others_and_the_retry_does_the_rest_once() {
    let w = World::new();
    // The label plugin cannot read the repository's labels once.
    w.scm
        .faults()
        .next("repo_labels", PortError::Unavailable("502".into()));
    let m = gh(
        "issue_comment",
        "d-f",
        &comment("bob", "/hold\n/kind bug", &[]),
    );
    let first = w.run(&m).await;
    assert_eq!(first.retry, ["r-d-f"], "a retryable failure sends it back");
    assert!(w.labels().contains(&"do-not-merge/hold".to_string()));
    assert!(!w.labels().contains(&"kind/bug".to_string()));
    w.done(&m).await;
    assert!(w.labels().contains(&"kind/bug".to_string()));
    let holds = w
        .scm
        .called("add_label")
        .iter()
        .filter(|c| c.ends_with("do-not-merge/hold"))
        .count();
    assert_eq!(holds, 1, "the hold label is written once");
}

#[tokio::test]
async fn external_plugins_get_githubs_body_and_headers_and_a_down_one_is_retried() {
    let w = World::new();
    w.plugins
        .down
        .lock()
        .unwrap()
        .push("http://flaky.example/hook".into());
    let payload = comment("bob", "thanks!", &[]);
    let m = gh("issue_comment", "d-x", &payload);
    let first = w.run(&m).await;
    assert_eq!(
        first.retry,
        ["r-d-x"],
        "the down plugin makes the message retry"
    );
    {
        let got = w.plugins.received.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (endpoint, headers, body) = &got[0];
        assert_eq!(endpoint, "http://cherry.example/hook");
        assert_eq!(body, payload.to_string().as_bytes());
        for want in [
            ("X-GitHub-Event", "issue_comment"),
            ("X-GitHub-Delivery", "d-x"),
            ("X-Hub-Signature-256", "sha256=from-github"),
            ("User-Agent", "ProwHook"),
        ] {
            assert!(
                headers.iter().any(|(k, v)| k == want.0 && v == want.1),
                "{want:?} in {headers:?}"
            );
        }
    }
    w.plugins.down.lock().unwrap().clear();
    w.done(&m).await;
    let got = w.plugins.received.lock().unwrap();
    let endpoints: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        endpoints,
        ["http://cherry.example/hook", "http://flaky.example/hook"],
        "the redelivery reaches only the plugin that missed it"
    );
}

#[tokio::test]
async fn owners_files_are_read_once_per_base_tree() {
    let w = World::new();
    w.done(&gh(
        "issue_comment",
        "d-o1",
        &comment("docs-lead", "/approve", &[]),
    ))
    .await;
    let reads = w.scm.called("file_content").len();
    assert_eq!(reads, 2, "OWNERS and docs/OWNERS");
    w.done(&gh(
        "issue_comment",
        "d-o2",
        &comment("bob", "/approve", &[]),
    ))
    .await;
    assert_eq!(
        w.scm.called("file_content").len(),
        reads,
        "the second event reads them from the store"
    );
}
