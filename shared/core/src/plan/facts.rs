//! The facts planning needs from the outside world, behind one port, and a
//! per-event cache so each is asked at most once.

use std::collections::HashMap;

use crate::event::{PullRequest, PushEvent, Repo};
use crate::prowjob::ProwJob;

/// A fact could not be had (GitHub down, rate limited, …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot get {fact}: {message}")]
pub struct FactError {
    pub fact: &'static str,
    pub message: String,
    /// Worth retrying the event later (a 5xx or a rate limit), as opposed to
    /// a permanent answer (the PR does not exist).
    pub retryable: bool,
}

/// What the planner may ask. Implemented over GitHub / CodeCommit and the job
/// store by the trigger function, and over files by `skiff plan`.
#[async_trait::async_trait]
pub trait Facts: Send {
    /// Paths a pull request changes (GitHub's "list pull request files").
    async fn changed_files(&mut self, repo: &Repo, number: i64) -> Result<Vec<String>, FactError>;
    /// Whether `login` is a member of `org`.
    async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError>;
    /// Whether `login` is a collaborator on `org/repo`.
    async fn is_collaborator(
        &mut self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> Result<bool, FactError>;
    /// Whether `login` is Skiff's own bot account.
    fn is_bot(&self, login: &str) -> bool;
    /// The pull request, as `GET /repos/{org}/{repo}/pulls/{number}` returns it.
    async fn pull_request(&mut self, repo: &Repo, number: i64) -> Result<PullRequest, FactError>;
    /// Earlier presubmit records of the pull request (for `/retest` and aborts).
    async fn pr_jobs(&mut self, repo: &Repo, number: i64) -> Result<Vec<ProwJob>, FactError>;
    /// The current SHA of the base branch (Prow reads it at event time).
    async fn base_sha(&mut self, repo: &Repo, base_ref: &str) -> Result<String, FactError>;
    /// A comment's text when the event did not carry it (CodeCommit).
    async fn comment_body(&mut self, repo: &Repo, comment_id: &str) -> Result<String, FactError>;
    /// Paths a push changes when the event did not list them (CodeCommit).
    async fn push_changes(&mut self, push: &PushEvent) -> Result<Vec<String>, FactError>;
}

/// Remembers every answer for the length of one event.
pub(super) struct Cached<'a> {
    inner: &'a mut dyn Facts,
    changed_files: Option<Vec<String>>,
    members: HashMap<(String, String), bool>,
    collaborators: HashMap<(String, String, String), bool>,
    pull_request: Option<PullRequest>,
    pr_jobs: Option<Vec<ProwJob>>,
    base_sha: Option<String>,
    comment_body: Option<String>,
    push_changes: Option<Vec<String>>,
}

impl<'a> Cached<'a> {
    pub fn new(inner: &'a mut dyn Facts) -> Self {
        Cached {
            inner,
            changed_files: None,
            members: HashMap::new(),
            collaborators: HashMap::new(),
            pull_request: None,
            pr_jobs: None,
            base_sha: None,
            comment_body: None,
            push_changes: None,
        }
    }

    pub async fn changed_files(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<&[String], FactError> {
        if self.changed_files.is_none() {
            self.changed_files = Some(self.inner.changed_files(repo, number).await?);
        }
        Ok(self.changed_files.as_deref().unwrap_or_default())
    }

    pub async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError> {
        let key = (org.to_string(), login.to_string());
        if let Some(v) = self.members.get(&key) {
            return Ok(*v);
        }
        let v = self.inner.is_member(org, login).await?;
        self.members.insert(key, v);
        Ok(v)
    }

    pub async fn is_collaborator(
        &mut self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> Result<bool, FactError> {
        let key = (org.to_string(), repo.to_string(), login.to_string());
        if let Some(v) = self.collaborators.get(&key) {
            return Ok(*v);
        }
        let v = self.inner.is_collaborator(org, repo, login).await?;
        self.collaborators.insert(key, v);
        Ok(v)
    }

    pub fn is_bot(&self, login: &str) -> bool {
        self.inner.is_bot(login)
    }

    /// The PR: the one the event carried, or fetched once.
    pub async fn pull_request(
        &mut self,
        repo: &Repo,
        number: i64,
        carried: Option<&PullRequest>,
    ) -> Result<PullRequest, FactError> {
        if let Some(pr) = carried {
            return Ok(pr.clone());
        }
        if self.pull_request.is_none() {
            self.pull_request = Some(self.inner.pull_request(repo, number).await?);
        }
        self.pull_request.clone().ok_or_else(|| FactError {
            fact: "pull request",
            message: "no answer".into(),
            retryable: true,
        })
    }

    pub async fn pr_jobs(&mut self, repo: &Repo, number: i64) -> Result<&[ProwJob], FactError> {
        if self.pr_jobs.is_none() {
            self.pr_jobs = Some(self.inner.pr_jobs(repo, number).await?);
        }
        Ok(self.pr_jobs.as_deref().unwrap_or_default())
    }

    pub async fn base_sha(&mut self, repo: &Repo, base_ref: &str) -> Result<String, FactError> {
        if self.base_sha.is_none() {
            self.base_sha = Some(self.inner.base_sha(repo, base_ref).await?);
        }
        Ok(self.base_sha.clone().unwrap_or_default())
    }

    pub async fn comment_body(
        &mut self,
        repo: &Repo,
        comment_id: &str,
    ) -> Result<String, FactError> {
        if self.comment_body.is_none() {
            self.comment_body = Some(self.inner.comment_body(repo, comment_id).await?);
        }
        Ok(self.comment_body.clone().unwrap_or_default())
    }

    pub async fn push_changes(&mut self, push: &PushEvent) -> Result<&[String], FactError> {
        if self.push_changes.is_none() {
            self.push_changes = Some(match &push.changed_files {
                Some(files) => files.clone(),
                None => self.inner.push_changes(push).await?,
            });
        }
        Ok(self.push_changes.as_deref().unwrap_or_default())
    }
}
