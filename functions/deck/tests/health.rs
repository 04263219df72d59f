//! `/health` through the deck's handler over the in-memory twins: the
//! values the scheduler and the reporter write into the store, the queues
//! the front end watches, the clock moved by hand. 200 while the scheduler
//! ticks and no queue is past its alarm; 503 once the last tick is more than
//! three periods old, when no tick was ever noted, or when a queue's oldest
//! message is older than its alarm.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::health::{RateLimits, SchedulerTick, rate_limits_value};
use skiff_core::keys;
use skiff_core::ports::{JobStore, Queue, RateLimit};
use skiff_deck::{ConfigVersion, DeckOptions, DeckRequest, Deps, Health, WatchedQueue};
use skiff_testkit::{ManualClock, MemoryLogs, MemoryQueue, MemoryStore, T0, presubmit, ts};

struct World {
    clock: Arc<ManualClock>,
    store: MemoryStore,
    logs: MemoryLogs,
    events: Arc<MemoryQueue>,
    config: Config,
    options: DeckOptions,
}

impl World {
    fn new() -> World {
        let clock = Arc::new(ManualClock::new(ts(T0)));
        let events = Arc::new(MemoryQueue::new(clock.clone()));
        let queue: Arc<dyn Queue> = events.clone();
        World {
            store: MemoryStore::new(clock.clone()),
            logs: MemoryLogs::default(),
            events,
            config: Config::default(),
            options: DeckOptions {
                health: Health {
                    queues: vec![WatchedQueue {
                        name: "events".into(),
                        queue,
                    }],
                    config: Some(ConfigVersion {
                        version: "3f9a1c".into(),
                        loaded_at: ts(T0),
                        source: "config.yaml".into(),
                    }),
                },
                ..DeckOptions::default()
            },
            clock,
        }
    }

    async fn health(&self) -> (u16, String) {
        let deps = Deps {
            store: &self.store,
            logs: &self.logs,
            config: Some(&self.config),
            clock: self.clock.as_ref(),
            clusters: None,
            options: &self.options,
            operator: None,
            viewer: None,
        };
        let r = skiff_deck::handle(&DeckRequest::get("/health"), &deps).await;
        (r.status, r.text())
    }

    /// What the scheduler writes at the end of a tick.
    async fn tick(&self, at: Timestamp, period_seconds: u64) {
        let tick = SchedulerTick { at, period_seconds };
        let until = ts("2027-01-01T00:00:00Z");
        self.store
            .put_value(keys::SCHEDULER_TICK, &tick.to_value(), until)
            .await
            .unwrap();
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }
}

#[tokio::test]
async fn healthy_shows_config_queues_oldest_triggered_job_tick_and_rate_limits() {
    let w = World::new();
    w.tick(ts(T0), 60).await;
    let waiting = presubmit("job-1", "unit-tests", 7, ts("2026-11-23T09:55:00Z"));
    w.store.create(&waiting).await.unwrap();
    let limits: RateLimits = [(
        "installation/42".to_string(),
        RateLimit {
            identity: "installation/42".into(),
            remaining: 4321,
            limit: Some(5000),
            reset: Some(ts("2026-11-23T10:30:00Z")),
            observed_at: ts("2026-11-23T09:59:00Z"),
        },
    )]
    .into();
    let until = ts("2027-01-01T00:00:00Z");
    w.store
        .put_value(keys::GITHUB_RATE_LIMITS, &rate_limits_value(&limits), until)
        .await
        .unwrap();
    w.events.send(&["an event".to_string()]).await.unwrap();
    w.advance(30);

    let (status, page) = w.health().await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Healthy."), "{page}");
    assert!(page.contains("<code>3f9a1c</code>"), "{page}");
    assert!(page.contains("loaded 2026-11-23 10:00:00 UTC"), "{page}");
    // events: one waiting, none in flight, no dead letters, 30 s old.
    assert!(
        page.contains("<td>events</td><td>1</td><td>0</td><td>0</td><td>30s</td><td>5m0s</td>"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/jobs/job-1\">unit-tests</a> has waited 5m30s"),
        "{page}"
    );
    assert!(
        page.contains("Last tick 2026-11-23 10:00:00 UTC (30s ago), every 1m0s"),
        "{page}"
    );
    assert!(page.contains("<code>installation/42</code>"), "{page}");
    assert!(page.contains("4321 of 5000"), "{page}");
}

#[tokio::test]
async fn three_missed_ticks_are_a_503_and_one_tick_more_is_healthy_again() {
    let w = World::new();
    w.tick(ts(T0), 60).await;
    w.advance(180);
    assert_eq!(w.health().await.0, 200, "three periods exactly: not yet");
    w.advance(1);
    let (status, page) = w.health().await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("Unhealthy."), "{page}");
    assert!(
        page.contains(
            "The scheduler has not ticked since 2026-11-23 10:00:00 UTC: 3 periods of 1m0s missed."
        ),
        "{page}"
    );
    w.tick(skiff_core::ports::Clock::now(w.clock.as_ref()), 60)
        .await;
    assert_eq!(w.health().await.0, 200);
}

#[tokio::test]
async fn a_scheduler_that_never_ticked_is_unhealthy() {
    let w = World::new();
    let (status, page) = w.health().await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("The scheduler has noted no tick"), "{page}");
}

#[tokio::test]
async fn a_queue_past_its_alarm_is_a_503_until_the_message_is_taken() {
    let w = World::new();
    w.events.send(&["stuck".to_string()]).await.unwrap();
    w.advance(301);
    w.tick(skiff_core::ports::Clock::now(w.clock.as_ref()), 60)
        .await;
    let (status, page) = w.health().await;
    assert_eq!(status, 503, "{page}");
    assert!(
        page.contains("The events queue's oldest message is 5m1s old, past its alarm of 5m0s."),
        "{page}"
    );
    let taken = w.events.receive(10).await.unwrap();
    w.events
        .ack(&taken.iter().map(|m| m.receipt.clone()).collect::<Vec<_>>())
        .await
        .unwrap();
    let (status, page) = w.health().await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<td>events</td><td>0</td><td>0</td><td>0</td><td>empty</td>"),
        "{page}"
    );
}
