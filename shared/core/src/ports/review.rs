//! The types of the review plugins' calls on [`Scm`](super::Scm), and the
//! port external plugins are reached through.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CommitStatus, PortError, PortResult};

/// A file a pull request changes (`GET /repos/{o}/{r}/pulls/{n}/files`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullFile {
    pub filename: String,
    /// `added`, `removed`, `modified`, `renamed` …
    pub status: String,
    pub additions: i64,
    pub deletions: i64,
    /// The unified diff hunk GitHub shows (absent for large or binary files).
    pub patch: String,
}

/// An issue comment with what the review plugins read besides its text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueComment {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub html_url: String,
}

/// A pull request review (`GET /repos/{o}/{r}/pulls/{n}/reviews`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullReview {
    pub id: i64,
    pub author: String,
    /// The author's account is a bot (GitHub's `type: Bot`).
    pub author_is_bot: bool,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    pub body: String,
    pub submitted_at: Option<Timestamp>,
    pub html_url: String,
}

/// Where a branch points: its commit and that commit's tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchHead {
    pub sha: String,
    pub tree_sha: String,
}

/// One path of a git tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    pub path: String,
    /// The blob's (or subtree's) SHA.
    pub sha: String,
    /// `blob`, `tree` or `commit`.
    pub kind: String,
}

/// A whole git tree, recursively (`GET …/git/trees/{sha}?recursive=1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    pub sha: String,
    pub entries: Vec<TreeEntry>,
    /// GitHub cut the listing short (more than 100,000 entries).
    pub truncated: bool,
}

/// A commit's combined status (`GET …/commits/{ref}/status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CombinedStatus {
    /// `success`, `pending` or `failure`.
    pub state: String,
    /// The latest status of each context.
    pub statuses: Vec<CommitStatus>,
}

/// An open issue as tide's blocker search reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelledIssue {
    pub number: i64,
    pub title: String,
    pub html_url: String,
}

/// A check run on a commit as tide reads it (`GET …/commits/{sha}/check-runs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckRunState {
    pub name: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Once completed: `success`, `failure`, `neutral`, `skipped`, …
    pub conclusion: String,
}

impl CheckRunState {
    /// As a commit status's state: Prow counts `success`, `neutral` and
    /// `skipped` as passing and a run not completed as pending.
    pub fn status_state(&self) -> &'static str {
        match (self.status.as_str(), self.conclusion.as_str()) {
            ("completed", "success" | "neutral" | "skipped") => "success",
            ("completed", _) => "failure",
            _ => "pending",
        }
    }
}

/// What GitHub said to a merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    Merged,
    /// 409: the pull's head moved since tide tested it.
    HeadModified(String),
    /// 405: GitHub will not merge it (its message: the base moved, a
    /// branch rule, a method the repo disallows).
    Refused(String),
}

/// What an issue or pull request is set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    Open,
    Closed,
    /// Closed with GitHub's `state_reason: not_planned` (issues only).
    ClosedNotPlanned,
}

/// Why a code host answers no to a review-plugin call: the default of
/// [`Scm`]'s review methods, which only GitHub implements.
pub fn no_review_calls(org: &str, repo: &str, what: &str) -> PortError {
    PortError::Rejected(
        format!("{org}/{repo}: this code host does not serve {what} (the review plugins run on GitHub only)").into(),
    )
}

// ---------------------------------------------------------------------------
// External plugins

/// Prow's external plugins: HTTP services that get GitHub's events as hook
/// got them (`external_plugins:` in plugins.yaml).
#[async_trait]
pub trait HookForwarder: Send + Sync {
    /// POSTs `body` with `headers` to `endpoint`; the HTTP status it
    /// answered. A plugin that cannot be reached is
    /// [`PortError::Unavailable`].
    async fn forward(
        &self,
        endpoint: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> PortResult<u16>;
}
