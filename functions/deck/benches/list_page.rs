//! Server time to answer the job list over 10,000 job records (the issue's
//! target: under 200 ms) and the page's weight (under 100 KB without logs).
//!
//! `cargo bench -p skiff-deck --bench list_page` prints the weight first,
//! then criterion's estimates for:
//!
//! - `handler …`: the whole of `GET /` as `skiff dev` serves it: the request
//!   through `skiff_deck::handle`, the newest 10,000 records read from a
//!   SQLite store in a file (decoded from JSON), filtered, rendered and
//!   gzip-compressed for a browser that accepts it;
//! - `handler: GET /` and `/?state=failure` page through the store's index
//!   ([`JobStore::page`]); `/?repo+state` still reads the newest 10,000
//!   records (a repo is not indexed), for comparison;
//! - `store page …`: the indexed page read alone (200 records and the
//!   counts per state);
//! - `store read …`: reading all 10,000 records, what `/` did before paging;
//! - `render …`: the page over records already in memory.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use skiff_core::ports::{JobQuery, JobStore, PageQuery};
use skiff_deck::{DeckOptions, DeckRequest, DeckResponse, Deps, assets, fixtures, render_list};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::memory::ManualClock;
use skiff_local::store::SqliteStore;

const JOBS: usize = 10_000;
const FILTER: &str = "repo=acme%2Fwidgets&state=failure";

fn gzip_len(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    let _ = enc.write_all(bytes);
    enc.finish().map(|v| v.len()).unwrap_or(0)
}

/// A browser's GET of `target`, taking gzip.
fn browser_get(target: &str) -> DeckRequest {
    DeckRequest {
        headers: vec![("Accept-Encoding".into(), "gzip, deflate, br".into())],
        ..DeckRequest::get(target)
    }
}

struct Seeded {
    store: SqliteStore,
    logs: FsLogStore,
    clock: ManualClock,
    options: DeckOptions,
    _dir: tempfile::TempDir,
}

impl Seeded {
    async fn new(now: Timestamp) -> Seeded {
        let dir = tempfile::tempdir().expect("a temp dir for the bench's SQLite file");
        let store =
            SqliteStore::open(dir.path().join("skiff.db")).expect("the bench's SQLite store opens");
        let started = Instant::now();
        for j in fixtures::jobs(JOBS, now) {
            store
                .create(&j)
                .await
                .expect("the bench stores a sample job");
        }
        println!(
            "seeded {JOBS} job records into {} in {:.1} s",
            dir.path().join("skiff.db").display(),
            started.elapsed().as_secs_f64()
        );
        Seeded {
            store,
            logs: FsLogStore::new(dir.path().join("logs")),
            clock: ManualClock::new(now),
            options: DeckOptions::default(),
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let seeded = rt.block_on(Seeded::new(now));

    // The weight, as served: HTML (raw and gzip) plus the one stylesheet.
    let plain = rt.block_on(seeded.send(&DeckRequest::get("/")));
    let gz = rt.block_on(seeded.send(&browser_get("/")));
    assert_eq!(plain.status, 200, "GET / answers: {}", plain.text());
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let rows = plain.text().matches("<td><a href=\"/jobs/").count();
    let css = assets::CSS.len();
    let css_gz = gzip_len(assets::CSS.as_bytes());
    println!(
        "GET / over {JOBS} stored jobs ({rows} rows): HTML {} B + CSS {css} B = {} B ({:.1} KB); \
         gzip: HTML {} B + CSS {css_gz} B = {} B ({:.1} KB)",
        plain.body.len(),
        plain.body.len() + css,
        (plain.body.len() + css) as f64 / 1024.0,
        gz.body.len(),
        gz.body.len() + css_gz,
        (gz.body.len() + css_gz) as f64 / 1024.0,
    );
    let filtered = rt.block_on(seeded.send(&DeckRequest::get(&format!("/?{FILTER}"))));
    assert_eq!(filtered.status, 200);
    println!(
        "GET /?{FILTER}: HTML {} B ({} rows)",
        filtered.body.len(),
        filtered.text().matches("<td><a href=\"/jobs/").count()
    );

    let mut g = c.benchmark_group("list_page");
    g.sample_size(20);
    g.bench_function("handler: GET / over 10000 SQLite jobs, gzip", |b| {
        let req = browser_get("/");
        b.iter(|| rt.block_on(seeded.send(black_box(&req))))
    });
    g.bench_function("handler: GET / over 10000 SQLite jobs, identity", |b| {
        let req = DeckRequest::get("/");
        b.iter(|| rt.block_on(seeded.send(black_box(&req))))
    });
    g.bench_function(
        "handler: GET /?repo+state over 10000 SQLite jobs, gzip",
        |b| {
            let req = browser_get(&format!("/?{FILTER}"));
            b.iter(|| rt.block_on(seeded.send(black_box(&req))))
        },
    );
    g.bench_function(
        "handler: GET /?state=failure over 10000 SQLite jobs, gzip",
        |b| {
            let req = browser_get("/?state=failure");
            b.iter(|| rt.block_on(seeded.send(black_box(&req))))
        },
    );
    for target in [
        "/prowjobs.js?omit=pod_spec",
        "/prowjobs.js?omit=pod_spec&limit=200",
        "/prowjobs.js?omit=pod_spec&limit=10000",
    ] {
        let r = rt.block_on(seeded.send(&browser_get(target)));
        assert_eq!(r.status, 200, "{target}");
        g.bench_function(
            format!("handler: GET {target} over 10000 SQLite jobs, gzip"),
            |b| {
                let req = browser_get(target);
                b.iter(|| rt.block_on(seeded.send(black_box(&req))))
            },
        );
    }
    g.bench_function("store page: first 200 of 10000 SQLite, with counts", |b| {
        let q = PageQuery {
            query: JobQuery::All,
            job_type: None,
            state: None,
            offset: 0,
            limit: 200,
            window: JOBS,
        };
        b.iter(|| {
            rt.block_on(seeded.store.page(black_box(&q)))
                .map(|p| p.jobs.len())
        })
    });
    g.bench_function("store read: newest 10000 of SQLite", |b| {
        b.iter(|| {
            rt.block_on(seeded.store.list(black_box(&JobQuery::All), Some(JOBS)))
                .map(|v| v.len())
        })
    });

    let jobs = fixtures::jobs(JOBS, now);
    g.bench_function("render: 10000 jobs in memory, no filter", |b| {
        b.iter(|| render_list(black_box(""), black_box(&jobs), now))
    });
    g.bench_function("render: 10000 jobs in memory, repo+state filter", |b| {
        b.iter(|| render_list(black_box(FILTER), black_box(&jobs), now))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
