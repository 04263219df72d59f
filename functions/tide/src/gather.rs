//! Reading one pool: the branch's head, each pull's head contexts (its
//! combined status and its check runs; reviews or changed files only when a
//! query or a job needs them; the branch protection's required checks with
//! `from-branch-protection`), and the
//! job records of its pulls. Over REST only, so fine-grained tokens, Apps and
//! Enterprise all work; the adapter's conditional GETs make an unchanged
//! read cost nothing against the rate limit.

use std::collections::{BTreeMap, BTreeSet};

use skiff_core::config::Presubmit;
use skiff_core::config::tide::TideQuery;
use skiff_core::event::PullRequest;
use skiff_core::ports::{JobQuery, LabelledIssue, PortResult};
use skiff_core::prowjob::ProwJob;
use skiff_core::tide::blockers;
use skiff_core::tide::{
    ContextChecker, Decision, HeadContext, PoolInput, TidePull, decide, needs_files,
    required_presubmits,
};

use crate::{TideDeps, inrepo};

/// One pool as read this sync.
pub(crate) struct Pool<'c> {
    pub org: String,
    pub repo: String,
    pub branch: String,
    pub base_sha: String,
    pub pulls: Vec<TidePull>,
    pub jobs: Vec<ProwJob>,
    pub checker: ContextChecker,
    pub presubmits: Vec<&'c Presubmit>,
    /// Each pull's in-repo presubmits, where it has any.
    pub own_presubmits: BTreeMap<i64, Vec<Presubmit>>,
    pub queries: Vec<&'c TideQuery>,
    /// The open blocker issues that apply to the branch.
    pub blockers: Vec<LabelledIssue>,
}

impl Pool<'_> {
    pub fn decide(&self, deps: &TideDeps<'_>) -> Decision {
        let tide = &deps.config.prow.tide;
        let labels = [
            tide.squash_label.as_str(),
            tide.rebase_label.as_str(),
            tide.merge_label.as_str(),
        ];
        decide(&PoolInput {
            org: &self.org,
            repo: &self.repo,
            branch: &self.branch,
            base_sha: &self.base_sha,
            pulls: &self.pulls,
            queries: &self.queries,
            checker: &self.checker,
            jobs: &self.jobs,
            batch_size_limit: tide.batch_size_limit(&self.org, &self.repo),
            prioritize_existing_batches: tide.prioritize_existing_batches(&self.org, &self.repo),
            priority: &tide.priority,
            method_labels: &labels,
            blockers: &self.blockers,
        })
    }

    pub fn pull(&self, number: i64) -> Option<&TidePull> {
        self.pulls.iter().find(|p| p.number == number)
    }

    /// The presubmit behind `context` for these pulls: a pull's own
    /// in-repo job first, else the repo's central one.
    pub fn presubmit(&self, numbers: &[i64], context: &str) -> Option<&Presubmit> {
        numbers
            .iter()
            .filter_map(|n| self.own_presubmits.get(n))
            .flatten()
            .chain(self.presubmits.iter().copied())
            .find(|p| p.reporter.context == context)
    }
}

pub(crate) async fn gather<'c>(
    deps: &TideDeps<'c>,
    org: &str,
    repo: &str,
    branch: &str,
    open: &[&PullRequest],
) -> PortResult<Pool<'c>> {
    let config = deps.config;
    let tide = &config.prow.tide;
    let base_sha = deps.scm.branch_sha(org, repo, branch).await?;
    let presubmits: Vec<&Presubmit> = config
        .jobs
        .presubmits
        .get(&format!("{org}/{repo}"))
        .map(|ps| ps.iter().collect())
        .unwrap_or_default();
    let queries: Vec<&TideQuery> = tide.queries_for(org, repo);
    let policy = tide.context_policy(org, repo, branch);
    let mut checker = ContextChecker::new(&policy, &presubmits, deps.regexes, branch);
    if policy.from_branch_protection == Some(true) {
        checker
            .required
            .extend(deps.scm.required_status_checks(org, repo, branch).await?);
    }
    let want_reviews = queries.iter().any(|q| q.review_approved_required);
    let blockers = match tide.blocker_label.as_str() {
        "" => Vec::new(),
        label => blockers::applicable(&deps.scm.labelled_issues(org, repo, label).await?, branch),
    };
    let mut own_presubmits = BTreeMap::new();

    let mut pulls = Vec::with_capacity(open.len());
    let mut jobs: BTreeMap<String, ProwJob> = BTreeMap::new();
    for pr in open {
        let status = deps.scm.combined_status(org, repo, &pr.head_sha).await?;
        let mut contexts: Vec<HeadContext> = status
            .statuses
            .into_iter()
            .map(|s| HeadContext {
                context: s.context,
                state: s.state,
                description: s.description,
            })
            .collect();
        // Check runs count as contexts too (GitHub Actions, other Apps, and
        // Skiff's own reporter in checks mode), named by the run.
        for run in deps.scm.check_runs_on(org, repo, &pr.head_sha).await? {
            if !contexts.iter().any(|c| c.context == run.name) {
                contexts.push(HeadContext {
                    state: run.status_state().to_string(),
                    context: run.name,
                    description: String::new(),
                });
            }
        }
        let review_approved = if want_reviews {
            approved(&deps.scm.reviews(org, repo, pr.number).await?)
        } else {
            false
        };
        let mut files = None;
        let own = inrepo::pull_jobs(deps, &base_sha, pr, &mut files).await?;
        let all: Vec<&Presubmit> = presubmits
            .iter()
            .copied()
            .chain(own.presubmits.iter())
            .collect();
        if files.is_none() && needs_files(&all) {
            files = Some(deps.scm.changed_files(org, repo, pr.number).await?);
        }
        let own_checker = (!own.presubmits.is_empty()).then(|| {
            let mut c = checker.clone();
            let own: Vec<&Presubmit> = own.presubmits.iter().collect();
            c.add_presubmits(&own, deps.regexes, branch);
            c
        });
        let required_jobs = required_presubmits(&all, deps.regexes, branch, files.as_deref())
            .iter()
            .map(|p| p.reporter.context.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let query = JobQuery::Pull {
            org: org.to_string(),
            repo: repo.to_string(),
            number: pr.number,
        };
        for j in deps.store.list(&query, None).await? {
            jobs.insert(j.metadata.name.clone(), j);
        }
        pulls.push(TidePull {
            number: pr.number,
            title: pr.title.clone(),
            body: pr.body.clone(),
            author: pr.author.clone(),
            author_link: pr.author_link.clone(),
            html_url: pr.html_url.clone(),
            head_sha: pr.head_sha.clone(),
            head_ref: pr.head_ref.clone(),
            labels: pr.labels.clone(),
            milestone: pr.milestone.clone(),
            mergeable: pr.mergeable,
            review_approved,
            contexts,
            required_jobs,
            checker: own_checker,
            config_problem: own.problem,
        });
        if !own.presubmits.is_empty() {
            own_presubmits.insert(pr.number, own.presubmits);
        }
    }
    Ok(Pool {
        org: org.to_string(),
        repo: repo.to_string(),
        branch: branch.to_string(),
        base_sha,
        pulls,
        jobs: jobs.into_values().collect(),
        checker,
        presubmits,
        own_presubmits,
        queries,
        blockers,
    })
}

/// GitHub's `reviewDecision: APPROVED` over REST: each reviewer's latest
/// approving or blocking review; at least one approval and no changes
/// requested.
fn approved(reviews: &[skiff_core::ports::PullReview]) -> bool {
    let mut latest: BTreeMap<&str, &str> = BTreeMap::new();
    for r in reviews {
        if matches!(
            r.state.as_str(),
            "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
        ) {
            latest.insert(r.author.as_str(), r.state.as_str());
        }
    }
    latest.values().any(|s| *s == "APPROVED") && !latest.values().any(|s| *s == "CHANGES_REQUESTED")
}
