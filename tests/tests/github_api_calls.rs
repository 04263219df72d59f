//! How many GitHub API calls one pull request costs: 10 jobs, 2 of them
//! failing, through the real handlers (webhook, trigger, dispatcher, syncer,
//! reporter; tests/tests/support) against the fake GitHub API. The reporter
//! sees every state change of every job on its own (the worst case: no two
//! changes coalesce), as the jobs table's stream would deliver them.
//!
//! `cargo test -p skiff-tests --test github_api_calls -- --nocapture` prints
//! the counts. The target is at most 21 writes: one pending and one final
//! status per job, and one comment.

mod support;

use skiff_tests::github::lock;
use support::*;

const FAILING: [usize; 2] = [3, 7];

fn jobs_yaml() -> String {
    let mut y = String::from("presubmits:\n  acme/widgets:\n");
    for i in 0..10 {
        y.push_str(&format!(
            "  - name: job{i}\n    always_run: true\n    spec: {{containers: [{{image: alpine, command: [make, test{i}]}}]}}\n"
        ));
    }
    y
}

struct Counts {
    writes: usize,
    reads: usize,
    not_modified: usize,
    statuses: usize,
    comment_writes: usize,
}

async fn one_pull_request(config: &str) -> Counts {
    let ci = Ci::new(config, &jobs_yaml(), github_with_pr(), Auth::Token).await;
    let (status, _) = ci
        .deliver(
            "pull_request",
            "d-open",
            &pr_event("opened", &pull(1, "alice", HEAD)),
        )
        .await;
    assert_eq!(status, 200);
    ci.trigger().await;
    ci.report().await; // 10 × triggered: held back
    ci.dispatch().await;
    ci.report().await; // 10 × pending
    ci.advance(11);
    ci.report_retries().await; // the held-back triggered: already reported
    for i in 0..10 {
        ci.advance(5);
        ci.finish(&format!("job{i}"), !FAILING.contains(&i)).await;
    }
    for j in ci.jobs().await {
        assert!(j.is_complete(), "{} is {:?}", j.spec.job, j.status.state);
    }
    let gh = lock(&ci.github);
    let writes = gh.writes();
    Counts {
        writes: writes.len(),
        reads: gh.reads().len(),
        not_modified: gh.not_modified(),
        statuses: writes
            .iter()
            .filter(|s| s.path.contains("/statuses/"))
            .count(),
        comment_writes: writes
            .iter()
            .filter(|s| s.path.contains("/comments"))
            .count(),
    }
}

#[tokio::test]
async fn a_pull_request_with_ten_jobs_two_failing_costs_at_most_21_writes_with_a_summary() {
    let summary = one_pull_request(
        "skiff:\n  deck_url: https://deck.example.com\ngithub_reporter:\n  summary_comment_repos: [acme/widgets]\n",
    )
    .await;
    let default = one_pull_request("skiff:\n  deck_url: https://deck.example.com\n").await;
    for (mode, c) in [
        ("summary_comment_repos", &summary),
        ("Prow's failure comment", &default),
    ] {
        println!(
            "GitHub API calls, PR with 10 jobs (2 failing), {mode}: {} writes ({} statuses, {} comment writes), {} reads, {} conditional reads answered 304",
            c.writes, c.statuses, c.comment_writes, c.reads, c.not_modified
        );
    }
    assert_eq!(summary.statuses, 20, "one pending and one final per job");
    assert_eq!(summary.comment_writes, 1, "one summary comment");
    assert!(summary.writes <= 21, "{} writes", summary.writes);
    // Prow's algorithm posts a fresh comment for each new failure (a new
    // notification), deleting the one before: create, then delete + create.
    assert_eq!(default.statuses, 20);
    assert_eq!(default.comment_writes, 3);
}
