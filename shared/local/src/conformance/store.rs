//! The [`JobStore`] suite.

use super::*;

mod owned;
mod page;

/// A record as the handlers write one. `pulls` are `(org, repo, numbers)`.
fn job(
    id: &str,
    name: &str,
    ty: ProwJobType,
    start: i64,
    complete: bool,
    pulls: Option<(&str, &str, &[i64])>,
) -> ProwJob {
    let refs = pulls.map(|(org, repo, numbers)| Refs {
        org: org.into(),
        repo: repo.into(),
        base_ref: "main".into(),
        base_sha: "0123456789abcdef0123456789abcdef01234567".into(),
        pulls: numbers
            .iter()
            .map(|n| Pull {
                number: *n,
                author: "octocat".into(),
                sha: format!("{n:040x}"),
                ..Pull::default()
            })
            .collect(),
        ..Refs::default()
    });
    ProwJob {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        metadata: ObjectMeta {
            name: id.into(),
            namespace: "default".into(),
            creation_timestamp: Some(at(start)),
            labels: [("prow.k8s.io/job".to_string(), name.to_string())].into(),
            ..ObjectMeta::default()
        },
        spec: ProwJobSpec {
            r#type: Some(ty),
            agent: "kubernetes".into(),
            job: name.into(),
            refs,
            report: true,
            context: name.into(),
            ..ProwJobSpec::default()
        },
        status: ProwJobStatus {
            start_time: Some(at(start)),
            completion_time: complete.then(|| at(start + 60)),
            state: Some(if complete {
                ProwJobState::Success
            } else {
                ProwJobState::Triggered
            }),
            description: "Job triggered — ünïcode survives".into(),
            build_id: format!("{}", 1_000 + start),
            ..ProwJobStatus::default()
        },
    }
}

fn ids(jobs: &[ProwJob]) -> Vec<&str> {
    jobs.iter().map(|j| j.metadata.name.as_str()).collect()
}

async fn list_ids(store: &dyn JobStore, q: JobQuery, limit: Option<usize>) -> Vec<String> {
    let jobs = ok(
        &format!("list({q:?}, {limit:?})"),
        store.list(&q, limit).await,
    );
    ids(&jobs).into_iter().map(String::from).collect()
}

/// Runs the job store suite. `store` must be empty (a fresh table or file);
/// the suite deletes what it writes.
pub async fn job_store_conformance(store: &dyn JobStore) {
    let before = list_ids(store, JobQuery::All, None).await;
    assert!(
        before.is_empty(),
        "the job store suite needs an empty store, found {before:?}"
    );
    create_is_insert_if_absent(store).await;
    update_is_compare_and_set(store).await;
    concurrent_writers_one_wins(store).await;
    list_is_newest_first_per_query(store).await;
    page::a_page_reads_its_window_and_counts_it(store).await;
    page::a_page_is_its_listed_window_paged(store).await;
    an_update_moves_a_record_between_pulls(store).await;
    delete_is_idempotent(store).await;
    dedupe_keys_are_remembered_until_they_expire(store).await;
    a_claim_says_how_long_a_held_key_lives(store).await;
    owned::an_owned_claim_is_taken_again_by_its_owner_only(store).await;
    owned::an_expired_lock_is_free_and_its_late_owner_releases_nothing(store).await;
    owned::plain_keys_have_no_owner(store).await;
    owned::of_concurrent_owners_one_takes_the_lock(store).await;
    kept_values_read_back_until_they_expire(store).await;
    let after = list_ids(store, JobQuery::All, None).await;
    assert!(after.is_empty(), "the suite left records behind: {after:?}");
}

/// The page cases of the suite alone, for a store set to read its index in
/// small steps (DynamoDB with a small `Query` limit). `store` must be empty.
pub async fn job_page_conformance(store: &dyn JobStore) {
    page::a_page_reads_its_window_and_counts_it(store).await;
    page::a_page_is_its_listed_window_paged(store).await;
}

async fn create_is_insert_if_absent(store: &dyn JobStore) {
    let original = job(
        "conf-create",
        "unit",
        ProwJobType::Presubmit,
        0,
        false,
        Some(("o", "r", &[7])),
    );
    assert_eq!(
        ok("get before create", store.get("conf-create").await),
        None
    );
    assert!(
        ok("first create", store.create(&original).await),
        "create of a new id must report Ok(true)"
    );

    let stored = ok("get", store.get("conf-create").await)
        .unwrap_or_else(|| panic!("get after create returned None"));
    assert!(
        !stored.metadata.resource_version.is_empty(),
        "create must give the record a resource version"
    );
    let mut expected = original.clone();
    expected.metadata.resource_version = stored.metadata.resource_version.clone();
    assert_eq!(stored, expected, "get must return the record as created");

    let mut other = original.clone();
    other.status.description = "a second create must not overwrite".into();
    assert!(
        !ok("second create", store.create(&other).await),
        "create of an existing id must report Ok(false)"
    );
    assert_eq!(
        ok("get after second create", store.get("conf-create").await),
        Some(expected),
        "a second create must leave the record unchanged"
    );

    let mut unnamed = original.clone();
    unnamed.metadata.name.clear();
    let err = store.create(&unnamed).await;
    assert!(
        matches!(err, Err(PortError::Rejected(_))),
        "create without an id must be Rejected, got {err:?}"
    );
    ok("cleanup", store.delete("conf-create").await);
}

async fn update_is_compare_and_set(store: &dyn JobStore) {
    let j = job(
        "conf-update",
        "unit",
        ProwJobType::Presubmit,
        0,
        false,
        None,
    );
    ok("create", store.create(&j).await);
    let v1 = ok("get", store.get("conf-update").await)
        .unwrap_or_else(|| panic!("get after create returned None"));

    let mut change = v1.clone();
    change.status.state = Some(ProwJobState::Pending);
    change.status.pending_time = Some(at(5));
    let v2 = ok(
        "update with the current version",
        store.update(&change).await,
    );
    assert_ne!(
        v2.metadata.resource_version, v1.metadata.resource_version,
        "update must change the resource version"
    );
    let mut expected = change.clone();
    expected.metadata.resource_version = v2.metadata.resource_version.clone();
    assert_eq!(v2, expected, "update must return the record it stored");
    assert_eq!(
        ok("get after update", store.get("conf-update").await).as_ref(),
        Some(&v2),
        "get must return what update returned"
    );

    let mut stale = v1.clone();
    stale.status.description = "from a stale read".into();
    let err = store.update(&stale).await;
    assert!(
        matches!(err, Err(PortError::Conflict(_))),
        "update with a stale resource version must be a Conflict, got {err:?}"
    );
    assert_eq!(
        ok("get after conflict", store.get("conf-update").await).as_ref(),
        Some(&v2),
        "a conflicting update must change nothing"
    );

    let mut bogus = v2.clone();
    bogus.metadata.resource_version = "not-a-version".into();
    let err = store.update(&bogus).await;
    assert!(
        matches!(err, Err(PortError::Conflict(_))),
        "update with a version the store never issued must be a Conflict, got {err:?}"
    );

    let mut missing = v2.clone();
    missing.metadata.name = "conf-update-missing".into();
    let err = store.update(&missing).await;
    assert!(
        matches!(err, Err(PortError::NotFound(_))),
        "update of a missing record must be NotFound, got {err:?}"
    );
    assert_eq!(
        ok("get missing", store.get("conf-update-missing").await),
        None,
        "update must not create a record"
    );

    let v3 = ok("update again", store.update(&v2).await);
    assert_ne!(
        v3.metadata.resource_version, v2.metadata.resource_version,
        "every update must change the resource version"
    );
    ok("cleanup", store.delete("conf-update").await);
}

async fn concurrent_writers_one_wins(store: &dyn JobStore) {
    let j = job("conf-race", "unit", ProwJobType::Periodic, 0, false, None);
    let (a, b, c, d) = tokio::join!(
        store.create(&j),
        store.create(&j),
        store.create(&j),
        store.create(&j)
    );
    let created = [a, b, c, d].map(|r| ok("concurrent create", r));
    assert_eq!(
        created.iter().filter(|c| **c).count(),
        1,
        "of concurrent creates of one id exactly one must report Ok(true): {created:?}"
    );

    let base = ok("get", store.get("conf-race").await)
        .unwrap_or_else(|| panic!("get after create returned None"));
    let writer = |n: usize| {
        let mut j = base.clone();
        j.status.description = format!("writer {n}");
        j
    };
    let (w0, w1, w2, w3) = (writer(0), writer(1), writer(2), writer(3));
    let (a, b, c, d) = tokio::join!(
        store.update(&w0),
        store.update(&w1),
        store.update(&w2),
        store.update(&w3)
    );
    let results = [a, b, c, d];
    let winners: Vec<&ProwJob> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "of concurrent updates from one version exactly one must win: {results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(PortError::Conflict(_)))),
        "the losers of a compare-and-set must see Conflict: {results:?}"
    );
    assert_eq!(
        ok("get after race", store.get("conf-race").await).as_ref(),
        Some(winners[0]),
        "the stored record must be the winner's"
    );
    ok("cleanup", store.delete("conf-race").await);
}

async fn list_is_newest_first_per_query(store: &dyn JobStore) {
    use ProwJobType::*;
    let records = [
        job(
            "list-a1",
            "unit",
            Presubmit,
            10,
            true,
            Some(("o", "r", &[1])),
        ),
        job(
            "list-a2",
            "unit",
            Presubmit,
            20,
            false,
            Some(("o", "r", &[1])),
        ),
        // Starts with a2: ties are broken by id, descending.
        job(
            "list-a3",
            "lint",
            Presubmit,
            20,
            false,
            Some(("o", "r", &[2])),
        ),
        job(
            "list-a4",
            "unit",
            Batch,
            30,
            true,
            Some(("o", "r", &[1, 2])),
        ),
        job(
            "list-a5",
            "unit",
            Presubmit,
            40,
            false,
            Some(("o", "other", &[1])),
        ),
        job(
            "list-a6",
            "unit",
            Presubmit,
            5,
            true,
            Some(("other", "r", &[1])),
        ),
        job(
            "list-a7",
            "deploy",
            Postsubmit,
            50,
            true,
            Some(("o", "r", &[])),
        ),
        job("list-a8", "nightly", Periodic, 60, false, None),
    ];
    // Created out of order: the order must come from the start times.
    for i in [3, 0, 7, 5, 1, 6, 2, 4] {
        assert!(ok("create", store.create(&records[i]).await));
    }

    let pull = |number| JobQuery::Pull {
        org: "o".into(),
        repo: "r".into(),
        number,
    };
    let job_named = |name: &str| JobQuery::Job { name: name.into() };
    let half_second = Timestamp::constant(BASE + 30, 500_000_000);
    let cases: Vec<(JobQuery, Option<usize>, Vec<&str>)> = vec![
        (
            JobQuery::All,
            None,
            vec![
                "list-a8", "list-a7", "list-a5", "list-a4", "list-a3", "list-a2", "list-a1",
                "list-a6",
            ],
        ),
        (
            JobQuery::All,
            Some(3),
            vec!["list-a8", "list-a7", "list-a5"],
        ),
        (JobQuery::All, Some(0), vec![]),
        (pull(1), None, vec!["list-a4", "list-a2", "list-a1"]),
        (pull(2), None, vec!["list-a4", "list-a3"]),
        (pull(2), Some(1), vec!["list-a4"]),
        (pull(3), None, vec![]),
        (
            job_named("unit"),
            None,
            vec!["list-a5", "list-a4", "list-a2", "list-a1", "list-a6"],
        ),
        (job_named("unit"), Some(2), vec!["list-a5", "list-a4"]),
        (job_named("nightly"), None, vec!["list-a8"]),
        (job_named("absent"), None, vec![]),
        (
            JobQuery::Incomplete,
            None,
            vec!["list-a8", "list-a5", "list-a3", "list-a2"],
        ),
        (JobQuery::Incomplete, Some(1), vec!["list-a8"]),
        // Strictly before: list-a4 started at +30.
        (
            JobQuery::CompletedBefore(at(30)),
            None,
            vec!["list-a1", "list-a6"],
        ),
        (
            JobQuery::CompletedBefore(half_second),
            None,
            vec!["list-a4", "list-a1", "list-a6"],
        ),
        (JobQuery::CompletedBefore(at(30)), Some(1), vec!["list-a1"]),
        (JobQuery::CompletedBefore(at(0)), None, vec![]),
        // At or after: list-a5 started at +40.
        (
            JobQuery::StartedSince(at(40)),
            None,
            vec!["list-a8", "list-a7", "list-a5"],
        ),
        (
            JobQuery::StartedSince(half_second),
            None,
            vec!["list-a8", "list-a7", "list-a5"],
        ),
        (
            JobQuery::StartedSince(at(30)),
            Some(2),
            vec!["list-a8", "list-a7"],
        ),
        (JobQuery::StartedSince(at(61)), None, vec![]),
    ];
    for (q, limit, want) in &cases {
        let got = list_ids(store, q.clone(), *limit).await;
        assert_eq!(&got, want, "list({q:?}, {limit:?}) newest first");
    }

    // The indexes follow updates: a2 completes, a4 moves to another pull.
    let mut a2 = ok("get", store.get("list-a2").await).unwrap_or_else(|| panic!("list-a2 gone"));
    a2.status.state = Some(ProwJobState::Failure);
    a2.status.completion_time = Some(at(80));
    ok("update a2", store.update(&a2).await);
    let mut a4 = ok("get", store.get("list-a4").await).unwrap_or_else(|| panic!("list-a4 gone"));
    if let Some(refs) = a4.spec.refs.as_mut() {
        refs.pulls.retain(|p| p.number == 2);
    }
    ok("update a4", store.update(&a4).await);
    let after: Vec<(JobQuery, Vec<&str>)> = vec![
        (JobQuery::Incomplete, vec!["list-a8", "list-a5", "list-a3"]),
        (
            JobQuery::CompletedBefore(at(21)),
            vec!["list-a2", "list-a1", "list-a6"],
        ),
        (pull(1), vec!["list-a2", "list-a1"]),
        (pull(2), vec!["list-a4", "list-a3"]),
    ];
    for (q, want) in &after {
        let got = list_ids(store, q.clone(), None).await;
        assert_eq!(&got, want, "list({q:?}) after updates");
    }

    let listed = ok("list all", store.list(&JobQuery::All, Some(1)).await);
    assert_eq!(
        listed.first(),
        ok("get", store.get("list-a8").await).as_ref(),
        "list must return whole records, as get does"
    );

    for r in &records {
        ok("cleanup", store.delete(&r.metadata.name).await);
    }
}

/// A record whose refs name another pull is listed under that pull only
/// once updated (SQLite rewrites only the pull rows that changed).
async fn an_update_moves_a_record_between_pulls(store: &dyn JobStore) {
    let on_pull = |n: &'static [i64]| {
        job(
            "conf-moves",
            "unit",
            ProwJobType::Presubmit,
            0,
            false,
            Some(("o", "r", n)),
        )
    };
    let pull = |number| JobQuery::Pull {
        org: "o".into(),
        repo: "r".into(),
        number,
    };
    ok("create", store.create(&on_pull(&[11])).await);
    let stored = ok("get", store.get("conf-moves").await).expect("the created record");
    let mut moved = on_pull(&[12]);
    moved.metadata.resource_version = stored.metadata.resource_version.clone();
    ok("update", store.update(&moved).await);
    assert_eq!(
        list_ids(store, pull(11), None).await,
        Vec::<String>::new(),
        "left pull 11"
    );
    assert_eq!(
        list_ids(store, pull(12), None).await,
        vec!["conf-moves"],
        "now on pull 12"
    );
    // Updated again with the same pull: still listed once.
    let again = ok("get", store.get("conf-moves").await).expect("the updated record");
    ok("update", store.update(&again).await);
    assert_eq!(
        list_ids(store, pull(12), None).await,
        vec!["conf-moves"],
        "listed once"
    );
    ok("cleanup", store.delete("conf-moves").await);
}

async fn delete_is_idempotent(store: &dyn JobStore) {
    let j = job(
        "conf-delete",
        "unit",
        ProwJobType::Presubmit,
        0,
        false,
        Some(("o", "r", &[9])),
    );
    ok("create", store.create(&j).await);
    ok("delete", store.delete("conf-delete").await);
    assert_eq!(
        ok("get after delete", store.get("conf-delete").await),
        None,
        "a deleted record must be gone"
    );
    let by_pull = JobQuery::Pull {
        org: "o".into(),
        repo: "r".into(),
        number: 9,
    };
    assert!(
        list_ids(store, by_pull, None).await.is_empty(),
        "a deleted record must not be listed"
    );
    ok("second delete", store.delete("conf-delete").await);
    ok(
        "delete of a never-created id",
        store.delete("conf-never").await,
    );
    assert!(
        ok("create after delete", store.create(&j).await),
        "an id is free again once deleted"
    );
    ok("cleanup", store.delete("conf-delete").await);
}

async fn dedupe_keys_are_remembered_until_they_expire(store: &dyn JobStore) {
    // Far from any clock an adapter could be run on, so the suite need not
    // know the store's clock.
    let future = Timestamp::constant(221_845_392_000, 0); // year 9000
    let past = Timestamp::constant(946_684_800, 0); // year 2000

    assert!(
        ok("remember", store.remember("conf-key", future).await),
        "a new key is not known"
    );
    assert!(
        !ok("remember again", store.remember("conf-key", future).await),
        "a remembered key is known"
    );
    ok("forget", store.forget("conf-key").await);
    assert!(
        ok(
            "remember after forget",
            store.remember("conf-key", future).await
        ),
        "a forgotten key is not known"
    );
    ok(
        "forget of an unknown key",
        store.forget("conf-unknown").await,
    );

    assert!(ok(
        "remember expired",
        store.remember("conf-old", past).await
    ));
    assert!(
        ok(
            "remember over an expired key",
            store.remember("conf-old", future).await
        ),
        "an expired key counts as absent"
    );
    assert!(
        !ok(
            "remember renewed key",
            store.remember("conf-old", future).await
        ),
        "a key remembered over an expired one is known"
    );

    let (a, b, c) = tokio::join!(
        store.remember("conf-race-key", future),
        store.remember("conf-race-key", future),
        store.remember("conf-race-key", future)
    );
    let first = [a, b, c].map(|r| ok("concurrent remember", r));
    assert_eq!(
        first.iter().filter(|f| **f).count(),
        1,
        "of concurrent remembers of one key exactly one is first: {first:?}"
    );

    let err = store.remember("", future).await;
    assert!(
        matches!(err, Err(PortError::Rejected(_))),
        "an empty key must be Rejected, got {err:?}"
    );
    for key in ["conf-key", "conf-old", "conf-race-key"] {
        ok("cleanup", store.forget(key).await);
    }
}

async fn a_claim_says_how_long_a_held_key_lives(store: &dyn JobStore) {
    // Whole seconds: DynamoDB keeps expiries to the second.
    let soon = Timestamp::constant(221_845_392_000, 0); // year 9000
    let later = Timestamp::constant(221_845_392_600, 0);
    assert_eq!(
        ok("claim", store.claim("conf-claim", soon).await),
        Claim::Taken,
        "a free key is taken"
    );
    assert_eq!(
        ok("claim again", store.claim("conf-claim", later).await),
        Claim::Held { until: soon },
        "a held key says when it expires, and the second claim changes nothing"
    );
    ok("keep", store.keep("conf-claim", later).await);
    assert_eq!(
        ok("claim after keep", store.claim("conf-claim", soon).await),
        Claim::Held { until: later },
        "keep moves the expiry of a held key"
    );
    ok("keep a new key", store.keep("conf-kept", soon).await);
    assert!(
        !ok(
            "remember a kept key",
            store.remember("conf-kept", later).await
        ),
        "keep records a key that was not known"
    );
    let past = Timestamp::constant(946_684_800, 0); // year 2000
    ok("keep in the past", store.keep("conf-claim", past).await);
    assert_eq!(
        ok("claim after expiry", store.claim("conf-claim", soon).await),
        Claim::Taken,
        "an expired key is free again"
    );
    for key in ["conf-claim", "conf-kept"] {
        ok("cleanup", store.forget(key).await);
    }
}

/// The cache the review plugins keep OWNERS files in: a value reads back,
/// a newer one replaces it, an expired one is gone, and none of it is a job.
async fn kept_values_read_back_until_they_expire(store: &dyn JobStore) {
    let future = Timestamp::constant(221_845_392_000, 0); // year 9000
    let past = Timestamp::constant(946_684_800, 0); // year 2000
    assert_eq!(ok("get unknown", store.get_value("conf-v").await), None);
    ok("put", store.put_value("conf-v", "[1]", future).await);
    assert_eq!(
        ok("get", store.get_value("conf-v").await).as_deref(),
        Some("[1]")
    );
    ok("put again", store.put_value("conf-v", "[2]", future).await);
    assert_eq!(
        ok("get replaced", store.get_value("conf-v").await).as_deref(),
        Some("[2]")
    );
    ok("put expired", store.put_value("conf-old", "x", past).await);
    assert_eq!(ok("get expired", store.get_value("conf-old").await), None);
    // A kept value never reads as a dedupe key.
    assert!(
        ok(
            "remember beside a value",
            store.remember("conf-v", future).await
        ),
        "values and dedupe keys are apart"
    );
    ok("forget", store.forget("conf-v").await);
}
