//! The redelivery sweep's rules, one scenario each, over the store's
//! in-memory twin (the webhook's `delivery/<guid>` keys and the sweeper's
//! claims live there) and a fake of GitHub's deliveries API that records
//! every redelivery request. Each scenario asserts the exact report and the
//! exact requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::keys;
use skiff_core::ports::{Hook, HookDeliveries, HookDelivery, JobStore, PortError, PortResult};
use skiff_redelivery::{Deps, Settings, SweepReport, sweep};
use skiff_testkit::{ManualClock, MemoryStore};

fn now() -> Timestamp {
    "2026-11-23T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn repo_hook() -> Hook {
    Hook::Repo {
        org: "acme".into(),
        repo: "widgets".into(),
        id: 9,
    }
}

/// One attempt, `ago` seconds before [`now`].
fn attempt(id: i64, guid: &str, event: &str, status: u16, ago: u64) -> HookDelivery {
    HookDelivery {
        id,
        guid: guid.into(),
        delivered_at: now()
            .checked_sub(Duration::from_secs(ago))
            .unwrap_or(Timestamp::UNIX_EPOCH),
        redelivery: false,
        status_code: status,
        event: event.into(),
    }
}

/// The same, as GitHub lists a redelivery.
fn redelivery(id: i64, guid: &str, event: &str, status: u16, ago: u64) -> HookDelivery {
    HookDelivery {
        redelivery: true,
        ..attempt(id, guid, event, status, ago)
    }
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// GitHub's deliveries API: attempts per hook, redelivery requests
/// recorded, chosen requests refused.
#[derive(Default)]
struct FakeDeliveries {
    attempts: Mutex<BTreeMap<String, Vec<HookDelivery>>>,
    /// Hooks whose listing fails (a 5xx).
    unreadable: Mutex<Vec<String>>,
    /// Attempt ids whose redelivery request fails.
    refused: Mutex<Vec<i64>>,
    /// Attempt ids whose redelivery request kills the sweep (a panic standing
    /// for a crash) before GitHub accepts it, once each.
    dies: Mutex<Vec<i64>>,
    /// Every redelivery request GitHub accepted: `(hook, attempt id)`.
    requests: Mutex<Vec<(String, i64)>>,
    /// Every `since` a listing was asked with.
    since: Mutex<Vec<Timestamp>>,
}

impl FakeDeliveries {
    fn with(hook: &Hook, attempts: Vec<HookDelivery>) -> Self {
        let fake = FakeDeliveries::default();
        fake.set(hook, attempts);
        fake
    }

    fn set(&self, hook: &Hook, mut attempts: Vec<HookDelivery>) {
        // GitHub lists newest first.
        attempts.sort_by_key(|a| std::cmp::Reverse((a.delivered_at, a.id)));
        lock(&self.attempts).insert(hook.to_string(), attempts);
    }

    fn requests(&self) -> Vec<(String, i64)> {
        lock(&self.requests).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl HookDeliveries for FakeDeliveries {
    async fn deliveries(&self, hook: &Hook, since: Timestamp) -> PortResult<Vec<HookDelivery>> {
        lock(&self.since).push(since);
        if lock(&self.unreadable).contains(&hook.to_string()) {
            return Err(PortError::Unavailable("HTTP 502".into()));
        }
        // Whole pages: older attempts than `since` come along, as from GitHub.
        Ok(lock(&self.attempts)
            .get(&hook.to_string())
            .cloned()
            .unwrap_or_default())
    }

    async fn redeliver(&self, hook: &Hook, id: i64) -> PortResult<()> {
        let dies = {
            let mut dies = lock(&self.dies);
            let found = dies.iter().position(|d| *d == id);
            found.map(|i| dies.remove(i)).is_some()
        };
        if dies {
            panic!("the sweep dies requesting attempt {id}");
        }
        if lock(&self.refused).contains(&id) {
            return Err(PortError::Unavailable(
                format!("POST attempts {id}: HTTP 500").into(),
            ));
        }
        lock(&self.requests).push((hook.to_string(), id));
        Ok(())
    }
}

/// The store and clock one scenario runs on.
struct World {
    clock: Arc<ManualClock>,
    store: MemoryStore,
    settings: Settings,
}

impl World {
    fn new(hooks: Vec<Hook>) -> World {
        let clock = Arc::new(ManualClock::new(now()));
        World {
            store: MemoryStore::new(clock.clone()),
            clock,
            settings: Settings::new(hooks),
        }
    }

    /// The webhook recorded (queued) these deliveries.
    async fn recorded(&self, guids: &[&str]) {
        let week = now()
            .checked_add(Duration::from_secs(7 * 24 * HOUR))
            .unwrap_or(Timestamp::MAX);
        for guid in guids {
            let key = keys::delivery(guid);
            assert!(self.store.remember(&key, week).await.expect("remember"));
        }
    }

    /// What a webhook attempt that died after claiming `guid` leaves: its
    /// claim, for one lease.
    async fn claimed(&self, guid: &str) {
        let lease = now()
            .checked_add(keys::DELIVERY_CLAIM_LEASE)
            .unwrap_or(Timestamp::MAX);
        assert!(
            self.store
                .remember(&keys::delivery(guid), lease)
                .await
                .expect("claim")
        );
    }

    async fn sweep(&self, github: &FakeDeliveries) -> SweepReport {
        sweep(&Deps {
            store: &self.store,
            github,
            clock: self.clock.as_ref(),
            settings: &self.settings,
        })
        .await
    }

    /// Whether the webhook would take `guid` as new: the probe left no key.
    async fn webhook_takes(&self, guid: &str) -> bool {
        let key = keys::delivery(guid);
        let taken = self
            .store
            .remember(&key, Timestamp::MAX)
            .await
            .expect("remember");
        if taken {
            self.store.forget(&key).await.expect("forget");
        }
        taken
    }
}

fn redelivered(guids: &[&str]) -> Vec<String> {
    guids.iter().map(|g| g.to_string()).collect()
}

struct Case {
    rule: &'static str,
    attempts: Vec<HookDelivery>,
    /// Deliveries the webhook recorded.
    recorded: &'static [&'static str],
    report: SweepReport,
    /// Attempt ids GitHub is asked to redeliver.
    requests: Vec<i64>,
}

#[tokio::test]
async fn one_sweep_redelivers_exactly_the_lost_deliveries() {
    let cases = vec![
        Case {
            rule: "failed and unrecorded: redelivered once",
            attempts: vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
            recorded: &[],
            report: SweepReport {
                deliveries: 1,
                failed: 1,
                redelivered: redelivered(&["g-lost"]),
                ..SweepReport::default()
            },
            requests: vec![11],
        },
        Case {
            rule: "no answer at all (status 0, a timeout) counts as failed",
            attempts: vec![attempt(12, "g-timeout", "issue_comment", 0, 20 * MIN)],
            recorded: &[],
            report: SweepReport {
                deliveries: 1,
                failed: 1,
                redelivered: redelivered(&["g-timeout"]),
                ..SweepReport::default()
            },
            requests: vec![12],
        },
        Case {
            rule: "failed towards GitHub but recorded by the webhook (answered late): not redelivered",
            attempts: vec![attempt(13, "g-late", "pull_request", 0, 20 * MIN)],
            recorded: &["g-late"],
            report: SweepReport {
                deliveries: 1,
                failed: 1,
                recorded: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "succeeded on a later attempt: not redelivered",
            attempts: vec![
                attempt(14, "g-retried", "pull_request", 503, 40 * MIN),
                redelivery(15, "g-retried", "pull_request", 200, 30 * MIN),
            ],
            recorded: &["g-retried"],
            report: SweepReport {
                deliveries: 2,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "succeeded: nothing to do",
            attempts: vec![attempt(16, "g-ok", "push", 200, 20 * MIN)],
            recorded: &["g-ok"],
            report: SweepReport {
                deliveries: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "failed moments ago, nothing has succeeded since: the webhook may still be down, wait",
            attempts: vec![
                attempt(17, "g-ok", "push", 200, 30 * MIN),
                attempt(18, "g-fresh", "pull_request", 503, 2 * MIN),
            ],
            recorded: &["g-ok"],
            report: SweepReport {
                deliveries: 2,
                failed: 1,
                waiting: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "failed moments ago, a later delivery succeeded: the webhook answers, redeliver now",
            attempts: vec![
                attempt(19, "g-fresh", "pull_request", 503, 2 * MIN),
                attempt(20, "g-after", "issue_comment", 200, MIN),
            ],
            recorded: &["g-after"],
            report: SweepReport {
                deliveries: 2,
                failed: 1,
                redelivered: redelivered(&["g-fresh"]),
                ..SweepReport::default()
            },
            requests: vec![19],
        },
        Case {
            rule: "older than the lookback: not read, not redelivered",
            attempts: vec![
                attempt(21, "g-ancient", "pull_request", 502, 7 * HOUR),
                attempt(22, "g-ok", "push", 200, HOUR),
            ],
            recorded: &["g-ok"],
            report: SweepReport {
                deliveries: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "event kinds Skiff ignores: not redelivered",
            attempts: vec![
                attempt(23, "g-star", "watch", 502, 20 * MIN),
                attempt(24, "g-ping", "ping", 0, 20 * MIN),
                attempt(25, "g-pr", "pull_request", 502, 20 * MIN),
            ],
            recorded: &[],
            report: SweepReport {
                deliveries: 3,
                failed: 3,
                ignored: 2,
                redelivered: redelivered(&["g-pr"]),
                ..SweepReport::default()
            },
            requests: vec![25],
        },
        Case {
            rule: "several failed attempts of one delivery: one request, for the latest",
            attempts: vec![
                attempt(26, "g-twice", "pull_request", 502, 50 * MIN),
                redelivery(27, "g-twice", "pull_request", 502, 40 * MIN),
                attempt(28, "g-ok", "push", 200, 30 * MIN),
            ],
            recorded: &["g-ok"],
            report: SweepReport {
                deliveries: 3,
                failed: 1,
                redelivered: redelivered(&["g-twice"]),
                ..SweepReport::default()
            },
            requests: vec![27],
        },
        Case {
            rule: "a redelivery that failed too, nothing succeeded since: wait for proof, not for the settle time",
            attempts: vec![
                attempt(29, "g-down", "pull_request", 502, 3 * HOUR),
                redelivery(30, "g-down", "pull_request", 502, 2 * HOUR),
            ],
            recorded: &[],
            report: SweepReport {
                deliveries: 2,
                failed: 1,
                waiting: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "refused as too large (413): redelivering cannot help, not asked again",
            attempts: vec![
                attempt(40, "g-huge", "push", 413, 20 * MIN),
                attempt(41, "g-ok", "push", 200, 5 * MIN),
            ],
            recorded: &["g-ok"],
            report: SweepReport {
                deliveries: 2,
                failed: 1,
                ignored: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
        Case {
            rule: "claimed by an attempt that died before queueing: not recorded, wait until the claim expires",
            attempts: vec![attempt(42, "g-claimed", "pull_request", 0, 20 * MIN)],
            recorded: &[],
            report: SweepReport {
                deliveries: 1,
                failed: 1,
                waiting: 1,
                ..SweepReport::default()
            },
            requests: vec![],
        },
    ];
    for case in cases {
        let hook = repo_hook();
        let world = World::new(vec![hook.clone()]);
        world.recorded(case.recorded).await;
        if case.rule.starts_with("claimed by an attempt") {
            world.claimed("g-claimed").await;
        }
        let github = FakeDeliveries::with(&hook, case.attempts);
        let report = world.sweep(&github).await;
        assert_eq!(report, case.report, "{}", case.rule);
        let requests: Vec<(String, i64)> = case
            .requests
            .iter()
            .map(|id| (hook.to_string(), *id))
            .collect();
        assert_eq!(github.requests(), requests, "{}", case.rule);
        // The probe of the webhook's key never leaves it held: a redelivery
        // must not be dropped as a duplicate.
        for guid in &report.redelivered {
            assert!(world.webhook_takes(guid).await, "{}: {guid}", case.rule);
        }
        // Recorded deliveries stay recorded.
        for guid in case.recorded {
            assert!(!world.webhook_takes(guid).await, "{}: {guid}", case.rule);
        }
        assert_eq!(
            lock(&github.since).as_slice(),
            [now()
                .checked_sub(Duration::from_secs(6 * HOUR))
                .unwrap_or(Timestamp::MIN)],
            "{}: read back to the lookback",
            case.rule
        );
    }
}

#[tokio::test]
async fn a_delivery_already_requested_is_not_requested_again() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    let github = FakeDeliveries::with(
        &hook,
        vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
    );
    let first = world.sweep(&github).await;
    assert_eq!(first.redelivered, ["g-lost"]);

    // GitHub has not listed the redelivery yet (it is asynchronous): the
    // same failed attempt is read again, and nothing is requested.
    world.clock.advance(Duration::from_secs(5 * MIN));
    let second = world.sweep(&github).await;
    assert_eq!(
        second,
        SweepReport {
            deliveries: 1,
            failed: 1,
            already_requested: 1,
            ..SweepReport::default()
        }
    );
    // Once listed as answered, the delivery is done.
    github.set(
        &hook,
        vec![
            attempt(11, "g-lost", "pull_request", 502, 20 * MIN),
            redelivery(31, "g-lost", "pull_request", 200, 10 * MIN),
        ],
    );
    world.clock.advance(Duration::from_secs(5 * MIN));
    let third = world.sweep(&github).await;
    assert_eq!(
        third,
        SweepReport {
            deliveries: 2,
            ..SweepReport::default()
        }
    );
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);
}

#[tokio::test]
async fn overlapping_sweeps_request_a_delivery_once() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    let github = FakeDeliveries::with(
        &hook,
        vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
    );
    let (a, b) = tokio::join!(world.sweep(&github), world.sweep(&github));
    let mut both = [a.redelivered.len(), b.redelivered.len()];
    both.sort();
    assert_eq!(both, [0, 1], "{a:?} {b:?}");
    assert_eq!(a.already_requested + b.already_requested, 1, "{a:?} {b:?}");
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);
    assert!(world.webhook_takes("g-lost").await);
}

#[tokio::test]
async fn a_failed_redelivery_request_is_retried_next_sweep_not_marked() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    let github = FakeDeliveries::with(
        &hook,
        vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
    );
    lock(&github.refused).push(11);
    let first = world.sweep(&github).await;
    assert_eq!(
        first,
        SweepReport {
            deliveries: 1,
            failed: 1,
            errors: vec![
                "acme/widgets:9: redeliver g-lost: unavailable: POST attempts 11: HTTP 500".into()
            ],
            ..SweepReport::default()
        }
    );
    assert_eq!(github.requests(), []);

    lock(&github.refused).clear();
    world.clock.advance(Duration::from_secs(5 * MIN));
    let second = world.sweep(&github).await;
    assert_eq!(
        second,
        SweepReport {
            deliveries: 1,
            failed: 1,
            redelivered: redelivered(&["g-lost"]),
            ..SweepReport::default()
        }
    );
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);
}

#[tokio::test]
async fn a_redelivery_into_an_outage_still_on_is_asked_again_once_the_webhook_answers() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    // A quiet repository: one event, lost 20 minutes ago; nothing proves the
    // webhook is back, so the settle time lets the one request go.
    let lost = attempt(11, "g-lost", "pull_request", 502, 20 * MIN);
    let github = FakeDeliveries::with(&hook, vec![lost.clone()]);
    assert_eq!(world.sweep(&github).await.redelivered, ["g-lost"]);

    // The webhook was still down: the redelivery failed as well. Asking
    // again on the settle time alone could go on forever; it waits.
    world.clock.advance(Duration::from_secs(30 * MIN));
    let failed_again = redelivery(12, "g-lost", "pull_request", 502, 15 * MIN);
    github.set(&hook, vec![lost.clone(), failed_again.clone()]);
    let waiting = world.sweep(&github).await;
    assert_eq!(
        waiting,
        SweepReport {
            deliveries: 2,
            failed: 1,
            waiting: 1,
            ..SweepReport::default()
        }
    );

    // A later delivery succeeds: the webhook answers again, and the failed
    // redelivery is asked for (once).
    github.set(
        &hook,
        vec![
            lost,
            failed_again,
            attempt(13, "g-next", "push", 200, 5 * MIN),
        ],
    );
    world.recorded(&["g-next"]).await;
    assert_eq!(world.sweep(&github).await.redelivered, ["g-lost"]);
    assert_eq!(world.sweep(&github).await.already_requested, 1);
    assert_eq!(
        github.requests(),
        [(hook.to_string(), 11), (hook.to_string(), 12)]
    );
}

#[tokio::test]
async fn a_hook_that_cannot_be_read_does_not_stop_the_others() {
    let broken = Hook::Org {
        org: "acme".into(),
        id: 3,
    };
    let world = World::new(vec![broken.clone(), Hook::App]);
    let github = FakeDeliveries::with(
        &Hook::App,
        vec![attempt(11, "g-lost", "check_run", 500, 20 * MIN)],
    );
    lock(&github.unreadable).push(broken.to_string());
    let report = world.sweep(&github).await;
    assert_eq!(
        report,
        SweepReport {
            deliveries: 1,
            failed: 1,
            redelivered: redelivered(&["g-lost"]),
            errors: vec!["acme:3: unavailable: HTTP 502".into()],
            ..SweepReport::default()
        }
    );
    assert_eq!(github.requests(), [("app".to_string(), 11)]);
}

#[tokio::test]
async fn a_sweep_that_dies_between_its_claim_and_the_request_loses_nothing() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    let github = FakeDeliveries::with(
        &hook,
        vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
    );
    lock(&github.dies).push(11);
    let died = skiff_core::panic::catch(world.sweep(&github)).await;
    assert!(died.is_err(), "{died:?}");
    assert_eq!(github.requests(), []);

    // The dead sweep's claim holds the attempt for its lease only (before,
    // it held it for the 4-day mark: the delivery was never asked for).
    world.clock.advance(Duration::from_secs(5 * MIN));
    let held = world.sweep(&github).await;
    assert_eq!(held.already_requested, 1, "{held:?}");
    world.clock.advance(Duration::from_secs(6 * MIN));
    let after = world.sweep(&github).await;
    assert_eq!(after.redelivered, ["g-lost"], "{after:?}");
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);

    // Once requested, the mark holds it for days, not for a lease.
    world.clock.advance(Duration::from_secs(60 * MIN));
    let later = world.sweep(&github).await;
    assert_eq!(later.already_requested, 1, "{later:?}");
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);
}

#[tokio::test]
async fn a_sweep_that_dies_between_the_request_and_its_mark_asks_nothing_twice_once_listed() {
    let hook = repo_hook();
    let world = World::new(vec![hook.clone()]);
    let github = FakeDeliveries::with(
        &hook,
        vec![attempt(11, "g-lost", "pull_request", 502, 20 * MIN)],
    );
    world.store.faults().panic_next("keep", 1);
    let died = skiff_core::panic::catch(world.sweep(&github)).await;
    assert!(died.is_err(), "{died:?}");
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);

    // GitHub lists the redelivery it was asked for, answered: the delivery
    // is done whatever became of the claim.
    github.set(
        &hook,
        vec![
            attempt(11, "g-lost", "pull_request", 502, 20 * MIN),
            redelivery(31, "g-lost", "pull_request", 200, MIN),
        ],
    );
    world.clock.advance(Duration::from_secs(11 * MIN));
    let after = world.sweep(&github).await;
    assert_eq!(after.redelivered, Vec::<String>::new(), "{after:?}");
    assert_eq!(github.requests(), [(hook.to_string(), 11)]);
}
