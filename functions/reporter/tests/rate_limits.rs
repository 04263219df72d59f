//! GitHub's rate limit as the reporter notes it for the deck's `/health`:
//! what the code host saw, written at most once a minute per process,
//! merged with the identities other processes wrote.

use std::sync::Arc;
use std::time::Duration;

use skiff_core::health::{RateLimits, parse_rate_limits, rate_limits_value};
use skiff_core::keys;
use skiff_core::ports::{JobStore, RateLimit};
use skiff_reporter::RateLimitNotes;
use skiff_testkit::{ManualClock, MemoryScm, MemoryStore, T0, ts};

fn limit(identity: &str, remaining: u64, clock: &ManualClock) -> RateLimit {
    RateLimit {
        identity: identity.into(),
        remaining,
        limit: Some(5000),
        reset: None,
        observed_at: skiff_core::ports::Clock::now(clock),
    }
}

async fn noted(store: &MemoryStore) -> RateLimits {
    let text = store.get_value(keys::GITHUB_RATE_LIMITS).await.unwrap();
    parse_rate_limits(&text.unwrap_or_default())
}

#[tokio::test]
async fn limits_are_written_once_a_minute_and_merged_with_other_identities() {
    let clock = Arc::new(ManualClock::new(ts(T0)));
    let store = MemoryStore::new(clock.clone());
    let scm = MemoryScm::default();
    let notes = RateLimitNotes::default();

    // Nothing seen: nothing written.
    notes.note(&scm, &store, clock.as_ref()).await;
    assert!(noted(&store).await.is_empty());

    // Another container wrote the App's budget.
    let other: RateLimits = [("app".to_string(), limit("app", 4900, &clock))].into();
    let until = ts("2027-01-01T00:00:00Z");
    store
        .put_value(keys::GITHUB_RATE_LIMITS, &rate_limits_value(&other), until)
        .await
        .unwrap();

    scm.set_rate_limits(vec![limit("token", 4000, &clock)]);
    notes.note(&scm, &store, clock.as_ref()).await;
    let first = noted(&store).await;
    assert_eq!(first["token"].remaining, 4000);
    assert_eq!(first["app"].remaining, 4900, "another identity stays");

    // Within the minute: not written again.
    clock.advance(Duration::from_secs(30));
    scm.set_rate_limits(vec![limit("token", 3999, &clock)]);
    notes.note(&scm, &store, clock.as_ref()).await;
    assert_eq!(noted(&store).await["token"].remaining, 4000);

    // A minute after the last write: written.
    clock.advance(Duration::from_secs(30));
    notes.note(&scm, &store, clock.as_ref()).await;
    assert_eq!(noted(&store).await["token"].remaining, 3999);
}
