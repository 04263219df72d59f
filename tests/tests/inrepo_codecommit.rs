//! In-repo job configuration on CodeCommit: an EventBridge event on the
//! `events` queue, through the trigger (and dispatcher) over SQLite, with
//! `CodeCommitScm` — the AWS SDK — reading `.prow.yaml` with `GetFile` and
//! `.prow/` with `GetFolder` (then `GetFile` per file).
//!
//! **Why a fake and not moto.** moto (5.2.6, the one `./scripts/test` runs)
//! implements only CreateRepository, GetRepository and DeleteRepository of
//! CodeCommit; GetFile, GetFolder and the planning calls answer HTTP 500
//! `NotImplementedError` there. `skiff_tests::codecommit` speaks
//! CodeCommit's JSON 1.1 protocol with the SDK model's shapes instead.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};
use skiff_core::config::inrepo::SOURCE_ANNOTATION;
use skiff_core::ports::Queue;
use skiff_scm::CodeCommitScm;
use skiff_tests::codecommit::{self, CodeCommit, Difference, Pull};
use skiff_tests::github::GitHub;
use support::*;

const REGION: &str = "us-east-1";
const CC_REPO: &str = "widgets";
const ACCOUNT: &str = "123456789012";
const PR_HEAD: &str = "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8";
const PR_DEST: &str = "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0";
const MAIN_HEAD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const REVISION: &str = "0f3d6a2e8b1c4f7a9d2e5b8c1f4a7d0e3b6c9f2a5d8e1b4c7f0a3d6e9b2c5f8a";
const PUSH_OLD: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";
const PUSH_NEW: &str = "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9";

const CONFIG: &str = r#"
in_repo_config:
  enabled:
    us-east-1/widgets: true
"#;

const JOBS: &str = r#"
presubmits:
  us-east-1/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
"#;

fn presubmits(names: &[&str]) -> String {
    let mut y = String::from("presubmits:\n");
    for n in names {
        y.push_str(&format!(
            "- name: {n}\n  always_run: true\n  spec: {{containers: [{{image: alpine, command: [make, {n}]}}]}}\n"
        ));
    }
    y
}

fn user(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

fn envelope(id: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "aws.codecommit",
        "account": ACCOUNT, "time": "2026-11-23T10:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:{CC_REPO}")],
        "detail": detail,
    })
}

fn pr_created(id: &str) -> Value {
    envelope(
        id,
        "CodeCommit Pull Request State Change",
        json!({
            "author": user("alice"), "callerUserArn": user("alice"),
            "destinationCommit": PR_DEST, "destinationReference": "refs/heads/main",
            "event": "pullRequestCreated", "isMerged": "False", "pullRequestId": "1",
            "pullRequestStatus": "Open", "repositoryNames": [CC_REPO], "revisionId": REVISION,
            "sourceCommit": PR_HEAD, "sourceReference": "refs/heads/faster",
            "title": "Make widgets faster",
        }),
    )
}

fn commented(id: &str, comment_id: &str) -> Value {
    envelope(
        id,
        "CodeCommit Comment on Pull Request",
        json!({
            "afterCommitId": PR_HEAD, "beforeCommitId": PR_DEST, "callerUserArn": user("bob"),
            "commentId": comment_id, "event": "commentOnPullRequestCreated",
            "pullRequestId": "1", "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": CC_REPO,
        }),
    )
}

fn pushed() -> Value {
    envelope(
        "ev-push",
        "CodeCommit Repository State Change",
        json!({
            "callerUserArn": user("alice"), "commitId": PUSH_NEW, "event": "referenceUpdated",
            "oldCommitId": PUSH_OLD, "referenceFullName": "refs/heads/main",
            "referenceName": "main", "referenceType": "branch",
            "repositoryId": "12345678-1234-5678-abcd-12345678abcd", "repositoryName": CC_REPO,
        }),
    )
}

/// PR 1 changing `changed`, with `dest` files at its destination commit and
/// `head` files at its source commit.
fn codecommit(changed: &[&str], dest: &[(&str, &str)], head: &[(&str, &str)]) -> CodeCommit {
    let mut cc = CodeCommit::default();
    cc.pulls.insert(
        "1".into(),
        Pull {
            repo: CC_REPO.into(),
            revision_id: REVISION.into(),
            source_commit: PR_HEAD.into(),
            destination_commit: PR_DEST.into(),
            status: "OPEN".into(),
        },
    );
    cc.branches
        .insert((CC_REPO.into(), "main".into()), MAIN_HEAD.into());
    cc.differences.insert(
        (CC_REPO.into(), PR_DEST.into(), PR_HEAD.into()),
        changed.iter().map(|p| Difference::modified(p)).collect(),
    );
    let files = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = list
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        m.insert("main.go".into(), "package main\n".into());
        m
    };
    cc.files
        .insert((CC_REPO.into(), PR_DEST.into()), files(dest));
    cc.files
        .insert((CC_REPO.into(), PR_HEAD.into()), files(head));
    cc
}

struct World {
    ci: Ci,
    cc: codecommit::Shared,
}

impl World {
    async fn new(cc: CodeCommit) -> World {
        let mut ci = Ci::new(CONFIG, JOBS, GitHub::default(), Auth::Token).await;
        let (cc, url) = codecommit::fake_codecommit(cc);
        let sdk = skiff_tests::moto::sdk_config(&url).await;
        let client = aws_sdk_codecommit::Client::new(&sdk);
        ci.codecommit
            .push((REGION.into(), Arc::new(CodeCommitScm::new(client, REGION))));
        ci.clear_seen();
        World { ci, cc }
    }

    async fn event(&self, e: &Value) {
        self.ci.events.send(&[e.to_string()]).await.expect("send");
        self.ci.trigger().await;
    }

    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut codecommit::lock(&self.cc).calls)
    }

    async fn names(&self) -> BTreeSet<String> {
        self.ci
            .jobs()
            .await
            .into_iter()
            .map(|j| j.spec.job)
            .collect()
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The file reads among `calls`: `(operation, path, commit)`.
fn reads(calls: &[(String, Value)]) -> Vec<(String, String, String)> {
    calls
        .iter()
        .filter(|(op, _)| op == "GetFile" || op == "GetFolder")
        .map(|(op, b)| {
            let path = b["filePath"].as_str().or(b["folderPath"].as_str());
            (
                op.clone(),
                path.unwrap_or_default().to_string(),
                b["commitSpecifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn read(op: &str, path: &str, commit: &str) -> (String, String, String) {
    (op.into(), path.into(), commit.into())
}

#[tokio::test]
async fn a_pull_request_adding_a_job_in_prow_yaml_runs_it_read_with_get_file_at_its_head() {
    let w = World::new(codecommit(
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", &presubmits(&["lint"]))],
    ))
    .await;
    w.event(&pr_created("ev-1")).await;
    assert_eq!(w.names().await, set(&["unit", "lint"]));
    let lint = w.ci.runs("lint").await.remove(0);
    assert_eq!(
        lint.metadata.annotations.get(SOURCE_ANNOTATION),
        Some(&format!(".prow.yaml@{PR_HEAD}"))
    );
    let calls = w.take();
    assert_eq!(
        reads(&calls),
        [
            read("GetFile", ".prow.yaml", PR_HEAD),
            read("GetFolder", ".prow", PR_HEAD)
        ],
        "two reads for the first event of a head"
    );
    assert_eq!(w.ci.lines(), Vec::<String>::new(), "GitHub was called");
}

#[tokio::test]
async fn a_pull_request_not_touching_the_file_uses_the_destinations() {
    let w = World::new(codecommit(
        &["main.go"],
        &[(".prow.yaml", &presubmits(&["from-base"]))],
        &[(".prow.yaml", &presubmits(&["from-head"]))],
    ))
    .await;
    w.event(&pr_created("ev-1")).await;
    assert_eq!(w.names().await, set(&["unit", "from-base"]));
    assert!(
        reads(&w.take()).iter().all(|r| r.2 == PR_DEST),
        "read at the destination commit"
    );
}

#[tokio::test]
async fn a_prow_folder_is_walked_with_get_folder_and_each_file_read() {
    let unit = presubmits(&["dir-unit"]);
    let e2e = presubmits(&["dir-e2e"]);
    let w = World::new(codecommit(
        &[".prow/unit.yaml"],
        &[],
        &[
            (".prow/unit.yaml", unit.as_str()),
            (".prow/e2e/e2e.yml", e2e.as_str()),
            (".prow/README.md", "not read"),
        ],
    ))
    .await;
    w.event(&pr_created("ev-1")).await;
    assert_eq!(w.names().await, set(&["unit", "dir-unit", "dir-e2e"]));
    assert_eq!(
        reads(&w.take()),
        [
            read("GetFile", ".prow.yaml", PR_HEAD),
            read("GetFolder", ".prow", PR_HEAD),
            read("GetFolder", ".prow/e2e", PR_HEAD),
            read("GetFile", ".prow/e2e/e2e.yml", PR_HEAD),
            read("GetFile", ".prow/unit.yaml", PR_HEAD),
        ]
    );
}

#[tokio::test]
async fn a_test_comment_runs_an_in_repo_job_from_the_cache_reading_the_comment_once() {
    let w = World::new(codecommit(
        &[".prow.yaml"],
        &[],
        &[(
            ".prow.yaml",
            "presubmits:\n- name: slow\n  always_run: false\n  spec: {containers: [{image: a}]}\n",
        )],
    ))
    .await;
    w.event(&pr_created("ev-1")).await;
    assert_eq!(w.names().await, set(&["unit"]), "slow runs on request");
    w.take();
    codecommit::lock(&w.cc).comments.push(codecommit::Comment {
        id: "cmt-1".into(),
        pull: Some("1".into()),
        repo: CC_REPO.into(),
        before: PR_DEST.into(),
        after: PR_HEAD.into(),
        content: "/test slow".into(),
        author_arn: user("bob"),
        token: String::new(),
    });
    w.event(&commented("ev-2", "cmt-1")).await;
    assert_eq!(w.names().await, set(&["unit", "slow"]));
    let calls = w.take();
    assert_eq!(
        reads(&calls),
        [],
        "the head's files come from the job store"
    );
    let get_comment = calls.iter().filter(|(op, _)| op == "GetComment").count();
    assert_eq!(get_comment, 1, "the text is asked once for both steps");
}

#[tokio::test]
async fn a_push_runs_the_in_repo_postsubmits_of_the_pushed_commit() {
    let mut cc = codecommit(&[], &[], &[]);
    cc.differences.insert(
        (CC_REPO.into(), PUSH_OLD.into(), PUSH_NEW.into()),
        vec![Difference::modified("main.go")],
    );
    cc.files.insert(
        (CC_REPO.into(), PUSH_NEW.into()),
        BTreeMap::from([(
            ".prow.yaml".to_string(),
            "postsubmits:\n- name: publish\n  branches: [main]\n  spec: {containers: [{image: a}]}\n"
                .to_string(),
        )]),
    );
    let w = World::new(cc).await;
    w.event(&pushed()).await;
    assert_eq!(w.names().await, set(&["publish"]));
    assert_eq!(
        reads(&w.take()),
        [
            read("GetFile", ".prow.yaml", PUSH_NEW),
            read("GetFolder", ".prow", PUSH_NEW)
        ]
    );
}

#[tokio::test]
async fn a_broken_file_adds_nothing_and_the_central_jobs_still_run() {
    let w = World::new(codecommit(
        &[".prow.yaml"],
        &[],
        &[(".prow.yaml", "presubmits:\n- name: a\n  spec: [\n")],
    ))
    .await;
    w.event(&pr_created("ev-1")).await;
    assert_eq!(w.names().await, set(&["unit"]));
    let writes: Vec<String> = w
        .take()
        .into_iter()
        .map(|(op, _)| op)
        .filter(|op| !op.starts_with("Get"))
        .collect();
    assert_eq!(
        writes,
        Vec::<String>::new(),
        "the trigger writes nothing to CodeCommit"
    );
}
