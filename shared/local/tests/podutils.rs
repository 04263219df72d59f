//! Decorated pods on the local cluster: the pod core builds for a job with a
//! `decoration_config` (`pod_request`, as Prow's `decorate`), run with real
//! `git` on repositories made here, real processes and real signals, the
//! uploads read back from the filesystem log store `skiff dev` uses. The
//! pod's end goes through plank's rules (`run::pod::decide`), so each test
//! also says which state the job gets. Every wait is bounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1 as core;
use skiff_core::config::prow::Plank;
use skiff_core::duration::GoDuration;
use skiff_core::ports::{Cluster, LogStore, PodInfo, PodPhase, PodRequest, PortError, SystemClock};
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::decorate::options::{CloneRecord, ENTRYPOINT_OPTIONS};
use skiff_core::prowjob::pod::pod_request;
use skiff_core::prowjob::{
    DecorationConfig, GcsConfiguration, ProwJob, ProwJobSpec, ProwJobState, ProwJobType, Pull, Refs,
};
use skiff_core::run::pod::{Action, decide};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::process_cluster::ProcessCluster;

const BUILD: &str = "1823456789012345678";
const JOB: &str = "pull-widgets-unit";
/// The base commit's time: the merge of the first pull is dated one second
/// later.
const BASE_TIME: i64 = 1_700_000_000;

/// A scratch world: a log store, a cluster on it, a place for repositories.
struct World {
    root: tempfile::TempDir,
    logs: Arc<FsLogStore>,
    cluster: ProcessCluster,
}

impl World {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let logs = Arc::new(FsLogStore::new(root.path().join("logs")));
        let cluster = ProcessCluster::new(
            root.path().join("pods"),
            4,
            Arc::new(SystemClock),
            logs.clone(),
        );
        Self {
            root,
            logs,
            cluster,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn pod_dir(&self, pod: &str) -> PathBuf {
        self.path("pods").join(pod)
    }

    /// A file the job uploaded, as text; `None` if it is not there.
    async fn uploaded(&self, job: &ProwJob, name: &str) -> Option<String> {
        self.object(&artifact_path(job).unwrap(), name).await
    }

    async fn object(&self, dir: &str, name: &str) -> Option<String> {
        let bytes = self.logs.get(dir, name).await.unwrap()?;
        Some(String::from_utf8(bytes).unwrap())
    }

    async fn finished(&self, name: &str) -> PodInfo {
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let pods = self.cluster.list_pods(&BTreeMap::new()).await.unwrap();
            let pod = pods.into_iter().find(|p| p.name == name);
            if let Some(pod) = pod.as_ref()
                && matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed)
            {
                return pod.clone();
            }
            assert!(Instant::now() < give_up, "pod {name} never ended: {pod:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// git as the test's own tool: no user or system config, fixed dates.
fn git(dir: &Path, args: &[&str]) -> String {
    let home = dir.join(".test-home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env("GIT_AUTHOR_DATE", format!("{BASE_TIME} +0000"))
        .env("GIT_COMMITTER_DATE", format!("{BASE_TIME} +0000"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A bare repository holding `main` (base.txt) and `refs/pull/7/head`
/// (one commit on top: pr.txt), as a code host serves them; its path and
/// the two SHAs.
fn code_host(world: &World) -> (String, String, String) {
    let work = world.path("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("base.txt"), "base\n").unwrap();
    git(&work, &["add", "base.txt"]);
    git(&work, &["commit", "-q", "-m", "base"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    git(&work, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(work.join("pr.txt"), "pr\n").unwrap();
    git(&work, &["add", "pr.txt"]);
    git(&work, &["commit", "-q", "-m", "the change"]);
    let pr = git(&work, &["rev-parse", "HEAD"]);
    let bare = world.path("widgets.git");
    git(
        world.root.path(),
        &["init", "-q", "--bare", "-b", "main", "widgets.git"],
    );
    let bare_str = bare.to_str().unwrap().to_string();
    git(
        &work,
        &[
            "push",
            "-q",
            &bare_str,
            "main:refs/heads/main",
            "feature:refs/pull/7/head",
        ],
    );
    (bare_str, base, pr)
}

fn refs(clone_uri: &str, base: &str, pr: &str) -> Refs {
    Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        base_ref: "main".into(),
        base_sha: base.into(),
        pulls: vec![Pull {
            number: 7,
            author: "alice".into(),
            sha: pr.into(),
            ..Pull::default()
        }],
        clone_uri: clone_uri.into(),
        ..Refs::default()
    }
}

fn container(name: &str, script: &str) -> core::Container {
    core::Container {
        name: name.into(),
        image: Some("alpine:3".into()),
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        ..Default::default()
    }
}

/// A decorated presubmit of `refs` running `containers`, stopped after
/// `timeout` with a `grace` period, uploading to an S3-style bucket.
fn job(
    id: &str,
    refs: Refs,
    containers: Vec<core::Container>,
    timeout: Duration,
    grace: Duration,
) -> ProwJob {
    let mut job = ProwJob::default();
    job.metadata.name = id.into();
    let nanos = |d: Duration| GoDuration(i64::try_from(d.as_nanos()).unwrap());
    job.spec = ProwJobSpec {
        r#type: Some(ProwJobType::Presubmit),
        agent: "kubernetes".into(),
        job: JOB.into(),
        refs: Some(refs),
        pod_spec: Some(core::PodSpec {
            containers,
            ..Default::default()
        }),
        decoration_config: Some(DecorationConfig {
            timeout: Some(nanos(timeout)),
            grace_period: Some(nanos(grace)),
            gcs_configuration: Some(GcsConfiguration {
                bucket: "s3://skiff-logs".into(),
                path_strategy: "explicit".into(),
                ..GcsConfiguration::default()
            }),
            ..DecorationConfig::default()
        }),
        ..ProwJobSpec::default()
    };
    job.status.build_id = BUILD.into();
    job
}

fn pod(job: &ProwJob) -> PodRequest {
    pod_request(job, BUILD, "test-pods").unwrap()
}

/// What plank makes of the pod: the job's final state.
fn plank_state(job: &ProwJob, pod: &PodInfo) -> ProwJobState {
    match decide(job, Some(pod), &Plank::default(), jiff::Timestamp::now()) {
        Action::Finish { state, .. } => state,
        other => panic!("plank does not finish the job: {other:?}"),
    }
}

#[tokio::test]
async fn a_pull_is_merged_onto_its_base_and_the_run_is_uploaded_as_prow_does() {
    let w = World::new();
    let (uri, base, pr) = code_host(&w);
    let script = r#"set -e
test "$(cat base.txt)" = base
test "$(cat pr.txt)" = pr
git log -1 --format='%an <%ae> %at %ct %P' > "$ARTIFACTS/head.txt"
echo '<testsuite tests="1"/>' > "$ARTIFACTS/junit_1.xml"
echo '{"version":"v1.2.3"}' > "$ARTIFACTS/metadata.json"
pwd
echo "GOPATH=$GOPATH"
echo hello from the test"#;
    let job = job(
        "pr-7",
        refs(&uri, &base, &pr),
        vec![container("test", script)],
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let ended = w.finished("pr-7").await;
    let build_log = w.uploaded(&job, "build-log.txt").await.unwrap_or_default();
    assert_eq!(ended.phase, PodPhase::Succeeded, "{build_log}");
    assert!(ended.all_succeeded && ended.reason.is_none(), "{ended:?}");
    assert_eq!(plank_state(&job, &ended), ProwJobState::Success);

    // The checkout is the test's working directory, under GOPATH.
    let code = w.pod_dir("pr-7").join("code");
    let checkout = code.join("src/github.com/acme/widgets");
    assert!(
        build_log.starts_with(&format!(
            "{}\nGOPATH={}\nhello from the test\n",
            checkout.display(),
            code.display()
        )),
        "{build_log}"
    );
    assert_eq!(w.cluster.pod_log("pr-7").await.unwrap(), build_log);

    // HEAD is a merge by ci-robot of the pull onto the base, dated the
    // base's time + 1.
    let head = w.uploaded(&job, "artifacts/head.txt").await.unwrap();
    let merged = BASE_TIME + 1;
    assert_eq!(
        head.trim(),
        format!("ci-robot <ci-robot@k8s.io> {merged} {merged} {base} {pr}")
    );
    assert_eq!(
        w.uploaded(&job, "artifacts/junit_1.xml").await.as_deref(),
        Some("<testsuite tests=\"1\"/>\n")
    );

    // The records, their human form and started.json agree on the commit.
    let records: Vec<CloneRecord> =
        serde_json::from_str(&w.uploaded(&job, "clone-records.json").await.unwrap()).unwrap();
    assert_eq!(records.len(), 2, "setup record then the ref");
    assert!(!records[1].failed);
    let final_sha = records[1].final_sha.clone();
    assert_eq!(final_sha.len(), 40);
    let commands: Vec<&str> = records[1]
        .commands
        .iter()
        .map(|c| c.command.as_str())
        .collect();
    let dir = "/home/prow/go/src/github.com/acme/widgets";
    assert_eq!(commands[0], format!("PWD=/  mkdir -p {dir}"));
    assert!(commands.contains(&format!("PWD={dir} GIT_AUTHOR_DATE={merged} GIT_COMMITTER_DATE={merged} git merge --no-ff {pr}").as_str()), "{commands:#?}");
    let clone_log = w.uploaded(&job, "clone-log.txt").await.unwrap();
    assert!(clone_log.starts_with("Environment setup\n"), "{clone_log}");
    assert!(clone_log.contains(&format!(
        "# Cloning acme/widgets at main({base})\n# Checking out pulls:\n#\t7({pr})\n"
    )));
    assert!(clone_log.contains(&format!("# Final SHA: {final_sha}\n")));
    let started: serde_json::Value =
        serde_json::from_str(&w.uploaded(&job, "started.json").await.unwrap()).unwrap();
    assert_eq!(started["pull"], "7");
    assert_eq!(started["repo-commit"], final_sha.as_str());
    assert_eq!(
        started["repos"]["acme/widgets"],
        format!("main:{base},7:{pr}").as_str()
    );

    let finished = w.uploaded(&job, "finished.json").await.unwrap();
    let finished: serde_json::Value = serde_json::from_str(&finished).unwrap();
    assert_eq!(finished["passed"], true);
    assert_eq!(finished["result"], "SUCCESS");
    assert_eq!(finished["revision"], pr.as_str());
    assert_eq!(finished["metadata"]["version"], "v1.2.3");

    // The markers sit at the bucket root; a presubmit also gets its alias.
    assert_eq!(
        w.object(&format!("pr-logs/directory/{JOB}"), "latest-build.txt")
            .await
            .as_deref(),
        Some(BUILD)
    );
    assert_eq!(
        w.object(
            &format!("pr-logs/pull/acme_widgets/7/{JOB}"),
            "latest-build.txt"
        )
        .await
        .as_deref(),
        Some(BUILD)
    );
    assert_eq!(
        w.object(&format!("pr-logs/directory/{JOB}"), &format!("{BUILD}.txt"))
            .await,
        Some(format!("s3://skiff-logs/{}", artifact_path(&job).unwrap()))
    );
}

#[tokio::test]
async fn a_test_past_its_timeout_is_interrupted_and_the_job_fails_with_marker_127() {
    let w = World::new();
    let (uri, base, pr) = code_host(&w);
    let mut sleeper = container("test", "");
    sleeper.command = Some(vec!["sleep".into(), "30".into()]);
    let job = job(
        "slow",
        refs(&uri, &base, &pr),
        vec![sleeper],
        Duration::from_secs(2),
        Duration::from_secs(1),
    );
    let t = Instant::now();
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let ended = w.finished("slow").await;
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(ended.phase, PodPhase::Failed);
    assert_eq!(plank_state(&job, &ended), ProwJobState::Failure);
    let marker = std::fs::read_to_string(w.pod_dir("slow").join("logs/marker-file.txt")).unwrap();
    assert_eq!(marker, "127");
    let log = w.uploaded(&job, "build-log.txt").await.unwrap();
    assert!(
        log.contains("Process did not finish before 2s timeout"),
        "{log}"
    );
    assert!(
        log.contains("Process gracefully exited before 1s grace period"),
        "{log}"
    );
    let finished = w.uploaded(&job, "finished.json").await.unwrap();
    assert!(
        finished.contains(r#""passed":false"#) && finished.contains(r#""result":"FAILURE""#),
        "{finished}"
    );
}

#[tokio::test]
async fn a_test_that_ignores_the_interrupt_is_killed_after_the_grace_period() {
    let w = World::new();
    let (uri, base, pr) = code_host(&w);
    let stubborn = container(
        "test",
        "trap '' INT; echo holding on; sleep 30; echo survived",
    );
    let job = job(
        "stubborn",
        refs(&uri, &base, &pr),
        vec![stubborn],
        Duration::from_secs(1),
        Duration::from_secs(1),
    );
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let ended = w.finished("stubborn").await;
    assert_eq!(ended.phase, PodPhase::Failed);
    let marker =
        std::fs::read_to_string(w.pod_dir("stubborn").join("logs/marker-file.txt")).unwrap();
    assert_eq!(marker, "127");
    let log = w.uploaded(&job, "build-log.txt").await.unwrap();
    assert!(log.starts_with("holding on\n"), "{log}");
    assert!(
        log.contains("Process did not exit before 1s grace period"),
        "{log}"
    );
    assert!(!log.contains("survived"), "{log}");
    // Interrupted at 1s, killed at 2s: not sooner, and not after the
    // 30s the test wanted.
    let took = ended
        .finished_time
        .unwrap()
        .duration_since(ended.start_time.unwrap());
    assert!(
        took >= jiff::SignedDuration::from_secs(2) && took < jiff::SignedDuration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_clone_from_a_missing_repository_fails_the_pod_before_the_test_runs() {
    let w = World::new();
    let missing = w.path("missing.git");
    let sentinel = w.path("the-test-ran");
    let script = format!("touch {}", sentinel.display());
    let job = job(
        "no-repo",
        refs(missing.to_str().unwrap(), "", ""),
        vec![container("test", &script)],
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    let t = Instant::now();
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let ended = w.finished("no-repo").await;
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "no retries for a local path: {:?}",
        t.elapsed()
    );
    assert_eq!(ended.phase, PodPhase::Failed);
    assert!(ended.reason.is_none(), "{ended:?}");
    assert_eq!(plank_state(&job, &ended), ProwJobState::Failure);
    assert!(!sentinel.exists(), "the test must not run");
    assert!(!w.pod_dir("no-repo").join("logs/marker-file.txt").exists());

    let build_log = w.uploaded(&job, "build-log.txt").await.unwrap();
    assert!(
        build_log.contains("# FAILED\n# Cloning acme/widgets at main\n"),
        "{build_log}"
    );
    assert!(
        build_log.contains("does not appear to be a git repository"),
        "{build_log}"
    );
    assert_eq!(
        w.uploaded(&job, "clone-log.txt").await.as_deref(),
        Some(build_log.as_str())
    );
    let finished = w.uploaded(&job, "finished.json").await.unwrap();
    let finished: serde_json::Value = serde_json::from_str(&finished).unwrap();
    assert_eq!(finished["passed"], false);
    assert_eq!(finished["result"], "FAILURE");
    assert!(finished.get("revision").is_none(), "{finished}");
    assert!(w.uploaded(&job, "started.json").await.is_some());
    // What the syncer copies as the build log says the same.
    assert_eq!(w.cluster.pod_log("no-repo").await.unwrap(), build_log);
}

#[tokio::test]
async fn several_test_containers_run_together_and_each_has_its_own_build_log() {
    let w = World::new();
    let (uri, base, pr) = code_host(&w);
    // Each waits for the other's file: they can only finish together.
    let meet = |me: &str, other: &str, code: i32| {
        format!(
            "touch \"$ARTIFACTS/{me}\"; i=0; while [ ! -e \"$ARTIFACTS/{other}\" ]; do \
             i=$((i+1)); [ $i -gt 200 ] && exit 99; sleep 0.05; done; echo {me} done; exit {code}"
        )
    };
    let containers = vec![
        container("unit", &meet("unit", "lint", 0)),
        container("lint", &meet("lint", "unit", 3)),
    ];
    let job = job(
        "two",
        refs(&uri, &base, &pr),
        containers,
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let ended = w.finished("two").await;
    assert_eq!(ended.phase, PodPhase::Failed);
    assert_eq!(plank_state(&job, &ended), ProwJobState::Failure);
    assert_eq!(
        w.uploaded(&job, "unit-build-log.txt").await.as_deref(),
        Some("unit done\n")
    );
    assert_eq!(
        w.uploaded(&job, "lint-build-log.txt").await.as_deref(),
        Some("lint done\n")
    );
    assert_eq!(w.uploaded(&job, "build-log.txt").await, None);
    let logs = w.pod_dir("two").join("logs");
    assert_eq!(
        std::fs::read_to_string(logs.join("unit-marker.txt")).unwrap(),
        "0"
    );
    assert_eq!(
        std::fs::read_to_string(logs.join("lint-marker.txt")).unwrap(),
        "3"
    );
    let finished = w.uploaded(&job, "finished.json").await.unwrap();
    assert!(finished.contains(r#""result":"FAILURE""#), "{finished}");
    assert!(w.uploaded(&job, "artifacts/unit").await.is_some());
}

#[tokio::test]
async fn deleting_a_running_decorated_pod_aborts_the_test_and_uploads_aborted() {
    let w = World::new();
    let (uri, base, pr) = code_host(&w);
    let job = job(
        "gone",
        refs(&uri, &base, &pr),
        vec![container("test", "echo started; sleep 30")],
        Duration::from_secs(60),
        Duration::from_secs(1),
    );
    w.cluster.create_pod(&pod(&job)).await.unwrap();
    let give_up = Instant::now() + Duration::from_secs(20);
    while w.cluster.pod_log("gone").await.unwrap_or_default() != "started\n" {
        assert!(Instant::now() < give_up, "the test never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Instant::now();
    w.cluster.delete_pod("gone").await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let marker = std::fs::read_to_string(w.pod_dir("gone").join("logs/marker-file.txt")).unwrap();
    assert_eq!(marker, "130");
    let finished = w.uploaded(&job, "finished.json").await.unwrap();
    assert!(
        finished.contains(r#""passed":false"#) && finished.contains(r#""result":"ABORTED""#),
        "{finished}"
    );
}

#[tokio::test]
async fn a_tool_path_outside_the_pods_volumes_is_refused_at_create() {
    let w = World::new();
    let base = job(
        "bad",
        refs("/nowhere.git", "", ""),
        vec![container("test", "true")],
        Duration::from_secs(60),
        Duration::from_secs(5),
    );
    let with_options = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut p = pod(&base);
        let env = p.spec.containers[0].env.as_mut().unwrap();
        let var = env
            .iter_mut()
            .find(|v| v.name == ENTRYPOINT_OPTIONS)
            .unwrap();
        let mut options: serde_json::Value =
            serde_json::from_str(var.value.as_deref().unwrap()).unwrap();
        edit(&mut options);
        var.value = Some(options.to_string());
        p
    };
    let cases: [(&str, PodRequest, &str); 3] = [
        (
            "marker on this machine's own disk",
            with_options(&|o| o["marker_file"] = "/tmp/marker".into()),
            r#"container test: ENTRYPOINT_OPTIONS marker_file "/tmp/marker" is not under"#,
        ),
        (
            "no command",
            with_options(&|o| o["args"] = serde_json::json!([])),
            "container test: ENTRYPOINT_OPTIONS args: no command to run",
        ),
        (
            "unparsable",
            with_options(&|o| *o = "not an object".into()),
            "container test: ENTRYPOINT_OPTIONS: invalid JSON",
        ),
    ];
    for (name, pod, want) in cases {
        match w.cluster.create_pod(&pod).await {
            Err(PortError::Rejected(why)) => {
                assert!(
                    why.starts_with(&format!("pod bad: {want}")),
                    "{name}: {why}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        w.cluster
            .list_pods(&BTreeMap::new())
            .await
            .unwrap()
            .is_empty()
    );
}
