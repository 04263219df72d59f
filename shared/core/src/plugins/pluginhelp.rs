//! Help (Prow's `pkg/pluginhelp`): what each plugin does, its commands, who
//! may use them, and how it is configured for a repo. One source for the
//! deck's `/command-help` and `/plugins` pages and for `skiff plan`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Config;
use crate::config::plugins::ExternalPlugin;

/// One chat-ops command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub usage: String,
    pub description: String,
    /// Shown first in lists of commands.
    pub featured: bool,
    pub who_can_use: String,
    pub examples: Vec<String>,
}

impl Command {
    pub fn new(usage: &str, description: &str, who: &str, examples: &[&str]) -> Command {
        Command {
            usage: usage.to_string(),
            description: description.to_string(),
            featured: false,
            who_can_use: who.to_string(),
            examples: examples.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn featured(mut self) -> Command {
        self.featured = true;
        self
    }
}

/// A plugin's help for one repo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PluginHelp {
    pub name: String,
    pub description: String,
    /// How the plugin is set up for this repo (plain text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<String>,
    /// The GitHub events it acts on.
    pub events: Vec<String>,
    pub commands: Vec<Command>,
}

impl PluginHelp {
    pub fn new(name: &str, description: &str) -> PluginHelp {
        let events = super::spec(name)
            .map(|s| s.events.iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        PluginHelp {
            name: name.to_string(),
            description: description.to_string(),
            config: Vec::new(),
            events,
            commands: Vec::new(),
        }
    }

    pub fn command(mut self, c: Command) -> PluginHelp {
        self.commands.push(c);
        self
    }

    pub fn config(mut self, line: impl Into<String>) -> PluginHelp {
        self.config.push(line.into());
        self
    }
}

/// Everything a repo's contributors can do, by plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoHelp {
    pub repo: String,
    /// The plugins Skiff runs here.
    pub plugins: Vec<PluginHelp>,
    /// External plugins events are forwarded to.
    pub external: Vec<ExternalPlugin>,
    /// Plugins plugins.yaml enables here that Skiff does not run.
    pub not_run: Vec<String>,
}

/// The help of every plugin `org/repo` enables. With no `plugins:` at all,
/// only trigger runs (as the planner lets it, everywhere).
pub fn repo_help(config: &Config, org: &str, repo: &str) -> RepoHelp {
    let enabled = config.plugins.enabled_plugins(org, repo);
    let mut plugins = Vec::new();
    let trigger_on = config.plugins.plugins.is_empty() || enabled.iter().any(|p| p == "trigger");
    if trigger_on {
        plugins.push(trigger_help(config, org, repo));
    }
    for spec in super::enabled(config, org, repo) {
        plugins.push((spec.help)(config, org, repo));
    }
    let not_run = enabled
        .into_iter()
        .filter(|n| super::spec(n).is_none())
        .collect();
    RepoHelp {
        repo: format!("{org}/{repo}"),
        plugins,
        external: config
            .plugins
            .external_plugins_for(org, repo)
            .into_iter()
            .filter(|p| !super::external::is_builtin(p))
            .cloned()
            .collect(),
        not_run,
    }
}

/// The repositories the help can be shown for: those plugins.yaml and
/// `external_plugins` name, and those with presubmits or postsubmits. Prow's
/// hook also lists every repo of an org entry by asking GitHub; the deck has
/// no GitHub client, so an org's other repos are not listed (their help is
/// still shown when asked for by name).
pub fn known_repos(config: &Config) -> Vec<String> {
    let p = &config.plugins;
    let mut out: BTreeSet<String> = p
        .plugins
        .keys()
        .chain(p.sections.external_plugins.keys())
        .filter(|k| k.contains('/'))
        .cloned()
        .collect();
    out.extend(config.jobs.presubmits.keys().cloned());
    out.extend(config.jobs.postsubmits.keys().cloned());
    out.into_iter().collect()
}

/// Where plugins are set up: every known repo, then every org key of
/// plugins.yaml and `external_plugins` (an org key covers the org's repos
/// the deck cannot list).
pub fn scopes(config: &Config) -> Vec<String> {
    let p = &config.plugins;
    let mut out = known_repos(config);
    let orgs: BTreeSet<&String> = p
        .plugins
        .keys()
        .chain(p.sections.external_plugins.keys())
        .filter(|k| !k.contains('/'))
        .collect();
    out.extend(orgs.into_iter().cloned());
    out
}

/// The help for a scope: `org/repo`, or `org` (what its org entry enables).
pub fn scope_help(config: &Config, scope: &str) -> RepoHelp {
    let (org, repo) = scope.split_once('/').unwrap_or((scope, ""));
    let mut h = repo_help(config, org, repo);
    h.repo = scope.to_string();
    h
}

/// One command as Prow's JSON spells it (`pkg/pluginhelp.Command`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProwCommand {
    pub usage: String,
    pub featured: bool,
    pub description: String,
    pub examples: Vec<String>,
    pub who_can_use: String,
}

/// One plugin's help as Prow's JSON spells it (`pkg/pluginhelp.PluginHelp`):
/// `Config` maps `org/repo` to how the plugin is set up there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProwPluginHelp {
    pub description: String,
    pub config: BTreeMap<String, String>,
    pub events: Vec<String>,
    pub commands: Vec<ProwCommand>,
}

/// Prow's `pluginhelp.Help`, what hook serves at `/plugin-help` and deck at
/// `/plugin-help.js`. `RepoPlugins[""]` lists every plugin Skiff runs;
/// `ExternalPluginHelp` stays empty: Prow asks each external plugin's
/// `<endpoint>/help`, and Skiff fetches nothing for a help page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Help {
    pub all_repos: Vec<String>,
    pub repo_plugins: BTreeMap<String, Vec<String>>,
    pub repo_external_plugins: BTreeMap<String, Vec<String>>,
    pub plugin_help: BTreeMap<String, ProwPluginHelp>,
    pub external_plugin_help: BTreeMap<String, ProwPluginHelp>,
}

/// The help of every plugin Skiff runs, for every known repo, in Prow's
/// shape. A plugin's description and commands are its help for the first
/// repo that enables it (they do not vary by repo); its `Config` has a line
/// per repo whose setup says something.
pub fn help(config: &Config) -> Help {
    let repos = known_repos(config);
    let by_repo: Vec<RepoHelp> = scopes(config)
        .iter()
        .map(|s| scope_help(config, s))
        .collect();
    let mut plugin_help = BTreeMap::new();
    for spec in super::PLUGINS {
        let mut found: Option<ProwPluginHelp> = None;
        let mut setup = BTreeMap::new();
        for rh in &by_repo {
            let Some(h) = rh.plugins.iter().find(|h| h.name == spec.name) else {
                continue;
            };
            if !h.config.is_empty() {
                setup.insert(rh.repo.clone(), h.config.join(" "));
            }
            found.get_or_insert_with(|| prow_shape(h));
        }
        let mut h = found.unwrap_or_else(|| prow_shape(&(spec.help)(config, "", "")));
        h.config = setup;
        plugin_help.insert(spec.name.to_string(), h);
    }
    let mut repo_plugins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    repo_plugins.insert(
        String::new(),
        super::RUN_BY_SKIFF.iter().map(|s| s.to_string()).collect(),
    );
    for (key, p) in &config.plugins.plugins {
        repo_plugins.insert(key.clone(), p.plugins.clone());
    }
    let ext = &config.plugins.sections.external_plugins;
    let mut repo_external_plugins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let all_external: BTreeSet<String> = ext.values().flatten().map(|e| e.name.clone()).collect();
    repo_external_plugins.insert(String::new(), all_external.into_iter().collect());
    for (key, list) in ext {
        repo_external_plugins.insert(key.clone(), list.iter().map(|e| e.name.clone()).collect());
    }
    Help {
        all_repos: repos,
        repo_plugins,
        repo_external_plugins,
        plugin_help,
        external_plugin_help: BTreeMap::new(),
    }
}

fn prow_shape(h: &PluginHelp) -> ProwPluginHelp {
    ProwPluginHelp {
        description: h.description.clone(),
        config: BTreeMap::new(),
        events: h.events.clone(),
        commands: h
            .commands
            .iter()
            .map(|c| ProwCommand {
                usage: c.usage.clone(),
                featured: c.featured,
                description: c.description.clone(),
                examples: c.examples.clone(),
                who_can_use: c.who_can_use.clone(),
            })
            .collect(),
    }
}

/// The trigger plugin's commands, in Prow's words.
pub fn trigger_help(_: &Config, _: &str, _: &str) -> PluginHelp {
    PluginHelp::new(
        "trigger",
        "Starts presubmits when a pull request opens or changes and on commands, postsubmits on pushes; untrusted authors need /ok-to-test.",
    )
    .command(
        Command::new(
            "/test <job>[, <job>…]",
            "Runs the named presubmits, even those whose files did not change (branch filters still apply).",
            "Anyone on a trusted PR; a trusted member otherwise.",
            &["/test unit", "/test all", "/test ?"],
        )
        .featured(),
    )
    .command(
        Command::new(
            "/retest",
            "Reruns the failed jobs of the head commit (pending ones are left alone).",
            "As /test.",
            &["/retest"],
        )
        .featured(),
    )
    .command(Command::new(
        "/retest-required",
        "As /retest, for required jobs only.",
        "As /test.",
        &["/retest-required"],
    ))
    .command(Command::new(
        "/test-manual-required",
        "Runs the required jobs that only run when asked for.",
        "As /test.",
        &["/test-manual-required"],
    ))
    .command(Command::new(
        "/ok-to-test",
        "Marks a PR from an untrusted author as safe to test (label ok-to-test) and runs its jobs; `/ok-to-test cancel` takes it back.",
        "A trusted member.",
        &["/ok-to-test", "/ok-to-test cancel"],
    ))
}
