//! The plugins.yaml sections of the review plugins Skiff runs, with Prow's
//! field names and defaults (`pkg/plugins/config.go`). Defaults that Prow
//! fills in `setDefaults` are applied by the `*_for` lookups and accessors,
//! never written back, so `check-config` validates what the user wrote (as
//! Prow's `validateSizes` does on the raw values).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An external plugin: an HTTP service hook forwards events to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalPlugin {
    /// Name of the plugin.
    #[serde(default)]
    pub name: String,
    /// Where the plugin listens; Prow's default is `http://<name>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    /// The events forwarded to it; none listed means every event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl ExternalPlugin {
    /// `endpoint`, or Prow's default `http://<name>`.
    pub fn endpoint(&self) -> String {
        if self.endpoint.is_empty() {
            format!("http://{}", self.name)
        } else {
            self.endpoint.clone()
        }
    }

    /// Whether the plugin asked for `event` (an empty list asks for all).
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// OWNERS file names for a repo (`owners.filenames`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnersFilenames {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owners: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owners_aliases: String,
}

/// How OWNERS files are handled (`owners:`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Owners {
    /// Orgs or repos whose markdown files may carry an OWNERS header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mdyamlrepos: Vec<String>,
    /// Orgs or repos where OWNERS alone decide: no collaborator cross-check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_collaborators: Vec<String>,
    /// Labels no OWNERS file may carry (verify-owners); default `[approved, lgtm]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_denylist: Option<Vec<String>>,
    /// Other names for OWNERS and OWNERS_ALIASES, by `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filenames: BTreeMap<String, OwnersFilenames>,
}

/// Prow's default OWNERS file names.
pub const DEFAULT_OWNERS_FILE: &str = "OWNERS";
pub const DEFAULT_OWNERS_ALIASES_FILE: &str = "OWNERS_ALIASES";

impl Owners {
    /// The file names for `org/repo`: the repo entry, else the org entry,
    /// else `OWNERS` and `OWNERS_ALIASES`.
    pub fn filenames_for(&self, org: &str, repo: &str) -> OwnersFilenames {
        let found = self
            .filenames
            .get(&format!("{org}/{repo}"))
            .or_else(|| self.filenames.get(org))
            .cloned()
            .unwrap_or_default();
        OwnersFilenames {
            owners: if found.owners.is_empty() {
                DEFAULT_OWNERS_FILE.to_string()
            } else {
                found.owners
            },
            owners_aliases: if found.owners_aliases.is_empty() {
                DEFAULT_OWNERS_ALIASES_FILE.to_string()
            } else {
                found.owners_aliases
            },
        }
    }

    /// Whether collaborators are not cross-checked for `org/repo`.
    pub fn skip_collaborators(&self, org: &str, repo: &str) -> bool {
        let full = format!("{org}/{repo}");
        self.skip_collaborators
            .iter()
            .any(|e| e == org || *e == full)
    }

    /// Whether markdown headers count as OWNERS for `org/repo`.
    pub fn mdyaml(&self, org: &str, repo: &str) -> bool {
        let full = format!("{org}/{repo}");
        self.mdyamlrepos.iter().any(|e| e == org || *e == full)
    }

    /// `labels_denylist`, or Prow's default.
    pub fn labels_denylist(&self) -> Vec<String> {
        self.labels_denylist
            .clone()
            .unwrap_or_else(|| vec!["approved".to_string(), "lgtm".to_string()])
    }
}

/// One `approve:` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Approve {
    /// `org` or `org/repo` entries this applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// A PR needs an associated issue to be approved.
    #[serde(default, skip_serializing_if = "is_false")]
    pub issue_required: bool,
    /// Authors who are approvers do not approve their own PRs implicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_self_approval: Option<bool>,
    /// `/lgtm` counts as `/approve`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lgtm_acts_as_approve: bool,
    /// GitHub review states do not count as approval or its cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_review_state: Option<bool>,
    /// The command help page linked from the notifier.
    #[serde(
        default,
        rename = "commandHelpLink",
        skip_serializing_if = "String::is_empty"
    )]
    pub command_help_link: String,
    /// The code review process page linked from the notifier.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pr_process_link: String,
}

pub const DEFAULT_COMMAND_HELP_LINK: &str = "https://go.k8s.io/bot-commands";
pub const DEFAULT_PR_PROCESS_LINK: &str =
    "https://git.k8s.io/community/contributors/guide/owners.md#the-code-review-process";

impl Approve {
    /// Prow's `HasSelfApproval`: on unless `require_self_approval: true`.
    pub fn has_self_approval(&self) -> bool {
        !self.require_self_approval.unwrap_or(false)
    }

    /// Prow's `ConsiderReviewState`: on unless `ignore_review_state: true`.
    pub fn consider_review_state(&self) -> bool {
        !self.ignore_review_state.unwrap_or(false)
    }
}

/// One `lgtm:` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lgtm {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// An "approve" review adds lgtm, a "request changes" review removes it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub review_acts_as_lgtm: bool,
    /// The head's tree hash is kept in a comment, so a squash does not drop lgtm.
    #[serde(default, skip_serializing_if = "is_false")]
    pub store_tree_hash: bool,
    /// Commits from this team's members do not remove lgtm (by team name).
    #[serde(
        default,
        rename = "trusted_team_for_sticky_lgtm",
        skip_serializing_if = "String::is_empty"
    )]
    pub sticky_lgtm_team: String,
}

/// A label only some may set (`label.restricted_labels`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RestrictedLabel {
    #[serde(default)]
    pub label: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_teams: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_users: Vec<String>,
    /// When one of these labels is added, `allowed_users` are assigned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assign_on: Vec<AssignOnLabel>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignOnLabel {
    #[serde(default)]
    pub label: String,
}

/// `label:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Labels `/label` may set besides the restricted ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_labels: Vec<String>,
    /// By `*`, `org` or `org/repo`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restricted_labels: BTreeMap<String, Vec<RestrictedLabel>>,
}

impl Label {
    /// Prow's `RestrictedLabelsFor`: the `*`, org and repo entries, merged
    /// per lower-cased label (users and teams united).
    pub fn restricted_for(&self, org: &str, repo: &str) -> BTreeMap<String, RestrictedLabel> {
        let mut out: BTreeMap<String, RestrictedLabel> = BTreeMap::new();
        for key in ["*".to_string(), org.to_string(), format!("{org}/{repo}")] {
            for r in self.restricted_labels.get(&key).into_iter().flatten() {
                let merged = out
                    .entry(r.label.to_lowercase())
                    .or_insert_with(|| RestrictedLabel {
                        label: r.label.clone(),
                        ..RestrictedLabel::default()
                    });
                for u in &r.allowed_users {
                    if !merged.allowed_users.contains(u) {
                        merged.allowed_users.push(u.clone());
                    }
                }
                for t in &r.allowed_teams {
                    if !merged.allowed_teams.contains(t) {
                        merged.allowed_teams.push(t.clone());
                    }
                }
                for a in &r.assign_on {
                    if !merged.assign_on.contains(a) {
                        merged.assign_on.push(a.clone());
                    }
                }
            }
        }
        out
    }
}

/// `size:`: each value is the lower bound of its label; XS starts at 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    #[serde(default)]
    pub s: i64,
    #[serde(default)]
    pub m: i64,
    #[serde(default)]
    pub l: i64,
    #[serde(default)]
    pub xl: i64,
    #[serde(default)]
    pub xxl: i64,
}

impl Size {
    /// Prow's defaults (10, 30, 100, 500, 1000) for every field left at 0.
    pub fn or_default(self) -> Size {
        let d = |v: i64, default: i64| if v == 0 { default } else { v };
        Size {
            s: d(self.s, 10),
            m: d(self.m, 30),
            l: d(self.l, 100),
            xl: d(self.xl, 500),
            xxl: d(self.xxl, 1000),
        }
    }
}

/// blunderbuss's `wait_for_status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextMatch {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
}

/// Prow's default `wait_for_status` description.
pub const DEFAULT_WAIT_FOR_STATUS_DESCRIPTION: &str = r"Not mergeable. (PullRequest is missing sufficient approving GitHub review\(s\)|Needs (lgtm|approved|approved, lgtm) labels?)\.?";

impl ContextMatch {
    /// With Prow's defaults: context `tide`, state `pending`.
    pub fn or_default(&self) -> ContextMatch {
        let pick = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_string()
            } else {
                v.to_string()
            }
        };
        ContextMatch {
            context: pick(&self.context, "tide"),
            description: pick(&self.description, DEFAULT_WAIT_FOR_STATUS_DESCRIPTION),
            state: pick(&self.state, "pending"),
        }
    }
}

/// `blunderbuss:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Blunderbuss {
    /// Reviewers to request; default 2.
    #[serde(
        default,
        rename = "request_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub reviewer_count: Option<i64>,
    /// At most this many (0: no limit).
    #[serde(default, rename = "max_request_count", skip_serializing_if = "is_zero")]
    pub max_reviewer_count: i64,
    /// Approvers never stand in for missing reviewers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclude_approvers: bool,
    /// GitHub's "busy" status (GraphQL): not supported by Skiff, see validation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_status_availability: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_drafts: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_authors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_status: Option<ContextMatch>,
}

impl Blunderbuss {
    pub fn request_count(&self) -> i64 {
        self.reviewer_count.unwrap_or(2)
    }
}

/// One `welcome:` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// Go template over `.Org`, `.Repo`, `.AuthorLogin`, `.AuthorName`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_template: String,
    /// Post even to trusted authors and returning contributors.
    #[serde(default, skip_serializing_if = "is_false")]
    pub always_post: bool,
}

pub const DEFAULT_WELCOME_TEMPLATE: &str =
    "Welcome @{{.AuthorLogin}}! It looks like this is your first PR to {{.Org}}/{{.Repo}} 🎉";

/// `override:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// Approvers of the top-level OWNERS file may override.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_top_level_owners: bool,
    /// Team slugs whose members may override, by `org` or `org/repo`.
    #[serde(
        default,
        rename = "allowed_github_teams",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub allowed_github_teams: BTreeMap<String, Vec<String>>,
}

/// `help:`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Help {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_guidelines_url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_guidelines_summary: String,
}

pub const DEFAULT_HELP_GUIDELINES_URL: &str =
    "https://git.k8s.io/community/contributors/guide/help-wanted.md";

impl Help {
    pub fn guidelines_url(&self) -> &str {
        if self.help_guidelines_url.is_empty() {
            DEFAULT_HELP_GUIDELINES_URL
        } else {
            &self.help_guidelines_url
        }
    }
}

/// The typed sections, as one mapping is read (see `PluginConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sections {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_plugins: BTreeMap<String, Vec<ExternalPlugin>>,
    #[serde(default)]
    pub owners: Owners,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approve: Vec<Approve>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lgtm: Vec<Lgtm>,
    #[serde(default)]
    pub label: Label,
    #[serde(default)]
    pub size: Size,
    #[serde(default)]
    pub blunderbuss: Blunderbuss,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub welcome: Vec<Welcome>,
    #[serde(default, rename = "override")]
    pub overrides: Override,
    #[serde(default)]
    pub help: Help,
}

/// The keys of [`Sections`], in plugins.yaml.
pub const SECTION_KEYS: &[&str] = &[
    "external_plugins",
    "owners",
    "approve",
    "lgtm",
    "label",
    "size",
    "blunderbuss",
    "welcome",
    "override",
    "help",
];

/// The first entry naming `org/repo`, else the first naming `org` (Prow's
/// `ApproveFor`, `LgtmFor`, welcome's `optionsForRepo`).
pub(crate) fn for_repo<'a, T>(
    entries: &'a [T],
    repos: impl Fn(&T) -> &[String],
    org: &str,
    repo: &str,
) -> Option<&'a T> {
    let full = format!("{org}/{repo}");
    entries
        .iter()
        .find(|e| repos(e).contains(&full))
        .or_else(|| entries.iter().find(|e| repos(e).iter().any(|r| r == org)))
}
