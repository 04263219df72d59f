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
//! | `/pr-history?org=&repo=&pr=` | every run of a pull request, by commit |
//! | `/job-history/…/{job}` | a job's runs with pass/fail streaks (Prow's `…/logs/{job}` and `…/pr-logs/directory/{job}`) |
//! | `/command-help` | the chat-ops commands and each repo's jobs |
//! | `/badge.svg?jobs=a,b*` | Prow's badge |
//! | `/prowjobs.js` | Prow's `{"items": [ProwJob…]}`, `omit=`, `org=`, `repo=`, `owner=`; `var=NAME` makes it Prow's script `var NAME = {…};` |
//! | `/api/jobs/{id}` | one job record as JSON |
//!
//! Everything is server-rendered and works without JavaScript; the one
//! script only reloads lists and running jobs every 30 s, and a visitor can
//! switch it off. Responses are gzip-compressed when the client accepts it
//! (a Function URL compresses nothing by itself). A query that cannot mean
//! anything is a 400 page that says which parameter is wrong.

mod badge;
mod filter;
pub mod fixtures;
mod log;
mod pages;
mod prowjobs;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::gojson;
use skiff_core::ports::{Clock, Cluster, JobQuery, JobStore, LogStore, PortError};
use skiff_core::prowjob::artifacts::{self, BUILD_LOG, FINISHED_JSON, STARTED_JSON};
use skiff_core::prowjob::{ProwJob, ProwJobState};

use crate::filter::ListFilter;
use crate::pages::{Ctx, ListData, LogSection, Metadata};

pub use crate::filter::FilterError;

/// A request, as both front ends hand it over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeckRequest {
    pub method: String,
    /// The path, still percent-encoded (`/jobs/abc`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
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
}

impl Default for DeckOptions {
    fn default() -> Self {
        DeckOptions {
            max_jobs: 10_000,
            log_page_bytes: 1 << 20,
            log_raw_bytes: 4 << 20,
            max_response_bytes: None,
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
}

/// A regex written in this crate (not from input): it compiles, which the
/// tests that use it check.
fn constant_regex(pattern: &'static str) -> regex::Regex {
    regex::Regex::new(pattern).expect("a constant regex compiles")
}

/// The stylesheet and the auto-refresh script, under content-hashed paths
/// so they can be cached for a year.
pub mod assets {
    use std::sync::OnceLock;

    pub const CSS: &str = include_str!("../static/deck.css");
    pub const JS: &str = include_str!("../static/refresh.js");

    fn fnv(bytes: &[u8]) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }

    pub fn css_path() -> &'static str {
        static P: OnceLock<String> = OnceLock::new();
        P.get_or_init(|| format!("/static/deck-{:08x}.css", fnv(CSS.as_bytes())))
    }

    pub fn js_path() -> &'static str {
        static P: OnceLock<String> = OnceLock::new();
        P.get_or_init(|| format!("/static/refresh-{:08x}.js", fnv(JS.as_bytes())))
    }
}

/// The deck's own URLs.
mod links {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    use skiff_core::prowjob::{ProwJob, ProwJobType};

    /// Path-segment escaping: everything but unreserved characters.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    fn seg(s: &str) -> String {
        utf8_percent_encode(s, SEGMENT).to_string()
    }

    fn query(pairs: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        q.finish()
    }

    pub fn job(j: &ProwJob) -> String {
        format!("/jobs/{}", seg(&j.metadata.name))
    }

    pub fn api(j: &ProwJob) -> String {
        format!("/api/jobs/{}", seg(&j.metadata.name))
    }

    pub fn raw_log(j: &ProwJob) -> String {
        format!(
            "/log?{}",
            query(&[("job", &j.spec.job), ("id", &j.status.build_id)])
        )
    }

    pub fn pr(org: &str, repo: &str, number: i64) -> String {
        format!(
            "/pr-history?{}",
            query(&[("org", org), ("repo", repo), ("pr", &number.to_string())])
        )
    }

    /// Prow's job history paths: `pr-logs/directory/<job>` for presubmits,
    /// `logs/<job>` for the rest.
    pub fn history_by_name(name: &str, presubmit: bool) -> String {
        let dir = if presubmit {
            "pr-logs/directory"
        } else {
            "logs"
        };
        format!("/job-history/{dir}/{}", seg(name))
    }

    pub fn history(j: &ProwJob) -> String {
        let pre = matches!(
            j.spec.r#type,
            Some(ProwJobType::Presubmit | ProwJobType::Batch)
        );
        history_by_name(&j.spec.job, pre)
    }
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
    let reply = match req.method.as_str() {
        "GET" | "HEAD" => route(req, deps).await,
        _ => {
            let mut r = Reply::new(405, TEXT, "deck is read-only: use GET\n");
            r.location = None;
            r
        }
    };
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
        ["pr-history"] | ["pr-history", ""] => pr_history(req, deps).await,
        ["job-history", rest @ ..] if rest.last().is_some_and(|n| !n.is_empty()) => {
            let name = rest[rest.len() - 1];
            history(name, deps).await
        }
        ["command-help"] => Reply::html(200, pages::help_page(&ctx(deps, false), deps.config)),
        ["plugin-help"] => {
            let mut r = Reply::new(301, TEXT, "moved to /command-help\n");
            r.location = Some("/command-help".into());
            r
        }
        ["badge.svg"] => badge(req, deps).await,
        ["prowjobs.js"] => prowjobs(req, deps).await,
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

async fn list(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let f = match ListFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(f) => f,
        Err(e) => return bad_filter(deps, &e),
    };
    let jobs = match deps
        .store
        .list(&f.store_query(), Some(deps.options.max_jobs))
        .await
    {
        Ok(j) => j,
        Err(e) => return unavailable(deps, &e),
    };
    Reply::html(
        200,
        list_markup(
            &ctx(deps, true),
            &f,
            &jobs,
            deps.config,
            deps.options.max_jobs,
        ),
    )
}

/// The list page's HTML for the list query `query` (`state=failure&repo=…`)
/// over `jobs` (newest first, as the store returns them), at `now`, without
/// a config: the rendering half of `/`, for the benchmark and the page
/// weight test ([`handle`] is the whole of it).
pub fn render_list(
    query: &str,
    jobs: &[ProwJob],
    now: jiff::Timestamp,
) -> Result<String, FilterError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let f = ListFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let ctx = Ctx { now, refresh: true };
    let max_jobs = DeckOptions::default().max_jobs;
    Ok(pages::render(list_markup(&ctx, &f, jobs, None, max_jobs)))
}

/// The list page over `jobs` (newest first).
fn list_markup(
    ctx: &Ctx,
    f: &ListFilter,
    jobs: &[ProwJob],
    config: Option<&Config>,
    max_jobs: usize,
) -> maud::Markup {
    let all_states = ListFilter {
        state: None,
        ..f.clone()
    };
    let mut counts: BTreeMap<ProwJobState, usize> = BTreeMap::new();
    let mut matching: Vec<&ProwJob> = Vec::new();
    let mut repos: BTreeSet<String> = BTreeSet::new();
    let mut clusters: BTreeSet<&str> = BTreeSet::new();
    for j in jobs.iter().filter(|j| visible(j, config)) {
        if let Some(r) = filter::main_refs(j)
            && repos.len() < 300
            && !repos.contains(&r.org_repo())
        {
            repos.insert(r.org_repo());
        }
        if clusters.len() < 100 {
            clusters.insert(filter::cluster(j));
        }
        if !all_states.matches(j) {
            continue;
        }
        if let Some(s) = j.status.state {
            *counts.entry(s).or_default() += 1;
        }
        if f.state.is_none_or(|s| j.status.state == Some(s)) {
            matching.push(j);
        }
    }
    let start = (f.page - 1).saturating_mul(f.limit).min(matching.len());
    let end = start.saturating_add(f.limit).min(matching.len());
    let data = ListData {
        filter: f,
        rows: &matching[start..end],
        matching: matching.len(),
        loaded: jobs.len(),
        max_jobs,
        counts,
        repos: repos.into_iter().collect(),
        clusters: clusters.into_iter().map(String::from).collect(),
    };
    pages::list_page(ctx, &data)
}

fn bad_filter(deps: &Deps<'_>, e: &FilterError) -> Reply {
    Reply::html(
        400,
        pages::bad_filter_page(&ctx(deps, false), &e.to_string()),
    )
}

/// The log and metadata of a job, then its page.
async fn job_page(job: &ProwJob, deps: &Deps<'_>) -> Reply {
    let running = job.status.completion_time.is_none();
    let path = artifacts::artifact_path(job).ok();
    let re = log::highlight_regex(deps.config.and_then(|c| c.prow.deck.spyglass.as_ref()));
    let mut log_section = LogSection::None(if job.status.build_id.is_empty() {
        "No log yet: the job has not started.".into()
    } else if running {
        "No log yet.".into()
    } else {
        "No log was stored for this job.".into()
    });
    let mut metadata = Vec::new();
    if let Some(path) = &path {
        match deps.logs.get(path, BUILD_LOG).await {
            Ok(Some(bytes)) => {
                let (text, skipped) = log::tail(&bytes, deps.options.log_page_bytes);
                log_section = LogSection::Log {
                    view: log::view(&text, &re, skipped),
                    bytes: bytes.len(),
                };
            }
            Ok(None) => {
                // Not stored (yet): the pod's log while the pod is there.
                if let Some(text) = live_log(job, deps).await {
                    let (text, skipped) = log::tail(text.as_bytes(), deps.options.log_page_bytes);
                    log_section = LogSection::Live {
                        view: log::view(&text, &re, skipped),
                    };
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, job = %job.metadata.name, "cannot read the build log");
                log_section = LogSection::None(format!("The log cannot be read right now ({e})."));
            }
        }
        for (name, implied) in [
            (
                STARTED_JSON,
                job.status
                    .start_time
                    .map(|_| artifacts::started(job).to_json()),
            ),
            (FINISHED_JSON, artifacts::finished(job).map(|f| f.to_json())),
        ] {
            let stored = deps.logs.get(path, name).await.ok().flatten();
            let (bytes, is_stored) = match (stored, implied) {
                (Some(b), _) => (b, true),
                (None, Some(b)) => (b, false),
                (None, None) => continue,
            };
            metadata.push(Metadata {
                name,
                json: pretty_json(&bytes),
                stored: is_stored,
            });
        }
    }
    let page = pages::job_page(&ctx(deps, running), job, &log_section, &metadata);
    Reply::html(200, page)
}

fn pretty_json(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v)
            .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into()),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

async fn live_log(job: &ProwJob, deps: &Deps<'_>) -> Option<String> {
    if job.status.pod_name.is_empty() {
        return None;
    }
    let cluster = deps.clusters?.get(filter::cluster(job))?;
    cluster.pod_log(&job.status.pod_name).await.ok()
}

/// Prow's `/log?job=&id=`: the stored build log, else (in `skiff dev`) the
/// pod's log so far.
async fn raw_log(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (Some(name), Some(id)) = (get("job"), get("id")) else {
        return Reply::new(400, TEXT, "usage: /log?job=NAME&id=BUILD_ID\n");
    };
    let run = match find_build(deps, name, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Reply::new(404, TEXT, format!("no run of {name} with build id {id}\n")),
        Err(e) => return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n")),
    };
    if let Ok(path) = artifacts::artifact_path(&run) {
        match deps.logs.get(&path, BUILD_LOG).await {
            Ok(Some(bytes)) => {
                let (text, skipped) = log::tail(&bytes, deps.options.log_raw_bytes);
                let body = if skipped > 0 {
                    format!("[the first {skipped} bytes of this log are not shown]\n{text}")
                } else {
                    text
                };
                return Reply::new(200, TEXT, body);
            }
            Ok(None) => {}
            Err(e) => return Reply::new(503, TEXT, format!("the log cannot be read: {e}\n")),
        }
    }
    if let Some(text) = live_log(&run, deps).await {
        return Reply::new(
            200,
            TEXT,
            log::tail(text.as_bytes(), deps.options.log_raw_bytes).0,
        );
    }
    Reply::new(404, TEXT, "no log yet\n")
}

async fn pr_history(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (Some(org), Some(repo), Some(pr)) = (get("org"), get("repo"), get("pr")) else {
        return error(
            deps,
            400,
            "Bad request",
            "A pull request's history needs org, repo and pr: /pr-history?org=ORG&repo=REPO&pr=NUMBER",
        );
    };
    let Some(number) = pr.parse::<i64>().ok().filter(|n| *n > 0) else {
        return error(
            deps,
            400,
            "Bad request",
            &format!("pr={pr:?}: expected a pull request number"),
        );
    };
    let runs = match deps
        .store
        .list(
            &JobQuery::Pull {
                org: org.to_string(),
                repo: repo.to_string(),
                number,
            },
            Some(deps.options.max_jobs),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return unavailable(deps, &e),
    };
    let runs: Vec<ProwJob> = runs
        .into_iter()
        .filter(|j| visible(j, deps.config))
        .collect();
    let groups = pages::group_by_commit(&runs, number);
    let running = runs.iter().any(|j| j.status.completion_time.is_none());
    Reply::html(
        200,
        pages::pr_page(&ctx(deps, running), org, repo, number, &groups),
    )
}

async fn history(name: &str, deps: &Deps<'_>) -> Reply {
    if let Err(e) = filter::job_pattern("job", name)
        && !name.is_empty()
    {
        return error(deps, 400, "Bad request", &e.to_string());
    }
    let runs = match deps
        .store
        .list(
            &JobQuery::Job {
                name: name.to_string(),
            },
            Some(deps.options.max_jobs),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return unavailable(deps, &e),
    };
    let runs: Vec<ProwJob> = runs
        .into_iter()
        .filter(|j| visible(j, deps.config))
        .collect();
    let running = runs.iter().any(|j| j.status.completion_time.is_none());
    Reply::html(200, pages::history_page(&ctx(deps, running), name, &runs))
}

async fn badge(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let Some(selector) = pairs
        .iter()
        .find(|(k, _)| k == "jobs")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
    else {
        return Reply::new(400, TEXT, "missing jobs query parameter\n");
    };
    let globs = badge::globs(selector);
    // Names without wildcards need only their own runs: one narrow read each.
    let jobs = if globs.iter().all(filter::Glob::is_literal) && globs.len() <= 20 {
        let mut jobs = Vec::new();
        for g in &globs {
            match deps
                .store
                .list(
                    &JobQuery::Job {
                        name: g.as_string(),
                    },
                    Some(1),
                )
                .await
            {
                Ok(mut j) => jobs.append(&mut j),
                Err(e) => {
                    return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n"));
                }
            }
        }
        jobs
    } else {
        match deps
            .store
            .list(&JobQuery::All, Some(deps.options.max_jobs))
            .await
        {
            Ok(j) => j,
            Err(e) => {
                return Reply::new(503, TEXT, format!("the job records cannot be read: {e}\n"));
            }
        }
    };
    let mut jobs: Vec<ProwJob> = jobs
        .into_iter()
        .filter(|j| visible(j, deps.config))
        .collect();
    // Newest first across the separate reads too.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.status.start_time));
    let latest = badge::latest(&jobs, &globs);
    let (status, colour) = badge::status(&latest);
    let mut r = Reply::new(200, "image/svg+xml", badge::svg("build", &status, colour));
    r.cache = Cache::Never;
    r
}

async fn prowjobs(req: &DeckRequest, deps: &Deps<'_>) -> Reply {
    let pairs = req.pairs();
    let json_error = |status: u16, message: &str| {
        let mut r = Reply::new(
            status,
            JSON,
            format!("{{\"error\":{}}}", gojson::to_string(message)),
        );
        r.cache = Cache::Never;
        r
    };
    let query = match prowjobs::ProwJobsQuery::from_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        Ok(q) => q,
        Err(e) => return json_error(400, &e.to_string()),
    };
    match deps
        .store
        .list(&JobQuery::All, Some(deps.options.max_jobs))
        .await
    {
        Ok(jobs) => {
            let jobs = jobs
                .into_iter()
                .filter(|j| visible(j, deps.config))
                .collect();
            let content_type = if query.var.is_some() { SCRIPT } else { JSON };
            // Prow's `setHeadersNoCaching`: the list changes by the second.
            let mut r = Reply::new(200, content_type, prowjobs::prowjobs_js(jobs, &query));
            r.cache = Cache::Never;
            r
        }
        Err(e) => json_error(503, &e.to_string()),
    }
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
    let compress = reply.body.len() > 1024 && !reply.content_type.starts_with("image/png");
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
    } else if reply.content_type.starts_with("image/svg") {
        h("content-security-policy", "default-src 'none'");
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
