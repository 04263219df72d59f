//! [`Scm`] and [`HookDeliveries`](skiff_core::ports::HookDeliveries) over
//! GitHub's REST API with `octocrab`.
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

mod auth;
mod checks;
mod comments;
mod deliveries;
mod facts;
mod http;
mod rate_limit;
mod review;
mod statuses;
mod tide;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use skiff_core::event::PullRequest;
use skiff_core::ports::{
    BranchHead, CheckRun, Clock, CombinedStatus, Comment, CommitStatus, IssueComment, IssueState,
    PortError, PortResult, PullFile, PullReview, RateLimit, Scm, SystemClock, Tree,
};

pub use auth::GitHubAuth;
use auth::{Credentials, Scope};
use http::EtagCache;

/// github.com's API. GitHub Enterprise serves it at `https://HOST/api/v3`.
pub const GITHUB_API: &str = "https://api.github.com";

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
            clock: Arc::new(SystemClock),
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
    /// The last `X-RateLimit-*` GitHub sent, by credential identity.
    rate_limits: Mutex<HashMap<String, RateLimit>>,
}

impl fmt::Debug for GitHubScm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubScm")
            .field("bot_login", &self.bot_login)
            .field("app", &matches!(self.credentials, Credentials::App(_)))
            .finish_non_exhaustive()
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
            .map_err(|e| PortError::Rejected(format!("GitHub API URL {api_base:?}: {e}").into()))?
            // Retries are decided here: octocrab's would retry a 429 at once.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(connect_timeout))
            .set_read_timeout(Some(read_timeout))
            .build()
            .map_err(|e| {
                PortError::Unavailable(format!("building the GitHub client: {e}").into())
            })?;
        let credentials = Credentials::from_auth(auth)?;
        let mut scm = Self {
            client,
            credentials,
            bot_login: bot_login.unwrap_or_default(),
            retries,
            clock,
            gates: Mutex::new(HashMap::new()),
            etags: Mutex::new(EtagCache::default()),
            rate_limits: Mutex::new(HashMap::new()),
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
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the map whole; a panic elsewhere does not
    // make it inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Scm for GitHubScm {
    fn bot_login(&self) -> &str {
        &self.bot_login
    }

    fn rate_limits(&self) -> Vec<RateLimit> {
        let mut all: Vec<RateLimit> = lock(&self.rate_limits).values().cloned().collect();
        all.sort_by(|a, b| a.identity.cmp(&b.identity));
        all
    }

    // A trait impl cannot span modules: each method hands over to its seam's
    // module (facts, statuses, comments and labels, checks).
    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        self.get_pull_request(org, repo, number).await
    }

    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        self.list_changed_files(org, repo, number).await
    }

    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool> {
        self.is_org_member(org, login).await
    }

    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool> {
        self.is_repo_collaborator(org, repo, login).await
    }

    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String> {
        self.get_branch_sha(org, repo, branch).await
    }

    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        self.get_comment_body(org, repo, id).await
    }

    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        self.compare_changed_files(org, repo, base, head).await
    }

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        self.post_status(org, repo, sha, status).await
    }

    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.list_issue_comments(org, repo, number).await
    }

    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        self.post_comment(org, repo, number, body).await
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        self.patch_comment(org, repo, id, body).await
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        self.delete_issue_comment(org, repo, id).await
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        self.post_label(org, repo, number, label).await
    }

    async fn remove_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
        self.delete_label(org, repo, number, label).await
    }

    // -- the review plugins' (review.rs) --

    async fn pull_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullFile>> {
        self.list_pull_files(org, repo, number).await
    }

    async fn repo_labels(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        self.list_repo_labels(org, repo).await
    }

    async fn issue_comments(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<IssueComment>> {
        self.list_comments_timed(org, repo, number).await
    }

    async fn reviews(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullReview>> {
        self.list_reviews(org, repo, number).await
    }

    async fn collaborators(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        self.list_collaborators(org, repo).await
    }

    async fn is_team_member(&self, org: &str, team: &str, login: &str) -> PortResult<bool> {
        self.team_membership(org, team, login).await
    }

    async fn is_team_id_member(&self, org: &str, team_id: i64, login: &str) -> PortResult<bool> {
        self.team_id_membership(org, team_id, login).await
    }

    async fn permission(&self, org: &str, repo: &str, login: &str) -> PortResult<String> {
        self.collaborator_permission(org, repo, login).await
    }

    async fn branch_head(&self, org: &str, repo: &str, branch: &str) -> PortResult<BranchHead> {
        self.get_branch_head(org, repo, branch).await
    }

    async fn tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<Tree> {
        self.get_tree(org, repo, sha).await
    }

    async fn file_content(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        self.get_file(org, repo, path, git_ref).await
    }

    async fn commit_tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<String> {
        self.get_commit_tree(org, repo, sha).await
    }

    async fn pulls_by_author(&self, org: &str, repo: &str, author: &str) -> PortResult<Vec<i64>> {
        self.search_pulls_by_author(org, repo, author).await
    }

    async fn open_pulls(&self, org: &str, repo: &str, base: &str) -> PortResult<Vec<PullRequest>> {
        self.list_open_pulls(org, repo, base).await
    }

    async fn combined_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<CombinedStatus> {
        self.get_combined_status(org, repo, sha).await
    }

    async fn check_runs_on(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<Vec<skiff_core::ports::CheckRunState>> {
        self.list_check_runs(org, repo, sha).await
    }

    async fn required_status_checks(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> PortResult<Vec<String>> {
        self.get_required_status_checks(org, repo, branch).await
    }

    async fn org_repos(&self, org: &str) -> PortResult<Vec<String>> {
        self.list_org_repos(org).await
    }

    async fn labelled_issues(
        &self,
        org: &str,
        repo: &str,
        label: &str,
    ) -> PortResult<Vec<skiff_core::ports::LabelledIssue>> {
        self.list_labelled_issues(org, repo, label).await
    }

    async fn merge_pull(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        request: &skiff_core::tide::merge::MergeRequest,
    ) -> PortResult<skiff_core::ports::MergeOutcome> {
        self.put_merge(org, repo, number, request).await
    }

    async fn last_labeler(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<Option<String>> {
        self.find_last_labeler(org, repo, number, label).await
    }

    async fn assign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<Vec<String>> {
        self.add_assignees(org, repo, number, logins).await
    }

    async fn unassign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<()> {
        self.remove_assignees(org, repo, number, logins).await
    }

    async fn request_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<Vec<String>> {
        self.add_review_requests(org, repo, number, users, teams)
            .await
    }

    async fn unrequest_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<()> {
        self.remove_review_requests(org, repo, number, users, teams)
            .await
    }

    async fn set_issue_state(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        state: IssueState,
    ) -> PortResult<()> {
        self.patch_issue_state(org, repo, number, state).await
    }

    fn checks_supported(&self) -> bool {
        self.is_app()
    }

    async fn create_check_run(&self, org: &str, repo: &str, run: &CheckRun) -> PortResult<i64> {
        self.post_check_run(org, repo, run).await
    }

    async fn update_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        self.patch_check_run(org, repo, id, run).await
    }

    async fn find_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        self.find_check_run_id(org, repo, run).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_never_print_the_token_or_the_key() {
        let o = GitHubOptions::new(GITHUB_API, "ghp_secret_value");
        assert!(!format!("{o:?}").contains("ghp_secret_value"));
        let o = GitHubOptions::app(GITHUB_API, 7, "-----BEGIN RSA PRIVATE KEY-----secret");
        let printed = format!("{o:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("app_id: 7"), "{printed}");
    }
}
