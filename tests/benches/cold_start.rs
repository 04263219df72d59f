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
//! beforehand (`cargo build --release --bins -p skiff-webhook …`), and any
//! build of this harness can run it with `--bench`. Under `cargo test` it
//! runs each binary once and checks it reached `next`.

use std::time::Duration;

use skiff_tests::binaries::{FUNCTIONS, binary};
use skiff_tests::runtime_api::Function;

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
            let path = binary(f);
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
}
