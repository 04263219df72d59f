//! The reporter on the embedded SQLite store that `skiff dev` uses: the
//! compare-and-set of `prev_report_states` and the comment lock (`remember`)
//! behave the same as on the in-memory fake.

mod support;

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::ports::{JobStore, PortError};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_local::store::{Db, SqliteStore};
use skiff_reporter::{CommentReport, REPORTER_NAME, Recorded, ReportOutcome, ReporterDeps, report};
use support::*;

async fn advance(store: &SqliteStore, id: &str, to: ProwJobState, description: &str) {
    let mut j = store.get(id).await.unwrap().unwrap();
    j.transition(to, now(), description).unwrap();
    j.status.url = URL.into();
    store.update(&j).await.unwrap();
}

#[tokio::test]
async fn failure_then_pass_on_sqlite() {
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), Arc::new(FixedClock));
    let scm = FakeScm::new();
    let config = Config::default();
    let deps = ReporterDeps::new(&config, &store, &scm, &FixedClock);
    let mut event = ProwJob::default();
    event.metadata.name = "j1".into();

    assert!(store.create(&presubmit("j1", CONTEXT)).await.unwrap());
    report(&event, &deps).await.unwrap();
    assert_eq!(
        report(&event, &deps).await.unwrap(),
        ReportOutcome::AlreadyReported(ProwJobState::Triggered)
    );
    advance(&store, "j1", ProwJobState::Pending, "Job triggered.").await;
    advance(&store, "j1", ProwJobState::Failure, "Job failed.").await;
    let outcome = report(&event, &deps).await.unwrap();
    assert!(
        matches!(
            outcome,
            ReportOutcome::Reported {
                comment: CommentReport::Created { .. },
                recorded: Recorded::Saved,
                ..
            }
        ),
        "{outcome:?}"
    );
    let stored = store.get("j1").await.unwrap().unwrap();
    assert_eq!(
        stored.status.prev_report_states.get(REPORTER_NAME),
        Some(&ProwJobState::Failure)
    );
    assert_eq!(
        scm.comments().last().map(|c| c.body.clone()),
        Some(failure_comment(&[row(CONTEXT, URL)]))
    );

    let rerun = presubmit("j2", CONTEXT);
    assert!(store.create(&rerun).await.unwrap());
    advance(&store, "j2", ProwJobState::Pending, "Job triggered.").await;
    advance(&store, "j2", ProwJobState::Success, "Job succeeded.").await;
    event.metadata.name = "j2".into();
    let outcome = report(&event, &deps).await.unwrap();
    assert!(
        matches!(
            outcome,
            ReportOutcome::Reported {
                comment: CommentReport::Deleted { .. },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(scm.comments().is_empty());
    // The comment lock was released: taking it again succeeds.
    let lock = format!("{REPORTER_NAME}/comment-lock/acme/widgets#42");
    assert!(store.remember(&lock, now()).await.unwrap());
}

#[tokio::test]
async fn a_record_deleted_meanwhile_is_not_reported() {
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), Arc::new(FixedClock));
    let scm = FakeScm::new();
    let config = Config::default();
    let deps = ReporterDeps::new(&config, &store, &scm, &FixedClock);
    let mut event = presubmit("gone", CONTEXT);
    event.status.state = Some(ProwJobState::Failure);
    let outcome = report(&event, &deps).await;
    assert_eq!(
        outcome.map_err(|e: PortError| e.to_string()),
        Ok(ReportOutcome::NotReported(skiff_reporter::Skip::NotStored))
    );
    assert!(scm.calls().is_empty());
}
