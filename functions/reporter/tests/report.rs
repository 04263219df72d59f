//! The reporter against in-memory fakes: a code host that records every call
//! and keeps the pull request's comments, and a job store with Skiff's
//! compare-and-set semantics. Each test pins one of crier's rules.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::event::PullRequest;
use skiff_core::ports::{
    Clock, Comment, CommitStatus, JobQuery, JobStore, PortError, PortResult, Scm,
};
use skiff_core::prowjob::labels::{GERRIT_REPORT_LABEL, IS_OPTIONAL};
use skiff_core::prowjob::{ProwJob, ProwJobSpec, ProwJobState, ProwJobType, Pull, Refs};
use skiff_reporter::{
    COMMENT_TAG, CommentReport, REPORTER_NAME, ReportOutcome, ReporterDeps, Recorded, Skip,
    StatusReport, report,
};

const BASE_SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const HEAD_SHA: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
const CONTEXT: &str = "pull-widgets-unit";
const URL: &str = "https://deck.example/view/s3/logs/pull-widgets-unit/7";
const PAD: char = '\u{2001}';

// ---------------------------------------------------------------------------
// Fakes

#[derive(Clone, Debug, PartialEq)]
enum Call {
    Status { sha: String, status: CommitStatus },
    List { number: i64 },
    Create { number: i64, body: String },
    Edit { id: i64, body: String },
    Delete { id: i64 },
}

struct FakeScm {
    calls: Mutex<Vec<Call>>,
    comments: Mutex<Vec<Comment>>,
    next_id: Mutex<i64>,
    status_error: Mutex<Option<PortError>>,
}

impl FakeScm {
    fn new() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            comments: Mutex::new(Vec::new()),
            next_id: Mutex::new(100),
            status_error: Mutex::new(None),
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn comments(&self) -> Vec<Comment> {
        self.comments.lock().unwrap().clone()
    }

    fn seed_comment(&self, author: &str, body: &str) -> i64 {
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        self.comments.lock().unwrap().push(Comment {
            id: *next,
            author: author.into(),
            body: body.into(),
        });
        *next
    }

    fn statuses(&self) -> Vec<CommitStatus> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Status { status, .. } => Some(status),
                _ => None,
            })
            .collect()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait]
impl Scm for FakeScm {
    fn bot_login(&self) -> &str {
        "skiff-bot"
    }
    async fn pull_request(&self, _: &str, _: &str, _: i64) -> PortResult<PullRequest> {
        unreachable!("the reporter asks no facts")
    }
    async fn changed_files(&self, _: &str, _: &str, _: i64) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_member(&self, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn is_collaborator(&self, _: &str, _: &str, _: &str) -> PortResult<bool> {
        unreachable!("the reporter asks no facts")
    }
    async fn branch_sha(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn comment_body(&self, _: &str, _: &str, _: &str) -> PortResult<String> {
        unreachable!("the reporter asks no facts")
    }
    async fn compare_files(&self, _: &str, _: &str, _: &str, _: &str) -> PortResult<Vec<String>> {
        unreachable!("the reporter asks no facts")
    }
    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        assert_eq!((org, repo), ("acme", "widgets"));
        self.record(Call::Status {
            sha: sha.into(),
            status: status.clone(),
        });
        match self.status_error.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    async fn list_comments(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.record(Call::List { number });
        Ok(self.comments())
    }
    async fn create_comment(&self, _: &str, _: &str, number: i64, body: &str) -> PortResult<()> {
        self.record(Call::Create {
            number,
            body: body.into(),
        });
        self.seed_comment("skiff-bot", body);
        Ok(())
    }
    async fn edit_comment(&self, _: &str, _: &str, id: i64, body: &str) -> PortResult<()> {
        self.record(Call::Edit {
            id,
            body: body.into(),
        });
        for c in self.comments.lock().unwrap().iter_mut() {
            if c.id == id {
                c.body = body.into();
            }
        }
        Ok(())
    }
    async fn delete_comment(&self, _: &str, _: &str, id: i64) -> PortResult<()> {
        self.record(Call::Delete { id });
        self.comments.lock().unwrap().retain(|c| c.id != id);
        Ok(())
    }
    async fn add_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
    async fn remove_label(&self, _: &str, _: &str, _: i64, _: &str) -> PortResult<()> {
        unreachable!("the reporter sets no labels")
    }
}

/// A job store with compare-and-set on `resource_version`.
#[derive(Default)]
struct MemStore {
    jobs: Mutex<HashMap<String, ProwJob>>,
    keys: Mutex<HashMap<String, Timestamp>>,
    version: Mutex<u64>,
    /// Written (as another writer would) just before the next update, which
    /// then loses with a conflict.
    interference: Mutex<Option<ProwJob>>,
}

impl MemStore {
    fn put(&self, mut job: ProwJob) -> ProwJob {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        job.metadata.resource_version = v.to_string();
        self.jobs
            .lock()
            .unwrap()
            .insert(job.metadata.name.clone(), job.clone());
        job
    }

    fn stored(&self, id: &str) -> ProwJob {
        self.jobs.lock().unwrap().get(id).cloned().unwrap()
    }
}

#[async_trait]
impl JobStore for MemStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        if self.jobs.lock().unwrap().contains_key(&job.metadata.name) {
            return Ok(false);
        }
        self.put(job.clone());
        Ok(true)
    }
    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        Ok(self.jobs.lock().unwrap().get(id).cloned())
    }
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        if let Some(other) = self.interference.lock().unwrap().take() {
            self.put(other);
        }
        let current = self.jobs.lock().unwrap().get(&job.metadata.name).cloned();
        match current {
            None => Err(PortError::NotFound(job.metadata.name.clone())),
            Some(c) if c.metadata.resource_version != job.metadata.resource_version => {
                Err(PortError::Conflict(job.metadata.name.clone()))
            }
            Some(_) => Ok(self.put(job.clone())),
        }
    }
    async fn list(&self, query: &JobQuery, _limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        let JobQuery::Pull { org, repo, number } = query else {
            unreachable!("the reporter lists only a pull's jobs")
        };
        Ok(self
            .jobs
            .lock()
            .unwrap()
            .values()
            .filter(|j| {
                j.spec.refs.as_ref().is_some_and(|r| {
                    &r.org == org
                        && &r.repo == repo
                        && r.pulls.first().is_some_and(|p| p.number == *number)
                })
            })
            .cloned()
            .collect())
    }
    async fn delete(&self, id: &str) -> PortResult<()> {
        self.jobs.lock().unwrap().remove(id);
        Ok(())
    }
    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        let mut keys = self.keys.lock().unwrap();
        if keys.get(key).is_some_and(|e| *e > now()) {
            return Ok(false);
        }
        keys.insert(key.into(), expires);
        Ok(true)
    }
    async fn forget(&self, key: &str) -> PortResult<()> {
        self.keys.lock().unwrap().remove(key);
        Ok(())
    }
}

fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        now()
    }
}

// ---------------------------------------------------------------------------
// Scenario helpers

struct World {
    config: Config,
    store: MemStore,
    scm: FakeScm,
}

impl World {
    fn new() -> Self {
        Self {
            config: Config::default(),
            store: MemStore::default(),
            scm: FakeScm::new(),
        }
    }

    async fn report(&self, id: &str) -> ReportOutcome {
        self.try_report(id).await.unwrap()
    }

    async fn try_report(&self, id: &str) -> PortResult<ReportOutcome> {
        let deps = ReporterDeps {
            config: &self.config,
            store: &self.store,
            scm: &self.scm,
            clock: &FixedClock,
        };
        // The reporter reads the record itself; only the id matters here.
        let mut event = ProwJob::default();
        event.metadata.name = id.into();
        report(&event, &deps).await
    }

    /// Moves a stored job along the state machine, as the syncer would.
    fn advance(&self, id: &str, to: ProwJobState, description: &str) {
        let mut j = self.store.stored(id);
        j.transition(to, now(), description).unwrap();
        if to == ProwJobState::Pending {
            j.status.url = URL.into();
        }
        self.store.put(j);
    }

    fn abort(&self, id: &str) {
        let mut j = self.store.stored(id);
        j.transition(ProwJobState::Aborted, now(), "Aborted by trigger plugin.")
            .unwrap();
        j.complete_abort(now()).unwrap();
        self.store.put(j);
    }
}

fn presubmit(id: &str, context: &str) -> ProwJob {
    let mut j = ProwJob {
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            job: context.into(),
            context: context.into(),
            rerun_command: format!("/test {context}"),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: BASE_SHA.into(),
                pulls: vec![Pull {
                    number: 42,
                    author: "alice".into(),
                    sha: HEAD_SHA.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    j.metadata.name = id.into();
    j.metadata.creation_timestamp = Some(now());
    j.metadata.labels.insert(IS_OPTIONAL.into(), "false".into());
    j.status.state = Some(ProwJobState::Triggered);
    j.status.description = "Job triggered.".into();
    j
}

fn padded(description: &str) -> String {
    let pads = 140 - description.chars().count() - " BaseSHA:".len() - BASE_SHA.len();
    format!(
        "{description}{} BaseSHA:{BASE_SHA}",
        PAD.to_string().repeat(pads)
    )
}

fn row(context: &str, url: &str) -> String {
    format!("{context} | {HEAD_SHA} | [link]({url}) | true | `/test {context}`")
}

/// The failure comment, pinned word for word.
fn failure_comment(rows: &[String]) -> String {
    let noun = if rows.len() == 1 {
        "1 test".to_owned()
    } else {
        format!("{} tests", rows.len())
    };
    format!(
        "@alice: {noun} **failed**. Comment `/retest` to rerun every failed test, or `/retest-required` to rerun only the failed required ones:\n\
         \n\
         Test name | Commit | Details | Required | Rerun command\n\
         --- | --- | --- | --- | ---\n\
         {}\n\
         \n\
         <details>\n\
         \n\
         This comment is kept up to date by Skiff's reporter: each row is the latest failed run of a test on this pull request, and a row goes away once that test passes. Comment `/test <name>` to run a single test again.\n\
         </details>\n\
         {COMMENT_TAG}",
        rows.join("\n")
    )
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
        ReportOutcome::Reported {
            state: ProwJobState::Triggered,
            status: StatusReport::Sent {
                sha: HEAD_SHA.into(),
                status: triggered.clone()
            },
            comment: CommentReport::NotCovered("no completed job to report"),
            recorded: Recorded::Saved,
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
        w.scm
            .calls()
            .iter()
            .all(|c| matches!(c, Call::Status { sha, .. } if sha == HEAD_SHA) || matches!(c, Call::List { .. })),
        "statuses go on the pull's head SHA: {:?}",
        w.scm.calls()
    );
    assert_eq!(
        w.store.stored("j1").status.prev_report_states.get(REPORTER_NAME),
        Some(&ProwJobState::Success)
    );
}

#[tokio::test]
async fn a_300_character_description_becomes_exactly_140_with_the_base_sha() {
    let w = World::new();
    let mut j = presubmit("j1", CONTEXT);
    let long: String = (0..300).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    j.status.description = long.clone();
    w.store.put(j);
    w.report("j1").await;
    let d = &w.scm.statuses()[0].description;
    assert_eq!(d.chars().count(), 140);
    assert_eq!(
        *d,
        format!("{} ... {} BaseSHA:{BASE_SHA}", &long[..43], &long[300 - 43..])
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
        matches!(&outcome, ReportOutcome::Reported { status: StatusReport::Sent { sha, .. }, comment: CommentReport::NotCovered(_), .. } if sha == BASE_SHA),
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
            ReportOutcome::Reported {
                state: ProwJobState::Aborted,
                comment: CommentReport::Unchanged,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(!w.scm.calls().iter().any(|c| matches!(c, Call::Create { .. })));
}

#[tokio::test]
async fn every_state_is_reported_once() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.report("j1").await;
    assert_eq!(
        w.report("j1").await,
        ReportOutcome::AlreadyReported(ProwJobState::Triggered)
    );
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.report("j1").await;
    assert_eq!(
        w.report("j1").await,
        ReportOutcome::AlreadyReported(ProwJobState::Pending)
    );
    w.advance("j1", ProwJobState::Error, "Job pod was OOM killed by the cluster.");
    w.report("j1").await;
    w.report("j1").await;
    let states: Vec<String> = w.scm.statuses().into_iter().map(|s| s.state).collect();
    assert_eq!(states, vec!["pending", "pending", "error"]);
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
        ReportOutcome::AlreadyReported(ProwJobState::Success)
    );
}

#[tokio::test]
async fn a_lost_compare_and_set_is_retried_on_the_fresh_record() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    let mut moved = w.store.stored("j1");
    moved.transition(ProwJobState::Pending, now(), "Job triggered.").unwrap();
    *w.store.interference.lock().unwrap() = Some(moved);

    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            ReportOutcome::Reported {
                state: ProwJobState::Triggered,
                recorded: Recorded::Saved,
                ..
            }
        ),
        "{outcome:?}"
    );
    let stored = w.store.stored("j1");
    assert_eq!(stored.status.state, Some(ProwJobState::Pending));
    assert_eq!(
        stored.status.prev_report_states.get(REPORTER_NAME),
        Some(&ProwJobState::Triggered),
        "the new state differs, so it is reported on its own change"
    );
    w.report("j1").await;
    let states: Vec<String> = w.scm.statuses().into_iter().map(|s| s.state).collect();
    assert_eq!(states, vec!["pending", "pending"]);
}

#[tokio::test]
async fn a_newer_state_already_reported_is_not_overwritten() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    let mut newer = w.store.stored("j1");
    newer.transition(ProwJobState::Pending, now(), "Job triggered.").unwrap();
    newer
        .status
        .prev_report_states
        .insert(REPORTER_NAME.into(), ProwJobState::Pending);
    *w.store.interference.lock().unwrap() = Some(newer);
    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            ReportOutcome::Reported {
                recorded: Recorded::AlreadyNewer,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        w.store.stored("j1").status.prev_report_states.get(REPORTER_NAME),
        Some(&ProwJobState::Pending)
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
        assert_eq!(w.report("j1").await, ReportOutcome::NotReported(skip));
        assert!(w.scm.calls().is_empty(), "{skip:?}");
    }
    let w = World::new();
    assert_eq!(
        w.report("gone").await,
        ReportOutcome::NotReported(Skip::NotStored)
    );
}

#[tokio::test]
async fn job_types_to_report_narrows_what_is_reported() {
    let mut w = World::new();
    w.config.prow.github_reporter.job_types_to_report = vec![ProwJobType::Postsubmit];
    w.store.put(presubmit("j1", CONTEXT));
    assert_eq!(
        w.report("j1").await,
        ReportOutcome::NotReported(Skip::TypeNotReported)
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
    ));
    *w.scm.status_error.lock().unwrap() = Some(error.clone());
    let outcome = w.report("j1").await;
    assert_eq!(
        outcome,
        ReportOutcome::Reported {
            state: ProwJobState::Failure,
            status: StatusReport::Dropped {
                sha: HEAD_SHA.into(),
                error: error.to_string()
            },
            comment: CommentReport::NotCovered("the status was dropped"),
            recorded: Recorded::Saved,
        }
    );
    assert_eq!(w.scm.calls().len(), 1, "no comment after a dropped status");
    assert_eq!(
        w.report("j1").await,
        ReportOutcome::AlreadyReported(ProwJobState::Failure)
    );
}

#[tokio::test]
async fn other_status_errors_are_returned_and_nothing_is_recorded() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    *w.scm.status_error.lock().unwrap() =
        Some(PortError::Unavailable("POST /x: HTTP 502: bad gateway".into()));
    let e = w.try_report("j1").await.unwrap_err();
    assert!(e.is_retryable());
    assert!(w.store.stored("j1").status.prev_report_states.is_empty());
    *w.scm.status_error.lock().unwrap() = None;
    assert!(matches!(w.report("j1").await, ReportOutcome::Reported { .. }));
    assert_eq!(w.scm.statuses().len(), 2, "the retry sends the status again");
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
        matches!(&outcome, ReportOutcome::Reported { comment: CommentReport::Created { deleted }, .. } if deleted.is_empty()),
        "{outcome:?}"
    );
    let body = failure_comment(&[row(CONTEXT, URL)]);
    assert_eq!(
        w.scm.calls()[1..],
        [
            Call::List { number: 42 },
            Call::Create {
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
    assert_eq!(w.scm.comments().len(), 1);
    let id = w.scm.comments()[0].id;

    w.store.put(presubmit("j2", CONTEXT));
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Success, "Job succeeded.");
    let outcome = w.report("j2").await;
    assert!(
        matches!(&outcome, ReportOutcome::Reported { comment: CommentReport::Deleted { ids }, .. } if *ids == vec![id]),
        "{outcome:?}"
    );
    assert!(w.scm.comments().is_empty());
}

#[tokio::test]
async fn a_later_success_edits_the_comment_when_other_rows_remain() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    fail(&w, "j2", "pull-widgets-lint").await;
    let comments = w.scm.comments();
    assert_eq!(comments.len(), 1, "the second failure replaced the first comment");
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
        matches!(&outcome, ReportOutcome::Reported { comment: CommentReport::Edited { id: edited, deleted }, .. } if *edited == id && deleted.is_empty()),
        "{outcome:?}"
    );
    let want = failure_comment(&[row("pull-widgets-lint", URL)]);
    assert!(w.scm.calls().contains(&Call::Edit {
        id,
        body: want.clone()
    }));
    assert_eq!(w.scm.comments()[0].body, want);
}

#[tokio::test]
async fn a_new_failure_posts_a_new_comment_before_deleting_the_old_one() {
    let w = World::new();
    fail(&w, "j1", CONTEXT).await;
    let old = w.scm.comments()[0].id;
    w.store.put(presubmit("j2", "pull-widgets-lint"));
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Failure, "Job failed.");
    let outcome = w.report("j2").await;
    assert!(
        matches!(&outcome, ReportOutcome::Reported { comment: CommentReport::Created { deleted }, .. } if *deleted == vec![old]),
        "{outcome:?}"
    );
    let body = failure_comment(&[row(CONTEXT, URL), row("pull-widgets-lint", URL)]);
    assert_eq!(
        w.scm.calls()[1..],
        [
            Call::List { number: 42 },
            Call::Create { number: 42, body },
            Call::Delete { id: old },
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
            ReportOutcome::Reported {
                comment: CommentReport::Unchanged,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(
        !w.scm
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Edit { .. } | Call::Create { .. } | Call::Delete { .. }))
    );
}

#[tokio::test]
async fn other_peoples_comments_and_untagged_bot_comments_are_not_touched() {
    let w = World::new();
    let human = w.scm.seed_comment(
        "alice",
        &format!("quoting the bot:\n--- | ---\nfake | row\n\n{COMMENT_TAG}"),
    );
    let untagged = w.scm.seed_comment("skiff-bot", "--- | ---\nunit | x");
    fail(&w, "j1", CONTEXT).await;
    let ids: Vec<i64> = w.scm.comments().iter().map(|c| c.id).collect();
    assert!(ids.contains(&human) && ids.contains(&untagged));
    assert_eq!(
        w.scm.comments().last().map(|c| c.body.clone()),
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
                ReportOutcome::Reported {
                    comment: CommentReport::OptedOut,
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
    let body = w.scm.comments()[0].body.clone();
    let table_end = format!("{}\n\n[History](https://deck.example/pr-history?org=acme&repo=widgets&pr=42)\n\n<details>", row(CONTEXT, URL));
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
            ReportOutcome::Reported {
                comment: CommentReport::NotCovered(_),
                ..
            }
        ),
        "j2 still runs: {outcome:?}"
    );
    w.advance("j2", ProwJobState::Pending, "Job triggered.");
    w.advance("j2", ProwJobState::Success, "Job succeeded.");
    w.report("j2").await;
    let comments = w.scm.comments();
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
async fn a_busy_comment_lock_makes_the_report_retry_later() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance("j1", ProwJobState::Pending, "Job triggered.");
    w.advance("j1", ProwJobState::Failure, "Job failed.");
    let lock = format!("{REPORTER_NAME}/comment-lock/acme/widgets#42");
    w.store
        .keys
        .lock()
        .unwrap()
        .insert(lock.clone(), "2026-11-23T10:01:00Z".parse().unwrap());
    let e = w.try_report("j1").await.unwrap_err();
    assert!(matches!(e, PortError::Unavailable(_)), "{e}");
    assert!(w.store.stored("j1").status.prev_report_states.is_empty());
    w.store.keys.lock().unwrap().remove(&lock);
    let outcome = w.report("j1").await;
    assert!(
        matches!(
            outcome,
            ReportOutcome::Reported {
                comment: CommentReport::Created { .. },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(
        w.store.keys.lock().unwrap().is_empty(),
        "the lock is released after the update"
    );
}
