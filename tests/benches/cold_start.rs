//! Cold start of each function binary: the time from exec to its first
//! Runtime API `invocation/next` request — what Lambda's init phase costs
//! before the first event (target: under 50 ms). Each run is a fresh process
//! against a Runtime API stand-in, with the environment the template sets
//! (its values are never contacted before the first event).
//!
//! `cargo bench -p skiff-tests --bench cold_start` measures the release
//! binaries, 30 runs each, and prints min / median / max next to the same
//! figures for exec'ing `/bin/true` (the machine's floor and noise). With
//! `SKIFF_FUNCTION_BINARIES=target/release` it measures binaries built
//! beforehand (`cargo build --release --bins -p skiff-webhook …`); a
//! relative directory is taken from the workspace root, wherever cargo runs
//! the bench from. Any build of this harness can run it with `--bench`.
//! Under `cargo test` it runs each binary once and checks it reached `next`.
//!
//! It also times what a function does with the config on its first event:
//! [`Bundle::load`] of the normalized JSON bundle of a kubernetes/test-infra
//! sized config (~3,800 jobs; target: under 50 ms), the part of a cold start
//! that grows with the config. That part runs in this process, so it runs on
//! mimalloc, the functions' allocator (`skiff_lambda::global_allocator!`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skiff_aws::config_source::Bundle;
use skiff_core::config::load;
use skiff_tests::binaries::{FUNCTIONS, binary};
use skiff_tests::runtime_api::Function;

#[path = "../../shared/core/benches/support/testinfra.rs"]
mod testinfra;

/// `SKIFF_FUNCTION_BINARIES`, resolved from the workspace root when relative
/// (cargo runs a bench from its package's directory, `tests/`).
fn binaries_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("SKIFF_FUNCTION_BINARIES")?);
    if dir.is_absolute() {
        return Some(dir);
    }
    Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir))
}

fn function_binary(name: &str) -> PathBuf {
    let Some(dir) = binaries_dir() else {
        return binary(name);
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} does not exist (SKIFF_FUNCTION_BINARIES={:?}, a relative path is taken from the \
         workspace root); build the functions first: cargo build --release --bins",
        path.display(),
        std::env::var_os("SKIFF_FUNCTION_BINARIES").unwrap_or_default(),
    );
    path
}

/// The bundle `skiff config push` would upload for the test-infra-shaped
/// config (its first `files` files).
fn bundle_bytes(files: usize) -> (Vec<u8>, usize) {
    let sources: Vec<_> = testinfra::generate().into_iter().take(files).collect();
    let loaded = load(&sources);
    assert!(!loaded.has_errors(), "{}", loaded.summary());
    let jobs = loaded.config.jobs.presubmit_count()
        + loaded.config.jobs.postsubmit_count()
        + loaded.config.jobs.periodics.len();
    let names = sources.iter().map(|f| f.path.clone()).collect();
    let bundle = Bundle::new(&loaded.config, names, jiff::Timestamp::UNIX_EPOCH)
        .and_then(|b| b.to_json())
        .expect("the bundle encodes");
    (bundle, jobs)
}

fn env() -> Vec<(String, String)> {
    [
        ("SKIFF_TABLE", "skiff-JobsTable"),
        (
            "SKIFF_EVENTS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/events",
        ),
        (
            "SKIFF_DISPATCH_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/dispatch",
        ),
        (
            "SKIFF_COMMENTS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/skiff-comments.fifo",
        ),
        (
            "SKIFF_HMAC_SECRET_ID",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:hmac-AbCdEf",
        ),
        ("SKIFF_CONFIG_BUCKET", "skiff-artifacts"),
        ("SKIFF_CONFIG_KEY", "config/bundle.json"),
        ("SKIFF_ARTIFACTS_BUCKET", "skiff-artifacts"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_SESSION_TOKEN", "session"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn summary(mut xs: Vec<Duration>) -> String {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:6.2} ms  median {:6.2} ms  max {:6.2} ms  (n={})",
        ms(xs[0]),
        ms(xs[xs.len() / 2]),
        ms(xs[xs.len() - 1]),
        xs.len()
    )
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let runs = if bench { 30 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let log = std::env::temp_dir().join(format!("skiff-cold-start-{}.log", std::process::id()));
    runtime.block_on(async {
        if bench {
            let mut floor = Vec::new();
            for _ in 0..runs {
                let t = std::time::Instant::now();
                let status = std::process::Command::new("/bin/true")
                    .status()
                    .expect("/bin/true");
                assert!(status.success());
                floor.push(t.elapsed());
            }
            println!("{:<11} {}", "/bin/true", summary(floor));
        }
        for f in FUNCTIONS {
            let path = function_binary(f);
            let mut times = Vec::new();
            for _ in 0..runs {
                let function = Function::start(f, &path, &env(), &log).await;
                match function.cold_start(Duration::from_secs(10)).await {
                    Some(t) => times.push(t),
                    None => panic!(
                        "{f} never asked for an invocation; its log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    ),
                }
            }
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            println!(
                "{f:<11} {}  binary {:.1} MB",
                summary(times),
                size as f64 / 1_048_576.0
            );
        }
    });
    let _ = std::fs::remove_file(log);

    // Unoptimized under `cargo test`: a tenth of the config keeps it quick.
    let files = if bench {
        testinfra::FILES
    } else {
        testinfra::FILES / 10
    };
    let (bytes, jobs) = bundle_bytes(files);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (config, _) = Bundle::load(&bytes).unwrap_or_else(|e| panic!("the bundle loads: {e}"));
        times.push(t.elapsed());
        assert_eq!(
            config.jobs.presubmit_count()
                + config.jobs.postsubmit_count()
                + config.jobs.periodics.len(),
            jobs
        );
    }
    println!(
        "{:<11} {}  bundle {:.1} MB, {jobs} jobs",
        "bundle load",
        summary(times),
        bytes.len() as f64 / 1_048_576.0
    );
}
