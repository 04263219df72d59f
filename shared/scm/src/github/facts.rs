//! The planning reads: a pull request, its changed files, org membership
//! and collaborators, a branch's head, a comment's text, a comparison.

use serde::Deserialize;
use skiff_core::event::PullRequest;
use skiff_core::event::github::parse_pull_request;
use skiff_core::ports::{PortError, PortResult};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{PER_PAGE, Verb, repo_path, seg, seg_keep_slash};

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

impl GitHubScm {
    pub(super) async fn get_pull_request(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<PullRequest> {
        let path = format!("{}/pulls/{number}", repo_path(org, repo));
        let reply = self
            .send_ok(Verb::Get, Scope::Org(org), &path, None)
            .await?;
        parse_pull_request(reply.body.as_bytes())
            .map_err(|e| PortError::Rejected(format!("GET {path}: {e}").into()))
    }

    pub(super) async fn list_changed_files(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<String>> {
        let path = format!(
            "{}/pulls/{number}/files?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let files: Vec<ChangedFile> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(files.into_iter().map(|f| f.filename).collect())
    }

    pub(super) async fn is_org_member(&self, org: &str, login: &str) -> PortResult<bool> {
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

    pub(super) async fn is_repo_collaborator(
        &self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> PortResult<bool> {
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

    pub(super) async fn get_branch_sha(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> PortResult<String> {
        let path = format!(
            "{}/git/ref/heads/{}",
            repo_path(org, repo),
            seg_keep_slash(branch)
        );
        let r: GitRef = self.get_json(Scope::Org(org), &path).await?;
        Ok(r.object.sha)
    }

    pub(super) async fn get_comment_body(
        &self,
        org: &str,
        repo: &str,
        id: &str,
    ) -> PortResult<String> {
        let path = format!("{}/issues/comments/{}", repo_path(org, repo), seg(id));
        let c: CommentText = self.get_json(Scope::Org(org), &path).await?;
        Ok(c.body.unwrap_or_default())
    }

    pub(super) async fn compare_changed_files(
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
}
