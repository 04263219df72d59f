//! The review plugins' calls: what they read (files with line counts,
//! labels, comments with times, reviews, teams, permissions, trees and
//! file contents at a commit, statuses, issue events) and what they write
//! (assignees, review requests, issue state).
//!
//! Every write is idempotent as GitHub serves it: assigning an assignee,
//! requesting a review twice, or setting the state an issue has changes
//! nothing; removals of what is not there answer 2xx or 404, both success.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use skiff_core::event::PullRequest;
use skiff_core::event::github::parse_pull_request;
use skiff_core::ports::{
    BranchHead, CombinedStatus, CommitStatus, IssueComment, IssueState, PortError, PortResult,
    PullFile, PullReview, Tree, TreeEntry,
};

use super::GitHubScm;
use super::auth::Scope;
use super::http::{PER_PAGE, Verb, decode, repo_path, seg, seg_keep_slash};

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    login: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    additions: i64,
    #[serde(default)]
    deletions: i64,
    #[serde(default)]
    patch: Option<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct Comment {
    id: i64,
    user: Option<User>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    created_at: Option<jiff::Timestamp>,
    #[serde(default)]
    updated_at: Option<jiff::Timestamp>,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct Review {
    id: i64,
    user: Option<User>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    submitted_at: Option<jiff::Timestamp>,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct Sha {
    sha: String,
}

#[derive(Deserialize)]
struct CommitDetail {
    tree: Sha,
}

#[derive(Deserialize)]
struct BranchCommit {
    sha: String,
    commit: CommitDetail,
}

#[derive(Deserialize)]
struct Branch {
    commit: BranchCommit,
}

#[derive(Deserialize)]
struct GitTree {
    sha: String,
    #[serde(default)]
    tree: Vec<GitTreeEntry>,
    #[serde(default)]
    truncated: bool,
}

#[derive(Deserialize)]
struct GitTreeEntry {
    path: String,
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Contents {
    #[serde(default)]
    content: String,
    #[serde(default)]
    encoding: String,
}

#[derive(Deserialize)]
struct Permission {
    permission: String,
}

#[derive(Deserialize)]
struct Membership {
    state: String,
}

#[derive(Deserialize)]
struct SearchResult {
    #[serde(default)]
    items: Vec<SearchItem>,
}

#[derive(Deserialize)]
struct SearchItem {
    number: i64,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    state: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
}

#[derive(Deserialize)]
struct Combined {
    #[serde(default)]
    state: String,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct IssueEvent {
    #[serde(default)]
    event: String,
    actor: Option<User>,
    label: Option<Label>,
}

#[derive(Deserialize)]
struct Assigned {
    #[serde(default)]
    assignees: Vec<User>,
}

fn login(u: Option<User>) -> (String, bool) {
    u.map_or((String::new(), false), |u| (u.login, u.kind == "Bot"))
}

/// The query string of GitHub's search: `:` and `/` kept, spaces as `+`.
fn search_query(q: &str) -> String {
    q.split(' ').map(seg).collect::<Vec<_>>().join("+")
}

impl GitHubScm {
    pub(super) async fn list_pull_files(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<PullFile>> {
        let path = format!(
            "{}/pulls/{number}/files?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let files: Vec<File> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(files
            .into_iter()
            .map(|f| PullFile {
                filename: f.filename,
                status: f.status,
                additions: f.additions,
                deletions: f.deletions,
                patch: f.patch.unwrap_or_default(),
            })
            .collect())
    }

    pub(super) async fn list_repo_labels(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        let path = format!("{}/labels?per_page={PER_PAGE}", repo_path(org, repo));
        let labels: Vec<Label> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(labels.into_iter().map(|l| l.name).collect())
    }

    pub(super) async fn list_comments_timed(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<IssueComment>> {
        let path = format!(
            "{}/issues/{number}/comments?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let comments: Vec<Comment> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(comments
            .into_iter()
            .map(|c| IssueComment {
                id: c.id,
                author: login(c.user).0,
                body: c.body.unwrap_or_default(),
                created_at: c.created_at,
                updated_at: c.updated_at,
                html_url: c.html_url,
            })
            .collect())
    }

    pub(super) async fn list_reviews(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<PullReview>> {
        let path = format!(
            "{}/pulls/{number}/reviews?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let reviews: Vec<Review> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(reviews
            .into_iter()
            .map(|r| {
                let (author, author_is_bot) = login(r.user);
                PullReview {
                    id: r.id,
                    author,
                    author_is_bot,
                    state: r.state,
                    body: r.body.unwrap_or_default(),
                    submitted_at: r.submitted_at,
                    html_url: r.html_url,
                }
            })
            .collect())
    }

    pub(super) async fn list_collaborators(
        &self,
        org: &str,
        repo: &str,
    ) -> PortResult<Vec<String>> {
        let path = format!("{}/collaborators?per_page={PER_PAGE}", repo_path(org, repo));
        let users: Vec<User> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(users.into_iter().map(|u| u.login).collect())
    }

    pub(super) async fn team_membership(
        &self,
        org: &str,
        team: &str,
        login: &str,
    ) -> PortResult<bool> {
        let path = format!(
            "/orgs/{}/teams/{}/memberships/{}",
            seg(org),
            seg(team),
            seg(login)
        );
        let reply = self.send(Verb::Get, Scope::Org(org), &path, None).await?;
        match reply.status {
            // A pending invitation is not membership.
            200 => Ok(decode::<Membership>(Verb::Get, &path, &reply.body)?.state == "active"),
            404 => Ok(false),
            _ => Err(super::http::error(Verb::Get, &path, &reply)),
        }
    }

    /// By team id: GitHub's legacy `GET /teams/{id}/memberships/{login}`
    /// (the newer path needs the org's numeric id, one more call).
    pub(super) async fn team_id_membership(
        &self,
        org: &str,
        team_id: i64,
        login: &str,
    ) -> PortResult<bool> {
        let path = format!("/teams/{team_id}/memberships/{}", seg(login));
        let reply = self.send(Verb::Get, Scope::Org(org), &path, None).await?;
        match reply.status {
            200 => Ok(decode::<Membership>(Verb::Get, &path, &reply.body)?.state == "active"),
            404 => Ok(false),
            _ => Err(super::http::error(Verb::Get, &path, &reply)),
        }
    }

    pub(super) async fn collaborator_permission(
        &self,
        org: &str,
        repo: &str,
        login: &str,
    ) -> PortResult<String> {
        let path = format!(
            "{}/collaborators/{}/permission",
            repo_path(org, repo),
            seg(login)
        );
        let reply = self.send(Verb::Get, Scope::Org(org), &path, None).await?;
        match reply.status {
            200 => Ok(decode::<Permission>(Verb::Get, &path, &reply.body)?.permission),
            404 => Ok("none".to_string()),
            _ => Err(super::http::error(Verb::Get, &path, &reply)),
        }
    }

    pub(super) async fn get_branch_head(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> PortResult<BranchHead> {
        let path = format!(
            "{}/branches/{}",
            repo_path(org, repo),
            seg_keep_slash(branch)
        );
        let b: Branch = self.get_json(Scope::Org(org), &path).await?;
        Ok(BranchHead {
            sha: b.commit.sha,
            tree_sha: b.commit.commit.tree.sha,
        })
    }

    pub(super) async fn get_tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<Tree> {
        let path = format!(
            "{}/git/trees/{}?recursive=1",
            repo_path(org, repo),
            seg(sha)
        );
        let t: GitTree = self.get_json(Scope::Org(org), &path).await?;
        Ok(Tree {
            sha: t.sha,
            entries: t
                .tree
                .into_iter()
                .map(|e| TreeEntry {
                    path: e.path,
                    sha: e.sha,
                    kind: e.kind,
                })
                .collect(),
            truncated: t.truncated,
        })
    }

    pub(super) async fn get_file(
        &self,
        org: &str,
        repo: &str,
        file: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        let path = format!(
            "{}/contents/{}?ref={}",
            repo_path(org, repo),
            seg_keep_slash(file),
            seg(git_ref)
        );
        let reply = self.send(Verb::Get, Scope::Org(org), &path, None).await?;
        if reply.status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&reply.status) {
            return Err(super::http::error(Verb::Get, &path, &reply));
        }
        // A directory answers with a list: there is no file by that name.
        let v: Value = decode(Verb::Get, &path, &reply.body)?;
        if v.is_array() {
            return Ok(None);
        }
        let c: Contents = decode(Verb::Get, &path, &reply.body)?;
        if c.encoding != "base64" {
            return Err(PortError::Rejected(
                format!("GET {path}: unexpected encoding {:?}", c.encoding).into(),
            ));
        }
        let raw: String = c.content.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| PortError::Rejected(format!("GET {path}: bad base64: {e}").into()))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| PortError::Rejected(format!("GET {path}: not UTF-8 text").into()))
    }

    pub(super) async fn get_commit_tree(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<String> {
        let path = format!("{}/git/commits/{}", repo_path(org, repo), seg(sha));
        let c: CommitDetail = self.get_json(Scope::Org(org), &path).await?;
        Ok(c.tree.sha)
    }

    pub(super) async fn search_pulls_by_author(
        &self,
        org: &str,
        repo: &str,
        author: &str,
    ) -> PortResult<Vec<i64>> {
        let q = search_query(&format!("is:pr repo:{org}/{repo} author:{author}"));
        let path = format!("/search/issues?q={q}&per_page={PER_PAGE}");
        let r: SearchResult = self.get_json(Scope::Org(org), &path).await?;
        Ok(r.items.into_iter().map(|i| i.number).collect())
    }

    pub(super) async fn list_open_pulls(
        &self,
        org: &str,
        repo: &str,
        base: &str,
    ) -> PortResult<Vec<PullRequest>> {
        // No base: every open pull of the repo (tide's pools).
        let path = if base.is_empty() {
            format!(
                "{}/pulls?state=open&per_page={PER_PAGE}",
                repo_path(org, repo)
            )
        } else {
            format!(
                "{}/pulls?state=open&base={}&per_page={PER_PAGE}",
                repo_path(org, repo),
                seg(base)
            )
        };
        let pulls: Vec<Value> = self.get_pages(Scope::Org(org), &path).await?;
        pulls
            .into_iter()
            .map(|p| {
                parse_pull_request(p.to_string().as_bytes())
                    .map_err(|e| PortError::Rejected(format!("GET {path}: {e}").into()))
            })
            .collect()
    }

    pub(super) async fn get_combined_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<CombinedStatus> {
        let path = format!(
            "{}/commits/{}/status?per_page={PER_PAGE}",
            repo_path(org, repo),
            seg(sha)
        );
        let c: Combined = self.get_json(Scope::Org(org), &path).await?;
        Ok(CombinedStatus {
            state: c.state,
            statuses: c
                .statuses
                .into_iter()
                .map(|s| CommitStatus {
                    state: s.state,
                    context: s.context,
                    description: s.description.unwrap_or_default(),
                    target_url: s.target_url.unwrap_or_default(),
                })
                .collect(),
        })
    }

    pub(super) async fn find_last_labeler(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<Option<String>> {
        let path = format!(
            "{}/issues/{number}/events?per_page={PER_PAGE}",
            repo_path(org, repo)
        );
        let events: Vec<IssueEvent> = self.get_pages(Scope::Org(org), &path).await?;
        Ok(events
            .into_iter()
            .filter(|e| e.event == "labeled")
            .filter(|e| e.label.as_ref().is_some_and(|l| l.name == label))
            .filter_map(|e| e.actor.map(|a| a.login))
            .next_back())
    }

    pub(super) async fn add_assignees(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<Vec<String>> {
        let path = format!("{}/issues/{number}/assignees", repo_path(org, repo));
        let reply = self
            .send_ok(
                Verb::Post,
                Scope::Org(org),
                &path,
                Some(&json!({ "assignees": logins })),
            )
            .await?;
        // GitHub silently skips users it cannot assign; the issue it
        // answers with says who it did assign.
        let issue: Assigned = decode(Verb::Post, &path, &reply.body)?;
        Ok(logins
            .iter()
            .filter(|l| {
                !issue
                    .assignees
                    .iter()
                    .any(|a| a.login.eq_ignore_ascii_case(l))
            })
            .cloned()
            .collect())
    }

    pub(super) async fn remove_assignees(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<()> {
        let path = format!("{}/issues/{number}/assignees", repo_path(org, repo));
        self.send_ok(
            Verb::Delete,
            Scope::Org(org),
            &path,
            Some(&json!({ "assignees": logins })),
        )
        .await
        .map(drop)
    }

    pub(super) async fn add_review_requests(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<Vec<String>> {
        let path = format!(
            "{}/pulls/{number}/requested_reviewers",
            repo_path(org, repo)
        );
        let body = json!({ "reviewers": users, "team_reviewers": teams });
        let reply = self
            .send(Verb::Post, Scope::Org(org), &path, Some(&body))
            .await?;
        match reply.status {
            200..=299 => return Ok(Vec::new()),
            // One user GitHub will not ask (not a collaborator, the
            // author) refuses the whole request: ask each alone, as Prow.
            422 => {}
            _ => return Err(super::http::error(Verb::Post, &path, &reply)),
        }
        let mut refused = Vec::new();
        for user in users {
            let one = json!({ "reviewers": [user] });
            let r = self
                .send(Verb::Post, Scope::Org(org), &path, Some(&one))
                .await?;
            match r.status {
                200..=299 => {}
                422 => refused.push(user.clone()),
                _ => return Err(super::http::error(Verb::Post, &path, &r)),
            }
        }
        if !teams.is_empty() {
            let t = json!({ "team_reviewers": teams });
            self.send_ok(Verb::Post, Scope::Org(org), &path, Some(&t))
                .await?;
        }
        Ok(refused)
    }

    pub(super) async fn remove_review_requests(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<()> {
        let path = format!(
            "{}/pulls/{number}/requested_reviewers",
            repo_path(org, repo)
        );
        let body = json!({ "reviewers": users, "team_reviewers": teams });
        let reply = self
            .send(Verb::Delete, Scope::Org(org), &path, Some(&body))
            .await?;
        match reply.status {
            // 422: one of them was not requested; the withdrawal is done.
            200..=299 | 404 | 422 => Ok(()),
            _ => Err(super::http::error(Verb::Delete, &path, &reply)),
        }
    }

    pub(super) async fn patch_issue_state(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        state: IssueState,
    ) -> PortResult<()> {
        let path = format!("{}/issues/{number}", repo_path(org, repo));
        let body = match state {
            IssueState::Open => json!({ "state": "open" }),
            IssueState::Closed => json!({ "state": "closed" }),
            IssueState::ClosedNotPlanned => {
                json!({ "state": "closed", "state_reason": "not_planned" })
            }
        };
        self.send_ok(Verb::Patch, Scope::Org(org), &path, Some(&body))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_queries_keep_githubs_qualifiers() {
        assert_eq!(
            search_query("is:pr repo:acme/widgets author:alice"),
            format!(
                "{}+{}+{}",
                seg("is:pr"),
                seg("repo:acme/widgets"),
                seg("author:alice")
            )
        );
    }
}
