//! What tide asks of the fake GitHub, answered as GitHub does: the open
//! pulls of a repo (with the labels they have now), the merge endpoint (the
//! `sha` guard's 409, then the pull closes and its base moves to a new
//! commit), an org's repositories, a branch's required status checks, and
//! a repo's open issues by label (tide's blockers).

use serde_json::{Value, json};

use super::{GitHub, Reply, not_found, reply};

/// The pull as GitHub shows it now: its current labels.
fn current(gh: &GitHub, key: &str, pr: &Value) -> Value {
    let mut pr = pr.clone();
    if let Some(labels) = gh.labels.get(key) {
        pr["labels"] = Value::Array(labels.iter().map(|l| json!({"name": l})).collect());
    }
    pr
}

pub(super) fn route(
    gh: &mut GitHub,
    method: &str,
    parts: &[&str],
    query: &str,
    body: &Value,
) -> Option<Reply> {
    Some(match (method, parts) {
        ("GET", ["repos", org, repo, "pulls"]) => {
            let base = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("base="))
                .map(str::to_owned);
            let prefix = format!("{org}/{repo}#");
            let open: Vec<Value> = gh
                .pulls
                .iter()
                .filter(|(k, pr)| {
                    k.starts_with(&prefix)
                        && pr["state"].as_str().unwrap_or("open") == "open"
                        && base
                            .as_deref()
                            .is_none_or(|b| pr["base"]["ref"].as_str() == Some(b))
                })
                .map(|(k, pr)| current(gh, k, pr))
                .collect();
            reply(200, Value::Array(open))
        }
        ("PUT", ["repos", org, repo, "pulls", n, "merge"]) => {
            let key = format!("{org}/{repo}#{n}");
            let Some(pr) = gh.pulls.get_mut(&key) else {
                return Some(not_found());
            };
            let head = pr["head"]["sha"].as_str().unwrap_or_default().to_string();
            if body["sha"].as_str().is_some_and(|s| s != head) {
                return Some(reply(
                    409,
                    json!({"message": "Head branch was modified. Review and try the merge again."}),
                ));
            }
            if pr["state"] != "open" {
                return Some(reply(
                    405,
                    json!({"message": "Pull Request is not mergeable"}),
                ));
            }
            pr["state"] = json!("closed");
            pr["merged"] = json!(true);
            let base = pr["base"]["ref"].as_str().unwrap_or("main").to_string();
            let merged = format!("merged-{n}-{}", &head[..head.len().min(7)]);
            gh.branch_heads
                .insert(format!("{org}/{repo}:{base}"), merged.clone());
            reply(
                200,
                json!({"sha": merged, "merged": true, "message": "Pull Request successfully merged"}),
            )
        }
        (
            "GET",
            [
                "repos",
                org,
                repo,
                "branches",
                branch,
                "protection",
                "required_status_checks",
            ],
        ) => match gh.protection.get(&format!("{org}/{repo}:{branch}")) {
            Some(contexts) => reply(
                200,
                json!({"strict": false, "contexts": contexts, "checks": contexts.iter().map(|c| json!({"context": c, "app_id": null})).collect::<Vec<_>>()}),
            ),
            None => reply(404, json!({"message": "Branch not protected"})),
        },
        ("GET", ["repos", org, repo, "issues"]) => {
            // `labels=a,b`: issues carrying every one of them.
            let wanted: Vec<String> = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("labels="))
                .map(|l| l.split(',').map(super::review::percent_decode).collect())
                .unwrap_or_default();
            let open: Vec<Value> = gh
                .issues
                .get(&format!("{org}/{repo}"))
                .into_iter()
                .flatten()
                .filter(|i| {
                    wanted.iter().all(|w| {
                        i["labels"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|l| l["name"] == w.as_str()))
                    })
                })
                .cloned()
                .collect();
            reply(200, Value::Array(open))
        }
        ("GET", ["orgs", org, "repos"]) => {
            let prefix = format!("{org}/");
            let mut names: Vec<String> = gh
                .pulls
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter_map(|r| r.split('#').next())
                .map(str::to_owned)
                .collect();
            names.dedup();
            reply(
                200,
                Value::Array(
                    names
                        .iter()
                        .map(|n| json!({"name": n, "archived": false}))
                        .collect(),
                ),
            )
        }
        _ => return None,
    })
}

impl GitHub {
    /// Every merge GitHub made: `(org/repo#n, merge_method, sha, commit_title)`.
    pub fn merges(&self) -> Vec<(String, String, String, String)> {
        self.seen
            .iter()
            .filter(|s| s.method == "PUT" && s.path.ends_with("/merge") && s.status == 200)
            .map(|s| {
                let parts: Vec<&str> = s.path.trim_start_matches('/').split('/').collect();
                let key = match parts.as_slice() {
                    ["repos", org, repo, "pulls", n, "merge"] => format!("{org}/{repo}#{n}"),
                    _ => s.path.clone(),
                };
                let field = |f: &str| s.body[f].as_str().unwrap_or_default().to_string();
                (
                    key,
                    field("merge_method"),
                    field("sha"),
                    field("commit_title"),
                )
            })
            .collect()
    }

    /// When GitHub received the first write of `method` whose path ends
    /// with `suffix` and whose body has `field` = `value` (if given).
    pub fn first_write_at(
        &self,
        method: &str,
        suffix: &str,
        field: Option<(&str, &str)>,
    ) -> Option<std::time::Instant> {
        self.seen
            .iter()
            .find(|s| {
                s.method == method
                    && s.status < 300
                    && s.path.ends_with(suffix)
                    && field.is_none_or(|(f, v)| s.body[f] == v)
            })
            .map(|s| s.at)
    }

    /// The `tide` statuses written on `sha`: `(state, description)`.
    pub fn tide_statuses(&self, sha: &str) -> Vec<(String, String)> {
        self.seen
            .iter()
            .filter(|s| {
                s.method == "POST"
                    && s.path.ends_with(&format!("/statuses/{sha}"))
                    && s.status < 300
            })
            .filter(|s| s.body["context"] == "tide")
            .map(|s| {
                (
                    s.body["state"].as_str().unwrap_or_default().to_string(),
                    s.body["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }
}
