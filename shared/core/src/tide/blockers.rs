//! Prow's blocker issues (`pkg/tide/blockers`): an open issue labelled
//! `blocker_label` stops merges into every branch of its repo, or, when its
//! title names branches as `branch:<name>` tokens, into those branches only.

use std::sync::LazyLock;

use regex::Regex;

use crate::ports::LabelledIssue;

/// Prow's token: `branch:` then (after any punctuation) a branch name.
static BRANCH_TOKEN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?im)\bbranch:[^\w-]*([\w\-./]+)\b").ok());

/// The branches an issue's title names; none means the whole repo.
pub fn branches_named(title: &str) -> Vec<String> {
    let Some(re) = BRANCH_TOKEN.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(title)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .collect()
}

/// The blockers of `issues` that apply to `branch`, in number order (Prow's
/// `GetApplicable`), their titles without the branch tokens.
pub fn applicable(issues: &[LabelledIssue], branch: &str) -> Vec<LabelledIssue> {
    let mut out: Vec<LabelledIssue> = issues
        .iter()
        .filter(|i| {
            let named = branches_named(&i.title);
            named.is_empty() || named.iter().any(|b| b == branch)
        })
        .map(|i| LabelledIssue {
            title: match BRANCH_TOKEN.as_ref() {
                Some(re) => re.replace_all(&i.title, "").into_owned(),
                None => i.title.clone(),
            },
            ..i.clone()
        })
        .collect();
    out.sort_by_key(|i| i.number);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(number: i64, title: &str) -> LabelledIssue {
        LabelledIssue {
            number,
            title: title.into(),
            html_url: String::new(),
        }
    }

    #[test]
    fn branch_tokens_scope_a_blocker_and_none_blocks_the_repo() {
        let issues = [
            issue(9, "Release freeze branch:release-1.0"),
            issue(7, "CI is broken"),
            issue(8, "Freeze branch:main and branch: \"feature/x.y\""),
        ];
        let numbers = |branch: &str| -> Vec<i64> {
            applicable(&issues, branch)
                .iter()
                .map(|i| i.number)
                .collect()
        };
        assert_eq!(numbers("main"), [7, 8]);
        assert_eq!(numbers("release-1.0"), [7, 9]);
        assert_eq!(numbers("feature/x.y"), [7, 8]);
        assert_eq!(numbers("dev"), [7]);
        assert_eq!(
            branches_named("Freeze BRANCH:main, branch:release-2"),
            ["main", "release-2"],
            "tokens are case-insensitive"
        );
        assert_eq!(
            applicable(&issues, "release-1.0")[1].title,
            "Release freeze "
        );
    }
}
