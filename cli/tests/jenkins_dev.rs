//! Jobs of agent `jenkins` in `skiff dev`, end to end: the real binary reads
//! `jenkins_operators` and `skiff.jenkins` (basic auth, the API token from a
//! `token_file`), queues each periodic's build on Jenkins with Prow's
//! parameters, follows it to its end, and serves its console log where
//! every job's log is (`/log?job=&id=`). Jenkins is the HTTP-level fake in
//! `skiff_tests::jenkins` (no Jenkins can run on this machine: it needs a
//! JVM and its plugins), with CSRF protection on; the test plays Jenkins'
//! executors, starting and finishing the queued builds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use skiff_tests::github::{http, wait_for};
use skiff_tests::jenkins::{FakeJenkins, JenkinsShared, fake_jenkins, lock};

const WAIT: Duration = Duration::from_secs(90);
const TOKEN: &str = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7";

const JOBS: &str = r#"
periodics:
- name: jenkins-nightly
  agent: jenkins
  interval: 24h
- name: team/jenkins-e2e
  agent: jenkins
  interval: 24h
"#;

struct Dev {
    child: Child,
    url: String,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Dev {
    fn start(dir: &Path, jenkins_url: &str) -> Dev {
        let token_file = dir.join("jenkins-token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
        let config = format!(
            "plank: {{}}\njenkins_operators:\n- max_concurrency: 5\nskiff:\n  deck_url: http://deck.example\n  jenkins:\n  - url: {jenkins_url}\n    user: prow\n    token_file: {}\n",
            token_file.display()
        );
        std::fs::write(dir.join("config.yaml"), config).expect("config");
        std::fs::write(dir.join("jobs.yaml"), JOBS).expect("jobs");
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--config-path")
            .arg(dir.join("config.yaml"))
            .arg("--job-config-path")
            .arg(dir.join("jobs.yaml"))
            .args(["--sync-seconds", "1", "--tick-seconds", "1"])
            .env("SKIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skiff dev starts");
        let dev = Dev {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for("skiff dev to listen", Duration::from_secs(30), || {
            http("GET", &format!("{}/prowjobs.js", dev.url), &[], b"").0 == 200
        });
        dev
    }

    fn run_of(&self, job: &str) -> Option<Value> {
        let (status, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
        v["items"]
            .as_array()
            .and_then(|items| items.iter().find(|j| j["spec"]["job"] == job).cloned())
    }

    fn wait_state(&self, job: &str, state: &str) -> Value {
        let mut run = None;
        wait_for(&format!("{job} to be {state}"), WAIT, || {
            run = self.run_of(job);
            run.as_ref().is_some_and(|r| r["status"]["state"] == state)
        });
        run.unwrap_or_default()
    }
}

/// The parameters of the build Jenkins accepted for Jenkins job `path`.
fn queued(jenkins: &JenkinsShared, path: &str) -> Option<BTreeMap<String, String>> {
    let j = lock(jenkins);
    j.accepted_builds()
        .into_iter()
        .find(|s| s.path == format!("/{path}/buildWithParameters"))
        .map(|s| s.params.clone())
}

#[test]
fn skiff_dev_runs_jenkins_jobs_to_their_end_and_serves_their_logs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut setup = FakeJenkins::with_jobs(
        &["job/jenkins-nightly", "job/team/job/jenkins-e2e"],
        "prow",
        TOKEN,
    );
    setup.csrf = true;
    let (jenkins, url) = fake_jenkins(setup);
    let dev = Dev::start(dir.path(), &url);

    let mut nightly = None;
    let mut e2e = None;
    wait_for("both builds queued on Jenkins", WAIT, || {
        nightly = queued(&jenkins, "job/jenkins-nightly");
        e2e = queued(&jenkins, "job/team/job/jenkins-e2e");
        nightly.is_some() && e2e.is_some()
    });
    let (nightly, e2e) = (nightly.unwrap_or_default(), e2e.unwrap_or_default());
    assert_eq!(nightly["JOB_NAME"], "jenkins-nightly");
    assert_eq!(nightly["JOB_TYPE"], "periodic");
    let spec: Value = serde_json::from_str(&nightly["JOB_SPEC"]).expect("JOB_SPEC");
    assert_eq!(spec["type"], "periodic");
    assert_eq!(spec["prowjobid"], nightly["PROW_JOB_ID"].as_str());
    assert_eq!(spec["buildid"], nightly["BUILD_ID"].as_str());

    let pending = dev.wait_state("jenkins-nightly", "pending");
    assert_eq!(pending["status"]["description"], "Jenkins job enqueued.");

    // Jenkins' executors take the builds; one passes, one fails.
    {
        let mut j = lock(&jenkins);
        j.start(&nightly["PROW_JOB_ID"]);
        j.start(&e2e["PROW_JOB_ID"]);
        j.finish(&nightly["PROW_JOB_ID"], "SUCCESS", "hello from jenkins\n");
        j.finish(&e2e["PROW_JOB_ID"], "UNSTABLE", "2 tests failed\n");
    }
    let done = dev.wait_state("jenkins-nightly", "success");
    assert_eq!(done["status"]["description"], "Jenkins job succeeded.");
    assert_eq!(done["status"]["jenkins_build_id"], "1");
    let failed = dev.wait_state("team/jenkins-e2e", "failure");
    assert_eq!(failed["status"]["description"], "Jenkins job failed.");

    let build = done["status"]["build_id"].as_str().unwrap_or_default();
    assert_eq!(build, nightly["BUILD_ID"]);
    let (status, log) = http(
        "GET",
        &format!("{}/log?job=jenkins-nightly&id={build}", dev.url),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{log}");
    assert!(
        log.contains("hello from jenkins") && log.contains("Finished: SUCCESS"),
        "{log}"
    );

    // One build each: nothing was queued twice.
    let j = lock(&jenkins);
    assert_eq!(j.accepted_builds().len(), 2, "{:?}", j.lines());
    assert_eq!(j.runs_of(&nightly["PROW_JOB_ID"]), 1);
}
