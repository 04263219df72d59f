//! CodeCommit on one machine, end to end: the real `skiff dev` binary takes
//! CodeCommit's EventBridge events on `POST /eventbridge` (unsigned, from
//! this machine), runs their jobs as local processes, and reports through
//! `--codecommit-endpoint-url` to the HTTP-level CodeCommit fake
//! (`skiff_tests::codecommit`, CodeCommit's JSON 1.1 wire format; moto has
//! none of these operations, see tests/tests/codecommit_reporting.rs).
//!
//! One `skiff dev` serves every case, in turn; each case has its own pull
//! request or push, and reads the CodeCommit calls made while it ran.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_tests::codecommit::{self, CodeCommit, Pull, Shared};
use skiff_tests::github::{http, wait_for};

const WAIT: Duration = Duration::from_secs(90);
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const REPORTER_ARN: &str = "arn:aws:sts::123456789012:assumed-role/skiff-reporter/skiff";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

const PR_HEAD: &str = "4b7e2a91c0d3f5e6a7b8c9d0e1f2a3b4c5d6e7f8";
const PR_BASE: &str = "9c1f0e7d5b3a2c4e6f8091a2b3c4d5e6f7a8b9c0";
const REVISION: &str = "0f3d6a2e8b1c4f7a9d2e5b8c1f4a7d0e3b6c9f2a5d8e1b4c7f0a3d6e9b2c5f8a";
const GADGET_HEAD: &str = "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";
const GADGET_REVISION: &str = "1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d";
/// The push in `events/codecommit.json`.
const PUSHED: &str = "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9";
const PUSH_PARENT: &str = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e";

/// widgets (opted in to approvals): two required presubmits, `lint`
/// failing on its first run only, and a postsubmit; gadgets (not opted in):
/// a presubmit that runs only when asked for.
fn jobs(dir: &Path) -> String {
    let mark = dir.join("lint-ran-once");
    format!(
        r#"
presubmits:
  us-east-1/widgets:
  - name: unit
    always_run: true
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "echo unit ok"]}}]}}
  - name: lint
    always_run: true
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "if [ -e '{mark}' ]; then echo lint ok; else touch '{mark}'; echo lint broke; exit 1; fi"]}}]}}
  us-east-1/gadgets:
  - name: e2e
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "echo e2e ok"]}}]}}
postsubmits:
  us-east-1/widgets:
  - name: build
    branches: [main]
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "echo build $PULL_BASE_SHA"]}}]}}
"#,
        mark = mark.display()
    )
}

const CONFIG: &str = "plank: {}\nskiff:\n  deck_url: http://deck.example\n  reporting:\n    codecommit_approval_repos: [us-east-1/widgets]\n";

struct Dev {
    child: Child,
    url: String,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Dev {
    /// `skiff dev` with CodeCommit at `endpoint`, in us-east-1, with the
    /// dummy credentials a fake takes, and nothing else of AWS from the
    /// environment.
    fn start(dir: &Path, endpoint: &str) -> Dev {
        std::fs::write(dir.join("config.yaml"), CONFIG).expect("config");
        std::fs::write(dir.join("jobs.yaml"), jobs(dir)).expect("jobs");
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--config-path")
            .arg(dir.join("config.yaml"))
            .arg("--job-config-path")
            .arg(dir.join("jobs.yaml"))
            .args(["--codecommit-endpoint-url", endpoint])
            .args(["--sync-seconds", "1", "--tick-seconds", "1"])
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_REGION")
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("SKIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skiff dev starts");
        let dev = Dev {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for("skiff dev to listen", Duration::from_secs(30), || {
            http("GET", &format!("{}/prowjobs.js", dev.url), &[], b"").0 == 200
        });
        dev
    }

    /// Posts `body` to `/eventbridge`, as `curl --data-binary` would.
    fn post(&self, body: &[u8]) -> (u16, String) {
        http(
            "POST",
            &format!("{}/eventbridge", self.url),
            &[("Content-Type", "application/json".into())],
            body,
        )
    }

    fn event(&self, event: &Value) -> (u16, String) {
        self.post(event.to_string().as_bytes())
    }

    fn jobs(&self) -> Vec<Value> {
        let (status, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
        v["items"].as_array().cloned().unwrap_or_default()
    }

    fn runs(&self, job: &str) -> Vec<Value> {
        self.jobs()
            .into_iter()
            .filter(|j| j["spec"]["job"] == job)
            .collect()
    }

    /// Waits until `job` has `count` runs that ended and whose end the
    /// CodeCommit reporter has recorded as reported.
    fn wait_reported(&self, job: &str, count: usize) -> Vec<Value> {
        let mut runs = Vec::new();
        wait_for(&format!("{count} reported run(s) of {job}"), WAIT, || {
            runs = self.runs(job);
            runs.len() == count
                && runs.iter().all(|r| {
                    let state = &r["status"]["state"];
                    (state == "success" || state == "failure")
                        && r["status"]["prev_report_states"]["codecommit-reporter"] == *state
                })
        });
        runs
    }
}

fn envelope(id: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "aws.codecommit",
        "account": ACCOUNT, "time": "2026-12-04T16:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:codecommit:{REGION}:{ACCOUNT}:widgets")],
        "detail": detail,
    })
}

fn pr_created(id: &str, number: &str, repo: &str, head: &str, revision: &str) -> Value {
    envelope(
        id,
        "CodeCommit Pull Request State Change",
        json!({
            "author": ALICE, "callerUserArn": ALICE,
            "destinationCommit": PR_BASE, "destinationReference": "refs/heads/main",
            "event": "pullRequestCreated", "isMerged": "False", "pullRequestId": number,
            "pullRequestStatus": "Open", "repositoryNames": [repo], "revisionId": revision,
            "sourceCommit": head, "sourceReference": "refs/heads/change",
            "title": "A change",
        }),
    )
}

fn commented(id: &str, number: &str, repo: &str, head: &str, comment_id: &str) -> Value {
    envelope(
        id,
        "CodeCommit Comment on Pull Request",
        json!({
            "afterCommitId": head, "beforeCommitId": PR_BASE, "callerUserArn": ALICE,
            "commentId": comment_id, "event": "commentOnPullRequestCreated",
            "pullRequestId": number, "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
            "repositoryName": repo,
        }),
    )
}

/// A comment alice wrote on pull request `number` (the event carries only
/// its id; Skiff reads the text with GetComment).
fn add_comment(cc: &Shared, id: &str, number: &str, repo: &str, head: &str, content: &str) {
    codecommit::lock(cc).comments.push(codecommit::Comment {
        id: id.into(),
        pull: Some(number.into()),
        repo: repo.into(),
        before: PR_BASE.into(),
        after: head.into(),
        content: content.into(),
        author_arn: ALICE.into(),
        token: String::new(),
    });
}

/// CodeCommit with pull request 1 on widgets, 2 on gadgets, and the pushed
/// commit of `events/codecommit.json`.
fn codecommit_fake() -> CodeCommit {
    let mut cc = CodeCommit::default();
    cc.caller_arn = REPORTER_ARN.into();
    for (number, repo, head, revision) in [
        ("1", "widgets", PR_HEAD, REVISION),
        ("2", "gadgets", GADGET_HEAD, GADGET_REVISION),
    ] {
        cc.pulls.insert(
            number.into(),
            Pull {
                repo: repo.into(),
                revision_id: revision.into(),
                source_commit: head.into(),
                destination_commit: PR_BASE.into(),
                status: "OPEN".into(),
            },
        );
        cc.branches
            .insert((repo.into(), "main".into()), PR_BASE.into());
    }
    cc.commits.insert(PUSHED.into(), vec![PUSH_PARENT.into()]);
    cc
}

/// The calls CodeCommit saw since the last take.
fn take(cc: &Shared) -> Vec<(String, Value)> {
    std::mem::take(&mut codecommit::lock(cc).calls)
}

fn count(calls: &[(String, Value)], op: &str) -> usize {
    calls.iter().filter(|(o, _)| o == op).count()
}

/// `op count` per operation, in first-call order.
fn tally(calls: &[(String, Value)]) -> String {
    let mut ops: Vec<&str> = Vec::new();
    for (op, _) in calls {
        if !ops.contains(&op.as_str()) {
            ops.push(op);
        }
    }
    ops.iter()
        .map(|op| format!("{op} {}", count(calls, op)))
        .collect::<Vec<_>>()
        .join(", ")
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
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default().to_owned();
            (cell(0), cell(1), cell(3))
        })
        .collect()
}

fn row(test: &str, result: &str, required: bool) -> (String, String, String) {
    (test.to_owned(), result.to_owned(), required.to_string())
}

fn approvals(cc: &Shared, number: &str) -> Vec<String> {
    codecommit::lock(cc)
        .approvals
        .iter()
        .filter(|(pr, _, _)| pr == number)
        .map(|(_, _, state)| state.clone())
        .collect()
}

fn reporter_comments(cc: &Shared) -> Vec<codecommit::Comment> {
    codecommit::lock(cc)
        .comments
        .iter()
        .filter(|c| c.author_arn == REPORTER_ARN)
        .cloned()
        .collect()
}

#[test]
fn codecommit_events_run_and_report_on_one_machine() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (cc, endpoint) = codecommit::fake_codecommit(codecommit_fake());
    let dev = Dev::start(dir.path(), &endpoint);

    a_pull_request_gets_one_results_table_edited_by_a_rerun_and_its_approval(&dev, &cc);
    a_test_comment_runs_the_job_it_names(&dev, &cc);
    a_push_to_the_destination_branch_runs_postsubmits_and_comments_on_the_commit(&dev, &cc);
    the_same_event_posted_twice_runs_once(&dev, &cc);
}

/// A pull request created → its jobs run → one results table posted, then
/// edited (never posted again) as `/retest` changes a row → the revision
/// revoked on the required failure and approved once everything passed
/// (widgets opts in to approvals).
fn a_pull_request_gets_one_results_table_edited_by_a_rerun_and_its_approval(
    dev: &Dev,
    cc: &Shared,
) {
    take(cc);
    let (status, body) = dev.event(&pr_created("ev-pr-1", "1", "widgets", PR_HEAD, REVISION));
    assert_eq!((status, body.as_str()), (200, "queued"));
    dev.wait_reported("unit", 1);
    let lint = dev.wait_reported("lint", 1);
    assert_eq!(lint[0]["status"]["state"], "failure");
    assert_eq!(lint[0]["spec"]["refs"]["org"], REGION);
    assert_eq!(
        lint[0]["spec"]["refs"]["base_sha"], PR_BASE,
        "GetBranch's answer"
    );
    wait_for("the results table", WAIT, || {
        !reporter_comments(cc).is_empty()
    });
    let opened = take(cc);

    let posted = reporter_comments(cc);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].pull.as_deref(), Some("1"));
    assert_eq!(
        (posted[0].before.as_str(), posted[0].after.as_str()),
        (PR_BASE, PR_HEAD)
    );
    assert_eq!(
        rows(&posted[0].content),
        [row("lint", "**failed**", true), row("unit", "passed", true)]
    );
    assert_eq!(approvals(cc, "1"), ["REVOKE"]);

    // `/retest` reruns the failed job; it passes now.
    add_comment(cc, "cmt-retest", "1", "widgets", PR_HEAD, "/retest");
    let (status, body) = dev.event(&commented(
        "ev-retest",
        "1",
        "widgets",
        PR_HEAD,
        "cmt-retest",
    ));
    assert_eq!((status, body.as_str()), (200, "queued"));
    let lint = dev.wait_reported("lint", 2);
    assert!(
        lint.iter().any(|r| r["status"]["state"] == "success"),
        "{lint:?}"
    );
    wait_for("the table edited and the revision approved", WAIT, || {
        approvals(cc, "1") == ["REVOKE", "APPROVE"]
            && reporter_comments(cc)
                .first()
                .is_some_and(|c| c.content.starts_with("All 2 tests **passed**"))
    });
    assert_eq!(dev.runs("unit").len(), 1, "only the failed job reruns");
    let rerun = take(cc);

    let comments = reporter_comments(cc);
    assert_eq!(
        comments.len(),
        1,
        "edited, never posted again: {comments:?}"
    );
    assert_eq!(comments[0].id, posted[0].id);
    assert_eq!(
        rows(&comments[0].content),
        [row("lint", "passed", true), row("unit", "passed", true)]
    );
    let edit = rerun
        .iter()
        .find(|(op, _)| op == "UpdateComment")
        .map(|(_, body)| body.clone())
        .unwrap_or_default();
    assert_eq!(edit["commentId"], posted[0].id.as_str());
    let approve = rerun
        .iter()
        .find(|(op, _)| op == "UpdatePullRequestApprovalState")
        .map(|(_, body)| body.clone())
        .unwrap_or_default();
    assert_eq!(
        approve,
        json!({"pullRequestId": "1", "revisionId": REVISION, "approvalState": "APPROVE"})
    );

    let lifecycle: Vec<(String, Value)> = opened.iter().chain(&rerun).cloned().collect();
    let writes = |calls: &[(String, Value)]| {
        calls
            .iter()
            .filter(|(op, _)| !op.starts_with("Get"))
            .count()
    };
    assert_eq!(count(&lifecycle, "PostCommentForPullRequest"), 1);
    assert_eq!(count(&lifecycle, "UpdateComment"), 1);
    assert_eq!(count(&lifecycle, "UpdatePullRequestApprovalState"), 2);
    assert_eq!(writes(&lifecycle), 4, "{}", tally(&lifecycle));
    // The trigger's reads: the base branch on open and on /retest, the
    // comment's text, the pull request for /retest.
    assert_eq!(count(&lifecycle, "GetBranch"), 2, "{}", tally(&lifecycle));
    assert_eq!(count(&lifecycle, "GetComment"), 1, "{}", tally(&lifecycle));
    println!(
        "CodeCommit API calls, one pull request (open with 2 jobs, lint fails, /retest, it passes): \
         {} in all, {} writes\n  open → table: {} ({})\n  /retest → edit: {} ({})\n  by operation: {}",
        lifecycle.len(),
        writes(&lifecycle),
        opened.len(),
        tally(&opened),
        rerun.len(),
        tally(&rerun),
        tally(&lifecycle),
    );
}

/// `/test e2e` on a pull request whose only job runs when asked for: it
/// runs, and its table is posted without an approval (gadgets does not opt
/// in).
fn a_test_comment_runs_the_job_it_names(dev: &Dev, cc: &Shared) {
    take(cc);
    let (status, _) = dev.event(&pr_created(
        "ev-pr-2",
        "2",
        "gadgets",
        GADGET_HEAD,
        GADGET_REVISION,
    ));
    assert_eq!(status, 200);
    add_comment(cc, "cmt-test-e2e", "2", "gadgets", GADGET_HEAD, "/test e2e");
    let (status, _) = dev.event(&commented(
        "ev-test-e2e",
        "2",
        "gadgets",
        GADGET_HEAD,
        "cmt-test-e2e",
    ));
    assert_eq!(status, 200);
    let e2e = dev.wait_reported("e2e", 1);
    assert_eq!(e2e[0]["status"]["state"], "success");
    assert_eq!(e2e[0]["spec"]["refs"]["pulls"][0]["sha"], GADGET_HEAD);
    wait_for("the results table on pull request 2", WAIT, || {
        codecommit::lock(cc)
            .comments
            .iter()
            .any(|c| c.pull.as_deref() == Some("2") && c.author_arn == REPORTER_ARN)
    });
    let calls = take(cc);
    let table = codecommit::lock(cc)
        .comments
        .iter()
        .find(|c| c.pull.as_deref() == Some("2") && c.author_arn == REPORTER_ARN)
        .map(|c| c.content.clone())
        .unwrap_or_default();
    assert_eq!(rows(&table), [row("e2e", "passed", true)]);
    assert!(approvals(cc, "2").is_empty(), "gadgets does not opt in");
    assert_eq!(count(&calls, "UpdatePullRequestApprovalState"), 0);
    println!(
        "CodeCommit API calls, /test e2e on an open pull request: {} ({})",
        calls.len(),
        tally(&calls)
    );
}

/// The sample event of `events/codecommit.json` (a push to main, as
/// EventBridge delivers it) runs the postsubmit, whose end is a comment on
/// the pushed commit.
fn a_push_to_the_destination_branch_runs_postsubmits_and_comments_on_the_commit(
    dev: &Dev,
    cc: &Shared,
) {
    take(cc);
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/codecommit.json"))
            .expect("events/codecommit.json");
    let (status, body) = dev.post(&sample);
    assert_eq!((status, body.as_str()), (200, "queued"));
    let build = dev.wait_reported("build", 1);
    assert_eq!(build[0]["spec"]["refs"]["base_sha"], PUSHED);
    wait_for("the comment on the pushed commit", WAIT, || {
        codecommit::lock(cc)
            .comments
            .iter()
            .any(|c| c.pull.is_none() && c.after == PUSHED)
    });
    let calls = take(cc);
    let post = calls
        .iter()
        .find(|(op, _)| op == "PostCommentForComparedCommit")
        .map(|(_, body)| body.clone())
        .unwrap_or_default();
    assert_eq!(post["repositoryName"], "widgets");
    assert_eq!(
        post["beforeCommitId"], PUSH_PARENT,
        "compared with its parent"
    );
    assert_eq!(post["afterCommitId"], PUSHED);
    let content = post["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("Skiff: postsubmit **build** passed"),
        "{content}"
    );
    assert_eq!(
        calls.iter().map(|(op, _)| op.as_str()).collect::<Vec<_>>(),
        ["GetCommit", "PostCommentForComparedCommit"]
    );
}

/// The push of the previous case posted again, alone and in an array: both
/// answered 2xx as duplicates, and `build` still ran once.
fn the_same_event_posted_twice_runs_once(dev: &Dev, cc: &Shared) {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/codecommit.json"),
    )
    .expect("events/codecommit.json");
    let (status, body) = dev.post(sample.as_bytes());
    assert_eq!((status, body.as_str()), (200, "duplicate delivery"));
    let (status, body) = dev.post(format!("[{sample}]").as_bytes());
    assert_eq!(status, 200, "{body}");
    let answers: Value = serde_json::from_str(&body).expect("a JSON answer per event");
    assert_eq!(
        answers,
        json!([{"index": 0, "id": "01234567-0123-0123-0123-012345678901", "status": 200,
                "result": "duplicate delivery"}])
    );
    // A new event after them goes through the same queue, so once it has
    // run, the duplicates would have too.
    let (status, _) = dev.event(&pr_created(
        "ev-pr-1-again",
        "1",
        "widgets",
        PR_HEAD,
        REVISION,
    ));
    assert_eq!(status, 200);
    dev.wait_reported("unit", 2);
    assert_eq!(dev.runs("build").len(), 1, "the push ran once");
    take(cc);
}
