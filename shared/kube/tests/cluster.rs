//! `KubeCluster` through the `Cluster` port, against the HTTP-level fake API
//! server (`skiff_kube::fake`): no Kubernetes API server can run where these
//! tests run, so the fake speaks the real wire format and records every
//! request. Each test pins one rule: the verb, path and body sent, the count
//! of API calls, or how an answer maps to the port.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    PodCondition, PodStatus,
};
use skiff_core::ports::{Cluster, Created, PodInfo, PodPhase, PortError};
use skiff_kube::KubeCluster;
use skiff_kube::fake::{FakeApiServer, Kubelet};
use support::{NAMESPACE, pod_request, presubmit, prow_labels, setup};

const PODS_PATH: &str = "/api/v1/namespaces/test-pods/pods";

#[tokio::test]
async fn building_a_cluster_does_no_io_and_the_first_call_connects() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    assert!(server.requests().is_empty());
    cluster.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn create_posts_the_complete_pod_prow_would_run() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let job = presubmit(
        "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
        "pull-widgets-unit",
        42,
    );
    let request =
        skiff_core::prowjob::pod::pod_request(&job, "1823456789012345678", NAMESPACE).unwrap();

    assert_eq!(
        cluster.create_pod(&request).await.unwrap(),
        Created::Created
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one POST: {requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, PODS_PATH);
    let golden =
        include_str!("golden/presubmit-pod.json").replace("{VERSION}", env!("CARGO_PKG_VERSION"));
    let want: serde_json::Value = serde_json::from_str(&golden).unwrap();
    let got = requests[0].json().unwrap();
    assert!(
        got == want,
        "the pod sent differs from tests/golden/presubmit-pod.json; sent:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
    let stored = server.pod(&request.name).unwrap();
    assert_eq!(stored.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert_eq!(
        stored.spec.unwrap(),
        request.spec,
        "the spec arrives as built"
    );
}

#[tokio::test]
async fn create_of_a_pod_already_there_is_adopted() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let pod = pod_request("job-1");
    assert_eq!(cluster.create_pod(&pod).await.unwrap(), Created::Created);
    assert_eq!(
        cluster.create_pod(&pod).await.unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(server.pods().len(), 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn create_refused_by_validation_is_rejected_with_the_api_message() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let mut no_containers = pod_request("job-1");
    no_containers.spec.containers.clear();
    let mut bad_name = pod_request("Job_1");
    bad_name.spec.containers[0].image = None;
    let cases = [
        (
            no_containers,
            "Pod \"job-1\" is invalid: spec.containers: Required value",
        ),
        (
            bad_name,
            "Pod \"Job_1\" is invalid: [metadata.name: Invalid value: \"Job_1\": a lowercase RFC \
             1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
             must start and end with an alphanumeric character, spec.containers[0].image: \
             Required value]",
        ),
    ];
    for (pod, message) in cases {
        assert_eq!(
            cluster.create_pod(&pod).await,
            Err(PortError::Rejected(message.into()))
        );
    }
    assert!(server.pods().is_empty());
}

#[tokio::test]
async fn api_errors_map_by_status_code_with_one_request_each() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    // Throttling and 503/504 are among them: kube's own retry is off, so
    // each is one request and the handler's retry decides.
    let cases = [
        (500, "Unavailable"),
        (503, "Unavailable"),
        (504, "Unavailable"),
        (429, "Unavailable"),
        (408, "Unavailable"),
        (401, "Unavailable"),
        (400, "Rejected"),
        (403, "Rejected"),
        (404, "Rejected"),
        (409, "Conflict"),
    ];
    for (code, expected) in cases {
        server.clear_requests();
        server.fail_next(code, 1);
        let err = cluster.create_pod(&pod_request("job-1")).await.unwrap_err();
        assert_eq!(kind(&err), expected, "{code}: {err:?}");
        assert_eq!(
            server.requests().len(),
            1,
            "{code}: one request, no retries"
        );
    }
    assert_eq!(
        cluster.create_pod(&pod_request("job-1")).await.unwrap(),
        Created::Created,
        "the failures were only the injected ones"
    );
}

fn kind(e: &PortError) -> &'static str {
    match e {
        PortError::Conflict(_) => "Conflict",
        PortError::NotFound(_) => "NotFound",
        PortError::Rejected(_) => "Rejected",
        PortError::Unavailable(_) => "Unavailable",
        PortError::RateLimited { .. } => "RateLimited",
    }
}

#[tokio::test]
async fn rejected_create_carries_the_message_and_unavailable_says_where() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    server.fail_next(403, 1);
    assert_eq!(
        cluster.create_pod(&pod_request("job-1")).await,
        Err(PortError::Rejected(
            "injected failure: 403 Forbidden".into()
        ))
    );
    server.fail_next(500, 1);
    let Err(PortError::Unavailable(message)) = cluster.create_pod(&pod_request("job-1")).await
    else {
        panic!("500 is Unavailable");
    };
    assert_eq!(
        message,
        "creating pod job-1 in namespace test-pods on cluster default: 500 InternalError: \
         injected failure: 500 InternalError"
            .into()
    );
}

#[tokio::test]
async fn list_is_one_request_with_the_label_selector() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let mut unit = pod_request("unit");
    unit.labels
        .insert("prow.k8s.io/job".into(), "pull-unit".into());
    let mut e2e = pod_request("e2e");
    e2e.labels
        .insert("prow.k8s.io/job".into(), "pull-e2e".into());
    let mut foreign = pod_request("foreign");
    foreign.labels.clear();
    for p in [&unit, &e2e, &foreign] {
        cluster.create_pod(p).await.unwrap();
    }
    server.clear_requests();

    let mut labels = prow_labels();
    labels.insert("prow.k8s.io/job".into(), "pull-unit".into());
    let pods = cluster.list_pods(&labels).await.unwrap();
    assert_eq!(names(&pods), ["unit"]);
    let all = cluster.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(names(&all), ["e2e", "unit"]);

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one request per list: {requests:?}");
    assert_eq!(requests[0].line(), format!("GET {PODS_PATH}"));
    assert_eq!(
        requests[0].query_param("labelSelector").as_deref(),
        Some("created-by-prow=true,prow.k8s.io/job=pull-unit")
    );
    assert_eq!(
        requests[1].query_param("labelSelector").as_deref(),
        Some("created-by-prow=true")
    );
}

#[tokio::test]
async fn list_with_a_label_outside_label_syntax_is_rejected_without_a_request() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let mut labels = prow_labels();
    labels.insert("prow.k8s.io/job".into(), "a,b=c".into());
    let err = cluster.list_pods(&labels).await.unwrap_err();
    assert!(matches!(err, PortError::Rejected(_)), "{err:?}");
    assert!(server.requests().is_empty());
}

fn names(pods: &[PodInfo]) -> Vec<&str> {
    pods.iter().map(|p| p.name.as_str()).collect()
}

fn terminated(code: i32, reason: &str) -> ContainerStatus {
    ContainerStatus {
        name: "test".into(),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                reason: Some(reason.into()),
                finished_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    "2026-11-23T10:05:00Z".parse().unwrap(),
                )),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }
}

#[tokio::test]
async fn list_maps_each_pod_state_the_syncer_acts_on() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let cases = [
        "unschedulable",
        "image-pull",
        "running",
        "succeeded",
        "failed",
        "oom-killed",
        "evicted",
        "deleting",
    ];
    for name in cases {
        cluster.create_pod(&pod_request(name)).await.unwrap();
    }
    server.set_status(
        "unschedulable",
        PodStatus {
            phase: Some("Pending".into()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some("0/3 nodes are available: 3 Insufficient memory.".into()),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        },
    );
    server.run_pod("image-pull");
    let mut status = server.pod("image-pull").unwrap().status.unwrap();
    status.phase = Some("Pending".into());
    status.container_statuses = Some(vec![ContainerStatus {
        name: "test".into(),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ErrImagePull".into()),
                message: Some("failed to pull image \"alpine:9.99\": not found".into()),
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    }]);
    server.set_status("image-pull", status);
    server.run_pod("running");
    server.run_pod("succeeded");
    server.finish_pod("succeeded", 0);
    server.run_pod("failed");
    server.finish_pod("failed", 2);
    server.run_pod("oom-killed");
    let mut status = server.pod("oom-killed").unwrap().status.unwrap();
    status.container_statuses = Some(vec![terminated(137, "OOMKilled")]);
    server.set_status("oom-killed", status);
    server.set_status(
        "evicted",
        PodStatus {
            phase: Some("Failed".into()),
            reason: Some("Evicted".into()),
            message: Some("The node was low on resource: memory.".into()),
            ..PodStatus::default()
        },
    );
    server.run_pod("deleting");
    server.graceful_delete(Some(Duration::from_secs(600)));
    cluster.delete_pod("deleting").await.unwrap();
    server.clear_requests();

    let pods = cluster.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(server.requests().len(), 1);
    let by_name: BTreeMap<&str, &PodInfo> = pods.iter().map(|p| (p.name.as_str(), p)).collect();
    let get = |n: &str| *by_name.get(n).unwrap_or_else(|| panic!("{n} not listed"));

    let p = get("unschedulable");
    assert_eq!((p.phase, p.start_time), (PodPhase::Pending, None));
    assert_eq!(
        p.reason.as_deref(),
        Some("Unschedulable: 0/3 nodes are available: 3 Insufficient memory.")
    );

    let p = get("image-pull");
    assert_eq!(p.phase, PodPhase::Pending);
    assert!(p.start_time.is_some());
    assert_eq!(
        p.reason.as_deref(),
        Some("ErrImagePull: failed to pull image \"alpine:9.99\": not found")
    );

    let p = get("running");
    assert_eq!(p.phase, PodPhase::Running);
    assert!(p.start_time.is_some());
    assert_eq!((p.finished_time, p.reason.as_deref()), (None, None));
    assert!(!p.all_succeeded && !p.deleting && !p.oom_killed && !p.evicted);
    assert_eq!(p.labels, prow_labels());

    let p = get("succeeded");
    assert_eq!(p.phase, PodPhase::Succeeded);
    assert!(p.all_succeeded);
    assert!(p.finished_time.is_some());
    assert_eq!(p.reason, None);

    let p = get("failed");
    assert_eq!(p.phase, PodPhase::Failed);
    assert!(!p.all_succeeded);
    assert_eq!(p.reason.as_deref(), Some("Error (exit code 2)"));

    let p = get("oom-killed");
    assert_eq!(p.phase, PodPhase::Running);
    assert!(p.oom_killed);
    assert_eq!(
        p.finished_time,
        Some("2026-11-23T10:05:00Z".parse().unwrap())
    );

    let p = get("evicted");
    assert!(p.evicted);
    assert_eq!(p.phase, PodPhase::Failed);
    assert_eq!(
        p.reason.as_deref(),
        Some("Evicted: The node was low on resource: memory.")
    );

    let p = get("deleting");
    assert!(p.deleting);
    assert_eq!(p.phase, PodPhase::Running);
}

#[tokio::test]
async fn log_is_the_test_container_first_then_the_others() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let mut pod = pod_request("job-1");
    let image = Some("alpine:3.20".to_string());
    pod.spec.containers = vec![
        Container {
            name: "sidecar".into(),
            image: image.clone(),
            ..Container::default()
        },
        Container {
            name: "test".into(),
            image: image.clone(),
            ..Container::default()
        },
    ];
    pod.spec.init_containers = Some(vec![Container {
        name: "clonerefs".into(),
        image,
        ..Container::default()
    }]);
    cluster.create_pod(&pod).await.unwrap();
    server.run_pod("job-1");
    server.set_log("job-1", "test", "ok 1 - widgets\nPASS");
    server.set_log("job-1", "sidecar", "uploaded\n");
    server.clear_requests();

    let log = cluster.pod_log("job-1").await.unwrap();
    assert_eq!(
        log,
        "ok 1 - widgets\nPASS\n\
         ==> container sidecar <==\nuploaded\n\
         ==> container clonerefs <==\n(no log: container \"clonerefs\" in pod \"job-1\" is \
         waiting to start: ContainerCreating)\n"
    );
    let calls: Vec<(String, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| (r.line(), r.query_param("container")))
        .collect();
    let pod_path = format!("GET {PODS_PATH}/job-1");
    let log_path = format!("GET {PODS_PATH}/job-1/log");
    assert_eq!(
        calls,
        [
            (pod_path, None),
            (log_path.clone(), Some("test".into())),
            (log_path.clone(), Some("sidecar".into())),
            (log_path, Some("clonerefs".into())),
        ]
    );
}

#[tokio::test]
async fn log_of_a_single_container_pod_is_its_log_as_is() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    server.run_pod("job-1");
    server.set_log("job-1", "test", "hello\nbinary \u{fffd} kept");
    assert_eq!(
        cluster.pod_log("job-1").await.unwrap(),
        "hello\nbinary \u{fffd} kept"
    );
}

#[tokio::test]
async fn log_of_a_missing_pod_is_not_found_and_of_a_waiting_one_rejected() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    let err = cluster.pod_log("gone").await.unwrap_err();
    assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    let err = cluster.pod_log("job-1").await.unwrap_err();
    assert_eq!(
        err,
        PortError::Rejected(
            "container \"test\" in pod \"job-1\" is waiting to start: ContainerCreating".into()
        )
    );
    assert!(server.pod("job-1").is_some());
}

#[tokio::test]
async fn delete_removes_the_pod_and_a_pod_already_gone_is_fine() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    server.clear_requests();
    cluster.delete_pod("job-1").await.unwrap();
    assert!(server.pod("job-1").is_none());
    cluster.delete_pod("job-1").await.unwrap();
    let lines: Vec<String> = server.requests().iter().map(|r| r.line()).collect();
    let delete = format!("DELETE {PODS_PATH}/job-1");
    assert_eq!(lines, [delete.clone(), delete]);
}

#[tokio::test]
async fn a_pod_deleted_gracefully_lists_as_deleting_until_gone() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    server.graceful_delete(Some(Duration::from_secs(1)));
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    server.run_pod("job-1");
    cluster.delete_pod("job-1").await.unwrap();
    let pods = cluster.list_pods(&prow_labels()).await.unwrap();
    assert!(pods[0].deleting);
    eventually(cluster, |pods| pods.is_empty()).await;
}

/// Lists until `done` holds, for at most ten seconds (a loaded machine is
/// slow; a broken fake never gets there).
async fn eventually(cluster: &KubeCluster, done: impl Fn(&[PodInfo]) -> bool) -> Vec<PodInfo> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pods = cluster.list_pods(&prow_labels()).await.unwrap();
        if done(&pods) {
            return pods;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {pods:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A kubeconfig with two contexts: `dead` (current) and `fake`.
fn two_contexts(server: &FakeApiServer, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster:
    server: http://127.0.0.1:1
- name: fake
  cluster:
    server: {url}
users:
- name: someone
  user:
    token: {token}
contexts:
- name: dead
  context:
    cluster: dead
    user: someone
- name: fake
  context:
    cluster: fake
    user: someone
current-context: dead
",
        url = server.url()
    )
}

#[tokio::test]
async fn kubeconfig_context_selects_the_cluster_and_sends_its_token() {
    let server = FakeApiServer::start().await;
    server.require_token("ctx-token");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, two_contexts(&server, "ctx-token")).unwrap();

    let chosen = KubeCluster::kubeconfig("lab", &path, Some("fake"), NAMESPACE);
    chosen.list_pods(&prow_labels()).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].bearer.as_deref(), Some("ctx-token"));

    let current = KubeCluster::kubeconfig("lab", &path, None, NAMESPACE);
    let err = current.list_pods(&prow_labels()).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "the current context is elsewhere"
    );
}

#[tokio::test]
async fn a_wrong_token_is_unavailable_and_the_kubeconfig_is_read_again() {
    let server = FakeApiServer::start().await;
    server.require_token("rotated");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, two_contexts(&server, "old")).unwrap();
    let cluster = KubeCluster::kubeconfig("lab", &path, Some("fake"), NAMESPACE);

    let err = cluster.list_pods(&prow_labels()).await.unwrap_err();
    let PortError::Unavailable(message) = &err else {
        panic!("401 is Unavailable (credentials may be renewed): {err:?}");
    };
    assert!(
        message.contains("on cluster lab: 401 Unauthorized"),
        "{message}"
    );

    std::fs::write(&path, two_contexts(&server, "rotated")).unwrap();
    cluster.list_pods(&prow_labels()).await.unwrap();
    let bearers: Vec<Option<String>> = server.requests().into_iter().map(|r| r.bearer).collect();
    assert_eq!(bearers, [Some("old".into()), Some("rotated".into())]);
}

#[tokio::test]
async fn the_connection_is_made_once_and_reused() {
    let s = setup().await;
    let (server, cluster, kubeconfig) = (&s.server, &s.cluster, &s.kubeconfig);
    cluster.list_pods(&prow_labels()).await.unwrap();
    // Were the file read again, the next call would fail.
    std::fs::remove_file(kubeconfig).unwrap();
    cluster.list_pods(&prow_labels()).await.unwrap();
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_failed_connection_is_unavailable_and_tried_again_on_the_next_call() {
    let server = FakeApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let cluster = KubeCluster::kubeconfig("lab", &path, None, NAMESPACE);

    let err = cluster.list_pods(&prow_labels()).await.unwrap_err();
    let PortError::Unavailable(message) = &err else {
        panic!("a missing kubeconfig is Unavailable: {err:?}");
    };
    assert!(message.contains("cluster \"lab\""), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");

    server.write_kubeconfig(&path, "fake").unwrap();
    cluster.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn in_cluster_configuration_outside_a_cluster_is_unavailable() {
    let cluster = KubeCluster::in_cluster("here", NAMESPACE);
    let err = cluster.list_pods(&prow_labels()).await.unwrap_err();
    let PortError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("in-cluster configuration"), "{message}");
}

#[tokio::test]
async fn the_fake_keeps_serving_after_bad_requests() {
    let s = setup().await;
    let (cluster, kubeconfig) = (&s.cluster, &s.kubeconfig);
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let raw = |method: &str, path: &str, body: &str| {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    let cases = [
        (raw("POST", PODS_PATH, "not json"), 400, "BadRequest"),
        (raw("GET", "/apis/batch/v1/jobs", ""), 404, "NotFound"),
        (raw("PUT", PODS_PATH, "{}"), 405, "MethodNotAllowed"),
        (
            raw(
                "GET",
                &format!("{PODS_PATH}?labelSelector=a%20in%20(b)"),
                "",
            ),
            400,
            "BadRequest",
        ),
    ];
    for (request, code, reason) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        match client.request_text(request).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(
                    (status.code, status.reason.as_str()),
                    (code, reason),
                    "{what}"
                );
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    assert_eq!(cluster.list_pods(&prow_labels()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn auto_kubelet_runs_pods_and_ends_them_by_their_exit_command() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    server.auto_kubelet(Some(Kubelet::default()));
    let pass = pod_request("pass");
    let mut fail = pod_request("fail");
    fail.spec.containers[0].args = Some(vec!["echo broken; exit 3".into()]);
    cluster.create_pod(&pass).await.unwrap();
    cluster.create_pod(&fail).await.unwrap();

    let running = cluster.list_pods(&prow_labels()).await.unwrap();
    assert!(
        running
            .iter()
            .all(|p| p.phase == PodPhase::Running && p.start_time.is_some()),
        "running at once: {running:?}"
    );

    let done = eventually(cluster, |pods| {
        pods.iter().all(|p| p.phase != PodPhase::Running)
    })
    .await;
    let phase = |n: &str| {
        done.iter()
            .find(|p| p.name == n)
            .map(|p| (p.phase, p.all_succeeded))
    };
    assert_eq!(phase("pass"), Some((PodPhase::Succeeded, true)));
    assert_eq!(phase("fail"), Some((PodPhase::Failed, false)));
    assert_eq!(cluster.pod_log("pass").await.unwrap(), "echo hello\n");
    assert_eq!(
        cluster.pod_log("fail").await.unwrap(),
        "echo broken; exit 3\n"
    );
}

#[tokio::test]
async fn auto_kubelet_leaves_a_deleted_pod_alone() {
    let s = setup().await;
    let (server, cluster) = (&s.server, &s.cluster);
    server.auto_kubelet(Some(Kubelet {
        finish_after: Duration::from_millis(200),
        log: Some("fixed\n".into()),
    }));
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    cluster.delete_pod("job-1").await.unwrap();
    server.auto_kubelet(None);
    cluster.create_pod(&pod_request("job-1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pods = cluster.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(
        pods[0].phase,
        PodPhase::Pending,
        "the new pod is not the old run's"
    );
}
