//! What tide asks of the [`Scm`](skiff_core::ports::Scm) twin, kept as
//! GitHub keeps it: a merge closes the pull and moves its base branch to a
//! new commit; statuses written on a commit show in its combined status
//! (newest per context); a merge can be answered with GitHub's refusals.

use std::collections::{BTreeMap, VecDeque};

use skiff_core::ports::{CheckRunState, CombinedStatus, CommitStatus, LabelledIssue, MergeOutcome};
use skiff_core::tide::merge::MergeRequest;

use super::scm::ScmCall;
use super::{MemoryScm, lock};

/// Tide's side of the repository.
#[derive(Default)]
pub(super) struct TideState {
    pub merges: Vec<(i64, MergeRequest)>,
    pub answers: VecDeque<MergeOutcome>,
    pub org_repos: Vec<String>,
    pub check_runs: BTreeMap<String, Vec<CheckRunState>>,
    pub required_checks: Vec<String>,
    /// Open issues and the labels they carry.
    pub issues: Vec<(LabelledIssue, Vec<String>)>,
}

impl MemoryScm {
    /// The next merges are answered so, in order (then merged).
    pub fn answer_next_merge(&self, outcome: MergeOutcome) {
        lock(&self.state).review.tide.answers.push_back(outcome);
    }

    /// Every merge GitHub made, in order: the pull and what was sent.
    pub fn merges(&self) -> Vec<(i64, MergeRequest)> {
        lock(&self.state).review.tide.merges.clone()
    }

    /// The repositories `org_repos` lists for any org.
    pub fn set_org_repos(&self, repos: &[&str]) {
        lock(&self.state).review.tide.org_repos = repos.iter().map(|r| r.to_string()).collect();
    }

    /// The check runs `check_runs_on(sha)` lists.
    pub fn set_check_runs_on(&self, sha: &str, runs: Vec<CheckRunState>) {
        lock(&self.state)
            .review
            .tide
            .check_runs
            .insert(sha.to_string(), runs);
    }

    /// The status checks every branch's protection requires.
    pub fn set_required_status_checks(&self, contexts: &[&str]) {
        lock(&self.state).review.tide.required_checks =
            contexts.iter().map(|c| c.to_string()).collect();
    }

    /// An open issue with its labels (tide's blockers are among them).
    pub fn add_issue(&self, number: i64, title: &str, labels: &[&str]) {
        let issue = LabelledIssue {
            number,
            title: title.to_string(),
            html_url: format!("https://github.com/issues/{number}"),
        };
        let labels = labels.iter().map(|l| l.to_string()).collect();
        lock(&self.state).review.tide.issues.push((issue, labels));
    }

    /// Closes issue `number` (it no longer blocks).
    pub fn close_issue(&self, number: i64) {
        lock(&self.state)
            .review
            .tide
            .issues
            .retain(|(i, _)| i.number != number);
    }

    pub(super) fn issues_labelled(&self, label: &str) -> Vec<LabelledIssue> {
        lock(&self.state)
            .review
            .tide
            .issues
            .iter()
            .filter(|(_, labels)| labels.iter().any(|l| l == label))
            .map(|(i, _)| i.clone())
            .collect()
    }

    pub(super) fn check_runs_of(&self, sha: &str) -> Vec<CheckRunState> {
        lock(&self.state)
            .review
            .tide
            .check_runs
            .get(sha)
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn required_checks(&self) -> Vec<String> {
        lock(&self.state).review.tide.required_checks.clone()
    }

    pub(super) fn org_repo_names(&self) -> Vec<String> {
        lock(&self.state).review.tide.org_repos.clone()
    }

    /// A merge: refused as scripted, else the pull leaves the open list,
    /// and its base branch moves to `merged-<n>`.
    pub(super) fn take_merge(&self, number: i64, request: &MergeRequest) -> MergeOutcome {
        let mut state = lock(&self.state);
        if let Some(answer) = state.review.tide.answers.pop_front() {
            return answer;
        }
        state.review.tide.merges.push((number, request.clone()));
        state.review.open_pulls.retain(|p| p.number != number);
        state.branch_sha = format!("merged-{number}");
        MergeOutcome::Merged
    }

    /// The combined status of `sha`: the set one, with the statuses written
    /// since on top (the newest of each context wins).
    pub(super) fn combined(&self, sha: &str) -> CombinedStatus {
        let mut combined = lock(&self.state)
            .review
            .statuses
            .get(sha)
            .cloned()
            .unwrap_or_default();
        let mut newest: BTreeMap<String, CommitStatus> = BTreeMap::new();
        for call in self.calls() {
            if let ScmCall::Status { sha: at, status } = call
                && at == sha
            {
                newest.insert(status.context.clone(), status);
            }
        }
        combined
            .statuses
            .retain(|s| !newest.contains_key(&s.context));
        combined.statuses.extend(newest.into_values());
        combined
    }
}
