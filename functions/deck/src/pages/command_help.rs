//! `/command-help`: the trigger plugin's chat-ops commands, and each
//! repo's presubmits, postsubmits and the periodics from the config.

use maud::{Markup, html};
use skiff_core::config::Config;

use super::{Ctx, layout};
use crate::links;

/// The trigger plugin's commands, in Prow's words.
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "/test <job>[, <job>…]",
        "anyone on a trusted PR; a trusted member otherwise",
        "Runs the named presubmits, even those whose files did not change (branch filters still apply).",
    ),
    (
        "/test all",
        "as /test",
        "Runs every job that would run automatically on this PR.",
    ),
    (
        "/test ?",
        "anyone",
        "Lists the jobs of this PR and their commands.",
    ),
    (
        "/retest",
        "as /test",
        "Reruns the failed jobs of the head commit (pending ones are left alone).",
    ),
    (
        "/retest-required",
        "as /test",
        "As /retest, for required jobs only.",
    ),
    (
        "/test-manual-required",
        "as /test",
        "Runs the required jobs that only run when asked for.",
    ),
    (
        "/ok-to-test",
        "a trusted member",
        "Marks a PR from an untrusted author as safe to test (label ok-to-test) and runs its jobs.",
    ),
    (
        "/ok-to-test cancel",
        "a trusted member",
        "Takes that back (label needs-ok-to-test).",
    ),
];

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

pub fn help_page(ctx: &Ctx, config: Option<&Config>) -> Markup {
    let body = html! {
        h1 { "Command help" }
        p { "Comment these on a pull request, each on a line of its own." }
        div.scroll {
            table #commands {
                thead { tr { th scope="col" { "Command" } th scope="col" { "Who" } th scope="col" { "What it does" } } }
                tbody {
                    @for (cmd, who, what) in COMMANDS {
                        tr { td { code { (cmd) } } td { (who) } td { (what) } }
                    }
                }
            }
        }
        @match config {
            None => p.err { "The configuration could not be loaded, so the jobs are not listed." },
            Some(c) => (jobs_by_repo(c)),
        }
    };
    layout(ctx, "Command help", body)
}

fn jobs_by_repo(c: &Config) -> Markup {
    let repos: std::collections::BTreeSet<&str> = c
        .jobs
        .presubmits
        .keys()
        .chain(c.jobs.postsubmits.keys())
        .map(String::as_str)
        .collect();
    html! {
        h2 { "Jobs by repository" }
        @if repos.is_empty() { p { "No presubmits or postsubmits are configured." } }
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
