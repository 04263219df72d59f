//! Decoration end to end in `skiff dev`: the real binary, a signed
//! `pull_request` webhook, a fake GitHub API (HTTP level, `support/`), real
//! `git` on a bare repository the test makes (its `main` and
//! `refs/pull/7/head`), and Prow's pod utilities done natively by the local
//! cluster. One `skiff dev`, one pull request, four decorated presubmits:
//!
//! - `unit` clones the base, merges the pull request as ci-robot, runs the
//!   test in the checkout and uploads `$ARTIFACTS`, whose failed JUnit case
//!   the job page shows;
//! - `timeout` sleeps past `timeout: 2s` and fails within seconds;
//! - `trap` ignores the interrupt and is killed after `grace_period: 1s`;
//! - `missing` clones a repository that is not there: the job fails with
//!   the clone log as its build log, and its command never runs.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{GitHub, fake_github, http, sign, wait_for};

const SECRET: &[u8] = b"decoration-secret";
const WAIT: Duration = Duration::from_secs(90);

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The test the `unit` job runs in its checkout: it sees the base's and the
/// pull request's files, records the commit it runs on, and reports one
/// passing and one failing case.
const TEST_SH: &str = r#"set -e
test -f base.txt
test -f pr.txt
git log -1 --format='%an <%ae> %P' > "$ARTIFACTS/head.txt"
cat > "$ARTIFACTS/junit_unit.xml" <<'XML'
<testsuite name="widgets" tests="2" failures="1">
  <testcase classname="widgets" name="TestAdd" time="0.01"/>
  <testcase classname="widgets" name="TestDivide" time="0.02">
    <failure message="divide by zero">widgets_test.go:12: want 2, got panic</failure>
  </testcase>
</testsuite>
XML
echo "ran in $PWD"
exit 1
"#;

/// A bare repository with `main` and pull request 7; the SHAs of both.
fn repository(dir: &Path) -> (PathBuf, String, String) {
    let bare = dir.join("repos/widgets.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare"]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet"]);
    git(&work, &["checkout", "--quiet", "-b", "main"]);
    std::fs::write(work.join("base.txt"), "on main\n").unwrap();
    std::fs::write(work.join("test.sh"), TEST_SH).unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "base"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    let url = bare.to_string_lossy().into_owned();
    git(&work, &["push", "--quiet", &url, "main:refs/heads/main"]);
    git(&work, &["checkout", "--quiet", "-b", "change"]);
    std::fs::write(work.join("pr.txt"), "from the pull request\n").unwrap();
    git(&work, &["add", "pr.txt"]);
    git(&work, &["commit", "--quiet", "-m", "the change"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["push", "--quiet", &url, "HEAD:refs/pull/7/head"]);
    (bare, base, head)
}

fn config(repo: &Path, missing: &Path) -> (String, String) {
    let config = r#"
plank:
  default_decoration_config_entries:
  - config:
      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}
      gcs_configuration: {bucket: s3://skiff-logs, path_strategy: explicit}
"#;
    let jobs = format!(
        r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    decorate: true
    clone_uri: {repo}
    spec: {{containers: [{{image: alpine/git, command: [/bin/sh, test.sh]}}]}}
  - name: timeout
    always_run: true
    decorate: true
    decoration_config: {{skip_cloning: true, timeout: 2s, grace_period: 1s}}
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "sleep 30"]}}]}}
  - name: trap
    always_run: true
    decorate: true
    decoration_config: {{skip_cloning: true, timeout: 1s, grace_period: 1s}}
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "trap '' INT; sleep 30"]}}]}}
  - name: missing
    always_run: true
    decorate: true
    clone_uri: {missing}
    spec: {{containers: [{{image: alpine, command: [/bin/sh, -c, "echo the command ran"]}}]}}
"#,
        repo = repo.display(),
        missing = missing.display()
    );
    (config.to_string(), jobs)
}

struct Dev {
    child: Child,
    url: String,
    logs: PathBuf,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, github: &str, config: &str, jobs: &str) -> Dev {
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    std::fs::write(dir.join("jobs.yaml"), jobs).unwrap();
    std::fs::write(dir.join("secret"), SECRET).unwrap();
    std::fs::write(dir.join("token"), "token\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let state = dir.join("state");
    let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--state-dir")
        .arg(&state)
        .arg("--config-path")
        .arg(dir.join("config.yaml"))
        .arg("--job-config-path")
        .arg(dir.join("jobs.yaml"))
        .arg("--hmac-secret-file")
        .arg(dir.join("secret"))
        .arg("--github-token-file")
        .arg(dir.join("token"))
        .args(["--github-api-url", github, "--sync-seconds", "1"])
        .env("SKIFF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("skiff dev starts");
    let url = format!("http://127.0.0.1:{port}");
    let probe = url.clone();
    wait_for("skiff dev to listen", Duration::from_secs(30), || {
        http("GET", &format!("{probe}/prowjobs.js"), &[], b"").0 == 200
    });
    Dev {
        child,
        url,
        logs: state.join("logs"),
    }
}

impl Dev {
    fn jobs(&self) -> Vec<Value> {
        let (_, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
        let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The job's artifact file `name`, as the pod utilities uploaded it.
    fn artifact(&self, job: &Value, name: &str) -> Option<String> {
        let dir = format!(
            "pr-logs/pull/acme_widgets/7/{}/{}",
            job["spec"]["job"].as_str().unwrap_or_default(),
            job["status"]["build_id"].as_str().unwrap_or_default()
        );
        std::fs::read_to_string(self.logs.join(dir).join(name)).ok()
    }
}

fn seconds(doc: &str) -> i64 {
    let v: Value = serde_json::from_str(doc).unwrap();
    v["timestamp"].as_i64().unwrap()
}

#[test]
fn decorated_jobs_clone_merge_run_and_upload_as_prow_does() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, base, head) = repository(dir.path());
    let missing = dir.path().join("repos/missing.git");
    let pull = json!({
        "number": 7, "title": "A change", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true,
        "html_url": "https://github.com/acme/widgets/pull/7",
        "user": {"login": "alice", "html_url": "https://github.com/alice"},
        "labels": [],
        "head": {"sha": head, "ref": "change", "repo": {"name": "widgets", "owner": {"login": "alice"}}},
        "base": {"sha": base, "ref": "main",
                 "repo": {"name": "widgets", "owner": {"login": "acme"}, "html_url": "https://github.com/acme/widgets"}}
    });
    let mut gh = GitHub {
        members: vec!["alice".into()],
        files: vec!["pr.txt".into()],
        ..GitHub::default()
    };
    gh.pulls.insert("acme/widgets#7".into(), pull.clone());
    gh.branch_heads
        .insert("acme/widgets:main".into(), base.clone());
    let (_gh, github) = fake_github(gh);
    let (config, jobs) = config(&repo, &missing);
    let dev = start(dir.path(), &github, &config, &jobs);

    let event = json!({"action": "opened", "number": 7, "pull_request": pull,
        "repository": {"name": "widgets", "full_name": "acme/widgets",
                       "owner": {"login": "acme"}, "html_url": "https://github.com/acme/widgets"},
        "sender": {"login": "alice"}});
    let body = serde_json::to_vec(&event).unwrap();
    let (status, answer) = http(
        "POST",
        &format!("{}/hook", dev.url),
        &[
            ("X-GitHub-Event", "pull_request".to_string()),
            ("X-GitHub-Delivery", "d-decorated".to_string()),
            ("X-Hub-Signature-256", sign(SECRET, &body)),
        ],
        &body,
    );
    assert_eq!(status, 200, "{answer}");

    let mut done = Vec::new();
    wait_for("the four decorated jobs to end", WAIT, || {
        done = dev
            .jobs()
            .into_iter()
            .filter(|j| j["status"]["completionTime"].is_string())
            .collect();
        done.len() == 4
    });
    let job = |name: &str| {
        done.iter()
            .find(|j| j["spec"]["job"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {done:?}"))
    };

    // unit: the pull request merged onto its base by ci-robot, the test run
    // in the checkout, $ARTIFACTS uploaded.
    let unit = job("unit");
    assert_eq!(unit["status"]["state"], "failure", "{unit}");
    let merge = dev
        .artifact(&unit, "artifacts/head.txt")
        .unwrap_or_else(|| {
            panic!(
                "no head.txt; build log: {:?}",
                dev.artifact(&unit, "build-log.txt")
            )
        });
    assert!(
        merge.starts_with("ci-robot <ci-robot@k8s.io> "),
        "the merge is ci-robot's: {merge}"
    );
    let parents: Vec<&str> = merge.split_whitespace().skip(2).collect();
    assert_eq!(
        parents,
        [base.as_str(), head.as_str()],
        "a merge of the pull onto the base"
    );
    assert!(
        dev.artifact(&unit, "build-log.txt")
            .is_some_and(|l| l.contains("ran in ") && l.contains("github.com/acme/widgets")),
        "the test ran in its checkout"
    );
    let finished = dev.artifact(&unit, "finished.json").expect("finished.json");
    assert!(finished.contains(r#""result":"FAILURE""#), "{finished}");
    assert!(dev.artifact(&unit, "clone-records.json").is_some());
    let id = unit["metadata"]["name"].as_str().unwrap();
    let (status, page) = http("GET", &format!("{}/jobs/{id}", dev.url), &[], b"");
    assert_eq!(status, 200);
    for shown in ["junit_unit.xml", "TestDivide", "divide by zero", "head.txt"] {
        assert!(page.contains(shown), "the job page shows {shown}");
    }

    // timeout: interrupted at 2 s, a failure within seconds.
    let timeout = job("timeout");
    assert_eq!(timeout["status"]["state"], "failure", "{timeout}");
    let took = seconds(&dev.artifact(&timeout, "finished.json").unwrap())
        - seconds(&dev.artifact(&timeout, "started.json").unwrap());
    assert!(took <= 10, "a 2 s timeout took {took} s");

    // trap: ignores SIGINT, killed after the 1 s grace period.
    let trap = job("trap");
    assert_eq!(trap["status"]["state"], "failure", "{trap}");
    let took = seconds(&dev.artifact(&trap, "finished.json").unwrap())
        - seconds(&dev.artifact(&trap, "started.json").unwrap());
    assert!(took <= 10, "1 s timeout + 1 s grace took {took} s");

    // missing: the clone failed, its log is the build log, nothing ran.
    let missing = job("missing");
    assert_eq!(missing["status"]["state"], "failure", "{missing}");
    let log = dev
        .artifact(&missing, "build-log.txt")
        .expect("build-log.txt");
    assert!(log.contains("# Cloning acme/widgets at main"), "{log}");
    assert!(log.contains("# FAILED"), "{log}");
    assert!(!log.contains("the command ran"), "{log}");
    assert_eq!(
        dev.artifact(&missing, "clone-log.txt").as_deref(),
        Some(log.as_str())
    );
}
