//! The behaviour every [`JobStore`] and [`Queue`] adapter owes the handlers,
//! as one suite each. The SQLite adapters run it in this crate's tests; the
//! DynamoDB and SQS adapters run the same functions, so "works locally" means
//! "works on AWS" for everything written here.
//!
//! Each suite is a sequence of assertions that panic with what was expected.
//! The suites ask only what a cloud service can give: nothing depends on a
//! receive returning every visible message at once, or on the order of a
//! queue, and time is let pass through the harness (a manual clock locally,
//! a sleep against a real service).

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::ports::{JobQuery, JobStore, Message, PortError, PortResult, Queue};
use skiff_core::prowjob::{
    API_VERSION, KIND, ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType,
    Pull, Refs,
};

/// 2026-03-01T00:00:00Z: every record's times are whole seconds after it,
/// because the record's JSON keeps whole seconds.
const BASE: i64 = 1_772_323_200;

fn at(offset: i64) -> Timestamp {
    Timestamp::constant(BASE + offset, 0)
}

fn ok<T, E: Debug>(what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

// ---------------------------------------------------------------------------
// JobStore

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
    delete_is_idempotent(store).await;
    dedupe_keys_are_remembered_until_they_expire(store).await;
    let after = list_ids(store, JobQuery::All, None).await;
    assert!(after.is_empty(), "the suite left records behind: {after:?}");
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

// ---------------------------------------------------------------------------
// Queue

/// What the queue suite needs from an adapter under test.
///
/// For a service on real time, pick a visibility timeout of a few seconds
/// (at least 4 s where the service counts whole seconds: the suite uses a
/// quarter of it) and let `pass` sleep.
#[async_trait]
pub trait QueueHarness: Send + Sync {
    /// An empty queue named after `name`, with its dead-letter queue, using
    /// [`Self::visibility_timeout`] and [`Self::max_receives`]. Each name is
    /// asked for once per run.
    async fn queue(&self, name: &str) -> PortResult<Box<dyn Queue>>;
    /// Bodies in the dead-letter queue of the queue made for `name`.
    async fn dead_letters(&self, name: &str) -> PortResult<Vec<String>>;
    /// Lets `d` pass as the queues see it.
    async fn pass(&self, d: Duration);
    fn visibility_timeout(&self) -> Duration;
    /// Deliveries before a message is dead-lettered; the suite needs 4.
    fn max_receives(&self) -> u32;
    /// Whether an ack with the receipt of an earlier delivery is ignored.
    /// SQS (and moto) delete the message anyway; Skiff's handlers never ack
    /// a stale receipt, so the suite only checks this where it is promised.
    fn fences_stale_receipts(&self) -> bool {
        true
    }
}

/// Runs the queue suite.
pub async fn queue_conformance(h: &dyn QueueHarness) {
    assert!(
        h.max_receives() >= 4,
        "the queue suite needs max_receives >= 4, the harness has {}",
        h.max_receives()
    );
    send_receive_ack(h).await;
    queues_are_separate(h).await;
    unacked_messages_come_back_after_the_timeout(h).await;
    retry_later_sets_the_delay(h).await;
    send_delayed_holds_messages_back(h).await;
    dead_letter_after_max_receives(h).await;
    batches_larger_than_ten(h).await;
}

/// A receive, checked against the port's promises.
async fn receive(q: &dyn Queue, max: usize, what: &str) -> Vec<Message> {
    let got = ok(what, q.receive(max).await);
    assert!(
        got.len() <= max,
        "{what}: receive({max}) returned {} messages",
        got.len()
    );
    got
}

/// Receives until `n` messages have arrived; a service may hand out fewer
/// than are visible per call.
async fn receive_n(q: &dyn Queue, n: usize, what: &str) -> Vec<Message> {
    let mut got = Vec::new();
    for _ in 0..(n + 10) {
        got.extend(receive(q, 10, what).await);
        if got.len() >= n {
            break;
        }
    }
    assert_eq!(got.len(), n, "{what}: expected {n} messages, got {got:?}");
    let receipts: BTreeSet<&str> = got.iter().map(|m| m.receipt.as_str()).collect();
    assert_eq!(
        receipts.len(),
        n,
        "{what}: receipts must be distinct: {got:?}"
    );
    got
}

async fn assert_empty(q: &dyn Queue, what: &str) {
    let got = receive(q, 10, what).await;
    assert!(got.is_empty(), "{what}: expected no message, got {got:?}");
}

fn bodies(msgs: &[Message]) -> BTreeSet<&str> {
    msgs.iter().map(|m| m.body.as_str()).collect()
}

fn receipts(msgs: &[Message]) -> Vec<String> {
    msgs.iter().map(|m| m.receipt.clone()).collect()
}

async fn make(h: &dyn QueueHarness, name: &str) -> Box<dyn Queue> {
    ok(&format!("make queue {name}"), h.queue(name).await)
}

/// More than a visibility timeout, with room for a real service's clock.
fn past_timeout(h: &dyn QueueHarness) -> Duration {
    h.visibility_timeout() * 3 / 2
}

async fn send_receive_ack(h: &dyn QueueHarness) {
    let q = make(h, "conformance-basic").await;
    ok("send nothing", q.send(&[]).await);
    assert_empty(&*q, "receive from a new queue").await;

    let sent = ["one", "two", "three"].map(String::from);
    ok("send", q.send(&sent).await);
    let first = receive(&*q, 2, "receive(2)").await;
    let rest = receive_n(&*q, 3 - first.len(), "receive the rest").await;
    let all: Vec<Message> = first.into_iter().chain(rest).collect();
    assert_eq!(
        bodies(&all),
        BTreeSet::from(["one", "two", "three"]),
        "every message sent is received"
    );
    assert!(
        all.iter().all(|m| m.receive_count == 1),
        "a first delivery has receive_count 1: {all:?}"
    );
    assert_eq!(
        receipts(&all).into_iter().collect::<BTreeSet<_>>().len(),
        3,
        "each delivery has its own receipt: {all:?}"
    );
    assert_empty(&*q, "received messages are invisible").await;

    ok("ack", q.ack(&receipts(&all)).await);
    ok("ack nothing", q.ack(&[]).await);
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "acknowledged messages never come back").await;
}

async fn queues_are_separate(h: &dyn QueueHarness) {
    let a = make(h, "conformance-a").await;
    let b = make(h, "conformance-b").await;
    ok("send to a", a.send(&["for a".to_string()]).await);
    assert_empty(&*b, "a message sent to one queue is not in another").await;
    let got = receive_n(&*a, 1, "receive from a").await;
    assert_eq!(got[0].body, "for a");
    ok("ack", a.ack(&receipts(&got)).await);
}

async fn unacked_messages_come_back_after_the_timeout(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-redelivery").await;
    ok("send", q.send(&["again".to_string()]).await);

    let first = receive_n(&*q, 1, "first delivery").await.remove(0);
    assert_eq!((first.body.as_str(), first.receive_count), ("again", 1));
    h.pass(vt / 2).await;
    assert_empty(&*q, "a received message stays invisible for the timeout").await;

    h.pass(vt).await;
    let second = receive_n(&*q, 1, "delivery after the timeout")
        .await
        .remove(0);
    assert_eq!(second.body, "again");
    assert_eq!(second.receive_count, 2, "a redelivery counts: {second:?}");
    assert_ne!(
        second.receipt, first.receipt,
        "a redelivery has a new receipt"
    );

    let third = if h.fences_stale_receipts() {
        ok(
            "ack with the stale receipt",
            q.ack(std::slice::from_ref(&first.receipt)).await,
        );
        h.pass(past_timeout(h)).await;
        let third = receive_n(&*q, 1, "delivery after a stale ack")
            .await
            .remove(0);
        assert_eq!(
            (third.body.as_str(), third.receive_count),
            ("again", 3),
            "a stale receipt must not acknowledge a redelivered message"
        );
        third
    } else {
        second
    };

    ok("ack", q.ack(std::slice::from_ref(&third.receipt)).await);
    ok(
        "ack twice",
        q.ack(std::slice::from_ref(&third.receipt)).await,
    );
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "an acknowledged redelivery does not come back").await;
}

async fn retry_later_sets_the_delay(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-retry").await;
    ok("send", q.send(&["later".to_string()]).await);

    let m1 = receive_n(&*q, 1, "first delivery").await.remove(0);
    ok(
        "retry now",
        q.retry_later(&m1.receipt, Duration::ZERO).await,
    );
    let m2 = receive_n(&*q, 1, "retry_later(0) makes it visible at once")
        .await
        .remove(0);
    assert_eq!((m2.body.as_str(), m2.receive_count), ("later", 2));

    ok(
        "retry after 2 timeouts",
        q.retry_later(&m2.receipt, vt * 2).await,
    );
    h.pass(past_timeout(h)).await;
    assert_empty(
        &*q,
        "a delay longer than the timeout holds the message back",
    )
    .await;
    h.pass(vt).await;
    let m3 = receive_n(&*q, 1, "delivery after the delay")
        .await
        .remove(0);
    assert_eq!((m3.body.as_str(), m3.receive_count), ("later", 3));

    ok("retry soon", q.retry_later(&m3.receipt, vt / 4).await);
    h.pass(vt / 2).await;
    let m4 = receive_n(
        &*q,
        1,
        "a delay shorter than the timeout brings it back sooner",
    )
    .await
    .remove(0);
    assert_eq!((m4.body.as_str(), m4.receive_count), ("later", 4));
    ok("ack", q.ack(std::slice::from_ref(&m4.receipt)).await);
}

async fn send_delayed_holds_messages_back(h: &dyn QueueHarness) {
    let vt = h.visibility_timeout();
    let q = make(h, "conformance-delayed").await;
    ok(
        "send delayed",
        q.send_delayed(&["late".to_string()], vt).await,
    );
    ok("send", q.send(&["now".to_string()]).await);
    let first = receive_n(&*q, 1, "the undelayed message").await.remove(0);
    assert_eq!(first.body, "now");
    ok("ack", q.ack(std::slice::from_ref(&first.receipt)).await);
    h.pass(vt / 2).await;
    assert_empty(&*q, "a delayed message stays back for its delay").await;
    h.pass(vt).await;
    let late = receive_n(&*q, 1, "the delayed message after its delay")
        .await
        .remove(0);
    assert_eq!((late.body.as_str(), late.receive_count), ("late", 1));
    ok("ack", q.ack(std::slice::from_ref(&late.receipt)).await);
}

async fn dead_letter_after_max_receives(h: &dyn QueueHarness) {
    let name = "conformance-dlq";
    let q = make(h, name).await;
    ok("send fine", q.send(&["fine".to_string()]).await);
    let fine = receive_n(&*q, 1, "receive fine").await;
    ok("ack fine", q.ack(&receipts(&fine)).await);

    ok("send poison", q.send(&["poison".to_string()]).await);
    for n in 1..=h.max_receives() {
        let m = receive_n(&*q, 1, &format!("delivery {n} of poison"))
            .await
            .remove(0);
        assert_eq!((m.body.as_str(), m.receive_count), ("poison", n));
        if n == 1 {
            assert_eq!(
                ok("dead letters", h.dead_letters(name).await),
                Vec::<String>::new(),
                "nothing is dead-lettered while deliveries remain"
            );
        }
        h.pass(past_timeout(h)).await;
    }
    for _ in 0..3 {
        assert_empty(
            &*q,
            "a message received max_receives times is not delivered again",
        )
        .await;
    }
    assert_eq!(
        ok("dead letters", h.dead_letters(name).await),
        vec!["poison".to_string()],
        "the poison message, and only it, is in the dead-letter queue"
    );
}

async fn batches_larger_than_ten(h: &dyn QueueHarness) {
    let q = make(h, "conformance-batch").await;
    let sent: Vec<String> = (0..25).map(|i| format!("msg-{i:02}")).collect();
    ok("send 25", q.send(&sent).await);
    let got = receive_n(&*q, 25, "receive 25").await;
    assert_eq!(
        bodies(&got),
        sent.iter().map(String::as_str).collect(),
        "every message of a large batch arrives once"
    );
    ok("ack 25 at once", q.ack(&receipts(&got)).await);
    h.pass(past_timeout(h)).await;
    assert_empty(&*q, "a large ack acknowledges every message").await;
}
