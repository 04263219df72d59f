//! `skiff plan event` shows what each review plugin would do, from files:
//! the real binary, a Prow `plugins.yaml`, a GitHub-shaped comment payload
//! and a checkout with OWNERS files.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const PLUGINS: &str = "plugins:\n  acme/widgets: [lgtm, approve, hold, label]\n";

fn comment(who: &str, body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": 7, "state": "open", "title": "Faster", "user": {"login": "author"},
                  "labels": [], "assignees": [], "pull_request": {"url": "x"},
                  "html_url": "https://github.com/acme/widgets/pull/7"},
        "comment": {"id": 1, "body": body, "user": {"login": who, "type": "User"},
                    "html_url": "https://github.com/acme/widgets/pull/7#issuecomment-1"},
        "repository": {"name": "widgets", "owner": {"login": "acme"},
                       "html_url": "https://github.com/acme/widgets"},
        "sender": {"login": who}
    })
}

fn pr() -> Value {
    json!({
        "number": 7, "title": "Faster", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true, "labels": [],
        "html_url": "https://github.com/acme/widgets/pull/7",
        "user": {"login": "author"},
        "head": {"sha": "head1", "ref": "faster"},
        "base": {"sha": "base1", "ref": "main",
                 "repo": {"name": "widgets", "owner": {"login": "acme"}}}
    })
}

/// The plan's `plugins` for `who` saying `body`, with `extra` flags.
fn plugins(dir: &Path, who: &str, body: &str, extra: &[&str]) -> Value {
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").unwrap();
    std::fs::write(dir.join("plugins.yaml"), PLUGINS).unwrap();
    std::fs::write(dir.join("payload.json"), comment(who, body).to_string()).unwrap();
    std::fs::write(dir.join("pr.json"), pr().to_string()).unwrap();
    std::fs::write(dir.join("changed.txt"), "docs/guide.md\nsrc/main.go\n").unwrap();
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(repo.join("OWNERS"), "approvers:\n- root-lead\n").unwrap();
    std::fs::write(repo.join("docs/OWNERS"), "approvers:\n- docs-lead\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .current_dir(dir)
        .args([
            "plan",
            "event",
            "--config-path",
            "config.yaml",
            "--plugin-config",
            "plugins.yaml",
            "--event",
            "issue_comment",
            "--payload",
            "payload.json",
            "--pull-request",
            "pr.json",
            "--changed-files",
            "changed.txt",
            "--trusted",
            "rita,root-lead,docs-lead,author",
            "--now",
            "2026-11-23T10:00:00Z",
        ])
        .args(extra)
        .output()
        .expect("skiff runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    plan["plugins"].clone()
}

/// `plugin: effect label` for every label effect in the plan.
fn label_effects(plugins: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in plugins.as_array().into_iter().flatten() {
        for e in p["effects"].as_array().into_iter().flatten() {
            if let Some(label) = e["label"].as_str() {
                out.push(format!(
                    "{}: {} {label}",
                    p["plugin"].as_str().unwrap_or(""),
                    e["effect"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

#[test]
fn each_command_plans_its_plugins_effects() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = d.join("repo");
    let repo = repo.to_str().unwrap();
    for (who, body, extra, want) in [
        (
            "bob",
            "/hold",
            vec![],
            vec!["hold: add_label do-not-merge/hold"],
        ),
        ("rita", "/lgtm", vec![], vec!["lgtm: add_label lgtm"]),
        ("author", "/lgtm", vec![], vec![]),
        (
            "bob",
            "/kind bug",
            vec!["--repo-labels", "kind/bug,lgtm"],
            vec!["label: add_label kind/bug"],
        ),
        ("docs-lead", "/approve", vec!["--repo-dir", repo], vec![]),
        (
            "root-lead",
            "/approve",
            vec!["--repo-dir", repo],
            vec!["approve: add_label approved"],
        ),
    ] {
        let got = plugins(d, who, body, &extra);
        assert_eq!(label_effects(&got), want, "{who} says {body}: {got:#}");
    }
}

#[test]
fn a_missing_fact_names_the_flag_that_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    let got = plugins(dir.path(), "bob", "/kind bug", &[]);
    let text = got.to_string();
    assert!(text.contains("--repo-labels"), "{got:#}");
}

/// The plugin of each entry, in order.
fn names(plugins: &Value) -> Vec<String> {
    plugins
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["plugin"].as_str().map(String::from))
        .collect()
}

#[test]
fn explain_shows_every_enabled_plugin_even_those_that_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = d.join("repo");
    let repo = repo.to_str().unwrap();
    let flags = ["--repo-labels", "kind/bug", "--repo-dir", repo];
    let plain = plugins(d, "bob", "/hold", &flags);
    assert_eq!(names(&plain), ["hold"], "{plain:#}");
    let mut explain = flags.to_vec();
    explain.push("--explain");
    let explained = plugins(d, "bob", "/hold", &explain);
    assert_eq!(
        names(&explained),
        ["lgtm", "approve", "hold", "label"],
        "every plugin plugins.yaml enables here, in its order: {explained:#}"
    );
    let hold = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .find(|p| p["plugin"] == "hold")
            .map(|p| p["effects"].clone())
    };
    assert_eq!(hold(&plain), hold(&explained), "the effects are the same");
    for p in explained.as_array().into_iter().flatten() {
        if p["plugin"] != "hold" {
            assert_eq!(p["effects"], json!([]), "listed, and does nothing: {p:#}");
        }
    }
}
