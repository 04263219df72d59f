//! Scale on paper, checked by simulation: where a day of 1,000,000 jobs
//! first hits a limit.
//!
//! Two halves. **Measured**: the real handlers (webhook, trigger,
//! dispatcher, syncer, reporter and its queue, the scheduler;
//! tests/tests/support) run one of each event over the embedded twins and the
//! fake GitHub API (no GitHub can run here), and what each costs is counted:
//! GitHub API calls (conditional reads answered 304 are free and not
//! counted), job record writes (a record's version: one per create or
//! update, as the jobs table's stream sees them), the records' size, and
//! queue messages. **The day**: a seeded generator lays 1,000,000 jobs over
//! 1,440 minutes — pull request pushes with a working-day curve and random
//! bursts, `/retest` storms, postsubmits after merges, and periodics of
//! four regions, half on the hour (cron) — and each minute's load is the
//! measured cost of its events. Each limit's peak is set against the limit,
//! and the jobs/day at which it is reached (load is linear in volume, the
//! day's shape fixed) ranks them.
//!
//! `cargo test -p skiff-tests --test scale_day -- --nocapture` prints the
//! table the README's scaling section quotes.

mod support;

use std::collections::BTreeSet;

use skiff_core::ports::JobStore;
use skiff_core::prowjob::ProwJobType;
use skiff_tests::github::lock;
use support::*;

const JOBS_PER_DAY: f64 = 1_000_000.0;
/// Jobs one pull request push starts (the measured PR: 10, 2 failing).
const JOBS_PER_PUSH: usize = 10;
const FAILING: [usize; 2] = [3, 7];
/// Shares of the day's jobs.
const PERIODIC_SHARE: f64 = 0.15;
const POSTSUBMIT_SHARE: f64 = 0.05;
/// `/retest` storms a day (a flaky dependency breaks many pulls at once),
/// each this many comments over this many minutes; each reruns the failed
/// jobs of its pull (the measured 2).
const STORMS: usize = 6;
const STORM_COMMENTS: usize = 500;
const STORM_MINUTES: usize = 5;
const REGIONS: usize = 4;

/// Limits, as AWS and GitHub document them (checked 2026-12).
const GITHUB_PER_HOUR: f64 = 5_000.0; // an App installation's base limit
const DYNAMO_PARTITION_WCU: f64 = 1_000.0; // per partition, per second
const LAMBDA_CONCURRENCY: f64 = 1_000.0; // account default per region
const SQS_IN_FLIGHT: f64 = 120_000.0; // standard queue

/// Milliseconds a Lambda invocation runs per message, as `skiff cost`
/// assumes them (cli/src/cost/model.rs, FUNCTIONS): the handlers mostly
/// wait on DynamoDB, SQS, Kubernetes and GitHub.
const WEBHOOK_MS: f64 = 20.0;
const TRIGGER_MS: f64 = 120.0;
const DISPATCHER_MS: f64 = 150.0;
const REPORTER_MS: f64 = 100.0;

/// What one event of each kind cost through the real handlers.
#[derive(Debug, Default)]
struct Measured {
    /// A push of a pull request with [`JOBS_PER_PUSH`] jobs, run to the end.
    push: Cost,
    /// A `/retest` of that pull (its failed jobs again).
    retest: Cost,
    /// One periodic, run to the end.
    periodic: Cost,
    /// The largest job record seen, KB (a write's units, rounded up).
    record_kb: f64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    jobs: f64,
    github_calls: f64,
    record_writes: f64,
    /// Messages through the events and dispatch queues.
    messages: f64,
}

impl Cost {
    fn per_job(self) -> Cost {
        Cost {
            jobs: 1.0,
            github_calls: self.github_calls / self.jobs,
            record_writes: self.record_writes / self.jobs,
            messages: self.messages / self.jobs,
        }
    }
}

fn presubmits_yaml() -> String {
    let mut y = String::from("presubmits:\n  acme/widgets:\n");
    for i in 0..JOBS_PER_PUSH {
        y.push_str(&format!(
            "  - name: job{i}\n    always_run: true\n    spec: {{containers: [{{image: alpine, command: [make, test{i}]}}]}}\n"
        ));
    }
    y.push_str(
        "periodics:\n- name: nightly\n  interval: 1h\n  spec: {containers: [{image: alpine, command: [make, e2e]}]}\n",
    );
    y
}

/// GitHub calls counted against the limit, record writes and messages so
/// far.
async fn counted(ci: &Ci, messages: usize) -> Cost {
    let (writes, reads) = {
        let gh = lock(&ci.github);
        (gh.writes().len(), gh.reads().len())
    };
    // A record's version counts its writes: 1 on create, +1 per update.
    let record_writes: u64 = ci
        .jobs()
        .await
        .iter()
        .map(|j| j.metadata.resource_version.parse::<u64>().unwrap_or(0))
        .sum();
    Cost {
        jobs: 0.0,
        github_calls: (writes + reads) as f64,
        record_writes: record_writes as f64,
        messages: messages as f64,
    }
}

fn minus(after: Cost, before: Cost, jobs: usize) -> Cost {
    Cost {
        jobs: jobs as f64,
        github_calls: after.github_calls - before.github_calls,
        record_writes: after.record_writes - before.record_writes,
        messages: after.messages - before.messages,
    }
}

async fn measure() -> Measured {
    let ci = Ci::new(
        "skiff:\n  deck_url: https://deck.example.com\n",
        &presubmits_yaml(),
        github_with_pr(),
        Auth::Token,
    )
    .await;
    let mut messages = 0;
    let start = counted(&ci, messages).await;

    // A push: every job runs and ends, each change reported on its own.
    let (status, _) = ci
        .deliver(
            "pull_request",
            "d-push",
            &pr_event("opened", &pull(1, "alice", HEAD)),
        )
        .await;
    assert_eq!(status, 200);
    messages += ci.trigger().await;
    ci.report().await;
    messages += ci.dispatch().await;
    ci.report().await;
    ci.advance(11);
    ci.report_retries().await;
    for i in 0..JOBS_PER_PUSH {
        ci.advance(5);
        ci.finish(&format!("job{i}"), !FAILING.contains(&i)).await;
    }
    let pushed = counted(&ci, messages).await;
    let push = minus(pushed, start, JOBS_PER_PUSH);

    // A /retest: the two failed jobs again, this time passing.
    ci.advance(60);
    ci.deliver(
        "issue_comment",
        "d-retest",
        &comment_event(1, "alice", "/retest"),
    )
    .await;
    messages += ci.trigger().await;
    ci.report().await;
    messages += ci.dispatch().await;
    ci.report().await;
    ci.advance(11);
    ci.report_retries().await;
    for i in FAILING {
        ci.advance(5);
        ci.finish(&format!("job{i}"), true).await;
    }
    let retested = counted(&ci, messages).await;
    let retest = minus(retested, pushed, FAILING.len());
    assert_eq!(
        ci.jobs().await.len(),
        JOBS_PER_PUSH + FAILING.len(),
        "the retest ran the failed jobs only"
    );

    // A periodic: the scheduler's tick creates it.
    ci.advance(3600);
    let deps = skiff_scheduler::Deps {
        store: &ci.store,
        queue: &ci.dispatch,
        config: &ci.config,
    };
    let tick = skiff_scheduler::tick(&deps, start_of_day(), ci.now())
        .await
        .expect("tick");
    assert_eq!(tick.created.len(), 1, "{tick:?}");
    ci.report().await;
    messages += ci.dispatch().await;
    ci.report().await;
    ci.advance(60);
    ci.finish("nightly", true).await;
    let ticked = counted(&ci, messages).await;
    let periodic = minus(ticked, retested, 1);

    let jobs = ci.jobs().await;
    let types: BTreeSet<_> = jobs.iter().filter_map(|j| j.spec.r#type).collect();
    assert!(types.contains(&ProwJobType::Periodic) && types.contains(&ProwJobType::Presubmit));
    let record_kb = jobs
        .iter()
        .map(|j| serde_json::to_vec(j).map_or(0, |v| v.len()))
        .max()
        .unwrap_or(0) as f64
        / 1024.0;
    let stored = ci.store.list(&skiff_core::ports::JobQuery::All, None).await;
    assert_eq!(stored.map(|s| s.len()).unwrap_or(0), jobs.len());
    Measured {
        push,
        retest,
        periodic,
        record_kb: record_kb.ceil(),
    }
}

fn start_of_day() -> jiff::Timestamp {
    start()
}

/// Events of one minute of the day.
#[derive(Clone, Copy, Debug, Default)]
struct Minute {
    pushes: f64,
    retests: f64,
    /// Postsubmit jobs (after merges): a status each, no comment.
    postsubmits: f64,
    periodics: f64,
}

impl Minute {
    fn jobs(&self) -> f64 {
        self.pushes * JOBS_PER_PUSH as f64
            + self.retests * FAILING.len() as f64
            + self.postsubmits
            + self.periodics
    }
}

/// A small deterministic generator (SplitMix64): the day is the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 1,000,000 jobs over the day's minutes.
fn day() -> Vec<Minute> {
    let mut rng = Rng(21);
    let mut minutes = vec![Minute::default(); 1440];
    // Pushes follow the working day of Europe and the Americas (peak at
    // 15:00 UTC, a quarter of the peak at night), with one minute in fifty
    // a burst of four times (a merge wave that rebases many pulls).
    let shape: Vec<f64> = (0..1440)
        .map(|m| {
            let hours = m as f64 / 60.0;
            let curve = 0.25 + 0.75 * (-(hours - 15.0) * (hours - 15.0) / (2.0 * 3.5 * 3.5)).exp();
            let burst = if rng.next() < 0.02 { 4.0 } else { 1.0 };
            curve * burst * (0.5 + rng.next())
        })
        .collect();
    let total: f64 = shape.iter().sum();

    let storm_jobs = (STORMS * STORM_COMMENTS * FAILING.len()) as f64;
    let periodic_jobs = JOBS_PER_DAY * PERIODIC_SHARE;
    let postsubmit_jobs = JOBS_PER_DAY * POSTSUBMIT_SHARE;
    let push_jobs = JOBS_PER_DAY - periodic_jobs - postsubmit_jobs - storm_jobs;
    let pushes = push_jobs / JOBS_PER_PUSH as f64;
    for (m, w) in shape.iter().enumerate() {
        minutes[m].pushes = pushes * w / total;
        minutes[m].postsubmits = postsubmit_jobs * w / total;
    }
    // Storms at random working hours.
    for _ in 0..STORMS {
        let at = 8 * 60 + (rng.next() * 10.0 * 60.0) as usize;
        for minute in minutes.iter_mut().skip(at).take(STORM_MINUTES) {
            minute.retests += (STORM_COMMENTS / STORM_MINUTES) as f64;
        }
    }
    // Periodics: each region's hourly share, half on the hour (cron), half
    // spread by their intervals.
    let per_region_hour = periodic_jobs / REGIONS as f64 / 24.0;
    for hour in 0..24 {
        for _ in 0..REGIONS {
            minutes[hour * 60].periodics += per_region_hour / 2.0;
            for minute in minutes.iter_mut().skip(hour * 60).take(60) {
                minute.periodics += per_region_hour / 2.0 / 60.0;
            }
        }
    }
    minutes
}

/// One limit's peak over the day and the volume that reaches it.
struct Limit {
    name: &'static str,
    peak: f64,
    limit: f64,
    unit: &'static str,
}

impl Limit {
    fn jobs_per_day_at_limit(&self) -> f64 {
        JOBS_PER_DAY * self.limit / self.peak
    }
}

fn limits(m: &Measured, day: &[Minute]) -> Vec<Limit> {
    let push = m.push;
    let retest = m.retest;
    let periodic = m.periodic.per_job();
    // A postsubmit's GitHub calls: its pending and final status.
    let postsubmit_github = 2.0;
    let github: Vec<f64> = day
        .iter()
        .map(|e| {
            e.pushes * push.github_calls
                + e.retests * retest.github_calls
                + e.postsubmits * postsubmit_github
        })
        .collect();
    let peak_hour = (0..day.len())
        .map(|m| github.iter().skip(m).take(60).sum::<f64>())
        .fold(0.0, f64::max);

    let writes = |e: &Minute| {
        e.pushes * push.record_writes
            + e.retests * retest.record_writes
            + e.postsubmits * push.per_job().record_writes
            + e.periodics * periodic.record_writes
    };
    // Every index of the jobs table that keys on a constant (`by-time` and
    // its page twin: `kind = "job"`) takes every record write into one
    // partition; `by-time` projects the whole record.
    let peak_wcu = day
        .iter()
        .map(|e| writes(e) / 60.0 * m.record_kb)
        .fold(0.0, f64::max);

    let busy_seconds = |e: &Minute| {
        let events = e.pushes + e.retests;
        let jobs = e.jobs();
        events * (WEBHOOK_MS + TRIGGER_MS) / 1000.0
            + jobs * DISPATCHER_MS / 1000.0
            + writes(e) * REPORTER_MS / 1000.0
    };
    let peak_concurrency = day
        .iter()
        .map(|e| busy_seconds(e) / 60.0)
        .fold(0.0, f64::max);

    // In flight: received and not yet deleted, i.e. being handled.
    let peak_in_flight = day
        .iter()
        .map(|e| e.jobs() / 60.0 * DISPATCHER_MS / 1000.0)
        .fold(0.0, f64::max);

    let mut out = vec![
        Limit {
            name: "GitHub API (one App installation)",
            peak: peak_hour,
            limit: GITHUB_PER_HOUR,
            unit: "calls/hour",
        },
        Limit {
            name: "DynamoDB by-time index partition",
            peak: peak_wcu,
            limit: DYNAMO_PARTITION_WCU,
            unit: "WCU/s",
        },
        Limit {
            name: "Lambda concurrency (account)",
            peak: peak_concurrency,
            limit: LAMBDA_CONCURRENCY,
            unit: "concurrent",
        },
        Limit {
            name: "SQS dispatch queue in flight",
            peak: peak_in_flight,
            limit: SQS_IN_FLIGHT,
            unit: "messages",
        },
    ];
    out.sort_by(|a, b| {
        a.jobs_per_day_at_limit()
            .total_cmp(&b.jobs_per_day_at_limit())
    });
    out
}

#[tokio::test]
async fn a_million_jobs_a_day_first_meets_githubs_rate_limit() {
    // Boxed: the handlers' futures together are large for a test thread's stack.
    let measured = Box::pin(measure()).await;
    println!("measured through the handlers: {measured:#?}");
    assert_eq!(measured.push.jobs, JOBS_PER_PUSH as f64);
    assert!(measured.push.github_calls >= 2.0 * JOBS_PER_PUSH as f64);
    assert!(
        measured.periodic.github_calls == 0.0,
        "periodics report nowhere"
    );

    let day = day();
    let jobs: f64 = day.iter().map(Minute::jobs).sum();
    assert!(
        (jobs - JOBS_PER_DAY).abs() < 1.0,
        "the simulated day holds {jobs} jobs"
    );
    let average = JOBS_PER_DAY / 1440.0;
    let peak = day.iter().map(Minute::jobs).fold(0.0, f64::max);
    assert!(
        peak > 3.0 * average,
        "bursty: peak {peak}/min, mean {average}"
    );

    let limits = limits(&measured, &day);
    println!(
        "{} jobs/day: {:.0} a minute on average, {:.0} in the busiest minute",
        JOBS_PER_DAY, average, peak
    );
    println!(
        "{:<38} {:>12} {:>10} {:>12}  jobs/day at the limit",
        "limit", "peak", "limit", "unit"
    );
    for l in &limits {
        println!(
            "{:<38} {:>12.0} {:>10.0} {:>12}  {:.0}",
            l.name,
            l.peak,
            l.limit,
            l.unit,
            l.jobs_per_day_at_limit()
        );
    }
    let first = &limits[0];
    assert_eq!(
        first.name, "GitHub API (one App installation)",
        "the README's scaling section names GitHub's limit first"
    );
    assert!(first.peak > first.limit, "1,000,000 jobs/day is past it");
}
