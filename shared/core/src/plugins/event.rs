//! GitHub webhooks as the review plugins see them: the issue or pull request
//! the event is about (with the labels, assignees and author it carries),
//! the review, the push, the status, and Prow's GenericCommentEvent
//! (`pkg/github/helpers.go` `GeneralizeComment`).
//!
//! Read from the same body the trigger's planner reads, with only what the
//! plugins need; lenient as `crate::event::github` is.

use serde::Deserialize;

use crate::event::{CommentAction, EventError, Repo};

/// An issue or pull request, as the event carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issue {
    pub number: i64,
    pub is_pr: bool,
    pub title: String,
    pub body: String,
    pub author: String,
    /// The author's account is a bot (GitHub's `type: Bot`).
    pub author_is_bot: bool,
    /// `open` or `closed`.
    pub state: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub html_url: String,
}

impl Issue {
    /// GitHub matches label names case-insensitively.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(label))
    }

    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
}

/// What only a pull request object carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pull {
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    pub base_sha: String,
    pub draft: bool,
    pub merged: bool,
    /// `None` while GitHub has not computed it.
    pub mergeable: Option<bool>,
    pub requested_reviewers: Vec<String>,
}

/// A submitted, edited or dismissed review.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` (upper case).
    pub state: String,
    pub body: String,
    pub author: String,
    pub author_is_bot: bool,
    pub html_url: String,
}

/// Prow's GenericCommentEvent: the text of a comment, review, or of an issue
/// or pull request's description, and who wrote it. The issue it is on is
/// the event's [`Issue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericComment {
    pub action: CommentAction,
    pub body: String,
    pub author: String,
    pub author_is_bot: bool,
    pub html_url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Push {
    /// `refs/heads/main`.
    pub r#ref: String,
    pub before: String,
    pub after: String,
    pub deleted: bool,
}

impl Push {
    /// The branch pushed to, if a branch was.
    pub fn branch(&self) -> Option<&str> {
        self.r#ref.strip_prefix("refs/heads/")
    }
}

/// A commit status changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub sha: String,
    pub context: String,
    pub state: String,
    pub description: String,
}

/// One webhook, as the plugins see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginEvent {
    /// `X-GitHub-Event`.
    pub name: String,
    /// The payload's `action` (empty for push and status).
    pub action: String,
    pub repo: Repo,
    pub sender: String,
    /// The label of `labeled` and `unlabeled`.
    pub label: Option<String>,
    pub issue: Option<Issue>,
    pub pull: Option<Pull>,
    pub review: Option<Review>,
    pub comment: Option<GenericComment>,
    pub push: Option<Push>,
    pub status: Option<Status>,
}

impl PluginEvent {
    /// The event's issue number, if it is about one.
    pub fn number(&self) -> Option<i64> {
        self.issue.as_ref().map(|i| i.number)
    }
}

// ---------------------------------------------------------------------------
// Payload shapes

#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    login: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl User {
    fn is_bot(&self) -> bool {
        self.kind.as_deref() == Some("Bot")
    }
}

#[derive(Deserialize)]
struct Owner {
    login: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    name: String,
    owner: Owner,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct GhIssue {
    number: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    labels: Option<Vec<Label>>,
    #[serde(default)]
    assignees: Option<Vec<User>>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    pull_request: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Ref {
    #[serde(default)]
    sha: String,
    #[serde(default, rename = "ref")]
    git_ref: String,
}

#[derive(Deserialize)]
struct GhPull {
    number: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    labels: Option<Vec<Label>>,
    #[serde(default)]
    assignees: Option<Vec<User>>,
    #[serde(default)]
    requested_reviewers: Option<Vec<User>>,
    #[serde(default)]
    html_url: Option<String>,
    head: Ref,
    base: Ref,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    mergeable: Option<bool>,
}

#[derive(Deserialize)]
struct GhComment {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct GhReview {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    action: Option<String>,
    repository: Option<Repository>,
    #[serde(default)]
    sender: Option<User>,
    #[serde(default)]
    label: Option<Label>,
    #[serde(default)]
    issue: Option<GhIssue>,
    #[serde(default)]
    pull_request: Option<GhPull>,
    #[serde(default)]
    comment: Option<GhComment>,
    #[serde(default)]
    review: Option<GhReview>,
    // push
    #[serde(default, rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    deleted: Option<bool>,
    // status
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

fn malformed(event: &str, message: impl std::fmt::Display) -> EventError {
    EventError::Malformed {
        event: event.to_string(),
        source: serde::de::Error::custom(message),
    }
}

/// Prow's `GeneralizeCommentAction`: `created|opened|submitted` → created,
/// `edited`, `deleted|dismissed` → deleted; anything else is no comment.
pub fn comment_action(action: &str) -> Option<CommentAction> {
    match action {
        "created" | "opened" | "submitted" => Some(CommentAction::Created),
        "edited" => Some(CommentAction::Edited),
        "deleted" | "dismissed" => Some(CommentAction::Deleted),
        _ => None,
    }
}

fn logins(users: Option<Vec<User>>) -> Vec<String> {
    users.into_iter().flatten().map(|u| u.login).collect()
}

fn names(labels: Option<Vec<Label>>) -> Vec<String> {
    labels.into_iter().flatten().map(|l| l.name).collect()
}

/// Reads one webhook. `Ok(None)`: the event is about no repository (a ping,
/// an installation), so no plugin has anything to do with it.
pub fn parse(event: &str, body: &[u8]) -> Result<Option<PluginEvent>, EventError> {
    let p: Payload = serde_json::from_slice(body).map_err(|e| EventError::Malformed {
        event: event.to_string(),
        source: e,
    })?;
    let Some(repository) = p.repository else {
        return Ok(None);
    };
    let org = repository
        .owner
        .login
        .or(repository.owner.name)
        .ok_or_else(|| malformed(event, "`repository.owner` has neither `login` nor `name`"))?;
    let repo = Repo {
        org,
        repo: repository.name,
        html_url: repository.html_url.unwrap_or_default(),
    };
    let action = p.action.unwrap_or_default();
    let mut out = PluginEvent {
        name: event.to_string(),
        action: action.clone(),
        repo,
        sender: p.sender.map(|s| s.login).unwrap_or_default(),
        label: p.label.map(|l| l.name),
        ..PluginEvent::default()
    };
    // The issue (or pull request) the event is about.
    if let Some(pr) = p.pull_request {
        let user = pr.user.unwrap_or_default();
        out.issue = Some(Issue {
            number: pr.number,
            is_pr: true,
            title: pr.title.unwrap_or_default(),
            body: pr.body.unwrap_or_default(),
            author_is_bot: user.is_bot(),
            author: user.login,
            state: pr.state.unwrap_or_else(|| "open".into()),
            labels: names(pr.labels),
            assignees: logins(pr.assignees),
            html_url: pr.html_url.unwrap_or_default(),
        });
        out.pull = Some(Pull {
            head_sha: pr.head.sha,
            head_ref: pr.head.git_ref,
            base_ref: pr.base.git_ref,
            base_sha: pr.base.sha,
            draft: pr.draft.unwrap_or(false),
            merged: pr.merged.unwrap_or(false),
            mergeable: pr.mergeable,
            requested_reviewers: logins(pr.requested_reviewers),
        });
    } else if let Some(issue) = p.issue {
        let user = issue.user.unwrap_or_default();
        out.issue = Some(Issue {
            number: issue.number,
            is_pr: issue.pull_request.is_some(),
            title: issue.title.unwrap_or_default(),
            body: issue.body.unwrap_or_default(),
            author_is_bot: user.is_bot(),
            author: user.login,
            state: issue.state.unwrap_or_else(|| "open".into()),
            labels: names(issue.labels),
            assignees: logins(issue.assignees),
            html_url: issue.html_url.unwrap_or_default(),
        });
    }
    if let Some(r) = p.review {
        let user = r.user.unwrap_or_default();
        out.review = Some(Review {
            state: r.state.unwrap_or_default().to_uppercase(),
            body: r.body.unwrap_or_default(),
            author_is_bot: user.is_bot(),
            author: user.login,
            html_url: r.html_url.unwrap_or_default(),
        });
    }
    // The generic comment, for the events Prow generalizes.
    let generic = match event {
        "issues" | "pull_request" => out.issue.as_ref().and_then(|i| {
            comment_action(&action).map(|a| GenericComment {
                action: a,
                body: i.body.clone(),
                author: i.author.clone(),
                author_is_bot: i.author_is_bot,
                html_url: i.html_url.clone(),
            })
        }),
        "issue_comment" | "pull_request_review_comment" => p.comment.and_then(|c| {
            let user = c.user.unwrap_or_default();
            comment_action(&action).map(|a| GenericComment {
                action: a,
                body: c.body.unwrap_or_default(),
                author_is_bot: user.is_bot(),
                author: user.login,
                html_url: c.html_url.unwrap_or_default(),
            })
        }),
        "pull_request_review" => out.review.as_ref().and_then(|r| {
            comment_action(&action).map(|a| GenericComment {
                action: a,
                body: r.body.clone(),
                author: r.author.clone(),
                author_is_bot: r.author_is_bot,
                html_url: r.html_url.clone(),
            })
        }),
        _ => None,
    };
    out.comment = generic;
    if event == "push" {
        out.push = Some(Push {
            r#ref: p.git_ref.unwrap_or_default(),
            before: p.before.unwrap_or_default(),
            after: p.after.unwrap_or_default(),
            deleted: p.deleted.unwrap_or(false),
        });
    }
    if event == "status" {
        out.status = Some(Status {
            sha: p.sha.unwrap_or_default(),
            context: p.context.unwrap_or_default(),
            state: p.state.unwrap_or_default(),
            description: p.description.unwrap_or_default(),
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_value(event: &str, v: serde_json::Value) -> PluginEvent {
        parse(event, v.to_string().as_bytes())
            .unwrap()
            .expect("an event about a repository")
    }

    fn repository() -> serde_json::Value {
        json!({"name": "w", "owner": {"login": "o"}, "html_url": "https://github.com/o/w"})
    }

    #[test]
    fn a_new_pull_requests_description_is_a_created_comment_by_its_author() {
        let e = parse_value(
            "pull_request",
            json!({"action": "opened", "repository": repository(), "sender": {"login": "a"},
                   "pull_request": {"number": 3, "body": "/hold", "user": {"login": "a"}, "state": "open",
                                    "head": {"sha": "h", "ref": "f"}, "base": {"sha": "b", "ref": "main"}}}),
        );
        let c = e.comment.unwrap();
        assert_eq!(
            (c.action, c.body.as_str(), c.author.as_str()),
            (CommentAction::Created, "/hold", "a")
        );
        assert!(e.issue.unwrap().is_pr);
    }

    #[test]
    fn only_comment_like_actions_make_a_generic_comment() {
        for (action, want) in [
            ("created", Some(CommentAction::Created)),
            ("opened", Some(CommentAction::Created)),
            ("submitted", Some(CommentAction::Created)),
            ("edited", Some(CommentAction::Edited)),
            ("deleted", Some(CommentAction::Deleted)),
            ("dismissed", Some(CommentAction::Deleted)),
            ("labeled", None),
            ("synchronize", None),
        ] {
            assert_eq!(comment_action(action), want, "{action}");
        }
    }

    #[test]
    fn a_ping_is_about_no_repository() {
        assert_eq!(parse("ping", br#"{"zen": "x"}"#).unwrap(), None);
        assert!(parse("issues", b"not json").is_err());
    }
}
