//! GitHub webhooks into the neutral [`Event`] model.
//!
//! The structs below declare only what Skiff reads. GitHub adds fields all the
//! time and leaves some out of some payloads (a review's `pull_request` has no
//! `merged` or `mergeable`), so anything not needed to identify the event is
//! optional and falls back to what Prow assumes when it is absent.

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{
    CommentAction, CommentEvent, Event, EventError, PrAction, PullRequest, PullRequestEvent,
    PushEvent, Repo, RerunEvent, decode, ignored, malformed,
};

/// Parses one webhook delivery. `event_name` is the `X-GitHub-Event` header.
///
/// Events and actions Skiff does not act on become [`Event::Ignored`]; only a
/// body that is not the event the header names is an error.
pub fn parse(event_name: &str, body: &[u8]) -> Result<Event, EventError> {
    match event_name {
        "pull_request" => pull_request(body),
        "issue_comment" => issue_comment(body),
        "pull_request_review" => pull_request_review(body),
        "push" => push(body),
        "check_run" => check_run(body),
        "check_suite" => check_suite(body),
        "merge_group" => super::merge_group::parse(body),
        "ping" => Ok(ignored(
            "ping",
            "GitHub sends `ping` to check the webhook is reachable; there is nothing to run",
        )),
        "" => Ok(ignored(
            "",
            "the delivery names no event (the X-GitHub-Event header is missing)",
        )),
        other => Ok(ignored(
            other,
            format!("Skiff does not act on `{other}` events"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Payload shapes

/// Read first where some actions are ignored, so that an ignored action is
/// never rejected for lacking fields only the handled actions carry.
#[derive(Deserialize)]
struct ActionOnly {
    action: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Owner {
    login: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Repository {
    name: String,
    owner: Owner,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
}

#[derive(Deserialize)]
struct Base {
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
    repo: Repository,
}

#[derive(Deserialize)]
struct GhPullRequest {
    number: i64,
    title: Option<String>,
    body: Option<String>,
    user: User,
    html_url: Option<String>,
    head: Head,
    base: Base,
    draft: Option<bool>,
    state: String,
    merged: Option<bool>,
    mergeable: Option<bool>,
    labels: Option<Vec<Label>>,
    milestone: Option<Milestone>,
}

#[derive(Deserialize)]
struct Milestone {
    title: String,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    action: String,
    pull_request: GhPullRequest,
    sender: User,
    label: Option<Label>,
    changes: Option<Changes>,
}

#[derive(Deserialize)]
struct Changes {
    base: Option<BaseChanges>,
}

#[derive(Deserialize)]
struct BaseChanges {
    #[serde(rename = "ref")]
    git_ref: Option<Change>,
    sha: Option<Change>,
}

#[derive(Deserialize)]
struct Change {
    from: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct IssueCommentPayload {
    issue: Issue,
    comment: Comment,
    repository: Repository,
}

#[derive(Deserialize)]
struct Issue {
    number: i64,
    state: String,
    /// Present (an object of links) only when the issue is a pull request.
    pull_request: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Comment {
    body: Option<String>,
    user: User,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct ReviewPayload {
    review: Comment,
    pull_request: GhPullRequest,
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    deleted: Option<bool>,
    compare: Option<String>,
    pusher: Option<Pusher>,
    sender: Option<User>,
    repository: Repository,
    commits: Option<Vec<Commit>>,
    head_commit: Option<Commit>,
}

#[derive(Deserialize)]
struct Pusher {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Commit {
    added: Option<Vec<String>>,
    removed: Option<Vec<String>>,
    modified: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CheckRunPayload {
    check_run: CheckRun,
    repository: Repository,
    sender: User,
}

#[derive(Deserialize)]
struct CheckRun {
    name: String,
    head_sha: String,
    pull_requests: Option<Vec<PullNumber>>,
}

#[derive(Deserialize)]
struct CheckSuitePayload {
    check_suite: CheckSuite,
    repository: Repository,
    sender: User,
}

#[derive(Deserialize)]
struct CheckSuite {
    head_sha: String,
    pull_requests: Option<Vec<PullNumber>>,
}

#[derive(Deserialize)]
struct PullNumber {
    number: i64,
}

// ---------------------------------------------------------------------------
// Events

/// A pull request as `GET /repos/{org}/{repo}/pulls/{number}` returns it: the
/// same object a `pull_request` event carries.
pub fn parse_pull_request(body: &[u8]) -> Result<PullRequest, EventError> {
    const WHAT: &str = "pull request";
    let pr: GhPullRequest = decode(WHAT, body)?;
    pr.into_model(WHAT)
}

fn pull_request(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "pull_request";
    let p: PullRequestPayload = decode(EVENT, body)?;
    let label = |label: Option<Label>| {
        label
            .map(|l| l.name)
            .ok_or_else(|| malformed(EVENT, format!("action `{}` has no `label`", p.action)))
    };
    let action = match p.action.as_str() {
        "opened" => PrAction::Opened,
        "reopened" => PrAction::Reopened,
        "ready_for_review" => PrAction::ReadyForReview,
        "edited" => PrAction::Edited {
            base_changed: base_changed(p.changes),
        },
        "synchronize" => PrAction::Synchronize,
        "closed" => PrAction::Closed,
        "converted_to_draft" => PrAction::ConvertedToDraft,
        "labeled" => PrAction::Labeled {
            label: label(p.label)?,
        },
        "unlabeled" => PrAction::Unlabeled {
            label: label(p.label)?,
        },
        // Kept rather than ignored so the planner can say why it starts nothing.
        other => PrAction::Other(other.to_owned()),
    };
    Ok(Event::PullRequest(PullRequestEvent {
        action,
        pr: p.pull_request.into_model(EVENT)?,
        sender: p.sender.login,
    }))
}

/// Prow rebuilds on `edited` only when the base moved: a new title or
/// description changes nothing that was tested.
fn base_changed(changes: Option<Changes>) -> bool {
    let present = |c: Option<Change>| c.is_some_and(|c| c.from.is_some());
    changes
        .and_then(|c| c.base)
        .is_some_and(|b| present(b.git_ref) || present(b.sha))
}

fn issue_comment(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "issue_comment";
    let action = match decode::<ActionOnly>(EVENT, body)?.action.as_str() {
        "created" => CommentAction::Created,
        "edited" => CommentAction::Edited,
        "deleted" => CommentAction::Deleted,
        other => return Ok(ignored_action(EVENT, other)),
    };
    let p: IssueCommentPayload = decode(EVENT, body)?;
    Ok(Event::Comment(CommentEvent {
        action,
        repo: p.repository.into_model(EVENT)?,
        number: p.issue.number,
        is_pull_request: p.issue.pull_request.is_some(),
        body: Some(p.comment.body.unwrap_or_default()),
        comment_id: None,
        author: p.comment.user.login,
        issue_state: p.issue.state,
        pr: None,
        html_url: p.comment.html_url.unwrap_or_default(),
    }))
}

/// Prow treats a review as a comment on the pull request (its generic comment
/// event), so `/test` in a review body works.
fn pull_request_review(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "pull_request_review";
    let action = match decode::<ActionOnly>(EVENT, body)?.action.as_str() {
        "submitted" => CommentAction::Created,
        "edited" => CommentAction::Edited,
        "dismissed" => CommentAction::Deleted,
        other => return Ok(ignored_action(EVENT, other)),
    };
    let p: ReviewPayload = decode(EVENT, body)?;
    let pr = p.pull_request.into_model(EVENT)?;
    Ok(Event::Comment(CommentEvent {
        action,
        repo: pr.repo.clone(),
        number: pr.number,
        is_pull_request: true,
        body: Some(p.review.body.unwrap_or_default()),
        comment_id: None,
        author: p.review.user.login,
        issue_state: pr.state.clone(),
        html_url: p.review.html_url.unwrap_or_default(),
        pr: Some(pr),
    }))
}

fn push(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "push";
    let p: PushPayload = decode(EVENT, body)?;
    // A tag or branch created without new commits lists its files only in
    // `head_commit`.
    let commits = match (p.commits, p.head_commit) {
        (Some(commits), _) if !commits.is_empty() => commits,
        (_, Some(head)) => vec![head],
        _ => Vec::new(),
    };
    let pusher = p
        .pusher
        .and_then(|p| p.name)
        .or(p.sender.map(|s| s.login))
        .unwrap_or_default();
    Ok(Event::Push(PushEvent {
        repo: p.repository.into_model(EVENT)?,
        r#ref: p.git_ref,
        before: p.before,
        after: p.after,
        deleted: p.deleted.unwrap_or(false),
        compare_url: p.compare.unwrap_or_default(),
        pusher,
        changed_files: Some(changed_files(commits)),
    }))
}

/// Added, removed and modified paths over all commits, each once, in the order
/// first seen — the list Prow's `run_if_changed` matches against.
fn changed_files(commits: Vec<Commit>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for c in commits {
        let paths = [c.added, c.removed, c.modified]
            .into_iter()
            .flatten()
            .flatten();
        for path in paths {
            if seen.insert(path.clone()) {
                files.push(path);
            }
        }
    }
    files
}

fn check_run(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "check_run";
    let action = decode::<ActionOnly>(EVENT, body)?.action;
    if action != "rerequested" {
        return Ok(ignored_rerun(EVENT, &action));
    }
    let p: CheckRunPayload = decode(EVENT, body)?;
    Ok(Event::Rerun(RerunEvent {
        repo: p.repository.into_model(EVENT)?,
        head_sha: p.check_run.head_sha,
        check_name: Some(p.check_run.name),
        pulls: numbers(p.check_run.pull_requests),
        sender: p.sender.login,
    }))
}

fn check_suite(body: &[u8]) -> Result<Event, EventError> {
    const EVENT: &str = "check_suite";
    let action = decode::<ActionOnly>(EVENT, body)?.action;
    if action != "rerequested" {
        return Ok(ignored_rerun(EVENT, &action));
    }
    let p: CheckSuitePayload = decode(EVENT, body)?;
    Ok(Event::Rerun(RerunEvent {
        repo: p.repository.into_model(EVENT)?,
        head_sha: p.check_suite.head_sha,
        check_name: None,
        pulls: numbers(p.check_suite.pull_requests),
        sender: p.sender.login,
    }))
}

fn numbers(pulls: Option<Vec<PullNumber>>) -> Vec<i64> {
    pulls.into_iter().flatten().map(|p| p.number).collect()
}

// ---------------------------------------------------------------------------
// Conversions and helpers

impl Repository {
    pub(super) fn into_model(self, event: &str) -> Result<Repo, EventError> {
        // Push payloads describe the owner in git's terms (`name`, `email`)
        // as well as GitHub's (`login`); other payloads only by `login`.
        let org =
            self.owner.login.or(self.owner.name).ok_or_else(|| {
                malformed(event, "`repository.owner` has neither `login` nor `name`")
            })?;
        Ok(Repo {
            org,
            repo: self.name,
            html_url: self.html_url.unwrap_or_default(),
        })
    }
}

impl GhPullRequest {
    fn into_model(self, event: &str) -> Result<PullRequest, EventError> {
        Ok(PullRequest {
            repo: self.base.repo.into_model(event)?,
            number: self.number,
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            author: self.user.login,
            author_link: self.user.html_url.unwrap_or_default(),
            html_url: self.html_url.unwrap_or_default(),
            head_sha: self.head.sha,
            head_ref: self.head.git_ref,
            base_ref: self.base.git_ref,
            base_sha: self.base.sha,
            draft: self.draft.unwrap_or(false),
            state: self.state,
            merged: self.merged.unwrap_or(false),
            mergeable: self.mergeable,
            labels: self.labels.into_iter().flatten().map(|l| l.name).collect(),
            milestone: self.milestone.map(|m| m.title).unwrap_or_default(),
        })
    }
}

fn ignored_action(event: &str, action: &str) -> Event {
    ignored(event, format!("{event} action `{action}` starts nothing"))
}

fn ignored_rerun(event: &str, action: &str) -> Event {
    ignored(
        event,
        format!(
            "{event} action `{action}` starts nothing; only `rerequested` (GitHub's Re-run button) does"
        ),
    )
}

#[cfg(test)]
mod pull_request_object_tests {
    use super::*;

    #[test]
    fn the_rest_api_pull_request_object_parses() {
        let body = br#"{"number": 7, "title": "t", "body": null, "user": {"login": "alice"},
            "head": {"sha": "h", "ref": "f", "repo": {"name": "w", "owner": {"login": "acme"}}},
            "base": {"sha": "b", "ref": "main", "repo": {"name": "w", "owner": {"login": "acme"}, "html_url": "https://github.com/acme/w"}},
            "state": "open", "mergeable": false, "labels": [{"name": "ok-to-test"}]}"#;
        let pr = parse_pull_request(body).unwrap();
        assert_eq!((pr.number, pr.repo.full_name().as_str()), (7, "acme/w"));
        assert_eq!(pr.mergeable, Some(false));
        assert_eq!(pr.labels, ["ok-to-test"]);
        assert!(
            parse_pull_request(b"{}")
                .unwrap_err()
                .to_string()
                .starts_with("malformed pull request payload")
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn repository() -> Value {
        json!({
            "name": "widgets",
            "full_name": "acme/widgets",
            "html_url": "https://github.com/acme/widgets",
            "owner": {"login": "acme", "id": 1}
        })
    }

    fn pull_request_payload(action: &str) -> Value {
        json!({
            "action": action,
            "number": 42,
            "pull_request": {
                "number": 42,
                "html_url": "https://github.com/acme/widgets/pull/42",
                "state": "open",
                "title": "Speed up the frobnicator",
                "body": "Fixes #7",
                "user": {"login": "alice", "html_url": "https://github.com/alice"},
                "draft": false,
                "merged": false,
                "mergeable": true,
                "labels": [{"name": "lgtm"}, {"name": "ok-to-test"}],
                "head": {"sha": "1111111111111111111111111111111111111111", "ref": "frob"},
                "base": {
                    "sha": "2222222222222222222222222222222222222222",
                    "ref": "main",
                    "repo": repository()
                }
            },
            "repository": repository(),
            "sender": {"login": "bob"}
        })
    }

    fn parse_value(event: &str, v: &Value) -> Result<Event, EventError> {
        parse(event, &serde_json::to_vec(v).unwrap())
    }

    fn pr_event(v: &Value) -> PullRequestEvent {
        match parse_value("pull_request", v) {
            Ok(Event::PullRequest(e)) => e,
            other => panic!("expected a pull request event, got {other:?}"),
        }
    }

    fn push_event(v: &Value) -> PushEvent {
        match parse_value("push", v) {
            Ok(Event::Push(e)) => e,
            other => panic!("expected a push event, got {other:?}"),
        }
    }

    #[test]
    fn pull_request_fields_map_from_the_payload() {
        let e = pr_event(&pull_request_payload("opened"));
        assert_eq!(e.action, PrAction::Opened);
        assert_eq!(e.sender, "bob");
        assert_eq!(
            e.pr,
            PullRequest {
                repo: Repo {
                    org: "acme".into(),
                    repo: "widgets".into(),
                    html_url: "https://github.com/acme/widgets".into(),
                },
                number: 42,
                title: "Speed up the frobnicator".into(),
                body: "Fixes #7".into(),
                author: "alice".into(),
                author_link: "https://github.com/alice".into(),
                html_url: "https://github.com/acme/widgets/pull/42".into(),
                head_sha: "1111111111111111111111111111111111111111".into(),
                head_ref: "frob".into(),
                base_ref: "main".into(),
                base_sha: "2222222222222222222222222222222222222222".into(),
                draft: false,
                state: "open".into(),
                merged: false,
                mergeable: Some(true),
                labels: vec!["lgtm".into(), "ok-to-test".into()],
                milestone: String::new(),
            }
        );
    }

    #[test]
    fn pull_request_actions_map_to_prow_actions() {
        for (action, expected) in [
            ("opened", PrAction::Opened),
            ("reopened", PrAction::Reopened),
            ("ready_for_review", PrAction::ReadyForReview),
            ("synchronize", PrAction::Synchronize),
            ("closed", PrAction::Closed),
            ("converted_to_draft", PrAction::ConvertedToDraft),
            ("assigned", PrAction::Other("assigned".into())),
            (
                "auto_merge_enabled",
                PrAction::Other("auto_merge_enabled".into()),
            ),
        ] {
            assert_eq!(
                pr_event(&pull_request_payload(action)).action,
                expected,
                "{action}"
            );
        }
    }

    #[test]
    fn labeled_and_unlabeled_carry_the_label_name() {
        let mut v = pull_request_payload("labeled");
        v["label"] = json!({"name": "ok-to-test", "color": "ededed"});
        assert_eq!(
            pr_event(&v).action,
            PrAction::Labeled {
                label: "ok-to-test".into()
            }
        );
        v["action"] = "unlabeled".into();
        assert_eq!(
            pr_event(&v).action,
            PrAction::Unlabeled {
                label: "ok-to-test".into()
            }
        );
    }

    #[test]
    fn labeled_without_a_label_is_malformed() {
        let msg = parse_value("pull_request", &pull_request_payload("labeled"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("action `labeled` has no `label`"), "{msg}");
    }

    #[test]
    fn edited_without_a_base_change_does_not_rebuild() {
        let mut v = pull_request_payload("edited");
        assert_eq!(
            pr_event(&v).action,
            PrAction::Edited {
                base_changed: false
            },
            "no `changes` at all"
        );
        v["changes"] = json!({"title": {"from": "Old title"}, "body": {"from": ""}});
        assert_eq!(
            pr_event(&v).action,
            PrAction::Edited {
                base_changed: false
            }
        );
    }

    #[test]
    fn edited_with_a_new_base_ref_or_sha_is_a_base_change() {
        for changes in [
            json!({"base": {"ref": {"from": "release-1.0"}}}),
            json!({"base": {"sha": {"from": "3333333333333333333333333333333333333333"}}}),
            json!({"base": {"ref": {"from": "release-1.0"}, "sha": {"from": "3333"}}}),
        ] {
            let mut v = pull_request_payload("edited");
            v["changes"] = changes.clone();
            assert_eq!(
                pr_event(&v).action,
                PrAction::Edited { base_changed: true },
                "{changes}"
            );
        }
    }

    #[test]
    fn missing_draft_and_merged_mean_false_and_null_mergeable_is_unknown() {
        let mut v = pull_request_payload("opened");
        let pr = v["pull_request"].as_object_mut().unwrap();
        pr.remove("draft");
        pr.remove("merged");
        pr.insert("mergeable".into(), Value::Null);
        let e = pr_event(&v);
        assert!(!e.pr.draft);
        assert!(!e.pr.merged);
        assert_eq!(e.pr.mergeable, None);
    }

    #[test]
    fn a_conflict_is_mergeable_false() {
        let mut v = pull_request_payload("synchronize");
        v["pull_request"]["mergeable"] = false.into();
        assert_eq!(pr_event(&v).pr.mergeable, Some(false));
    }

    #[test]
    fn a_null_body_or_title_is_empty() {
        let mut v = pull_request_payload("opened");
        v["pull_request"]["body"] = Value::Null;
        v["pull_request"]["title"] = Value::Null;
        let e = pr_event(&v);
        assert_eq!(e.pr.body, "");
        assert_eq!(e.pr.title, "");
    }

    #[test]
    fn a_draft_is_a_draft() {
        let mut v = pull_request_payload("opened");
        v["pull_request"]["draft"] = true.into();
        assert!(pr_event(&v).pr.draft);
    }

    #[test]
    fn malformed_json_names_the_event_and_the_position() {
        let err = parse(
            "pull_request",
            b"{\n  \"action\": \"opened\",\n  \"number\": }",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("malformed pull_request payload: "), "{msg}");
        assert!(msg.contains("line 3 column 13"), "{msg}");
        let EventError::Malformed { event, .. } = err;
        assert_eq!(event, "pull_request");
    }

    #[test]
    fn a_missing_required_field_is_malformed() {
        let mut v = pull_request_payload("opened");
        v["pull_request"]["head"]
            .as_object_mut()
            .unwrap()
            .remove("sha");
        let msg = parse_value("pull_request", &v).unwrap_err().to_string();
        assert!(msg.contains("missing field `sha`"), "{msg}");
        assert!(msg.contains("line 1 column"), "{msg}");
    }

    #[test]
    fn not_even_json_is_malformed_for_every_handled_event() {
        for event in [
            "pull_request",
            "issue_comment",
            "pull_request_review",
            "push",
            "check_run",
            "check_suite",
            "merge_group",
        ] {
            let msg = parse(event, b"<html>").unwrap_err().to_string();
            assert!(
                msg.starts_with(&format!("malformed {event} payload")),
                "{msg}"
            );
        }
    }

    fn issue_comment_payload(action: &str, on_pull_request: bool) -> Value {
        let mut issue =
            json!({"number": 7, "state": "open", "title": "t", "user": {"login": "alice"}});
        if on_pull_request {
            issue["pull_request"] =
                json!({"url": "https://api.github.com/repos/acme/widgets/pulls/7"});
        }
        json!({
            "action": action,
            "issue": issue,
            "comment": {
                "id": 99,
                "body": "/retest",
                "html_url": "https://github.com/acme/widgets/pull/7#issuecomment-99",
                "user": {"login": "carol"}
            },
            "repository": repository(),
            "sender": {"login": "carol"}
        })
    }

    #[test]
    fn a_comment_on_a_pull_request_is_a_comment_event() {
        let event = parse_value("issue_comment", &issue_comment_payload("created", true)).unwrap();
        assert_eq!(
            event,
            Event::Comment(CommentEvent {
                action: CommentAction::Created,
                repo: Repo {
                    org: "acme".into(),
                    repo: "widgets".into(),
                    html_url: "https://github.com/acme/widgets".into(),
                },
                number: 7,
                is_pull_request: true,
                body: Some("/retest".into()),
                comment_id: None,
                author: "carol".into(),
                issue_state: "open".into(),
                pr: None,
                html_url: "https://github.com/acme/widgets/pull/7#issuecomment-99".into(),
            })
        );
    }

    #[test]
    fn a_comment_on_an_issue_is_not_on_a_pull_request() {
        let Event::Comment(c) =
            parse_value("issue_comment", &issue_comment_payload("edited", false)).unwrap()
        else {
            panic!("expected a comment");
        };
        assert!(!c.is_pull_request);
        assert_eq!(c.action, CommentAction::Edited);
    }

    #[test]
    fn an_unknown_comment_action_is_ignored_even_without_the_usual_fields() {
        let event = parse("issue_comment", br#"{"action": "pinned"}"#).unwrap();
        assert_eq!(
            event,
            Event::Ignored {
                event: "issue_comment".into(),
                reason: "issue_comment action `pinned` starts nothing".into(),
            }
        );
    }

    #[test]
    fn reviews_are_comments_carrying_the_pull_request() {
        for (action, expected) in [
            ("submitted", CommentAction::Created),
            ("edited", CommentAction::Edited),
            ("dismissed", CommentAction::Deleted),
        ] {
            let mut v = pull_request_payload(action);
            v["review"] = json!({
                "id": 5,
                "body": null,
                "state": "commented",
                "html_url": "https://github.com/acme/widgets/pull/42#pullrequestreview-5",
                "user": {"login": "dave"}
            });
            let Event::Comment(c) = parse_value("pull_request_review", &v).unwrap() else {
                panic!("expected a comment");
            };
            assert_eq!(c.action, expected);
            assert_eq!(c.body.as_deref(), Some(""), "a null review body is empty");
            assert_eq!(c.author, "dave");
            assert!(c.is_pull_request);
            assert_eq!(c.number, 42);
            assert_eq!(c.issue_state, "open");
            assert_eq!(c.pr.as_ref().map(|p| p.author.as_str()), Some("alice"));
            assert_eq!(c.repo.full_name(), "acme/widgets");
        }
    }

    fn push_payload() -> Value {
        json!({
            "ref": "refs/heads/main",
            "before": "2222222222222222222222222222222222222222",
            "after": "4444444444444444444444444444444444444444",
            "created": false,
            "deleted": false,
            "compare": "https://github.com/acme/widgets/compare/222222222222...444444444444",
            "pusher": {"name": "alice", "email": "alice@example.com"},
            "sender": {"login": "alice-gh"},
            "repository": {
                "name": "widgets",
                "html_url": "https://github.com/acme/widgets",
                "owner": {"name": "acme", "email": null, "login": "acme"}
            },
            "commits": [
                {"id": "3333", "added": ["docs/a.md"], "removed": [], "modified": ["src/lib.rs"]},
                {"id": "4444", "added": [], "removed": ["docs/a.md"], "modified": ["src/lib.rs", "Cargo.toml"]}
            ],
            "head_commit": {"id": "4444", "added": [], "removed": ["docs/a.md"], "modified": ["src/lib.rs", "Cargo.toml"]}
        })
    }

    #[test]
    fn push_lists_each_changed_file_once_in_first_seen_order() {
        let e = push_event(&push_payload());
        assert_eq!(
            e.changed_files,
            Some(vec![
                "docs/a.md".into(),
                "src/lib.rs".into(),
                "Cargo.toml".into()
            ])
        );
        assert_eq!(e.r#ref, "refs/heads/main");
        assert_eq!(e.before, "2222222222222222222222222222222222222222");
        assert_eq!(e.after, "4444444444444444444444444444444444444444");
        assert_eq!(e.pusher, "alice");
        assert_eq!(e.repo.full_name(), "acme/widgets");
        assert_eq!(
            e.compare_url,
            "https://github.com/acme/widgets/compare/222222222222...444444444444"
        );
        assert!(!e.is_deletion());
    }

    #[test]
    fn push_without_commits_takes_files_from_the_head_commit() {
        let mut v = push_payload();
        v["commits"] = json!([]);
        v["head_commit"] = json!({"added": ["NEW"], "removed": null, "modified": []});
        assert_eq!(push_event(&v).changed_files, Some(vec!["NEW".into()]));
    }

    #[test]
    fn a_deleted_ref_is_a_deletion_with_no_files() {
        let mut v = push_payload();
        v["deleted"] = true.into();
        v["after"] = "0000000000000000000000000000000000000000".into();
        v["commits"] = json!([]);
        v["head_commit"] = Value::Null;
        let e = push_event(&v);
        assert!(e.deleted);
        assert!(e.is_deletion());
        assert_eq!(e.changed_files, Some(vec![]));
    }

    #[test]
    fn a_zero_after_sha_is_a_deletion_even_when_deleted_is_missing() {
        let mut v = push_payload();
        v.as_object_mut().unwrap().remove("deleted");
        v["after"] = "0000000000000000000000000000000000000000".into();
        let e = push_event(&v);
        assert!(!e.deleted);
        assert!(e.is_deletion());
    }

    #[test]
    fn the_push_owner_falls_back_to_name_and_the_pusher_to_the_sender() {
        let mut v = push_payload();
        v["repository"]["owner"] = json!({"name": "acme"});
        v.as_object_mut().unwrap().remove("pusher");
        let e = push_event(&v);
        assert_eq!(e.repo.org, "acme");
        assert_eq!(e.pusher, "alice-gh");
    }

    #[test]
    fn an_owner_without_login_or_name_is_malformed() {
        let mut v = push_payload();
        v["repository"]["owner"] = json!({"id": 1});
        let msg = parse_value("push", &v).unwrap_err().to_string();
        assert!(msg.contains("neither `login` nor `name`"), "{msg}");
    }

    fn check_payload(kind: &str, action: &str) -> Value {
        json!({
            "action": action,
            kind: {
                "name": "pull-widgets-unit",
                "head_sha": "1111111111111111111111111111111111111111",
                "pull_requests": [{"number": 42}, {"number": 43}]
            },
            "repository": repository(),
            "sender": {"login": "erin"}
        })
    }

    #[test]
    fn rerequested_check_run_reruns_that_check() {
        assert_eq!(
            parse_value("check_run", &check_payload("check_run", "rerequested")).unwrap(),
            Event::Rerun(RerunEvent {
                repo: Repo {
                    org: "acme".into(),
                    repo: "widgets".into(),
                    html_url: "https://github.com/acme/widgets".into(),
                },
                head_sha: "1111111111111111111111111111111111111111".into(),
                check_name: Some("pull-widgets-unit".into()),
                pulls: vec![42, 43],
                sender: "erin".into(),
            })
        );
    }

    #[test]
    fn rerequested_check_suite_reruns_the_whole_suite() {
        let Event::Rerun(r) =
            parse_value("check_suite", &check_payload("check_suite", "rerequested")).unwrap()
        else {
            panic!("expected a rerun");
        };
        assert_eq!(r.check_name, None);
        assert_eq!(r.pulls, vec![42, 43]);
    }

    #[test]
    fn other_check_actions_are_ignored_without_reading_further() {
        for (event, action) in [("check_run", "completed"), ("check_suite", "requested")] {
            let body = format!(r#"{{"action": "{action}"}}"#);
            let Event::Ignored { event: got, reason } = parse(event, body.as_bytes()).unwrap()
            else {
                panic!("expected ignored");
            };
            assert_eq!(got, event);
            assert!(
                reason.contains(&format!("`{action}` starts nothing")),
                "{reason}"
            );
        }
    }

    #[test]
    fn other_events_are_ignored_with_a_reason_whatever_the_body() {
        for (event, says) in [
            ("star", "Skiff does not act on `star` events"),
            ("ping", "check the webhook"),
            ("", "no event"),
        ] {
            let Event::Ignored { event: got, reason } = parse(event, b"not json").unwrap() else {
                panic!("expected ignored");
            };
            assert_eq!(got, event);
            assert!(reason.contains(says), "{reason}");
        }
    }
}
