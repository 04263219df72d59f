//! The dispatcher against in-memory ports: each plank rule of starting a job.

mod world;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use skiff_core::keys;
use skiff_core::ports::{BatchOutcome, Clock, Message, PortError};
use skiff_core::prowjob::labels::{PROW_BUILD_ID, PROW_JOB_ID};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_dispatcher::{BLOCKED_RETRY, Deps, handle_batch};
use skiff_testkit::{T0, complete, pending, presubmit, ts};
use world::World;

/// An outcome deferring exactly these receipts by [`BLOCKED_RETRY`], in
/// receipt order (the handler lists them in FIFO order of their jobs).
fn blocked(receipts: &[&str]) -> BatchOutcome {
    BatchOutcome {
        retry: vec![],
        retry_after: receipts
            .iter()
            .map(|r| (r.to_string(), BLOCKED_RETRY))
            .collect(),
    }
}

fn sorted(mut out: BatchOutcome) -> BatchOutcome {
    out.retry.sort();
    out.retry_after.sort();
    out
}

#[tokio::test]
async fn triggered_job_gets_a_pod_and_becomes_pending_with_build_id_and_url() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.clock.advance(Duration::from_secs(5));

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());

    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(job.status.description, "Job triggered.");
    assert_eq!(job.status.pending_time, Some(w.clock.now()));
    assert_eq!(job.status.pod_name, "j1");
    assert!(!job.is_complete());
    let build = job.status.build_id.clone();
    assert_eq!(build.len(), 19, "a snowflake: {build}");
    assert_eq!(
        job.status.url,
        format!(
            "https://ci.example.com/view/pr-logs/pull/acme_widgets/42/pull-widgets-unit/{build}"
        )
    );

    let pod = w.cluster.request("j1");
    assert_eq!(pod.namespace, "test-pods");
    assert_eq!(pod.labels[PROW_BUILD_ID], build);
    assert_eq!(pod.labels[PROW_JOB_ID], "j1");
    let env = pod.spec.containers[0].env.clone().unwrap_or_default();
    let build_env = env
        .iter()
        .find(|e| e.name == "BUILD_ID")
        .and_then(|e| e.value.clone());
    assert_eq!(build_env, Some(build.clone()));

    // Redelivery is a no-op: the record is pending now.
    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    assert_eq!(w.cluster.count("create"), 1);
    assert_eq!(w.store.job("j1").status.build_id, build);
}

#[tokio::test]
async fn url_is_empty_without_a_deck_url() {
    let mut w = World::new();
    w.config.prow.skiff.deck_url.clear();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.deliver(&["j1"]).await;
    assert_eq!(w.state("j1"), Some(ProwJobState::Pending));
    assert_eq!(w.store.job("j1").status.url, "");
}

#[tokio::test]
async fn an_existing_pod_is_adopted_with_its_build_id() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.cluster.add(
        "j1",
        &[
            (PROW_JOB_ID, "j1"),
            (PROW_BUILD_ID, "1799999999999999999"),
            ("created-by-prow", "true"),
        ],
    );

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());

    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(job.status.build_id, "1799999999999999999");
    assert!(
        job.status.url.ends_with("/1799999999999999999"),
        "{}",
        job.status.url
    );
    assert_eq!(w.cluster.calls(), ["create j1", "list"]);
}

#[tokio::test]
async fn pods_of_jobs_without_limits_are_created_together() {
    let w = World::new();
    let ids = ["j1", "j2", "j3", "j4"];
    for (n, id) in ids.iter().enumerate() {
        w.store
            .put(presubmit(id, &format!("pull-widgets-{n}"), 42, ts(T0)));
    }
    w.cluster
        .gate_creates(Arc::new(tokio::sync::Barrier::new(ids.len())));

    // Each create waits until all four are in flight; made one after another
    // the first would wait forever.
    let out = tokio::time::timeout(Duration::from_secs(30), w.deliver(&ids))
        .await
        .expect("the pods were created one at a time");
    assert_eq!(out, BatchOutcome::default());
    for id in ids {
        assert_eq!(w.state(id), Some(ProwJobState::Pending), "{id}");
    }
    assert_eq!(w.cluster.count("create"), 4);
}

#[tokio::test]
async fn max_concurrency_one_starts_runs_one_at_a_time_oldest_first() {
    let w = World::new();
    // Ids in the opposite order of age, so only start times can order them.
    for (id, age) in [("run-c", 0), ("run-b", 1), ("run-a", 2)] {
        let mut job = presubmit(
            id,
            "pull-widgets-e2e",
            42,
            ts(T0).checked_add(Duration::from_secs(age)).unwrap(),
        );
        job.spec.max_concurrency = 1;
        w.store.put(job);
    }

    let out = w.deliver(&["run-a", "run-b", "run-c"]).await;
    assert_eq!(sorted(out), blocked(&["r0-run-a", "r1-run-b"]));
    assert_eq!(w.state("run-c"), Some(ProwJobState::Pending));
    assert_eq!(w.state("run-b"), Some(ProwJobState::Triggered));
    assert_eq!(w.state("run-a"), Some(ProwJobState::Triggered));
    assert!(
        w.store.knows_key(&keys::dispatch_waiting("run-a")),
        "a deferred job's message is marked alive"
    );

    // Still busy: nothing moves.
    assert_eq!(
        sorted(w.deliver(&["run-a", "run-b"]).await),
        blocked(&["r0-run-a", "r1-run-b"])
    );

    let done = complete(w.store.job("run-c"), ProwJobState::Success, w.clock.now());
    w.store.put(done);
    assert_eq!(w.deliver(&["run-a", "run-b"]).await, blocked(&["r0-run-a"]));
    assert_eq!(w.state("run-b"), Some(ProwJobState::Pending));

    let done = complete(w.store.job("run-b"), ProwJobState::Failure, w.clock.now());
    w.store.put(done);
    assert_eq!(w.deliver(&["run-a"]).await, BatchOutcome::default());
    assert_eq!(w.state("run-a"), Some(ProwJobState::Pending));
    assert_eq!(w.cluster.names(), ["run-a", "run-b", "run-c"]);
}

#[tokio::test]
async fn the_newer_run_waits_even_when_delivered_alone() {
    let w = World::new();
    for (id, age) in [("old", 0), ("new", 1)] {
        let mut job = presubmit(
            id,
            "pull-widgets-e2e",
            42,
            ts(T0).checked_add(Duration::from_secs(age)).unwrap(),
        );
        job.spec.max_concurrency = 1;
        w.store.put(job);
    }
    assert_eq!(w.deliver(&["new"]).await, blocked(&["r0-new"]));
    assert_eq!(w.cluster.count("create"), 0);
}

#[tokio::test]
async fn global_max_concurrency_counts_pending_jobs_of_every_name() {
    let mut w = World::new();
    w.config.prow.plank.max_concurrency = 1;
    w.store.put(pending(
        presubmit("busy", "pull-other", 7, ts(T0)),
        "1",
        ts(T0),
    ));
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));

    assert_eq!(w.deliver(&["j1"]).await, blocked(&["r0-j1"]));
    assert_eq!(w.state("j1"), Some(ProwJobState::Triggered));

    let done = complete(w.store.job("busy"), ProwJobState::Success, w.clock.now());
    w.store.put(done);
    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    assert_eq!(w.state("j1"), Some(ProwJobState::Pending));
}

#[tokio::test]
async fn job_queue_capacity_zero_blocks_and_negative_does_not() {
    let mut w = World::new();
    w.config.prow.plank.job_queue_capacities =
        BTreeMap::from([("closed".to_string(), 0), ("open".to_string(), -1)]);
    let mut closed = presubmit("j1", "pull-widgets-unit", 42, ts(T0));
    closed.spec.job_queue_name = "closed".into();
    let mut open = presubmit("j2", "pull-widgets-lint", 42, ts(T0));
    open.spec.job_queue_name = "open".into();
    w.store.put(closed);
    w.store.put(open);

    assert_eq!(w.deliver(&["j1", "j2"]).await, blocked(&["r0-j1"]));
    assert_eq!(w.state("j1"), Some(ProwJobState::Triggered));
    assert_eq!(w.state("j2"), Some(ProwJobState::Pending));
}

#[tokio::test]
async fn unknown_cluster_ends_the_job_as_error() {
    let w = World::new();
    let mut job = presubmit("j1", "pull-widgets-gpu", 42, ts(T0));
    job.spec.cluster = "gpu".into();
    w.store.put(job);

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(job.status.description, "unknown cluster \"gpu\"");
    assert!(job.is_complete());
    assert!(w.cluster.calls().is_empty());
}

#[tokio::test]
async fn a_rejected_pod_ends_the_job_as_error() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.cluster
        .reject_creates(Some("pods \"j1\" is forbidden: exceeded quota"));

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(
        job.status.description,
        "Pod can not be created: pods \"j1\" is forbidden: exceeded quota"
    );
    assert!(job.is_complete());
}

#[tokio::test]
async fn a_job_without_pod_spec_ends_as_error() {
    let w = World::new();
    let mut job = presubmit("j1", "pull-widgets-unit", 42, ts(T0));
    job.spec.pod_spec = None;
    w.store.put(job);
    w.deliver(&["j1"]).await;
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Error));
    assert_eq!(
        job.status.description,
        "Pod can not be created: prowjob \"j1\" lacks a pod spec"
    );
}

#[tokio::test]
async fn an_unreachable_cluster_retries_the_message_and_changes_nothing() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.cluster
        .faults()
        .down(PortError::Unavailable("cluster unreachable".into()));
    let out = w.deliver(&["j1"]).await;
    assert_eq!(out.retry, ["r0-j1"]);
    assert_eq!(w.state("j1"), Some(ProwJobState::Triggered));
}

#[tokio::test]
async fn a_lost_compare_and_set_is_decided_again_and_adopts_its_own_pod() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.store.conflict_on_next_update("j1");

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Pending));
    assert_eq!(
        job.status.build_id,
        w.cluster.build_id("j1"),
        "the pod's build id, not a second one"
    );
    assert_eq!(w.cluster.calls(), ["create j1", "create j1", "list"]);
}

#[tokio::test]
async fn a_job_aborted_while_its_pod_was_created_stays_aborted() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    // A new push aborts the run between our read and our write.
    w.store.interfere("j1", |job: &mut ProwJob| {
        job.status.state = Some(ProwJobState::Aborted);
    });

    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    let job = w.store.job("j1");
    assert_eq!(job.status.state, Some(ProwJobState::Aborted));
    assert_eq!(job.status.build_id, "", "the abort is not overwritten");
    // The pod is there; the syncer deletes pods of aborted jobs.
    assert_eq!(w.cluster.names(), ["j1"]);
}

#[tokio::test]
async fn bad_messages_and_missing_records_are_acknowledged() {
    let w = World::new();
    let messages = vec![Message {
        receipt: "bad".into(),
        body: "{not json".into(),
        receive_count: 1,
    }];
    let deps = Deps {
        store: w.store.as_ref(),
        clusters: &w.clusters,
        config: &w.config,
        clock: w.clock.as_ref(),
        build_ids: &w.ids,
    };
    assert_eq!(
        handle_batch(&messages, &deps).await,
        BatchOutcome::default()
    );
    assert_eq!(w.deliver(&["gone"]).await, BatchOutcome::default());
}

#[tokio::test]
async fn a_store_outage_retries_the_message() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    w.store
        .faults()
        .down(PortError::Unavailable("store is down".into()));
    assert_eq!(w.deliver(&["j1"]).await.retry, ["r0-j1"]);
}

#[tokio::test]
async fn duplicate_messages_in_a_batch_create_one_pod() {
    let w = World::new();
    w.store
        .put(presubmit("j1", "pull-widgets-unit", 42, ts(T0)));
    assert_eq!(w.deliver(&["j1", "j1"]).await, BatchOutcome::default());
    assert_eq!(w.cluster.count("create"), 1);
}

#[tokio::test]
async fn jobs_of_agents_skiff_does_not_run_are_not_dispatched() {
    let w = World::new();
    let mut job = presubmit("j1", "pull-widgets-unit", 42, ts(T0));
    job.spec.agent = "knative-build".into();
    w.store.put(job);
    assert_eq!(w.deliver(&["j1"]).await, BatchOutcome::default());
    assert_eq!(w.state("j1"), Some(ProwJobState::Triggered));
    assert!(w.cluster.calls().is_empty());
}
