//! `/command-help`: every command of the plugins a repo enables (usage,
//! what it does, who may use it, examples), from the help the plugins
//! declare (as `/plugins` and `/plugin-help`), then each repo's jobs and the
//! `/test` command that runs each. `?repo=org/repo` narrows it to one repo.

use maud::{Markup, html};
use skiff_core::config::Config;
use skiff_core::plugins::{PluginHelp, pluginhelp};

use super::plugins::{chosen_scope, everywhere, scope_form};
use super::{Ctx, layout};
use crate::{DeckRequest, Deps, Reply, ctx, links};

fn trigger_class(p: &skiff_core::config::Presubmit) -> Markup {
    html! {
        @if p.fields.always_run {
            "every PR"
        } @else if !p.changes.run_if_changed.is_empty() {
            "when files match " code { (p.changes.run_if_changed) }
        } @else if !p.changes.skip_if_only_changed.is_empty() {
            "unless every file matches " code { (p.changes.skip_if_only_changed) }
        } @else {
            "only when asked"
        }
    }
}

fn branches(b: &skiff_core::config::Brancher) -> String {
    let mut out = Vec::new();
    if !b.branches.is_empty() {
        out.push(format!("only {}", b.branches.join(", ")));
    }
    if !b.skip_branches.is_empty() {
        out.push(format!("not {}", b.skip_branches.join(", ")));
    }
    if out.is_empty() {
        "all".into()
    } else {
        out.join("; ")
    }
}

pub fn command_help(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let chosen = match chosen_scope(req, deps) {
        Ok(c) => c,
        Err(r) => return r,
    };
    Reply::html(
        200,
        help_page(&ctx(deps, false), deps.config, chosen.as_deref()),
    )
}

/// The commands of these plugins, featured ones first, each with its plugin.
fn commands(plugins: &[&PluginHelp]) -> Markup {
    let mut rows: Vec<(&str, &skiff_core::plugins::Command)> = plugins
        .iter()
        .flat_map(|h| h.commands.iter().map(move |c| (h.name.as_str(), c)))
        .collect();
    rows.sort_by_key(|(_, c)| !c.featured);
    html! {
        div.scroll {
            table #commands {
                thead { tr {
                    th scope="col" { "Command" } th scope="col" { "Plugin" } th scope="col" { "What it does" }
                    th scope="col" { "Who can use it" } th scope="col" { "Examples" }
                } }
                tbody {
                    @for (plugin, c) in &rows {
                        tr {
                            td { code { (c.usage) } }
                            td { a href={"/plugins#plugin-" (plugin)} { (plugin) } }
                            td { (c.description) }
                            td { (c.who_can_use) }
                            td { @for (i, e) in c.examples.iter().enumerate() { @if i > 0 { br; } code { (e) } } }
                        }
                    }
                }
            }
        }
    }
}

pub fn help_page(ctx: &Ctx, config: Option<&Config>, chosen: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Command help" }
        p { "Comment these on a pull request or an issue, each on a line of its own." }
        @match config {
            None => p.err { "The configuration could not be loaded, so the commands and jobs are not listed." },
            Some(c) => {
                (scope_form("/command-help", &pluginhelp::scopes(c), chosen))
                @match chosen {
                    Some(scope) => {
                        @let rh = pluginhelp::scope_help(c, scope);
                        p.muted #scope { "Commands of the plugins enabled for " strong { (rh.repo) } "." }
                        @if rh.plugins.is_empty() { p { "No plugin Skiff runs is enabled here: comments do nothing." } }
                        (commands(&rh.plugins.iter().collect::<Vec<_>>()))
                        @if !rh.not_run.is_empty() {
                            p.muted { "Also enabled, but not run by Skiff (their commands do nothing): " (rh.not_run.join(", ")) "." }
                        }
                    }
                    None => {
                        @let all = everywhere(c);
                        (commands(&all.iter().map(|(h, _)| h).collect::<Vec<_>>()))
                    }
                }
                (jobs_by_repo(c, chosen))
            }
        }
    };
    layout(ctx, "Command help", body)
}

/// Each repo's jobs (one repo's, or those of an org's repos, when one is
/// chosen), and where in-repo config may add jobs no page can list.
fn jobs_by_repo(c: &Config, chosen: Option<&str>) -> Markup {
    let in_scope =
        |r: &str| chosen.is_none_or(|s| r == s || r.split_once('/').is_some_and(|(o, _)| o == s));
    let repos: std::collections::BTreeSet<&str> = c
        .jobs
        .presubmits
        .keys()
        .chain(c.jobs.postsubmits.keys())
        .map(String::as_str)
        .filter(|r| in_scope(r))
        .collect();
    let irc = &c.prow.in_repo_config;
    let in_repo_somewhere = irc.enabled.values().any(|on| *on);
    html! {
        h2 { "Jobs by repository" }
        @if in_repo_somewhere && chosen.is_none_or(|s| !s.contains('/') || irc.enabled_for(s)) {
            p #in-repo {
                "In-repo config is enabled"
                @if let Some(s) = chosen { " for " (s) } @else { " for " (irc.enabled.iter().filter(|(_, on)| **on).map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")) }
                ": a repository may add presubmits and postsubmits in its own " code { ".prow.yaml" } " (or " code { ".prow/" } "). "
                "Those are read from each pull request's commits, so they cannot be listed without a pull request: comment "
                code { "/test ?" } " on one to see its jobs, or run " code { "skiff plan --prow-yaml" } " on a checkout."
            }
        }
        @if repos.is_empty() { p { "No presubmits or postsubmits are configured" @if let Some(s) = chosen { " for " (s) } "." } }
        @for repo in &repos {
            section aria-labelledby={"r-" (repo)} {
                h3 id={"r-" (repo)} { (repo) }
                @let (org, name) = repo.split_once('/').unwrap_or((repo, ""));
                @if !c.plugins.plugins.is_empty() && !c.plugins.enabled(org, name, "trigger") {
                    p.muted { "The trigger plugin is not enabled here: comments start nothing." }
                }
                @if let Some(pres) = c.jobs.presubmits.get(*repo).filter(|p| !p.is_empty()) {
                    div.scroll { table {
                        caption { "Presubmits" }
                        thead { tr { th scope="col" { "Job" } th scope="col" { "Command" } th scope="col" { "Runs" } th scope="col" { "Required" } th scope="col" { "Branches" } } }
                        tbody {
                            @for p in pres {
                                tr {
                                    td { a href=(links::history_by_name(&p.base.name, true)) { (p.base.name) } }
                                    td { code { (if p.fields.rerun_command.is_empty() { format!("/test {}", p.base.name) } else { p.fields.rerun_command.clone() }) } }
                                    td { (trigger_class(p)) }
                                    td { (if p.context_required() { "yes" } else { "no" }) }
                                    td { (branches(&p.brancher)) }
                                }
                            }
                        }
                    } }
                }
                @if let Some(posts) = c.jobs.postsubmits.get(*repo).filter(|p| !p.is_empty()) {
                    div.scroll { table {
                        caption { "Postsubmits (run on push)" }
                        thead { tr { th scope="col" { "Job" } th scope="col" { "Branches" } th scope="col" { "Files" } } }
                        tbody {
                            @for p in posts {
                                tr {
                                    td { a href=(links::history_by_name(&p.base.name, false)) { (p.base.name) } }
                                    td { (branches(&p.brancher)) }
                                    td { @if p.changes.run_if_changed.is_empty() { "any" } @else { code { (p.changes.run_if_changed) } } }
                                }
                            }
                        }
                    } }
                }
            }
        }
        h2 { "Periodics" }
        @if chosen.is_some() { p.muted { "Periodics belong to no repository: all are listed." } }
        @if c.jobs.periodics.is_empty() { p { "None." } } @else {
            div.scroll { table #periodics {
                thead { tr { th scope="col" { "Job" } th scope="col" { "Schedule" } th scope="col" { "Cluster" } } }
                tbody {
                    @for p in &c.jobs.periodics {
                        tr {
                            td { a href=(links::history_by_name(&p.base.name, false)) { (p.base.name) } }
                            td {
                                @if !p.fields.cron.is_empty() { "cron " code { (p.fields.cron) } " (UTC)" }
                                @else if !p.fields.interval.is_empty() { "every " (p.fields.interval) }
                                @else { "at least " (p.fields.minimum_interval) " after the last run ends" }
                            }
                            td { (if p.base.cluster.is_empty() { "default" } else { &p.base.cluster }) }
                        }
                    }
                }
            } }
        }
    }
}
