//! Property-based fuzzing of the deck's outside input: request paths and
//! query strings, made of the deck's own routes and parameters mixed with
//! junk (dot segments, percent-encodings, markup, huge and non-UTF-8 values).
//! Whatever the request, the deck answers — never a panic, never a 5xx — and
//! never reflects markup it was sent.
//!
//! CI runs a bounded number of cases (printed with their time);
//! `SKIFF_FUZZ_CASES=N` runs N. Failures are saved in
//! `fuzz.proptest-regressions` beside this file and replayed first on every
//! later run.

use std::time::Instant;

use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use skiff_core::config::{FileRole, SourceFile};
use skiff_core::ports::{JobStore, LogStore};
use skiff_deck::{DeckOptions, DeckRequest, Deps, fixtures};
use skiff_local::memory::{ManualClock, MemoryLogs, MemoryStore};

const CI_CASES: u32 = 512;
const NOW: &str = "2026-12-04T12:00:00Z";
const MARKUP: &str = "<script>alert(1)</script>";

fn cases() -> u32 {
    std::env::var("SKIFF_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CI_CASES)
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "jobs", "view", "gs", "s3", "pr-logs", "logs", "pull", "directory", "job-history",
            "pr-history", "api", "badge.svg", "prowjobs.js", "log", "command-help", "artifacts",
            "static", "style.css", "acme_widgets", "acme", "widgets", "1", "0", "-1",
            "99999999999999999999", "pull-widgets-unit", "post-widgets-publish", "ci-nightly-0",
            "build-log.txt", "started.json", "finished.json", "prowjob.json", "junit_01.xml",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "..", ".", "%2e%2e", "%2E", "%00", "%ff%fe", "%", "%zz", "a%2Fb", "", " ", "~",
            "..%2f..%2fetc%2fpasswd", "%3Cscript%3E", MARKUP,
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,12}",
        1 => (0usize..200).prop_map(fixtures::id_of),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..7).prop_map(|s| format!("/{}", s.join("/")))
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "repo", "job", "type", "state", "author", "pull", "cluster", "page", "limit", "org",
            "pr", "jobs", "omit", "owner", "var", "id", "buildId", "autorefresh", "before",
            "after", "lens", "file",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ];
    let value = prop_oneof![
        2 => prop::sample::select(vec![
            "acme/widgets", "*", "?", "pull-*", "presubmit", "periodic", "success", "failure",
            "0", "-1", "1", "18446744073709551616", "1e3", "", "%", "%ff", "%00", "a%2Cb",
            MARKUP, "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "..", "../..",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,20}",
        1 => Just("x".repeat(5000)),
    ];
    prop::collection::vec((key, value), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

struct Deck {
    store: MemoryStore,
    logs: MemoryLogs,
    clock: ManualClock,
    config: skiff_core::config::Config,
    options: DeckOptions,
}

async fn deck() -> Deck {
    let now: Timestamp = NOW.parse().expect("a time");
    let loaded = skiff_core::config::load(&[SourceFile {
        path: "jobs.yaml".into(),
        text: "presubmits:\n  acme/widgets:\n  - name: pull-widgets-unit\n    always_run: true\n    spec: {containers: [{image: golang, command: [make]}]}\n".into(),
        role: FileRole::JobConfig,
    }]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let clock = ManualClock::new(now);
    let d = Deck {
        store: MemoryStore::new(std::sync::Arc::new(ManualClock::new(now))),
        logs: MemoryLogs::default(),
        clock,
        config: loaded.config,
        options: DeckOptions::default(),
    };
    for (i, j) in fixtures::jobs(40, now).into_iter().enumerate() {
        d.store.create(&j).await.expect("create");
        for (path, name, bytes) in fixtures::artifacts_of(i, &j) {
            d.logs.put(&path, name, &bytes).await.expect("put");
        }
    }
    d
}

#[test]
fn any_path_and_query_is_answered_without_a_panic_a_5xx_or_reflected_markup() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let d = runtime.block_on(deck());
    let config = Config {
        cases: cases(),
        source_file: Some(file!()),
        // Beside this file: tests/fuzz.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(path(), query(), any::<bool>()), |(path, query, head)| {
        let target = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        let mut req = DeckRequest::get(&target);
        if head {
            req.method = "HEAD".into();
        }
        let deps = Deps {
            store: &d.store,
            logs: &d.logs,
            config: Some(&d.config),
            clock: &d.clock,
            clusters: None,
            options: &d.options,
            operator: None,
            viewer: None,
        };
        let resp = runtime.block_on(skiff_deck::handle(&req, &deps));
        prop_assert!(
            resp.status < 500,
            "{target}: {} {}",
            resp.status,
            resp.text()
        );
        let body = resp.text();
        prop_assert!(!body.contains(MARKUP), "{target}: markup reflected");
        Ok::<(), TestCaseError>(())
    });
    if let Err(e) = result {
        panic!("fuzz deck requests: {e}");
    }
    println!(
        "fuzz deck paths and queries: {} cases in {:.2?}",
        cases(),
        started.elapsed()
    );
}
