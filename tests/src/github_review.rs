//! The fake GitHub's side for the review plugins: collaborators, the
//! repository's labels, assignees and review requests, reviews, comments by
//! people (the review plugins read who said what), OWNERS files at the base
//! branch through the branches, trees and contents APIs, and the search
//! `is:pr author:` the welcome plugin asks. Paths and JSON shapes are
//! GitHub's (REST v3, 2022-11-28).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Value, json};

use super::{GitHub, Reply, empty, not_found, reply};

/// What the review plugins find on the fake GitHub.
#[derive(Default)]
pub struct Review {
    pub collaborators: Vec<String>,
    /// Labels every repository has.
    pub repo_labels: Vec<String>,
    /// `org/repo#n` → assignees.
    pub assignees: BTreeMap<String, BTreeSet<String>>,
    /// `org/repo#n` → requested reviewers.
    pub requested: BTreeMap<String, BTreeSet<String>>,
    /// Files at the head of every base branch: `path → text`.
    pub files: BTreeMap<String, String>,
    /// Comments by people: `(id, org/repo#n, author, body)`, merged with the
    /// bot's when listed.
    pub said: Vec<(i64, String, String, String)>,
    /// `login` → permission on every repository (`admin`, `write`, …);
    /// collaborators not listed have `write`, others `read`.
    pub permissions: BTreeMap<String, String>,
    /// `org/repo#n` → the state an issue or PR was set to (`closed`, …).
    pub states: BTreeMap<String, String>,
}

/// The head commit of every branch and its tree.
pub const HEAD_SHA: &str = "base000";
pub const TREE_SHA: &str = "tree000";

impl GitHub {
    /// Someone comments on `org/repo#n` (listed by `GET …/comments`
    /// before the webhook about it is delivered, as on GitHub).
    pub fn say(&mut self, key: &str, author: &str, body: &str) -> i64 {
        let id = self.next();
        self.review
            .said
            .push((id, key.to_string(), author.to_string(), body.to_string()));
        id
    }
}

fn logins(body: &Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The answer to a review-plugin request, if it is one.
pub(super) fn route(gh: &mut GitHub, method: &str, parts: &[&str], body: &Value) -> Option<Reply> {
    let r = &mut gh.review;
    Some(match (method, parts) {
        ("GET", ["repos", _, _, "collaborators", user]) => {
            if r.collaborators.iter().any(|c| c.eq_ignore_ascii_case(user)) {
                empty(204)
            } else {
                not_found()
            }
        }
        ("GET", ["repos", _, _, "collaborators", user, "permission"]) => {
            let permission = r.permissions.get(*user).cloned().unwrap_or_else(|| {
                if r.collaborators.iter().any(|c| c.eq_ignore_ascii_case(user)) {
                    "write".to_string()
                } else {
                    "read".to_string()
                }
            });
            reply(
                200,
                json!({"permission": permission, "user": {"login": user}}),
            )
        }
        ("PATCH", ["repos", org, repo, "issues", n]) => {
            let key = format!("{org}/{repo}#{n}");
            let state = body["state"].as_str().unwrap_or("open").to_string();
            r.states.insert(key, state.clone());
            reply(
                200,
                json!({"number": n.parse::<i64>().unwrap_or(0), "state": state}),
            )
        }
        // The combined status: the newest status of each context.
        ("GET", ["repos", _, _, "commits", sha, "status"]) => {
            let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
            for s in &gh.seen {
                if s.method == "POST"
                    && s.status < 300
                    && s.path.ends_with(&format!("/statuses/{sha}"))
                {
                    let field = |f: &str| s.body[f].as_str().unwrap_or_default().to_string();
                    newest.insert(field("context"), (field("state"), field("description")));
                }
            }
            let statuses: Vec<Value> = newest
                .iter()
                .map(|(c, (s, d))| json!({"context": c, "state": s, "description": d}))
                .collect();
            let state = if newest.values().any(|(s, _)| s == "failure" || s == "error") {
                "failure"
            } else if !newest.is_empty() && newest.values().all(|(s, _)| s == "success") {
                "success"
            } else {
                "pending"
            };
            reply(
                200,
                json!({"state": state, "sha": sha, "statuses": statuses}),
            )
        }
        ("GET", ["repos", _, _, "collaborators"]) => reply(
            200,
            Value::Array(
                r.collaborators
                    .iter()
                    .map(|c| json!({"login": c, "type": "User"}))
                    .collect(),
            ),
        ),
        ("GET", ["repos", _, _, "labels"]) => reply(
            200,
            Value::Array(r.repo_labels.iter().map(|l| json!({"name": l})).collect()),
        ),
        ("POST", ["repos", org, repo, "issues", n, "assignees"]) => {
            let key = format!("{org}/{repo}#{n}");
            let allowed: Vec<String> = logins(body, "assignees")
                .into_iter()
                .filter(|l| r.collaborators.contains(l))
                .collect();
            let now = r.assignees.entry(key).or_default();
            now.extend(allowed);
            let list: Vec<Value> = now.iter().map(|l| json!({"login": l})).collect();
            reply(
                201,
                json!({"number": n.parse::<i64>().unwrap_or(0), "assignees": list}),
            )
        }
        ("DELETE", ["repos", org, repo, "issues", n, "assignees"]) => {
            let key = format!("{org}/{repo}#{n}");
            let gone = logins(body, "assignees");
            let now = r.assignees.entry(key).or_default();
            now.retain(|l| !gone.contains(l));
            let list: Vec<Value> = now.iter().map(|l| json!({"login": l})).collect();
            reply(200, json!({"assignees": list}))
        }
        ("POST", ["repos", org, repo, "pulls", n, "requested_reviewers"]) => {
            let users = logins(body, "reviewers");
            if users.iter().any(|u| !r.collaborators.contains(u)) {
                return Some(reply(
                    422,
                    json!({"message": "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the acme/widgets repository."}),
                ));
            }
            r.requested
                .entry(format!("{org}/{repo}#{n}"))
                .or_default()
                .extend(users);
            reply(201, json!({"number": n.parse::<i64>().unwrap_or(0)}))
        }
        ("DELETE", ["repos", org, repo, "pulls", n, "requested_reviewers"]) => {
            let gone = logins(body, "reviewers");
            if let Some(now) = r.requested.get_mut(&format!("{org}/{repo}#{n}")) {
                now.retain(|u| !gone.contains(u));
            }
            reply(200, json!({}))
        }
        ("GET", ["repos", _, _, "pulls", _, "reviews"]) => reply(200, json!([])),
        ("GET", ["repos", _, _, "issues", _, "events"]) => reply(200, json!([])),
        ("GET", ["repos", _, _, "branches", ..]) => reply(
            200,
            json!({"name": "main", "commit": {"sha": HEAD_SHA, "commit": {"tree": {"sha": TREE_SHA}}}}),
        ),
        ("GET", ["repos", _, _, "git", "trees", _]) => reply(
            200,
            json!({
                "sha": TREE_SHA,
                "truncated": false,
                "tree": r.files.keys().map(|p| json!({"path": p, "type": "blob", "sha": format!("blob-{p}"), "mode": "100644"})).collect::<Vec<_>>(),
            }),
        ),
        ("GET", ["repos", _, _, "contents", path @ ..]) => {
            let path = path.join("/");
            match r.files.get(&path) {
                Some(text) => reply(
                    200,
                    json!({
                        "type": "file",
                        "path": path,
                        "encoding": "base64",
                        "content": base64::engine::general_purpose::STANDARD.encode(text),
                    }),
                ),
                None => not_found(),
            }
        }
        ("GET", ["search", "issues"]) => reply(
            200,
            json!({"total_count": 0, "incomplete_results": false, "items": []}),
        ),
        _ => return None,
    })
}

/// The comments of `key` as GitHub lists them: the bot's and people's, in
/// the order they were made.
pub(super) fn comments(gh: &GitHub, key: &str) -> Value {
    let mut all: Vec<(i64, String, String)> = gh
        .comments
        .iter()
        .filter(|c| c.1 == key)
        .map(|c| (c.0, "skiff-bot".to_string(), c.3.clone()))
        .chain(
            gh.review
                .said
                .iter()
                .filter(|s| s.1 == key)
                .map(|s| (s.0, s.2.clone(), s.3.clone())),
        )
        .collect();
    all.sort_by_key(|c| c.0);
    Value::Array(
        all.into_iter()
            .map(|(id, login, body)| {
                json!({
                    "id": id,
                    "body": body,
                    "user": {"login": login, "type": if login == "skiff-bot" { "Bot" } else { "User" }},
                    "created_at": format!("2026-01-01T00:{:02}:{:02}Z", (id / 60) % 60, id % 60),
                    "html_url": format!("https://github.com/{}#issuecomment-{id}", key.replace('#', "/pull/")),
                })
            })
            .collect(),
    )
}

/// A path segment as sent, decoded (`%2F` → `/`, `%20` → ` `).
pub(super) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
