//! The syncer: Prow plank's reconciliation of running jobs
//! (`syncPendingJob`, `syncAbortedJob` and `terminateDupes` in
//! `pkg/plank/reconciler.go`, `TerminateOlderJobs` in `pkg/pjutil/abort.go`),
//! as one pass over every incomplete job. The Lambda runs a pass every minute;
//! `skiff dev` every few seconds.
//!
//! A pass costs one listing of the incomplete records, one pod listing per
//! build cluster that has pending jobs, and one compare-and-set per job that
//! changes (a write that loses to another writer skips the job until the next
//! pass). Jobs are synced up to [`JOBS_AT_ONCE`] at a time, so one pass over
//! a thousand finished pods is not a thousand sequential round trips. In order:
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
//! # Jobs run on Jenkins (agent `jenkins`)
//!
//! Prow's jenkins-operator, with the rules and differences written down in
//! [`skiff_core::run::jenkins`] and the calls in [`jenkins`]: the queue item
//! or build carrying the job's `PROW_JOB_ID` decides — queued → still
//! "Jenkins job enqueued."; running → "Jenkins job running." with the build
//! number; `SUCCESS` → `success`, `UNSTABLE`/`FAILURE` → `failure`,
//! `ABORTED` → `aborted`, a build that vanished → `error` "Error finding
//! Jenkins job."; plank's pending and running timeouts apply (the queue
//! item is cancelled, the build stopped). The console log is copied as
//! `build-log.txt` with `started.json`, `finished.json` and `prowjob.json`.
//! Aborted jobs (a superseded presubmit too) have their build stopped or
//! their queue item cancelled, then are completed.
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

mod finish;
mod jenkins;
mod logs;
mod metrics;
mod pods;
mod tekton;
mod triggered;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::keys;
use skiff_core::ports::{
    Clock, Cluster, JobQuery, JobStore, LogStore, PipelineRunInfo, PodInfo, PortError, Queue,
};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::pipeline_run::runs_as_pipeline_run;
use skiff_core::prowjob::pod::cluster_name;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run::jenkins::{JenkinsMasters, runs_on_jenkins};
use skiff_core::run::{is_dispatched, superseded};
use tracing::info;

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
    /// Requests to Jenkins (queue and build listings, console logs, stops).
    pub jenkins_calls: usize,
}

impl SyncReport {
    /// Adds another part of the same pass.
    fn absorb(&mut self, other: &SyncReport) {
        let SyncReport {
            jobs,
            store_lists,
            pod_lists,
            pipeline_run_lists,
            pipeline_run_creates,
            pipeline_run_deletes,
            writes,
            conflicts,
            pod_creates,
            pod_deletes,
            pod_logs,
            log_puts,
            finished,
            superseded,
            redispatched,
            failures,
            jenkins_calls,
        } = other;
        self.jobs += jobs;
        self.store_lists += store_lists;
        self.pod_lists += pod_lists;
        self.pipeline_run_lists += pipeline_run_lists;
        self.pipeline_run_creates += pipeline_run_creates;
        self.pipeline_run_deletes += pipeline_run_deletes;
        self.writes += writes;
        self.conflicts += conflicts;
        self.pod_creates += pod_creates;
        self.pod_deletes += pod_deletes;
        self.pod_logs += pod_logs;
        self.log_puts += log_puts;
        self.finished += finished;
        self.superseded += superseded;
        self.redispatched += redispatched;
        self.failures += failures;
        self.jenkins_calls += jenkins_calls;
    }
}

/// Jobs synced at once within a pass (plank reconciles with a pool of
/// workers too): enough to overlap the store's and the cluster's round
/// trips, few enough to stay well inside API and connection limits.
const JOBS_AT_ONCE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing incomplete jobs: {0}")]
    ListJobs(#[source] PortError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One pass over every incomplete job. Fails only when the jobs cannot be
/// listed; anything else that fails is logged, counted and retried next pass.
/// No Jenkins is known: pending jenkins jobs end as `error`.
pub async fn sync(deps: &Deps<'_>) -> Result<SyncReport> {
    sync_with_jenkins(deps, &JenkinsMasters::new()).await
}

/// [`sync`], with the Jenkins masters of the jenkins operators (by their
/// `label_selector`).
#[tracing::instrument(skip_all)]
pub async fn sync_with_jenkins(deps: &Deps<'_>, jenkins: &JenkinsMasters) -> Result<SyncReport> {
    // A pass's state machine is large (every per-job step inlined); on the
    // heap it does not weigh on the caller's stack.
    Box::pin(sync_pass(deps, jenkins)).await
}

async fn sync_pass(deps: &Deps<'_>, jenkins: &JenkinsMasters) -> Result<SyncReport> {
    let now = deps.clock.now();
    let mut pass = Pass {
        deps,
        jenkins,
        now,
        report: SyncReport::default(),
    };
    let listed = deps.store.list(&JobQuery::Incomplete, None).await;
    pass.report.store_lists += 1;
    let listed = listed.map_err(Error::ListJobs)?;
    metrics::oldest_triggered(&listed, now);
    let mut jobs: Vec<Option<ProwJob>> = Vec::with_capacity(listed.len());
    jobs.extend(
        listed
            .into_iter()
            .filter(|j| is_dispatched(j) && !j.is_complete())
            .map(Some),
    );
    pass.report.jobs = jobs.len();

    pass.abort_superseded(&mut jobs).await;
    let pods = pass.list_pods(&jobs).await;
    let runs = pass.list_pipeline_runs(&jobs).await;

    // Jobs on Jenkins are synced together (one queue and build listing per
    // master); every other job is its own record and its own pod or run, so
    // they are synced side by side: a pass over a thousand finished pods
    // must not wait on a thousand sequential log copies and writes.
    // Sized up front: a record is kilobytes inline, and growing the vectors
    // by doubling moved every record several times (5% of a busy pass).
    let (mut on_jenkins, mut rest) = (Vec::new(), Vec::with_capacity(jobs.len()));
    for job in jobs.into_iter().flatten() {
        let jenkins = matches!(
            job.status.state,
            Some(ProwJobState::Pending | ProwJobState::Aborted)
        ) && runs_on_jenkins(&job);
        if jenkins {
            on_jenkins.push(job);
        } else {
            rest.push(job);
        }
    }
    let (deps, jenkins, now) = (pass.deps, pass.jenkins, pass.now);
    let (pods, runs) = (&pods, &runs);
    let synced: Vec<(SyncReport, Option<String>)> = futures_util::stream::iter(rest)
        .map(|job| async move {
            let mut one = Pass {
                deps,
                jenkins,
                now,
                report: SyncReport::default(),
            };
            let redispatch = one.sync_one(job, pods, runs).await;
            (one.report, redispatch)
        })
        .buffered(JOBS_AT_ONCE)
        .collect()
        .await;
    let mut redispatch = Vec::new();
    for (report, again) in synced {
        pass.report.absorb(&report);
        redispatch.extend(again);
    }
    pass.sync_jenkins(on_jenkins).await;
    pass.redispatch(redispatch).await;
    Ok(pass.report)
}

struct Pass<'d, 'a> {
    deps: &'d Deps<'a>,
    /// The Jenkins masters by operator `label_selector`.
    jenkins: &'d JenkinsMasters,
    now: Timestamp,
    report: SyncReport,
}

impl Pass<'_, '_> {
    /// One job that does not run on Jenkins, against its pod or run; the id
    /// back if it is a triggered job to send to the dispatcher again.
    async fn sync_one(
        &mut self,
        job: ProwJob,
        pods: &BTreeMap<String, HashMap<String, PodInfo>>,
        runs: &BTreeMap<(String, String), HashMap<String, PipelineRunInfo>>,
    ) -> Option<String> {
        let as_run = runs_as_pipeline_run(&job);
        match job.status.state {
            Some(ProwJobState::Pending) if as_run => {
                // Unknown cluster or failed listing: already logged.
                let listed = runs.get(&self.run_key(&job))?;
                let run = listed.get(&job.metadata.name);
                self.sync_pending_run(job, run).await;
            }
            Some(ProwJobState::Aborted) if as_run => {
                let listed = runs.get(&self.run_key(&job));
                self.complete_abort_run(job, listed).await;
            }
            Some(ProwJobState::Pending) => {
                // Unknown cluster or failed listing: already logged.
                let listed = pods.get(cluster_name(&job))?;
                let pod = listed.get(&job.metadata.name);
                self.sync_pending(job, pod).await;
            }
            Some(ProwJobState::Aborted) => self.complete_abort(job).await,
            Some(ProwJobState::Triggered) if self.needs_redispatch(&job).await => {
                return Some(job.metadata.name);
            }
            _ => {}
        }
        None
    }

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
                .insert(keys::GITHUB_REPORTER.to_string(), ProwJobState::Aborted);
            if let Some(stored) = self.write(&next).await {
                info!(job_id = %stored.metadata.name, job = %stored.spec.job, "aborted: superseded by a newer run");
                self.report.superseded += 1;
                // Completed below, in this pass, like any aborted job.
                *slot = Some(stored);
            }
        }
    }
}
