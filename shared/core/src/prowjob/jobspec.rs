//! The downward API: what a job's containers learn about the job they run
//! (`pkg/pod-utils/downwardapi/jobspec.go`), as the `JOB_SPEC` JSON and the
//! individual environment variables, byte for byte as Prow sets them so test
//! scripts written for Prow run unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DecorationConfig, KUBERNETES_AGENT, ProwJobSpec, ProwJobType, Refs, go_order};
use crate::gojson;

pub const CI: &str = "CI";
pub const JOB_SPEC: &str = "JOB_SPEC";
pub const JOB_NAME: &str = "JOB_NAME";
pub const JOB_TYPE: &str = "JOB_TYPE";
pub const PROW_JOB_ID: &str = "PROW_JOB_ID";
pub const BUILD_ID: &str = "BUILD_ID";
/// Deprecated copy of `BUILD_ID`, set only for the kubernetes agent.
pub const BUILD_NUMBER: &str = "BUILD_NUMBER";
pub const REPO_OWNER: &str = "REPO_OWNER";
pub const REPO_NAME: &str = "REPO_NAME";
pub const SRC_BASE: &str = "SRC_BASE";
pub const SRC_HOST: &str = "SRC_HOST";
pub const PULL_BASE_REF: &str = "PULL_BASE_REF";
pub const PULL_BASE_SHA: &str = "PULL_BASE_SHA";
pub const PULL_REFS: &str = "PULL_REFS";
pub const PULL_NUMBER: &str = "PULL_NUMBER";
pub const PULL_PULL_SHA: &str = "PULL_PULL_SHA";
pub const PULL_HEAD_REF: &str = "PULL_HEAD_REF";
pub const PULL_TITLE: &str = "PULL_TITLE";
/// Set on decorated pods only: where the test writes files to upload.
pub const ARTIFACTS: &str = "ARTIFACTS";
/// Set on decorated pods only: the code volume's mount path.
pub const GOPATH: &str = "GOPATH";

/// `ARTIFACTS` on a decorated pod: the logs volume's `artifacts` directory.
pub const ARTIFACTS_PATH: &str = "/logs/artifacts";
/// `GOPATH` on a decorated pod: where clonerefs checks code out.
pub const CODE_MOUNT_PATH: &str = "/home/prow/go";

/// The host Prow assumes when neither `path_alias` nor `repo_link` names one.
pub const DEFAULT_SRC_HOST: &str = "github.com";

const PERIODIC_ENV: &[&str] = &[
    CI,
    JOB_NAME,
    JOB_SPEC,
    JOB_TYPE,
    PROW_JOB_ID,
    BUILD_ID,
    BUILD_NUMBER,
];
const POSTSUBMIT_ENV: &[&str] = &[
    CI,
    JOB_NAME,
    JOB_SPEC,
    JOB_TYPE,
    PROW_JOB_ID,
    BUILD_ID,
    BUILD_NUMBER,
    REPO_OWNER,
    REPO_NAME,
    SRC_BASE,
    SRC_HOST,
    PULL_BASE_REF,
    PULL_BASE_SHA,
    PULL_REFS,
];
const PRESUBMIT_ENV: &[&str] = &[
    CI,
    JOB_NAME,
    JOB_SPEC,
    JOB_TYPE,
    PROW_JOB_ID,
    BUILD_ID,
    BUILD_NUMBER,
    REPO_OWNER,
    REPO_NAME,
    SRC_BASE,
    SRC_HOST,
    PULL_BASE_REF,
    PULL_BASE_SHA,
    PULL_REFS,
    PULL_NUMBER,
    PULL_PULL_SHA,
    PULL_HEAD_REF,
    PULL_TITLE,
];

/// The variables Prow sets for a job type, in Prow's order (`EnvForType`).
/// Config validation rejects jobs that set any of them themselves.
pub fn env_for_type(job_type: ProwJobType) -> &'static [&'static str] {
    match job_type {
        ProwJobType::Periodic => PERIODIC_ENV,
        ProwJobType::Postsubmit | ProwJobType::Batch => POSTSUBMIT_ENV,
        ProwJobType::Presubmit => PRESUBMIT_ENV,
    }
}

/// Why the environment of a job cannot be built. Prow would panic on these
/// (it dereferences `refs` and `pulls[0]` unchecked); Skiff refuses instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobSpecError {
    #[error("job {job:?} has no type")]
    MissingType { job: String },
    #[error("{} job {job:?} has no refs", .job_type.as_str())]
    MissingRefs { job: String, job_type: ProwJobType },
    #[error("presubmit job {job:?} has no pulls")]
    MissingPulls { job: String },
}

/// Prow's `downwardapi.JobSpec`: the job as its containers see it. Serialises
/// (with [`JobSpec::to_json`]) to exactly Prow's `JOB_SPEC`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<ProwJobType>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job: String,
    #[serde(rename = "buildid", default, skip_serializing_if = "String::is_empty")]
    pub build_id: String,
    #[serde(
        rename = "prowjobid",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub prow_job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refs: Option<Refs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_refs: Vec<Refs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration_config: Option<DecorationConfig>,
    /// Not part of `JOB_SPEC` (Prow keeps it unexported): only decides whether
    /// `BUILD_NUMBER` is set.
    #[serde(skip)]
    pub agent: String,
}

impl JobSpec {
    /// Prow's `NewJobSpec`.
    pub fn new(spec: &ProwJobSpec, build_id: &str, prow_job_id: &str) -> Self {
        JobSpec {
            r#type: spec.r#type,
            job: spec.job.clone(),
            build_id: build_id.to_string(),
            prow_job_id: prow_job_id.to_string(),
            refs: spec.refs.clone(),
            extra_refs: spec.extra_refs.clone(),
            decoration_config: spec.decoration_config.clone(),
            agent: spec.agent.clone(),
        }
    }

    /// The `JOB_SPEC` value: Go's `json.Marshal` of this spec.
    ///
    /// The Kubernetes values inside `decoration_config` (resource
    /// requirements, affinity, tolerations, quantities) are put in Go's field
    /// order, omission and quantity form first; see [`go_order`].
    pub fn to_json(&self) -> String {
        let Ok(mut value) = serde_json::to_value(self) else {
            return gojson::to_string(self);
        };
        if let Some(config) = value.get_mut("decoration_config") {
            go_order::decoration_config(config);
        }
        gojson::to_string(&value)
    }
}

/// The `JOB_SPEC` value for a job run with this build id and ProwJob name.
pub fn job_spec_json(spec: &ProwJobSpec, build_id: &str, prow_job_id: &str) -> String {
    JobSpec::new(spec, build_id, prow_job_id).to_json()
}

/// Prow's `EnvForSpec`, sorted by name as `KubeEnv` puts it on the container.
///
/// Periodics get no repository variables even when they have `extra_refs`;
/// pull variables come from the first pull of a presubmit.
pub fn env_for_spec(spec: &JobSpec) -> Result<Vec<(String, String)>, JobSpecError> {
    Ok(into_sorted(env_map(spec)?))
}

/// The variables a test container of the job's pod receives: [`env_for_spec`]
/// plus, when the job is decorated, `ARTIFACTS` and `GOPATH`. Prow adds those
/// two in `decorate` (podspec.go), into the same map before `KubeEnv` sorts it,
/// so they land in name order among the others; undecorated pods lack them.
pub fn env_for_pod(spec: &JobSpec) -> Result<Vec<(String, String)>, JobSpecError> {
    let mut env = env_map(spec)?;
    if spec.decoration_config.is_some() {
        env.insert(ARTIFACTS, ARTIFACTS_PATH.to_string());
        env.insert(GOPATH, CODE_MOUNT_PATH.to_string());
    }
    Ok(into_sorted(env))
}

fn into_sorted(env: BTreeMap<&'static str, String>) -> Vec<(String, String)> {
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn env_map(spec: &JobSpec) -> Result<BTreeMap<&'static str, String>, JobSpecError> {
    let job_type = spec.r#type.ok_or_else(|| JobSpecError::MissingType {
        job: spec.job.clone(),
    })?;
    let mut env = BTreeMap::from([
        (CI, "true".to_string()),
        (JOB_NAME, spec.job.clone()),
        (BUILD_ID, spec.build_id.clone()),
        (PROW_JOB_ID, spec.prow_job_id.clone()),
        (JOB_TYPE, job_type.as_str().to_string()),
        (JOB_SPEC, spec.to_json()),
    ]);
    if spec.agent == KUBERNETES_AGENT {
        env.insert(BUILD_NUMBER, spec.build_id.clone());
    }
    if job_type == ProwJobType::Periodic {
        return Ok(env);
    }

    let refs = spec
        .refs
        .as_ref()
        .ok_or_else(|| JobSpecError::MissingRefs {
            job: spec.job.clone(),
            job_type,
        })?;
    let (src_host, src_base) = source_host_and_base(refs);
    env.insert(REPO_OWNER, refs.org.clone());
    env.insert(REPO_NAME, refs.repo.clone());
    env.insert(SRC_HOST, src_host);
    env.insert(SRC_BASE, src_base);
    env.insert(PULL_BASE_REF, refs.base_ref.clone());
    env.insert(PULL_BASE_SHA, refs.base_sha.clone());
    env.insert(PULL_REFS, refs.pull_refs());
    if job_type != ProwJobType::Presubmit {
        return Ok(env);
    }

    let pull = refs
        .pulls
        .first()
        .ok_or_else(|| JobSpecError::MissingPulls {
            job: spec.job.clone(),
        })?;
    env.insert(PULL_NUMBER, pull.number.to_string());
    env.insert(PULL_PULL_SHA, pull.sha.clone());
    env.insert(PULL_HEAD_REF, pull.head_ref.clone());
    env.insert(PULL_TITLE, pull.title.clone());
    Ok(env)
}

/// `SRC_HOST` and `SRC_BASE`: the checkout's place under `$GOPATH/src`, split
/// at the first `/` the way clonerefs lays it out: from `path_alias` if set,
/// else from `repo_link` minus its scheme, else `github.com` and `org/repo`.
fn source_host_and_base(refs: &Refs) -> (String, String) {
    let default_base = format!("{}/{}", refs.org, refs.repo);
    let located = if !refs.path_alias.is_empty() {
        refs.path_alias.as_str()
    } else if !refs.repo_link.is_empty() {
        // Go takes the text after the last "://", so do the same.
        refs.repo_link
            .rsplit("://")
            .next()
            .unwrap_or(refs.repo_link.as_str())
    } else {
        return (DEFAULT_SRC_HOST.to_string(), default_base);
    };
    match located.split_once('/') {
        Some((host, base)) => (host.to_string(), base.to_string()),
        None => (located.to_string(), default_base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::GoDuration;
    use crate::prowjob::{GcsConfiguration, JENKINS_AGENT, Pull, UtilityImages};

    type Env = Vec<(String, String)>;

    const JOB: &str = "widgets-unit";
    const BUILD: &str = "1823456789012345678";
    const PROW_JOB: &str = "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93";

    fn env(pairs: &[(&str, &str)]) -> Env {
        let mut v: Env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    fn refs(org: &str, repo: &str) -> Refs {
        Refs {
            org: org.into(),
            repo: repo.into(),
            base_ref: "main".into(),
            base_sha: "e3b0c44".into(),
            ..Refs::default()
        }
    }

    fn spec(t: ProwJobType, refs: Option<Refs>) -> JobSpec {
        JobSpec {
            r#type: Some(t),
            job: JOB.into(),
            build_id: BUILD.into(),
            prow_job_id: PROW_JOB.into(),
            refs,
            ..JobSpec::default()
        }
    }

    /// The cases of Prow's `TestEnvironmentForSpec` (downwardapi/jobspec_test.go),
    /// each with our own values: every job type, a path alias, a repo link, and
    /// `BUILD_NUMBER` for the kubernetes agent only.
    #[test]
    fn env_for_spec_covers_prow_environment_cases() {
        let batch_refs = Refs {
            pulls: vec![
                Pull {
                    number: 17,
                    author: "alice".into(),
                    sha: "9f8e7d6".into(),
                    head_ref: "fix-flaky-test".into(),
                    ..Pull::default()
                },
                Pull {
                    number: 23,
                    author: "bob".into(),
                    sha: "1a2b3c4".into(),
                    head_ref: "add-metrics".into(),
                    ..Pull::default()
                },
            ],
            ..refs("acme", "widgets")
        };
        let presubmit_refs = Refs {
            pulls: vec![Pull {
                number: 17,
                author: "alice".into(),
                sha: "9f8e7d6".into(),
                head_ref: "fix-flaky-test".into(),
                title: "Fix flaky test".into(),
                ..Pull::default()
            }],
            ..refs("acme", "widgets")
        };
        let base = [
            ("CI", "true"),
            ("JOB_NAME", "widgets-unit"),
            ("BUILD_ID", "1823456789012345678"),
            ("PROW_JOB_ID", "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all: Vec<(&str, &str)> = base.to_vec();
            all.extend_from_slice(extra);
            env(&all)
        };
        let post_env = |spec_json: &'static str, src_host, src_base| {
            with(&[
                ("JOB_TYPE", "postsubmit"),
                ("JOB_SPEC", spec_json),
                ("REPO_OWNER", "acme"),
                ("REPO_NAME", "widgets"),
                ("SRC_BASE", src_base),
                ("SRC_HOST", src_host),
                ("PULL_BASE_REF", "main"),
                ("PULL_BASE_SHA", "e3b0c44"),
                ("PULL_REFS", "main:e3b0c44"),
            ])
        };
        let periodic_env = with(&[
            ("JOB_TYPE", "periodic"),
            (
                "JOB_SPEC",
                r#"{"type":"periodic","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93"}"#,
            ),
        ]);

        let cases: Vec<(&str, JobSpec, Env)> = vec![
            (
                "periodic job",
                spec(ProwJobType::Periodic, None),
                periodic_env.clone(),
            ),
            (
                "postsubmit job",
                spec(ProwJobType::Postsubmit, Some(refs("acme", "widgets"))),
                post_env(
                    r#"{"type":"postsubmit","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44"}}"#,
                    "github.com",
                    "acme/widgets",
                ),
            ),
            (
                "batch job",
                spec(ProwJobType::Batch, Some(batch_refs)),
                with(&[
                    ("JOB_TYPE", "batch"),
                    (
                        "JOB_SPEC",
                        r#"{"type":"batch","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","head_ref":"fix-flaky-test"},{"number":23,"author":"bob","sha":"1a2b3c4","head_ref":"add-metrics"}]}}"#,
                    ),
                    ("REPO_OWNER", "acme"),
                    ("REPO_NAME", "widgets"),
                    ("SRC_BASE", "acme/widgets"),
                    ("SRC_HOST", "github.com"),
                    ("PULL_BASE_REF", "main"),
                    ("PULL_BASE_SHA", "e3b0c44"),
                    ("PULL_REFS", "main:e3b0c44,17:9f8e7d6,23:1a2b3c4"),
                ]),
            ),
            (
                "presubmit job",
                spec(ProwJobType::Presubmit, Some(presubmit_refs)),
                with(&[
                    ("JOB_TYPE", "presubmit"),
                    (
                        "JOB_SPEC",
                        r#"{"type":"presubmit","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Fix flaky test","head_ref":"fix-flaky-test"}]}}"#,
                    ),
                    ("REPO_OWNER", "acme"),
                    ("REPO_NAME", "widgets"),
                    ("SRC_BASE", "acme/widgets"),
                    ("SRC_HOST", "github.com"),
                    ("PULL_BASE_REF", "main"),
                    ("PULL_BASE_SHA", "e3b0c44"),
                    ("PULL_REFS", "main:e3b0c44,17:9f8e7d6"),
                    ("PULL_HEAD_REF", "fix-flaky-test"),
                    ("PULL_NUMBER", "17"),
                    ("PULL_PULL_SHA", "9f8e7d6"),
                    ("PULL_TITLE", "Fix flaky test"),
                ]),
            ),
            (
                "postsubmit job with path alias",
                spec(
                    ProwJobType::Postsubmit,
                    Some(Refs {
                        path_alias: "go.example.dev/widgets".into(),
                        ..refs("acme", "widgets")
                    }),
                ),
                post_env(
                    r#"{"type":"postsubmit","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","path_alias":"go.example.dev/widgets"}}"#,
                    "go.example.dev",
                    "widgets",
                ),
            ),
            (
                "postsubmit job with repo link",
                spec(
                    ProwJobType::Postsubmit,
                    Some(Refs {
                        repo_link: "https://git.example.org/acme/widgets".into(),
                        ..refs("acme", "widgets")
                    }),
                ),
                post_env(
                    r#"{"type":"postsubmit","job":"widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","refs":{"org":"acme","repo":"widgets","repo_link":"https://git.example.org/acme/widgets","base_ref":"main","base_sha":"e3b0c44"}}"#,
                    "git.example.org",
                    "acme/widgets",
                ),
            ),
            (
                "kubernetes agent",
                JobSpec {
                    agent: KUBERNETES_AGENT.into(),
                    ..spec(ProwJobType::Periodic, None)
                },
                {
                    let mut e = periodic_env.clone();
                    e.push(("BUILD_NUMBER".into(), "1823456789012345678".into()));
                    e.sort();
                    e
                },
            ),
            (
                "jenkins agent",
                JobSpec {
                    agent: JENKINS_AGENT.into(),
                    ..spec(ProwJobType::Periodic, None)
                },
                periodic_env,
            ),
        ];
        for (name, spec, want) in cases {
            assert_eq!(env_for_spec(&spec).unwrap(), want, "{name}");
            assert_eq!(env_for_pod(&spec).unwrap(), want, "{name}: undecorated pod");
        }
    }

    #[test]
    fn source_host_and_base_follow_path_alias_then_repo_link() {
        let cases = [
            ("", "", ("github.com", "o/r")),
            ("k8s.io/repo", "https://gitlab.com/x/y", ("k8s.io", "repo")),
            ("k8s.io/deep/path", "", ("k8s.io", "deep/path")),
            ("k8s.io", "", ("k8s.io", "o/r")),
            (
                "",
                "https://gitlab.com/group/sub/repo",
                ("gitlab.com", "group/sub/repo"),
            ),
            ("", "gitlab.example.com", ("gitlab.example.com", "o/r")),
            ("", "ssh://git@host:22/o/r", ("git@host:22", "o/r")),
        ];
        for (path_alias, repo_link, (host, base)) in cases {
            let r = Refs {
                org: "o".into(),
                repo: "r".into(),
                path_alias: path_alias.into(),
                repo_link: repo_link.into(),
                ..Refs::default()
            };
            assert_eq!(
                source_host_and_base(&r),
                (host.to_string(), base.to_string()),
                "{path_alias:?} {repo_link:?}"
            );
        }
    }

    /// A trigger-created presubmit whose title needs Go's HTML escaping in
    /// `JOB_SPEC`, while `PULL_TITLE` carries the raw text.
    #[test]
    fn presubmit_title_is_html_escaped_in_job_spec_only() {
        let s = ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            agent: KUBERNETES_AGENT.into(),
            job: "pull-widgets-unit".into(),
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
                    title: r#"Fix <b> & "quotes""#.into(),
                    head_ref: "fix-bug".into(),
                    link: "https://github.com/acme/widgets/pull/42".into(),
                    commit_link: "https://github.com/acme/widgets/pull/42/commits/9f8e7d".into(),
                    author_link: "https://github.com/alice".into(),
                    ..Pull::default()
                }],
                ..Refs::default()
            }),
            ..ProwJobSpec::default()
        };
        let id = "3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44";
        let want_json = concat!(
            r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","#,
            r#""prowjobid":"3b1f6f2e-9c1a-4d2b-8f0e-2a7c5d9e1b44","#,
            r#""refs":{"org":"acme","repo":"widgets","repo_link":"https://github.com/acme/widgets","#,
            r#""base_ref":"main","base_sha":"0a1b2c","base_link":"https://github.com/acme/widgets/commit/0a1b2c","#,
            r#""pulls":[{"number":42,"author":"alice","sha":"9f8e7d","#,
            r#""title":"Fix \u003cb\u003e \u0026 \"quotes\"","head_ref":"fix-bug","#,
            r#""link":"https://github.com/acme/widgets/pull/42","#,
            r#""commit_link":"https://github.com/acme/widgets/pull/42/commits/9f8e7d","#,
            r#""author_link":"https://github.com/alice"}]}}"#,
        );
        assert_eq!(job_spec_json(&s, "1823456789012345678", id), want_json);
        let got = env_for_spec(&JobSpec::new(&s, "1823456789012345678", id)).unwrap();
        assert_eq!(
            got,
            env(&[
                ("BUILD_ID", "1823456789012345678"),
                ("BUILD_NUMBER", "1823456789012345678"),
                ("CI", "true"),
                ("JOB_NAME", "pull-widgets-unit"),
                ("JOB_SPEC", want_json),
                ("JOB_TYPE", "presubmit"),
                ("PROW_JOB_ID", id),
                ("PULL_BASE_REF", "main"),
                ("PULL_BASE_SHA", "0a1b2c"),
                ("PULL_HEAD_REF", "fix-bug"),
                ("PULL_NUMBER", "42"),
                ("PULL_PULL_SHA", "9f8e7d"),
                ("PULL_REFS", "main:0a1b2c,42:9f8e7d"),
                ("PULL_TITLE", r#"Fix <b> & "quotes""#),
                ("REPO_NAME", "widgets"),
                ("REPO_OWNER", "acme"),
                ("SRC_BASE", "acme/widgets"),
                ("SRC_HOST", "github.com"),
            ])
        );
    }

    #[test]
    fn periodic_with_extra_refs_gets_them_in_job_spec_but_no_repo_env() {
        let s = JobSpec {
            extra_refs: vec![Refs {
                org: "acme".into(),
                repo: "tooling".into(),
                base_ref: "main".into(),
                path_alias: "go.example.dev/tooling".into(),
                workdir: true,
                ..Refs::default()
            }],
            agent: KUBERNETES_AGENT.into(),
            ..spec(ProwJobType::Periodic, None)
        };
        let want_json = concat!(
            r#"{"type":"periodic","job":"widgets-unit","buildid":"1823456789012345678","#,
            r#""prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
            r#""extra_refs":[{"org":"acme","repo":"tooling","base_ref":"main","#,
            r#""path_alias":"go.example.dev/tooling","workdir":true}]}"#,
        );
        assert_eq!(s.to_json(), want_json);
        assert_eq!(
            env_for_spec(&s).unwrap(),
            env(&[
                ("BUILD_ID", "1823456789012345678"),
                ("BUILD_NUMBER", "1823456789012345678"),
                ("CI", "true"),
                ("JOB_NAME", "widgets-unit"),
                ("JOB_SPEC", want_json),
                ("JOB_TYPE", "periodic"),
                ("PROW_JOB_ID", "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93"),
            ])
        );
    }

    /// A decorated presubmit in the shape of Prow's TestProwJobToPod case 1
    /// (decorate/podspec_test.go): path alias, utility images, GCS with media
    /// types, credentials and cookie file secrets, default timeouts.
    fn decorated_presubmit(grace_secs: i64) -> ProwJobSpec {
        let image = |name: &str| format!("registry.example.com/skiff/{name}:v0.4.2");
        ProwJobSpec {
            r#type: Some(ProwJobType::Presubmit),
            job: "pull-widgets-unit".into(),
            context: "ci/unit".into(),
            agent: KUBERNETES_AGENT.into(),
            decoration_config: Some(DecorationConfig {
                timeout: Some(GoDuration::from_mins(120)),
                grace_period: Some(GoDuration::from_secs(grace_secs)),
                utility_images: Some(UtilityImages {
                    clonerefs: image("clonerefs"),
                    initupload: image("initupload"),
                    entrypoint: image("entrypoint"),
                    sidecar: image("sidecar"),
                }),
                gcs_configuration: Some(GcsConfiguration {
                    bucket: "acme-ci-logs".into(),
                    path_strategy: "legacy".into(),
                    default_org: "acme".into(),
                    default_repo: "widgets".into(),
                    media_types: BTreeMap::from([(
                        "txt".into(),
                        "text/plain; charset=utf-8".into(),
                    )]),
                    ..GcsConfiguration::default()
                }),
                gcs_credentials_secret: Some("ci-gcs-writer".into()),
                cookiefile_secret: Some("git-cookies/.gitcookies".into()),
                ..DecorationConfig::default()
            }),
            refs: Some(Refs {
                pulls: vec![Pull {
                    number: 17,
                    author: "alice".into(),
                    sha: "9f8e7d6".into(),
                    head_ref: "speed-up-cache".into(),
                    title: "Speed up cache".into(),
                    ..Pull::default()
                }],
                path_alias: "go.example.dev/widgets".into(),
                ..refs("acme", "widgets")
            }),
            ..ProwJobSpec::default()
        }
    }

    #[test]
    fn decorated_pod_env_has_prow_to_pod_shape() {
        let want_json = concat!(
            r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","#,
            r#""prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
            r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
            r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}],"#,
            r#""path_alias":"go.example.dev/widgets"},"#,
            r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
            r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","#,
            r#""initupload":"registry.example.com/skiff/initupload:v0.4.2","#,
            r#""entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","#,
            r#""sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
            r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets","#,
            r#""mediaTypes":{"txt":"text/plain; charset=utf-8"}},"#,
            r#""gcs_credentials_secret":"ci-gcs-writer","cookiefile_secret":"git-cookies/.gitcookies"}}"#,
        );
        let js = JobSpec::new(&decorated_presubmit(10), BUILD, PROW_JOB);
        assert_eq!(js.to_json(), want_json);
        // Sorted by name, as KubeEnv puts them on the test container.
        let want: Vec<(String, String)> = [
            ("ARTIFACTS", "/logs/artifacts"),
            ("BUILD_ID", "1823456789012345678"),
            ("BUILD_NUMBER", "1823456789012345678"),
            ("CI", "true"),
            ("GOPATH", "/home/prow/go"),
            ("JOB_NAME", "pull-widgets-unit"),
            ("JOB_SPEC", want_json),
            ("JOB_TYPE", "presubmit"),
            ("PROW_JOB_ID", "0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93"),
            ("PULL_BASE_REF", "main"),
            ("PULL_BASE_SHA", "e3b0c44"),
            ("PULL_HEAD_REF", "speed-up-cache"),
            ("PULL_NUMBER", "17"),
            ("PULL_PULL_SHA", "9f8e7d6"),
            ("PULL_REFS", "main:e3b0c44,17:9f8e7d6"),
            ("PULL_TITLE", "Speed up cache"),
            ("REPO_NAME", "widgets"),
            ("REPO_OWNER", "acme"),
            ("SRC_BASE", "widgets"),
            ("SRC_HOST", "go.example.dev"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(env_for_pod(&js).unwrap(), want);
        let spec_only: Vec<_> = want
            .into_iter()
            .filter(|(k, _)| k != ARTIFACTS && k != GOPATH)
            .collect();
        assert_eq!(env_for_spec(&js).unwrap(), spec_only);
    }

    #[test]
    fn default_decoration_durations_print_as_go_durations() {
        let js = JobSpec::new(&decorated_presubmit(15), BUILD, PROW_JOB);
        let json = js.to_json();
        assert!(
            json.contains(r#""decoration_config":{"timeout":"2h0m0s","grace_period":"15s","#),
            "{json}"
        );
    }

    /// `JOB_SPEC` strings in the shape of Prow's TestProwJobToPod fixtures
    /// (decorate/testdata), with our own values: read into a JobSpec and
    /// written back, the bytes must not change, which pins field order and
    /// omission for every decoration field they use.
    #[test]
    fn job_specs_in_prow_fixture_shape_round_trip_byte_for_byte() {
        let fixtures = [
            // Undecorated presubmit.
            concat!(
                r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
                r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}]}}"#,
            ),
            // Decorated, cookie file secret without a key.
            concat!(
                r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
                r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}],"path_alias":"go.example.dev/widgets"},"#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets"},"#,
                r#""gcs_credentials_secret":"ci-gcs-writer","cookiefile_secret":"git-cookies"}}"#,
            ),
            // SSH key secrets and host fingerprints.
            concat!(
                r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
                r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}],"path_alias":"go.example.dev/widgets"},"#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets"},"#,
                r#""gcs_credentials_secret":"ci-gcs-writer","ssh_key_secrets":["deploy-key-a","deploy-key-b"],"#,
                r#""ssh_host_fingerprints":["git.example.org ssh-ed25519 AAAAexample1","mirror.example.org ssh-ed25519 AAAAexample2"]}}"#,
            ),
            // Decorated periodic without refs.
            concat!(
                r#"{"type":"periodic","job":"widgets-nightly","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets"},"#,
                r#""gcs_credentials_secret":"ci-gcs-writer","ssh_key_secrets":["deploy-key-a","deploy-key-b"]}}"#,
            ),
            // Extra refs and skip_cloning.
            concat!(
                r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
                r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}],"path_alias":"go.example.dev/widgets"},"#,
                r#""extra_refs":[{"org":"acme","repo":"tooling"}],"#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets"},"#,
                r#""gcs_credentials_secret":"ci-gcs-writer","ssh_key_secrets":["deploy-key-a","deploy-key-b"],"skip_cloning":true}}"#,
            ),
            // Service account, media types, run-as ids.
            concat!(
                r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
                r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","title":"Speed up cache","head_ref":"speed-up-cache"}],"path_alias":"go.example.dev/widgets"},"#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets","mediaTypes":{"txt":"text/plain; charset=utf-8"}},"#,
                r#""default_service_account_name":"ci-runner","cookiefile_secret":"git-cookies/.gitcookies","#,
                r#""run_as_user":1001,"run_as_group":1002,"fs_group":2003}}"#,
            ),
            // Resource requirements (limits, requests, claims) and a default
            // memory request, quantities already canonical.
            concat!(
                r#"{"type":"periodic","job":"widgets-nightly","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
                r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
                r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
                r#""resources":{"clonerefs":{"limits":{"memory":"1Gi"},"requests":{"cpu":"100m","memory":"256Mi"}},"#,
                r#""sidecar":{"requests":{"cpu":"250m"},"claims":[{"name":"scratch","request":"fast-disk"}]}},"#,
                r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets"},"#,
                r#""gcs_credentials_secret":"ci-gcs-writer","set_limit_equals_memory_request":true,"default_memory_request":"512Mi"}}"#,
            ),
        ];
        for want in fixtures {
            let js: JobSpec = serde_json::from_str(want).unwrap();
            assert_eq!(js.to_json(), want);
        }
    }

    /// In the shape of Prow's TestProwJobToPod scheduling fixture, with our own
    /// values. Go writes Kubernetes structs in declaration order (`weight`
    /// before `preference`; `key`, `operator`, `value`, `effect`,
    /// `tolerationSeconds`) where k8s-openapi writes them alphabetically.
    #[test]
    fn job_spec_with_scheduling_options_round_trips_byte_for_byte() {
        let want = concat!(
            r#"{"type":"presubmit","job":"pull-widgets-unit","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
            r#""refs":{"org":"acme","repo":"widgets","base_ref":"main","base_sha":"e3b0c44","#,
            r#""pulls":[{"number":17,"author":"alice","sha":"9f8e7d6","head_ref":"speed-up-cache"}],"path_alias":"go.example.dev/widgets"},"#,
            r#""decoration_config":{"timeout":"2h0m0s","grace_period":"10s","#,
            r#""utility_images":{"clonerefs":"registry.example.com/skiff/clonerefs:v0.4.2","initupload":"registry.example.com/skiff/initupload:v0.4.2","entrypoint":"registry.example.com/skiff/entrypoint:v0.4.2","sidecar":"registry.example.com/skiff/sidecar:v0.4.2"},"#,
            r#""gcs_configuration":{"bucket":"acme-ci-logs","path_strategy":"legacy","default_org":"acme","default_repo":"widgets","mediaTypes":{"txt":"text/plain; charset=utf-8"}},"#,
            r#""default_service_account_name":"ci-runner","cookiefile_secret":"git-cookies/.gitcookies","#,
            r#""scheduling_options":{"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":"#,
            r#"[{"weight":25,"preference":{"matchExpressions":[{"key":"ci.example.dev/pool","operator":"In","values":["builds"]}]}}]}},"#,
            r#""tolerations":[{"key":"ci.example.dev/dedicated","operator":"Equal","value":"ci","effect":"NoSchedule"},"#,
            r#"{"key":"ci.example.dev/draining","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]},"#,
            r#""run_as_user":1001,"run_as_group":1002,"fs_group":2003}}"#,
        );
        let js: JobSpec = serde_json::from_str(want).unwrap();
        assert_eq!(js.to_json(), want);
    }

    /// Go's `resource.Quantity` writes its canonical form, not the text read:
    /// `1024Mi` is `1Gi`, `0.5` is `500m`, `0.5Gi` is `512Mi`, `1.5Gi` is
    /// `1536Mi`; and Go's field order holds for k8s-openapi's alphabetical
    /// `claims`, `limits`, `requests`.
    #[test]
    fn job_spec_quantities_are_written_in_go_canonical_form() {
        let read = concat!(
            r#"{"type":"periodic","job":"widgets-nightly","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
            r#""decoration_config":{"resources":{"place_entrypoint":{"#,
            r#""claims":[{"name":"scratch"}],"limits":{"memory":"1024Mi"},"requests":{"memory":"0.5Gi","cpu":"0.5"}}},"#,
            r#""default_memory_request":"1.5Gi"}}"#,
        );
        let want = concat!(
            r#"{"type":"periodic","job":"widgets-nightly","buildid":"1823456789012345678","prowjobid":"0d5e8c3a-7b21-4f6e-9a40-2c1b8e7f5d93","#,
            r#""decoration_config":{"resources":{"place_entrypoint":{"#,
            r#""limits":{"memory":"1Gi"},"requests":{"cpu":"500m","memory":"512Mi"},"claims":[{"name":"scratch"}]}},"#,
            r#""default_memory_request":"1536Mi"}}"#,
        );
        let js: JobSpec = serde_json::from_str(read).unwrap();
        assert_eq!(js.to_json(), want);
    }

    #[test]
    fn presubmit_without_pulls_is_an_error_not_a_panic() {
        let s = spec(ProwJobType::Presubmit, Some(refs("o", "r")));
        assert_eq!(
            env_for_spec(&s),
            Err(JobSpecError::MissingPulls {
                job: "widgets-unit".into()
            })
        );
    }

    #[test]
    fn non_periodic_without_refs_is_an_error() {
        for t in [
            ProwJobType::Presubmit,
            ProwJobType::Postsubmit,
            ProwJobType::Batch,
        ] {
            assert_eq!(
                env_for_spec(&spec(t, None)),
                Err(JobSpecError::MissingRefs {
                    job: "widgets-unit".into(),
                    job_type: t
                }),
                "{t:?}"
            );
        }
        let untyped = JobSpec {
            r#type: None,
            ..spec(ProwJobType::Periodic, None)
        };
        assert_eq!(
            env_for_pod(&untyped),
            Err(JobSpecError::MissingType {
                job: "widgets-unit".into()
            })
        );
    }

    #[test]
    fn env_for_type_lists_prow_reserved_names_in_prow_order() {
        let base = "CI JOB_NAME JOB_SPEC JOB_TYPE PROW_JOB_ID BUILD_ID BUILD_NUMBER";
        let refs = "REPO_OWNER REPO_NAME SRC_BASE SRC_HOST PULL_BASE_REF PULL_BASE_SHA PULL_REFS";
        let pull = "PULL_NUMBER PULL_PULL_SHA PULL_HEAD_REF PULL_TITLE";
        let cases = [
            (ProwJobType::Periodic, base.to_string()),
            (ProwJobType::Postsubmit, format!("{base} {refs}")),
            (ProwJobType::Batch, format!("{base} {refs}")),
            (ProwJobType::Presubmit, format!("{base} {refs} {pull}")),
        ];
        for (t, want) in cases {
            assert_eq!(env_for_type(t).join(" "), want, "{t:?}");
        }
    }

    #[test]
    fn every_env_name_set_is_reserved_for_its_type() {
        let s = JobSpec {
            agent: KUBERNETES_AGENT.into(),
            ..spec(
                ProwJobType::Presubmit,
                Some(Refs {
                    pulls: vec![Pull {
                        number: 1,
                        ..Pull::default()
                    }],
                    ..refs("o", "r")
                }),
            )
        };
        let mut set: Vec<String> = env_for_spec(&s)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut reserved: Vec<String> = env_for_type(ProwJobType::Presubmit)
            .iter()
            .map(|s| s.to_string())
            .collect();
        set.sort();
        reserved.sort();
        assert_eq!(set, reserved);
    }
}
