//! The scheduler: Prow's horologium. At each tick (an EventBridge schedule,
//! every minute) it reads the latest run of every configured periodic, asks
//! [`due_periodics`] which are due, creates their records and sends them to
//! the dispatcher.
//!
//! Ticks may be late, repeated or overlap: a due run's id is derived from the
//! run it follows, so two ticks that read the same latest run write the same
//! record, the second `create` is a no-op, and only the tick that created a
//! record sends its message. A tick that created a record and died before
//! sending is covered by the syncer, which re-sends triggered records.

use std::collections::HashMap;

use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::health::{self, SchedulerTick};
use skiff_core::keys;
use skiff_core::messages::DispatchMessage;
use skiff_core::metrics as metric;
use skiff_core::plan::periodic::{due_periodics, latest_runs};
use skiff_core::ports::{JobQuery, JobStore, PortError, Queue};
use skiff_core::prowjob::{ProwJob, ProwJobType};
use tracing::{debug, info, warn};

/// What the scheduler works with.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    /// The `dispatch` queue.
    pub queue: &'a dyn Queue,
    pub config: &'a Config,
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Ids of the runs this tick created (and sent), in config order.
    pub created: Vec<String>,
    /// Due runs another tick had created already.
    pub already_created: usize,
    /// Periodics with nothing to start.
    pub not_due: usize,
    /// Periodics skipped because their latest run could not be read, and
    /// records that could not be created.
    pub failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runs were created but the dispatcher was not told; the syncer
    /// sends them once they have waited long enough.
    #[error("sending {count} new runs to the dispatcher: {source}")]
    Send {
        count: usize,
        #[source]
        source: PortError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One tick covering `(previous_tick, now]`.
#[tracing::instrument(skip(deps))]
pub async fn tick(deps: &Deps<'_>, previous_tick: Timestamp, now: Timestamp) -> Result<TickReport> {
    let periodics = &deps.config.jobs.periodics;
    let mut report = TickReport::default();

    let mut runs: Vec<ProwJob> = Vec::new();
    let mut unreadable: Vec<&str> = Vec::new();
    for p in periodics {
        let name = p.base.name.as_str();
        match latest_run(deps.store, name).await {
            Ok(Some(run)) => runs.push(run),
            Ok(None) => {}
            Err(e) => {
                // Guessing "no run yet" would start it at once: skip instead.
                warn!(job = name, error = %e, "cannot read the latest run; skipping this periodic");
                unreadable.push(name);
                report.failures += 1;
            }
        }
    }
    let latest = latest_runs(&runs);
    let plan = due_periodics(
        periodics,
        &|name| latest.get(name).copied(),
        previous_tick,
        now,
    );
    report.not_due = plan.not_due.len();
    for n in &plan.not_due {
        debug!(job = %n.job, reason = %n.reason, "not due");
    }

    for due in plan.due {
        if unreadable.contains(&due.job.spec.job.as_str()) {
            continue;
        }
        let id = due.job.metadata.name.clone();
        match deps.store.create(&due.job).await {
            Ok(true) => {
                info!(job = %due.job.spec.job, job_id = %id, key = %due.key, reason = %due.reason, "periodic run created");
                metrics::counter!(
                    metric::JOBS_CREATED.name,
                    "type" => ProwJobType::Periodic.as_str(),
                    "creator" => metric::creator::SCHEDULER
                )
                .increment(1);
                report.created.push(id);
            }
            Ok(false) => {
                debug!(job = %due.job.spec.job, job_id = %id, "run already created by another tick");
                report.already_created += 1;
            }
            Err(e) => {
                warn!(job = %due.job.spec.job, error = %e, "cannot create the run");
                report.failures += 1;
            }
        }
    }

    note_tick(deps.store, previous_tick, now).await;

    if !report.created.is_empty() {
        let bodies: Vec<String> = report
            .created
            .iter()
            .map(|id| DispatchMessage { id: id.clone() }.to_body())
            .collect();
        deps.queue
            .send(&bodies)
            .await
            .map_err(|source| Error::Send {
                count: bodies.len(),
                source,
            })?;
    }
    Ok(report)
}

/// Writes this tick for the deck's `/health` (which calls the scheduler
/// stalled after three missed periods); a failed write is only logged.
async fn note_tick(store: &dyn JobStore, previous_tick: Timestamp, now: Timestamp) {
    let period = now.duration_since(previous_tick).as_secs().max(1);
    let tick = SchedulerTick {
        at: now,
        period_seconds: u64::try_from(period).unwrap_or(60),
    };
    let expires = now.checked_add(health::KEPT).unwrap_or(Timestamp::MAX);
    if let Err(e) = store
        .put_value(keys::SCHEDULER_TICK, &tick.to_value(), expires)
        .await
    {
        warn!(error = %e, "the tick is not noted for the deck's health page");
    }
}

/// The periodic's run with the latest start. The store lists a job's runs
/// newest first; a job of another type with the same name (names are unique
/// per type only) sends us to the full listing.
async fn latest_run(store: &dyn JobStore, name: &str) -> Result<Option<ProwJob>, PortError> {
    let query = JobQuery::Job {
        name: name.to_string(),
    };
    let newest = store.list(&query, Some(1)).await?;
    match newest.first() {
        None => Ok(None),
        Some(run) if run.spec.r#type == Some(ProwJobType::Periodic) => {
            Ok(newest.into_iter().next())
        }
        Some(_) => {
            let all = store.list(&query, None).await?;
            let latest: HashMap<&str, &ProwJob> = latest_runs(&all);
            Ok(latest.get(name).map(|r| (*r).clone()))
        }
    }
}
