//! Rules of the `tide:` section, Prow's (`pkg/config/tide.go` `Validate`s,
//! `validateTideRequirements`): queries and context policies.

use crate::config::tide::Tide;
use crate::diagnostics::Diagnostics;
use crate::yaml::Node;

/// Whether a merge-queue entry (`org` or `org/repo`) and a tide query's
/// org or repo name some repository in common.
fn overlaps(entry: &str, tide_scope: &str) -> bool {
    let org = |s: &str| s.split('/').next().unwrap_or_default().to_string();
    match (entry.contains('/'), tide_scope.contains('/')) {
        (true, true) | (false, false) => entry == tide_scope,
        (true, false) => org(entry) == tide_scope,
        (false, true) => entry == org(tide_scope),
    }
}

/// A repository merges with GitHub's merge queue or with tide, never both:
/// the two would race to merge the same pull requests.
pub(in crate::config) fn merge_queue(
    diags: &mut Diagnostics,
    file: &str,
    node: &Node,
    tide: &Tide,
    queue: &crate::config::prow::MergeQueue,
) {
    for (i, entry) in queue.repos.iter().enumerate() {
        let idx = i.to_string();
        let clash = tide.queries.iter().find_map(|q| {
            q.orgs
                .iter()
                .chain(q.repos.iter())
                .find(|scope| overlaps(entry, scope) && !q.excluded_repos.contains(entry))
        });
        if let Some(scope) = clash {
            diags.error(
                file,
                node.locate(&["skiff", "merge_queue", "repos", &idx]),
                format!("skiff.merge_queue.repos[{i}]"),
                format!(
                    "{entry} merges with GitHub's merge queue, but tide's queries cover it too (as {scope}): a repository uses one or the other"
                ),
            );
        }
    }
}

pub(in crate::config) fn tide(diags: &mut Diagnostics, file: &str, node: &Node, tide: &Tide) {
    for (i, q) in tide.queries.iter().enumerate() {
        let idx = i.to_string();
        for problem in q.problems() {
            diags.error(
                file,
                node.locate(&["tide", "queries", &idx]),
                format!("tide.queries[{i}]"),
                problem,
            );
        }
    }
    let mut policies = vec![(
        vec!["tide", "context_options"],
        &tide.context_options.policy,
    )];
    for (org, o) in &tide.context_options.orgs {
        policies.push((vec!["tide", "context_options", "orgs", org], &o.policy));
        for (repo, r) in &o.repos {
            policies.push((
                vec!["tide", "context_options", "orgs", org, "repos", repo],
                &r.policy,
            ));
            for (branch, b) in &r.branches {
                policies.push((
                    vec![
                        "tide",
                        "context_options",
                        "orgs",
                        org,
                        "repos",
                        repo,
                        "branches",
                        branch,
                    ],
                    b,
                ));
            }
        }
    }
    for (path, policy) in policies {
        for problem in policy.problems() {
            diags.error(file, node.locate(&path), path.join("."), problem);
        }
    }
    for (key, limit) in &tide.batch_size_limit {
        if *limit < -1 {
            diags.error(
                file,
                node.locate(&["tide", "batch_size_limit", key]),
                format!("tide.batch_size_limit.{key}"),
                format!("{limit}: must be -1 (no batches), 0 (no limit) or a size"),
            );
        }
    }
    let not_used = [
        (
            "github_merge_blocks_policy",
            !tide.github_merge_blocks_policy.is_empty(),
        ),
        ("status_update_period", tide.status_update_period.is_some()),
        ("max_goroutines", tide.max_goroutines != 0),
    ];
    for (key, set) in not_used {
        if set {
            diags.note(
                file,
                node.locate(&["tide", key]),
                format!("tide.{key}"),
                "a tide setting Skiff does not act on yet; accepted and ignored",
            );
        }
    }
    if !tide.target_url.is_empty() && !tide.target_urls.is_empty() {
        diags.error(
            file,
            node.locate(&["tide", "target_url"]),
            "tide.target_url",
            "target_url and target_urls are mutually exclusive",
        );
    }
    if !matches!(
        tide.github_merge_blocks_policy.as_str(),
        "" | "ignore" | "permit" | "block"
    ) {
        diags.error(
            file,
            node.locate(&["tide", "github_merge_blocks_policy"]),
            "tide.github_merge_blocks_policy",
            format!(
                "{:?}: must be ignore, permit or block",
                tide.github_merge_blocks_policy
            ),
        );
    }
}
