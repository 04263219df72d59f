//! In-repo job configuration (`.prow.yaml` / `.prow/`) end to end: webhook →
//! trigger (→ dispatcher) over SQLite, with `GitHubScm` reading the files
//! through the fake GitHub's git trees and contents APIs (an HTTP-level fake
//! speaking GitHub's wire format: no real GitHub can run here). The push
//! uses GitHub's own webhook example (`./scripts/test` provides it).

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use skiff_core::config::inrepo::SOURCE_ANNOTATION;
use skiff_tests::github::{GitHub, example, lock};
use skiff_trigger::inrepo::{COMMENT_MARKER, STATUS_CONTEXT};
use support::*;

const CONFIG: &str = r#"
in_repo_config:
  enabled:
    acme: true
  allowed_clusters:
    acme/widgets: [default]
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: central-unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
postsubmits:
  acme/widgets:
  - name: central-build
    spec: {containers: [{image: golang, command: [go, build]}]}
"#;

const HEAD2: &str = "1234567890abcdef1234567890abcdef12345678";

fn job(name: &str) -> String {
    format!(
        "- name: {name}\n  always_run: true\n  spec: {{containers: [{{image: alpine, command: [make, {name}]}}]}}\n"
    )
}

fn prow_yaml(jobs: &[&str]) -> String {
    let mut y = String::from("presubmits:\n");
    for j in jobs {
        y.push_str(&job(j));
    }
    y
}

/// A GitHub where PR #1 by `author` changes `changed`, with `base` files at
/// the base SHA and `head` files at the head.
fn github(author: &str, changed: &[&str], base: &[(&str, &str)], head: &[(&str, &str)]) -> GitHub {
    let mut gh = github_with_pr();
    gh.pulls
        .insert(format!("{ORG}/{REPO}#1"), pull(1, author, HEAD));
    gh.files = changed.iter().map(|s| s.to_string()).collect();
    let files = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = list
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        m.insert("main.go".into(), "package main\n".into());
        m
    };
    gh.repo_files
        .insert(format!("{ORG}/{REPO}@{BASE}"), files(base));
    gh.repo_files
        .insert(format!("{ORG}/{REPO}@{HEAD}"), files(head));
    gh
}

async fn ci(gh: GitHub) -> Ci {
    Ci::new(CONFIG, JOBS, gh, Auth::Token).await
}

async fn names(ci: &Ci) -> Vec<String> {
    let mut n: Vec<String> = ci.jobs().await.into_iter().map(|j| j.spec.job).collect();
    n.sort();
    n
}

async fn open(ci: &Ci, delivery: &str, author: &str) {
    let (status, _) = ci
        .deliver(
            "pull_request",
            delivery,
            &pr_event("opened", &pull(1, author, HEAD)),
        )
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
}

async fn comment(ci: &Ci, delivery: &str, author: &str, body: &str) {
    let (status, _) = ci
        .deliver("issue_comment", delivery, &comment_event(1, author, body))
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
}

/// GitHub reads of the in-repo config (trees and contents).
fn config_reads(gh: &GitHub) -> usize {
    gh.seen
        .iter()
        .filter(|s| {
            s.method == "GET" && (s.path.contains("/git/trees/") || s.path.contains("/contents/"))
        })
        .count()
}

fn bot_comments(gh: &GitHub) -> Vec<String> {
    gh.comments
        .iter()
        .filter(|c| c.3.starts_with(COMMENT_MARKER))
        .map(|c| c.3.clone())
        .collect()
}

#[tokio::test]
async fn a_pull_request_adding_a_job_in_prow_yaml_runs_it_marked_with_its_commit() {
    let ci = ci(github(
        "alice",
        &[".prow.yaml", "main.go"],
        &[],
        &[(".prow.yaml", &prow_yaml(&["lint"]))],
    ))
    .await;
    open(&ci, "d1", "alice").await;
    assert_eq!(names(&ci).await, ["central-unit", "lint"]);
    let lint = ci.runs("lint").await.remove(0);
    assert_eq!(
        lint.metadata
            .annotations
            .get(SOURCE_ANNOTATION)
            .map(String::as_str),
        Some(format!(".prow.yaml@{HEAD}").as_str())
    );
    let central = ci.runs("central-unit").await.remove(0);
    assert!(!central.metadata.annotations.contains_key(SOURCE_ANNOTATION));
}

#[tokio::test]
async fn a_pull_request_not_touching_the_file_uses_the_bases() {
    let ci = ci(github(
        "alice",
        &["main.go"],
        &[(".prow.yaml", &prow_yaml(&["from-base"]))],
        &[(".prow.yaml", &prow_yaml(&["from-head"]))],
    ))
    .await;
    open(&ci, "d1", "alice").await;
    assert_eq!(names(&ci).await, ["central-unit", "from-base"]);
}

#[tokio::test]
async fn a_prow_directory_is_read_recursively() {
    let unit = prow_yaml(&["dir-unit"]);
    let e2e = prow_yaml(&["dir-e2e"]);
    let files = [
        (".prow/unit.yaml", unit.as_str()),
        (".prow/e2e/e2e.yml", e2e.as_str()),
        (".prow/README.md", "not read"),
    ];
    let ci = ci(github("alice", &[".prow/unit.yaml"], &[], &files)).await;
    open(&ci, "d1", "alice").await;
    assert_eq!(names(&ci).await, ["central-unit", "dir-e2e", "dir-unit"]);
}

#[tokio::test]
async fn an_untrusted_pr_editing_the_file_runs_nothing_until_ok_to_test() {
    let ci = ci(github(
        "mallory",
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", &prow_yaml(&["mine"]))],
    ))
    .await;
    open(&ci, "d1", "mallory").await;
    assert!(
        names(&ci).await.is_empty(),
        "nothing runs before /ok-to-test"
    );
    comment(&ci, "d2", "mallory", "/test mine").await;
    assert!(names(&ci).await.is_empty(), "the author cannot start it");
    comment(&ci, "d3", "alice", "/ok-to-test").await;
    assert_eq!(names(&ci).await, ["central-unit", "mine"]);
    let mine = ci.runs("mine").await.remove(0);
    assert_eq!(mine.spec.refs.unwrap().pulls[0].sha, HEAD);
}

#[tokio::test]
async fn test_commands_and_the_help_reply_know_in_repo_jobs() {
    let y = "presubmits:\n- name: slow\n  always_run: false\n  spec: {containers: [{image: a}]}\n";
    let ci = ci(github("alice", &[".prow.yaml"], &[], &[(".prow.yaml", y)])).await;
    comment(&ci, "d1", "alice", "/test ?").await;
    let help = lock(&ci.github)
        .comments
        .iter()
        .map(|c| c.3.clone())
        .find(|b| b.contains("/test slow"));
    assert!(help.is_some(), "the help reply lists the in-repo job");
    comment(&ci, "d2", "alice", "/test slow").await;
    assert_eq!(names(&ci).await, ["slow"]);
}

async fn broken(text: &str, want: &str) -> Ci {
    let ci = ci(github(
        "alice",
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", text)],
    ))
    .await;
    open(&ci, "d1", "alice").await;
    assert_eq!(
        names(&ci).await,
        ["central-unit"],
        "the central jobs still run"
    );
    let gh = lock(&ci.github);
    let comments = bot_comments(&gh);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains(want), "{}", comments[0]);
    let statuses: Vec<_> = gh
        .statuses()
        .into_iter()
        .filter(|s| s.1 == STATUS_CONTEXT)
        .collect();
    assert_eq!(
        statuses,
        [(
            HEAD.to_string(),
            STATUS_CONTEXT.to_string(),
            "failure".to_string()
        )]
    );
    drop(gh);
    ci
}

#[tokio::test]
async fn a_clash_with_a_central_job_is_commented_with_its_line() {
    broken(
        &prow_yaml(&["ok", "central-unit"]),
        ".prow.yaml:5:9: error: presubmits[1].name: duplicated presubmit job `central-unit`",
    )
    .await;
}

#[tokio::test]
async fn a_forbidden_cluster_is_commented_with_its_line() {
    broken(
        "presubmits:\n- name: gpu\n  cluster: gpu-pool\n  spec: {containers: [{image: a}]}\n",
        ".prow.yaml:3:12: error: presubmits[0].cluster: cluster \"gpu-pool\" is not allowed for repository \"acme/widgets\"",
    )
    .await;
}

#[tokio::test]
async fn broken_yaml_is_commented_once_and_edited_on_the_next_push() {
    let ci = broken("presubmits:\n- name: a\n  spec: [\n", ".prow.yaml:4:").await;
    // The same event again (a redelivery) and another event of the head
    // report nothing new.
    comment(&ci, "d2", "alice", "/retest").await;
    assert_eq!(bot_comments(&lock(&ci.github)).len(), 1);
    // A new push, still broken: the one comment is edited.
    {
        let mut gh = lock(&ci.github);
        gh.repo_files.insert(
            format!("{ORG}/{REPO}@{HEAD2}"),
            BTreeMap::from([(".prow.yaml".to_string(), "presubmits: {}\n".to_string())]),
        );
        gh.pulls
            .insert(format!("{ORG}/{REPO}#1"), pull(1, "alice", HEAD2));
        gh.seen.clear();
    }
    let (status, _) = ci
        .deliver(
            "pull_request",
            "d3",
            &pr_event("synchronize", &pull(1, "alice", HEAD2)),
        )
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
    let gh = lock(&ci.github);
    let comments = bot_comments(&gh);
    assert_eq!(comments.len(), 1, "edited, not repeated");
    assert!(
        comments[0].contains("expected a list of jobs"),
        "{}",
        comments[0]
    );
    assert!(
        gh.lines()
            .iter()
            .any(|l| l.starts_with("PATCH") && l.contains("/issues/comments/"))
    );
    assert!(
        gh.statuses()
            .iter()
            .any(|s| s.0 == HEAD2 && s.1 == STATUS_CONTEXT && s.2 == "failure")
    );
}

#[tokio::test]
async fn the_second_event_of_a_head_reads_nothing_from_github() {
    let ci = ci(github(
        "alice",
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", &prow_yaml(&["lint"]))],
    ))
    .await;
    open(&ci, "d1", "alice").await;
    let first = config_reads(&lock(&ci.github));
    let all_first = lock(&ci.github).reads().len();
    lock(&ci.github).seen.clear();
    comment(&ci, "d2", "alice", "/test lint").await;
    let (second, all_second) = {
        let gh = lock(&ci.github);
        (config_reads(&gh), gh.reads().len())
    };
    println!(
        "GitHub calls for the in-repo config: first event of a head {first} (of {all_first} reads in all), second {second} (of {all_second} reads in all)"
    );
    assert_eq!(first, 2, "one tree listing and one contents read");
    assert_eq!(second, 0, "the second event reads from the job store");
    assert_eq!(ci.runs("lint").await.len(), 2);
}

#[tokio::test]
async fn a_push_runs_the_in_repo_postsubmits_of_the_pushed_commit() {
    const PUSHED: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
    let mut gh = github_with_pr();
    gh.repo_files.insert(
        format!("{ORG}/{REPO}@{PUSHED}"),
        BTreeMap::from([(
            ".prow.yaml".to_string(),
            "postsubmits:\n- name: publish\n  branches: [main]\n  spec: {containers: [{image: a}]}\n"
                .to_string(),
        )]),
    );
    let ci = ci(gh).await;
    let mut body: Value = example("push", None);
    body["ref"] = "refs/heads/main".into();
    body["after"] = PUSHED.into();
    body["before"] = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e".into();
    body["created"] = false.into();
    body["deleted"] = false.into();
    body["repository"] = repository();
    let (status, _) = ci.deliver("push", "p1", &body).await;
    assert_eq!(status, 200);
    ci.trigger().await;
    assert_eq!(names(&ci).await, ["central-build", "publish"]);
}

#[tokio::test]
async fn the_re_run_button_on_an_in_repo_check_reruns_it_from_the_cached_file() {
    let ci = ci(github(
        "alice",
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", &prow_yaml(&["lint"]))],
    ))
    .await;
    open(&ci, "d1", "alice").await;
    assert_eq!(ci.runs("lint").await.len(), 1);
    lock(&ci.github).seen.clear();
    let (status, _) = ci
        .deliver("check_run", "r1", &rerun_event("lint", HEAD, 1, "alice"))
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
    let lint = ci.runs("lint").await;
    assert_eq!(lint.len(), 2, "the in-repo job reran");
    assert!(
        lint.iter()
            .all(|j| j.metadata.annotations.get(SOURCE_ANNOTATION)
                == Some(&format!(".prow.yaml@{HEAD}")))
    );
    assert_eq!(
        ci.runs("central-unit").await.len(),
        1,
        "only the re-run check's job"
    );
    assert_eq!(
        config_reads(&lock(&ci.github)),
        0,
        "the head's file comes from the job store"
    );
}
