//! The dispatcher: Prow plank's start of a job (`syncTriggeredJob` in
//! `pkg/plank/reconciler.go`). It reads job ids from the `dispatch` queue and
//! turns each triggered record into a pod on the job's build cluster.
//!
//! Per message:
//! - a record that is gone, or no longer `triggered` (already dispatched,
//!   aborted, complete), is acknowledged: redelivery changes nothing;
//! - concurrency is plank's: at most `plank.max_concurrency` pending jobs
//!   overall; per job, `max_concurrency` counts the same job's runs that are
//!   pending or triggered **earlier** (so runs start in FIFO order); per
//!   `job_queue_name`, the same over the queue, with capacity 0 blocking and a
//!   negative one unlimited. A blocked job comes back after 10 s;
//! - otherwise a build id is minted, the pod created (named by the job id),
//!   and the record compare-and-set to `pending` with `pendingTime`, the build
//!   id, the pod name, "Job triggered." and the job's dashboard URL. A pod that
//!   is already there (an earlier attempt crashed before writing the record)
//!   is adopted with its own build id; a pod the cluster refuses (a 4xx)
//!   ends the job as `error` "Pod can not be created: …", and so does a job
//!   whose `cluster` is not configured (`unknown cluster "<name>"`).
//!
//! Jobs of agent `tekton-pipeline` are started the same way, as Tekton
//! PipelineRuns instead of pods (Prow's pipeline controller; what it does and
//! where Skiff differs is in [`skiff_core::prowjob::pipeline_run`]): the same
//! concurrency limits (Prow's pipeline controller applies none; plank's
//! global limit counts them), a build id, the run created in the job's
//! `namespace` (default `pod_namespace`) named by the job id, an existing run
//! adopted with its build id (Prow leaves the build id empty then), and the
//! record moved to `pending` with Prow's description "scheduling". A run the
//! cluster refuses ends the job as `error` "start pipeline: …" (Prow's
//! words); so does a cluster that cannot run Tekton (the local-process
//! cluster) or has no Tekton installed. A spec that cannot be built ends it
//! as `error` "error preparing resources: …".
//!
//! Jobs of agent `jenkins` are queued as builds on the Jenkins of the
//! operator whose `label_selector` selects them (Prow's jenkins-operator;
//! the rules are in [`skiff_core::run::jenkins`], the idempotent start in
//! [`jenkins`]): the same per-job and queue limits, the operator's
//! `max_concurrency` instead of plank's, and the record moved to `pending`
//! "Jenkins job enqueued." once Jenkins accepted the build. A build Jenkins
//! refuses (401/403 credentials, 404 job, a job without parameters), a job
//! no operator selects, or an operator without a Jenkins ends the job as
//! `error` saying why; a Jenkins that is down is retried, and ends the job
//! once it has been failing for plank's `pod_pending_timeout`.
//!
//! Differences from plank: runs created in the same second are ordered by id
//! (plank compares creation times only, so both would start). An existing pod
//! is found by creating it, after the concurrency check, where plank looks
//! for it first: a blocked job's leftover pod is adopted when its turn comes.
//! Plank leaves a job on an unknown cluster triggered; Skiff ends it.
//! Within a batch, the pods of jobs without limits are created concurrently;
//! limited jobs are started one at a time, oldest first.
//! Like plank, the global limit is checked without a lock: two dispatchers
//! working at once may each take the last slot.

mod jenkins;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::config::prow::Plank;
use skiff_core::keys;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{BatchOutcome, Clock, Cluster, JobQuery, JobStore, Message, PortError};
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::prowjob::pod::cluster_name;
use skiff_core::prowjob::{ProwJob, ProwJobState};
use skiff_core::run::jenkins::{JenkinsMasters, runs_on_jenkins};
use skiff_core::run::{self, Start, is_dispatched};
use tracing::{debug, info, warn};

/// How long a job blocked by a concurrency limit waits before it is looked at
/// again (plank's requeue).
pub const BLOCKED_RETRY: Duration = Duration::from_secs(10);

/// How long a deferred job's message counts as alive: while
/// [`keys::dispatch_waiting`] is remembered, the syncer does not send another
/// message for the job.
pub const WAITING_LEASE: Duration = Duration::from_secs(120);

/// Compare-and-set attempts per job and delivery before the message is
/// retried later.
const MAX_ATTEMPTS: usize = 3;

/// What the dispatcher works with.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    /// Build clusters by the name jobs use in `cluster:`.
    pub clusters: &'a BTreeMap<String, Arc<dyn Cluster>>,
    pub config: &'a Config,
    pub clock: &'a dyn Clock,
    /// Shared by every handler that creates pods in this process, so build
    /// ids never repeat.
    pub build_ids: &'a Mutex<BuildIdGenerator>,
}

/// Handles one batch from the `dispatch` queue. Receipts not named in the
/// outcome are done. No Jenkins is known: jenkins jobs end as `error`.
pub async fn handle_batch(messages: &[Message], deps: &Deps<'_>) -> BatchOutcome {
    handle_batch_with_jenkins(messages, deps, &JenkinsMasters::new()).await
}

/// [`handle_batch`], with the Jenkins masters of the jenkins operators (by
/// their `label_selector`).
#[tracing::instrument(skip_all, fields(messages = messages.len()))]
pub async fn handle_batch_with_jenkins(
    messages: &[Message],
    deps: &Deps<'_>,
    masters: &JenkinsMasters,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    // Duplicates of one id in a batch share one decision.
    let mut receipts: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for m in messages {
        match serde_json::from_str::<DispatchMessage>(&m.body) {
            Ok(d) => receipts.entry(d.id).or_default().push(&m.receipt),
            Err(e) => {
                warn!(receipt = %m.receipt, error = %e, "dropping a dispatch message that does not decode")
            }
        }
    }

    let mut work: Vec<ProwJob> = Vec::new();
    for (id, rs) in &receipts {
        match deps.store.get(id).await {
            Ok(Some(job)) => work.push(job),
            Ok(None) => debug!(job_id = %id, "no such job record; dropping the message"),
            Err(e) => {
                warn!(job_id = %id, error = %e, "cannot read the job record; retrying");
                outcome.retry.extend(rs.iter().map(|r| r.to_string()));
            }
        }
    }
    // Oldest first, so a batch holding several runs of a limited job starts
    // the one FIFO order allows instead of deferring it behind a newer one.
    work.sort_by(|a, b| fifo_key(a).cmp(&fifo_key(b)));

    // Jobs without limits depend neither on each other nor on the limited
    // ones (a global `plank.max_concurrency` makes every job limited), so
    // their pods are created together: one invocation waits for the API
    // server about once per batch instead of once per job. Limited jobs go
    // one at a time, oldest first, each counting the ones started before it.
    let (limited, free): (Vec<ProwJob>, Vec<ProwJob>) =
        work.into_iter().partition(|j| counted(j, deps.config));
    let mut decisions = join_all(free.into_iter().map(|job| async move {
        let id = job.metadata.name.clone();
        // Never loaded: only limited jobs read the view.
        let mut unused = View::default();
        (id, dispatch(job, &mut unused, deps, masters).await)
    }))
    .await;
    let mut view = View::default();
    for job in limited {
        let id = job.metadata.name.clone();
        decisions.push((id, dispatch(job, &mut view, deps, masters).await));
    }

    for (id, decision) in decisions {
        let rs = receipts.get(&id).map(Vec::as_slice).unwrap_or_default();
        match decision {
            Decision::Done => {}
            Decision::Retry => outcome.retry.extend(rs.iter().map(|r| r.to_string())),
            Decision::Blocked => {
                refresh_waiting_lease(&id, deps).await;
                outcome
                    .retry_after
                    .extend(rs.iter().map(|r| (r.to_string(), BLOCKED_RETRY)));
            }
        }
    }
    outcome
}

enum Decision {
    Done,
    Retry,
    Blocked,
}

/// The incomplete records the concurrency limits count, listed once per batch
/// and kept current as this batch moves jobs.
#[derive(Default)]
struct View {
    jobs: Option<Vec<ProwJob>>,
}

impl View {
    async fn load(&mut self, store: &dyn JobStore) -> Result<&[ProwJob], PortError> {
        if self.jobs.is_none() {
            let jobs = store.list(&JobQuery::Incomplete, None).await?;
            self.jobs = Some(jobs.into_iter().filter(is_dispatched).collect());
        }
        Ok(self.jobs.as_deref().unwrap_or_default())
    }

    fn record(&mut self, job: &ProwJob) {
        if let Some(jobs) = self.jobs.as_mut() {
            match jobs
                .iter_mut()
                .find(|j| j.metadata.name == job.metadata.name)
            {
                Some(slot) => *slot = job.clone(),
                None => jobs.push(job.clone()),
            }
        }
    }
}

async fn dispatch(
    mut job: ProwJob,
    view: &mut View,
    deps: &Deps<'_>,
    masters: &JenkinsMasters,
) -> Decision {
    let id = job.metadata.name.clone();
    for _ in 0..MAX_ATTEMPTS {
        if job.status.state != Some(ProwJobState::Triggered) {
            debug!(job_id = %id, state = ?job.status.state, "not triggered; nothing to do");
            return Decision::Done;
        }
        if !is_dispatched(&job) {
            warn!(job_id = %id, agent = %job.spec.agent, "agent is not kubernetes, tekton-pipeline or jenkins; not dispatching");
            return Decision::Done;
        }
        if counted(&job, deps.config) {
            let others = match view.load(deps.store).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    warn!(job_id = %id, error = %e, "cannot list incomplete jobs; retrying");
                    return Decision::Retry;
                }
            };
            let why = blocked(&job, others, &deps.config.prow.plank)
                .or_else(|| jenkins::blocked(&job, others, deps.config));
            if let Some(why) = why {
                info!(job_id = %id, job = %job.spec.job, reason = %why, "waiting for a concurrency slot");
                return Decision::Blocked;
            }
        }

        let now = deps.clock.now();
        let deck_url = &deps.config.prow.skiff.deck_url;
        let next = if runs_on_jenkins(&job) {
            match jenkins::start(&job, deps, masters, now).await {
                jenkins::Started::Queued { build_id } => {
                    run::jenkins::enqueued(&job, &build_id, deck_url, now)
                }
                jenkins::Started::Unprocessable(why) => {
                    return finish_with_error(job, &why, view, deps).await;
                }
                jenkins::Started::Retry => return Decision::Retry,
            }
        } else {
            let Some(cluster) = deps.clusters.get(cluster_name(&job)) else {
                let why = format!("unknown cluster {:?}", cluster_name(&job));
                return finish_with_error(job, &why, view, deps).await;
            };
            let pod_namespace = deps.config.prow.pod_namespace();
            let started =
                run::start_run(&job, cluster.as_ref(), pod_namespace, deps.build_ids, now).await;
            let build_id = match started {
                Ok(Start::Created { build_id }) => build_id,
                Ok(Start::AlreadyExists) => {
                    match run::adopt(&job, cluster.as_ref(), pod_namespace).await {
                        Ok(Some(build_id)) => build_id,
                        Ok(None) => {
                            // Gone between the create and the list: try again later.
                            return Decision::Retry;
                        }
                        Err(e) => {
                            warn!(job_id = %id, error = %e, "cannot list the existing pod or run; retrying");
                            return Decision::Retry;
                        }
                    }
                }
                Ok(Start::Unprocessable(why)) => {
                    return finish_with_error(job, &why, view, deps).await;
                }
                Err(e) => {
                    warn!(job_id = %id, error = %e, "creating the pod or run failed; retrying");
                    return Decision::Retry;
                }
            };
            run::pending(&job, &build_id, deck_url, now)
        };
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                warn!(job_id = %id, error = %e, "cannot move the job to pending");
                return Decision::Done;
            }
        };
        match deps.store.update(&next).await {
            Ok(stored) => {
                info!(job_id = %id, job = %stored.spec.job, build_id = %stored.status.build_id, "job pending");
                if let Some(triggered) = stored.status.start_time {
                    let kind = stored.spec.r#type.map_or("unknown", |t| t.as_str());
                    metrics::histogram!(
                        skiff_core::metrics::TRIGGERED_TO_PENDING.name,
                        "type" => kind
                    )
                    .record(skiff_core::metrics::seconds_between(triggered, now));
                }
                view.record(&stored);
                return Decision::Done;
            }
            Err(PortError::Conflict(_)) => match deps.store.get(&id).await {
                // Decide again on what is there now; the pod is adopted.
                Ok(Some(fresh)) => job = fresh,
                Ok(None) => return Decision::Done,
                Err(_) => return Decision::Retry,
            },
            Err(PortError::NotFound(_)) => return Decision::Done,
            Err(e) => {
                warn!(job_id = %id, error = %e, "writing the pending record failed; retrying");
                return Decision::Retry;
            }
        }
    }
    Decision::Retry
}

/// Ends a triggered job as `error` with `description`.
async fn finish_with_error(
    mut job: ProwJob,
    description: &str,
    view: &mut View,
    deps: &Deps<'_>,
) -> Decision {
    let id = job.metadata.name.clone();
    if let Err(e) = job.transition(ProwJobState::Error, deps.clock.now(), description) {
        warn!(job_id = %id, error = %e, "cannot move the job to error");
        return Decision::Done;
    }
    match deps.store.update(&job).await {
        Ok(stored) => {
            warn!(job_id = %id, description, "job cannot run");
            view.record(&stored);
            Decision::Done
        }
        Err(PortError::NotFound(_)) => Decision::Done,
        // Conflict included: the next delivery decides on the fresh record.
        Err(_) => Decision::Retry,
    }
}

/// Whether any limit applies to the job, so the incomplete jobs are needed.
fn needs_counting(job: &ProwJob, plank: &Plank) -> bool {
    (plank.max_concurrency > 0 && !runs_on_jenkins(job))
        || job.spec.max_concurrency > 0
        || !job.spec.job_queue_name.is_empty()
}

/// [`needs_counting`], or a jenkins job whose operator has a limit.
fn counted(job: &ProwJob, config: &Config) -> bool {
    needs_counting(job, &config.prow.plank) || jenkins::operator_limit(job, config) > 0
}

/// FIFO order: start time, then id, so that no two runs tie.
fn fifo_key(job: &ProwJob) -> (Option<Timestamp>, &str) {
    (job.status.start_time, job.metadata.name.as_str())
}

/// Why `job` may not start now, given the incomplete jobs; `None` if it may.
fn blocked(job: &ProwJob, others: &[ProwJob], plank: &Plank) -> Option<String> {
    let is_pending = |j: &ProwJob| j.status.state == Some(ProwJobState::Pending);
    // Plank's limit counts plank's pods (and runs); a jenkins operator has
    // its own.
    if plank.max_concurrency > 0 && !runs_on_jenkins(job) {
        let pending = others
            .iter()
            .filter(|j| is_pending(j) && !runs_on_jenkins(j))
            .count();
        if pending as i64 >= plank.max_concurrency {
            return Some(format!(
                "{pending} jobs pending, plank.max_concurrency is {}",
                plank.max_concurrency
            ));
        }
    }
    // Plank's countPendingOrOlderTriggeredMatchingPJs.
    let ahead = |same: &dyn Fn(&ProwJob) -> bool| {
        others
            .iter()
            .filter(|j| j.metadata.name != job.metadata.name && same(j))
            .filter(|j| {
                is_pending(j)
                    || (j.status.state == Some(ProwJobState::Triggered)
                        && fifo_key(j) < fifo_key(job))
            })
            .count() as i64
    };
    let max = job.spec.max_concurrency;
    if max > 0 {
        let n = ahead(&|j| j.spec.job == job.spec.job);
        if n >= max {
            return Some(format!(
                "{n} runs of {} pending or ahead, max_concurrency is {max}",
                job.spec.job
            ));
        }
    }
    let queue = &job.spec.job_queue_name;
    if !queue.is_empty() {
        let capacity = match plank.job_queue_capacities.get(queue) {
            None => {
                return Some(format!(
                    "job queue {queue:?} is not in plank.job_queue_capacities"
                ));
            }
            Some(&c) => c,
        };
        if capacity == 0 {
            return Some(format!("job queue {queue:?} has capacity 0"));
        }
        if capacity > 0 {
            let n = ahead(&|j| &j.spec.job_queue_name == queue);
            if n >= capacity {
                return Some(format!(
                    "{n} jobs of queue {queue:?} pending or ahead, capacity is {capacity}"
                ));
            }
        }
    }
    None
}

/// Marks the job's message as alive for [`WAITING_LEASE`] from now.
async fn refresh_waiting_lease(id: &str, deps: &Deps<'_>) {
    let key = keys::dispatch_waiting(id);
    let Ok(expires) = deps.clock.now().checked_add(WAITING_LEASE) else {
        return;
    };
    // Forget first: remember does not extend a key it already knows.
    let result = match deps.store.forget(&key).await {
        Ok(()) => deps.store.remember(&key, expires).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        debug!(job_id = %id, error = %e, "cannot refresh the waiting lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::prowjob::ProwJobType;

    fn run(id: &str, name: &str, state: ProwJobState, start: i64) -> ProwJob {
        let mut j = ProwJob::default();
        j.metadata.name = id.into();
        j.spec.job = name.into();
        j.spec.r#type = Some(ProwJobType::Periodic);
        j.status.state = Some(state);
        j.status.start_time = Some(Timestamp::from_second(start).unwrap());
        j
    }

    #[test]
    fn per_job_limit_counts_pending_and_older_triggered_runs_only() {
        use ProwJobState::*;
        let mut me = run("c", "j", Triggered, 100);
        me.spec.max_concurrency = 2;
        let plank = Plank::default();
        let cases: Vec<(&str, Vec<ProwJob>, bool)> = vec![
            ("nothing else", vec![], false),
            (
                "one older triggered",
                vec![run("a", "j", Triggered, 50)],
                false,
            ),
            (
                "two older triggered",
                vec![run("a", "j", Triggered, 50), run("b", "j", Triggered, 60)],
                true,
            ),
            (
                "newer triggered do not count",
                vec![run("d", "j", Triggered, 150), run("e", "j", Triggered, 160)],
                false,
            ),
            (
                "pending count whatever their age",
                vec![run("d", "j", Pending, 150), run("e", "j", Pending, 160)],
                true,
            ),
            (
                "other jobs do not count",
                vec![run("a", "k", Pending, 1), run("b", "k", Pending, 2)],
                false,
            ),
            (
                "aborted do not count",
                vec![run("a", "j", Aborted, 1), run("b", "j", Aborted, 2)],
                false,
            ),
            (
                "same second: smaller id is ahead",
                vec![run("a", "j", Triggered, 100), run("b", "j", Triggered, 100)],
                true,
            ),
            (
                "same second: larger id is behind",
                vec![run("d", "j", Triggered, 100), run("e", "j", Triggered, 100)],
                false,
            ),
            (
                "itself does not count",
                vec![run("c", "j", Pending, 100), run("a", "j", Pending, 1)],
                false,
            ),
        ];
        for (name, others, want) in cases {
            assert_eq!(blocked(&me, &others, &plank).is_some(), want, "{name}");
        }
    }

    #[test]
    fn queue_capacity_zero_blocks_and_negative_is_unlimited() {
        let mut me = run("c", "j", ProwJobState::Triggered, 100);
        me.spec.job_queue_name = "gpu".into();
        let busy = vec![run("a", "k", ProwJobState::Pending, 1)];
        let mut busy_in_queue = busy.clone();
        busy_in_queue[0].spec.job_queue_name = "gpu".into();
        let plank = |cap: Option<i64>| Plank {
            job_queue_capacities: cap
                .map(|c| BTreeMap::from([("gpu".to_string(), c)]))
                .unwrap_or_default(),
            ..Plank::default()
        };
        assert!(
            blocked(&me, &[], &plank(Some(0))).is_some(),
            "0 blocks even when empty"
        );
        assert!(
            blocked(&me, &busy_in_queue, &plank(Some(-1))).is_none(),
            "negative is unlimited"
        );
        assert!(
            blocked(&me, &busy_in_queue, &plank(Some(1))).is_some(),
            "full"
        );
        assert!(
            blocked(&me, &busy, &plank(Some(1))).is_none(),
            "other queues do not count"
        );
        assert!(
            blocked(&me, &[], &plank(None)).is_some(),
            "an unknown queue waits"
        );
    }

    #[test]
    fn global_limit_counts_pending_jobs_of_every_name() {
        let me = run("c", "j", ProwJobState::Triggered, 100);
        let plank = Plank {
            max_concurrency: 2,
            ..Plank::default()
        };
        let one = vec![
            run("a", "x", ProwJobState::Pending, 1),
            run("b", "y", ProwJobState::Triggered, 1),
        ];
        assert!(blocked(&me, &one, &plank).is_none());
        let two = vec![
            run("a", "x", ProwJobState::Pending, 1),
            run("b", "y", ProwJobState::Pending, 1),
        ];
        assert!(blocked(&me, &two, &plank).is_some());
    }
}
