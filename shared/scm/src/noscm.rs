//! [`Scm`] for `skiff dev` without a code host: reports are logged, not sent.
//!
//! Writes (statuses, comments, labels) log what they would have done at `info`
//! and succeed, so the reporter records them as reported. Questions get the
//! answer that grants the least:
//! - `is_member` and `is_collaborator` are `false`: nobody is trusted, so
//!   untrusted-author rules (`/ok-to-test`) behave as they would for a stranger;
//! - `list_comments` is empty: there is no earlier report to update;
//! - facts that have no safe default (a pull request, its files, a branch's
//!   SHA, a comment's text) are [`PortError::Rejected`], so the event is
//!   settled as undeliverable instead of being planned on invented data.

use async_trait::async_trait;
use skiff_core::event::PullRequest;
use skiff_core::ports::{Comment, CommitStatus, PortError, PortResult, Scm};

/// No code host: see the module documentation for each answer.
#[derive(Clone, Debug)]
pub struct NoScm {
    bot_login: String,
}

impl NoScm {
    pub fn new(bot_login: impl Into<String>) -> Self {
        Self {
            bot_login: bot_login.into(),
        }
    }
}

fn unknown(what: &str) -> PortError {
    PortError::Rejected(format!("no code host configured: cannot get {what}").into())
}

#[async_trait]
impl Scm for NoScm {
    fn bot_login(&self) -> &str {
        &self.bot_login
    }

    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        Err(unknown(&format!("pull request {org}/{repo}#{number}")))
    }

    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        Err(unknown(&format!("the files of {org}/{repo}#{number}")))
    }

    async fn is_member(&self, _org: &str, _login: &str) -> PortResult<bool> {
        Ok(false)
    }

    async fn is_collaborator(&self, _org: &str, _repo: &str, _login: &str) -> PortResult<bool> {
        Ok(false)
    }

    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String> {
        Err(unknown(&format!("the SHA of {org}/{repo}@{branch}")))
    }

    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        Err(unknown(&format!("comment {id} of {org}/{repo}")))
    }

    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        Err(unknown(&format!(
            "the files of {org}/{repo} {base}...{head}"
        )))
    }

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        tracing::info!(
            org,
            repo,
            sha,
            state = %status.state,
            context = %status.context,
            description = %status.description,
            target_url = %status.target_url,
            "would set commit status"
        );
        Ok(())
    }

    async fn list_comments(
        &self,
        _org: &str,
        _repo: &str,
        _number: i64,
    ) -> PortResult<Vec<Comment>> {
        Ok(Vec::new())
    }

    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        tracing::info!(org, repo, number, body, "would comment");
        Ok(())
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        tracing::info!(org, repo, comment_id = id, body, "would edit comment");
        Ok(())
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        tracing::info!(org, repo, comment_id = id, "would delete comment");
        Ok(())
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        tracing::info!(org, repo, number, label, "would add label");
        Ok(())
    }

    async fn remove_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
        tracing::info!(org, repo, number, label, "would remove label");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn writes_succeed_and_trust_is_never_granted() {
        let scm = NoScm::new("skiff-bot");
        assert_eq!(scm.bot_login(), "skiff-bot");
        block(async {
            let status = CommitStatus {
                state: "pending".into(),
                context: "unit".into(),
                description: "Job triggered.".into(),
                target_url: String::new(),
            };
            assert_eq!(scm.create_status("o", "r", "abc", &status).await, Ok(()));
            assert_eq!(scm.create_comment("o", "r", 1, "hi").await, Ok(()));
            assert_eq!(scm.edit_comment("o", "r", 2, "hi").await, Ok(()));
            assert_eq!(scm.delete_comment("o", "r", 2).await, Ok(()));
            assert_eq!(scm.add_label("o", "r", 1, "lgtm").await, Ok(()));
            assert_eq!(scm.remove_label("o", "r", 1, "lgtm").await, Ok(()));
            assert_eq!(scm.is_member("o", "alice").await, Ok(false));
            assert_eq!(scm.is_collaborator("o", "r", "alice").await, Ok(false));
            assert_eq!(scm.list_comments("o", "r", 1).await, Ok(vec![]));
        });
    }

    #[test]
    fn facts_without_a_safe_default_are_permanent_errors() {
        let scm = NoScm::new("skiff-bot");
        block(async {
            let errors = [
                scm.pull_request("o", "r", 1).await.map(drop),
                scm.changed_files("o", "r", 1).await.map(drop),
                scm.branch_sha("o", "r", "main").await.map(drop),
                scm.comment_body("o", "r", "7").await.map(drop),
                scm.compare_files("o", "r", "a", "b").await.map(drop),
            ];
            for e in errors {
                let e = e.expect_err("no code host cannot know this");
                assert!(matches!(e, PortError::Rejected(_)), "{e}");
                assert!(!e.is_retryable());
            }
        });
    }
}
