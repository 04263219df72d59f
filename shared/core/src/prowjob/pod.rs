//! The pod a job runs in: Prow's `ProwJobToPod` (`pkg/pod-utils/decorate/podspec.go`),
//! so a test written for Prow sees the same pod.
//!
//! What Prow does to the job's `pod_spec`, and so does this:
//! - the pod is named by the job id (a retry finds it already there);
//! - `restartPolicy: Never`: a failed test is a failed job, not a restart loop;
//! - a pod spec with exactly one container has it renamed `test` (log tools
//!   look for that name); with several containers the names are kept;
//! - `automountServiceAccountToken: false` unless the spec sets it or names a
//!   service account: Kubernetes mounts the token by default, Prow does not;
//! - an undecorated job's environment (`JOB_SPEC`, `BUILD_ID`, `PULL_*` …,
//!   sorted by name) is appended to every container's own `env`;
//! - a decorated job (one with a `decoration_config`) gets the pod utilities
//!   ([`super::decorate`]): clonerefs, initupload and place-entrypoint init
//!   containers, each test container run by entrypoint with the job's
//!   environment plus `ARTIFACTS`, `GOPATH` and `ENTRYPOINT_OPTIONS`, and a
//!   sidecar that uploads the logs. Entrypoint enforces the job's timeout, so
//!   the pod has no `activeDeadlineSeconds` of Skiff's making (only one the
//!   spec sets itself, decorated or not);
//! - every container and init container without a `terminationMessagePolicy`
//!   gets `FallbackToLogsOnError`, so an evicted or deleted pod still says why
//!   it failed;
//! - labels and annotations are the job's plus `prow.k8s.io/id`,
//!   `prow.k8s.io/build-id` and `prow.k8s.io/plank-version`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::build_id::SNOWFLAKE_EPOCH_MS;
use super::decorate::decorate;
use super::jobspec::{JobSpec, JobSpecError, env_for_pod};
use super::labels::{PLANK_VERSION, PROW_BUILD_ID, labels_and_annotations_for_job};
use super::{DEFAULT_CLUSTER_ALIAS, KUBERNETES_AGENT, ProwJob};
use crate::ports::PodRequest;

/// The name Prow gives the only container of a single-container pod.
pub const TEST_CONTAINER_NAME: &str = "test";

/// What Skiff writes where Prow writes its own version.
const PLANK_VERSION_VALUE: &str = concat!("skiff-v", env!("CARGO_PKG_VERSION"));

const FALLBACK_TO_LOGS_ON_ERROR: &str = "FallbackToLogsOnError";

/// Why no pod can be built for a job. Retrying does not help: the record is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodError {
    /// Prow's wording: `prowjob "<id>" lacks a pod spec`.
    #[error("prowjob {0:?} lacks a pod spec")]
    MissingPodSpec(String),
    #[error(transparent)]
    JobSpec(#[from] JobSpecError),
}

/// The pod for `job` run as build `build_id`, in `namespace`.
pub fn pod_request(job: &ProwJob, build_id: &str, namespace: &str) -> Result<PodRequest, PodError> {
    let Some(pod_spec) = &job.spec.pod_spec else {
        return Err(PodError::MissingPodSpec(job.metadata.name.clone()));
    };
    let mut spec = pod_spec.clone();
    spec.restart_policy = Some("Never".to_string());
    if let [only] = spec.containers.as_mut_slice() {
        only.name = TEST_CONTAINER_NAME.to_string();
    }
    let has_service_account = spec
        .service_account_name
        .as_deref()
        .is_some_and(|s| !s.is_empty());
    if spec.automount_service_account_token.is_none() && !has_service_account {
        spec.automount_service_account_token = Some(false);
    }
    if job.spec.decoration_config.is_some() {
        decorate(&mut spec, job, build_id)?;
    } else {
        let env: Vec<core::EnvVar> =
            env_for_pod(&JobSpec::new(&job.spec, build_id, &job.metadata.name))?
                .into_iter()
                .map(|(name, value)| core::EnvVar {
                    name,
                    value: Some(value),
                    value_from: None,
                })
                .collect();
        for c in &mut spec.containers {
            c.env
                .get_or_insert_with(Vec::new)
                .extend(env.iter().cloned());
        }
    }
    let init = spec.init_containers.iter_mut().flatten();
    for c in init.chain(spec.containers.iter_mut()) {
        if c.termination_message_policy
            .as_deref()
            .unwrap_or("")
            .is_empty()
        {
            c.termination_message_policy = Some(FALLBACK_TO_LOGS_ON_ERROR.to_string());
        }
    }

    // The build id label comes from the status, so label a copy that has it.
    let mut labelled = job.clone();
    labelled.status.build_id = build_id.to_string();
    let (mut labels, annotations) = labels_and_annotations_for_job(&labelled);
    labels.insert(PLANK_VERSION.to_string(), PLANK_VERSION_VALUE.to_string());

    Ok(PodRequest {
        name: job.metadata.name.clone(),
        namespace: namespace.to_string(),
        labels,
        annotations,
        spec,
    })
}

/// Whether the job runs as a pod: Prow's plank takes only `kubernetes` jobs
/// (an empty agent is the default, kubernetes).
pub fn runs_in_pod(job: &ProwJob) -> bool {
    job.spec.agent.is_empty() || job.spec.agent == KUBERNETES_AGENT
}

/// The build cluster of the job's pod: `spec.cluster`, or `default` when
/// unset (Prow's `ClusterAlias`).
pub fn cluster_name(job: &ProwJob) -> &str {
    if job.spec.cluster.is_empty() {
        DEFAULT_CLUSTER_ALIAS
    } else {
        &job.spec.cluster
    }
}

/// The request as a Kubernetes `Pod` object, as a cluster adapter sends it.
pub fn to_kube_pod(pod: &PodRequest) -> core::Pod {
    core::Pod {
        metadata: ObjectMeta {
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            labels: Some(pod.labels.clone()),
            annotations: Some(pod.annotations.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(pod.spec.clone()),
        status: None,
    }
}

/// When the pod with these labels was created, as far as its build id tells:
/// Skiff mints a snowflake build id immediately before it creates a pod, and
/// the id's high bits are that millisecond. `None` when the label is missing
/// or is not a snowflake.
///
/// [`crate::ports::PodInfo`] carries no creation time, and Prow measures the
/// scheduling timeout and a pod's orphan age from it; a revived pod has a new
/// build id, so this dates the current pod, not the job's first one.
pub fn pod_created_at(labels: &BTreeMap<String, String>) -> Option<Timestamp> {
    let id: i64 = labels.get(PROW_BUILD_ID)?.parse().ok()?;
    if id <= 0 {
        return None;
    }
    // 10 node bits and 12 sequence bits below the milliseconds (build_id.rs).
    let ms = (id >> 22).checked_add(SNOWFLAKE_EPOCH_MS)?;
    Timestamp::from_millisecond(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prowjob::build_id::BuildIdGenerator;
    use crate::prowjob::{KUBERNETES_AGENT, ProwJobSpec, ProwJobType, Pull, Refs};

    const ID: &str = "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44";
    const BUILD: &str = "1823456789012345678";

    fn container(name: &str) -> core::Container {
        core::Container {
            name: name.into(),
            image: Some("golang:1.23".into()),
            ..core::Container::default()
        }
    }

    fn job_with(spec: core::PodSpec) -> ProwJob {
        let mut pj = ProwJob::default();
        pj.metadata.name = ID.into();
        pj.spec = ProwJobSpec {
            r#type: Some(ProwJobType::Periodic),
            agent: KUBERNETES_AGENT.into(),
            job: "ci-widgets-nightly".into(),
            pod_spec: Some(spec),
            ..ProwJobSpec::default()
        };
        pj
    }

    fn presubmit() -> ProwJob {
        let mut pj = ProwJob {
            api_version: "prow.k8s.io/v1".into(),
            kind: "ProwJob".into(),
            ..ProwJob::default()
        };
        pj.metadata.name = ID.into();
        pj.metadata.labels = BTreeMap::from([
            ("created-by-prow".into(), "true".into()),
            (
                "event-GUID".into(),
                "5f8a1c00-0000-11ef-8000-000000000001".into(),
            ),
            ("prow.k8s.io/is-optional".into(), "false".into()),
            ("team".into(), "widgets".into()),
        ]);
        pj.spec = ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            agent: KUBERNETES_AGENT.into(),
            cluster: "default".into(),
            namespace: "test-pods".into(),
            job: "pull-widgets-unit".into(),
            context: "ci/unit".into(),
            rerun_command: "/test pull-widgets-unit".into(),
            report: true,
            refs: Some(Refs {
                org: "acme".into(),
                repo: "widgets".into(),
                repo_link: "https://github.com/acme/widgets".into(),
                base_ref: "main".into(),
                base_sha: "0a1b2c".into(),
                base_link: "https://github.com/acme/widgets/commit/0a1b2c".into(),
                pulls: vec![Pull {
                    number: 42,
                    author: "alice".into(),
                    sha: "9f8e7d".into(),
                    title: "Fix <b> bug".into(),
                    head_ref: "fix-bug".into(),
                    link: "https://github.com/acme/widgets/pull/42".into(),
                    commit_link: "https://github.com/acme/widgets/pull/42/commits/9f8e7d".into(),
                    author_link: "https://github.com/alice".into(),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            pod_spec: Some(core::PodSpec {
                containers: vec![core::Container {
                    name: "unit".into(),
                    image: Some("golang:1.23".into()),
                    command: Some(vec!["make".into()]),
                    args: Some(vec!["test".into()]),
                    env: Some(vec![core::EnvVar {
                        name: "GOFLAGS".into(),
                        value: Some("-mod=vendor".into()),
                        value_from: None,
                    }]),
                    ..core::Container::default()
                }],
                ..core::PodSpec::default()
            }),
            ..ProwJobSpec::default()
        };
        pj
    }

    /// The whole pod for a trigger-created presubmit, pinned byte for byte.
    /// The JOB_SPEC value is Go's HTML-escaped JSON; the plank-version label
    /// is the only part that moves with Skiff's version.
    #[test]
    fn presubmit_pod_is_pinned() {
        let pod = pod_request(&presubmit(), BUILD, "test-pods").unwrap();
        let json = serde_json::to_string_pretty(&to_kube_pod(&pod)).unwrap();
        let want = r#"{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "annotations": {
      "prow.k8s.io/context": "ci/unit",
      "prow.k8s.io/job": "pull-widgets-unit"
    },
    "labels": {
      "created-by-prow": "true",
      "event-GUID": "5f8a1c00-0000-11ef-8000-000000000001",
      "prow.k8s.io/build-id": "1823456789012345678",
      "prow.k8s.io/context": "unit",
      "prow.k8s.io/id": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
      "prow.k8s.io/is-optional": "false",
      "prow.k8s.io/job": "pull-widgets-unit",
      "prow.k8s.io/plank-version": "PLANK_VERSION",
      "prow.k8s.io/refs.base_ref": "main",
      "prow.k8s.io/refs.org": "acme",
      "prow.k8s.io/refs.pull": "42",
      "prow.k8s.io/refs.repo": "widgets",
      "prow.k8s.io/type": "presubmit",
      "team": "widgets"
    },
    "name": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44",
    "namespace": "test-pods"
  },
  "spec": {
    "automountServiceAccountToken": false,
    "containers": [
      {
        "args": [
          "test"
        ],
        "command": [
          "make"
        ],
        "env": [
          {
            "name": "GOFLAGS",
            "value": "-mod=vendor"
          },
          {
            "name": "BUILD_ID",
            "value": "1823456789012345678"
          },
          {
            "name": "BUILD_NUMBER",
            "value": "1823456789012345678"
          },
          {
            "name": "CI",
            "value": "true"
          },
          {
            "name": "JOB_NAME",
            "value": "pull-widgets-unit"
          },
          {
            "name": "JOB_SPEC",
            "value": "{\"type\":\"presubmit\",\"job\":\"pull-widgets-unit\",\"buildid\":\"1823456789012345678\",\"prowjobid\":\"3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44\",\"refs\":{\"org\":\"acme\",\"repo\":\"widgets\",\"repo_link\":\"https://github.com/acme/widgets\",\"base_ref\":\"main\",\"base_sha\":\"0a1b2c\",\"base_link\":\"https://github.com/acme/widgets/commit/0a1b2c\",\"pulls\":[{\"number\":42,\"author\":\"alice\",\"sha\":\"9f8e7d\",\"title\":\"Fix \\u003cb\\u003e bug\",\"head_ref\":\"fix-bug\",\"link\":\"https://github.com/acme/widgets/pull/42\",\"commit_link\":\"https://github.com/acme/widgets/pull/42/commits/9f8e7d\",\"author_link\":\"https://github.com/alice\"}]}}"
          },
          {
            "name": "JOB_TYPE",
            "value": "presubmit"
          },
          {
            "name": "PROW_JOB_ID",
            "value": "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44"
          },
          {
            "name": "PULL_BASE_REF",
            "value": "main"
          },
          {
            "name": "PULL_BASE_SHA",
            "value": "0a1b2c"
          },
          {
            "name": "PULL_HEAD_REF",
            "value": "fix-bug"
          },
          {
            "name": "PULL_NUMBER",
            "value": "42"
          },
          {
            "name": "PULL_PULL_SHA",
            "value": "9f8e7d"
          },
          {
            "name": "PULL_REFS",
            "value": "main:0a1b2c,42:9f8e7d"
          },
          {
            "name": "PULL_TITLE",
            "value": "Fix <b> bug"
          },
          {
            "name": "REPO_NAME",
            "value": "widgets"
          },
          {
            "name": "REPO_OWNER",
            "value": "acme"
          },
          {
            "name": "SRC_BASE",
            "value": "acme/widgets"
          },
          {
            "name": "SRC_HOST",
            "value": "github.com"
          }
        ],
        "image": "golang:1.23",
        "name": "test",
        "terminationMessagePolicy": "FallbackToLogsOnError"
      }
    ],
    "restartPolicy": "Never"
  }
}"#
        .replace("PLANK_VERSION", PLANK_VERSION_VALUE);
        assert_eq!(json, want);
    }

    #[test]
    fn only_a_single_container_is_renamed_test() {
        let one = pod_request(
            &job_with(core::PodSpec {
                containers: vec![container("main")],
                ..core::PodSpec::default()
            }),
            BUILD,
            "p",
        )
        .unwrap();
        assert_eq!(one.spec.containers[0].name, "test");

        let two = pod_request(
            &job_with(core::PodSpec {
                containers: vec![container("main"), container("db")],
                ..core::PodSpec::default()
            }),
            BUILD,
            "p",
        )
        .unwrap();
        let names: Vec<_> = two
            .spec
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["main", "db"]);
        for c in &two.spec.containers {
            let env = c.env.as_deref().unwrap_or_default();
            assert!(
                env.iter().any(|e| e.name == "BUILD_ID"),
                "{}: env on every container",
                c.name
            );
        }
    }

    #[test]
    fn service_account_token_is_mounted_only_when_asked() {
        let cases = [
            (None, None, Some(false)),
            (Some(""), None, Some(false)),
            (Some("ci-runner"), None, None),
            (None, Some(true), Some(true)),
            (None, Some(false), Some(false)),
            (Some("ci-runner"), Some(false), Some(false)),
        ];
        for (account, automount, want) in cases {
            let pod = pod_request(
                &job_with(core::PodSpec {
                    containers: vec![container("main")],
                    service_account_name: account.map(String::from),
                    automount_service_account_token: automount,
                    ..core::PodSpec::default()
                }),
                BUILD,
                "p",
            )
            .unwrap();
            assert_eq!(
                pod.spec.automount_service_account_token, want,
                "{account:?} {automount:?}"
            );
        }
    }

    #[test]
    fn termination_message_policy_defaults_only_where_unset() {
        let mut explicit = container("sidecar");
        explicit.termination_message_policy = Some("File".into());
        let pod = pod_request(
            &job_with(core::PodSpec {
                init_containers: Some(vec![container("init")]),
                containers: vec![container("main"), explicit],
                ..core::PodSpec::default()
            }),
            BUILD,
            "p",
        )
        .unwrap();
        let policy = |c: &core::Container| c.termination_message_policy.clone();
        let init = pod.spec.init_containers.as_deref().unwrap_or_default();
        assert_eq!(policy(&init[0]).as_deref(), Some(FALLBACK_TO_LOGS_ON_ERROR));
        assert!(
            init[0].env.is_none(),
            "Prow does not give init containers the job env"
        );
        assert_eq!(
            policy(&pod.spec.containers[0]).as_deref(),
            Some(FALLBACK_TO_LOGS_ON_ERROR)
        );
        assert_eq!(policy(&pod.spec.containers[1]).as_deref(), Some("File"));
    }

    #[test]
    fn restart_policy_is_never_even_when_the_spec_says_otherwise() {
        let pod = pod_request(
            &job_with(core::PodSpec {
                containers: vec![container("main")],
                restart_policy: Some("Always".into()),
                ..core::PodSpec::default()
            }),
            BUILD,
            "p",
        )
        .unwrap();
        assert_eq!(pod.spec.restart_policy.as_deref(), Some("Never"));
    }

    #[test]
    fn the_build_id_given_wins_over_the_records() {
        let mut pj = job_with(core::PodSpec {
            containers: vec![container("main")],
            ..core::PodSpec::default()
        });
        pj.status.build_id = "111".into();
        let pod = pod_request(&pj, "222", "p").unwrap();
        assert_eq!(pod.labels[PROW_BUILD_ID], "222");
        let env = pod.spec.containers[0].env.as_deref().unwrap_or_default();
        let build = env
            .iter()
            .find(|e| e.name == "BUILD_ID")
            .and_then(|e| e.value.clone());
        assert_eq!(build.as_deref(), Some("222"));
        assert_eq!(pod.name, ID);
        assert_eq!(pod.namespace, "p");
    }

    #[test]
    fn jobs_that_cannot_have_a_pod_say_why() {
        let mut pj = job_with(core::PodSpec::default());
        pj.spec.pod_spec = None;
        assert_eq!(
            pod_request(&pj, BUILD, "p").unwrap_err().to_string(),
            format!("prowjob {ID:?} lacks a pod spec")
        );
        let mut pj = presubmit();
        if let Some(refs) = pj.spec.refs.as_mut() {
            refs.pulls.clear();
        }
        assert_eq!(
            pod_request(&pj, BUILD, "p").unwrap_err(),
            PodError::JobSpec(JobSpecError::MissingPulls {
                job: "pull-widgets-unit".into()
            })
        );
    }

    #[test]
    fn decorated_jobs_are_run_by_entrypoint_with_the_decorated_env() {
        let mut pj = presubmit();
        pj.spec.decoration_config = Some(crate::prowjob::DecorationConfig::default());
        let pod = pod_request(&pj, BUILD, "p").unwrap();
        let names: Vec<&str> = pod
            .spec
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["test", "sidecar"]);
        let test = &pod.spec.containers[0];
        assert_eq!(
            test.command.as_deref(),
            Some(&["/tools/entrypoint".to_string()][..])
        );
        assert_eq!(test.args, None, "make test moved into ENTRYPOINT_OPTIONS");
        let env = test.env.as_deref().unwrap_or_default();
        let get = |n: &str| {
            env.iter()
                .find(|e| e.name == n)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(get("ARTIFACTS").as_deref(), Some("/logs/artifacts"));
        assert_eq!(get("GOPATH").as_deref(), Some("/home/prow/go"));
        assert!(
            get("ENTRYPOINT_OPTIONS")
                .unwrap_or_default()
                .contains(r#""args":["make","test"]"#)
        );
        for c in pod.spec.init_containers.iter().flatten() {
            assert_eq!(
                c.termination_message_policy.as_deref(),
                Some(FALLBACK_TO_LOGS_ON_ERROR),
                "{}",
                c.name
            );
        }
    }

    /// Entrypoint enforces a decorated job's timeout; the pod's own deadline
    /// is only ever the one its spec sets (the stand-in Skiff used before
    /// decoration existed is gone).
    #[test]
    fn the_pod_deadline_is_only_the_specs_own() {
        use crate::duration::GoDuration;
        let decorated = Some(crate::prowjob::DecorationConfig {
            timeout: Some(GoDuration::from_mins(10)),
            grace_period: Some(GoDuration::from_secs(15)),
            ..Default::default()
        });
        for (decoration, own, want) in [
            (decorated.clone(), None, None),
            (decorated, Some(60), Some(60)),
            (None, None, None),
            (None, Some(60), Some(60)),
        ] {
            let mut pj = presubmit();
            pj.spec.decoration_config = decoration.clone();
            if let Some(spec) = pj.spec.pod_spec.as_mut() {
                spec.active_deadline_seconds = own;
            }
            let pod = pod_request(&pj, BUILD, "p").unwrap();
            assert_eq!(
                pod.spec.active_deadline_seconds,
                want,
                "decorated: {} own: {own:?}",
                decoration.is_some()
            );
        }
    }

    #[test]
    fn cluster_and_agent_follow_prows_defaults() {
        let mut pj = job_with(core::PodSpec::default());
        assert_eq!(cluster_name(&pj), "default");
        pj.spec.cluster = "gpu".into();
        assert_eq!(cluster_name(&pj), "gpu");
        assert!(runs_in_pod(&pj));
        pj.spec.agent.clear();
        assert!(runs_in_pod(&pj));
        pj.spec.agent = "jenkins".into();
        assert!(!runs_in_pod(&pj));
    }

    #[test]
    fn creation_time_is_read_back_from_the_build_id() {
        let at: Timestamp = "2026-11-23T10:00:00.123Z".parse().unwrap();
        let id = BuildIdGenerator::new().next(at.as_millisecond());
        let labels = BTreeMap::from([(PROW_BUILD_ID.to_string(), id)]);
        assert_eq!(pod_created_at(&labels), Some(at));
        for bad in ["", "abc", "-5", "0"] {
            let labels = BTreeMap::from([(PROW_BUILD_ID.to_string(), bad.to_string())]);
            assert_eq!(pod_created_at(&labels), None, "{bad:?}");
        }
        assert_eq!(pod_created_at(&BTreeMap::new()), None);
    }
}
