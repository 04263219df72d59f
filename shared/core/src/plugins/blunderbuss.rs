//! Prow's blunderbuss plugin (`pkg/plugins/blunderbuss`, `pkg/reviewer`):
//! when a PR opens (or is ready for review, or on `/auto-cc`), request
//! reviews from reviewers in the OWNERS of its files — one per OWNERS file
//! first, then more from the nearest files, then from further up — falling
//! back to approvers unless `exclude_approvers`, cut to `max_request_count`,
//! plus every required reviewer. The author is never picked. Picks are
//! pseudo-random per PR (repeatable on redelivery); Prow's docs' weighting
//! by lines changed is not what its code does, and not done here.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::event::PullRequest;
use crate::plan::FactError;

use super::owners::{RepoOwners, norm_login};
use super::pluginhelp::{Command, PluginHelp};
use super::{Cached, Ctx, Effect, Pattern, PluginEvent, PluginPlan, Rng, created_comment, re};

static AUTO_CC: Pattern = Pattern::new(|| re(r"(?mi)^/auto-cc\s*$"));
static CC: Pattern = Pattern::new(|| re(r"(?mi)^/(un)?cc(( +@?[-/0-9A-Za-z_]+?)*)\s*$"));

/// A set in layers: lower layers are picked from first.
#[derive(Clone, Debug, Default)]
struct Layered(Vec<(usize, String)>);

impl Layered {
    fn from_layers(layers: Vec<BTreeSet<String>>) -> Layered {
        let mut l = Layered::default();
        for (i, layer) in layers.into_iter().enumerate() {
            for p in layer {
                l.insert(i, p);
            }
        }
        l
    }

    fn contains(&self, p: &str) -> bool {
        self.0.iter().any(|(_, x)| x == p)
    }

    fn insert(&mut self, layer: usize, p: String) {
        if !self.contains(&p) {
            self.0.push((layer, p));
        }
    }

    fn remove_all(&mut self, gone: &BTreeSet<String>) {
        self.0.retain(|(_, p)| !gone.contains(p));
    }

    fn names(&self) -> BTreeSet<String> {
        self.0.iter().map(|(_, p)| p.clone()).collect()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Pops a random member of the lowest layer.
    fn pop(&mut self, rng: &mut Rng) -> Option<String> {
        let low = self.0.iter().map(|(l, _)| *l).min()?;
        let mut candidates: Vec<usize> =
            (0..self.0.len()).filter(|i| self.0[*i].0 == low).collect();
        candidates.sort_by(|a, b| self.0[*a].1.cmp(&self.0[*b].1));
        let pick = candidates[rng.below(candidates.len())];
        Some(self.0.remove(pick).1)
    }

    /// Layer by layer, names sorted within each.
    fn list(&self) -> Vec<String> {
        let mut v = self.0.clone();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }
}

/// Whose reviewers: OWNERS reviewers, or approvers standing in.
#[derive(Clone, Copy)]
enum Source {
    Reviewers,
    Approvers,
}

fn owners_dir(o: &RepoOwners, src: Source, f: &str) -> String {
    match src {
        Source::Reviewers => o.find_reviewers_owners_for_file(f),
        Source::Approvers => o.find_approver_owners_for_file(f),
    }
}

fn leaves(o: &RepoOwners, src: Source, f: &str) -> BTreeSet<String> {
    match src {
        Source::Reviewers => o.leaf_reviewers(f),
        Source::Approvers => o.leaf_approvers(f),
    }
}

fn layers(o: &RepoOwners, src: Source, f: &str) -> Vec<BTreeSet<String>> {
    match src {
        Source::Reviewers => o.reviewer_layers(f),
        Source::Approvers => o.approver_layers(f),
    }
}

/// Prow's `GetReviewers`: reviewers, then required reviewers.
fn reviewers(
    o: &RepoOwners,
    src: Source,
    author: &str,
    files: &[String],
    min: usize,
    rng: &mut Rng,
) -> (Vec<String>, Vec<String>) {
    let author: BTreeSet<String> = BTreeSet::from([norm_login(author)]);
    let mut chosen = Layered::default();
    let mut required = BTreeSet::new();
    let mut leaf_pool = Layered::default();
    let mut seen = BTreeSet::new();
    if min == 0 {
        return (Vec::new(), Vec::new());
    }
    for f in files {
        if !seen.insert(owners_dir(o, src, f)) {
            continue;
        }
        required.extend(o.required_reviewers(f));
        let mut unused = Layered::from_layers(vec![leaves(o, src, f)]);
        unused.remove_all(&chosen.names());
        unused.remove_all(&author);
        if unused.len() == 0 {
            continue;
        }
        for (_, p) in &unused.0 {
            leaf_pool.insert(0, p.clone());
        }
        if let Some(r) = unused.pop(rng) {
            chosen.insert(0, r);
        }
    }
    let mut unused = leaf_pool;
    unused.remove_all(&chosen.names());
    while chosen.len() < min {
        match unused.pop(rng) {
            Some(r) => chosen.insert(1, r),
            None => break,
        }
    }
    for f in files {
        if chosen.len() >= min {
            break;
        }
        let mut pool = Layered::from_layers(layers(o, src, f));
        pool.remove_all(&author);
        while chosen.len() < min {
            match pool.pop(rng) {
                Some(r) => chosen.insert(2, r),
                None => break,
            }
        }
    }
    (chosen.list(), required.into_iter().collect())
}

async fn request(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    pr: &PullRequest,
    facts: &mut Cached<'_>,
    p: &mut PluginPlan,
) -> Result<(), FactError> {
    let b = &ctx.config.plugins.sections.blunderbuss;
    let owners = facts.owners(&ev.repo, &pr.base_ref).await?;
    let files = facts.changed_files(&ev.repo, pr.number).await?;
    let mut rng = Rng::seeded(pr.number);
    let count = usize::try_from(b.request_count()).unwrap_or(0);
    let (mut picked, required) = reviewers(
        &owners.owners,
        Source::Reviewers,
        &pr.author,
        &files,
        count,
        &mut rng,
    );
    if picked.len() < count && !b.exclude_approvers {
        let (approvers, _) = reviewers(
            &owners.owners,
            Source::Approvers,
            &pr.author,
            &files,
            count,
            &mut rng,
        );
        for a in approvers {
            if !picked.contains(&a) {
                picked.push(a);
            }
        }
    }
    let max = usize::try_from(b.max_reviewer_count).unwrap_or(0);
    if max > 0 && picked.len() > max {
        picked.truncate(max);
    }
    for r in required {
        if !picked.contains(&r) {
            picked.push(r);
        }
    }
    if picked.is_empty() {
        p.note("no reviewers in the OWNERS of the changed files");
    } else {
        p.push(Effect::RequestReview {
            users: picked,
            teams: Vec::new(),
            refused: None,
        });
    }
    Ok(())
}

pub async fn plan(
    ctx: &Ctx<'_>,
    ev: &PluginEvent,
    facts: &mut Cached<'_>,
) -> Result<PluginPlan, FactError> {
    let mut p = PluginPlan::new("blunderbuss", ev.number());
    let b = &ctx.config.plugins.sections.blunderbuss;
    let Some(issue) = &ev.issue else {
        return Ok(p);
    };
    if ev.name == "pull_request" {
        let Some(pull) = &ev.pull else {
            return Ok(p);
        };
        if !matches!(ev.action.as_str(), "opened" | "ready_for_review") {
            return Ok(p);
        }
        if CC.get().is_match(&issue.body) || b.wait_for_status.is_some() {
            p.note("the description requests reviews, or blunderbuss waits for a status");
            return Ok(p);
        }
        if (pull.draft && b.ignore_drafts) || b.ignore_authors.contains(&issue.author) {
            return Ok(p);
        }
        // The event carries what is needed: no read of the PR.
        let pr = PullRequest {
            repo: ev.repo.clone(),
            number: issue.number,
            author: issue.author.clone(),
            base_ref: pull.base_ref.clone(),
            ..PullRequest::default()
        };
        request(ctx, ev, &pr, facts, &mut p).await?;
        return Ok(p);
    }
    let Some((c, _)) = created_comment(ev) else {
        return Ok(p);
    };
    if !issue.is_pr || !issue.is_open() || !AUTO_CC.get().is_match(&c.body) {
        return Ok(p);
    }
    let pr = facts.pull_request(&ev.repo, issue.number).await?;
    request(ctx, ev, &pr, facts, &mut p).await?;
    Ok(p)
}

pub fn help(config: &Config, _: &str, _: &str) -> PluginHelp {
    let n = config.plugins.sections.blunderbuss.request_count();
    PluginHelp::new(
        "blunderbuss",
        "Requests reviews from reviewers in the OWNERS files of a new PR's changed files.",
    )
    .config(format!(
        "blunderbuss requests reviews from {n} reviewer{}.",
        if n == 1 { "" } else { "s" }
    ))
    .command(Command::new(
        "/auto-cc",
        "Requests reviews from OWNERS reviewers again (after OWNERS changed).",
        "Anyone.",
        &["/auto-cc"],
    ))
}
