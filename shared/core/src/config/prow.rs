//! The parts of Prow's `config.yaml` (`pkg/config/config.go`) that Skiff acts on,
//! plus Skiff's own `skiff:` section. Every other Prow section is accepted and
//! listed as not used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rerun_auth::DefaultRerunAuthConfigEntry;
use crate::duration::GoDuration;
use crate::prowjob::{DecorationConfig, ProwJobType, RerunAuthConfig};

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A default decoration config for the jobs of a repo (`org`, `org/repo` or `*`)
/// and cluster (`*` or empty for all). Later matching entries win.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DefaultDecorationConfigEntry {
    #[serde(default, rename = "repo", skip_serializing_if = "String::is_empty")]
    pub org_repo: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<DecorationConfig>,
}

impl DefaultDecorationConfigEntry {
    pub fn matches(&self, org_repo: &str, cluster: &str) -> bool {
        entry_matches(&self.org_repo, &self.cluster, org_repo, cluster)
    }
}

/// Prow's `matches(givenOrgRepo, givenCluster, orgRepo, cluster)`: whether
/// an entry for `given_org_repo` (`org`, `org/repo`, `*` or empty) and
/// `given_cluster` (`*` or empty for all) applies to a job.
pub fn entry_matches(
    given_org_repo: &str,
    given_cluster: &str,
    org_repo: &str,
    cluster: &str,
) -> bool {
    if !given_cluster.is_empty() && given_cluster != "*" && given_cluster != cluster {
        return false;
    }
    if given_org_repo.is_empty() || given_org_repo == "*" || given_org_repo == org_repo {
        return true;
    }
    let bare = org_repo
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    given_org_repo == bare || Some(given_org_repo) == bare.split('/').next()
}

/// plank: how pods are started and watched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plank {
    /// Go template for a job's URL (`{{.Spec.Job}}`, `{{.Status.BuildID}}` …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_url_template: String,
    /// Deprecated single report template; `report_templates["*"]`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub report_template: String,
    /// Extra text for the failure comment, by `org/repo`, `org` or `*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub report_templates: BTreeMap<String, String>,
    /// At most this many pending jobs overall; 0 = unlimited.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_concurrency: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_goroutines: i64,
    /// Started pods still Pending after this are `error` (default 10m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_pending_timeout: Option<GoDuration>,
    /// Running pods older than this are `aborted` (default 48h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_running_timeout: Option<GoDuration>,
    /// Pods not scheduled after this are `error` (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_unscheduled_timeout: Option<GoDuration>,
    /// Evicted pods are recreated at most this many times (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_revivals: Option<i64>,
    /// Legacy form of the default decoration configs, keyed by `*`, `org`, `org/repo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default_decoration_configs: BTreeMap<String, DecorationConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_decoration_config_entries: Vec<DefaultDecorationConfigEntry>,
    /// Job URL prefix by `org/repo`, `org` or `*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_url_prefix_config: BTreeMap<String, String>,
    #[serde(
        default,
        rename = "jobURLPrefixDisableAppendStorageProvider",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub job_url_prefix_disable_append_storage_provider: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build_cluster_status_file: String,
    /// Capacity per `job_queue_name`: 0 blocks, negative is unlimited.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_queue_capacities: BTreeMap<String, i64>,
}

impl Plank {
    pub fn pod_pending_timeout(&self) -> GoDuration {
        self.pod_pending_timeout
            .unwrap_or(GoDuration::from_mins(10))
    }

    pub fn pod_running_timeout(&self) -> GoDuration {
        self.pod_running_timeout
            .unwrap_or(GoDuration::from_hours(48))
    }

    pub fn pod_unscheduled_timeout(&self) -> GoDuration {
        self.pod_unscheduled_timeout
            .unwrap_or(GoDuration::from_mins(5))
    }

    pub fn max_revivals(&self) -> i64 {
        self.max_revivals.unwrap_or(3)
    }

    /// Entries in the order Prow applies them: the legacy map (`*`, then orgs,
    /// then repos) first, then the entries list.
    pub fn decoration_entries(&self) -> Vec<DefaultDecorationConfigEntry> {
        let mut out = Vec::new();
        let legacy = |pred: &dyn Fn(&str) -> bool, out: &mut Vec<DefaultDecorationConfigEntry>| {
            for (k, v) in &self.default_decoration_configs {
                if pred(k) {
                    out.push(DefaultDecorationConfigEntry {
                        org_repo: k.clone(),
                        cluster: String::new(),
                        config: Some(v.clone()),
                    });
                }
            }
        };
        legacy(&|k| k == "*", &mut out);
        legacy(&|k| k != "*" && !k.contains('/'), &mut out);
        legacy(&|k| k.contains('/'), &mut out);
        out.extend(self.default_decoration_config_entries.iter().cloned());
        out
    }
}

/// One of Prow's `jenkins_operators`: which jenkins jobs it runs and its
/// limits (`pkg/config` `JenkinsOperator` and `Controller`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JenkinsOperator {
    /// The ProwJobs this operator runs, as a Kubernetes label selector
    /// (`master=ci.example.com`). Empty with a single operator (Prow refuses
    /// one then); required with several.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
    /// Go template for the link of a job whose build runs
    /// (`https://ci/job/{{.Spec.Job}}/{{.Status.JenkinsBuildID}}/`); field
    /// references only (`run::jenkins::url_template`). Empty: the job's
    /// dashboard page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_url_template: String,
    /// Deprecated single report template; `report_templates["*"]`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub report_template: String,
    /// Extra text for the failure comment, by `org/repo`, `org` or `*`.
    /// Parsed; the reporter uses `plank.report_templates` for every job.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub report_templates: BTreeMap<String, String>,
    /// At most this many of the operator's jobs pending (queued or building
    /// in Jenkins) at once; 0 = unlimited.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_concurrency: i64,
    /// Prow's sync goroutines (default 20): here, at most this many Jenkins
    /// calls of one syncer pass in flight at once for this operator.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_goroutines: i64,
}

impl JenkinsOperator {
    /// `max_goroutines`, or Prow's default of 20.
    pub fn max_goroutines(&self) -> usize {
        usize::try_from(self.max_goroutines)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(20)
    }
}

/// sinker: garbage collection of jobs and pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sinker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_period: Option<GoDuration>,
    /// Complete jobs older than this are deleted (default 7d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prowjob_age: Option<GoDuration>,
    /// Pods older than this are deleted (default 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pod_age: Option<GoDuration>,
    /// Pods of jobs completed this long ago are deleted (default `max_pod_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_pod_ttl: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_clusters: Vec<String>,
}

impl Sinker {
    pub fn max_prowjob_age(&self) -> GoDuration {
        self.max_prowjob_age
            .unwrap_or(GoDuration::from_hours(24 * 7))
    }

    pub fn max_pod_age(&self) -> GoDuration {
        self.max_pod_age.unwrap_or(GoDuration::from_hours(24))
    }

    pub fn terminated_pod_ttl(&self) -> GoDuration {
        self.terminated_pod_ttl
            .unwrap_or_else(|| self.max_pod_age())
    }

    pub fn resync_period(&self) -> GoDuration {
        self.resync_period.unwrap_or(GoDuration::from_hours(1))
    }
}

/// The subset of deck's settings the Skiff dashboard uses. Other deck keys
/// (spyglass, branding, …) are kept as data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Deck {
    /// Repos whose jobs the dashboard hides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_repos: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tide_update_period: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spyglass: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_agent_logs: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub google_analytics: String,
    /// Who may rerun and abort, by `*`, `org` or `org/repo` (Prow's older
    /// form).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rerun_auth_configs: BTreeMap<String, RerunAuthConfig>,
    /// The same as entries filtered by repo and cluster (the newer form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_rerun_auth_configs: Vec<DefaultRerunAuthConfigEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_storage_path_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_allowed_buckets: Vec<String>,
}

/// crier's GitHub reporter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GitHubReporter {
    /// Which job types get statuses (default presubmit and postsubmit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_types_to_report: Vec<ProwJobType>,
    /// Repos that get statuses but never the failure comment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_comment_repos: Vec<String>,
    /// Repos that get one summary comment when all jobs are done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary_comment_repos: Vec<String>,
}

impl GitHubReporter {
    pub fn job_types_to_report(&self) -> Vec<ProwJobType> {
        if self.job_types_to_report.is_empty() {
            vec![ProwJobType::Presubmit, ProwJobType::Postsubmit]
        } else {
            self.job_types_to_report.clone()
        }
    }
}

/// An EKS cluster, found with `eks:DescribeCluster`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EksCluster {
    pub region: String,
    pub name: String,
}

/// A cluster from a kubeconfig file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeconfigCluster {
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// One build cluster: exactly one of `eks`, `kubeconfig`, `in_cluster` or
/// `local`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildCluster {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<EksCluster>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<KubeconfigCluster>,
    /// Run pods as local processes (`skiff dev`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
    /// The cluster the process itself runs in (its service account).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_cluster: bool,
}

/// Skiff's own settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SkiffConfig {
    /// Build clusters by the name jobs use in `cluster:`. Empty: every job runs
    /// on the one local cluster.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, BuildCluster>,
    /// Where logs and artifacts go: `s3://bucket[/prefix]`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_bucket: String,
    /// The dashboard's public URL; job links start with it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deck_url: String,
    /// How results are reported beyond Prow's `github_reporter`.
    #[serde(default, skip_serializing_if = "Reporting::is_empty")]
    pub reporting: Reporting,
    /// The Jenkins of each `jenkins_operators` entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jenkins: Vec<JenkinsMaster>,
    /// Repositories that merge with GitHub's merge queue instead of tide.
    #[serde(default, skip_serializing_if = "MergeQueue::is_empty")]
    pub merge_queue: MergeQueue,
    /// Who may start which jobs through the gangway API (Prow's
    /// `gangway.allowed_api_clients`, for AWS IAM principals).
    #[serde(default, skip_serializing_if = "super::gangway::Gangway::is_empty")]
    pub gangway: super::gangway::Gangway,
}

/// GitHub's merge queue: on its `merge_group` events, the required
/// presubmits run against the queue's temporary branch and report there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeQueue {
    /// `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
}

impl MergeQueue {
    fn is_empty(&self) -> bool {
        self.repos.is_empty()
    }

    /// Whether `org/repo` merges with GitHub's merge queue.
    pub fn covers(&self, org: &str, repo: &str) -> bool {
        let full = format!("{org}/{repo}");
        self.repos.iter().any(|r| *r == org || *r == full)
    }
}

/// Where a `jenkins_operators` entry's Jenkins is, and how Skiff signs in
/// (`skiff.jenkins`): the Jenkins counterpart of Prow's jenkins-operator
/// flags (`--jenkins-url`, `--jenkins-user`, `--jenkins-token-file`,
/// `--jenkins-bearer-token-file`, `--skip-tls-verify`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JenkinsMaster {
    /// The `label_selector` of the operator this Jenkins serves, the same
    /// string (empty for a single operator).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
    /// The Jenkins root URL (`https://ci.example.com`).
    pub url: String,
    /// With a token: basic auth as this user.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// A file holding the API token (`skiff dev`); a trailing newline is
    /// not part of it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// A Secrets Manager secret holding the API token (on AWS).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_secret_arn: String,
    /// The token is a bearer token (`Authorization: Bearer`), not a basic-auth
    /// password.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bearer: bool,
    /// Accept any TLS certificate (a Jenkins with a self-signed one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

/// Skiff's reporting options (`skiff.reporting`). Repos are named as in
/// `github_reporter.summary_comment_repos`: `org` or `org/repo`; for
/// CodeCommit the org is the region (`us-east-1/payments`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reporting {
    /// Repos whose jobs are reported as GitHub check runs (one per job, with
    /// the tail of its log, and GitHub's "Re-run" button) instead of commit
    /// statuses. Check runs need a GitHub App installation; with a token the
    /// jobs get commit statuses as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks_repos: Vec<String>,
    /// CodeCommit repos whose pull requests Skiff approves once every
    /// required job passed on the latest revision, and whose approval it
    /// revokes when a required job fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codecommit_approval_repos: Vec<String>,
    /// How long a job may wait in `triggered` before its pending status is
    /// sent. A job that starts sooner is reported once, as pending with its
    /// link, instead of twice. Default 10s; `0s` reports at once, as Prow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_report_delay: Option<GoDuration>,
}

/// The default of [`Reporting::triggered_report_delay`].
pub const DEFAULT_TRIGGERED_REPORT_DELAY: std::time::Duration = std::time::Duration::from_secs(10);
/// Longer delays are refused: the report would come after most jobs end.
pub const MAX_TRIGGERED_REPORT_DELAY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Reporting {
    pub fn is_empty(&self) -> bool {
        self == &Reporting::default()
    }

    pub fn triggered_report_delay(&self) -> std::time::Duration {
        self.triggered_report_delay
            .map_or(DEFAULT_TRIGGERED_REPORT_DELAY, |d| d.to_std())
    }

    /// Whether `org/repo` is reported with check runs.
    pub fn uses_checks(&self, org: &str, repo: &str) -> bool {
        lists_repo(&self.checks_repos, org, repo)
    }

    /// Whether Skiff approves `region/repo`'s pull requests.
    pub fn approves(&self, region: &str, repo: &str) -> bool {
        lists_repo(&self.codecommit_approval_repos, region, repo)
    }
}

/// Whether `list` names `org` or `org/repo` (Prow's rule for
/// `no_comment_repos` and `summary_comment_repos`).
pub fn lists_repo(list: &[String], org: &str, repo: &str) -> bool {
    list.iter().any(|r| {
        r == org
            || r.strip_prefix(org)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|r| r == repo)
    })
}

/// The parts of Prow's config.yaml Skiff uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProwConfig {
    #[serde(default)]
    pub plank: Plank,
    #[serde(default)]
    pub sinker: Sinker,
    #[serde(default)]
    pub deck: Deck,
    #[serde(default)]
    pub github_reporter: GitHubReporter,
    /// Namespace of test pods (default `default`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod_namespace: String,
    /// Namespace of ProwJobs (default `default`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prowjob_namespace: String,
    /// Which repos may define jobs in `.prow.yaml` / `.prow/`, and on which
    /// clusters (see [`super::inrepo`]).
    #[serde(default, skip_serializing_if = "super::inrepo::InRepoConfig::is_empty")]
    pub in_repo_config: super::inrepo::InRepoConfig,
    /// Prow's jenkins-operators: who runs the jobs of agent `jenkins`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jenkins_operators: Vec<JenkinsOperator>,
    /// Prow's tide: merge automation.
    #[serde(default)]
    pub tide: super::tide::Tide,
    #[serde(default)]
    pub skiff: SkiffConfig,
}

impl ProwConfig {
    pub fn pod_namespace(&self) -> &str {
        if self.pod_namespace.is_empty() {
            "default"
        } else {
            &self.pod_namespace
        }
    }
}

/// Top-level keys of Prow's config.yaml that Skiff reads.
pub const MODELLED_KEYS: &[&str] = &[
    "plank",
    "sinker",
    "deck",
    "github_reporter",
    "pod_namespace",
    "prowjob_namespace",
    "in_repo_config",
    "jenkins_operators",
    "tide",
    "skiff",
];

/// Top-level keys of Prow's config.yaml that Skiff accepts and does not use.
pub const UNUSED_PROW_KEYS: &[&str] = &[
    "config_version_sha",
    "pipeline",
    "branch-protection",
    "gerrit",
    "horologium",
    "slack_reporter_configs",
    "gangway",
    "moonraker",
    "scheduler",
    "log_level",
    "push_gateway",
    "owners_dir_denylist",
    "pubsub_subscriptions",
    "pubsub_triggers",
    "github",
    "status_error_link",
    "default_job_timeout",
    "managed_webhooks",
    "prowjob_default_entries",
    "disabled_clusters",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plank_and_sinker_defaults_are_prows() {
        let p = Plank::default();
        assert_eq!(p.pod_pending_timeout().to_string(), "10m0s");
        assert_eq!(p.pod_running_timeout().to_string(), "48h0m0s");
        assert_eq!(p.pod_unscheduled_timeout().to_string(), "5m0s");
        assert_eq!(p.max_revivals(), 3);
        let s = Sinker::default();
        assert_eq!(s.max_prowjob_age().to_string(), "168h0m0s");
        assert_eq!(s.max_pod_age().to_string(), "24h0m0s");
        assert_eq!(s.terminated_pod_ttl(), s.max_pod_age());
        assert_eq!(
            GitHubReporter::default().job_types_to_report(),
            vec![ProwJobType::Presubmit, ProwJobType::Postsubmit]
        );
    }

    #[test]
    fn decoration_entry_matching_follows_prow() {
        let e = |repo: &str, cluster: &str| DefaultDecorationConfigEntry {
            org_repo: repo.into(),
            cluster: cluster.into(),
            config: None,
        };
        assert!(e("*", "").matches("a/b", "c"));
        assert!(e("", "*").matches("a/b", "c"));
        assert!(e("a", "").matches("a/b", "c"));
        assert!(e("a/b", "c").matches("a/b", "c"));
        assert!(!e("a/b", "d").matches("a/b", "c"));
        assert!(!e("x", "").matches("a/b", "c"));
        assert!(e("a/b", "").matches("https://a/b", "c"));
    }
}
