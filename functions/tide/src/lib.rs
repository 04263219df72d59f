//! Tide: Prow's merge automation as one function. A sync (an EventBridge
//! schedule every `tide.sync_period`, `skiff dev --tide-seconds`, or a nudge
//! when a label changes or a job finishes) reads every repository tide's
//! queries cover, divides its open pull requests into pools by base branch
//! and, per pool:
//!
//! 1. takes the pool's lease in the job store (one sync of a pool at a time:
//!    two would start a batch each, or merge on a base the other moved);
//! 2. reads the branch's head (the pool's base), each pull's head contexts
//!    and the repo's job records ([`gather`]);
//! 3. decides ([`skiff_core::tide::decide`]);
//! 4. writes each pull's `tide` status where it changed, then acts: starts
//!    the missing runs or a batch, or merges ([`act`]);
//! 5. keeps the pool and the action for the deck ([`record`]).
//!
//! Crash points: a sync that dies after taking the lease leaves it to expire
//! (twice the sync period); one that dies after creating records but before
//! sending them leaves `triggered` records the syncer re-sends; one that
//! dies after a merge finds the pull gone (merged) next time. Records are
//! named by base and heads, so a repeated sync starts nothing twice, and a
//! merge carries the tested head, so nothing untested is merged.

mod act;
mod gather;
mod inrepo;
mod record;

use std::time::Duration;

use jiff::Timestamp;
use skiff_core::config::Config;
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{Claim, Clock, JobStore, PortError, PortResult, Queue, Scm};
use skiff_core::tide::Action;
use tracing::{info, warn};

pub use skiff_core::tide::record::{HistoryEntry, PoolRecord};

/// What tide works with.
pub struct TideDeps<'a> {
    pub config: &'a Config,
    pub store: &'a dyn JobStore,
    pub scm: &'a dyn Scm,
    /// The `dispatch` queue the runs tide starts go to.
    pub dispatch: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    pub regexes: &'a Regexes,
    /// Who syncs (the pools' lease is held in this name): an invocation id.
    pub owner: &'a str,
    /// The first pause before merging again when GitHub says the base
    /// moved (Prow: 4 s, then twice that).
    pub base_moved_pause: Duration,
}

/// What one sync did, per pool.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub pools: Vec<PoolRecord>,
    /// Pools another sync holds.
    pub busy: Vec<String>,
    /// Pools (or repos) that could not be synced, with why.
    pub failures: Vec<String>,
}

/// One sync of every pool.
pub async fn sync(deps: &TideDeps<'_>) -> SyncReport {
    let mut report = SyncReport::default();
    for (org, repo) in repos(deps, &mut report).await {
        let pulls = match deps.scm.open_pulls(&org, &repo, "").await {
            Ok(p) => p,
            Err(e) => {
                warn!(org, repo, error = %e, "cannot list the open pull requests");
                report.failures.push(format!("{org}/{repo}: {e}"));
                continue;
            }
        };
        let mut branches: Vec<String> = pulls.iter().map(|p| p.base_ref.clone()).collect();
        branches.sort();
        branches.dedup();
        for branch in branches {
            let pool: Vec<_> = pulls
                .iter()
                .filter(|p| p.base_ref == branch && !p.draft)
                .collect();
            let name = format!("{org}/{repo}:{branch}");
            match sync_pool(deps, &org, &repo, &branch, &pool).await {
                Ok(Some(record)) => report.pools.push(record),
                Ok(None) => report.busy.push(name),
                Err(e) => {
                    warn!(pool = name, error = %e, "pool not synced");
                    report.failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    report
}

/// Every repository a query covers: the listed ones, and the repos of each
/// listed org minus the ones excluded there.
async fn repos(deps: &TideDeps<'_>, report: &mut SyncReport) -> Vec<(String, String)> {
    let tide = &deps.config.prow.tide;
    let (listed, orgs) = tide.covered();
    let mut out: Vec<(String, String)> = listed
        .iter()
        .filter_map(|r| r.split_once('/'))
        .map(|(o, r)| (o.to_string(), r.to_string()))
        .collect();
    for org in orgs {
        match deps.scm.org_repos(&org).await {
            Ok(names) => out.extend(
                names
                    .into_iter()
                    .filter(|r| !tide.queries_for(&org, r).is_empty())
                    .map(|r| (org.clone(), r)),
            ),
            Err(e) => {
                warn!(org, error = %e, "cannot list the org's repositories");
                report.failures.push(format!("{org}: {e}"));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The pool's lease: held for twice the sync period (at least two
/// minutes), so a sync that died frees it before long.
fn lease_until(deps: &TideDeps<'_>, now: Timestamp) -> Timestamp {
    let period = deps
        .config
        .prow
        .tide
        .sync_period()
        .to_std()
        .max(Duration::from_secs(60));
    let span =
        jiff::SignedDuration::try_from(period * 2).unwrap_or(jiff::SignedDuration::from_secs(120));
    now.checked_add(span).unwrap_or(Timestamp::MAX)
}

async fn sync_pool(
    deps: &TideDeps<'_>,
    org: &str,
    repo: &str,
    branch: &str,
    pulls: &[&skiff_core::event::PullRequest],
) -> PortResult<Option<PoolRecord>> {
    let lease = format!("tide/lease/{org}/{repo}:{branch}");
    let now = deps.clock.now();
    if deps
        .store
        .claim_as(&lease, deps.owner, lease_until(deps, now))
        .await?
        != Claim::Taken
    {
        info!(org, repo, branch, "another sync holds the pool");
        return Ok(None);
    }
    let result = sync_held_pool(deps, org, repo, branch, pulls).await;
    if let Err(e) = deps.store.release(&lease, deps.owner).await {
        warn!(error = %e, lease, "pool lease not released; it expires by itself");
    }
    result.map(Some)
}

async fn sync_held_pool(
    deps: &TideDeps<'_>,
    org: &str,
    repo: &str,
    branch: &str,
    pulls: &[&skiff_core::event::PullRequest],
) -> PortResult<PoolRecord> {
    let pool = gather::gather(deps, org, repo, branch, pulls).await?;
    let decision = pool.decide(deps);
    act::write_statuses(deps, &pool, &decision).await;
    let outcome = act::act(deps, &pool, &decision.action).await;
    let record = record::pool_record(&pool, &decision, &outcome, deps.clock.now());
    if !matches!(decision.action, Action::Wait | Action::Blocked) {
        info!(
            org,
            repo,
            branch,
            action = decision.action.name(),
            ?outcome,
            "tide acted"
        );
        record::append_history(deps, &record).await;
    }
    record::save_pool(deps, &record).await;
    if let Some(e) = outcome.error.as_ref().filter(|_| outcome.retry) {
        return Err(PortError::Unavailable(e.clone().into()));
    }
    Ok(record)
}
