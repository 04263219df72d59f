//! The planner's facts, asked of the code host and the job store.

use skiff_core::event::{PullRequest, PushEvent, Repo};
use skiff_core::keys;
use skiff_core::plan::{FactError, Facts};
use skiff_core::ports::{JobQuery, JobStore, PortError, Scm};
use skiff_core::prowjob::ProwJob;
use skiff_core::prowjob::labels::EVENT_GUID;

pub(crate) struct PortFacts<'a> {
    pub scm: &'a dyn Scm,
    pub store: &'a dyn JobStore,
    /// The delivery being planned: its own records are hidden from it.
    pub delivery: &'a str,
}

fn fact_error(fact: &'static str) -> impl FnOnce(PortError) -> FactError {
    move |e| FactError {
        fact,
        retryable: e.is_retryable(),
        message: e.to_string(),
    }
}

/// A ref that did not exist before the push has nothing to compare with.
fn no_base(sha: &str) -> bool {
    sha.bytes().all(|b| b == b'0')
}

#[async_trait::async_trait]
impl Facts for PortFacts<'_> {
    async fn changed_files(&mut self, repo: &Repo, number: i64) -> Result<Vec<String>, FactError> {
        self.scm
            .changed_files(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the pull request's changed files"))
    }

    async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError> {
        self.scm
            .is_member(org, login)
            .await
            .map_err(fact_error("org membership"))
    }

    async fn is_collaborator(
        &mut self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> Result<bool, FactError> {
        self.scm
            .is_collaborator(org, repo, login)
            .await
            .map_err(fact_error("collaborator status"))
    }

    fn is_bot(&self, login: &str) -> bool {
        login == self.scm.bot_login()
    }

    async fn pull_request(&mut self, repo: &Repo, number: i64) -> Result<PullRequest, FactError> {
        self.scm
            .pull_request(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the pull request"))
    }

    /// Records this delivery wrote on an earlier, interrupted attempt are left
    /// out, so a redelivery plans exactly what the first attempt planned: it
    /// must neither abort the jobs it started itself nor let them change what
    /// `/retest` reruns.
    async fn pr_jobs(&mut self, repo: &Repo, number: i64) -> Result<Vec<ProwJob>, FactError> {
        let query = JobQuery::Pull {
            org: repo.org.clone(),
            repo: repo.repo.clone(),
            number,
        };
        let mut jobs = self
            .store
            .list(&query, None)
            .await
            .map_err(fact_error("the pull request's job records"))?;
        jobs.retain(|j| {
            j.metadata.labels.get(EVENT_GUID).map(String::as_str) != Some(self.delivery)
        });
        Ok(jobs)
    }

    async fn base_sha(&mut self, repo: &Repo, base_ref: &str) -> Result<String, FactError> {
        self.scm
            .branch_sha(&repo.org, &repo.repo, base_ref)
            .await
            .map_err(fact_error("the base branch's SHA"))
    }

    /// Skiff's own results comments read as empty, so they start nothing.
    /// A CodeCommit comment event names its author by the last segment of
    /// the caller's ARN, for the reporter a role session name Skiff does not
    /// choose, so the bot is recognised by what it writes: the results table
    /// lists every job's rerun command, and a job whose `trigger` is not
    /// anchored to the start of a line would otherwise rerun itself from
    /// its own results, again and again.
    async fn comment_body(&mut self, repo: &Repo, comment_id: &str) -> Result<String, FactError> {
        let body = self
            .scm
            .comment_body(&repo.org, &repo.repo, comment_id)
            .await
            .map_err(fact_error("the comment's text"))?;
        if body.contains(keys::RESULTS_TAG) {
            tracing::info!(comment_id, "Skiff's own results comment: no commands read");
            return Ok(String::new());
        }
        Ok(body)
    }

    /// As on GitHub, where a branch pushed without new commits lists no
    /// files, a new ref changes nothing and only jobs without a file filter
    /// run.
    async fn push_changes(&mut self, push: &PushEvent) -> Result<Vec<String>, FactError> {
        if no_base(&push.before) {
            return Ok(Vec::new());
        }
        self.scm
            .compare_files(&push.repo.org, &push.repo.repo, &push.before, &push.after)
            .await
            .map_err(fact_error("the push's changed files"))
    }
}
