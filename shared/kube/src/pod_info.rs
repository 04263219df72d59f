//! A pod, as the API returns it, read into what the syncer decides on
//! ([`PodInfo`]). Pure: one rule per field, each pinned by a test below.
//!
//! - `phase`: `status.phase`; a pod without one yet is `Pending`, a phase
//!   this code does not know is `Unknown`.
//! - `start_time`: `status.startTime` (the kubelet accepted the pod).
//! - `finished_time`: the latest `finishedAt` of the containers, once every
//!   container has terminated.
//! - `deleting`: `metadata.deletionTimestamp` is set.
//! - `all_succeeded`: plank's `didPodSucceed`: every container and init
//!   container terminated with exit code 0 and has a `finishedAt` (and there
//!   is at least one container status, so a pod nobody reported on has not
//!   succeeded).
//! - `oom_killed`: a container's current or last state is terminated with
//!   reason `OOMKilled`.
//! - `evicted`: `status.reason` is `Evicted`.
//! - `reason`: why the pod is stuck or failed, in the cluster's words, as
//!   `<Reason>: <message>`; the first that applies of
//!   1. the pod's own `status.reason` (`Evicted`, `NodeLost`,
//!      `DeadlineExceeded` …);
//!   2. a container waiting for a reason other than the everyday
//!      `ContainerCreating` / `PodInitializing` (`ErrImagePull`,
//!      `ImagePullBackOff`, `CreateContainerConfigError` …);
//!   3. the `PodScheduled` condition false with reason `Unschedulable`
//!      (`0/3 nodes are available: …`);
//!   4. a container that terminated with a non-zero exit code (`Error`,
//!      `OOMKilled`, `StartError`, `ContainerCannotRun` …), with its
//!      message, or its exit code when there is no message.
//!
//!   Containers are looked at test container first (Prow names it `test`),
//!   then the others in the order reported, then init containers.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Pod};
use skiff_core::ports::{PodInfo, PodPhase};
use skiff_core::prowjob::pod::TEST_CONTAINER_NAME;

const OOM_KILLED: &str = "OOMKilled";
const EVICTED: &str = "Evicted";
const UNSCHEDULABLE: &str = "Unschedulable";
/// Waiting reasons every pod passes through; they say nothing about why a
/// pod is stuck.
const ROUTINE_WAITING: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// What the syncer needs to know about `pod`. See the module documentation
/// for the rule behind each field.
pub fn pod_info(pod: &Pod) -> PodInfo {
    let status = pod.status.as_ref();
    let main: &[ContainerStatus] = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let init: &[ContainerStatus] = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let spec_containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());

    PodInfo {
        name: pod.metadata.name.clone().unwrap_or_default(),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        phase: phase(status.and_then(|s| s.phase.as_deref())),
        created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
        start_time: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0),
        finished_time: finished_time(main, spec_containers),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        all_succeeded: !main.is_empty() && main.iter().chain(init).all(succeeded),
        oom_killed: main.iter().chain(init).any(oom_killed),
        evicted: status.and_then(|s| s.reason.as_deref()) == Some(EVICTED),
        reason: reason(pod, main, init),
    }
}

fn phase(phase: Option<&str>) -> PodPhase {
    match phase {
        None | Some("") | Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        Some(_) => PodPhase::Unknown,
    }
}

fn terminated(
    state: Option<&ContainerState>,
) -> Option<&k8s_openapi::api::core::v1::ContainerStateTerminated> {
    state.and_then(|s| s.terminated.as_ref())
}

/// The latest finish, once every container (all the spec lists) terminated.
fn finished_time(main: &[ContainerStatus], spec_containers: usize) -> Option<Timestamp> {
    if main.is_empty() || main.len() < spec_containers {
        return None;
    }
    let mut latest = None;
    for c in main {
        let t = terminated(c.state.as_ref())?;
        let at = t.finished_at.as_ref().map(|t| t.0);
        latest = latest.max(at);
    }
    latest
}

fn succeeded(c: &ContainerStatus) -> bool {
    terminated(c.state.as_ref()).is_some_and(|t| t.exit_code == 0 && t.finished_at.is_some())
}

fn oom_killed(c: &ContainerStatus) -> bool {
    [c.state.as_ref(), c.last_state.as_ref()]
        .into_iter()
        .any(|s| terminated(s).is_some_and(|t| t.reason.as_deref() == Some(OOM_KILLED)))
}

/// `Reason: message`, or the reason alone when there is no message.
fn say(reason: &str, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(message) => format!("{reason}: {message}"),
        None => reason.to_string(),
    }
}

fn reason(pod: &Pod, main: &[ContainerStatus], init: &[ContainerStatus]) -> Option<String> {
    let status = pod.status.as_ref()?;
    if let Some(r) = status.reason.as_deref().filter(|r| !r.is_empty()) {
        return Some(say(r, status.message.as_deref()));
    }

    let test_first = main
        .iter()
        .filter(|c| c.name == TEST_CONTAINER_NAME)
        .chain(main.iter().filter(|c| c.name != TEST_CONTAINER_NAME))
        .chain(init);

    let waiting = test_first.clone().find_map(|c| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let r = w.reason.as_deref().filter(|r| !r.is_empty())?;
        (!ROUTINE_WAITING.contains(&r)).then(|| say(r, w.message.as_deref()))
    });
    if waiting.is_some() {
        return waiting;
    }

    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some(UNSCHEDULABLE)
    });
    if let Some(c) = unschedulable {
        return Some(say(UNSCHEDULABLE, c.message.as_deref()));
    }

    test_first.clone().find_map(|c| {
        let t = terminated(c.state.as_ref()).filter(|t| t.exit_code != 0)?;
        let r = t
            .reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("Error");
        Some(match t.message.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => say(r, Some(m)),
            _ => format!("{r} (exit code {})", t.exit_code),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, PodCondition,
        PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn t(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    fn pod(status: PodStatus) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                labels: Some([("created-by-prow".to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(status),
        }
    }

    fn waiting(name: &str, reason: &str, message: &str) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.into()),
                    message: (!message.is_empty()).then(|| message.into()),
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }

    fn running(name: &str) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(t("2026-11-23T10:00:05Z")),
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }

    fn term(
        name: &str,
        code: i32,
        reason: &str,
        message: &str,
        finished: Option<&str>,
    ) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    reason: (!reason.is_empty()).then(|| reason.into()),
                    message: (!message.is_empty()).then(|| message.into()),
                    finished_at: finished.map(t),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }
    }

    fn status(phase: &str) -> PodStatus {
        PodStatus {
            phase: Some(phase.into()),
            ..PodStatus::default()
        }
    }

    #[test]
    fn phase_is_kubernetes_phase_missing_is_pending_strange_is_unknown() {
        let cases = [
            (None, PodPhase::Pending),
            (Some("Pending"), PodPhase::Pending),
            (Some("Running"), PodPhase::Running),
            (Some("Succeeded"), PodPhase::Succeeded),
            (Some("Failed"), PodPhase::Failed),
            (Some("Unknown"), PodPhase::Unknown),
            (Some("Hibernating"), PodPhase::Unknown),
        ];
        for (given, want) in cases {
            let s = PodStatus {
                phase: given.map(Into::into),
                ..PodStatus::default()
            };
            assert_eq!(pod_info(&pod(s)).phase, want, "{given:?}");
        }
        let no_status = Pod {
            status: None,
            ..pod(PodStatus::default())
        };
        let info = pod_info(&no_status);
        assert_eq!(info.phase, PodPhase::Pending);
        assert_eq!(info.reason, None);
        assert!(!info.all_succeeded);
    }

    #[test]
    fn name_labels_start_time_and_deleting_come_from_metadata_and_status() {
        let mut p = pod(PodStatus {
            start_time: Some(t("2026-11-23T10:00:01Z")),
            ..status("Running")
        });
        let info = pod_info(&p);
        assert_eq!(info.name, "p");
        assert_eq!(info.labels["created-by-prow"], "true");
        assert_eq!(
            info.start_time,
            Some("2026-11-23T10:00:01Z".parse().unwrap())
        );
        assert!(!info.deleting);
        p.metadata.deletion_timestamp = Some(t("2026-11-23T10:05:00Z"));
        assert!(pod_info(&p).deleting);
    }

    #[test]
    fn finished_time_is_the_latest_finish_once_every_container_terminated() {
        let a = term("test", 0, "Completed", "", Some("2026-11-23T10:01:00Z"));
        let b = term("sidecar", 0, "Completed", "", Some("2026-11-23T10:02:00Z"));
        let cases: [(&str, Vec<ContainerStatus>, Option<&str>); 4] = [
            (
                "all terminated",
                vec![a.clone(), b.clone()],
                Some("2026-11-23T10:02:00Z"),
            ),
            (
                "one still running",
                vec![a.clone(), running("sidecar")],
                None,
            ),
            ("none reported", vec![], None),
            (
                "finish missing on one",
                vec![a.clone(), term("sidecar", 0, "Completed", "", None)],
                Some("2026-11-23T10:01:00Z"),
            ),
        ];
        for (rule, containers, want) in cases {
            let p = pod(PodStatus {
                container_statuses: Some(containers),
                ..status("Succeeded")
            });
            assert_eq!(
                pod_info(&p).finished_time,
                want.map(|w| w.parse().unwrap()),
                "{rule}"
            );
        }
    }

    #[test]
    fn finished_time_waits_for_containers_not_reported_yet() {
        let mut p = pod(PodStatus {
            container_statuses: Some(vec![term("test", 0, "", "", Some("2026-11-23T10:01:00Z"))]),
            ..status("Running")
        });
        p.spec = Some(k8s_openapi::api::core::v1::PodSpec {
            containers: vec![Default::default(), Default::default()],
            ..Default::default()
        });
        assert_eq!(pod_info(&p).finished_time, None);
    }

    #[test]
    fn all_succeeded_needs_every_container_and_init_container_exit_zero_with_a_finish() {
        let ok = |n: &str| term(n, 0, "Completed", "", Some("2026-11-23T10:01:00Z"));
        let cases: [(&str, Vec<ContainerStatus>, Vec<ContainerStatus>, bool); 6] = [
            (
                "all zero",
                vec![ok("test"), ok("sidecar")],
                vec![ok("init")],
                true,
            ),
            (
                "one non-zero",
                vec![
                    ok("test"),
                    term("sidecar", 2, "Error", "", Some("2026-11-23T10:01:00Z")),
                ],
                vec![],
                false,
            ),
            (
                "init container failed",
                vec![ok("test")],
                vec![term(
                    "clonerefs",
                    1,
                    "Error",
                    "",
                    Some("2026-11-23T10:00:30Z"),
                )],
                false,
            ),
            (
                "one still running",
                vec![ok("test"), running("sidecar")],
                vec![],
                false,
            ),
            (
                "no finish time",
                vec![term("test", 0, "Completed", "", None)],
                vec![],
                false,
            ),
            ("no container statuses", vec![], vec![], false),
        ];
        for (rule, main, init, want) in cases {
            let p = pod(PodStatus {
                container_statuses: Some(main),
                init_container_statuses: Some(init),
                ..status("Succeeded")
            });
            assert_eq!(pod_info(&p).all_succeeded, want, "{rule}");
        }
    }

    #[test]
    fn oom_killed_in_the_current_or_last_state_of_any_container() {
        let oom = term("test", 137, "OOMKilled", "", Some("2026-11-23T10:01:00Z"));
        let mut restarted = running("test");
        restarted.last_state = oom.state.clone();
        let cases = [
            ("current state", vec![oom.clone()], vec![], true),
            ("last state", vec![restarted], vec![], true),
            (
                "init container",
                vec![running("test")],
                vec![oom.clone()],
                true,
            ),
            (
                "plain failure",
                vec![term("test", 1, "Error", "", Some("2026-11-23T10:01:00Z"))],
                vec![],
                false,
            ),
        ];
        for (rule, main, init, want) in cases {
            let p = pod(PodStatus {
                container_statuses: Some(main),
                init_container_statuses: Some(init),
                ..status("Running")
            });
            assert_eq!(pod_info(&p).oom_killed, want, "{rule}");
        }
    }

    #[test]
    fn evicted_is_the_pod_status_reason() {
        let p = pod(PodStatus {
            reason: Some("Evicted".into()),
            message: Some("The node was low on resource: memory.".into()),
            ..status("Failed")
        });
        let info = pod_info(&p);
        assert!(info.evicted);
        assert_eq!(
            info.reason.as_deref(),
            Some("Evicted: The node was low on resource: memory.")
        );
        let p = pod(PodStatus {
            reason: Some("NodeLost".into()),
            ..status("Running")
        });
        assert!(!pod_info(&p).evicted);
    }

    #[test]
    fn reason_in_the_clusters_words_by_rule() {
        let unschedulable = PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some(
                "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are \
                 available: 3 No preemption victims found for incoming pod."
                    .into(),
            ),
            ..PodCondition::default()
        };
        let cases: Vec<(&str, PodStatus, Option<&str>)> = vec![
            (
                "pending unschedulable",
                PodStatus {
                    conditions: Some(vec![unschedulable.clone()]),
                    ..status("Pending")
                },
                Some(
                    "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 \
                     nodes are available: 3 No preemption victims found for incoming pod.",
                ),
            ),
            (
                "scheduled condition true says nothing",
                PodStatus {
                    conditions: Some(vec![PodCondition {
                        type_: "PodScheduled".into(),
                        status: "True".into(),
                        ..PodCondition::default()
                    }]),
                    ..status("Pending")
                },
                None,
            ),
            (
                "image pull error",
                PodStatus {
                    container_statuses: Some(vec![waiting(
                        "test",
                        "ErrImagePull",
                        "rpc error: code = NotFound desc = failed to pull and unpack image \
                         \"docker.io/library/golang:9.99\": not found",
                    )]),
                    ..status("Pending")
                },
                Some(
                    "ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack \
                     image \"docker.io/library/golang:9.99\": not found",
                ),
            ),
            (
                "image pull back-off",
                PodStatus {
                    container_statuses: Some(vec![waiting(
                        "test",
                        "ImagePullBackOff",
                        "Back-off pulling image \"golang:9.99\"",
                    )]),
                    ..status("Pending")
                },
                Some("ImagePullBackOff: Back-off pulling image \"golang:9.99\""),
            ),
            (
                "crash loop",
                PodStatus {
                    container_statuses: Some(vec![waiting(
                        "test",
                        "CrashLoopBackOff",
                        "back-off 5m0s restarting failed container=test",
                    )]),
                    ..status("Running")
                },
                Some("CrashLoopBackOff: back-off 5m0s restarting failed container=test"),
            ),
            (
                "routine waiting says nothing",
                PodStatus {
                    container_statuses: Some(vec![waiting("test", "ContainerCreating", "")]),
                    init_container_statuses: Some(vec![waiting("init", "PodInitializing", "")]),
                    ..status("Pending")
                },
                None,
            ),
            (
                "stuck init container behind initializing main one",
                PodStatus {
                    container_statuses: Some(vec![waiting("test", "PodInitializing", "")]),
                    init_container_statuses: Some(vec![waiting(
                        "clonerefs",
                        "ImagePullBackOff",
                        "Back-off pulling image \"clonerefs:v0\"",
                    )]),
                    ..status("Pending")
                },
                Some("ImagePullBackOff: Back-off pulling image \"clonerefs:v0\""),
            ),
            (
                "test container first",
                PodStatus {
                    container_statuses: Some(vec![
                        waiting("sidecar", "ErrImagePull", "sidecar image"),
                        waiting("test", "CreateContainerConfigError", "secret \"s\" not found"),
                    ]),
                    ..status("Pending")
                },
                Some("CreateContainerConfigError: secret \"s\" not found"),
            ),
            (
                "running has no reason",
                PodStatus {
                    container_statuses: Some(vec![running("test")]),
                    ..status("Running")
                },
                None,
            ),
            (
                "succeeded has no reason",
                PodStatus {
                    container_statuses: Some(vec![term(
                        "test",
                        0,
                        "Completed",
                        "",
                        Some("2026-11-23T10:01:00Z"),
                    )]),
                    ..status("Succeeded")
                },
                None,
            ),
            (
                "failed with a message",
                PodStatus {
                    container_statuses: Some(vec![term(
                        "test",
                        128,
                        "StartError",
                        "failed to create containerd task: exec: \"mak\": executable file not \
                         found in $PATH\n",
                        Some("2026-11-23T10:01:00Z"),
                    )]),
                    ..status("Failed")
                },
                Some(
                    "StartError: failed to create containerd task: exec: \"mak\": executable \
                     file not found in $PATH",
                ),
            ),
            (
                "failed without a message gives the exit code",
                PodStatus {
                    container_statuses: Some(vec![term(
                        "test",
                        2,
                        "Error",
                        "",
                        Some("2026-11-23T10:01:00Z"),
                    )]),
                    ..status("Failed")
                },
                Some("Error (exit code 2)"),
            ),
            (
                "oom killed",
                PodStatus {
                    container_statuses: Some(vec![term(
                        "test",
                        137,
                        "OOMKilled",
                        "",
                        Some("2026-11-23T10:01:00Z"),
                    )]),
                    ..status("Failed")
                },
                Some("OOMKilled (exit code 137)"),
            ),
            (
                "evicted",
                PodStatus {
                    reason: Some("Evicted".into()),
                    message: Some(
                        "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi."
                            .into(),
                    ),
                    container_statuses: Some(vec![term(
                        "test",
                        137,
                        "ContainerStatusUnknown",
                        "The container could not be located when the pod was terminated",
                        None,
                    )]),
                    ..status("Failed")
                },
                Some(
                    "Evicted: Pod ephemeral local storage usage exceeds the total limit of \
                     containers 1Gi.",
                ),
            ),
            (
                "node lost",
                PodStatus {
                    reason: Some("NodeLost".into()),
                    message: Some("Node ip-10-0-1-2 which was running pod p is unresponsive".into()),
                    container_statuses: Some(vec![running("test")]),
                    ..status("Running")
                },
                Some("NodeLost: Node ip-10-0-1-2 which was running pod p is unresponsive"),
            ),
            (
                "deadline exceeded",
                PodStatus {
                    reason: Some("DeadlineExceeded".into()),
                    message: Some(
                        "Pod was active on the node longer than the specified deadline".into(),
                    ),
                    ..status("Failed")
                },
                Some("DeadlineExceeded: Pod was active on the node longer than the specified deadline"),
            ),
        ];
        for (rule, s, want) in cases {
            assert_eq!(pod_info(&pod(s)).reason.as_deref(), want, "{rule}");
        }
    }
}
