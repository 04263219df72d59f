//! Help (Prow's `pkg/pluginhelp`): what each plugin does, its commands, who
//! may use them, and how it is configured for a repo. One source for the
//! deck's `/command-help` and `/plugins` pages and for `skiff plan`.

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
