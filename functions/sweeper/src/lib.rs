//! The sweeper: Prow's sinker (`cmd/sinker/main.go`). A pass deletes old job
//! records first, then the pods that are no longer needed, on every build
//! cluster not in `sinker.exclude_clusters`.
//!
//! - A **record** is deleted when it is complete and started more than
//!   `sinker.max_prowjob_age` (7d) ago, except the latest run of every
//!   periodic still in the config: the scheduler needs it to know when the
//!   next run is due. Incomplete records are never deleted.
//! - A **pod** (label `created-by-prow=true`) is deleted when its job is
//!   complete and either the pod started more than `sinker.max_pod_age` (24h)
//!   ago or the job completed more than `sinker.terminated_pod_ttl` (default
//!   `max_pod_age`) ago. A pod whose record is gone (read again, fresh, before
//!   deciding) is an orphan and is deleted once older than 30 s, the margin
//!   Prow leaves for records not yet visible.
//!
//! - A **PipelineRun** (agent `tekton-pipeline`, label `created-by-prow=true`)
//!   is deleted when its record is gone (read again, fresh) and it is older
//!   than the same 30 s. Prow's sinker does not touch PipelineRuns; Prow's
//!   pipeline controller deletes a run once its ProwJob is deleted (by sinker
//!   after `max_prowjob_age`), so a run lives as long as its record, and so
//!   it does here: finished runs are not deleted for age like pods. Runs are
//!   looked for on the clusters and in the namespaces of the tekton jobs in
//!   the config, one listing each, so a config without tekton jobs costs no
//!   Tekton calls.
//!
//! A pod's age is its creation time as the cluster reports it, else read
//! from its build id (minted just before the pod was created), else its
//! start; a run's likewise.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use skiff_core::config::Config;
use skiff_core::ports::{Clock, Cluster, JobQuery, JobStore, PodInfo, PortError};
use skiff_core::prowjob::labels::{CREATED_BY_PROW, PROW_JOB_ID};
use skiff_core::prowjob::pod::pod_created_at;
use skiff_core::prowjob::{DEFAULT_CLUSTER_ALIAS, ProwJob, ProwJobType, TEKTON_AGENT};
use tracing::{debug, info, warn};

/// How old a pod without a record must be before it counts as an orphan.
pub const ORPHAN_GRACE: SignedDuration = SignedDuration::from_secs(30);

/// What the sweeper works with.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    /// Build clusters by name.
    pub clusters: &'a BTreeMap<String, Arc<dyn Cluster>>,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub records_deleted: usize,
    /// Old records kept because they are their periodic's latest run.
    pub latest_periodics_kept: usize,
    pub pod_lists: usize,
    /// Pods of complete jobs deleted for age.
    pub pods_deleted: usize,
    /// Pods without a record deleted.
    pub orphans_deleted: usize,
    /// Calls to a cluster's `list_pipeline_runs`.
    pub pipeline_run_lists: usize,
    /// PipelineRuns without a record deleted.
    pub pipeline_runs_deleted: usize,
    /// Calls that failed; the next pass tries again.
    pub failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing old job records: {0}")]
    ListJobs(#[source] PortError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One sweep. Fails only when the old records cannot be listed; other
/// failures are logged, counted and left for the next pass.
#[tracing::instrument(skip_all)]
pub async fn sweep(deps: &Deps<'_>) -> Result<SweepReport> {
    let now = deps.clock.now();
    let mut report = SweepReport::default();
    delete_old_records(deps, now, &mut report).await?;
    for (name, cluster) in deps.clusters {
        if deps.config.prow.sinker.exclude_clusters.contains(name) {
            debug!(cluster = %name, "excluded from sweeping");
            continue;
        }
        sweep_pods(deps, name, cluster.as_ref(), now, &mut report).await;
    }
    for (name, namespace) in tekton_places(deps.config) {
        if deps.config.prow.sinker.exclude_clusters.contains(&name) {
            continue;
        }
        let Some(cluster) = deps.clusters.get(&name) else {
            debug!(cluster = %name, "tekton jobs name a cluster that is not configured");
            continue;
        };
        sweep_pipeline_runs(deps, &name, &namespace, cluster.as_ref(), now, &mut report).await;
    }
    Ok(report)
}

/// `(cluster, namespace)` of every tekton job in the config: where its runs are.
fn tekton_places(config: &Config) -> BTreeSet<(String, String)> {
    let jobs = &config.jobs;
    let bases = jobs
        .presubmits
        .values()
        .flatten()
        .map(|j| &j.base)
        .chain(jobs.postsubmits.values().flatten().map(|j| &j.base))
        .chain(jobs.periodics.iter().map(|j| &j.base));
    bases
        .filter(|b| b.agent == TEKTON_AGENT)
        .map(|b| {
            let cluster = if b.cluster.is_empty() {
                DEFAULT_CLUSTER_ALIAS
            } else {
                &b.cluster
            };
            let namespace = b
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(config.prow.pod_namespace());
            (cluster.to_string(), namespace.to_string())
        })
        .collect()
}

/// Deletes the PipelineRuns in `namespace` whose record is gone.
async fn sweep_pipeline_runs(
    deps: &Deps<'_>,
    name: &str,
    namespace: &str,
    cluster: &dyn Cluster,
    now: Timestamp,
    report: &mut SweepReport,
) {
    let selector = BTreeMap::from([(CREATED_BY_PROW.to_string(), "true".to_string())]);
    report.pipeline_run_lists += 1;
    let runs = match cluster.list_pipeline_runs(namespace, &selector).await {
        Ok(runs) => runs,
        // A cluster that cannot run Tekton holds no runs.
        Err(PortError::Rejected(why)) => {
            debug!(
                cluster = name,
                namespace,
                why = why.as_str(),
                "no PipelineRuns to sweep"
            );
            return;
        }
        Err(e) => {
            warn!(cluster = name, namespace, error = %e, "cannot list PipelineRuns");
            report.failures += 1;
            return;
        }
    };
    for run in runs {
        let job_id = run.labels.get(PROW_JOB_ID).unwrap_or(&run.name).clone();
        match deps.store.get(&job_id).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                warn!(pipeline_run = %run.name, error = %e, "cannot read the run's job; keeping the run");
                report.failures += 1;
                continue;
            }
        }
        let created = run
            .created
            .or_else(|| pod_created_at(&run.labels))
            .or(run.start_time);
        // Skiff writes records before runs, so a run of unknown age is old.
        if created.is_some_and(|c| now.duration_since(c) <= ORPHAN_GRACE) {
            continue;
        }
        match cluster.delete_pipeline_run(namespace, &run.name).await {
            Ok(()) | Err(PortError::NotFound(_)) => {
                info!(cluster = name, namespace, pipeline_run = %run.name, "deleted a PipelineRun whose job is gone");
                report.pipeline_runs_deleted += 1;
            }
            Err(e) => {
                warn!(cluster = name, pipeline_run = %run.name, error = %e, "cannot delete the PipelineRun");
                report.failures += 1;
            }
        }
    }
}

fn duration(d: skiff_core::duration::GoDuration) -> SignedDuration {
    SignedDuration::from_nanos(d.as_nanos())
}

async fn delete_old_records(
    deps: &Deps<'_>,
    now: Timestamp,
    report: &mut SweepReport,
) -> Result<()> {
    let max_age = duration(deps.config.prow.sinker.max_prowjob_age());
    let cutoff = now.checked_sub(max_age).unwrap_or(Timestamp::MIN);
    let old = deps
        .store
        .list(&JobQuery::CompletedBefore(cutoff), None)
        .await
        .map_err(Error::ListJobs)?;
    let configured: Vec<&str> = deps
        .config
        .jobs
        .periodics
        .iter()
        .map(|p| p.base.name.as_str())
        .collect();
    // Job name → id of its latest run; `None` when it could not be read.
    let mut latest: HashMap<String, Option<String>> = HashMap::new();
    for job in old {
        if !job.is_complete() {
            continue;
        }
        let name = job.spec.job.as_str();
        if job.spec.r#type == Some(ProwJobType::Periodic) && configured.contains(&name) {
            if !latest.contains_key(name) {
                let id = latest_periodic_run(deps.store, name).await;
                if id.is_none() {
                    report.failures += 1;
                }
                latest.insert(name.to_string(), id);
            }
            match latest.get(name) {
                Some(Some(id)) if *id != job.metadata.name => {}
                // The latest run, or unknown: keep it, the scheduler needs it.
                _ => {
                    report.latest_periodics_kept += 1;
                    continue;
                }
            }
        }
        match deps.store.delete(&job.metadata.name).await {
            Ok(()) => {
                info!(job_id = %job.metadata.name, job = name, "deleted an old job record");
                report.records_deleted += 1;
            }
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "cannot delete the record");
                report.failures += 1;
            }
        }
    }
    Ok(())
}

/// The id of the periodic's latest run, `None` if it cannot be read.
async fn latest_periodic_run(store: &dyn JobStore, name: &str) -> Option<String> {
    let query = JobQuery::Job {
        name: name.to_string(),
    };
    let runs = match store.list(&query, None).await {
        Ok(runs) => runs,
        Err(e) => {
            warn!(job = name, error = %e, "cannot find the latest run; keeping its old runs");
            return None;
        }
    };
    let latest = skiff_core::plan::periodic::latest_runs(&runs);
    latest.get(name).map(|j: &&ProwJob| j.metadata.name.clone())
}

async fn sweep_pods(
    deps: &Deps<'_>,
    name: &str,
    cluster: &dyn Cluster,
    now: Timestamp,
    report: &mut SweepReport,
) {
    let selector = BTreeMap::from([(CREATED_BY_PROW.to_string(), "true".to_string())]);
    report.pod_lists += 1;
    let pods = match cluster.list_pods(&selector).await {
        Ok(pods) => pods,
        Err(e) => {
            warn!(cluster = name, error = %e, "cannot list pods");
            report.failures += 1;
            return;
        }
    };
    let sinker = &deps.config.prow.sinker;
    let max_pod_age = duration(sinker.max_pod_age());
    let ttl = duration(sinker.terminated_pod_ttl());
    for pod in pods {
        // Sinker's key: the id label, else the pod name (older pods).
        let job_id = pod.labels.get(PROW_JOB_ID).unwrap_or(&pod.name).clone();
        let record = match deps.store.get(&job_id).await {
            Ok(record) => record,
            Err(e) => {
                warn!(pod = %pod.name, error = %e, "cannot read the pod's job; keeping the pod");
                report.failures += 1;
                continue;
            }
        };
        let reason = match &record {
            None if is_older_than(&pod, ORPHAN_GRACE, now) => "orphaned",
            None => continue,
            Some(job) => {
                let Some(completed) = job.status.completion_time else {
                    // Deleting it would only make the syncer start another.
                    continue;
                };
                let aged = pod
                    .start_time
                    .is_some_and(|s| now.duration_since(s) > max_pod_age);
                let ttl_passed = now.duration_since(completed) > ttl;
                match (aged, ttl_passed) {
                    (true, _) => "aged",
                    (false, true) => "ttled",
                    (false, false) => continue,
                }
            }
        };
        match cluster.delete_pod(&pod.name).await {
            Ok(()) | Err(PortError::NotFound(_)) => {
                info!(cluster = name, pod = %pod.name, reason, "deleted a pod");
                if record.is_none() {
                    report.orphans_deleted += 1;
                } else {
                    report.pods_deleted += 1;
                }
            }
            Err(e) => {
                warn!(cluster = name, pod = %pod.name, error = %e, "cannot delete the pod");
                report.failures += 1;
            }
        }
    }
}

/// Whether the pod is older than `age`. A pod whose age cannot be told has
/// no record and was made by Skiff, which writes records before pods, so it
/// is old enough.
fn is_older_than(pod: &PodInfo, age: SignedDuration, now: Timestamp) -> bool {
    match pod
        .created
        .or_else(|| pod_created_at(&pod.labels))
        .or(pod.start_time)
    {
        Some(created) => now.duration_since(created) > age,
        None => true,
    }
}
