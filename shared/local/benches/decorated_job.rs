//! What decoration costs a trivial job on `skiff dev`'s local cluster: the
//! time from `create_pod` to a `Succeeded` pod for a job that runs `true`,
//! undecorated, and decorated (clone of a 1,000-commit repository by real
//! `git`, initupload, entrypoint, sidecar, uploads to the filesystem log
//! store, fsync included) — as a postsubmit (base only) and as a presubmit
//! (a pull merged onto the base).
//!
//! The repository is made once, in a bare repository on local disk (no
//! network), with `git fast-import`: 1,000 commits on `main`, each changing
//! one of 50 files, and `refs/pull/1/head` one commit on top. Each sample
//! creates the pod, polls `list_pods` every millisecond until it succeeds,
//! then (untimed) deletes it; the next create wipes its directory. The
//! cluster runs on a multi-thread runtime as in `skiff dev`.
//!
//! `cargo bench -p skiff-local --bench decorated_job` reports the medians;
//! under `cargo test --bench decorated_job` each case runs once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1 as core;
use skiff_core::duration::GoDuration;
use skiff_core::ports::{Cluster, PodPhase, PodRequest, SystemClock};
use skiff_core::prowjob::pod::pod_request;
use skiff_core::prowjob::{
    DecorationConfig, GcsConfiguration, ProwJob, ProwJobSpec, ProwJobType, Pull, Refs,
};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::process_cluster::ProcessCluster;

const COMMITS: usize = 1_000;
const BUILD: &str = "1823456789012345678";

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| fail("git", e));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take())
        && let Err(e) = pipe.write_all(input)
    {
        fail("feeding git", e);
    }
    let out = child.wait_with_output().unwrap_or_else(|e| fail("git", e));
    if !out.status.success() {
        fail("git", format!("{args:?} failed"));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository with [`COMMITS`] commits on `main` and one pull on
/// top; its `main` and pull SHAs.
fn repository(dir: &Path) -> (String, String) {
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", "repo.git"],
        None,
    );
    let mut stream = String::new();
    let data = |s: &mut String, text: &str| {
        s.push_str(&format!("data {}\n{text}\n", text.len()));
    };
    for i in 0..COMMITS {
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\ncommitter Bench <bench@example.com> {} +0000\n",
            i + 1,
            1_700_000_000 + i
        ));
        data(&mut stream, &format!("commit {i}"));
        stream.push_str(&format!("M 644 inline src/file_{}.txt\n", i % 50));
        data(
            &mut stream,
            &format!("line {i}\n{}", "some content\n".repeat(20)),
        );
    }
    stream.push_str(&format!(
        "commit refs/pull/1/head\nmark :{}\ncommitter Bench <bench@example.com> 1800000000 +0000\n",
        COMMITS + 1
    ));
    data(&mut stream, "the change");
    stream.push_str(&format!("from :{COMMITS}\nM 644 inline pr.txt\n"));
    data(&mut stream, "pr\n");
    let repo = dir.join("repo.git");
    git(&repo, &["fast-import", "--quiet"], Some(stream.as_bytes()));
    let base = git(&repo, &["rev-parse", "refs/heads/main"], None);
    let pull = git(&repo, &["rev-parse", "refs/pull/1/head"], None);
    (base, pull)
}

/// The job running `true`; decorated with `refs` when given.
fn job(kind: ProwJobType, refs: Option<Refs>, decorated: bool) -> ProwJob {
    let mut job = ProwJob::default();
    job.metadata.name = "bench".into();
    job.spec = ProwJobSpec {
        r#type: Some(kind),
        agent: "kubernetes".into(),
        job: "bench-true".into(),
        refs,
        pod_spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: "test".into(),
                command: Some(vec!["true".into()]),
                ..Default::default()
            }],
            ..Default::default()
        }),
        decoration_config: decorated.then(|| DecorationConfig {
            timeout: Some(GoDuration::from_mins(5)),
            grace_period: Some(GoDuration::from_secs(5)),
            gcs_configuration: Some(GcsConfiguration {
                bucket: "s3://skiff-logs".into(),
                path_strategy: "explicit".into(),
                ..GcsConfiguration::default()
            }),
            ..DecorationConfig::default()
        }),
        ..ProwJobSpec::default()
    };
    job
}

async fn run_once(cluster: &ProcessCluster, pod: &PodRequest) -> Duration {
    let started = Instant::now();
    if let Err(e) = cluster.create_pod(pod).await {
        fail("create_pod", e);
    }
    let took = loop {
        let pods = cluster
            .list_pods(&BTreeMap::new())
            .await
            .unwrap_or_else(|e| fail("list_pods", e));
        match pods.iter().find(|p| p.name == pod.name).map(|p| p.phase) {
            Some(PodPhase::Succeeded) => break started.elapsed(),
            Some(PodPhase::Failed) => {
                let log = cluster.pod_log(&pod.name).await.unwrap_or_default();
                fail("the job failed", log);
            }
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    };
    if let Err(e) = cluster.delete_pod(&pod.name).await {
        fail("delete_pod", e);
    }
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("runtime", e));
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail("temporary directory", e));
    let (base, pull) = repository(dir.path());
    let uri = dir.path().join("repo.git").to_string_lossy().into_owned();
    let logs = Arc::new(FsLogStore::new(dir.path().join("logs")));
    let cluster = ProcessCluster::new(dir.path().join("pods"), 4, Arc::new(SystemClock), logs);

    let base_refs = Refs {
        org: "acme".into(),
        repo: "widgets".into(),
        base_ref: "main".into(),
        base_sha: base,
        clone_uri: uri,
        ..Refs::default()
    };
    let pull_refs = Refs {
        pulls: vec![Pull {
            number: 1,
            author: "alice".into(),
            sha: pull,
            ..Pull::default()
        }],
        ..base_refs.clone()
    };
    let cases = [
        (
            "undecorated",
            job(ProwJobType::Postsubmit, Some(base_refs.clone()), false),
        ),
        (
            "decorated_postsubmit",
            job(ProwJobType::Postsubmit, Some(base_refs), true),
        ),
        (
            "decorated_presubmit",
            job(ProwJobType::Presubmit, Some(pull_refs), true),
        ),
    ];
    let mut group = c.benchmark_group("create_pod_to_succeeded");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, job) in cases {
        let pod = pod_request(&job, BUILD, "test-pods").unwrap_or_else(|e| fail("pod_request", e));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += run_once(&cluster, &pod).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
