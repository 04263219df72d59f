//! A pull request's runs (`/pr-history?org=&repo=&pr=`), grouped by the
//! commit they ran on, newest commit first.

use maud::{Markup, html};
use skiff_core::ports::JobQuery;
use skiff_core::prowjob::ProwJob;

use super::{Ctx, layout, maybe_link, pull_commit_link, run_time, short_sha, state_str, time};
use crate::{DeckRequest, Deps, Reply, ctx, error, links, unavailable, visible};

pub async fn pr_history(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (Some(org), Some(repo), Some(pr)) = (get("org"), get("repo"), get("pr")) else {
        return error(
            deps,
            400,
            "Bad request",
            "A pull request's history needs org, repo and pr: /pr-history?org=ORG&repo=REPO&pr=NUMBER",
        );
    };
    let Some(number) = pr.parse::<i64>().ok().filter(|n| *n > 0) else {
        return error(
            deps,
            400,
            "Bad request",
            &format!("pr={pr:?}: expected a pull request number"),
        );
    };
    let runs = match deps
        .store
        .list(
            &JobQuery::Pull {
                org: org.to_string(),
                repo: repo.to_string(),
                number,
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
    let groups = group_by_commit(&runs, number);
    let running = runs.iter().any(|j| j.status.completion_time.is_none());
    let tide = super::pull_standing(deps, org, repo, number).await;
    Reply::html(
        200,
        pr_page(
            &ctx(deps, running),
            org,
            repo,
            number,
            &groups,
            tide.as_ref(),
        ),
    )
}

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
    tide: Option<&(String, String, String)>,
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
        @if let Some((pool, standing, why)) = tide {
            p #tide-standing {
                "Tide (pool " a href=(format!("/tide#pool-{}", pool.replace(['/', ':'], "-"))) { (pool) } "): "
                strong { (standing) } @if !why.is_empty() { " — " (why) }
            }
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
