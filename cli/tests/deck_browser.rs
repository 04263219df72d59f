//! The deck in a real browser. A `skiff dev` whose state dir holds 200 job
//! records (and their logs; the failed ones also what a decorated job
//! uploads: clone records, `prowjob.json`, JUnit files and other artifacts)
//! serves the dashboard; headless Chromium, driven by playwright-core
//! (`tests/browser/deck.mjs`), loads the list, filters it by state and
//! repository, opens a failed job and reads its log, its artifacts (and one
//! raw artifact) and its JUnit results (the failed case and its message,
//! opened by keyboard), opens the PR page and the history, the plugin
//! catalog and the command help for one repo (picked in the form; checked
//! against Prow's `/plugin-help` JSON), fetches the badge, and checks
//! keyboard access,
//! labels, the contrast of every text, the phone layout, that auto-refresh
//! reloads the page (on Playwright's clock) and can be switched off, and —
//! in a second browser with JavaScript disabled — that filtering, the job
//! page, its log and the PR page work without it; last, the job page's
//! Rerun button makes a new run and lands on its page (`--deck-auth none`).
//!
//! Needs Node.js, Debian's `chromium` and `playwright-core` (in
//! `.test-tools/`, or where `SKIFF_PLAYWRIGHT_CORE` says); `./scripts/test`
//! installs the last two when they are missing. Without them this test
//! fails and says what to install: it is never skipped.
//!
//! Screenshots: `target/tmp/deck-browser/*.png` (kept after the run).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use skiff_core::ports::{JobStore, LogStore};
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType};
use skiff_deck::fixtures;
use skiff_local::fs_logs::FsLogStore;
use skiff_local::store::SqliteStore;
use support::{http, wait_for};

const JOBS: usize = 200;

const CONFIG: &str = "skiff:\n  deck_url: http://deck.invalid\n";
const PLUGINS: &str = r#"
plugins:
  acme:
  - trigger
  - lgtm
  - hold
  - label
  - size
  - cat
lgtm:
- repos: [acme/widgets]
  review_acts_as_lgtm: true
external_plugins:
  acme/widgets:
  - name: cherrypicker
    events: [issue_comment]
"#;

const JOB_CONFIG: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
  - name: pull-widgets-lint
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
postsubmits:
  acme/widgets:
  - name: post-widgets-publish
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
periodics:
- name: ci-nightly-0
  cron: "0 0 1 1 *"
  spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The seeded records: the samples, every one complete (a pending record
/// would have the engine look for its pod), with logs and metadata.
async fn seed(state: &Path, now: Timestamp) -> Vec<ProwJob> {
    std::fs::create_dir_all(state).expect("the state dir");
    let store = SqliteStore::open(state.join("skiff.db")).expect("the SQLite store");
    let logs = FsLogStore::new(state.join("logs"));
    let mut jobs = Vec::new();
    for (i, mut j) in fixtures::jobs(JOBS, now).into_iter().enumerate() {
        if j.status.completion_time.is_none() {
            j.status.state = Some(ProwJobState::Success);
            j.status.description = "Job succeeded.".into();
            j.status.completion_time = j.status.pending_time;
        }
        store.create(&j).await.expect("store a record");
        for (path, name, bytes) in fixtures::artifacts_of(i, &j) {
            logs.put(&path, name, &bytes)
                .await
                .expect("store an artifact");
        }
        for (path, name, bytes) in fixtures::decorated_artifacts_of(i, &j) {
            logs.put(&path, &name, &bytes)
                .await
                .expect("store a decorated job's artifact");
        }
        jobs.push(j);
    }
    jobs
}

fn tool_paths() -> (PathBuf, PathBuf) {
    let playwright = std::env::var_os("SKIFF_PLAYWRIGHT_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".test-tools/node_modules/playwright-core"));
    let chromium = std::env::var_os("SKIFF_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        node_ok,
        "the browser test needs Node.js (`node` on PATH); ./scripts/test runs it"
    );
    assert!(
        chromium.exists(),
        "the browser test needs Chromium at {} (Debian: apt-get install -y chromium; \
         or set SKIFF_CHROMIUM); ./scripts/test installs it",
        chromium.display()
    );
    assert!(
        playwright.join("package.json").exists(),
        "the browser test needs playwright-core at {} (npm install --prefix .test-tools \
         playwright-core, or set SKIFF_PLAYWRIGHT_CORE); ./scripts/test installs it",
        playwright.display()
    );
    (playwright, chromium)
}

#[test]
fn the_deck_works_in_a_real_browser() {
    let (playwright, chromium) = tool_paths();
    let dir = tempfile::tempdir().expect("a temp dir");
    let state = dir.path().join("state");
    let now = Timestamp::now();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let jobs = runtime.block_on(seed(&state, now));
    std::fs::write(dir.path().join("config.yaml"), CONFIG).expect("write config");
    std::fs::write(dir.path().join("jobs.yaml"), JOB_CONFIG).expect("write jobs");
    std::fs::write(dir.path().join("plugins.yaml"), PLUGINS).expect("write plugins");

    // What the pages must show, from the stored records.
    let ids = |keep: &dyn Fn(&ProwJob) -> bool| -> Vec<String> {
        jobs.iter()
            .filter(|j| keep(j))
            .map(|j| j.metadata.name.clone())
            .collect()
    };
    let failed = |j: &ProwJob| j.status.state == Some(ProwJobState::Failure);
    let in_repo = |j: &ProwJob| {
        j.spec
            .refs
            .as_ref()
            .is_some_and(|r| r.org == "acme" && r.repo == "widgets")
    };
    let repo_failures = ids(&|j| failed(j) && in_repo(j));
    let job = jobs
        .iter()
        .find(|j| failed(j) && in_repo(j) && j.spec.r#type == Some(ProwJobType::Presubmit))
        .expect("a failed presubmit of acme/widgets");
    let i = jobs
        .iter()
        .position(|j| j.metadata.name == job.metadata.name)
        .unwrap_or_default();
    let log = fixtures::log_of(i);
    // The job's directory in the artifacts browser: everything stored for
    // it, in byte order.
    let mut artifact_names: Vec<String> = fixtures::artifacts_of(i, job)
        .into_iter()
        .map(|(_, name, _)| name.to_string())
        .chain(
            fixtures::decorated_artifacts_of(i, job)
                .into_iter()
                .map(|(_, name, _)| name),
        )
        .collect();
    artifact_names.sort();
    let artifact_dir =
        skiff_core::prowjob::artifacts::artifact_path(job).expect("the job's artifact directory");
    let line_of = |needle: &str| log.lines().position(|l| l.contains(needle)).map(|n| n + 1);
    let pull = job
        .spec
        .refs
        .as_ref()
        .map(|r| r.pulls[0].number)
        .unwrap_or_default();
    let pr_runs: Vec<&ProwJob> = jobs
        .iter()
        .filter(|j| {
            in_repo(j)
                && j.spec
                    .refs
                    .as_ref()
                    .is_some_and(|r| r.pulls.iter().any(|p| p.number == pull))
        })
        .collect();
    let mut commits: Vec<String> = Vec::new();
    for j in &pr_runs {
        let sha = j
            .spec
            .refs
            .as_ref()
            .map(|r| r.pulls[0].sha.clone())
            .unwrap_or_default();
        if !commits.contains(&sha) {
            commits.push(sha);
        }
    }
    assert!(
        commits.len() >= 2,
        "the sample PR has two commits: {commits:?}"
    );
    let mut latest = std::collections::BTreeMap::new();
    for j in &jobs {
        if j.spec.job.starts_with("pull-widgets-") {
            latest.entry(j.spec.job.clone()).or_insert(j.status.state);
        }
    }
    let failing: Vec<&str> = latest
        .iter()
        .filter(|(_, s)| **s == Some(ProwJobState::Failure))
        .map(|(n, _)| n.as_str())
        .collect();
    let badge = if failing.is_empty() {
        "passing".to_string()
    } else {
        format!("failing {}", failing.join(", "))
    };
    let expect = json!({
        "total": JOBS,
        "all_ids": ids(&|_| true),
        "failure_ids": ids(&failed),
        "repo": "acme/widgets",
        "repo_failure_ids": repo_failures,
        "job": {
            "id": job.metadata.name,
            "name": job.spec.job,
            "highlighted": [line_of("--- FAIL"), line_of("ERROR:")],
            "error_line": line_of("ERROR:"),
            "error_text": "ERROR: widgets_test.go:42",
            "rerun": format!("/test {}", job.spec.job),
            "raw_log": format!("/log?job={}&id={}", job.spec.job, job.status.build_id),
            "artifacts": artifact_names,
            "artifact_dir": artifact_dir,
            "raw_artifact": {
                "name": "artifacts/widgets.log",
                "text": format!("widget count for job {i}: {i}\n"),
            },
            "junit": {
                "totals": "1 of 7 tests failed · 2 skipped · 4 passed · 0.12s · from 2 JUnit files",
                "failed": "github.com/acme/widgets: TestWidgets",
                "message": format!("widgets_test.go:42: want 3 widgets, got {i}"),
                "detail": "widgets_test.go:43: the widget count is off",
            },
        },
        "pr": {"commits": commits, "runs": pr_runs.len()},
        "history": "/job-history/logs/ci-nightly-0",
        "help_job": "pull-widgets-lint",
        "plugins": {
            "all": ["trigger", "lgtm", "hold", "label", "size"],
            "repo": "acme/widgets",
            "in_repo": ["trigger", "lgtm", "hold", "label", "size"],
            "org": "acme",
            "configured": ["trigger", "lgtm", "hold", "label", "size", "cat"],
            "setup": "Reviews that approve or request changes act as adding or removing lgtm.",
            "external": "cherrypicker",
            "who": "Collaborators on the repository, not the PR's author",
        },
        "badge": {"jobs": "pull-widgets-*", "status": badge},
    });
    let expect_file = dir.path().join("expect.json");
    std::fs::write(&expect_file, expect.to_string()).expect("write the expectations");

    std::fs::write(dir.path().join("secret"), "browser-test-secret\n").expect("write secret");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _dev = Killed(
        Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            // Everyone may rerun and abort: the buttons are on the pages.
            .args(["--deck-auth", "none"])
            .arg("--state-dir")
            .arg(&state)
            .arg("--config-path")
            .arg(dir.path().join("config.yaml"))
            .arg("--job-config-path")
            .arg(dir.path().join("jobs.yaml"))
            .arg("--plugin-config")
            .arg(dir.path().join("plugins.yaml"))
            .arg("--hmac-secret-file")
            .arg(dir.path().join("secret"))
            .env("SKIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skiff dev starts"),
    );
    wait_for("skiff dev to listen", Duration::from_secs(30), || {
        http("GET", &format!("{url}/prowjobs.js"), &[], b"").0 == 200
    });

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deck-browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("the screenshot dir");
    let out = Command::new("node")
        .arg(workspace().join("tests/browser/deck.mjs"))
        .arg(&url)
        .arg(&shots)
        .arg(&expect_file)
        .env("SKIFF_PLAYWRIGHT_CORE", &playwright)
        .env("SKIFF_CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    for name in [
        "list",
        "list-failure",
        "list-failure-repo",
        "job",
        "job-junit",
        "pr",
        "history",
        "command-help",
        "plugins",
        "command-help-repo",
        "badge",
        "list-phone",
        "job-phone",
        "nojs-list",
        "nojs-job",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}.png was taken"
        );
    }
}
