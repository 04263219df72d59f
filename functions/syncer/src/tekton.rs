//! Pending and aborted jobs that run as Tekton PipelineRuns: one listing
//! per cluster and namespace, the run's `Succeeded` condition
//! ([`skiff_core::prowjob::pipeline_run::decide`]), and what it calls for.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use skiff_core::ports::{Cluster, PipelineRunInfo, PortError};
use skiff_core::prowjob::labels::CREATED_BY_PROW;
use skiff_core::prowjob::pipeline_run::{
    self, RunDecision, pipeline_run_namespace, runs_as_pipeline_run,
};
use skiff_core::prowjob::pod::cluster_name;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run;
use tracing::{debug, info, warn};

use crate::Pass;
use crate::logs::BuildLog;

impl Pass<'_, '_> {
    /// Where the job's PipelineRun is: its cluster and namespace.
    pub(crate) fn run_key(&self, job: &ProwJob) -> (String, String) {
        let namespace = pipeline_run_namespace(job, self.deps.config.prow.pod_namespace());
        (cluster_name(job).to_string(), namespace.to_string())
    }

    /// One listing per cluster and namespace holding runs of pending jobs
    /// (or of aborted jobs that had one): `(cluster, namespace)` → run name
    /// → run. A key missing from the result could not be listed.
    pub(crate) async fn list_pipeline_runs(
        &mut self,
        jobs: &[Option<ProwJob>],
    ) -> BTreeMap<(String, String), HashMap<String, PipelineRunInfo>> {
        let wanted: BTreeSet<(String, String)> = jobs
            .iter()
            .flatten()
            .filter(|j| runs_as_pipeline_run(j))
            .filter(|j| match j.status.state {
                Some(ProwJobState::Pending) => true,
                // A job aborted before its run was made has no logs to keep.
                Some(ProwJobState::Aborted) => !j.status.build_id.is_empty(),
                _ => false,
            })
            .map(|j| self.run_key(j))
            .collect();
        let selector = BTreeMap::from([(CREATED_BY_PROW.to_string(), "true".to_string())]);
        let mut out = BTreeMap::new();
        for (name, namespace) in wanted {
            let Some(cluster) = self.deps.clusters.get(&name) else {
                warn!(
                    cluster = %name,
                    "tekton jobs on a cluster that is not configured; leaving them"
                );
                continue;
            };
            self.report.pipeline_run_lists += 1;
            let by_name = match cluster.list_pipeline_runs(&namespace, &selector).await {
                Ok(runs) => runs.into_iter().map(|r| (r.name.clone(), r)).collect(),
                // No run can exist where Tekton cannot run: starting the
                // job's run again ends it with the cluster's reason.
                Err(e @ PortError::Rejected(_)) => {
                    debug!(cluster = %name, namespace = %namespace, error = %e, "cluster cannot run Tekton");
                    HashMap::new()
                }
                Err(e) => {
                    warn!(cluster = %name, namespace = %namespace, error = %e, "cannot list PipelineRuns; skipping their jobs this pass");
                    self.report.failures += 1;
                    continue;
                }
            };
            out.insert((name, namespace), by_name);
        }
        out
    }

    /// Prow's pipeline `reconcile` for a pending job, given its run.
    pub(crate) async fn sync_pending_run(
        &mut self,
        mut job: ProwJob,
        run: Option<&PipelineRunInfo>,
    ) {
        let Some(cluster) = self.cluster_of(&job).cloned() else {
            return;
        };
        let (_, namespace) = self.run_key(&job);
        let mut changed = self.follow_build(&mut job, run.map(|r| &r.labels));
        match pipeline_run::decide(run) {
            RunDecision::Running { description } => {
                if description != job.status.description {
                    job.status.description = description;
                    changed = true;
                }
                if changed {
                    self.write(&job).await;
                }
            }
            RunDecision::Finished { state, description } => {
                let log = BuildLog::Run {
                    namespace: &namespace,
                    run,
                };
                self.finish(job, state, &description, log).await;
            }
            RunDecision::Missing => self.recreate_run(job, cluster.as_ref(), &namespace).await,
        }
    }

    /// Starts the run of a pending job whose run is gone (with a new build
    /// id), or ends the job once `plank.max_revivals` runs were started again.
    pub(crate) async fn recreate_run(
        &mut self,
        job: ProwJob,
        cluster: &dyn Cluster,
        namespace: &str,
    ) {
        let max = self.deps.config.prow.plank.max_revivals();
        if job.status.pod_revival_count >= max {
            let why = format!(
                "Job PipelineRun reached max revivals ({}) after going missing",
                job.status.pod_revival_count
            );
            let log = BuildLog::Run {
                namespace,
                run: None,
            };
            self.finish(job, ProwJobState::Error, &why, log).await;
            return;
        }
        self.report.pipeline_run_creates += 1;
        let started =
            run::start_pipeline_run(&job, cluster, namespace, self.deps.build_ids, self.now).await;
        self.restarted(job, started, "PipelineRun").await;
    }

    /// An aborted tekton job: save what is known of its run, delete the run
    /// (gone is fine), complete the job. `listed` is the run listing of the
    /// job's cluster and namespace, `None` if there is none.
    pub(crate) async fn complete_abort_run(
        &mut self,
        job: ProwJob,
        listed: Option<&HashMap<String, PipelineRunInfo>>,
    ) {
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
        let (_, namespace) = self.run_key(&next);
        let name = next.metadata.name.clone();
        // A job aborted before its run was created has no build and no logs.
        if !next.status.build_id.is_empty() {
            let Some(listed) = listed else {
                // The listing failed (logged): decide next pass.
                return;
            };
            let log = BuildLog::Run {
                namespace: &namespace,
                run: listed.get(&name),
            };
            if !self.save_logs(&next, log).await {
                return;
            }
        }
        if !self
            .delete_pipeline_run(cluster.as_ref(), &namespace, &name)
            .await
        {
            return;
        }
        if self.write(&next).await.is_some() {
            info!(job_id = %name, job = %next.spec.job, "aborted job completed; its PipelineRun is deleted");
            self.finished(&next);
        }
    }

    /// Deletes the run; `false` if that failed (gone, or a cluster that
    /// cannot hold one, is fine).
    pub(crate) async fn delete_pipeline_run(
        &mut self,
        cluster: &dyn Cluster,
        namespace: &str,
        name: &str,
    ) -> bool {
        self.report.pipeline_run_deletes += 1;
        match cluster.delete_pipeline_run(namespace, name).await {
            Ok(()) | Err(PortError::NotFound(_) | PortError::Rejected(_)) => true,
            Err(e) => {
                warn!(pipeline_run = name, error = %e, "cannot delete the PipelineRun");
                self.report.failures += 1;
                false
            }
        }
    }
}
