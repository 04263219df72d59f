//! The scheduler against in-memory ports: first runs, the next run, cron
//! windows, and ticks racing on one store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::config::jobs::{JobBase, PeriodicFields};
use skiff_core::config::{Config, Periodic};
use skiff_core::ports::{Claim, JobQuery, JobStore, PortError, PortResult};
use skiff_core::prowjob::new::job_id;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType};
use skiff_scheduler::{Deps, TickReport, tick};
use skiff_testkit::{
    MemoryQueue, MemoryStore, T0, clock_at, complete, config, mins, pod_spec, presubmit, ts,
};

fn periodic(name: &str, fields: PeriodicFields) -> Periodic {
    Periodic {
        base: JobBase {
            name: name.into(),
            agent: "kubernetes".into(),
            spec: Some(pod_spec()),
            ..JobBase::default()
        },
        fields,
        ..Periodic::default()
    }
}

fn every_hour(name: &str) -> Periodic {
    periodic(
        name,
        PeriodicFields {
            interval: "1h".into(),
            ..PeriodicFields::default()
        },
    )
}

fn config_with(periodics: Vec<Periodic>) -> Config {
    let mut c = config();
    c.jobs.periodics = periodics;
    c
}

fn at(offset: Duration) -> Timestamp {
    ts(T0).checked_add(offset).unwrap()
}

async fn run_tick(
    store: &dyn JobStore,
    queue: &MemoryQueue,
    config: &Config,
    prev: Timestamp,
    now: Timestamp,
) -> TickReport {
    let deps = Deps {
        store,
        queue,
        config,
    };
    tick(&deps, prev, now).await.unwrap()
}

#[tokio::test]
async fn a_new_interval_periodic_runs_at_once_and_not_again_while_running() {
    let clock = clock_at(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let queue = MemoryQueue::new(clock);
    let config = config_with(vec![every_hour("ci-widgets-nightly")]);

    let report = run_tick(
        store.as_ref(),
        &queue,
        &config,
        at(Duration::ZERO),
        at(mins(1)),
    )
    .await;

    let id = job_id("ci-widgets-nightly@first");
    assert_eq!(report.created, std::slice::from_ref(&id));
    assert_eq!(queue.sent_ids(), std::slice::from_ref(&id));
    let run = store.job(&id);
    assert_eq!(run.spec.r#type, Some(ProwJobType::Periodic));
    assert_eq!(run.spec.job, "ci-widgets-nightly");
    assert_eq!(run.status.state, Some(ProwJobState::Triggered));
    assert_eq!(run.status.start_time, Some(at(mins(1))));
    assert!(run.spec.report, "periodics always report");

    // Still triggered an hour later: a periodic never overlaps itself.
    let report = run_tick(store.as_ref(), &queue, &config, at(mins(61)), at(mins(62))).await;
    assert!(report.created.is_empty());
    assert_eq!(report.not_due, 1);
    assert_eq!(store.ids().len(), 1);
}

#[tokio::test]
async fn the_next_run_follows_the_interval_from_the_last_start() {
    let clock = clock_at(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let queue = MemoryQueue::new(clock);
    let config = config_with(vec![every_hour("ci-widgets-nightly")]);
    let first = periodic_run("first", "ci-widgets-nightly", at(Duration::ZERO));
    store.put(complete(first, ProwJobState::Success, at(mins(10))));

    let report = run_tick(store.as_ref(), &queue, &config, at(mins(59)), at(mins(60))).await;
    assert!(report.created.is_empty(), "exactly 1h is not more than 1h");

    let report = run_tick(store.as_ref(), &queue, &config, at(mins(60)), at(mins(61))).await;
    let id = job_id("ci-widgets-nightly@after-first");
    assert_eq!(report.created, std::slice::from_ref(&id));
    assert_eq!(queue.sent_ids(), [id]);
}

#[tokio::test]
async fn a_cron_periodic_waits_for_its_first_fire() {
    let clock = clock_at(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let queue = MemoryQueue::new(clock);
    let config = config_with(vec![periodic(
        "ci-widgets-hourly",
        PeriodicFields {
            cron: "30 * * * *".into(),
            ..PeriodicFields::default()
        },
    )]);
    // T0 is 10:00; the first fire is 10:30.
    let report = run_tick(store.as_ref(), &queue, &config, at(mins(28)), at(mins(29))).await;
    assert!(report.created.is_empty());
    let report = run_tick(store.as_ref(), &queue, &config, at(mins(29)), at(mins(30))).await;
    assert_eq!(report.created.len(), 1);
}

/// Lets every caller of `create` through only when `parties` callers are
/// waiting, so racing ticks have all read the store before any writes.
struct RacingStore {
    inner: Arc<dyn JobStore>,
    barrier: tokio::sync::Barrier,
}

#[async_trait]
impl JobStore for RacingStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        self.barrier.wait().await;
        self.inner.create(job).await
    }
    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        self.inner.get(id).await
    }
    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        self.inner.update(job).await
    }
    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        self.inner.list(query, limit).await
    }
    async fn delete(&self, id: &str) -> PortResult<()> {
        self.inner.delete(id).await
    }
    async fn claim(&self, key: &str, expires: Timestamp) -> PortResult<Claim> {
        self.inner.claim(key, expires).await
    }
    async fn keep(&self, key: &str, expires: Timestamp) -> PortResult<()> {
        self.inner.keep(key, expires).await
    }
    async fn forget(&self, key: &str) -> PortResult<()> {
        self.inner.forget(key).await
    }
    async fn claim_as(&self, key: &str, owner: &str, expires: Timestamp) -> PortResult<Claim> {
        self.inner.claim_as(key, owner, expires).await
    }
    async fn release(&self, key: &str, owner: &str) -> PortResult<()> {
        self.inner.release(key, owner).await
    }
}

async fn race_two_ticks(inner: Arc<dyn JobStore>) {
    let store = RacingStore {
        inner: inner.clone(),
        barrier: tokio::sync::Barrier::new(2),
    };
    let queue = MemoryQueue::new(clock_at(T0));
    let config = config_with(vec![every_hour("ci-widgets-nightly")]);
    let done = periodic_run("first", "ci-widgets-nightly", at(Duration::ZERO));
    assert!(
        inner
            .create(&complete(done, ProwJobState::Success, at(mins(10))))
            .await
            .unwrap()
    );

    // Different windows, both past the interval: the same slot.
    let (a, b) = tokio::join!(
        run_tick(&store, &queue, &config, at(mins(60)), at(mins(61))),
        run_tick(&store, &queue, &config, at(mins(59)), at(mins(62))),
    );

    assert_eq!(a.created.len() + b.created.len(), 1, "{a:?} {b:?}");
    assert_eq!(a.already_created + b.already_created, 1, "{a:?} {b:?}");
    let all = inner.list(&JobQuery::All, None).await.unwrap();
    assert_eq!(all.len(), 2, "the finished run and one new one");
    let next = job_id("ci-widgets-nightly@after-first");
    assert_eq!(queue.sent_ids(), [next]);
}

#[tokio::test]
async fn two_overlapping_ticks_create_one_run_per_slot() {
    race_two_ticks(Arc::new(MemoryStore::new(clock_at(T0)))).await;
}

#[tokio::test]
async fn two_overlapping_ticks_create_one_run_per_slot_on_sqlite() {
    let clock = clock_at(T0);
    let db = skiff_local::store::Db::open_in_memory().unwrap();
    race_two_ticks(Arc::new(skiff_local::store::SqliteStore::new(db, clock))).await;
}

#[tokio::test]
async fn a_periodic_whose_latest_run_cannot_be_read_is_not_started() {
    let clock = clock_at(T0);
    let store = MemoryStore::new(clock.clone());
    let queue = MemoryQueue::new(clock);
    let config = config_with(vec![every_hour("ci-a"), every_hour("ci-b")]);
    // The tick reads the periodics' latest runs one after another in config
    // order, so the first listing is ci-a's: it fails as a throttled store's
    // would.
    store
        .faults()
        .next("list", PortError::Unavailable("throttled".into()));
    let report = run_tick(&store, &queue, &config, at(Duration::ZERO), at(mins(1))).await;
    assert_eq!(report.created, [job_id("ci-b@first")]);
    assert_eq!(report.failures, 1);
}

#[tokio::test]
async fn a_run_of_another_type_with_the_same_name_is_not_the_latest() {
    let clock = clock_at(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let queue = MemoryQueue::new(clock);
    let config = config_with(vec![every_hour("widgets-unit")]);
    let done = periodic_run("p1", "widgets-unit", at(Duration::ZERO));
    store.put(complete(done, ProwJobState::Success, at(mins(1))));
    // A newer presubmit of the same name, still running.
    store.put(presubmit("pre", "widgets-unit", 42, at(mins(50))));

    let report = run_tick(store.as_ref(), &queue, &config, at(mins(60)), at(mins(61))).await;
    assert_eq!(report.created, [job_id("widgets-unit@after-p1")]);
}

fn periodic_run(id: &str, job: &str, start: Timestamp) -> ProwJob {
    skiff_testkit::periodic(id, job, start)
}

/// The deck's `/health` reads the last tick and its period from the store;
/// a tick with no periodic to start still notes itself.
#[tokio::test]
async fn every_tick_notes_itself_and_its_period_for_the_health_page() {
    let clock = clock_at(T0);
    let store = MemoryStore::new(clock.clone());
    let queue = MemoryQueue::new(clock.clone());
    let config = config_with(Vec::new());
    run_tick(&store, &queue, &config, at(mins(0)), at(mins(1))).await;
    let text = store
        .get_value(skiff_core::keys::SCHEDULER_TICK)
        .await
        .unwrap()
        .expect("a tick is noted");
    let tick = skiff_core::health::SchedulerTick::parse(&text).expect("a tick");
    assert_eq!(tick.at, at(mins(1)));
    assert_eq!(tick.period_seconds, 60);
    assert!(!tick.is_stale(at(mins(4))));
    assert!(tick.is_stale(at(mins(4)) + Duration::from_secs(1)));
}
