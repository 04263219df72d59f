//! The shared JobStore and Queue suites against the SQLite adapters, in
//! memory and in a file, on their own and sharing one file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use skiff_core::ports::SystemClock;
use skiff_core::ports::{Message, PortResult, Queue};
use skiff_local::conformance::{QueueHarness, job_store_conformance, queue_conformance};
use skiff_local::memory::ManualClock;
use skiff_local::memory::{MemoryQueue, MemoryStore};
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};

/// SQLite queues on a manual clock: time passes without sleeping.
struct Harness {
    db: Db,
    clock: Arc<ManualClock>,
    visibility_timeout: Duration,
    max_receives: u32,
}

impl Harness {
    fn new(db: Db, visibility_timeout: Duration, max_receives: u32) -> Self {
        let start: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        Harness {
            db,
            clock: Arc::new(ManualClock::new(start)),
            visibility_timeout,
            max_receives,
        }
    }

    fn sqlite_queue(&self, name: &str) -> PortResult<SqliteQueue> {
        let opts = QueueOptions {
            visibility_timeout: self.visibility_timeout,
            max_receives: self.max_receives,
            clock: self.clock.clone(),
        };
        SqliteQueue::new(self.db.clone(), name, opts)
    }
}

#[async_trait]
impl QueueHarness for Harness {
    async fn queue(&self, name: &str) -> PortResult<Box<dyn Queue>> {
        Ok(Box::new(self.sqlite_queue(name)?))
    }

    async fn dead_letters(&self, name: &str) -> PortResult<Vec<String>> {
        self.sqlite_queue(name)?.dead_letters().await
    }

    async fn pass(&self, d: Duration) {
        self.clock.advance(d);
    }

    fn visibility_timeout(&self) -> Duration {
        self.visibility_timeout
    }

    fn max_receives(&self) -> u32 {
        self.max_receives
    }
}

#[tokio::test]
async fn job_store_in_memory() {
    job_store_conformance(&SqliteStore::open_in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_store_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    job_store_conformance(&SqliteStore::open(dir.path().join("skiff.db")).unwrap()).await;
}

#[tokio::test]
async fn queue_in_memory() {
    let h = Harness::new(Db::open_in_memory().unwrap(), Duration::from_secs(30), 5);
    queue_conformance(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_in_a_file_with_other_limits() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new(
        Db::open(dir.path().join("skiff.db")).unwrap(),
        Duration::from_millis(4_000),
        7,
    );
    queue_conformance(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_and_queues_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skiff.db");
    let db = Db::open(&path).unwrap();
    let store = SqliteStore::new(db.clone(), Arc::new(SystemClock));
    let h = Harness::new(db, Duration::from_secs(30), 5);
    tokio::join!(job_store_conformance(&store), queue_conformance(&h));

    // The suites left exactly their dead letter behind, and it is in the file.
    let reopened = SqliteQueue::open(&path, "conformance-dlq", QueueOptions::default()).unwrap();
    assert_eq!(reopened.dead_letters().await.unwrap(), vec!["poison"]);
}

// ---------------------------------------------------------------------------
// The in-memory twins run the same suites: a twin that drifts from SQLite and
// DynamoDB fails here, not in some handler test that trusted it.

#[tokio::test]
async fn job_store_twin() {
    let start: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    job_store_conformance(&MemoryStore::new(clock)).await;
}

/// Memory queues by name on a manual clock; a name always means one queue.
struct TwinHarness {
    queues: std::sync::Mutex<std::collections::HashMap<String, Arc<MemoryQueue>>>,
    clock: Arc<ManualClock>,
    visibility_timeout: Duration,
    max_receives: u32,
}

impl TwinHarness {
    fn new(visibility_timeout: Duration, max_receives: u32) -> Self {
        TwinHarness {
            queues: Default::default(),
            clock: Arc::new(ManualClock::new("2026-03-01T12:00:00Z".parse().unwrap())),
            visibility_timeout,
            max_receives,
        }
    }

    fn named(&self, name: &str) -> Arc<MemoryQueue> {
        let mut queues = self.queues.lock().unwrap();
        queues
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(MemoryQueue::with_limits(
                    self.clock.clone(),
                    self.visibility_timeout,
                    self.max_receives,
                ))
            })
            .clone()
    }
}

/// One of the harness's queues, handed out as the suite wants it.
struct Named(Arc<MemoryQueue>);

#[async_trait]
impl Queue for Named {
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        self.0.send(bodies).await
    }
    async fn receive(&self, max: usize) -> PortResult<Vec<Message>> {
        self.0.receive(max).await
    }
    async fn ack(&self, receipts: &[String]) -> PortResult<()> {
        self.0.ack(receipts).await
    }
    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()> {
        self.0.retry_later(receipt, delay).await
    }
    async fn send_delayed(&self, bodies: &[String], delay: Duration) -> PortResult<()> {
        self.0.send_delayed(bodies, delay).await
    }
}

#[async_trait]
impl QueueHarness for TwinHarness {
    async fn queue(&self, name: &str) -> PortResult<Box<dyn Queue>> {
        Ok(Box::new(Named(self.named(name))))
    }

    async fn dead_letters(&self, name: &str) -> PortResult<Vec<String>> {
        Ok(self.named(name).dead_letters())
    }

    async fn pass(&self, d: Duration) {
        self.clock.advance(d);
    }

    fn visibility_timeout(&self) -> Duration {
        self.visibility_timeout
    }

    fn max_receives(&self) -> u32 {
        self.max_receives
    }
}

#[tokio::test]
async fn queue_twin() {
    queue_conformance(&TwinHarness::new(Duration::from_secs(30), 5)).await;
}

#[tokio::test]
async fn queue_twin_with_other_limits() {
    queue_conformance(&TwinHarness::new(Duration::from_millis(4_000), 7)).await;
}
