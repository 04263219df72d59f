//! Reporting to GitHub end to end: webhook, trigger, dispatcher, syncer and
//! reporter in process (tests/tests/support), `GitHubScm` over HTTP to the
//! fake GitHub API (GitHub's paths and JSON). Each test pins the exact calls
//! GitHub sees for one of crier's rules, or for one of GitHub's limits.

mod support;

use serde_json::{Value, json};
use skiff_core::keys::{CHECK_RUN_ANNOTATION, GITHUB_REPORTER};
use skiff_core::ports::{PortError, Scm};
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::GitHubReporter;
use skiff_tests::github::{Canned, Seen, lock};
use support::*;

const CONFIG: &str = "skiff:\n  deck_url: https://deck.example.com\n";

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: golang, command: [make, lint]}]}
"#;

fn status_path() -> String {
    format!("/repos/{ORG}/{REPO}/statuses/{HEAD}")
}

/// `(context, state, has a link)` of every status GitHub accepted, in order.
fn statuses(seen: &[Seen]) -> Vec<(String, String, bool)> {
    seen.iter()
        .filter(|s| s.method == "POST" && s.path.contains("/statuses/") && s.status < 300)
        .map(|s| {
            (
                s.body["context"].as_str().unwrap_or("").to_owned(),
                s.body["state"].as_str().unwrap_or("").to_owned(),
                s.body["target_url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://deck.example.com/view/")),
            )
        })
        .collect()
}

fn st(context: &str, state: &str, link: bool) -> (String, String, bool) {
    (context.to_owned(), state.to_owned(), link)
}

/// Opens PR #1 and starts its jobs; returns with every job pending and its
/// pending status sent.
async fn open_and_start(ci: &Ci) {
    let (status, body) = ci
        .deliver(
            "pull_request",
            "d-open",
            &pr_event("opened", &pull(1, "alice", HEAD)),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "queued"));
    ci.settle().await;
}

#[tokio::test]
async fn success_and_failure_are_one_pending_and_one_final_status_each_plus_one_comment() {
    let ci = Ci::new(CONFIG, JOBS, github_with_pr(), Auth::Token).await;
    ci.deliver(
        "pull_request",
        "d-open",
        &pr_event("opened", &pull(1, "alice", HEAD)),
    )
    .await;
    ci.trigger().await;
    let planning = lock(&ci.github).lines();
    assert_eq!(
        planning,
        [
            "GET /orgs/acme/members/alice".to_owned(),
            "GET /repos/acme/widgets/git/ref/heads/main".to_owned(),
        ],
        "the trigger's facts (the opened event carries the PR and its author)"
    );
    ci.clear_seen();

    // The reporter sees both jobs `triggered` and holds them back: no write.
    ci.report().await;
    assert!(ci.lines().is_empty(), "{:?}", ci.lines());
    // They start: each is reported once, pending, with its link.
    ci.dispatch().await;
    ci.report().await;
    // The held-back `triggered` reports come due and find them reported.
    ci.advance(11);
    assert_eq!(ci.report_retries().await, 2);
    let seen = lock(&ci.github).seen.clone();
    let mut pending = statuses(&seen);
    pending.sort();
    assert_eq!(
        pending,
        [st("lint", "pending", true), st("unit", "pending", true)]
    );
    assert_eq!(seen.len(), 2, "{:?}", ci.lines());
    let body = &seen[0].body;
    let description = body["description"].as_str().unwrap_or_default();
    assert_eq!(description.chars().count(), 140, "padded to exactly 140");
    assert!(
        description.starts_with("Job triggered.\u{2001}"),
        "{description}"
    );
    assert!(
        description.ends_with(&format!(" BaseSHA:{BASE}")),
        "{description}"
    );
    ci.clear_seen();

    ci.finish("unit", true).await;
    assert_eq!(
        ci.lines(),
        [
            format!("POST {}", status_path()),
            // The comment is read (no row names unit): nothing to change.
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
        ]
    );
    assert_eq!(
        statuses(&lock(&ci.github).seen),
        [st("unit", "success", true)]
    );
    ci.clear_seen();

    ci.finish("lint", false).await;
    let seen = lock(&ci.github).seen.clone();
    assert_eq!(
        seen.iter().map(Seen::line).collect::<Vec<_>>(),
        [
            format!("POST {}", status_path()),
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
            // Read again under the per-PR lock before writing.
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
            format!("POST /repos/{ORG}/{REPO}/issues/1/comments"),
        ]
    );
    assert_eq!(statuses(&seen), [st("lint", "failure", true)]);
    assert_eq!(
        seen[2].status, 304,
        "the repeated read is conditional and not modified"
    );
    let comment = seen[3].body["body"].as_str().unwrap_or_default();
    assert!(
        comment.starts_with("@alice: 1 test **failed**."),
        "{comment}"
    );
    assert!(
        comment.contains(&format!(
            "lint | {HEAD} | [link](https://deck.example.com/view/"
        )),
        "{comment}"
    );
    assert!(comment.contains("| true | `/test lint`"), "{comment}");
    assert!(comment.ends_with("<!-- test report -->"), "{comment}");

    // Reporting again changes nothing: each state was reported once.
    ci.clear_seen();
    for j in ci.jobs().await {
        skiff_reporter::report_and_decide(&j.metadata.name, &ci_reporter(&ci)).await;
    }
    assert!(ci.lines().is_empty(), "{:?}", ci.lines());
}

fn ci_reporter(ci: &Ci) -> skiff_reporter::ReporterDeps<'_> {
    skiff_reporter::ReporterDeps {
        config: &ci.config,
        store: &ci.store,
        scm: ci.scm.as_ref(),
        clock: ci.clock.as_ref(),
        logs: Some(&ci.logs),
        codecommit: None,
        chat: None,
        reports: Some(&ci.reports),
        comments: Some(&ci.comments),
    }
}

#[tokio::test]
async fn retest_reruns_the_failed_job_and_a_pass_deletes_the_failure_comment() {
    let ci = Ci::new(CONFIG, JOBS, github_with_pr(), Auth::Token).await;
    open_and_start(&ci).await;
    ci.finish("unit", true).await;
    ci.finish("lint", false).await;
    assert_eq!(lock(&ci.github).comments.len(), 1);
    ci.clear_seen();

    let (status, _) = ci
        .deliver(
            "issue_comment",
            "d-retest",
            &comment_event(1, "alice", "/retest"),
        )
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
    assert_eq!(
        ci.lines(),
        [
            "GET /orgs/acme/members/alice".to_owned(),
            // The comment event does not carry the PR; /retest asks for it.
            format!("GET /repos/{ORG}/{REPO}/pulls/1"),
            "GET /repos/acme/widgets/git/ref/heads/main".to_owned(),
            // Earlier help replies are pruned on /retest (none here).
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
        ]
    );
    assert_eq!(ci.runs("lint").await.len(), 2, "the failed job reruns");
    assert_eq!(ci.runs("unit").await.len(), 1, "the passed one does not");
    ci.clear_seen();

    ci.settle().await;
    ci.finish("lint", true).await;
    let seen = lock(&ci.github).seen.clone();
    assert_eq!(
        seen.iter().map(Seen::line).collect::<Vec<_>>(),
        [
            format!("POST {}", status_path()),
            format!("POST {}", status_path()),
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
            format!("GET /repos/{ORG}/{REPO}/issues/1/comments"),
            // No failure left: the comment goes.
            format!(
                "DELETE /repos/{ORG}/{REPO}/issues/comments/{}",
                lock_comment_id(&seen)
            ),
        ]
    );
    assert_eq!(
        statuses(&seen),
        [st("lint", "pending", true), st("lint", "success", true)]
    );
    assert!(lock(&ci.github).comments.is_empty());
}

/// The id in the DELETE the reporter sent (the fake numbers comments).
fn lock_comment_id(seen: &[Seen]) -> String {
    seen.iter()
        .find(|s| s.method == "DELETE")
        .and_then(|s| s.path.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_superseded_run_is_aborted_and_never_reported_as_prow_does() {
    let ci = Ci::new(CONFIG, JOBS, github_with_pr(), Auth::Token).await;
    open_and_start(&ci).await;
    ci.clear_seen();

    // `/test lint` on the same commit while lint runs: the syncer aborts the
    // older run (Prow's TerminateOlderJobs), marking the abort as reported.
    ci.advance(5);
    ci.deliver(
        "issue_comment",
        "d-test",
        &comment_event(1, "alice", "/test lint"),
    )
    .await;
    ci.settle().await;
    ci.sync().await;
    ci.settle().await;
    let runs = ci.runs("lint").await;
    assert_eq!(runs.len(), 2);
    let old = runs
        .iter()
        .find(|j| j.status.state == Some(ProwJobState::Aborted))
        .expect("the older run is aborted");
    assert_eq!(
        old.status.prev_report_states.get(GITHUB_REPORTER),
        Some(&ProwJobState::Aborted)
    );
    let seen = lock(&ci.github).seen.clone();
    assert_eq!(
        statuses(&seen),
        [st("lint", "pending", true)],
        "the new run's pending status only; the abort is never reported"
    );
    assert!(
        seen.iter()
            .all(|s| !s.path.contains("/comments") || s.method == "GET")
    );
}

#[tokio::test]
async fn a_status_on_a_force_pushed_sha_is_dropped_not_retried() {
    let mut gh = github_with_pr();
    gh.gone_shas.push(HEAD.into());
    let ci = Ci::new(CONFIG, JOBS, gh, Auth::Token).await;
    open_and_start(&ci).await;
    let seen = lock(&ci.github).seen.clone();
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST").collect();
    assert_eq!(posts.len(), 2, "one try per job: {:?}", ci.lines());
    assert!(posts.iter().all(|s| s.status == 404));
    // Nothing waits to be retried; a pending report is not recorded (it
    // repeats harmlessly), so the records were not written either.
    for j in ci.jobs().await {
        assert_eq!(j.status.state, Some(ProwJobState::Pending));
        assert_eq!(j.status.prev_report_states.get(GITHUB_REPORTER), None);
    }
    ci.clear_seen();
    ci.advance(3600);
    assert_eq!(ci.report_retries().await, 0, "nothing waits to be retried");
    assert!(ci.lines().is_empty(), "{:?}", ci.lines());

    // The job fails: its status is dropped too, and so is its comment (as
    // crier, which returns before the comment when the status is refused).
    ci.finish("lint", false).await;
    assert_eq!(ci.lines(), [format!("POST {}", status_path())]);
    assert!(lock(&ci.github).comments.is_empty());
}

#[tokio::test]
async fn a_secondary_rate_limit_is_retried_after_retry_after_not_before() {
    let mut gh = github_with_pr();
    gh.canned
        .push(Canned::secondary_limit("POST", "/statuses/", 60));
    let ci = Ci::new(CONFIG, JOBS, gh, Auth::Token).await;
    ci.deliver(
        "pull_request",
        "d-open",
        &pr_event("opened", &pull(1, "alice", HEAD)),
    )
    .await;
    ci.trigger().await;
    ci.dispatch().await;
    ci.clear_seen();

    // The first status meets the limit; the second job is not sent at all,
    // and neither holds up the stream: both wait on the reports queue.
    ci.report().await;
    let seen = lock(&ci.github).seen.clone();
    assert_eq!(
        seen.iter()
            .map(|s| (s.line(), s.status))
            .collect::<Vec<_>>(),
        [(format!("POST {}", status_path()), 403)]
    );
    let lint = ci.runs("lint").await.remove(0);
    let e = skiff_reporter::report_one(&GitHubReporter, &lint.metadata.name, &ci_reporter(&ci))
        .await
        .expect_err("refused while the limit holds");
    assert!(
        matches!(&e, PortError::RateLimited { until, .. } if until.as_second() == start().as_second() + 60),
        "{e}"
    );
    assert_eq!(lock(&ci.github).seen.len(), 1, "nothing is sent early");

    ci.advance(59);
    assert_eq!(ci.report_retries().await, 0, "not before Retry-After");
    assert_eq!(lock(&ci.github).seen.len(), 1);

    ci.advance(1);
    assert_eq!(ci.report_retries().await, 2);
    let seen = lock(&ci.github).seen.clone();
    let mut after: Vec<(String, String, bool)> = statuses(&seen[1..]);
    after.sort();
    assert_eq!(
        after,
        [st("lint", "pending", true), st("unit", "pending", true)]
    );
    assert_eq!(seen.len(), 3, "{:?}", ci.lines());
}

#[tokio::test]
async fn the_app_token_is_minted_per_org_and_renewed_a_minute_before_it_expires() {
    let mut gh = github_with_pr();
    gh.token_expiries.push_back("2026-11-23T11:00:00Z".into());
    gh.token_expiries.push_back("2026-11-23T12:00:00Z".into());
    let ci = Ci::new(CONFIG, JOBS, gh, Auth::App).await;
    assert_eq!(
        ci.scm.bot_login(),
        "skiff-ci[bot]",
        "an App's bot is <slug>[bot]"
    );
    ci.deliver(
        "pull_request",
        "d-open",
        &pr_event("opened", &pull(1, "alice", HEAD)),
    )
    .await;
    ci.trigger().await;
    let seen = lock(&ci.github).seen.clone();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.line(), auth_kind(&s.authorization)))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET /app".to_owned(), "jwt".to_owned()),
            ("GET /orgs/acme/installation".to_owned(), "jwt".to_owned()),
            (
                format!("POST /app/installations/{INSTALLATION}/access_tokens"),
                "jwt".to_owned()
            ),
            (
                "GET /orgs/acme/members/alice".to_owned(),
                "ghs_1".to_owned()
            ),
            (
                "GET /repos/acme/widgets/git/ref/heads/main".to_owned(),
                "ghs_1".to_owned()
            ),
        ]
    );
    ci.clear_seen();

    // 58 minutes on, the token has 2 minutes left: still used.
    ci.advance(58 * 60);
    ci.dispatch().await;
    ci.report().await;
    let seen = lock(&ci.github).seen.clone();
    assert_eq!(seen.len(), 2, "{:?}", ci.lines());
    assert!(seen.iter().all(|s| auth_kind(&s.authorization) == "ghs_1"));
    ci.clear_seen();

    // 30 seconds before expiry: renewed before the next request.
    ci.advance(90);
    ci.finish("unit", true).await;
    let seen = lock(&ci.github).seen.clone();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.line(), auth_kind(&s.authorization)))
        .collect();
    assert_eq!(
        calls[0],
        (
            format!("POST /app/installations/{INSTALLATION}/access_tokens"),
            "jwt".to_owned()
        )
    );
    assert!(calls[1..].iter().all(|(_, a)| a == "ghs_2"), "{calls:?}");
    assert_eq!(lock(&ci.github).issued_tokens, ["ghs_1", "ghs_2"]);
}

/// `jwt`, or the installation token's name.
fn auth_kind(authorization: &str) -> String {
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or(authorization);
    if token.matches('.').count() == 2 {
        "jwt".into()
    } else {
        token.into()
    }
}

#[tokio::test]
async fn checks_repos_get_a_check_run_per_job_and_the_rerun_button_reruns_it() {
    let config = format!("{CONFIG}  reporting:\n    checks_repos: [acme/widgets]\n");
    let ci = Ci::new(&config, JOBS, github_with_pr(), Auth::App).await;
    open_and_start(&ci).await;
    let runs = lock(&ci.github).check_runs.clone();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let lint_job = ci.runs("lint").await.remove(0);
    let lint = runs
        .iter()
        .find(|r| r["name"] == "lint")
        .expect("lint's check run")
        .clone();
    assert_eq!(lint["head_sha"], HEAD);
    assert_eq!(lint["status"], "in_progress");
    assert_eq!(lint["external_id"], json!(lint_job.metadata.name));
    assert!(
        lint["details_url"]
            .as_str()
            .is_some_and(|u| u
                .starts_with("https://deck.example.com/view/pr-logs/pull/acme_widgets/1/lint/")),
        "{lint}"
    );
    let id = lint["id"].as_i64().unwrap_or_default();
    assert_eq!(
        lint_job.metadata.annotations.get(CHECK_RUN_ANNOTATION),
        Some(&id.to_string()),
        "the run's id is kept on the record"
    );
    ci.clear_seen();

    ci.finish("lint", false).await;
    let seen = lock(&ci.github).seen.clone();
    let patch = seen
        .iter()
        .find(|s| s.method == "PATCH")
        .expect("the run is updated");
    assert_eq!(patch.path, format!("/repos/{ORG}/{REPO}/check-runs/{id}"));
    assert_eq!(patch.body["status"], "completed");
    assert_eq!(patch.body["conclusion"], "failure");
    assert_eq!(patch.body["output"]["title"], "Job failed.");
    let text = patch.body["output"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("step 80") && !text.contains("step 20\n"),
        "{text}"
    );
    assert!(
        seen.iter().all(|s| !s.path.contains("/statuses/")),
        "check runs replace statuses"
    );
    assert_eq!(
        lock(&ci.github).comments.len(),
        1,
        "the failure comment still comes"
    );
    ci.clear_seen();

    // GitHub's Re-run button on lint's run.
    let (status, _) = ci
        .deliver(
            "check_run",
            "d-rerun",
            &rerun_event("lint", HEAD, 1, "alice"),
        )
        .await;
    assert_eq!(status, 200);
    ci.settle().await;
    assert_eq!(ci.runs("lint").await.len(), 2, "lint runs again");
    assert_eq!(ci.runs("unit").await.len(), 1);
    let posts: Vec<Value> = lock(&ci.github)
        .seen
        .iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("/check-runs"))
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(posts.len(), 1, "the rerun gets a check run of its own");
    assert_eq!(posts[0]["name"], "lint");
    assert_eq!(posts[0]["status"], "in_progress");
}

#[tokio::test]
async fn a_token_install_falls_back_to_statuses_for_checks_repos() {
    let config = format!("{CONFIG}  reporting:\n    checks_repos: [acme]\n");
    let ci = Ci::new(&config, JOBS, github_with_pr(), Auth::Token).await;
    open_and_start(&ci).await;
    assert!(lock(&ci.github).check_runs.is_empty());
    assert_eq!(statuses(&lock(&ci.github).seen).len(), 2);
}
