//! Server time to answer a job page whose JUnit lens shows a 5,000-case
//! file (the target: under 100 ms), and the page's weight.
//!
//! `cargo bench -p skiff-deck --bench junit_lens` prints the weight, then
//! criterion's estimates for:
//!
//! - `handler …`: the whole of `GET /jobs/{id}` as `skiff dev` serves it:
//!   the record from SQLite, the log, `started.json`/`finished.json`, the
//!   listing of the job's directory and the JUnit file from disk, parsed,
//!   rendered (50 failed cases in full, 4,949 passed in one list) and
//!   gzip-compressed for a browser that accepts it;
//! - `parse …`: the 5,000-case file through the JUnit parser alone.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use skiff_core::ports::{JobStore, LogStore};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps, fixtures};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::ManualClock;
use skiff_local::store::SqliteStore;

const CASES: usize = 5_000;
const FAILED: usize = 50;

struct Seeded {
    store: SqliteStore,
    logs: FsLogStore,
    clock: ManualClock,
    options: DeckOptions,
    id: String,
    _dir: tempfile::TempDir,
}

impl Seeded {
    async fn new(now: Timestamp, junit: &str) -> Seeded {
        let dir = tempfile::tempdir().expect("a temp dir for the bench's store and logs");
        let store =
            SqliteStore::open(dir.path().join("skiff.db")).expect("the bench's SQLite store opens");
        let logs = FsLogStore::new(dir.path().join("logs"));
        // Sample job 5 failed; it gets everything a decorated job uploads,
        // and the big JUnit file besides.
        let jobs = fixtures::jobs(10, now);
        for (i, j) in jobs.iter().enumerate() {
            store
                .create(j)
                .await
                .expect("the bench stores a sample job");
            for (path, name, bytes) in fixtures::artifacts_of(i, j) {
                logs.put(&path, name, &bytes)
                    .await
                    .expect("the bench stores an artifact");
            }
            for (path, name, bytes) in fixtures::decorated_artifacts_of(i, j) {
                logs.put(&path, &name, &bytes)
                    .await
                    .expect("the bench stores an artifact");
            }
        }
        let job = &jobs[5];
        let path = skiff_core::prowjob::artifacts::artifact_path(job)
            .expect("the sample job has an artifact path");
        logs.put(&path, "artifacts/junit_big.xml", junit.as_bytes())
            .await
            .expect("the bench stores the JUnit file");
        Seeded {
            store,
            logs,
            clock: ManualClock::new(now),
            options: DeckOptions::default(),
            id: job.metadata.name.clone(),
            _dir: dir,
        }
    }

    async fn send(&self, req: &DeckRequest) -> DeckResponse {
        let deps = Deps {
            store: &self.store,
            logs: &self.logs,
            config: None,
            clock: &self.clock,
            clusters: None,
            options: &self.options,
            operator: None,
            viewer: None,
        };
        skiff_deck::handle(req, &deps).await
    }
}

fn bench(c: &mut Criterion) {
    let now = Timestamp::now();
    let junit = fixtures::junit_report(CASES, FAILED);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let seeded = rt.block_on(Seeded::new(now, &junit));
    let target = format!("/jobs/{}", seeded.id);
    let plain = rt.block_on(seeded.send(&DeckRequest::get(&target)));
    assert_eq!(plain.status, 200, "the job page answers: {}", plain.text());
    let html = plain.text();
    assert!(
        html.contains(&format!("{} of {} tests failed", FAILED + 1, CASES + 7)),
        "the lens counts every case"
    );
    let gzip = DeckRequest {
        headers: vec![("Accept-Encoding".into(), "gzip, deflate, br".into())],
        ..DeckRequest::get(&target)
    };
    let gz = rt.block_on(seeded.send(&gzip));
    println!(
        "GET {target} with a {CASES}-case JUnit file ({} B): HTML {} B, gzip {} B",
        junit.len(),
        plain.body.len(),
        gz.body.len()
    );

    let mut g = c.benchmark_group("junit_lens");
    g.sample_size(30);
    g.bench_function("handler: GET /jobs/{id} with 5000 JUnit cases, gzip", |b| {
        b.iter(|| rt.block_on(seeded.send(black_box(&gzip))))
    });
    g.bench_function(
        "handler: GET /jobs/{id} with 5000 JUnit cases, identity",
        |b| {
            let req = DeckRequest::get(&target);
            b.iter(|| rt.block_on(seeded.send(black_box(&req))))
        },
    );
    g.bench_function("parse: 5000 JUnit cases", |b| {
        b.iter(|| skiff_core::junit::parse(black_box(junit.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
