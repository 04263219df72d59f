//! Planning CodeCommit events end to end: an EventBridge event on the
//! `events` queue, through the trigger (and dispatcher, syncer and reporter
//! in process, tests/tests/support), with the trigger's facts read by
//! `CodeCommitScm` — the AWS SDK — from a fake CodeCommit over HTTP. Each
//! test pins the CodeCommit operations the trigger calls and their key
//! fields, and that the fake GitHub the pipeline also has saw no request at
//! all: a CodeCommit event is never planned with GitHub's answers.
//!
//! **Why a fake and not moto.** moto (5.2.5, the one `./scripts/test` runs)
//! implements only CreateRepository, GetRepository and DeleteRepository of
//! CodeCommit (shared/AWS-RUST.md §3). The operations the trigger plans with
//! — GetPullRequest, GetDifferences, GetComment and GetBranch — answer
//! HTTP 500 `NotImplementedError` there. So they go to
//! `skiff_tests::codecommit`, which speaks CodeCommit's JSON 1.1 protocol
//! (`X-Amz-Target: CodeCommit_20150413.<Op>`, `__type` errors) with the
//! request and response shapes of the SDK's model, including
//! GetDifferences' paging by `NextToken`.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use skiff_core::event::codecommit::is_codecommit_link;
use skiff_core::ports::Queue;
use skiff_reporter::ReporterDeps;
use skiff_scm::{CodeCommitReports, CodeCommitScm};
use skiff_tests::codecommit::{self, CodeCommit, Difference, Pull};
use skiff_tests::github::GitHub;
use support::*;

const REGION: &str = "us-east-1";
const CC_REPO: &str = "widgets";
const ACCOUNT: &str = "123456789012";
const PR_HEAD: &str = "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8";
/// Where main was when the pull request was opened.
const PR_DEST: &str = "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0";
/// Where the pull request's branch left main.
const MERGE_BASE: &str = "77aa0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b911";
/// Where main is now (GetBranch).
const MAIN_HEAD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const REVISION: &str = "0f3d6a2e8b1c4f7a9d2e5b8c1f4a7d0e3b6c9f2a5d8e1b4c7f0a3d6e9b2c5f8a";
const PUSH_OLD: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";
const PUSH_NEW: &str = "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9";
const REPORTER_ARN: &str =
    "arn:aws:sts::123456789012:assumed-role/skiff-reporter/skiff-Reporter-1A2B3C";

const CONFIG: &str = "skiff:\n  deck_url: https://deck.example.com\n";

/// Presubmits with and without file filters, one whose `trigger` is not
/// anchored (so its rerun command matches anywhere in a comment), and
/// postsubmits likewise.
const JOBS: &str = r#"
presubmits:
  us-east-1/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: api
    run_if_changed: '^api/'
    spec: {containers: [{image: golang, command: [make, api]}]}
  - name: docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: golang, command: [make, docs]}]}
  - name: deploy
    run_if_changed: '^deploy/'
    spec: {containers: [{image: golang, command: [make, deploy]}]}
  - name: e2e
    always_run: true
    trigger: '(?m)/run-e2e'
    rerun_command: '/run-e2e'
    spec: {containers: [{image: golang, command: [make, e2e]}]}
postsubmits:
  us-east-1/widgets:
  - name: build
    branches: [main]
    spec: {containers: [{image: golang, command: [make, build]}]}
  - name: publish-docs
    branches: [main]
    run_if_changed: '^docs/'
    spec: {containers: [{image: golang, command: [make, publish]}]}
  - name: guide
    branches: [main]
    run_if_changed: '^guide/'
    spec: {containers: [{image: golang, command: [make, guide]}]}
  - name: release
    branches: [main]
    run_if_changed: '^deploy/'
    spec: {containers: [{image: golang, command: [make, release]}]}
"#;

fn envelope(id: &str, region: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "aws.codecommit",
        "account": ACCOUNT, "time": "2026-11-23T10:00:00Z", "region": region,
        "resources": [format!("arn:aws:codecommit:{region}:{ACCOUNT}:{CC_REPO}")],
        "detail": detail,
    })
}

fn user(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// `pullRequestCreated` for PR 1 by `alice`, as CodeCommit sends it.
fn pr_created(region: &str) -> Value {
    envelope(
        "ev-pr-created",
        region,
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

/// `commentOnPullRequestCreated` on PR 1 (the event does not carry the text).
fn commented(id: &str, comment_id: &str, caller: &str) -> Value {
    envelope(
        id,
        REGION,
        "CodeCommit Comment on Pull Request",
        json!({
            "afterCommitId": PR_HEAD, "beforeCommitId": PR_DEST, "callerUserArn": caller,
            "commentId": comment_id, "event": "commentOnPullRequestCreated",
            "pullRequestId": "1", "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": CC_REPO,
        }),
    )
}

/// `referenceUpdated`: main moved from [`PUSH_OLD`] to [`PUSH_NEW`].
fn pushed() -> Value {
    envelope(
        "ev-push",
        REGION,
        "CodeCommit Repository State Change",
        json!({
            "callerUserArn": user("alice"), "commitId": PUSH_NEW, "event": "referenceUpdated",
            "oldCommitId": PUSH_OLD, "referenceFullName": "refs/heads/main",
            "referenceName": "main", "referenceType": "branch",
            "repositoryId": "12345678-1234-5678-abcd-12345678abcd", "repositoryName": CC_REPO,
        }),
    )
}

/// PR 1 open at [`PR_HEAD`], main at [`MAIN_HEAD`], and what changed: the
/// pull request's three files come in two pages.
fn codecommit() -> CodeCommit {
    let mut cc = CodeCommit::default();
    cc.caller_arn = REPORTER_ARN.into();
    cc.page_size = 2;
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
    cc.merge_bases.insert("1".into(), MERGE_BASE.into());
    cc.branches
        .insert((CC_REPO.into(), "main".into()), MAIN_HEAD.into());
    cc.differences.insert(
        (CC_REPO.into(), MERGE_BASE.into(), PR_HEAD.into()),
        vec![
            Difference::modified("src/main.go"),
            Difference::added("api/v1/widgets.proto"),
            Difference::deleted("docs/obsolete.md"),
        ],
    );
    cc.differences.insert(
        (CC_REPO.into(), PUSH_OLD.into(), PUSH_NEW.into()),
        vec![
            Difference::modified("docs/index.md"),
            Difference::renamed("README.md", "guide/README.md"),
        ],
    );
    cc.commits.insert(PUSH_NEW.into(), vec![PUSH_OLD.into()]);
    cc
}

/// Skiff in process: the trigger reads the fake CodeCommit, the reporter
/// writes to it, and GitHub is a fake that must see nothing.
struct World {
    ci: Ci,
    cc: codecommit::Shared,
    reports: CodeCommitReports,
    cursor: Mutex<i64>,
}

impl World {
    async fn new() -> World {
        let mut ci = Ci::new(CONFIG, JOBS, GitHub::default(), Auth::Token).await;
        let (cc, url) = codecommit::fake_codecommit(codecommit());
        let sdk = skiff_tests::moto::sdk_config(&url).await;
        let client = aws_sdk_codecommit::Client::new(&sdk);
        ci.codecommit.push((
            REGION.into(),
            Arc::new(CodeCommitScm::new(client.clone(), REGION)),
        ));
        let reports = CodeCommitReports::new(client, REGION);
        ci.clear_seen();
        World {
            ci,
            cc,
            reports,
            cursor: Mutex::new(0),
        }
    }

    /// Puts an EventBridge event on the `events` queue, as the rule does.
    async fn event(&self, e: &Value) {
        self.ci.events.send(&[e.to_string()]).await.expect("send");
    }

    /// Reports every change since the last call to CodeCommit.
    async fn report(&self) -> usize {
        let deps = ReporterDeps {
            config: &self.ci.config,
            store: &self.ci.store,
            scm: self.ci.scm.as_ref(),
            clock: self.ci.clock.as_ref(),
            logs: None,
            codecommit: Some(&self.reports),
            chat: None,
            reports: None,
            comments: None,
        };
        self.ci.report_stream(&self.cursor, None, &deps).await
    }

    async fn settle(&self) {
        for _ in 0..20 {
            if self.ci.trigger().await + self.ci.dispatch().await + self.report().await == 0 {
                return;
            }
        }
        panic!("did not settle");
    }

    async fn finish(&self, job: &str, ok: bool) {
        self.ci.advance(30);
        self.ci.cluster.finish_job(job, ok, self.ci.now());
        self.ci.sync().await;
        self.settle().await;
    }

    /// Takes the calls CodeCommit saw since the last take.
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

    /// Adds a comment on PR 1 to the fake, as CodeCommit would keep it.
    fn comment(&self, id: &str, author_arn: &str, content: &str) {
        codecommit::lock(&self.cc)
            .comments
            .push(codecommit::Comment {
                id: id.into(),
                pull: Some("1".into()),
                repo: CC_REPO.into(),
                before: PR_DEST.into(),
                after: PR_HEAD.into(),
                content: content.into(),
                author_arn: author_arn.into(),
                token: String::new(),
            });
    }

    /// Not one request reached GitHub.
    fn assert_no_github(&self) {
        assert_eq!(self.ci.lines(), Vec::<String>::new(), "GitHub was called");
    }
}

fn ops(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(op, _)| op.as_str()).collect()
}

fn bodies<'c>(calls: &'c [(String, Value)], op: &str) -> Vec<&'c Value> {
    calls
        .iter()
        .filter(|(o, _)| o == op)
        .map(|(_, body)| body)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn a_created_pull_request_runs_its_presubmits_with_run_if_changed_from_get_differences() {
    let w = World::new().await;
    w.event(&pr_created(REGION)).await;
    w.settle().await;

    // api/ is on the second page of differences, docs/ only deleted there;
    // nothing touched deploy/.
    assert_eq!(w.names().await, set(&["unit", "api", "docs", "e2e"]));
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        [
            "GetPullRequest",
            "GetDifferences",
            "GetDifferences",
            "GetBranch"
        ]
    );
    assert_eq!(
        bodies(&calls, "GetPullRequest")[0],
        &json!({"pullRequestId": "1"})
    );
    let pages = bodies(&calls, "GetDifferences");
    assert_eq!(
        pages[0],
        &json!({"repositoryName": CC_REPO, "beforeCommitSpecifier": MERGE_BASE,
                "afterCommitSpecifier": PR_HEAD}),
        "the pull request's own changes: from the merge base, not main"
    );
    assert_eq!(pages[1]["NextToken"], "diff-page-2");
    assert_eq!(pages[1]["afterCommitSpecifier"], PR_HEAD);
    assert_eq!(
        bodies(&calls, "GetBranch")[0],
        &json!({"repositoryName": CC_REPO, "branchName": "main"})
    );
    for j in w.ci.jobs().await {
        let refs = j.spec.refs.as_ref().expect("refs");
        assert_eq!(refs.org, REGION);
        assert_eq!(refs.repo, CC_REPO);
        assert_eq!(refs.base_sha, MAIN_HEAD, "{}: main's head now", j.spec.job);
        assert_eq!(refs.pulls[0].sha, PR_HEAD);
        assert!(is_codecommit_link(&refs.repo_link), "{}", refs.repo_link);
    }

    // The same event again (EventBridge delivers at least once): the same
    // jobs, none twice.
    w.event(&pr_created(REGION)).await;
    w.settle().await;
    assert_eq!(w.ci.jobs().await.len(), 4);
    w.assert_no_github();
}

#[tokio::test]
async fn a_retest_comment_is_read_with_get_comment_and_reruns_the_failed_job() {
    let w = World::new().await;
    w.event(&pr_created(REGION)).await;
    w.settle().await;
    w.finish("unit", false).await;
    for job in ["api", "docs", "e2e"] {
        w.finish(job, true).await;
    }
    w.take();

    w.comment("cmt-retest", &user("bob"), "/retest");
    w.event(&commented("ev-retest", "cmt-retest", &user("bob")))
        .await;
    w.settle().await;

    let unit = w.ci.runs("unit").await;
    assert_eq!(unit.len(), 2, "unit, which failed, reruns");
    for job in ["api", "docs", "e2e"] {
        assert_eq!(w.ci.runs(job).await.len(), 1, "{job} passed: not rerun");
    }
    let calls = w.take();
    // bob, an IAM user of the account, is trusted without asking anyone.
    // The pull request is read for its head, then for its merge base when
    // the filtered jobs are weighed again (as Prow does for `/retest`).
    assert_eq!(
        ops(&calls),
        [
            "GetComment",
            "GetPullRequest",
            "GetPullRequest",
            "GetDifferences",
            "GetDifferences",
            "GetBranch"
        ]
    );
    assert_eq!(
        bodies(&calls, "GetComment")[0],
        &json!({"commentId": "cmt-retest"})
    );
    let rerun = unit
        .iter()
        .find(|j| j.status.state == Some(skiff_core::prowjob::ProwJobState::Pending))
        .or_else(|| unit.iter().find(|j| !j.is_complete()))
        .expect("the rerun");
    let refs = rerun.spec.refs.as_ref().expect("refs");
    assert_eq!(refs.pulls[0].sha, PR_HEAD);
    assert_eq!(refs.base_sha, MAIN_HEAD);
    assert!(is_codecommit_link(&refs.repo_link), "{}", refs.repo_link);
    w.assert_no_github();
}

#[tokio::test]
async fn the_reporters_own_results_comment_triggers_nothing() {
    let w = World::new().await;
    w.event(&pr_created(REGION)).await;
    w.settle().await;
    for job in ["unit", "api", "docs"] {
        w.finish(job, true).await;
    }
    w.finish("e2e", false).await;

    // The reporter posted the results table, which lists e2e's rerun
    // command, and e2e's trigger matches it anywhere in a comment.
    let table = codecommit::lock(&w.cc)
        .comments
        .iter()
        .find(|c| c.author_arn == REPORTER_ARN)
        .cloned()
        .expect("the results table");
    assert!(table.content.contains("`/run-e2e`"), "{}", table.content);
    w.take();

    // CodeCommit announces the reporter's comment like anyone's.
    w.event(&commented("ev-own", &table.id, REPORTER_ARN)).await;
    w.settle().await;
    assert_eq!(w.ci.runs("e2e").await.len(), 1, "nothing reran");
    assert_eq!(w.ci.jobs().await.len(), 4);
    assert_eq!(ops(&w.take()), ["GetComment"], "read, and nothing more");

    // The same text from a person, without the reporter's marker, would
    // rerun e2e: the marker is what keeps Skiff from triggering itself.
    let copied: String = table
        .content
        .lines()
        .filter(|l| !l.contains("<!--"))
        .collect::<Vec<_>>()
        .join("\n");
    w.comment("cmt-copy", &user("bob"), &copied);
    w.event(&commented("ev-copy", "cmt-copy", &user("bob")))
        .await;
    w.settle().await;
    assert_eq!(w.ci.runs("e2e").await.len(), 2);
    assert_eq!(w.ci.runs("unit").await.len(), 1);
    w.assert_no_github();
}

#[tokio::test]
async fn a_push_runs_postsubmits_with_run_if_changed_from_get_differences_before_to_after() {
    let w = World::new().await;
    w.event(&pushed()).await;
    w.settle().await;

    // docs/ changed and README.md moved under guide/; deploy/ did not.
    assert_eq!(w.names().await, set(&["build", "publish-docs", "guide"]));
    let calls = w.take();
    assert_eq!(ops(&calls), ["GetDifferences"]);
    assert_eq!(
        bodies(&calls, "GetDifferences")[0],
        &json!({"repositoryName": CC_REPO, "beforeCommitSpecifier": PUSH_OLD,
                "afterCommitSpecifier": PUSH_NEW})
    );
    for j in w.ci.jobs().await {
        let refs = j.spec.refs.as_ref().expect("refs");
        assert_eq!(
            (refs.base_ref.as_str(), refs.base_sha.as_str()),
            ("main", PUSH_NEW)
        );
        assert!(is_codecommit_link(&refs.repo_link), "{}", refs.repo_link);
    }
    w.assert_no_github();
}

#[tokio::test]
async fn an_event_from_a_region_without_a_client_is_dropped_and_nobody_is_asked() {
    let w = World::new().await;
    w.event(&pr_created("eu-west-1")).await;
    assert_eq!(w.ci.trigger().await, 1);
    assert!(w.ci.jobs().await.is_empty());
    // Acknowledged, not left to come back after the visibility timeout.
    w.ci.advance(3600);
    assert_eq!(w.ci.trigger().await, 0, "not retried");
    assert_eq!(
        ops(&w.take()),
        Vec::<&str>::new(),
        "not CodeCommit elsewhere"
    );
    w.assert_no_github();
}
