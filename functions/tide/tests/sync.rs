//! Tide's sync against the in-memory twins: the code host twin merges as
//! GitHub does (the pull closes, its base moves) and shows the statuses
//! written on a commit in its combined status; the store holds the job
//! records and the pools' leases.

use std::sync::Arc;
use std::time::Duration;

use skiff_core::config::tide::MergeMethod;
use skiff_core::config::{Config, FileRole, SourceFile, load};
use skiff_core::event::{PullRequest, Repo};
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{
    Claim, Clock, CombinedStatus, CommitStatus, JobQuery, JobStore, MergeOutcome,
};
use skiff_core::prowjob::labels::CREATED_BY_TIDE;
use skiff_core::prowjob::{ProwJobState, ProwJobType};
use skiff_testkit::{ManualClock, MemoryQueue, MemoryScm, MemoryStore, T0, clock_at};
use skiff_tide::{SyncReport, TideDeps, sync};

const CONFIG: &str = r#"
tide:
  queries:
  - repos: [acme/widgets]
    labels: [lgtm, approved]
    missingLabels: [do-not-merge/hold]
  merge_method:
    acme/widgets: squash
  merge_commit_template:
    acme/widgets:
      title: "{{ .Title }} (#{{ .Number }})"
  batch_size_limit:
    acme/widgets: 2
"#;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine}]}
  - name: lint
    always_run: true
    optional: true
    spec: {containers: [{image: alpine}]}
"#;

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
    dispatch: MemoryQueue,
    regexes: Regexes,
}

impl World {
    fn new() -> Self {
        let loaded = load(&[
            SourceFile {
                path: "config.yaml".into(),
                text: CONFIG.into(),
                role: FileRole::ProwConfig,
            },
            SourceFile {
                path: "jobs.yaml".into(),
                text: JOBS.into(),
                role: FileRole::JobConfig,
            },
        ]);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        let clock = clock_at(T0);
        let w = World {
            config: loaded.config,
            store: MemoryStore::new(clock.clone()),
            dispatch: MemoryQueue::new(clock.clone()),
            scm: MemoryScm::default(),
            regexes: Regexes::default(),
            clock,
        };
        w.scm.set_branch_sha("base1");
        w
    }

    async fn sync(&self) -> SyncReport {
        self.sync_as("sync-1").await
    }

    async fn sync_as(&self, owner: &str) -> SyncReport {
        let deps = TideDeps {
            config: &self.config,
            store: &self.store,
            scm: &self.scm,
            dispatch: &self.dispatch,
            clock: self.clock.as_ref(),
            regexes: &self.regexes,
            owner,
            base_moved_pause: Duration::ZERO,
        };
        sync(&deps).await
    }

    /// Open pulls, ready but for what each test changes.
    fn open(&self, pulls: Vec<PullRequest>) {
        self.scm.set_open_pulls(pulls);
    }

    /// `context` passed on `sha`, as crier reports a run at `base`.
    fn passed(&self, sha: &str, contexts: &[(&str, &str)]) {
        self.scm.set_combined_status(
            sha,
            CombinedStatus {
                state: "success".into(),
                statuses: contexts
                    .iter()
                    .map(|(c, base)| CommitStatus {
                        state: "success".into(),
                        context: c.to_string(),
                        description: format!("Job succeeded. BaseSHA:{base}"),
                        target_url: String::new(),
                    })
                    .collect(),
            },
        );
    }

    fn tide_statuses(&self, sha: &str) -> Vec<(String, String)> {
        self.scm
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                skiff_testkit::ScmCall::Status { sha: at, status }
                    if at == sha && status.context == "tide" =>
                {
                    Some((status.state, status.description))
                }
                _ => None,
            })
            .collect()
    }

    async fn tide_jobs(&self, number: i64) -> Vec<skiff_core::prowjob::ProwJob> {
        let q = JobQuery::Pull {
            org: "acme".into(),
            repo: "widgets".into(),
            number,
        };
        self.store
            .list(&q, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.metadata.labels.contains_key(CREATED_BY_TIDE))
            .collect()
    }

    /// Pulls #1 and #2 open and ready, `unit` passed on both at `base`.
    fn two_ready_passed_at(&self, base: &str) {
        self.open(vec![pr(1, READY), pr(2, READY)]);
        self.passed("head1", &[("unit", base)]);
        self.passed("head2", &[("unit", base)]);
    }

    /// Two ready pulls passed at an older base: tide starts their batch
    /// (and a serial retest), and every run passes.
    async fn batch_passed(&self) {
        self.two_ready_passed_at("old-base");
        self.sync().await;
        self.finish(1, ProwJobState::Success).await;
    }

    /// Every tide-started run of `number` finishes with `state`.
    async fn finish(&self, number: i64, state: ProwJobState) {
        for mut j in self.tide_jobs(number).await {
            j.transition(ProwJobState::Pending, self.clock.now(), "running")
                .unwrap();
            j.transition(state, self.clock.now(), "done").unwrap();
            self.store.update(&j).await.unwrap();
        }
    }
}

fn pr(number: i64, labels: &[&str]) -> PullRequest {
    PullRequest {
        repo: Repo {
            org: "acme".into(),
            repo: "widgets".into(),
            html_url: "https://github.com/acme/widgets".into(),
        },
        number,
        title: format!("Change {number}"),
        author: "alice".into(),
        html_url: format!("https://github.com/acme/widgets/pull/{number}"),
        head_sha: format!("head{number}"),
        head_ref: format!("change-{number}"),
        base_ref: "main".into(),
        state: "open".into(),
        mergeable: Some(true),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        ..PullRequest::default()
    }
}

const READY: &[&str] = &["lgtm", "approved"];

#[tokio::test]
async fn a_ready_pull_is_merged_at_its_tested_head_with_the_configured_method() {
    let w = World::new();
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    let report = w.sync().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let merges = w.scm.merges();
    assert_eq!(merges.len(), 1, "{merges:?}");
    let (n, req) = &merges[0];
    assert_eq!(*n, 1);
    assert_eq!(req.sha, "head1", "the head tide tested");
    assert_eq!(req.method, MergeMethod::Squash);
    assert_eq!(req.commit_title, "Change 1 (#1)");
    assert_eq!(
        w.tide_statuses("head1"),
        [("success".to_string(), "In merge pool.".to_string())]
    );
    assert_eq!(report.pools[0].action, "MERGE");
    assert_eq!(report.pools[0].merged, [1]);
}

#[tokio::test]
async fn hold_keeps_a_pull_out_and_its_status_is_written_once() {
    let w = World::new();
    w.open(vec![pr(1, &["lgtm", "approved", "do-not-merge/hold"])]);
    w.passed("head1", &[("unit", "base1")]);
    w.sync().await;
    w.sync().await;
    assert!(w.scm.merges().is_empty());
    assert_eq!(
        w.tide_statuses("head1"),
        [(
            "pending".to_string(),
            "Not mergeable. Should not have do-not-merge/hold label.".to_string()
        )],
        "written once: the second sync finds it unchanged"
    );
}

#[tokio::test]
async fn a_moved_base_is_retested_by_tide_and_merged_after_the_retest_passes() {
    let w = World::new();
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "old-base")]);
    w.sync().await;
    assert!(w.scm.merges().is_empty(), "not tested against base1");
    let jobs = w.tide_jobs(1).await;
    assert_eq!(jobs.len(), 1, "only the required job is retested");
    let refs = jobs[0].spec.refs.as_ref().unwrap();
    assert_eq!(jobs[0].spec.r#type, Some(ProwJobType::Presubmit));
    assert_eq!(
        (refs.base_sha.as_str(), refs.pulls[0].sha.as_str()),
        ("base1", "head1")
    );
    assert_eq!(w.dispatch.sent_ids(), [jobs[0].metadata.name.clone()]);
    assert_eq!(
        w.tide_statuses("head1"),
        [(
            "pending".to_string(),
            "Not mergeable. Retesting: unit".to_string()
        )]
    );

    w.sync().await;
    assert_eq!(
        w.tide_jobs(1).await.len(),
        1,
        "a running retest is not started twice"
    );
    w.finish(1, ProwJobState::Success).await;
    w.sync().await;
    assert_eq!(w.scm.merges().len(), 1);
    assert_eq!(
        w.tide_statuses("head1").last().map(|s| s.1.as_str()),
        Some("In merge pool.")
    );
}

#[tokio::test]
async fn two_ready_pulls_are_tested_as_one_batch_and_both_merge_when_it_passes() {
    let w = World::new();
    w.two_ready_passed_at("old-base");
    let report = w.sync().await;
    assert_eq!(report.pools[0].action, "TRIGGER_BATCH");
    let batch = w.tide_jobs(1).await;
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert_eq!(batch[0].spec.r#type, Some(ProwJobType::Batch));
    let pulls: Vec<i64> = batch[0]
        .spec
        .refs
        .as_ref()
        .unwrap()
        .pulls
        .iter()
        .map(|p| p.number)
        .collect();
    assert_eq!(pulls, [1, 2]);
    assert!(!batch[0].spec.report, "batches are not reported to GitHub");

    // Prow's serial lane runs beside the batch: with no serial run pending,
    // the best pull is retested alone too; no second batch starts.
    w.sync().await;
    let kinds: Vec<_> = w.tide_jobs(1).await.iter().map(|j| j.spec.r#type).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(ProwJobType::Batch))
            .count(),
        1,
        "one batch in flight per pool"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(ProwJobType::Presubmit))
            .count(),
        1
    );
    w.sync().await;
    assert_eq!(w.tide_jobs(1).await.len(), 2, "nothing started twice");
    w.finish(1, ProwJobState::Success).await;
    let report = w.sync().await;
    assert_eq!(report.pools[0].action, "MERGE_BATCH");
    let merged: Vec<i64> = w.scm.merges().iter().map(|(n, _)| *n).collect();
    assert_eq!(merged, [1, 2]);
}

#[tokio::test]
async fn a_merge_github_refuses_does_not_stop_the_rest_of_the_batch() {
    let w = World::new();
    w.batch_passed().await;
    w.scm.answer_next_merge(MergeOutcome::Refused(
        "Pull Request is not mergeable".into(),
    ));
    let report = w.sync().await;
    let merged: Vec<i64> = w.scm.merges().iter().map(|(n, _)| *n).collect();
    assert_eq!(merged, [2], "#1 refused, #2 merged");
    let error = &report.pools[0].error;
    assert!(
        error.contains("failed merging [1] from batch [1, 2], partial merge [2]"),
        "{error}"
    );
    assert!(error.contains("PR is unmergable"), "{error}");
}

#[tokio::test]
async fn a_refusal_that_the_bot_may_not_push_stops_the_batch() {
    let w = World::new();
    w.batch_passed().await;
    w.scm.answer_next_merge(MergeOutcome::Refused(
        "You're not authorized to push to this branch".into(),
    ));
    w.sync().await;
    assert!(w.scm.merges().is_empty());
}

#[tokio::test]
async fn a_base_that_moved_during_the_merge_is_tried_again() {
    let w = World::new();
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    w.scm.answer_next_merge(MergeOutcome::Refused(
        "Base branch was modified. Review and try the merge again.".into(),
    ));
    w.sync().await;
    assert_eq!(w.scm.merges().len(), 1);
}

#[tokio::test]
async fn a_pull_that_moved_since_it_was_tested_is_skipped_with_a_reason() {
    let w = World::new();
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    w.scm.answer_next_merge(MergeOutcome::HeadModified(
        "Head branch was modified".into(),
    ));
    let report = w.sync().await;
    assert!(w.scm.merges().is_empty());
    assert!(
        report.pools[0].error.contains("the head moved"),
        "{:?}",
        report.pools[0]
    );
}

#[tokio::test]
async fn a_pool_another_sync_holds_is_left_alone() {
    let w = World::new();
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    let far = w
        .clock
        .now()
        .checked_add(jiff::SignedDuration::from_mins(5))
        .unwrap();
    assert_eq!(
        w.store
            .claim_as("tide/lease/acme/widgets:main", "other-sync", far)
            .await
            .unwrap(),
        Claim::Taken
    );
    let report = w.sync().await;
    assert_eq!(report.busy, ["acme/widgets:main"]);
    assert!(w.scm.merges().is_empty());
    assert!(w.tide_statuses("head1").is_empty());
}

#[tokio::test]
async fn the_pool_and_its_history_are_kept_for_the_deck() {
    let w = World::new();
    w.open(vec![pr(1, READY), pr(2, &["lgtm"])]);
    w.passed("head1", &[("unit", "base1")]);
    w.sync().await;
    let pool: skiff_tide::PoolRecord = serde_json::from_str(
        &w.store
            .get_value("tide/pool/acme/widgets:main")
            .await
            .unwrap()
            .expect("the pool record"),
    )
    .unwrap();
    assert_eq!(pool.base_sha, "base1");
    assert_eq!(
        pool.success_prs
            .iter()
            .map(|p| p.number)
            .collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(
        pool.out_prs[0].description,
        "Not mergeable. Needs approved label."
    );
    let history: Vec<skiff_tide::HistoryEntry> = serde_json::from_str(
        &w.store
            .get_value("tide/history/acme/widgets:main")
            .await
            .unwrap()
            .expect("the history"),
    )
    .unwrap();
    assert_eq!(history[0].action, "MERGE");
    assert_eq!(history[0].merged, [1]);
    assert_eq!(
        w.store.get_value("tide/pools").await.unwrap().as_deref(),
        Some(r#"["acme/widgets:main"]"#)
    );
}

#[tokio::test]
async fn check_runs_count_as_contexts_a_failed_one_keeps_a_pull_out() {
    use skiff_core::ports::CheckRunState;
    let w = World::new();
    w.two_ready_passed_at("base1");
    let run = |conclusion: &str| CheckRunState {
        name: "actions/build".into(),
        status: "completed".into(),
        conclusion: conclusion.into(),
    };
    w.scm.set_check_runs_on("head1", vec![run("failure")]);
    w.scm.set_check_runs_on("head2", vec![run("skipped")]);
    w.sync().await;
    assert_eq!(
        w.tide_statuses("head1"),
        [(
            "pending".to_string(),
            "Not mergeable. Job actions/build has not succeeded.".to_string()
        )]
    );
    let merged: Vec<i64> = w.scm.merges().iter().map(|(n, _)| *n).collect();
    assert_eq!(merged, [2], "a skipped check run passes, as in Prow");
}

#[tokio::test]
async fn from_branch_protection_adds_the_protected_branchs_required_checks() {
    let mut w = World::new();
    w.config
        .prow
        .tide
        .context_options
        .policy
        .from_branch_protection = Some(true);
    w.scm.set_required_status_checks(&["security-scan"]);
    w.open(vec![pr(1, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    w.sync().await;
    assert!(w.scm.merges().is_empty());
    assert_eq!(
        w.tide_statuses("head1"),
        [(
            "pending".to_string(),
            "Not mergeable. Job security-scan has not succeeded.".to_string()
        )]
    );
}

#[tokio::test]
async fn a_query_with_a_milestone_takes_only_pulls_in_it() {
    let mut w = World::new();
    w.config.prow.tide.queries[0].milestone = "v1.2".into();
    let mut in_milestone = pr(1, READY);
    in_milestone.milestone = "v1.2".into();
    w.open(vec![in_milestone, pr(2, READY)]);
    w.passed("head1", &[("unit", "base1")]);
    w.passed("head2", &[("unit", "base1")]);
    w.sync().await;
    let merged: Vec<i64> = w.scm.merges().iter().map(|(n, _)| *n).collect();
    assert_eq!(merged, [1]);
    assert_eq!(
        w.tide_statuses("head2"),
        [(
            "pending".to_string(),
            "Not mergeable. Must be in milestone v1.2.".to_string()
        )]
    );
}

#[tokio::test]
async fn an_open_blocker_issue_for_the_branch_stops_merges_until_it_closes() {
    let mut w = World::new();
    w.config.prow.tide.blocker_label = "merge-blocker".into();
    w.scm.add_issue(7, "Freeze branch:main", &["merge-blocker"]);
    w.scm
        .add_issue(8, "Freeze branch:release-1.0", &["merge-blocker"]);
    w.scm.add_issue(9, "Unrelated", &["kind/bug"]);
    w.open(vec![pr(1, READY), pr(2, &["lgtm"])]);
    w.passed("head1", &[("unit", "base1")]);
    let report = w.sync().await;
    assert!(w.scm.merges().is_empty(), "nothing merges while blocked");
    assert_eq!(report.pools[0].action, "BLOCKED");
    let blockers: Vec<i64> = report.pools[0].blockers.iter().map(|b| b.number).collect();
    assert_eq!(blockers, [7], "only the blockers of this branch");
    assert_eq!(
        w.tide_statuses("head2"),
        [(
            "error".to_string(),
            "Not mergeable. Merging is blocked by issue 7.".to_string()
        )]
    );
    assert_eq!(
        w.tide_statuses("head1"),
        [("success".to_string(), "In merge pool.".to_string())]
    );
    w.scm.close_issue(7);
    w.sync().await;
    let merged: Vec<i64> = w.scm.merges().iter().map(|(n, _)| *n).collect();
    assert_eq!(merged, [1], "merged once the blocker closed");
}
