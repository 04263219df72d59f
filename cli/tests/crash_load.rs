//! Crash and load on one machine: a few hundred signed `pull_request`
//! webhooks posted from 16 threads to the real `skiff dev` binary, which is
//! SIGKILLed at seeded random points of each stage — while deliveries are
//! answered, while the trigger makes their jobs, while pods run, while results
//! are reported — and restarted on the same state dir. Deliveries that got no
//! 200 are sent again, unchanged, as GitHub's redelivery would (a 503 "another
//! attempt is queuing this delivery" is tried again once the claim lease, cut
//! to a second here with the hidden `--claim-lease-seconds`, has passed).
//!
//! In the end every delivery has exactly its job, and every job is final.
//! `SKIFF_CRASH_SEED` repeats a run; `SKIFF_CRASH_DELIVERIES` sets the load.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{GitHub, fake_github, http, sign, wait_for};

const SECRET: &[u8] = b"crash-secret";
const THREADS: usize = 16;
const DEFAULT_DELIVERIES: usize = 240;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

/// SplitMix64: the kill points, from the printed seed.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Dev {
    child: Option<Child>,
    url: String,
    dir: PathBuf,
    github: String,
}

impl Dev {
    fn new(dir: &Path, github: &str) -> Dev {
        std::fs::write(dir.join("config.yaml"), "plank: {}\n").expect("config");
        std::fs::write(dir.join("jobs.yaml"), JOBS).expect("jobs");
        std::fs::write(dir.join("secret"), SECRET).expect("secret");
        std::fs::write(dir.join("token"), "crash-token\n").expect("token");
        Dev {
            child: None,
            url: String::new(),
            dir: dir.to_path_buf(),
            github: github.to_string(),
        }
    }

    fn start(&mut self) {
        let port = free_port();
        let d = &self.dir;
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(d.join("state"))
            .arg("--config-path")
            .arg(d.join("config.yaml"))
            .arg("--job-config-path")
            .arg(d.join("jobs.yaml"))
            .arg("--hmac-secret-file")
            .arg(d.join("secret"))
            .arg("--github-token-file")
            .arg(d.join("token"))
            .args(["--github-api-url", &self.github])
            .args(["--sync-seconds", "1", "--tick-seconds", "3600"])
            .args(["--max-parallel", "8", "--claim-lease-seconds", "1"])
            .env("SKIFF_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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

    fn jobs(&self) -> Vec<Value> {
        let (status, body) = http("GET", &format!("{}/prowjobs.js", self.url), &[], b"");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(json!({"items": []}));
        v["items"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn opened(number: usize) -> Value {
    let sha = format!("{number:040x}");
    let repository = json!({"name": "widgets", "full_name": "acme/widgets",
        "owner": {"login": "acme", "name": "acme"}, "html_url": "https://github.com/acme/widgets"});
    let pull = json!({
        "number": number, "title": "A change", "body": "", "state": "open", "draft": false,
        "merged": false, "mergeable": true,
        "html_url": format!("https://github.com/acme/widgets/pull/{number}"),
        "user": {"login": "alice", "html_url": "https://github.com/alice"}, "labels": [],
        "head": {"sha": sha, "ref": format!("change-{number}"),
                 "repo": {"name": "widgets", "owner": {"login": "alice"}}},
        "base": {"sha": "base000", "ref": "main", "repo": repository},
    });
    json!({"action": "opened", "number": number, "pull_request": pull,
           "repository": repository, "sender": {"login": "alice"}})
}

/// The deliveries not yet answered 200, by id, with their bodies.
type Pending = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// Posts every pending delivery from [`THREADS`] threads, once each; counts
/// the answers. A delivery answered 200 (queued, or a duplicate of one that
/// was) leaves `pending`.
fn post_all(url: &str, pending: &Pending, answered: &AtomicUsize) {
    let work: Vec<(String, Vec<u8>)> = pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((delivery, body)) = work.get(i) else {
                        return;
                    };
                    let (status, _) = http(
                        "POST",
                        &format!("{url}/hook"),
                        &[
                            ("X-GitHub-Event", "pull_request".to_string()),
                            ("X-GitHub-Delivery", delivery.clone()),
                            ("X-Hub-Signature-256", sign(SECRET, body)),
                            ("Content-Type", "application/json".to_string()),
                        ],
                        body,
                    );
                    if status == 200 {
                        pending
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .remove(delivery);
                    }
                    if status != 0 {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
}

#[test]
fn sigkill_at_every_stage_loses_no_delivery_and_duplicates_no_job() {
    let seed = std::env::var("SKIFF_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    let total: usize = std::env::var("SKIFF_CRASH_DELIVERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_DELIVERIES);
    println!("crash and load: SKIFF_CRASH_SEED={seed}, {total} deliveries");
    let started = Instant::now();
    let mut draw = Draw(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_github, github_url) = fake_github(GitHub {
        members: vec!["alice".into()],
        files: vec!["main.go".into()],
        ..GitHub::default()
    });
    let pending: Pending = Arc::new(Mutex::new(
        (1..=total)
            .map(|n| {
                (
                    format!("delivery-{n:04}"),
                    serde_json::to_vec(&opened(n)).expect("JSON"),
                )
            })
            .collect(),
    ));
    let mut dev = Dev::new(dir.path(), &github_url);
    let mut kills = Vec::new();

    // Stage 1, twice: killed while deliveries are being answered.
    for round in 0..2 {
        dev.start();
        let answered = Arc::new(AtomicUsize::new(0));
        let left = pending.lock().map(|p| p.len()).unwrap_or(0);
        let kill_after = draw.between(left as u64 / 8, left as u64 / 2) as usize;
        let url = dev.url.clone();
        let poster = {
            let (pending, answered) = (pending.clone(), answered.clone());
            std::thread::spawn(move || post_all(&url, &pending, &answered))
        };
        while answered.load(Ordering::SeqCst) < kill_after && !poster.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        dev.kill9();
        let _ = poster.join();
        kills.push(format!(
            "round {round}: while answering, after {} answers",
            answered.load(Ordering::SeqCst)
        ));
    }
    // Stages 2–4: every delivery sent (again) and answered, then killed
    // while the trigger makes jobs, while pods run, while results are
    // reported — at a drawn delay after the posting ends.
    for (stage, low, high) in [
        ("triggering", 0, 300),
        ("running pods", 300, 1500),
        ("reporting", 1500, 4000),
    ] {
        dev.start();
        let answered = AtomicUsize::new(0);
        post_all(&dev.url, &pending, &answered);
        let delay = draw.between(low, high);
        std::thread::sleep(Duration::from_millis(delay));
        let jobs = dev.jobs().len();
        dev.kill9();
        kills.push(format!(
            "while {stage}: {delay} ms after the posting, {jobs} job records"
        ));
    }

    // The last start: whatever still got no 200 is redelivered until it does
    // (a 503 waits out the one-second claim lease).
    dev.start();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let answered = AtomicUsize::new(0);
        post_all(&dev.url, &pending, &answered);
        if pending.lock().map(|p| p.is_empty()).unwrap_or(false) {
            break;
        }
        assert!(
            Instant::now() < until,
            "deliveries never taken: {pending:?}"
        );
        std::thread::sleep(Duration::from_millis(1100));
    }
    let mut jobs = Vec::new();
    wait_for("every job final", Duration::from_secs(240), || {
        jobs = dev.jobs();
        jobs.len() >= total
            && jobs
                .iter()
                .all(|j| j["status"]["completionTime"].is_string())
    });

    let mut per_pull: BTreeMap<u64, usize> = BTreeMap::new();
    for j in &jobs {
        assert_eq!(j["status"]["state"], "success", "{j}");
        let number = j["spec"]["refs"]["pulls"][0]["number"]
            .as_u64()
            .expect("a presubmit's pull request");
        *per_pull.entry(number).or_default() += 1;
    }
    let lost = (1..=total as u64)
        .filter(|n| !per_pull.contains_key(n))
        .count();
    let duplicated = per_pull.values().filter(|n| **n > 1).count();
    for k in &kills {
        println!("  SIGKILL {k}");
    }
    println!(
        "crash and load: {} kill rounds, {total} deliveries: {lost} lost, {duplicated} duplicated, {} jobs all final; {:.1?}",
        kills.len(),
        jobs.len(),
        started.elapsed()
    );
    assert_eq!((lost, duplicated), (0, 0), "{per_pull:?}");
    assert_eq!(jobs.len(), total);
}
