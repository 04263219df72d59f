//! `/plugins` (Prow's plugin catalog) and `/plugin-help`: every plugin a
//! repo enables, what it does, how it is set up here, and its commands.
//! Both read the help the plugins declare (`skiff_core::plugins::pluginhelp`),
//! as `/command-help` does, so the three never disagree.
//!
//! `?repo=org/repo` (or `?repo=org`, what the org entry enables) narrows a
//! page to one scope; the approve plugin's notifier links here that way.

use maud::{Markup, html};
use skiff_core::config::Config;
use skiff_core::plugins::{PluginHelp, RepoHelp, pluginhelp};

use super::{Ctx, layout};
use crate::{DeckRequest, Deps, JSON, Reply, SCRIPT, ctx, error};

/// The scope a page is narrowed to, from `?repo=`: `Ok(None)` for every
/// repository, an error page for a value that cannot name one.
pub(super) fn chosen_scope(req: &DeckRequest, deps: &Deps<'_>) -> Result<Option<String>, Reply> {
    let pairs = req.pairs();
    let Some(v) = pairs
        .iter()
        .find(|(k, _)| k == "repo")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let parts: Vec<&str> = v.split('/').collect();
    let ok = matches!(parts.as_slice(), [o] | [o, _] if !o.is_empty())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if ok {
        Ok(Some(v.to_string()))
    } else {
        Err(error(
            deps,
            400,
            "Bad request",
            &format!("repo={v:?}: expected org/repo or org"),
        ))
    }
}

/// The form that picks the scope: a plain GET, so it works without
/// JavaScript.
pub(super) fn scope_form(action: &str, scopes: &[String], chosen: Option<&str>) -> Markup {
    let listed = chosen.is_none_or(|c| scopes.iter().any(|s| s == c));
    html! {
        form.filters method="get" action=(action) role="search" aria-label="Pick a repository" {
            label for="f-repo" { "Repository"
                select #f-repo name="repo" {
                    option value="" { "All repositories" }
                    @if !listed {
                        @if let Some(c) = chosen { option value=(c) selected { (c) } }
                    }
                    @for s in scopes {
                        option value=(s) selected[chosen == Some(s.as_str())] {
                            (s) @if !s.contains('/') { " (org)" }
                        }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

/// Every plugin enabled anywhere, each with the scopes that enable it (its
/// help is the first such scope's: it does not vary by repo), in the
/// registry's order. With no plugins.yaml, trigger alone, everywhere.
pub(super) fn everywhere(config: &Config) -> Vec<(PluginHelp, Vec<String>)> {
    let all: Vec<RepoHelp> = pluginhelp::scopes(config)
        .iter()
        .map(|s| pluginhelp::scope_help(config, s))
        .collect();
    let mut out: Vec<(PluginHelp, Vec<String>)> = Vec::new();
    for spec in skiff_core::plugins::PLUGINS {
        let mut found: Option<PluginHelp> = None;
        let mut scopes = Vec::new();
        for rh in &all {
            if let Some(h) = rh.plugins.iter().find(|h| h.name == spec.name) {
                found.get_or_insert_with(|| h.clone());
                scopes.push(rh.repo.clone());
            }
        }
        if spec.name == "trigger" && config.plugins.plugins.is_empty() {
            found = Some(pluginhelp::trigger_help(config, "", ""));
            scopes = vec!["every repository (no plugins.yaml)".into()];
        }
        if let Some(h) = found {
            out.push((h, scopes));
        }
    }
    out
}

fn commands_table(h: &PluginHelp) -> Markup {
    html! {
        @if !h.commands.is_empty() {
            div.scroll { table.commands {
                caption { "Commands" }
                thead { tr { th scope="col" { "Command" } th scope="col" { "What it does" } th scope="col" { "Who can use it" } th scope="col" { "Examples" } } }
                tbody {
                    @for c in &h.commands {
                        tr {
                            td { code { (c.usage) } }
                            td { (c.description) }
                            td { (c.who_can_use) }
                            td { @for (i, e) in c.examples.iter().enumerate() { @if i > 0 { br; } code { (e) } } }
                        }
                    }
                }
            } }
        }
    }
}

fn plugin_section(h: &PluginHelp, scopes: Option<&[String]>) -> Markup {
    html! {
        section.plugin id={"plugin-" (h.name)} aria-labelledby={"h-" (h.name)} {
            h2 id={"h-" (h.name)} { (h.name) }
            p { (h.description) }
            @if let Some(s) = scopes {
                p { "Enabled for: " (s.join(", ")) }
            }
            @if !h.config.is_empty() {
                ul.config { @for line in &h.config { li { (line) } } }
            }
            p.muted { "Acts on: " (h.events.join(", ")) }
            (commands_table(h))
        }
    }
}

pub fn plugins(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let chosen = match chosen_scope(req, deps) {
        Ok(c) => c,
        Err(r) => return r,
    };
    Reply::html(
        200,
        plugins_page(&ctx(deps, false), deps.config, chosen.as_deref()),
    )
}

fn plugins_page(ctx: &Ctx, config: Option<&Config>, chosen: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Plugins" }
        p { "The plugins plugins.yaml enables, what each does, how it is set up and its commands." }
        @match config {
            None => p.err { "The configuration could not be loaded, so the plugins are not listed." },
            Some(c) => {
                (scope_form("/plugins", &pluginhelp::scopes(c), chosen))
                @match chosen {
                    Some(scope) => (one_scope(&pluginhelp::scope_help(c, scope))),
                    None => (all_scopes(c)),
                }
            }
        }
    };
    layout(ctx, "Plugins", body)
}

fn one_scope(rh: &RepoHelp) -> Markup {
    html! {
        p.muted #scope { "Plugins enabled for " strong { (rh.repo) } "." }
        @if rh.plugins.is_empty() { p { "No plugin Skiff runs is enabled here." } }
        @for h in &rh.plugins { (plugin_section(h, None)) }
        (external(&rh.external))
        (not_run(&rh.not_run))
    }
}

fn all_scopes(c: &Config) -> Markup {
    let all = everywhere(c);
    let mut ext: Vec<skiff_core::config::plugins::ExternalPlugin> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for s in pluginhelp::scopes(c) {
        let rh = pluginhelp::scope_help(c, &s);
        for e in rh.external {
            if !ext.iter().any(|x| x.name == e.name) {
                ext.push(e);
            }
        }
        for n in rh.not_run {
            if !skipped.contains(&n) {
                skipped.push(n);
            }
        }
    }
    html! {
        @if all.is_empty() { p { "No plugin Skiff runs is enabled anywhere." } }
        @for (h, scopes) in &all { (plugin_section(h, Some(scopes))) }
        (external(&ext))
        (not_run(&skipped))
    }
}

fn external(ext: &[skiff_core::config::plugins::ExternalPlugin]) -> Markup {
    html! {
        @if !ext.is_empty() {
            section #external aria-labelledby="h-external" {
                h2 #h-external { "External plugins" }
                p { "Skiff forwards these events to each endpoint unchanged, with GitHub's own headers and signature, as Prow's hook does. Their own help (Prow asks " code { "<endpoint>/help" } ") is not fetched." }
                div.scroll { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Endpoint" } th scope="col" { "Events" } } }
                    tbody {
                        @for e in ext {
                            tr {
                                td { (e.name) }
                                td { code { (e.endpoint()) } }
                                td { (if e.events.is_empty() { "all".to_string() } else { e.events.join(", ") }) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn not_run(names: &[String]) -> Markup {
    html! {
        @if !names.is_empty() {
            section #not-run aria-labelledby="h-not-run" {
                h2 #h-not-run { "Enabled, but not run by Skiff" }
                p { "plugins.yaml enables these; Skiff accepts them and they do nothing: " (names.join(", ")) "." }
            }
        }
    }
}

/// `/plugin-help` and `/plugin-help.js`: Prow's `pluginhelp.Help` as JSON.
/// Prow's hook serves it at `/plugin-help`; Prow's deck serves it at
/// `/plugin-help.js` (`?var=NAME` makes it a script) and redirects
/// `/plugin-help` to `/command-help`. Skiff has one front for both: a
/// browser asking `/plugin-help` for a page (`Accept: text/html`) is
/// redirected as by Prow's deck, anything else gets hook's JSON.
pub fn plugin_help(req: &DeckRequest, deps: &Deps<'_>, script: bool) -> Reply {
    if !script
        && req
            .header("accept")
            .is_some_and(|a| a.contains("text/html"))
    {
        let mut r = Reply::new(301, crate::TEXT, "moved to /command-help\n");
        r.location = Some("/command-help".into());
        r.headers.push(("vary", "Accept".into()));
        return r;
    }
    let Some(config) = deps.config else {
        return Reply::new(
            503,
            JSON,
            "{\"error\":\"the configuration could not be loaded\"}",
        );
    };
    let json = serde_json::to_string(&pluginhelp::help(config)).unwrap_or_else(|_| "{}".into());
    let var = req
        .pairs()
        .into_iter()
        .find(|(k, _)| k == "var")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty());
    let mut r = match var {
        Some(name) if script && crate::prowjobs::is_js_identifier(&name) => {
            Reply::new(200, SCRIPT, format!("var {name} = {json};"))
        }
        Some(name) if script => {
            return error(
                deps,
                400,
                "Bad request",
                &format!("var={name:?}: expected a JavaScript identifier"),
            );
        }
        _ => Reply::new(200, JSON, json),
    };
    if !script {
        r.headers.push(("vary", "Accept".into()));
    }
    r
}
