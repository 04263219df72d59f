//! [`Scm`] over GitHub's REST API with `octocrab`.
//!
//! Requests go through octocrab's raw verbs (`_get`, `_post`, …) so this adapter
//! sees every status code itself: membership is answered by 204/404/302, a
//! missing label by 404, and the body of an error is kept verbatim in the
//! [`PortError`] because the reporter recognises some of GitHub's messages
//! ("No commit found for SHA") the way Prow's crier does.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use skiff_core::event::PullRequest;
use skiff_core::event::github::parse_pull_request;
use skiff_core::ports::{Comment, CommitStatus, PortError, PortResult, Scm};

/// github.com's API. GitHub Enterprise serves it at `https://HOST/api/v3`.
pub const GITHUB_API: &str = "https://api.github.com";

/// The largest page GitHub serves.
const PER_PAGE: u32 = 100;
/// GitHub lists at most 3000 files of a pull request (30 pages); the bound only
/// stops a misbehaving server from paging forever.
const MAX_PAGES: usize = 100;
/// Enough of an error body to read GitHub's message, not a whole HTML page.
const MAX_ERROR_BODY: usize = 1000;

/// How to reach GitHub.
#[derive(Clone)]
pub struct GitHubOptions {
    /// The API's base URL: [`GITHUB_API`], `https://HOST/api/v3` for GitHub
    /// Enterprise, or a test server.
    pub api_base: String,
    /// A personal access token or installation token. Never logged.
    pub token: String,
    /// The bot's login. `None`: asked once from `GET /user` when connecting.
    pub bot_login: Option<String>,
    /// Immediate retries of a 5xx, a 429 or a connection error. Rate limits
    /// are not waited out here: a Lambda would time out, so they surface as
    /// [`PortError::Unavailable`] and the event is retried later.
    pub retries: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl GitHubOptions {
    pub fn new(api_base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            api_base: api_base.into(),
            token: token.into(),
            bot_login: None,
            retries: 3,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
        }
    }
}

// By hand, so that printing the options can never print the token.
impl fmt::Debug for GitHubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOptions")
            .field("api_base", &self.api_base)
            .field("token", &"<redacted>")
            .field("bot_login", &self.bot_login)
            .field("retries", &self.retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

/// GitHub as the code host.
pub struct GitHubScm {
    client: Octocrab,
    bot_login: String,
}

impl fmt::Debug for GitHubScm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubScm")
            .field("bot_login", &self.bot_login)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
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
}

/// A response, read whole.
struct Reply {
    status: u16,
    /// The `rel="next"` page of a paginated list, as a path.
    next: Option<String>,
    rate_limited: bool,
    body: String,
}

impl GitHubScm {
    /// Builds the client; asks `GET /user` for the bot's login when the
    /// options do not name it.
    pub async fn connect(options: GitHubOptions) -> PortResult<Self> {
        let GitHubOptions {
            api_base,
            token,
            bot_login,
            retries,
            connect_timeout,
            read_timeout,
        } = options;
        let retry = if retries == 0 {
            RetryConfig::None
        } else {
            RetryConfig::Simple(retries)
        };
        let client = Octocrab::builder()
            .base_uri(api_base.as_str())
            .map_err(|e| PortError::Rejected(format!("GitHub API URL {api_base:?}: {e}")))?
            .personal_token(token)
            .add_retry_config(retry)
            .set_connect_timeout(Some(connect_timeout))
            .set_read_timeout(Some(read_timeout))
            .build()
            .map_err(|e| PortError::Unavailable(format!("building the GitHub client: {e}")))?;
        let mut scm = Self {
            client,
            bot_login: bot_login.unwrap_or_default(),
        };
        if scm.bot_login.is_empty() {
            #[derive(Deserialize)]
            struct User {
                login: String,
            }
            let user: User = scm.get_json("/user").await?;
            scm.bot_login = user.login;
        }
        Ok(scm)
    }

    async fn send(&self, verb: Verb, path: &str, body: Option<&Value>) -> PortResult<Reply> {
        let sent = match verb {
            Verb::Get => self.client._get(path).await,
            Verb::Post => self.client._post(path, body).await,
            Verb::Patch => self.client._patch(path, body).await,
            Verb::Delete => self.client._delete(path, body).await,
        };
        let response =
            sent.map_err(|e| PortError::Unavailable(format!("{} {path}: {e}", verb.as_str())))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let next = headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_page);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let out_of_quota = header("x-ratelimit-remaining") == Some("0");
        let told_to_wait = header("retry-after").is_some();
        let body = self.client.body_to_string(response).await.map_err(|e| {
            PortError::Unavailable(format!("{} {path}: reading body: {e}", verb.as_str()))
        })?;
        // GitHub signals the primary limit with the quota headers, secondary
        // limits with retry-after or only in the message.
        let rate_limited = status == 429
            || (status == 403
                && (out_of_quota
                    || told_to_wait
                    || body.to_ascii_lowercase().contains("rate limit")));
        tracing::debug!(verb = verb.as_str(), path, status, "github api");
        Ok(Reply {
            status,
            next,
            rate_limited,
            body,
        })
    }

    /// Sends and accepts only 2xx.
    async fn send_ok(&self, verb: Verb, path: &str, body: Option<&Value>) -> PortResult<Reply> {
        let reply = self.send(verb, path, body).await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(error(verb, path, &reply))
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> PortResult<T> {
        let reply = self.send_ok(Verb::Get, path, None).await?;
        decode(Verb::Get, path, &reply.body)
    }

    /// Every page of a list, following `Link: <…>; rel="next"`.
    async fn get_pages<T: DeserializeOwned>(&self, first: &str) -> PortResult<Vec<T>> {
        let mut out = Vec::new();
        let mut path = first.to_owned();
        for _ in 0..MAX_PAGES {
            let reply = self.send_ok(Verb::Get, &path, None).await?;
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
    async fn ask(&self, path: &str, redirect_means_no: bool) -> PortResult<bool> {
        let reply = self.send(Verb::Get, path, None).await?;
        match reply.status {
            204 => Ok(true),
            404 => Ok(false),
            302 if redirect_means_no => Ok(false),
            _ => Err(error(Verb::Get, path, &reply)),
        }
    }

    /// Deletes; "already gone" (404) is success, so a retried delete is a no-op.
    async fn delete_idempotent(&self, path: &str) -> PortResult<()> {
        let reply = self.send(Verb::Delete, path, None).await?;
        match reply.status {
            200..=299 | 404 => Ok(()),
            _ => Err(error(Verb::Delete, path, &reply)),
        }
    }
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

#[async_trait]
impl Scm for GitHubScm {
    fn bot_login(&self) -> &str {
        &self.bot_login
    }

    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        let path = format!("{}/pulls/{number}", repo_path(org, repo));
        let reply = self.send_ok(Verb::Get, &path, None).await?;
        parse_pull_request(reply.body.as_bytes())
            .map_err(|e| PortError::Rejected(format!("GET {path}: {e}")))
    }

    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        let path = format!(
            "{}/pulls/{number}/files?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let files: Vec<ChangedFile> = self.get_pages(&path).await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }

    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool> {
        // Prow's rule: on a personal repo the owner counts as a member.
        if org == login {
            return Ok(true);
        }
        // 302: the token's user is not in the org, so GitHub would only show
        // public membership; Prow refuses to trust in that case, and so do we.
        self.ask(&format!("/orgs/{}/members/{}", seg(org), seg(login)), true)
            .await
    }

    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool> {
        if org == login {
            return Ok(true);
        }
        self.ask(
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
        let r: GitRef = self.get_json(&path).await?;
        Ok(r.object.sha)
    }

    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        let path = format!("{}/issues/comments/{}", repo_path(org, repo), seg(id));
        let c: CommentText = self.get_json(&path).await?;
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
        let c: Comparison = self.get_json(&path).await?;
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
        self.send_ok(Verb::Post, &path, Some(&Value::Object(body)))
            .await
            .map(drop)
    }

    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        let path = format!(
            "{}/issues/{number}/comments?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let comments: Vec<IssueComment> = self.get_pages(&path).await?;
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
        self.send_ok(Verb::Post, &path, Some(&json!({ "body": body })))
            .await
            .map(drop)
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        let path = format!("{}/issues/comments/{id}", repo_path(org, repo));
        self.send_ok(Verb::Patch, &path, Some(&json!({ "body": body })))
            .await
            .map(drop)
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        self.delete_idempotent(&format!("{}/issues/comments/{id}", repo_path(org, repo)))
            .await
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        let path = format!("{}/issues/{number}/labels", repo_path(org, repo));
        self.send_ok(Verb::Post, &path, Some(&json!({ "labels": [label] })))
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
        self.delete_idempotent(&format!(
            "{}/issues/{number}/labels/{}",
            repo_path(org, repo),
            seg(label)
        ))
        .await
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
        _ if reply.rate_limited => PortError::Unavailable(message),
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
    fn options_never_print_the_token() {
        let o = GitHubOptions::new(GITHUB_API, "ghp_secret_value");
        assert!(!format!("{o:?}").contains("ghp_secret_value"));
    }
}
