//! A fake GitHub API for end-to-end runs (of `skiff dev` and of the Lambda
//! functions), a tiny HTTP client and GitHub's webhook signature.
//!
//! The GitHub API is faked at the HTTP level because no real GitHub can run
//! here. It speaks GitHub's paths and JSON shapes, keeps comments and labels as
//! GitHub would, and records every request so tests can assert exactly what
//! Skiff reported.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
pub struct GitHub {
    pub members: Vec<String>,
    /// `org/repo#number` → the PR object.
    pub pulls: BTreeMap<String, Value>,
    pub files: Vec<String>,
    pub comments: Vec<(i64, String, i64, String)>, // (id, issue key, number, body)
    pub labels: BTreeMap<String, Vec<String>>,
    pub seen: Vec<Seen>,
    pub next_id: i64,
    /// `org/repo#number` of pulls whose `GET`s (the pull, its files) fail
    /// with a 500, as in a GitHub outage.
    pub failing_pulls: Vec<String>,
}

pub type Shared = Arc<Mutex<GitHub>>;

impl GitHub {
    pub fn statuses(&self) -> Vec<(String, String, String)> {
        self.seen
            .iter()
            .filter(|s| s.method == "POST" && s.path.contains("/statuses/"))
            .map(|s| {
                let sha = s.path.rsplit('/').next().unwrap_or("").to_string();
                (
                    sha,
                    s.body["context"].as_str().unwrap_or("").to_string(),
                    s.body["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

pub fn lock(g: &Shared) -> std::sync::MutexGuard<'_, GitHub> {
    g.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(State(g): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut gh = lock(&g);
    gh.seen.push(Seen {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
    });
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ok = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["user"]) => ok(json!({"login": "skiff-bot"})),
        ("GET", ["orgs", _, "members", user]) => {
            if gh.members.iter().any(|m| m == user) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
        ("GET", ["repos", _, _, "collaborators", _]) => StatusCode::NOT_FOUND.into_response(),
        ("GET", ["repos", org, repo, "pulls", n, ..])
            if gh.failing_pulls.contains(&format!("{org}/{repo}#{n}")) =>
        {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"message": "Server Error"})),
            )
                .into_response()
        }
        ("GET", ["repos", org, repo, "pulls", n]) => {
            let key = format!("{org}/{repo}#{n}");
            match gh.pulls.get(&key) {
                Some(pr) => {
                    // GitHub answers with the labels the PR has now.
                    let mut pr = pr.clone();
                    let labels: Vec<Value> = gh
                        .labels
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .map(|l| json!({"name": l}))
                        .collect();
                    pr["labels"] = Value::Array(labels);
                    ok(pr)
                }
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"message": "Not Found"})),
                )
                    .into_response(),
            }
        }
        ("GET", ["repos", _, _, "pulls", _, "files"]) => {
            let files: Vec<Value> = gh
                .files
                .iter()
                .map(|f| json!({"filename": f, "status": "modified"}))
                .collect();
            ok(Value::Array(files))
        }
        ("GET", ["repos", _, _, "git", "ref", "heads", ..]) => {
            ok(json!({"ref": "refs/heads/main", "object": {"sha": "base000", "type": "commit"}}))
        }
        ("POST", ["repos", _, _, "statuses", _]) => {
            (StatusCode::CREATED, axum::Json(json!({}))).into_response()
        }
        ("GET", ["repos", org, repo, "issues", n, "comments"]) => {
            let key = format!("{org}/{repo}#{n}");
            let list: Vec<Value> = gh
                .comments
                .iter()
                .filter(|c| c.1 == key)
                .map(|c| json!({"id": c.0, "body": c.3, "user": {"login": "skiff-bot"}}))
                .collect();
            ok(Value::Array(list))
        }
        ("POST", ["repos", org, repo, "issues", n, "comments"]) => {
            gh.next_id += 1;
            let id = gh.next_id;
            let text = body["body"].as_str().unwrap_or("").to_string();
            let number = n.parse().unwrap_or(0);
            gh.comments
                .push((id, format!("{org}/{repo}#{n}"), number, text.clone()));
            (
                StatusCode::CREATED,
                axum::Json(json!({"id": id, "body": text, "user": {"login": "skiff-bot"}})),
            )
                .into_response()
        }
        ("PATCH", ["repos", _, _, "issues", "comments", id]) => {
            let id: i64 = id.parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or("").to_string();
            if let Some(c) = gh.comments.iter_mut().find(|c| c.0 == id) {
                c.3 = text.clone();
            }
            ok(json!({"id": id, "body": text, "user": {"login": "skiff-bot"}}))
        }
        ("DELETE", ["repos", _, _, "issues", "comments", id]) => {
            let id: i64 = id.parse().unwrap_or(0);
            gh.comments.retain(|c| c.0 != id);
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["repos", org, repo, "issues", n, "labels"]) => {
            let key = format!("{org}/{repo}#{n}");
            let add: Vec<String> = body["labels"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let labels = gh.labels.entry(key).or_default();
            for l in add {
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
            let out: Vec<Value> = labels.iter().map(|l| json!({"name": l})).collect();
            ok(Value::Array(out))
        }
        ("DELETE", ["repos", org, repo, "issues", n, "labels", label]) => {
            let key = format!("{org}/{repo}#{n}");
            let labels = gh.labels.entry(key).or_default();
            let before = labels.len();
            labels.retain(|l| l != label);
            if labels.len() == before {
                (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"message": "Label does not exist"})),
                )
                    .into_response()
            } else {
                ok(json!([]))
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response(),
    }
}

/// Starts the fake on 127.0.0.1 in its own thread; returns its state and URL.
pub fn fake_github(setup: GitHub) -> (Shared, String) {
    let shared: Shared = Arc::new(Mutex::new(setup));
    let state = shared.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            tx.send(format!("http://{addr}")).expect("send url");
            let app = Router::new().fallback(any(handle)).with_state(state);
            let _ = axum::serve(listener, app).await;
        });
    });
    let url = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("fake GitHub started");
    (shared, url)
}

/// A tiny HTTP/1.1 client: enough to talk to `skiff dev` without another crate.
pub fn http(method: &str, url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = match TcpStream::connect(host) {
        Ok(s) => s,
        Err(e) => return (0, e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let _ = stream.write_all(req.as_bytes());
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// GitHub's signature header for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real GitHub payload from `@octokit/webhooks-examples` (installed by
/// ./scripts/test; `SKIFF_WEBHOOK_EXAMPLES` names another `index.json`): the
/// first example of `event` with `action` (`None`: the first of `event`).
pub fn example(event: &str, action: Option<&str>) -> Value {
    let path = std::env::var_os("SKIFF_WEBHOOK_EXAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
                "../.test-tools/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
            )
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run ./scripts/test, which installs @octokit/webhooks-examples",
            path.display()
        )
    });
    let all: Value = serde_json::from_str(&text).expect("index.json is JSON");
    all.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == event)
        .flat_map(|e| e["examples"].as_array().cloned().unwrap_or_default())
        .find(|x| action.is_none_or(|a| x["action"] == a))
        .unwrap_or_else(|| panic!("no {event} example with action {action:?}"))
}
