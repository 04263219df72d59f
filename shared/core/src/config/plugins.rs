//! Prow's `plugins.yaml` (`pkg/plugins/config.go`): which plugins each org or repo
//! enables, the `triggers:` section the trigger plugin reads, and the sections
//! of the review plugins Skiff runs (`sections`). Other plugin sections are
//! accepted and reported as not used by Skiff.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod sections;
pub use sections::*;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Plugins enabled for an org (minus `excluded_repos`) or an `org/repo`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgPlugins {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_repos: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}

/// Trust settings of the trigger plugin for some orgs or repos.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// `org` or `org/repo` entries this applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    /// GitHub Apps (without `[bot]`) whose PRs are trusted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_apps: Vec<String>,
    /// Deprecated: an org whose members are trusted too.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trusted_org: String,
    /// Link shown to untrusted authors on how to join the org.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub join_org_url: String,
    /// Collaborators are not trusted, only org members.
    #[serde(default, skip_serializing_if = "is_false")]
    pub only_org_members: bool,
    /// `/ok-to-test` is ignored.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_ok_to_test: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub trigger_github_workflows: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_invite: Option<serde_json::Value>,
}

/// The parts of plugins.yaml Skiff uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginConfig {
    /// Keyed by `org` or `org/repo`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, OrgPlugins>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// The review plugins' sections (`lgtm:`, `approve:`, `external_plugins:` …).
    #[serde(flatten)]
    pub sections: Sections,
}

impl PluginConfig {
    /// Prow's `TriggerFor`: the first entry naming `org/repo`, else the first
    /// naming `org`, else the defaults.
    pub fn trigger_for(&self, org: &str, repo: &str) -> Trigger {
        let full = format!("{org}/{repo}");
        let found = self
            .triggers
            .iter()
            .find(|t| t.repos.contains(&full))
            .or_else(|| {
                self.triggers
                    .iter()
                    .find(|t| t.repos.iter().any(|r| r == org))
            });
        let mut t = found.cloned().unwrap_or_default();
        if !t.trusted_org.is_empty() && t.join_org_url.is_empty() {
            t.join_org_url = format!("https://github.com/orgs/{}/people", t.trusted_org);
        }
        t
    }

    /// Whether `plugin` is enabled for `org/repo`, by org (unless the repo is
    /// excluded) or by repo.
    pub fn enabled(&self, org: &str, repo: &str, plugin: &str) -> bool {
        let has = |p: &OrgPlugins| p.plugins.iter().any(|x| x == plugin);
        if let Some(p) = self.plugins.get(&format!("{org}/{repo}"))
            && has(p)
        {
            return true;
        }
        self.plugins
            .get(org)
            .is_some_and(|p| has(p) && !p.excluded_repos.iter().any(|r| r == repo))
    }

    /// Prow's `getPlugins`: the org entry's plugins (unless the repo is in its
    /// `excluded_repos`), then the `org/repo` entry's, each name once.
    pub fn enabled_plugins(&self, org: &str, repo: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let org_entry = self
            .plugins
            .get(org)
            .filter(|p| !p.excluded_repos.iter().any(|r| r == repo));
        let repo_entry = self.plugins.get(&format!("{org}/{repo}"));
        for p in org_entry.into_iter().chain(repo_entry) {
            for name in &p.plugins {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// The external plugins of `org/repo`: the org's entries, then the
    /// repo's (matched by exact key; `excluded_repos` does not apply, as in
    /// Prow's hook).
    pub fn external_plugins_for(&self, org: &str, repo: &str) -> Vec<&ExternalPlugin> {
        let ext = &self.sections.external_plugins;
        ext.get(org)
            .into_iter()
            .chain(ext.get(&format!("{org}/{repo}")))
            .flatten()
            .collect()
    }

    /// The `approve:` entry for `org/repo` (repo beats org), or the defaults.
    pub fn approve_for(&self, org: &str, repo: &str) -> Approve {
        let mut a = for_repo(&self.sections.approve, |a| &a.repos, org, repo)
            .cloned()
            .unwrap_or_default();
        if a.command_help_link.is_empty() {
            a.command_help_link = DEFAULT_COMMAND_HELP_LINK.to_string();
        }
        if a.pr_process_link.is_empty() {
            a.pr_process_link = DEFAULT_PR_PROCESS_LINK.to_string();
        }
        a
    }

    /// The `lgtm:` entry for `org/repo` (repo beats org), or the defaults.
    pub fn lgtm_for(&self, org: &str, repo: &str) -> Lgtm {
        for_repo(&self.sections.lgtm, |l| &l.repos, org, repo)
            .cloned()
            .unwrap_or_default()
    }

    /// The `welcome:` entry for `org/repo` (repo beats org), or the defaults.
    pub fn welcome_for(&self, org: &str, repo: &str) -> Welcome {
        for_repo(&self.sections.welcome, |w| &w.repos, org, repo)
            .cloned()
            .unwrap_or_default()
    }
}

/// plugins.yaml sections Skiff modelled (besides [`SECTION_KEYS`]).
pub const MODELLED_KEYS: &[&str] = &["plugins", "triggers"];

/// plugins.yaml sections Skiff accepts and does not use.
pub const UNUSED_KEYS: &[&str] = &[
    "blockades",
    "rifle",
    "bugzilla",
    "branch_cleaner",
    "cat",
    "cherry_pick_approved",
    "cherry_pick_unapproved",
    "config_updater",
    "dco",
    "golint",
    "goose",
    "heart",
    "jira",
    "milestone_applier",
    "release_note",
    "repo_milestone",
    "project_config",
    "project_manager",
    "require_matching_label",
    "retitle",
    "slack",
    "sigmention",
    "invalid_commit_msg",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PluginConfig {
        PluginConfig {
            plugins: BTreeMap::from([
                (
                    "acme".to_string(),
                    OrgPlugins {
                        excluded_repos: vec!["legacy".into()],
                        plugins: vec!["trigger".into()],
                    },
                ),
                (
                    "other/repo".to_string(),
                    OrgPlugins {
                        excluded_repos: vec![],
                        plugins: vec!["trigger".into()],
                    },
                ),
            ]),
            triggers: vec![
                Trigger {
                    repos: vec!["acme".into()],
                    trusted_apps: vec!["dependabot".into()],
                    ..Trigger::default()
                },
                Trigger {
                    repos: vec!["acme/widgets".into()],
                    only_org_members: true,
                    ..Trigger::default()
                },
            ],
            ..PluginConfig::default()
        }
    }

    #[test]
    fn trigger_for_prefers_the_repo_entry_over_the_org_entry() {
        let c = config();
        assert!(c.trigger_for("acme", "widgets").only_org_members);
        assert_eq!(
            c.trigger_for("acme", "gadgets").trusted_apps,
            vec!["dependabot"]
        );
        assert_eq!(c.trigger_for("nobody", "x"), Trigger::default());
    }

    #[test]
    fn plugins_enabled_by_org_honour_excluded_repos() {
        let c = config();
        assert!(c.enabled("acme", "widgets", "trigger"));
        assert!(!c.enabled("acme", "legacy", "trigger"));
        assert!(c.enabled("other", "repo", "trigger"));
        assert!(!c.enabled("other", "else", "trigger"));
        assert!(!c.enabled("acme", "widgets", "lgtm"));
    }
}
