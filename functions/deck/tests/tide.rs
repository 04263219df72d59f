//! The deck's tide views over the SQLite store, from the values the tide
//! function keeps there: the pools (`/tide`, `/tide.js`), the history
//! (`/tide-history`, `/tide-history.js`) and why a pull is (not) merging on
//! its PR page.

use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::ports::JobStore;
use skiff_core::tide::record::{
    HistoryEntry, POOLS_KEY, PoolBlocker, PoolPull, PoolRecord, history_key, pool_key,
};
use skiff_deck::{DeckOptions, DeckRequest, Deps};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::ManualClock;
use skiff_local::store::SqliteStore;

const NOW: &str = "2026-12-04T12:00:00Z";

struct Deck {
    store: SqliteStore,
    logs: FsLogStore,
    clock: ManualClock,
    config: Config,
    options: DeckOptions,
    _dir: tempfile::TempDir,
}

impl Deck {
    fn new() -> Deck {
        let dir = tempfile::tempdir().unwrap();
        Deck {
            store: SqliteStore::open_in_memory().unwrap(),
            logs: FsLogStore::new(dir.path().join("logs")),
            clock: ManualClock::new(NOW.parse().unwrap()),
            config: Config::default(),
            options: DeckOptions::default(),
            _dir: dir,
        }
    }

    async fn get(&self, target: &str) -> (u16, String) {
        let deps = Deps {
            store: &self.store,
            logs: &self.logs,
            config: Some(&self.config),
            clock: &self.clock,
            clusters: None,
            options: &self.options,
            operator: None,
            viewer: None,
        };
        let r = skiff_deck::handle(&DeckRequest::get(target), &deps).await;
        (r.status, r.text())
    }

    async fn put(&self, key: &str, value: &str) {
        let until: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        self.store.put_value(key, value, until).await.unwrap();
    }
}

fn pull(number: i64, description: &str) -> PoolPull {
    PoolPull {
        number,
        title: format!("Change <{number}>"),
        head_sha: format!("head{number}abcdef"),
        status: "pending".into(),
        description: description.into(),
    }
}

async fn seeded() -> Deck {
    let d = Deck::new();
    let pool = PoolRecord {
        org: "acme".into(),
        repo: "widgets".into(),
        branch: "main".into(),
        base_sha: "base123".into(),
        success_prs: vec![pull(1, "In merge pool.")],
        out_prs: vec![pull(
            2,
            "Not mergeable. Should not have do-not-merge/hold label.",
        )],
        batch_pending: vec![3, 4],
        action: "MERGE".into(),
        target: vec![1],
        merged: vec![1],
        synced_at: Some(NOW.parse().unwrap()),
        ..PoolRecord::default()
    };
    d.put(POOLS_KEY, r#"["acme/widgets:main"]"#).await;
    d.put(
        &pool_key("acme", "widgets", "main"),
        &serde_json::to_string(&pool).unwrap(),
    )
    .await;
    let history = vec![HistoryEntry {
        time: Some(NOW.parse().unwrap()),
        action: "MERGE_BATCH".into(),
        base_sha: "base000".into(),
        target: vec![5, 6],
        merged: vec![6],
        err: "failed merging [5] from batch [5, 6], partial merge [6]".into(),
    }];
    d.put(
        &history_key("acme", "widgets", "main"),
        &serde_json::to_string(&history).unwrap(),
    )
    .await;
    d
}

#[tokio::test]
async fn the_tide_page_shows_each_pool_and_why_each_pull_is_out() {
    let d = seeded().await;
    let (status, html) = d.get("/tide").await;
    assert_eq!(status, 200);
    for want in [
        "acme/widgets:main",
        "base123",
        "MERGE",
        "Batch in flight: #3, #4",
        "In merge pool.",
        "Not mergeable. Should not have do-not-merge/hold label.",
        "Change &lt;2&gt;",
    ] {
        assert!(html.contains(want), "{want} not on the page");
    }
    assert!(!html.contains("Change <2>"), "titles are escaped");
}

#[tokio::test]
async fn the_tide_json_and_history_serve_the_records() {
    let d = seeded().await;
    let (status, json) = d.get("/tide.js").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Pools"][0]["base_sha"], "base123");
    assert_eq!(v["Pools"][0]["success_prs"][0]["number"], 1);
    let (_, json) = d.get("/tide-history.js").await;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["History"]["acme/widgets:main"][0]["action"],
        "MERGE_BATCH"
    );
    let (status, html) = d.get("/tide-history").await;
    assert_eq!(status, 200);
    assert!(html.contains("failed merging [5] from batch [5, 6], partial merge [6]"));
}

#[tokio::test]
async fn a_pull_request_page_says_why_tide_is_or_is_not_merging_it() {
    let d = seeded().await;
    let (status, html) = d.get("/pr-history?org=acme&repo=widgets&pr=2").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("not in pool")
            && html.contains("Not mergeable. Should not have do-not-merge/hold label."),
        "{html}"
    );
    let (_, html) = d.get("/pr-history?org=acme&repo=widgets&pr=9").await;
    assert!(!html.contains("tide-standing"), "tide does not know #9");
}

#[tokio::test]
async fn before_tide_syncs_the_pages_say_so() {
    let d = Deck::new();
    let (status, html) = d.get("/tide").await;
    assert_eq!(status, 200);
    assert!(html.contains("Tide has not synced a pool yet."));
    let (_, json) = d.get("/tide.js").await;
    assert_eq!(json, r#"{"Queries":[],"Pools":[]}"#);
}

#[tokio::test]
async fn a_blocked_pool_names_its_blocker_issues() {
    let d = Deck::new();
    let pool = PoolRecord {
        org: "acme".into(),
        repo: "widgets".into(),
        branch: "main".into(),
        action: "BLOCKED".into(),
        blockers: vec![PoolBlocker {
            number: 7,
            title: "Freeze <now>".into(),
            url: "https://github.com/acme/widgets/issues/7".into(),
        }],
        ..PoolRecord::default()
    };
    d.put(POOLS_KEY, r#"["acme/widgets:main"]"#).await;
    d.put(
        &pool_key("acme", "widgets", "main"),
        &serde_json::to_string(&pool).unwrap(),
    )
    .await;
    let (_, html) = d.get("/tide").await;
    assert!(
        html.contains(r#"<a href="https://github.com/acme/widgets/issues/7">issue #7</a> (Freeze &lt;now&gt;)"#),
        "{html}"
    );
    let (_, json) = d.get("/tide.js").await;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Pools"][0]["blockers"][0]["number"], 7);
}
