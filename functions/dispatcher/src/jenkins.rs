//! Starting a job of agent `jenkins`: Prow's jenkins-operator
//! `syncTriggeredJob` — the build queued on the Jenkins of the job's
//! operator with Prow's parameters — made idempotent.
//!
//! A build request whose answer was lost (a 5xx or a timeout after Jenkins
//! queued it, a crash before the record was written) must not queue a
//! second build. [`keys::jenkins_start`] is claimed before the first
//! request: a delivery that finds it already held looks for the build by
//! its `PROW_JOB_ID` parameter (the queue, then the job's builds) and
//! adopts it, and only queues one if there is none. The first delivery of
//! a job spends no search: one POST (and, on a client's first POST, the
//! crumb's GET).

use jiff::{SignedDuration, Timestamp};
use skiff_core::config::Config;
use skiff_core::config::prow::JenkinsOperator;
use skiff_core::keys;
use skiff_core::ports::{Claim, PortError};
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run::jenkins::{self, JenkinsMasters, runs_on_jenkins};
use tracing::{info, warn};

use crate::Deps;

/// How long the start claim holds: far longer than a job stays triggered.
const START_CLAIM: SignedDuration = SignedDuration::from_hours(24);

/// What starting the build came to.
pub(crate) enum Started {
    /// Queued (or found queued or running) as this build id.
    Queued { build_id: String },
    /// The job cannot run; its `error` description.
    Unprocessable(String),
    /// Try again later.
    Retry,
}

/// The operator that runs `job`, if one selects its labels.
pub(crate) fn operator<'c>(job: &ProwJob, config: &'c Config) -> Option<&'c JenkinsOperator> {
    jenkins::operator_for(&config.prow.jenkins_operators, &job.metadata.labels)
}

/// The operator's `max_concurrency` for a jenkins job (0: none).
pub(crate) fn operator_limit(job: &ProwJob, config: &Config) -> i64 {
    if !runs_on_jenkins(job) {
        return 0;
    }
    operator(job, config).map_or(0, |op| op.max_concurrency)
}

/// Prow's `canExecuteConcurrently` for the operator's `max_concurrency`:
/// why `job` must wait, counting the operator's pending jobs.
pub(crate) fn blocked(job: &ProwJob, others: &[ProwJob], config: &Config) -> Option<String> {
    let max = operator_limit(job, config);
    if max <= 0 {
        return None;
    }
    let mine = operator(job, config).map(|op| op.label_selector.as_str());
    let pending = others
        .iter()
        .filter(|j| j.metadata.name != job.metadata.name)
        .filter(|j| j.status.state == Some(ProwJobState::Pending) && runs_on_jenkins(j))
        .filter(|j| operator(j, config).map(|op| op.label_selector.as_str()) == mine)
        .count();
    (pending as i64 >= max).then(|| {
        format!(
            "{pending} jobs pending on the Jenkins of operator {:?}, its max_concurrency is {max}",
            mine.unwrap_or_default()
        )
    })
}

/// Queues the job's build, or adopts the one an earlier attempt queued.
pub(crate) async fn start(
    job: &ProwJob,
    deps: &Deps<'_>,
    masters: &JenkinsMasters,
    now: Timestamp,
) -> Started {
    let id = &job.metadata.name;
    let Some(op) = operator(job, deps.config) else {
        return Started::Unprocessable(
            "no jenkins_operators entry selects this job's labels".to_string(),
        );
    };
    let Some(master) = masters.get(&op.label_selector) else {
        return Started::Unprocessable(format!(
            "no Jenkins is configured for the jenkins operator {:?} (skiff.jenkins)",
            op.label_selector
        ));
    };
    let plank = &deps.config.prow.plank;
    let fail = |e: PortError| match jenkins::start_failure(job, &e, plank, now) {
        Some(description) => Started::Unprocessable(description),
        None => {
            warn!(job_id = %id, jenkins = %master.url(), error = %e, "cannot start the Jenkins build; retrying");
            Started::Retry
        }
    };
    let path = jenkins::job_path(&job.spec);
    let expires = now.checked_add(START_CLAIM).unwrap_or(Timestamp::MAX);
    match deps.store.claim(&keys::jenkins_start(id), expires).await {
        Ok(Claim::Taken) => {}
        Ok(Claim::Held { .. }) => {
            // An earlier attempt may have queued it: look before queueing.
            let found = match master.queued().await {
                Ok(queued) => match master.builds(&path).await {
                    Ok(builds) => jenkins::find(id, &queued, &builds).cloned(),
                    Err(e) => return fail(e),
                },
                Err(e) => return fail(e),
            };
            if let Some(build) = found {
                info!(job_id = %id, build_id = %build.build_id, number = ?build.number, "adopting the Jenkins build an earlier attempt queued");
                let build_id = if build.build_id.is_empty() {
                    deps.build_ids_next(now)
                } else {
                    build.build_id
                };
                return Started::Queued { build_id };
            }
        }
        Err(e) => {
            warn!(job_id = %id, error = %e, "cannot claim the Jenkins start; retrying");
            return Started::Retry;
        }
    }
    let build_id = deps.build_ids_next(now);
    let parameters = match jenkins::build_parameters(job, &build_id) {
        Ok(p) => p,
        Err(e) => return Started::Unprocessable(format!("{}: {e}", jenkins::START_FAILED)),
    };
    match master.build(&path, &parameters).await {
        Ok(item) => {
            info!(job_id = %id, jenkins = %master.url(), job_path = %path, queue_item = ?item, build_id = %build_id, "Jenkins build queued");
            Started::Queued { build_id }
        }
        Err(e) => fail(e),
    }
}

impl Deps<'_> {
    /// A new build id from the process's generator.
    fn build_ids_next(&self, now: Timestamp) -> String {
        let mut ids = self
            .build_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.next(now.as_millisecond())
    }
}
