//! The gangway API and `skiff run` end to end: the real `skiff` binary
//! starts a job in a real `skiff dev` (local processes, SQLite) through
//! `/v1/executions`, and the job runs to success with the environment the
//! request gave it. Also: without `--gangway-auth none` every gangway
//! request is refused naming the flag, the flag is refused on a
//! non-loopback listener, and `skiff run --print` writes a ProwJob as YAML
//! that reads back as one.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_core::prowjob::{ProwJob, ProwJobType};
use support::{GitHub, fake_github, http, start_dev, wait_for};

const WAIT: Duration = Duration::from_secs(60);
const BASE_SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const PULL_SHA: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f98765432";

/// A periodic no schedule reaches during a test (once a year), so every run
/// of it here is one the test started; a presubmit for `--print`.
const JOBS: &str = r#"
periodics:
- name: greet
  cron: "0 3 1 1 *"
  labels: {team: greeters}
  spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo hello $GREETING"]}]}
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: golang, command: [go, test, ./...]}]}
"#;

fn write_config(dir: &Path) {
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").expect("config.yaml");
    std::fs::write(dir.join("jobs.yaml"), JOBS).expect("jobs.yaml");
    std::fs::write(dir.join("secret"), "gangway-secret\n").expect("secret");
    std::fs::write(dir.join("token"), "ghp_gangway\n").expect("token");
}

fn skiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(args)
        .env("SKIFF_LOG", "warn")
        .output()
        .expect("skiff runs")
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn skiff_run_starts_a_periodic_in_skiff_dev_that_runs_to_success() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_config(dir.path());
    let (_github, github_url) = fake_github(GitHub::default());
    let dev = start_dev(dir.path(), &github_url, &["--gangway-auth", "none"]);

    let out = skiff(&[
        "run",
        "greet",
        "--gangway-url",
        &dev.url,
        "--env",
        "GREETING=from-gangway",
        "--label",
        "requested-by=e2e",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "skiff run: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {stdout}"))
            .to_string()
    };
    let id = line("id: ");
    assert_eq!(line("job: "), "greet (PERIODIC), TRIGGERED");
    assert_eq!(line("deck: "), format!("{}/jobs/{id}", dev.url));

    // The execution reaches SUCCESS, as GET /v1/executions/{id} reports it.
    let execution = format!("{}/v1/executions/{id}", dev.url);
    let mut last = Value::Null;
    wait_for("the execution to succeed", WAIT, || {
        let (status, body) = http("GET", &execution, &[], b"");
        last = if status == 200 {
            json_of(&body)
        } else {
            json!({"status": status, "body": body})
        };
        last["job_status"] == "SUCCESS"
    });
    assert_eq!(last["job_name"], "greet");
    assert_eq!(last["job_type"], "PERIODIC");
    assert!(last["completion_time"].is_string(), "{last}");
    let gcs = last["gcs_path"].as_str().unwrap_or_default();
    assert!(
        gcs.starts_with("file://") && gcs.contains("/logs/greet/"),
        "{last}"
    );

    // The request's environment reached the pod, its label the record.
    let (status, record) = http("GET", &format!("{}/api/jobs/{id}", dev.url), &[], b"");
    assert_eq!(status, 200, "{record}");
    let record = json_of(&record);
    assert_eq!(record["metadata"]["labels"]["requested-by"], "e2e");
    assert_eq!(record["metadata"]["labels"]["team"], "greeters");
    let build = record["status"]["build_id"].as_str().unwrap_or_default();
    let (status, log) = http(
        "GET",
        &format!("{}/log?job=greet&id={build}", dev.url),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{log}");
    assert!(log.contains("hello from-gangway"), "{log}");

    // Listed by job name and status.
    let (status, list) = http(
        "GET",
        &format!("{}/v1/executions?job_name=greet&status=SUCCESS", dev.url),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{list}");
    let ids: Vec<String> = json_of(&list)["job_execution"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, [id]);

    // A job the config lacks: non-zero, with the gangway's words.
    let out = skiff(&["run", "nope", "--gangway-url", &dev.url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("answered 404: failed to find associated periodic job \"nope\""),
        "{stderr}"
    );
    // A presubmit without a pull: 400, with Prow's words.
    let out = skiff(&[
        "run",
        "unit",
        "--type",
        "presubmit",
        "--gangway-url",
        &dev.url,
        "--org",
        "acme",
        "--repo",
        "widgets",
        "--base-ref",
        "main",
        "--base-sha",
        BASE_SHA,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("answered 400: at least 1 Pulls is required"),
        "{stderr}"
    );
}

#[test]
fn without_gangway_auth_none_skiff_dev_refuses_gangway_requests() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_config(dir.path());
    let (_github, github_url) = fake_github(GitHub::default());
    let dev = start_dev(dir.path(), &github_url, &[]);
    let body = json!({"job_name": "greet", "job_execution_type": "PERIODIC"}).to_string();
    let (status, answer) = http(
        "POST",
        &format!("{}/v1/executions", dev.url),
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
    );
    assert_eq!(status, 403, "{answer}");
    let answer = json_of(&answer);
    assert_eq!(answer["code"], 7);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("--gangway-auth none")),
        "{answer}"
    );
    let (status, _) = http("GET", &format!("{}/v1/executions", dev.url), &[], b"");
    assert_eq!(status, 403);
    let out = skiff(&["run", "greet", "--gangway-url", &dev.url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 403"));
}

#[test]
fn gangway_auth_none_is_refused_on_a_listener_other_machines_reach() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_config(dir.path());
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["dev", "--listen", "0.0.0.0:0", "--gangway-auth", "none"])
        .arg("--state-dir")
        .arg(d.join("state"))
        .arg("--config-path")
        .arg(d.join("config.yaml"))
        .arg("--job-config-path")
        .arg(d.join("jobs.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("skiff dev starts");
    let mut exited = None;
    wait_for(
        "skiff dev to refuse to start",
        Duration::from_secs(30),
        || {
            exited = child.try_wait().ok().flatten();
            exited.is_some()
        },
    );
    let status = exited.expect("an exit status");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("--gangway-auth none") && stderr.contains("needs a loopback --listen"),
        "{stderr}"
    );
}

#[test]
fn skiff_run_print_writes_the_prowjob_as_yaml() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write_config(dir.path());
    let config = dir.path().join("config.yaml");
    let jobs = dir.path().join("jobs.yaml");
    let out = skiff(&[
        "run",
        "unit",
        "--type",
        "presubmit",
        "--org",
        "acme",
        "--repo",
        "widgets",
        "--base-ref",
        "main",
        "--base-sha",
        BASE_SHA,
        "--pull",
        "7",
        "--pull-sha",
        PULL_SHA,
        "--pull-author",
        "alice",
        "--env",
        "GOFLAGS=-mod=vendor",
        "--annotation",
        "ticket=REL-42",
        "--print",
        "--config-path",
        &config.to_string_lossy(),
        "--job-config-path",
        &jobs.to_string_lossy(),
    ]);
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{yaml}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = skiff_core::yaml::parse(&yaml).unwrap_or_else(|e| panic!("{e:?}:\n{yaml}"));
    let root = skiff_core::yaml::Path::Root("");
    let (job, unknown): (ProwJob, _) = skiff_core::yaml::from_node(&doc.root, &root)
        .unwrap_or_else(|e| panic!("not a ProwJob ({e:?}):\n{yaml}"));
    assert!(unknown.is_empty(), "{unknown:?}\n{yaml}");
    assert_eq!(job.kind, "ProwJob");
    assert_eq!(job.spec.job, "unit");
    assert_eq!(job.spec.r#type, Some(ProwJobType::Presubmit));
    let refs = job.spec.refs.as_ref().expect("refs");
    assert_eq!(
        (refs.org.as_str(), refs.base_sha.as_str()),
        ("acme", BASE_SHA)
    );
    assert_eq!(refs.pulls[0].number, 7);
    assert_eq!(refs.pulls[0].sha, PULL_SHA);
    assert_eq!(job.metadata.annotations["ticket"], "REL-42");
    assert_eq!(job.metadata.labels["prow.k8s.io/refs.pull"], "7");
    let env = job.spec.pod_spec.as_ref().expect("a pod spec").containers[0]
        .env
        .clone()
        .unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e.name == "GOFLAGS" && e.value.as_deref() == Some("-mod=vendor")),
        "{yaml}"
    );
    // The same refusals as the gangway's, without one.
    let out = skiff(&[
        "run",
        "nope",
        "--print",
        "--config-path",
        &config.to_string_lossy(),
        "--job-config-path",
        &jobs.to_string_lossy(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("failed to find associated periodic job \"nope\"")
    );
}
