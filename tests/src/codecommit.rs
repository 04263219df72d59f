//! A fake CodeCommit API at the HTTP level, speaking CodeCommit's JSON
//! protocol (AWS JSON 1.1: `POST /` with `X-Amz-Target:
//! CodeCommit_20150413.<Operation>`, errors as `__type` + `message`).
//!
//! moto implements only CreateRepository, GetRepository and DeleteRepository
//! of CodeCommit (shared/AWS-RUST.md §3); the calls Skiff reports with — pull
//! requests, comments, approvals, commits — and the ones the trigger plans
//! with — GetComment, GetDifferences, GetBranch, GetFile, GetFolder —
//! answer HTTP 500 NotImplementedError there, so they are faked here with
//! CodeCommit's real request and response shapes (the SDK's model:
//! GetDifferences pages with `MaxResults`/`NextToken`, capitalised, unlike
//! the other operations' `nextToken`). The AWS SDK talks to it as to AWS.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

mod files;

/// A pull request as CodeCommit keeps it.
#[derive(Clone, Debug, Default)]
pub struct Pull {
    pub repo: String,
    pub revision_id: String,
    pub source_commit: String,
    pub destination_commit: String,
    pub status: String,
}

/// A comment (on a pull request when `pull` is set, else on a commit).
#[derive(Clone, Debug, Default)]
pub struct Comment {
    pub id: String,
    pub pull: Option<String>,
    pub repo: String,
    pub before: String,
    pub after: String,
    pub content: String,
    pub author_arn: String,
    pub token: String,
}

/// One changed file between two commits, as `GetDifferences` lists it.
#[derive(Clone, Debug)]
pub struct Difference {
    /// `A`, `M` or `D`.
    pub change: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Difference {
    pub fn added(path: &str) -> Self {
        Difference {
            change: "A",
            before: None,
            after: Some(path.into()),
        }
    }

    pub fn modified(path: &str) -> Self {
        Difference {
            change: "M",
            before: Some(path.into()),
            after: Some(path.into()),
        }
    }

    pub fn deleted(path: &str) -> Self {
        Difference {
            change: "D",
            before: Some(path.into()),
            after: None,
        }
    }

    /// A rename: CodeCommit shows the old path before and the new after.
    pub fn renamed(from: &str, to: &str) -> Self {
        Difference {
            change: "M",
            before: Some(from.into()),
            after: Some(to.into()),
        }
    }
}

#[derive(Default)]
pub struct CodeCommit {
    /// By pull request id.
    pub pulls: BTreeMap<String, Pull>,
    /// Pull request id → its `mergeBase` (else its destination commit).
    pub merge_bases: BTreeMap<String, String>,
    /// `(repository, branch)` → the commit it points at.
    pub branches: BTreeMap<(String, String), String>,
    /// `(repository, before, after)` → what `GetDifferences` lists.
    pub differences: BTreeMap<(String, String, String), Vec<Difference>>,
    /// `GetDifferences`' page size when the request names no `MaxResults`
    /// (0: 100, CodeCommit's default).
    pub page_size: usize,
    pub comments: Vec<Comment>,
    /// Commit id → its parents.
    pub commits: BTreeMap<String, Vec<String>>,
    /// `(pull request id, revision id, APPROVE|REVOKE)`, in order.
    pub approvals: Vec<(String, String, String)>,
    /// Every call: `(operation, request body)`.
    pub calls: Vec<(String, Value)>,
    /// The identity the fake sees as the caller.
    pub caller_arn: String,
    /// `(repository, commit)` → the files there, `path → text`
    /// (`GetFile`, `GetFolder`).
    pub files: BTreeMap<(String, String), BTreeMap<String, String>>,
    next_id: u64,
}

impl CodeCommit {
    /// The operations called, in order.
    pub fn operations(&self) -> Vec<String> {
        self.calls.iter().map(|(op, _)| op.clone()).collect()
    }
}

pub type Shared = Arc<Mutex<CodeCommit>>;

pub fn lock(c: &Shared) -> std::sync::MutexGuard<'_, CodeCommit> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(kind: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": kind, "message": message}))
}

fn comment_json(c: &Comment) -> Value {
    json!({
        "commentId": c.id,
        "content": c.content,
        "authorArn": c.author_arn,
        "deleted": false,
        "clientRequestToken": c.token,
        "creationDate": 1.7964e9,
        "lastModifiedDate": 1.7964e9,
    })
}

fn blob(path: &Option<String>, change: &str, side: &str) -> Value {
    match path {
        Some(p) => json!({"blobId": format!("{side}-{change}-{p}"), "path": p, "mode": "100644"}),
        None => Value::Null,
    }
}

fn differences(cc: &CodeCommit, b: &Value) -> (u16, Value) {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let key = (
        s("repositoryName"),
        s("beforeCommitSpecifier"),
        s("afterCommitSpecifier"),
    );
    let Some(all) = cc.differences.get(&key) else {
        return error(
            "CommitDoesNotExistException",
            &format!(
                "The specified commit does not exist or no commit was specified: {}",
                key.2
            ),
        );
    };
    let page = match b["MaxResults"].as_u64() {
        Some(n) if n > 0 => n as usize,
        _ if cc.page_size > 0 => cc.page_size,
        _ => 100,
    };
    // An opaque token: the offset, as CodeCommit's tokens are opaque too.
    let from = match b["NextToken"].as_str() {
        None => 0,
        Some(t) => match t.strip_prefix("diff-page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return error(
                    "InvalidContinuationTokenException",
                    "The specified continuation token is not valid.",
                );
            }
        },
    };
    let end = (from + page).min(all.len());
    let listed: Vec<Value> = all[from.min(end)..end]
        .iter()
        .map(|d| {
            let mut v = json!({"changeType": d.change});
            if d.before.is_some() {
                v["beforeBlob"] = blob(&d.before, d.change, "before");
            }
            if d.after.is_some() {
                v["afterBlob"] = blob(&d.after, d.change, "after");
            }
            v
        })
        .collect();
    let mut out = json!({"differences": listed});
    if end < all.len() {
        out["NextToken"] = json!(format!("diff-page-{end}"));
    }
    (200, out)
}

fn operation(cc: &mut CodeCommit, op: &str, b: &Value) -> (u16, Value) {
    let s = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    match op {
        "GetPullRequest" => match cc.pulls.get(&s("pullRequestId")) {
            Some(p) => (
                200,
                json!({"pullRequest": {
                    "pullRequestId": s("pullRequestId"),
                    "title": "change",
                    "pullRequestStatus": p.status,
                    "revisionId": p.revision_id,
                    "authorArn": "arn:aws:iam::123456789012:user/Mary",
                    "creationDate": 1.7964e9,
                    "lastActivityDate": 1.7964e9,
                    "pullRequestTargets": [{
                        "repositoryName": p.repo,
                        "sourceReference": "refs/heads/feature",
                        "destinationReference": "refs/heads/main",
                        "sourceCommit": p.source_commit,
                        "destinationCommit": p.destination_commit,
                        "mergeBase": cc.merge_bases.get(&s("pullRequestId")).unwrap_or(&p.destination_commit),
                        "mergeMetadata": {"isMerged": false}
                    }],
                    "approvalRules": []
                }}),
            ),
            None => error(
                "PullRequestDoesNotExistException",
                "The specified pull request does not exist.",
            ),
        },
        "GetCommentsForPullRequest" => {
            let id = s("pullRequestId");
            let mut threads: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
            for c in cc
                .comments
                .iter()
                .filter(|c| c.pull.as_deref() == Some(&id))
            {
                threads
                    .entry((c.before.clone(), c.after.clone()))
                    .or_default()
                    .push(comment_json(c));
            }
            let data: Vec<Value> = threads
                .into_iter()
                .map(|((before, after), comments)| {
                    json!({"pullRequestId": id, "repositoryName": s("repositoryName"),
                           "beforeCommitId": before, "afterCommitId": after, "comments": comments})
                })
                .collect();
            (200, json!({"commentsForPullRequestData": data}))
        }
        "PostCommentForPullRequest" | "PostCommentForComparedCommit" => {
            let token = s("clientRequestToken");
            // CodeCommit's idempotency: the same token is the same comment.
            if let Some(c) = cc
                .comments
                .iter()
                .find(|c| !token.is_empty() && c.token == token)
            {
                if c.content != s("content") {
                    return error(
                        "IdempotencyParameterMismatchException",
                        "The client request token is not valid. Either the token is not in a valid format, or the token has been used in a previous request and cannot be reused.",
                    );
                }
                return (200, json!({"comment": comment_json(c)}));
            }
            if op == "PostCommentForPullRequest" && !cc.pulls.contains_key(&s("pullRequestId")) {
                return error(
                    "PullRequestDoesNotExistException",
                    "The specified pull request does not exist.",
                );
            }
            if op == "PostCommentForComparedCommit" && !cc.commits.contains_key(&s("afterCommitId"))
            {
                return error(
                    "CommitDoesNotExistException",
                    "The specified commit does not exist.",
                );
            }
            cc.next_id += 1;
            let c = Comment {
                id: format!("c{:04}", cc.next_id),
                pull: (op == "PostCommentForPullRequest").then(|| s("pullRequestId")),
                repo: s("repositoryName"),
                before: s("beforeCommitId"),
                after: s("afterCommitId"),
                content: s("content"),
                author_arn: cc.caller_arn.clone(),
                token,
            };
            let out = json!({"repositoryName": c.repo, "pullRequestId": c.pull,
                "beforeCommitId": c.before, "afterCommitId": c.after, "comment": comment_json(&c)});
            cc.comments.push(c);
            (200, out)
        }
        "UpdateComment" => {
            let caller = cc.caller_arn.clone();
            match cc.comments.iter_mut().find(|c| c.id == s("commentId")) {
                Some(c) if c.author_arn != caller => error(
                    "CommentNotCreatedByCallerException",
                    "You cannot modify or delete this comment. Only comment authors can modify or delete their comments.",
                ),
                Some(c) => {
                    c.content = s("content");
                    (200, json!({"comment": comment_json(c)}))
                }
                None => error(
                    "CommentDoesNotExistException",
                    "No comment exists with the provided ID.",
                ),
            }
        }
        "UpdatePullRequestApprovalState" => {
            let id = s("pullRequestId");
            match cc.pulls.get(&id) {
                Some(p) if p.status != "OPEN" => error(
                    "PullRequestAlreadyClosedException",
                    "The pull request status cannot be updated because it is already closed.",
                ),
                Some(p) if p.revision_id != s("revisionId") => error(
                    "RevisionNotCurrentException",
                    "The revision ID provided in the request does not match the current revision ID.",
                ),
                Some(_) => {
                    cc.approvals.push((id, s("revisionId"), s("approvalState")));
                    (200, json!({}))
                }
                None => error(
                    "PullRequestDoesNotExistException",
                    "The specified pull request does not exist.",
                ),
            }
        }
        "GetCommit" => match cc.commits.get(&s("commitId")) {
            Some(parents) => (
                200,
                json!({"commit": {"commitId": s("commitId"), "treeId": "t0", "parents": parents,
                    "message": "change", "additionalData": "",
                    "author": {"name": "Mary", "email": "mary@example.com", "date": "1796400000 +0000"},
                    "committer": {"name": "Mary", "email": "mary@example.com", "date": "1796400000 +0000"}}}),
            ),
            None => error(
                "CommitIdDoesNotExistException",
                "The specified commit ID does not exist.",
            ),
        },
        "GetComment" => match cc.comments.iter().find(|c| c.id == s("commentId")) {
            Some(c) => (200, json!({"comment": comment_json(c)})),
            None => error(
                "CommentDoesNotExistException",
                "No comment exists with the provided ID. Verify that you have used the correct ID, and then try again.",
            ),
        },
        "GetBranch" => match cc.branches.get(&(s("repositoryName"), s("branchName"))) {
            Some(commit) => (
                200,
                json!({"branch": {"branchName": s("branchName"), "commitId": commit}}),
            ),
            None => error(
                "BranchDoesNotExistException",
                &format!("Could not find branch {}", s("branchName")),
            ),
        },
        "GetDifferences" => differences(cc, b),
        "GetFile" => files::get_file(cc, b),
        "GetFolder" => files::get_folder(cc, b),
        other => (
            400,
            json!({"__type": "UnknownOperationException", "message": format!("the fake does not know {other}")}),
        ),
    }
}

async fn handle(State(cc): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let op = target
        .strip_prefix("CodeCommit_20150413.")
        .unwrap_or(target)
        .to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut c = lock(&cc);
    c.calls.push((op.clone(), body.clone()));
    let (status, out) = operation(&mut c, &op, &body);
    drop(c);
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        out.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if status >= 400
        && let Some(kind) = out["__type"].as_str()
        && let Ok(v) = axum::http::HeaderValue::from_str(kind)
    {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

/// Starts the fake on 127.0.0.1 in its own thread; returns its state and URL.
pub fn fake_codecommit(setup: CodeCommit) -> (Shared, String) {
    let shared: Shared = Arc::new(Mutex::new(setup));
    let state = shared.clone();
    let url = crate::serve::on_own_thread(
        Router::new().fallback(any(handle)).with_state(state),
        "fake CodeCommit",
    );
    (shared, url)
}
