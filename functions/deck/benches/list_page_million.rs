//! The job list over 1,000,000 job records in SQLite (issue 21: under 50 ms
//! for `GET /`): the page reads the newest `max_jobs` (10,000) through the
//! store's index whatever the file holds, so it should cost what it costs
//! over 10,000 (`--bench list_page`).
//!
//! `cargo bench -p skiff-deck --bench list_page_million` seeds the records
//! once into `<target>/bench-list-page-million/skiff.db` (about 2.5 GB;
//! `CARGO_TARGET_DIR` or the workspace's `target/`; delete it to seed again)
//! and reuses the file after that. Seeding writes `create`'s rows in one
//! transaction (`SqliteStore::create_all`): through `create` a million would
//! take most of an hour.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use skiff_core::ports::{JobQuery, JobStore, PageQuery};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps, fixtures};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::ManualClock;
use skiff_local::store::SqliteStore;

const JOBS: usize = 1_000_000;

fn state_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("bench-list-page-million")
}

/// A browser's GET of `target`, taking gzip.
fn browser_get(target: &str) -> DeckRequest {
    DeckRequest {
        headers: vec![("Accept-Encoding".into(), "gzip, deflate, br".into())],
        ..DeckRequest::get(target)
    }
}

fn all(window: usize) -> PageQuery {
    PageQuery {
        query: JobQuery::All,
        job_type: None,
        state: None,
        offset: 0,
        limit: 200,
        window,
    }
}

struct Seeded {
    store: SqliteStore,
    logs: FsLogStore,
    clock: ManualClock,
    options: DeckOptions,
}

impl Seeded {
    async fn new(now: Timestamp) -> Seeded {
        let dir = state_dir();
        std::fs::create_dir_all(&dir).expect("the bench's state directory");
        let path = dir.join("skiff.db");
        let store = SqliteStore::open(&path).expect("the bench's SQLite store opens");
        let stored = store
            .page(&all(JOBS))
            .await
            .expect("the bench counts its records")
            .scanned;
        if stored < JOBS {
            let started = Instant::now();
            let created = store
                .create_all((0..JOBS).map(move |i| fixtures::job(i, JOBS, now)))
                .await
                .expect("the bench stores its sample jobs");
            println!(
                "seeded {created} job records into {} in {:.1} s",
                path.display(),
                started.elapsed().as_secs_f64()
            );
        } else {
            println!("{stored} job records already in {}", path.display());
        }
        Seeded {
            store,
            logs: FsLogStore::new(dir.join("logs")),
            clock: ManualClock::new(now),
            options: DeckOptions::default(),
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let seeded = rt.block_on(Seeded::new(now));

    let mut g = c.benchmark_group("list_page_million");
    g.sample_size(20);
    for target in [
        "/",
        "/?state=failure",
        "/?type=periodic",
        "/prowjobs.js?omit=pod_spec",
        "/prowjobs.js?omit=pod_spec&limit=200",
    ] {
        let r = rt.block_on(seeded.send(&browser_get(target)));
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        g.bench_function(
            format!("handler: GET {target} over 1000000 SQLite jobs, gzip"),
            |b| {
                let req = browser_get(target);
                b.iter(|| rt.block_on(seeded.send(black_box(&req))))
            },
        );
    }
    g.bench_function(
        "store page: first 200 of the newest 10000 of 1000000 SQLite, with counts",
        |b| {
            let q = all(10_000);
            b.iter(|| {
                rt.block_on(seeded.store.page(black_box(&q)))
                    .map(|p| p.jobs.len())
            })
        },
    );
    g.bench_function(
        "store read: newest 10000 of 1000000 SQLite (what / read before paging)",
        |b| {
            b.iter(|| {
                rt.block_on(seeded.store.list(black_box(&JobQuery::All), Some(10_000)))
                    .map(|v| v.len())
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
