//! One scheduler tick over 1,500 periodics: a third cron (daily, hourly,
//! every 15 minutes, `@every`), a third `interval`, a third `minimum_interval`,
//! some with `retry`. History as a large deployment sees it: a third never
//! ran, a third finished long ago (some failed), a third is still running.
//!
//! `cargo bench -p skiff-core --bench scheduler_tick` reports the median.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use skiff_core::config::{JobBase, Periodic, PeriodicFields, Retry};
use skiff_core::plan::periodic::due_periodics;
use skiff_core::prowjob::{
    ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType,
};

const JOBS: usize = 1_500;
const CRONS: [&str; 5] = [
    "0 6 * * *",
    "0 * * * *",
    "*/15 * * * *",
    "@every 2h",
    "30 2 * * 1-5",
];

fn periodic(i: usize) -> Periodic {
    let mut fields = PeriodicFields::default();
    match i % 3 {
        0 => fields.cron = CRONS[i / 3 % CRONS.len()].to_string(),
        1 => fields.interval = ["1h", "6h", "24h"][i / 3 % 3].to_string(),
        _ => fields.minimum_interval = ["30m", "2h"][i / 3 % 2].to_string(),
    }
    if i.is_multiple_of(10) {
        fields.retry = Some(Retry {
            attempts: 3,
            interval: "10m".to_string(),
            run_all: false,
        });
    }
    Periodic {
        base: JobBase {
            name: format!("periodic-{i}"),
            labels: [("team".to_string(), format!("t{}", i % 7))].into(),
            ..JobBase::default()
        },
        fields,
        ..Periodic::default()
    }
}

/// Job `i`'s latest run, if any: never run, finished hours ago, or running.
/// Chosen by `i / 3` so that every schedule kind (`i % 3`) meets every history.
fn latest_run(i: usize, now: Timestamp) -> Option<ProwJob> {
    let hours = |h: i64| now - SignedDuration::from_hours(h);
    let (start, completion, state) = match i / 3 % 3 {
        0 => return None,
        1 => (
            hours(30),
            Some(hours(29)),
            if i % 4 == 1 {
                ProwJobState::Failure
            } else {
                ProwJobState::Success
            },
        ),
        _ => (hours(1), None, ProwJobState::Pending),
    };
    Some(ProwJob {
        metadata: ObjectMeta {
            name: format!("run-{i}"),
            ..ObjectMeta::default()
        },
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Periodic),
            job: format!("periodic-{i}"),
            ..ProwJobSpec::default()
        },
        status: ProwJobStatus {
            start_time: Some(start),
            completion_time: completion,
            state: Some(state),
            ..ProwJobStatus::default()
        },
        ..ProwJob::default()
    })
}

fn bench(c: &mut Criterion) {
    // A tick on the hour, so the hourly, 15-minute and @every crons fire.
    let now: Timestamp = "2026-11-23T10:00:20Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let previous = now - SignedDuration::from_mins(1);
    let periodics: Vec<Periodic> = (0..JOBS).map(periodic).collect();
    let latest: HashMap<String, ProwJob> = (0..JOBS)
        .filter_map(|i| latest_run(i, now))
        .map(|r| (r.spec.job.clone(), r))
        .collect();
    let lookup = |name: &str| latest.get(name);

    let tick = due_periodics(&periodics, &lookup, previous, now);
    println!(
        "{} periodics, {} with history: {} due, {} not due",
        periodics.len(),
        latest.len(),
        tick.due.len(),
        tick.not_due.len()
    );

    c.bench_function("scheduler_tick_1500_periodics", |b| {
        b.iter(|| {
            due_periodics(
                black_box(&periodics),
                &lookup,
                black_box(previous),
                black_box(now),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
