//! The complete pods Skiff sends for a postsubmit and for a periodic with a
//! preset, each pinned byte for byte as the API server receives them
//! (the presubmit's is pinned in `cluster.rs`). The records are made as the
//! trigger and the scheduler make them, from a config loaded from YAML, so
//! presets, decoration defaults and Prow's labels all take part.
//!
//! The API server is the HTTP-level fake (`skiff_kube::fake`): none can run
//! where these tests run. `SKIFF_BLESS=1` rewrites the golden files from what
//! was sent — read the diff before committing it.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use skiff_core::config::{FileRole, SourceFile, load};
use skiff_core::ports::Cluster;
use skiff_core::prowjob::new::{new_periodic, new_postsubmit};
use skiff_core::prowjob::pod::pod_request;
use skiff_core::prowjob::{ProwJob, Refs};
use support::{NAMESPACE, setup};

const CONFIG: &str = r#"
plank:
  default_decoration_config_entries:
  - config:
      timeout: 1h
      grace_period: 30s
      utility_images: {clonerefs: clonerefs:v1, initupload: initupload:v1, entrypoint: entrypoint:v1, sidecar: sidecar:v1}
      gcs_configuration: {bucket: s3://skiff-logs, path_strategy: explicit}
presets:
- labels: {preset-aws-credentials: "true"}
  env:
  - {name: AWS_REGION, value: us-east-1}
  - {name: AWS_SHARED_CREDENTIALS_FILE, value: /etc/aws/credentials}
  volumes:
  - name: aws-credentials
    secret: {secretName: skiff-aws}
  volumeMounts:
  - {name: aws-credentials, mountPath: /etc/aws, readOnly: true}
postsubmits:
  acme/widgets:
  - name: post-widgets-publish
    branches: [main]
    labels: {team: widgets}
    spec:
      containers:
      - image: golang:1.23
        command: [make, publish]
        resources: {requests: {cpu: "2", memory: 4Gi}}
periodics:
- name: ci-eks-conformance
  interval: 6h
  decorate: true
  labels: {preset-aws-credentials: "true"}
  annotations: {testgrid-dashboards: eks}
  spec:
    serviceAccountName: conformance
    containers:
    - image: conformance:latest
      args: [--region=us-east-1, --focus=Conformance]
"#;

const BUILD: &str = "1823456789012345678";

fn config() -> skiff_core::config::Config {
    let loaded = load(&[SourceFile {
        path: "config.yaml".into(),
        text: CONFIG.into(),
        role: FileRole::ProwConfig,
    }]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == skiff_core::diagnostics::Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    loaded.config
}

async fn sent_pod(job: &ProwJob) -> serde_json::Value {
    let s = setup().await;
    let request = pod_request(job, BUILD, NAMESPACE).unwrap();
    s.cluster.create_pod(&request).await.unwrap();
    let requests = s.server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests[0].json().unwrap()
}

fn check(name: &str, got: &serde_json::Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}"));
    let text = serde_json::to_string_pretty(got).unwrap() + "\n";
    let text = text.replace(env!("CARGO_PKG_VERSION"), "{VERSION}");
    if std::env::var_os("SKIFF_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SKIFF_BLESS=1 writes it)", path.display()));
    assert!(
        want == text,
        "the pod sent differs from tests/golden/{name}; sent:\n{text}"
    );
}

#[tokio::test]
async fn a_postsubmit_pod_is_pinned() {
    let config = config();
    let post = &config.jobs.postsubmits["acme/widgets"][0];
    let refs = Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        repo_link: "https://github.com/acme/widgets".into(),
        base_ref: "main".into(),
        base_sha: "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9".into(),
        base_link: "https://github.com/acme/widgets/commit/5e1b3f44".into(),
        ..Refs::default()
    };
    let job = new_postsubmit(
        post,
        refs,
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "0b5f2a8e-6c1d-5e3f-9a7b-1c2d3e4f5a6b".into(),
        "2026-12-04T16:00:00Z".parse().unwrap(),
    );
    check("postsubmit-pod.json", &sent_pod(&job).await);
}

#[tokio::test]
async fn a_periodic_pod_with_a_preset_is_pinned() {
    let config = config();
    let periodic = &config.jobs.periodics[0];
    let job = new_periodic(
        periodic,
        &BTreeMap::new(),
        "7c4e9d2a-1b3f-5a6c-8d7e-9f0a1b2c3d4e".into(),
        "2026-12-04T18:00:00Z".parse().unwrap(),
    );
    let pod = sent_pod(&job).await;
    // What the preset must have added, said plainly next to the golden file.
    let container = &pod["spec"]["containers"][0];
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(env.contains(&"AWS_REGION") && env.contains(&"AWS_SHARED_CREDENTIALS_FILE"));
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/etc/aws");
    assert_eq!(
        pod["spec"]["volumes"][0]["secret"]["secretName"],
        "skiff-aws"
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "conformance");
    check("periodic-preset-pod.json", &pod);
}
