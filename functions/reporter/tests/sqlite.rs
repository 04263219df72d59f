//! The reporter on the embedded SQLite store that `skiff dev` uses: the
//! compare-and-set of `prev_report_states` and the comment lock (`remember`)
//! behave the same as on the in-memory twin.

mod support;

use skiff_core::config::Config;
use skiff_core::keys::GITHUB_REPORTER;
use skiff_core::ports::{JobStore, PortError};
use skiff_core::prowjob::ProwJobState;
use skiff_local::store::{Db, SqliteStore};
use skiff_reporter::{
    CommentReport, Detail, GitHubReporter, Outcome, Recorded, ReporterDeps, report_one,
};
use skiff_testkit::MemoryScm;
use support::*;

async fn advance(store: &SqliteStore, id: &str, to: ProwJobState, description: &str) {
    let mut j = store.get(id).await.unwrap().unwrap();
    j.transition(to, now(), description).unwrap();
    j.status.url = URL.into();
    store.update(&j).await.unwrap();
}

#[tokio::test]
async fn failure_then_pass_on_sqlite() {
    let clock = clock();
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), clock.clone());
    let scm = MemoryScm::default();
    let config = Config::default();
    let guarded = Guarded(&scm);
    let deps = ReporterDeps::new(&config, &store, &guarded, clock.as_ref());
    // The reporter reads the record itself; only the id matters here.
    let mut event = "j1";

    assert!(store.create(&presubmit("j1", CONTEXT)).await.unwrap());
    report_one(&GitHubReporter, event, &deps).await.unwrap();
    advance(&store, "j1", ProwJobState::Pending, "Job triggered.").await;
    advance(&store, "j1", ProwJobState::Failure, "Job failed.").await;
    let outcome = report_one(&GitHubReporter, event, &deps).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                detail: Detail::GitHub {
                    comment: CommentReport::Created { .. },
                    ..
                },
                recorded: Recorded::Saved,
                ..
            }
        ),
        "{outcome:?}"
    );
    let stored = store.get("j1").await.unwrap().unwrap();
    assert_eq!(
        stored.status.prev_report_states.get(GITHUB_REPORTER),
        Some(&ProwJobState::Failure)
    );
    assert_eq!(
        stored.metadata.resource_version, "4",
        "created, pending, failed, and the failure recorded: triggered was not"
    );
    assert_eq!(
        report_one(&GitHubReporter, event, &deps).await.unwrap(),
        Outcome::AlreadyReported(ProwJobState::Failure)
    );
    assert_eq!(
        scm.comments(42).last().map(|c| c.body.clone()),
        Some(failure_comment(&[row(CONTEXT, URL)]))
    );

    let rerun = presubmit("j2", CONTEXT);
    assert!(store.create(&rerun).await.unwrap());
    advance(&store, "j2", ProwJobState::Pending, "Job triggered.").await;
    advance(&store, "j2", ProwJobState::Success, "Job succeeded.").await;
    event = "j2";
    let outcome = report_one(&GitHubReporter, event, &deps).await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Reported {
                detail: Detail::GitHub {
                    comment: CommentReport::Deleted { .. },
                    ..
                },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(scm.comments(42).is_empty());
}

#[tokio::test]
async fn a_record_deleted_meanwhile_is_not_reported() {
    let clock = clock();
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), clock.clone());
    let scm = MemoryScm::default();
    let config = Config::default();
    let guarded = Guarded(&scm);
    let deps = ReporterDeps::new(&config, &store, &guarded, clock.as_ref());
    // The change names a failed job whose record is gone by now.
    let mut event = presubmit("gone", CONTEXT);
    event.status.state = Some(ProwJobState::Failure);
    let outcome = report_one(&GitHubReporter, &event.metadata.name, &deps).await;
    assert_eq!(
        outcome.map_err(|e: PortError| e.to_string()),
        Ok(Outcome::NotReported(skiff_reporter::Skip::NotStored))
    );
    assert!(scm.calls().is_empty());
}
