//! `skiff plan` as a user runs it: the real binary, GitHub-shaped payloads on
//! disk, one JSON plan on stdout.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn skiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan"))
        .output()
        .expect("skiff runs")
}

fn plan(args: &[&str]) -> Value {
    let out = skiff(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn job_names(plan: &Value) -> Vec<&str> {
    plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect()
}

const NOW: &str = "2026-11-23T10:00:00Z";

#[test]
fn a_trusted_pr_plans_its_automatic_jobs_and_explains_the_rest() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "pull_request",
        "--payload",
        "pull_request_opened.json",
        "--changed-files",
        "changed.txt",
        "--trusted",
        "alice,carol",
        "--explain",
        "--now",
        NOW,
        "--delivery",
        "d-1",
    ]);
    assert_eq!(job_names(&p), ["unit"]);
    let unit = &p["jobs"][0];
    assert_eq!(unit["type"], "presubmit");
    assert_eq!(unit["context"], "unit");
    assert_eq!(unit["refs"]["base_sha"], "0a1b2c");
    assert_eq!(unit["refs"]["pulls"][0]["sha"], "9f8e7d");
    assert_eq!(unit["labels"]["event-GUID"], "d-1");
    assert_eq!(p["labels_add"], serde_json::json!([]));
    let skipped = p["skipped"].as_array().unwrap();
    let docs = skipped.iter().find(|s| s["job"] == "docs").unwrap();
    assert_eq!(
        docs["reason"],
        "run_if_changed '^docs/' matched none of 1 changed file"
    );
    assert!(skipped.iter().any(|s| s["job"] == "e2e"));
}

#[test]
fn an_untrusted_author_gets_needs_ok_to_test_and_no_jobs() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "pull_request",
        "--payload",
        "pull_request_opened.json",
        "--now",
        NOW,
    ]);
    assert_eq!(job_names(&p), Vec::<&str>::new());
    assert_eq!(p["labels_add"], serde_json::json!(["needs-ok-to-test"]));
    assert!(p["comments"][0].as_str().unwrap().contains("/ok-to-test"));
    assert!(p.get("skipped").is_none(), "only with --explain");
}

#[test]
fn retest_reads_history_and_the_pull_request_it_is_given() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "issue_comment",
        "--payload",
        "issue_comment_retest.json",
        "--pull-request",
        "pr.json",
        "--history",
        "history.json",
        "--trusted",
        "bob",
        "--now",
        NOW,
        "--changed-files",
        "changed.txt",
    ]);
    // unit failed on the head commit; e2e is pending (not rerun); docs never
    // ran but its files do not match.
    assert_eq!(job_names(&p), ["unit"]);
    assert_eq!(p["jobs"][0]["labels"]["prow.k8s.io/retest"], "true");
}

#[test]
fn a_comment_without_the_pull_request_says_which_flag_is_missing() {
    let out = skiff(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "issue_comment",
        "--payload",
        "issue_comment_retest.json",
        "--trusted",
        "bob",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot get the pull request: this event needs it: pass --pull-request FILE\n"
    );
}

#[test]
fn a_push_plans_postsubmits_from_its_commits_files() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "push",
        "--payload",
        "push_main.json",
        "--now",
        NOW,
    ]);
    assert_eq!(job_names(&p), ["publish"]);
    assert_eq!(p["jobs"][0]["refs"]["base_sha"], "bbb");
}

#[test]
fn ignored_events_say_why() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "star",
        "--payload",
        "push_main.json",
        "--now",
        NOW,
    ]);
    assert_eq!(job_names(&p), Vec::<&str>::new());
    assert!(p["note"].as_str().unwrap().contains("star"), "{p}");
}

#[test]
fn a_malformed_payload_is_a_clear_error() {
    let out = skiff(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "pull_request",
        "--payload",
        "changed.txt",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --payload changed.txt: malformed pull_request payload"),
        "{err}"
    );
}

#[test]
fn periodics_due_at_a_tick() {
    // echo-test last started 09:55: at 10:00 five minutes have passed (not ten).
    let p = plan(&[
        "plan",
        "periodics",
        "--config-path",
        "config.yaml",
        "--now",
        NOW,
        "--history",
        "history.json",
        "--explain",
    ]);
    assert_eq!(job_names(&p), Vec::<&str>::new());
    let skipped = p["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2);
    // At 10:06 the interval has passed; at 03:00 the nightly cron fires.
    let p = plan(&[
        "plan",
        "periodics",
        "--config-path",
        "config.yaml",
        "--now",
        "2026-11-23T10:06:00Z",
        "--history",
        "history.json",
    ]);
    assert_eq!(job_names(&p), ["echo-test"]);
    assert_eq!(p["jobs"][0]["type"], "periodic");
    let p = plan(&[
        "plan",
        "periodics",
        "--config-path",
        "config.yaml",
        "--now",
        "2026-11-24T03:00:00Z",
        "--previous-tick",
        "2026-11-24T02:59:00Z",
        "--history",
        "history.json",
    ]);
    assert_eq!(job_names(&p), ["echo-test", "nightly"]);
    assert_eq!(p["jobs"][1]["key"], "nightly@first");
    assert_eq!(
        p["jobs"][1]["reason"],
        "cron \"0 3 * * *\" fired at 2026-11-24T03:00:00Z (first run)"
    );
}

#[test]
fn a_merge_group_plans_the_required_jobs_on_the_queues_branch() {
    let p = plan(&[
        "plan",
        "event",
        "--config-path",
        "config.yaml",
        "--event",
        "merge_group",
        "--payload",
        "merge_group.json",
        "--changed-files",
        "changed.txt",
        "--explain",
        "--now",
        NOW,
    ]);
    // unit always; docs only for changes under docs/ (the group changes
    // main.go); e2e is optional, so the queue does not wait for it.
    assert_eq!(job_names(&p), ["unit"]);
    let refs = &p["jobs"][0]["refs"];
    assert_eq!(refs["base_sha"], "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d");
    assert_eq!(
        refs["base_ref"],
        "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64"
    );
    assert_eq!(p["jobs"][0]["labels"]["skiff.dev/merge-group"], "true");
    assert_eq!(
        p["jobs"][0]["type"], "postsubmit",
        "it tests a branch head, not a pull"
    );
    let skipped = p["skipped"].to_string();
    assert!(
        skipped.contains("e2e") && skipped.contains("merge queue"),
        "{skipped}"
    );
    assert!(
        skipped.contains("docs") && skipped.contains("^docs/"),
        "{skipped}"
    );
}
