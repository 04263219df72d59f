//! Issue and pull request comments, and labels.

use serde::Deserialize;
use serde_json::json;
use skiff_core::ports::{Comment, PortResult};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{PER_PAGE, Verb, repo_path, seg};

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

impl GitHubScm {
    pub(super) async fn list_issue_comments(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<Comment>> {
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

    pub(super) async fn post_comment(
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

    pub(super) async fn patch_comment(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        body: &str,
    ) -> PortResult<()> {
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

    pub(super) async fn delete_issue_comment(
        &self,
        org: &str,
        repo: &str,
        id: i64,
    ) -> PortResult<()> {
        self.delete_idempotent(
            org,
            &format!("{}/issues/comments/{id}", repo_path(org, repo)),
        )
        .await
    }

    pub(super) async fn post_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
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

    pub(super) async fn delete_label(
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
}
