//! Prow's job configuration (`pkg/config/jobs.go`): presubmits, postsubmits,
//! periodics and presets, field for field, with Prow's names and defaults.
//!
//! Prow's Go structs embed `JobBase`, `UtilityConfig`, `Brancher`,
//! `RegexpChangeMatcher` and `Reporter` inline; here each is its own struct,
//! flattened on output and read part by part from the same YAML mapping
//! (`yaml::Composite`), so unknown keys are still caught.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use serde::{Deserialize, Serialize};

use crate::prowjob::{
    DecorationConfig, JenkinsSpec, ProwJobDefault, Refs, ReporterConfig, RerunAuthConfig,
    TektonPipelineRunSpec,
};
use crate::yaml::{Mark, Outline};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Fields every job has.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobBase {
    /// The job's name: `^[A-Za-z0-9-._]+$`. Also the default context.
    #[serde(default)]
    pub name: String,
    /// Copied onto the job and its pod; also selects presets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// At most this many runs of the job at once; 0 = unlimited.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_concurrency: i64,
    /// `kubernetes` (default), `tekton-pipeline` or `jenkins`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent: String,
    /// Build cluster alias; `default` unless set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Namespace of the job's pod; defaults to `pod_namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// An evicted pod ends the job as `error` instead of being recreated.
    #[serde(default, skip_serializing_if = "is_false")]
    pub error_on_eviction: bool,
    /// The Kubernetes PodSpec of the test pod (agent `kubernetes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<core::PodSpec>,
    /// Tekton PipelineRun spec (agent `tekton-pipeline`), kept as data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_run_spec: Option<serde_json::Value>,
    /// Tekton PipelineRun spec by API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tekton_pipeline_run_spec: Option<TektonPipelineRunSpec>,
    /// Copied onto the job and its pod; Prow itself does not read them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Extra reporters (Slack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_config: Option<ReporterConfig>,
    /// Who may rerun or abort the job from the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_auth_config: Option<RerunAuthConfig>,
    /// Shown only by a dashboard that shows hidden jobs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Tenant and ResultStore defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prowjob_defaults: Option<ProwJobDefault>,
    /// A key of `plank.job_queue_capacities`: runs share that queue's limit.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_queue_name: String,
}

/// How the pod utilities clone and decorate the job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UtilityConfig {
    /// Run the test under the pod utilities; defaults to `decorate_all_jobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decorate: Option<bool>,
    /// Clone under `/home/prow/go/src/<path_alias>` instead of `github.com/org/repo`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_alias: String,
    /// Clone from here instead of GitHub.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clone_uri: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_submodules: bool,
    /// 0 = full history.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clone_depth: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_fetch_head: bool,
    /// More repositories to clone; periodics clone nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_refs: Vec<Refs>,
    /// Timeouts, images, log upload; merged over plank's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration_config: Option<DecorationConfig>,
}

/// Which branches a job runs against. Both lists are regexes, OR-joined and
/// matched unanchored; `skip_branches` wins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Brancher {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_branches: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
}

impl Brancher {
    pub fn runs_against_all_branches(&self) -> bool {
        self.skip_branches.is_empty() && self.branches.is_empty()
    }
}

/// Which changed files make a job run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegexpChangeMatcher {
    /// Run if any changed file matches.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_if_changed: String,
    /// Run if any changed file does not match (skip when all match).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub skip_if_only_changed: String,
}

impl RegexpChangeMatcher {
    pub fn could_run(&self) -> bool {
        !self.run_if_changed.is_empty() || !self.skip_if_only_changed.is_empty()
    }
}

/// How the job reports to GitHub.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reporter {
    /// The commit status context; defaults to the job name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// Report nothing: no status, no comment.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_report: bool,
}

/// Where a job was written, for messages and `--explain`.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub file: Arc<str>,
    /// The job's field path as written: `presubmits.acme/widgets[2]`.
    pub path: String,
    /// The keys and positions of the job's YAML (after matrix expansion), to
    /// locate fields in messages; its values are in the job itself.
    pub outline: Arc<Outline>,
    /// `stage=beta, region=us-east-1` for a job expanded from a matrix.
    pub matrix: Option<String>,
}

impl Source {
    pub fn mark(&self) -> Mark {
        self.outline.mark()
    }
}

// Jobs compare equal on their content; where they were written does not matter.
impl PartialEq for Source {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Presubmit-only fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PresubmitFields {
    /// Run on every PR change. Exclusive with the change matchers.
    #[serde(default)]
    pub always_run: bool,
    /// Not required for merge; sets `prow.k8s.io/is-optional`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// Comment regex that starts the job; default `(?m)^/test( | .* )<name>,?($|\s.*)`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trigger: String,
    /// What to comment to rerun; must match `trigger`. Default `/test <name>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rerun_command: String,
    /// Tide always runs it before merging, even if conditional or manual.
    #[serde(default, skip_serializing_if = "is_false")]
    pub run_before_merge: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_spec: Option<JenkinsSpec>,
}

/// Postsubmit-only fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PostsubmitFields {
    /// Unset means: run (postsubmits run by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jenkins_spec: Option<JenkinsSpec>,
}

/// Periodic retry of failed runs (horologium).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Retry even successful runs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub run_all: bool,
    /// At most this many retries (capped at 10).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: i64,
    /// Wait this long after the last start before retrying.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interval: String,
}

/// Periodic-only fields: exactly one of `cron`, `interval`, `minimum_interval`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodicFields {
    /// Run when this long has passed since the last run started (deprecated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interval: String,
    /// Run when this long has passed since the last run completed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub minimum_interval: String,
    /// robfig/cron schedule, evaluated in UTC.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cron: String,
    /// Informational.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

/// A job run on pull requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Presubmit {
    #[serde(flatten)]
    pub base: JobBase,
    #[serde(flatten)]
    pub fields: PresubmitFields,
    #[serde(flatten)]
    pub brancher: Brancher,
    #[serde(flatten)]
    pub changes: RegexpChangeMatcher,
    #[serde(flatten)]
    pub reporter: Reporter,
    #[serde(flatten)]
    pub utility: UtilityConfig,
    #[serde(skip)]
    pub source: Source,
}

impl Presubmit {
    /// Started only by a comment: neither always_run nor a change matcher.
    pub fn needs_explicit_trigger(&self) -> bool {
        !self.fields.always_run && !self.changes.could_run()
    }

    pub fn triggers_conditionally(&self) -> bool {
        self.needs_explicit_trigger() || self.changes.could_run()
    }

    /// Required for merge: reported and not optional.
    pub fn context_required(&self) -> bool {
        !self.fields.optional && !self.reporter.skip_report
    }
}

/// A job run on pushes to a branch or tag.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Postsubmit {
    #[serde(flatten)]
    pub base: JobBase,
    #[serde(flatten)]
    pub fields: PostsubmitFields,
    #[serde(flatten)]
    pub brancher: Brancher,
    #[serde(flatten)]
    pub changes: RegexpChangeMatcher,
    #[serde(flatten)]
    pub reporter: Reporter,
    #[serde(flatten)]
    pub utility: UtilityConfig,
    #[serde(skip)]
    pub source: Source,
}

/// A job run on a schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Periodic {
    #[serde(flatten)]
    pub base: JobBase,
    #[serde(flatten)]
    pub fields: PeriodicFields,
    #[serde(flatten)]
    pub utility: UtilityConfig,
    #[serde(skip)]
    pub source: Source,
}

/// Env, volumes, mounts and tolerations merged into every container of every
/// job whose labels include all of the preset's labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub env: Vec<core::EnvVar>,
    #[serde(default)]
    pub volumes: Vec<core::Volume>,
    #[serde(default, rename = "volumeMounts")]
    pub volume_mounts: Vec<core::VolumeMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<core::Toleration>,
}

/// All jobs of a deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobConfig {
    /// Not written out: the normalized config already has every preset merged
    /// into the jobs' specs, and merging again would collide.
    #[serde(skip)]
    pub presets: Vec<Preset>,
    /// Keyed by `org/repo`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub presubmits: BTreeMap<String, Vec<Presubmit>>,
    /// Keyed by `org/repo`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub postsubmits: BTreeMap<String, Vec<Postsubmit>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periodics: Vec<Periodic>,
    /// The default of every job's `decorate`.
    #[serde(skip_serializing_if = "is_false")]
    pub decorate_all_jobs: bool,
}

/// Prow's default comment regex for a presubmit. The name goes in unescaped,
/// exactly as Prow does, so `.` in a name matches any character.
pub fn default_trigger_for(name: &str) -> String {
    format!(r"(?m)^/test( | .* ){name},?($|\s.*)")
}

/// Prow's default rerun command for a presubmit.
pub fn default_rerun_command_for(name: &str) -> String {
    format!("/test {name}")
}

impl JobConfig {
    pub fn presubmit_count(&self) -> usize {
        self.presubmits.values().map(Vec::len).sum()
    }

    pub fn postsubmit_count(&self) -> usize {
        self.postsubmits.values().map(Vec::len).sum()
    }

    /// Every `org/repo` with a presubmit or postsubmit.
    pub fn repos(&self) -> std::collections::BTreeSet<&str> {
        self.presubmits
            .keys()
            .chain(self.postsubmits.keys())
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn default_trigger_is_prows_and_matches_its_rerun_command() {
        assert_eq!(
            default_trigger_for("pull-unit"),
            r"(?m)^/test( | .* )pull-unit,?($|\s.*)"
        );
        let re = Regex::new(&default_trigger_for("pull-unit")).unwrap();
        assert!(re.is_match(&default_rerun_command_for("pull-unit")));
        assert!(re.is_match("/test pull-unit"));
        assert!(re.is_match("/test pull-e2e pull-unit"));
        assert!(re.is_match("/test pull-unit, pull-e2e"));
        assert!(re.is_match("lgtm\n/test pull-unit\nthanks"));
        // `/test foo,bar` is one word to Prow: neither job matches by name.
        assert!(!re.is_match("/test pull-unit,pull-e2e"));
        assert!(!re.is_match("/test pull-unit-race"));
        assert!(!re.is_match("please /test pull-unit"));
    }

    #[test]
    fn job_name_goes_into_the_trigger_unescaped_as_in_prow() {
        let re = Regex::new(&default_trigger_for("pull.unit")).unwrap();
        assert!(re.is_match("/test pullXunit"));
    }
}
