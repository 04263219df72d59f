//! Prow's review plugins (`pkg/plugins/<name>`) as pure planners: each reads
//! a webhook ([`PluginEvent`]) and asks narrow questions ([`ReviewFacts`]),
//! and answers with effects ([`Effect`]: labels, comments, assignees, review
//! requests, issue state, statuses) that the trigger's executor carries out
//! and `skiff plan` prints.
//!
//! The registry ([`PLUGINS`]) says which events each plugin handles and
//! what its help says; [`plan_plugins`] runs every plugin a repo enables in
//! plugins.yaml for one event. A plugin that cannot decide (GitHub down) is
//! one failed outcome; the others still decide.
//!
//! The trigger plugin is not here: it plans jobs (`crate::plan`), and is
//! listed in [`PLUGINS`] only for its help.

pub mod approve;
pub mod approvers;
pub mod assign;
pub mod blunderbuss;
pub mod effects;
pub mod event;
pub mod external;
pub mod facts;
pub mod help;
pub mod hold;
pub mod label;
pub mod lgtm;
pub mod lifecycle;
pub mod needs_rebase;
pub mod overrides;
pub mod owners;
pub mod pluginhelp;
pub mod respond;
pub mod size;
pub mod skip;
pub mod verify_owners;
pub mod welcome;
pub mod wip;

use std::sync::LazyLock;

use regex::Regex;

pub use effects::{Effect, PluginPlan, Refusal};
pub use event::{GenericComment, Issue, PluginEvent};
pub use facts::{Cached, OwnersAt, ReviewFacts};
pub use pluginhelp::{Command, PluginHelp, RepoHelp, repo_help};

use crate::config::Config;
use crate::config::plugins::Trigger;
use crate::event::{CommentAction, Repo};
use crate::plan::FactError;
use crate::plan::matchers::Regexes;

/// The plugins Skiff runs, by Prow's names.
pub const RUN_BY_SKIFF: &[&str] = &[
    "trigger",
    "lgtm",
    "approve",
    "hold",
    "wip",
    "label",
    "assign",
    "size",
    "needs-rebase",
    "lifecycle",
    "help",
    "blunderbuss",
    "welcome",
    "skip",
    "override",
    "verify-owners",
];

/// Prow's in-tree plugins (`pkg/plugins/*`): names plugins.yaml may list.
pub const PROW_PLUGINS: &[&str] = &[
    "approve",
    "assign",
    "blockade",
    "blunderbuss",
    "branchcleaner",
    "bugzilla",
    "buildifier",
    "cat",
    "cherry-pick-approved",
    "cherry-pick-unapproved",
    "cla",
    "config-updater",
    "dco",
    "dog",
    "golint",
    "goose",
    "heart",
    "help",
    "hold",
    "invalidcommitmsg",
    "issue-management",
    "jira",
    "label",
    "lgtm",
    "lifecycle",
    "merge-method-comment",
    "mergecommitblocker",
    "milestone",
    "milestoneapplier",
    "milestonestatus",
    "override",
    "owners-label",
    "pony",
    "project",
    "project-manager",
    "release-note",
    "require-matching-label",
    "retitle",
    "reward-owners",
    "rifle",
    "shrug",
    "sigmention",
    "size",
    "skip",
    "slackevents",
    "stage",
    "testfreeze",
    "trick-or-treat",
    "trigger",
    "verify-owners",
    "welcome",
    "wip",
    "yuks",
];

/// GitHub's webhook event names, for validating `external_plugins` events.
pub mod github_events {
    pub const KNOWN: &[&str] = &[
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "create",
        "delete",
        "dependabot_alert",
        "deploy_key",
        "deployment",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "fork",
        "gollum",
        "issue_comment",
        "issues",
        "label",
        "member",
        "membership",
        "merge_group",
        "meta",
        "milestone",
        "organization",
        "package",
        "page_build",
        "ping",
        "project",
        "project_card",
        "project_column",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "push",
        "release",
        "repository",
        "repository_dispatch",
        "security_advisory",
        "star",
        "status",
        "team",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_job",
        "workflow_run",
    ];
}

/// The events Prow generalizes into a comment.
pub const COMMENT_EVENTS: &[&str] = &[
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
];

/// One plugin in the registry.
pub struct PluginSpec {
    pub name: &'static str,
    /// The GitHub events it acts on.
    pub events: &'static [&'static str],
    /// Its help for one repo.
    pub help: fn(&Config, &str, &str) -> PluginHelp,
}

const PR_AND_COMMENTS: &[&str] = &[
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
];

/// Every plugin Skiff runs, with its events and help.
pub const PLUGINS: &[PluginSpec] = &[
    PluginSpec {
        name: "trigger",
        events: &[
            "pull_request",
            "issue_comment",
            "pull_request_review",
            "push",
            "check_run",
            "check_suite",
        ],
        help: pluginhelp::trigger_help,
    },
    PluginSpec {
        name: "lgtm",
        events: PR_AND_COMMENTS,
        help: lgtm::help,
    },
    PluginSpec {
        name: "approve",
        events: PR_AND_COMMENTS,
        help: approve::help,
    },
    PluginSpec {
        name: "hold",
        events: COMMENT_EVENTS,
        help: hold::help,
    },
    PluginSpec {
        name: "wip",
        events: &["pull_request"],
        help: wip::help,
    },
    PluginSpec {
        name: "label",
        events: COMMENT_EVENTS,
        help: label::help,
    },
    PluginSpec {
        name: "assign",
        events: COMMENT_EVENTS,
        help: assign::help,
    },
    PluginSpec {
        name: "size",
        events: &["pull_request"],
        help: size::help,
    },
    PluginSpec {
        name: "needs-rebase",
        events: &["pull_request", "push"],
        help: needs_rebase::help,
    },
    PluginSpec {
        name: "lifecycle",
        events: COMMENT_EVENTS,
        help: lifecycle::help,
    },
    PluginSpec {
        name: "help",
        events: COMMENT_EVENTS,
        help: help::help,
    },
    PluginSpec {
        name: "blunderbuss",
        events: PR_AND_COMMENTS,
        help: blunderbuss::help,
    },
    PluginSpec {
        name: "welcome",
        events: &["pull_request"],
        help: welcome::help,
    },
    PluginSpec {
        name: "skip",
        events: COMMENT_EVENTS,
        help: skip::help,
    },
    PluginSpec {
        name: "override",
        events: COMMENT_EVENTS,
        help: overrides::help,
    },
    PluginSpec {
        name: "verify-owners",
        events: PR_AND_COMMENTS,
        help: verify_owners::help,
    },
];

pub fn spec(name: &str) -> Option<&'static PluginSpec> {
    PLUGINS.iter().find(|p| p.name == name)
}

/// What the planners share for one event.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub regexes: &'a Regexes,
    /// The delivery (`X-GitHub-Delivery`): it keys the records override makes.
    pub delivery: &'a str,
    pub now: jiff::Timestamp,
}

/// The review plugins (not trigger) enabled for `org/repo`, in plugins.yaml
/// order. `needs-rebase` counts as enabled when it is listed among the
/// repo's external plugins with no endpoint of its own: Prow's default
/// `http://needs-rebase` names the in-cluster service Skiff replaces.
pub fn enabled(config: &Config, org: &str, repo: &str) -> Vec<&'static PluginSpec> {
    let mut names = config.plugins.enabled_plugins(org, repo);
    if config
        .plugins
        .external_plugins_for(org, repo)
        .iter()
        .any(|p| external::is_builtin(p))
        && !names.iter().any(|n| n == "needs-rebase")
    {
        names.push("needs-rebase".to_string());
    }
    names
        .iter()
        .filter(|n| n.as_str() != "trigger")
        .filter_map(|n| spec(n))
        .collect()
}

/// What one plugin decided, or why it could not.
pub struct Outcome {
    pub plugin: &'static str,
    pub result: Result<PluginPlan, FactError>,
}

/// Runs every plugin `org/repo` enables that handles this event, each on its
/// own: one that fails does not stop the others.
pub async fn plan_plugins(ctx: &Ctx<'_>, ev: &PluginEvent, facts: &mut Cached<'_>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for spec in enabled(ctx.config, &ev.repo.org, &ev.repo.repo) {
        if !spec.events.contains(&ev.name.as_str()) {
            continue;
        }
        let result = plan_one(spec.name, ctx, ev, facts).await;
        out.push(Outcome {
            plugin: spec.name,
            result,
        });
    }
    out
}

/// One plugin's plan for the event.
pub async fn plan_one(
    name: &str,
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    match name {
        "lgtm" => lgtm::plan(ctx, ev, facts).await,
        "approve" => approve::plan(ctx, ev, facts).await,
        "hold" => Ok(hold::plan(ev)),
        "wip" => Ok(wip::plan(ev)),
        "label" => label::plan(ctx, ev, facts).await,
        "assign" => Ok(assign::plan(ev)),
        "size" => size::plan(ctx, ev, facts).await,
        "needs-rebase" => Ok(needs_rebase::plan(ev)),
        "lifecycle" => lifecycle::plan(ev, facts).await,
        "help" => Ok(help::plan(ctx, ev)),
        "blunderbuss" => blunderbuss::plan(ctx, ev, facts).await,
        "welcome" => welcome::plan(ctx, ev, facts).await,
        "skip" => skip::plan(ctx, ev, facts).await,
        "override" => overrides::plan(ctx, ev, facts).await,
        "verify-owners" => verify_owners::plan(ctx, ev, facts).await,
        other => {
            let mut p = PluginPlan::new(other, ev.number());
            p.note(format!("Skiff does not run the {other} plugin"));
            Ok(p)
        }
    }
}

// ---------------------------------------------------------------------------
// Shared by the plugins

/// Compiles a pattern written in this module (never user input).
pub(crate) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern:?}: {e}"))
}

/// A static pattern, compiled once.
pub(crate) struct Pattern(LazyLock<Regex>);

impl Pattern {
    pub(crate) const fn new(f: fn() -> Regex) -> Self {
        Pattern(LazyLock::new(f))
    }

    pub(crate) fn get(&self) -> &Regex {
        &self.0
    }
}

/// The created comment on an issue or PR, with the issue, if the event is
/// one (Prow's `GenericCommentActionCreated`).
pub(crate) fn created_comment(ev: &PluginEvent) -> Option<(&GenericComment, &Issue)> {
    let c = ev.comment.as_ref()?;
    let issue = ev.issue.as_ref()?;
    (c.action == CommentAction::Created).then_some((c, issue))
}

/// Prow's `TrustedUser`, as the trigger applies it.
pub(crate) async fn trusted_user(
    t: &Trigger,
    repo: &Repo,
    login: &str,
    facts: &mut Cached<'_>,
) -> Result<bool, FactError> {
    if facts.is_bot(login) || facts.is_member(&repo.org, login).await? {
        return Ok(true);
    }
    if !t.only_org_members && facts.is_collaborator(repo, login).await? {
        return Ok(true);
    }
    if let Some(app) = login.strip_suffix("[bot]")
        && t.trusted_apps.iter().any(|a| a == app)
    {
        return Ok(true);
    }
    if !t.trusted_org.is_empty() && t.trusted_org != repo.org {
        return facts.is_member(&t.trusted_org, login).await;
    }
    Ok(false)
}

/// A GitHub team's slug from its name (lower case, runs of other
/// characters as one `-`), for settings that name teams as Prow's do.
pub fn team_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A pseudo-random but repeatable sequence (SplitMix64): the same event
/// plans the same picks when it is delivered again.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn seeded(seed: i64) -> Self {
        Rng(seed as u64)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if n == 0 { 0 } else { (z % n as u64) as usize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_slugs_are_lower_case_with_dashes() {
        assert_eq!(team_slug("Release Managers"), "release-managers");
        assert_eq!(team_slug("sig-node"), "sig-node");
    }

    #[test]
    fn every_plugin_skiff_runs_is_in_the_registry_and_every_registered_one_runs() {
        for name in RUN_BY_SKIFF {
            assert!(spec(name).is_some(), "{name} has no spec");
        }
        for p in PLUGINS {
            assert!(RUN_BY_SKIFF.contains(&p.name), "{}", p.name);
        }
    }
}
