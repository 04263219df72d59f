//! In-memory ports for the engine's handler tests (dispatcher, syncer,
//! scheduler, sweeper include this file): a store with real compare-and-set,
//! a queue that records what was sent, a log store, a hand-driven clock, and a
//! cluster whose pods a test moves from phase to phase. Every fake counts the
//! calls made to it, so a test can pin how many API calls a handler spends.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::config::Config;
use skiff_core::ports::{
    Clock, Cluster, ConditionStatus, Created, JobQuery, JobStore, LogStore, Message,
    PipelineRunInfo, PipelineRunRequest, PodInfo, PodPhase, PodRequest, PortError, PortResult,
    Queue, SucceededCondition, cannot_run_tekton,
};
use skiff_core::prowjob::labels::PROW_BUILD_ID;
use skiff_core::prowjob::{
    KUBERNETES_AGENT, ObjectMeta, ProwJob, ProwJobSpec, ProwJobState, ProwJobStatus, ProwJobType,
    Pull, Refs, TEKTON_AGENT, TektonPipelineRunSpec,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub const T0: &str = "2026-11-23T10:00:00Z";

// ---------------------------------------------------------------------------

pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn new(at: &str) -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(ts(at))))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = lock(&self.0);
        *t = t.checked_add(by).unwrap();
    }
    pub fn set(&self, at: Timestamp) {
        *lock(&self.0) = at;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *lock(&self.0)
    }
}

pub fn mins(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

// ---------------------------------------------------------------------------

#[derive(Default)]
pub struct StoreCalls {
    pub lists: usize,
    pub gets: usize,
    pub updates: usize,
    pub creates: usize,
    pub deletes: usize,
}

/// Records keyed by id with resource versions, as the real stores do. Times
/// are kept to whole seconds, like the records' JSON.
pub struct MemStore {
    jobs: Mutex<BTreeMap<String, ProwJob>>,
    keys: Mutex<BTreeMap<String, Timestamp>>,
    clock: Arc<TestClock>,
    pub calls: Mutex<StoreCalls>,
    /// Ids whose next update loses to a concurrent writer, and what that
    /// writer changes.
    conflict_next: Mutex<Vec<(String, Interference)>>,
    pub unavailable: Mutex<bool>,
}

impl MemStore {
    pub fn new(clock: Arc<TestClock>) -> Arc<Self> {
        Arc::new(MemStore {
            jobs: Mutex::default(),
            keys: Mutex::default(),
            clock,
            calls: Mutex::default(),
            conflict_next: Mutex::default(),
            unavailable: Mutex::new(false),
        })
    }

    /// Puts a record as is (a fresh version), bypassing create's checks.
    pub fn put(&self, job: ProwJob) {
        let mut job = job;
        job.metadata.resource_version = "1".into();
        lock(&self.jobs).insert(job.metadata.name.clone(), job);
    }

    pub fn job(&self, id: &str) -> ProwJob {
        lock(&self.jobs)
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no record {id}"))
    }

    pub fn has(&self, id: &str) -> bool {
        lock(&self.jobs).contains_key(id)
    }

    pub fn ids(&self) -> Vec<String> {
        lock(&self.jobs).keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<ProwJob> {
        lock(&self.jobs).values().cloned().collect()
    }

    /// The next update of `id` fails with a conflict, as if someone (the
    /// reporter, say) wrote the record in between.
    pub fn conflict_on_next_update(&self, id: &str) {
        self.interfere(id, |_| {});
    }

    /// The next update of `id` loses to a writer that applies `change` first.
    pub fn interfere(&self, id: &str, change: impl FnOnce(&mut ProwJob) + Send + 'static) {
        lock(&self.conflict_next).push((id.to_string(), Box::new(change)));
    }

    pub fn knows_key(&self, key: &str) -> bool {
        let now = self.clock.now();
        lock(&self.keys).get(key).is_some_and(|&exp| exp > now)
    }

    fn check(&self) -> PortResult<()> {
        if *lock(&self.unavailable) {
            return Err(PortError::Unavailable("store is down".into()));
        }
        Ok(())
    }
}

type Interference = Box<dyn FnOnce(&mut ProwJob) + Send>;

fn whole_seconds(mut job: ProwJob) -> ProwJob {
    let floor = |t: &mut Option<Timestamp>| {
        if let Some(v) = t {
            *v = Timestamp::from_second(v.as_second()).unwrap();
        }
    };
    floor(&mut job.status.start_time);
    floor(&mut job.status.pending_time);
    floor(&mut job.status.completion_time);
    job
}

#[async_trait]
impl JobStore for MemStore {
    async fn create(&self, job: &ProwJob) -> PortResult<bool> {
        self.check()?;
        lock(&self.calls).creates += 1;
        let mut jobs = lock(&self.jobs);
        if jobs.contains_key(&job.metadata.name) {
            return Ok(false);
        }
        let mut job = whole_seconds(job.clone());
        job.metadata.resource_version = "1".into();
        jobs.insert(job.metadata.name.clone(), job);
        Ok(true)
    }

    async fn get(&self, id: &str) -> PortResult<Option<ProwJob>> {
        self.check()?;
        lock(&self.calls).gets += 1;
        Ok(lock(&self.jobs).get(id).cloned())
    }

    async fn update(&self, job: &ProwJob) -> PortResult<ProwJob> {
        self.check()?;
        lock(&self.calls).updates += 1;
        let id = &job.metadata.name;
        let mut jobs = lock(&self.jobs);
        let Some(stored) = jobs.get_mut(id) else {
            return Err(PortError::NotFound(id.clone()));
        };
        let mut conflicts = lock(&self.conflict_next);
        if let Some(i) = conflicts.iter().position(|(c, _)| c == id) {
            let (_, change) = conflicts.remove(i);
            change(stored);
            let v: u64 = stored.metadata.resource_version.parse().unwrap();
            stored.metadata.resource_version = (v + 1).to_string();
            return Err(PortError::Conflict(format!("{id} changed")));
        }
        if stored.metadata.resource_version != job.metadata.resource_version {
            return Err(PortError::Conflict(format!("{id} changed")));
        }
        let v: u64 = stored.metadata.resource_version.parse().unwrap();
        let mut next = whole_seconds(job.clone());
        next.metadata.resource_version = (v + 1).to_string();
        *stored = next.clone();
        Ok(next)
    }

    async fn list(&self, query: &JobQuery, limit: Option<usize>) -> PortResult<Vec<ProwJob>> {
        self.check()?;
        lock(&self.calls).lists += 1;
        let mut out: Vec<ProwJob> = lock(&self.jobs)
            .values()
            .filter(|j| match query {
                JobQuery::All => true,
                JobQuery::Pull { org, repo, number } => j.spec.refs.as_ref().is_some_and(|r| {
                    &r.org == org && &r.repo == repo && r.pulls.iter().any(|p| p.number == *number)
                }),
                JobQuery::Job { name } => &j.spec.job == name,
                JobQuery::Incomplete => !j.is_complete(),
                JobQuery::CompletedBefore(t) => {
                    j.is_complete() && j.status.start_time.is_some_and(|s| s < *t)
                }
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            (b.status.start_time, &b.metadata.name).cmp(&(a.status.start_time, &a.metadata.name))
        });
        if let Some(n) = limit {
            out.truncate(n);
        }
        Ok(out)
    }

    async fn delete(&self, id: &str) -> PortResult<()> {
        self.check()?;
        lock(&self.calls).deletes += 1;
        lock(&self.jobs).remove(id);
        Ok(())
    }

    async fn remember(&self, key: &str, expires: Timestamp) -> PortResult<bool> {
        self.check()?;
        let now = self.clock.now();
        let mut keys = lock(&self.keys);
        if keys.get(key).is_some_and(|&exp| exp > now) {
            return Ok(false);
        }
        keys.insert(key.to_string(), expires);
        Ok(true)
    }

    async fn forget(&self, key: &str) -> PortResult<()> {
        self.check()?;
        lock(&self.keys).remove(key);
        Ok(())
    }
}

// ---------------------------------------------------------------------------

#[derive(Default)]
pub struct MemQueue {
    pub sent: Mutex<Vec<String>>,
    pub sends: Mutex<usize>,
}

impl MemQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(MemQueue::default())
    }

    /// The job ids of the DispatchMessages sent so far, in order.
    pub fn sent_ids(&self) -> Vec<String> {
        lock(&self.sent)
            .iter()
            .map(|b| {
                let m: skiff_core::messages::DispatchMessage = serde_json::from_str(b).unwrap();
                m.id
            })
            .collect()
    }

    pub fn clear(&self) {
        lock(&self.sent).clear();
    }
}

#[async_trait]
impl Queue for MemQueue {
    async fn send(&self, bodies: &[String]) -> PortResult<()> {
        *lock(&self.sends) += 1;
        lock(&self.sent).extend(bodies.iter().cloned());
        Ok(())
    }
    async fn receive(&self, _max: usize) -> PortResult<Vec<Message>> {
        Ok(Vec::new())
    }
    async fn ack(&self, _receipts: &[String]) -> PortResult<()> {
        Ok(())
    }
    async fn retry_later(&self, _receipt: &str, _delay: Duration) -> PortResult<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------

#[derive(Default)]
pub struct MemLogs {
    pub files: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl MemLogs {
    pub fn new() -> Arc<Self> {
        Arc::new(MemLogs::default())
    }
    pub fn file(&self, path: &str, name: &str) -> Option<String> {
        lock(&self.files)
            .get(&(path.to_string(), name.to_string()))
            .map(|b| String::from_utf8(b.clone()).unwrap())
    }
    pub fn count(&self) -> usize {
        lock(&self.files).len()
    }
}

#[async_trait]
impl LogStore for MemLogs {
    async fn put(&self, path: &str, name: &str, bytes: &[u8]) -> PortResult<()> {
        lock(&self.files).insert((path.to_string(), name.to_string()), bytes.to_vec());
        Ok(())
    }
    async fn get(&self, path: &str, name: &str) -> PortResult<Option<Vec<u8>>> {
        Ok(lock(&self.files)
            .get(&(path.to_string(), name.to_string()))
            .cloned())
    }
}

// ---------------------------------------------------------------------------

/// A cluster held in memory. Created pods start `Pending` and unscheduled;
/// tests move them with [`FakeCluster::update`]. Every call is logged as
/// `"<verb> <pod>"` (`list` for listings). It runs Tekton too: created
/// PipelineRuns have no status until a test moves them
/// ([`FakeCluster::start_run`], [`FakeCluster::finish_run`]); their calls are
/// logged as `create-run <name>`, `list-runs <namespace>`, `delete-run
/// <name>`.
#[derive(Default)]
pub struct FakeCluster {
    pods: Mutex<BTreeMap<String, (PodRequest, PodInfo)>>,
    /// PipelineRuns by name.
    runs: Mutex<BTreeMap<String, (PipelineRunRequest, PipelineRunInfo)>>,
    /// PipelineRun calls get the port's default refusal, as from a cluster
    /// that cannot run Tekton.
    pub no_tekton: Mutex<bool>,
    logs: Mutex<BTreeMap<String, String>>,
    pub calls: Mutex<Vec<String>>,
    /// Creates fail with this 4xx message.
    pub reject_creates: Mutex<Option<String>>,
    pub unavailable: Mutex<bool>,
    /// `pod_log` fails as if the API server were busy.
    pub logs_unavailable: Mutex<bool>,
    /// Every create waits here until the barrier's count of creates is in
    /// flight: creates made one at a time never get past it.
    pub create_gate: Mutex<Option<Arc<tokio::sync::Barrier>>>,
}

impl FakeCluster {
    pub fn new() -> Arc<Self> {
        Arc::new(FakeCluster::default())
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    pub fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    pub fn count(&self, verb: &str) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| c.split(' ').next() == Some(verb))
            .count()
    }

    pub fn names(&self) -> Vec<String> {
        lock(&self.pods).keys().cloned().collect()
    }

    pub fn has(&self, name: &str) -> bool {
        lock(&self.pods).contains_key(name)
    }

    pub fn request(&self, name: &str) -> PodRequest {
        lock(&self.pods)
            .get(name)
            .map(|p| p.0.clone())
            .unwrap_or_else(|| panic!("no pod {name}"))
    }

    pub fn info(&self, name: &str) -> PodInfo {
        lock(&self.pods)
            .get(name)
            .map(|p| p.1.clone())
            .unwrap_or_else(|| panic!("no pod {name}"))
    }

    pub fn update(&self, name: &str, f: impl FnOnce(&mut PodInfo)) {
        let mut pods = lock(&self.pods);
        let pod = pods
            .get_mut(name)
            .unwrap_or_else(|| panic!("no pod {name}"));
        f(&mut pod.1);
    }

    /// A pod somebody else made (an earlier dispatcher attempt, a person).
    pub fn add(&self, name: &str, labels: &[(&str, &str)]) {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = PodRequest {
            name: name.into(),
            namespace: "test-pods".into(),
            labels: labels.clone(),
            annotations: BTreeMap::new(),
            spec: core::PodSpec::default(),
        };
        lock(&self.pods).insert(name.into(), (req, pending_pod(name, labels)));
    }

    /// Deletes without going through the port (the pod vanished).
    pub fn vanish(&self, name: &str) {
        lock(&self.pods).remove(name);
    }

    pub fn set_log(&self, name: &str, log: &str) {
        lock(&self.logs).insert(name.into(), log.into());
    }

    pub fn build_id(&self, name: &str) -> String {
        self.info(name)
            .labels
            .get(PROW_BUILD_ID)
            .cloned()
            .unwrap_or_default()
    }

    fn check(&self) -> PortResult<()> {
        if *lock(&self.unavailable) {
            return Err(PortError::Unavailable("cluster unreachable".into()));
        }
        Ok(())
    }

    fn check_tekton(&self) -> PortResult<()> {
        self.check()?;
        if *lock(&self.no_tekton) {
            return Err(cannot_run_tekton());
        }
        Ok(())
    }

    pub fn has_run(&self, name: &str) -> bool {
        lock(&self.runs).contains_key(name)
    }

    pub fn run_names(&self) -> Vec<String> {
        lock(&self.runs).keys().cloned().collect()
    }

    pub fn run_request(&self, name: &str) -> PipelineRunRequest {
        lock(&self.runs)
            .get(name)
            .map(|r| r.0.clone())
            .unwrap_or_else(|| panic!("no PipelineRun {name}"))
    }

    pub fn run_info(&self, name: &str) -> PipelineRunInfo {
        lock(&self.runs)
            .get(name)
            .map(|r| r.1.clone())
            .unwrap_or_else(|| panic!("no PipelineRun {name}"))
    }

    pub fn update_run(&self, name: &str, f: impl FnOnce(&mut PipelineRunInfo)) {
        let mut runs = lock(&self.runs);
        let run = runs
            .get_mut(name)
            .unwrap_or_else(|| panic!("no PipelineRun {name}"));
        f(&mut run.1);
    }

    /// Tekton picked the run up: started, `Succeeded` `Unknown`/`Running`.
    pub fn start_run(&self, name: &str, at: Timestamp) {
        self.update_run(name, |r| {
            r.start_time = Some(at);
            r.succeeded = Some(SucceededCondition {
                status: ConditionStatus::Unknown,
                reason: "Running".into(),
                message: "Tasks Completed: 0 (Failed: 0, Cancelled 0), Skipped: 0".into(),
            });
        });
    }

    /// The run ended with `Succeeded` `True` or `False`, `reason` and `message`.
    pub fn finish_run(
        &self,
        name: &str,
        succeeded: bool,
        reason: &str,
        message: &str,
        at: Timestamp,
    ) {
        self.update_run(name, |r| {
            r.start_time.get_or_insert(at);
            r.completion_time = Some(at);
            r.succeeded = Some(SucceededCondition {
                status: if succeeded {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                },
                reason: reason.into(),
                message: message.into(),
            });
        });
    }

    /// A run somebody else made (an earlier dispatcher attempt, a person).
    pub fn add_run(&self, name: &str, namespace: &str, labels: &[(&str, &str)]) {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let req = PipelineRunRequest {
            name: name.into(),
            namespace: namespace.into(),
            labels: labels.clone(),
            annotations: BTreeMap::new(),
            spec: serde_json::json!({}),
        };
        lock(&self.runs).insert(name.into(), (req, fresh_run(name, labels)));
    }

    /// Deletes a run without going through the port (it vanished).
    pub fn vanish_run(&self, name: &str) {
        lock(&self.runs).remove(name);
    }
}

fn fresh_run(name: &str, labels: BTreeMap<String, String>) -> PipelineRunInfo {
    PipelineRunInfo {
        name: name.into(),
        labels,
        created: None,
        start_time: None,
        completion_time: None,
        succeeded: None,
        deleting: false,
    }
}

fn pending_pod(name: &str, labels: BTreeMap<String, String>) -> PodInfo {
    PodInfo {
        name: name.into(),
        labels,
        phase: PodPhase::Pending,
        created: None,
        start_time: None,
        finished_time: None,
        deleting: false,
        all_succeeded: false,
        oom_killed: false,
        evicted: false,
        reason: None,
    }
}

#[async_trait]
impl Cluster for FakeCluster {
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created> {
        let gate = lock(&self.create_gate).clone();
        if let Some(gate) = gate {
            gate.wait().await;
        }
        lock(&self.calls).push(format!("create {}", pod.name));
        self.check()?;
        if let Some(msg) = lock(&self.reject_creates).clone() {
            return Err(PortError::Rejected(msg));
        }
        let mut pods = lock(&self.pods);
        if pods.contains_key(&pod.name) {
            return Ok(Created::AlreadyExists);
        }
        pods.insert(
            pod.name.clone(),
            (pod.clone(), pending_pod(&pod.name, pod.labels.clone())),
        );
        Ok(Created::Created)
    }

    async fn list_pods(&self, labels: &BTreeMap<String, String>) -> PortResult<Vec<PodInfo>> {
        lock(&self.calls).push("list".into());
        self.check()?;
        Ok(lock(&self.pods)
            .values()
            .filter(|(_, info)| labels.iter().all(|(k, v)| info.labels.get(k) == Some(v)))
            .map(|(_, info)| info.clone())
            .collect())
    }

    async fn pod_log(&self, name: &str) -> PortResult<String> {
        lock(&self.calls).push(format!("log {name}"));
        self.check()?;
        if *lock(&self.logs_unavailable) {
            return Err(PortError::Unavailable("log stream reset".into()));
        }
        lock(&self.logs)
            .get(name)
            .cloned()
            .ok_or_else(|| PortError::NotFound(name.into()))
    }

    async fn delete_pod(&self, name: &str) -> PortResult<()> {
        lock(&self.calls).push(format!("delete {name}"));
        self.check()?;
        lock(&self.pods).remove(name);
        Ok(())
    }

    async fn create_pipeline_run(&self, run: &PipelineRunRequest) -> PortResult<Created> {
        lock(&self.calls).push(format!("create-run {}", run.name));
        self.check_tekton()?;
        if let Some(msg) = lock(&self.reject_creates).clone() {
            return Err(PortError::Rejected(msg));
        }
        let mut runs = lock(&self.runs);
        if runs.contains_key(&run.name) {
            return Ok(Created::AlreadyExists);
        }
        runs.insert(
            run.name.clone(),
            (run.clone(), fresh_run(&run.name, run.labels.clone())),
        );
        Ok(Created::Created)
    }

    async fn list_pipeline_runs(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> PortResult<Vec<PipelineRunInfo>> {
        lock(&self.calls).push(format!("list-runs {namespace}"));
        self.check_tekton()?;
        Ok(lock(&self.runs)
            .values()
            .filter(|(req, _)| req.namespace == namespace)
            .filter(|(_, info)| labels.iter().all(|(k, v)| info.labels.get(k) == Some(v)))
            .map(|(_, info)| info.clone())
            .collect())
    }

    async fn delete_pipeline_run(&self, namespace: &str, name: &str) -> PortResult<()> {
        lock(&self.calls).push(format!("delete-run {name}"));
        self.check_tekton()?;
        let mut runs = lock(&self.runs);
        if runs
            .get(name)
            .is_some_and(|(req, _)| req.namespace == namespace)
        {
            runs.remove(name);
        }
        Ok(())
    }
}

pub fn clusters(pairs: &[(&str, &Arc<FakeCluster>)]) -> BTreeMap<String, Arc<dyn Cluster>> {
    pairs
        .iter()
        .map(|(name, c)| (name.to_string(), Arc::clone(c) as Arc<dyn Cluster>))
        .collect()
}

// ---------------------------------------------------------------------------
// Records

pub fn pod_spec() -> core::PodSpec {
    core::PodSpec {
        containers: vec![core::Container {
            name: "main".into(),
            image: Some("golang:1.23".into()),
            command: Some(vec!["make".into(), "test".into()]),
            ..core::Container::default()
        }],
        ..core::PodSpec::default()
    }
}

/// A triggered presubmit of `job` for PR `pr`, started at `start`.
pub fn presubmit(id: &str, job: &str, pr: i64, start: Timestamp) -> ProwJob {
    ProwJob {
        api_version: "prow.k8s.io/v1".into(),
        kind: "ProwJob".into(),
        metadata: ObjectMeta {
            name: id.into(),
            ..ObjectMeta::default()
        },
        spec: ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            agent: KUBERNETES_AGENT.into(),
            job: job.into(),
            context: job.into(),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                base_ref: "main".into(),
                base_sha: "0a1b2c".into(),
                pulls: vec![Pull {
                    number: pr,
                    author: "alice".into(),
                    sha: format!("sha-{id}"),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            pod_spec: Some(pod_spec()),
            ..ProwJobSpec::default()
        },
        status: ProwJobStatus {
            start_time: Some(start),
            state: Some(ProwJobState::Triggered),
            ..ProwJobStatus::default()
        },
    }
}

/// A triggered periodic of `job`, started at `start`.
pub fn periodic(id: &str, job: &str, start: Timestamp) -> ProwJob {
    let mut pj = presubmit(id, job, 0, start);
    pj.spec.r#type = Some(ProwJobType::Periodic);
    pj.spec.refs = None;
    pj
}

/// A PipelineRun spec with a git checkout of the job's refs and one test task.
pub fn pipeline_run_spec() -> serde_json::Value {
    serde_json::json!({
        "pipelineSpec": {
            "tasks": [
                {"name": "checkout", "taskRef": {"name": "PROW_IMPLICIT_GIT_REF"}},
                {"name": "unit", "runAfter": ["checkout"], "taskRef": {"name": "go-test"}}
            ]
        }
    })
}

/// A triggered presubmit of agent `tekton-pipeline`, run in `namespace`.
pub fn tekton_presubmit(id: &str, job: &str, pr: i64, start: Timestamp) -> ProwJob {
    let mut pj = presubmit(id, job, pr, start);
    pj.spec.agent = TEKTON_AGENT.into();
    pj.spec.pod_spec = None;
    pj.spec.namespace = "tekton-ci".into();
    pj.spec.tekton_pipeline_run_spec = Some(TektonPipelineRunSpec {
        v1beta1: Some(pipeline_run_spec()),
    });
    pj
}

/// `job` moved to pending as the dispatcher would have, with build id `build`.
pub fn pending(mut job: ProwJob, build: &str, at: Timestamp) -> ProwJob {
    job.status.state = Some(ProwJobState::Pending);
    job.status.pending_time = Some(at);
    job.status.build_id = build.into();
    job.status.pod_name = job.metadata.name.clone();
    job.status.description = "Job triggered.".into();
    job
}

pub fn complete(mut job: ProwJob, state: ProwJobState, at: Timestamp) -> ProwJob {
    job.status.state = Some(state);
    job.status.completion_time = Some(at);
    job
}

pub fn config() -> Config {
    let mut c = Config::default();
    c.prow.pod_namespace = "test-pods".into();
    c.prow.skiff.deck_url = "https://ci.example.com".into();
    c
}
