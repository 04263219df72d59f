//! Tide's decision per pool (Prow's `takeAction` and the filters before
//! it), one rule per case: a pool of pulls, the job records, the branch's
//! head; the action and each pull's `tide` status.

use skiff_core::config::tide::{TidePriority, TideQuery};
use skiff_core::ports::LabelledIssue;
use skiff_core::prowjob::labels::CREATED_BY_TIDE;
use skiff_core::prowjob::{ProwJob, ProwJobSpec, ProwJobState, ProwJobType, Pull, Refs};
use skiff_core::tide::{
    Action, ContextChecker, Decision, HeadContext, PoolInput, Standing, TidePull, decide,
};

const BASE: &str = "base1";

fn query() -> TideQuery {
    TideQuery {
        repos: vec!["acme/widgets".into()],
        labels: vec!["lgtm".into(), "approved".into()],
        missing_labels: vec!["do-not-merge/hold".into()],
        ..TideQuery::default()
    }
}

fn checker() -> ContextChecker {
    ContextChecker {
        required: ["unit".to_string()].into(),
        optional: ["flaky".to_string()].into(),
        ..ContextChecker::default()
    }
}

/// A ready pull: labelled, `unit` passed on its head.
fn pull(number: i64) -> TidePull {
    TidePull {
        number,
        author: "alice".into(),
        head_sha: format!("head{number}"),
        labels: vec!["lgtm".into(), "approved".into()],
        contexts: vec![ctx("unit", "success", "Job succeeded.")],
        required_jobs: vec!["unit".into()],
        ..TidePull::default()
    }
}

fn ctx(context: &str, state: &str, description: &str) -> HeadContext {
    HeadContext {
        context: context.into(),
        state: state.into(),
        description: description.into(),
    }
}

fn job(
    kind: ProwJobType,
    pulls: &[&TidePull],
    base: &str,
    context: &str,
    state: ProwJobState,
) -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = format!(
        "{context}-{}-{base}",
        pulls
            .iter()
            .map(|p| p.number.to_string())
            .collect::<Vec<_>>()
            .join("-")
    );
    j.spec = ProwJobSpec {
        r#type: Some(kind),
        job: context.into(),
        context: context.into(),
        refs: Some(Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            base_sha: base.into(),
            pulls: pulls
                .iter()
                .map(|p| Pull {
                    number: p.number,
                    sha: p.head_sha.clone(),
                    author: p.author.clone(),
                    ..Pull::default()
                })
                .collect(),
            ..Refs::default()
        }),
        ..ProwJobSpec::default()
    };
    j.status.state = Some(state);
    j
}

fn presubmit(p: &TidePull, base: &str, state: ProwJobState) -> ProwJob {
    job(ProwJobType::Presubmit, &[p], base, "unit", state)
}

struct Pool {
    pulls: Vec<TidePull>,
    jobs: Vec<ProwJob>,
    batch_size_limit: i64,
    prioritize_existing_batches: bool,
    priority: Vec<TidePriority>,
    blockers: Vec<LabelledIssue>,
}

impl Pool {
    fn new(pulls: Vec<TidePull>) -> Self {
        Pool {
            pulls,
            jobs: Vec::new(),
            batch_size_limit: 0,
            prioritize_existing_batches: true,
            priority: Vec::new(),
            blockers: Vec::new(),
        }
    }

    fn decide(&self) -> Decision {
        let q = query();
        let queries = [&q];
        let checker = checker();
        decide(&PoolInput {
            org: "acme",
            repo: "widgets",
            branch: "main",
            base_sha: BASE,
            pulls: &self.pulls,
            queries: &queries,
            checker: &checker,
            jobs: &self.jobs,
            batch_size_limit: self.batch_size_limit,
            prioritize_existing_batches: self.prioritize_existing_batches,
            priority: &self.priority,
            method_labels: &["tide/merge-method-squash", "tide/merge-method-rebase"],
            blockers: &self.blockers,
        })
    }
}

fn status(d: &Decision, number: i64) -> (&'static str, String) {
    let v = d
        .pulls
        .iter()
        .find(|v| v.number == number)
        .expect("a verdict");
    (v.status_state, v.status_description.clone())
}

#[test]
fn a_pull_whose_jobs_passed_against_the_current_base_is_merged() {
    let p = pull(1);
    let mut pool = Pool::new(vec![p.clone()]);
    pool.jobs = vec![presubmit(&p, BASE, ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(d.action, Action::Merge { pull: 1 });
    assert_eq!(status(&d, 1), ("success", "In merge pool.".into()));
}

#[test]
fn a_crier_status_marked_with_the_current_base_counts_as_a_run_there() {
    let mut p = pull(1);
    p.contexts = vec![ctx(
        "unit",
        "success",
        &format!("Job succeeded. BaseSHA:{BASE}"),
    )];
    assert_eq!(
        Pool::new(vec![p]).decide().action,
        Action::Merge { pull: 1 }
    );
}

#[test]
fn results_against_an_older_base_trigger_a_retest_of_the_missing_jobs() {
    let p = pull(1);
    let mut pool = Pool::new(vec![p.clone()]);
    pool.jobs = vec![presubmit(&p, "old-base", ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(
        d.action,
        Action::Trigger {
            pull: 1,
            contexts: vec!["unit".into()]
        }
    );
    assert_eq!(
        status(&d, 1),
        ("pending", "Not mergeable. Retesting: unit".into())
    );
}

#[test]
fn a_retest_already_running_is_not_started_twice() {
    let p = pull(1);
    let mut pool = Pool::new(vec![p.clone()]);
    pool.jobs = vec![presubmit(&p, BASE, ProwJobState::Pending)];
    let d = pool.decide();
    assert_eq!(d.action, Action::Wait);
    assert_eq!(d.pulls[0].standing, Standing::Pending);
}

#[test]
fn a_job_that_ran_on_an_older_head_does_not_count() {
    let p = pull(1);
    let mut stale = p.clone();
    stale.head_sha = "pushed-over".into();
    let mut pool = Pool::new(vec![p]);
    pool.jobs = vec![presubmit(&stale, BASE, ProwJobState::Success)];
    assert!(matches!(pool.decide().action, Action::Trigger { .. }));
}

#[test]
fn hold_keeps_a_pull_out_and_the_status_says_why() {
    let mut p = pull(1);
    p.labels.push("do-not-merge/hold".into());
    let mut pool = Pool::new(vec![p.clone()]);
    pool.jobs = vec![presubmit(&p, BASE, ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(d.action, Action::Wait);
    assert_eq!(
        status(&d, 1),
        (
            "pending",
            "Not mergeable. Should not have do-not-merge/hold label.".into()
        )
    );
}

#[test]
fn missing_review_labels_are_named() {
    let mut p = pull(1);
    p.labels.clear();
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        status(&d, 1),
        (
            "pending",
            "Not mergeable. Needs approved, lgtm labels.".into()
        )
    );
}

#[test]
fn a_failed_required_context_keeps_a_pull_out_but_a_failed_optional_one_does_not() {
    let mut failing = pull(1);
    failing.contexts = vec![ctx("unit", "failure", "Job failed.")];
    let mut optional_failed = pull(2);
    optional_failed
        .contexts
        .push(ctx("flaky", "failure", "Job failed."));
    let mut pool = Pool::new(vec![failing, optional_failed.clone()]);
    pool.jobs = vec![presubmit(&optional_failed, BASE, ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(
        status(&d, 1),
        (
            "pending",
            "Not mergeable. Job unit has not succeeded.".into()
        )
    );
    assert_eq!(d.action, Action::Merge { pull: 2 });
}

#[test]
fn an_unknown_failing_context_blocks_by_default() {
    let mut p = pull(1);
    p.contexts.push(ctx("external-ci", "failure", ""));
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        status(&d, 1),
        (
            "pending",
            "Not mergeable. Job external-ci has not succeeded.".into()
        )
    );
}

#[test]
fn a_merge_conflict_is_an_error_status() {
    let mut p = pull(1);
    p.mergeable = Some(false);
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        status(&d, 1),
        ("error", "Not mergeable. PR has a merge conflict.".into())
    );
    assert_eq!(d.action, Action::Wait);
}

#[test]
fn two_merge_method_labels_are_an_error_status() {
    let mut p = pull(1);
    p.labels.extend([
        "tide/merge-method-squash".into(),
        "tide/merge-method-rebase".into(),
    ]);
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        status(&d, 1),
        (
            "error",
            "Not mergeable. PR has conflicting merge method override labels".into()
        )
    );
}

#[test]
fn two_ready_pulls_needing_retests_start_one_batch() {
    let mut pool = Pool::new(vec![pull(1), pull(2)]);
    pool.batch_size_limit = 2;
    assert_eq!(
        pool.decide().action,
        Action::TriggerBatch {
            pulls: vec![1, 2],
            contexts: vec!["unit".into()]
        }
    );
}

#[test]
fn the_batch_size_limit_caps_the_batch_and_minus_one_turns_batches_off() {
    let mut pool = Pool::new(vec![pull(3), pull(1), pull(2)]);
    pool.batch_size_limit = 2;
    assert!(
        matches!(pool.decide().action, Action::TriggerBatch { pulls, .. } if pulls == vec![1, 2])
    );
    pool.batch_size_limit = -1;
    assert_eq!(
        pool.decide().action,
        Action::Trigger {
            pull: 1,
            contexts: vec!["unit".into()]
        },
        "a serial retest of the lowest number"
    );
}

#[test]
fn a_passing_batch_is_merged_whole() {
    let (a, b) = (pull(1), pull(2));
    let mut pool = Pool::new(vec![a.clone(), b.clone()]);
    pool.jobs = vec![job(
        ProwJobType::Batch,
        &[&a, &b],
        BASE,
        "unit",
        ProwJobState::Success,
    )];
    assert_eq!(
        pool.decide().action,
        Action::MergeBatch { pulls: vec![1, 2] }
    );
}

#[test]
fn no_single_merge_and_no_second_batch_while_a_batch_is_pending() {
    let (a, b, c) = (pull(1), pull(2), pull(3));
    let mut pool = Pool::new(vec![a.clone(), b.clone(), c.clone()]);
    pool.jobs = vec![
        job(
            ProwJobType::Batch,
            &[&a, &b],
            BASE,
            "unit",
            ProwJobState::Pending,
        ),
        presubmit(&c, BASE, ProwJobState::Success),
    ];
    let d = pool.decide();
    assert_eq!(d.action, Action::Wait);
    assert_eq!(d.batch_pending, vec![1, 2]);
}

#[test]
fn a_failed_batch_does_not_count_and_a_new_one_is_picked() {
    let (a, b) = (pull(1), pull(2));
    let mut pool = Pool::new(vec![a.clone(), b.clone()]);
    pool.jobs = vec![job(
        ProwJobType::Batch,
        &[&a, &b],
        BASE,
        "unit",
        ProwJobState::Failure,
    )];
    assert!(matches!(pool.decide().action, Action::TriggerBatch { .. }));
}

#[test]
fn a_batch_whose_pull_moved_on_is_ignored() {
    let (a, b) = (pull(1), pull(2));
    let mut moved = b.clone();
    moved.head_sha = "new-head".into();
    let mut pool = Pool::new(vec![a.clone(), moved]);
    pool.jobs = vec![job(
        ProwJobType::Batch,
        &[&a, &b],
        BASE,
        "unit",
        ProwJobState::Success,
    )];
    assert!(matches!(pool.decide().action, Action::TriggerBatch { .. }));
}

#[test]
fn priority_labels_go_first_for_merges_and_retests() {
    let (a, mut b) = (pull(1), pull(2));
    b.labels.push("critical".into());
    let mut pool = Pool::new(vec![a.clone(), b.clone()]);
    pool.priority = vec![TidePriority {
        labels: vec!["critical".into()],
    }];
    pool.jobs = vec![
        presubmit(&a, BASE, ProwJobState::Success),
        presubmit(&b, BASE, ProwJobState::Success),
    ];
    assert_eq!(pool.decide().action, Action::Merge { pull: 2 });
    pool.jobs.clear();
    pool.batch_size_limit = -1;
    assert!(matches!(
        pool.decide().action,
        Action::Trigger { pull: 2, .. }
    ));
}

#[test]
fn a_pull_pending_on_jobs_tide_did_not_start_is_not_retested() {
    let mut p = pull(1);
    p.contexts = vec![ctx("unit", "pending", "Job triggered.")];
    let mut pool = Pool::new(vec![p.clone()]);
    pool.batch_size_limit = -1;
    // A run by someone else's /retest at an older base: tide waits for it.
    pool.jobs = vec![presubmit(&p, "old-base", ProwJobState::Pending)];
    assert_eq!(pool.decide().action, Action::Wait);
    let mut tide_run = presubmit(&p, "old-base", ProwJobState::Pending);
    tide_run
        .metadata
        .labels
        .insert(CREATED_BY_TIDE.into(), "true".into());
    pool.jobs = vec![tide_run];
    assert!(matches!(pool.decide().action, Action::Trigger { .. }));
}

#[test]
fn a_pull_with_no_required_jobs_merges_on_its_contexts_alone() {
    let mut p = pull(1);
    p.required_jobs.clear();
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        d.action,
        Action::Merge { pull: 1 },
        "nothing to wait for: success"
    );
    let mut a = pull(1);
    a.required_jobs.clear();
    a.contexts.clear();
    let d = Pool::new(vec![a]).decide();
    assert_eq!(
        status(&d, 1).1,
        "Not mergeable. Job unit has not succeeded."
    );
}

#[test]
fn long_retesting_lists_become_a_count() {
    let mut p = pull(1);
    p.required_jobs = (0..12)
        .map(|i| format!("pull-widgets-integration-suite-{i}"))
        .collect();
    for c in p.required_jobs.clone() {
        p.contexts.push(ctx(&c, "success", ""));
    }
    let d = Pool::new(vec![p]).decide();
    assert_eq!(
        status(&d, 1),
        ("pending", "Not mergeable. Retesting 13 jobs.".into())
    );
}

fn blocker(number: i64) -> LabelledIssue {
    LabelledIssue {
        number,
        title: "CI is broken".into(),
        html_url: String::new(),
    }
}

#[test]
fn a_blocker_issue_stops_merges_and_names_itself_on_pulls_out_of_the_pool() {
    let ready = pull(1);
    let mut held = pull(2);
    held.labels.push("do-not-merge/hold".into());
    let mut pool = Pool::new(vec![ready.clone(), held]);
    pool.jobs = vec![presubmit(&ready, BASE, ProwJobState::Success)];
    pool.blockers = vec![blocker(9), blocker(7)];
    let d = pool.decide();
    assert_eq!(d.action, Action::Blocked, "nothing merges while blocked");
    assert_eq!(
        status(&d, 1),
        ("success", "In merge pool.".into()),
        "a pull in the pool keeps its standing"
    );
    assert_eq!(
        status(&d, 2),
        (
            "error",
            "Not mergeable. Merging is blocked by issues 7, 9.".into()
        ),
        "the blockers take precedence over the query's diff"
    );
    pool.blockers = vec![blocker(7)];
    assert_eq!(
        status(&pool.decide(), 2).1,
        "Not mergeable. Merging is blocked by issue 7."
    );
    let mut missing = pull(3);
    missing.contexts.clear();
    let mut pool = Pool::new(vec![missing]);
    pool.blockers = vec![blocker(7)];
    assert_eq!(
        pool.decide().action,
        Action::Blocked,
        "no retest starts while blocked"
    );
}

#[test]
fn a_pulls_own_in_repo_jobs_are_required_of_it_alone() {
    // Pull 1's `.prow.yaml` adds `lint`: required of it (its own checker),
    // not of pull 2, whose head never shows `lint`.
    let mut own = pull(1);
    own.required_jobs.push("lint".into());
    let mut c = checker();
    c.required.insert("lint".into());
    own.checker = Some(c);
    let other = pull(2);
    let mut pool = Pool::new(vec![own.clone(), other.clone()]);
    pool.batch_size_limit = -1;
    pool.jobs = vec![
        presubmit(&own, BASE, ProwJobState::Success),
        presubmit(&other, BASE, ProwJobState::Success),
    ];
    let d = pool.decide();
    assert_eq!(
        status(&d, 1),
        (
            "pending",
            "Not mergeable. Job lint has not succeeded.".into()
        ),
        "the head does not show its own required job"
    );
    assert_eq!(d.action, Action::Merge { pull: 2 });
    let mut shown = own.clone();
    shown
        .contexts
        .push(ctx("lint", "success", "Job succeeded."));
    let mut pool = Pool::new(vec![shown.clone()]);
    pool.jobs = vec![presubmit(&shown, BASE, ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(
        d.action,
        Action::Trigger {
            pull: 1,
            contexts: vec!["lint".into()]
        },
        "its own job must pass against the current base too"
    );
}

#[test]
fn a_pull_whose_in_repo_config_cannot_load_is_out_with_the_reason() {
    let mut p = pull(1);
    p.config_problem = Some(".prow.yaml:3: unknown field `nmae`".into());
    let mut pool = Pool::new(vec![p.clone()]);
    pool.jobs = vec![presubmit(&p, BASE, ProwJobState::Success)];
    let d = pool.decide();
    assert_eq!(d.action, Action::Wait);
    assert_eq!(
        status(&d, 1),
        (
            "error",
            "Not mergeable. The in-repo config cannot be loaded: .prow.yaml:3: unknown field `nmae`"
                .into()
        )
    );
}
