//! The job list (`/`): the handler that reads the store and applies the
//! filter, the page (filter form, counts per state, rows, pager), and the
//! 400 page for a filter that cannot be used.

use std::collections::{BTreeMap, BTreeSet};

use maud::{Markup, html};
use skiff_core::config::Config;
use skiff_core::config::inrepo::SOURCE_ANNOTATION as IN_REPO;
use skiff_core::ports::JobPage;
use skiff_core::prowjob::{ProwJob, ProwJobState};

use super::{Ctx, layout, revision, run_time, short_time, state_str};
use crate::filter::{self, FilterError, ListFilter, STATES, TYPES};
use crate::{DeckOptions, DeckRequest, Deps, Reply, ctx, links, pages, unavailable, visible};

pub async fn list(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let f = match ListFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(f) => f,
        Err(e) => return bad_filter(deps, &e),
    };
    let hides_repos = deps
        .config
        .is_some_and(|c| !c.prow.deck.hidden_repos.is_empty());
    if let Some(q) = f.page_query(deps.options.max_jobs)
        && !hides_repos
    {
        // The store reads the page and counts the rest from its index.
        return match deps.store.page(&q).await {
            Ok(page) => Reply::html(200, paged_markup(&ctx(deps, true), &f, &page, q.window)),
            Err(e) => unavailable(deps, &e),
        };
    }
    let jobs = match deps
        .store
        .list(&f.store_query(), Some(deps.options.max_jobs))
        .await
    {
        Ok(j) => j,
        Err(e) => return unavailable(deps, &e),
    };
    Reply::html(
        200,
        list_markup(
            &ctx(deps, true),
            &f,
            &jobs,
            deps.config,
            deps.options.max_jobs,
        ),
    )
}

/// The list page's HTML for the list query `query` (`state=failure&repo=…`)
/// over `jobs` (newest first, as the store returns them), at `now`, without
/// a config: the rendering half of `/`, for the benchmark and the page
/// weight test ([`handle`](crate::handle) is the whole of it).
pub fn render_list(
    query: &str,
    jobs: &[ProwJob],
    now: jiff::Timestamp,
) -> Result<String, FilterError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let f = ListFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let ctx = Ctx {
        now,
        refresh: true,
        viewer: None,
    };
    let max_jobs = DeckOptions::default().max_jobs;
    Ok(pages::render(list_markup(&ctx, &f, jobs, None, max_jobs)))
}

/// The list page over `jobs` (newest first).
fn list_markup(
    ctx: &Ctx,
    f: &ListFilter,
    jobs: &[ProwJob],
    config: Option<&Config>,
    max_jobs: usize,
) -> maud::Markup {
    let all_states = ListFilter {
        state: None,
        ..f.clone()
    };
    let mut counts: BTreeMap<ProwJobState, usize> = BTreeMap::new();
    let mut matching: Vec<&ProwJob> = Vec::new();
    let mut repos: BTreeSet<String> = BTreeSet::new();
    let mut clusters: BTreeSet<&str> = BTreeSet::new();
    for j in jobs.iter().filter(|j| visible(j, config)) {
        if let Some(r) = filter::main_refs(j)
            && repos.len() < 300
            && !repos.contains(&r.org_repo())
        {
            repos.insert(r.org_repo());
        }
        if clusters.len() < 100 {
            clusters.insert(filter::cluster(j));
        }
        if !all_states.matches(j) {
            continue;
        }
        if let Some(s) = j.status.state {
            *counts.entry(s).or_default() += 1;
        }
        if f.state.is_none_or(|s| j.status.state == Some(s)) {
            matching.push(j);
        }
    }
    let start = (f.page - 1).saturating_mul(f.limit).min(matching.len());
    let end = start.saturating_add(f.limit).min(matching.len());
    let data = ListData {
        filter: f,
        rows: &matching[start..end],
        matching: matching.len(),
        loaded: jobs.len(),
        max_jobs,
        counts,
        repos: repos.into_iter().collect(),
        clusters: clusters.into_iter().map(String::from).collect(),
    };
    list_page(ctx, &data)
}

/// The list page over one page the store read: the repos and clusters the
/// form suggests are those of the page's rows.
fn paged_markup(ctx: &Ctx, f: &ListFilter, page: &JobPage, max_jobs: usize) -> maud::Markup {
    let rows: Vec<&ProwJob> = page.jobs.iter().collect();
    let mut repos: BTreeSet<String> = BTreeSet::new();
    let mut clusters: BTreeSet<&str> = BTreeSet::new();
    for j in &rows {
        if let Some(r) = filter::main_refs(j) {
            repos.insert(r.org_repo());
        }
        clusters.insert(filter::cluster(j));
    }
    let data = ListData {
        filter: f,
        rows: &rows,
        matching: page.matching,
        loaded: page.scanned,
        max_jobs,
        counts: page.counts.clone(),
        repos: repos.into_iter().collect(),
        clusters: clusters.into_iter().map(String::from).collect(),
    };
    list_page(ctx, &data)
}

fn bad_filter(deps: &Deps<'_>, e: &FilterError) -> Reply {
    Reply::html(400, bad_filter_page(&ctx(deps, false), &e.to_string()))
}

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
                        @if ctx.viewer.is_some() { th scope="col" { "Actions" } }
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
            td {
                a href=(links::job(j)) { (j.spec.job) }
                // Jobs from a repo's own `.prow.yaml`: which file and commit.
                @if let Some(from) = j.metadata.annotations.get(IN_REPO) {
                    " " small.in-repo title=(format!("defined in {from}")) { "in-repo" }
                }
            }
            td { @if let Some(r) = filter::main_refs(j) { (r.org_repo()) } }
            td { (revision(j)) }
            td { @if let Some(t) = j.status.start_time { (short_time(t)) } }
            td { @if let Some(d) = run_time(j, ctx.now) { (d) } }
            td { @if !j.status.build_id.is_empty() { a href=(links::raw_log(j)) { "log" } } }
            @if ctx.viewer.is_some() { td { (super::job_actions(ctx, j, true)) } }
        }
    }
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
