//! Writing what a pass decided: compare-and-set writes, a job's end (logs
//! first, then the pod, then the record), and a run started again.

use std::collections::BTreeMap;

use skiff_core::ports::{Cluster, PortError, PortResult};
use skiff_core::prowjob::labels::PROW_BUILD_ID;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run::{self, Start};
use tracing::{debug, info, warn};

use crate::Pass;
use crate::logs::BuildLog;

impl Pass<'_, '_> {
    /// Moves the job to a final state after saving its logs; the stored
    /// record, or `None` if the job is left for the next pass.
    pub(crate) async fn finish(
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
    pub(crate) async fn finish_deleting(
        &mut self,
        job: ProwJob,
        state: ProwJobState,
        description: &str,
        log: BuildLog<'_>,
        delete: Option<&dyn Cluster>,
    ) -> Option<ProwJob> {
        let mut next = job;
        if let Err(e) = run::finish(&mut next, state, description, self.now) {
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
        self.finished(&stored);
        Some(stored)
    }

    /// Records the outcome of starting a missing pod or run (`what`) again:
    /// the new build id and one more revival, or the job's end when the
    /// cluster refuses it. A pod or run that already exists (still being
    /// deleted, or made since the listing) is looked at next pass.
    pub(crate) async fn restarted(&mut self, job: ProwJob, started: PortResult<Start>, what: &str) {
        match started {
            Ok(Start::Created { build_id }) => {
                let next = run::restarted(&job, &build_id, &self.deps.config.prow.skiff.deck_url);
                info!(
                    job_id = %next.metadata.name,
                    build_id = %next.status.build_id,
                    revival = next.status.pod_revival_count,
                    "{what} was missing; started a new one"
                );
                self.write(&next).await;
            }
            Ok(Start::AlreadyExists) => {}
            Ok(Start::Unprocessable(why)) => {
                self.finish(job, ProwJobState::Error, &why, BuildLog::None)
                    .await;
            }
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "cannot start the {what} again");
                self.report.failures += 1;
            }
        }
    }

    /// Files `job` under the build id its pod or run carries, when that
    /// differs: a run started again whose record write was lost carries the
    /// id its logs will be filed under. Whether the record changed.
    pub(crate) fn follow_build(
        &self,
        job: &mut ProwJob,
        labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        match labels.and_then(|l| l.get(PROW_BUILD_ID)) {
            Some(build) if !build.is_empty() && *build != job.status.build_id => {
                run::set_build(job, build, &self.deps.config.prow.skiff.deck_url);
                true
            }
            _ => false,
        }
    }

    /// Compare-and-set; `None` when it lost or failed (the job waits).
    /// Writes a finished job whose pod is already deleted, re-applying the
    /// decision to a fresh copy when another writer got there first.
    pub(crate) async fn write_after_delete(
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
                    if let Err(e) = run::finish(&mut next, state, description, self.now) {
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

    pub(crate) async fn write(&mut self, job: &ProwJob) -> Option<ProwJob> {
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
}

/// Compare-and-set attempts for a record whose pod is already deleted.
const WRITE_ATTEMPTS: usize = 3;
