//! The source-control port: what the handlers ask of GitHub (and the twins).

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use super::*;

/// A commit status (GitHub's `POST /repos/{o}/{r}/statuses/{sha}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    /// `pending`, `success`, `failure` or `error`.
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
}

/// A comment on an issue or pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub body: String,
}

/// What the code host said of one credential's rate limit on its last
/// reply (GitHub's `X-RateLimit-*` headers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RateLimit {
    /// Whose budget: `token`, `app`, `installation/<id>` (never a secret).
    pub identity: String,
    /// `X-RateLimit-Remaining`.
    pub remaining: u64,
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Reset`.
    pub reset: Option<Timestamp>,
    /// When the reply came.
    pub observed_at: Timestamp,
}

/// The code host: facts for planning, and where results are reported.
#[async_trait]
pub trait Scm: Send + Sync {
    /// The bot's own login (its comments and labels are not acted on).
    fn bot_login(&self) -> &str;
    /// The rate limit of each credential this client has used, as its last
    /// reply told (for the metrics and the deck's health page). None by
    /// default: a code host without limits, or a twin.
    fn rate_limits(&self) -> Vec<RateLimit> {
        Vec::new()
    }
    async fn pull_request(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<crate::event::PullRequest>;
    async fn changed_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<String>>;
    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool>;
    async fn is_collaborator(&self, org: &str, repo: &str, login: &str) -> PortResult<bool>;
    /// The SHA a branch points at now.
    async fn branch_sha(&self, org: &str, repo: &str, branch: &str) -> PortResult<String>;
    /// A comment's text by id (CodeCommit events do not carry it).
    async fn comment_body(&self, org: &str, repo: &str, id: &str) -> PortResult<String>;
    /// Files changed between two commits (CodeCommit pushes do not list them).
    async fn compare_files(
        &self,
        org: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>>;

    async fn create_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()>;
    async fn list_comments(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<Comment>>;
    async fn create_comment(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> PortResult<()>;
    async fn edit_comment(&self, org: &str, repo: &str, id: i64, body: &str) -> PortResult<()>;
    async fn delete_comment(&self, org: &str, repo: &str, id: i64) -> PortResult<()>;
    async fn add_label(&self, org: &str, repo: &str, number: i64, label: &str) -> PortResult<()>;
    async fn remove_label(&self, org: &str, repo: &str, number: i64, label: &str)
    -> PortResult<()>;

    // -- the review plugins' calls (GitHub only; see `no_review_calls`) --

    /// A pull request's files with their line counts (what `changed_files`
    /// lists, in the same call).
    async fn pull_files(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullFile>> {
        let _ = number;
        Err(no_review_calls(org, repo, "pull request files"))
    }
    /// Every label the repository has (`GET /repos/{o}/{r}/labels`).
    async fn repo_labels(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        Err(no_review_calls(org, repo, "repository labels"))
    }
    /// The issue's comments, oldest first, with their times.
    async fn issue_comments(
        &self,
        org: &str,
        repo: &str,
        number: i64,
    ) -> PortResult<Vec<IssueComment>> {
        let _ = number;
        Err(no_review_calls(org, repo, "issue comments"))
    }
    /// The pull request's reviews, oldest first.
    async fn reviews(&self, org: &str, repo: &str, number: i64) -> PortResult<Vec<PullReview>> {
        let _ = number;
        Err(no_review_calls(org, repo, "reviews"))
    }
    /// The logins of the repository's collaborators.
    async fn collaborators(&self, org: &str, repo: &str) -> PortResult<Vec<String>> {
        Err(no_review_calls(org, repo, "collaborators"))
    }
    /// Whether `login` is an active member of the team `team` (a slug) of `org`.
    async fn is_team_member(&self, org: &str, team: &str, login: &str) -> PortResult<bool> {
        let _ = (team, login);
        Err(no_review_calls(org, "*", "team membership"))
    }
    /// Whether `login` is an active member of the team with id `team_id`
    /// (Prow's `github_team_ids` in rerun auth configs).
    async fn is_team_id_member(&self, org: &str, team_id: i64, login: &str) -> PortResult<bool> {
        let _ = (team_id, login);
        Err(no_review_calls(org, "*", "team membership"))
    }
    /// `login`'s permission on the repository: `admin`, `maintain`, `write`,
    /// `triage`, `read` or `none`.
    async fn permission(&self, org: &str, repo: &str, login: &str) -> PortResult<String> {
        let _ = login;
        Err(no_review_calls(org, repo, "permissions"))
    }
    /// Where a branch points now, commit and tree.
    async fn branch_head(&self, org: &str, repo: &str, branch: &str) -> PortResult<BranchHead> {
        let _ = branch;
        Err(no_review_calls(org, repo, "branches"))
    }
    /// The whole tree `sha` (a tree or commit SHA), recursively.
    async fn tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<Tree> {
        let _ = sha;
        Err(no_review_calls(org, repo, "git trees"))
    }
    /// A file's text at `git_ref` (contents API); `None` if there is no such file.
    async fn file_content(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        let _ = (path, git_ref);
        Err(no_review_calls(org, repo, "file contents"))
    }
    /// The paths of the files under the folder `path` at commit `sha`,
    /// recursively, from the repository's root (CodeCommit's `GetFolder`,
    /// where there is no recursive tree listing); `None` if there is no
    /// such folder.
    async fn folder_files(
        &self,
        org: &str,
        repo: &str,
        path: &str,
        sha: &str,
    ) -> PortResult<Option<Vec<String>>> {
        let _ = (path, sha);
        Err(no_review_calls(org, repo, "folder listings"))
    }
    /// The tree SHA of commit `sha`.
    async fn commit_tree(&self, org: &str, repo: &str, sha: &str) -> PortResult<String> {
        let _ = sha;
        Err(no_review_calls(org, repo, "commits"))
    }
    /// The numbers of the pull requests `author` opened in the repository
    /// (GitHub's search `is:pr repo:o/r author:u`).
    async fn pulls_by_author(&self, org: &str, repo: &str, author: &str) -> PortResult<Vec<i64>> {
        let _ = author;
        Err(no_review_calls(org, repo, "issue search"))
    }
    /// The open pull requests into `base` (every open one when `base` is
    /// empty).
    async fn open_pulls(
        &self,
        org: &str,
        repo: &str,
        base: &str,
    ) -> PortResult<Vec<crate::event::PullRequest>> {
        let _ = base;
        Err(no_review_calls(org, repo, "pull request lists"))
    }
    /// The combined status of `sha`.
    async fn combined_status(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<CombinedStatus> {
        let _ = sha;
        Err(no_review_calls(org, repo, "combined statuses"))
    }
    /// Who last added `label` to the issue (its events), if anyone did.
    async fn last_labeler(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        label: &str,
    ) -> PortResult<Option<String>> {
        let _ = (number, label);
        Err(no_review_calls(org, repo, "issue events"))
    }
    /// Assigns `logins`; the ones GitHub did not assign (not collaborators,
    /// or past its ten assignees). Assigning an assignee is a no-op.
    async fn assign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<Vec<String>> {
        let _ = (number, logins);
        Err(no_review_calls(org, repo, "assignees"))
    }
    /// Removes assignees; removing one who is not assigned is a no-op.
    async fn unassign(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<()> {
        let _ = (number, logins);
        Err(no_review_calls(org, repo, "assignees"))
    }
    /// Requests reviews from users and teams (slugs of the repo's org); the
    /// users GitHub refused. Requesting twice is a no-op.
    async fn request_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<Vec<String>> {
        let _ = (number, users, teams);
        Err(no_review_calls(org, repo, "review requests"))
    }
    /// Withdraws review requests; withdrawing one not made is a no-op.
    async fn unrequest_review(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<()> {
        let _ = (number, users, teams);
        Err(no_review_calls(org, repo, "review requests"))
    }
    /// Opens or closes an issue or pull request; setting the state it has
    /// is a no-op.
    async fn set_issue_state(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        state: IssueState,
    ) -> PortResult<()> {
        let _ = (number, state);
        Err(no_review_calls(org, repo, "issue states"))
    }
    /// The check runs on `sha`, the latest of each name (tide).
    async fn check_runs_on(
        &self,
        org: &str,
        repo: &str,
        sha: &str,
    ) -> PortResult<Vec<CheckRunState>> {
        let _ = sha;
        Err(no_review_calls(org, repo, "check run lists"))
    }
    /// The status checks `branch`'s protection requires (tide's
    /// `from-branch-protection`); none when the branch is not protected.
    async fn required_status_checks(
        &self,
        org: &str,
        repo: &str,
        branch: &str,
    ) -> PortResult<Vec<String>> {
        let _ = branch;
        Err(no_review_calls(org, repo, "branch protection"))
    }
    /// The repositories of `org` (`GET /orgs/{org}/repos`), by name; tide's
    /// queries that list a whole org.
    async fn org_repos(&self, org: &str) -> PortResult<Vec<String>> {
        Err(no_review_calls(org, "*", "repository lists"))
    }
    /// The open issues (not pull requests) of the repo that carry `label`:
    /// tide's blockers (`GET /repos/{o}/{r}/issues?state=open&labels=…`).
    async fn labelled_issues(
        &self,
        org: &str,
        repo: &str,
        label: &str,
    ) -> PortResult<Vec<LabelledIssue>> {
        let _ = label;
        Err(no_review_calls(org, repo, "issue lists"))
    }
    /// Merges pull `number` at `request.sha` (`PUT …/pulls/{n}/merge`,
    /// tide). GitHub's refusals (405, 409) come back as a [`MergeOutcome`];
    /// other failures as errors.
    async fn merge_pull(
        &self,
        org: &str,
        repo: &str,
        number: i64,
        request: &crate::tide::merge::MergeRequest,
    ) -> PortResult<MergeOutcome> {
        let _ = (number, request);
        Err(no_review_calls(org, repo, "merges"))
    }

    /// Whether check runs can be written here: GitHub's Checks API accepts
    /// them from GitHub Apps only, never from a personal token.
    fn checks_supported(&self) -> bool {
        false
    }
    /// Creates a check run (`POST /repos/{o}/{r}/check-runs`); its id.
    async fn create_check_run(&self, org: &str, repo: &str, run: &CheckRun) -> PortResult<i64> {
        let _ = run;
        Err(no_checks(org, repo))
    }
    /// Updates a check run (`PATCH /repos/{o}/{r}/check-runs/{id}`).
    async fn update_check_run(
        &self,
        org: &str,
        repo: &str,
        id: i64,
        run: &CheckRun,
    ) -> PortResult<()> {
        let _ = (id, run);
        Err(no_checks(org, repo))
    }
    /// The check run named `run.name` on `run.head_sha` whose `external_id`
    /// is `run.external_id`, if one exists (finds a run created by an
    /// attempt that crashed before it could remember the id).
    async fn find_check_run(
        &self,
        org: &str,
        repo: &str,
        run: &CheckRun,
    ) -> PortResult<Option<i64>> {
        let _ = run;
        Err(no_checks(org, repo))
    }
}

fn no_checks(org: &str, repo: &str) -> PortError {
    PortError::Rejected(format!(
        "{org}/{repo}: check runs need a GitHub App installation (the Checks API refuses tokens)"
    ).into())
}

/// A GitHub check run as the reporter writes it: one per job, named by the
/// job's context so branch protection and GitHub's "Re-run" button see the
/// same name a commit status would have had.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckRun {
    pub name: String,
    pub head_sha: String,
    /// The job id: the run is found again by it.
    pub external_id: String,
    /// The job's page; empty until the job has one.
    pub details_url: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// With `completed`: `success`, `failure`, `cancelled`, …
    pub conclusion: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// `output.title` and `output.summary`.
    pub title: String,
    pub summary: String,
    /// `output.text`: the tail of the job's log, once it has ended.
    pub text: String,
}
