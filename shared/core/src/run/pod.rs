//! The outcome of a pending job's pod: Prow plank's `syncPendingJob`
//! (`pkg/plank/reconciler.go`) as a pure decision on one job and its pod —
//! phase to state, the unscheduled/pending/running timeouts (per job from
//! `decoration_config`, else plank's), OOM kills, evictions and revivals. The
//! syncer carries the decision out; a PipelineRun's twin is
//! [`crate::prowjob::pipeline_run::decide`].

use jiff::{SignedDuration, Timestamp};

use crate::config::prow::Plank;
use crate::duration::GoDuration;
use crate::ports::{PodInfo, PodPhase};
use crate::prowjob::pod::pod_created_at;
use crate::prowjob::{ProwJob, ProwJobState};

/// What a pending job's pod calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
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

/// Plank's `PodUnexpectedStopCause`, in its order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    Evicted,
    Unreachable,
    OomKilled,
    Unknown,
}

impl StopCause {
    pub fn as_str(self) -> &'static str {
        match self {
            StopCause::Evicted => "evicted",
            StopCause::Unreachable => "unreachable",
            StopCause::OomKilled => "oomkilled",
            StopCause::Unknown => "unknown",
        }
    }
}

/// The reason Kubernetes gives a pod whose node stopped answering.
const NODE_LOST: &str = "NodeLost";
/// The container reasons of a container that could not be started: Docker
/// says `ContainerCannotRun`, containerd (EKS and most clusters today)
/// `StartError`.
const COULD_NOT_START: [&str; 2] = ["ContainerCannotRun", "StartError"];

/// Why the pod stopped unexpectedly, if it did.
pub fn stop_cause(pod: &PodInfo) -> Option<StopCause> {
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

/// The description of a job whose pod was recreated too often.
pub fn max_revivals_description(count: i64, cause: &str) -> String {
    format!("Job pod reached max revivals ({count}) after being stopped unexpectedly ({cause})")
}

/// A per-job override from `decoration_config`, else plank's value.
fn limit(job_value: Option<GoDuration>, plank_value: GoDuration) -> SignedDuration {
    SignedDuration::from_nanos(job_value.unwrap_or(plank_value).as_nanos())
}

/// Plank's `syncPendingJob`, as a decision on one pending job and its pod.
pub fn decide(job: &ProwJob, pod: Option<&PodInfo>, plank: &Plank, now: Timestamp) -> Action {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::prowjob::labels::PROW_BUILD_ID;
    use crate::prowjob::{DecorationConfig, ProwJobType};

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
        use crate::prowjob::build_id::BuildIdGenerator;
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
}
