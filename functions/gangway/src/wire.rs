//! Prow gangway's messages as JSON (`pkg/gangway/gangway.proto`), field
//! names as the proto writes them (`job_name`, `base_sha`); the lowerCamel
//! names protobuf's JSON mapping also accepts (`jobName`, `baseSha`) are
//! read too. Enums are their names (`PERIODIC`) or numbers (`1`), as in
//! protobuf's JSON; timestamps are RFC 3339 in UTC.
//!
//! `skiff run` builds and reads these same types, so the client and the
//! server cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use skiff_core::prowjob::labels::{self, is_qualified_name, is_valid_label_value};
use skiff_core::prowjob::{ProwJobState, ProwJobType, Pull, Refs};

/// A number or a name, as protobuf's JSON mapping reads an enum.
#[derive(Deserialize)]
#[serde(untagged)]
enum EnumValue {
    Number(i64),
    Name(String),
}

macro_rules! proto_enum {
    ($(#[$doc:meta])* $name:ident, $proto:literal, [$($variant:ident = $n:literal, $text:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub enum $name {
            #[default]
            $($variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// From its name or number; `None` for a value the proto lacks.
            pub fn parse(s: &str) -> Option<Self> {
                match s.parse::<i64>() {
                    Ok(n) => Self::from_number(n),
                    Err(_) => [$($name::$variant),+].into_iter().find(|v| v.as_str() == s),
                }
            }

            fn from_number(n: i64) -> Option<Self> {
                match n {
                    $($n => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let parsed = match EnumValue::deserialize(d)? {
                    EnumValue::Number(n) => Self::from_number(n),
                    EnumValue::Name(s) => Self::parse(&s),
                };
                parsed.ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a ", $proto, " (a name or a number)"))
                })
            }
        }
    };
}

proto_enum!(
    /// `JobExecutionType`: Prow's `ProwJobType`, one to one.
    ExecutionType,
    "JobExecutionType",
    [
        Unspecified = 0, "JOB_EXECUTION_TYPE_UNSPECIFIED",
        Periodic = 1, "PERIODIC",
        Postsubmit = 2, "POSTSUBMIT",
        Presubmit = 3, "PRESUBMIT",
        Batch = 4, "BATCH",
    ]
);

proto_enum!(
    /// `JobExecutionStatus`: Prow's `ProwJobState`, one to one.
    ExecutionStatus,
    "JobExecutionStatus",
    [
        Unspecified = 0, "JOB_EXECUTION_STATUS_UNSPECIFIED",
        Triggered = 1, "TRIGGERED",
        Pending = 2, "PENDING",
        Success = 3, "SUCCESS",
        Failure = 4, "FAILURE",
        Aborted = 5, "ABORTED",
        Error = 6, "ERROR",
        Scheduling = 7, "SCHEDULING",
    ]
);

impl ExecutionType {
    /// Prow's `TranslateProwJobType`.
    pub fn of(t: Option<ProwJobType>) -> Self {
        match t {
            Some(ProwJobType::Periodic) => ExecutionType::Periodic,
            Some(ProwJobType::Postsubmit) => ExecutionType::Postsubmit,
            Some(ProwJobType::Presubmit) => ExecutionType::Presubmit,
            Some(ProwJobType::Batch) => ExecutionType::Batch,
            None => ExecutionType::Unspecified,
        }
    }

    pub fn job_type(self) -> Option<ProwJobType> {
        match self {
            ExecutionType::Periodic => Some(ProwJobType::Periodic),
            ExecutionType::Postsubmit => Some(ProwJobType::Postsubmit),
            ExecutionType::Presubmit => Some(ProwJobType::Presubmit),
            ExecutionType::Batch => Some(ProwJobType::Batch),
            ExecutionType::Unspecified => None,
        }
    }
}

impl ExecutionStatus {
    /// Prow's `TranslateProwJobStatus`.
    pub fn of(s: Option<ProwJobState>) -> Self {
        match s {
            Some(ProwJobState::Scheduling) => ExecutionStatus::Scheduling,
            Some(ProwJobState::Triggered) => ExecutionStatus::Triggered,
            Some(ProwJobState::Pending) => ExecutionStatus::Pending,
            Some(ProwJobState::Success) => ExecutionStatus::Success,
            Some(ProwJobState::Failure) => ExecutionStatus::Failure,
            Some(ProwJobState::Aborted) => ExecutionStatus::Aborted,
            Some(ProwJobState::Error) => ExecutionStatus::Error,
            None => ExecutionStatus::Unspecified,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// The proto's `Pull`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WirePull {
    pub number: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sha: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(rename = "ref", skip_serializing_if = "String::is_empty")]
    pub r#ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub link: String,
    #[serde(alias = "commitLink", skip_serializing_if = "String::is_empty")]
    pub commit_link: String,
    #[serde(alias = "authorLink", skip_serializing_if = "String::is_empty")]
    pub author_link: String,
}

/// The proto's `Refs` (Prow's `Refs`, one to one; `work_dir` is the
/// ProwJob's `workdir`, which is read too).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WireRefs {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub org: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repo: String,
    #[serde(alias = "repoLink", skip_serializing_if = "String::is_empty")]
    pub repo_link: String,
    #[serde(alias = "baseRef", skip_serializing_if = "String::is_empty")]
    pub base_ref: String,
    #[serde(alias = "baseSha", skip_serializing_if = "String::is_empty")]
    pub base_sha: String,
    #[serde(alias = "baseLink", skip_serializing_if = "String::is_empty")]
    pub base_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pulls: Vec<WirePull>,
    #[serde(alias = "pathAlias", skip_serializing_if = "String::is_empty")]
    pub path_alias: String,
    #[serde(alias = "workDir", alias = "workdir", skip_serializing_if = "is_false")]
    pub work_dir: bool,
    #[serde(alias = "cloneUri", skip_serializing_if = "String::is_empty")]
    pub clone_uri: String,
    #[serde(alias = "skipSubmodules", skip_serializing_if = "is_false")]
    pub skip_submodules: bool,
    #[serde(alias = "cloneDepth", skip_serializing_if = "is_zero")]
    pub clone_depth: i32,
    #[serde(alias = "skipFetchHead", skip_serializing_if = "is_false")]
    pub skip_fetch_head: bool,
}

impl WireRefs {
    /// Prow's `ToCrdRefs`.
    pub fn to_refs(&self) -> Refs {
        Refs {
            org: self.org.clone(),
            repo: self.repo.clone(),
            repo_link: self.repo_link.clone(),
            base_ref: self.base_ref.clone(),
            base_sha: self.base_sha.clone(),
            base_link: self.base_link.clone(),
            pulls: self
                .pulls
                .iter()
                .map(|p| Pull {
                    number: i64::from(p.number),
                    author: p.author.clone(),
                    sha: p.sha.clone(),
                    title: p.title.clone(),
                    r#ref: p.r#ref.clone(),
                    link: p.link.clone(),
                    commit_link: p.commit_link.clone(),
                    author_link: p.author_link.clone(),
                    ..Pull::default()
                })
                .collect(),
            path_alias: self.path_alias.clone(),
            workdir: self.work_dir,
            clone_uri: self.clone_uri.clone(),
            skip_submodules: self.skip_submodules,
            clone_depth: i64::from(self.clone_depth),
            skip_fetch_head: self.skip_fetch_head,
            ..Refs::default()
        }
    }

    /// Prow's `FromCrdRefs` (a pull number or clone depth beyond the
    /// proto's 32 bits, which no forge has, is saturated).
    pub fn from_refs(r: &Refs) -> Self {
        let narrow = |n: i64| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX });
        WireRefs {
            org: r.org.clone(),
            repo: r.repo.clone(),
            repo_link: r.repo_link.clone(),
            base_ref: r.base_ref.clone(),
            base_sha: r.base_sha.clone(),
            base_link: r.base_link.clone(),
            pulls: r
                .pulls
                .iter()
                .map(|p| WirePull {
                    number: narrow(p.number),
                    author: p.author.clone(),
                    sha: p.sha.clone(),
                    title: p.title.clone(),
                    r#ref: p.r#ref.clone(),
                    link: p.link.clone(),
                    commit_link: p.commit_link.clone(),
                    author_link: p.author_link.clone(),
                })
                .collect(),
            path_alias: r.path_alias.clone(),
            work_dir: r.workdir,
            clone_uri: r.clone_uri.clone(),
            skip_submodules: r.skip_submodules,
            clone_depth: narrow(r.clone_depth),
            skip_fetch_head: r.skip_fetch_head,
        }
    }
}

/// The proto's `PodSpecOptions`: environment variables for every container
/// of the job's pod, and labels and annotations for the job (and its pod),
/// over the job's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PodSpecOptions {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub envs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl PodSpecOptions {
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty() && self.labels.is_empty() && self.annotations.is_empty()
    }
}

/// `POST /v1/executions`'s body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateJobExecutionRequest {
    #[serde(alias = "jobName")]
    pub job_name: String,
    #[serde(alias = "jobExecutionType")]
    pub job_execution_type: ExecutionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refs: Option<WireRefs>,
    #[serde(alias = "podSpecOptions", skip_serializing_if = "Option::is_none")]
    pub pod_spec_options: Option<PodSpecOptions>,
}

impl CreateJobExecutionRequest {
    /// Prow's `CreateJobExecutionRequest.Validate` (and `Refs.Validate`,
    /// `Pull.Validate`), in its order and words. Skiff also checks label
    /// and annotation keys as Kubernetes will on the pod, and keeps the
    /// labels it computes from the job ([`RESERVED_LABELS`]).
    pub fn validate(&self) -> Result<(), String> {
        if self.job_name.is_empty() {
            return Err("job_name field cannot be empty".into());
        }
        let t = self.job_execution_type;
        if t == ExecutionType::Unspecified {
            return Err(format!("unsupported JobExecutionType: {t}"));
        }
        if t == ExecutionType::Batch {
            // Prow refuses it when it picks the job; before the caller is
            // authorized here, so a batch is a 400 whoever asks.
            return Err(format!("unsupported JobExecutionType type: {t}"));
        }
        if t == ExecutionType::Periodic && self.refs.is_some() {
            return Err("periodic jobs cannot also have gitRefs".into());
        }
        if t != ExecutionType::Periodic {
            let Some(refs) = &self.refs else {
                return Err(format!("gitRefs must be defined for {:?}", t.as_str()));
            };
            validate_refs(refs).map_err(|e| format!("gitRefs: failed to validate: {e}"))?;
            // Prow's `validateRefs`, when it picks the job.
            if t == ExecutionType::Presubmit && refs.pulls.is_empty() {
                return Err("at least 1 Pulls is required".into());
            }
        }
        if let Some(pso) = &self.pod_spec_options {
            for (k, v) in &pso.envs {
                if k.is_empty() || v.is_empty() {
                    return Err(format!(
                        "invalid environment variable key/value pair: {k:?}, {v:?}"
                    ));
                }
            }
            for (k, v) in &pso.labels {
                if k.is_empty() || v.is_empty() {
                    return Err(format!("invalid label key/value pair: {k:?}, {v:?}"));
                }
                is_valid_label_value(v)
                    .and_then(|()| is_qualified_name(k))
                    .map_err(|e| format!("invalid label: the following errors found: {e}"))?;
                if RESERVED_LABELS.contains(&k.as_str()) {
                    return Err(format!(
                        "invalid label: {k:?} is set by Skiff from the job (the syncer finds the job's pod by it)"
                    ));
                }
            }
            for (k, v) in &pso.annotations {
                if k.is_empty() || v.is_empty() {
                    return Err(format!("invalid annotation key/value pair: {k:?}, {v:?}"));
                }
                is_qualified_name(k)
                    .map_err(|e| format!("invalid annotation: the following errors found: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Labels Skiff computes from the job and relies on (Prow would let a
/// request override them; a pod without its `created-by-prow` or
/// `prow.k8s.io/id` would be lost to the syncer).
const RESERVED_LABELS: [&str; 10] = [
    labels::CREATED_BY_PROW,
    labels::PROW_JOB_TYPE,
    labels::PROW_JOB_ID,
    labels::PROW_BUILD_ID,
    labels::PROW_JOB,
    labels::CONTEXT,
    labels::REFS_ORG,
    labels::REFS_REPO,
    labels::REFS_BASE_REF,
    labels::REFS_PULL,
];

fn validate_refs(r: &WireRefs) -> Result<(), String> {
    for (field, value) in [
        ("Org", &r.org),
        ("Repo", &r.repo),
        ("BaseRef", &r.base_ref),
        ("BaseSha", &r.base_sha),
    ] {
        if value.is_empty() {
            return Err(format!("gitRefs: {field} cannot be empty"));
        }
    }
    for p in &r.pulls {
        let hex = p.sha.len() == 40
            && p.sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(format!("pull: invalid SHA: {:?}", p.sha));
        }
    }
    Ok(())
}

/// The proto's `JobExecution`: one run of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobExecution {
    /// The job record's id (`metadata.name`, the pod's name).
    pub id: String,
    pub job_name: String,
    pub job_type: ExecutionType,
    pub job_status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refs: Option<WireRefs>,
    /// What the request asked for (answers to `POST` only, as Prow's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_spec_options: Option<PodSpecOptions>,
    /// Where the job's artifacts are (`s3://bucket/logs/job/build`), once
    /// it has a build id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gcs_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// The job on the deck.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub job_url: String,
}

/// `GET /v1/executions`'s answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobExecutions {
    pub job_execution: Vec<JobExecution>,
}

/// Every error's body: gRPC's status as transcoded REST answers carry it
/// (`code` is the gRPC code: 3 invalid argument, 5 not found, 7 permission
/// denied …), and the words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub code: i32,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_read_names_and_numbers_and_write_names() {
        let t: ExecutionType = serde_json::from_str("\"PRESUBMIT\"").unwrap();
        assert_eq!(t, ExecutionType::Presubmit);
        let t: ExecutionType = serde_json::from_str("1").unwrap();
        assert_eq!(t, ExecutionType::Periodic);
        assert!(serde_json::from_str::<ExecutionType>("\"periodic\"").is_err());
        assert!(serde_json::from_str::<ExecutionType>("9").is_err());
        assert_eq!(
            serde_json::to_string(&ExecutionStatus::Success).unwrap(),
            "\"SUCCESS\""
        );
        assert_eq!(ExecutionStatus::parse("6"), Some(ExecutionStatus::Error));
        assert_eq!(ExecutionStatus::parse("DONE"), None);
    }

    #[test]
    fn refs_round_trip_through_prows_refs() {
        let wire = WireRefs {
            org: "acme".into(),
            repo: "widgets".into(),
            base_ref: "main".into(),
            base_sha: "a".repeat(40),
            pulls: vec![WirePull {
                number: 7,
                author: "alice".into(),
                sha: "b".repeat(40),
                r#ref: "refs/changes/7".into(),
                ..WirePull::default()
            }],
            work_dir: true,
            clone_depth: 1,
            ..WireRefs::default()
        };
        assert_eq!(WireRefs::from_refs(&wire.to_refs()), wire);
    }

    #[test]
    fn camel_case_names_are_read_too() {
        let r: CreateJobExecutionRequest = serde_json::from_str(
            r#"{"jobName":"x","jobExecutionType":"POSTSUBMIT","refs":{"org":"a","repo":"b","baseRef":"main","baseSha":"c","workdir":true}}"#,
        )
        .unwrap();
        assert_eq!(r.job_name, "x");
        assert_eq!(r.job_execution_type, ExecutionType::Postsubmit);
        let refs = r.refs.unwrap();
        assert_eq!((refs.base_ref.as_str(), refs.work_dir), ("main", true));
    }
}
