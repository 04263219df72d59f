//! `skiff bench pipeline`: signed pull request webhooks over HTTP into a
//! `skiff dev` engine, through trigger, dispatcher, local pods, syncer and
//! reporter, to the last reported status. Prints wall time, jobs/s and the
//! webhook's response latency.
//!
//! The code host is an in-memory one (every author trusted, statuses counted):
//! the benchmark measures Skiff, not GitHub.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use skiff_local::memory::{MemoryScm, ScmCall};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::dev;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pull request webhooks to send.
    #[arg(long, default_value_t = 1000)]
    pub webhooks: usize,
    /// Jobs each pull request starts (commands are `true`).
    #[arg(long, default_value_t = 3)]
    pub jobs_per_pr: usize,
    /// Webhook senders at once.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Pods running at once.
    #[arg(long, default_value_t = 16)]
    pub max_parallel: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_seconds: u64,
}

/// A job's final status: one per job, GitHub's reporter writes each state once.
fn final_status(call: &ScmCall) -> bool {
    matches!(call, ScmCall::Status { status, .. } if status.state != "pending")
}

pub fn run(args: &Args) -> ExitCode {
    let runtime = match dev::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pipeline(args)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn pipeline(args: &Args) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("skiff-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut jobs = String::from("presubmits:\n  acme/bench:\n");
    for j in 0..args.jobs_per_pr {
        jobs.push_str(&format!(
            "  - name: job{j}\n    always_run: true\n    spec: {{containers: [{{image: alpine, command: [\"true\"]}}]}}\n"
        ));
    }
    std::fs::write(dir.join("config.yaml"), "plank: {}\n").map_err(|e| e.to_string())?;
    std::fs::write(dir.join("jobs.yaml"), jobs).map_err(|e| e.to_string())?;
    let secret = b"bench-secret".to_vec();
    std::fs::write(dir.join("secret"), &secret).map_err(|e| e.to_string())?;
    let dev_args = dev::Args {
        config_path: Some(dir.join("config.yaml")),
        job_config_path: Some(dir.join("jobs.yaml")),
        plugin_config: None,
        listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        state_dir: dir.join("state"),
        hmac_secret_file: Some(dir.join("secret")),
        github_api_url: String::new(),
        github_token_file: None,
        bot: "skiff-bot".into(),
        tick_seconds: 60,
        sync_seconds: 1,
        sweep_seconds: 3600,
        tide_seconds: 3600,
        cluster: dev::ClusterChoice::Local,
        gangway_auth: Default::default(),
        max_parallel: args.max_parallel,
        reporting: dev::ReportingArgs::default(),
        deck: dev::DeckArgs::default(),
    };
    // Every author trusted; statuses counted.
    let scm = Arc::new(MemoryScm::default());
    scm.trust_everyone();
    scm.set_branch_sha("0a1b2c3d");
    let engine = dev::build_with(&dev_args, Some(scm.clone())).await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let timing = dev::Timing {
        queues: Duration::from_millis(20),
        tick: Duration::from_secs(60),
        sync: Duration::from_millis(100),
        report: Duration::from_millis(50),
        sweep: Duration::from_secs(3600),
        tide: Duration::from_secs(3600),
    };
    let loops = dev::spawn_loops(&engine, timing, stop.clone());
    // As `skiff dev` serves: its server, limits and threads.
    let server = dev::server::serve_apart(
        listener,
        dev::router(engine.clone()),
        dev::server::Limits::default(),
        stop.clone(),
    )?;

    let started = Instant::now();
    let (latencies, failures) = send_all(addr, secret, args.webhooks, args.clients).await?;
    let sent = started.elapsed();
    let expected = args.webhooks * args.jobs_per_pr;
    let deadline = started + Duration::from_secs(args.timeout_seconds);
    loop {
        let done = scm.count_calls(final_status);
        if done >= expected {
            break;
        }
        if Instant::now() > deadline {
            let _ = stop_tx.send(true);
            return Err(format!("timed out: {done} of {expected} jobs reported"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed();
    let writes = scm.count_calls(|c| matches!(c, ScmCall::Status { .. }));
    let _ = stop_tx.send(true);
    let _ = server.await;
    for l in loops {
        let _ = l.await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "pipeline: {} webhooks × {} jobs = {expected} jobs, command `true`\n\
         webhooks sent in {:.2}s ({failures} non-200)\n\
         last status reported after {:.2}s: {:.1} jobs/s\n\
         webhook latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
         status writes: {writes} ({:.2} per job)",
        args.webhooks,
        args.jobs_per_pr,
        sent.as_secs_f64(),
        wall.as_secs_f64(),
        expected as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        writes as f64 / expected.max(1) as f64,
    ))
}

/// Sends the webhooks from `clients` senders at once, as GitHub would: from
/// a thread of their own, so the time they take to send and read is not
/// taken from the engine's runtime (GitHub does not run on the machine
/// either). The latencies, sorted, and how many answers were not 200.
async fn send_all(
    addr: std::net::SocketAddr,
    secret: Vec<u8>,
    total: usize,
    clients: usize,
) -> Result<(Vec<Duration>, usize), String> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("github".into())
        .spawn(move || {
            let sent = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| rt.block_on(senders(addr, &secret, total, clients)));
            let _ = done.send(sent);
        })
        .map_err(|e| e.to_string())?;
    let (mut latencies, failures) = result.await.map_err(|e| e.to_string())??;
    latencies.sort();
    Ok((latencies, failures))
}

async fn senders(
    addr: std::net::SocketAddr,
    secret: &[u8],
    total: usize,
    clients: usize,
) -> Result<(Vec<Duration>, usize), String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..clients.max(1) {
        let (next, secret) = (next.clone(), secret.to_vec());
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let body = serde_json::to_vec(&pr_event(i)).unwrap_or_default();
                let t = Instant::now();
                let status = post(addr, &format!("bench-{i}"), &secret, &body).await;
                latencies.push(t.elapsed());
                if status != 200 {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for s in senders {
        let (l, f) = s.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failures += f;
    }
    Ok((latencies, failures))
}

fn pr_event(i: usize) -> serde_json::Value {
    let sha = format!("{i:040x}");
    let repo = json!({"name": "bench", "full_name": "acme/bench", "owner": {"login": "acme"},
                      "html_url": "https://github.com/acme/bench"});
    json!({"action": "opened", "number": i + 1, "repository": repo.clone(), "sender": {"login": "alice"},
           "pull_request": {"number": i + 1, "title": "change", "body": "", "state": "open",
             "draft": false, "merged": false, "mergeable": true, "labels": [],
             "html_url": format!("https://github.com/acme/bench/pull/{}", i + 1),
             "user": {"login": "alice"},
             "head": {"sha": sha, "ref": "change", "repo": {"name": "bench", "owner": {"login": "alice"}}},
             "base": {"sha": "0a1b2c3d", "ref": "main", "repo": repo}}})
}

async fn post(addr: std::net::SocketAddr, delivery: &str, secret: &[u8], body: &[u8]) -> u16 {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(body);
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let head = format!(
        "POST /hook HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: sha256={sig}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body).await.is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
