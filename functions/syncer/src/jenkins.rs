//! Pending and aborted jobs of agent `jenkins`: Prow's jenkins-operator
//! `Sync` (`ListBuilds`, `syncPendingJob`, `syncAbortedJob`), with the
//! decision in [`skiff_core::run::jenkins::decide`].
//!
//! A pass asks each operator's Jenkins once for its queue, then once per
//! Jenkins job for its builds — only for jobs whose build is not in the
//! queue (a queued build needs no more), at most `max_goroutines` of those
//! calls at once. A job that finishes costs one `consoleText` (copied to the
//! log store as `build-log.txt`), and a stop or a queue cancel when its
//! build must end first. Jobs whose Jenkins cannot be asked this pass are
//! judged on their record: they wait, up to plank's timeouts. A Jenkins that
//! refuses Skiff's credentials (401/403) ends its pending jobs as `error`
//! at once: retrying will not help, and a job must not hang on it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use skiff_core::ports::{Jenkins, JenkinsBuild, JenkinsStatus, PortError};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run::jenkins::{self, Action, Observed, Stop, runs_on_jenkins};
use tracing::{info, warn};

use crate::Pass;
use crate::logs::BuildLog;

/// What Jenkins said about one job this pass.
enum Seen {
    Found(JenkinsBuild),
    Missing,
    /// Could not ask: the error.
    Unknown(PortError),
    /// Jenkins refused Skiff (401/403, or another 4xx): the error.
    Refused(PortError),
}

/// One operator's jobs, with its Jenkins.
struct Group {
    master: Option<Arc<dyn Jenkins>>,
    max_calls: usize,
    /// The operator's `job_url_template` (empty: the deck link).
    url_template: String,
    jobs: Vec<ProwJob>,
}

impl Pass<'_, '_> {
    /// Syncs every pending and aborted jenkins job of the pass.
    pub(crate) async fn sync_jenkins(&mut self, jobs: Vec<ProwJob>) {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let operators = &self.deps.config.prow.jenkins_operators;
        for job in jobs.into_iter().filter(runs_on_jenkins) {
            let Some(op) = jenkins::operator_for(operators, &job.metadata.labels) else {
                self.no_jenkins(job, "no jenkins_operators entry selects this job's labels")
                    .await;
                continue;
            };
            let master = self.jenkins.get(&op.label_selector).cloned();
            groups
                .entry(op.label_selector.clone())
                .or_insert_with(|| Group {
                    master,
                    max_calls: op.max_goroutines(),
                    url_template: op.job_url_template.clone(),
                    jobs: Vec::new(),
                })
                .jobs
                .push(job);
        }
        for (selector, group) in groups {
            let Some(master) = group.master else {
                let why = format!(
                    "no Jenkins is configured for the jenkins operator {selector:?} (skiff.jenkins)"
                );
                for job in group.jobs {
                    self.no_jenkins(job, &why).await;
                }
                continue;
            };
            let seen = self
                .look_up(master.as_ref(), &group.jobs, group.max_calls)
                .await;
            for (job, seen) in group.jobs.into_iter().zip(seen) {
                match job.status.state {
                    Some(ProwJobState::Pending) => {
                        self.sync_pending_build(master.as_ref(), job, seen, &group.url_template)
                            .await
                    }
                    Some(ProwJobState::Aborted) => {
                        self.complete_abort_build(master.as_ref(), job, seen).await
                    }
                    _ => {}
                }
            }
        }
    }

    /// Prow's `ListBuilds` for one Jenkins: the queue, then the builds of
    /// the Jenkins jobs whose build is not queued. One answer per job, in
    /// order.
    async fn look_up(&mut self, master: &dyn Jenkins, jobs: &[ProwJob], max: usize) -> Vec<Seen> {
        self.report.jenkins_calls += 1;
        let queued = match master.queued().await {
            Ok(queued) => queued,
            Err(e) => {
                warn!(jenkins = %master.url(), error = %e, "cannot list the Jenkins queue");
                self.report.failures += 1;
                return jobs.iter().map(|_| unseen(&e)).collect();
            }
        };
        let in_queue = |j: &ProwJob| queued.iter().any(|b| b.prow_job_id == j.metadata.name);
        let mut paths: Vec<String> = jobs
            .iter()
            .filter(|j| !in_queue(j))
            .map(|j| jenkins::job_path(&j.spec))
            .collect();
        paths.sort_unstable();
        paths.dedup();
        self.report.jenkins_calls += paths.len();
        let listed: HashMap<String, Result<Vec<JenkinsBuild>, PortError>> =
            stream::iter(paths.into_iter().map(|path| async move {
                let builds = master.builds(&path).await;
                (path, builds)
            }))
            .buffer_unordered(max.max(1))
            .collect()
            .await;
        jobs.iter()
            .map(|job| {
                let id = &job.metadata.name;
                if let Some(item) = jenkins::find(id, &queued, &[]) {
                    return Seen::Found(item.clone());
                }
                match listed.get(&jenkins::job_path(&job.spec)) {
                    Some(Ok(builds)) => match jenkins::find(id, &queued, builds) {
                        Some(build) => Seen::Found(build.clone()),
                        None => Seen::Missing,
                    },
                    Some(Err(e)) => unseen(e),
                    None => Seen::Missing,
                }
            })
            .collect()
    }

    /// Prow's `syncPendingJob`, with Skiff's timeouts; the link follows the
    /// operator's `job_url_template` once the build has a number.
    async fn sync_pending_build(
        &mut self,
        master: &dyn Jenkins,
        job: ProwJob,
        seen: Seen,
        url_template: &str,
    ) {
        let deck_url = &self.deps.config.prow.skiff.deck_url;
        let observed = match &seen {
            Seen::Found(build) => Observed::Found(build),
            Seen::Missing => Observed::Missing,
            Seen::Unknown(e) => {
                self.report.failures += 1;
                warn!(job_id = %job.metadata.name, error = %e, "cannot ask Jenkins about the build this pass");
                Observed::Unknown
            }
            Seen::Refused(e) => {
                let description = format!("Error syncing Jenkins job: {e}");
                self.finish(job, ProwJobState::Error, &description, BuildLog::None)
                    .await;
                return;
            }
        };
        let plank = &self.deps.config.prow.plank;
        match jenkins::decide(&job, observed, plank, deck_url, self.now) {
            Action::Wait => {}
            Action::Update(mut next) => {
                link(&mut next, url_template);
                if self.write(&next).await.is_some() {
                    info!(job_id = %next.metadata.name, number = %next.status.jenkins_build_id, "Jenkins build running");
                }
            }
            Action::Finish {
                state,
                description,
                stop,
            } => {
                let job = match &seen {
                    Seen::Found(build) => {
                        let mut next =
                            jenkins::following(&job, build, deck_url, &job.status.description);
                        link(&mut next, url_template);
                        next
                    }
                    _ => job,
                };
                if !self.stop(master, &job, stop).await {
                    return;
                }
                let number = match &seen {
                    Seen::Found(build) => build.number,
                    _ => None,
                };
                let Some(console) = self.console(master, &job, number).await else {
                    return;
                };
                let log = match &console {
                    Some(text) => BuildLog::Text(text),
                    None => BuildLog::None,
                };
                self.finish(job, state, &description, log).await;
            }
        }
    }

    /// Prow's `syncAbortedJob`: stop the build (or take it out of the
    /// queue), keep its console log, complete the job.
    async fn complete_abort_build(&mut self, master: &dyn Jenkins, job: ProwJob, seen: Seen) {
        let mut next = job;
        if next.complete_abort(self.now).is_err() {
            return;
        }
        let (stop, number) = match &seen {
            Seen::Found(build) => {
                let stop = match (&build.status, build.number) {
                    (JenkinsStatus::Queued { item, .. }, _) => Stop::QueueItem(*item),
                    (JenkinsStatus::Running, Some(n)) => Stop::Build(n),
                    _ => Stop::Nothing,
                };
                (stop, build.number)
            }
            // Unreachable: decide next pass (the job is aborted already).
            Seen::Unknown(_) => return,
            Seen::Missing | Seen::Refused(_) => (Stop::Nothing, None),
        };
        if !self.stop(master, &next, stop).await {
            return;
        }
        if !next.status.build_id.is_empty() {
            let Some(console) = self.console(master, &next, number).await else {
                return;
            };
            let log = match &console {
                Some(text) => BuildLog::Text(text),
                None => BuildLog::None,
            };
            if !self.save_logs(&next, log).await {
                return;
            }
        }
        if self.write(&next).await.is_some() {
            info!(job_id = %next.metadata.name, job = %next.spec.job, "aborted job completed; its Jenkins build is stopped");
            self.finished(&next);
        }
    }

    /// Stops what still runs; `false` if that failed and may work next pass
    /// (a build or item already gone, or refused for good, is fine).
    async fn stop(&mut self, master: &dyn Jenkins, job: &ProwJob, stop: Stop) -> bool {
        let path = jenkins::job_path(&job.spec);
        let result = match stop {
            Stop::Nothing => return true,
            Stop::Build(n) => master.stop(&path, n).await,
            Stop::QueueItem(item) => master.cancel_queued(item).await,
        };
        self.report.jenkins_calls += 1;
        match result {
            Ok(()) | Err(PortError::NotFound(_) | PortError::Rejected(_)) => true,
            Err(e) => {
                warn!(job_id = %job.metadata.name, error = %e, "cannot stop the Jenkins build; next pass");
                self.report.failures += 1;
                false
            }
        }
    }

    /// The build's console log: `Some(None)` when there is none to copy,
    /// `None` when Jenkins failed and the job should wait for the next
    /// pass (up to the log patience, then a note says why it is missing).
    async fn console(
        &mut self,
        master: &dyn Jenkins,
        job: &ProwJob,
        number: Option<u64>,
    ) -> Option<Option<String>> {
        let Some(number) = number else {
            return Some(None);
        };
        self.report.jenkins_calls += 1;
        match master
            .console_text(&jenkins::job_path(&job.spec), number)
            .await
        {
            Ok(text) => Some(Some(text)),
            Err(PortError::NotFound(_) | PortError::Rejected(_)) => Some(None),
            Err(e) => {
                self.report.failures += 1;
                if !self.gave_up_on_log(job).await {
                    warn!(job_id = %job.metadata.name, error = %e, "cannot read the Jenkins console log; next pass");
                    return None;
                }
                Some(Some(format!(
                    "Skiff could not read the console log of Jenkins build #{number} at {}: {e}\n",
                    master.url()
                )))
            }
        }
    }

    /// A jenkins job with no Jenkins to ask: a pending one ends as `error`
    /// saying so, an aborted one is completed.
    async fn no_jenkins(&mut self, job: ProwJob, why: &str) {
        match job.status.state {
            Some(ProwJobState::Pending) => {
                self.finish(job, ProwJobState::Error, why, BuildLog::None)
                    .await;
            }
            Some(ProwJobState::Aborted) => {
                let mut next = job;
                if next.complete_abort(self.now).is_ok() && self.write(&next).await.is_some() {
                    self.finished(&next);
                }
            }
            _ => {}
        }
    }
}

/// Prow's `JobURLTemplate`, executed once the build has a number; a
/// template that fails on this job (a field it lacks) keeps the deck link.
fn link(job: &mut ProwJob, template: &str) {
    if template.is_empty() || job.status.jenkins_build_id.is_empty() {
        return;
    }
    match jenkins::url_template::render(template, job) {
        Ok(url) => job.status.url = url,
        Err(e) => {
            warn!(job_id = %job.metadata.name, error = %e, "job_url_template: keeping the deck link")
        }
    }
}

/// A failed listing, for each job it was about.
fn unseen(e: &PortError) -> Seen {
    if e.is_retryable() {
        Seen::Unknown(e.clone())
    } else {
        Seen::Refused(e.clone())
    }
}
