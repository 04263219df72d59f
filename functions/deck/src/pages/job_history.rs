//! A job's runs (`/job-history/…/{job}`): pass/fail counts and streaks, a
//! strip of the last hundred, and every run grouped by streak.

use maud::{Markup, html};
use skiff_core::ports::JobQuery;
use skiff_core::prowjob::{ProwJob, ProwJobState};

use super::{Ctx, layout, revision, run_time, state_str, time};
use crate::{Deps, Reply, ctx, error, filter, links, unavailable, visible};

pub async fn history(name: &str, deps: &Deps<'_>) -> Reply {
    if let Err(e) = filter::job_pattern("job", name)
        && !name.is_empty()
    {
        return error(deps, 400, "Bad request", &e.to_string());
    }
    let runs = match deps
        .store
        .list(
            &JobQuery::Job {
                name: name.to_string(),
            },
            Some(deps.options.max_jobs),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return unavailable(deps, &e),
    };
    let runs: Vec<ProwJob> = runs
        .into_iter()
        .filter(|j| visible(j, deps.config))
        .collect();
    let running = runs.iter().any(|j| j.status.completion_time.is_none());
    Reply::html(200, history_page(&ctx(deps, running), name, &runs))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
}

pub fn outcome(job: &ProwJob) -> Option<Outcome> {
    match job.status.state? {
        ProwJobState::Success => Some(Outcome::Pass),
        ProwJobState::Failure | ProwJobState::Error => Some(Outcome::Fail),
        _ => None,
    }
}

/// Consecutive runs with the same outcome (newest first). Runs without an
/// outcome (running, aborted) stay in the streak they fall in without
/// counting; those before any outcome form a streak of their own.
#[derive(Debug)]
pub struct Streak<'a> {
    pub outcome: Option<Outcome>,
    pub count: usize,
    pub runs: Vec<&'a ProwJob>,
}

pub fn streaks(runs: &[ProwJob]) -> Vec<Streak<'_>> {
    let mut out: Vec<Streak<'_>> = Vec::new();
    for j in runs {
        let o = outcome(j);
        match (out.last_mut(), o) {
            (Some(s), None) => s.runs.push(j),
            (Some(s), Some(o)) if s.outcome == Some(o) => {
                s.count += 1;
                s.runs.push(j);
            }
            (Some(s), Some(o)) if s.outcome.is_none() => {
                s.outcome = Some(o);
                s.count = 1;
                s.runs.push(j);
            }
            _ => out.push(Streak {
                outcome: o,
                count: usize::from(o.is_some()),
                runs: vec![j],
            }),
        }
    }
    out
}

fn streak_label(s: &Streak<'_>) -> String {
    match s.outcome {
        Some(Outcome::Pass) => format!("Passed {} in a row", s.count),
        Some(Outcome::Fail) => format!("Failed {} in a row", s.count),
        None => "Running or aborted".to_string(),
    }
}

pub fn history_page(ctx: &Ctx, name: &str, runs: &[ProwJob]) -> Markup {
    let all = streaks(runs);
    let passed = runs
        .iter()
        .filter(|j| outcome(j) == Some(Outcome::Pass))
        .count();
    let failed = runs
        .iter()
        .filter(|j| outcome(j) == Some(Outcome::Fail))
        .count();
    let longest = |o: Outcome| {
        all.iter()
            .filter(|s| s.outcome == Some(o))
            .map(|s| s.count)
            .max()
            .unwrap_or(0)
    };
    let current = all.iter().find(|s| s.outcome.is_some());
    let title = format!("History of {name}");
    let body = html! {
        h1 { (title) }
        @if runs.is_empty() {
            p { "No runs of " code { (name) } " are stored." }
        } @else {
            dl.kv #stats {
                dt { "Runs" } dd { (runs.len()) }
                dt { "Passed" } dd { (passed) }
                dt { "Failed" } dd { (failed) }
                @if passed + failed > 0 {
                    dt { "Pass rate" } dd { (passed * 100 / (passed + failed)) "%" }
                }
                @if let Some(c) = current {
                    dt { "Current streak" } dd #current-streak { (streak_label(c)) }
                }
                dt { "Longest passing streak" } dd { (longest(Outcome::Pass)) }
                dt { "Longest failing streak" } dd { (longest(Outcome::Fail)) }
            }
            h2 { "Last runs, oldest to newest" }
            div.strip {
                @for j in runs.iter().take(100).rev() {
                    a href=(links::job(j)) class=(state_str(j)) title={"#" (j.status.build_id) ": " (state_str(j))} aria-label={"Build " (j.status.build_id) ": " (state_str(j))} {}
                }
            }
            h2 { "Runs, newest first" }
            div.scroll {
                table #runs {
                    thead { tr {
                        th scope="col" { "State" }
                        th scope="col" { "Build" }
                        th scope="col" { "Revision" }
                        th scope="col" { "Started" }
                        th scope="col" { "Duration" }
                    } }
                    @for s in &all {
                        tbody.streak {
                            tr { th colspan="5" scope="rowgroup" { (streak_label(s)) } }
                            @for j in &s.runs {
                                tr class=(state_str(j)) {
                                    td { (state_str(j)) }
                                    td { a href=(links::job(j)) { @if j.status.build_id.is_empty() { (j.metadata.name) } @else { (j.status.build_id) } } }
                                    td { (revision(j)) }
                                    td { @if let Some(t) = j.status.start_time { (time(t)) } }
                                    td { @if let Some(d) = run_time(j, ctx.now) { (d) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(ctx, &title, body)
}
