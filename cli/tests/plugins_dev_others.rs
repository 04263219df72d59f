//! The plugins `plugins_dev.rs` does not drive, end to end in one `skiff
//! dev`: size, blunderbuss, welcome, verify-owners and needs-rebase on a PR
//! that opens and is pushed to, then skip, override, lifecycle and help
//! from comments. Signed webhooks are built from GitHub's own examples
//! (`@octokit/webhooks-examples`, `SKIFF_WEBHOOK_EXAMPLES`); GitHub's API is
//! the HTTP-level fake (no real GitHub can run here), which keeps labels,
//! comments, statuses, review requests and issue states as GitHub does.

mod support;

use std::collections::BTreeMap;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{
    Dev, GitHub, Review, Shared, example, fake_github, http, lock, sign, start_dev, wait_for,
};

const SECRET: &[u8] = b"plugins-secret";
/// needs-rebase looks again 10 s after GitHub did not know yet.
const WAIT: Duration = Duration::from_secs(60);
const PR: &str = "acme/widgets#7";
const ISSUE: &str = "acme/widgets#8";

const PLUGINS: &str = r#"
plugins:
  acme:
  - size
  - blunderbuss
  - welcome
  - verify-owners
  - needs-rebase
  - skip
  - override
  - lifecycle
  - help
welcome:
- repos: [acme/widgets]
  message_template: "Welcome to {{.Org}}/{{.Repo}}, @{{.AuthorLogin}}!"
  always_post: true
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-lint
    always_run: true
    optional: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
  - name: pull-widgets-e2e
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

const ROOT_OWNERS: &str = "approvers:\n- root-lead\nreviewers:\n- rita\n";

fn start(dir: &Path, github: &str) -> Dev {
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").unwrap();
    std::fs::write(dir.join("jobs.yaml"), JOBS).unwrap();
    std::fs::write(dir.join("plugins.yaml"), PLUGINS).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("token"), "token\n").unwrap();
    start_dev(dir, github, &["--tick-seconds", "1"])
}

fn readdress(v: &mut Value) {
    v["repository"]["name"] = json!("widgets");
    v["repository"]["full_name"] = json!("acme/widgets");
    v["repository"]["owner"]["login"] = json!("acme");
    v["repository"]["html_url"] = json!("https://github.com/acme/widgets");
}

/// PR 7 by `author`: its head, whether GitHub knows it is mergeable, and
/// its labels now.
fn pr_object(head: &str, mergeable: Option<bool>, labels: &[String]) -> Value {
    let mut pr = example("pull_request", Some("opened"))["pull_request"].clone();
    pr["number"] = json!(7);
    pr["title"] = json!("Make widgets faster");
    pr["body"] = json!("");
    pr["user"]["login"] = json!("author");
    pr["user"]["type"] = json!("User");
    pr["state"] = json!("open");
    pr["draft"] = json!(false);
    pr["mergeable"] = json!(mergeable);
    pr["labels"] = json!(
        labels
            .iter()
            .map(|l| json!({"name": l}))
            .collect::<Vec<_>>()
    );
    pr["head"]["sha"] = json!(head);
    pr["base"]["ref"] = json!("main");
    pr["base"]["repo"]["name"] = json!("widgets");
    pr["base"]["repo"]["owner"]["login"] = json!("acme");
    pr["html_url"] = json!("https://github.com/acme/widgets/pull/7");
    pr
}

fn pr_event(action: &str, pr: Value) -> Value {
    let mut v = example("pull_request", Some("opened"));
    readdress(&mut v);
    v["action"] = json!(action);
    v["number"] = json!(7);
    v["pull_request"] = pr;
    v
}

/// A comment on PR 7, or on issue 8 when `on_pr` is false.
fn comment(who: &str, body: &str, on_pr: bool, labels: &[String]) -> Value {
    let mut v = example("issue_comment", Some("created"));
    readdress(&mut v);
    v["issue"]["number"] = json!(if on_pr { 7 } else { 8 });
    v["issue"]["state"] = json!("open");
    v["issue"]["user"]["login"] = json!("author");
    if on_pr {
        v["issue"]["pull_request"] =
            json!({"url": "https://api.github.com/repos/acme/widgets/pulls/7"});
    } else if let Some(issue) = v["issue"].as_object_mut() {
        issue.remove("pull_request");
    }
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

fn hook(dev: &Dev, event: &str, delivery: &str, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let (status, text) = http(
        "POST",
        &format!("{}/hook", dev.url),
        &[
            ("X-GitHub-Event", event.to_string()),
            ("X-GitHub-Delivery", delivery.to_string()),
            ("X-Hub-Signature-256", sign(SECRET, &bytes)),
            ("Content-Type", "application/json".to_string()),
        ],
        &bytes,
    );
    assert!((200..300).contains(&status), "{status} {text}");
}

fn labels(gh: &Shared, key: &str) -> Vec<String> {
    lock(gh).labels.get(key).cloned().unwrap_or_default()
}

fn has_label(gh: &Shared, key: &str, label: &str) -> bool {
    labels(gh, key).iter().any(|l| l == label)
}

fn bot_said(gh: &Shared, key: &str, text: &str) -> bool {
    lock(gh)
        .comments
        .iter()
        .any(|c| c.1 == key && c.3.contains(text))
}

/// Someone comments on GitHub; the webhook about it follows.
fn say(gh: &Shared, dev: &Dev, delivery: &str, who: &str, body: &str, on_pr: bool) {
    let key = if on_pr { PR } else { ISSUE };
    lock(gh).say(key, who, body);
    let l = labels(gh, key);
    hook(
        dev,
        "issue_comment",
        delivery,
        &comment(who, body, on_pr, &l),
    );
}

/// The newest status of `context` on `sha`: `(state, description)`.
fn status(gh: &Shared, sha: &str, context: &str) -> Option<(String, String)> {
    lock(gh)
        .seen
        .iter()
        .rev()
        .find(|s| {
            s.method == "POST"
                && s.path.ends_with(&format!("/statuses/{sha}"))
                && s.status < 300
                && s.body["context"] == context
        })
        .map(|s| {
            (
                s.body["state"].as_str().unwrap_or("").to_string(),
                s.body["description"].as_str().unwrap_or("").to_string(),
            )
        })
}

#[test]
fn the_other_plugins_run_in_skiff_dev() {
    let dir = tempfile::tempdir().unwrap();
    let mut pulls = BTreeMap::new();
    // The webhook says GitHub had not computed mergeability yet; by the
    // time the plugin asks, it has: the PR conflicts with its base.
    pulls.insert(PR.to_string(), pr_object("head-1", Some(false), &[]));
    let mut base = BTreeMap::new();
    base.insert("OWNERS".to_string(), ROOT_OWNERS.to_string());
    let mut repo_files = BTreeMap::new();
    // The PR changes the root OWNERS file: badly at its first head, fixed
    // at its second.
    repo_files.insert(
        "acme/widgets@head-1".to_string(),
        BTreeMap::from([("OWNERS".to_string(), "approvers: [root-lead\n".to_string())]),
    );
    repo_files.insert(
        "acme/widgets@head-2".to_string(),
        BTreeMap::from([("OWNERS".to_string(), ROOT_OWNERS.to_string())]),
    );
    let (gh, api) = fake_github(GitHub {
        pulls,
        files: vec!["OWNERS".into(), "src/main.go".into()],
        repo_files,
        review: Review {
            collaborators: ["author", "rita", "bob", "root-lead"]
                .map(String::from)
                .to_vec(),
            repo_labels: ["lifecycle/stale", "help wanted", "needs-rebase"]
                .map(String::from)
                .to_vec(),
            permissions: BTreeMap::from([("root-lead".to_string(), "admin".to_string())]),
            files: base,
            ..Review::default()
        },
        ..GitHub::default()
    });
    let dev = start(dir.path(), &api);

    // The PR opens: size labels it, blunderbuss asks an OWNERS reviewer,
    // welcome greets, verify-owners flags the broken OWNERS, and
    // needs-rebase asks GitHub whether it merges.
    hook(
        &dev,
        "pull_request",
        "o-1",
        &pr_event("opened", pr_object("head-1", None, &[])),
    );
    wait_for("size", WAIT, || has_label(&gh, PR, "size/XS"));
    wait_for("a review request from rita", WAIT, || {
        lock(&gh)
            .review
            .requested
            .get(PR)
            .is_some_and(|r| r.contains("rita"))
    });
    assert!(
        !lock(&gh).review.requested[PR].contains("author"),
        "never the author"
    );
    wait_for("the welcome", WAIT, || {
        bot_said(&gh, PR, "Welcome to acme/widgets, @author!")
    });
    wait_for("the invalid OWNERS label", WAIT, || {
        has_label(&gh, PR, "do-not-merge/invalid-owners-file")
    });
    // Labels go on before the replies: wait for each reply.
    wait_for("verify-owners says why", WAIT, || {
        bot_said(&gh, PR, "Cannot parse file")
    });
    wait_for("needs-rebase", WAIT, || has_label(&gh, PR, "needs-rebase"));
    wait_for("the needs-rebase reply", WAIT, || {
        bot_said(&gh, PR, "PR needs rebase.")
    });

    // A push that rebases and fixes OWNERS: both labels go.
    lock(&gh)
        .pulls
        .insert(PR.to_string(), pr_object("head-2", Some(true), &[]));
    let now = labels(&gh, PR);
    hook(
        &dev,
        "pull_request",
        "o-2",
        &pr_event("synchronize", pr_object("head-2", Some(true), &now)),
    );
    wait_for("needs-rebase removed", WAIT, || {
        !has_label(&gh, PR, "needs-rebase")
    });
    wait_for("the invalid OWNERS label removed", WAIT, || {
        !has_label(&gh, PR, "do-not-merge/invalid-owners-file")
    });
    let welcomes = lock(&gh)
        .comments
        .iter()
        .filter(|c| c.3.contains("Welcome to"))
        .count();
    assert_eq!(welcomes, 1, "welcome greets once, on opened");

    // Both jobs failed on the new head (as their reports would say).
    for context in ["pull-widgets-lint", "pull-widgets-e2e"] {
        let body = json!({"state": "failure", "context": context, "description": "Job failed."});
        let (code, text) = http(
            "POST",
            &format!("{api}/repos/acme/widgets/statuses/head-2"),
            &[("Content-Type", "application/json".to_string())],
            body.to_string().as_bytes(),
        );
        assert!(code < 300, "{code} {text}");
    }

    // /skip: the optional job's failure no longer blocks; the required
    // one's stays.
    say(&gh, &dev, "o-3", "bob", "/skip", true);
    wait_for("lint skipped", WAIT, || {
        status(&gh, "head-2", "pull-widgets-lint").is_some_and(|(s, _)| s == "success")
    });
    assert_eq!(
        status(&gh, "head-2", "pull-widgets-e2e").map(|(s, _)| s),
        Some("failure".to_string())
    );

    // /override by someone who is not an admin is refused; by an admin it
    // sets the context to success.
    say(&gh, &dev, "o-4", "bob", "/override pull-widgets-e2e", true);
    wait_for("the refusal", WAIT, || {
        lock(&gh)
            .comments
            .iter()
            .any(|c| c.1 == PR && c.3.contains("bob unauthorized: /override is restricted to"))
    });
    say(
        &gh,
        &dev,
        "o-5",
        "root-lead",
        "/override pull-widgets-e2e",
        true,
    );
    wait_for("e2e overridden", WAIT, || {
        status(&gh, "head-2", "pull-widgets-e2e")
            .is_some_and(|(s, d)| s == "success" && d.contains("Overridden by root-lead"))
    });
    wait_for("the override reply", WAIT, || {
        bot_said(
            &gh,
            PR,
            "Overrode contexts on behalf of root-lead: pull-widgets-e2e",
        )
    });

    // /lifecycle stale by anyone; /close by the author closes the PR.
    say(&gh, &dev, "o-6", "bob", "/lifecycle stale", true);
    wait_for("lifecycle/stale", WAIT, || {
        has_label(&gh, PR, "lifecycle/stale")
    });
    say(&gh, &dev, "o-7", "author", "/close", true);
    wait_for("closed", WAIT, || {
        lock(&gh)
            .review
            .states
            .get(PR)
            .is_some_and(|s| s == "closed")
    });
    // The state is set first, the reply posted after it.
    wait_for("the close reply", WAIT, || {
        bot_said(&gh, PR, "Closed this PR.")
    });

    // /help on an open issue.
    say(&gh, &dev, "o-8", "bob", "/help", false);
    wait_for("help wanted", WAIT, || has_label(&gh, ISSUE, "help wanted"));
    wait_for("the help plugin explains", WAIT, || {
        bot_said(&gh, ISSUE, "help")
    });
}
