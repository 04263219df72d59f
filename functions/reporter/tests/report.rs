//! The reporter's GitHub sink against the in-memory twins: a code host that
//! records every call and keeps the pull request's comments, and a job store
//! with Skiff's compare-and-set semantics. Each test pins one of crier's
//! rules.

mod support;

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::keys::{self, COMMENT_TAG, GITHUB_REPORTER};
use skiff_core::ports::{CommitStatus, LogStore, PortError, PortResult};
use skiff_core::prowjob::labels::GERRIT_REPORT_LABEL;
use skiff_core::prowjob::{ProwJobState, ProwJobType};
use skiff_reporter::{
    CommentReport, Detail, GitHubReporter, Outcome, Recorded, ReporterDeps, Skip, StatusReport,
    report_one,
};
use skiff_testkit::{ManualClock, MemoryLogs, MemoryScm, MemoryStore, ScmCall};
use support::*;

// ---------------------------------------------------------------------------
// Scenario helpers

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
    /// The jobs' artifacts, when the reporter is given a log store.
    logs: Option<MemoryLogs>,
}

impl World {
    fn new() -> Self {
        let clock = clock();
        Self {
            config: Config::default(),
            store: MemoryStore::new(clock.clone()),
            scm: MemoryScm::default(),
            clock,
            logs: None,
        }
    }

    /// With a log store the reporter reads the jobs' artifacts from.
    fn with_logs() -> Self {
        Self {
            logs: Some(MemoryLogs::default()),
            ..Self::new()
        }
    }

    async fn report(&self, id: &str) -> Outcome {
        self.try_report(id).await.unwrap()
    }

    /// The GitHub sink alone; the reporter reads the record itself.
    async fn try_report(&self, id: &str) -> PortResult<Outcome> {
        let scm = Guarded(&self.scm);
        let mut deps = ReporterDeps::new(&self.config, &self.store, &scm, self.clock.as_ref());
        deps.logs = self.logs.as_ref().map(|l| l as &dyn LogStore);
        report_one(&GitHubReporter, id, &deps).await
    }

    /// Moves a stored job along the state machine, as the syncer would.
    fn advance(&self, id: &str, to: ProwJobState, description: &str) {
        let mut j = self.store.job(id);
        j.transition(to, now(), description).unwrap();
        if to == ProwJobState::Pending {
            j.status.url = URL.into();
        }
        self.store.put(j);
    }

    fn abort(&self, id: &str) {
        let mut j = self.store.job(id);
        j.transition(ProwJobState::Aborted, now(), "Aborted by trigger plugin.")
            .unwrap();
        j.complete_abort(now()).unwrap();
        self.store.put(j);
    }
}

/// Runs a job to a failed, reported end, and forgets the calls made.
async fn fail(w: &World, id: &str, context: &str) {
    w.store.put(presubmit(id, context));
    w.report(id).await;
    w.advance(id, ProwJobState::Pending, "Job triggered.");
    w.report(id).await;
    w.advance(id, ProwJobState::Failure, "Job failed.");
    w.report(id).await;
    w.scm.take_calls();
}

// ---------------------------------------------------------------------------
// Commit statuses

#[tokio::test]
async fn pending_then_success_statuses_have_exact_bodies() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));

    let outcome = w.report("j1").await;
    let triggered = CommitStatus {
        state: "pending".into(),
        context: CONTEXT.into(),
        description: padded("Job triggered."),
        target_url: String::new(),
    };
    assert_eq!(
        outcome,
        Outcome::Reported {
            state: ProwJobState::Triggered,
            detail: Detail::GitHub {
                status: StatusReport::Sent {
                    sha: HEAD_SHA.into(),
                    status: triggered.clone()
                },
                comment: CommentReport::NotCovered("no completed job to report"),
            },
            recorded: Recorded::NotNeeded,
        }
    );

    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.report("j1").await;
    w.advance("j1", ProwJobState::Success, "Job succeeded.");
    w.report("j1").await;

    let pending = CommitStatus {
        target_url: URL.into(),
        ..triggered.clone()
    };
    let success = CommitStatus {
        state: "success".into(),
        context: CONTEXT.into(),
        description: padded("Job succeeded."),
        target_url: URL.into(),
    };
    assert_eq!(w.scm.statuses(), vec![triggered, pending, success]);
    assert!(
        w.scm.calls().iter().all(
            |c| matches!(c, ScmCall::Status { sha, .. } if sha == HEAD_SHA)
                || matches!(c, ScmCall::ListComments { .. })
        ),
        "statuses go on the pull's head SHA: {:?}",
        w.scm.calls()
    );
    assert_eq!(
        w.store
            .job("j1")
            .status
            .prev_report_states
            .get(GITHUB_REPORTER),
        Some(&ProwJobState::Success)
    );
}

#[tokio::test]
async fn a_300_character_description_becomes_exactly_140_with_the_base_sha() {
    let w = World::new();
    let mut j = presubmit("j1", CONTEXT);
    let long: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    j.status.description = long.clone();
    w.store.put(j);
    w.report("j1").await;
    let d = &w.scm.statuses()[0].description;
    assert_eq!(d.chars().count(), 140);
    assert_eq!(
        *d,
        format!(
            "{} ... {} BaseSHA:{BASE_SHA}",
            &long[..43],
            &long[300 - 43..]
        )
    );
}

#[tokio::test]
async fn postsubmits_report_on_the_base_sha() {
    let w = World::new();
    let mut j = presubmit("j1", "post-widgets-build");
    j.spec.r#type = Some(ProwJobType::Postsubmit);
    if let Some(r) = j.spec.refs.as_mut() {
        r.pulls.clear();
    }
    w.store.put(j);
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Failure, "Job failed.");
    let outcome = w.report("j1").await;
    assert!(
        matches!(&outcome, Outcome::Reported { detail: Detail::GitHub { status: StatusReport::Sent { sha, .. }, comment: CommentReport::NotCovered(_) }, .. } if sha == BASE_SHA),
        "{outcome:?}"
    );
    assert_eq!(w.scm.calls().len(), 1, "a postsubmit gets no comment");
}

#[tokio::test]
async fn aborted_is_reported_as_failure_without_a_comment_row() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.abort("j1");
    let outcome = w.report("j1").await;
    assert_eq!(w.scm.statuses()[0].state, "failure");
    assert_eq!(
        w.scm.statuses()[0].description,
        padded("Aborted by trigger plugin.")
    );
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                state: ProwJobState::Aborted,
                detail: Detail::GitHub {
                    comment: CommentReport::Unchanged,
                    ..
                },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(
        !w.scm
            .calls()
            .iter()
            .any(|c| matches!(c, ScmCall::CreateComment { .. }))
    );
}

#[tokio::test]
async fn a_finished_state_is_reported_once_and_an_unfinished_one_is_not_recorded() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    let version = |w: &World| w.store.job("j1").metadata.resource_version;
    let before = version(&w);
    w.report("j1").await;
    // A status repeats harmlessly: not worth a record write per job.
    assert_eq!(version(&w), before, "nothing written for triggered");
    assert!(matches!(
        w.report("j1").await,
        Outcome::Reported {
            recorded: Recorded::NotNeeded,
            ..
        }
    ));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    let before = version(&w);
    w.report("j1").await;
    assert_eq!(version(&w), before, "nothing written for pending");
    w.advance(
        "j1",
        ProwJobState::Error,
        "Job pod was OOM killed by the cluster.",
    );
    w.report("j1").await;
    assert_eq!(
        w.report("j1").await,
        Outcome::AlreadyReported(ProwJobState::Error)
    );
    let states: Vec<String> = w.scm.statuses().into_iter().map(|s| s.state).collect();
    assert_eq!(states, vec!["pending", "pending", "pending", "error"]);
}

#[tokio::test]
async fn a_late_event_reports_the_record_as_it_is_now() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Success, "Job succeeded.");
    // The stream's first image (triggered) arrives after the job finished.
    w.report("j1").await;
    assert_eq!(w.scm.statuses().len(), 1);
    assert_eq!(w.scm.statuses()[0].state, "success");
    // Then the images for pending and success: nothing more to say.
    assert_eq!(
        w.report("j1").await,
        Outcome::AlreadyReported(ProwJobState::Success)
    );
}

/// A finished job, stored and not reported yet.
fn succeeded(w: &World) {
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Success, "Job succeeded.");
}

#[tokio::test]
async fn a_lost_compare_and_set_is_retried_on_the_fresh_record() {
    let w = World::new();
    succeeded(&w);
    // Another writer (another sink recording its report) writes just
    // before this report records it.
    w.store.interfere_with_next_update(|moved| {
        moved
            .status
            .prev_report_states
            .insert(keys::SLACK_REPORTER.into(), ProwJobState::Success);
    });

    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                state: ProwJobState::Success,
                recorded: Recorded::Saved,
                ..
            }
        ),
        "{outcome:?}"
    );
    let stored = w.store.job("j1");
    assert_eq!(
        stored.status.prev_report_states.get(GITHUB_REPORTER),
        Some(&ProwJobState::Success),
        "written on top of the other write"
    );
    assert_eq!(
        stored.status.prev_report_states.get(keys::SLACK_REPORTER),
        Some(&ProwJobState::Success),
        "the other write kept"
    );
    assert_eq!(
        w.report("j1").await,
        Outcome::AlreadyReported(ProwJobState::Success)
    );
    let states: Vec<String> = w.scm.statuses().into_iter().map(|s| s.state).collect();
    assert_eq!(states, vec!["success"]);
}

#[tokio::test]
async fn a_newer_state_already_reported_is_not_overwritten() {
    let w = World::new();
    succeeded(&w);
    // Whatever moved it (the store allows it; no handler re-finishes a
    // job), a newer state that was reported already stays recorded.
    w.store.interfere_with_next_update(|newer| {
        newer.status.state = Some(ProwJobState::Error);
        newer
            .status
            .prev_report_states
            .insert(GITHUB_REPORTER.into(), ProwJobState::Error);
    });
    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                recorded: Recorded::AlreadyNewer,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        w.store
            .job("j1")
            .status
            .prev_report_states
            .get(GITHUB_REPORTER),
        Some(&ProwJobState::Error)
    );
}

#[tokio::test]
async fn jobs_crier_does_not_report_are_left_alone() {
    let mut gerrit = presubmit("j1", CONTEXT);
    gerrit
        .metadata
        .labels
        .insert(GERRIT_REPORT_LABEL.into(), "Verified".into());
    let mut no_report = presubmit("j1", CONTEXT);
    no_report.spec.report = false;
    let mut periodic = presubmit("j1", CONTEXT);
    periodic.spec.r#type = Some(ProwJobType::Periodic);
    let mut batch = presubmit("j1", CONTEXT);
    batch.spec.r#type = Some(ProwJobType::Batch);
    let mut two_pulls = presubmit("j1", CONTEXT);
    if let Some(r) = two_pulls.spec.refs.as_mut() {
        let mut second = r.pulls[0].clone();
        second.number = 43;
        r.pulls.push(second);
    }
    let mut scheduling = presubmit("j1", CONTEXT);
    scheduling.status.state = Some(ProwJobState::Scheduling);
    let cases = [
        (gerrit, Skip::GerritReported),
        (no_report, Skip::ReportDisabled),
        (periodic, Skip::TypeNotReported),
        (batch, Skip::TypeNotReported),
        (two_pulls, Skip::Batch),
        (scheduling, Skip::NoState),
    ];
    for (job, skip) in cases {
        let w = World::new();
        w.store.put(job);
        assert_eq!(w.report("j1").await, Outcome::NotReported(skip));
        assert!(w.scm.calls().is_empty(), "{skip:?}");
    }
    let w = World::new();
    assert_eq!(
        w.report("gone").await,
        Outcome::NotReported(Skip::NotStored)
    );
}

#[tokio::test]
async fn job_types_to_report_narrows_what_is_reported() {
    let mut w = World::new();
    w.config.prow.github_reporter.job_types_to_report = vec![ProwJobType::Postsubmit];
    w.store.put(presubmit("j1", CONTEXT));
    assert_eq!(
        w.report("j1").await,
        Outcome::NotReported(Skip::TypeNotReported)
    );
    assert!(w.scm.calls().is_empty());
}

#[tokio::test]
async fn a_force_pushed_sha_is_given_up_without_retry_or_comment() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Failure, "Job failed.");
    let error = PortError::NotFound(format!(
        r#"POST /repos/acme/widgets/statuses/{HEAD_SHA}: HTTP 422: {{"message":"No commit found for SHA: {HEAD_SHA}","documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status","status":"422"}}"#
    ).into());
    w.scm.fail_statuses(Some(error.clone()));
    let outcome = w.report("j1").await;
    assert_eq!(
        outcome,
        Outcome::Reported {
            state: ProwJobState::Failure,
            detail: Detail::GitHub {
                status: StatusReport::Dropped {
                    sha: HEAD_SHA.into(),
                    error: error.to_string()
                },
                comment: CommentReport::NotCovered("the status was dropped"),
            },
            recorded: Recorded::Saved,
        }
    );
    assert_eq!(w.scm.calls().len(), 1, "no comment after a dropped status");
    assert_eq!(
        w.report("j1").await,
        Outcome::AlreadyReported(ProwJobState::Failure)
    );
}

#[tokio::test]
async fn other_status_errors_are_returned_and_nothing_is_recorded() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.scm.fail_statuses(Some(PortError::Unavailable(
        "POST /x: HTTP 502: bad gateway".into(),
    )));
    let e = w.try_report("j1").await.unwrap_err();
    assert!(e.is_retryable());
    assert!(w.store.job("j1").status.prev_report_states.is_empty());
    w.scm.fail_statuses(None);
    assert!(matches!(w.report("j1").await, Outcome::Reported { .. }));
    assert_eq!(
        w.scm.statuses().len(),
        2,
        "the retry sends the status again"
    );
}

// ---------------------------------------------------------------------------
// The failure comment

#[tokio::test]
async fn a_failure_creates_the_comment_with_the_exact_row() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.report("j1").await;
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.report("j1").await;
    w.advance("j1", ProwJobState::Failure, "Job failed.");
    w.scm.take_calls();

    let outcome = w.report("j1").await;
    assert!(
        matches!(&outcome, Outcome::Reported { detail: Detail::GitHub { comment: CommentReport::Created { deleted }, .. }, .. } if deleted.is_empty()),
        "{outcome:?}"
    );
    let body = failure_comment(&[row(CONTEXT, URL)]);
    assert_eq!(
        w.scm.calls()[1..],
        [
            // Read once: without a comments queue the report updates the
            // comment itself (crier's one read).
            ScmCall::ListComments { number: 42 },
            ScmCall::CreateComment {
                number: 42,
                body: body.clone()
            }
        ]
    );
    assert!(body.contains(&format!(
        "pull-widgets-unit | {HEAD_SHA} | [link]({URL}) | true | `/test pull-widgets-unit`"
    )));
}

#[tokio::test]
async fn a_later_success_of_the_same_context_deletes_its_only_row() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    assert_eq!(w.scm.comments(42).len(), 1);
    let id = w.scm.comments(42)[0].id;

    w.store.put(presubmit("j2", CONTEXT));
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Success, "Job succeeded.");
    let outcome = w.report("j2").await;
    assert!(
        matches!(&outcome, Outcome::Reported { detail: Detail::GitHub { comment: CommentReport::Deleted { ids }, .. }, .. } if *ids == vec![id]),
        "{outcome:?}"
    );
    assert!(w.scm.comments(42).is_empty());
}

#[tokio::test]
async fn a_later_success_edits_the_comment_when_other_rows_remain() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    fail(&w, "j2", "pull-widgets-lint").await;
    let comments = w.scm.comments(42);
    assert_eq!(
        comments.len(),
        1,
        "the second failure replaced the first comment"
    );
    assert_eq!(
        comments[0].body,
        failure_comment(&[row(CONTEXT, URL), row("pull-widgets-lint", URL)])
    );
    let id = comments[0].id;

    w.store.put(presubmit("j3", CONTEXT));
    w.advance("j3", ProwJobState::Pending, "Job triggered.");
    w.advance("j3", ProwJobState::Success, "Job succeeded.");
    let outcome = w.report("j3").await;
    assert!(
        matches!(&outcome, Outcome::Reported { detail: Detail::GitHub { comment: CommentReport::Edited { id: edited, deleted }, .. }, .. } if *edited == id && deleted.is_empty()),
        "{outcome:?}"
    );
    let want = failure_comment(&[row("pull-widgets-lint", URL)]);
    assert!(w.scm.calls().contains(&ScmCall::EditComment {
        id,
        body: want.clone()
    }));
    assert_eq!(w.scm.comments(42)[0].body, want);
}

#[tokio::test]
async fn a_new_failure_posts_a_new_comment_before_deleting_the_old_one() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    let old = w.scm.comments(42)[0].id;
    w.store.put(presubmit("j2", "pull-widgets-lint"));
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Failure, "Job failed.");
    let outcome = w.report("j2").await;
    assert!(
        matches!(&outcome, Outcome::Reported { detail: Detail::GitHub { comment: CommentReport::Created { deleted }, .. }, .. } if *deleted == vec![old]),
        "{outcome:?}"
    );
    let body = failure_comment(&[row(CONTEXT, URL), row("pull-widgets-lint", URL)]);
    assert_eq!(
        w.scm.calls()[1..],
        [
            // Read once: without a comments queue the report updates the
            // comment itself (crier's one read).
            ScmCall::ListComments { number: 42 },
            ScmCall::CreateComment { number: 42, body },
            ScmCall::DeleteComment { id: old },
        ]
    );
}

#[tokio::test]
async fn a_comment_that_already_says_it_is_not_edited() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    fail(&w, "j2", "pull-widgets-lint").await;
    // A third job errors: no row of its own, the two failures stay as they are.
    w.store.put(presubmit("j3", "pull-widgets-e2e"));
    w.advance("j3", ProwJobState::Error, "Pod scheduling timeout.");
    let outcome = w.report("j3").await;
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                detail: Detail::GitHub {
                    comment: CommentReport::Unchanged,
                    ..
                },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(!w.scm.calls().iter().any(|c| matches!(
        c,
        ScmCall::EditComment { .. } | ScmCall::CreateComment { .. } | ScmCall::DeleteComment { .. }
    )));
}

#[tokio::test]
async fn other_peoples_comments_and_untagged_bot_comments_are_not_touched() {
    let w = World::new();
    let human = w.scm.seed_comment(
        42,
        "alice",
        &format!("quoting the bot:\n--- | ---\nfake | row\n\n{COMMENT_TAG}"),
    );
    let untagged = w.scm.seed_comment(42, "skiff-bot", "--- | ---\nunit | x");
    fail(&w, "j1", CONTEXT).await;
    let ids: Vec<i64> = w.scm.comments(42).iter().map(|c| c.id).collect();
    assert!(ids.contains(&human) && ids.contains(&untagged));
    assert_eq!(
        w.scm.comments(42).last().map(|c| c.body.clone()),
        Some(failure_comment(&[row(CONTEXT, URL)]))
    );
}

#[tokio::test]
async fn no_comment_repos_get_statuses_but_no_comment() {
    for listed in ["acme", "acme/widgets"] {
        let mut w = World::new();
        w.config.prow.github_reporter.no_comment_repos = vec![listed.into()];
        w.store.put(presubmit("j1", CONTEXT));
        w.advance("j1", ProwJobState::Pending, "Job triggered.");
        w.advance("j1", ProwJobState::Failure, "Job failed.");
        let outcome = w.report("j1").await;
        assert!(
            matches!(
                outcome,
                Outcome::Reported {
                    detail: Detail::GitHub {
                        comment: CommentReport::OptedOut,
                        ..
                    },
                    ..
                }
            ),
            "{listed}: {outcome:?}"
        );
        assert_eq!(w.scm.statuses().len(), 1);
        assert_eq!(w.scm.calls().len(), 1, "{listed}: no comment calls");
    }
}

#[tokio::test]
async fn the_report_template_is_added_under_the_table() {
    let mut w = World::new();
    w.config.prow.plank.report_templates.insert(
        "acme".into(),
        "[History](https://deck.example/pr-history?org={{.Spec.Refs.Org}}&repo={{.Spec.Refs.Repo}}&pr={{with index .Spec.Refs.Pulls 0}}{{.Number}}{{end}})".into(),
    );
    fail(&w, "j1", CONTEXT).await;
    let body = w.scm.comments(42)[0].body.clone();
    let table_end = format!(
        "{}\n\n[History](https://deck.example/pr-history?org=acme&repo=widgets&pr=42)\n\n<details>",
        row(CONTEXT, URL)
    );
    assert!(body.contains(&table_end), "{body}");
}

#[tokio::test]
async fn summary_repos_announce_when_every_test_passed() {
    let mut w = World::new();
    w.config.prow.github_reporter.summary_comment_repos = vec!["acme/widgets".into()];
    w.store.put(presubmit("j1", CONTEXT));
    w.store.put(presubmit("j2", "pull-widgets-lint"));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Success, "Job succeeded.");
    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                detail: Detail::GitHub {
                    comment: CommentReport::NotCovered(_),
                    ..
                },
                ..
            }
        ),
        "j2 still runs: {outcome:?}"
    );
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Success, "Job succeeded.");
    w.report("j2").await;
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .starts_with("@alice: every test **passed**.\n"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.ends_with(COMMENT_TAG));
}

#[tokio::test]
async fn a_report_that_changes_no_comment_reads_it_once_and_claims_nothing() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Success, "Job succeeded.");
    let held = w.store.calls().remembers;
    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                detail: Detail::GitHub {
                    comment: CommentReport::Unchanged,
                    ..
                },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(w.store.calls().remembers - held, 0, "no lock taken");
    assert_eq!(
        w.scm
            .calls()
            .iter()
            .filter(|c| matches!(c, ScmCall::ListComments { .. }))
            .count(),
        1,
        "one read of the comments"
    );
}

// ---------------------------------------------------------------------------
// Failed tests, from the jobs' JUnit files

/// Runs job `id` of `context` (build `build`) to a failed, reported end,
/// with `junit` (when given) stored as its `artifacts/junit.xml` first.
async fn fail_with_junit(w: &World, id: &str, context: &str, build: &str, junit: Option<String>) {
    let mut j = presubmit(id, context);
    j.status.build_id = build.into();
    if let (Some(xml), Some(logs)) = (junit, &w.logs) {
        let path = skiff_core::prowjob::artifacts::artifact_path(&j).unwrap();
        logs.put(&path, "artifacts/junit.xml", xml.as_bytes())
            .await
            .unwrap();
        logs.put(&path, "build-log.txt", b"FAIL\n").await.unwrap();
    }
    w.store.put(j);
    w.report(id).await;
    w.advance(id, ProwJobState::Pending, "Job triggered.");
    w.report(id).await;
    w.advance(id, ProwJobState::Failure, "Job failed.");
    w.report(id).await;
}

const SEVEN: [&str; 7] = [
    "TestA", "TestB", "TestC", "TestD", "TestE", "TestF", "TestG",
];

#[tokio::test]
async fn the_failure_comment_names_five_failed_tests_then_counts_the_rest() {
    let w = World::with_logs();
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&SEVEN))).await;
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1);
    let want = failure_comment_with_tests(
        &[row(CONTEXT, URL)],
        &[format!(
            "- `{CONTEXT}`: `TestA`, `TestB`, `TestC`, `TestD`, `TestE` and 2 more ([job page]({URL}))"
        )],
    );
    assert_eq!(comments[0].body, want);
    // The flaky test (failed, then passed) is not named.
    assert!(!want.contains("TestFlaky"));
}

#[tokio::test]
async fn without_logs_or_junit_the_comment_is_prows_byte_for_byte() {
    // A log store, but the job wrote no JUnit.
    let w = World::with_logs();
    fail_with_junit(&w, "j1", CONTEXT, "7", None).await;
    assert_eq!(
        w.scm.comments(42)[0].body,
        failure_comment(&[row(CONTEXT, URL)])
    );
    // No log store: JUnit stored somewhere is not read.
    let w = World::new();
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&["TestA"]))).await;
    assert_eq!(
        w.scm.comments(42)[0].body,
        failure_comment(&[row(CONTEXT, URL)])
    );
    // JUnit with no failed test (the job failed before its tests ran).
    let w = World::with_logs();
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&[]))).await;
    assert_eq!(
        w.scm.comments(42)[0].body,
        failure_comment(&[row(CONTEXT, URL)])
    );
}

#[tokio::test]
async fn a_row_kept_from_an_earlier_comment_keeps_its_failed_tests() {
    let w = World::with_logs();
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&["TestA"]))).await;
    // Another test fails later, with JUnit of its own; then a third with none.
    fail_with_junit(
        &w,
        "j2",
        "pull-widgets-lint",
        "8",
        Some(junit(&["TestLint"])),
    )
    .await;
    fail_with_junit(&w, "j3", "pull-widgets-e2e", "9", None).await;
    let comments = w.scm.comments(42);
    assert_eq!(comments.len(), 1, "each new failure replaces the comment");
    let want = failure_comment_with_tests(
        &[
            row(CONTEXT, URL),
            row("pull-widgets-lint", URL),
            row("pull-widgets-e2e", URL),
        ],
        &[
            format!("- `{CONTEXT}`: `TestA` ([job page]({URL}))"),
            format!("- `pull-widgets-lint`: `TestLint` ([job page]({URL}))"),
        ],
    );
    assert_eq!(comments[0].body, want);
    // When the first test passes, its row and its tests go; the rest stay.
    w.store.put(presubmit("j4", CONTEXT));
    w.advance("j4", ProwJobState::Pending, "Job triggered.");
    w.advance("j4", ProwJobState::Success, "Job succeeded.");
    w.report("j4").await;
    let want = failure_comment_with_tests(
        &[row("pull-widgets-lint", URL), row("pull-widgets-e2e", URL)],
        &[format!(
            "- `pull-widgets-lint`: `TestLint` ([job page]({URL}))"
        )],
    );
    assert_eq!(w.scm.comments(42)[0].body, want);
}

#[tokio::test]
async fn test_names_are_quoted_so_they_cannot_mention_link_or_break_the_comment() {
    let w = World::with_logs();
    let hostile = [
        "@alice `rm -rf` [click](https://evil.example)",
        "line\nbreak",
    ];
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&hostile))).await;
    let body = w.scm.comments(42)[0].body.clone();
    assert!(
        body.contains(&format!(
            "- `{CONTEXT}`: `@alice 'rm -rf' [click](https://evil.example)`, `line break` ([job page]({URL}))"
        )),
        "{body}"
    );
    // The table still reads back as one row.
    assert_eq!(body.matches(&row(CONTEXT, URL)).count(), 1);
}

#[tokio::test]
async fn a_failed_check_run_summary_names_its_failed_tests() {
    let mut w = World::with_logs();
    w.config.prow.skiff.reporting.checks_repos = vec!["acme/widgets".into()];
    w.scm.support_checks();
    fail_with_junit(&w, "j1", CONTEXT, "7", Some(junit(&SEVEN))).await;
    let runs = w.scm.check_runs();
    assert_eq!(runs.len(), 1);
    let run = runs.values().next().unwrap();
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let messages: String = SEVEN[..5]
        .iter()
        .map(|n| format!("- `{n}`: `widgets_test.go:42: {n}: want 3, got 2`\n"))
        .collect();
    assert_eq!(
        run.summary,
        format!(
            "Job failed.\n\n[Job log and artifacts]({URL})\n\n**Failed tests** (7):\n{messages}- and 2 more on the [job page]({URL})"
        )
    );
    // The comment under the same report names them too.
    assert!(w.scm.comments(42)[0].body.contains("`TestE` and 2 more"));
}
