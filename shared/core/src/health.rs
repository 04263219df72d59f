//! The deck's health page (`/health`): the small values the functions that
//! know them write into the job store, and the rules that judge them. The
//! page answers 503 when the scheduler has not ticked for
//! [`MISSED_TICKS`] periods or a queue's oldest message is older than its
//! alarm ([`queue_alarm`]); everything else it shows is information.
//!
//! | value | key | written by | read by |
//! |---|---|---|---|
//! | the scheduler's last tick and its period | [`crate::keys::SCHEDULER_TICK`] | the scheduler, every tick | the deck |
//! | GitHub's rate limit left, per identity | [`crate::keys::GITHUB_RATE_LIMITS`] | the reporter, at most once a minute per process | the deck |

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ports::RateLimit;

/// Ticks the scheduler may miss before the deck calls it unhealthy.
pub const MISSED_TICKS: u32 = 3;

/// How long a written health value lives in the store: long enough to be
/// read, short enough that a function gone for a day leaves no stale claim.
pub const KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// How often one process writes the rate limits it saw (one store write).
pub const RATE_LIMIT_NOTE_EVERY: Duration = Duration::from_secs(60);

/// The scheduler's last tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerTick {
    /// The instant the tick covered up to.
    pub at: Timestamp,
    /// Seconds between ticks (the EventBridge rate, `--tick-seconds`).
    pub period_seconds: u64,
}

impl SchedulerTick {
    pub fn to_value(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `None` when the stored text is not a tick (another skiff's, damaged).
    pub fn parse(text: &str) -> Option<SchedulerTick> {
        serde_json::from_str(text).ok()
    }

    /// When the tick counts as missed: [`MISSED_TICKS`] periods after it.
    pub fn stale_after(&self) -> Timestamp {
        let grace = Duration::from_secs(self.period_seconds.max(1)).saturating_mul(MISSED_TICKS);
        self.at.checked_add(grace).unwrap_or(Timestamp::MAX)
    }

    /// Whether the scheduler has missed [`MISSED_TICKS`] ticks by `now`.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        now > self.stale_after()
    }
}

/// The rate limits last noted, by identity.
pub type RateLimits = BTreeMap<String, RateLimit>;

/// Reads the stored rate limits; damaged text reads as none.
pub fn parse_rate_limits(text: &str) -> RateLimits {
    serde_json::from_str(text).unwrap_or_default()
}

/// `stored` with `seen` over it: an identity's newer observation wins, the
/// identities another process saw stay.
pub fn merge_rate_limits(mut stored: RateLimits, seen: &[RateLimit]) -> RateLimits {
    for r in seen {
        let newer = stored
            .get(&r.identity)
            .is_none_or(|old| old.observed_at <= r.observed_at);
        if newer {
            stored.insert(r.identity.clone(), r.clone());
        }
    }
    stored
}

pub fn rate_limits_value(limits: &RateLimits) -> String {
    serde_json::to_string(limits).unwrap_or_default()
}

/// The age past which a queue's oldest message is an alarm (the
/// template's `…QueueAgeAlarm`s use the same): events are planned within
/// seconds, jobs start within minutes unless they wait for a concurrency
/// slot (a wait re-sends the message, so its age starts again), reports
/// may wait out a rate limit, tide's nudges are looked at every minute.
pub fn queue_alarm(queue: &str) -> Option<Duration> {
    use crate::metrics::queue;
    let minutes = match queue {
        queue::EVENTS => 5,
        queue::DISPATCH => 15,
        queue::REPORTS => 60,
        queue::TIDE => 15,
        _ => return None,
    };
    Some(Duration::from_secs(minutes * 60))
}

/// Whether a queue whose oldest message was sent at `oldest_sent` is past
/// its alarm at `now`.
pub fn queue_too_old(queue: &str, oldest_sent: Timestamp, now: Timestamp) -> bool {
    let Some(alarm) = queue_alarm(queue) else {
        return false;
    };
    let age = now.duration_since(oldest_sent);
    age.as_secs_f64() > alarm.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn the_scheduler_is_stale_after_three_missed_periods_not_before() {
        let tick = SchedulerTick {
            at: t(0),
            period_seconds: 60,
        };
        assert!(!tick.is_stale(t(180)), "three periods exactly");
        assert!(tick.is_stale(t(181)));
        assert_eq!(SchedulerTick::parse(&tick.to_value()), Some(tick));
        assert_eq!(SchedulerTick::parse("{"), None);
    }

    #[test]
    fn a_newer_observation_wins_and_other_identities_stay() {
        let rl = |id: &str, remaining, at| RateLimit {
            identity: id.into(),
            remaining,
            limit: Some(5000),
            reset: None,
            observed_at: t(at),
        };
        let stored = merge_rate_limits(RateLimits::new(), &[rl("token", 10, 5), rl("app", 7, 5)]);
        let merged = merge_rate_limits(stored, &[rl("token", 9, 6), rl("app", 99, 1)]);
        assert_eq!(merged["token"].remaining, 9);
        assert_eq!(merged["app"].remaining, 7, "an older observation loses");
        let back = parse_rate_limits(&rate_limits_value(&merged));
        assert_eq!(back, merged);
        assert!(parse_rate_limits("nonsense").is_empty());
    }

    #[test]
    fn queue_alarms_hold_for_known_queues_only() {
        assert!(!queue_too_old("events", t(0), t(300)));
        assert!(queue_too_old("events", t(0), t(301)));
        assert!(!queue_too_old("reports", t(0), t(301)));
        assert!(!queue_too_old("mystery", t(0), t(100_000)));
    }
}
