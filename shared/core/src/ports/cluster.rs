//! The cluster port: where pods run (Kubernetes, or local processes in `skiff dev`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use serde::{Deserialize, Serialize};

use super::*;

/// A pod to create: a complete Kubernetes pod, named by the job id.
#[derive(Clone, Debug, PartialEq)]
pub struct PodRequest {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: core::PodSpec,
}

/// Kubernetes' pod phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// What the syncer needs to know about a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub phase: PodPhase,
    /// When the cluster created it (`metadata.creationTimestamp`); the
    /// scheduling timeout counts from here.
    pub created: Option<Timestamp>,
    /// When the kubelet started it (unset while unscheduled).
    pub start_time: Option<Timestamp>,
    /// When its containers finished, if they did.
    pub finished_time: Option<Timestamp>,
    /// The pod is being deleted.
    pub deleting: bool,
    /// Every container terminated with exit code 0.
    pub all_succeeded: bool,
    /// A container was OOM-killed.
    pub oom_killed: bool,
    /// The node evicted the pod.
    pub evicted: bool,
    /// Why it is stuck or failed, in the cluster's words
    /// (`ErrImagePull: …`, `Unschedulable: 0/3 nodes …`).
    pub reason: Option<String>,
}

/// Whether a create made the pod (or PipelineRun) or found it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// A Tekton `PipelineRun` to create (agent `tekton-pipeline`), named by the
/// job id. `spec` is the run's whole `spec`, already substituted (see
/// [`crate::prowjob::pipeline_run`]); Kubernetes types for Tekton do not
/// exist in k8s-openapi, so it stays JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineRunRequest {
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: serde_json::Value,
}

/// The status of a Kubernetes condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    /// `Unknown`, and any value Kubernetes does not define.
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// A PipelineRun's `Succeeded` condition (Tekton's knative-style status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SucceededCondition {
    pub status: ConditionStatus,
    /// `Running`, `Succeeded`, `Failed`, `Cancelled`, `PipelineRunTimeout` …
    pub reason: String,
    pub message: String,
}

/// What the syncer needs to know about a PipelineRun.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineRunInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `status.startTime`: Tekton's controller picked the run up.
    pub start_time: Option<Timestamp>,
    /// `status.completionTime`.
    pub completion_time: Option<Timestamp>,
    /// The `Succeeded` condition; `None` while Tekton has not reported one.
    pub succeeded: Option<SucceededCondition>,
    /// The run is being deleted.
    pub deleting: bool,
}

/// Why a cluster without Tekton refuses PipelineRun calls: the default of
/// [`Cluster`]'s PipelineRun operations.
pub fn cannot_run_tekton() -> PortError {
    PortError::Rejected(
        "this build cluster cannot run Tekton PipelineRuns: agent tekton-pipeline needs a \
         Kubernetes cluster with Tekton Pipelines installed"
            .to_string()
            .into(),
    )
}

/// A build cluster: where test pods (and, on Kubernetes with Tekton, the
/// PipelineRuns of `tekton-pipeline` jobs) run.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Creates the pod; a pod of that name already there is
    /// [`Created::AlreadyExists`] (the caller adopts it).
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created>;
    /// Pods with all of these labels (one list call per sync).
    async fn list_pods(&self, labels: &BTreeMap<String, String>) -> PortResult<Vec<PodInfo>>;
    /// The pod's log (all containers, test container first).
    async fn pod_log(&self, name: &str) -> PortResult<String>;
    /// Deleting a pod that is gone is not an error.
    async fn delete_pod(&self, name: &str) -> PortResult<()>;

    /// Creates the PipelineRun in its namespace; one of that name already
    /// there is [`Created::AlreadyExists`] (the caller adopts it). A cluster
    /// that cannot run Tekton answers [`PortError::Rejected`] saying so (the
    /// default).
    async fn create_pipeline_run(&self, run: &PipelineRunRequest) -> PortResult<Created> {
        let _ = run;
        Err(cannot_run_tekton())
    }

    /// PipelineRuns in `namespace` with all of these labels (one list call).
    /// A cluster that cannot run Tekton answers [`PortError::Rejected`] (the
    /// default): no PipelineRun can exist there.
    async fn list_pipeline_runs(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> PortResult<Vec<PipelineRunInfo>> {
        let _ = (namespace, labels);
        Err(cannot_run_tekton())
    }

    /// Deletes the PipelineRun (its TaskRuns and their pods go with it).
    /// Deleting one that is gone is not an error; a cluster that cannot run
    /// Tekton answers [`PortError::Rejected`] (the default).
    async fn delete_pipeline_run(&self, namespace: &str, name: &str) -> PortResult<()> {
        let _ = (namespace, name);
        Err(cannot_run_tekton())
    }
}
