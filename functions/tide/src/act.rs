//! Carrying out a pool's decision: the `tide` statuses, the runs it starts,
//! the merges (Prow's `setStatuses`, `trigger`, `mergePRs`).

use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{CommitStatus, MergeOutcome};
use skiff_core::tide::jobs::{batch, refs_for, retest};
use skiff_core::tide::merge::merge_request;
use skiff_core::tide::{Action, Decision, TIDE_CONTEXT, TidePull};
use tracing::{info, warn};

use crate::TideDeps;
use crate::gather::Pool;

/// What acting came to, for the deck's history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The pulls merged.
    pub merged: Vec<i64>,
    /// The job records started (new or found).
    pub started: Vec<String>,
    /// What went wrong, in Prow's words.
    pub error: Option<String>,
    /// The error may pass: the sync should be tried again (a dispatch that
    /// failed leaves records the syncer re-sends, so it is not one).
    pub retry: bool,
}

/// Writes each pull's `tide` status where it is not already what it should
/// be (Prow writes only on a change). A failure is logged: the next sync
/// writes it.
pub(crate) async fn write_statuses(deps: &TideDeps<'_>, pool: &Pool<'_>, decision: &Decision) {
    let tide = &deps.config.prow.tide;
    for v in &decision.pulls {
        let Some(pull) = pool.pull(v.number) else {
            continue;
        };
        let current = pull.contexts.iter().find(|c| c.context == TIDE_CONTEXT);
        if current
            .is_some_and(|c| c.state == v.status_state && c.description == v.status_description)
        {
            continue;
        }
        let status = CommitStatus {
            state: v.status_state.to_string(),
            context: TIDE_CONTEXT.to_string(),
            description: v.status_description.clone(),
            target_url: target_url(tide, &pool.org, &pool.repo, pull),
        };
        if let Err(e) = deps
            .scm
            .create_status(&pool.org, &pool.repo, &pull.head_sha, &status)
            .await
        {
            warn!(pull = v.number, error = %e, "tide status not written");
        }
    }
}

/// Prow's `targetURL`: `target_url(s)`, else the PR status page with a
/// query for this pull.
fn target_url(
    tide: &skiff_core::config::tide::Tide,
    org: &str,
    repo: &str,
    pull: &TidePull,
) -> String {
    let url = tide.target_url(org, repo);
    if !url.is_empty() {
        return url;
    }
    let base = tide.pr_status_base_url(org, repo);
    if base.is_empty() {
        return String::new();
    }
    let query = format!(
        "is:pr repo:{org}/{repo} author:{} head:{}",
        pull.author, pull.head_ref
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}query={}", encode_query(&query))
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) async fn act(deps: &TideDeps<'_>, pool: &Pool<'_>, action: &Action) -> Outcome {
    match action {
        Action::Wait | Action::Blocked => Outcome::default(),
        Action::Trigger { pull, contexts } => start(deps, pool, &[*pull], contexts, false).await,
        Action::TriggerBatch { pulls, contexts } => start(deps, pool, pulls, contexts, true).await,
        Action::Merge { pull } => merge(deps, pool, &[*pull]).await,
        Action::MergeBatch { pulls } => merge(deps, pool, pulls).await,
    }
}

/// Creates one record per context (a presubmit for one pull, a batch job
/// for several) and sends them to the dispatcher.
async fn start(
    deps: &TideDeps<'_>,
    pool: &Pool<'_>,
    numbers: &[i64],
    contexts: &[String],
    is_batch: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    let pulls: Vec<&TidePull> = numbers.iter().filter_map(|n| pool.pull(*n)).collect();
    let now = deps.clock.now();
    for context in contexts {
        let Some(p) = pool.presubmit(numbers, context) else {
            continue;
        };
        let refs = refs_for(&pool.org, &pool.repo, &pool.branch, &pool.base_sha, &pulls);
        let record = if is_batch {
            batch(p, refs, now)
        } else {
            retest(p, refs, now)
        };
        match deps.store.create(&record).await {
            Ok(created) => {
                if created {
                    let kind = record.spec.r#type.map_or("unknown", |t| t.as_str());
                    metrics::counter!(
                        skiff_core::metrics::JOBS_CREATED.name,
                        "type" => kind,
                        "creator" => skiff_core::metrics::creator::TIDE
                    )
                    .increment(1);
                }
                outcome.started.push(record.metadata.name.clone());
            }
            Err(e) => {
                outcome.error = Some(format!("starting {context}: {e}"));
                outcome.retry = e.is_retryable();
                return outcome;
            }
        }
    }
    let bodies: Vec<String> = outcome
        .started
        .iter()
        .map(|id| DispatchMessage { id: id.clone() }.to_body())
        .collect();
    if !bodies.is_empty()
        && let Err(e) = deps.dispatch.send(&bodies).await
    {
        // The records wait as `triggered`; the syncer sends them.
        warn!(error = %e, "runs created but not sent; the syncer sends them");
    }
    info!(pulls = ?numbers, started = outcome.started.len(), batch = is_batch, "tide started runs");
    outcome
}

/// Prow's `mergePRs`: each pull in turn at the head tide tested. A 409 (the
/// pull moved) skips that pull; a 405 saying the base moved is tried again
/// after a pause (three times, pauses doubling); a 405 saying the bot may
/// not push, or that merge commits are not allowed, stops the rest; any
/// other 405 skips the pull as unmergeable.
async fn merge(deps: &TideDeps<'_>, pool: &Pool<'_>, numbers: &[i64]) -> Outcome {
    let mut outcome = Outcome::default();
    let tide = &deps.config.prow.tide;
    let mut errors = Vec::new();
    'pulls: for n in numbers {
        let Some(pull) = pool.pull(*n) else { continue };
        let (request, warnings) =
            match merge_request(tide, &pool.org, &pool.repo, &pool.branch, pull) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("#{n}: {e}"));
                    continue;
                }
            };
        for w in warnings {
            warn!(pull = n, "{w}; GitHub's default commit message is used");
        }
        let mut pause = deps.base_moved_pause;
        for attempt in 1..=3 {
            match deps
                .scm
                .merge_pull(&pool.org, &pool.repo, *n, &request)
                .await
            {
                Ok(MergeOutcome::Merged) => {
                    info!(
                        pull = n,
                        method = request.method.as_str(),
                        sha = request.sha,
                        "merged"
                    );
                    outcome.merged.push(*n);
                    continue 'pulls;
                }
                Ok(MergeOutcome::HeadModified(m)) => {
                    errors.push(format!("#{n}: the head moved: {m}"));
                    continue 'pulls;
                }
                Ok(MergeOutcome::Refused(m))
                    if m.contains("Base branch was modified") && attempt < 3 =>
                {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Ok(MergeOutcome::Refused(m))
                    if m.contains("You're not authorized to push to this branch")
                        || m.contains("Merge commits are not allowed on this repository") =>
                {
                    errors.push(format!("#{n}: {m}"));
                    break 'pulls;
                }
                Ok(MergeOutcome::Refused(m)) => {
                    errors.push(format!(
                        "#{n}: PR is unmergable. Do the Tide merge requirements match the GitHub settings for the repo? {m}"
                    ));
                    continue 'pulls;
                }
                Err(e) => {
                    outcome.retry |= e.is_retryable();
                    errors.push(format!("#{n}: {e}"));
                    break 'pulls;
                }
            }
        }
    }
    if numbers.len() > 1 && !errors.is_empty() {
        errors.insert(
            0,
            format!(
                "failed merging {:?} from batch {numbers:?}, partial merge {:?}",
                failed(numbers, &outcome.merged),
                outcome.merged
            ),
        );
    }
    if !errors.is_empty() {
        outcome.error = Some(errors.join("; "));
    }
    outcome
}

fn failed(all: &[i64], merged: &[i64]) -> Vec<i64> {
    all.iter()
        .filter(|n| !merged.contains(n))
        .copied()
        .collect()
}
