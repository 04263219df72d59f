//! What the SQLite adapters promise beyond the shared suites: their exact
//! versions and defaults, persistence across reopening, and their limits.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::ports::{Claim, JobQuery, JobStore, PortError, Queue};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_local::memory::ManualClock;
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn record(id: &str, start: &str) -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = id.into();
    j.spec.job = "unit".into();
    j.status.start_time = Some(ts(start));
    j.status.state = Some(ProwJobState::Triggered);
    j
}

fn manual_queue(db: &Db, name: &str, clock: &Arc<ManualClock>) -> SqliteQueue {
    let opts = QueueOptions {
        clock: clock.clone(),
        ..QueueOptions::default()
    };
    SqliteQueue::new(db.clone(), name, opts).unwrap()
}

#[tokio::test]
async fn resource_versions_count_up_from_one() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut j = record("v", "2026-03-01T00:00:00Z");
    j.metadata.resource_version = "41".into();
    assert!(store.create(&j).await.unwrap());
    let v1 = store.get("v").await.unwrap().unwrap();
    assert_eq!(
        v1.metadata.resource_version, "1",
        "create ignores the caller's version"
    );
    let v2 = store.update(&v1).await.unwrap();
    assert_eq!(v2.metadata.resource_version, "2");
    let v3 = store.update(&v2).await.unwrap();
    assert_eq!(v3.metadata.resource_version, "3");
}

#[tokio::test]
async fn update_returns_the_record_as_stored_with_whole_second_times() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .create(&record("t", "2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let mut j = store.get("t").await.unwrap().unwrap();
    j.status.pending_time = Some(ts("2026-03-01T00:00:05.75Z"));
    let updated = store.update(&j).await.unwrap();
    assert_eq!(
        updated.status.pending_time,
        Some(ts("2026-03-01T00:00:05Z"))
    );
    assert_eq!(store.get("t").await.unwrap(), Some(updated));
}

#[tokio::test]
async fn records_without_a_start_time_list_last() {
    let store = SqliteStore::open_in_memory().unwrap();
    let mut unstarted = record("z-unstarted", "2026-03-01T00:00:00Z");
    unstarted.status.start_time = None;
    store.create(&unstarted).await.unwrap();
    store
        .create(&record("a-started", "2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let all = store.list(&JobQuery::All, None).await.unwrap();
    let ids: Vec<_> = all.iter().map(|j| j.metadata.name.as_str()).collect();
    assert_eq!(ids, ["a-started", "z-unstarted"]);
}

#[tokio::test]
async fn records_keys_and_messages_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    let clock = Arc::new(ManualClock::new(ts("2026-03-01T00:00:00Z")));
    {
        let db = Db::open(&path).unwrap();
        let store = SqliteStore::new(db.clone(), clock.clone());
        store
            .create(&record("kept", "2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let v1 = store.get("kept").await.unwrap().unwrap();
        store.update(&v1).await.unwrap();
        assert!(
            store
                .remember("delivery-1", ts("2026-03-02T00:00:00Z"))
                .await
                .unwrap()
        );
        let q = manual_queue(&db, "events", &clock);
        q.send(&["in flight".into(), "waiting".into()])
            .await
            .unwrap();
        assert_eq!(q.receive(1).await.unwrap()[0].body, "in flight");
    }
    let db = Db::open(&path).unwrap();
    let store = SqliteStore::new(db.clone(), clock.clone());
    let kept = store.get("kept").await.unwrap().unwrap();
    assert_eq!(kept.metadata.resource_version, "2");
    assert!(
        !store
            .remember("delivery-1", ts("2026-03-02T00:00:00Z"))
            .await
            .unwrap()
    );
    let q = manual_queue(&db, "events", &clock);
    let got = q.receive(10).await.unwrap();
    assert_eq!(
        got.len(),
        1,
        "the in-flight message stays invisible: {got:?}"
    );
    assert_eq!(got[0].body, "waiting");
    q.ack(&[got[0].receipt.clone()]).await.unwrap();
    clock.advance(Duration::from_secs(30));
    let again = q.receive(10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        ("in flight", 2)
    );
}

#[tokio::test]
async fn dedupe_keys_expire_on_the_store_clock() {
    let clock = Arc::new(ManualClock::new(ts("2026-03-01T00:00:00Z")));
    let store = SqliteStore::new(Db::open_in_memory().unwrap(), clock.clone());
    let expires = ts("2026-03-01T00:00:10Z");
    assert!(store.remember("k", expires).await.unwrap());
    clock.advance(Duration::from_millis(9_999));
    assert!(
        !store.remember("k", expires).await.unwrap(),
        "live until it expires"
    );
    clock.set(expires);
    assert!(
        store
            .remember("k", ts("2026-03-01T00:01:00Z"))
            .await
            .unwrap(),
        "gone at expiry"
    );
    assert!(
        !store
            .remember("k", ts("2026-03-01T00:01:00Z"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn queue_defaults_are_sqs_defaults() {
    let clock = Arc::new(ManualClock::new(ts("2026-03-01T00:00:00Z")));
    let db = Db::open_in_memory().unwrap();
    let q = manual_queue(&db, "dispatch", &clock);
    q.send(&["job".into()]).await.unwrap();
    for n in 1..=5 {
        let got = q.receive(10).await.unwrap();
        assert_eq!(got.len(), 1, "delivery {n}");
        assert_eq!(got[0].receive_count, n);
        clock.advance(Duration::from_millis(29_999));
        assert!(q.receive(10).await.unwrap().is_empty(), "hidden for 30 s");
        clock.advance(Duration::from_millis(1));
    }
    assert!(
        q.receive(10).await.unwrap().is_empty(),
        "a sixth delivery is dead-lettered"
    );
    assert_eq!(q.dead_letters().await.unwrap(), ["job"]);
    let dlq = manual_queue(&db, "dispatch-dlq", &clock);
    let dead = dlq.receive(10).await.unwrap();
    assert_eq!(dead.len(), 1, "the dead-letter queue is a queue too");
    assert_eq!((dead[0].body.as_str(), dead[0].receive_count), ("job", 1));
}

#[tokio::test]
async fn receive_takes_exactly_max_oldest_first() {
    let clock = Arc::new(ManualClock::new(ts("2026-03-01T00:00:00Z")));
    let q = manual_queue(&Db::open_in_memory().unwrap(), "q", &clock);
    let sent: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
    q.send(&sent).await.unwrap();
    let bodies = |ms: Vec<skiff_core::ports::Message>| -> Vec<String> {
        ms.into_iter().map(|m| m.body).collect()
    };
    assert_eq!(bodies(q.receive(2).await.unwrap()), ["m0", "m1"]);
    assert_eq!(bodies(q.receive(0).await.unwrap()), Vec::<String>::new());
    assert_eq!(bodies(q.receive(10).await.unwrap()), ["m2", "m3", "m4"]);
}

#[tokio::test]
async fn receipts_from_elsewhere_are_rejected_or_ignored() {
    let clock = Arc::new(ManualClock::new(ts("2026-03-01T00:00:00Z")));
    let db = Db::open_in_memory().unwrap();
    let a = manual_queue(&db, "a", &clock);
    let b = manual_queue(&db, "b", &clock);
    a.send(&["x".into()]).await.unwrap();
    let m = a.receive(1).await.unwrap().remove(0);

    let err = a.ack(&["garbage".into()]).await;
    assert!(matches!(err, Err(PortError::Rejected(_))), "{err:?}");
    let err = a.retry_later("garbage", Duration::ZERO).await;
    assert!(matches!(err, Err(PortError::Rejected(_))), "{err:?}");

    b.ack(std::slice::from_ref(&m.receipt)).await.unwrap();
    b.retry_later(&m.receipt, Duration::ZERO).await.unwrap();
    assert!(
        a.receive(1).await.unwrap().is_empty(),
        "another queue's ack or retry did nothing"
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(a.receive(1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_queue_options_are_rejected() {
    let db = Db::open_in_memory().unwrap();
    let zero = QueueOptions {
        max_receives: 0,
        ..QueueOptions::default()
    };
    assert!(matches!(
        SqliteQueue::new(db.clone(), "q", zero),
        Err(PortError::Rejected(_))
    ));
    let unnamed = SqliteQueue::new(db, "", QueueOptions::default());
    assert!(matches!(unnamed, Err(PortError::Rejected(_))));
}

#[tokio::test]
async fn a_database_from_a_newer_skiff_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    Db::open(&path).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Db::open(&path).unwrap_err();
    assert!(
        matches!(&err, PortError::Rejected(m) if m.contains("99")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_file_is_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .create(&record("w", "2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("skiff.db-wal").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_write_at_once_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let queue =
        Arc::new(SqliteQueue::new(store.db().clone(), "q", QueueOptions::default()).unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        let (store, queue) = (store.clone(), queue.clone());
        tasks.spawn(async move {
            for i in 0..25 {
                let id = format!("t{t}-{i}");
                assert!(
                    store
                        .create(&record(&id, "2026-03-01T00:00:00Z"))
                        .await
                        .unwrap()
                );
                queue.send(&[id]).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(store.list(&JobQuery::All, None).await.unwrap().len(), 200);
    let got = queue.receive(1_000).await.unwrap();
    let distinct: std::collections::BTreeSet<_> = got.iter().map(|m| &m.body).collect();
    assert_eq!((got.len(), distinct.len()), (200, 200));
}

#[tokio::test]
async fn the_change_feed_lists_each_changed_record_once_at_its_latest_change() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .create(&record("a", "2026-11-23T10:00:00Z"))
        .await
        .unwrap();
    store
        .create(&record("b", "2026-11-23T10:00:01Z"))
        .await
        .unwrap();
    assert!(
        !store
            .create(&record("a", "2026-11-23T10:00:00Z"))
            .await
            .unwrap()
    );
    let mut a = store.get("a").await.unwrap().unwrap();
    a.status.state = Some(ProwJobState::Pending);
    store.update(&a).await.unwrap();

    let changes = store.changes_since(0, 100).await.unwrap();
    let ids: Vec<&str> = changes
        .iter()
        .map(|(_, j)| j.metadata.name.as_str())
        .collect();
    assert_eq!(ids, ["b", "a"], "a's create is superseded by its update");
    assert_eq!(changes[1].1.status.state, Some(ProwJobState::Pending));
    let last = changes[1].0;
    assert!(store.changes_since(last, 100).await.unwrap().is_empty());

    store.delete("b").await.unwrap();
    store.trim_changes(last).await.unwrap();
    let mut a = store.get("a").await.unwrap().unwrap();
    a.status.state = Some(ProwJobState::Success);
    store.update(&a).await.unwrap();
    let after = store.changes_since(0, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert!(after[0].0 > last);
    assert_eq!(after[0].1.status.state, Some(ProwJobState::Success));
}

#[tokio::test]
async fn a_file_from_before_owned_claims_gains_the_owner_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    let until = ts("2099-01-01T00:00:00Z");
    {
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.remember("delivery", until).await.unwrap());
    }
    // The file as a skiff from before `claim_as` left it.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("ALTER TABLE dedupe_keys DROP COLUMN owner")
        .unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert!(
        !store.remember("delivery", until).await.unwrap(),
        "its keys survive"
    );
    assert_eq!(
        store.claim_as("lock", "report", until).await.unwrap(),
        Claim::Taken
    );
    assert_eq!(
        store.claim_as("lock", "report", until).await.unwrap(),
        Claim::Taken,
        "the owner is kept, so its retry takes the lock again"
    );
    store.release("lock", "report").await.unwrap();
    assert!(store.remember("lock", until).await.unwrap(), "released");
}
