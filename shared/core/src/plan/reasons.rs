//! Why a job does not run, in a user's words, for `skiff plan --explain`
//! and the trigger's skipped list: its branch filters or its changed-file
//! filter.

pub(super) fn branch_reason_for(b: &crate::config::Brancher, branch: &str) -> String {
    if !b.skip_branches.is_empty() && !b.branches.is_empty() {
        format!(
            "branch `{branch}` is excluded: branches {:?}, skip_branches {:?}",
            b.branches, b.skip_branches
        )
    } else if !b.skip_branches.is_empty() {
        format!(
            "branch `{branch}` matches skip_branches {:?}",
            b.skip_branches
        )
    } else {
        format!("branch `{branch}` does not match branches {:?}", b.branches)
    }
}

pub(super) fn change_reason_for(m: &crate::config::RegexpChangeMatcher, files: usize) -> String {
    let plural = if files == 1 { "" } else { "s" };
    if !m.run_if_changed.is_empty() {
        format!(
            "run_if_changed '{}' matched none of {files} changed file{plural}",
            m.run_if_changed
        )
    } else {
        format!(
            "skip_if_only_changed '{}' matched all {files} changed file{plural}",
            m.skip_if_only_changed
        )
    }
}
