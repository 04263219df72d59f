//! One pool's sync decision (Prow's `syncSubpool`: filter, `accumulate`,
//! `accumulateBatch`, `takeAction`, `pickBatch`), pure: the pull requests
//! into one branch as GitHub shows them, the job records of the repo, and the
//! branch's head as read this sync in; the action, and what each pull is, out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::contexts::{ContextChecker, TIDE_CONTEXT};
use super::query::{matches, requirement_diff};
use crate::config::tide::{TidePriority, TideQuery};
use crate::ports::LabelledIssue;
use crate::prowjob::labels::CREATED_BY_TIDE;
use crate::prowjob::{ProwJob, ProwJobState, ProwJobType};

/// The latest state of one context on a pull's head commit (a commit status
/// or a check run, as `success`, `pending`, `failure` or `error`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HeadContext {
    pub context: String,
    pub state: String,
    pub description: String,
}

/// An open pull request into the pool's branch, as tide sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TidePull {
    pub number: i64,
    pub title: String,
    pub body: String,
    pub author: String,
    pub author_link: String,
    pub html_url: String,
    pub head_sha: String,
    pub head_ref: String,
    pub labels: Vec<String>,
    pub milestone: String,
    /// GitHub's `mergeable`: `Some(false)` is a conflict.
    pub mergeable: Option<bool>,
    /// An approving review and no changes requested (only read when a
    /// query asks for `reviewApprovedRequired`).
    pub review_approved: bool,
    pub contexts: Vec<HeadContext>,
    /// The contexts of the presubmits tide must see pass for this pull.
    pub required_jobs: Vec<String>,
    /// The pull's own context policy when its in-repo jobs add to the
    /// pool's (Prow's `GetTideContextPolicy` at the pull's head).
    #[serde(skip)]
    pub checker: Option<ContextChecker>,
    /// Why the pull's in-repo config cannot be loaded: Prow drops a pull
    /// whose presubmits cannot be read from the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_problem: Option<String>,
}

impl TidePull {
    fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}

/// Everything one decision needs.
pub struct PoolInput<'a> {
    pub org: &'a str,
    pub repo: &'a str,
    pub branch: &'a str,
    /// The branch's head, read from the branch this sync.
    pub base_sha: &'a str,
    pub pulls: &'a [TidePull],
    pub queries: &'a [&'a TideQuery],
    pub checker: &'a ContextChecker,
    /// The repo's presubmit and batch job records.
    pub jobs: &'a [ProwJob],
    pub batch_size_limit: i64,
    pub prioritize_existing_batches: bool,
    pub priority: &'a [TidePriority],
    /// The squash, rebase and merge labels set (a pull with two of them
    /// cannot merge).
    pub method_labels: &'a [&'a str],
    /// The open issues labelled `blocker_label` that apply to this branch:
    /// while there are any, tide neither merges nor starts runs.
    pub blockers: &'a [LabelledIssue],
}

impl PoolInput<'_> {
    /// The context policy `pull` is judged by: its own when in-repo jobs
    /// add to the pool's.
    fn checker_for<'p>(&'p self, pull: &'p TidePull) -> &'p ContextChecker {
        pull.checker.as_ref().unwrap_or(self.checker)
    }
}

/// Prow's actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    Wait,
    /// An open blocker issue applies: nothing merges or starts (Prow's
    /// `BLOCKED`, not kept in the history).
    Blocked,
    /// Start the missing jobs of one pull against the current base.
    Trigger {
        pull: i64,
        contexts: Vec<String>,
    },
    /// Start a batch of these pulls.
    TriggerBatch {
        pulls: Vec<i64>,
        contexts: Vec<String>,
    },
    Merge {
        pull: i64,
    },
    MergeBatch {
        pulls: Vec<i64>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Wait => "WAIT",
            Action::Blocked => "BLOCKED",
            Action::Trigger { .. } => "TRIGGER",
            Action::TriggerBatch { .. } => "TRIGGER_BATCH",
            Action::Merge { .. } => "MERGE",
            Action::MergeBatch { .. } => "MERGE_BATCH",
        }
    }
}

/// Where a pull stands in its pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Every required job passed against the current base.
    Success,
    /// Its required jobs against the current base are still running.
    Pending,
    /// A required job has not run (or failed) against the current base.
    Missing,
    /// Not in the pool; why, in the `tide` status's words.
    Out,
}

/// One pull's verdict, with the `tide` status it should show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullVerdict {
    pub number: i64,
    pub standing: Standing,
    pub status_state: &'static str,
    pub status_description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub action: Action,
    pub pulls: Vec<PullVerdict>,
    /// The pulls of the batch being tested, if one is.
    pub batch_pending: Vec<i64>,
}

const STATUS_IN_POOL: &str = "In merge pool.";
const MAX_STATUS_DESCRIPTION: usize = 140;

/// Prow's "Not mergeable.%s".
fn not_mergeable(why: &str) -> String {
    format!("Not mergeable.{why}")
}

/// Prow's cut of a status description to GitHub's 140 characters.
pub fn cut_description(s: String) -> String {
    if s.chars().count() <= MAX_STATUS_DESCRIPTION {
        return s;
    }
    let mut out: String = s.chars().take(MAX_STATUS_DESCRIPTION - 3).collect();
    out.push_str("...");
    out
}

fn retesting(mut contexts: Vec<String>) -> String {
    contexts.sort();
    let all = not_mergeable(&format!(" Retesting: {}", contexts.join(" ")));
    if all.chars().count() > MAX_STATUS_DESCRIPTION {
        let s = if contexts.len() > 1 { "s" } else { "" };
        return not_mergeable(&format!(" Retesting {} job{s}.", contexts.len()));
    }
    all
}

/// Prow's status for a pull kept out while blocker issues apply: " Merging
/// is blocked by issue 7." or "… issues 7, 9." (in number order).
fn blocked_by(blockers: &[LabelledIssue]) -> Option<String> {
    if blockers.is_empty() {
        return None;
    }
    let mut numbers: Vec<i64> = blockers.iter().map(|b| b.number).collect();
    numbers.sort_unstable();
    let s = if numbers.len() > 1 { "s" } else { "" };
    let list: Vec<String> = numbers.iter().map(i64::to_string).collect();
    Some(format!(
        " Merging is blocked by issue{s} {}.",
        list.join(", ")
    ))
}

/// Prow's simple states: triggered and pending are pending; success is
/// success; everything else (failure, error, aborted) failed.
fn simple(state: Option<ProwJobState>) -> u8 {
    match state {
        Some(ProwJobState::Success) => 2,
        Some(ProwJobState::Triggered | ProwJobState::Pending) | None => 1,
        _ => 0,
    }
}

/// The contexts of the head that fail the pull (Prow's
/// `unsuccessfulContexts`): non-optional and not success, plus required
/// ones missing. A pending context of one of the pull's own required jobs
/// does not count: tide is waiting for it.
fn unsuccessful(pull: &TidePull, checker: &ContextChecker) -> Vec<String> {
    let mut failed = Vec::new();
    for c in &pull.contexts {
        if c.context == TIDE_CONTEXT || checker.is_optional(&c.context) || c.state == "success" {
            continue;
        }
        if c.state == "pending" && pull.required_jobs.contains(&c.context) {
            continue;
        }
        failed.push(c.context.clone());
    }
    let present: BTreeSet<&str> = pull.contexts.iter().map(|c| c.context.as_str()).collect();
    failed.extend(checker.missing_required(&present).cloned());
    failed
}

/// Why a pull cannot merge whatever its tests say, in the `error` status's
/// words.
fn merge_blocker(pull: &TidePull, method_labels: &[&str]) -> Option<String> {
    if pull.mergeable == Some(false) {
        return Some(not_mergeable(" PR has a merge conflict."));
    }
    let set = method_labels
        .iter()
        .filter(|l| !l.is_empty() && pull.has_label(l))
        .count();
    (set > 1).then(|| not_mergeable(" PR has conflicting merge method override labels"))
}

/// A context's best state among the job records that ran for this pull at
/// the current base (plus statuses crier marked with that base, and
/// `[prow:skip-retest]`): 2 success, 1 pending, 0 failed or none.
fn job_states(pull: &TidePull, base_sha: &str, jobs: &[ProwJob]) -> BTreeMap<String, u8> {
    let mut best: BTreeMap<String, u8> = BTreeMap::new();
    for j in jobs {
        if j.spec.r#type != Some(ProwJobType::Presubmit) {
            continue;
        }
        let Some(refs) = &j.spec.refs else { continue };
        let Some(first) = refs.pulls.first() else {
            continue;
        };
        if refs.base_sha != base_sha || first.number != pull.number || first.sha != pull.head_sha {
            continue;
        }
        let s = simple(j.status.state);
        let e = best.entry(j.spec.context.clone()).or_insert(s);
        *e = (*e).max(s);
    }
    let suffix = format!(" BaseSHA:{base_sha}");
    for c in &pull.contexts {
        if c.state == "success"
            && (c.description.ends_with(&suffix) || c.description.contains("[prow:skip-retest]"))
        {
            best.insert(c.context.clone(), 2);
        }
    }
    best
}

/// Prow's `accumulate` for one pull.
fn standing(pull: &TidePull, states: &BTreeMap<String, u8>) -> Standing {
    let mut pending = false;
    for c in &pull.required_jobs {
        match states.get(c) {
            Some(2) => {}
            Some(1) => pending = true,
            _ => return Standing::Missing,
        }
    }
    if pending {
        Standing::Pending
    } else {
        Standing::Success
    }
}

/// A batch found in the records: its pulls and how its jobs stand.
struct Batch {
    pulls: Vec<i64>,
    jobs: usize,
}

/// Prow's `accumulateBatch`: batch jobs at the current base whose every pull
/// is in the pool at the same head; every required job present and none
/// failed. The successful and the pending batch, if any.
fn batches(
    input: &PoolInput<'_>,
    pool: &BTreeMap<i64, &TidePull>,
) -> (Option<Batch>, Option<Batch>) {
    let mut groups: BTreeMap<Vec<(i64, String)>, BTreeMap<String, u8>> = BTreeMap::new();
    for j in input.jobs {
        if j.spec.r#type != Some(ProwJobType::Batch) {
            continue;
        }
        let Some(refs) = &j.spec.refs else { continue };
        if refs.base_sha != input.base_sha || refs.base_ref != input.branch {
            continue;
        }
        let key: Vec<(i64, String)> = refs
            .pulls
            .iter()
            .map(|p| (p.number, p.sha.clone()))
            .collect();
        let valid = key
            .iter()
            .all(|(n, sha)| pool.get(n).is_some_and(|p| &p.head_sha == sha));
        if !valid || key.is_empty() {
            continue;
        }
        let s = simple(j.status.state);
        let states = groups.entry(key).or_default();
        let e = states.entry(j.spec.context.clone()).or_insert(s);
        *e = (*e).max(s);
    }
    let (mut success, mut pending): (Option<Batch>, Option<Batch>) = (None, None);
    for (key, states) in groups {
        let required: BTreeSet<&String> = key
            .iter()
            .filter_map(|(n, _)| pool.get(n))
            .flat_map(|p| p.required_jobs.iter())
            .collect();
        let mut state = 2;
        for c in &required {
            match states.get(*c) {
                Some(s) => state = state.min(*s),
                None => state = 0,
            }
        }
        if required.is_empty() || state == 0 {
            continue;
        }
        let b = Batch {
            pulls: key.iter().map(|(n, _)| *n).collect(),
            jobs: states.len(),
        };
        let slot = if state == 2 {
            &mut success
        } else {
            &mut pending
        };
        if slot.as_ref().is_none_or(|o| b.jobs > o.jobs) {
            *slot = Some(b);
        }
    }
    (success, pending)
}

/// The index of the first `priority` set the pull has (`"a,b"`: either),
/// else past the end.
fn priority_of(pull: &TidePull, priority: &[TidePriority]) -> usize {
    priority
        .iter()
        .position(|p| {
            !p.labels.is_empty()
                && p.labels
                    .iter()
                    .all(|l| l.split(',').any(|alt| pull.has_label(alt.trim())))
        })
        .unwrap_or(priority.len())
}

/// Prow's retest eligibility: the head's non-optional contexts pass, or
/// are pending only for jobs tide itself started for that head.
fn retest_eligible(pull: &TidePull, checker: &ContextChecker, jobs: &[ProwJob]) -> bool {
    pull.contexts.iter().all(|c| {
        if c.context == TIDE_CONTEXT || checker.is_optional(&c.context) || c.state == "success" {
            return true;
        }
        c.state == "pending"
            && jobs.iter().any(|j| {
                j.spec.context == c.context
                    && j.metadata.labels.contains_key(CREATED_BY_TIDE)
                    && simple(j.status.state) == 1
                    && j.spec
                        .refs
                        .as_ref()
                        .and_then(|r| r.pulls.first())
                        .is_some_and(|p| p.number == pull.number && p.sha == pull.head_sha)
            })
    })
}

/// Decides one pool.
pub fn decide(input: &PoolInput<'_>) -> Decision {
    let mut verdicts = Vec::new();
    let mut pool: BTreeMap<i64, &TidePull> = BTreeMap::new();
    let mut standings: BTreeMap<i64, (Standing, BTreeMap<String, u8>)> = BTreeMap::new();
    for pull in input.pulls {
        if let Some(why) = merge_blocker(pull, input.method_labels) {
            verdicts.push(PullVerdict {
                number: pull.number,
                standing: Standing::Out,
                status_state: "error",
                status_description: cut_description(why),
            });
            continue;
        }
        if let Some(problem) = &pull.config_problem {
            verdicts.push(PullVerdict {
                number: pull.number,
                standing: Standing::Out,
                status_state: "error",
                status_description: cut_description(not_mergeable(&format!(
                    " The in-repo config cannot be loaded: {problem}"
                ))),
            });
            continue;
        }
        let checker = input.checker_for(pull);
        let failed = unsuccessful(pull, checker);
        let in_query = input.queries.iter().any(|q| matches(q, pull, input.branch));
        if !in_query || !failed.is_empty() {
            if let Some(why) = blocked_by(input.blockers) {
                verdicts.push(PullVerdict {
                    number: pull.number,
                    standing: Standing::Out,
                    status_state: "error",
                    status_description: cut_description(not_mergeable(&why)),
                });
                continue;
            }
            // The closest query says why (Prow's `requirementDiff`).
            let why = input
                .queries
                .iter()
                .map(|q| requirement_diff(q, pull, input.branch, &failed))
                .min_by_key(|(_, weight)| *weight)
                .map(|(why, _)| why)
                .unwrap_or_default();
            verdicts.push(PullVerdict {
                number: pull.number,
                standing: Standing::Out,
                status_state: "pending",
                status_description: cut_description(not_mergeable(&why)),
            });
            continue;
        }
        let states = job_states(pull, input.base_sha, input.jobs);
        let s = standing(pull, &states);
        pool.insert(pull.number, pull);
        let (state, description) = if s == Standing::Success {
            ("success", STATUS_IN_POOL.to_string())
        } else {
            let missing: Vec<String> = checker
                .required
                .iter()
                .chain(pull.required_jobs.iter())
                .filter(|c| states.get(*c) != Some(&2))
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if missing.is_empty() {
                ("success", STATUS_IN_POOL.to_string())
            } else {
                ("pending", retesting(missing))
            }
        };
        verdicts.push(PullVerdict {
            number: pull.number,
            standing: s.clone(),
            status_state: state,
            status_description: description,
        });
        standings.insert(pull.number, (s, states));
    }

    let (batch_success, batch_pending) = batches(input, &pool);
    let action = if !input.blockers.is_empty() {
        Action::Blocked
    } else {
        take_action(
            input,
            &pool,
            &standings,
            batch_success.as_ref(),
            batch_pending.as_ref(),
        )
    };
    Decision {
        action,
        pulls: verdicts,
        batch_pending: batch_pending.map(|b| b.pulls).unwrap_or_default(),
    }
}

/// Prow's `takeAction`, in its order.
fn take_action(
    input: &PoolInput<'_>,
    pool: &BTreeMap<i64, &TidePull>,
    standings: &BTreeMap<i64, (Standing, BTreeMap<String, u8>)>,
    batch_success: Option<&Batch>,
    batch_pending: Option<&Batch>,
) -> Action {
    if let Some(b) = batch_success {
        return Action::MergeBatch {
            pulls: b.pulls.clone(),
        };
    }
    let by_priority = |numbers: Vec<i64>| -> Vec<i64> {
        let mut n = numbers;
        n.sort_by_key(|n| {
            (
                pool.get(n)
                    .map_or(usize::MAX, |p| priority_of(p, input.priority)),
                *n,
            )
        });
        n
    };
    let of = |want: Standing| -> Vec<i64> {
        by_priority(
            standings
                .iter()
                .filter(|(_, (s, _))| *s == want)
                .map(|(n, _)| *n)
                .collect(),
        )
    };
    let (successes, pendings, missings) = (
        of(Standing::Success),
        of(Standing::Pending),
        of(Standing::Missing),
    );
    if let Some(first) = successes.first()
        && batch_pending.is_none()
    {
        return Action::Merge { pull: *first };
    }
    if pool.values().all(|p| p.required_jobs.is_empty()) {
        return Action::Wait;
    }
    if pool.len() > 1 && batch_pending.is_none() && input.batch_size_limit >= 0 {
        let picked = pick_batch(input, pool);
        if picked.len() > 1 {
            let contexts: BTreeSet<String> = picked
                .iter()
                .filter_map(|n| pool.get(n))
                .flat_map(|p| p.required_jobs.iter().cloned())
                .collect();
            return Action::TriggerBatch {
                pulls: picked,
                contexts: contexts.into_iter().collect(),
            };
        }
    }
    if !missings.is_empty() && pendings.is_empty() && successes.is_empty() {
        for n in &missings {
            let Some(pull) = pool.get(n) else { continue };
            if !retest_eligible(pull, input.checker_for(pull), input.jobs) {
                continue;
            }
            let states = standings.get(n).map(|(_, s)| s);
            // Jobs already running against this base are not started twice.
            let contexts: Vec<String> = pull
                .required_jobs
                .iter()
                .filter(|c| states.and_then(|s| s.get(*c)).is_none_or(|s| *s == 0))
                .cloned()
                .collect();
            if !contexts.is_empty() {
                return Action::Trigger { pull: *n, contexts };
            }
        }
    }
    Action::Wait
}

/// Prow's `pickBatch`: the pulls of an existing batch when asked to keep
/// testing those, else the retest-eligible pulls in priority and number
/// order, up to the limit. Prow merges each candidate onto the base in a
/// clone and keeps the clean ones; Skiff takes GitHub's `mergeable`
/// instead (README: a conflict between two pulls shows when the batch's
/// clone fails).
fn pick_batch(input: &PoolInput<'_>, pool: &BTreeMap<i64, &TidePull>) -> Vec<i64> {
    let mut candidates: Vec<&TidePull> = pool
        .values()
        .copied()
        .filter(|p| retest_eligible(p, input.checker_for(p), input.jobs))
        .collect();
    candidates.sort_by_key(|p| (priority_of(p, input.priority), p.number));
    if input.prioritize_existing_batches {
        let eligible: BTreeSet<i64> = candidates.iter().map(|p| p.number).collect();
        let mut existing: BTreeMap<Vec<i64>, (u8, usize)> = BTreeMap::new();
        for j in input.jobs {
            let Some(refs) = &j.spec.refs else { continue };
            // Prow lists the pool's jobs at its current base only.
            if j.spec.r#type != Some(ProwJobType::Batch)
                || refs.base_ref != input.branch
                || refs.base_sha != input.base_sha
            {
                continue;
            }
            let valid = refs.pulls.iter().all(|p| {
                eligible.contains(&p.number)
                    && pool.get(&p.number).is_some_and(|x| x.head_sha == p.sha)
            });
            let s = simple(j.status.state);
            if !valid || s == 0 {
                continue;
            }
            let e = existing
                .entry(refs.pulls.iter().map(|p| p.number).collect())
                .or_insert((s, 0));
            e.0 = e.0.max(s);
            e.1 += 1;
        }
        for want in [2, 1] {
            if let Some((pulls, _)) = existing
                .iter()
                .filter(|(_, (s, _))| *s == want)
                .max_by_key(|(_, (_, n))| *n)
            {
                return pulls.clone();
            }
        }
    }
    let limit = usize::try_from(input.batch_size_limit).unwrap_or(0);
    candidates
        .iter()
        .filter(|p| p.mergeable != Some(false))
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|p| p.number)
        .collect()
}
