//! In-repo job config end to end in `skiff dev`: the real binary, signed
//! webhooks, and the fake GitHub API (HTTP level, `support/`: no real
//! GitHub can run here) serving the repository's files at each commit
//! through its git trees and contents APIs. A pull request adding a job in
//! `.prow.yaml` runs it (a real local process), the deck's job page says
//! which commit it came from, and a push runs an in-repo postsubmit.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Dev, GitHub, fake_github, http, lock, sign, start_dev, wait_for};

const SECRET: &[u8] = b"inrepo-secret";
const WAIT: Duration = Duration::from_secs(60);
const BASE: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const HEAD: &str = "7f6e5d4c3b2a19080f1e2d3c4b5a69788796a5b4";
const PUSHED: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

const CONFIG: &str = "in_repo_config:\n  enabled:\n    acme/widgets: true\n";

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo unit ok"]}]}
"#;

/// What the pull request's head adds.
const PROW_YAML: &str = r#"presubmits:
- name: in-repo-lint
  always_run: true
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo in-repo lint ok"]}]}
"#;

/// What the pushed commit holds.
const PUSHED_PROW_YAML: &str = r#"postsubmits:
- name: in-repo-publish
  branches: [main]
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo published"]}]}
"#;

fn start(dir: &Path, github: &str) -> Dev {
    std::fs::write(dir.join("config.yaml"), CONFIG).unwrap();
    std::fs::write(dir.join("jobs.yaml"), JOBS).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("token"), "token\n").unwrap();
    start_dev(dir, github, &["--sync-seconds", "1"])
}

impl Dev {
    fn hook(&self, event: &str, delivery: &str, body: &Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let (status, answer) = http(
            "POST",
            &format!("{}/hook", self.url),
            &[
                ("X-GitHub-Event", event.to_string()),
                ("X-GitHub-Delivery", delivery.to_string()),
                ("X-Hub-Signature-256", sign(SECRET, &bytes)),
            ],
            &bytes,
        );
        assert_eq!(status, 200, "{answer}");
    }

    /// Waits for `job` to succeed; its record.
    fn succeeded(&self, job: &str) -> Value {
        let mut found = None;
        wait_for(&format!("{job} to succeed"), WAIT, || {
            let (_, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
            let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
            found = v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|j| j["spec"]["job"] == job && j["status"]["state"] == "success")
                .cloned();
            found.is_some()
        });
        found.unwrap_or_default()
    }
}

fn repository() -> Value {
    json!({"name": "widgets", "full_name": "acme/widgets", "owner": {"login": "acme"},
           "html_url": "https://github.com/acme/widgets"})
}

#[test]
fn a_job_added_in_prow_yaml_runs_on_its_pull_request_and_a_push_runs_an_in_repo_postsubmit() {
    let dir = tempfile::tempdir().unwrap();
    let pull = json!({
        "number": 3, "title": "Add a lint job", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true,
        "html_url": "https://github.com/acme/widgets/pull/3",
        "user": {"login": "alice", "html_url": "https://github.com/alice"},
        "labels": [],
        "head": {"sha": HEAD, "ref": "lint", "repo": {"name": "widgets", "owner": {"login": "alice"}}},
        "base": {"sha": BASE, "ref": "main",
                 "repo": {"name": "widgets", "owner": {"login": "acme"}, "html_url": "https://github.com/acme/widgets"}}
    });
    let mut gh = GitHub {
        members: vec!["alice".into()],
        files: vec![".prow.yaml".into()],
        ..GitHub::default()
    };
    gh.pulls.insert("acme/widgets#3".into(), pull.clone());
    gh.branch_heads
        .insert("acme/widgets:main".into(), BASE.into());
    let at = |files: &[(&str, &str)]| -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    };
    gh.repo_files.insert(
        format!("acme/widgets@{BASE}"),
        at(&[("main.go", "package main\n")]),
    );
    gh.repo_files.insert(
        format!("acme/widgets@{HEAD}"),
        at(&[("main.go", "package main\n"), (".prow.yaml", PROW_YAML)]),
    );
    gh.repo_files.insert(
        format!("acme/widgets@{PUSHED}"),
        at(&[(".prow.yaml", PUSHED_PROW_YAML)]),
    );
    let (gh, github) = fake_github(gh);
    let dev = start(dir.path(), &github);

    dev.hook(
        "pull_request",
        "d-open",
        &json!({"action": "opened", "number": 3, "pull_request": pull,
                "repository": repository(), "sender": {"login": "alice"}}),
    );
    let lint = dev.succeeded("in-repo-lint");
    dev.succeeded("unit");
    assert_eq!(lint["spec"]["refs"]["pulls"][0]["sha"], HEAD);
    let id = lint["metadata"]["name"].as_str().unwrap_or_default();
    let (status, page) = http("GET", &format!("{}/jobs/{id}", dev.url), &[], b"");
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("in-repo config <code>.prow.yaml@{HEAD}</code>")),
        "the job page names the commit: {page}"
    );
    let reads = lock(&gh)
        .seen
        .iter()
        .filter(|s| s.path.contains("/git/trees/") || s.path.contains("/contents/"))
        .count();
    assert_eq!(reads, 2, "one tree listing and one contents read");

    dev.hook(
        "push",
        "d-push",
        &json!({"ref": "refs/heads/main", "before": BASE, "after": PUSHED, "deleted": false,
                "compare": format!("https://github.com/acme/widgets/compare/{BASE}...{PUSHED}"),
                "pusher": {"name": "alice"}, "repository": repository(),
                "commits": [{"added": [".prow.yaml"], "removed": [], "modified": []}]}),
    );
    let publish = dev.succeeded("in-repo-publish");
    assert_eq!(publish["spec"]["refs"]["base_sha"], PUSHED);
}
