//! [`Scm`] and [`HookDeliveries`] over GitHub's REST API with `octocrab`.
//!
//! Requests go through octocrab's transport (its `execute`), with the
//! `Authorization` header set here per request, so this adapter sees every
//! status code itself: membership is answered by 204/404/302, a missing label
//! by 404, and the body of an error is kept verbatim in the [`PortError`]
//! because the reporter recognises some of GitHub's messages ("No commit found
//! for SHA") the way Prow's crier does.
//!
//! Authentication is a token, or a GitHub App: a JWT (signed with the App's
//! key, valid 9 minutes) for the `/app` endpoints, and per org an installation
//! token, cached until a minute before it expires (Prow's rule).
//!
//! GitHub's limits are honoured, not fought: a 403/429 carrying `Retry-After`,
//! `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`, or a secondary-limit
//! message closes a gate until the instant GitHub named (a minute for a
//! secondary limit that names none). While it is closed, calls fail at once
//! with [`PortError::RateLimited`], sending nothing; the caller retries after
//! that instant. Time comes from the [`Clock`], so tests need not sleep.
//!
//! GETs that repeat (a pull request's comments, read on every report) are
//! conditional: the last `ETag` goes out as `If-None-Match`, and a 304 — which
//! GitHub does not count against the rate limit — answers from the cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{AUTHORIZATION, HeaderValue, IF_NONE_MATCH};
use jiff::Timestamp;
use octocrab::Octocrab;
use octocrab::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use skiff_core::event::PullRequest;
use skiff_core::event::github::parse_pull_request;
use skiff_core::ports::{
    CheckRun, Clock, Comment, CommitStatus, Hook, HookDeliveries, HookDelivery, PortError,
    PortResult, Scm,
};

/// github.com's API. GitHub Enterprise serves it at `https://HOST/api/v3`.
pub const GITHUB_API: &str = "https://api.github.com";

/// The largest page GitHub serves.
const PER_PAGE: u32 = 100;
/// GitHub lists at most 3000 files of a pull request (30 pages); the bound only
/// stops a misbehaving server from paging forever.
const MAX_PAGES: usize = 100;
/// Enough of an error body to read GitHub's message, not a whole HTML page.
const MAX_ERROR_BODY: usize = 1000;
/// GitHub's advice for a secondary rate limit that names no time: wait at
/// least a minute.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// An installation token is renewed this long before it expires (Prow's
/// margin), so no request goes out with a token about to lapse.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// GitHub refuses App JWTs valid for more than 10 minutes; 9 leaves room for
/// clock skew, and the JWT is dated a minute back for the same reason.
const JWT_LIFETIME: Duration = Duration::from_secs(9 * 60);
const JWT_BACKDATE: Duration = Duration::from_secs(60);
/// Cached conditional GETs; beyond this the oldest entry goes.
const MAX_ETAGS: usize = 512;

/// How Skiff authenticates to GitHub.
#[derive(Clone)]
pub enum GitHubAuth {
    /// A personal access token (or any token GitHub accepts as `Bearer`).
    Token(String),
    /// A GitHub App: its id and its private key (PEM, `-----BEGIN RSA
    /// PRIVATE KEY-----` as GitHub hands it out, or PKCS#8).
    App { app_id: u64, private_key: String },
}

// By hand, so that printing the options can never print a credential.
impl fmt::Debug for GitHubAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitHubAuth::Token(_) => f.write_str("Token(<redacted>)"),
            GitHubAuth::App { app_id, .. } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key", &"<redacted>")
                .finish(),
        }
    }
}

/// How to reach GitHub.
#[derive(Clone)]
pub struct GitHubOptions {
    /// The API's base URL: [`GITHUB_API`], `https://HOST/api/v3` for GitHub
    /// Enterprise, or a test server.
    pub api_base: String,
    pub auth: GitHubAuth,
    /// The bot's login. `None`: asked once when connecting (`GET /user` with
    /// a token; `GET /app` with an App, whose bot is `<slug>[bot]`).
    pub bot_login: Option<String>,
    /// Immediate retries of a 5xx or a connection error. Rate limits are not
    /// waited out here: a Lambda would time out, so they surface as
    /// [`PortError::RateLimited`] and the work is retried after the instant
    /// GitHub named.
    pub retries: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Rate-limit gates and token expiry are judged by this clock.
    pub clock: Arc<dyn Clock>,
}

impl GitHubOptions {
    /// With a token.
    pub fn new(api_base: impl Into<String>, token: impl Into<String>) -> Self {
        Self::with_auth(api_base, GitHubAuth::Token(token.into()))
    }

    /// As a GitHub App.
    pub fn app(api_base: impl Into<String>, app_id: u64, private_key: impl Into<String>) -> Self {
        Self::with_auth(
            api_base,
            GitHubAuth::App {
                app_id,
                private_key: private_key.into(),
            },
        )
    }

    fn with_auth(api_base: impl Into<String>, auth: GitHubAuth) -> Self {
        Self {
            api_base: api_base.into(),
            auth,
            bot_login: None,
            retries: 3,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            clock: Arc::new(WallClock),
        }
    }
}

impl fmt::Debug for GitHubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOptions")
            .field("api_base", &self.api_base)
            .field("auth", &self.auth)
            .field("bot_login", &self.bot_login)
            .field("retries", &self.retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

/// The machine's clock, the default.
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A GitHub App's credentials and what they have been exchanged for.
struct App {
    id: u64,
    key: EncodingKey,
    /// Installation id by account (org or user) login, lower-cased.
    installations: Mutex<HashMap<String, i64>>,
    /// Installation token and its expiry, by installation id.
    tokens: Mutex<HashMap<i64, (String, Timestamp)>>,
}

enum Credentials {
    Token(String),
    App(App),
}

/// Whose credentials a request goes out with.
#[derive(Clone, Copy, Debug)]
enum Scope<'a> {
    /// The org's (or user's) installation, or the token.
    Org(&'a str),
    /// The App itself (a JWT): the `/app` endpoints and installation lookups.
    App,
}

/// GitHub as the code host.
pub struct GitHubScm {
    client: Octocrab,
    credentials: Credentials,
    bot_login: String,
    retries: usize,
    clock: Arc<dyn Clock>,
    /// Closed until the instant, by credential identity.
    gates: Mutex<HashMap<String, Timestamp>>,
    etags: Mutex<EtagCache>,
}

impl fmt::Debug for GitHubScm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubScm")
            .field("bot_login", &self.bot_login)
            .field("app", &matches!(self.credentials, Credentials::App(_)))
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    fn method(self) -> http::Method {
        match self {
            Verb::Get => http::Method::GET,
            Verb::Post => http::Method::POST,
            Verb::Patch => http::Method::PATCH,
            Verb::Delete => http::Method::DELETE,
        }
    }
}

/// A response, read whole.
struct Reply {
    status: u16,
    /// The `rel="next"` page of a paginated list, as a path.
    next: Option<String>,
    body: String,
}

#[derive(Default)]
struct EtagCache {
    entries: HashMap<String, Cached>,
    next_seq: u64,
}

struct Cached {
    etag: String,
    body: String,
    next: Option<String>,
    seq: u64,
}

impl EtagCache {
    fn insert(&mut self, key: String, etag: String, body: String, next: Option<String>) {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.entries.insert(
            key,
            Cached {
                etag,
                body,
                next,
                seq,
            },
        );
        if self.entries.len() > MAX_ETAGS
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, c)| c.seq)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
    }
}

impl GitHubScm {
    /// Builds the client; asks GitHub for the bot's login when the options
    /// do not name it.
    pub async fn connect(options: GitHubOptions) -> PortResult<Self> {
        let GitHubOptions {
            api_base,
            auth,
            bot_login,
            retries,
            connect_timeout,
            read_timeout,
            clock,
        } = options;
        let client = Octocrab::builder()
            .base_uri(api_base.as_str())
            .map_err(|e| PortError::Rejected(format!("GitHub API URL {api_base:?}: {e}")))?
            // Retries are decided here: octocrab's would retry a 429 at once.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(connect_timeout))
            .set_read_timeout(Some(read_timeout))
            .build()
            .map_err(|e| PortError::Unavailable(format!("building the GitHub client: {e}")))?;
        let credentials = match auth {
            GitHubAuth::Token(token) => Credentials::Token(token.trim().to_owned()),
            GitHubAuth::App {
                app_id,
                private_key,
            } => {
                // The error would describe the key; name only what is wrong.
                let key =
                    EncodingKey::from_rsa_pem(private_key.trim().as_bytes()).map_err(|_| {
                        PortError::Rejected(format!(
                            "GitHub App {app_id}: the private key is not an RSA key in PEM form"
                        ))
                    })?;
                Credentials::App(App {
                    id: app_id,
                    key,
                    installations: Mutex::new(HashMap::new()),
                    tokens: Mutex::new(HashMap::new()),
                })
            }
        };
        let mut scm = Self {
            client,
            credentials,
            bot_login: bot_login.unwrap_or_default(),
            retries,
            clock,
            gates: Mutex::new(HashMap::new()),
            etags: Mutex::new(EtagCache::default()),
        };
        if scm.bot_login.is_empty() {
            scm.bot_login = scm.ask_bot_login().await?;
        }
        Ok(scm)
    }

    async fn ask_bot_login(&self) -> PortResult<String> {
        #[derive(Deserialize)]
        struct User {
            login: String,
        }
        #[derive(Deserialize)]
        struct AppInfo {
            slug: String,
        }
        match &self.credentials {
            Credentials::Token(_) => {
                let user: User = self.get_json(Scope::Org(""), "/user").await?;
                Ok(user.login)
            }
            Credentials::App(_) => {
                let app: AppInfo = self.get_json(Scope::App, "/app").await?;
                Ok(format!("{}[bot]", app.slug))
            }
        }
    }

    /// Whether this client acts as a GitHub App.
    pub fn is_app(&self) -> bool {
        matches!(self.credentials, Credentials::App(_))
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A JWT for the App's own endpoints.
    fn jwt(&self, app: &App) -> PortResult<String> {
        #[derive(serde::Serialize)]
        struct Claims {
            iat: i64,
            exp: i64,
            iss: String,
        }
        let now = self.now().as_second();
        let claims = Claims {
            iat: now - JWT_BACKDATE.as_secs() as i64,
            exp: now + JWT_LIFETIME.as_secs() as i64,
            iss: app.id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &app.key).map_err(|e| {
            PortError::Rejected(format!("GitHub App {}: cannot sign a JWT: {e}", app.id))
        })
    }

    /// The `Authorization` value and the identity a request's rate limit and
    /// cache belong to.
    async fn authorization(&self, scope: Scope<'_>) -> PortResult<(String, String)> {
        match (&self.credentials, scope) {
            (Credentials::Token(token), _) => Ok((format!("Bearer {token}"), "token".into())),
            (Credentials::App(app), Scope::App) => {
                Ok((format!("Bearer {}", self.jwt(app)?), "app".into()))
            }
            (Credentials::App(app), Scope::Org(org)) => {
                let installation = self.installation(app, org).await?;
                let token = self.installation_token(app, installation).await?;
                Ok((
                    format!("Bearer {token}"),
                    format!("installation/{installation}"),
                ))
            }
        }
    }

    /// The App's installation on `org` (an org, else a user account).
    async fn installation(&self, app: &App, org: &str) -> PortResult<i64> {
        let key = org.to_ascii_lowercase();
        if let Some(id) = lock(&app.installations).get(&key) {
            return Ok(*id);
        }
        #[derive(Deserialize)]
        struct Installation {
            id: i64,
        }
        let org_path = format!("/orgs/{}/installation", seg(org));
        let id = match self.get_json::<Installation>(Scope::App, &org_path).await {
            Ok(i) => i.id,
            Err(PortError::NotFound(_)) => {
                let user_path = format!("/users/{}/installation", seg(org));
                self.get_json::<Installation>(Scope::App, &user_path)
                    .await
                    .map_err(|e| match e {
                        PortError::NotFound(_) => PortError::Rejected(format!(
                            "GitHub App {} is not installed on {org}",
                            app.id
                        )),
                        e => e,
                    })?
                    .id
            }
            Err(e) => return Err(e),
        };
        lock(&app.installations).insert(key, id);
        Ok(id)
    }

    /// A token of `installation`, from the cache while it has more than
    /// [`TOKEN_MARGIN`] left, else a new one.
    async fn installation_token(&self, app: &App, installation: i64) -> PortResult<String> {
        let now = self.now();
        let margin = jiff::SignedDuration::try_from(TOKEN_MARGIN).unwrap_or_default();
        if let Some((token, expires)) = lock(&app.tokens).get(&installation)
            && now.checked_add(margin).is_ok_and(|t| t < *expires)
        {
            return Ok(token.clone());
        }
        #[derive(Deserialize)]
        struct AccessToken {
            token: String,
            expires_at: Timestamp,
        }
        let path = format!("/app/installations/{installation}/access_tokens");
        let reply = self.send_ok(Verb::Post, Scope::App, &path, None).await?;
        let t: AccessToken = decode(Verb::Post, &path, &reply.body)?;
        tracing::debug!(installation, expires_at = %t.expires_at, "new installation token");
        lock(&app.tokens).insert(installation, (t.token.clone(), t.expires_at));
        Ok(t.token)
    }

    fn forget_token(&self, scope: Scope<'_>) {
        if let (Credentials::App(app), Scope::Org(org)) = (&self.credentials, scope)
            && let Some(id) = lock(&app.installations).get(&org.to_ascii_lowercase())
        {
            lock(&app.tokens).remove(id);
        }
    }

    /// Fails at once while GitHub's limit for `identity` holds.
    fn check_gate(&self, identity: &str, verb: Verb, path: &str) -> PortResult<()> {
        let now = self.now();
        match lock(&self.gates).get(identity) {
            Some(until) if now < *until => Err(PortError::RateLimited {
                until: *until,
                message: format!(
                    "{} {path}: not sent, GitHub asked to wait until {until}",
                    verb.as_str()
                ),
            }),
            _ => Ok(()),
        }
    }

    fn close_gate(&self, identity: &str, until: Timestamp) {
        let mut gates = lock(&self.gates);
        let entry = gates.entry(identity.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    async fn send(
        &self,
        verb: Verb,
        scope: Scope<'_>,
        path: &str,
        body: Option<&Value>,
    ) -> PortResult<Reply> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            // Boxed: finding an installation token sends requests itself.
            let (authorization, identity) = Box::pin(self.authorization(scope)).await?;
            self.check_gate(&identity, verb, path)?;
            let cache_key = format!("{identity} {path}");
            let cached_etag = if verb == Verb::Get {
                lock(&self.etags)
                    .entries
                    .get(&cache_key)
                    .map(|c| c.etag.clone())
            } else {
                None
            };
            let sent = self
                .execute(verb, path, body, &authorization, cached_etag.as_deref())
                .await;
            let (status, headers, text) = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!(verb = verb.as_str(), path, error = %e, "retrying");
                    continue;
                }
                Err(e) => return Err(e),
            };
            tracing::debug!(verb = verb.as_str(), path, status, "github api");
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            if let Some(until) = self.limit_until(status, &header, &text) {
                self.close_gate(&identity, until);
                let body: String = text.trim().chars().take(MAX_ERROR_BODY).collect();
                return Err(PortError::RateLimited {
                    until,
                    message: format!("{} {path}: HTTP {status}: {body}", verb.as_str()),
                });
            }
            // The request spent the last of the budget: hold the next ones
            // until the reset rather than have GitHub refuse them.
            if header("x-ratelimit-remaining") == Some("0")
                && let Some(reset) = header("x-ratelimit-reset").and_then(epoch)
            {
                self.close_gate(&identity, reset);
            }
            if status == 401 && !renewed && matches!(scope, Scope::Org(_)) && self.is_app() {
                // A revoked or expired installation token: get a new one once.
                renewed = true;
                self.forget_token(scope);
                continue;
            }
            if (500..600).contains(&status) && attempt < self.retries {
                attempt += 1;
                continue;
            }
            let next = header("link").and_then(next_page);
            if status == 304
                && let Some(c) = lock(&self.etags).entries.get(&cache_key)
            {
                return Ok(Reply {
                    status: 200,
                    next: c.next.clone(),
                    body: c.body.clone(),
                });
            }
            if verb == Verb::Get
                && status == 200
                && let Some(etag) = header("etag")
            {
                lock(&self.etags).insert(cache_key, etag.to_owned(), text.clone(), next.clone());
            }
            return Ok(Reply {
                status,
                next,
                body: text,
            });
        }
    }

    /// One HTTP exchange: status, headers, body.
    async fn execute(
        &self,
        verb: Verb,
        path: &str,
        body: Option<&Value>,
        authorization: &str,
        etag: Option<&str>,
    ) -> PortResult<(u16, http::HeaderMap, String)> {
        let unavailable =
            |what: String| PortError::Unavailable(format!("{} {path}: {what}", verb.as_str()));
        let mut auth = HeaderValue::from_str(authorization).map_err(|_| {
            PortError::Rejected("the GitHub credential is not a valid header".into())
        })?;
        auth.set_sensitive(true);
        let mut builder = http::Request::builder()
            .method(verb.method())
            .uri(path)
            .header(AUTHORIZATION, auth)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(etag) = etag
            && let Ok(v) = HeaderValue::from_str(etag)
        {
            builder = builder.header(IF_NONE_MATCH, v);
        }
        let request = self
            .client
            .build_request(builder, body)
            .map_err(|e| PortError::Rejected(format!("{} {path}: {e}", verb.as_str())))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = self
            .client
            .body_to_string(response)
            .await
            .map_err(|e| unavailable(format!("reading body: {e}")))?;
        Ok((status, headers, text))
    }

    /// When GitHub lets requests through again, if this reply is a limit.
    fn limit_until<'h>(
        &self,
        status: u16,
        header: &impl Fn(&str) -> Option<&'h str>,
        body: &str,
    ) -> Option<Timestamp> {
        if status != 403 && status != 429 {
            return None;
        }
        let now = self.now();
        if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
            return now.checked_add(Duration::from_secs(secs)).ok();
        }
        if header("x-ratelimit-remaining") == Some("0") {
            let reset = header("x-ratelimit-reset").and_then(epoch);
            return Some(reset.filter(|r| *r > now).unwrap_or_else(|| {
                now.checked_add(SECONDARY_LIMIT_WAIT)
                    .unwrap_or(Timestamp::MAX)
            }));
        }
        let lower = body.to_ascii_lowercase();
        if status == 429 || lower.contains("rate limit") {
            return now.checked_add(SECONDARY_LIMIT_WAIT).ok();
        }
        None
    }

    /// Sends and accepts only 2xx.
    async fn send_ok(
        &self,
        verb: Verb,
        scope: Scope<'_>,
        path: &str,
        body: Option<&Value>,
    ) -> PortResult<Reply> {
        let reply = self.send(verb, scope, path, body).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(error(verb, path, &reply))
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, scope: Scope<'_>, path: &str) -> PortResult<T> {
        let reply = self.send_ok(Verb::Get, scope, path, None).await?;
        decode(Verb::Get, path, &reply.body)
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    async fn get_pages<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        first: &str,
    ) -> PortResult<Vec<T>> {
        let mut out = Vec::new();
        let mut path = first.to_owned();
        for _ in 0..MAX_PAGES {
            let reply = self.send_ok(Verb::Get, scope, &path, None).await?;
            let page: Vec<T> = decode(Verb::Get, &path, &reply.body)?;
            out.extend(page);
            match reply.next {
                Some(next) => path = next,
                None => return Ok(out),
            }
        }
        Err(PortError::Unavailable(format!(
            "GET {first}: more than {MAX_PAGES} pages"
        )))
    }

    /// A yes/no question GitHub answers with 204 or 404.
    async fn ask(&self, org: &str, path: &str, redirect_means_no: bool) -> PortResult<bool> {
        let reply = self.send(Verb::Get, Scope::Org(org), path, None).await?;
        match reply.status {
            204 => Ok(true),
            404 => Ok(false),
            302 if redirect_means_no => Ok(false),
            _ => Err(error(Verb::Get, path, &reply)),
        }
    }

    /// Deletes; "already gone" (404) is success, so a retried delete is a no-op.
    async fn delete_idempotent(&self, org: &str, path: &str) -> PortResult<()> {
        let reply = self.send(Verb::Delete, Scope::Org(org), path, None).await?;
        match reply.status {
            200..=299 | 404 => Ok(()),
            _ => Err(error(Verb::Delete, path, &reply)),
        }
    }

    /// Where a hook's deliveries are listed, and whose credentials read them.
    fn deliveries_path(hook: &Hook) -> (Scope<'_>, String) {
        match hook {
            Hook::App => (Scope::App, "/app/hook/deliveries".to_owned()),
            Hook::Repo { org, repo, id } => (
                Scope::Org(org),
                format!("{}/hooks/{id}/deliveries", repo_path(org, repo)),
            ),
            Hook::Org { org, id } => (
                Scope::Org(org),
                format!("/orgs/{}/hooks/{id}/deliveries", seg(org)),
            ),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the map whole; a panic elsewhere does not
    // make it inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A Unix time in seconds, as `X-RateLimit-Reset` gives it.
fn epoch(v: &str) -> Option<Timestamp> {
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct IssueComment {
    id: i64,
    /// `null` when the author's account was deleted.
    user: Option<Login>,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
struct ChangedFile {
    filename: String,
}

#[derive(Deserialize)]
struct GitRef {
    object: GitObject,
}

#[derive(Deserialize)]
struct GitObject {
    sha: String,
}

#[derive(Deserialize)]
struct CommentText {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize)]
struct Comparison {
    #[serde(default)]
    files: Vec<ChangedFile>,
}

#[derive(Deserialize)]
struct CheckRunId {
    id: i64,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct CheckRuns {
    #[serde(default)]
    check_runs: Vec<CheckRunId>,
}

#[derive(Deserialize)]
struct Delivery {
    id: i64,
    guid: String,
    delivered_at: Timestamp,
    #[serde(default)]
    redelivery: bool,
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    event: String,
}

/// The JSON GitHub takes for a check run (create and update alike).
fn check_run_body(run: &CheckRun, create: bool) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(run.name));
    if create {
        body.insert("head_sha".into(), json!(run.head_sha));
    }
    body.insert("external_id".into(), json!(run.external_id));
    if !run.details_url.is_empty() {
        body.insert("details_url".into(), json!(run.details_url));
    }
    body.insert("status".into(), json!(run.status));
    if let Some(c) = &run.conclusion {
        body.insert("conclusion".into(), json!(c));
    }
    if let Some(t) = run.started_at {
        body.insert("started_at".into(), json!(t.to_string()));
    }
    if let Some(t) = run.completed_at {
        body.insert("completed_at".into(), json!(t.to_string()));
    }
    if !run.title.is_empty() {
        let mut output = Map::new();
        output.insert("title".into(), json!(run.title));
        output.insert("summary".into(), json!(run.summary));
        if !run.text.is_empty() {
            output.insert("text".into(), json!(run.text));
        }
        body.insert("output".into(), Value::Object(output));
    }
    Value::Object(body)
}

#[async_trait]
impl Scm for GitHubScm {
    fn bot_login(&self) -> &str {
        &self.bot_login
    }

    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        let path = format!("{}/pulls/{number}", repo_path(org, repo));
        let reply = self
            .send_ok(Verb::Get, Scope::Org(org), &path, None)
            .await?;
        parse_pull_request(reply.body.as_bytes())
            .map_err(|e| PortError::Rejected(format!("GET {path}: {e}")))
    }

    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        let path = format!(
            "{}/pulls/{number}/files?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let files: Vec<ChangedFile> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }

    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool> {
        // Prow's rule: on a personal repo the owner counts as a member.
        if org == login {
            return Ok(true);
        }
        // 302: the token's user is not in the org, so GitHub would only show
        // public membership; Prow refuses to trust in that case, and so do we.
        self.ask(
            org,
            &format!("/orgs/{}/members/{}", seg(org), seg(login)),
            true,
        )
        .await
    }

    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool> {
        if org == login {
            return Ok(true);
        }
        self.ask(
            org,
            &format!("{}/collaborators/{}", repo_path(org, repo), seg(login)),
            false,
        )
        .await
    }

    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String> {
        let path = format!(
            "{}/git/ref/heads/{}",
            repo_path(org, repo),
            seg_keep_slash(branch)
        );
        let r: GitRef = self.get_json(Scope::Org(org), &path).await?;
        Ok(r.object.sha)
    }

    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        let path = format!("{}/issues/comments/{}", repo_path(org, repo), seg(id));
        let c: CommentText = self.get_json(Scope::Org(org), &path).await?;
        Ok(c.body.unwrap_or_default())
    }

    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        // GitHub lists the files only on the first page of a comparison.
        let path = format!(
            "{}/compare/{}...{}",
            repo_path(org, repo),
            seg_keep_slash(base),
            seg_keep_slash(head)
        );
        let c: Comparison = self.get_json(Scope::Org(org), &path).await?;
        Ok(c.files.into_iter().map(|f| f.filename).collect())
    }

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        let path = format!("{}/statuses/{}", repo_path(org, repo), seg(sha));
        // Prow omits empty fields: GitHub rejects an empty target_url.
        let mut body = Map::new();
        body.insert("state".into(), json!(status.state));
        for (key, value) in [
            ("target_url", &status.target_url),
            ("description", &status.description),
            ("context", &status.context),
        ] {
            if !value.is_empty() {
                body.insert(key.into(), json!(value));
            }
        }
        self.send_ok(
            Verb::Post,
            Scope::Org(org),
            &path,
            Some(&Value::Object(body)),
        )
        .await
        .map(drop)
    }

    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        let path = format!(
            "{}/issues/{number}/comments?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let comments: Vec<IssueComment> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(comments
            .into_iter()
            .map(|c| Comment {
                id: c.id,
                author: c.user.map(|u| u.login).unwrap_or_default(),
                body: c.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        let path = format!("{}/issues/{number}/comments", repo_path(org, repo));
        self.send_ok(
            Verb::Post,
            Scope::Org(org),
            &path,
            Some(&json!({ "body": body })),
        )
        .await
        .map(drop)
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        let path = format!("{}/issues/comments/{id}", repo_path(org, repo));
        self.send_ok(
            Verb::Patch,
            Scope::Org(org),
            &path,
            Some(&json!({ "body": body })),
        )
        .await
        .map(drop)
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        self.delete_idempotent(
            org,
            &format!("{}/issues/comments/{id}", repo_path(org, repo)),
        )
        .await
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        let path = format!("{}/issues/{number}/labels", repo_path(org, repo));
        self.send_ok(
            Verb::Post,
            Scope::Org(org),
            &path,
            Some(&json!({ "labels": [label] })),
        )
        .await
        .map(drop)
    }

    async fn remove_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
        // 404 means the label is not on the issue: the removal is already done.
        self.delete_idempotent(
            org,
            &format!(
                "{}/issues/{number}/labels/{}",
                repo_path(org, repo),
                seg(label)
            ),
        )
        .await
    }

    fn checks_supported(&self) -> bool {
        self.is_app()
    }

    async fn create_check_run(&self, org: &str, repo: &str, run: &CheckRun) -> PortResult<i64> {
        let path = format!("{}/check-runs", repo_path(org, repo));
        let reply = self
            .send_ok(
                Verb::Post,
                Scope::Org(org),
                &path,
                Some(&check_run_body(run, true)),
            )
            .await?;
        let created: CheckRunId = decode(Verb::Post, &path, &reply.body)?;
        Ok(created.id)
    }

    async fn update_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        let path = format!("{}/check-runs/{id}", repo_path(org, repo));
        self.send_ok(
            Verb::Patch,
            Scope::Org(org),
            &path,
            Some(&check_run_body(run, false)),
        )
        .await
        .map(drop)
    }

    async fn find_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        let path = format!(
            "{}/commits/{}/check-runs?check_name={}&filter=all&per_page={PER_PAGE}",
            repo_path(org, repo),
            seg(&run.head_sha),
            seg(&run.name)
        );
        let runs: CheckRuns = self.get_json(Scope::Org(org), &path).await?;
        Ok(runs
            .check_runs
            .into_iter()
            .find(|r| r.external_id.as_deref() == Some(run.external_id.as_str()))
            .map(|r| r.id))
    }
}

#[async_trait]
impl HookDeliveries for GitHubScm {
    async fn deliveries(&self, hook: &Hook, since: Timestamp) -> PortResult<Vec<HookDelivery>> {
        if matches!(hook, Hook::App) && !self.is_app() {
            return Err(PortError::Rejected(
                "the App's webhook deliveries need GitHub App credentials".into(),
            ));
        }
        let (scope, base) = Self::deliveries_path(hook);
        let mut path = format!("{base}?per_page={PER_PAGE}");
        let mut out = Vec::new();
        // Newest first, paged by cursor: stop at the first page that reaches
        // back past `since`.
        for _ in 0..MAX_PAGES {
            let reply = self.send_ok(Verb::Get, scope, &path, None).await?;
            let page: Vec<Delivery> = decode(Verb::Get, &path, &reply.body)?;
            let reached = page.iter().any(|d| d.delivered_at < since);
            out.extend(page.into_iter().map(|d| HookDelivery {
                id: d.id,
                guid: d.guid,
                delivered_at: d.delivered_at,
                redelivery: d.redelivery,
                status_code: d.status_code,
                event: d.event,
            }));
            match reply.next {
                Some(next) if !reached => path = next,
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    async fn redeliver(&self, hook: &Hook, id: i64) -> PortResult<()> {
        let (scope, base) = Self::deliveries_path(hook);
        let path = format!("{base}/{id}/attempts");
        self.send_ok(Verb::Post, scope, &path, None).await.map(drop)
    }
}

fn repo_path(org: &str, repo: &str) -> String {
    format!("/repos/{}/{}", seg(org), seg(repo))
}

/// Percent-encodes one path segment (labels have spaces and colons).
fn seg(s: &str) -> String {
    encode(s, false)
}

/// Like [`seg`] but keeps `/`: GitHub takes branch names with slashes as they are.
fn seg_keep_slash(s: &str) -> String {
    encode(s, true)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `rel="next"` target of a `Link` header, reduced to its path and query:
/// the page is fetched from the configured API, so a link naming another host
/// never receives the token.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let path = match url.split_once("://") {
            Some((_, rest)) => &rest[rest.find('/')?..],
            None => url,
        };
        Some(path.to_owned())
    })
}

fn decode<T: DeserializeOwned>(verb: Verb, path: &str, body: &str) -> PortResult<T> {
    serde_json::from_str(body).map_err(|e| {
        PortError::Rejected(format!(
            "{} {path}: unexpected response: {e}",
            verb.as_str()
        ))
    })
}

/// Maps a non-success reply to the port's error, keeping GitHub's body (its
/// `"message"`) so callers can tell a force-pushed SHA from an outage.
fn error(verb: Verb, path: &str, reply: &Reply) -> PortError {
    let body: String = reply.body.trim().chars().take(MAX_ERROR_BODY).collect();
    let message = format!("{} {path}: HTTP {}: {body}", verb.as_str(), reply.status);
    match reply.status {
        404 => PortError::NotFound(message),
        500..=599 => PortError::Unavailable(message),
        _ => PortError::Rejected(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_is_read_from_githubs_link_header() {
        let link = r#"<https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/pulls/2/files?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_page(link).as_deref(),
            Some("/repositories/1/pulls/2/files?per_page=100&page=2")
        );
        let last = r#"<https://ghe.example.com/api/v3/x?page=1>; rel="prev", <https://ghe.example.com/api/v3/x?page=1>; rel="first""#;
        assert_eq!(next_page(last), None);
        assert_eq!(
            next_page(r#"<https://ghe.example.com/api/v3/x?page=4>; rel="next""#).as_deref(),
            Some("/api/v3/x?page=4")
        );
        assert_eq!(next_page("garbage"), None);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(seg("needs-ok-to-test"), "needs-ok-to-test");
        assert_eq!(seg("kind/bug fix:x"), "kind%2Fbug%20fix%3Ax");
        assert_eq!(seg_keep_slash("release/1.2"), "release/1.2");
        assert_eq!(seg("ünï"), "%C3%BCn%C3%AF");
    }

    #[test]
    fn options_never_print_the_token_or_the_key() {
        let o = GitHubOptions::new(GITHUB_API, "ghp_secret_value");
        assert!(!format!("{o:?}").contains("ghp_secret_value"));
        let o = GitHubOptions::app(GITHUB_API, 7, "-----BEGIN RSA PRIVATE KEY-----secret");
        let printed = format!("{o:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("app_id: 7"), "{printed}");
    }

    #[test]
    fn the_etag_cache_drops_the_oldest_entry_beyond_its_bound() {
        let mut c = EtagCache::default();
        for i in 0..=MAX_ETAGS {
            c.insert(format!("k{i}"), "e".into(), "b".into(), None);
        }
        assert_eq!(c.entries.len(), MAX_ETAGS);
        assert!(!c.entries.contains_key("k0"));
        assert!(c.entries.contains_key(&format!("k{MAX_ETAGS}")));
    }
}
