//! The log of calls made to the [`Scm`](skiff_core::ports::Scm) twin: each
//! call with what a test may want to check, and whether it writes.

use std::fmt;

use skiff_core::ports::{CheckRun, CommitStatus};

/// One call made to the twin, with what the test may want to check.
#[derive(Clone, Debug, PartialEq)]
pub enum ScmCall {
    PullRequest { number: i64 },
    ChangedFiles { number: i64 },
    IsMember { org: String, login: String },
    IsCollaborator { login: String },
    BranchSha { branch: String },
    CommentBody { id: String },
    CompareFiles { base: String, head: String },
    Status { sha: String, status: CommitStatus },
    ListComments { number: i64 },
    CreateComment { number: i64, body: String },
    EditComment { id: i64, body: String },
    DeleteComment { id: i64 },
    AddLabel { number: i64, label: String },
    RemoveLabel { number: i64, label: String },
    CreateCheckRun { run: CheckRun },
    UpdateCheckRun { id: i64, run: CheckRun },
    FindCheckRun { run: CheckRun },
    Review(ReviewCall),
}

/// A review plugin's call: the port method, what it was about, and whether
/// it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewCall {
    pub method: &'static str,
    pub detail: String,
    pub write: bool,
}

impl ScmCall {
    /// The port method's name.
    pub fn method(&self) -> &'static str {
        match self {
            ScmCall::PullRequest { .. } => "pull_request",
            ScmCall::ChangedFiles { .. } => "changed_files",
            ScmCall::IsMember { .. } => "is_member",
            ScmCall::IsCollaborator { .. } => "is_collaborator",
            ScmCall::BranchSha { .. } => "branch_sha",
            ScmCall::CommentBody { .. } => "comment_body",
            ScmCall::CompareFiles { .. } => "compare_files",
            ScmCall::Status { .. } => "create_status",
            ScmCall::ListComments { .. } => "list_comments",
            ScmCall::CreateComment { .. } => "create_comment",
            ScmCall::EditComment { .. } => "edit_comment",
            ScmCall::DeleteComment { .. } => "delete_comment",
            ScmCall::AddLabel { .. } => "add_label",
            ScmCall::RemoveLabel { .. } => "remove_label",
            ScmCall::CreateCheckRun { .. } => "create_check_run",
            ScmCall::UpdateCheckRun { .. } => "update_check_run",
            ScmCall::FindCheckRun { .. } => "find_check_run",
            ScmCall::Review(r) => r.method,
        }
    }

    /// Whether the call changes something on GitHub.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            ScmCall::Status { .. }
                | ScmCall::CreateComment { .. }
                | ScmCall::EditComment { .. }
                | ScmCall::DeleteComment { .. }
                | ScmCall::AddLabel { .. }
                | ScmCall::RemoveLabel { .. }
                | ScmCall::CreateCheckRun { .. }
                | ScmCall::UpdateCheckRun { .. }
                | ScmCall::Review(ReviewCall { write: true, .. })
        )
    }
}

/// `method detail`, e.g. `add_label needs-ok-to-test`, `create_status
/// <sha> <context>`.
impl fmt::Display for ScmCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.method();
        match self {
            ScmCall::PullRequest { number }
            | ScmCall::ChangedFiles { number }
            | ScmCall::ListComments { number }
            | ScmCall::CreateComment { number, .. } => write!(f, "{m} {number}"),
            ScmCall::IsMember { login, .. } | ScmCall::IsCollaborator { login } => {
                write!(f, "{m} {login}")
            }
            ScmCall::BranchSha { branch } => write!(f, "{m} {branch}"),
            ScmCall::CommentBody { id } => write!(f, "{m} {id}"),
            ScmCall::CompareFiles { base, head } => write!(f, "{m} {base}...{head}"),
            ScmCall::Status { sha, status } => write!(f, "{m} {sha} {}", status.context),
            ScmCall::EditComment { id, .. } | ScmCall::DeleteComment { id } => {
                write!(f, "{m} {id}")
            }
            ScmCall::AddLabel { label, .. } | ScmCall::RemoveLabel { label, .. } => {
                write!(f, "{m} {label}")
            }
            ScmCall::CreateCheckRun { run } | ScmCall::FindCheckRun { run } => {
                write!(f, "{m} {}", run.name)
            }
            ScmCall::UpdateCheckRun { id, .. } => write!(f, "{m} {id}"),
            ScmCall::Review(r) => write!(f, "{m} {}", r.detail),
        }
    }
}
