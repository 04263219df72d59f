//! The review workflow end to end in `skiff dev`: the real binary, a Prow
//! `plugins.yaml`, signed webhooks built from GitHub's own examples
//! (`@octokit/webhooks-examples`, `SKIFF_WEBHOOK_EXAMPLES`), a fake GitHub
//! API (HTTP level: no real GitHub can run here) that keeps labels,
//! comments, assignees and OWNERS files as GitHub does, and a listening
//! external plugin that checks the forwarded signature.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{
    Dev, GitHub, Review, Shared, example, fake_github, http, lock, sign, start_dev, wait_for,
};

const SECRET: &[u8] = b"plugins-secret";
const WAIT: Duration = Duration::from_secs(60);
const PR: &str = "acme/widgets#7";

const PLUGINS: &str = r#"
plugins:
  acme:
  - trigger
  - lgtm
  - approve
  - hold
  - wip
  - label
  - assign
external_plugins:
  acme/widgets:
  - name: listener
    endpoint: ENDPOINT
    events: [issue_comment]
"#;

fn start(dir: &Path, github: &str, external: &str) -> Dev {
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").unwrap();
    std::fs::write(dir.join("jobs.yaml"), "presubmits: {}\n").unwrap();
    std::fs::write(
        dir.join("plugins.yaml"),
        PLUGINS.replace("ENDPOINT", external),
    )
    .unwrap();
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

fn pr_object(title: &str, labels: &[&str]) -> Value {
    let mut pr = example("pull_request", Some("opened"))["pull_request"].clone();
    pr["number"] = json!(7);
    pr["title"] = json!(title);
    pr["body"] = json!("");
    pr["user"]["login"] = json!("author");
    pr["state"] = json!("open");
    pr["draft"] = json!(false);
    pr["mergeable"] = json!(true);
    pr["labels"] = json!(
        labels
            .iter()
            .map(|l| json!({"name": l}))
            .collect::<Vec<_>>()
    );
    pr["head"]["sha"] = json!("head-1");
    pr["base"]["ref"] = json!("main");
    pr["base"]["repo"]["name"] = json!("widgets");
    pr["base"]["repo"]["owner"]["login"] = json!("acme");
    pr["html_url"] = json!("https://github.com/acme/widgets/pull/7");
    pr
}

fn comment(who: &str, body: &str, labels: &[String]) -> Value {
    let mut v = example("issue_comment", Some("created"));
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

fn pr_event(action: &str, title: &str, labels: &[String]) -> Value {
    let mut v = example("pull_request", Some("opened"));
    readdress(&mut v);
    v["action"] = json!(action);
    v["number"] = json!(7);
    let l: Vec<&str> = labels.iter().map(String::as_str).collect();
    v["pull_request"] = pr_object(title, &l);
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

fn labels(gh: &Shared) -> Vec<String> {
    lock(gh).labels.get(PR).cloned().unwrap_or_default()
}

fn has_label(gh: &Shared, label: &str) -> bool {
    labels(gh).iter().any(|l| l == label)
}

fn bot_said(gh: &Shared, text: &str) -> bool {
    lock(gh)
        .comments
        .iter()
        .any(|c| c.1 == PR && c.3.contains(text))
}

/// People comment on GitHub first; the webhook about it follows.
fn say(gh: &Shared, dev: &Dev, delivery: &str, who: &str, body: &str) {
    lock(gh).say(PR, who, body);
    let l = labels(gh);
    hook(dev, "issue_comment", delivery, &comment(who, body, &l));
}

/// Prints what one comment cost GitHub's API since `seen` was cleared
/// (the README's figures come from here) and returns its writes.
fn calls(gh: &Shared, what: &str) -> Vec<String> {
    let g = lock(gh);
    let writes: Vec<String> = g.writes().iter().map(|s| s.line()).collect();
    let reads: Vec<String> = g.reads().iter().map(|s| s.line()).collect();
    eprintln!(
        "API calls for one {what} comment: {} writes {writes:?}, {} reads {reads:?}, 304s {}",
        writes.len(),
        reads.len(),
        g.not_modified()
    );
    writes
}

/// An external plugin: records each request's headers and body.
/// Each request an external plugin received: its head and its body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn listener() -> (String, Received) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let got: Received = Arc::default();
    let record = got.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            // Headers, then as many body bytes as Content-Length says.
            loop {
                let n = s.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        let split = raw.len() - body.len();
                        record
                            .lock()
                            .unwrap()
                            .push((head.to_string(), raw[split..].to_vec()));
                        break;
                    }
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn the_review_workflow_runs_in_skiff_dev_from_comments() {
    let dir = tempfile::tempdir().unwrap();
    let mut pulls = std::collections::BTreeMap::new();
    pulls.insert(PR.to_string(), pr_object("Make widgets faster", &[]));
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "OWNERS".to_string(),
        "approvers:\n- root-lead\n".to_string(),
    );
    files.insert(
        "docs/OWNERS".to_string(),
        "approvers:\n- docs-lead\n".to_string(),
    );
    let (gh, api) = fake_github(GitHub {
        pulls,
        files: vec!["docs/guide.md".into(), "src/main.go".into()],
        review: Review {
            collaborators: ["author", "rita", "bob", "root-lead", "docs-lead"]
                .map(String::from)
                .to_vec(),
            repo_labels: ["kind/bug", "lgtm", "approved", "do-not-merge/hold"]
                .map(String::from)
                .to_vec(),
            files,
            ..Review::default()
        },
        ..GitHub::default()
    });
    let (endpoint, forwarded) = listener();
    let dev = start(dir.path(), &api, &endpoint);

    // /lgtm by the author is refused.
    say(&gh, &dev, "d-1", "author", "/lgtm");
    wait_for("the refusal", WAIT, || {
        bot_said(&gh, "you cannot LGTM your own PR")
    });
    assert!(!has_label(&gh, "lgtm"));

    // /lgtm by a reviewer labels.
    lock(&gh).seen.clear();
    say(&gh, &dev, "d-2", "rita", "/lgtm");
    wait_for("lgtm", WAIT, || has_label(&gh, "lgtm"));
    wait_for("the forward of /lgtm", WAIT, || {
        forwarded.lock().unwrap().len() >= 2
    });
    {
        let g = lock(&gh);
        let lines = |v: Vec<&support::Seen>| v.iter().map(|s| s.line()).collect::<Vec<_>>();
        eprintln!(
            "API calls for one /lgtm comment: writes {:?}, reads {:?}",
            lines(g.writes()),
            lines(g.reads())
        );
    }

    // A push removes it.
    let l = labels(&gh);
    hook(
        &dev,
        "pull_request",
        "d-3",
        &pr_event("synchronize", "Make widgets faster", &l),
    );
    wait_for("lgtm removed", WAIT, || !has_label(&gh, "lgtm"));

    // A sub-directory approver covers only their files.
    say(&gh, &dev, "d-4", "docs-lead", "/approve");
    wait_for("the notifier naming docs-lead", WAIT, || {
        lock(&gh).comments.iter().any(|c| {
            c.3.contains("[APPROVALNOTIFIER] This PR is **NOT APPROVED**")
                && c.3.contains("docs-lead</a>")
        })
    });
    assert!(!has_label(&gh, "approved"), "{:?}", labels(&gh));
    lock(&gh).seen.clear();
    say(&gh, &dev, "d-5", "root-lead", "/approve");
    wait_for("approved", WAIT, || {
        has_label(&gh, "approved") && bot_said(&gh, "This PR is **APPROVED**")
    });
    // Everything d-5 does is done once its forward is (forwards come last).
    wait_for("the forward of d-5", WAIT, || {
        forwarded.lock().unwrap().len() >= 4
    });
    calls(&gh, "/approve");

    // /hold, /hold cancel. What one comment costs: one write per label
    // change, and reads only of what no cache can answer.
    lock(&gh).seen.clear();
    say(&gh, &dev, "d-6", "bob", "/hold");
    wait_for("hold", WAIT, || has_label(&gh, "do-not-merge/hold"));
    wait_for("the forward of /hold", WAIT, || {
        forwarded.lock().unwrap().len() >= 5
    });
    {
        let g = lock(&gh);
        let writes: Vec<String> = g.writes().iter().map(|s| s.line()).collect();
        let reads: Vec<String> = g.reads().iter().map(|s| s.line()).collect();
        eprintln!(
            "API calls for one /hold comment: writes {writes:?}, reads {reads:?}, 304s {}",
            g.not_modified()
        );
        assert_eq!(
            writes,
            ["POST /repos/acme/widgets/issues/7/labels"],
            "one write per label change"
        );
    }
    say(&gh, &dev, "d-7", "bob", "/hold cancel");
    wait_for("hold cancelled", WAIT, || {
        !has_label(&gh, "do-not-merge/hold")
    });

    // A WIP title.
    let l = labels(&gh);
    hook(
        &dev,
        "pull_request",
        "d-8",
        &pr_event("edited", "WIP: faster", &l),
    );
    wait_for("wip", WAIT, || {
        has_label(&gh, "do-not-merge/work-in-progress")
    });

    // /kind bug and /assign @bob.
    lock(&gh).seen.clear();
    say(&gh, &dev, "d-9", "bob", "/kind bug");
    wait_for("kind/bug", WAIT, || has_label(&gh, "kind/bug"));
    wait_for("the forward of d-9", WAIT, || {
        forwarded.lock().unwrap().len() >= 7
    });
    assert_eq!(
        calls(&gh, "/kind bug"),
        ["POST /repos/acme/widgets/issues/7/labels"],
        "one write per label change"
    );
    lock(&gh).seen.clear();
    say(&gh, &dev, "d-10", "rita", "/assign @bob");
    wait_for("bob assigned", WAIT, || {
        lock(&gh)
            .review
            .assignees
            .get(PR)
            .is_some_and(|a| a.contains("bob"))
    });
    wait_for("the forward of d-10", WAIT, || {
        forwarded.lock().unwrap().len() >= 8
    });
    assert_eq!(
        calls(&gh, "/assign @bob"),
        ["POST /repos/acme/widgets/issues/7/assignees"],
        "one write per assignment"
    );

    // The external plugin got each comment as GitHub sent it, signed with
    // GitHub's secret.
    wait_for("the forwards", WAIT, || {
        forwarded.lock().unwrap().len() >= 8
    });
    let got = forwarded.lock().unwrap();
    for (head, body) in got.iter() {
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("x-github-event: issue_comment"), "{head}");
        assert!(lower.contains("user-agent: prowhook"), "{head}");
        let signature = sign(SECRET, body);
        assert!(
            lower.contains(&format!("x-hub-signature-256: {signature}")),
            "the forward carries GitHub's signature of its body: {head}"
        );
    }
}
