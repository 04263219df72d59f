//! The complete pods Skiff sends, each pinned byte for byte as the API
//! server receives them (the undecorated presubmit's is pinned in
//! `cluster.rs`): an undecorated postsubmit, and decorated jobs covering each
//! part of Prow's `decorate` — refs with a path alias and extra refs, two
//! test containers, `skip_cloning`, ssh keys, an OAuth token with a cookie
//! file, censored secrets, S3 credentials. The records are made as the
//! trigger and the scheduler make them, from a config loaded from YAML, so
//! presets, decoration defaults and Prow's labels all take part.
//!
//! The decorated pods were compared field by field with Prow's own fixtures
//! (`pkg/pod-utils/decorate/testdata`) where they overlap; they differ only
//! where Skiff's records do (labels, the plank-version label) and in what Go
//! writes for empty values (`resources: {}`, `creationTimestamp: null`).
//!
//! The API server is the HTTP-level fake (`skiff_kube::fake`): none can run
//! where these tests run. `SKIFF_BLESS=1` rewrites the golden files from what
//! was sent — read the diff before committing it.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use skiff_core::config::{Config, FileRole, Periodic, SourceFile, load};
use skiff_core::ports::Cluster;
use skiff_core::prowjob::new::{new_periodic, new_postsubmit, new_presubmit};
use skiff_core::prowjob::pod::pod_request;
use skiff_core::prowjob::{ProwJob, Pull, Refs};
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
  - name: post-widgets-mirror
    branches: [main]
    decorate: true
    clone_uri: git@github.com:acme/widgets.git
    decoration_config:
      ssh_key_secrets: [widgets-deploy-key, mirror-deploy-key]
      ssh_host_fingerprints: ["github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"]
    spec:
      containers:
      - image: alpine/git:2.45
        command: [./hack/mirror.sh]
presubmits:
  acme/widgets:
  - name: pull-widgets-e2e
    always_run: true
    decorate: true
    path_alias: acme.dev/widgets
    extra_refs:
    - {org: acme, repo: test-infra, base_ref: main, workdir: true}
    - {org: acme, repo: fixtures, base_ref: v2, path_alias: acme.dev/fixtures}
    spec:
      containers:
      - image: golang:1.23
        command: [make]
        args: [e2e]
        env: [{name: GOFLAGS, value: -mod=vendor}]
  - name: pull-widgets-private-deps
    always_run: true
    decorate: true
    decoration_config:
      oauth_token_secret: {name: github-token, key: oauth}
      cookiefile_secret: gitcookies/.gitcookies
      github_api_endpoints: [http://ghproxy.prow.svc, https://api.github.com]
    spec:
      containers:
      - image: golang:1.23
        command: [go, test, ./...]
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
- name: ci-widgets-soak
  interval: 24h
  decorate: true
  extra_refs: [{org: acme, repo: widgets, base_ref: main}]
  spec:
    containers:
    - name: soak
      image: widgets-soak:latest
      command: [./hack/soak.sh]
      args: [--duration=30m]
    - name: metrics
      image: prom/prometheus:v2.53.0
      args: [--config.file=/etc/prometheus/soak.yml]
- name: ci-widgets-report
  interval: 1h
  decorate: true
  decoration_config: {skip_cloning: true}
  extra_refs: [{org: acme, repo: widgets, base_ref: main}]
  spec:
    containers:
    - image: alpine:3.20
      command: [sh, -c, echo report]
- name: ci-widgets-deploy
  interval: 12h
  decorate: true
  decoration_config:
    censor_secrets: true
    censoring_options: {minimum_secret_length: 8, exclude_directories: [/logs/artifacts/images]}
  spec:
    volumes:
    - {name: deploy-token, secret: {secretName: deploy-token}}
    - {name: scratch, emptyDir: {}}
    containers:
    - image: deployer:v1
      command: [deploy, --all]
      volumeMounts:
      - {name: deploy-token, mountPath: /etc/deploy, readOnly: true}
      - {name: scratch, mountPath: /scratch}
- name: ci-widgets-s3-upload
  interval: 6h
  decorate: true
  decoration_config:
    gcs_configuration: {bucket: s3://acme-ci-artifacts, path_prefix: widgets}
    s3_credentials_secret: s3-credentials
  extra_refs: [{org: acme, repo: widgets, base_ref: main}]
  spec:
    containers:
    - image: golang:1.23
      command: [make, integration]
"#;

const BUILD: &str = "1823456789012345678";

fn config() -> Config {
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
    let periodic = periodic(&config, "ci-eks-conformance");
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

fn periodic<'a>(config: &'a Config, name: &str) -> &'a Periodic {
    config
        .jobs
        .periodics
        .iter()
        .find(|p| p.base.name == name)
        .unwrap_or_else(|| panic!("no periodic {name}"))
}

fn widgets_refs() -> Refs {
    Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        repo_link: "https://github.com/acme/widgets".into(),
        base_ref: "main".into(),
        base_sha: "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9".into(),
        base_link: "https://github.com/acme/widgets/commit/5e1b3f44".into(),
        ..Refs::default()
    }
}

fn pull_refs() -> Refs {
    Refs {
        pulls: vec![Pull {
            number: 42,
            author: "alice".into(),
            sha: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into(),
            title: "Retry <flaky> uploads & log them".into(),
            head_ref: "retry-uploads".into(),
            link: "https://github.com/acme/widgets/pull/42".into(),
            commit_link: "https://github.com/acme/widgets/pull/42/commits/9f8e7d6c".into(),
            author_link: "https://github.com/alice".into(),
            ..Pull::default()
        }],
        ..widgets_refs()
    }
}

fn presubmit_job(config: &Config, name: &str) -> ProwJob {
    let p = config.jobs.presubmits["acme/widgets"]
        .iter()
        .find(|p| p.base.name == name)
        .unwrap_or_else(|| panic!("no presubmit {name}"));
    new_presubmit(
        p,
        pull_refs(),
        "5f8a1c00-0000-11ef-8000-000000000001",
        &BTreeMap::new(),
        "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44".into(),
        "2026-12-04T16:00:00Z".parse().unwrap(),
    )
}

fn periodic_job(config: &Config, name: &str) -> ProwJob {
    new_periodic(
        periodic(config, name),
        &BTreeMap::new(),
        "7c4e9d2a-1b3f-5a6c-8d7e-9f0a1b2c3d4e".into(),
        "2026-12-04T18:00:00Z".parse().unwrap(),
    )
}

fn names<'a>(pod: &'a serde_json::Value, list: &str) -> Vec<&'a str> {
    pod["spec"][list]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

fn env<'a>(container: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
}

/// `pod.spec.<list>` entry named `name`.
fn container<'a>(pod: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
    pod["spec"][list]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {list} {name}"))
}

#[tokio::test]
async fn a_decorated_presubmit_with_a_path_alias_and_extra_refs_is_pinned() {
    let config = config();
    let pod = sent_pod(&presubmit_job(&config, "pull-widgets-e2e")).await;
    assert_eq!(
        names(&pod, "initContainers"),
        ["clonerefs", "initupload", "place-entrypoint"]
    );
    assert_eq!(names(&pod, "containers"), ["test", "sidecar"]);
    assert_eq!(
        names(&pod, "volumes"),
        ["logs", "tools", "clonerefs-tmp", "code"]
    );
    let test = container(&pod, "containers", "test");
    // `workdir: true` on the first extra ref wins over the main refs.
    assert_eq!(
        test["workingDir"],
        "/home/prow/go/src/github.com/acme/test-infra"
    );
    assert_eq!(test["command"], serde_json::json!(["/tools/entrypoint"]));
    assert!(test.get("args").is_none());
    assert!(pod["spec"].get("activeDeadlineSeconds").is_none());
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 37);
    let clone = env(
        container(&pod, "initContainers", "clonerefs"),
        "CLONEREFS_OPTIONS",
    )
    .unwrap_or_default();
    assert!(
        clone.contains(r#""path_alias":"acme.dev/widgets""#),
        "{clone}"
    );
    assert!(
        clone.contains(r#""title":"Retry \u003cflaky\u003e uploads \u0026 log them""#),
        "{clone}"
    );
    check("decorated-presubmit-pod.json", &pod);
}

#[tokio::test]
async fn a_decorated_periodic_with_two_test_containers_is_pinned() {
    let config = config();
    let pod = sent_pod(&periodic_job(&config, "ci-widgets-soak")).await;
    assert_eq!(names(&pod, "containers"), ["soak", "metrics", "sidecar"]);
    let sidecar =
        env(container(&pod, "containers", "sidecar"), "SIDECAR_OPTIONS").unwrap_or_default();
    for file in [
        "/logs/soak-log.txt",
        "/logs/soak-marker.txt",
        "/logs/artifacts/soak-metadata.json",
        "/logs/metrics-log.txt",
    ] {
        assert!(sidecar.contains(file), "{file} in {sidecar}");
    }
    check("decorated-periodic-two-containers-pod.json", &pod);
}

#[tokio::test]
async fn a_skip_cloning_pod_is_pinned() {
    let config = config();
    let pod = sent_pod(&periodic_job(&config, "ci-widgets-report")).await;
    assert_eq!(
        names(&pod, "initContainers"),
        ["initupload", "place-entrypoint"]
    );
    assert_eq!(names(&pod, "volumes"), ["logs", "tools"]);
    let test = container(&pod, "containers", "test");
    assert!(test.get("workingDir").is_none());
    let init = container(&pod, "initContainers", "initupload");
    assert!(init.get("volumeMounts").is_none(), "no clone log to read");
    check("decorated-skip-cloning-pod.json", &pod);
}

#[tokio::test]
async fn a_pod_cloning_with_ssh_keys_is_pinned() {
    let config = config();
    let post = config.jobs.postsubmits["acme/widgets"]
        .iter()
        .find(|p| p.base.name == "post-widgets-mirror")
        .unwrap();
    let job = new_postsubmit(
        post,
        widgets_refs(),
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "0b5f2a8e-6c1d-5e3f-9a7b-1c2d3e4f5a6b".into(),
        "2026-12-04T16:00:00Z".parse().unwrap(),
    );
    let pod = sent_pod(&job).await;
    assert_eq!(
        names(&pod, "volumes"),
        [
            "logs",
            "tools",
            "ssh-keys-widgets-deploy-key",
            "ssh-keys-mirror-deploy-key",
            "clonerefs-tmp",
            "code"
        ]
    );
    assert_eq!(pod["spec"]["volumes"][2]["secret"]["defaultMode"], 256);
    check("decorated-ssh-keys-pod.json", &pod);
}

#[tokio::test]
async fn a_pod_cloning_with_an_oauth_token_and_a_cookie_file_is_pinned() {
    let config = config();
    let pod = sent_pod(&presubmit_job(&config, "pull-widgets-private-deps")).await;
    assert_eq!(
        names(&pod, "volumes"),
        [
            "logs",
            "tools",
            "github-token",
            "clonerefs-tmp",
            "cookiefile",
            "code"
        ]
    );
    let clonerefs = container(&pod, "initContainers", "clonerefs");
    assert_eq!(
        clonerefs["args"],
        serde_json::json!(["--cookiefile=/secrets/cookiefile/.gitcookies"])
    );
    check("decorated-oauth-cookiefile-pod.json", &pod);
}

#[tokio::test]
async fn a_pod_with_censored_secrets_is_pinned() {
    let config = config();
    let pod = sent_pod(&periodic_job(&config, "ci-widgets-deploy")).await;
    let sidecar = container(&pod, "containers", "sidecar");
    let mounts: Vec<&str> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(
        mounts,
        ["logs", "deploy-token"],
        "the emptyDir is not censored"
    );
    let options = env(sidecar, "SIDECAR_OPTIONS").unwrap_or_default();
    assert!(
        options.contains(r#""censoring_options":{"secret_directories":["/etc/deploy"],"exclude_directories":["/logs/artifacts/images"],"minimum_secret_length":8}"#),
        "{options}"
    );
    check("decorated-censor-secrets-pod.json", &pod);
}

#[tokio::test]
async fn a_pod_uploading_to_s3_with_a_credentials_secret_is_pinned() {
    let config = config();
    let pod = sent_pod(&periodic_job(&config, "ci-widgets-s3-upload")).await;
    assert_eq!(
        names(&pod, "volumes"),
        ["logs", "tools", "s3-credentials", "clonerefs-tmp", "code"]
    );
    let init = env(
        container(&pod, "initContainers", "initupload"),
        "INITUPLOAD_OPTIONS",
    )
    .unwrap_or_default();
    assert_eq!(
        init,
        r#"{"bucket":"s3://acme-ci-artifacts","path_prefix":"widgets","path_strategy":"explicit","s3_credentials_file":"/secrets/s3-storage/service-account.json","dry_run":false,"log":"/logs/clone.json"}"#
    );
    check("decorated-s3-credentials-pod.json", &pod);
}
