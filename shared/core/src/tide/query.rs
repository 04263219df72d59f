//! Tide's queries, matched locally against a pull request read over REST
//! (Prow builds a GitHub search from each; Skiff lists a repo's open pulls
//! and applies the same terms), and Prow's `requirementDiff`: why a pull is
//! not in the pool, in the `tide` status's words.

use super::pool::TidePull;
use crate::config::tide::TideQuery;

/// Labels in a description at most, in characters (Prow's cut; at least one
/// is always named).
const MAX_LABEL_CHARS: usize = 50;

/// A `labels` entry: `"a,b"` is satisfied by either.
fn has_entry(pull: &TidePull, entry: &str) -> bool {
    entry
        .split(',')
        .any(|alt| pull.labels.iter().any(|l| l == alt.trim()))
}

fn branch_allowed(q: &TideQuery, branch: &str) -> bool {
    !q.excluded_branches.iter().any(|b| b == branch)
        && (q.included_branches.is_empty() || q.included_branches.iter().any(|b| b == branch))
}

fn author_matches(q: &TideQuery, pull: &TidePull) -> bool {
    q.author.is_empty() || q.author.eq_ignore_ascii_case(&pull.author)
}

/// Whether the query takes the pull (its repo is one the query covers).
pub fn matches(q: &TideQuery, pull: &TidePull, branch: &str) -> bool {
    branch_allowed(q, branch)
        && author_matches(q, pull)
        && q.labels.iter().all(|l| has_entry(pull, l))
        && !q.missing_labels.iter().any(|l| pull.labels.contains(l))
        && (q.milestone.is_empty() || q.milestone == pull.milestone)
        && (!q.review_approved_required || pull.review_approved)
}

/// Drops names past the character budget, keeping at least one.
fn truncate(names: &[String]) -> &[String] {
    let Some(first) = names.first() else {
        return names;
    };
    let mut chars = first.len();
    let mut i = 1;
    while i < names.len() {
        if chars + names[i].len() > MAX_LABEL_CHARS {
            break;
        }
        chars += names[i].len() + 2;
        i += 1;
    }
    &names[..i]
}

/// Prow's `requirementDiff`: the first reason that applies, and a weight
/// counting every difference (the closest query is the lightest). `failed`
/// are the head's contexts that keep the pull out.
pub fn requirement_diff(
    q: &TideQuery,
    pull: &TidePull,
    branch: &str,
    failed: &[String],
) -> (String, usize) {
    let mut reasons: Vec<String> = Vec::new();
    let mut weight = 0;
    if !branch_allowed(q, branch) {
        reasons.push(format!(" Merging to branch {branch} is forbidden."));
        weight += 2000;
    }
    if !author_matches(q, pull) {
        reasons.push(format!(" Must be by author {}.", q.author));
        weight += 1000;
    }
    if !q.milestone.is_empty() && q.milestone != pull.milestone {
        reasons.push(format!(" Must be in milestone {}.", q.milestone));
        weight += 100;
    }
    let mut missing: Vec<String> = q
        .labels
        .iter()
        .filter(|l| !has_entry(pull, l))
        .cloned()
        .collect();
    missing.sort();
    if !missing.is_empty() {
        weight += missing.len();
        let kept = truncate(&missing);
        reasons.push(if kept.len() == 1 {
            format!(" Needs {} label.", kept[0])
        } else {
            format!(" Needs {} labels.", kept.join(", "))
        });
    }
    let mut present: Vec<String> = q
        .missing_labels
        .iter()
        .filter(|l| pull.labels.contains(l))
        .cloned()
        .collect();
    present.sort();
    if !present.is_empty() {
        weight += present.len();
        let kept = truncate(&present);
        reasons.push(if kept.len() == 1 {
            format!(" Should not have {} label.", kept[0])
        } else {
            format!(" Should not have {} labels.", kept.join(", "))
        });
    }
    let mut contexts = failed.to_vec();
    contexts.sort();
    contexts.dedup();
    if !contexts.is_empty() {
        weight += contexts.len();
        let kept = truncate(&contexts);
        reasons.push(if kept.len() == 1 {
            format!(" Job {} has not succeeded.", kept[0])
        } else {
            format!(" Jobs {} have not succeeded.", kept.join(", "))
        });
    }
    if q.review_approved_required && !pull.review_approved {
        reasons.push(" PullRequest is missing sufficient approving GitHub review(s)".into());
        weight += 50;
    }
    (reasons.into_iter().next().unwrap_or_default(), weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> TideQuery {
        TideQuery {
            repos: vec!["acme/widgets".into()],
            labels: vec!["lgtm".into(), "approved".into()],
            missing_labels: vec![
                "do-not-merge/hold".into(),
                "do-not-merge/work-in-progress".into(),
                "needs-rebase".into(),
            ],
            ..TideQuery::default()
        }
    }

    fn pull(labels: &[&str]) -> TidePull {
        TidePull {
            number: 1,
            author: "alice".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..TidePull::default()
        }
    }

    #[test]
    fn the_diff_names_the_first_reason_and_weighs_them_all() {
        let q = query();
        let cases: &[(&[&str], &[&str], &str, usize)] = &[
            (&[], &[], " Needs approved, lgtm labels.", 2),
            (&["lgtm"], &[], " Needs approved label.", 1),
            (
                &["lgtm", "approved", "do-not-merge/hold"],
                &[],
                " Should not have do-not-merge/hold label.",
                1,
            ),
            (
                &["lgtm", "approved", "do-not-merge/hold", "needs-rebase"],
                &[],
                " Should not have do-not-merge/hold, needs-rebase labels.",
                2,
            ),
            (
                &["lgtm", "approved"],
                &["unit"],
                " Job unit has not succeeded.",
                1,
            ),
            (
                &["lgtm", "approved"],
                &["unit", "lint"],
                " Jobs lint, unit have not succeeded.",
                2,
            ),
            (&["lgtm"], &["unit"], " Needs approved label.", 2),
        ];
        for (labels, failed, want, weight) in cases {
            let failed: Vec<String> = failed.iter().map(|s| s.to_string()).collect();
            let (why, w) = requirement_diff(&q, &pull(labels), "main", &failed);
            assert_eq!((why.as_str(), w), (*want, *weight), "labels {labels:?}");
        }
        let mut q = query();
        q.included_branches = vec!["main".into()];
        q.author = "bob".into();
        let (why, w) = requirement_diff(&q, &pull(&[]), "dev", &[]);
        assert_eq!(why, " Merging to branch dev is forbidden.");
        assert_eq!(w, 2000 + 1000 + 2);
        let (why, _) = requirement_diff(&q, &pull(&["lgtm", "approved"]), "main", &[]);
        assert_eq!(why, " Must be by author bob.");
    }

    #[test]
    fn long_label_lists_are_cut_but_name_one() {
        let mut q = query();
        q.labels = (0..6).map(|i| format!("a-rather-long-label-{i}")).collect();
        let (why, w) = requirement_diff(&q, &pull(&[]), "main", &[]);
        assert_eq!(
            why,
            " Needs a-rather-long-label-0, a-rather-long-label-1 labels."
        );
        assert_eq!(w, 6);
    }

    #[test]
    fn queries_match_labels_alternatives_branches_and_milestones() {
        let q = query();
        assert!(matches(&q, &pull(&["lgtm", "approved"]), "main"));
        assert!(!matches(
            &q,
            &pull(&["lgtm", "approved", "needs-rebase"]),
            "main"
        ));
        let mut q = query();
        q.labels = vec!["lgtm,approved".into()];
        assert!(
            matches(&q, &pull(&["approved"]), "main"),
            "\"a,b\" is either"
        );
        q.excluded_branches = vec!["legacy".into()];
        assert!(!matches(&q, &pull(&["approved"]), "legacy"));
        q.milestone = "v1".into();
        assert!(!matches(&q, &pull(&["approved"]), "main"));
        q.milestone.clear();
        q.review_approved_required = true;
        assert!(!matches(&q, &pull(&["approved"]), "main"));
    }
}
