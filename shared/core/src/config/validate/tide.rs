//! Rules of the `tide:` section, Prow's (`pkg/config/tide.go` `Validate`s,
//! `validateTideRequirements`): queries and context policies.

use crate::config::tide::Tide;
use crate::diagnostics::Diagnostics;
use crate::yaml::Node;

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
