//! Reporting to CodeCommit end to end: a CodeCommit event (EventBridge's
//! envelope, as the rule puts it on the `events` queue) through trigger,
//! dispatcher and syncer in process (tests/tests/support), then the reporter
//! with `CodeCommitReports` — the AWS SDK — talking HTTP to a fake CodeCommit.
//! Each test pins the exact operations CodeCommit sees and their key fields.
//!
//! **Why a fake and not moto.** moto (5.2.5, the one `./scripts/test` runs)
//! implements only CreateRepository, GetRepository and DeleteRepository of
//! CodeCommit. Every operation the reporter uses — GetPullRequest,
//! GetCommentsForPullRequest, PostCommentForPullRequest, UpdateComment,
//! UpdatePullRequestApprovalState, GetCommit and PostCommentForComparedCommit
//! — answers HTTP 500 `NotImplementedError` there (checked against
//! `moto_server` with each operation's `X-Amz-Target`). So all of them go to
//! `skiff_tests::codecommit`, which speaks CodeCommit's JSON 1.1 protocol
//! (`X-Amz-Target: CodeCommit_20150413.<Op>`, `__type` errors) with its real
//! request and response shapes, including `clientRequestToken` idempotency
//! and `RevisionNotCurrentException`.
//!
//! The trigger plans the CodeCommit events with `CodeCommitScm` over the same
//! fake (its reads are pinned in codecommit_planning.rs); here they are only
//! told apart from what the reporter sends.

mod support;

use std::sync::Mutex;

use serde_json::{Value, json};
use skiff_core::keys::{CODECOMMIT_REPORTER, RESULTS_TAG};
use skiff_core::ports::{JobStore, Queue};
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::ReporterDeps;
use skiff_scm::{CodeCommitReports, CodeCommitScm};
use skiff_tests::codecommit::{self, CodeCommit, Pull};
use skiff_tests::github::GitHub;
use support::*;

const REGION: &str = "us-east-1";
const CC_REPO: &str = "widgets";
const ACCOUNT: &str = "123456789012";
const PR_HEAD: &str = "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8";
const PR_BASE: &str = "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0";
const REVISION: &str = "0f3d6a2e8b1c4f7a9d2e5b8c1f4a7d0e3b6c9f2a5d8e1b4c7f0a3d6e9b2c5f8a";
const PUSHED: &str = "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9";
const PUSH_PARENT: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";
const REPORTER_ARN: &str = "arn:aws:sts::123456789012:assumed-role/skiff-reporter/skiff";

const OPTED_IN: &str = "skiff:\n  deck_url: https://deck.example.com\n  reporting:\n    codecommit_approval_repos: [us-east-1/widgets]\n";
const NOT_OPTED_IN: &str = "skiff:\n  deck_url: https://deck.example.com\n";

/// Two required presubmits, an optional one, and a postsubmit.
const JOBS: &str = r#"
presubmits:
  us-east-1/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: golang, command: [make, lint]}]}
  - name: docs
    always_run: true
    optional: true
    spec: {containers: [{image: golang, command: [make, docs]}]}
postsubmits:
  us-east-1/widgets:
  - name: build
    branches: [main]
    spec: {containers: [{image: golang, command: [make, build]}]}
"#;

fn envelope(id: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "aws.codecommit",
        "account": ACCOUNT, "time": "2026-11-23T10:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:{CC_REPO}")],
        "detail": detail,
    })
}

/// `pullRequestCreated` for PR 1 by `alice`, as CodeCommit sends it.
fn pr_created() -> Value {
    envelope(
        "ev-pr-created",
        "CodeCommit Pull Request State Change",
        json!({
            "author": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "callerUserArn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "destinationCommit": PR_BASE, "destinationReference": "refs/heads/main",
            "event": "pullRequestCreated", "isMerged": "False", "pullRequestId": "1",
            "pullRequestStatus": "Open", "repositoryNames": [CC_REPO], "revisionId": REVISION,
            "sourceCommit": PR_HEAD, "sourceReference": "refs/heads/faster",
            "title": "Make widgets faster",
        }),
    )
}

/// A comment on PR 1 by `alice` (the event does not carry its text).
fn commented(id: &str, comment_id: &str) -> Value {
    envelope(
        id,
        "CodeCommit Comment on Pull Request",
        json!({
            "afterCommitId": PR_HEAD, "beforeCommitId": PR_BASE,
            "callerUserArn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "commentId": comment_id, "event": "commentOnPullRequestCreated",
            "pullRequestId": "1", "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": CC_REPO,
        }),
    )
}

/// A push of [`PUSHED`] to main.
fn pushed() -> Value {
    envelope(
        "ev-push",
        "CodeCommit Repository State Change",
        json!({
            "callerUserArn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "commitId": PUSHED, "event": "referenceUpdated", "oldCommitId": PUSH_PARENT,
            "referenceFullName": "refs/heads/main", "referenceName": "main",
            "referenceType": "branch", "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": CC_REPO,
        }),
    )
}

/// CodeCommit with PR 1 open at [`PR_HEAD`] and the pushed commit.
fn codecommit_with_pr() -> CodeCommit {
    let mut cc = CodeCommit::default();
    cc.caller_arn = REPORTER_ARN.into();
    cc.pulls.insert(
        "1".into(),
        Pull {
            repo: CC_REPO.into(),
            revision_id: REVISION.into(),
            source_commit: PR_HEAD.into(),
            destination_commit: PR_BASE.into(),
            status: "OPEN".into(),
        },
    );
    cc.commits.insert(PUSHED.into(), vec![PUSH_PARENT.into()]);
    cc.commits.insert(PR_HEAD.into(), vec![PR_BASE.into()]);
    cc.branches
        .insert((CC_REPO.into(), "main".into()), PR_BASE.into());
    cc
}

/// Skiff in process, reporting to the fake CodeCommit.
struct World {
    ci: Ci,
    cc: codecommit::Shared,
    reports: CodeCommitReports,
    cursor: Mutex<i64>,
}

impl World {
    async fn new(config: &str) -> World {
        let mut ci = Ci::new(config, JOBS, GitHub::default(), Auth::Token).await;
        let (cc, url) = codecommit::fake_codecommit(codecommit_with_pr());
        let sdk = skiff_tests::moto::sdk_config(&url).await;
        let client = aws_sdk_codecommit::Client::new(&sdk);
        ci.codecommit.push((
            REGION.into(),
            std::sync::Arc::new(CodeCommitScm::new(client.clone(), REGION)),
        ));
        let reports = CodeCommitReports::new(client, REGION);
        World {
            ci,
            cc,
            reports,
            cursor: Mutex::new(0),
        }
    }

    fn deps(&self) -> ReporterDeps<'_> {
        ReporterDeps {
            config: &self.ci.config,
            store: &self.ci.store,
            scm: self.ci.scm.as_ref(),
            clock: self.ci.clock.as_ref(),
            logs: None,
            codecommit: Some(&self.reports),
            chat: None,
            reports: None,
            comments: None,
        }
    }

    /// Puts an EventBridge event on the `events` queue, as the rule does.
    async fn event(&self, e: &Value) {
        self.ci.events.send(&[e.to_string()]).await.expect("send");
    }

    /// Reports every change since the last call, as the stream delivers them.
    async fn report(&self) -> usize {
        let after = *self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        self.report_from(after).await
    }

    /// The stream's changes after `after` (again, if already seen).
    async fn report_from(&self, after: i64) -> usize {
        self.ci
            .report_stream(&self.cursor, Some(after), &self.deps())
            .await
    }

    /// Trigger, dispatch and report until nothing moves.
    async fn settle(&self) {
        for _ in 0..20 {
            if self.ci.trigger().await + self.ci.dispatch().await + self.report().await == 0 {
                return;
            }
        }
        panic!("did not settle");
    }

    /// Ends the running `job`, syncs and reports.
    async fn finish(&self, job: &str, ok: bool) {
        self.ci.advance(30);
        self.ci.cluster.finish_job(job, ok, self.ci.now());
        self.ci.sync().await;
        self.settle().await;
    }

    /// Opens PR 1 and starts its jobs.
    async fn open(&self) {
        self.event(&pr_created()).await;
        self.settle().await;
        assert_eq!(self.ci.jobs().await.len(), 3, "unit, lint and docs");
        // The trigger read the base branch's head; the reporter sent nothing.
        assert_eq!(ops(&self.take()), ["GetBranch"]);
    }

    /// Takes the calls CodeCommit saw since the last take.
    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut codecommit::lock(&self.cc).calls)
    }

    fn approvals(&self) -> Vec<String> {
        codecommit::lock(&self.cc)
            .approvals
            .iter()
            .map(|(_, _, state)| state.clone())
            .collect()
    }

    fn comments(&self) -> Vec<codecommit::Comment> {
        codecommit::lock(&self.cc).comments.clone()
    }
}

fn ops(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(op, _)| op.as_str()).collect()
}

fn call<'c>(calls: &'c [(String, Value)], op: &str) -> &'c Value {
    calls
        .iter()
        .find(|(o, _)| o == op)
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no {op} in {:?}", ops(calls)))
}

/// The rows of a results table: `(test, result, required)`.
fn rows(table: &str) -> Vec<(String, String, String)> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("--- |"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (
                cells[0].to_owned(),
                cells[1].to_owned(),
                cells[3].to_owned(),
            )
        })
        .collect()
}

fn row(test: &str, result: &str, required: bool) -> (String, String, String) {
    (test.to_owned(), result.to_owned(), required.to_string())
}

#[tokio::test]
async fn passing_required_jobs_approve_once_and_the_ended_revision_gets_one_results_table() {
    let w = World::new(OPTED_IN).await;
    w.open().await;
    assert_eq!(ops(&w.take()), Vec::<&str>::new(), "nothing while jobs run");

    w.finish("unit", true).await;
    assert_eq!(ops(&w.take()), Vec::<&str>::new(), "lint still runs");

    // Every required job passed: approved at once, while the optional one
    // still runs; no table until every job has ended.
    w.finish("lint", true).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        ["GetPullRequest", "UpdatePullRequestApprovalState"]
    );
    assert_eq!(
        call(&calls, "UpdatePullRequestApprovalState"),
        &json!({"pullRequestId": "1", "revisionId": REVISION, "approvalState": "APPROVE"})
    );

    // The optional job fails: the approval stands; the table is posted.
    w.finish("docs", false).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        [
            "GetPullRequest",
            "GetCommentsForPullRequest",
            "PostCommentForPullRequest"
        ]
    );
    let post = call(&calls, "PostCommentForPullRequest");
    assert_eq!(post["pullRequestId"], "1");
    assert_eq!(post["repositoryName"], CC_REPO);
    assert_eq!(post["beforeCommitId"], PR_BASE);
    assert_eq!(post["afterCommitId"], PR_HEAD);
    assert!(
        post["clientRequestToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let table = post["content"].as_str().unwrap_or_default();
    assert!(
        table.starts_with(
            "1 of 3 tests failed on commit 4b7e2a91c0d3. Comment `/retest` to rerun the failed ones."
        ),
        "{table}"
    );
    assert_eq!(
        rows(table),
        [
            row("docs", "**failed**", false),
            row("lint", "passed", true),
            row("unit", "passed", true),
        ]
    );
    assert!(
        table.contains("| [link](https://deck.example.com/view/"),
        "{table}"
    );
    assert!(
        table.ends_with(&format!("{RESULTS_TAG}: {PR_HEAD} -->")),
        "{table}"
    );
    assert_eq!(w.approvals(), ["APPROVE"]);
    assert_eq!(w.comments().len(), 1);
    for j in w.ci.jobs().await {
        assert_eq!(
            j.status.prev_report_states.get(CODECOMMIT_REPORTER),
            j.status.state.as_ref(),
            "{} is recorded as reported",
            j.spec.job
        );
    }
}

#[tokio::test]
async fn a_required_failure_revokes_at_once_and_its_passing_rerun_updates_the_table_and_approves() {
    let w = World::new(OPTED_IN).await;
    w.open().await;

    // A required job fails while the others run: revoked at once.
    w.finish("unit", false).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        ["GetPullRequest", "UpdatePullRequestApprovalState"]
    );
    assert_eq!(
        call(&calls, "UpdatePullRequestApprovalState"),
        &json!({"pullRequestId": "1", "revisionId": REVISION, "approvalState": "REVOKE"})
    );
    w.finish("lint", true).await;
    assert_eq!(
        ops(&w.take()),
        ["GetPullRequest"],
        "revoked already: nothing to send"
    );
    w.finish("docs", true).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        [
            "GetPullRequest",
            "GetCommentsForPullRequest",
            "PostCommentForPullRequest"
        ]
    );
    let first = call(&calls, "PostCommentForPullRequest")["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        rows(&first),
        [
            row("docs", "passed", false),
            row("lint", "passed", true),
            row("unit", "**failed**", true),
        ]
    );

    // `/retest` reruns unit; while it runs, nothing is sent.
    codecommit::lock(&w.cc).calls.clear();
    codecommit::lock(&w.cc).comments.push(codecommit::Comment {
        id: "cmt-retest".into(),
        pull: Some("1".into()),
        repo: CC_REPO.into(),
        before: PR_BASE.into(),
        after: PR_HEAD.into(),
        content: "/retest".into(),
        author_arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        token: String::new(),
    });
    w.event(&commented("ev-retest", "cmt-retest")).await;
    w.settle().await;
    assert_eq!(w.ci.runs("unit").await.len(), 2, "unit reruns");
    assert_eq!(w.ci.runs("lint").await.len(), 1);
    assert_eq!(
        ops(&w.take()),
        ["GetComment", "GetPullRequest", "GetBranch"],
        "only the trigger's reads"
    );

    // It passes: the same comment is updated, and the revision approved.
    w.finish("unit", true).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        [
            "GetPullRequest",
            "UpdatePullRequestApprovalState",
            "GetCommentsForPullRequest",
            "UpdateComment"
        ]
    );
    assert_eq!(
        call(&calls, "UpdatePullRequestApprovalState")["approvalState"],
        "APPROVE"
    );
    let update = call(&calls, "UpdateComment");
    let comments: Vec<_> = w
        .comments()
        .into_iter()
        .filter(|c| c.author_arn == REPORTER_ARN)
        .collect();
    assert_eq!(comments.len(), 1, "updated, not posted again");
    assert_eq!(update["commentId"], comments[0].id.as_str());
    let table = update["content"].as_str().unwrap_or_default();
    assert!(
        table.starts_with("All 3 tests **passed** on commit 4b7e2a91c0d3."),
        "{table}"
    );
    assert_eq!(
        rows(table),
        [
            row("docs", "passed", false),
            row("lint", "passed", true),
            row("unit", "passed", true),
        ]
    );
    assert_eq!(w.approvals(), ["REVOKE", "APPROVE"]);
}

/// Which approvals a revision gets, by opt-in and results (unit and lint are
/// required, docs optional); every row ends with one results table.
#[tokio::test]
async fn approvals_follow_the_required_jobs_only_in_opted_in_repos() {
    struct Case {
        rule: &'static str,
        config: &'static str,
        results: [(&'static str, bool); 3],
        approvals: &'static [&'static str],
    }
    let cases = [
        Case {
            rule: "all pass: approved",
            config: OPTED_IN,
            results: [("unit", true), ("lint", true), ("docs", true)],
            approvals: &["APPROVE"],
        },
        Case {
            rule: "an optional failure does not block the approval",
            config: OPTED_IN,
            results: [("docs", false), ("unit", true), ("lint", true)],
            approvals: &["APPROVE"],
        },
        Case {
            rule: "a required failure revokes, once",
            config: OPTED_IN,
            results: [("unit", true), ("lint", false), ("docs", false)],
            approvals: &["REVOKE"],
        },
        Case {
            rule: "not opted in: never approved",
            config: NOT_OPTED_IN,
            results: [("unit", true), ("lint", true), ("docs", true)],
            approvals: &[],
        },
        Case {
            rule: "not opted in: never revoked",
            config: NOT_OPTED_IN,
            results: [("unit", false), ("lint", true), ("docs", true)],
            approvals: &[],
        },
    ];
    for case in cases {
        let w = World::new(case.config).await;
        w.open().await;
        for (job, ok) in case.results {
            w.finish(job, ok).await;
        }
        let calls = w.take();
        assert_eq!(w.approvals(), case.approvals, "{}", case.rule);
        let sent = |op: &str| calls.iter().filter(|(o, _)| o == op).count();
        assert_eq!(
            sent("UpdatePullRequestApprovalState"),
            case.approvals.len(),
            "{}",
            case.rule
        );
        assert_eq!(sent("PostCommentForPullRequest"), 1, "{}", case.rule);
        assert_eq!(sent("UpdateComment"), 0, "{}", case.rule);
        if case.config == NOT_OPTED_IN {
            // The pull request is read once, for the table.
            assert_eq!(
                ops(&calls),
                [
                    "GetPullRequest",
                    "GetCommentsForPullRequest",
                    "PostCommentForPullRequest"
                ],
                "{}",
                case.rule
            );
        }
    }
}

#[tokio::test]
async fn a_postsubmit_result_is_a_comment_on_the_pushed_commit() {
    let w = World::new(OPTED_IN).await;
    w.event(&pushed()).await;
    w.settle().await;
    let runs = w.ci.runs("build").await;
    assert_eq!(runs.len(), 1, "{:?}", w.ci.jobs().await);
    assert_eq!(ops(&w.take()), Vec::<&str>::new(), "nothing while it runs");

    w.finish("build", false).await;
    let calls = w.take();
    assert_eq!(ops(&calls), ["GetCommit", "PostCommentForComparedCommit"]);
    assert_eq!(
        call(&calls, "GetCommit"),
        &json!({"repositoryName": CC_REPO, "commitId": PUSHED})
    );
    let post = call(&calls, "PostCommentForComparedCommit");
    assert_eq!(post["repositoryName"], CC_REPO);
    assert_eq!(
        post["beforeCommitId"], PUSH_PARENT,
        "compared with its parent"
    );
    assert_eq!(post["afterCommitId"], PUSHED);
    assert!(post.get("pullRequestId").is_none());
    let content = post["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("Skiff: postsubmit **build** **failed** (Job failed.)."),
        "{content}"
    );
    assert!(
        content.contains("[Job log and artifacts](https://deck.example.com/view/"),
        "{content}"
    );
    assert!(w.approvals().is_empty(), "pushes have nothing to approve");
    let comments = w.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].pull, None);
    assert_eq!(comments[0].after, PUSHED);
}

#[tokio::test]
async fn redelivered_stream_changes_send_nothing_twice() {
    let w = World::new(OPTED_IN).await;
    w.open().await;
    w.finish("unit", true).await;
    w.finish("lint", true).await;
    w.finish("docs", true).await;
    w.event(&pushed()).await;
    w.settle().await;
    w.finish("build", true).await;
    let first = w.take();
    let writes = |calls: &[(String, Value)]| -> Vec<String> {
        calls
            .iter()
            .filter(|(op, _)| !op.starts_with("Get"))
            .map(|(op, _)| op.clone())
            .collect()
    };
    assert_eq!(
        writes(&first),
        [
            "UpdatePullRequestApprovalState",
            "PostCommentForPullRequest",
            "PostCommentForComparedCommit"
        ]
    );

    // The stream delivers every change again: each state was reported.
    assert!(w.report_from(0).await > 0);
    assert_eq!(ops(&w.take()), Vec::<&str>::new());

    // Worse: the reported states were lost (the reporter died before
    // recording them). CodeCommit still gets nothing new: the table is
    // already there, the approval key is kept, and the commit comment's
    // request token makes CodeCommit answer with the comment it has.
    for j in w.ci.jobs().await {
        let mut j = j;
        j.status.prev_report_states.remove(CODECOMMIT_REPORTER);
        w.ci.store.update(&j).await.expect("update");
    }
    w.report().await;
    let again = w.take();
    assert!(!again.is_empty(), "the reports were made again");
    assert_eq!(
        writes(&again),
        ["PostCommentForComparedCommit"],
        "{:?}",
        ops(&again)
    );
    assert_eq!(w.approvals(), ["APPROVE"]);
    assert_eq!(w.comments().len(), 2, "one table and one commit comment");
    for j in w.ci.jobs().await {
        assert_eq!(
            j.status.prev_report_states.get(CODECOMMIT_REPORTER),
            Some(&ProwJobState::Success)
        );
    }
}

#[tokio::test]
async fn a_pull_request_closed_before_its_jobs_end_gets_its_table_but_no_approval() {
    let w = World::new(OPTED_IN).await;
    w.open().await;
    // Merged while its jobs run (CodeCommit refuses approvals on it now).
    if let Some(p) = codecommit::lock(&w.cc).pulls.get_mut("1") {
        p.status = "CLOSED".into();
    }
    w.finish("unit", true).await;
    w.finish("lint", true).await;
    assert_eq!(ops(&w.take()), ["GetPullRequest"], "no approval is tried");
    w.finish("docs", true).await;
    let calls = w.take();
    assert_eq!(
        ops(&calls),
        [
            "GetPullRequest",
            "GetCommentsForPullRequest",
            "PostCommentForPullRequest"
        ]
    );
    assert!(w.approvals().is_empty());
    let table = call(&calls, "PostCommentForPullRequest")["content"]
        .as_str()
        .unwrap_or_default();
    assert!(table.starts_with("All 3 tests **passed**"), "{table}");
}
