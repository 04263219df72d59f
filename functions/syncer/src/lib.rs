//! The syncer: Prow plank's reconciliation of running jobs
//! (`syncPendingJob`, `syncAbortedJob` and `terminateDupes` in
//! `pkg/plank/reconciler.go`, `TerminateOlderJobs` in `pkg/pjutil/abort.go`),
//! as one pass over every incomplete job. The Lambda runs a pass every minute;
//! `skiff dev` every few seconds.
//!
//! A pass costs one listing of the incomplete records, one pod listing per
//! build cluster that has pending jobs, and one compare-and-set per job that
//! changes (a write that loses to another writer skips the job until the next
//! pass). In order:
//!
//! 1. **Superseded presubmits.** Among incomplete presubmits with the same
//!    job, `org/repo@base_ref` and set of pull numbers (extra refs too), all
//!    but the newest by start time are `aborted`, marked as already reported
//!    to GitHub so the old commit never shows "aborted".
//! 2. **Pending jobs**, against their pod:
//!    - `Succeeded` → `success` "Job succeeded." if every container exited 0,
//!      else `error`; `Failed` → `failure` "Job failed.";
//!    - not scheduled for `pod_unscheduled_timeout` (5m) → `error` "Pod
//!      scheduling timeout."; started but still `Pending` for
//!      `pod_pending_timeout` (10m) → `error` "Pod pending timeout." (with the
//!      pod's reason when it gives one); `Running` for `pod_running_timeout`
//!      (48h) → `aborted` "Pod running timeout."; all three delete the pod and
//!      take per-job values from `decoration_config`;
//!    - OOM-killed (a container of a running pod) → `error`; evicted →
//!      `error` with `error_on_eviction`, else the pod is deleted and, once
//!      gone, recreated with a new build id; the phase `Unknown` and an
//!      unreachable node (`NodeLost`) likewise;
//!    - pod missing → recreated with a new build id;
//!    - pod being deleted while the job runs → `error` "Pod got deleted
//!      unexpectedly".
//! 3. **Aborted jobs** not yet complete: the pod is deleted, the job completed.
//! 4. **Triggered jobs** older than [`Deps::redispatch_after`] whose message
//!    is not known to be alive are sent to the dispatcher again, so a crash
//!    between writing a record and queueing it loses nothing.
//!
//! Before a job that had a pod becomes final, its log is copied to the log
//! store as `build-log.txt`, with `started.json` and `finished.json`, under
//! the job's artifact path: the logs exist before the sweeper deletes the pod.
//! A log that stays unreadable for 10 minutes (a node that stopped answering)
//! no longer holds the job: `build-log.txt` then says why it is missing. A
//! decision that deletes the pod deletes it before the record is written, as
//! plank does, so a failed delete is retried by the next pass.
//!
//! # Jobs run as Tekton PipelineRuns (agent `tekton-pipeline`)
//!
//! Prow's pipeline controller, with the rules and differences written down in
//! [`skiff_core::prowjob::pipeline_run`]. A pass lists PipelineRuns
//! (`created-by-prow=true`) once per cluster and namespace that has pending
//! tekton jobs (or aborted ones that had a run), and none where there are
//! none, so pod-only setups make no Tekton calls:
//! - the `Succeeded` condition decides: `True` → `success`, `False` →
//!   `failure` (cancelled and timed-out runs too), otherwise the job stays
//!   `pending` and its description follows the condition's message, written
//!   only when it changes; Prow's descriptions ("scheduling", "running" …)
//!   where the condition has none; a run that completed without the
//!   condition → `error` "missing end condition";
//! - no pod timeouts apply: Prow applies none to PipelineRuns, whose own
//!   `timeouts` end them (as a failure);
//! - run missing → created again with a new build id, as Prow does, counted
//!   like a revived pod up to `plank.max_revivals` (Prow has no limit); a run
//!   being deleted under an unfinished job → `error` "PipelineRun got deleted
//!   unexpectedly" (Prow would try to create it again and fail on the name);
//! - aborted → the run is deleted, then the job completed (Prow cancels it
//!   and never completes the job); superseded presubmits follow the rule
//!   above, not Prow's pipeline-controller dedupe of every job type;
//! - a run has no single log: `build-log.txt` states the run's namespace and
//!   name, its final `Succeeded` condition (reason: message) and where its
//!   task pods' logs are, so the artifact layout (`started.json`,
//!   `finished.json`, `build-log.txt`) stays complete.
//!
//! A cluster that cannot run Tekton (its listing is refused) holds no runs:
//! its pending tekton jobs are started again and end as `error` with the
//! cluster's reason.
//!
//! # Differences from Prow, on purpose
//!
//! - **Revival count.** Plank increments `pod_revival_count` and then returns
//!   before writing the record, so the count never reaches `max_revivals`
//!   and an evicted job is revived forever. Skiff counts every pod it
//!   recreates for a pending job (after an eviction, an unknown phase, a lost
//!   node, or a pod that vanished) and writes the count with the new build
//!   id; once `plank.max_revivals` pods were recreated, the next unexpected
//!   stop ends the job as `error` "Job pod reached max revivals (N) after
//!   being stopped unexpectedly (cause)".
//! - **`ContainerCannotRun` / `StartError`.** Plank maps every `Failed` pod to `failure`.
//!   A pod whose container could not even start (a missing executable, a bad
//!   mount) did not run the test, so Skiff makes it `error` with the
//!   cluster's reason as the description.
//! - **Pending timeout reason.** "Pod pending timeout." becomes "Pod pending
//!   timeout: <reason>" when the pod says why (`ErrImagePull: …`).
//! - **Pod age.** The scheduling timeout counts from the pod's creation time
//!   as the cluster reports it; a cluster that does not report one has it
//!   read from the pod's build id
//!   ([`skiff_core::prowjob::pod::pod_created_at`]), else the job's pending
//!   time is used.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use skiff_core::config::Config;
use skiff_core::config::prow::Plank;
use skiff_core::duration::GoDuration;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{
    Clock, Cluster, JobQuery, JobStore, LogStore, PipelineRunInfo, PodInfo, PodPhase, PortError,
    PortResult, Queue,
};
use skiff_core::prowjob::artifacts::{
    self, BUILD_LOG, FINISHED_JSON, STARTED_JSON, artifact_path, job_url,
};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::labels::{CREATED_BY_PROW, PROW_BUILD_ID};
use skiff_core::prowjob::pipeline_run::{
    self, RunDecision, pipeline_run_namespace, runs_as_pipeline_run,
};
use skiff_core::prowjob::pod::{cluster_name, pod_created_at, runs_in_pod};
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Refs};
use skiff_dispatcher::{PodStart, is_dispatched, start_pipeline_run, start_pod, waiting_key};
use tracing::{debug, info, warn};

/// crier's GitHub reporter name (`GitHubReporterName`), the key under which
/// a superseded job is marked as already reported.
pub const GITHUB_REPORTER: &str = "github-reporter";

/// What the syncer works with.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    /// The `dispatch` queue.
    pub queue: &'a dyn Queue,
    /// Build clusters by the name jobs use in `cluster:`.
    pub clusters: &'a BTreeMap<String, Arc<dyn Cluster>>,
    pub logs: &'a dyn LogStore,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    /// The same generator the dispatcher uses in this process.
    pub build_ids: &'a Mutex<BuildIdGenerator>,
    /// A triggered job this old whose message is not known to be alive is
    /// sent to the dispatcher again (at most once per this period).
    pub redispatch_after: Duration,
}

/// What one pass did: the calls it made and what came of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Incomplete jobs of the kubernetes and tekton-pipeline agents looked at.
    pub jobs: usize,
    /// Calls to the store's `list`.
    pub store_lists: usize,
    /// Calls to a cluster's `list_pods`.
    pub pod_lists: usize,
    /// Calls to a cluster's `list_pipeline_runs`.
    pub pipeline_run_lists: usize,
    /// PipelineRuns created again (a run that went missing).
    pub pipeline_run_creates: usize,
    /// PipelineRuns deleted (aborted jobs).
    pub pipeline_run_deletes: usize,
    /// Compare-and-set writes made (won or lost).
    pub writes: usize,
    /// Writes lost to another writer; those jobs wait for the next pass.
    pub conflicts: usize,
    pub pod_creates: usize,
    pub pod_deletes: usize,
    /// Calls to a cluster's `pod_log`.
    pub pod_logs: usize,
    /// Files written to the log store.
    pub log_puts: usize,
    /// Jobs that reached a final state (or completed their abort).
    pub finished: usize,
    /// Presubmits aborted because a newer run of the same change exists.
    pub superseded: usize,
    /// Triggered jobs sent to the dispatcher again.
    pub redispatched: usize,
    /// Calls that failed and will be tried again next pass.
    pub failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing incomplete jobs: {0}")]
    ListJobs(#[source] PortError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One pass over every incomplete job. Fails only when the jobs cannot be
/// listed; anything else that fails is logged, counted and retried next pass.
#[tracing::instrument(skip_all)]
pub async fn sync(deps: &Deps<'_>) -> Result<SyncReport> {
    // A pass's state machine is large (every per-job step inlined); on the
    // heap it does not weigh on the caller's stack.
    Box::pin(sync_pass(deps)).await
}

async fn sync_pass(deps: &Deps<'_>) -> Result<SyncReport> {
    let now = deps.clock.now();
    let mut pass = Pass {
        deps,
        now,
        report: SyncReport::default(),
    };
    let listed = deps.store.list(&JobQuery::Incomplete, None).await;
    pass.report.store_lists += 1;
    let mut jobs: Vec<Option<ProwJob>> = listed
        .map_err(Error::ListJobs)?
        .into_iter()
        .filter(|j| is_dispatched(j) && !j.is_complete())
        .map(Some)
        .collect();
    pass.report.jobs = jobs.len();

    pass.abort_superseded(&mut jobs).await;
    let pods = pass.list_pods(&jobs).await;
    let runs = pass.list_pipeline_runs(&jobs).await;

    let mut redispatch = Vec::new();
    for job in jobs.into_iter().flatten() {
        let as_run = runs_as_pipeline_run(&job);
        match job.status.state {
            Some(ProwJobState::Pending) if as_run => {
                let Some(listed) = runs.get(&pass.run_key(&job)) else {
                    // Unknown cluster or failed listing: already logged.
                    continue;
                };
                let run = listed.get(&job.metadata.name);
                pass.sync_pending_run(job, run).await;
            }
            Some(ProwJobState::Aborted) if as_run => {
                let listed = runs.get(&pass.run_key(&job));
                pass.complete_abort_run(job, listed).await;
            }
            Some(ProwJobState::Pending) => {
                let cluster = cluster_name(&job).to_string();
                let Some(listed) = pods.get(&cluster) else {
                    // Unknown cluster or failed listing: already logged.
                    continue;
                };
                let pod = listed.get(&job.metadata.name);
                pass.sync_pending(job, pod).await;
            }
            Some(ProwJobState::Aborted) => pass.complete_abort(job).await,
            Some(ProwJobState::Triggered) if pass.needs_redispatch(&job).await => {
                redispatch.push(job.metadata.name.clone());
            }
            _ => {}
        }
    }
    pass.redispatch(redispatch).await;
    Ok(pass.report)
}

struct Pass<'d, 'a> {
    deps: &'d Deps<'a>,
    now: Timestamp,
    report: SyncReport,
}

/// What a pending job's pod calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    /// Nothing to do yet.
    Wait,
    /// End the job in `state` with `description`; delete the pod afterwards.
    Finish {
        state: ProwJobState,
        description: String,
        delete_pod: bool,
    },
    /// The pod stopped unexpectedly: delete it, recreate it once gone.
    DeletePod,
    /// No pod: create a new one.
    Recreate,
}

impl Pass<'_, '_> {
    // -- superseded presubmits --------------------------------------------

    async fn abort_superseded(&mut self, jobs: &mut [Option<ProwJob>]) {
        let all: Vec<&ProwJob> = jobs.iter().flatten().collect();
        let older: Vec<String> = superseded(&all)
            .into_iter()
            .map(|j| j.metadata.name.clone())
            .collect();
        for slot in jobs.iter_mut() {
            let Some(job) = slot.take_if(|j| older.contains(&j.metadata.name)) else {
                continue;
            };
            let mut next = job.clone();
            // Prow's TerminateOlderJobs changes the state only.
            let description = next.status.description.clone();
            if next
                .transition(ProwJobState::Aborted, self.now, &description)
                .is_err()
            {
                *slot = Some(job);
                continue;
            }
            next.status
                .prev_report_states
                .insert(GITHUB_REPORTER.to_string(), ProwJobState::Aborted);
            if let Some(stored) = self.write(&next).await {
                info!(job_id = %stored.metadata.name, job = %stored.spec.job, "aborted: superseded by a newer run");
                self.report.superseded += 1;
                // Completed below, in this pass, like any aborted job.
                *slot = Some(stored);
            }
        }
    }

    // -- pods ---------------------------------------------------------------

    /// One listing per cluster that has pending jobs: pod name → pod. A
    /// cluster missing from the result could not be listed.
    async fn list_pods(
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

    fn cluster_of(&self, job: &ProwJob) -> Option<&Arc<dyn Cluster>> {
        self.deps.clusters.get(cluster_name(job))
    }

    // -- PipelineRuns -------------------------------------------------------

    /// Where the job's PipelineRun is: its cluster and namespace.
    fn run_key(&self, job: &ProwJob) -> (String, String) {
        let namespace = pipeline_run_namespace(job, self.deps.config.prow.pod_namespace());
        (cluster_name(job).to_string(), namespace.to_string())
    }

    /// One listing per cluster and namespace holding runs of pending jobs
    /// (or of aborted jobs that had one): `(cluster, namespace)` → run name
    /// → run. A key missing from the result could not be listed.
    async fn list_pipeline_runs(
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
    async fn sync_pending_run(&mut self, mut job: ProwJob, run: Option<&PipelineRunInfo>) {
        let Some(cluster) = self.cluster_of(&job).cloned() else {
            return;
        };
        let (_, namespace) = self.run_key(&job);
        // As for pods: the run's build id is the one its logs are filed under.
        let mut changed = false;
        if let Some(build) = run.and_then(|r| r.labels.get(PROW_BUILD_ID))
            && !build.is_empty()
            && *build != job.status.build_id
        {
            job.status.build_id = build.clone();
            job.status.url = job_url(&self.deps.config.prow.skiff.deck_url, &job);
            changed = true;
        }
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
    async fn recreate_run(&mut self, job: ProwJob, cluster: &dyn Cluster, namespace: &str) {
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
            start_pipeline_run(&job, cluster, namespace, self.deps.build_ids, self.now).await;
        self.restarted(job, started, "PipelineRun", Some(pipeline_run::SCHEDULING))
            .await;
    }

    /// An aborted tekton job: save what is known of its run, delete the run
    /// (gone is fine), complete the job. `listed` is the run listing of the
    /// job's cluster and namespace, `None` if there is none.
    async fn complete_abort_run(
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
                self.report.finished += 1;
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
            self.report.finished += 1;
        }
    }

    /// Deletes the run; `false` if that failed (gone, or a cluster that
    /// cannot hold one, is fine).
    async fn delete_pipeline_run(
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

    // -- pending jobs -------------------------------------------------------

    async fn sync_pending(&mut self, mut job: ProwJob, pod: Option<&PodInfo>) {
        let Some(cluster) = self.cluster_of(&job).cloned() else {
            return;
        };
        // The pod's build id is the truth: a recreated pod whose record write
        // was lost carries the id the logs will be filed under.
        let mut changed = false;
        if let Some(build) = pod.and_then(|p| p.labels.get(PROW_BUILD_ID))
            && !build.is_empty()
            && *build != job.status.build_id
        {
            job.status.build_id = build.clone();
            job.status.url = job_url(&self.deps.config.prow.skiff.deck_url, &job);
            changed = true;
        }
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

    /// Moves the job to a final state after saving its logs; the stored
    /// record, or `None` if the job is left for the next pass.
    async fn finish(
        &mut self,
        job: ProwJob,
        state: ProwJobState,
        description: &str,
        log: BuildLog<'_>,
    ) -> Option<ProwJob> {
        self.finish_deleting(job, state, description, log, None)
            .await
    }

    /// [`Pass::finish`], deleting the pod on `delete` after its logs are
    /// saved and before the record is written, as plank does: a delete that
    /// fails leaves the job pending, and the next pass decides the same again
    /// and retries it, where deleting after the write would leave a pod
    /// running for a finished job until the sweeper's day-long TTL. The
    /// write that follows a delete must not be lost to a concurrent writer
    /// (the next pass would find the pod gone and start a new one), so it is
    /// retried on a fresh copy of the record.
    async fn finish_deleting(
        &mut self,
        job: ProwJob,
        state: ProwJobState,
        description: &str,
        log: BuildLog<'_>,
        delete: Option<&dyn Cluster>,
    ) -> Option<ProwJob> {
        let mut next = job;
        if let Err(e) = finished(&mut next, state, description, self.now) {
            warn!(job_id = %next.metadata.name, error = %e, "cannot finish the job");
            return None;
        }
        if !self.save_logs(&next, log).await {
            return None;
        }
        let stored = match delete {
            None => self.write(&next).await?,
            Some(cluster) => {
                if !self.delete_pod(cluster, &next.metadata.name).await {
                    return None;
                }
                self.write_after_delete(next, state, description).await?
            }
        };
        info!(
            job_id = %stored.metadata.name,
            job = %stored.spec.job,
            state = state.as_str(),
            description,
            "job finished"
        );
        self.report.finished += 1;
        Some(stored)
    }

    async fn recreate(&mut self, job: ProwJob, cluster: &dyn Cluster) {
        let max = self.deps.config.prow.plank.max_revivals();
        if job.status.pod_revival_count >= max {
            let why = max_revivals_description(job.status.pod_revival_count, "missing");
            self.finish(job, ProwJobState::Error, &why, BuildLog::None)
                .await;
            return;
        }
        let namespace = self.deps.config.prow.pod_namespace();
        self.report.pod_creates += 1;
        let started = start_pod(&job, cluster, namespace, self.deps.build_ids, self.now).await;
        self.restarted(job, started, "pod", None).await;
    }

    /// Records the outcome of starting a missing pod or run (`what`) again:
    /// the new build id and one more revival, or the job's end when the
    /// cluster refuses it. A pod or run that already exists (still being
    /// deleted, or made since the listing) is looked at next pass.
    async fn restarted(
        &mut self,
        job: ProwJob,
        started: PortResult<PodStart>,
        what: &str,
        description: Option<&str>,
    ) {
        match started {
            Ok(PodStart::Created { build_id }) => {
                let mut next = job;
                next.status.build_id = build_id;
                next.status.pod_revival_count += 1;
                if let Some(description) = description {
                    next.status.description = description.to_string();
                }
                next.status.url = job_url(&self.deps.config.prow.skiff.deck_url, &next);
                info!(
                    job_id = %next.metadata.name,
                    build_id = %next.status.build_id,
                    revival = next.status.pod_revival_count,
                    "{what} was missing; started a new one"
                );
                self.write(&next).await;
            }
            Ok(PodStart::AlreadyExists) => {}
            Ok(PodStart::Unprocessable(why)) => {
                self.finish(job, ProwJobState::Error, &why, BuildLog::None)
                    .await;
            }
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "cannot start the {what} again");
                self.report.failures += 1;
            }
        }
    }

    // -- aborted jobs -------------------------------------------------------

    /// Plank's `syncAbortedJob`: delete the pod (gone is fine), complete.
    async fn complete_abort(&mut self, job: ProwJob) {
        let mut next = job;
        if next.complete_abort(self.now).is_err() {
            return;
        }
        let cluster = self.cluster_of(&next).cloned();
        let Some(cluster) = cluster else {
            warn!(job_id = %next.metadata.name, cluster = cluster_name(&next), "aborted job on an unknown cluster; completing it");
            if self.write(&next).await.is_some() {
                self.report.finished += 1;
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
            self.report.finished += 1;
        }
    }

    // -- triggered jobs -----------------------------------------------------

    async fn needs_redispatch(&mut self, job: &ProwJob) -> bool {
        let Ok(wait) = SignedDuration::try_from(self.deps.redispatch_after) else {
            return false;
        };
        let started = job.status.start_time.unwrap_or(Timestamp::MIN);
        if self.now.duration_since(started) < wait {
            return false;
        }
        let Ok(expires) = self.now.checked_add(wait) else {
            return false;
        };
        // Known key: the dispatcher deferred it lately, or we sent it lately.
        match self
            .deps
            .store
            .remember(&waiting_key(&job.metadata.name), expires)
            .await
        {
            Ok(fresh) => fresh,
            Err(e) => {
                debug!(job_id = %job.metadata.name, error = %e, "cannot check the waiting lease");
                self.report.failures += 1;
                false
            }
        }
    }

    async fn redispatch(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let bodies: Vec<String> = ids
            .iter()
            .map(|id| DispatchMessage { id: id.clone() }.to_body())
            .collect();
        match self.deps.queue.send(&bodies).await {
            Ok(()) => {
                info!(
                    count = ids.len(),
                    "sent triggered jobs to the dispatcher again"
                );
                self.report.redispatched += ids.len();
            }
            Err(e) => {
                warn!(error = %e, "cannot send triggered jobs again");
                self.report.failures += 1;
                // Let the next pass try again rather than wait out the lease.
                for id in &ids {
                    let _ = self.deps.store.forget(&waiting_key(id)).await;
                }
            }
        }
    }

    // -- effects ------------------------------------------------------------

    /// Compare-and-set; `None` when it lost or failed (the job waits).
    /// Writes a finished job whose pod is already deleted, re-applying the
    /// decision to a fresh copy when another writer got there first.
    async fn write_after_delete(
        &mut self,
        job: ProwJob,
        state: ProwJobState,
        description: &str,
    ) -> Option<ProwJob> {
        let mut next = job;
        for _ in 0..WRITE_ATTEMPTS {
            self.report.writes += 1;
            match self.deps.store.update(&next).await {
                Ok(stored) => return Some(stored),
                Err(PortError::Conflict(_)) => {
                    self.report.conflicts += 1;
                    let fresh = match self.deps.store.get(&next.metadata.name).await {
                        Ok(Some(fresh)) => fresh,
                        Ok(None) => return None,
                        Err(e) => {
                            warn!(job_id = %next.metadata.name, error = %e, "cannot reread the record");
                            self.report.failures += 1;
                            return None;
                        }
                    };
                    if fresh.is_complete() {
                        return Some(fresh);
                    }
                    next = fresh;
                    if let Err(e) = finished(&mut next, state, description, self.now) {
                        warn!(job_id = %next.metadata.name, error = %e, "cannot finish the job");
                        return None;
                    }
                }
                Err(e) => {
                    warn!(job_id = %next.metadata.name, error = %e, "cannot write the record");
                    self.report.failures += 1;
                    return None;
                }
            }
        }
        warn!(job_id = %next.metadata.name, "record kept changing; its pod is deleted, next pass");
        None
    }

    async fn write(&mut self, job: &ProwJob) -> Option<ProwJob> {
        self.report.writes += 1;
        match self.deps.store.update(job).await {
            Ok(stored) => Some(stored),
            Err(PortError::Conflict(_)) => {
                debug!(job_id = %job.metadata.name, "record changed meanwhile; next pass");
                self.report.conflicts += 1;
                None
            }
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "cannot write the record");
                self.report.failures += 1;
                None
            }
        }
    }

    /// Whether reading this build's log has failed for [`LOG_PATIENCE`].
    ///
    /// Two dedupe keys keep the count across passes (and Lambda
    /// invocations): the first failure remembers `failing` and opens a window
    /// of `LOG_PATIENCE`; a failure after that window has closed gives up.
    async fn gave_up_on_log(&mut self, job: &ProwJob) -> bool {
        let id = format!("{}/{}", job.metadata.name, job.status.build_id);
        let (failing, window) = (format!("log-failing/{id}"), format!("log-window/{id}"));
        let later = |d: Duration| {
            SignedDuration::try_from(d)
                .ok()
                .and_then(|d| self.now.checked_add(d).ok())
                .unwrap_or(Timestamp::MAX)
        };
        let (forget_after, window_end) = (later(LOG_PATIENCE * 24), later(LOG_PATIENCE));
        match self.deps.store.remember(&failing, forget_after).await {
            Ok(true) => {
                let _ = self.deps.store.remember(&window, window_end).await;
                false
            }
            Ok(false) => matches!(
                self.deps.store.remember(&window, window_end).await,
                Ok(true)
            ),
            Err(_) => false,
        }
    }

    /// Deletes the pod; `false` if that failed (a pod already gone is fine).
    async fn delete_pod(&mut self, cluster: &dyn Cluster, name: &str) -> bool {
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

    /// Writes `build-log.txt` as `log` says, then `started.json` and
    /// `finished.json`. `false` if a retryable call failed: the job must not
    /// become final without them.
    async fn save_logs(&mut self, job: &ProwJob, log: BuildLog<'_>) -> bool {
        let path = match artifact_path(job) {
            Ok(path) => path,
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "no artifact path; logs not saved");
                return true;
            }
        };
        let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
        if let BuildLog::Run { namespace, run } = log {
            let text = pipeline_run::build_log(job, namespace, run);
            files.push((BUILD_LOG, text.into_bytes()));
        }
        if let BuildLog::Pod(cluster) = log {
            self.report.pod_logs += 1;
            match cluster.pod_log(&job.metadata.name).await {
                Ok(log) => files.push((BUILD_LOG, log.into_bytes())),
                Err(e @ (PortError::NotFound(_) | PortError::Rejected(_))) => {
                    debug!(job_id = %job.metadata.name, error = %e, "no pod log to save");
                }
                Err(e) => {
                    self.report.failures += 1;
                    if !self.gave_up_on_log(job).await {
                        warn!(job_id = %job.metadata.name, error = %e, "cannot read the pod log; next pass");
                        return false;
                    }
                    // A node that stopped answering keeps its pods' logs out
                    // of reach; the job must end anyway.
                    warn!(job_id = %job.metadata.name, error = %e, "pod log unreadable for too long; finishing without it");
                    let note = format!(
                        "Skiff could not read the log of pod {} for {} minutes: {e}\n",
                        job.metadata.name,
                        LOG_PATIENCE.as_secs() / 60
                    );
                    files.push((BUILD_LOG, note.into_bytes()));
                }
            }
        }
        files.push((STARTED_JSON, artifacts::started(job).to_json()));
        if let Some(finished) = artifacts::finished(job) {
            files.push((FINISHED_JSON, finished.to_json()));
        }
        for (name, bytes) in files {
            self.report.log_puts += 1;
            match self.deps.logs.put(&path, name, &bytes).await {
                Ok(()) => {}
                // Refused for good (a path the store will never take): the
                // job must not wait on it forever.
                Err(e @ PortError::Rejected(_)) => {
                    warn!(job_id = %job.metadata.name, file = name, error = %e, "log store refused the file");
                }
                Err(e) => {
                    warn!(job_id = %job.metadata.name, file = name, error = %e, "cannot save logs; next pass");
                    self.report.failures += 1;
                    return false;
                }
            }
        }
        true
    }
}

/// Where a finishing job's `build-log.txt` comes from.
#[derive(Clone, Copy)]
enum BuildLog<'a> {
    /// None is written (the job never had a pod or run).
    None,
    /// The log of the job's pod on this cluster.
    Pod(&'a dyn Cluster),
    /// The summary of the job's PipelineRun in `namespace`
    /// ([`pipeline_run::build_log`]); `run` as last listed, if it was.
    Run {
        namespace: &'a str,
        run: Option<&'a PipelineRunInfo>,
    },
}

// ---------------------------------------------------------------------------
// Decisions, pure

/// Plank's `PodUnexpectedStopCause`, in its order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopCause {
    Evicted,
    Unreachable,
    OomKilled,
    Unknown,
}

impl StopCause {
    fn as_str(self) -> &'static str {
        match self {
            StopCause::Evicted => "evicted",
            StopCause::Unreachable => "unreachable",
            StopCause::OomKilled => "oomkilled",
            StopCause::Unknown => "unknown",
        }
    }
}

/// How long a pod's log may stay unreadable (a 5xx from an unreachable
/// kubelet) before its job finishes without it.
const LOG_PATIENCE: Duration = Duration::from_secs(10 * 60);

/// Compare-and-set attempts for a record whose pod is already deleted.
const WRITE_ATTEMPTS: usize = 3;

/// Moves `job` to its final `state` (an aborted job is completed too).
fn finished(
    job: &mut ProwJob,
    state: ProwJobState,
    description: &str,
    now: Timestamp,
) -> Result<(), skiff_core::prowjob::state::TransitionError> {
    job.transition(state, now, description)?;
    match state {
        ProwJobState::Aborted => job.complete_abort(now),
        _ => Ok(()),
    }
}

/// The reason Kubernetes gives a pod whose node stopped answering.
const NODE_LOST: &str = "NodeLost";
/// The container reasons of a container that could not be started: Docker
/// says `ContainerCannotRun`, containerd (EKS and most clusters today)
/// `StartError`.
const COULD_NOT_START: [&str; 2] = ["ContainerCannotRun", "StartError"];

fn stop_cause(pod: &PodInfo) -> Option<StopCause> {
    let reason = pod.reason.as_deref().unwrap_or("");
    if pod.evicted {
        return Some(StopCause::Evicted);
    }
    if reason.starts_with(NODE_LOST) && pod.deleting {
        return Some(StopCause::Unreachable);
    }
    // Plank looks for OOM kills only while the pod runs; a failed pod that
    // was OOM-killed is a failure like any other.
    if pod.phase == PodPhase::Running && pod.oom_killed {
        return Some(StopCause::OomKilled);
    }
    if pod.phase == PodPhase::Unknown {
        return Some(StopCause::Unknown);
    }
    None
}

fn max_revivals_description(count: i64, cause: &str) -> String {
    format!("Job pod reached max revivals ({count}) after being stopped unexpectedly ({cause})")
}

/// A per-job override from `decoration_config`, else plank's value.
fn limit(job_value: Option<GoDuration>, plank_value: GoDuration) -> SignedDuration {
    SignedDuration::from_nanos(job_value.unwrap_or(plank_value).as_nanos())
}

/// Plank's `syncPendingJob`, as a decision on one pending job and its pod.
fn decide(job: &ProwJob, pod: Option<&PodInfo>, plank: &Plank, now: Timestamp) -> Action {
    let finish = |state, description: &str, delete_pod| Action::Finish {
        state,
        description: description.to_string(),
        delete_pod,
    };
    let revivals = job.status.pod_revival_count;
    let Some(pod) = pod else {
        return Action::Recreate;
    };
    if let Some(cause) = stop_cause(pod) {
        return match cause {
            StopCause::OomKilled => finish(
                ProwJobState::Error,
                "Job pod was OOM killed by the cluster.",
                false,
            ),
            StopCause::Evicted if job.spec.error_on_eviction => finish(
                ProwJobState::Error,
                "Job pod was evicted by the cluster.",
                false,
            ),
            _ if revivals >= plank.max_revivals() => finish(
                ProwJobState::Error,
                &max_revivals_description(revivals, cause.as_str()),
                false,
            ),
            // Already going: recreate once it is gone.
            _ if pod.deleting => Action::Wait,
            _ => Action::DeletePod,
        };
    }

    let decoration = job.spec.decoration_config.as_ref();
    let age = |since: Timestamp| now.duration_since(since);
    let action = match pod.phase {
        PodPhase::Succeeded if pod.all_succeeded => {
            finish(ProwJobState::Success, "Job succeeded.", false)
        }
        PodPhase::Succeeded => finish(
            ProwJobState::Error,
            "Pod was in succeeded phase but some containers didn't finish",
            false,
        ),
        PodPhase::Failed => match pod.reason.as_deref() {
            Some(reason) if COULD_NOT_START.iter().any(|r| reason.starts_with(r)) => {
                finish(ProwJobState::Error, reason, false)
            }
            _ => finish(ProwJobState::Failure, "Job failed.", false),
        },
        PodPhase::Pending => match pod.start_time {
            None => {
                let timeout = limit(
                    decoration.and_then(|d| d.pod_unscheduled_timeout),
                    plank.pod_unscheduled_timeout(),
                );
                let created = pod
                    .created
                    .or_else(|| pod_created_at(&pod.labels))
                    .filter(|&t| t <= now)
                    .or(job.status.pending_time);
                match created {
                    Some(t) if age(t) >= timeout => {
                        finish(ProwJobState::Error, "Pod scheduling timeout.", true)
                    }
                    _ => Action::Wait,
                }
            }
            Some(started) => {
                let timeout = limit(
                    decoration.and_then(|d| d.pod_pending_timeout),
                    plank.pod_pending_timeout(),
                );
                if age(started) >= timeout {
                    let description = match pod.reason.as_deref() {
                        Some(reason) if !reason.is_empty() => {
                            format!("Pod pending timeout: {reason}")
                        }
                        _ => "Pod pending timeout.".to_string(),
                    };
                    finish(ProwJobState::Error, &description, true)
                } else {
                    Action::Wait
                }
            }
        },
        PodPhase::Running if pod.deleting => Action::Wait,
        PodPhase::Running => {
            let timeout = limit(
                decoration.and_then(|d| d.pod_running_timeout),
                plank.pod_running_timeout(),
            );
            match pod.start_time {
                Some(started) if age(started) >= timeout => {
                    finish(ProwJobState::Aborted, "Pod running timeout.", true)
                }
                _ => Action::Wait,
            }
        }
        PodPhase::Unknown => Action::Wait,
    };
    if action == Action::Wait && pod.deleting {
        return finish(ProwJobState::Error, "Pod got deleted unexpectedly", false);
    }
    action
}

/// Prow's `TerminateOlderJobs`: the presubmits (pending or triggered) that a
/// newer run of the same job on the same refs supersedes. Equal start times
/// are broken by id, so the choice does not depend on listing order.
fn superseded<'a>(jobs: &[&'a ProwJob]) -> Vec<&'a ProwJob> {
    let mut newest: HashMap<String, &ProwJob> = HashMap::new();
    let mut older = Vec::new();
    let order = |j: &ProwJob| (j.status.start_time, j.metadata.name.clone());
    for &job in jobs {
        let running = matches!(
            job.status.state,
            Some(ProwJobState::Pending | ProwJobState::Triggered)
        );
        if job.spec.r#type != Some(ProwJobType::Presubmit) || !running || job.is_complete() {
            continue;
        }
        let key = dedupe_key(job);
        match newest.get(&key) {
            None => {
                newest.insert(key, job);
            }
            Some(&current) if order(current) < order(job) => {
                older.push(current);
                newest.insert(key, job);
            }
            Some(_) => older.push(job),
        }
    }
    older
}

/// What makes two runs "the same": type, job, and each refs' `org/repo`,
/// base ref and sorted pull numbers (not the SHAs: a new push is the point).
fn dedupe_key(job: &ProwJob) -> String {
    let digest = |r: &Refs| {
        let mut pulls: Vec<i64> = r.pulls.iter().map(|p| p.number).collect();
        pulls.sort_unstable();
        format!("{}/{}@{} {:?}", r.org, r.repo, r.base_ref, pulls)
    };
    let mut parts = vec![
        job.spec.r#type.map_or("", ProwJobType::as_str).to_string(),
        job.spec.job.clone(),
    ];
    parts.extend(job.spec.refs.iter().map(digest));
    parts.extend(job.spec.extra_refs.iter().map(digest));
    parts.sort();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::{DecorationConfig, Pull};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_795_428_000 + secs).unwrap()
    }

    fn job() -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = "j".into();
        j.spec.r#type = Some(ProwJobType::Presubmit);
        j.status.state = Some(ProwJobState::Pending);
        j.status.pending_time = Some(at(0));
        j
    }

    fn pod(phase: PodPhase) -> PodInfo {
        PodInfo {
            name: "j".into(),
            labels: BTreeMap::new(),
            phase,
            created: Some(at(0)),
            start_time: Some(at(0)),
            finished_time: None,
            deleting: false,
            all_succeeded: false,
            oom_killed: false,
            evicted: false,
            reason: None,
        }
    }

    fn finish(state: ProwJobState, description: &str, delete_pod: bool) -> Action {
        Action::Finish {
            state,
            description: description.into(),
            delete_pod,
        }
    }

    /// Plank's phase mapping and timeouts (`TestSyncPendingJob` in
    /// `pkg/plank/controller_test.go`), with default limits.
    #[test]
    fn pod_states_map_to_job_states() {
        use ProwJobState::*;
        let plank = Plank::default();
        let p = |phase, f: &dyn Fn(&mut PodInfo)| {
            let mut pod = pod(phase);
            f(&mut pod);
            pod
        };
        let cases: Vec<(&str, PodInfo, i64, Action)> = vec![
            (
                "succeeded",
                p(PodPhase::Succeeded, &|p| p.all_succeeded = true),
                60,
                finish(Success, "Job succeeded.", false),
            ),
            (
                "succeeded but a container did not",
                p(PodPhase::Succeeded, &|_| {}),
                60,
                finish(
                    Error,
                    "Pod was in succeeded phase but some containers didn't finish",
                    false,
                ),
            ),
            (
                "failed",
                p(PodPhase::Failed, &|p| p.reason = Some("Error".into())),
                60,
                finish(Failure, "Job failed.", false),
            ),
            (
                "failed: OOM in a failed pod is a failure",
                p(PodPhase::Failed, &|p| p.oom_killed = true),
                60,
                finish(Failure, "Job failed.", false),
            ),
            (
                "container cannot run",
                p(PodPhase::Failed, &|p| {
                    p.reason = Some("ContainerCannotRun: exec: \"mak\": not found".into())
                }),
                60,
                finish(Error, "ContainerCannotRun: exec: \"mak\": not found", false),
            ),
            (
                "containerd start error",
                p(PodPhase::Failed, &|p| {
                    p.reason = Some(
                        "StartError: failed to create containerd task: exec: \"mak\": not found"
                            .into(),
                    )
                }),
                60,
                finish(
                    Error,
                    "StartError: failed to create containerd task: exec: \"mak\": not found",
                    false,
                ),
            ),
            (
                "unscheduled, young",
                p(PodPhase::Pending, &|p| p.start_time = None),
                299,
                Action::Wait,
            ),
            (
                "unscheduled for 5m",
                p(PodPhase::Pending, &|p| p.start_time = None),
                300,
                finish(Error, "Pod scheduling timeout.", true),
            ),
            (
                "pending, young",
                p(PodPhase::Pending, &|_| {}),
                599,
                Action::Wait,
            ),
            (
                "pending for 10m",
                p(PodPhase::Pending, &|_| {}),
                600,
                finish(Error, "Pod pending timeout.", true),
            ),
            (
                "pending for 10m with a reason",
                p(PodPhase::Pending, &|p| {
                    p.reason = Some("ErrImagePull: manifest unknown".into())
                }),
                600,
                finish(
                    Error,
                    "Pod pending timeout: ErrImagePull: manifest unknown",
                    true,
                ),
            ),
            (
                "running",
                p(PodPhase::Running, &|_| {}),
                48 * 3600 - 1,
                Action::Wait,
            ),
            (
                "running for 48h",
                p(PodPhase::Running, &|_| {}),
                48 * 3600,
                finish(Aborted, "Pod running timeout.", true),
            ),
            (
                "running, not started",
                p(PodPhase::Running, &|p| p.start_time = None),
                100 * 3600,
                Action::Wait,
            ),
            (
                "running and OOM killed",
                p(PodPhase::Running, &|p| p.oom_killed = true),
                60,
                finish(Error, "Job pod was OOM killed by the cluster.", false),
            ),
            (
                "evicted",
                p(PodPhase::Failed, &|p| {
                    p.evicted = true;
                    p.reason = Some("Evicted".into())
                }),
                60,
                Action::DeletePod,
            ),
            (
                "evicted, already deleting",
                p(PodPhase::Failed, &|p| {
                    p.evicted = true;
                    p.deleting = true
                }),
                60,
                Action::Wait,
            ),
            (
                "unknown phase",
                p(PodPhase::Unknown, &|_| {}),
                60,
                Action::DeletePod,
            ),
            (
                "node lost while deleting",
                p(PodPhase::Running, &|p| {
                    p.reason = Some("NodeLost".into());
                    p.deleting = true
                }),
                60,
                Action::Wait,
            ),
            (
                "node lost, not deleting, is just running",
                p(PodPhase::Running, &|p| p.reason = Some("NodeLost".into())),
                60,
                Action::Wait,
            ),
            (
                "running and deleted",
                p(PodPhase::Running, &|p| p.deleting = true),
                60,
                finish(Error, "Pod got deleted unexpectedly", false),
            ),
            (
                "pending and deleted",
                p(PodPhase::Pending, &|p| p.deleting = true),
                60,
                finish(Error, "Pod got deleted unexpectedly", false),
            ),
            (
                "succeeded while deleting still succeeds",
                p(PodPhase::Succeeded, &|p| {
                    p.all_succeeded = true;
                    p.deleting = true
                }),
                60,
                finish(Success, "Job succeeded.", false),
            ),
        ];
        for (name, pod, secs, want) in cases {
            assert_eq!(decide(&job(), Some(&pod), &plank, at(secs)), want, "{name}");
        }
        assert_eq!(
            decide(&job(), None, &plank, at(1)),
            Action::Recreate,
            "missing pod"
        );
    }

    #[test]
    fn per_job_timeouts_override_plank() {
        let mut j = job();
        j.spec.decoration_config = Some(DecorationConfig {
            pod_pending_timeout: Some(GoDuration::from_mins(30)),
            pod_unscheduled_timeout: Some(GoDuration::from_mins(1)),
            pod_running_timeout: Some(GoDuration::from_hours(1)),
            ..DecorationConfig::default()
        });
        let plank = Plank::default();
        let started = pod(PodPhase::Pending);
        assert_eq!(
            decide(&j, Some(&started), &plank, at(600)),
            Action::Wait,
            "10m < 30m"
        );
        assert_eq!(
            decide(&j, Some(&started), &plank, at(1800)),
            finish(ProwJobState::Error, "Pod pending timeout.", true)
        );
        let mut unscheduled = pod(PodPhase::Pending);
        unscheduled.start_time = None;
        assert_eq!(
            decide(&j, Some(&unscheduled), &plank, at(60)),
            finish(ProwJobState::Error, "Pod scheduling timeout.", true)
        );
        assert_eq!(
            decide(&j, Some(&pod(PodPhase::Running)), &plank, at(3600)),
            finish(ProwJobState::Aborted, "Pod running timeout.", true)
        );
        // And plank's own values apply to every job without an override.
        let plank = Plank {
            pod_running_timeout: Some(GoDuration::from_hours(2)),
            ..Plank::default()
        };
        assert_eq!(
            decide(&job(), Some(&pod(PodPhase::Running)), &plank, at(7200)),
            finish(ProwJobState::Aborted, "Pod running timeout.", true)
        );
    }

    #[test]
    fn unscheduled_age_counts_from_the_pods_creation_then_its_build_id() {
        use skiff_core::prowjob::build_id::BuildIdGenerator;
        let plank = Plank::default();
        let mut j = job();
        // The job went pending long ago; this pod was made a minute ago.
        j.status.pending_time = Some(at(-3600));
        let mut young = pod(PodPhase::Pending);
        young.start_time = None;
        young.created = Some(at(240));
        assert_eq!(decide(&j, Some(&young), &plank, at(300)), Action::Wait);
        assert_eq!(
            decide(&j, Some(&young), &plank, at(540)),
            finish(ProwJobState::Error, "Pod scheduling timeout.", true)
        );
        // A cluster that does not say when: the build id tells.
        young.created = None;
        let id = BuildIdGenerator::new().next(at(240).as_millisecond());
        young.labels.insert(PROW_BUILD_ID.into(), id);
        assert_eq!(decide(&j, Some(&young), &plank, at(300)), Action::Wait);
        assert_eq!(
            decide(&j, Some(&young), &plank, at(540)),
            finish(ProwJobState::Error, "Pod scheduling timeout.", true)
        );
        // Without a usable build id, the pending time is the pod's age.
        young.labels.clear();
        assert_eq!(
            decide(&j, Some(&young), &plank, at(300)),
            finish(ProwJobState::Error, "Pod scheduling timeout.", true)
        );
    }

    #[test]
    fn unexpected_stops_end_the_job_at_max_revivals() {
        let plank = Plank::default();
        let mut j = job();
        let mut evicted = pod(PodPhase::Failed);
        evicted.evicted = true;
        j.status.pod_revival_count = 2;
        assert_eq!(decide(&j, Some(&evicted), &plank, at(1)), Action::DeletePod);
        j.status.pod_revival_count = 3;
        assert_eq!(
            decide(&j, Some(&evicted), &plank, at(1)),
            finish(
                ProwJobState::Error,
                "Job pod reached max revivals (3) after being stopped unexpectedly (evicted)",
                false
            )
        );
        assert_eq!(
            decide(&j, Some(&pod(PodPhase::Unknown)), &plank, at(1)),
            finish(
                ProwJobState::Error,
                "Job pod reached max revivals (3) after being stopped unexpectedly (unknown)",
                false
            )
        );
        j.spec.error_on_eviction = true;
        j.status.pod_revival_count = 0;
        assert_eq!(
            decide(&j, Some(&evicted), &plank, at(1)),
            finish(
                ProwJobState::Error,
                "Job pod was evicted by the cluster.",
                false
            )
        );
    }

    fn run(id: &str, job: &str, pulls: &[i64], start: i64, state: ProwJobState) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = id.into();
        j.spec.r#type = Some(ProwJobType::Presubmit);
        j.spec.job = job.into();
        j.spec.refs = Some(Refs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            pulls: pulls
                .iter()
                .map(|&n| Pull {
                    number: n,
                    sha: format!("{id}-{n}"),
                    ..Pull::default()
                })
                .collect(),
            ..Refs::default()
        });
        j.status.state = Some(state);
        j.status.start_time = Some(at(start));
        j
    }

    #[test]
    fn only_older_runs_of_the_same_job_and_change_are_superseded() {
        use ProwJobState::*;
        let jobs = [
            run("a1", "unit", &[1], 10, Pending),
            run("a2", "unit", &[1], 20, Triggered),
            run("a0", "unit", &[1], 5, Triggered),
            run("b1", "lint", &[1], 1, Pending),
            run("c1", "unit", &[2], 1, Pending),
            run("d1", "unit", &[1, 2], 1, Pending),
            run("d2", "unit", &[2, 1], 2, Pending),
            run("e1", "unit", &[3], 1, Aborted),
            run("e2", "unit", &[3], 2, Pending),
        ];
        let refs: Vec<&ProwJob> = jobs.iter().collect();
        let mut got: Vec<&str> = superseded(&refs)
            .iter()
            .map(|j| j.metadata.name.as_str())
            .collect();
        got.sort();
        assert_eq!(got, ["a0", "a1", "d1"]);
    }

    #[test]
    fn supersede_ties_go_to_the_larger_id_whatever_the_order() {
        use ProwJobState::*;
        let x = run("x", "unit", &[1], 10, Pending);
        let y = run("y", "unit", &[1], 10, Pending);
        for order in [[&x, &y], [&y, &x]] {
            let got: Vec<&str> = superseded(&order)
                .iter()
                .map(|j| j.metadata.name.as_str())
                .collect();
            assert_eq!(got, ["x"]);
        }
    }

    #[test]
    fn postsubmits_and_periodics_are_never_superseded() {
        let mut a = run("a", "unit", &[], 1, ProwJobState::Pending);
        let mut b = run("b", "unit", &[], 2, ProwJobState::Pending);
        for t in [
            ProwJobType::Postsubmit,
            ProwJobType::Periodic,
            ProwJobType::Batch,
        ] {
            a.spec.r#type = Some(t);
            b.spec.r#type = Some(t);
            assert!(superseded(&[&a, &b]).is_empty(), "{t:?}");
        }
    }
}
