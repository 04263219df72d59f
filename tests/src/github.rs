//! A fake GitHub API for end-to-end runs (of `skiff dev` and of the Lambda
//! functions), a tiny HTTP client and GitHub's webhook signature.
//!
//! The GitHub API is faked at the HTTP level because no real GitHub can run
//! here. It speaks GitHub's paths and JSON shapes, keeps comments, labels and
//! check runs as GitHub would, answers conditional GETs with ETags and 304s,
//! plays a GitHub App (JWT-checked `/app` endpoints, expiring installation
//! tokens) and the webhook deliveries API, can answer a request once with a
//! canned rate limit, and records every request and its answer so tests can
//! assert exactly what Skiff sent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use serde_json::{Value, json};

pub use crate::http_client::http;

#[path = "github_files.rs"]
mod files;
#[path = "github_oauth.rs"]
mod oauth;
#[path = "github_review.rs"]
mod review;
#[path = "github_tide.rs"]
mod tide;
pub use oauth::OAuth;
pub use review::{HEAD_SHA, Review, TREE_SHA};

/// One request the fake received, and what it answered.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: String,
    pub body: Value,
    /// The `Authorization` header (`Bearer …`), as sent.
    pub authorization: String,
    pub if_none_match: String,
    /// The status the fake answered.
    pub status: u16,
    /// When the fake received it.
    pub at: Instant,
}

impl Seen {
    /// POST, PATCH, PUT or DELETE.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
    }

    /// `METHOD path` — the shape tests assert on.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A one-off answer: the first request with this method whose path contains
/// `path` gets it instead of the usual one (a rate limit, an outage).
#[derive(Clone, Debug)]
pub struct Canned {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Canned {
    /// GitHub's 403 for a secondary rate limit, with `Retry-After`.
    pub fn secondary_limit(method: &str, path: &str, retry_after_secs: u64) -> Canned {
        Canned {
            method: method.into(),
            path: path.into(),
            status: 403,
            headers: vec![("retry-after".into(), retry_after_secs.to_string())],
            body: json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }),
        }
    }
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
    /// Answers served once, before the usual ones.
    pub canned: Vec<Canned>,
    /// Commits that no longer exist (force-pushed away): statuses and check
    /// runs on them get GitHub's 404.
    pub gone_shas: Vec<String>,
    /// A GitHub App: its id (JWTs must name it as `iss`), its slug, and its
    /// installation per org.
    pub app_id: Option<u64>,
    pub app_slug: String,
    pub installations: BTreeMap<String, i64>,
    /// `expires_at` of the next installation tokens issued, in order;
    /// afterwards tokens last until 2100.
    pub token_expiries: VecDeque<String>,
    /// Installation tokens issued so far (`ghs_1`, `ghs_2`, …).
    pub issued_tokens: Vec<String>,
    /// Check runs, as GitHub stores them.
    pub check_runs: Vec<Value>,
    /// The App webhook's deliveries, newest first (GitHub's shape).
    pub deliveries: Vec<Value>,
    /// Where [`deliver`] sends events, as GitHub sends them to a hook's URL;
    /// a redelivery GitHub accepts is sent there too. `None`: deliveries
    /// are only listed.
    pub hook_target: Option<HookTarget>,
    /// The payload of each delivery sent by [`deliver`], by GUID:
    /// `(event, body)`, what a redelivery sends again.
    pub payloads: BTreeMap<String, (String, String)>,
    /// `org/repo:branch` → the branch's head SHA; a branch not listed is at
    /// `base000`.
    pub branch_heads: BTreeMap<String, String>,
    /// What the review plugins read and write (github_review.rs).
    pub review: Review,
    /// `org/repo@sha` → `path → text`: the repository's files at a commit,
    /// served by the git trees and contents APIs for that commit (other
    /// commits fall through to [`Review::files`]).
    pub repo_files: BTreeMap<String, BTreeMap<String, String>>,
    /// `org/repo:branch` → the status checks its protection requires; a
    /// branch not listed is not protected (404).
    pub protection: BTreeMap<String, Vec<String>>,
    /// `org/repo` → its open issues, in GitHub's shape (`number`, `title`,
    /// `html_url`, `labels: [{name}]`).
    pub issues: BTreeMap<String, Vec<Value>>,
    /// The OAuth app, its codes and tokens, and teams (github_oauth.rs).
    pub oauth: oauth::OAuth,
}

/// A webhook GitHub delivers to: its URL and its secret.
#[derive(Clone, Debug)]
pub struct HookTarget {
    pub url: String,
    /// Deliveries carry `X-Hub-Signature-256` made with it.
    pub secret: Vec<u8>,
}

pub type Shared = Arc<Mutex<GitHub>>;

impl GitHub {
    /// Statuses GitHub accepted: `(sha, context, state)`.
    pub fn statuses(&self) -> Vec<(String, String, String)> {
        self.seen
            .iter()
            .filter(|s| s.method == "POST" && s.path.contains("/statuses/") && s.status < 300)
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

    /// Requests that write (POST, PATCH, PUT, DELETE).
    pub fn writes(&self) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.is_write()).collect()
    }

    /// GETs answered in full.
    pub fn reads(&self) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| s.method == "GET" && s.status != 304)
            .collect()
    }

    /// Conditional GETs answered 304 Not Modified (free of rate limit).
    pub fn not_modified(&self) -> usize {
        self.seen.iter().filter(|s| s.status == 304).count()
    }

    /// Every request as `METHOD path`.
    pub fn lines(&self) -> Vec<String> {
        self.seen.iter().map(Seen::line).collect()
    }

    /// Redelivery requests (`POST …/deliveries/{id}/attempts`) received.
    pub fn redelivery_requests(&self) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|s| {
                s.method == "POST"
                    && s.path.contains("/deliveries/")
                    && s.path.ends_with("/attempts")
            })
            .collect()
    }

    pub(crate) fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

pub fn lock(g: &Shared) -> std::sync::MutexGuard<'_, GitHub> {
    g.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the fake answers: status, headers, JSON body (or none).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    /// A delivery to send again once answered: `(event, guid, body)`.
    redeliver: Option<(String, String, String)>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: Some(body),
        redeliver: None,
    }
}

fn empty(status: u16) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: None,
        redeliver: None,
    }
}

fn not_found() -> Reply {
    reply(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

/// The `iss` claim of a JWT (not verified: the fake trusts its callers'
/// keys, and checks only that the JWT names the App).
fn jwt_issuer(authorization: &str) -> Option<String> {
    let token = authorization.strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    match &claims["iss"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn handle(
    State(g): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    // A form (OAuth's token exchange) is read as a JSON object of its fields.
    let body: Value = if header("content-type").starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(&body).replace('+', " ");
        Value::Object(
            text.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    (
                        review::percent_decode(k),
                        Value::String(review::percent_decode(v)),
                    )
                })
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let authorization = header("authorization");
    let if_none_match = header("if-none-match");
    let mut gh = lock(&g);
    let canned = gh
        .canned
        .iter()
        .position(|c| c.method == method.as_str() && path.contains(&c.path));
    let mut out = match canned {
        Some(i) => {
            let c = gh.canned.remove(i);
            Reply {
                status: c.status,
                headers: c.headers,
                body: Some(c.body),
                redeliver: None,
            }
        }
        None => route(
            &mut gh,
            method.as_str(),
            &path,
            &query,
            &body,
            &authorization,
        ),
    };
    // ETags for every full answer to a GET, as GitHub gives them; a match
    // is a 304 with no body.
    if method == Method::GET && out.status == 200 {
        let text = out.body.as_ref().map(Value::to_string).unwrap_or_default();
        let etag = format!("W/\"{:016x}\"", fnv(text.as_bytes()));
        if !if_none_match.is_empty() && if_none_match == etag {
            out = empty(304);
        }
        out.headers.push(("etag".into(), etag));
    }
    gh.seen.push(Seen {
        method: method.to_string(),
        path,
        query,
        body,
        authorization,
        if_none_match,
        status: out.status,
        at: Instant::now(),
    });
    drop(gh);
    // GitHub answers 202 and delivers again in the background.
    if let Some((event, guid, payload)) = out.redeliver.take() {
        std::thread::spawn(move || send_delivery(&g, &event, &guid, &payload, true));
    }
    let status = StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match out.body {
        Some(v) => (status, axum::Json(v)).into_response(),
        None => status.into_response(),
    };
    for (k, v) in out.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}

/// FNV-1a, for stable ETags.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

fn route(
    gh: &mut GitHub,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
    authorization: &str,
) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // The App's own endpoints take a JWT naming the App.
    let app_path = parts.first() == Some(&"app") || parts.last() == Some(&"installation");
    if app_path {
        let expected = gh.app_id.map(|id| id.to_string());
        if expected.is_none() || jwt_issuer(authorization) != expected {
            return reply(
                401,
                json!({"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"}),
            );
        }
    }
    // Sign-in first: its `GET /user` answers the person's token, not the bot's.
    if let Some(answer) = oauth::route(gh, method, &parts, body, authorization) {
        return answer;
    }
    match (method, parts.as_slice()) {
        ("GET", ["user"]) => reply(200, json!({"login": "skiff-bot"})),
        ("GET", ["app"]) => reply(
            200,
            json!({"id": gh.app_id, "slug": gh.app_slug, "name": gh.app_slug}),
        ),
        ("GET", ["orgs" | "users", org, "installation"])
        | ("GET", ["repos", org, _, "installation"]) => match gh.installations.get(*org) {
            Some(id) => reply(
                200,
                json!({"id": id, "account": {"login": org}, "app_id": gh.app_id}),
            ),
            None => not_found(),
        },
        ("POST", ["app", "installations", id, "access_tokens"]) => {
            let n = gh.issued_tokens.len() + 1;
            let token = format!("ghs_{n}");
            let expires_at = gh
                .token_expiries
                .pop_front()
                .unwrap_or_else(|| "2100-01-01T00:00:00Z".into());
            gh.issued_tokens.push(token.clone());
            reply(
                201,
                json!({"token": token, "expires_at": expires_at, "installation_id": id, "permissions": {"checks": "write", "statuses": "write"}}),
            )
        }
        ("GET", ["app", "hook", "deliveries"])
        | ("GET", ["repos", _, _, "hooks", _, "deliveries"]) => {
            reply(200, Value::Array(gh.deliveries.clone()))
        }
        ("POST", ["app", "hook", "deliveries", id, "attempts"])
        | ("POST", ["repos", _, _, "hooks", _, "deliveries", id, "attempts"]) => {
            let guid = gh
                .deliveries
                .iter()
                .find(|d| d["id"].as_u64().is_some_and(|n| id.parse() == Ok(n)))
                .map(|d| d["guid"].as_str().unwrap_or_default().to_string());
            match guid {
                Some(guid) => {
                    let mut accepted = reply(202, json!({}));
                    accepted.redeliver = gh
                        .payloads
                        .get(&guid)
                        .map(|(event, body)| (event.clone(), guid, body.clone()));
                    accepted
                }
                None => not_found(),
            }
        }
        ("GET", ["orgs", _, "members", user]) => {
            if gh.members.iter().any(|m| m == user) {
                empty(204)
            } else {
                not_found()
            }
        }
        _ if let Some(answer) = files::route(gh, method, &parts, query) => answer,
        _ if let Some(answer) = tide::route(gh, method, &parts, query, body) => answer,
        _ if let Some(answer) = review::route(gh, method, &parts, body) => answer,
        ("GET", ["repos", org, repo, "pulls", n, ..])
            if gh.failing_pulls.contains(&format!("{org}/{repo}#{n}")) =>
        {
            reply(500, json!({"message": "Server Error"}))
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
                    reply(200, pr)
                }
                None => not_found(),
            }
        }
        ("GET", ["repos", _, _, "pulls", _, "files"]) => {
            let files: Vec<Value> = gh
                .files
                .iter()
                .map(|f| json!({"filename": f, "status": "modified"}))
                .collect();
            reply(200, Value::Array(files))
        }
        ("GET", ["repos", org, repo, "git", "ref", "heads", branch @ ..]) => {
            let branch = branch.join("/");
            let sha = gh
                .branch_heads
                .get(&format!("{org}/{repo}:{branch}"))
                .map_or("base000", String::as_str);
            reply(
                200,
                json!({"ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"}}),
            )
        }
        ("POST", ["repos", _, _, "statuses", sha]) => {
            if gh.gone_shas.iter().any(|g| g == sha) {
                return not_found();
            }
            let id = gh.next();
            reply(
                201,
                json!({"id": id, "state": body["state"], "context": body["context"]}),
            )
        }
        ("POST", ["repos", _, _, "check-runs"]) => {
            let sha = body["head_sha"].as_str().unwrap_or_default();
            if gh.gone_shas.iter().any(|g| g == sha) {
                return reply(
                    422,
                    json!({"message": format!("No commit found for SHA: {sha}"), "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"}),
                );
            }
            let id = gh.next();
            let mut run = body.clone();
            run["id"] = json!(id);
            gh.check_runs.push(run.clone());
            reply(201, run)
        }
        ("PATCH", ["repos", _, _, "check-runs", id]) => {
            let id: i64 = id.parse().unwrap_or(0);
            match gh.check_runs.iter_mut().find(|r| r["id"] == json!(id)) {
                Some(run) => {
                    if let (Some(run), Some(update)) = (run.as_object_mut(), body.as_object()) {
                        for (k, v) in update {
                            run.insert(k.clone(), v.clone());
                        }
                    }
                    reply(200, run.clone())
                }
                None => not_found(),
            }
        }
        ("GET", ["repos", _, _, "commits", sha, "check-runs"]) => {
            let name = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("check_name="))
                .unwrap_or_default()
                .to_string();
            let runs: Vec<Value> = gh
                .check_runs
                .iter()
                .filter(|r| r["head_sha"] == *sha && (name.is_empty() || r["name"] == name))
                .cloned()
                .collect();
            reply(200, json!({"total_count": runs.len(), "check_runs": runs}))
        }
        ("GET", ["repos", org, repo, "issues", n, "comments"]) => {
            reply(200, review::comments(gh, &format!("{org}/{repo}#{n}")))
        }
        ("POST", ["repos", org, repo, "issues", n, "comments"]) => {
            let id = gh.next();
            let text = body["body"].as_str().unwrap_or("").to_string();
            let number = n.parse().unwrap_or(0);
            gh.comments
                .push((id, format!("{org}/{repo}#{n}"), number, text.clone()));
            reply(
                201,
                json!({"id": id, "body": text, "user": {"login": "skiff-bot"}}),
            )
        }
        ("PATCH", ["repos", _, _, "issues", "comments", id]) => {
            let id: i64 = id.parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or("").to_string();
            if let Some(c) = gh.comments.iter_mut().find(|c| c.0 == id) {
                c.3 = text.clone();
            }
            reply(
                200,
                json!({"id": id, "body": text, "user": {"login": "skiff-bot"}}),
            )
        }
        ("DELETE", ["repos", _, _, "issues", "comments", id]) => {
            let id: i64 = id.parse().unwrap_or(0);
            gh.comments.retain(|c| c.0 != id);
            empty(204)
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
            reply(200, Value::Array(out))
        }
        ("DELETE", ["repos", org, repo, "issues", n, "labels", label]) => {
            let key = format!("{org}/{repo}#{n}");
            // The name is one percent-encoded path segment (`do-not-merge%2Fhold`).
            let label = review::percent_decode(label);
            let labels = gh.labels.entry(key).or_default();
            let before = labels.len();
            labels.retain(|l| *l != label);
            if labels.len() == before {
                reply(404, json!({"message": "Label does not exist"}))
            } else {
                reply(200, json!([]))
            }
        }
        _ => not_found(),
    }
}

/// GitHub delivers `event` (`X-GitHub-Event`) with `body` as delivery `guid`
/// to the [`HookTarget`], signed, and lists the attempt among the
/// deliveries (newest first) with the status the hook answered (0 when it
/// could not be reached); returns that status. Blocking: call it from a
/// thread of its own (`spawn_blocking`) when the hook runs on this one.
pub fn deliver(g: &Shared, event: &str, guid: &str, body: &str) -> u16 {
    send_delivery(g, event, guid, body, false)
}

fn send_delivery(g: &Shared, event: &str, guid: &str, body: &str, redelivery: bool) -> u16 {
    let target = lock(g).hook_target.clone();
    let started = Instant::now();
    let status = target.map_or(0, |t| {
        let headers = [
            ("X-GitHub-Event", event.to_string()),
            ("X-GitHub-Delivery", guid.to_string()),
            ("X-Hub-Signature-256", sign(&t.secret, body.as_bytes())),
            ("Content-Type", "application/json".to_string()),
            ("User-Agent", "GitHub-Hookshot/fake".to_string()),
        ];
        http("POST", &t.url, &headers, body.as_bytes()).0
    });
    let duration = started.elapsed().as_secs_f64();
    let action = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["action"].as_str().map(String::from));
    let status_text = match status {
        200..=299 => "OK".to_string(),
        0 => "failed to connect to host".to_string(),
        n => format!("Invalid HTTP Response: {n}"),
    };
    let mut gh = lock(g);
    let id = gh.next();
    gh.payloads
        .entry(guid.to_string())
        .or_insert_with(|| (event.to_string(), body.to_string()));
    // GitHub's times have whole seconds.
    let delivered_at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    gh.deliveries.insert(
        0,
        json!({
            "id": id,
            "guid": guid,
            "delivered_at": delivered_at,
            "redelivery": redelivery,
            "duration": duration,
            "status": status_text,
            "status_code": status,
            "event": event,
            "action": action,
            "installation_id": null,
            "repository_id": null,
            "throttled_at": null,
        }),
    );
    status
}

/// Starts the fake on 127.0.0.1 in its own thread; returns its state and URL.
pub fn fake_github(setup: GitHub) -> (Shared, String) {
    let shared: Shared = Arc::new(Mutex::new(setup));
    let state = shared.clone();
    let url = crate::serve::on_own_thread(
        Router::new().fallback(any(handle)).with_state(state),
        "fake GitHub",
    );
    (shared, url)
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
