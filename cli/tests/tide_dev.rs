//! Tide end to end in `skiff dev`: the real binary runs the jobs as local
//! processes and tide merges through a fake GitHub API (HTTP level: no real
//! GitHub can run here) that keeps pulls, labels, statuses and branch heads
//! as GitHub does — a merge closes the pull and moves its base, and the
//! `sha` guard refuses a pull that moved. One repository per scenario, so
//! each is its own pool:
//!
//! - `acme/widgets`: a pull opened with lgtm+approved runs its presubmit and
//!   is merged squash at its head once it passes; a held pull stays out and
//!   its `tide` status says why;
//! - `acme/gears`: a pull that passed against an older base is retested by
//!   tide against the current one and merged after;
//! - `acme/batch`: two ready pulls are tested as one batch and both merge;
//! - `acme/refuse`: a batch whose first merge GitHub refuses (405) still
//!   merges the other;
//! - `acme/inrepo`: the base's `.prow.yaml` adds a required `lint`; a pull
//!   that passed `unit` and `lint` against an older base is retested on
//!   both (the in-repo job from the in-repo config) and merged after;
//! - `acme/blocked`: an open issue labelled `blocker_label` for `main`
//!   keeps a ready pull from merging (the pool shows `BLOCKED`) until the
//!   issue is closed;
//! - `acme/queue` merges with GitHub's merge queue instead: its
//!   `merge_group` event runs the required job on the queue's branch and
//!   reports on the group's head, where the queue looks.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    Canned, GitHub, Shared, example, fake_github, http, lock, sign, start_dev, wait_for,
};

const SECRET: &[u8] = b"tide-secret";
const WAIT: Duration = Duration::from_secs(90);

const CONFIG: &str = r#"
in_repo_config:
  enabled:
    acme/inrepo: true
tide:
  blocker_label: merge-blocker
  queries:
  - repos: [acme/widgets, acme/gears, acme/batch, acme/refuse, acme/inrepo, acme/blocked]
    labels: [lgtm, approved]
    missingLabels: [do-not-merge/hold]
  merge_method:
    acme/widgets: squash
  merge_commit_template:
    acme/widgets:
      title: "{{ .Title }} (#{{ .Number }})"
  batch_size_limit:
    "*": -1
    acme/batch: 2
    acme/refuse: 2
skiff:
  merge_queue:
    repos: [acme/queue]
"#;

const JOB: &str = "  - name: unit\n    always_run: true\n    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: [\"exit 0\"]}]}\n";

const PLUGINS: &str = "plugins:\n  acme:\n  - trigger\n";

fn jobs() -> String {
    let mut out = String::from("presubmits:\n");
    for repo in [
        "widgets", "gears", "batch", "refuse", "queue", "inrepo", "blocked",
    ] {
        out.push_str(&format!("  acme/{repo}:\n{JOB}"));
    }
    out
}

fn pull(repo: &str, n: i64, base_sha: &str) -> Value {
    let mut pr = example("pull_request", Some("opened"))["pull_request"].clone();
    pr["number"] = json!(n);
    pr["title"] = json!(format!("Change {n}"));
    pr["body"] = json!("");
    pr["user"]["login"] = json!("author");
    pr["state"] = json!("open");
    pr["draft"] = json!(false);
    pr["mergeable"] = json!(true);
    pr["head"]["sha"] = json!(format!("{repo}-head-{n}"));
    pr["head"]["ref"] = json!(format!("change-{n}"));
    pr["base"]["ref"] = json!("main");
    pr["base"]["sha"] = json!(base_sha);
    pr["base"]["repo"]["name"] = json!(repo);
    pr["base"]["repo"]["full_name"] = json!(format!("acme/{repo}"));
    pr["base"]["repo"]["owner"]["login"] = json!("acme");
    pr["base"]["repo"]["html_url"] = json!(format!("https://github.com/acme/{repo}"));
    pr["html_url"] = json!(format!("https://github.com/acme/{repo}/pull/{n}"));
    pr
}

fn setup() -> GitHub {
    let mut gh = GitHub {
        members: vec!["author".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    let ready = vec!["lgtm".to_string(), "approved".to_string()];
    for (repo, n, labels) in [
        ("widgets", 7, ready.clone()),
        (
            "widgets",
            8,
            vec!["lgtm".into(), "approved".into(), "do-not-merge/hold".into()],
        ),
        ("gears", 1, ready.clone()),
        ("batch", 1, ready.clone()),
        ("batch", 2, ready.clone()),
        ("refuse", 1, ready.clone()),
        ("refuse", 2, ready.clone()),
        ("inrepo", 1, ready.clone()),
        ("blocked", 1, ready.clone()),
    ] {
        let key = format!("acme/{repo}#{n}");
        gh.pulls
            .insert(key.clone(), pull(repo, n, &format!("{repo}-base")));
        gh.labels.insert(key, labels);
        gh.branch_heads
            .insert(format!("acme/{repo}:main"), format!("{repo}-base"));
    }
    let lint = "presubmits:\n- name: lint\n  always_run: true\n  spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: [\"exit 0\"]}]}\n";
    gh.repo_files.insert(
        "acme/inrepo@inrepo-base".into(),
        [(".prow.yaml".to_string(), lint.to_string())].into(),
    );
    gh.issues.insert(
        "acme/blocked".into(),
        vec![json!({
            "number": 5,
            "title": "Release freeze branch:main",
            "html_url": "https://github.com/acme/blocked/issues/5",
            "state": "open",
            "labels": [{"name": "merge-blocker"}],
        })],
    );
    // GitHub refuses the first merge of #1 in acme/refuse.
    gh.canned.push(Canned {
        method: "PUT".into(),
        path: "/repos/acme/refuse/pulls/1/merge".into(),
        status: 405,
        headers: Vec::new(),
        body: json!({"message": "Pull Request is not mergeable"}),
    });
    gh
}

/// A status an earlier run wrote (crier's BaseSHA suffix names its base).
fn passed_earlier(github: &str, repo: &str, n: i64, base: &str) {
    passed_earlier_as(github, repo, n, base, "unit");
}

fn passed_earlier_as(github: &str, repo: &str, n: i64, base: &str, context: &str) {
    let body = json!({
        "state": "success",
        "context": context,
        "description": format!("Job succeeded. BaseSHA:{base}"),
    });
    let (status, text) = http(
        "POST",
        &format!("{github}/repos/acme/{repo}/statuses/{repo}-head-{n}"),
        &[("Authorization", "token t".to_string())],
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{text}");
}

fn opened(dev: &support::Dev, repo: &str, n: i64, delivery: &str) {
    let mut v = example("pull_request", Some("opened"));
    v["repository"]["name"] = json!(repo);
    v["repository"]["full_name"] = json!(format!("acme/{repo}"));
    v["repository"]["owner"]["login"] = json!("acme");
    v["repository"]["html_url"] = json!(format!("https://github.com/acme/{repo}"));
    v["number"] = json!(n);
    let mut pr = pull(repo, n, &format!("{repo}-base"));
    pr["labels"] = json!([{"name": "lgtm"}, {"name": "approved"}]);
    v["pull_request"] = pr;
    v["sender"]["login"] = json!("author");
    send(dev, "pull_request", delivery, &v);
}

fn send(dev: &support::Dev, event: &str, delivery: &str, v: &Value) {
    let bytes = serde_json::to_vec(v).unwrap();
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

fn merged(gh: &Shared, key: &str) -> Option<(String, String, String, String)> {
    lock(gh).merges().into_iter().find(|m| m.0 == key)
}

fn start(dir: &Path, github: &str) -> support::Dev {
    std::fs::write(dir.join("config.yaml"), CONFIG).unwrap();
    std::fs::write(dir.join("jobs.yaml"), jobs()).unwrap();
    std::fs::write(dir.join("plugins.yaml"), PLUGINS).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("token"), "token\n").unwrap();
    start_dev(
        dir,
        github,
        &["--tide-seconds", "2", "--tick-seconds", "60"],
    )
}

#[test]
fn tide_merges_retests_batches_and_explains_in_skiff_dev() {
    let dir = tempfile::tempdir().unwrap();
    let (gh, github) = fake_github(setup());
    passed_earlier(&github, "gears", 1, "an-older-base");
    passed_earlier(&github, "batch", 1, "an-older-base");
    passed_earlier(&github, "batch", 2, "an-older-base");
    passed_earlier(&github, "refuse", 1, "an-older-base");
    passed_earlier(&github, "refuse", 2, "an-older-base");
    passed_earlier_as(&github, "inrepo", 1, "an-older-base", "unit");
    passed_earlier_as(&github, "inrepo", 1, "an-older-base", "lint");
    passed_earlier(&github, "blocked", 1, "blocked-base");
    let dev = start(dir.path(), &github);

    // acme/widgets: opened, tested, merged at its head, squash.
    opened(&dev, "widgets", 7, "tide-delivery-7");
    let started = Instant::now();
    wait_for("#7 to merge", WAIT, || {
        merged(&gh, "acme/widgets#7").is_some()
    });
    let (passed, merge) = {
        let g = lock(&gh);
        (
            g.first_write_at(
                "POST",
                "/statuses/widgets-head-7",
                Some(("state", "success")),
            ),
            g.first_write_at("PUT", "/repos/acme/widgets/pulls/7/merge", None),
        )
    };
    let (Some(passed), Some(merge)) = (passed, merge) else {
        panic!("the unit status and the merge were both received");
    };
    eprintln!(
        "tide in skiff dev: last required job passed (its success status) → merge request {:?}; webhook → merged {:?}",
        merge.duration_since(passed),
        merge.duration_since(started),
    );
    let (_, method, sha, title) = merged(&gh, "acme/widgets#7").unwrap();
    assert_eq!(
        (method.as_str(), sha.as_str()),
        ("squash", "widgets-head-7")
    );
    assert_eq!(title, "Change 7 (#7)");
    assert!(
        lock(&gh)
            .tide_statuses("widgets-head-7")
            .iter()
            .any(|(s, d)| s == "success" && d == "In merge pool."),
        "{:?}",
        lock(&gh).tide_statuses("widgets-head-7")
    );

    // The held pull stays out, and says why.
    wait_for("#8's tide status", WAIT, || {
        !lock(&gh).tide_statuses("widgets-head-8").is_empty()
    });
    assert_eq!(
        lock(&gh).tide_statuses("widgets-head-8")[0],
        (
            "pending".to_string(),
            "Not mergeable. Should not have do-not-merge/hold label.".to_string()
        )
    );

    // acme/gears: passed against an older base: retested, then merged.
    wait_for("gears#1 to merge", WAIT, || {
        merged(&gh, "acme/gears#1").is_some()
    });
    let g = lock(&gh);
    assert!(
        g.tide_statuses("gears-head-1")
            .iter()
            .any(|(s, d)| s == "pending" && d == "Not mergeable. Retesting: unit"),
        "{:?}",
        g.tide_statuses("gears-head-1")
    );
    assert!(
        g.statuses()
            .iter()
            .any(|(sha, c, s)| sha == "gears-head-1" && c == "unit" && s == "success"),
        "the retest reported"
    );
    drop(g);

    // acme/batch: one batch, both merge.
    wait_for("both batch pulls to merge", WAIT, || {
        merged(&gh, "acme/batch#1").is_some() && merged(&gh, "acme/batch#2").is_some()
    });
    let prowjobs = http("GET", &format!("{}/prowjobs.js", dev.url), &[], b"").1;
    let batches = prowjobs.matches("\"type\":\"batch\"").count();
    assert!(
        batches >= 2,
        "a batch job per repo: {batches} in {prowjobs:.300}"
    );

    // acme/refuse: #1 refused, #2 merged in the same batch merge.
    wait_for("refuse#2 to merge", WAIT, || {
        merged(&gh, "acme/refuse#2").is_some()
    });
    // acme/inrepo: both jobs retested against the current base, the
    // in-repo one from the base's `.prow.yaml`, then merged.
    wait_for("inrepo#1 to merge", WAIT, || {
        merged(&gh, "acme/inrepo#1").is_some()
    });
    let g = lock(&gh);
    assert!(
        g.tide_statuses("inrepo-head-1")
            .iter()
            .any(|(s, d)| s == "pending" && d == "Not mergeable. Retesting: lint unit"),
        "the in-repo job is required too: {:?}",
        g.tide_statuses("inrepo-head-1")
    );
    drop(g);
    // Tide merges on the job records; the reporter's loop posts the retest's
    // status on its own beat, which may come after the merge.
    wait_for("lint's status against the current base", WAIT, || {
        lock(&gh).seen.iter().any(|s| {
            s.path.ends_with("/statuses/inrepo-head-1")
                && s.body["context"] == "lint"
                && s.body["state"] == "success"
                && s.body["description"]
                    .as_str()
                    .is_some_and(|d| d.ends_with("BaseSHA:inrepo-base"))
        })
    });

    // acme/blocked: ready, but blocked by issue 5 until it closes.
    wait_for("the blocked pool", WAIT, || {
        let tide = http("GET", &format!("{}/tide.js", dev.url), &[], b"").1;
        tide.contains("\"acme\",\"repo\":\"blocked\"") && tide.contains("BLOCKED")
    });
    assert!(
        merged(&gh, "acme/blocked#1").is_none(),
        "nothing merges while a blocker is open"
    );
    let tide = http("GET", &format!("{}/tide.js", dev.url), &[], b"").1;
    assert!(
        tide.contains("Release freeze"),
        "the blocker is shown: {tide:.800}"
    );
    lock(&gh).issues.clear();
    wait_for("blocked#1 to merge once the issue closed", WAIT, || {
        merged(&gh, "acme/blocked#1").is_some()
    });

    // acme/queue: GitHub's merge queue asks for the group's checks.
    let mut group = example("merge_group", Some("checks_requested"));
    group["repository"]["name"] = json!("queue");
    group["repository"]["full_name"] = json!("acme/queue");
    group["repository"]["owner"]["login"] = json!("acme");
    group["repository"]["html_url"] = json!("https://github.com/acme/queue");
    let head = group["merge_group"]["head_sha"]
        .as_str()
        .unwrap()
        .to_string();
    send(&dev, "merge_group", "tide-delivery-queue", &group);
    wait_for("the merge group's status", WAIT, || {
        lock(&gh)
            .statuses()
            .iter()
            .any(|(sha, c, s)| *sha == head && c == "unit" && s == "success")
    });

    let history = http("GET", &format!("{}/tide-history.js", dev.url), &[], b"").1;
    assert!(
        history.contains("PR is unmergable"),
        "the refusal is in tide's history: {history:.600}"
    );
}
