//! What the review plugins ask of the [`Scm`](skiff_core::ports::Scm) twin:
//! the repository's files at commits, its labels, teams and permissions,
//! reviews, and each issue's assignees, review requests and state. GitHub's
//! idempotence is kept: assigning an assignee or requesting a review twice
//! changes nothing, and a user who is not a collaborator is refused.

use std::collections::{BTreeMap, BTreeSet};

use skiff_core::event::PullRequest;
use skiff_core::ports::{
    BranchHead, CombinedStatus, IssueState, PullFile, PullReview, Tree, TreeEntry,
};

use super::{MemoryScm, lock};

/// The review plugins' side of the repository.
#[derive(Default)]
pub(super) struct ReviewState {
    /// Files by commit (or tree) SHA: `path → text`.
    pub files: BTreeMap<String, BTreeMap<String, String>>,
    /// The commit and tree every branch points at.
    pub head: BranchHead,
    pub repo_labels: Vec<String>,
    pub pull_files: BTreeMap<i64, Vec<PullFile>>,
    pub reviews: BTreeMap<i64, Vec<PullReview>>,
    /// `(team, login)` pairs.
    pub teams: BTreeSet<(String, String)>,
    pub permissions: BTreeMap<String, String>,
    pub assignees: BTreeMap<i64, BTreeSet<String>>,
    pub requested: BTreeMap<i64, BTreeSet<String>>,
    pub states: BTreeMap<i64, IssueState>,
    pub statuses: BTreeMap<String, CombinedStatus>,
    pub open_pulls: Vec<PullRequest>,
    pub authors: BTreeMap<String, Vec<i64>>,
    pub tide: super::scm_tide::TideState,
}

impl ReviewState {
    pub(super) fn tree(&self, sha: &str) -> Tree {
        Tree {
            sha: sha.to_string(),
            entries: self
                .files
                .get(sha)
                .into_iter()
                .flatten()
                .map(|(path, text)| TreeEntry {
                    path: path.clone(),
                    sha: skiff_core::plugins::effects::digest(text),
                    kind: "blob".into(),
                })
                .collect(),
            truncated: false,
        }
    }

    pub(super) fn file(&self, path: &str, sha: &str) -> Option<String> {
        self.files.get(sha)?.get(path).cloned()
    }

    /// Adds the collaborators among `logins`; returns the others.
    pub(super) fn assign(
        &mut self,
        number: i64,
        logins: &[String],
        collaborator: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut refused = Vec::new();
        for l in logins {
            if collaborator(l) {
                self.assignees.entry(number).or_default().insert(l.clone());
            } else {
                refused.push(l.clone());
            }
        }
        refused
    }

    pub(super) fn request(
        &mut self,
        number: i64,
        users: &[String],
        teams: &[String],
        collaborator: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut refused = Vec::new();
        for u in users {
            if collaborator(u) {
                self.requested.entry(number).or_default().insert(u.clone());
            } else {
                refused.push(u.clone());
            }
        }
        for t in teams {
            self.requested
                .entry(number)
                .or_default()
                .insert(format!("team:{t}"));
        }
        refused
    }
}

impl MemoryScm {
    // -- what the review plugins read ---------------------------------------

    /// The files at commit (and tree) `sha`, and every branch's head: the
    /// commit `sha` whose tree is `sha` too.
    pub fn set_files(&self, sha: &str, files: &[(&str, &str)]) {
        let mut state = lock(&self.state);
        state.review.files.insert(
            sha.to_string(),
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        );
        state.review.head = BranchHead {
            sha: sha.to_string(),
            tree_sha: sha.to_string(),
        };
    }

    /// The labels the repository has.
    pub fn set_repo_labels(&self, labels: &[&str]) {
        lock(&self.state).review.repo_labels = labels.iter().map(|l| l.to_string()).collect();
    }

    /// The files (with line counts) pull request `number` changes.
    pub fn set_pull_files(&self, number: i64, files: Vec<PullFile>) {
        lock(&self.state).review.pull_files.insert(number, files);
    }

    pub fn add_review(&self, number: i64, review: PullReview) {
        lock(&self.state)
            .review
            .reviews
            .entry(number)
            .or_default()
            .push(review);
    }

    pub fn add_team_member(&self, team: &str, login: &str) {
        lock(&self.state)
            .review
            .teams
            .insert((team.to_string(), login.to_string()));
    }

    pub fn set_permission(&self, login: &str, permission: &str) {
        lock(&self.state)
            .review
            .permissions
            .insert(login.to_string(), permission.to_string());
    }

    pub fn set_combined_status(&self, sha: &str, status: CombinedStatus) {
        lock(&self.state)
            .review
            .statuses
            .insert(sha.to_string(), status);
    }

    /// The open pull requests every base branch has.
    pub fn set_open_pulls(&self, pulls: Vec<PullRequest>) {
        lock(&self.state).review.open_pulls = pulls;
    }

    pub fn set_pulls_by_author(&self, author: &str, numbers: &[i64]) {
        lock(&self.state)
            .review
            .authors
            .insert(author.to_string(), numbers.to_vec());
    }

    pub fn assignees(&self, number: i64) -> BTreeSet<String> {
        lock(&self.state)
            .review
            .assignees
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// Requested reviewers; teams as `team:<slug>`.
    pub fn requested_reviewers(&self, number: i64) -> BTreeSet<String> {
        lock(&self.state)
            .review
            .requested
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    pub fn issue_state(&self, number: i64) -> Option<IssueState> {
        lock(&self.state).review.states.get(&number).copied()
    }
}
