//! Reaching EKS clusters: DescribeCluster, the CA it returns, and the signed
//! bearer token. The Kubernetes side is the HTTP-level fake
//! (`skiff_kube::fake`, over TLS here), because no API server can run where
//! these tests run; DescribeCluster is answered by a second fake in EKS's
//! REST-JSON shape (it has to return that fake's URL and a real CA, which
//! moto cannot), and by moto where moto's own answer is the point.

mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use skiff_core::ports::{Cluster, PortError};
use skiff_kube::fake::FakeApiServer;
use skiff_kube::{KubeCluster, TOKEN_RENEWAL};
use skiff_local::memory::ManualClock;
use support::{NAMESPACE, T0, clock_at, moto_endpoint, prow_labels, sdk_config};

/// The presigned URL inside a bearer token.
fn token_url(bearer: &str) -> String {
    let encoded = bearer
        .strip_prefix("k8s-aws-v1.")
        .unwrap_or_else(|| panic!("not an EKS token: {bearer:.12}…"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

struct Eks {
    /// The cluster's API server (HTTPS, fake CA).
    kube: FakeApiServer,
    /// DescribeCluster.
    aws: FakeApiServer,
    clock: Arc<ManualClock>,
    cluster: KubeCluster,
}

async fn eks(session_token: Option<&str>) -> Eks {
    let kube = FakeApiServer::start_tls().await;
    kube.require_eks_token();
    let aws = FakeApiServer::start().await;
    aws.add_eks_cluster("prow-build", &kube.url());
    let sdk = sdk_config(&aws.url(), session_token).await;
    let clock = clock_at(T0);
    let cluster = KubeCluster::eks("default", &sdk, "us-east-1", "prow-build", NAMESPACE)
        .with_clock(clock.clone());
    Eks {
        kube,
        aws,
        clock,
        cluster,
    }
}

fn describes(aws: &FakeApiServer) -> usize {
    aws.requests()
        .iter()
        .filter(|r| r.line() == "GET /clusters/prow-build")
        .count()
}

fn bearers(kube: &FakeApiServer) -> Vec<String> {
    kube.requests()
        .into_iter()
        .map(|r| r.bearer.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn eks_cluster_is_described_once_and_reached_over_tls_with_a_signed_token() {
    let e = eks(Some("session-token/+=")).await;
    assert!(
        e.aws.requests().is_empty() && e.kube.requests().is_empty(),
        "no I/O before the first call"
    );

    e.cluster.list_pods(&prow_labels()).await.unwrap();
    e.cluster.list_pods(&prow_labels()).await.unwrap();

    assert_eq!(describes(&e.aws), 1);
    let tokens = bearers(&e.kube);
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0], tokens[1], "one token until renewal");
    let url = token_url(&tokens[0]);
    for part in [
        "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&",
        "X-Amz-Credential=AKIDTESTING%2F20261123%2Fus-east-1%2Fsts%2Faws4_request",
        "X-Amz-Date=20261123T100000Z",
        "X-Amz-Expires=60",
        "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        "X-Amz-Security-Token=session-token%2F%2B%3D",
    ] {
        assert!(url.contains(part), "{part} not in {url}");
    }
}

#[tokio::test]
async fn eks_token_is_signed_again_after_ten_minutes_without_describing_again() {
    let e = eks(None).await;
    e.cluster.list_pods(&prow_labels()).await.unwrap();
    e.clock.advance(TOKEN_RENEWAL - Duration::from_secs(1));
    e.cluster.list_pods(&prow_labels()).await.unwrap();
    e.clock.advance(Duration::from_secs(1));
    e.cluster.list_pods(&prow_labels()).await.unwrap();

    let dates: Vec<String> = bearers(&e.kube)
        .iter()
        .map(|t| {
            let url = token_url(t);
            let at = url.find("X-Amz-Date=").unwrap();
            url[at..at + 27].to_string()
        })
        .collect();
    assert_eq!(
        dates,
        [
            "X-Amz-Date=20261123T100000Z",
            "X-Amz-Date=20261123T100000Z",
            "X-Amz-Date=20261123T101000Z",
        ]
    );
    assert!(!token_url(&bearers(&e.kube)[0]).contains("Security-Token"));
    assert_eq!(describes(&e.aws), 1, "the description is kept");
}

#[tokio::test]
async fn an_eks_cluster_that_is_not_there_is_unavailable_and_asked_for_again() {
    let aws = FakeApiServer::start().await;
    let sdk = sdk_config(&aws.url(), None).await;
    let cluster = KubeCluster::eks("default", &sdk, "us-east-1", "prow-build", NAMESPACE);
    for _ in 0..2 {
        let err = cluster.list_pods(&prow_labels()).await.unwrap_err();
        let PortError::Unavailable(message) = &err else {
            panic!("{err:?}");
        };
        assert!(
            message.starts_with(
                "cluster \"default\": eks:DescribeCluster of \"prow-build\" in us-east-1"
            ),
            "{message}"
        );
        assert!(
            message.contains("No cluster found for name: prow-build."),
            "{message}"
        );
    }
    assert_eq!(
        describes(&aws),
        2,
        "a failed connection is retried on the next call"
    );
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_not_trusted() {
    let kube = FakeApiServer::start_tls().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");

    kube.write_kubeconfig(&path, "fake").unwrap();
    let trusted = KubeCluster::kubeconfig("lab", &path, None, NAMESPACE);
    trusted.list_pods(&prow_labels()).await.unwrap();
    assert_eq!(kube.requests().len(), 1);

    let other_ca = base64::engine::general_purpose::STANDARD.encode(include_str!("other-ca.pem"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mine = base64::engine::general_purpose::STANDARD.encode(FakeApiServer::CA_PEM);
    std::fs::write(&path, text.replace(&mine, &other_ca)).unwrap();
    let untrusted = KubeCluster::kubeconfig("lab", &path, None, NAMESPACE);
    let err = untrusted.list_pods(&prow_labels()).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
    assert_eq!(kube.requests().len(), 1, "no request got through");
}

#[tokio::test]
async fn moto_describe_cluster_gives_no_pem_ca_and_the_error_says_so() {
    let sdk = sdk_config(&moto_endpoint(), None).await;
    let eks = aws_sdk_eks::Client::new(&sdk);
    let name = format!("skiff-kube-{}", std::process::id());
    eks.create_cluster()
        .name(&name)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let cluster = KubeCluster::eks("default", &sdk, "us-east-1", &name, NAMESPACE);
    let err = cluster.list_pods(&prow_labels()).await.unwrap_err();
    let PortError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.starts_with(&format!(
            "cluster \"default\": EKS cluster \"{name}\" in us-east-1: "
        )),
        "{message}"
    );
    assert!(message.contains("holds no PEM certificate"), "{message}");
}
