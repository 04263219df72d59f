//! `KubeCluster`'s PipelineRun operations (agent `tekton-pipeline`) against
//! the HTTP-level fake API server (`skiff_kube::fake`): no Kubernetes API
//! server (let alone Tekton) can run where these tests run, so the fake
//! serves `tekton.dev/v1` PipelineRuns in the real wire format and records
//! every request. Each test pins one rule: the verb, path and body sent, the
//! count of API calls, or how an answer maps to the port.

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use skiff_core::ports::{Cluster, ConditionStatus, Created, PipelineRunRequest, PortError};
use skiff_core::prowjob::pipeline_run::{pipeline_run_request, to_kube_object};
use skiff_core::prowjob::{TEKTON_AGENT, TektonPipelineRunSpec};
use support::{presubmit, prow_labels, setup};

const RUNS_PATH: &str = "/apis/tekton.dev/v1/namespaces/tekton-ci/pipelineruns";

fn run_request(id: &str) -> PipelineRunRequest {
    let mut job = presubmit(id, "pull-widgets-pipeline", 42);
    job.spec.agent = TEKTON_AGENT.into();
    job.spec.pod_spec = None;
    job.spec.tekton_pipeline_run_spec = Some(TektonPipelineRunSpec {
        v1beta1: Some(json!({
            "pipelineSpec": {
                "tasks": [
                    {"name": "checkout", "taskRef": {"name": "PROW_IMPLICIT_GIT_REF"}},
                    {"name": "unit", "runAfter": ["checkout"], "taskRef": {"name": "go-test"}}
                ]
            }
        })),
    });
    pipeline_run_request(&job, "1823456789012345678", "tekton-ci").unwrap()
}

#[tokio::test]
async fn create_posts_the_complete_pipeline_run_to_tekton_v1() {
    let s = setup().await;
    let request = run_request("3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44");

    assert_eq!(
        s.cluster.create_pipeline_run(&request).await.unwrap(),
        Created::Created
    );

    let requests = s.server.requests();
    assert_eq!(requests.len(), 1, "one POST: {requests:?}");
    assert_eq!(requests[0].line(), format!("POST {RUNS_PATH}"));
    assert_eq!(requests[0].json(), Some(to_kube_object(&request)));
    let stored = s
        .server
        .pipeline_run("3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44")
        .unwrap();
    assert_eq!(stored["metadata"]["labels"]["created-by-prow"], "true");
    assert_eq!(
        stored["spec"]["pipelineSpec"]["tasks"][0]["taskRef"]["name"],
        "git-clone"
    );
}

#[tokio::test]
async fn a_run_already_there_is_adopted_not_an_error() {
    let s = setup().await;
    let request = run_request("job-1");
    s.cluster.create_pipeline_run(&request).await.unwrap();
    assert_eq!(
        s.cluster.create_pipeline_run(&request).await.unwrap(),
        Created::AlreadyExists
    );
}

#[tokio::test]
async fn an_empty_namespace_means_the_clusters_own() {
    let s = setup().await;
    let mut request = run_request("job-1");
    request.namespace.clear();
    s.cluster.create_pipeline_run(&request).await.unwrap();
    s.cluster
        .list_pipeline_runs("", &prow_labels())
        .await
        .unwrap();
    s.cluster.delete_pipeline_run("", "job-1").await.unwrap();
    let lines: Vec<String> = s.server.requests().iter().map(|r| r.line()).collect();
    let own = "/apis/tekton.dev/v1/namespaces/test-pods/pipelineruns";
    assert_eq!(
        lines,
        [
            format!("POST {own}"),
            format!("GET {own}"),
            format!("DELETE {own}/job-1")
        ]
    );
}

#[tokio::test]
async fn list_is_one_get_by_label_and_reads_each_runs_succeeded_condition() {
    let s = setup().await;
    for id in ["job-1", "job-2", "job-3"] {
        s.cluster
            .create_pipeline_run(&run_request(id))
            .await
            .unwrap();
    }
    s.server.start_pipeline_run("job-2");
    s.server.finish_pipeline_run("job-3", false, "Failed");
    s.server.clear_requests();

    let mut runs = s
        .cluster
        .list_pipeline_runs("tekton-ci", &prow_labels())
        .await
        .unwrap();
    runs.sort_by(|a, b| a.name.cmp(&b.name));

    let requests = s.server.requests();
    assert_eq!(requests.len(), 1, "one GET: {requests:?}");
    assert_eq!(requests[0].line(), format!("GET {RUNS_PATH}"));
    assert_eq!(
        requests[0].query_param("labelSelector").as_deref(),
        Some("created-by-prow=true")
    );
    let seen: Vec<(&str, Option<ConditionStatus>, bool, bool)> = runs
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.succeeded.as_ref().map(|c| c.status),
                r.start_time.is_some(),
                r.completion_time.is_some(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("job-1", None, false, false),
            ("job-2", Some(ConditionStatus::Unknown), true, false),
            ("job-3", Some(ConditionStatus::False), true, true),
        ]
    );
    let failed = runs[2].succeeded.clone().unwrap();
    assert_eq!(failed.reason, "Failed");
    assert_eq!(
        failed.message,
        "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"
    );
    assert_eq!(runs[0].labels["prow.k8s.io/id"], "job-1");
    assert!(runs[0].created.is_some());

    let other = BTreeMap::from([("prow.k8s.io/id".to_string(), "job-2".to_string())]);
    let only = s
        .cluster
        .list_pipeline_runs("tekton-ci", &other)
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
}

#[tokio::test]
async fn delete_is_one_delete_with_background_propagation_and_gone_is_fine() {
    let s = setup().await;
    s.cluster
        .create_pipeline_run(&run_request("job-1"))
        .await
        .unwrap();
    s.server.clear_requests();

    s.cluster
        .delete_pipeline_run("tekton-ci", "job-1")
        .await
        .unwrap();
    let requests = s.server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].line(), format!("DELETE {RUNS_PATH}/job-1"));
    assert_eq!(
        requests[0].json(),
        Some(json!({"propagationPolicy": "Background"})),
        "its TaskRuns and their pods go with it"
    );
    assert!(s.server.pipeline_run("job-1").is_none());

    s.cluster
        .delete_pipeline_run("tekton-ci", "job-1")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cluster_without_tekton_refuses_creates_saying_so_and_holds_no_runs() {
    let s = setup().await;
    s.server.uninstall_tekton();

    let Err(PortError::Rejected(message)) =
        s.cluster.create_pipeline_run(&run_request("job-1")).await
    else {
        panic!("a 404 on create is a refusal");
    };
    assert!(
        message.starts_with(
            "cluster default does not serve tekton.dev/v1 pipelineruns: Tekton Pipelines is not \
             installed there ("
        ),
        "{message}"
    );
    let runs = s
        .cluster
        .list_pipeline_runs("tekton-ci", &prow_labels())
        .await
        .unwrap();
    assert!(runs.is_empty());
    s.cluster
        .delete_pipeline_run("tekton-ci", "job-1")
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_map_as_for_pods() {
    let s = setup().await;
    let cases = [
        (503, "Unavailable"),
        (429, "Unavailable"),
        (403, "Rejected"),
        (409, "Conflict"),
    ];
    for (code, want) in cases {
        s.server.fail_next(code, 1);
        let got = match s.cluster.create_pipeline_run(&run_request("job-1")).await {
            Err(PortError::Unavailable(_)) => "Unavailable",
            Err(PortError::Rejected(_)) => "Rejected",
            Err(PortError::Conflict(_)) => "Conflict",
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!(got, want, "{code}");
    }
    s.server.fail_next(500, 1);
    let err = s
        .cluster
        .list_pipeline_runs("tekton-ci", &prow_labels())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    s.server.fail_next(500, 1);
    let err = s
        .cluster
        .delete_pipeline_run("tekton-ci", "job-1")
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn what_tekton_refuses_is_rejected_with_its_message() {
    let s = setup().await;
    let mut twice = run_request("job-1");
    if let Some(params) = twice.spec["params"].as_array_mut() {
        params.push(json!({"name": "BUILD_ID", "value": "again"}));
    }
    let Err(PortError::Rejected(message)) = s.cluster.create_pipeline_run(&twice).await else {
        panic!("duplicate params are refused");
    };
    assert!(
        message.contains("parameter names must be unique"),
        "{message}"
    );

    let mut bad = run_request("Not_A_Name");
    bad.name = "Not_A_Name".into();
    let Err(PortError::Rejected(message)) = s.cluster.create_pipeline_run(&bad).await else {
        panic!("an invalid name is refused");
    };
    assert!(message.contains("is invalid: metadata.name"), "{message}");
}
