//! Events that can start jobs, in one neutral model whatever the source: GitHub
//! webhooks (`github`) and CodeCommit's EventBridge events (`codecommit`).
//!
//! Parsing is lenient, as GitHub keeps adding fields: unknown fields are ignored,
//! optional ones are optional. An event or action Skiff does not act on becomes
//! [`Event::Ignored`] with a reason — never an error. Only a body that is not the
//! event it claims to be (bad JSON, a missing required field) is an error.

pub mod codecommit;
pub mod github;
mod merge_group;

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The repository an event happened in. For CodeCommit, `org` is the AWS
/// region and `repo` the repository name (`us-east-1/my-repo`): names are
/// unique per account and region, and one deployment serves one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Repo {
    pub org: String,
    pub repo: String,
    /// `https://github.com/acme/widgets`; becomes `refs.repo_link`.
    pub html_url: String,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.org, self.repo)
    }
}

/// A pull request as the planner needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub repo: Repo,
    pub number: i64,
    pub title: String,
    /// The description; at `opened` it counts as a comment (Prow does this).
    pub body: String,
    pub author: String,
    pub author_link: String,
    /// `https://github.com/acme/widgets/pull/42`.
    pub html_url: String,
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    /// The base SHA GitHub reported in the payload.
    pub base_sha: String,
    pub draft: bool,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    /// GitHub's mergeability: `Some(false)` means a conflict; `None` unknown.
    pub mergeable: Option<bool>,
    pub labels: Vec<String>,
    /// The milestone's title, if the pull has one (tide's `milestone`).
    pub milestone: String,
}

impl PullRequest {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }
}

/// What happened to a pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "detail")]
pub enum PrAction {
    Opened,
    Reopened,
    ReadyForReview,
    /// Only a change of base (branch or SHA) makes Prow rebuild.
    Edited {
        base_changed: bool,
    },
    /// A new push to the PR's branch.
    Synchronize,
    Closed,
    ConvertedToDraft,
    Labeled {
        label: String,
    },
    Unlabeled {
        label: String,
    },
    /// Recognised but not acted on (assigned, locked, review_requested, …).
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullRequestEvent {
    pub action: PrAction,
    pub pr: PullRequest,
    /// Who did it.
    pub sender: String,
}

/// What happened to a comment (Prow's GenericCommentEvent actions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentAction {
    Created,
    Edited,
    Deleted,
}

/// A comment on an issue or pull request, or a submitted review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommentEvent {
    pub action: CommentAction,
    pub repo: Repo,
    pub number: i64,
    pub is_pull_request: bool,
    /// `None` when the event does not carry it (CodeCommit): fetch it.
    pub body: Option<String>,
    /// CodeCommit's comment id, to fetch the body with.
    pub comment_id: Option<String>,
    pub author: String,
    /// `open` or `closed`: the issue's or PR's state when commented.
    pub issue_state: String,
    /// The pull request when the event carries it (reviews do, comments don't).
    pub pr: Option<PullRequest>,
    pub html_url: String,
}

/// A push of commits, or of a new branch or tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushEvent {
    pub repo: Repo,
    /// Full ref: `refs/heads/main`, `refs/tags/v1.2.3`.
    pub r#ref: String,
    pub before: String,
    pub after: String,
    /// The ref was deleted: nothing runs.
    pub deleted: bool,
    /// `https://github.com/acme/widgets/compare/abc...def`.
    pub compare_url: String,
    pub pusher: String,
    /// Added, removed and modified paths over the pushed commits, or `None`
    /// when the event does not list them (CodeCommit): fetch them if needed.
    pub changed_files: Option<Vec<String>>,
}

/// GitHub's merge queue made a merge group (`merge_group`,
/// `checks_requested`): a temporary branch whose head is the base with the
/// queued pull requests merged in; the queue merges them once the branch's
/// required checks pass on that head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeGroupEvent {
    pub repo: Repo,
    /// `gh-readonly-queue/main/pr-104-<sha>` (without `refs/heads/`).
    pub head_ref: String,
    pub head_sha: String,
    /// The branch the queue merges into (without `refs/heads/`).
    pub base_ref: String,
    pub base_sha: String,
}

impl PushEvent {
    /// The branch or tag name, as postsubmit `branches` match it.
    pub fn branch(&self) -> &str {
        self.r#ref
            .strip_prefix("refs/heads/")
            .or_else(|| self.r#ref.strip_prefix("refs/tags/"))
            .unwrap_or(&self.r#ref)
    }

    /// Deleted refs never trigger: GitHub says so, or the new SHA is all zeros.
    pub fn is_deletion(&self) -> bool {
        self.deleted || (!self.after.is_empty() && self.after.bytes().all(|b| b == b'0'))
    }
}

/// GitHub's "Re-run" button on a check run or check suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RerunEvent {
    pub repo: Repo,
    pub head_sha: String,
    /// The check run's name (= the job's context); `None` for a whole suite.
    pub check_name: Option<String>,
    /// Pull requests the check belongs to.
    pub pulls: Vec<i64>,
    pub sender: String,
}

/// One event, in Skiff's neutral model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Event {
    PullRequest(PullRequestEvent),
    Comment(CommentEvent),
    Push(PushEvent),
    Rerun(RerunEvent),
    /// GitHub's merge queue asks for the required checks of a merge group.
    MergeGroup(MergeGroupEvent),
    /// Recognised and deliberately not acted on.
    Ignored {
        event: String,
        reason: String,
    },
}

/// A body that is not the event its header claims.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("malformed {event} payload: {source}")]
    Malformed {
        event: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a payload, naming the event in the error.
fn decode<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, EventError> {
    serde_json::from_slice(body).map_err(|source| EventError::Malformed {
        event: event.to_owned(),
        source,
    })
}

/// A payload that parsed but lacks what the event needs.
fn malformed(event: &str, message: impl Display) -> EventError {
    EventError::Malformed {
        event: event.to_owned(),
        source: serde::de::Error::custom(message),
    }
}

fn ignored(event: &str, reason: impl Into<String>) -> Event {
    Event::Ignored {
        event: event.to_owned(),
        reason: reason.into(),
    }
}
