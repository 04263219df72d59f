//! The HTML pages, server-rendered with maud (compile-time templates that
//! escape every value they insert). One stylesheet, no JavaScript but the
//! optional auto-refresh; landmarks, labels and a skip link for keyboard and
//! screen-reader users; tables scroll sideways on a phone.

use std::collections::BTreeMap;

use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use skiff_core::config::Config;
use skiff_core::prowjob::{ProwJob, ProwJobState, ProwJobType, Pull, Refs};

use crate::filter::{self, ListFilter, STATES, TYPES};
use crate::log::LogView;
use crate::{assets, links};

/// What every page needs besides its data.
pub struct Ctx {
    pub now: Timestamp,
    /// The page reloads itself (when the visitor leaves auto-refresh on).
    pub refresh: bool,
}

pub fn layout(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Skiff" }
                link rel="stylesheet" href=(assets::css_path());
                link rel="icon" href="data:,";
                @if ctx.refresh {
                    script src=(assets::js_path()) defer {}
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/" { "Skiff" }
                    nav aria-label="Site" {
                        a href="/" { "Jobs" }
                        a href="/command-help" { "Command help" }
                    }
                    @if ctx.refresh {
                        label #refresh hidden {
                            input type="checkbox";
                            " Auto-refresh"
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Small pieces

/// `2026-11-23 10:00:00` (UTC).
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `11-23 10:00:00` (UTC): the list's compact form.
fn short_time(t: Timestamp) -> String {
    t.strftime("%m-%d %H:%M:%S").to_string()
}

/// `45s`, `5m3s`, `2h7m`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Run time: start to completion, or to now while it runs.
pub fn run_time(job: &ProwJob, now: Timestamp) -> Option<String> {
    let start = job.status.start_time?;
    let end = job.status.completion_time.unwrap_or(now);
    Some(duration(end.as_second() - start.as_second()))
}

pub fn state_str(job: &ProwJob) -> &'static str {
    job.status.state.map_or("unknown", |s| s.as_str())
}

fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn first_pull(job: &ProwJob) -> Option<(&Refs, &Pull)> {
    let r = job.spec.refs.as_ref()?;
    Some((r, r.pulls.first()?))
}

/// The commit link of a pull: its own, else the repo's commit page.
fn pull_commit_link(r: &Refs, p: &Pull) -> Option<String> {
    if !p.commit_link.is_empty() {
        Some(p.commit_link.clone())
    } else if !r.repo_link.is_empty() && !p.sha.is_empty() {
        Some(format!("{}/commit/{}", r.repo_link, p.sha))
    } else {
        None
    }
}

fn base_commit_link(r: &Refs) -> Option<String> {
    if !r.repo_link.is_empty() && !r.base_sha.is_empty() {
        Some(format!("{}/commit/{}", r.repo_link, r.base_sha))
    } else if !r.base_link.is_empty() {
        Some(r.base_link.clone())
    } else {
        None
    }
}

fn maybe_link(href: Option<String>, text: &str) -> Markup {
    html! {
        @match href {
            Some(h) => a href=(h) { (text) },
            None => (text),
        }
    }
}

/// The revision cell: `#42 (9f8e7d1) by alice` for a pull, `main 0a1b2c3`
/// for a push, nothing for a periodic without refs.
fn revision(job: &ProwJob) -> Markup {
    let Some(r) = filter::main_refs(job) else {
        return html! {};
    };
    html! {
        @if r.pulls.is_empty() {
            (r.base_ref)
            @if !r.base_sha.is_empty() {
                " " (maybe_link(base_commit_link(r), short_sha(&r.base_sha)))
            }
        } @else {
            @for (i, p) in r.pulls.iter().enumerate() {
                @if i > 0 { ", " }
                (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("#{}", p.number)))
                @if !p.sha.is_empty() {
                    " (" (maybe_link(pull_commit_link(r, p), short_sha(&p.sha))) ")"
                }
                @if !p.author.is_empty() { " by " (p.author) }
            }
        }
    }
}

fn state_badge(job: &ProwJob) -> Markup {
    let s = state_str(job);
    html! { span class={"badge st " (s)} { (s) } }
}

// ---------------------------------------------------------------------------
// The job list

pub struct ListData<'a> {
    pub filter: &'a ListFilter,
    /// The jobs of this page.
    pub rows: &'a [&'a ProwJob],
    /// How many jobs match the filter.
    pub matching: usize,
    /// How many records were read (the store's newest `max_jobs`).
    pub loaded: usize,
    pub max_jobs: usize,
    /// Jobs per state among those the other filters select.
    pub counts: BTreeMap<ProwJobState, usize>,
    pub repos: Vec<String>,
    pub clusters: Vec<String>,
}

fn filter_form(f: &ListFilter, repos: &[String], clusters: &[String]) -> Markup {
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/" role="search" aria-label="Filter jobs" {
            label for="f-repo" { "Repository"
                input #f-repo name="repo" list="repos" placeholder="org/repo" value=(val(&f.repo)) autocomplete="off";
            }
            datalist #repos { @for r in repos { option value=(r) {} } }
            label for="f-job" { "Job (* and ? match any)"
                input #f-job name="job" placeholder="pull-*" value=(f.job.as_ref().map(|g| g.as_string()).unwrap_or_default()) autocomplete="off";
            }
            label for="f-type" { "Type"
                select #f-type name="type" {
                    option value="" { "any" }
                    @for t in TYPES {
                        option value=(t.as_str()) selected[f.r#type == Some(t)] { (t.as_str()) }
                    }
                }
            }
            label for="f-state" { "State"
                select #f-state name="state" {
                    option value="" { "any" }
                    @for s in STATES {
                        option value=(s.as_str()) selected[f.state == Some(s)] { (s.as_str()) }
                    }
                }
            }
            label for="f-author" { "Author"
                input #f-author name="author" value=(val(&f.author)) autocomplete="off";
            }
            label for="f-pull" { "Pull request"
                input #f-pull name="pull" inputmode="numeric" pattern="[0-9]*" size="6" value=(f.pull.map(|n| n.to_string()).unwrap_or_default());
            }
            label for="f-cluster" { "Cluster"
                input #f-cluster name="cluster" list="clusters" size="10" value=(val(&f.cluster)) autocomplete="off";
            }
            datalist #clusters { @for c in clusters { option value=(c) {} } }
            button type="submit" { "Filter" }
            @if !f.is_empty() { a href="/" { "Clear" } }
        }
    }
}

pub fn list_page(ctx: &Ctx, d: &ListData<'_>) -> Markup {
    let f = d.filter;
    let first = (f.page - 1) * f.limit + 1;
    let last = first + d.rows.len().saturating_sub(1);
    let pages = d.matching.div_ceil(f.limit).max(1);
    let body = html! {
        h1 { "Jobs" }
        (filter_form(f, &d.repos, &d.clusters))
        p.counts {
            @for (state, n) in &d.counts {
                a href={"/?" (f.query_with_state(*state))} class={"st " (state.as_str())} { (state.as_str()) " " (n) }
            }
        }
        @if d.loaded >= d.max_jobs {
            p.muted { "Only the newest " (d.max_jobs) " job records are searched." }
        }
        @if d.rows.is_empty() {
            p #summary { "No jobs match." }
        } @else {
            p #summary { "Showing " (first) "–" (last) " of " (d.matching) " jobs, newest first." }
            div.scroll {
                table #jobs {
                    caption.muted { "Jobs; times are UTC" }
                    thead { tr {
                        th scope="col" { "State" }
                        th scope="col" { "Job" }
                        th scope="col" { "Repository" }
                        th scope="col" { "Revision" }
                        th scope="col" { "Started" }
                        th scope="col" { "Duration" }
                        th scope="col" { "Log" }
                    } }
                    tbody {
                        @for j in d.rows { (row(ctx, j)) }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if f.page > 1 { a href={"/?" (f.query_with_page(f.page - 1))} rel="prev" { "← Newer" } }
                span { "Page " (f.page) " of " (pages) }
                @if f.page < pages { " " a href={"/?" (f.query_with_page(f.page + 1))} rel="next" { "Older →" } }
            }
        }
    };
    layout(ctx, "Jobs", body)
}

fn row(ctx: &Ctx, j: &ProwJob) -> Markup {
    let state = state_str(j);
    html! {
        tr class=(state) {
            td { (state) }
            td { a href=(links::job(j)) { (j.spec.job) } }
            td { @if let Some(r) = filter::main_refs(j) { (r.org_repo()) } }
            td { (revision(j)) }
            td { @if let Some(t) = j.status.start_time { (short_time(t)) } }
            td { @if let Some(d) = run_time(j, ctx.now) { (d) } }
            td { @if !j.status.build_id.is_empty() { a href=(links::raw_log(j)) { "log" } } }
        }
    }
}

// ---------------------------------------------------------------------------
// The job page

/// `started.json` / `finished.json`: the stored document, or the one the
/// record implies while none is stored.
pub struct Metadata {
    pub name: &'static str,
    pub json: String,
    pub stored: bool,
}

pub enum LogSection {
    /// The log, with the raw log's size.
    Log {
        view: LogView,
        bytes: usize,
    },
    /// Still running: the pod's log so far.
    Live {
        view: LogView,
    },
    None(String),
}

fn refs_block(r: &Refs, extra: bool) -> Markup {
    html! {
        dl.kv {
            dt { "Repository" }
            dd {
                (maybe_link((!r.repo_link.is_empty()).then(|| r.repo_link.clone()), &r.org_repo()))
                @if extra { " " span.muted { "(extra ref)" } }
            }
            @if !r.base_ref.is_empty() {
                dt { "Base" }
                dd {
                    (r.base_ref)
                    @if !r.base_sha.is_empty() { " at " (maybe_link(base_commit_link(r), short_sha(&r.base_sha))) }
                }
            }
            @for p in &r.pulls {
                dt { "Pull request" }
                dd {
                    (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("#{}", p.number)))
                    @if !p.title.is_empty() { " " (p.title) }
                    @if !p.author.is_empty() {
                        " by " (maybe_link((!p.author_link.is_empty()).then(|| p.author_link.clone()), &p.author))
                    }
                    @if !p.sha.is_empty() { " at " (maybe_link(pull_commit_link(r, p), short_sha(&p.sha))) }
                    " · " a href=(links::pr(&r.org, &r.repo, p.number)) { "all runs of this PR" }
                }
            }
            @if !r.path_alias.is_empty() { dt { "Path alias" } dd { code { (r.path_alias) } } }
        }
    }
}

fn rerun(job: &ProwJob) -> Markup {
    let pr = first_pull(job);
    html! {
        @match (job.spec.r#type, pr) {
            (Some(ProwJobType::Presubmit), Some((r, p))) => {
                p {
                    "Comment on "
                    (maybe_link((!p.link.is_empty()).then(|| p.link.clone()), &format!("{}#{}", r.org_repo(), p.number)))
                    ":"
                }
                pre { code { (if job.spec.rerun_command.is_empty() { format!("/test {}", job.spec.job) } else { job.spec.rerun_command.clone() }) } }
                p.muted { code { "/retest" } " reruns every failed job of the PR's head commit." }
            }
            (Some(ProwJobType::Periodic), _) => {
                p { "A periodic runs again on its schedule; " a href=(links::history(job)) { "its history" } " shows every run." }
            }
            (Some(ProwJobType::Postsubmit), _) => {
                p { "A postsubmit runs again on the next push to its branch." }
            }
            _ => { p.muted { "No chat-ops command reruns this job." } }
        }
    }
}

fn log_lines(view: &LogView) -> Markup {
    html! {
        @if view.skipped_bytes > 0 {
            p.muted { "The first " (view.skipped_bytes) " bytes are not shown; the raw log has everything." }
        }
        @if !view.highlighted.is_empty() {
            p {
                (view.highlighted.len()) " highlighted line" @if view.highlighted.len() != 1 { "s" } ": "
                @for (i, n) in view.highlighted.iter().take(20).enumerate() {
                    @if i > 0 { ", " }
                    a href={"#L" (n)} { (n) }
                }
                @if view.highlighted.len() > 20 { ", …" }
            }
        }
        div.log role="log" aria-label="Build log" {
            @for g in &view.groups {
                @if g.folded {
                    details {
                        summary { (g.lines.len()) " lines (" (g.lines[0].number) "–" (g.lines[g.lines.len() - 1].number) ")" }
                        @for l in &g.lines { (line(l)) }
                    }
                } @else {
                    @for l in &g.lines { (line(l)) }
                }
            }
        }
    }
}

fn line(l: &crate::log::Line) -> Markup {
    let id = format!("L{}", l.number);
    html! {
        div id=(id) class=[l.highlighted().then_some("hl")] {
            a href={"#" (id)} { (l.number) }
            @for (hl, text) in &l.pieces {
                @if *hl { mark { (text) } } @else { (text) }
            }
        }
    }
}

pub fn job_page(ctx: &Ctx, job: &ProwJob, log: &LogSection, metadata: &[Metadata]) -> Markup {
    let s = &job.spec;
    let st = &job.status;
    let title = format!(
        "{} #{}",
        s.job,
        if st.build_id.is_empty() {
            "-"
        } else {
            &st.build_id
        }
    );
    let body = html! {
        h1 { (s.job) " " (state_badge(job)) }
        @if !st.description.is_empty() { p { (st.description) } }
        nav aria-label="Job links" {
            p {
                a href=(links::history(job)) { "History of " (s.job) }
                @if let Some((r, p)) = first_pull(job) {
                    " · " a href=(links::pr(&r.org, &r.repo, p.number)) { "PR #" (p.number) " runs" }
                }
                @if !st.build_id.is_empty() { " · " a href=(links::raw_log(job)) { "Raw log" } }
                " · " a href=(links::api(job)) { "JSON" }
            }
        }
        h2 { "Summary" }
        dl.kv {
            dt { "Type" } dd { (s.r#type.map_or("", |t| t.as_str())) }
            dt { "Job id" } dd { code { (job.metadata.name) } }
            @if !st.build_id.is_empty() { dt { "Build" } dd { code { (st.build_id) } } }
            dt { "Cluster" } dd { (filter::cluster(job)) }
            @if !s.agent.is_empty() { dt { "Agent" } dd { (s.agent) } }
            @if !s.context.is_empty() { dt { "Context" } dd { (s.context) } }
            @if !st.pod_name.is_empty() { dt { "Pod" } dd { code { (st.pod_name) } } }
            @if !s.namespace.is_empty() { dt { "Namespace" } dd { (s.namespace) } }
            dt { "Reported" } dd { (if s.report { "yes" } else { "no" }) }
            @if s.max_concurrency > 0 { dt { "Max concurrency" } dd { (s.max_concurrency) } }
            @if let Some(pod) = &s.pod_spec {
                @for c in &pod.containers {
                    dt { "Container" }
                    dd {
                        code { (c.image.as_deref().unwrap_or("")) }
                        @let cmd: Vec<&str> = c.command.iter().flatten().chain(c.args.iter().flatten()).map(String::as_str).collect();
                        @if !cmd.is_empty() { " " code { (cmd.join(" ")) } }
                    }
                }
            }
        }
        @if let Some(r) = &s.refs {
            h2 { "Refs" }
            (refs_block(r, false))
        }
        @for r in &s.extra_refs {
            @if s.refs.is_none() && s.extra_refs.first().is_some_and(|f| std::ptr::eq(f, r)) { h2 { "Refs" } }
            (refs_block(r, true))
        }
        h2 { "Timeline" }
        ol.timeline {
            @if let Some(t) = st.start_time { li { "Triggered " (time(t)) } }
            @if let Some(t) = st.pending_time {
                li {
                    "Pending " (time(t))
                    @if let Some(s0) = st.start_time { span.muted { " (after " (duration(t.as_second() - s0.as_second())) ")" } }
                }
            }
            @match st.completion_time {
                Some(t) => li {
                    "Finished " (time(t)) ": " (state_badge(job))
                    @if let Some(p) = st.pending_time.or(st.start_time) { span.muted { " (ran " (duration(t.as_second() - p.as_second())) ")" } }
                },
                None => li { "Running for " (run_time(job, ctx.now).unwrap_or_default()) },
            }
        }
        h2 { "Rerun" }
        (rerun(job))
        h2 #log { "Build log" }
        @match log {
            LogSection::Log { view, bytes } => {
                p.muted { (view.total_lines) " lines, " (bytes) " bytes." }
                (log_lines(view))
            }
            LogSection::Live { view } => {
                p.muted { "Not stored yet: the pod's log so far." }
                (log_lines(view))
            }
            LogSection::None(why) => { p { (why) } }
        }
        @for m in metadata {
            h2 { code { (m.name) } }
            @if !m.stored { p.muted { "Not stored yet: what the job record says." } }
            pre { code { (m.json) } }
        }
    };
    layout(ctx, &title, body)
}

// ---------------------------------------------------------------------------
// The PR page

pub struct CommitGroup<'a> {
    pub sha: String,
    pub link: Option<String>,
    pub runs: Vec<&'a ProwJob>,
}

pub fn pr_page(
    ctx: &Ctx,
    org: &str,
    repo: &str,
    number: i64,
    groups: &[CommitGroup<'_>],
) -> Markup {
    let pull = groups
        .iter()
        .flat_map(|g| g.runs.iter())
        .filter_map(|j| j.spec.refs.as_ref())
        .flat_map(|r| r.pulls.iter())
        .find(|p| p.number == number);
    let title = format!("{org}/{repo}#{number}");
    let body = html! {
        h1 { "Pull request " (maybe_link(pull.filter(|p| !p.link.is_empty()).map(|p| p.link.clone()), &title)) }
        @if let Some(p) = pull {
            p { @if !p.title.is_empty() { (p.title) } @if !p.author.is_empty() { " by " (p.author) } }
        }
        @if groups.is_empty() {
            p { "No runs of this pull request are stored." }
        }
        @for (i, g) in groups.iter().enumerate() {
            section.commit aria-labelledby={"c-" (i)} {
                h2 id={"c-" (i)} {
                    "Commit " (maybe_link(g.link.clone(), short_sha(&g.sha)))
                    @if i == 0 { " " span.muted { "(latest)" } }
                }
                div.scroll {
                    table {
                        caption.muted { (g.runs.len()) " run" @if g.runs.len() != 1 { "s" } " of commit " (short_sha(&g.sha)) }
                        thead { tr {
                            th scope="col" { "State" }
                            th scope="col" { "Job" }
                            th scope="col" { "Started" }
                            th scope="col" { "Duration" }
                            th scope="col" { "Description" }
                        } }
                        tbody {
                            @for j in &g.runs {
                                tr class=(state_str(j)) {
                                    td { (state_str(j)) }
                                    td { a href=(links::job(j)) { (j.spec.job) } }
                                    td { @if let Some(t) = j.status.start_time { (time(t)) } }
                                    td { @if let Some(d) = run_time(j, ctx.now) { (d) } }
                                    td { (j.status.description) }
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

/// Groups a PR's runs (newest first) by the commit of the pull, newest
/// commit first.
pub fn group_by_commit(runs: &[ProwJob], number: i64) -> Vec<CommitGroup<'_>> {
    let mut groups: Vec<CommitGroup<'_>> = Vec::new();
    for j in runs {
        let found = j
            .spec
            .refs
            .as_ref()
            .and_then(|r| Some((r, r.pulls.iter().find(|p| p.number == number)?)));
        let (sha, link) = match found {
            Some((r, p)) => (p.sha.clone(), pull_commit_link(r, p)),
            None => (String::new(), None),
        };
        match groups.iter_mut().find(|g| g.sha == sha) {
            Some(g) => g.runs.push(j),
            None => groups.push(CommitGroup {
                sha,
                link,
                runs: vec![j],
            }),
        }
    }
    groups
}

// ---------------------------------------------------------------------------
// The job history page

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

// ---------------------------------------------------------------------------
// Command help

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

// ---------------------------------------------------------------------------
// Errors

pub fn error_page(ctx: &Ctx, status: u16, heading: &str, message: &str) -> Markup {
    let body = html! {
        h1 { (heading) }
        p.err role="alert" { (message) }
        p { a href="/" { "All jobs" } " · " a href="/command-help" { "Command help" } }
    };
    layout(ctx, &format!("{status} {heading}"), body)
}

/// The list page's 400: the message and the form, to fix the filter.
pub fn bad_filter_page(ctx: &Ctx, message: &str) -> Markup {
    let body = html! {
        h1 { "Jobs" }
        p.err role="alert" { "This filter cannot be used: " (message) }
        (filter_form(&ListFilter::default(), &[], &[]))
    };
    layout(ctx, "Bad filter", body)
}

/// Text that was already escaped by maud, as a string.
pub fn render(m: Markup) -> String {
    let PreEscaped(s) = m;
    s
}
