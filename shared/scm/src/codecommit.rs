//! CodeCommit over the AWS SDK, both halves:
//!
//! - [`CodeCommitReports`] ([`CodeCommit`]): where the results of CodeCommit
//!   jobs go (pull request comments, approvals, comments on commits). Writes
//!   that create something take CodeCommit's `clientRequestToken`, so a
//!   retried post does not post twice.
//! - [`CodeCommitScm`] ([`Scm`]): what the trigger reads to plan a CodeCommit
//!   event — the pull request (`GetPullRequest`), the files it or a push
//!   changes (`GetDifferences`), a comment's text (`GetComment`, the events do
//!   not carry it), a branch's head (`GetBranch`), the in-repo config's
//!   files (`GetFile`, `GetFolder`). Its writes are refused:
//!   CodeCommit results go through the reporter.
//!
//! One adapter serves one region, the region of the SDK client; CodeCommit
//! events and jobs carry their region as the repository's org (`refs.org`).

mod files;

use async_trait::async_trait;
use aws_sdk_codecommit::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codecommit::types::{ApprovalState, PullRequestStatusEnum, PullRequestTarget};
use skiff_core::event::{PullRequest, Repo};
use skiff_core::ports::{
    CodeCommit, CodeCommitComment, CodeCommitPull, Comment, CommitStatus, PortError, PortResult,
    Scm,
};

/// A bound on pages of comments or differences, so a misbehaving endpoint
/// cannot loop us.
const MAX_PAGES: usize = 100;

/// CodeCommit in one region.
#[derive(Clone, Debug)]
pub struct CodeCommitReports {
    client: aws_sdk_codecommit::Client,
    region: String,
}

impl CodeCommitReports {
    /// `region` must be the client's region: jobs of other regions are
    /// refused rather than reported to the wrong place.
    pub fn new(client: aws_sdk_codecommit::Client, region: impl Into<String>) -> Self {
        Self {
            client,
            region: region.into(),
        }
    }
}

/// An SDK failure of CodeCommit's `op`, by the one AWS rule (a missing pull
/// request, comment or commit is `NotFound`).
fn port_error<E>(
    op: &str,
    err: SdkError<E, aws_sdk_codecommit::config::http::HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    skiff_aws::error::port_error(&format!("CodeCommit {op}"), err)
}

#[async_trait]
impl CodeCommit for CodeCommitReports {
    fn region(&self) -> &str {
        &self.region
    }

    async fn pull_request(&self, number: i64) -> PortResult<CodeCommitPull> {
        let out = self
            .client
            .get_pull_request()
            .pull_request_id(number.to_string())
            .send()
            .await
            .map_err(|e| port_error(&format!("GetPullRequest {number}"), e))?;
        let pr = out.pull_request().ok_or_else(|| {
            PortError::Rejected(
                format!("CodeCommit GetPullRequest {number}: no pullRequest").into(),
            )
        })?;
        let target = pr.pull_request_targets().first();
        Ok(CodeCommitPull {
            revision_id: pr.revision_id().unwrap_or_default().to_owned(),
            source_commit: target
                .and_then(|t| t.source_commit())
                .unwrap_or_default()
                .to_owned(),
            destination_commit: target
                .and_then(|t| t.destination_commit())
                .unwrap_or_default()
                .to_owned(),
            status: match pr.pull_request_status() {
                Some(PullRequestStatusEnum::Open) => "OPEN".to_owned(),
                Some(PullRequestStatusEnum::Closed) => "CLOSED".to_owned(),
                Some(other) => other.as_str().to_owned(),
                None => String::new(),
            },
        })
    }

    async fn comments(&self, repo: &str, number: i64) -> PortResult<Vec<CodeCommitComment>> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_comments_for_pull_request()
                .pull_request_id(number.to_string())
                .repository_name(repo)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    port_error(&format!("GetCommentsForPullRequest {repo}#{number}"), e)
                })?;
            for thread in page.comments_for_pull_request_data() {
                let after = thread.after_commit_id().unwrap_or_default();
                for c in thread.comments() {
                    if c.deleted() {
                        continue;
                    }
                    out.push(CodeCommitComment {
                        id: c.comment_id().unwrap_or_default().to_owned(),
                        author_arn: c.author_arn().unwrap_or_default().to_owned(),
                        content: c.content().unwrap_or_default().to_owned(),
                        after_commit: after.to_owned(),
                    });
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
        Err(PortError::Unavailable(
            format!(
                "CodeCommit GetCommentsForPullRequest {repo}#{number}: more than {MAX_PAGES} pages"
            )
            .into(),
        ))
    }

    async fn post_comment(
        &self,
        repo: &str,
        number: i64,
        before: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String> {
        let out = self
            .client
            .post_comment_for_pull_request()
            .pull_request_id(number.to_string())
            .repository_name(repo)
            .before_commit_id(before)
            .after_commit_id(after)
            .content(body)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| port_error(&format!("PostCommentForPullRequest {repo}#{number}"), e))?;
        Ok(out
            .comment()
            .and_then(|c| c.comment_id())
            .unwrap_or_default()
            .to_owned())
    }

    async fn update_comment(&self, id: &str, body: &str) -> PortResult<()> {
        self.client
            .update_comment()
            .comment_id(id)
            .content(body)
            .send()
            .await
            .map(drop)
            .map_err(|e| port_error(&format!("UpdateComment {id}"), e))
    }

    async fn set_approval(&self, number: i64, revision_id: &str, approve: bool) -> PortResult<()> {
        let state = if approve {
            ApprovalState::Approve
        } else {
            ApprovalState::Revoke
        };
        self.client
            .update_pull_request_approval_state()
            .pull_request_id(number.to_string())
            .revision_id(revision_id)
            .approval_state(state.clone())
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                port_error(
                    &format!("UpdatePullRequestApprovalState {number} {}", state.as_str()),
                    e,
                )
            })
    }

    async fn post_commit_comment(
        &self,
        repo: &str,
        after: &str,
        body: &str,
        token: &str,
    ) -> PortResult<String> {
        // CodeCommit comments on a comparison: the commit against its first
        // parent, which is what the push brought in for a linear history.
        let commit = self
            .client
            .get_commit()
            .repository_name(repo)
            .commit_id(after)
            .send()
            .await
            .map_err(|e| port_error(&format!("GetCommit {repo}@{after}"), e))?;
        let parent = commit
            .commit()
            .and_then(|c| c.parents().first())
            .map(String::as_str);
        let out = self
            .client
            .post_comment_for_compared_commit()
            .repository_name(repo)
            .set_before_commit_id(parent.map(str::to_owned))
            .after_commit_id(after)
            .content(body)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| port_error(&format!("PostCommentForComparedCommit {repo}@{after}"), e))?;
        Ok(out
            .comment()
            .and_then(|c| c.comment_id())
            .unwrap_or_default()
            .to_owned())
    }
}

// ---------------------------------------------------------------------------
// The trigger's side: planning reads

/// What [`CodeCommitScm::bot_login`] answers. CodeCommit users are IAM
/// identities, and an event names one by the last segment of its ARN (a
/// user name or a role session name), which cannot hold a space or a
/// parenthesis: no commenter is ever taken for this bot. Skiff's own results
/// comments are posted under the reporter's role and recognised by their
/// marker instead (functions/trigger/src/facts.rs).
pub const CODECOMMIT_BOT: &str = "skiff (CodeCommit reporter)";

/// CodeCommit in one region as the trigger's code host: the facts planning a
/// CodeCommit event needs. Writes are refused with [`PortError::Rejected`]:
/// the results of CodeCommit jobs are written by the reporter
/// ([`CodeCommitReports`]), and CodeCommit has no labels.
#[derive(Clone, Debug)]
pub struct CodeCommitScm {
    client: aws_sdk_codecommit::Client,
    region: String,
}

/// A pull request's commits, from `GetPullRequest`.
struct Target {
    source: String,
    destination: String,
    merge_base: String,
}

impl CodeCommitScm {
    /// `region` must be the client's region: repositories of other regions
    /// (another `org`) are refused rather than looked up in the wrong place.
    pub fn new(client: aws_sdk_codecommit::Client, region: impl Into<String>) -> Self {
        Self {
            client,
            region: region.into(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// CodeCommit repositories are `region/name`; this client reads one region.
    fn check_region(&self, org: &str, repo: &str) -> PortResult<()> {
        if org == self.region {
            Ok(())
        } else {
            Err(PortError::Rejected(
                format!(
                    "CodeCommit repository {org}/{repo} is in region {org}, this client reads {}",
                    self.region
                )
                .into(),
            ))
        }
    }

    fn no_writes(&self, what: &str, org: &str, repo: &str) -> PortError {
        PortError::Rejected(format!(
            "CodeCommit {org}/{repo}: cannot {what} from the trigger: the results of CodeCommit \
             jobs go through the reporter (pull request comments and approvals)"
        ).into())
    }

    async fn get_pull_request(
        &self,
        repo: &str,
        number: i64,
    ) -> PortResult<aws_sdk_codecommit::types::PullRequest> {
        let out = self
            .client
            .get_pull_request()
            .pull_request_id(number.to_string())
            .send()
            .await
            .map_err(|e| port_error(&format!("GetPullRequest {repo}#{number}"), e))?;
        out.pull_request.ok_or_else(|| {
            PortError::Rejected(
                format!("CodeCommit GetPullRequest {repo}#{number}: the answer has no pullRequest")
                    .into(),
            )
        })
    }

    /// The pull request's target in `repo`: pull request ids are unique per
    /// region, not per repository, so one of another repository is not this
    /// event's.
    fn target<'p>(
        pr: &'p aws_sdk_codecommit::types::PullRequest,
        repo: &str,
        number: i64,
    ) -> PortResult<&'p PullRequestTarget> {
        pr.pull_request_targets()
            .iter()
            .find(|t| t.repository_name() == Some(repo))
            .ok_or_else(|| {
                PortError::NotFound(format!(
                    "CodeCommit GetPullRequest {number}: pull request {number} has no target in \
                     repository {repo}"
                ).into())
            })
    }

    fn commits(t: &PullRequestTarget, repo: &str, number: i64) -> PortResult<Target> {
        let source = t.source_commit().unwrap_or_default().to_owned();
        if source.is_empty() {
            return Err(PortError::Rejected(
                format!(
                    "CodeCommit GetPullRequest {repo}#{number}: the target has no sourceCommit"
                )
                .into(),
            ));
        }
        Ok(Target {
            source,
            destination: t.destination_commit().unwrap_or_default().to_owned(),
            merge_base: t.merge_base().unwrap_or_default().to_owned(),
        })
    }

    /// Paths changed from `before` to `after` (`GetDifferences`, every page),
    /// as GitHub lists them: an added or modified file by its path, a deleted
    /// one by the path it had, a renamed one by its new path.
    async fn differences(&self, repo: &str, before: &str, after: &str) -> PortResult<Vec<String>> {
        let op = format!("GetDifferences {repo} {before}..{after}");
        let mut files = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_differences()
                .repository_name(repo)
                .set_before_commit_specifier(Some(before.to_owned()).filter(|b| !b.is_empty()))
                .after_commit_specifier(after)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| port_error(&op, e))?;
            for d in page.differences() {
                let path = d
                    .after_blob()
                    .and_then(|b| b.path())
                    .or_else(|| d.before_blob().and_then(|b| b.path()));
                if let Some(path) = path.filter(|p| !p.is_empty()) {
                    files.push(path.to_owned());
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(files),
            }
        }
        Err(PortError::Unavailable(
            format!("CodeCommit {op}: more than {MAX_PAGES} pages").into(),
        ))
    }
}

/// The console page of a repository, as CodeCommit events link it (the
/// parser in `skiff_core::event::codecommit` builds the same), so a job
/// planned from a fetched pull request reports to CodeCommit like one
/// planned from the event.
fn console(region: &str, name: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/{name}")
}

/// The user's name in an IAM ARN, as the event parser reports authors.
fn arn_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn branch(reference: &str) -> &str {
    reference.strip_prefix("refs/heads/").unwrap_or(reference)
}

#[async_trait]
impl Scm for CodeCommitScm {
    fn bot_login(&self) -> &str {
        CODECOMMIT_BOT
    }

    async fn pull_request(&self, org: &str, repo: &str, number: i64) -> PortResult<PullRequest> {
        self.check_region(org, repo)?;
        let pr = self.get_pull_request(repo, number).await?;
        let t = Self::target(&pr, repo, number)?;
        let commits = Self::commits(t, repo, number)?;
        let base = console(&self.region, repo);
        Ok(PullRequest {
            repo: Repo {
                org: self.region.clone(),
                repo: repo.to_owned(),
                html_url: format!("{base}/browse"),
            },
            number,
            title: pr.title().unwrap_or_default().to_owned(),
            body: pr.description().unwrap_or_default().to_owned(),
            author: arn_name(pr.author_arn().unwrap_or_default()).to_owned(),
            // An IAM identity has no page a contributor could follow.
            author_link: String::new(),
            html_url: format!("{base}/pull-requests/{number}"),
            head_sha: commits.source,
            head_ref: branch(t.source_reference().unwrap_or_default()).to_owned(),
            base_ref: branch(t.destination_reference().unwrap_or_default()).to_owned(),
            base_sha: commits.destination,
            // CodeCommit has neither drafts nor labels, and says nothing of
            // conflicts until a merge is tried.
            draft: false,
            state: match pr.pull_request_status() {
                Some(PullRequestStatusEnum::Open) => "open".to_owned(),
                Some(PullRequestStatusEnum::Closed) => "closed".to_owned(),
                Some(other) => other.as_str().to_ascii_lowercase(),
                None => String::new(),
            },
            merged: t.merge_metadata().is_some_and(|m| m.is_merged()),
            mergeable: None,
            labels: Vec::new(),
            milestone: String::new(),
        })
    }

    /// What the pull request changes, as GitHub's pull request files list
    /// it: its source commit against the merge base (the destination commit
    /// when CodeCommit names none), so changes made on the destination
    /// branch since are not counted.
    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>> {
        self.check_region(org, repo)?;
        let pr = self.get_pull_request(repo, number).await?;
        let commits = Self::commits(Self::target(&pr, repo, number)?, repo, number)?;
        let before = if commits.merge_base.is_empty() {
            &commits.destination
        } else {
            &commits.merge_base
        };
        self.differences(repo, before, &commits.source).await
    }

    /// Everyone who can act on a CodeCommit repository is trusted. An event
    /// reaches Skiff only when an IAM principal of this account, whom the
    /// account's policies allow to open pull requests or comment on this
    /// repository, did so: CodeCommit has no forks and no outside
    /// contributors, so that permission is the trust boundary that GitHub
    /// draws with org membership.
    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool> {
        let _ = (org, login);
        Ok(true)
    }

    /// As [`Self::is_member`]: access to the repository is IAM's to grant.
    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool> {
        let _ = login;
        self.check_region(org, repo)?;
        Ok(true)
    }

    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String> {
        self.check_region(org, repo)?;
        let out = self
            .client
            .get_branch()
            .repository_name(repo)
            .branch_name(branch)
            .send()
            .await
            .map_err(|e| port_error(&format!("GetBranch {repo} {branch}"), e))?;
        out.branch()
            .and_then(|b| b.commit_id())
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                PortError::Rejected(
                    format!("CodeCommit GetBranch {repo} {branch}: the answer has no commitId")
                        .into(),
                )
            })
    }

    /// A deleted comment (deleted since the event) reads as empty: it asks
    /// for nothing any more.
    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String> {
        self.check_region(org, repo)?;
        let out = match self.client.get_comment().comment_id(id).send().await {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_comment_deleted_exception()) =>
            {
                return Ok(String::new());
            }
            Err(e) => return Err(port_error(&format!("GetComment {repo} {id}"), e)),
        };
        Ok(out
            .comment()
            .filter(|c| !c.deleted())
            .and_then(|c| c.content())
            .unwrap_or_default()
            .to_owned())
    }

    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        self.check_region(org, repo)?;
        self.differences(repo, base, head).await
    }

    async fn file_content(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        self.check_region(org, repo)?;
        self.get_file(repo, path, git_ref).await
    }

    async fn folder_files(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        sha: &str,
    ) -> PortResult<Option<Vec<String>>> {
        self.check_region(org, repo)?;
        self.get_folder_files(repo, path, sha).await
    }

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        let _ = status;
        Err(self.no_writes(&format!("set a status on {sha}"), org, repo))
    }

    /// CodeCommit's comment ids are not numbers; the trigger lists comments
    /// only to prune its help replies, which it does not post here.
    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>> {
        Err(self.no_writes(&format!("list the comments of #{number}"), org, repo))
    }

    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()> {
        let _ = body;
        Err(self.no_writes(&format!("comment on #{number}"), org, repo))
    }

    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()> {
        let _ = body;
        Err(self.no_writes(&format!("edit comment {id}"), org, repo))
    }

    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()> {
        Err(self.no_writes(&format!("delete comment {id}"), org, repo))
    }

    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()> {
        Err(self.no_writes(
            &format!("add label {label} to #{number} (CodeCommit has no labels)"),
            org,
            repo,
        ))
    }

    async fn remove_label(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<()> {
        Err(self.no_writes(
            &format!("remove label {label} from #{number} (CodeCommit has no labels)"),
            org,
            repo,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_is_no_iam_name_an_event_could_carry() {
        // IAM user and role session names allow only [\w+=,.@-].
        assert!(
            CODECOMMIT_BOT
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)))
        );
        for arn in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/skiff-reporter/skiff-Reporter-1A2B",
        ] {
            assert_ne!(arn_name(arn), CODECOMMIT_BOT);
        }
    }

    #[test]
    fn console_links_are_codecommit_links() {
        let link = format!("{}/browse", console("us-east-1", "widgets"));
        assert!(skiff_core::event::codecommit::is_codecommit_link(&link));
    }
}
