//! Keys held by an owner: the per-PR comment lock's semantics, where a
//! claim whose answer was lost must be taken again by its own retry.

use super::*;

/// Whole seconds far from any clock: DynamoDB keeps expiries to the second.
fn year_9000(plus: i64) -> Timestamp {
    Timestamp::constant(221_845_392_000 + plus, 0)
}

pub(super) async fn an_owned_claim_is_taken_again_by_its_owner_only(store: &dyn JobStore) {
    let (soon, later) = (year_9000(0), year_9000(600));
    let key = "conf-lock";
    assert_eq!(
        ok("claim_as", store.claim_as(key, "report-a", soon).await),
        Claim::Taken,
        "a free key is taken"
    );
    assert_eq!(
        ok(
            "claim_as again",
            store.claim_as(key, "report-a", later).await
        ),
        Claim::Taken,
        "the owner's retry (after a lost answer) takes its key again"
    );
    assert_eq!(
        ok(
            "claim_as by another",
            store.claim_as(key, "report-b", soon).await
        ),
        Claim::Held { until: later },
        "another owner finds it held, until the expiry the retry set"
    );
    assert_eq!(
        ok("claim beside claim_as", store.claim(key, soon).await),
        Claim::Held { until: later },
        "owned and plain claims share one key space"
    );
    ok("release by another", store.release(key, "report-b").await);
    assert_eq!(
        ok(
            "claim_as after another's release",
            store.claim_as(key, "report-b", soon).await
        ),
        Claim::Held { until: later },
        "only the owner releases"
    );
    ok("release", store.release(key, "report-a").await);
    assert_eq!(
        ok(
            "claim_as after release",
            store.claim_as(key, "report-b", soon).await
        ),
        Claim::Taken,
        "a released key is free"
    );
    ok("cleanup", store.forget(key).await);
}

pub(super) async fn an_expired_lock_is_free_and_its_late_owner_releases_nothing(
    store: &dyn JobStore,
) {
    let past = Timestamp::constant(946_684_800, 0); // year 2000
    let key = "conf-lock-expired";
    assert_eq!(
        ok("claim_as", store.claim_as(key, "slow", past).await),
        Claim::Taken
    );
    assert_eq!(
        ok(
            "claim_as over an expired lock",
            store.claim_as(key, "next", year_9000(0)).await
        ),
        Claim::Taken,
        "an expired lock is free to another owner"
    );
    ok("late release", store.release(key, "slow").await);
    assert_eq!(
        ok(
            "claim_as after the late release",
            store.claim_as(key, "slow", year_9000(0)).await
        ),
        Claim::Held {
            until: year_9000(0)
        },
        "the owner that overran keeps its hands off the next one's lock"
    );
    ok("cleanup", store.forget(key).await);
}

pub(super) async fn plain_keys_have_no_owner(store: &dyn JobStore) {
    let (soon, later) = (year_9000(0), year_9000(600));
    let key = "conf-lock-plain";
    assert!(ok("remember", store.remember(key, soon).await));
    assert_eq!(
        ok(
            "claim_as a remembered key",
            store.claim_as(key, "anyone", later).await
        ),
        Claim::Held { until: soon },
        "a key taken without an owner is nobody's to take again"
    );
    ok("forget", store.forget(key).await);

    assert_eq!(
        ok("claim_as", store.claim_as(key, "owner", soon).await),
        Claim::Taken
    );
    ok("keep", store.keep(key, later).await);
    assert_eq!(
        ok(
            "claim_as after keep",
            store.claim_as(key, "owner", soon).await
        ),
        Claim::Held { until: later },
        "keep turns a claim into a mark, which has no owner"
    );
    ok("release of a mark", store.release(key, "owner").await);
    assert_eq!(
        ok("claim after releasing a mark", store.claim(key, soon).await),
        Claim::Held { until: later },
        "a mark is not released by the claim's owner"
    );
    ok("cleanup", store.forget(key).await);
}

pub(super) async fn of_concurrent_owners_one_takes_the_lock(store: &dyn JobStore) {
    let key = "conf-lock-race";
    let until = year_9000(0);
    let (a, b, c) = tokio::join!(
        store.claim_as(key, "a", until),
        store.claim_as(key, "b", until),
        store.claim_as(key, "c", until)
    );
    let got = [a, b, c].map(|r| ok("concurrent claim_as", r));
    assert_eq!(
        got.iter().filter(|c| **c == Claim::Taken).count(),
        1,
        "of concurrent owners exactly one takes the key: {got:?}"
    );
    for (key, owner) in [("", "o"), ("k", "")] {
        let err = store.claim_as(key, owner, until).await;
        assert!(
            matches!(err, Err(PortError::Rejected(_))),
            "claim_as({key:?}, {owner:?}) must be Rejected, got {err:?}"
        );
    }
    ok("cleanup", store.forget(key).await);
}
