//! Dispatcher and syncer on the embedded adapters `skiff dev` uses (SQLite
//! store and queue, filesystem logs, a manual clock), with the in-memory
//! cluster twin of `skiff_testkit`: a job from queue message to saved logs,
//! and a lost message recovered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_core::config::Config;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Clock, Cluster, JobStore, PodPhase, Queue};
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_local::fs_logs::FsLogStore;
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};
use skiff_testkit::{
    ManualClock, MemoryCluster, T0, clock_at, clusters, config, mins, presubmit, ts,
};

struct Local {
    clock: Arc<ManualClock>,
    store: SqliteStore,
    dispatch: SqliteQueue,
    logs: FsLogStore,
    dir: tempfile::TempDir,
    cluster: Arc<MemoryCluster>,
    clusters: BTreeMap<String, Arc<dyn Cluster>>,
    config: Config,
    ids: Mutex<BuildIdGenerator>,
}

impl Local {
    fn new() -> Self {
        let clock = clock_at(T0);
        let db = Db::open_in_memory().unwrap();
        let opts = QueueOptions {
            clock: clock.clone(),
            ..QueueOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let cluster = MemoryCluster::new();
        Local {
            store: SqliteStore::new(db.clone(), clock.clone()),
            dispatch: SqliteQueue::new(db, "dispatch", opts).unwrap(),
            logs: FsLogStore::new(dir.path()),
            dir,
            clusters: clusters(&[("default", &cluster)]),
            cluster,
            clock,
            config: config(),
            ids: Mutex::new(BuildIdGenerator::new()),
        }
    }

    /// Receives and handles one batch from the dispatch queue, as the
    /// Lambda event source (or `skiff dev`'s loop) does; the number handled.
    async fn dispatch_step(&self) -> usize {
        let messages = self.dispatch.receive(10).await.unwrap();
        let deps = skiff_dispatcher::Deps {
            store: &self.store,
            clusters: &self.clusters,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
        };
        let outcome = skiff_dispatcher::handle_batch(&messages, &deps).await;
        let done: Vec<String> = messages
            .iter()
            .map(|m| m.receipt.clone())
            .filter(|r| outcome.is_done(r))
            .collect();
        self.dispatch.ack(&done).await.unwrap();
        for (receipt, delay) in &outcome.retry_after {
            self.dispatch.retry_later(receipt, *delay).await.unwrap();
        }
        messages.len()
    }

    async fn sync(&self) -> skiff_syncer::SyncReport {
        let deps = skiff_syncer::Deps {
            store: &self.store,
            queue: &self.dispatch,
            clusters: &self.clusters,
            logs: &self.logs,
            config: &self.config,
            clock: self.clock.as_ref(),
            build_ids: &self.ids,
            redispatch_after: mins(2),
        };
        skiff_syncer::sync(&deps).await.unwrap()
    }

    async fn job(&self, id: &str) -> ProwJob {
        self.store.get(id).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn a_job_runs_from_its_message_to_its_logs_on_disk() {
    let l = Local::new();
    let job = presubmit(
        "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
        "pull-widgets-unit",
        42,
        ts(T0),
    );
    let id = job.metadata.name.clone();
    assert!(l.store.create(&job).await.unwrap());
    l.dispatch
        .send(&[DispatchMessage { id: id.clone() }.to_body()])
        .await
        .unwrap();

    assert_eq!(l.dispatch_step().await, 1);
    assert_eq!(l.job(&id).await.status.state, Some(ProwJobState::Pending));

    l.clock.advance(Duration::from_secs(20));
    let now = l.clock.now();
    l.cluster.update(&id, |p| {
        p.phase = PodPhase::Succeeded;
        p.all_succeeded = true;
        p.start_time = Some(now);
    });
    l.cluster.set_log(&id, "PASS\n");
    l.clock.advance(Duration::from_secs(40));
    let report = l.sync().await;
    assert_eq!((report.writes, report.finished), (1, 1));

    let done = l.job(&id).await;
    assert_eq!(done.status.state, Some(ProwJobState::Success));
    let dir = l.dir.path().join(artifact_path(&done).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.join("build-log.txt")).unwrap(),
        "PASS\n"
    );
    let finished = std::fs::read_to_string(dir.join("finished.json")).unwrap();
    assert_eq!(
        finished,
        r#"{"timestamp":1795428060,"passed":true,"result":"success","revision":"sha-3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44"}"#
    );
    assert!(dir.join("started.json").exists());
}

#[tokio::test]
async fn a_record_whose_message_was_lost_is_dispatched_after_the_syncer_resends_it() {
    let l = Local::new();
    let job = presubmit("lost", "pull-widgets-unit", 42, ts(T0));
    // The trigger wrote the record and died before sending its message.
    assert!(l.store.create(&job).await.unwrap());
    assert_eq!(l.dispatch_step().await, 0);

    l.clock.advance(mins(2));
    assert_eq!(l.sync().await.redispatched, 1);
    assert_eq!(l.dispatch_step().await, 1);
    assert_eq!(
        l.job("lost").await.status.state,
        Some(ProwJobState::Pending)
    );
    assert!(l.cluster.has("lost"));
}
