//! Pending and aborted jobs that run as pods: one listing per build
//! cluster, plank's decision on each pod ([`skiff_core::run::pod::decide`]),
//! and what it calls for — finish, delete, start again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use skiff_core::ports::{Cluster, PodInfo, PortError};
use skiff_core::prowjob::labels::CREATED_BY_PROW;
use skiff_core::prowjob::pod::{cluster_name, runs_in_pod};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run;
use skiff_core::run::pod::{Action, decide, max_revivals_description};
use tracing::{info, warn};

use crate::Pass;
use crate::logs::BuildLog;

impl Pass<'_, '_> {
    /// One listing per cluster that has pending jobs: pod name → pod. A
    /// cluster missing from the result could not be listed.
    pub(crate) async fn list_pods(
        &mut self,
        jobs: &[Option<ProwJob>],
    ) -> BTreeMap<String, HashMap<String, PodInfo>> {
        let mut wanted: Vec<&str> = jobs
            .iter()
            .flatten()
            .filter(|j| runs_in_pod(j) && j.status.state == Some(ProwJobState::Pending))
            .map(cluster_name)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let selector = BTreeMap::from([(CREATED_BY_PROW.to_string(), "true".to_string())]);
        let mut out = BTreeMap::new();
        for name in wanted {
            let Some(cluster) = self.deps.clusters.get(name) else {
                warn!(
                    cluster = name,
                    "pending jobs on a cluster that is not configured; leaving them"
                );
                continue;
            };
            self.report.pod_lists += 1;
            match cluster.list_pods(&selector).await {
                Ok(pods) => {
                    let by_name = pods.into_iter().map(|p| (p.name.clone(), p)).collect();
                    out.insert(name.to_string(), by_name);
                }
                Err(e) => {
                    warn!(cluster = name, error = %e, "cannot list pods; skipping its jobs this pass");
                    self.report.failures += 1;
                }
            }
        }
        out
    }

    pub(crate) fn cluster_of(&self, job: &ProwJob) -> Option<&Arc<dyn Cluster>> {
        self.deps.clusters.get(cluster_name(job))
    }

    pub(crate) async fn sync_pending(&mut self, mut job: ProwJob, pod: Option<&PodInfo>) {
        let Some(cluster) = self.cluster_of(&job).cloned() else {
            return;
        };
        let changed = self.follow_build(&mut job, pod.map(|p| &p.labels));
        let plank = &self.deps.config.prow.plank;
        match decide(&job, pod, plank, self.now) {
            Action::Wait => {
                if changed {
                    self.write(&job).await;
                }
            }
            Action::DeletePod => {
                info!(job_id = %job.metadata.name, "pod stopped unexpectedly; deleting it to start a new one");
                self.delete_pod(cluster.as_ref(), &job.metadata.name).await;
                if changed {
                    self.write(&job).await;
                }
            }
            Action::Recreate => self.recreate(job, cluster.as_ref()).await,
            Action::Finish {
                state,
                description,
                delete_pod,
            } => {
                let log = match pod {
                    Some(_) => BuildLog::Pod(cluster.as_ref()),
                    None => BuildLog::None,
                };
                let delete = (delete_pod && pod.is_some()).then_some(cluster.as_ref());
                self.finish_deleting(job, state, &description, log, delete)
                    .await;
            }
        }
    }

    pub(crate) async fn recreate(&mut self, job: ProwJob, cluster: &dyn Cluster) {
        let max = self.deps.config.prow.plank.max_revivals();
        if job.status.pod_revival_count >= max {
            let why = max_revivals_description(job.status.pod_revival_count, "missing");
            self.finish(job, ProwJobState::Error, &why, BuildLog::None)
                .await;
            return;
        }
        let namespace = self.deps.config.prow.pod_namespace();
        self.report.pod_creates += 1;
        let started = run::start_pod(&job, cluster, namespace, self.deps.build_ids, self.now).await;
        self.restarted(job, started, "pod").await;
    }

    /// Plank's `syncAbortedJob`: delete the pod (gone is fine), complete.
    pub(crate) async fn complete_abort(&mut self, job: ProwJob) {
        let mut next = job;
        if next.complete_abort(self.now).is_err() {
            return;
        }
        let cluster = self.cluster_of(&next).cloned();
        let Some(cluster) = cluster else {
            warn!(job_id = %next.metadata.name, cluster = cluster_name(&next), "aborted job on an unknown cluster; completing it");
            if self.write(&next).await.is_some() {
                self.finished(&next);
            }
            return;
        };
        // A job aborted before its pod was created has no build and no logs.
        if !next.status.build_id.is_empty()
            && !self.save_logs(&next, BuildLog::Pod(cluster.as_ref())).await
        {
            return;
        }
        if !self.delete_pod(cluster.as_ref(), &next.metadata.name).await {
            return;
        }
        if self.write(&next).await.is_some() {
            info!(job_id = %next.metadata.name, job = %next.spec.job, "aborted job completed");
            self.finished(&next);
        }
    }

    /// Deletes the pod; `false` if that failed (a pod already gone is fine).
    pub(crate) async fn delete_pod(&mut self, cluster: &dyn Cluster, name: &str) -> bool {
        self.report.pod_deletes += 1;
        match cluster.delete_pod(name).await {
            Ok(()) | Err(PortError::NotFound(_)) => true,
            Err(e) => {
                warn!(pod = name, error = %e, "cannot delete the pod");
                self.report.failures += 1;
                false
            }
        }
    }
}
