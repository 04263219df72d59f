//! Deck, Prow's dashboard (PROW.md §9), as one handler over ports: a plain
//! async function from a [`DeckRequest`] to a [`DeckResponse`]. `skiff dev`
//! (axum, SQLite, logs on disk) and the `deck` Lambda (Function URL,
//! DynamoDB, S3) both call [`handle`]; neither adds routes of its own.
//!
//! | route | what |
//! |---|---|
//! | `/` | the job list: newest first, Prow's filters in the query (`repo`, `job` with `*`/`?`, `type`, `state`, `author`, `pull`, `cluster`), `page`/`limit` |
//! | `/jobs/{id}`, `/view/…/{job}/{build}` | the job page (the second is the URL `status.url` and commit statuses link to) |
//! | `/log?job=&id=` | the raw build log (Prow's `/log`) |
//! | `/artifacts/{job dir}/{name}` | one object of a job's artifact directory, never rendered as a page |
//! | `/pr-history?org=&repo=&pr=` | every run of a pull request, by commit |
//! | `/job-history/…/{job}` | a job's runs with pass/fail streaks (Prow's `…/logs/{job}` and `…/pr-logs/directory/{job}`) |
//! | `/command-help?repo=` | every command of the plugins a repo enables, and each repo's jobs |
//! | `/plugins?repo=` | every plugin a repo enables: what it does, its setup, its commands |
//! | `/plugin-help`, `/plugin-help.js` | the same help as Prow's JSON (`pluginhelp.Help`); a browser asking `/plugin-help` for a page is sent to `/command-help`, as by Prow's deck |
//! | `/badge.svg?jobs=a,b*` | Prow's badge |
//! | `/prowjobs.js` | Prow's `{"items": [ProwJob…]}`, `omit=`, `org=`, `repo=`, `owner=`; `var=NAME` makes it Prow's script `var NAME = {…};` |
//! | `/api/jobs/{id}` | one job record as JSON |
//! | `/tide`, `/tide.js` | tide's pools as last synced: base, mergeable/pending/missing pulls and why the others are out, the batch in flight, the last action (`{"Queries", "Pools"}`) |
//! | `/tide-history`, `/tide-history.js` | every tide merge and run started, per pool (`{"History": {pool: [entry…]}}`) |
//! | `/health` | Skiff's own state: config version, queue depths, the oldest triggered job, the scheduler's last tick, GitHub's rate limits; 503 when the scheduler stalled or a queue is past its alarm |
//! | `/github-login`, `/github-login/redirect` | signing in with GitHub (when the front end configures an [`Operator`]) |
//! | `POST /rerun?prowjob=&mode=`, `POST /abort?prowjob=`, `POST /logout` | rerun (`original` or `latest`) and abort, by the rerun auth rules, with the session's CSRF token |
//!
//! Everything is server-rendered and works without JavaScript; the one
//! script only reloads lists and running jobs every 30 s, and a visitor can
//! switch it off. Responses are gzip-compressed when the client accepts it
//! (a Function URL compresses nothing by itself). A query that cannot mean
//! anything is a 400 page that says which parameter is wrong.
//!
//! This file is the contract and the routing: which page or endpoint a
//! request is for, and how its reply is encoded. The HTML pages are in
//! `pages`, one module per page with its handler; the badge, `/prowjobs.js`
//! and the raw log answer from their own modules.

pub mod assets;
mod badge;
mod filter;
pub mod fixtures;
mod links;
mod log;
pub mod operator;
mod pages;
mod prowjobs;
mod raw_artifact;
mod raw_log;
mod spyglass;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::gojson;
use skiff_core::ports::{Clock, Cluster, JobQuery, JobStore, LogStore, PortError};
use skiff_core::prowjob::ProwJob;

use crate::badge::badge;
use crate::pages::{Ctx, history, job_page, list, pr_history};
use crate::prowjobs::prowjobs;
use crate::raw_artifact::raw_artifact;
use crate::raw_log::raw_log;

pub use crate::filter::FilterError;
pub use crate::operator::{Operator, SignIn, Viewer};
pub use crate::pages::render_list;
pub use crate::pages::{ConfigVersion, Health, WatchedQueue};

/// A request, as both front ends hand it over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeckRequest {
    pub method: String,
    /// The path, still percent-encoded (`/jobs/abc`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// The body of a POST (a form); empty otherwise.
    pub body: Vec<u8>,
}

impl DeckRequest {
    /// A GET of `target` (`/path?query`), with no headers.
    pub fn get(target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        DeckRequest {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// The answer: status, headers (lower-case names) and body bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeckResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl DeckResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), as sent: compressed bodies stay compressed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Limits of one deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeckOptions {
    /// Newest job records read for a list (Prow's deck holds every record
    /// sinker has not deleted; a store listing is bounded instead).
    pub max_jobs: usize,
    /// The job page shows at most this much of a log (its tail).
    pub log_page_bytes: usize,
    /// `/log` sends at most this much (its tail).
    pub log_raw_bytes: usize,
    /// A body larger than this (after compression) is answered with a 500
    /// saying how to ask for less: a Lambda response cannot exceed 6 MB.
    pub max_response_bytes: Option<usize>,
    /// What `/health` shows besides the store: queues, config version.
    pub health: Health,
}

impl Default for DeckOptions {
    fn default() -> Self {
        DeckOptions {
            max_jobs: 10_000,
            log_page_bytes: 1 << 20,
            log_raw_bytes: 4 << 20,
            max_response_bytes: None,
            health: Health::default(),
        }
    }
}

/// What the handler reads from.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    pub logs: &'a dyn LogStore,
    /// `None` when the config could not be loaded: every page but the
    /// command help still works.
    pub config: Option<&'a Config>,
    pub clock: &'a dyn Clock,
    /// Build clusters, for the live log of a running job (`skiff dev`); the
    /// Lambda has none (logs reach S3 when the job ends).
    pub clusters: Option<&'a BTreeMap<String, Arc<dyn Cluster>>>,
    pub options: &'a DeckOptions,
    /// Sign-in, rerun and abort; `None`: the deck is read-only.
    pub operator: Option<&'a Operator<'a>>,
    /// Set by [`handle`] from the request's session; front ends pass `None`.
    pub viewer: Option<Viewer>,
}

/// A regex written in this crate (not from input): it compiles, which the
/// tests that use it check.
fn constant_regex(pattern: &'static str) -> regex::Regex {
    regex::Regex::new(pattern).expect("a constant regex compiles")
}

// ---------------------------------------------------------------------------
// Responses before encoding

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cache {
    /// Content-hashed assets.
    Forever,
    /// Dynamic pages: always ask again.
    Revalidate,
    /// Badges: never keep (Prow's `setHeadersNoCaching`).
    Never,
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    cache: Cache,
    location: Option<String>,
    /// Bytes from a job, not the deck's own: a CSP that lets nothing run
    /// even when a browser opens it directly.
    sandboxed: bool,
    headers: Vec<(&'static str, String)>,
}

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
/// Prow's `/prowjobs.js?var=…`.
const SCRIPT: &str = "application/javascript";

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status,
            content_type,
            body: body.into(),
            cache: Cache::Revalidate,
            location: None,
            sandboxed: false,
            headers: Vec::new(),
        }
    }

    fn html(status: u16, page: maud::Markup) -> Self {
        Reply::new(status, HTML, pages::render(page))
    }
}

fn ctx(deps: &Deps<'_>, refresh: bool) -> Ctx {
    Ctx {
        now: deps.clock.now(),
        refresh,
        viewer: deps.viewer.clone(),
    }
}

fn error(deps: &Deps<'_>, status: u16, heading: &str, message: &str) -> Reply {
    Reply::html(
        status,
        pages::error_page(&ctx(deps, false), status, heading, message),
    )
}

fn unavailable(deps: &Deps<'_>, e: &PortError) -> Reply {
    tracing::warn!(error = %e, "the deck could not read its store");
    let status = if e.is_retryable() { 503 } else { 500 };
    error(
        deps,
        status,
        "Unavailable",
        &format!("The job records cannot be read right now ({e}). Try again shortly."),
    )
}

// ---------------------------------------------------------------------------
// The handler

/// Answers one request. Never panics on input: bad queries are 400 pages,
/// unknown paths 404, store failures 503.
pub async fn handle(req: &DeckRequest, deps: &Deps<'_>) -> DeckResponse {
    let viewer = deps
        .operator
        .map(|op| operator::viewer(op, req, deps.clock.now().as_second()));
    let new_cookie = viewer.as_ref().and_then(|v| v.cookie().map(str::to_owned));
    let deps = &Deps { viewer, ..*deps };
    let mut reply = match req.method.as_str() {
        "GET" | "HEAD" => route(req, deps).await,
        "POST" => operator::post(req, deps).await,
        _ => {
            let mut r = Reply::new(405, TEXT, "use GET (or POST for rerun and abort)\n");
            r.location = None;
            r
        }
    };
    // A reply that sets the session itself (signing in or out) wins.
    let sets_session = reply.headers.iter().any(|(k, v)| {
        *k == "set-cookie" && v.starts_with(&format!("{}=", operator::session::SESSION_COOKIE))
    });
    // Only pages carry forms: JSON, badges and logs get no session.
    if let Some(c) = new_cookie.filter(|_| !sets_session && reply.content_type == HTML) {
        reply.headers.push(("set-cookie", c));
    }
    finish(req, deps.options, reply)
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

async fn route(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let segs = segments(&req.path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [""] => list(req, deps).await,
        ["jobs", id] if !id.is_empty() => match deps.store.get(id).await {
            Ok(Some(j)) if visible(&j, deps.config) => job_page(&j, deps).await,
            Ok(_) => not_found(deps, &format!("There is no job with id {id}.")),
            Err(e) => unavailable(deps, &e),
        },
        ["api", "jobs", id] if !id.is_empty() => match deps.store.get(id).await {
            Ok(Some(j)) if visible(&j, deps.config) => Reply::new(200, JSON, gojson::to_string(&j)),
            Ok(_) => Reply::new(
                404,
                JSON,
                format!(
                    "{{\"error\":{}}}",
                    gojson::to_string(&format!("no job with id {id}"))
                ),
            ),
            Err(e) => Reply::new(
                503,
                JSON,
                format!("{{\"error\":{}}}", gojson::to_string(&e.to_string())),
            ),
        },
        ["view", rest @ ..] if rest.len() >= 2 => {
            let (name, build) = (rest[rest.len() - 2], rest[rest.len() - 1]);
            match find_build(deps, name, build).await {
                Ok(Some(j)) => job_page(&j, deps).await,
                Ok(None) => not_found(
                    deps,
                    &format!("There is no run of {name} with build id {build}."),
                ),
                Err(e) => unavailable(deps, &e),
            }
        }
        ["log"] => raw_log(req, deps).await,
        ["artifacts", rest @ ..] if !rest.is_empty() => raw_artifact(rest, deps).await,
        ["pr-history"] | ["pr-history", ""] => pr_history(req, deps).await,
        ["job-history", rest @ ..] if rest.last().is_some_and(|n| !n.is_empty()) => {
            let name = rest[rest.len() - 1];
            history(name, deps).await
        }
        ["command-help"] => pages::command_help(req, deps),
        ["plugins"] => pages::plugins(req, deps),
        ["plugin-help"] => pages::plugin_help(req, deps, false),
        ["plugin-help.js"] => pages::plugin_help(req, deps, true),
        ["badge.svg"] => badge(req, deps).await,
        ["prowjobs.js"] => prowjobs(req, deps).await,
        ["tide"] => pages::tide(deps, false).await,
        ["tide.js"] => pages::tide(deps, true).await,
        ["tide-history"] => pages::tide_history(deps, false).await,
        ["tide-history.js"] => pages::tide_history(deps, true).await,
        ["health"] => pages::health(deps).await,
        ["github-login"] => operator::github_login(req, deps),
        ["github-login", "redirect"] => operator::github_redirect(req, deps).await,
        ["static", _] if req.path == assets::css_path() => {
            let mut r = Reply::new(200, "text/css; charset=utf-8", assets::CSS);
            r.cache = Cache::Forever;
            r
        }
        ["static", _] if req.path == assets::js_path() => {
            let mut r = Reply::new(200, "text/javascript; charset=utf-8", assets::JS);
            r.cache = Cache::Forever;
            r
        }
        // Browsers ask for it on every non-HTML document (the badge): no
        // icon, and no 404 in their consoles.
        ["favicon.ico"] => {
            let mut r = Reply::new(204, TEXT, Vec::new());
            r.cache = Cache::Forever;
            r
        }
        _ => not_found(deps, &format!("Nothing lives at {}.", req.path)),
    }
}

fn not_found(deps: &Deps<'_>, message: &str) -> Reply {
    error(deps, 404, "Not found", message)
}

/// Jobs Prow's deck hides: `hidden: true` and `deck.hidden_repos`.
fn visible(job: &ProwJob, config: Option<&Config>) -> bool {
    if job.spec.hidden {
        return false;
    }
    let Some(c) = config else { return true };
    let hidden = &c.prow.deck.hidden_repos;
    if hidden.is_empty() {
        return true;
    }
    let Some(r) = filter::main_refs(job) else {
        return true;
    };
    let full = r.org_repo();
    !hidden.iter().any(|h| *h == full || *h == r.org)
}

async fn find_build(
    deps: &Deps<'_>,
    name: &str,
    build: &str,
) -> Result<Option<ProwJob>, PortError> {
    let runs = deps
        .store
        .list(
            &JobQuery::Job {
                name: name.to_string(),
            },
            Some(deps.options.max_jobs),
        )
        .await?;
    Ok(runs
        .into_iter()
        .find(|j| j.status.build_id == build && visible(j, deps.config)))
}

// ---------------------------------------------------------------------------
// Encoding

/// Whether the client takes gzip (`Accept-Encoding`, honouring `q=0`).
fn accepts_gzip(req: &DeckRequest) -> bool {
    let Some(v) = req.header("accept-encoding") else {
        return false;
    };
    v.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
    })
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(6),
    );
    enc.write_all(bytes).ok()?;
    enc.finish().ok()
}

fn finish(req: &DeckRequest, options: &DeckOptions, mut reply: Reply) -> DeckResponse {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut h = |k: &str, v: &str| headers.push((k.to_string(), v.to_string()));
    // Raster images and downloads are compressed already, or do not shrink.
    let incompressible = (reply.content_type.starts_with("image/")
        && !reply.content_type.starts_with("image/svg"))
        || reply.content_type == "application/octet-stream";
    let compress = reply.body.len() > 1024 && !incompressible;
    if compress
        && accepts_gzip(req)
        && let Some(z) = gzip(&reply.body)
    {
        reply.body = z;
        h("content-encoding", "gzip");
    }
    if compress {
        h("vary", "Accept-Encoding");
    }
    if let Some(max) = options.max_response_bytes
        && reply.body.len() > max
    {
        let size = reply.body.len();
        return finish(
            req,
            &DeckOptions {
                max_response_bytes: None,
                ..options.clone()
            },
            Reply::new(
                500,
                TEXT,
                format!(
                    "the response would be {size} bytes, more than this deployment can send ({max}); \
                     ask for less (filters, omit=pod_spec,decoration_config) or accept gzip\n"
                ),
            ),
        );
    }
    h("content-type", reply.content_type);
    h(
        "cache-control",
        match reply.cache {
            Cache::Forever => "public, max-age=31536000, immutable",
            Cache::Revalidate => "no-cache",
            Cache::Never => "no-cache, no-store, must-revalidate",
        },
    );
    h("x-content-type-options", "nosniff");
    h("referrer-policy", "strict-origin-when-cross-origin");
    if reply.content_type == HTML {
        h(
            "content-security-policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        );
    } else if reply.sandboxed {
        h(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        );
    } else if reply.content_type.starts_with("image/svg") {
        h("content-security-policy", "default-src 'none'");
    }
    for (k, v) in &reply.headers {
        h(k, v);
    }
    if let Some(l) = &reply.location {
        h("location", l);
    }
    if req.method == "HEAD" {
        reply.body.clear();
    }
    DeckResponse {
        status: reply.status,
        headers,
        body: reply.body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        let with = |v: &str| DeckRequest {
            headers: vec![("Accept-Encoding".into(), v.into())],
            ..DeckRequest::get("/")
        };
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br")));
        assert!(!accepts_gzip(&DeckRequest::get("/")));
    }

    #[test]
    fn asset_paths_carry_a_content_hash() {
        assert!(assets::css_path().starts_with("/static/deck-"));
        assert!(assets::css_path().ends_with(".css"));
        assert_eq!(assets::css_path().len(), "/static/deck-12345678.css".len());
        assert_ne!(assets::css_path(), assets::js_path());
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(segments("/jobs/a%2Fb"), ["jobs", "a/b"]);
        assert_eq!(segments("/"), [""]);
        assert_eq!(
            segments("/view/s3/bucket/logs/j/1"),
            ["view", "s3", "bucket", "logs", "j", "1"]
        );
    }
}
