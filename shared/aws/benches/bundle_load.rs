//! What a function spends on the config at cold start: [`Bundle::load`] of
//! the bundle `skiff config push` writes for a kubernetes/test-infra-shaped
//! config (605 files, ~3,800 jobs, ~6 MB of YAML; target: under 50 ms).
//!
//! `cargo bench -p skiff-aws --bench bundle_load` reports the median, next to
//! the same bytes parsed as untyped JSON (the floor any JSON reader pays).
//! It runs on mimalloc, as the functions do (`skiff_lambda::global_allocator!`).

use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use skiff_aws::config_source::Bundle;
use skiff_core::config::{Config, load};

#[path = "../../core/benches/support/testinfra.rs"]
mod testinfra;

fn job_count(c: &Config) -> usize {
    c.jobs.presubmit_count() + c.jobs.postsubmit_count() + c.jobs.periodics.len()
}

fn bench(c: &mut Criterion) {
    let files = testinfra::generate();
    let loaded = load(&files);
    assert!(!loaded.has_errors(), "{}", loaded.summary());
    let names = files.iter().map(|f| f.path.clone()).collect();
    let bytes = Bundle::new(&loaded.config, names, jiff::Timestamp::UNIX_EPOCH)
        .and_then(|b| b.to_json())
        .unwrap_or_else(|e| panic!("the bundle encodes: {e}"));
    let (back, _) = Bundle::load(&bytes).unwrap_or_else(|e| panic!("the bundle loads: {e}"));
    // What the functions run is what `check-config` showed.
    assert_eq!(back, loaded.config);
    eprintln!(
        "bundle: {:.1} MB of JSON, {} jobs",
        bytes.len() as f64 / 1_048_576.0,
        job_count(&back)
    );

    let mut group = c.benchmark_group("bundle");
    group.sample_size(20);
    group.bench_function("load_3800_jobs", |b| {
        b.iter_with_large_drop(|| Bundle::load(black_box(&bytes)))
    });
    group.bench_function("untyped_json_3800_jobs", |b| {
        b.iter_with_large_drop(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
