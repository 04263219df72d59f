//! The `reports` queue: a report that cannot be sent now waits there with
//! the state it waits to report. An unfinished state's GitHub report is not
//! recorded, so a queued report of a job that has moved on must not send the
//! old state again (its new state's own change reports that). Against the
//! in-memory twins.

mod support;

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::ports::{Message, PortError};
use skiff_core::prowjob::ProwJobState;
use skiff_local::memory::MemoryQueue;
use skiff_reporter::{Change, ReportMessage, ReporterDeps, handle_reports, report_changes};
use skiff_testkit::{ManualClock, MemoryScm, MemoryStore};
use support::*;

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
    reports: MemoryQueue,
}

impl World {
    fn new() -> Self {
        let clock = clock();
        Self {
            config: Config::default(),
            store: MemoryStore::new(clock.clone()),
            scm: MemoryScm::default(),
            reports: MemoryQueue::new(clock.clone()),
            clock,
        }
    }

    fn deps<'a>(&'a self, scm: &'a Guarded<'a>) -> ReporterDeps<'a> {
        let mut deps = ReporterDeps::new(&self.config, &self.store, scm, self.clock.as_ref());
        deps.reports = Some(&self.reports);
        deps
    }

    fn advance(&self, to: ProwJobState, description: &str) {
        let mut j = self.store.job("j1");
        j.transition(to, now(), description).unwrap();
        j.status.url = URL.into();
        self.store.put(j);
    }

    fn statuses(&self) -> Vec<String> {
        self.scm.statuses().into_iter().map(|s| s.state).collect()
    }

    /// What the queue holds, decoded.
    fn queued(&self) -> Vec<ReportMessage> {
        self.reports
            .sent()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn redeliver(&self, body: &str) {
        let scm = Guarded(&self.scm);
        let message = Message {
            receipt: "r1".into(),
            body: body.into(),
            receive_count: 1,
        };
        let outcome = handle_reports(&[message], &self.deps(&scm)).await;
        assert!(outcome.retry.is_empty(), "{outcome:?}");
    }
}

/// A change of job `j1` that moved it to `state`.
fn change(sequence: &str, state: ProwJobState) -> Change<'_> {
    Change {
        sequence,
        job: "j1",
        state: Some(state),
        new_state: true,
    }
}

#[tokio::test]
async fn a_queued_report_of_a_state_the_job_has_left_sends_nothing() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    // GitHub is down for the triggered report: it waits on the queue.
    w.scm
        .faults()
        .next("create_status", PortError::Unavailable("502".into()));
    {
        let scm = Guarded(&w.scm);
        assert_eq!(
            report_changes(&[change("1", ProwJobState::Triggered)], &w.deps(&scm)).await,
            None
        );
    }
    let queued = w.queued();
    assert_eq!(
        queued,
        [ReportMessage {
            job: "j1".into(),
            state: Some(ProwJobState::Triggered),
        }]
    );

    // The job starts; its change reports pending (not recorded: a status
    // repeats harmlessly).
    w.advance(ProwJobState::Pending, "Job triggered.");
    {
        let scm = Guarded(&w.scm);
        assert_eq!(
            report_changes(&[change("2", ProwJobState::Pending)], &w.deps(&scm)).await,
            None
        );
    }
    let sent = w.statuses().len();

    // The queued triggered report comes back: the job has left triggered,
    // and its pending was reported by its own change.
    w.redeliver(&queued[0].to_body()).await;
    assert_eq!(w.statuses().len(), sent, "no second pending status");
    assert_eq!(w.statuses().last().map(String::as_str), Some("pending"));
}

#[tokio::test]
async fn a_queued_report_of_the_state_the_job_is_still_in_is_sent() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance(ProwJobState::Pending, "Job triggered.");
    let body = ReportMessage {
        job: "j1".into(),
        state: Some(ProwJobState::Pending),
    }
    .to_body();
    w.redeliver(&body).await;
    assert_eq!(w.statuses(), ["pending"]);
}

#[tokio::test]
async fn a_message_queued_before_states_were_kept_reports_the_current_state() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance(ProwJobState::Pending, "Job triggered.");
    w.advance(ProwJobState::Failure, "Job failed.");
    w.redeliver(r#"{"job":"j1"}"#).await;
    assert_eq!(w.statuses(), ["failure"]);
}

#[tokio::test]
async fn a_stream_change_to_a_state_the_record_has_left_reports_nothing() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance(ProwJobState::Pending, "Job triggered.");
    // The stream delivers both changes in one batch, after the job started:
    // the record is read fresh for each, and pending is reported once.
    {
        let scm = Guarded(&w.scm);
        let changes = [
            change("1", ProwJobState::Triggered),
            change("2", ProwJobState::Pending),
        ];
        assert_eq!(report_changes(&changes, &w.deps(&scm)).await, None);
    }
    assert_eq!(w.statuses(), ["pending"]);
    assert!(w.queued().is_empty(), "nothing waits");
}

#[tokio::test]
async fn a_change_that_left_the_state_as_it_was_reports_nothing_as_crier_does() {
    let w = World::new();
    w.store.put(presubmit("j1", CONTEXT));
    w.advance(ProwJobState::Pending, "Job triggered.");
    {
        let scm = Guarded(&w.scm);
        let deps = w.deps(&scm);
        assert_eq!(
            report_changes(&[change("1", ProwJobState::Pending)], &deps).await,
            None
        );
        // The pod is recreated: a new link, the same state.
        let mut j = w.store.job("j1");
        j.status.url = format!("{URL}-2");
        w.store.put(j);
        let same = Change {
            new_state: false,
            ..change("2", ProwJobState::Pending)
        };
        assert_eq!(report_changes(&[same], &deps).await, None);
    }
    assert_eq!(w.statuses(), ["pending"], "pending is reported once");
    assert!(w.queued().is_empty());
}
