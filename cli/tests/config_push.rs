//! `skiff config push` as a user runs it: the real binary, configured only by
//! the standard AWS environment variables, against moto_server
//! (./scripts/test starts it and exports SKIFF_MOTO_ENDPOINT).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_smithy_http_client::tls;
use skiff_aws::config_source::S3ConfigSource;

fn moto_endpoint() -> String {
    match std::env::var("SKIFF_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SKIFF_MOTO_ENDPOINT is not set: `skiff config push` is tested against moto_server. \
             Run ./scripts/test (it starts moto), or start `moto_server -H 127.0.0.1 -p PORT` \
             and export SKIFF_MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The binary with moto as its AWS and nothing inherited that could point
/// it elsewhere.
fn skiff_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("skiff runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const REALISTIC: [&str; 6] = [
    "--config-path",
    "realistic/config.yaml",
    "--job-config-path",
    "realistic/jobs",
    "--plugin-config",
    "realistic/plugins.yaml",
];

fn push_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["config", "push"];
    args.extend(REALISTIC);
    args.extend(extra);
    args
}

async fn client() -> aws_sdk_s3::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http)
        .endpoint_url(moto_endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn bucket(client: &aws_sdk_s3::Client, name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let bucket = format!(
        "skiff-push-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateBucket {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    bucket
}

async fn object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(out.body.collect().await.unwrap().into_bytes().to_vec())
}

#[tokio::test]
async fn the_pushed_realistic_config_loads_back_as_check_config_prints_it() {
    let client = client().await;
    let b = bucket(&client, "realistic").await;

    let out = skiff_in(&fixtures(), &push_args(&["--bucket", &b]));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("pushed s3://{b}/config/bundle.json (ETag \"")),
        "{stdout}"
    );
    assert!(
        stdout.contains("78 presubmits, 27 postsubmits, 15 periodics"),
        "{stdout}"
    );

    let mut check = vec!["check-config", "--print"];
    check.extend(REALISTIC);
    let printed = skiff_in(&fixtures(), &check);
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    let want: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();

    let source = S3ConfigSource::new(client.clone(), b.clone(), "config/bundle.json".into());
    let loaded = source.current(jiff::Timestamp::now()).await.unwrap();
    assert_eq!(serde_json::to_value(&*loaded).unwrap(), want);

    // plugins.yaml travels too, and is what the trust check reads.
    let acme = loaded.plugins.trigger_for("acme", "widgets");
    assert_eq!(acme.trusted_apps, ["dependabot", "renovate"]);
    assert!(loaded.plugins.enabled("acme", "widgets", "trigger"));
    assert!(!loaded.plugins.enabled("acme", "archive", "trigger"));

    let raw = object(&client, &b, "config/bundle.json").await.unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(bundle["format"], skiff_aws::config_source::FORMAT);
    // The stored layout is the bundle's own (format 3); what it reads back
    // to is what check-config prints.
    let (read, _) = skiff_aws::config_source::Bundle::load(&raw).unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), want);
    let files: Vec<&str> = bundle["source"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.first(), Some(&"realistic/config.yaml"));
    assert_eq!(files.last(), Some(&"realistic/plugins.yaml"));
    assert!(
        files.iter().any(|f| f.starts_with("realistic/jobs/")),
        "{files:?}"
    );
    let pushed_at: jiff::Timestamp = bundle["source"]["pushed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let age = jiff::Timestamp::now().duration_since(pushed_at);
    assert!(age.as_secs() < 300, "pushed_at {pushed_at}");
}

#[tokio::test]
async fn an_invalid_config_is_refused_with_located_errors_and_nothing_uploaded() {
    let client = client().await;
    let b = bucket(&client, "invalid").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "periodics:\n- name: nightly\n  cron: '0 25 * * *'\n  spec:\n    containers:\n    - image: alpine\n",
    )
    .unwrap();

    let out = skiff_in(
        dir.path(),
        &[
            "config",
            "push",
            "--config-path",
            "config.yaml",
            "--bucket",
            &b,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("config.yaml:3:9: error: periodics[0].cron: invalid cron"),
        "{stderr}"
    );
    assert!(stderr.contains("not pushed"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(object(&client, &b, "config/bundle.json").await, None);
}

#[tokio::test]
async fn a_key_can_be_chosen() {
    let client = client().await;
    let b = bucket(&client, "key").await;
    let out = skiff_in(
        &fixtures(),
        &push_args(&["--bucket", &b, "--key", "prod/skiff.json"]),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(object(&client, &b, "prod/skiff.json").await.is_some());
    assert_eq!(object(&client, &b, "config/bundle.json").await, None);
}

#[tokio::test]
async fn dry_run_prints_the_bundle_and_uploads_nothing() {
    let client = client().await;
    let b = bucket(&client, "dry").await;
    let out = skiff_in(&fixtures(), &push_args(&["--bucket", &b, "--dry-run"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["format"], skiff_aws::config_source::FORMAT);
    assert!(bundle["jobs"]["presubmits"]["acme/widgets"].is_array());
    assert!(bundle["plugins"]["triggers"].is_array());
    assert_eq!(object(&client, &b, "config/bundle.json").await, None);

    // No bucket needed to look.
    let out = skiff_in(&fixtures(), &push_args(&["--dry-run"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["jobs"], bundle["jobs"]);
    assert_eq!(again["prow"], bundle["prow"]);
    assert_eq!(again["decorations"], bundle["decorations"]);
}

#[test]
fn a_bucket_is_required_unless_dry_run() {
    let out = skiff_in(&fixtures(), &push_args(&[]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--bucket"),
        "{}",
        text(&out.stderr)
    );
}
