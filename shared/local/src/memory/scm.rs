//! The [`Scm`] twin: one GitHub repository's worth of pull requests,
//! members, branches, comments, labels, statuses and check runs, in memory.
//! It answers as GitHub does where the handlers care (removing a label or
//! deleting a comment that is not there is a 404), and logs every call with
//! its arguments.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use skiff_core::event::PullRequest;
use skiff_core::ports::{
    BranchHead, CheckRun, CheckRunState, CombinedStatus, Comment, CommitStatus, IssueComment,
    IssueState, LabelledIssue, MergeOutcome, PortError, PortResult, PullFile, PullReview,
    RateLimit, Scm, Tree,
};
use skiff_core::tide::merge::MergeRequest;

pub use super::scm_calls::{ReviewCall, ScmCall};
use super::scm_review::ReviewState;
use super::{Faults, lock};

pub(super) struct State {
    trust_everyone: bool,
    members: BTreeSet<String>,
    collaborators: BTreeSet<String>,
    pulls: BTreeMap<i64, PullRequest>,
    changed_files: Vec<String>,
    pub(super) branch_sha: String,
    compared: Vec<String>,
    comment_bodies: BTreeMap<String, String>,
    /// Comments by pull request, oldest first.
    comments: BTreeMap<i64, Vec<Comment>>,
    labels: BTreeMap<i64, BTreeSet<String>>,
    next_id: i64,
    /// Every status write fails with this (GitHub refusing the SHA, say).
    status_error: Option<PortError>,
    checks_supported: bool,
    check_runs: BTreeMap<i64, CheckRun>,
    pub(super) review: ReviewState,
    /// What [`Scm::rate_limits`] answers.
    rate_limits: Vec<RateLimit>,
}

/// [`Scm`] in memory, as the bot `bot`. Share it with `Arc`.
pub struct MemoryScm {
    bot: String,
    pub(super) state: Mutex<State>,
    calls: Mutex<Vec<ScmCall>>,
    faults: Faults,
}

impl Default for MemoryScm {
    fn default() -> Self {
        MemoryScm::new("skiff-bot")
    }
}

impl MemoryScm {
    pub fn new(bot: &str) -> Self {
        MemoryScm {
            bot: bot.to_string(),
            state: Mutex::new(State {
                trust_everyone: false,
                members: BTreeSet::new(),
                collaborators: BTreeSet::new(),
                pulls: BTreeMap::new(),
                changed_files: Vec::new(),
                branch_sha: String::new(),
                compared: Vec::new(),
                comment_bodies: BTreeMap::new(),
                comments: BTreeMap::new(),
                labels: BTreeMap::new(),
                next_id: 100,
                status_error: None,
                checks_supported: false,
                check_runs: BTreeMap::new(),
                review: ReviewState::default(),
                rate_limits: Vec::new(),
            }),
            calls: Mutex::default(),
            faults: Faults::default(),
        }
    }

    // -- what GitHub holds --------------------------------------------------

    /// What the next calls of a method (the port method's name) do wrong.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The rate limits the client says GitHub last reported.
    pub fn set_rate_limits(&self, limits: Vec<RateLimit>) {
        lock(&self.state).rate_limits = limits;
    }

    /// Every login is an org member (the benchmark's code host).
    pub fn trust_everyone(&self) {
        lock(&self.state).trust_everyone = true;
    }

    pub fn add_member(&self, login: &str) {
        lock(&self.state).members.insert(login.to_string());
    }

    pub fn add_collaborator(&self, login: &str) {
        lock(&self.state).collaborators.insert(login.to_string());
    }

    /// The pull request `GET /repos/{o}/{r}/pulls/{n}` answers with.
    pub fn add_pull(&self, pr: PullRequest) {
        lock(&self.state).pulls.insert(pr.number, pr);
    }

    /// The files every pull request changes.
    pub fn set_changed_files(&self, files: &[&str]) {
        lock(&self.state).changed_files = files.iter().map(|f| f.to_string()).collect();
    }

    /// The SHA every branch points at.
    pub fn set_branch_sha(&self, sha: &str) {
        lock(&self.state).branch_sha = sha.to_string();
    }

    /// The files every comparison of two commits lists.
    pub fn set_compared(&self, files: &[&str]) {
        lock(&self.state).compared = files.iter().map(|f| f.to_string()).collect();
    }

    /// The text of the comment with id `id` (CodeCommit's `GetComment`).
    pub fn set_comment_body(&self, id: &str, body: &str) {
        lock(&self.state)
            .comment_bodies
            .insert(id.to_string(), body.to_string());
    }

    /// A comment already on pull request `number`; its id.
    pub fn seed_comment(&self, number: i64, author: &str, body: &str) -> i64 {
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        state.comments.entry(number).or_default().push(Comment {
            id,
            author: author.to_string(),
            body: body.to_string(),
        });
        id
    }

    /// A label already on pull request `number`.
    pub fn seed_label(&self, number: i64, label: &str) {
        lock(&self.state)
            .labels
            .entry(number)
            .or_default()
            .insert(label.to_string());
    }

    /// Every status write fails with `error` (`None`: they succeed).
    pub fn fail_statuses(&self, error: Option<PortError>) {
        lock(&self.state).status_error = error;
    }

    /// Check runs can be written (a GitHub App installation).
    pub fn support_checks(&self) {
        lock(&self.state).checks_supported = true;
    }

    fn review_call(&self, method: &'static str, detail: String, write: bool) -> PortResult<()> {
        self.call(ScmCall::Review(ReviewCall {
            method,
            detail,
            write,
        }))
    }

    fn collaborator(&self, login: &str) -> bool {
        let state = lock(&self.state);
        state.trust_everyone || state.collaborators.contains(login) || state.members.contains(login)
    }

    // -- what happened ------------------------------------------------------

    pub fn calls(&self) -> Vec<ScmCall> {
        lock(&self.calls).clone()
    }

    pub fn take_calls(&self) -> Vec<ScmCall> {
        std::mem::take(&mut *lock(&self.calls))
    }

    /// How many calls `matches` (without copying the log).
    pub fn count_calls(&self, matches: impl Fn(&ScmCall) -> bool) -> usize {
        lock(&self.calls).iter().filter(|c| matches(c)).count()
    }

    /// The calls of `method`, as `method detail` lines.
    pub fn called(&self, method: &str) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.method() == method)
            .map(ToString::to_string)
            .collect()
    }

    /// Every status written, in order.
    pub fn statuses(&self) -> Vec<CommitStatus> {
        lock(&self.calls)
            .iter()
            .filter_map(|c| match c {
                ScmCall::Status { status, .. } => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    /// The comments on pull request `number`, oldest first.
    pub fn comments(&self, number: i64) -> Vec<Comment> {
        lock(&self.state)
            .comments
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// The bodies of the bot's comments on every pull request.
    pub fn bot_comments(&self) -> Vec<String> {
        lock(&self.state)
            .comments
            .values()
            .flatten()
            .filter(|c| c.author == self.bot)
            .map(|c| c.body.clone())
            .collect()
    }

    pub fn labels(&self, number: i64) -> BTreeSet<String> {
        lock(&self.state)
            .labels
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// The check runs, by id.
    pub fn check_runs(&self) -> BTreeMap<i64, CheckRun> {
        lock(&self.state).check_runs.clone()
    }

    fn call(&self, call: ScmCall) -> PortResult<()> {
        let method = call.method();
        lock(&self.calls).push(call);
        self.faults.check(method)
    }
}

#[async_trait]
impl Scm for MemoryScm {
    fn bot_login(&self) -> &str {
        &self.bot
    }

    fn rate_limits(&self) -> Vec<RateLimit> {
        lock(&self.state).rate_limits.clone()
    }

    async fn pull_request(&self, _: &str, _: &str, number: i64) -> PortResult<PullRequest> {
        self.call(ScmCall::PullRequest { number })?;
        lock(&self.state)
            .pulls
            .get(&number)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("pull request {number}").into()))
    }

    async fn changed_files(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<String>> {
        self.call(ScmCall::ChangedFiles { number })?;
        Ok(lock(&self.state).changed_files.clone())
    }

    async fn is_member(&self, org: &str, login: &str) -> PortResult<bool> {
        self.call(ScmCall::IsMember {
            org: org.to_string(),
            login: login.to_string(),
        })?;
        let state = lock(&self.state);
        Ok(state.trust_everyone || state.members.contains(login))
    }

    async fn is_collaborator(&self, _: &str, _: &str, login: &str) -> PortResult<bool> {
        self.call(ScmCall::IsCollaborator {
            login: login.to_string(),
        })?;
        let state = lock(&self.state);
        Ok(state.trust_everyone || state.collaborators.contains(login))
    }

    async fn branch_sha(&self, _: &str, _: &str, branch: &str) -> PortResult<String> {
        self.call(ScmCall::BranchSha {
            branch: branch.to_string(),
        })?;
        Ok(lock(&self.state).branch_sha.clone())
    }

    async fn comment_body(&self, _: &str, _: &str, id: &str) -> PortResult<String> {
        self.call(ScmCall::CommentBody { id: id.to_string() })?;
        lock(&self.state)
            .comment_bodies
            .get(id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("comment {id}").into()))
    }

    async fn compare_files(
        &self,
        _: &str,
        _: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Vec<String>> {
        self.call(ScmCall::CompareFiles {
            base: base.to_string(),
            head: head.to_string(),
        })?;
        Ok(lock(&self.state).compared.clone())
    }

    async fn create_status(
        &self,
        _: &str,
        _: &str,
        sha: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        self.call(ScmCall::Status {
            sha: sha.to_string(),
            status: status.clone(),
        })?;
        match lock(&self.state).status_error.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn list_comments(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<Comment>> {
        self.call(ScmCall::ListComments { number })?;
        Ok(self.comments(number))
    }

    async fn create_comment(&self, _: &str, _: &str, number: i64, body: &str) -> PortResult<()> {
        self.call(ScmCall::CreateComment {
            number,
            body: body.to_string(),
        })?;
        let bot = self.bot.clone();
        self.seed_comment(number, &bot, body);
        Ok(())
    }

    async fn edit_comment(&self, _: &str, _: &str, id: i64, body: &str) -> PortResult<()> {
        self.call(ScmCall::EditComment {
            id,
            body: body.to_string(),
        })?;
        let mut state = lock(&self.state);
        match state.comments.values_mut().flatten().find(|c| c.id == id) {
            Some(c) => {
                c.body = body.to_string();
                Ok(())
            }
            None => Err(PortError::NotFound(format!("comment {id}").into())),
        }
    }

    async fn delete_comment(&self, _: &str, _: &str, id: i64) -> PortResult<()> {
        self.call(ScmCall::DeleteComment { id })?;
        let mut state = lock(&self.state);
        let mut found = false;
        for comments in state.comments.values_mut() {
            let before = comments.len();
            comments.retain(|c| c.id != id);
            found |= comments.len() != before;
        }
        if found {
            Ok(())
        } else {
            Err(PortError::NotFound(format!("comment {id}").into()))
        }
    }

    async fn add_label(&self, _: &str, _: &str, number: i64, label: &str) -> PortResult<()> {
        self.call(ScmCall::AddLabel {
            number,
            label: label.to_string(),
        })?;
        self.seed_label(number, label);
        Ok(())
    }

    async fn remove_label(&self, _: &str, _: &str, number: i64, label: &str) -> PortResult<()> {
        self.call(ScmCall::RemoveLabel {
            number,
            label: label.to_string(),
        })?;
        let removed = lock(&self.state)
            .labels
            .get_mut(&number)
            .is_some_and(|l| l.remove(label));
        if removed {
            Ok(())
        } else {
            Err(PortError::NotFound(format!("label {label}").into()))
        }
    }

    async fn pull_files(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<PullFile>> {
        self.review_call("pull_files", number.to_string(), false)?;
        let state = lock(&self.state);
        Ok(state
            .review
            .pull_files
            .get(&number)
            .cloned()
            .unwrap_or_else(|| {
                state
                    .changed_files
                    .iter()
                    .map(|f| PullFile {
                        filename: f.clone(),
                        status: "modified".into(),
                        additions: 1,
                        deletions: 0,
                        patch: String::new(),
                    })
                    .collect()
            }))
    }

    async fn repo_labels(&self, _: &str, _: &str) -> PortResult<Vec<String>> {
        self.review_call("repo_labels", String::new(), false)?;
        Ok(lock(&self.state).review.repo_labels.clone())
    }

    async fn issue_comments(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<IssueComment>> {
        self.review_call("issue_comments", number.to_string(), false)?;
        Ok(self
            .comments(number)
            .into_iter()
            .map(|c| IssueComment {
                id: c.id,
                author: c.author,
                body: c.body,
                ..IssueComment::default()
            })
            .collect())
    }

    async fn reviews(&self, _: &str, _: &str, number: i64) -> PortResult<Vec<PullReview>> {
        self.review_call("reviews", number.to_string(), false)?;
        Ok(lock(&self.state)
            .review
            .reviews
            .get(&number)
            .cloned()
            .unwrap_or_default())
    }

    async fn collaborators(&self, _: &str, _: &str) -> PortResult<Vec<String>> {
        self.review_call("collaborators", String::new(), false)?;
        let state = lock(&self.state);
        Ok(state
            .collaborators
            .iter()
            .chain(&state.members)
            .cloned()
            .collect())
    }

    async fn is_team_member(&self, _: &str, team: &str, login: &str) -> PortResult<bool> {
        self.review_call("is_team_member", format!("{team} {login}"), false)?;
        Ok(lock(&self.state)
            .review
            .teams
            .contains(&(team.to_string(), login.to_string())))
    }

    /// Team ids are the twin's team names written as numbers.
    async fn is_team_id_member(&self, _: &str, id: i64, login: &str) -> PortResult<bool> {
        self.review_call("is_team_id_member", format!("{id} {login}"), false)?;
        Ok(lock(&self.state)
            .review
            .teams
            .contains(&(id.to_string(), login.to_string())))
    }

    async fn permission(&self, _: &str, _: &str, login: &str) -> PortResult<String> {
        self.review_call("permission", login.to_string(), false)?;
        let state = lock(&self.state);
        Ok(match state.review.permissions.get(login) {
            Some(p) => p.clone(),
            None if state.collaborators.contains(login) => "write".into(),
            None => "none".into(),
        })
    }

    async fn branch_head(&self, _: &str, _: &str, branch: &str) -> PortResult<BranchHead> {
        self.review_call("branch_head", branch.to_string(), false)?;
        Ok(lock(&self.state).review.head.clone())
    }

    async fn tree(&self, _: &str, _: &str, sha: &str) -> PortResult<Tree> {
        self.review_call("tree", sha.to_string(), false)?;
        Ok(lock(&self.state).review.tree(sha))
    }

    async fn file_content(
        &self,
        _: &str,
        _: &str,
        path: &str,
        git_ref: &str,
    ) -> PortResult<Option<String>> {
        self.review_call("file_content", format!("{path}@{git_ref}"), false)?;
        Ok(lock(&self.state).review.file(path, git_ref))
    }

    async fn folder_files(
        &self,
        _: &str,
        _: &str,
        path: &str,
        sha: &str,
    ) -> PortResult<Option<Vec<String>>> {
        self.review_call("folder_files", format!("{path}@{sha}"), false)?;
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let files: Vec<String> = lock(&self.state)
            .review
            .tree(sha)
            .entries
            .into_iter()
            .map(|e| e.path)
            .filter(|p| p.starts_with(&prefix))
            .collect();
        Ok((!files.is_empty()).then_some(files))
    }

    async fn commit_tree(&self, _: &str, _: &str, sha: &str) -> PortResult<String> {
        self.review_call("commit_tree", sha.to_string(), false)?;
        Ok(sha.to_string())
    }

    async fn pulls_by_author(&self, _: &str, _: &str, author: &str) -> PortResult<Vec<i64>> {
        self.review_call("pulls_by_author", author.to_string(), false)?;
        Ok(lock(&self.state)
            .review
            .authors
            .get(author)
            .cloned()
            .unwrap_or_default())
    }

    async fn open_pulls(&self, _: &str, _: &str, base: &str) -> PortResult<Vec<PullRequest>> {
        self.review_call("open_pulls", base.to_string(), false)?;
        Ok(lock(&self.state).review.open_pulls.clone())
    }

    async fn combined_status(&self, _: &str, _: &str, sha: &str) -> PortResult<CombinedStatus> {
        self.review_call("combined_status", sha.to_string(), false)?;
        Ok(self.combined(sha))
    }

    async fn check_runs_on(&self, _: &str, _: &str, sha: &str) -> PortResult<Vec<CheckRunState>> {
        self.review_call("check_runs_on", sha.to_string(), false)?;
        Ok(self.check_runs_of(sha))
    }

    async fn required_status_checks(&self, _: &str, _: &str, b: &str) -> PortResult<Vec<String>> {
        self.review_call("required_status_checks", b.to_string(), false)?;
        Ok(self.required_checks())
    }

    async fn org_repos(&self, _: &str) -> PortResult<Vec<String>> {
        self.review_call("org_repos", String::new(), false)?;
        Ok(self.org_repo_names())
    }

    async fn labelled_issues(
        &self,
        _: &str,
        _: &str,
        label: &str,
    ) -> PortResult<Vec<LabelledIssue>> {
        self.review_call("labelled_issues", label.to_string(), false)?;
        Ok(self.issues_labelled(label))
    }

    async fn merge_pull(
        &self,
        _: &str,
        _: &str,
        n: i64,
        r: &MergeRequest,
    ) -> PortResult<MergeOutcome> {
        self.review_call("merge_pull", n.to_string(), true)?;
        Ok(self.take_merge(n, r))
    }

    async fn last_labeler(
        &self,
        _: &str,
        _: &str,
        number: i64,
        label: &str,
    ) -> PortResult<Option<String>> {
        self.review_call("last_labeler", format!("{number} {label}"), false)?;
        Ok(None)
    }

    async fn assign(
        &self,
        _: &str,
        _: &str,
        number: i64,
        logins: &[String],
    ) -> PortResult<Vec<String>> {
        self.review_call("assign", logins.join(","), true)?;
        let ok: Vec<bool> = logins.iter().map(|l| self.collaborator(l)).collect();
        let mut state = lock(&self.state);
        Ok(state.review.assign(number, logins, |l| {
            logins.iter().position(|x| x == l).is_some_and(|i| ok[i])
        }))
    }

    async fn unassign(&self, _: &str, _: &str, number: i64, logins: &[String]) -> PortResult<()> {
        self.review_call("unassign", logins.join(","), true)?;
        if let Some(a) = lock(&self.state).review.assignees.get_mut(&number) {
            a.retain(|x| !logins.contains(x));
        }
        Ok(())
    }

    async fn request_review(
        &self,
        _: &str,
        _: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<Vec<String>> {
        self.review_call("request_review", [users, teams].concat().join(","), true)?;
        let ok: Vec<bool> = users.iter().map(|l| self.collaborator(l)).collect();
        let mut state = lock(&self.state);
        Ok(state.review.request(number, users, teams, |l| {
            users.iter().position(|x| x == l).is_some_and(|i| ok[i])
        }))
    }

    async fn unrequest_review(
        &self,
        _: &str,
        _: &str,
        number: i64,
        users: &[String],
        teams: &[String],
    ) -> PortResult<()> {
        self.review_call("unrequest_review", [users, teams].concat().join(","), true)?;
        if let Some(r) = lock(&self.state).review.requested.get_mut(&number) {
            r.retain(|x| !users.contains(x) && !teams.iter().any(|t| *x == format!("team:{t}")));
        }
        Ok(())
    }

    async fn set_issue_state(
        &self,
        _: &str,
        _: &str,
        number: i64,
        state: IssueState,
    ) -> PortResult<()> {
        self.review_call("set_issue_state", format!("{number} {state:?}"), true)?;
        lock(&self.state).review.states.insert(number, state);
        Ok(())
    }

    fn checks_supported(&self) -> bool {
        lock(&self.state).checks_supported
    }

    async fn create_check_run(&self, _: &str, _: &str, run: &CheckRun) -> PortResult<i64> {
        self.call(ScmCall::CreateCheckRun { run: run.clone() })?;
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        state.check_runs.insert(id, run.clone());
        Ok(id)
    }

    async fn update_check_run(&self, _: &str, _: &str, id: i64, run: &CheckRun) -> PortResult<()> {
        self.call(ScmCall::UpdateCheckRun {
            id,
            run: run.clone(),
        })?;
        match lock(&self.state).check_runs.get_mut(&id) {
            Some(stored) => {
                *stored = run.clone();
                Ok(())
            }
            None => Err(PortError::NotFound(format!("check run {id}").into())),
        }
    }

    async fn find_check_run(&self, _: &str, _: &str, run: &CheckRun) -> PortResult<Option<i64>> {
        self.call(ScmCall::FindCheckRun { run: run.clone() })?;
        Ok(lock(&self.state)
            .check_runs
            .iter()
            .find(|(_, r)| {
                r.name == run.name && r.head_sha == run.head_sha && r.external_id == run.external_id
            })
            .map(|(id, _)| *id))
    }
}
