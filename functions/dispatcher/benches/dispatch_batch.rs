//! Pods created per second by one dispatcher invocation handling a batch of
//! 10 `dispatch` messages: 10 triggered records in the in-memory store, one
//! `handle_batch` call, 10 pods created through the real Kubernetes adapter
//! (`KubeCluster` on a kubeconfig, bearer token) against
//! `skiff_kube::fake::FakeApiServer` over loopback HTTP. Pods/s = 10 / the
//! time of one call; criterion prints it as the throughput (`elem/s`).
//!
//! What is measured is Skiff's side: decoding the messages, reading the 10
//! records, building each pod (`pod_request`), kube's request building and
//! JSON encoding, one `POST …/pods` per job and the compare-and-set of each
//! record, plus the fake's own handling of each create (parse, validate,
//! store). A real API server adds its own latency to every create (network
//! round trip, authentication, admission, the etcd write): the second case
//! answers every request 20 ms late. The dispatcher creates the pods of jobs
//! without limits together, so a batch pays that latency about once.
//!
//! The dispatcher runs on a current-thread runtime, as in the Lambda
//! (`main.rs`); the fake serves from a runtime of its own, as a server on
//! another machine would. Between iterations, untimed: the 10 pods are
//! deleted and the records put back as triggered.
//!
//! `cargo bench -p skiff-dispatcher --bench dispatch_batch` reports the median
//! and its spread; under `cargo test --all-targets` the batch runs once.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Cluster, Message};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_dispatcher::{Deps, handle_batch};
use skiff_kube::KubeCluster;
use skiff_kube::fake::FakeApiServer;
use skiff_testkit::{MemoryStore, T0, clock_at, config, presubmit};

const BATCH: usize = 10;
const NAMESPACE: &str = "test-pods";

fn runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a Tokio runtime: {e}"),
    }
}

/// Deletes the batch's pods and puts the records back as triggered.
async fn reset(cluster: &dyn Cluster, store: &MemoryStore, jobs: &[ProwJob]) {
    for job in jobs {
        if let Err(e) = cluster.delete_pod(&job.metadata.name).await {
            panic!("deleting pod {}: {e}", job.metadata.name);
        }
        store.put(job.clone());
    }
}

/// A plausible round trip for a pod create on EKS from a Lambda in the
/// same region.
const API_LATENCY: Duration = Duration::from_millis(20);

fn bench(c: &mut Criterion) {
    let server_rt = runtime(true);
    let rt = runtime(false);
    let server = server_rt.block_on(FakeApiServer::start());
    server.require_token(FakeApiServer::TOKEN);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temporary directory: {e}"),
    };
    let kubeconfig = dir.path().join("kubeconfig");
    if let Err(e) = server.write_kubeconfig(&kubeconfig, "fake") {
        panic!("writing the kubeconfig: {e}");
    }
    let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::kubeconfig(
        "default",
        &kubeconfig,
        None,
        NAMESPACE,
    ));
    let clusters = BTreeMap::from([("default".to_string(), cluster.clone())]);

    let clock = clock_at(T0);
    clock.set(Timestamp::now());
    let store = MemoryStore::new(clock.clone());
    let config = config();
    let build_ids = Mutex::new(BuildIdGenerator::new());
    let deps = Deps {
        store: &store,
        clusters: &clusters,
        config: &config,
        clock: clock.as_ref(),
        build_ids: &build_ids,
    };
    let start = Timestamp::now();
    // Different jobs, so no run supersedes or waits for another.
    let jobs: Vec<ProwJob> = (0..BATCH)
        .map(|i| presubmit(&format!("job-{i}"), &format!("pull-widgets-{i}"), 42, start))
        .collect();
    let messages: Vec<Message> = jobs
        .iter()
        .map(|j| Message {
            receipt: format!("r-{}", j.metadata.name),
            body: DispatchMessage {
                id: j.metadata.name.clone(),
            }
            .to_body(),
            receive_count: 1,
        })
        .collect();

    // One batch, checked, before measuring (this also connects the client):
    // exactly one POST per job and no other call, 10 pods, 10 pending records.
    for job in &jobs {
        store.put(job.clone());
    }
    let outcome = rt.block_on(handle_batch(&messages, &deps));
    assert!(outcome.retry.is_empty() && outcome.retry_after.is_empty());
    let lines: Vec<String> = server.requests().iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        vec![format!("POST /api/v1/namespaces/{NAMESPACE}/pods"); BATCH]
    );
    assert_eq!(server.pods().len(), BATCH);
    for job in &jobs {
        let state = store.job(&job.metadata.name).status.state;
        assert_eq!(state, Some(ProwJobState::Pending), "{}", job.metadata.name);
    }

    let mut group = c.benchmark_group("dispatcher");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, latency) in [
        ("handle_batch_10_pods_via_kube_fake", Duration::ZERO),
        (
            "handle_batch_10_pods_via_kube_fake_20ms_api_latency",
            API_LATENCY,
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    server.latency(Duration::ZERO);
                    rt.block_on(reset(cluster.as_ref(), &store, &jobs));
                    server.clear_requests();
                    server.latency(latency);
                    let began = Instant::now();
                    let outcome = rt.block_on(handle_batch(black_box(&messages), &deps));
                    timed += began.elapsed();
                    // Not timed: every message done, every pod there.
                    assert!(outcome.retry.is_empty() && outcome.retry_after.is_empty());
                    assert_eq!(server.pods().len(), BATCH);
                }
                timed
            })
        });
    }
    server.latency(Duration::ZERO);
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
