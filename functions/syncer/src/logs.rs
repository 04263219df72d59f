//! A finishing job's artifacts, written before the job becomes final (and
//! so before the sweeper may delete its pod): for an undecorated pod its
//! log as `build-log.txt`, `started.json` and `finished.json`; for a
//! decorated pod only what its pod utilities did not upload; `prowjob.json`
//! for every job, as crier's GCS reporter writes it.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use skiff_core::keys;
use skiff_core::ports::{Cluster, PipelineRunInfo, PortError};
use skiff_core::prowjob::ProwJob;
use skiff_core::prowjob::artifacts::{
    self, BUILD_LOG, CLONE_RECORDS_JSON, FINISHED_JSON, PROWJOB_JSON, STARTED_JSON, artifact_path,
};
use skiff_core::prowjob::decorate::options::CloneRecord;
use skiff_core::prowjob::pipeline_run;
use tracing::{debug, warn};

use crate::Pass;

impl Pass<'_, '_> {
    /// Whether reading this build's log has failed for [`LOG_PATIENCE`].
    ///
    /// Two dedupe keys keep the count across passes (and Lambda
    /// invocations): the first failure remembers `failing` and opens a window
    /// of `LOG_PATIENCE`; a failure after that window has closed gives up.
    pub(crate) async fn gave_up_on_log(&mut self, job: &ProwJob) -> bool {
        let (id, build) = (&job.metadata.name, &job.status.build_id);
        let (failing, window) = (keys::log_failing(id, build), keys::log_window(id, build));
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

    /// Writes what the job's artifact directory must hold before the job is
    /// final: for a decorated pod, only what its pod utilities did not
    /// upload (crier's GCS reporter: `started.json` and `finished.json` when
    /// absent); otherwise `build-log.txt` as `log` says, `started.json` and
    /// `finished.json`; and `prowjob.json` always. `false` if a retryable
    /// call failed: the job must not become final without them.
    pub(crate) async fn save_logs(&mut self, job: &ProwJob, log: BuildLog<'_>) -> bool {
        let path = match artifact_path(job) {
            Ok(path) => path,
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "no artifact path; logs not saved");
                return true;
            }
        };
        let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
        if matches!(log, BuildLog::Pod(_)) && job.spec.decoration_config.is_some() {
            match self.crier_documents(job, &path).await {
                Some(documents) => files.extend(documents),
                None => return false,
            }
            files.push((PROWJOB_JSON, artifacts::prowjob_json(job)));
            return self.put_all(job, &path, files).await;
        }
        if let BuildLog::Text(text) = log {
            files.push((BUILD_LOG, text.as_bytes().to_vec()));
        }
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
        files.push((PROWJOB_JSON, artifacts::prowjob_json(job)));
        self.put_all(job, &path, files).await
    }

    /// crier's rule for a decorated job: `started.json` and `finished.json`
    /// only where the pod utilities wrote none (a clone that failed before
    /// initupload, a sidecar that could not upload). `None` if the store
    /// could not be read: decide next pass.
    async fn crier_documents(
        &mut self,
        job: &ProwJob,
        path: &str,
    ) -> Option<Vec<(&'static str, Vec<u8>)>> {
        let mut out = Vec::new();
        if self.read(job, path, STARTED_JSON).await?.is_none() {
            let records: Vec<CloneRecord> = self
                .read(job, path, CLONE_RECORDS_JSON)
                .await?
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default();
            out.push((
                STARTED_JSON,
                artifacts::crier_started(job, &records).to_json(),
            ));
        }
        if self.read(job, path, FINISHED_JSON).await?.is_none()
            && let Some(finished) = artifacts::crier_finished(job)
        {
            out.push((FINISHED_JSON, finished.to_json()));
        }
        Some(out)
    }

    /// A file of the job's directory; `Some(None)` when absent (or refused
    /// for good), `None` when the store failed and the pass should wait.
    async fn read(&mut self, job: &ProwJob, path: &str, name: &str) -> Option<Option<Vec<u8>>> {
        match self.deps.logs.get(path, name).await {
            Ok(bytes) => Some(bytes),
            Err(PortError::NotFound(_) | PortError::Rejected(_)) => Some(None),
            Err(e) => {
                warn!(job_id = %job.metadata.name, file = name, error = %e, "cannot read the job's artifacts; next pass");
                self.report.failures += 1;
                None
            }
        }
    }

    /// Writes `files` under `path`; `false` if a retryable write failed.
    async fn put_all(&mut self, job: &ProwJob, path: &str, files: Vec<(&str, Vec<u8>)>) -> bool {
        for (name, bytes) in files {
            self.report.log_puts += 1;
            match self.deps.logs.put(path, name, &bytes).await {
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
pub(crate) enum BuildLog<'a> {
    /// None is written (the job never had a pod or run).
    None,
    /// The log of the job's pod on this cluster.
    Pod(&'a dyn Cluster),
    /// A log already read (a Jenkins build's console).
    Text(&'a str),
    /// The summary of the job's PipelineRun in `namespace`
    /// ([`pipeline_run::build_log`]); `run` as last listed, if it was.
    Run {
        namespace: &'a str,
        run: Option<&'a PipelineRunInfo>,
    },
}

/// How long a pod's log may stay unreadable (a 5xx from an unreachable
/// kubelet) before its job finishes without it.
pub(crate) const LOG_PATIENCE: Duration = Duration::from_secs(10 * 60);
