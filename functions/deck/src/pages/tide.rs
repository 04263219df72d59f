//! `/tide` and `/tide-history` (Prow's deck views of tide), and their data
//! as `/tide.js` and `/tide-history.js`: each pool as tide last synced it —
//! its base, which pulls are mergeable, pending or missing and why the others
//! are out (the `tide` status each shows), the batch in flight and the last
//! action — and every merge and run tide started, newest first. Read from
//! the values the tide function keeps in the job store
//! (`skiff_core::tide::record`).

use std::collections::BTreeMap;

use maud::{Markup, html};
use skiff_core::config::tide::TideQuery;
use skiff_core::tide::record::{HistoryEntry, POOLS_KEY, PoolRecord, history_key, pool_key};

use super::{layout, time};
use crate::{Deps, JSON, Reply, ctx, unavailable};

/// Every pool tide has synced, by name.
async fn pools(deps: &Deps<'_>) -> Result<Vec<PoolRecord>, skiff_core::ports::PortError> {
    let names: Vec<String> = match deps.store.get_value(POOLS_KEY).await? {
        Some(v) => serde_json::from_str(&v).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for name in names {
        let Some((repo, branch)) = name.split_once(':') else {
            continue;
        };
        let Some((org, repo)) = repo.split_once('/') else {
            continue;
        };
        if let Some(v) = deps.store.get_value(&pool_key(org, repo, branch)).await?
            && let Ok(p) = serde_json::from_str::<PoolRecord>(&v)
        {
            out.push(p);
        }
    }
    Ok(out)
}

async fn history(
    deps: &Deps<'_>,
    pools: &[PoolRecord],
) -> Result<BTreeMap<String, Vec<HistoryEntry>>, skiff_core::ports::PortError> {
    let mut out = BTreeMap::new();
    for p in pools {
        if let Some(v) = deps
            .store
            .get_value(&history_key(&p.org, &p.repo, &p.branch))
            .await?
        {
            out.insert(p.name(), serde_json::from_str(&v).unwrap_or_default());
        }
    }
    Ok(out)
}

fn queries(deps: &Deps<'_>) -> Vec<TideQuery> {
    deps.config
        .map(|c| c.prow.tide.queries.clone())
        .unwrap_or_default()
}

/// `/tide` or `/tide.js`.
pub async fn tide(deps: &Deps<'_>, json: bool) -> Reply {
    let pools = match pools(deps).await {
        Ok(p) => p,
        Err(e) => return unavailable(deps, &e),
    };
    if json {
        let body = serde_json::json!({ "Queries": queries(deps), "Pools": pools });
        return Reply::new(200, JSON, body.to_string());
    }
    let body = html! {
        h1 { "Tide" }
        p { "Merge pools as tide last synced them: one per repository and branch. A pull merges when its required jobs passed against the pool's current base." }
        @if pools.is_empty() { p { "Tide has not synced a pool yet." } }
        @for p in &pools { (pool_section(p)) }
    };
    Reply::html(200, layout(&ctx(deps, true), "Tide", body))
}

fn pool_section(p: &PoolRecord) -> Markup {
    let id = format!("pool-{}-{}-{}", p.org, p.repo, p.branch);
    html! {
        section id=(id) aria-label=(p.name()) {
            h2 { (p.name()) }
            p.muted {
                "Base " code { (p.base_sha) }
                @if let Some(at) = p.synced_at { " · synced " (time(at)) }
                " · last action " strong { (p.action) }
                @if !p.target.is_empty() { " on " (numbers(&p.target)) }
            }
            @if !p.blockers.is_empty() {
                p.err { "Merging is blocked by "
                    @for (i, b) in p.blockers.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(b.url) { "issue #" (b.number) } " (" (b.title) ")"
                    }
                }
            }
            @if !p.batch_pending.is_empty() { p { "Batch in flight: " (numbers(&p.batch_pending)) } }
            @if !p.error.is_empty() { p.err { (p.error) } }
            div.scroll { table {
                thead { tr { th scope="col" { "Pull" } th scope="col" { "Standing" } th scope="col" { "Why (the tide status)" } th scope="col" { "Head" } } }
                tbody {
                    @for (standing, pull) in p.pulls() {
                        tr {
                            td { a href=(format!("https://github.com/{}/{}/pull/{}", p.org, p.repo, pull.number)) { "#" (pull.number) } " " (pull.title) }
                            td { (standing) }
                            td { (pull.description) }
                            td { code { (pull.head_sha.chars().take(7).collect::<String>()) } }
                        }
                    }
                }
            } }
        }
    }
}

fn numbers(n: &[i64]) -> String {
    n.iter()
        .map(|n| format!("#{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/tide-history` or `/tide-history.js`.
pub async fn tide_history(deps: &Deps<'_>, json: bool) -> Reply {
    let all = match pools(deps).await {
        Ok(p) => p,
        Err(e) => return unavailable(deps, &e),
    };
    let history = match history(deps, &all).await {
        Ok(h) => h,
        Err(e) => return unavailable(deps, &e),
    };
    if json {
        let body = serde_json::json!({ "History": history });
        return Reply::new(200, JSON, body.to_string());
    }
    let body = html! {
        h1 { "Tide history" }
        p { "Every merge and run tide started, per pool, newest first." }
        @if history.is_empty() { p { "Tide has not acted yet." } }
        @for (pool, entries) in &history {
            section aria-label=(pool) {
                h2 { (pool) }
                div.scroll { table {
                    thead { tr { th scope="col" { "Time" } th scope="col" { "Action" } th scope="col" { "Pulls" } th scope="col" { "Merged" } th scope="col" { "Base" } th scope="col" { "Error" } } }
                    tbody {
                        @for e in entries {
                            tr {
                                td { @if let Some(t) = e.time { (time(t)) } }
                                td { (e.action) }
                                td { (numbers(&e.target)) }
                                td { (numbers(&e.merged)) }
                                td { code { (e.base_sha.chars().take(7).collect::<String>()) } }
                                td { (e.err) }
                            }
                        }
                    }
                } }
            }
        }
    };
    Reply::html(200, layout(&ctx(deps, true), "Tide history", body))
}

/// Why pull `number` of `org/repo` is or is not merging, for its PR page:
/// the pool it is in and its `tide` status, if tide knows it.
pub async fn pull_standing(
    deps: &Deps<'_>,
    org: &str,
    repo: &str,
    number: i64,
) -> Option<(String, String, String)> {
    let pools = pools(deps).await.ok()?;
    pools
        .iter()
        .filter(|p| p.org == org && p.repo == repo)
        .find_map(|p| {
            p.pulls()
                .find(|(_, pull)| pull.number == number)
                .map(|(standing, pull)| (p.name(), standing.to_string(), pull.description.clone()))
        })
}
