//! Shared by the adapter's integration tests. The Kubernetes side is the
//! HTTP-level fake (`skiff_kube::fake`): no API server can run where these
//! tests run, so the fake speaks the real wire format and records every
//! request for the tests to check.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls;
use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::PodRequest;
use skiff_core::prowjob::{
    KUBERNETES_AGENT, ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType,
    Pull, Refs,
};
use skiff_kube::KubeCluster;
use skiff_kube::fake::FakeApiServer;
use skiff_local::memory::ManualClock;

pub const NAMESPACE: &str = "test-pods";
pub const T0: &str = "2026-11-23T10:00:00Z";

/// A fake API server and a kubeconfig cluster pointed at it. The tempdir
/// holding the kubeconfig lives as long as this.
pub struct Setup {
    pub server: FakeApiServer,
    pub cluster: KubeCluster,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn setup() -> Setup {
    let server = FakeApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "fake").unwrap();
    let cluster = KubeCluster::kubeconfig("default", &kubeconfig, None, NAMESPACE);
    Setup {
        server,
        cluster,
        kubeconfig,
        _dir: dir,
    }
}

/// `created-by-prow=true`: what the syncer always lists by.
pub fn prow_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("created-by-prow".to_string(), "true".to_string())])
}

/// A one-container pod request named `name`, labelled as Prow's.
pub fn pod_request(name: &str) -> PodRequest {
    PodRequest {
        name: name.into(),
        namespace: NAMESPACE.into(),
        labels: prow_labels(),
        annotations: BTreeMap::new(),
        spec: core::PodSpec {
            containers: vec![core::Container {
                name: "test".into(),
                image: Some("alpine:3.20".into()),
                command: Some(vec!["sh".into(), "-c".into()]),
                args: Some(vec!["echo hello".into()]),
                ..core::Container::default()
            }],
            restart_policy: Some("Never".into()),
            ..core::PodSpec::default()
        },
    }
}

/// A triggered presubmit record of `job` for PR `pr`, as trigger writes one.
pub fn presubmit(id: &str, job: &str, pr: i64) -> ProwJob {
    ProwJob {
        api_version: "prow.k8s.io/v1".into(),
        kind: "ProwJob".into(),
        metadata: ObjectMeta {
            name: id.into(),
            ..ObjectMeta::default()
        },
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            agent: KUBERNETES_AGENT.into(),
            job: job.into(),
            context: job.into(),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                repo_link: "https://github.com/acme/widgets".into(),
                base_ref: "main".into(),
                base_sha: "0a1b2c3d".into(),
                pulls: vec![Pull {
                    number: pr,
                    author: "alice".into(),
                    sha: "9f8e7d6c".into(),
                    title: "Fix the widget".into(),
                    head_ref: "fix-widget".into(),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            pod_spec: Some(core::PodSpec {
                containers: vec![core::Container {
                    name: "main".into(),
                    image: Some("golang:1.23".into()),
                    command: Some(vec!["make".into(), "test".into()]),
                    env: Some(vec![core::EnvVar {
                        name: "GOFLAGS".into(),
                        value: Some("-mod=vendor".into()),
                        value_from: None,
                    }]),
                    ..core::Container::default()
                }],
                ..core::PodSpec::default()
            }),
            ..ProwJobSpec::default()
        },
        status: ProwJobStatus {
            start_time: Some(T0.parse().unwrap()),
            state: Some(ProwJobState::Triggered),
            ..ProwJobStatus::default()
        },
    }
}

/// A clock at `t` that moves only when told.
pub fn clock_at(t: &str) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t.parse().unwrap()))
}

fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// An SDK configuration for an AWS stand-in at `endpoint`: static dummy
/// credentials (with `session_token` when given), us-east-1, no retries, so
/// one call is one request.
pub async fn sdk_config(endpoint: &str, session_token: Option<&str>) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTESTING",
            "testing-secret",
            session_token.map(str::to_string),
            None,
            "static",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// moto's address, exported by ./scripts/test. Unset is a failure, not a
/// skip: a green run must mean the EKS path was tested against moto.
pub fn moto_endpoint() -> String {
    match std::env::var("SKIFF_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SKIFF_MOTO_ENDPOINT is not set: the EKS test needs moto_server. Run ./scripts/test \
             (it starts moto), or start `moto_server -H 127.0.0.1 -p PORT` and export \
             SKIFF_MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}
