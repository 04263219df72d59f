//! What a pass records for the metrics (`skiff_core::metrics`): each job's
//! end (Prow's `prow_job_runtime_seconds`, by job, type and final state)
//! and the age of the oldest job still waiting in `triggered`, which the
//! template's alarm watches.

use jiff::Timestamp;
use skiff_core::metrics::{JOB_RUNTIME, OLDEST_TRIGGERED, seconds_between};
use skiff_core::prowjob::{ProwJob, ProwJobState};

use crate::Pass;

impl Pass<'_, '_> {
    /// `job` reached its end in this pass: counted, and its runtime
    /// recorded.
    pub(crate) fn finished(&mut self, job: &ProwJob) {
        self.report.finished += 1;
        let (Some(start), Some(end), Some(state)) = (
            job.status.start_time,
            job.status.completion_time,
            job.status.state,
        ) else {
            return;
        };
        let kind = job.spec.r#type.map_or("unknown", |t| t.as_str());
        ::metrics::histogram!(
            JOB_RUNTIME.name,
            "job_name" => job.spec.job.clone(),
            "type" => kind,
            "state" => state.as_str()
        )
        .record(seconds_between(start, end));
    }
}

/// Sets [`OLDEST_TRIGGERED`] from the incomplete jobs a pass listed: the
/// age of the oldest still `triggered`, 0 when none is.
pub(crate) fn oldest_triggered(incomplete: &[ProwJob], now: Timestamp) {
    let oldest = incomplete
        .iter()
        .filter(|j| j.status.state == Some(ProwJobState::Triggered))
        .filter_map(|j| j.status.start_time)
        .min();
    let age = oldest.map_or(0.0, |t| seconds_between(t, now));
    ::metrics::gauge!(OLDEST_TRIGGERED.name).set(age);
}
