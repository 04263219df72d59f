//! The review plugins' facts, asked of GitHub and the job store.
//!
//! OWNERS files change only with the base branch, so they are read once per
//! base tree: the files (path and text) are kept in the job store under the
//! tree's SHA, and a later event on any PR into the same base commit reads
//! one branch head and nothing else.

use std::sync::Arc;

use skiff_core::config::Config;
use skiff_core::event::{PullRequest, Repo};
use skiff_core::plan::FactError;
use skiff_core::plugins::OwnersAt;
use skiff_core::plugins::ReviewFacts;
use skiff_core::plugins::owners::RepoOwners;
use skiff_core::ports::{
    CombinedStatus, IssueComment, JobStore, PortError, PullFile, PullReview, Scm,
};
use std::time::Duration;

/// OWNERS files under one tree SHA never change; a month bounds the store.
const OWNERS_CACHE_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

pub(crate) struct PluginFacts<'a> {
    pub scm: &'a dyn Scm,
    pub store: &'a dyn JobStore,
    pub config: &'a Config,
    pub now: jiff::Timestamp,
}

fn fact_error(fact: &'static str) -> impl FnOnce(PortError) -> FactError {
    move |e| FactError {
        fact,
        retryable: e.is_retryable(),
        message: e.to_string(),
    }
}

/// The job store's key for a repository's OWNERS files at a tree.
fn owners_key(repo: &Repo, tree_sha: &str) -> String {
    format!("owners/{}/{}/{tree_sha}", repo.org, repo.repo)
}

impl PluginFacts<'_> {
    /// Every OWNERS file and the aliases file at `tree_sha` as `(path,
    /// text)`, the aliases file last under its own name; from the store
    /// when an earlier event read them.
    async fn owners_files(
        &self,
        repo: &Repo,
        tree_sha: &str,
        owners_name: &str,
        aliases_name: &str,
    ) -> Result<Vec<(String, String)>, FactError> {
        let key = owners_key(repo, tree_sha);
        // A store that cannot answer costs only the reads it would save.
        if let Ok(Some(kept)) = self.store.get_value(&key).await
            && let Ok(files) = serde_json::from_str::<Vec<(String, String)>>(&kept)
        {
            return Ok(files);
        }
        let tree = self
            .scm
            .tree(&repo.org, &repo.repo, tree_sha)
            .await
            .map_err(fact_error("the base branch's tree"))?;
        let mut files = Vec::new();
        for entry in tree.entries.iter().filter(|e| e.kind == "blob") {
            let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
            let wanted = name == owners_name || entry.path == aliases_name;
            if !wanted {
                continue;
            }
            let text = self
                .scm
                .file_content(&repo.org, &repo.repo, &entry.path, tree_sha)
                .await
                .map_err(fact_error("an OWNERS file"))?;
            if let Some(text) = text {
                files.push((entry.path.clone(), text));
            }
        }
        if let Ok(text) = serde_json::to_string(&files) {
            let expires = self
                .now
                .checked_add(OWNERS_CACHE_TTL)
                .unwrap_or(jiff::Timestamp::MAX);
            if let Err(e) = self.store.put_value(&key, &text, expires).await {
                tracing::warn!(error = %e, "cannot keep the OWNERS files: they will be read again");
            }
        }
        Ok(files)
    }
}

#[async_trait::async_trait]
impl ReviewFacts for PluginFacts<'_> {
    fn is_bot(&self, login: &str) -> bool {
        login.eq_ignore_ascii_case(self.scm.bot_login())
    }

    async fn is_member(&mut self, org: &str, login: &str) -> Result<bool, FactError> {
        self.scm
            .is_member(org, login)
            .await
            .map_err(fact_error("org membership"))
    }

    async fn is_collaborator(&mut self, repo: &Repo, login: &str) -> Result<bool, FactError> {
        self.scm
            .is_collaborator(&repo.org, &repo.repo, login)
            .await
            .map_err(fact_error("collaborator status"))
    }

    async fn is_team_member(
        &mut self,
        org: &str,
        team: &str,
        login: &str,
    ) -> Result<bool, FactError> {
        self.scm
            .is_team_member(org, team, login)
            .await
            .map_err(fact_error("team membership"))
    }

    async fn permission(&mut self, repo: &Repo, login: &str) -> Result<String, FactError> {
        self.scm
            .permission(&repo.org, &repo.repo, login)
            .await
            .map_err(fact_error("repository permission"))
    }

    async fn pull_request(&mut self, repo: &Repo, number: i64) -> Result<PullRequest, FactError> {
        self.scm
            .pull_request(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the pull request"))
    }

    async fn pull_files(&mut self, repo: &Repo, number: i64) -> Result<Vec<PullFile>, FactError> {
        self.scm
            .pull_files(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the pull request's files"))
    }

    async fn repo_labels(&mut self, repo: &Repo) -> Result<Vec<String>, FactError> {
        self.scm
            .repo_labels(&repo.org, &repo.repo)
            .await
            .map_err(fact_error("the repository's labels"))
    }

    async fn issue_comments(
        &mut self,
        repo: &Repo,
        number: i64,
    ) -> Result<Vec<IssueComment>, FactError> {
        self.scm
            .issue_comments(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the comments"))
    }

    async fn reviews(&mut self, repo: &Repo, number: i64) -> Result<Vec<PullReview>, FactError> {
        self.scm
            .reviews(&repo.org, &repo.repo, number)
            .await
            .map_err(fact_error("the reviews"))
    }

    async fn owners(&mut self, repo: &Repo, base_ref: &str) -> Result<Arc<OwnersAt>, FactError> {
        let head = self
            .scm
            .branch_head(&repo.org, &repo.repo, base_ref)
            .await
            .map_err(fact_error("the base branch"))?;
        let owners_cfg = &self.config.plugins.sections.owners;
        let names = owners_cfg.filenames_for(&repo.org, &repo.repo);
        let files = self
            .owners_files(repo, &head.tree_sha, &names.owners, &names.owners_aliases)
            .await?;
        let (aliases, owners): (Vec<_>, Vec<_>) = files
            .into_iter()
            .partition(|(path, _)| *path == names.owners_aliases);
        let aliases = aliases.first().map(|(p, t)| (p.as_str(), t.as_str()));
        let (mut loaded, problems) = RepoOwners::load(&owners, aliases, &names);
        if !owners_cfg.skip_collaborators(&repo.org, &repo.repo) {
            let collaborators = self
                .scm
                .collaborators(&repo.org, &repo.repo)
                .await
                .map_err(fact_error("the repository's collaborators"))?;
            loaded.only_collaborators(&collaborators);
        }
        Ok(Arc::new(OwnersAt {
            owners: loaded,
            sha: head.sha,
            problems,
        }))
    }

    async fn file(
        &mut self,
        repo: &Repo,
        path: &str,
        sha: &str,
    ) -> Result<Option<String>, FactError> {
        self.scm
            .file_content(&repo.org, &repo.repo, path, sha)
            .await
            .map_err(fact_error("a file of the repository"))
    }

    async fn tree_sha(&mut self, repo: &Repo, sha: &str) -> Result<String, FactError> {
        self.scm
            .commit_tree(&repo.org, &repo.repo, sha)
            .await
            .map_err(fact_error("the commit's tree"))
    }

    async fn pulls_by_author(&mut self, repo: &Repo, author: &str) -> Result<Vec<i64>, FactError> {
        self.scm
            .pulls_by_author(&repo.org, &repo.repo, author)
            .await
            .map_err(fact_error("the author's pull requests"))
    }

    async fn combined_status(
        &mut self,
        repo: &Repo,
        sha: &str,
    ) -> Result<CombinedStatus, FactError> {
        self.scm
            .combined_status(&repo.org, &repo.repo, sha)
            .await
            .map_err(fact_error("the combined status"))
    }

    async fn base_sha(&mut self, repo: &Repo, branch: &str) -> Result<String, FactError> {
        self.scm
            .branch_sha(&repo.org, &repo.repo, branch)
            .await
            .map_err(fact_error("the base branch's SHA"))
    }

    async fn last_labeler(
        &mut self,
        repo: &Repo,
        number: i64,
        label: &str,
    ) -> Result<Option<String>, FactError> {
        self.scm
            .last_labeler(&repo.org, &repo.repo, number, label)
            .await
            .map_err(fact_error("the issue's label events"))
    }
}
