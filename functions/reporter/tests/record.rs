//! The reported state's record write after a report was sent: a throttle, a
//! 5xx or a lost answer there (after the SDK's own retries) would fail the
//! whole report, and its retry would write the same commit status a second
//! time. The reporter tries the record again first, so a passing fault costs
//! one more store call and no second status. The job has finished: an
//! unfinished job's GitHub report is not recorded at all. Against the
//! in-memory twins.

mod support;

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::keys;
use skiff_core::ports::PortError;
use skiff_core::prowjob::ProwJobState;
use skiff_reporter::{Next, ReporterDeps, report_and_decide};
use skiff_testkit::{ManualClock, MemoryScm, MemoryStore};
use support::*;

struct World {
    config: Config,
    clock: Arc<ManualClock>,
    store: MemoryStore,
    scm: MemoryScm,
}

impl World {
    fn new() -> Self {
        let clock = clock();
        let w = Self {
            config: Config::default(),
            store: MemoryStore::new(clock.clone()),
            scm: MemoryScm::default(),
            clock,
        };
        let mut j = presubmit("j1", CONTEXT);
        j.transition(ProwJobState::Pending, now(), "Job triggered.")
            .unwrap();
        j.transition(ProwJobState::Success, now(), "Job succeeded.")
            .unwrap();
        j.status.url = URL.into();
        w.store.put(j);
        w
    }

    async fn deliver(&self) -> Next {
        let scm = Guarded(&self.scm);
        let deps = ReporterDeps::new(&self.config, &self.store, &scm, self.clock.as_ref());
        report_and_decide("j1", &deps).await
    }

    fn statuses(&self) -> Vec<String> {
        self.scm.statuses().into_iter().map(|s| s.state).collect()
    }

    fn recorded(&self) -> Option<ProwJobState> {
        self.store
            .job("j1")
            .status
            .prev_report_states
            .get(keys::GITHUB_REPORTER)
            .copied()
    }
}

fn unavailable() -> PortError {
    PortError::Unavailable("DynamoDB UpdateItem: 500 InternalServerError".into())
}

#[tokio::test]
async fn a_failed_record_write_is_tried_again_before_the_report_is() {
    let w = World::new();
    w.store.faults().next("update", unavailable());
    assert_eq!(w.deliver().await, Next::Done);
    assert_eq!(w.statuses(), ["success"], "one status, written once");
    assert_eq!(w.recorded(), Some(ProwJobState::Success));
}

#[tokio::test]
async fn a_record_write_whose_answer_was_lost_is_found_written_on_reload() {
    let w = World::new();
    w.store.faults().lose_answer("update", unavailable());
    assert_eq!(w.deliver().await, Next::Done);
    assert_eq!(w.statuses(), ["success"]);
    assert_eq!(w.recorded(), Some(ProwJobState::Success));
}

#[tokio::test]
async fn a_store_that_stays_down_fails_the_report_for_a_retry_later() {
    let w = World::new();
    for _ in 0..3 {
        w.store.faults().next("update", unavailable());
    }
    assert_eq!(w.deliver().await, Next::Retry);
    assert_eq!(
        w.recorded(),
        None,
        "nothing recorded: the report comes back"
    );
    assert_eq!(w.deliver().await, Next::Done);
    assert_eq!(
        w.statuses(),
        ["success", "success"],
        "only a report given up for a retry writes its status again"
    );
}
