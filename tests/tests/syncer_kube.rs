//! The dispatcher and the syncer through the real Kubernetes adapter: the
//! handlers are the real ones (`skiff_dispatcher::handle_batch`,
//! `skiff_syncer::sync`) over the in-memory store, queue and log store (the
//! twins of `skiff_testkit`), but the build cluster is a `KubeCluster`
//! reading a kubeconfig that points at `skiff_kube::fake::FakeApiServer`.
//! Kubernetes is an HTTP-level fake because no API server can run where
//! these tests run; the fake speaks the API's wire format, records every
//! request, and here refuses any request without the kubeconfig's bearer
//! token, so authentication is exercised too.
//!
//! Pods are moved the way a kubelet and a scheduler would move them: each
//! test writes a `PodStatus` shaped as a real cluster reports it (conditions,
//! container states, reasons and messages) with `FakeApiServer::set_status`.
//! The fake stamps pods with real creation times, so the clock starts at the
//! real current time (whole seconds) and is moved by hand past each timeout.
//!
//! Each test is named for one plank rule and checks the job's state and
//! description, the exact requests the cluster received (verb, path, query
//! and, where it matters, body), and what the log store holds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_core::config::Config;
use skiff_core::duration::GoDuration;
use skiff_core::keys::GITHUB_REPORTER;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{BatchOutcome, Clock, Cluster, Message};
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::labels::PROW_BUILD_ID;
use skiff_core::prowjob::{DecorationConfig, ProwJob, ProwJobState};
use skiff_kube::KubeCluster;
use skiff_kube::fake::{FakeApiServer, RecordedRequest};
use skiff_syncer::{Deps, SyncReport, sync};
use skiff_testkit::*;

const NAMESPACE: &str = "test-pods";
const PODS: &str = "/api/v1/namespaces/test-pods/pods";
/// The syncer's one listing per pass and cluster.
const LIST: &str = "GET /api/v1/namespaces/test-pods/pods?&labelSelector=created-by-prow%3Dtrue";

fn list() -> String {
    LIST.to_string()
}

struct World {
    server: FakeApiServer,
    kubeconfig: PathBuf,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    logs: Arc<MemoryLogs>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
    ids: Mutex<BuildIdGenerator>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        Self::with_config(config()).await
    }

    async fn with_config(config: Config) -> Self {
        let server = FakeApiServer::start().await;
        // Anything but the kubeconfig's token gets 401.
        server.require_token(FakeApiServer::TOKEN);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig, "fake").unwrap();
        let cluster: Arc<dyn Cluster> = Arc::new(KubeCluster::kubeconfig(
            "default",
            &kubeconfig,
            None,
            NAMESPACE,
        ));
        // The fake stamps real times on the pods it stores; whole seconds,
        // as the records and the API keep them.
        let clock = clock_at(T0);
        clock.set(Timestamp::from_second(Timestamp::now().as_second()).unwrap());
        World {
            server,
            kubeconfig,
            store: Arc::new(MemoryStore::new(clock.clone())),
            queue: Arc::new(MemoryQueue::new(clock.clone())),
            logs: Arc::new(MemoryLogs::default()),
            clusters: BTreeMap::from([("default".to_string(), cluster)]),
            clock,
            config,
            ids: Mutex::new(BuildIdGenerator::new()),
            _dir: dir,
        }
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            store: self.store.as_ref(),
            queue: self.queue.as_ref(),
            clusters: &self.clusters,
            logs: self.logs.as_ref(),
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
            redispatch_after: mins(2),
        }
    }

    async fn sync(&self) -> SyncReport {
        sync(&self.deps()).await.unwrap()
    }

    /// One dispatcher invocation with a message per id.
    async fn deliver(&self, ids: &[&str]) -> BatchOutcome {
        let dispatcher = skiff_dispatcher::Deps {
            store: self.store.as_ref(),
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        let messages: Vec<Message> = ids
            .iter()
            .map(|id| Message {
                receipt: format!("r-{id}"),
                body: DispatchMessage { id: id.to_string() }.to_body(),
                receive_count: 1,
            })
            .collect();
        skiff_dispatcher::handle_batch(&messages, &dispatcher).await
    }

    /// Stores the triggered records and lets the real dispatcher start their
    /// pods; forgets the requests that took.
    async fn start(&self, jobs: Vec<ProwJob>) {
        let ids: Vec<String> = jobs.iter().map(|j| j.metadata.name.clone()).collect();
        for job in jobs {
            self.store.put(job);
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let outcome = self.deliver(&refs).await;
        assert!(outcome.retry.is_empty(), "{:?}", outcome.retry);
        for id in &ids {
            assert_eq!(
                self.job(id).status.state,
                Some(ProwJobState::Pending),
                "{id}"
            );
        }
        self.server.clear_requests();
    }

    fn job(&self, id: &str) -> ProwJob {
        self.store.job(id)
    }

    fn path(&self, id: &str) -> String {
        artifact_path(&self.job(id)).unwrap()
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The build id label of the pod in the fake.
    fn pod_build(&self, id: &str) -> String {
        let pod = self.server.pod(id).unwrap_or_else(|| panic!("no pod {id}"));
        pod.metadata.labels.unwrap_or_default()[PROW_BUILD_ID].clone()
    }

    /// When the fake stored the pod.
    fn created(&self, id: &str) -> Timestamp {
        let pod = self.server.pod(id).unwrap_or_else(|| panic!("no pod {id}"));
        pod.metadata.creation_timestamp.unwrap().0
    }

    /// The requests since the last call (and forgets them), after checking
    /// each carried the kubeconfig's token.
    fn take_requests(&self) -> Vec<RecordedRequest> {
        let requests = self.server.requests();
        self.server.clear_requests();
        for r in &requests {
            assert_eq!(
                r.bearer.as_deref(),
                Some(FakeApiServer::TOKEN),
                "{}",
                r.line()
            );
        }
        requests
    }

    /// The same, as `VERB path[?query]`.
    fn lines(&self) -> Vec<String> {
        self.take_requests().iter().map(line).collect()
    }

    /// Someone else (`kubectl delete`, a node drain) deletes the pod, through
    /// its own client.
    async fn delete_elsewhere(&self, id: &str) {
        let kubectl = KubeCluster::kubeconfig("kubectl", &self.kubeconfig, None, NAMESPACE);
        kubectl.delete_pod(id).await.unwrap();
        self.server.clear_requests();
    }
}

fn line(r: &RecordedRequest) -> String {
    match r.query.as_deref() {
        Some(q) if !q.is_empty() => format!("{} {}?{q}", r.method, r.path),
        _ => r.line(),
    }
}

fn get_pod(id: &str) -> String {
    format!("GET {PODS}/{id}")
}

fn get_log(id: &str, container: &str) -> String {
    format!("GET {PODS}/{id}/log?&container={container}")
}

fn delete(id: &str) -> String {
    format!("DELETE {PODS}/{id}")
}

fn post() -> String {
    format!("POST {PODS}")
}

fn state(job: &ProwJob) -> (Option<ProwJobState>, &str, bool) {
    (
        job.status.state,
        job.status.description.as_str(),
        job.is_complete(),
    )
}

/// A triggered presubmit of `pull-widgets-unit` for PR 42, started `at`.
fn job(id: &str, at: Timestamp) -> ProwJob {
    presubmit(id, "pull-widgets-unit", 42, at)
}

/// A job whose pod runs the test next to a sidecar, as a decorated Prow
/// pod does: the test container can end while the pod keeps running.
fn with_sidecar(mut job: ProwJob) -> ProwJob {
    if let Some(spec) = job.spec.pod_spec.as_mut() {
        spec.containers[0].name = "test".into();
        spec.containers.push(Container {
            name: "sidecar".into(),
            image: Some("us-docker.pkg.dev/k8s-infra-prow/images/sidecar:v20250101".into()),
            ..Container::default()
        });
    }
    job
}

// ---------------------------------------------------------------------------
// Pod statuses as the scheduler and the kubelet write them

fn time(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap())
}

fn condition(
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
    at: Timestamp,
) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.map(Into::into),
        message: message.map(Into::into),
        last_transition_time: Some(time(at)),
        ..PodCondition::default()
    }
}

/// The conditions of a pod bound to a node, ready or not.
fn node_conditions(at: Timestamp, ready: bool, unready: &[&str]) -> Vec<PodCondition> {
    let not_ready = format!("containers with unready status: [{}]", unready.join(" "));
    let (status, reason, message) = if ready {
        ("True", None, None)
    } else {
        (
            "False",
            Some("ContainersNotReady"),
            Some(not_ready.as_str()),
        )
    };
    vec![
        condition("PodReadyToStartContainers", "True", None, None, at),
        condition("Initialized", "True", None, None, at),
        condition("Ready", status, reason, message, at),
        condition("ContainersReady", status, reason, message, at),
        condition("PodScheduled", "True", None, None, at),
    ]
}

fn container(name: &str, image: &str, state: ContainerState) -> ContainerStatus {
    let started = state.running.is_some();
    let ran = state.waiting.is_none();
    ContainerStatus {
        name: name.into(),
        image: image.into(),
        image_id: if ran {
            format!("{image}@sha256:5f9b6e0c4e2a")
        } else {
            String::new()
        },
        container_id: ran.then(|| format!("containerd://{name}0f6e3a1b2c")),
        ready: started,
        started: Some(started),
        restart_count: 0,
        state: Some(state),
        ..ContainerStatus::default()
    }
}

fn running_state(since: Timestamp) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(time(since)),
        }),
        ..ContainerState::default()
    }
}

fn terminated_state(
    code: i32,
    reason: &str,
    started: Timestamp,
    finished: Timestamp,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: Some(reason.into()),
            started_at: Some(time(started)),
            finished_at: Some(time(finished)),
            container_id: Some("containerd://0f6e3a1b2c".into()),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    }
}

fn on_node(
    phase: &str,
    started: Timestamp,
    conditions: Vec<PodCondition>,
    containers: Vec<ContainerStatus>,
) -> PodStatus {
    PodStatus {
        phase: Some(phase.into()),
        host_ip: Some("10.0.12.7".into()),
        host_ips: Some(vec![HostIP {
            ip: "10.0.12.7".into(),
        }]),
        pod_ip: Some("10.0.13.41".into()),
        pod_ips: Some(vec![PodIP {
            ip: "10.0.13.41".into(),
        }]),
        start_time: Some(time(started)),
        conditions: Some(conditions),
        container_statuses: Some(containers),
        qos_class: Some("BestEffort".into()),
        ..PodStatus::default()
    }
}

/// The scheduler found no node: no start time, no containers.
fn unschedulable(at: Timestamp, message: &str) -> PodStatus {
    PodStatus {
        phase: Some("Pending".into()),
        conditions: Some(vec![condition(
            "PodScheduled",
            "False",
            Some("Unschedulable"),
            Some(message),
            at,
        )]),
        qos_class: Some("BestEffort".into()),
        ..PodStatus::default()
    }
}

/// On a node, the test container waiting for its image.
fn pulling(started: Timestamp, reason: &str, message: &str) -> PodStatus {
    let waiting = ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: Some(message.into()),
        }),
        ..ContainerState::default()
    };
    on_node(
        "Pending",
        started,
        node_conditions(started, false, &["test"]),
        vec![container("test", "golang:1.99", waiting)],
    )
}

fn running(started: Timestamp) -> PodStatus {
    on_node(
        "Running",
        started,
        node_conditions(started, true, &[]),
        vec![container("test", "golang:1.23", running_state(started))],
    )
}

/// The single container exited with `code`: `Succeeded` or `Failed`.
fn exited(started: Timestamp, finished: Timestamp, code: i32) -> PodStatus {
    let (phase, reason) = if code == 0 {
        ("Succeeded", "Completed")
    } else {
        ("Failed", "Error")
    };
    let mut conditions = node_conditions(finished, false, &["test"]);
    for c in &mut conditions {
        if c.type_ == "Ready" || c.type_ == "ContainersReady" {
            c.reason = Some("PodCompleted".into());
            c.message = None;
        }
    }
    on_node(
        phase,
        started,
        conditions,
        vec![container(
            "test",
            "golang:1.23",
            terminated_state(code, reason, started, finished),
        )],
    )
}

const EVICTION: &str = "The node was low on resource: memory. Threshold quantity: 100Mi, \
                        available: 91548Ki. Container test was using 3521460Ki, request is 0, \
                        has larger consumption of memory. ";

/// The kubelet evicted the pod under memory pressure.
fn evicted(started: Timestamp, at: Timestamp) -> PodStatus {
    let mut conditions = vec![condition(
        "DisruptionTarget",
        "True",
        Some("TerminationByKubelet"),
        Some(EVICTION),
        at,
    )];
    conditions.extend(node_conditions(at, false, &["test"]));
    PodStatus {
        reason: Some("Evicted".into()),
        message: Some(EVICTION.into()),
        ..on_node(
            "Failed",
            started,
            conditions,
            vec![container(
                "test",
                "golang:1.23",
                terminated_state(137, "Error", started, at),
            )],
        )
    }
}

// ---------------------------------------------------------------------------
// 1. Adoption

#[tokio::test]
async fn a_pod_whose_record_write_was_lost_is_adopted_with_its_own_build_id() {
    let w = World::new().await;
    let triggered = job("j1", w.now());
    w.start(vec![triggered.clone()]).await;
    let first = w.job("j1").status.build_id;
    assert_eq!(w.pod_build("j1"), first);

    // The dispatcher crashed after creating the pod and before its write
    // landed: the record is still triggered and the message comes back.
    w.store.put(triggered);
    w.clock.advance(Duration::from_secs(30));
    let outcome = w.deliver(&["j1"]).await;

    assert!(outcome.retry.is_empty() && outcome.retry_after.is_empty());
    let requests = w.take_requests();
    assert_eq!(
        requests.iter().map(line).collect::<Vec<_>>(),
        [
            post(),
            format!("GET {PODS}?&labelSelector=prow.k8s.io%2Fid%3Dj1"),
        ],
        "a create answered 409 AlreadyExists, then the pod is looked up by job id"
    );
    let minted = requests[0].json().unwrap()["metadata"]["labels"][PROW_BUILD_ID].clone();
    assert_ne!(
        minted,
        first.as_str(),
        "the retry minted a build id of its own"
    );
    let adopted = w.job("j1");
    assert_eq!(
        state(&adopted),
        (Some(ProwJobState::Pending), "Job triggered.", false)
    );
    assert_eq!(adopted.status.build_id, first, "the pod's build id wins");
    assert_eq!(adopted.status.pod_name, "j1");
    assert!(
        adopted.status.url.ends_with(&first),
        "{}",
        adopted.status.url
    );
    assert_eq!(w.server.pods().len(), 1, "exactly one pod");
    assert_eq!(w.pod_build("j1"), first);

    // The syncer agrees with the record: nothing to repair.
    let report = w.sync().await;
    assert_eq!(report.writes, 0);
    assert_eq!(w.lines(), [LIST]);
}

// ---------------------------------------------------------------------------
// 2. Timeouts

#[tokio::test]
async fn an_unschedulable_pod_is_a_scheduling_timeout_after_five_minutes_and_is_deleted() {
    let w = World::new().await;
    w.start(vec![job("j1", w.now())]).await;
    let created = w.created("j1");
    w.server.set_status(
        "j1",
        unschedulable(
            created,
            "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are \
             available: 3 No preemption victims found for incoming pod.",
        ),
    );

    w.clock
        .set(created.checked_add(mins(5)).unwrap() - Duration::from_secs(1));
    assert_eq!(w.sync().await.writes, 0);
    assert_eq!(w.job("j1").status.state, Some(ProwJobState::Pending));
    assert_eq!(w.lines(), [LIST]);

    w.clock.advance(Duration::from_secs(1));
    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (Some(ProwJobState::Error), "Pod scheduling timeout.", true)
    );
    // The log is tried first (the container never started: 400, nothing to
    // save), then the pod goes.
    assert_eq!(w.lines(), [list(), get_log("j1", "test"), delete("j1")]);
    assert!(w.server.pod("j1").is_none());
    let path = w.path("j1");
    assert_eq!(w.logs.file(&path, "build-log.txt"), None);
    assert!(w.logs.file(&path, "started.json").is_some());
    assert!(
        w.logs
            .file(&path, "finished.json")
            .unwrap()
            .contains(r#""result":"error""#)
    );
}

#[tokio::test]
async fn a_pod_stuck_pulling_its_image_is_a_pending_timeout_naming_the_pull_error() {
    let w = World::new().await;
    // Two jobs (one run of the same job would supersede the other).
    w.start(vec![
        job("a", w.now()),
        presubmit("b", "pull-widgets-lint", 42, w.now()),
    ])
    .await;
    let started = w.now();
    let pull = "Failed to pull image \"golang:1.99\": rpc error: code = NotFound desc = failed \
                to pull and unpack image \"docker.io/library/golang:1.99\": failed to resolve \
                reference \"docker.io/library/golang:1.99\": docker.io/library/golang:1.99: not \
                found";
    let back_off = "Back-off pulling image \"golang:1.99\"";
    w.server
        .set_status("a", pulling(started, "ErrImagePull", pull));
    w.server
        .set_status("b", pulling(started, "ImagePullBackOff", back_off));

    w.clock
        .set(started.checked_add(mins(10)).unwrap() - Duration::from_secs(1));
    assert_eq!(w.sync().await.writes, 0);
    assert_eq!(w.lines(), [LIST]);

    w.clock.advance(Duration::from_secs(1));
    w.sync().await;

    assert_eq!(
        state(&w.job("a")),
        (
            Some(ProwJobState::Error),
            format!("Pod pending timeout: ErrImagePull: {pull}").as_str(),
            true
        )
    );
    assert_eq!(
        state(&w.job("b")),
        (
            Some(ProwJobState::Error),
            format!("Pod pending timeout: ImagePullBackOff: {back_off}").as_str(),
            true
        )
    );
    let mut lines = w.lines();
    assert_eq!(lines.remove(0), LIST);
    lines.sort();
    assert_eq!(
        lines,
        [
            delete("a"),
            delete("b"),
            get_log("a", "test"),
            get_log("b", "test"),
        ]
    );
    assert!(w.server.pods().is_empty());
}

#[tokio::test]
async fn a_pod_running_past_its_jobs_pod_running_timeout_is_aborted_and_deleted() {
    let w = World::new().await;
    let mut quick = job("j1", w.now());
    quick.spec.decoration_config = Some(DecorationConfig {
        pod_running_timeout: Some(GoDuration::from_hours(1)),
        ..decoration()
    });
    w.start(vec![quick]).await;
    let started = w.now();
    w.server.set_status("j1", running(started));
    w.server.set_log("j1", "test", "=== RUN   TestWidgets\n");

    w.clock
        .set(started.checked_add(mins(60)).unwrap() - Duration::from_secs(1));
    assert_eq!(w.sync().await.writes, 0);
    assert_eq!(w.job("j1").status.state, Some(ProwJobState::Pending));
    assert_eq!(w.lines(), [LIST]);

    w.clock.advance(Duration::from_secs(1));
    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (Some(ProwJobState::Aborted), "Pod running timeout.", true)
    );
    let requests = w.take_requests();
    // A per-job timeout lives in decoration_config, so the job is decorated:
    // its sidecar uploads the log when the pod is deleted, and the syncer
    // reads none.
    assert_eq!(
        requests.iter().map(line).collect::<Vec<_>>(),
        [list(), delete("j1")],
        "a decorated pod's log is the sidecar's to upload"
    );
    // Default delete options: the containers get their grace period.
    assert_eq!(requests[1].body, "{}");
    assert!(w.server.pod("j1").is_none());
    let path = w.path("j1");
    assert_eq!(w.logs.file(&path, "build-log.txt"), None);
    assert!(
        w.logs
            .file(&path, "finished.json")
            .unwrap()
            .contains(r#""passed":false,"metadata":{"uploader":"crier"},"result":"aborted""#),
        "crier's finished.json where the sidecar wrote none"
    );
}

// ---------------------------------------------------------------------------
// 3. OOM

#[tokio::test]
async fn a_running_pod_whose_test_container_was_oom_killed_is_an_error() {
    let w = World::new().await;
    w.start(vec![
        with_sidecar(job("big", w.now())),
        presubmit("alone", "pull-widgets-lint", 42, w.now()),
    ])
    .await;
    let started = w.now();
    w.clock.advance(mins(3));
    let killed = w.now();
    // The test container was killed; the sidecar still runs, so the pod does.
    w.server.set_status(
        "big",
        on_node(
            "Running",
            started,
            node_conditions(killed, false, &["test"]),
            vec![
                container(
                    "sidecar",
                    "us-docker.pkg.dev/k8s-infra-prow/images/sidecar:v20250101",
                    running_state(started),
                ),
                container(
                    "test",
                    "golang:1.23",
                    terminated_state(137, "OOMKilled", started, killed),
                ),
            ],
        ),
    );
    w.server
        .set_log("big", "test", "fatal error: runtime: out of memory\n");
    w.server.set_log("big", "sidecar", "waiting for test\n");
    // A single-container pod ends with its container: plank counts an OOM
    // kill only in a running pod, so this one is a plain failure.
    let mut alone = exited(started, killed, 137);
    if let Some(c) = alone.container_statuses.as_mut() {
        c[0].state = Some(terminated_state(137, "OOMKilled", started, killed));
    }
    w.server.set_status("alone", alone);

    w.sync().await;

    assert_eq!(
        state(&w.job("big")),
        (
            Some(ProwJobState::Error),
            "Job pod was OOM killed by the cluster.",
            true
        )
    );
    assert_eq!(
        state(&w.job("alone")),
        (Some(ProwJobState::Failure), "Job failed.", true)
    );
    let mut lines = w.lines();
    assert_eq!(lines.remove(0), LIST);
    lines.sort();
    assert_eq!(
        lines,
        [
            get_log("alone", "test"),
            get_log("big", "sidecar"),
            get_log("big", "test"),
        ],
        "both logs read, no pod deleted: an OOM-killed pod stays for inspection"
    );
    assert_eq!(
        w.logs.file(&w.path("big"), "build-log.txt").as_deref(),
        Some("fatal error: runtime: out of memory\n==> container sidecar <==\nwaiting for test\n")
    );
    assert_eq!(w.server.pods().len(), 2);
}

// ---------------------------------------------------------------------------
// 4. Eviction and revival

#[tokio::test]
async fn an_evicted_pod_is_deleted_and_revived_with_a_new_build_id_until_max_revivals() {
    let mut config = config();
    config.prow.plank.max_revivals = Some(2);
    let w = World::with_config(config).await;
    w.start(vec![job("j1", w.now())]).await;
    let mut builds = vec![w.job("j1").status.build_id];

    for revival in 1..=2 {
        let started = w.now();
        w.server.set_status("j1", running(started));
        w.clock.advance(mins(1));
        w.server.set_status("j1", evicted(started, w.now()));

        let report = w.sync().await;
        assert_eq!(
            w.lines(),
            [list(), delete("j1")],
            "revival {revival}: the evicted pod is deleted"
        );
        assert_eq!(report.writes, 0, "revival {revival}: the record waits");
        assert!(w.server.pod("j1").is_none());

        w.clock.advance(mins(1));
        w.sync().await;
        let requests = w.take_requests();
        assert_eq!(
            requests.iter().map(line).collect::<Vec<_>>(),
            [list(), post()],
            "revival {revival}: the missing pod is created again"
        );
        let job = w.job("j1");
        assert_eq!(job.status.state, Some(ProwJobState::Pending));
        assert_eq!(job.status.pod_revival_count, revival);
        let build = job.status.build_id.clone();
        assert!(
            !builds.contains(&build),
            "revival {revival}: a new build id"
        );
        assert_eq!(
            requests[1].json().unwrap()["metadata"]["labels"][PROW_BUILD_ID],
            build.as_str()
        );
        assert_eq!(w.pod_build("j1"), build);
        assert!(job.status.url.ends_with(&build), "{}", job.status.url);
        builds.push(build);
    }

    let started = w.now();
    w.clock.advance(mins(1));
    w.server.set_status("j1", evicted(started, w.now()));
    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (
            Some(ProwJobState::Error),
            "Job pod reached max revivals (2) after being stopped unexpectedly (evicted)",
            true
        )
    );
    assert_eq!(
        w.lines(),
        [list(), get_log("j1", "test")],
        "the last pod is kept, as plank keeps it"
    );
    assert_eq!(w.server.pods().len(), 1);
}

#[tokio::test]
async fn an_evicted_pod_of_a_job_with_error_on_eviction_is_an_error_at_once() {
    let w = World::new().await;
    let mut strict = job("j1", w.now());
    strict.spec.error_on_eviction = true;
    w.start(vec![strict]).await;
    let started = w.now();
    w.clock.advance(mins(1));
    w.server.set_status("j1", evicted(started, w.now()));
    w.server.set_log("j1", "test", "=== RUN   TestWidgets\n");

    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (
            Some(ProwJobState::Error),
            "Job pod was evicted by the cluster.",
            true
        )
    );
    assert_eq!(w.job("j1").status.pod_revival_count, 0);
    assert_eq!(
        w.lines(),
        [list(), get_log("j1", "test")],
        "no delete, no new pod"
    );
    assert_eq!(
        w.logs.file(&w.path("j1"), "build-log.txt").as_deref(),
        Some("=== RUN   TestWidgets\n")
    );
}

// ---------------------------------------------------------------------------
// 5. Deleted pods

#[tokio::test]
async fn a_running_pod_that_is_being_deleted_is_an_error() {
    let w = World::new().await;
    w.start(vec![job("j1", w.now())]).await;
    let started = w.now();
    w.server.set_status("j1", running(started));
    w.server.set_log("j1", "test", "interrupted\n");
    // Containers get their grace period: the pod stays, with a
    // deletionTimestamp, while they stop.
    w.server.graceful_delete(Some(Duration::from_secs(3600)));
    w.delete_elsewhere("j1").await;
    assert!(
        w.server
            .pod("j1")
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    w.clock.advance(mins(1));

    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (
            Some(ProwJobState::Error),
            "Pod got deleted unexpectedly",
            true
        )
    );
    assert_eq!(
        w.lines(),
        [list(), get_log("j1", "test")],
        "the log is saved; the pod is already going"
    );
    assert_eq!(
        w.logs.file(&w.path("j1"), "build-log.txt").as_deref(),
        Some("interrupted\n")
    );
}

#[tokio::test]
async fn a_delete_that_fails_after_a_timeout_is_retried_before_the_job_is_final() {
    let w = World::new().await;
    let mut quick = job("j1", w.now());
    quick.spec.decoration_config = Some(DecorationConfig {
        pod_running_timeout: Some(GoDuration::from_hours(1)),
        ..decoration()
    });
    w.start(vec![quick]).await;
    let started = w.now();
    w.server.set_status("j1", running(started));
    w.server.set_log("j1", "test", "still going\n");
    w.clock.set(started.checked_add(mins(60)).unwrap());

    // The API server refuses the delete: the job stays pending, so the
    // decision is taken again next pass instead of a pod running on for a
    // finished job.
    w.server.fail_next_matching("DELETE", "/pods/j1", 503, 1);
    w.sync().await;
    assert_eq!(w.job("j1").status.state, Some(ProwJobState::Pending));
    assert!(w.server.pod("j1").is_some());
    w.take_requests();

    w.clock.advance(Duration::from_secs(60));
    w.sync().await;
    assert_eq!(
        state(&w.job("j1")),
        (Some(ProwJobState::Aborted), "Pod running timeout.", true)
    );
    assert_eq!(w.lines(), [list(), delete("j1")]);
    assert!(w.server.pod("j1").is_none());
}

#[tokio::test]
async fn a_log_that_stays_unreadable_for_ten_minutes_no_longer_holds_the_job() {
    let w = World::new().await;
    w.start(vec![job("j1", w.now())]).await;
    let started = w.now();
    w.server.set_status("j1", running(started));
    // The node stopped answering: the pod is being deleted, and every log
    // read fails as the API server cannot reach the kubelet.
    w.server
        .graceful_delete(Some(Duration::from_secs(24 * 3600)));
    w.delete_elsewhere("j1").await;
    for minute in [1, 5, 10] {
        w.clock.set(started.checked_add(mins(minute)).unwrap());
        w.server.fail_next_matching("GET", "/log", 500, 1);
        w.sync().await;
        assert_eq!(
            w.job("j1").status.state,
            Some(ProwJobState::Pending),
            "minute {minute}: still waiting for the log"
        );
    }
    w.clock.set(started.checked_add(mins(12)).unwrap());
    w.server.fail_next_matching("GET", "/log", 500, 1);
    w.sync().await;
    assert_eq!(
        state(&w.job("j1")),
        (
            Some(ProwJobState::Error),
            "Pod got deleted unexpectedly",
            true
        )
    );
    let note = w.logs.file(&w.path("j1"), "build-log.txt").unwrap();
    assert!(
        note.starts_with("Skiff could not read the log of pod j1 for 10 minutes"),
        "{note}"
    );
}

#[tokio::test]
async fn a_pod_that_vanished_is_recreated_with_a_new_build_id() {
    let w = World::new().await;
    w.start(vec![job("j1", w.now())]).await;
    let first = w.job("j1").status.build_id;
    w.server.set_status("j1", running(w.now()));
    w.delete_elsewhere("j1").await;
    assert!(w.server.pods().is_empty());
    w.clock.advance(mins(1));

    let report = w.sync().await;

    let requests = w.take_requests();
    assert_eq!(
        requests.iter().map(line).collect::<Vec<_>>(),
        [list(), post()]
    );
    let job = w.job("j1");
    assert_eq!(
        state(&job),
        (Some(ProwJobState::Pending), "Job triggered.", false)
    );
    assert_eq!(job.status.pod_revival_count, 1);
    assert_ne!(job.status.build_id, first);
    assert_eq!(w.pod_build("j1"), job.status.build_id);
    let body = requests[1].json().unwrap();
    assert_eq!(body["metadata"]["name"], "j1");
    assert_eq!(body["metadata"]["labels"]["created-by-prow"], "true");
    assert_eq!(body["spec"]["restartPolicy"], "Never");
    assert_eq!(body["spec"]["containers"][0]["name"], "test");
    assert_eq!(
        body["metadata"]["labels"][PROW_BUILD_ID],
        job.status.build_id.as_str()
    );
    assert_eq!((report.pod_creates, report.writes), (1, 1));
}

// ---------------------------------------------------------------------------
// 6. Aborts

#[tokio::test]
async fn a_presubmit_superseded_by_a_newer_run_has_its_pod_deleted_and_is_completed() {
    let w = World::new().await;
    w.start(vec![job("old", w.now())]).await;
    w.server.set_status("old", running(w.now()));
    w.server.set_log("old", "test", "=== RUN   TestWidgets\n");
    // A new push to PR 42: trigger writes a newer run, the dispatcher starts it.
    w.clock.advance(mins(2));
    let mut newer = job("new", w.now());
    if let Some(refs) = newer.spec.refs.as_mut() {
        refs.pulls[0].sha = "second-push".into();
    }
    w.start(vec![newer]).await;

    let report = w.sync().await;

    let old = w.job("old");
    assert_eq!(old.status.state, Some(ProwJobState::Aborted));
    assert!(old.is_complete());
    assert_eq!(
        old.status.prev_report_states.get(GITHUB_REPORTER),
        Some(&ProwJobState::Aborted),
        "never reported as aborted on the old commit"
    );
    assert_eq!(
        state(&w.job("new")),
        (Some(ProwJobState::Pending), "Job triggered.", false)
    );
    assert_eq!(w.lines(), [list(), get_log("old", "test"), delete("old")]);
    assert!(w.server.pod("old").is_none());
    assert!(w.server.pod("new").is_some());
    assert_eq!(
        w.logs.file(&w.path("old"), "build-log.txt").as_deref(),
        Some("=== RUN   TestWidgets\n")
    );
    assert_eq!((report.superseded, report.writes), (1, 2));
}

#[tokio::test]
async fn a_job_aborted_by_hand_has_its_pod_deleted_and_is_completed() {
    let w = World::new().await;
    w.start(vec![job("j1", w.now())]).await;
    w.server.set_status("j1", running(w.now()));
    w.server.set_log("j1", "test", "half way\n");
    w.clock.advance(mins(1));
    let mut aborted = w.job("j1");
    aborted
        .transition(ProwJobState::Aborted, w.now(), "Job aborted by alice.")
        .unwrap();
    w.store.put(aborted);

    w.sync().await;

    assert_eq!(
        state(&w.job("j1")),
        (Some(ProwJobState::Aborted), "Job aborted by alice.", true)
    );
    assert_eq!(
        w.lines(),
        [get_pod("j1"), get_log("j1", "test"), delete("j1")],
        "no listing: no job is pending"
    );
    assert!(w.server.pod("j1").is_none());
    assert_eq!(
        w.logs.file(&w.path("j1"), "build-log.txt").as_deref(),
        Some("half way\n")
    );
}

// ---------------------------------------------------------------------------
// 7. Success and failure

#[tokio::test]
async fn finished_pods_end_as_success_or_failure_with_their_logs_copied() {
    let w = World::new().await;
    let t0 = w.now();
    w.start(vec![
        job("pass", t0),
        presubmit("fail", "pull-widgets-lint", 42, t0),
    ])
    .await;
    w.clock.advance(mins(4));
    let done = w.now();
    w.server.set_status("pass", exited(t0, done, 0));
    w.server.set_status("fail", exited(t0, done, 2));
    w.server
        .set_log("pass", "test", "ok  \tacme/widgets\t0.4s\n");
    w.server
        .set_log("fail", "test", "widget.go:12: unused variable\n");

    w.sync().await;

    assert_eq!(
        state(&w.job("pass")),
        (Some(ProwJobState::Success), "Job succeeded.", true)
    );
    assert_eq!(
        state(&w.job("fail")),
        (Some(ProwJobState::Failure), "Job failed.", true)
    );
    let mut lines = w.lines();
    assert_eq!(lines.remove(0), LIST);
    lines.sort();
    assert_eq!(
        lines,
        [get_log("fail", "test"), get_log("pass", "test"),],
        "logs read; finished pods stay for the sweeper"
    );
    assert_eq!(w.server.pods().len(), 2);
    for (id, log, finished) in [
        (
            "pass",
            "ok  \tacme/widgets\t0.4s\n",
            format!(
                r#"{{"timestamp":{},"passed":true,"result":"success","revision":"sha-pass"}}"#,
                done.as_second()
            ),
        ),
        (
            "fail",
            "widget.go:12: unused variable\n",
            format!(
                r#"{{"timestamp":{},"passed":false,"result":"failure","revision":"sha-fail"}}"#,
                done.as_second()
            ),
        ),
    ] {
        let path = w.path(id);
        assert_eq!(w.logs.file(&path, "build-log.txt").as_deref(), Some(log));
        assert_eq!(
            w.logs.file(&path, "finished.json").as_deref(),
            Some(finished.as_str())
        );
        assert!(
            w.logs
                .file(&path, "started.json")
                .unwrap()
                .starts_with(&format!(r#"{{"timestamp":{},"pull":"42""#, t0.as_second())),
            "{id}"
        );
    }
}

// ---------------------------------------------------------------------------
// 8. API calls per pass

#[tokio::test]
async fn a_pass_over_twenty_pending_jobs_lists_pods_once_and_reads_only_finished_logs() {
    const JOBS: usize = 20;
    const FINISHED: usize = 3;
    let w = World::new().await;
    let t0 = w.now();
    let jobs: Vec<ProwJob> = (0..JOBS)
        .map(|i| presubmit(&format!("j{i:02}"), &format!("pull-widgets-{i:02}"), 42, t0))
        .collect();
    let ids: Vec<String> = jobs.iter().map(|j| j.metadata.name.clone()).collect();
    w.start(jobs).await;
    for id in &ids {
        w.server.set_status(id, running(t0));
    }
    w.clock.advance(mins(1));
    w.sync().await;
    assert_eq!(w.lines(), [LIST], "a pass with nothing finished");

    w.clock.advance(mins(1));
    let finished = &ids[..FINISHED];
    for id in finished {
        w.server.set_status(id, exited(t0, w.now(), 0));
        w.server.set_log(id, "test", "PASS\n");
    }
    let before = {
        let calls = w.store.calls();
        (calls.lists, calls.gets, calls.updates)
    };

    let report = w.sync().await;

    let lines = w.lines();
    let calls = w.store.calls();
    let store = (
        calls.lists - before.0,
        calls.gets - before.1,
        calls.updates - before.2,
    );
    println!(
        "one pass, {JOBS} pending jobs on one cluster, {FINISHED} finished: {} API requests, \
         store: {} list, {} get, {} writes; {} log files saved",
        lines.len(),
        store.0,
        store.1,
        store.2,
        w.logs.count()
    );
    for l in &lines {
        println!("  {l}");
    }
    // One listing, then per finished job (in the store's order) its log —
    // the listing told which containers it has — and nothing for the 17
    // still running.
    assert_eq!(lines[0], LIST);
    let mut read: Vec<&str> = Vec::new();
    for line in &lines[1..] {
        let id = line
            .trim_start_matches("GET /api/v1/namespaces/test-pods/pods/")
            .split('/')
            .next()
            .unwrap();
        assert_eq!(*line, get_log(id, "test"));
        read.push(id);
    }
    read.sort();
    assert_eq!(read, finished);
    assert_eq!(lines.len(), 1 + FINISHED);
    assert_eq!(
        store,
        (1, 0, FINISHED),
        "one list, one write per finished job"
    );
    assert_eq!(
        w.logs.count(),
        4 * FINISHED,
        "build-log, started, finished and prowjob.json"
    );
    assert_eq!(
        (
            report.jobs,
            report.pod_lists,
            report.pod_logs,
            report.writes
        ),
        (JOBS, 1, FINISHED, FINISHED)
    );
    for id in &ids[FINISHED..] {
        assert_eq!(w.job(id).status.state, Some(ProwJobState::Pending), "{id}");
    }
}
