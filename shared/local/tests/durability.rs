//! `kill -9` at a random moment loses no acknowledged write, duplicates
//! nothing and leaves a sound file.
//!
//! The test re-runs its own binary as the writer: with `CHILD_ENV` set, the
//! same test function writes records and messages from several tasks, and
//! after each write returns `Ok` appends a line saying so to a log (an
//! `O_APPEND` file, which outlives the process). The parent kills it with
//! SIGKILL at a random point, reopens the database and holds it to the log.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use skiff_core::ports::SystemClock;
use skiff_core::ports::{JobQuery, JobStore, Queue};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_local::memory::ManualClock;
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};

const TEST_NAME: &str = "acknowledged_writes_survive_sigkill";
const CHILD_ENV: &str = "SKIFF_LOCAL_DURABILITY_CHILD";
const ROUNDS: usize = 4;
const QUEUE: &str = "events";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return writer(&spec).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("skiff.db");
    let started = Instant::now();
    for round in 0..ROUNDS {
        let log = dir.path().join(format!("acks-{round}.log"));
        let stderr = dir.path().join(format!("stderr-{round}.log"));
        kill_a_writer(&db, &log, &stderr, round);
        check(&db, dir.path(), round).await;
        let acks = read_acks(dir.path(), round);
        eprintln!(
            "after round {round}: {} jobs, {} messages sent, {} consumed, counter at {}",
            acks.jobs.len(),
            acks.sent.len(),
            acks.consumed.len(),
            acks.max_version
        );
    }
    drain_through_the_port(&db, dir.path()).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// The writer (child process)

struct AckLog(File);

impl AckLog {
    /// One `write` per line, so a kill leaves at worst a line without its
    /// newline, which the parent ignores.
    fn ack(&self, line: &str) {
        (&self.0).write_all(format!("{line}\n").as_bytes()).unwrap();
    }
}

fn job(id: &str) -> ProwJob {
    let mut j = ProwJob::default();
    j.metadata.name = id.into();
    j.spec.job = "durable".into();
    j.status.start_time = Some(jiff::Timestamp::now());
    j.status.state = Some(ProwJobState::Triggered);
    j
}

async fn writer(spec: &str) {
    let (db, rest) = spec.split_once('|').unwrap();
    let (log, round) = rest.split_once('|').unwrap();
    let db = Db::open(db).unwrap();
    let store = Arc::new(SqliteStore::new(db.clone(), Arc::new(SystemClock)));
    let queue = Arc::new(SqliteQueue::new(db, QUEUE, QueueOptions::default()).unwrap());
    let log = Arc::new(AckLog(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap(),
    ));
    let round = round.to_string();
    store.create(&job("counter")).await.unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    {
        let (store, log, round) = (store.clone(), log.clone(), round.clone());
        tasks.spawn(async move {
            for i in 0.. {
                let id = format!("r{round}-job-{i}");
                assert!(store.create(&job(&id)).await.unwrap(), "{id} existed");
                log.ack(&format!("job {id}"));
            }
        });
    }
    {
        let (queue, log, round) = (queue.clone(), log.clone(), round.clone());
        tasks.spawn(async move {
            for i in 0.. {
                let batch = [format!("r{round}-msg-{i}-a"), format!("r{round}-msg-{i}-b")];
                queue.send(&batch).await.unwrap();
                for body in &batch {
                    log.ack(&format!("sent {body}"));
                }
            }
        });
    }
    {
        let (queue, log) = (queue.clone(), log.clone());
        tasks.spawn(async move {
            loop {
                let got = queue.receive(3).await.unwrap();
                if got.is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                for m in &got {
                    log.ack(&format!("consuming {}", m.body));
                }
                let receipts: Vec<String> = got.iter().map(|m| m.receipt.clone()).collect();
                queue.ack(&receipts).await.unwrap();
                for m in &got {
                    log.ack(&format!("consumed {}", m.body));
                }
            }
        });
    }
    {
        let (store, log) = (store.clone(), log.clone());
        tasks.spawn(async move {
            loop {
                let mut c = store.get("counter").await.unwrap().unwrap();
                let next: u64 = c.metadata.resource_version.parse::<u64>().unwrap() + 1;
                c.status.description = next.to_string();
                let stored = store.update(&c).await.unwrap();
                log.ack(&format!("ver {}", stored.metadata.resource_version));
            }
        });
    }
    // Bounded in case the parent died before killing us.
    tokio::time::sleep(Duration::from_secs(20)).await;
    tasks.abort_all();
}

// ---------------------------------------------------------------------------
// The parent

fn kill_a_writer(db: &Path, log: &Path, stderr: &Path, round: usize) {
    let spec = format!("{}|{}|{round}", db.display(), log.display());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(stderr).unwrap())
        .spawn()
        .unwrap();
    let child_stderr = || std::fs::read_to_string(stderr).unwrap_or_default();

    // Kill once it is under way, at a moment nothing here controls.
    let deadline = Instant::now() + Duration::from_secs(5);
    while complete_lines(log).len() < 20 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("writer exited on its own ({status}):\n{}", child_stderr());
        }
        assert!(
            Instant::now() < deadline,
            "writer made no progress:\n{}",
            child_stderr()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    std::thread::sleep(Duration::from_micros(u64::from(nanos % 200_000)));
    assert!(
        child.try_wait().unwrap().is_none(),
        "writer exited before the kill:\n{}",
        child_stderr()
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "writer was not SIGKILLed: {status}"
    );
}

fn complete_lines(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    // What follows the last newline is a line the kill cut short.
    lines.pop();
    lines
}

/// Everything the logs of rounds `0..=upto` say was acknowledged.
#[derive(Default)]
struct Acks {
    jobs: BTreeSet<String>,
    sent: BTreeSet<String>,
    consuming: BTreeSet<String>,
    consumed: BTreeSet<String>,
    max_version: u64,
}

fn read_acks(dir: &Path, upto: usize) -> Acks {
    let mut acks = Acks::default();
    for round in 0..=upto {
        for line in complete_lines(&dir.join(format!("acks-{round}.log"))) {
            let (kind, value) = line.split_once(' ').unwrap();
            let value = value.to_string();
            match kind {
                "job" => assert!(acks.jobs.insert(value), "job acknowledged twice"),
                "sent" => assert!(acks.sent.insert(value), "message sent twice"),
                "consuming" => {
                    acks.consuming.insert(value);
                }
                "consumed" => {
                    acks.consumed.insert(value);
                }
                "ver" => acks.max_version = acks.max_version.max(value.parse().unwrap()),
                other => panic!("unexpected log line kind {other:?}"),
            }
        }
    }
    acks
}

/// The index in `r<round>-<kind>-<index>[-x]`.
fn index_of(id: &str) -> (String, u64) {
    let parts: Vec<&str> = id.split('-').collect();
    (parts[0].to_string(), parts[2].parse().unwrap())
}

/// Per round, the highest index acknowledged.
fn highest(ids: &BTreeSet<String>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for id in ids {
        let (round, i) = index_of(id);
        let e = out.entry(round).or_insert(0);
        *e = (*e).max(i);
    }
    out
}

/// A write the kill cut off between its commit and its log line may be in
/// the file unacknowledged: only the one after the last acknowledged.
fn assert_only_the_next_is_extra(what: &str, extra: &BTreeSet<String>, acked: &BTreeSet<String>) {
    let high = highest(acked);
    for id in extra {
        let (round, i) = index_of(id);
        let next = high.get(&round).map_or(0, |h| h + 1);
        assert_eq!(
            i, next,
            "{what} {id} is in the file but was never acknowledged"
        );
    }
}

async fn check(db_path: &Path, dir: &Path, round: usize) {
    let acks = read_acks(dir, round);
    // Opening runs WAL recovery, as a restarted `skiff dev` would.
    let db = Db::open(db_path).unwrap();
    let raw = rusqlite::Connection::open(db_path).unwrap();
    let integrity: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "round {round}: database is corrupt");

    let store = SqliteStore::new(db, Arc::new(SystemClock));
    let listed: BTreeSet<String> = store
        .list(
            &JobQuery::Job {
                name: "durable".into(),
            },
            None,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.metadata.name)
        .filter(|id| id != "counter")
        .collect();
    let missing: Vec<_> = acks.jobs.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "round {round}: acknowledged jobs lost: {missing:?}"
    );
    let extra = listed.difference(&acks.jobs).cloned().collect();
    assert_only_the_next_is_extra("job", &extra, &acks.jobs);

    let counter = store.get("counter").await.unwrap().unwrap();
    let version: u64 = counter.metadata.resource_version.parse().unwrap();
    assert!(
        version == acks.max_version || version == acks.max_version + 1,
        "round {round}: counter at version {version}, last acknowledged {}",
        acks.max_version
    );
    if version > 1 {
        assert_eq!(
            counter.status.description, counter.metadata.resource_version,
            "round {round}: record and version column written apart"
        );
    }

    let mut per_body: BTreeMap<String, i64> = BTreeMap::new();
    let mut stmt = raw
        .prepare("SELECT body, COUNT(*) FROM messages GROUP BY body")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (body, n) = row.unwrap();
        per_body.insert(body, n);
    }
    let dups: Vec<_> = per_body.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "round {round}: duplicated messages {dups:?}"
    );
    let remaining: BTreeSet<String> = per_body.into_keys().collect();
    let lost: Vec<_> = acks
        .sent
        .iter()
        .filter(|b| !remaining.contains(*b) && !acks.consuming.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "round {round}: acknowledged messages lost: {lost:?}"
    );
    let back: Vec<_> = acks.consumed.intersection(&remaining).collect();
    assert!(
        back.is_empty(),
        "round {round}: acknowledged messages came back: {back:?}"
    );
    // A send is one transaction: both bodies of a batch are in the file (or
    // were consumed), or neither is.
    let seen: BTreeSet<&String> = remaining.union(&acks.consuming).collect();
    for body in &seen {
        let twin = match body.strip_suffix('a') {
            Some(stem) => format!("{stem}b"),
            None => format!("{}a", body.trim_end_matches('b')),
        };
        assert!(
            seen.contains(&twin),
            "round {round}: {body} was stored without {twin}, sent in the same batch"
        );
    }
    let extra: BTreeSet<String> = remaining
        .difference(&acks.sent)
        .map(|b| b.trim_end_matches(['a', 'b']).to_string())
        .collect();
    let sent_batches = acks
        .sent
        .iter()
        .map(|b| b.trim_end_matches(['a', 'b']).to_string())
        .collect();
    assert_only_the_next_is_extra("message", &extra, &sent_batches);
}

/// Finally, through the port: every message left is delivered exactly once.
async fn drain_through_the_port(db_path: &Path, dir: &Path) {
    let acks = read_acks(dir, ROUNDS - 1);
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let opts = QueueOptions {
        clock: Arc::new(ManualClock::new(later)),
        ..QueueOptions::default()
    };
    let queue = SqliteQueue::open(db_path, QUEUE, opts).unwrap();
    let got = queue.receive(usize::MAX).await.unwrap();
    let bodies: BTreeSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies.len(), got.len(), "a message was delivered twice");
    assert!(
        acks.sent
            .iter()
            .all(|b| bodies.contains(b.as_str()) || acks.consuming.contains(b)),
        "the port lost a message"
    );
    assert!(
        !acks.sent.is_empty() && !acks.jobs.is_empty(),
        "the writers acknowledged nothing, so nothing was tested"
    );
}
