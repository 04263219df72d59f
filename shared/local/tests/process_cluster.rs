//! Real processes, real signals. Every wait is bounded, so a regression fails
//! instead of hanging.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::{Cluster, Created, PodInfo, PodPhase, PodRequest, PortError, SystemClock};
use skiff_local::process_cluster::{GRACE, LOG_FILE, ProcessCluster};

fn cluster(work: &Path, max_parallel: usize) -> ProcessCluster {
    ProcessCluster::new(
        work.to_path_buf(),
        max_parallel,
        Arc::new(SystemClock),
        Arc::new(skiff_local::memory::MemoryLogs::default()),
    )
}

fn pod(name: &str, command: &[&str], args: &[&str]) -> PodRequest {
    let strings = |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect());
    PodRequest {
        name: name.into(),
        namespace: "test-pods".into(),
        labels: BTreeMap::from([("created-by-prow".into(), "true".into())]),
        annotations: BTreeMap::new(),
        spec: core::PodSpec {
            containers: vec![core::Container {
                name: "test".into(),
                image: Some("alpine:3".into()),
                command: strings(command),
                args: strings(args),
                ..Default::default()
            }],
            ..Default::default()
        },
    }
}

/// As in Kubernetes, `$$` in a command is an escaped `$`: a shell's own
/// `$$` is written `$$$$`.
fn sh(name: &str, script: &str) -> PodRequest {
    pod(name, &["sh", "-c", script], &[])
}

async fn info(cluster: &ProcessCluster, name: &str) -> Option<PodInfo> {
    let pods = cluster.list_pods(&BTreeMap::new()).await.unwrap();
    pods.into_iter().find(|p| p.name == name)
}

async fn wait_for(
    cluster: &ProcessCluster,
    name: &str,
    done: impl Fn(&PodInfo) -> bool,
) -> PodInfo {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let pod = info(cluster, name).await;
        if let Some(pod) = pod.as_ref().filter(|p| done(p)) {
            return pod.clone();
        }
        assert!(
            Instant::now() < give_up,
            "pod {name} never got there: {pod:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn finished(cluster: &ProcessCluster, name: &str) -> PodInfo {
    wait_for(cluster, name, |p| {
        matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed)
    })
    .await
}

async fn file_appears(path: &Path) -> String {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(Instant::now() < give_up, "{} never written", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Alive and not a zombie. A process reaped by someone else is gone.
fn alive(pid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) else {
        return false;
    };
    // The state follows the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().chars().next());
    state != Some(Some('Z'))
}

async fn dies(pid: &str) {
    let give_up = Instant::now() + Duration::from_secs(3);
    while alive(pid) {
        assert!(Instant::now() < give_up, "process {pid} still alive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn stdout_and_stderr_interleave_in_the_log_in_write_order() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let script = "echo one; echo two >&2; echo three; echo four >&2; printf 'five'";
    assert_eq!(
        c.create_pod(&sh("p", script)).await.unwrap(),
        Created::Created
    );
    finished(&c, "p").await;
    assert_eq!(c.pod_log("p").await.unwrap(), "one\ntwo\nthree\nfour\nfive");
}

#[tokio::test]
async fn exit_zero_succeeds_and_non_zero_fails() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let before = Timestamp::now();
    c.create_pod(&sh("ok", "exit 0")).await.unwrap();
    c.create_pod(&sh("bad", "exit 3")).await.unwrap();

    let ok = finished(&c, "ok").await;
    assert_eq!(ok.phase, PodPhase::Succeeded);
    assert!(ok.all_succeeded);
    assert_eq!(ok.reason, None);
    let (start, end) = (ok.start_time.unwrap(), ok.finished_time.unwrap());
    assert!(before <= start && start <= end, "{start} {end}");

    let bad = finished(&c, "bad").await;
    assert_eq!(bad.phase, PodPhase::Failed);
    assert!(!bad.all_succeeded);
    // A plain non-zero exit is the test failing, not the cluster: no reason.
    assert_eq!(bad.reason, None);
    assert!(bad.finished_time.is_some());
}

#[tokio::test]
async fn killed_by_a_signal_fails() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh("p", "kill -KILL $$$$; echo survived"))
        .await
        .unwrap();
    let p = finished(&c, "p").await;
    assert_eq!(p.phase, PodPhase::Failed);
    assert!(!p.all_succeeded);
    assert_eq!(c.pod_log("p").await.unwrap(), "");
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_with_container_cannot_run() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let not_executable = work.path().join("script.sh");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").unwrap();
    let not_executable = not_executable.to_str().unwrap();

    c.create_pod(&pod("missing", &["/no/such/skiff-program"], &["x"]))
        .await
        .unwrap();
    c.create_pod(&pod("not-on-path", &["skiff-no-such-program-on-path"], &[]))
        .await
        .unwrap();
    c.create_pod(&pod("not-executable", &[not_executable], &[]))
        .await
        .unwrap();
    for name in ["missing", "not-on-path", "not-executable"] {
        let p = finished(&c, name).await;
        assert_eq!(p.phase, PodPhase::Failed, "{name}");
        let reason = p.reason.unwrap_or_default();
        assert!(
            reason.starts_with("ContainerCannotRun: "),
            "{name}: {reason}"
        );
        assert!(
            p.start_time.is_some() && p.finished_time.is_some(),
            "{name}"
        );
    }
    let reason = info(&c, "missing").await.unwrap().reason.unwrap();
    assert!(reason.contains("/no/such/skiff-program"), "{reason}");
}

#[tokio::test]
async fn without_a_command_args_run_and_without_either_the_pod_cannot_run() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&pod("args-only", &[], &["sh", "-c", "echo from args"]))
        .await
        .unwrap();
    c.create_pod(&pod("nothing", &[], &[])).await.unwrap();

    assert_eq!(finished(&c, "args-only").await.phase, PodPhase::Succeeded);
    assert_eq!(c.pod_log("args-only").await.unwrap(), "from args\n");

    let nothing = finished(&c, "nothing").await;
    assert_eq!(nothing.phase, PodPhase::Failed);
    let reason = nothing.reason.unwrap_or_default();
    assert!(
        reason.starts_with("ContainerCannotRun: ") && reason.contains("command"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_process_sees_the_spec_env_over_a_minimal_inherited_one() {
    // Set by cargo for this test process: must not leak into the pod.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let mut p = pod(
        "env",
        &["sh", "-c"],
        &[
            "echo \"$(GREETING)|$GREETING|$BUILD|$EMPTY|${FROM_SECRET-unset}|${CARGO_MANIFEST_DIR-unset}|$HOSTNAME|${PATH:+path}\"",
        ],
    );
    let var = |name: &str, value: Option<&str>| core::EnvVar {
        name: name.into(),
        value: value.map(Into::into),
        value_from: None,
    };
    p.spec.containers[0].env = Some(vec![
        var("GREETING", Some("hello world")),
        var("BUILD", Some("$(GREETING)-42 $$(GREETING)")),
        var("EMPTY", None),
        core::EnvVar {
            name: "FROM_SECRET".into(),
            value: None,
            value_from: Some(core::EnvVarSource::default()),
        },
    ]);
    c.create_pod(&p).await.unwrap();
    assert_eq!(finished(&c, "env").await.phase, PodPhase::Succeeded);
    assert_eq!(
        c.pod_log("env").await.unwrap(),
        "hello world|hello world|hello world-42 $(GREETING)||unset|unset|env|path\n"
    );
}

#[tokio::test]
async fn each_pod_works_in_its_own_directory_which_holds_its_log() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    for name in ["a", "b"] {
        c.create_pod(&sh(name, &format!("pwd; echo {name} > mine.txt")))
            .await
            .unwrap();
    }
    for name in ["a", "b"] {
        assert_eq!(finished(&c, name).await.phase, PodPhase::Succeeded);
        let dir = work.path().join(name);
        let log = c.pod_log(name).await.unwrap();
        assert_eq!(
            PathBuf::from(log.trim_end()).canonicalize().unwrap(),
            dir.canonicalize().unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
            format!("{name}\n")
        );
        assert_eq!(std::fs::read_to_string(dir.join(LOG_FILE)).unwrap(), log);
    }
}

#[tokio::test]
async fn creating_a_pod_twice_starts_it_once() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let p = sh("once", "echo ran >> ../runs");
    assert_eq!(c.create_pod(&p).await.unwrap(), Created::Created);
    assert_eq!(c.create_pod(&p).await.unwrap(), Created::AlreadyExists);
    finished(&c, "once").await;
    // Still known once finished: a retried dispatch adopts it, not reruns it.
    assert_eq!(c.create_pod(&p).await.unwrap(), Created::AlreadyExists);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        std::fs::read_to_string(work.path().join("runs")).unwrap(),
        "ran\n"
    );
}

#[tokio::test]
async fn max_parallel_one_runs_pods_one_after_the_other() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 1);
    c.create_pod(&sh(
        "first",
        "echo first-start >> ../order; sleep 0.5; echo first-end >> ../order",
    ))
    .await
    .unwrap();
    c.create_pod(&sh("second", "echo second >> ../order"))
        .await
        .unwrap();

    let first = info(&c, "first").await.unwrap();
    assert_eq!(first.phase, PodPhase::Running);
    let second = info(&c, "second").await.unwrap();
    assert_eq!((second.phase, second.start_time), (PodPhase::Pending, None));

    let first = finished(&c, "first").await;
    let second = finished(&c, "second").await;
    assert_eq!(second.phase, PodPhase::Succeeded);
    assert!(second.start_time.unwrap() >= first.finished_time.unwrap());
    assert_eq!(
        std::fs::read_to_string(work.path().join("order")).unwrap(),
        "first-start\nfirst-end\nsecond\n"
    );
}

#[tokio::test]
async fn delete_kills_the_whole_tree_quickly_and_keeps_the_log() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh(
        "p",
        "echo $$$$ > sh.pid; sleep 30 & echo $! > child.pid; echo started; wait",
    ))
    .await
    .unwrap();
    let sh_pid = file_appears(&work.path().join("p/sh.pid")).await;
    let child_pid = file_appears(&work.path().join("p/child.pid")).await;
    let give_up = Instant::now() + Duration::from_secs(5);
    while c.pod_log("p").await.unwrap() != "started\n" {
        assert!(Instant::now() < give_up);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(alive(&sh_pid) && alive(&child_pid));

    let t = Instant::now();
    c.delete_pod("p").await.unwrap();
    assert!(
        t.elapsed() < GRACE,
        "took {:?}: SIGTERM should do",
        t.elapsed()
    );
    assert_eq!(info(&c, "p").await, None);
    // The leader is ours to reap: gone, not a zombie, once delete returns.
    assert!(!alive(&sh_pid));
    dies(&child_pid).await;
    assert_eq!(c.pod_log("p").await.unwrap(), "started\n");

    c.delete_pod("p").await.unwrap();
    c.delete_pod("never-existed").await.unwrap();
}

#[tokio::test]
async fn delete_escalates_to_sigkill_when_sigterm_is_ignored() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    // An ignored signal stays ignored across exec, so sleep ignores it too.
    c.create_pod(&sh("p", "trap '' TERM; echo $$$$ > sh.pid; sleep 30"))
        .await
        .unwrap();
    let sh_pid = file_appears(&work.path().join("p/sh.pid")).await;

    let deleting = {
        let c = &c;
        async move {
            let seen = wait_for(c, "p", |p| p.deleting).await;
            assert_eq!(seen.phase, PodPhase::Running);
        }
    };
    let t = Instant::now();
    let (deleted, ()) = tokio::join!(c.delete_pod("p"), deleting);
    deleted.unwrap();
    assert!(
        t.elapsed() >= GRACE && t.elapsed() < GRACE + Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert!(!alive(&sh_pid));
    assert_eq!(info(&c, "p").await, None);
}

#[tokio::test]
async fn what_the_main_process_leaves_behind_is_killed_when_it_exits() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh("p", "sleep 30 & echo $! > child.pid"))
        .await
        .unwrap();
    assert_eq!(finished(&c, "p").await.phase, PodPhase::Succeeded);
    let child_pid = file_appears(&work.path().join("p/child.pid")).await;
    dies(&child_pid).await;
}

#[tokio::test]
async fn active_deadline_kills_and_fails_with_deadline_exceeded() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let mut p = sh("p", "echo $$$$ > sh.pid; sleep 30");
    p.spec.active_deadline_seconds = Some(1);
    let t = Instant::now();
    c.create_pod(&p).await.unwrap();
    let sh_pid = file_appears(&work.path().join("p/sh.pid")).await;
    let p = finished(&c, "p").await;
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(p.phase, PodPhase::Failed);
    assert_eq!(p.reason.as_deref(), Some("DeadlineExceeded"));
    assert!(!alive(&sh_pid));
}

#[tokio::test]
async fn pods_are_selected_by_all_given_labels() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let labelled = |name: &str, labels: &[(&str, &str)]| {
        let mut p = sh(name, "true");
        p.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p
    };
    c.create_pod(&labelled("both", &[("a", "1"), ("b", "2")]))
        .await
        .unwrap();
    c.create_pod(&labelled("a-only", &[("a", "1")]))
        .await
        .unwrap();
    c.create_pod(&labelled("a-two", &[("a", "2"), ("b", "2")]))
        .await
        .unwrap();

    let names = |labels: &[(&str, &str)]| {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let c = &c;
        async move {
            let pods = c.list_pods(&labels).await.unwrap();
            pods.into_iter().map(|p| p.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&[]).await, ["a-only", "a-two", "both"]);
    assert_eq!(names(&[("a", "1")]).await, ["a-only", "both"]);
    assert_eq!(names(&[("a", "1"), ("b", "2")]).await, ["both"]);
    assert_eq!(names(&[("b", "2")]).await, ["a-two", "both"]);
    assert!(names(&[("c", "1")]).await.is_empty());
    let both = info(&c, "both").await.unwrap();
    assert_eq!(both.labels.get("b").map(String::as_str), Some("2"));
}

#[tokio::test]
async fn the_log_can_be_read_while_the_pod_runs() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh("p", "echo early; sleep 30"))
        .await
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(5);
    while c.pod_log("p").await.unwrap() != "early\n" {
        assert!(Instant::now() < give_up);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(info(&c, "p").await.unwrap().phase, PodPhase::Running);
    c.delete_pod("p").await.unwrap();
    assert!(matches!(
        c.pod_log("nope").await,
        Err(PortError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_deleted_pending_pod_never_runs_and_frees_nothing_it_did_not_hold() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 1);
    c.create_pod(&sh("busy", "sleep 0.3")).await.unwrap();
    c.create_pod(&sh("queued", "echo ran > ../queued-ran"))
        .await
        .unwrap();
    c.create_pod(&sh("next", "true")).await.unwrap();
    c.delete_pod("queued").await.unwrap();
    assert_eq!(info(&c, "queued").await, None);
    // Still one at a time: `next` waits for `busy`.
    assert_eq!(info(&c, "next").await.unwrap().phase, PodPhase::Pending);
    assert_eq!(finished(&c, "next").await.phase, PodPhase::Succeeded);
    assert!(!work.path().join("queued-ran").exists());
}

#[tokio::test]
async fn a_pod_recreated_after_delete_starts_in_a_fresh_directory() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh("p", "echo old; touch leftover"))
        .await
        .unwrap();
    finished(&c, "p").await;
    c.delete_pod("p").await.unwrap();
    assert_eq!(c.pod_log("p").await.unwrap(), "old\n");

    assert_eq!(
        c.create_pod(&sh("p", "ls; echo new")).await.unwrap(),
        Created::Created
    );
    assert_eq!(finished(&c, "p").await.phase, PodPhase::Succeeded);
    assert_eq!(c.pod_log("p").await.unwrap(), "new\n");
}

#[tokio::test]
async fn bad_requests_are_rejected() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    let mut no_containers = sh("p", "true");
    no_containers.spec.containers.clear();
    let mut zero_deadline = sh("p", "true");
    zero_deadline.spec.active_deadline_seconds = Some(0);
    for bad in [
        sh("../escape", "true"),
        sh("Upper", "true"),
        no_containers,
        zero_deadline,
    ] {
        let got = c.create_pod(&bad).await;
        assert!(
            matches!(got, Err(PortError::Rejected(_))),
            "{}: {got:?}",
            bad.name
        );
    }
    assert!(c.list_pods(&BTreeMap::new()).await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn dropping_the_cluster_kills_its_running_pods() {
    let work = tempfile::tempdir().unwrap();
    let c = cluster(work.path(), 4);
    c.create_pod(&sh("p", "echo $$$$ > sh.pid; sleep 30"))
        .await
        .unwrap();
    let sh_pid = file_appears(&work.path().join("p/sh.pid")).await;
    drop(c);
    dies(&sh_pid).await;
}

#[tokio::test]
async fn a_new_cluster_kills_the_pods_a_killed_one_left_running() {
    let work = tempfile::tempdir().unwrap();
    let first = cluster(work.path(), 2);
    first
        .create_pod(&sh("orphan", "echo $$$$ > pid; sleep 30"))
        .await
        .unwrap();
    let pid = file_appears(&work.path().join("orphan/pid")).await;
    assert!(alive(&pid));
    // As after `kill -9` of skiff dev: the cluster never gets to stop its pods.
    std::mem::forget(first);
    assert!(alive(&pid), "a forgotten cluster leaves its pod running");
    let second = cluster(work.path(), 2);
    dies(&pid).await;
    assert!(!work.path().join("orphan/.skiff-pod.pgid").exists());
    // The new cluster knows nothing of the pod; the syncer recreates it.
    assert!(info(&second, "orphan").await.is_none());
}

#[tokio::test]
async fn a_recorded_group_that_is_not_the_pods_is_left_alone() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("stale")).unwrap();
    // Our own process group id: its processes do not work in the pod dir.
    let own = std::process::id();
    std::fs::write(work.path().join("stale/.skiff-pod.pgid"), own.to_string()).unwrap();
    let _cluster = cluster(work.path(), 1);
    assert!(alive(&own.to_string()), "the test process survived");
    assert!(!work.path().join("stale/.skiff-pod.pgid").exists());
}
