//! The fake GitHub's repository files at a commit, for in-repo config: the
//! git trees API (`GET /repos/{o}/{r}/git/trees/{sha}?recursive=1`) and the
//! contents API (`GET /repos/{o}/{r}/contents/{path}?ref={sha}`), in GitHub's
//! shapes. Only commits listed in [`GitHub::repo_files`] are answered here;
//! others fall through to the review plugins' branch-head files.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{GitHub, Reply, fnv, not_found, reply};

/// `ref=` of a contents request's query.
fn git_ref(query: &str) -> &str {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("ref="))
        .unwrap_or("")
}

pub(super) fn route(gh: &GitHub, method: &str, parts: &[&str], query: &str) -> Option<Reply> {
    match (method, parts) {
        ("GET", ["repos", org, repo, "git", "trees", sha]) => {
            let files = gh.repo_files.get(&format!("{org}/{repo}@{sha}"))?;
            // Every blob, and each directory above them.
            let mut dirs = BTreeSet::new();
            let mut tree: Vec<Value> = Vec::new();
            for (path, text) in files {
                let mut at = 0;
                while let Some(i) = path[at..].find('/') {
                    dirs.insert(path[..at + i].to_string());
                    at += i + 1;
                }
                tree.push(json!({"path": path, "mode": "100644", "type": "blob",
                                 "sha": format!("{:040x}", fnv(text.as_bytes())), "size": text.len()}));
            }
            for d in dirs {
                tree.push(json!({"path": d, "mode": "040000", "type": "tree",
                                 "sha": format!("{:040x}", fnv(d.as_bytes()))}));
            }
            Some(reply(
                200,
                json!({"sha": sha, "tree": tree, "truncated": false}),
            ))
        }
        ("GET", ["repos", org, repo, "contents", path @ ..]) => {
            let files = gh
                .repo_files
                .get(&format!("{org}/{repo}@{}", git_ref(query)))?;
            let path = path.join("/");
            Some(match files.get(&path) {
                Some(text) => reply(
                    200,
                    json!({"type": "file", "path": path, "encoding": "base64", "size": text.len(),
                           "content": base64::engine::general_purpose::STANDARD.encode(text)}),
                ),
                None => not_found(),
            })
        }
        _ => None,
    }
}
