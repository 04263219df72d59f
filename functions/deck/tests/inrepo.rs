//! The job page of a job defined in a repo's `.prow.yaml`: the deck handler
//! over the embedded SQLite store, as both front ends call it.

use skiff_core::config::inrepo::SOURCE_ANNOTATION;
use skiff_core::ports::JobStore;
use skiff_deck::{DeckOptions, DeckRequest, Deps, fixtures};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::ManualClock;
use skiff_local::store::SqliteStore;

const NOW: &str = "2026-12-04T12:00:00Z";

#[tokio::test]
async fn the_job_page_marks_an_in_repo_job_with_the_commit_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in_memory().unwrap();
    let logs = FsLogStore::new(dir.path().join("logs"));
    let clock = ManualClock::new(NOW.parse().unwrap());
    let options = DeckOptions::default();
    let mut in_repo = fixtures::job(5, 10, NOW.parse().unwrap());
    in_repo
        .metadata
        .annotations
        .insert(SOURCE_ANNOTATION.into(), ".prow.yaml@9f8e7d6c".into());
    let central = fixtures::job(6, 10, NOW.parse().unwrap());
    store.create(&in_repo).await.unwrap();
    store.create(&central).await.unwrap();
    let deps = Deps {
        store: &store,
        logs: &logs,
        config: None,
        clock: &clock,
        clusters: None,
        options: &options,
        operator: None,
        viewer: None,
    };
    let page = |id: String| {
        let deps = &deps;
        async move {
            let r = skiff_deck::handle(&DeckRequest::get(&format!("/jobs/{id}")), deps).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.text()
        }
    };
    let html = page(in_repo.metadata.name.clone()).await;
    assert!(
        html.contains(
            "<dt>Defined in</dt><dd class=\"in-repo\">in-repo config <code>.prow.yaml@9f8e7d6c</code></dd>"
        ),
        "{html}"
    );
    let html = page(central.metadata.name.clone()).await;
    assert!(!html.contains("Defined in"), "{html}");
}

#[tokio::test]
async fn the_job_list_marks_in_repo_jobs_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in_memory().unwrap();
    let logs = FsLogStore::new(dir.path().join("logs"));
    let clock = ManualClock::new(NOW.parse().unwrap());
    let options = DeckOptions::default();
    let mut in_repo = fixtures::job(5, 10, NOW.parse().unwrap());
    in_repo.spec.job = "pull-from-prow-yaml".into();
    in_repo
        .metadata
        .annotations
        .insert(SOURCE_ANNOTATION.into(), ".prow.yaml@9f8e7d6c".into());
    let mut central = fixtures::job(6, 10, NOW.parse().unwrap());
    central.spec.job = "pull-from-central-config".into();
    store.create(&in_repo).await.unwrap();
    store.create(&central).await.unwrap();
    let deps = Deps {
        store: &store,
        logs: &logs,
        config: None,
        clock: &clock,
        clusters: None,
        options: &options,
        operator: None,
        viewer: None,
    };
    let r = skiff_deck::handle(&DeckRequest::get("/"), &deps).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let cell = |job: &str| {
        let start = html
            .find(&format!(">{job}</a>"))
            .unwrap_or_else(|| panic!("{job} listed: {html}"));
        let end = start + html[start..].find("</td>").unwrap();
        html[start..end].to_string()
    };
    assert!(
        cell("pull-from-prow-yaml").contains(
            "<small class=\"in-repo\" title=\"defined in .prow.yaml@9f8e7d6c\">in-repo</small>"
        ),
        "{html}"
    );
    assert!(
        !cell("pull-from-central-config").contains("in-repo"),
        "{html}"
    );
}
