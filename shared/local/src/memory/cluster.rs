//! The [`Cluster`] twin: pods and Tekton PipelineRuns held in memory. A
//! created pod starts `Pending` and unscheduled, and tests move it from phase
//! to phase, as a kubelet would; a created run has no status until a test
//! moves it. Every call is logged (`create <pod>`, `list`, `log <pod>`,
//! `delete <pod>`, `create-run <name>`, `list-runs <namespace>`,
//! `delete-run <name>`), so a test can pin the API calls a handler spends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use skiff_core::ports::{
    Cluster, ConditionStatus, Created, PipelineRunInfo, PipelineRunRequest, PodInfo, PodPhase,
    PodRequest, PortError, PortResult, SucceededCondition, cannot_run_tekton,
};
use skiff_core::prowjob::labels::{PROW_BUILD_ID, PROW_JOB};

use super::{Faults, lock};

/// A cluster held in memory. Created pods start `Pending` and unscheduled;
/// tests move them with [`MemoryCluster::update`]. Every call is logged as
/// `"<verb> <pod>"` (`list` for listings). It runs Tekton too: created
/// PipelineRuns have no status until a test moves them
/// ([`MemoryCluster::start_run`], [`MemoryCluster::finish_run`]); their calls are
/// logged as `create-run <name>`, `list-runs <namespace>`, `delete-run
/// <name>`.
#[derive(Default)]
pub struct MemoryCluster {
    pods: Mutex<BTreeMap<String, (PodRequest, PodInfo)>>,
    /// PipelineRuns by name.
    runs: Mutex<BTreeMap<String, (PipelineRunRequest, PipelineRunInfo)>>,
    /// PipelineRun calls get the port's default refusal, as from a cluster
    /// that cannot run Tekton.
    no_tekton: Mutex<bool>,
    logs: Mutex<BTreeMap<String, String>>,
    /// The log of a pod that has none of its own.
    default_log: Mutex<Option<String>>,
    calls: Mutex<Vec<String>>,
    /// Creates fail with this 4xx message.
    reject_creates: Mutex<Option<String>>,
    /// `pod_log` fails as if the API server were busy.
    logs_unavailable: Mutex<bool>,
    /// Every create waits here until the barrier's count of creates is in
    /// flight: creates made one at a time never get past it.
    create_gate: Mutex<Option<Arc<tokio::sync::Barrier>>>,
    faults: Faults,
}

impl MemoryCluster {
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryCluster::default())
    }

    /// What the next calls of a method (`create_pod`, `list_pods`, …) do
    /// wrong; [`Faults::down`] makes the whole cluster unreachable.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// PipelineRun calls get the port's default refusal, as from a cluster
    /// that cannot run Tekton.
    pub fn set_no_tekton(&self, no: bool) {
        *lock(&self.no_tekton) = no;
    }

    /// Every create is refused with this 4xx message (`None`: accepted).
    pub fn reject_creates(&self, message: Option<&str>) {
        *lock(&self.reject_creates) = message.map(str::to_string);
    }

    /// `pod_log` fails as if the API server were busy.
    pub fn set_logs_unavailable(&self, unavailable: bool) {
        *lock(&self.logs_unavailable) = unavailable;
    }

    /// Every create waits until `gate`'s count of creates is in flight.
    pub fn gate_creates(&self, gate: Arc<tokio::sync::Barrier>) {
        *lock(&self.create_gate) = Some(gate);
    }

    /// The log of every pod that has none of its own.
    pub fn set_default_log(&self, log: &str) {
        *lock(&self.default_log) = Some(log.to_string());
    }

    /// The kubelet started every pending pod at `at`.
    pub fn start_pending(&self, at: Timestamp) {
        for (_, info) in lock(&self.pods).values_mut() {
            if info.phase == PodPhase::Pending {
                info.phase = PodPhase::Running;
                info.created.get_or_insert(at);
                info.start_time = Some(at);
            }
        }
    }

    /// Ends the running pods of every job named `job`: `ok` succeeded, else
    /// failed.
    pub fn finish_job(&self, job: &str, ok: bool, at: Timestamp) {
        for (_, info) in lock(&self.pods).values_mut() {
            let named = info.labels.get(PROW_JOB).is_some_and(|j| j == job);
            if named && info.phase == PodPhase::Running {
                info.phase = if ok {
                    PodPhase::Succeeded
                } else {
                    PodPhase::Failed
                };
                info.all_succeeded = ok;
                info.finished_time = Some(at);
            }
        }
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

    fn check_tekton(&self, method: &str) -> PortResult<()> {
        self.faults.check(method)?;
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
impl Cluster for MemoryCluster {
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created> {
        let gate = lock(&self.create_gate).clone();
        if let Some(gate) = gate {
            gate.wait().await;
        }
        lock(&self.calls).push(format!("create {}", pod.name));
        self.faults.check("create_pod")?;
        if let Some(msg) = lock(&self.reject_creates).clone() {
            return Err(PortError::Rejected(msg.into()));
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
        self.faults.check("list_pods")?;
        Ok(lock(&self.pods)
            .values()
            .filter(|(_, info)| labels.iter().all(|(k, v)| info.labels.get(k) == Some(v)))
            .map(|(_, info)| info.clone())
            .collect())
    }

    async fn pod_log(&self, name: &str) -> PortResult<String> {
        lock(&self.calls).push(format!("log {name}"));
        self.faults.check("pod_log")?;
        if *lock(&self.logs_unavailable) {
            return Err(PortError::Unavailable("log stream reset".into()));
        }
        if let Some(log) = lock(&self.logs).get(name) {
            return Ok(log.clone());
        }
        let exists = lock(&self.pods).contains_key(name);
        match lock(&self.default_log).clone() {
            Some(log) if exists => Ok(log),
            _ => Err(PortError::NotFound(format!("pod {name}").into())),
        }
    }

    async fn delete_pod(&self, name: &str) -> PortResult<()> {
        lock(&self.calls).push(format!("delete {name}"));
        self.faults.check("delete_pod")?;
        lock(&self.pods).remove(name);
        Ok(())
    }

    async fn create_pipeline_run(&self, run: &PipelineRunRequest) -> PortResult<Created> {
        lock(&self.calls).push(format!("create-run {}", run.name));
        self.check_tekton("create_pipeline_run")?;
        if let Some(msg) = lock(&self.reject_creates).clone() {
            return Err(PortError::Rejected(msg.into()));
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
        self.check_tekton("list_pipeline_runs")?;
        Ok(lock(&self.runs)
            .values()
            .filter(|(req, _)| req.namespace == namespace)
            .filter(|(_, info)| labels.iter().all(|(k, v)| info.labels.get(k) == Some(v)))
            .map(|(_, info)| info.clone())
            .collect())
    }

    async fn delete_pipeline_run(&self, namespace: &str, name: &str) -> PortResult<()> {
        lock(&self.calls).push(format!("delete-run {name}"));
        self.check_tekton("delete_pipeline_run")?;
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

/// Clusters by name, as the handlers take them.
pub fn clusters(pairs: &[(&str, &Arc<MemoryCluster>)]) -> BTreeMap<String, Arc<dyn Cluster>> {
    pairs
        .iter()
        .map(|(name, c)| (name.to_string(), Arc::clone(c) as Arc<dyn Cluster>))
        .collect()
}
