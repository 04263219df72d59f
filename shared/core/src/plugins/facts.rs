//! What the review plugins may ask of the outside world, behind one narrow
//! port (as the trigger's planner asks [`crate::plan::Facts`]), and a
//! per-event cache so that plugins asking the same thing (is this commenter
//! a collaborator? which files does the PR change?) ask once.

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::{PullRequest, Repo};
use crate::plan::FactError;
use crate::ports::{CombinedStatus, IssueComment, PullFile, PullReview};

use super::owners::RepoOwners;

/// The OWNERS of a repository at its base branch, and the files that could
/// not be read (each named with its line), which the plugins report instead
/// of failing.
#[derive(Clone, Debug, Default)]
pub struct OwnersAt {
    pub owners: RepoOwners,
    /// The base branch's head commit the files were read at.
    pub sha: String,
    /// `path:line: problem` for every OWNERS or OWNERS_ALIASES file that
    /// did not parse.
    pub problems: Vec<String>,
}

/// Implemented over GitHub and the job store by the trigger, and over files
/// by `skiff plan`.
#[async_trait::async_trait]
pub trait ReviewFacts: Send + Sync {
    /// Whether `login` is Skiff's own bot account.
    fn is_bot(&self, login: &str) -> bool;
    async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError>;
    async fn is_collaborator(&mut self, repo: &Repo, login: &str) -> Result<bool, FactError>;
    /// Whether `login` is in the team `team` (a slug) of `org`.
    async fn is_team_member(
        &mut self,
        org: &str,
        team: &str,
        login: &str,
    ) -> Result<bool, FactError>;
    /// `admin`, `maintain`, `write`, `triage`, `read` or `none`.
    async fn permission(&mut self, repo: &Repo, login: &str) -> Result<String, FactError>;
    async fn pull_request(&mut self, repo: &Repo, number: i64) -> Result<PullRequest, FactError>;
    async fn pull_files(&mut self, repo: &Repo, number: i64) -> Result<Vec<PullFile>, FactError>;
    async fn repo_labels(&mut self, repo: &Repo) -> Result<Vec<String>, FactError>;
    async fn issue_comments(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<IssueComment>, FactError>;
    async fn reviews(&mut self, repo: &Repo, number: i64) -> Result<Vec<PullReview>, FactError>;
    /// OWNERS and OWNERS_ALIASES at the head of `base_ref`, collaborators
    /// filtered as `owners.skip_collaborators` says.
    async fn owners(&mut self, repo: &Repo, base_ref: &str) -> Result<Arc<OwnersAt>, FactError>;
    /// A file's text at `sha`; `None` if there is none.
    async fn file(
        &mut self,
        repo: &Repo,
        path: &str,
        sha: &str,
    ) -> Result<Option<String>, FactError>;
    /// The tree SHA of commit `sha`.
    async fn tree_sha(&mut self, repo: &Repo, sha: &str) -> Result<String, FactError>;
    /// Numbers of the pull requests `author` opened in the repository.
    async fn pulls_by_author(&mut self, repo: &Repo, author: &str) -> Result<Vec<i64>, FactError>;
    async fn combined_status(
        &mut self,
        repo: &Repo,
        sha: &str,
    ) -> Result<CombinedStatus, FactError>;
    /// The head of `branch` now.
    async fn base_sha(&mut self, repo: &Repo, branch: &str) -> Result<String, FactError>;
    /// Who last added `label` to the issue, if anyone did.
    async fn last_labeler(
        &mut self,
        repo: &Repo,
        number: i64,
        label: &str,
    ) -> Result<Option<String>, FactError>;
}

/// Remembers every answer for the length of one event, so plugins can ask
/// freely and GitHub is asked once.
pub struct Cached<'a> {
    inner: &'a mut dyn ReviewFacts,
    members: HashMap<(String, String), bool>,
    collaborators: HashMap<String, bool>,
    teams: HashMap<(String, String, String), bool>,
    permissions: HashMap<String, String>,
    pulls: HashMap<i64, PullRequest>,
    files: HashMap<i64, Vec<PullFile>>,
    repo_labels: Option<Vec<String>>,
    comments: HashMap<i64, Vec<IssueComment>>,
    reviews: HashMap<i64, Vec<PullReview>>,
    owners: HashMap<String, Arc<OwnersAt>>,
    blobs: HashMap<(String, String), Option<String>>,
    trees: HashMap<String, String>,
    base_shas: HashMap<String, String>,
}

macro_rules! memo {
    ($map:expr, $key:expr, $get:expr) => {{
        let key = $key;
        if let Some(v) = $map.get(&key) {
            return Ok(v.clone());
        }
        let v = $get;
        $map.insert(key, v.clone());
        Ok(v)
    }};
}

impl<'a> Cached<'a> {
    pub fn new(inner: &'a mut dyn ReviewFacts) -> Self {
        Cached {
            inner,
            members: HashMap::new(),
            collaborators: HashMap::new(),
            teams: HashMap::new(),
            permissions: HashMap::new(),
            pulls: HashMap::new(),
            files: HashMap::new(),
            repo_labels: None,
            comments: HashMap::new(),
            reviews: HashMap::new(),
            owners: HashMap::new(),
            blobs: HashMap::new(),
            trees: HashMap::new(),
            base_shas: HashMap::new(),
        }
    }

    pub fn is_bot(&self, login: &str) -> bool {
        self.inner.is_bot(login)
    }

    pub async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError> {
        memo!(
            self.members,
            (org.to_string(), login.to_string()),
            self.inner.is_member(org, login).await?
        )
    }

    pub async fn is_collaborator(&mut self, repo: &Repo, login: &str) -> Result<bool, FactError> {
        memo!(
            self.collaborators,
            login.to_string(),
            self.inner.is_collaborator(repo, login).await?
        )
    }

    pub async fn is_team_member(
        &mut self,
        org: &str,
        team: &str,
        login: &str,
    ) -> Result<bool, FactError> {
        memo!(
            self.teams,
            (org.to_string(), team.to_string(), login.to_string()),
            self.inner.is_team_member(org, team, login).await?
        )
    }

    pub async fn permission(&mut self, repo: &Repo, login: &str) -> Result<String, FactError> {
        memo!(
            self.permissions,
            login.to_string(),
            self.inner.permission(repo, login).await?
        )
    }

    pub async fn pull_request(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<PullRequest, FactError> {
        memo!(
            self.pulls,
            number,
            self.inner.pull_request(repo, number).await?
        )
    }

    pub async fn pull_files(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<PullFile>, FactError> {
        memo!(
            self.files,
            number,
            self.inner.pull_files(repo, number).await?
        )
    }

    /// The names of the PR's changed files.
    pub async fn changed_files(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<String>, FactError> {
        Ok(self
            .pull_files(repo, number)
            .await?
            .into_iter()
            .map(|f| f.filename)
            .collect())
    }

    /// Every file list asked for so far (the trigger's planner reuses it).
    pub fn known_files(&self, number: i64) -> Option<Vec<String>> {
        self.files
            .get(&number)
            .map(|f| f.iter().map(|f| f.filename.clone()).collect())
    }

    pub async fn repo_labels(&mut self, repo: &Repo) -> Result<Vec<String>, FactError> {
        if let Some(l) = &self.repo_labels {
            return Ok(l.clone());
        }
        let l = self.inner.repo_labels(repo).await?;
        self.repo_labels = Some(l.clone());
        Ok(l)
    }

    pub async fn issue_comments(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<IssueComment>, FactError> {
        memo!(
            self.comments,
            number,
            self.inner.issue_comments(repo, number).await?
        )
    }

    pub async fn reviews(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<PullReview>, FactError> {
        memo!(
            self.reviews,
            number,
            self.inner.reviews(repo, number).await?
        )
    }

    pub async fn owners(
        &mut self,
        repo: &Repo,
        base_ref: &str,
    ) -> Result<Arc<OwnersAt>, FactError> {
        memo!(
            self.owners,
            base_ref.to_string(),
            self.inner.owners(repo, base_ref).await?
        )
    }

    pub async fn file(
        &mut self,
        repo: &Repo,
        path: &str,
        sha: &str,
    ) -> Result<Option<String>, FactError> {
        memo!(
            self.blobs,
            (path.to_string(), sha.to_string()),
            self.inner.file(repo, path, sha).await?
        )
    }

    pub async fn tree_sha(&mut self, repo: &Repo, sha: &str) -> Result<String, FactError> {
        memo!(
            self.trees,
            sha.to_string(),
            self.inner.tree_sha(repo, sha).await?
        )
    }

    pub async fn pulls_by_author(
        &mut self,
        repo: &Repo,
        author: &str,
    ) -> Result<Vec<i64>, FactError> {
        self.inner.pulls_by_author(repo, author).await
    }

    pub async fn combined_status(
        &mut self,
        repo: &Repo,
        sha: &str,
    ) -> Result<CombinedStatus, FactError> {
        self.inner.combined_status(repo, sha).await
    }

    pub async fn base_sha(&mut self, repo: &Repo, branch: &str) -> Result<String, FactError> {
        memo!(
            self.base_shas,
            branch.to_string(),
            self.inner.base_sha(repo, branch).await?
        )
    }

    pub async fn last_labeler(
        &mut self,
        repo: &Repo,
        number: i64,
        label: &str,
    ) -> Result<Option<String>, FactError> {
        self.inner.last_labeler(repo, number, label).await
    }
}
