//! End to end: the real `skiff dev` binary, signed webhooks over HTTP, a fake
//! GitHub API (HTTP-level, see support/) that records what Skiff reports, and
//! real local processes as pods.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{GitHub, Shared, fake_github, http, lock, sign, wait_for};

const SECRET: &[u8] = b"e2e-secret";
const WAIT: Duration = Duration::from_secs(60);

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo unit ok"]}]}
  - name: lint
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo lint broke; exit 1"]}]}
  - name: docs
    run_if_changed: '^docs/'
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
  - name: e2e
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
  - name: hang
    decorate: true
    decoration_config:
      pod_running_timeout: 2s
      skip_cloning: true
      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}
      gcs_configuration: {bucket: s3://skiff-logs, path_strategy: explicit}
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 60"]}]}
  acme/slow:
  - name: slow
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 30"]}]}
  acme/steady:
  - name: one
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 2"]}]}
  - name: two
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 2"]}]}
  - name: three
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 2"]}]}
postsubmits:
  acme/widgets:
  - name: serial
    branches: ['^release$']
    max_concurrency: 1
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "sleep 1"]}]}
  - name: publish
    branches: ['^main$']
    spec: {containers: [{image: alpine, command: [/bin/sh, -c, "echo publish $PULL_BASE_SHA"]}]}
periodics:
- name: echo-test
  interval: 10m
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

struct Dev {
    child: Option<Child>,
    url: String,
    state: PathBuf,
    config: PathBuf,
    github: String,
    extra: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Dev {
    fn start(dir: &Path, github: &str) -> Dev {
        Dev::start_with(dir, github, &[])
    }

    fn start_with(dir: &Path, github: &str, extra: &[&str]) -> Dev {
        let config = dir.join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.yaml"), "plank: {}\n").unwrap();
        std::fs::write(config.join("jobs.yaml"), JOBS).unwrap();
        std::fs::write(dir.join("secret"), SECRET).unwrap();
        std::fs::write(dir.join("token"), "e2e-token\n").unwrap();
        let mut dev = Dev {
            child: None,
            url: String::new(),
            state: dir.join("state"),
            config,
            github: github.to_string(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        dev.spawn();
        dev
    }

    fn spawn(&mut self) {
        let port = free_port();
        let dir = self.state.parent().unwrap().to_path_buf();
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--config-path")
            .arg(self.config.join("config.yaml"))
            .arg("--job-config-path")
            .arg(self.config.join("jobs.yaml"))
            .arg("--hmac-secret-file")
            .arg(dir.join("secret"))
            .arg("--github-token-file")
            .arg(dir.join("token"))
            .args([
                "--github-api-url",
                &self.github,
                "--sync-seconds",
                "1",
                "--tick-seconds",
                "1",
            ])
            .args(&self.extra)
            .env("SKIFF_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("skiff dev starts");
        self.child = Some(child);
        self.url = format!("http://127.0.0.1:{port}");
        let url = self.url.clone();
        wait_for("skiff dev to listen", Duration::from_secs(30), || {
            http("GET", &format!("{url}/prowjobs.js"), &[], b"").0 == 200
        });
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    fn hook(&self, event: &str, delivery: &str, body: &Value) -> (u16, String) {
        let bytes = serde_json::to_vec(body).unwrap();
        http(
            "POST",
            &format!("{}/hook", self.url),
            &[
                ("X-GitHub-Event", event.to_string()),
                ("X-GitHub-Delivery", delivery.to_string()),
                ("X-Hub-Signature-256", sign(SECRET, &bytes)),
                ("Content-Type", "application/json".to_string()),
            ],
            &bytes,
        )
    }

    fn jobs(&self) -> Vec<Value> {
        let (status, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
        v["items"].as_array().cloned().unwrap_or_default()
    }

    fn runs(&self, job: &str) -> Vec<Value> {
        self.jobs()
            .into_iter()
            .filter(|j| j["spec"]["job"] == job)
            .collect()
    }

    fn wait_state(&self, job: &str, count: usize, states: &[&str]) -> Vec<Value> {
        let mut found = Vec::new();
        wait_for(
            &format!("{count} run(s) of {job} in {states:?}"),
            WAIT,
            || {
                found = self
                    .runs(job)
                    .into_iter()
                    .filter(|j| states.iter().any(|s| j["status"]["state"] == *s))
                    .collect();
                found.len() >= count
            },
        );
        found
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn pr(repo: &str, number: i64, author: &str, sha: &str) -> Value {
    json!({
        "number": number, "title": "A change", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true,
        "html_url": format!("https://github.com/acme/{repo}/pull/{number}"),
        "user": {"login": author, "html_url": format!("https://github.com/{author}")},
        "labels": [],
        "head": {"sha": sha, "ref": "change", "repo": {"name": repo, "owner": {"login": author}}},
        "base": {"sha": "base000", "ref": "main",
                 "repo": {"name": repo, "owner": {"login": "acme"}, "html_url": format!("https://github.com/acme/{repo}")}}
    })
}

fn repository(repo: &str) -> Value {
    json!({"name": repo, "full_name": format!("acme/{repo}"), "owner": {"login": "acme", "name": "acme"},
           "html_url": format!("https://github.com/acme/{repo}")})
}

fn pr_event(action: &str, pull: &Value) -> Value {
    let repo = pull["base"]["repo"]["name"].as_str().unwrap();
    json!({"action": action, "number": pull["number"], "pull_request": pull,
           "repository": repository(repo), "sender": pull["user"]})
}

fn comment_event(repo: &str, number: i64, author: &str, body: &str) -> Value {
    json!({"action": "created",
           "issue": {"number": number, "state": "open", "user": {"login": author}, "pull_request": {"url": "x"}},
           "comment": {"id": 1, "body": body, "user": {"login": author},
                       "html_url": format!("https://github.com/acme/{repo}/pull/{number}#c")},
           "repository": repository(repo), "sender": {"login": author}})
}

fn github_with(members: &[&str], pulls: &[&Value]) -> (Shared, String) {
    let mut gh = GitHub {
        members: members.iter().map(|m| m.to_string()).collect(),
        files: vec!["main.go".into()],
        ..GitHub::default()
    };
    for p in pulls {
        let repo = p["base"]["repo"]["name"].as_str().unwrap();
        gh.pulls
            .insert(format!("acme/{repo}#{}", p["number"]), (*p).clone());
    }
    fake_github(gh)
}

fn states_for(gh: &Shared, sha: &str, context: &str) -> Vec<String> {
    lock(gh)
        .statuses()
        .into_iter()
        .filter(|(s, c, _)| s == sha && c == context)
        .map(|(_, _, st)| st)
        .collect()
}

#[test]
fn a_pull_request_runs_reports_and_reruns_as_prow_does() {
    let dir = tempfile::tempdir().unwrap();
    let pull = pr("widgets", 1, "alice", "head111");
    let (gh, url) = github_with(&["alice"], &[&pull]);
    let dev = Dev::start(dir.path(), &url);

    // Bad input: nothing stored, never a 5xx.
    let (status, _) = http(
        "POST",
        &format!("{}/hook", dev.url),
        &[
            ("X-GitHub-Event", "pull_request".into()),
            ("X-GitHub-Delivery", "bad".into()),
            ("X-Hub-Signature-256", sign(b"wrong", b"{}")),
        ],
        b"{}",
    );
    assert_eq!(status, 401);
    let junk = b"{not json";
    let (status, _) = http(
        "POST",
        &format!("{}/hook", dev.url),
        &[
            ("X-GitHub-Event", "pull_request".into()),
            ("X-GitHub-Delivery", "junk".into()),
            ("X-Hub-Signature-256", sign(SECRET, junk)),
        ],
        junk,
    );
    assert_eq!(status, 400);

    // A trusted author's PR: the automatic jobs whose files match.
    let (status, body) = dev.hook("pull_request", "d-open", &pr_event("opened", &pull));
    assert_eq!(status, 200, "{body}");
    dev.wait_state("unit", 1, &["success"]);
    dev.wait_state("lint", 1, &["failure"]);
    // Redelivery creates nothing.
    let (status, body) = dev.hook("pull_request", "d-open", &pr_event("opened", &pull));
    assert_eq!((status, body.as_str()), (200, "duplicate delivery"));
    wait_for("the lint failure comment", WAIT, || {
        lock(&gh)
            .comments
            .iter()
            .any(|c| c.3.contains("`/test lint`"))
    });
    assert!(dev.runs("docs").is_empty(), "no docs files changed");
    assert!(dev.runs("e2e").is_empty(), "comment-only job");
    assert_eq!(
        states_for(&gh, "head111", "unit")
            .last()
            .map(String::as_str),
        Some("success")
    );
    let lint = states_for(&gh, "head111", "lint");
    assert_eq!(lint.last().map(String::as_str), Some("failure"));
    assert_eq!(
        lint.iter().filter(|s| *s == "failure").count(),
        1,
        "reported once: {lint:?}"
    );
    let comment = lock(&gh).comments[0].3.clone();
    assert!(
        comment.contains("lint")
            && comment.contains("head111")
            && comment.contains("<!-- test report -->"),
        "{comment}"
    );
    assert!(!comment.contains("| unit |"), "{comment}");

    // /retest reruns only what failed.
    dev.hook(
        "issue_comment",
        "d-retest",
        &comment_event("widgets", 1, "alice", "/retest"),
    );
    dev.wait_state("lint", 2, &["failure"]);
    assert_eq!(dev.runs("unit").len(), 1);

    // /test NAME runs an explicit job.
    dev.hook(
        "issue_comment",
        "d-test-e2e",
        &comment_event("widgets", 1, "alice", "/test e2e"),
    );
    dev.wait_state("e2e", 1, &["success"]);

    // A push runs postsubmits.
    let push = json!({"ref": "refs/heads/main", "before": "aaa", "after": "bbb", "deleted": false,
        "compare": "https://github.com/acme/widgets/compare/aaa...bbb", "pusher": {"name": "alice"},
        "repository": repository("widgets"), "commits": [{"added": [], "removed": [], "modified": ["main.go"]}]});
    dev.hook("push", "d-push", &push);
    let publish = dev.wait_state("publish", 1, &["success"]);
    assert_eq!(publish[0]["spec"]["refs"]["base_sha"], "bbb");

    // A periodic with no history runs, and its log is served.
    let echo = dev.wait_state("echo-test", 1, &["success"]);
    let build = echo[0]["status"]["build_id"].as_str().unwrap().to_string();
    let (status, log) = http(
        "GET",
        &format!("{}/log?job=echo-test&id={build}", dev.url),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert!(
        log.contains("UTC") || log.chars().any(|c| c.is_ascii_digit()),
        "{log}"
    );
}

#[test]
fn an_untrusted_pr_waits_for_ok_to_test() {
    let dir = tempfile::tempdir().unwrap();
    let pull = pr("widgets", 2, "mallory", "head222");
    let (gh, url) = github_with(&["alice"], &[&pull]);
    let dev = Dev::start(dir.path(), &url);
    dev.hook("pull_request", "u-open", &pr_event("opened", &pull));
    wait_for("needs-ok-to-test", WAIT, || {
        lock(&gh)
            .labels
            .get("acme/widgets#2")
            .is_some_and(|l| l.contains(&"needs-ok-to-test".to_string()))
    });
    assert!(dev.runs("unit").is_empty());
    assert_eq!(lock(&gh).comments.len(), 1, "the welcome");
    dev.hook(
        "issue_comment",
        "u-ok",
        &comment_event("widgets", 2, "alice", "/ok-to-test"),
    );
    dev.wait_state("unit", 1, &["success"]);
    let labels = lock(&gh)
        .labels
        .get("acme/widgets#2")
        .cloned()
        .unwrap_or_default();
    assert!(labels.contains(&"ok-to-test".to_string()), "{labels:?}");
    assert!(
        !labels.contains(&"needs-ok-to-test".to_string()),
        "{labels:?}"
    );
}

#[test]
fn synchronize_aborts_the_older_run_and_limits_and_timeouts_hold() {
    let dir = tempfile::tempdir().unwrap();
    let slow = pr("slow", 3, "alice", "old333");
    let widgets = pr("widgets", 4, "alice", "head444");
    let (gh, url) = github_with(&["alice"], &[&slow, &widgets]);
    let dev = Dev::start(dir.path(), &url);

    dev.hook("pull_request", "s-open", &pr_event("opened", &slow));
    dev.wait_state("slow", 1, &["pending"]);
    let mut newer = slow.clone();
    newer["head"]["sha"] = json!("new333");
    lock(&gh).pulls.insert("acme/slow#3".into(), newer.clone());
    dev.hook("pull_request", "s-sync", &pr_event("synchronize", &newer));
    dev.wait_state("slow", 1, &["aborted"]);
    let runs = dev.runs("slow");
    assert_eq!(runs.len(), 2);
    let aborted = runs
        .iter()
        .find(|r| r["status"]["state"] == "aborted")
        .unwrap();
    assert_eq!(aborted["spec"]["refs"]["pulls"][0]["sha"], "old333");
    assert_eq!(
        aborted["status"]["description"],
        "Aborted by trigger plugin."
    );

    // max_concurrency: 1 — three triggers run one after another, in order.
    // (Pushes: three `/test` of one presubmit on one commit would supersede
    // each other, as in Prow.)
    for i in 0..3 {
        let push = json!({"ref": "refs/heads/release", "before": format!("r{i}"), "after": format!("r{}", i + 1),
            "deleted": false, "compare": "https://github.com/acme/widgets/compare", "pusher": {"name": "alice"},
            "repository": repository("widgets"), "commits": []});
        dev.hook("push", &format!("m-{i}"), &push);
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut runs = dev.wait_state("serial", 3, &["success"]);
    let t = |j: &Value, f: &str| j["status"][f].as_str().unwrap_or("").to_string();
    // First triggered, first run: no run starts before one created in an
    // earlier second (records keep whole seconds, so within one second the
    // creation order is not visible from outside).
    runs.sort_by_key(|j| t(j, "pendingTime"));
    for pair in runs.windows(2) {
        assert!(
            t(&pair[0], "startTime") <= t(&pair[1], "startTime"),
            "{} (created {}) ran before {} (created {})",
            pair[0]["metadata"]["name"],
            t(&pair[0], "startTime"),
            pair[1]["metadata"]["name"],
            t(&pair[1], "startTime")
        );
    }
    for pair in runs.windows(2) {
        assert!(
            t(&pair[0], "completionTime") <= t(&pair[1], "pendingTime"),
            "overlap: {} ran until {}, {} started {}",
            pair[0]["metadata"]["name"],
            t(&pair[0], "completionTime"),
            pair[1]["metadata"]["name"],
            t(&pair[1], "pendingTime")
        );
    }

    // A job past its running timeout ends as Prow says.
    dev.hook(
        "issue_comment",
        "t-hang",
        &comment_event("widgets", 4, "alice", "/test hang"),
    );
    let hang = dev.wait_state("hang", 1, &["aborted"]);
    assert_eq!(hang[0]["status"]["description"], "Pod running timeout.");
}

#[test]
fn kill_9_mid_run_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pull = pr("steady", 5, "alice", "head555");
    let (gh, url) = github_with(&["alice"], &[&pull]);
    let mut dev = Dev::start(dir.path(), &url);
    dev.hook("pull_request", "k-open", &pr_event("opened", &pull));
    dev.wait_state("one", 1, &["pending"]);
    dev.kill9();
    dev.spawn();
    for job in ["one", "two", "three"] {
        dev.wait_state(job, 1, &["success"]);
        assert_eq!(dev.runs(job).len(), 1, "{job} has one record");
    }
    wait_for("every success reported", WAIT, || {
        ["one", "two", "three"]
            .iter()
            .all(|c| states_for(&gh, "head555", c).contains(&"success".to_string()))
    });
    for c in ["one", "two", "three"] {
        let states = states_for(&gh, "head555", c);
        assert_eq!(
            states.iter().filter(|s| *s == "success").count(),
            1,
            "{c}: {states:?}"
        );
    }
}

#[test]
fn the_pipeline_benchmark_runs_every_job_to_a_reported_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args([
            "bench",
            "pipeline",
            "--webhooks",
            "10",
            "--timeout-seconds",
            "120",
        ])
        .output()
        .expect("skiff bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("10 webhooks × 3 jobs = 30 jobs"),
        "{stdout}"
    );
    assert!(stdout.contains("(0 non-200)"), "{stdout}");
    assert!(
        stdout.contains("jobs/s") && stdout.contains("p99"),
        "{stdout}"
    );
}

/// `skiff dev --cluster kubeconfig:PATH:CONTEXT`: the jobs run as pods on that
/// cluster through the Kubernetes adapter. The cluster is an HTTP-level fake
/// API server (no real one can run here) whose kubelet runs each pod by
/// itself and fails those whose command says `exit N`.
#[test]
fn with_a_kubeconfig_cluster_the_jobs_run_as_pods_there() {
    use skiff_kube::fake::{FakeApiServer, Kubelet};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let kube = runtime.block_on(FakeApiServer::start());
    kube.require_token(FakeApiServer::TOKEN);
    kube.auto_kubelet(Some(Kubelet {
        log: Some("ran on the fake cluster\n".into()),
        ..Kubelet::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig, "fake-ctx").unwrap();
    let pull = pr("widgets", 7, "alice", "head777");
    let (gh, url) = github_with(&["alice"], &[&pull]);
    let choice = format!("kubeconfig:{}:fake-ctx", kubeconfig.display());
    let dev = Dev::start_with(dir.path(), &url, &["--cluster", &choice]);

    let (status, body) = dev.hook("pull_request", "k-open", &pr_event("opened", &pull));
    assert_eq!(status, 200, "{body}");
    let unit = dev.wait_state("unit", 1, &["success"]);
    dev.wait_state("lint", 1, &["failure"]);
    wait_for("the lint status", WAIT, || {
        states_for(&gh, "head777", "lint")
            .last()
            .map(String::as_str)
            == Some("failure")
    });

    // The pods are the cluster's, named by the job ids; none ran locally.
    let pods: Vec<String> = kube
        .pods()
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    let ids: Vec<String> = dev
        .jobs()
        .iter()
        .filter_map(|j| j["metadata"]["name"].as_str().map(String::from))
        .collect();
    // unit, lint, and the periodic echo-test once its tick came.
    assert!(pods.len() >= 2, "{pods:?}");
    assert!(pods.iter().all(|p| ids.contains(p)), "{pods:?} vs {ids:?}");
    for job in ["unit", "lint"] {
        let id = dev.runs(job)[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(pods.contains(&id), "no pod for {job}");
    }
    assert!(
        !dev.state.join("pods").exists()
            || std::fs::read_dir(dev.state.join("pods"))
                .unwrap()
                .next()
                .is_none(),
        "no local pod directories"
    );

    // The log was copied from the cluster.
    let build = unit[0]["status"]["build_id"].as_str().unwrap().to_string();
    let (status, log) = http(
        "GET",
        &format!("{}/log?job=unit&id={build}", dev.url),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(log, "ran on the fake cluster\n");
}
