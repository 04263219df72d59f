//! Prow's ProwJob API types (`pkg/apis/prowjobs/v1`), field for field. Their JSON is
//! Prow's: the same names, the same order (JOB_SPEC depends on it) and the same
//! omission of empty fields, so `/prowjobs.js` and `JOB_SPEC` read as Prow's do.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Kubernetes' `metav1.Time` JSON: RFC 3339 in UTC with whole seconds.
mod kube_time {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<jiff::Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&t.strftime("%Y-%m-%dT%H:%M:%SZ")),
            None => s.serialize_none(),
        }
    }
}

/// The kind of job: which event starts it and what refs it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProwJobType {
    Presubmit,
    Postsubmit,
    Periodic,
    Batch,
}

impl ProwJobType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProwJobType::Presubmit => "presubmit",
            ProwJobType::Postsubmit => "postsubmit",
            ProwJobType::Periodic => "periodic",
            ProwJobType::Batch => "batch",
        }
    }
}

/// Where a job is in its life: triggered → pending → success | failure | error | aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProwJobState {
    Scheduling,
    Triggered,
    Pending,
    Success,
    Failure,
    Aborted,
    Error,
}

impl ProwJobState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProwJobState::Scheduling => "scheduling",
            ProwJobState::Triggered => "triggered",
            ProwJobState::Pending => "pending",
            ProwJobState::Success => "success",
            ProwJobState::Failure => "failure",
            ProwJobState::Aborted => "aborted",
            ProwJobState::Error => "error",
        }
    }
}

/// Who runs the job. Skiff runs `kubernetes` and `tekton-pipeline`; `jenkins` is
/// accepted so a Prow config loads unchanged.
pub const KUBERNETES_AGENT: &str = "kubernetes";
pub const JENKINS_AGENT: &str = "jenkins";
pub const TEKTON_AGENT: &str = "tekton-pipeline";
pub const DEFAULT_CLUSTER_ALIAS: &str = "default";

/// One pull request a job tests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pull {
    pub number: i64,
    pub author: String,
    pub sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// A ref other than `pull/<n>/head` to fetch (Gerrit's `refs/changes/…`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit_link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author_link: String,
}

/// What to check out: a repository at a base ref, plus pulls merged on top.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Refs {
    pub org: String,
    pub repo: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo_link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_link: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulls: Vec<Pull>,
    /// Clone under `/home/prow/go/src/<path_alias>` instead of `github.com/org/repo`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_alias: String,
    /// This ref's checkout is the container's working directory.
    #[serde(default, skip_serializing_if = "is_false")]
    pub workdir: bool,
    /// Cloned but not the repo under test (does not decide the job's revision).
    #[serde(default, skip_serializing_if = "is_false")]
    pub auxiliary: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clone_uri: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_submodules: bool,
    /// 0 = full history.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clone_depth: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_fetch_head: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobless_fetch: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout_files: Vec<String>,
}

impl Refs {
    /// `PULL_REFS`: `<base_ref>[:<base_sha>]` then `,<number>:<sha>[:<ref>]` per pull.
    pub fn pull_refs(&self) -> String {
        let mut out = if self.base_sha.is_empty() {
            self.base_ref.clone()
        } else {
            format!("{}:{}", self.base_ref, self.base_sha)
        };
        for p in &self.pulls {
            out.push_str(&format!(",{}:{}", p.number, p.sha));
            if !p.r#ref.is_empty() {
                out.push(':');
                out.push_str(&p.r#ref);
            }
        }
        out
    }

    pub fn org_repo(&self) -> String {
        if self.repo.is_empty() {
            self.org.clone()
        } else {
            format!("{}/{}", self.org, self.repo)
        }
    }
}

/// Images of the pod utilities a decorated job uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UtilityImages {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clonerefs: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub initupload: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entrypoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sidecar: String,
}

/// Resource requirements of the pod utilities' containers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clonerefs: Option<core::ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initupload: Option<core::ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_entrypoint: Option<core::ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<core::ResourceRequirements>,
}

/// Where logs and artifacts go. Prow says "gcs"; a `s3://` bucket works the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GcsConfiguration {
    /// `gs://bucket`, `s3://bucket`, or a bare name (meaning gs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    /// `legacy`, `single` or `explicit`: how presubmit paths name the repo.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_strategy: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_org: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_repo: String,
    #[serde(
        rename = "mediaTypes",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub media_types: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_url_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub local_output_dir: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compress_file_types: Vec<String>,
}

/// A key of a Kubernetes secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretKey {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// How the sidecar censors secrets out of logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CensoringOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_concurrency: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_buffer_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_directories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_directories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_secret_length: Option<i64>,
}

/// Affinity and tolerations added to decorated pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulingOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<core::Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<core::Toleration>,
}

/// Pod-utility decoration: timeouts, images, log upload, clone options.
/// Job-level values are merged over `plank.default_decoration_config_entries`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecorationConfig {
    /// How long the test may run before entrypoint interrupts it (default 2h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    /// How long after the interrupt before it is killed (default 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utility_images: Option<UtilityImages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_configuration: Option<GcsConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_credentials_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_credentials_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service_account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_key_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_host_fingerprints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobless_fetch: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_cloning: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookiefile_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_token_secret: Option<SecretKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_api_endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub github_app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app_private_key_secret: Option<SecretKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censor_secrets: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censoring_options: Option<CensoringOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_ignores_interrupts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_limit_equals_memory_request: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_memory_request: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_options: Option<SchedulingOptions>,
    /// Per-job override of `plank.pod_pending_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_pending_timeout: Option<GoDuration>,
    /// Per-job override of `plank.pod_running_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_running_timeout: Option<GoDuration>,
    /// Per-job override of `plank.pod_unscheduled_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_unscheduled_timeout: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
}

/// Slack reporting for one job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlackReporterConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Empty means: report nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_states_to_report: Vec<ProwJobState>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub report_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<bool>,
}

/// Per-job reporters beyond the commit status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReporterConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReporterConfig>,
}

/// A GitHub team named by org and slug.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GitHubTeamSlug {
    pub slug: String,
    pub org: String,
}

/// Who may rerun or abort the job from the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RerunAuthConfig {
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_anyone: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_team_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_team_slugs: Vec<GitHubTeamSlug>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github_orgs: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultStoreConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project_id: String,
}

/// Defaults Prow copies onto every ProwJob (tenant, ResultStore project).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProwJobDefault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resultstore_config: Option<ResultStoreConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
}

/// Jenkins-only options; accepted so a Prow config loads, not acted on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JenkinsSpec {
    #[serde(default, skip_serializing_if = "is_false")]
    pub github_branch_source_job: bool,
}

/// Tekton PipelineRun spec by API version (`v1beta1`), kept as data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TektonPipelineRunSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v1beta1: Option<serde_json::Value>,
}

/// Kubernetes object metadata, the part a ProwJob uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "kube_time::serialize"
    )]
    pub creation_timestamp: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What a job is: copied from the config when the job is created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProwJobSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<ProwJobType>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refs: Option<Refs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_refs: Vec<Refs>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub report: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rerun_command: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_concurrency: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub error_on_eviction: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_spec: Option<core::PodSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_spec: Option<JenkinsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_run_spec: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tekton_pipeline_run_spec: Option<TektonPipelineRunSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration_config: Option<DecorationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_config: Option<ReporterConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_auth_config: Option<RerunAuthConfig>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prowjob_defaults: Option<ProwJobDefault>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_queue_name: String,
}

/// What has happened to a job so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProwJobStatus {
    #[serde(
        rename = "startTime",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "kube_time::serialize"
    )]
    pub start_time: Option<jiff::Timestamp>,
    #[serde(
        rename = "pendingTime",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "kube_time::serialize"
    )]
    pub pending_time: Option<jiff::Timestamp>,
    /// Set exactly when the job is complete.
    #[serde(
        rename = "completionTime",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "kube_time::serialize"
    )]
    pub completion_time: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ProwJobState>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pod_revival_count: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jenkins_build_id: String,
    /// The last state each reporter reported, so every state is reported once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prev_report_states: BTreeMap<String, ProwJobState>,
}

/// Prow's ProwJob: one run of one job. In Skiff, one record in the jobs table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProwJob {
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ProwJobSpec,
    #[serde(default)]
    pub status: ProwJobStatus,
}

pub const API_VERSION: &str = "prow.k8s.io/v1";
pub const KIND: &str = "ProwJob";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_kubernetes_writes_them() {
        let t: jiff::Timestamp = "2026-11-23T03:19:44.987654Z".parse().unwrap();
        let pj = ProwJob {
            status: ProwJobStatus {
                start_time: Some(t),
                state: Some(ProwJobState::Triggered),
                ..Default::default()
            },
            ..Default::default()
        };
        let json = serde_json::to_string(&pj).unwrap();
        assert_eq!(
            json,
            r#"{"metadata":{},"spec":{},"status":{"startTime":"2026-11-23T03:19:44Z","state":"triggered"}}"#
        );
        let back: ProwJob = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.status.start_time.map(|t| t.as_second()),
            Some(t.as_second())
        );
    }
}
