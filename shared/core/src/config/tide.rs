//! Prow's `tide:` section (`pkg/config/tide.go`): which pull requests tide
//! merges (its queries), how (merge method, commit templates), what must pass
//! (context options), and how it batches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;

/// The `tide:` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tide {
    /// How often every pool is synced (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_period: Option<GoDuration>,
    /// Prow's status controller period; Skiff writes `tide` statuses in the
    /// sync itself, so it is accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update_period: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<TideQuery>,
    /// By `org/repo@branch`, `org/repo` or `org`: `merge`, `squash`,
    /// `rebase`, or (under an org) repos and branch patterns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub merge_method: BTreeMap<String, MergeMethodEntry>,
    /// By `org/repo` or `org`: Go templates for the merge commit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub merge_commit_template: BTreeMap<String, MergeCommitTemplate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_url: String,
    /// By `*`, `org` or `org/repo`: the `tide` status's link.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_urls: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pr_status_base_url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pr_status_base_urls: BTreeMap<String, String>,
    /// Open issues with this label block merges (parsed; not acted on yet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blocker_label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub squash_label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rebase_label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub merge_label: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_goroutines: i64,
    #[serde(default, skip_serializing_if = "ContextPolicyOptions::is_empty")]
    pub context_options: ContextPolicyOptions,
    /// By `*`, `org` or `org/repo`: 0 unlimited, -1 no batches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub batch_size_limit: BTreeMap<String, i64>,
    /// By `*`, `org` or `org/repo` (default true).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prioritize_existing_batches: BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<TidePriority>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub display_all_tide_queries_in_status: bool,
    /// `ignore`, `permit` (default) or `block`: what GitHub's own
    /// `mergeStateStatus: BLOCKED` means (not available over REST; parsed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub github_merge_blocks_policy: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One query: a pull request is in tide's pools when one query matches it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TideQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// Each must be present; `"a,b"` means either.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(
        default,
        rename = "missingLabels",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub missing_labels: Vec<String>,
    #[serde(
        default,
        rename = "excludedBranches",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_branches: Vec<String>,
    #[serde(
        default,
        rename = "includedBranches",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub included_branches: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub milestone: String,
    #[serde(
        default,
        rename = "reviewApprovedRequired",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub review_approved_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<String>,
    #[serde(
        default,
        rename = "excludedRepos",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_repos: Vec<String>,
}

impl TideQuery {
    /// Prow's `ForRepo`: an org listed (and the repo not excluded), or the
    /// repo listed.
    pub fn for_repo(&self, org: &str, repo: &str) -> bool {
        let full = format!("{org}/{repo}");
        if self.orgs.iter().any(|o| o == org) {
            return !self.excluded_repos.contains(&full);
        }
        self.repos.contains(&full)
    }

    /// Prow's `TideQuery.Validate`, as messages.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let dups = |field: &str, list: &[String], out: &mut Vec<String>| {
            let mut seen = std::collections::BTreeSet::new();
            let d: Vec<&str> = list
                .iter()
                .filter(|x| !seen.insert(x.as_str()))
                .map(String::as_str)
                .collect();
            if !d.is_empty() {
                out.push(format!(
                    "{field:?} contains {} duplicate entries: {}",
                    d.len(),
                    d.join(", ")
                ));
            }
        };
        for (i, o) in self.orgs.iter().enumerate() {
            if o.contains('/') {
                out.push(format!(
                    "orgs[{i}]: {o:?} contains a '/' which is not valid"
                ));
            }
            if o.is_empty() {
                out.push(format!("orgs[{i}]: is an empty string"));
            }
        }
        dups("orgs", &self.orgs, &mut out);
        for (i, r) in self.repos.iter().enumerate() {
            match r.split_once('/') {
                Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
                    if self.orgs.iter().any(|x| x == o) {
                        out.push(format!(
                            "repos[{i}]: {r:?} is already included via org: {o:?}"
                        ));
                    }
                }
                _ => out.push(format!("repos[{i}]: {r:?} is not of the form \"org/repo\"")),
            }
        }
        dups("repos", &self.repos, &mut out);
        if self.orgs.is_empty() && self.repos.is_empty() {
            out.push("'orgs' and 'repos' cannot both be empty".into());
        }
        for (i, r) in self.excluded_repos.iter().enumerate() {
            match r.split_once('/') {
                Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
                    if !self.orgs.iter().any(|x| x == o) {
                        out.push(format!(
                            "excludedRepos[{i}]: {r:?} has no effect because org {o:?} is not included"
                        ));
                    }
                }
                _ => out.push(format!(
                    "excludedRepos[{i}]: {r:?} is not of the form \"org/repo\""
                )),
            }
        }
        dups("excludedRepos", &self.excluded_repos, &mut out);
        let both: Vec<&str> = self
            .labels
            .iter()
            .filter(|l| self.missing_labels.contains(l))
            .map(String::as_str)
            .collect();
        if !both.is_empty() {
            out.push(format!(
                "the labels: {both:?} are both required and forbidden"
            ));
        }
        dups("labels", &self.labels, &mut out);
        dups("missingLabels", &self.missing_labels, &mut out);
        if !self.excluded_branches.is_empty() && !self.included_branches.is_empty() {
            out.push("both 'includedBranches' and 'excludedBranches' are specified ('excludedBranches' have no effect)".into());
        }
        dups("includedBranches", &self.included_branches, &mut out);
        dups("excludedBranches", &self.excluded_branches, &mut out);
        out
    }
}

/// `merge_method`'s value: a method, or under an org key, per repo (`*` for
/// any) a method or branch patterns → method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MergeMethodEntry {
    Method(MergeMethod),
    Repos(BTreeMap<String, RepoMergeMethod>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RepoMergeMethod {
    Method(MergeMethod),
    /// Branch regex → method.
    Branches(BTreeMap<String, MergeMethod>),
}

/// GitHub's merge methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    #[default]
    Merge,
    Squash,
    Rebase,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeCommitTemplate {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TidePriority {
    /// Each must be present; `"a,b"` means either.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Which contexts must pass (Prow's `TideContextPolicy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPolicy {
    #[serde(
        default,
        rename = "skip-unknown-contexts",
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_unknown_contexts: Option<bool>,
    #[serde(
        default,
        rename = "required-contexts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub required_contexts: Vec<String>,
    #[serde(
        default,
        rename = "required-if-present-contexts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub required_if_present_contexts: Vec<String>,
    #[serde(
        default,
        rename = "optional-contexts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub optional_contexts: Vec<String>,
    /// Also require the branch protection's required status checks.
    #[serde(
        default,
        rename = "from-branch-protection",
        skip_serializing_if = "Option::is_none"
    )]
    pub from_branch_protection: Option<bool>,
}

impl ContextPolicy {
    /// Prow's `mergeTideContextPolicy`: lists add up, a set flag overrides.
    fn merged(&self, over: &ContextPolicy) -> ContextPolicy {
        let union = |a: &[String], b: &[String]| {
            let mut s: std::collections::BTreeSet<String> = a.iter().cloned().collect();
            s.extend(b.iter().cloned());
            s.into_iter().collect::<Vec<_>>()
        };
        ContextPolicy {
            skip_unknown_contexts: over.skip_unknown_contexts.or(self.skip_unknown_contexts),
            from_branch_protection: over.from_branch_protection.or(self.from_branch_protection),
            required_contexts: union(&self.required_contexts, &over.required_contexts),
            required_if_present_contexts: union(
                &self.required_if_present_contexts,
                &over.required_if_present_contexts,
            ),
            optional_contexts: union(&self.optional_contexts, &over.optional_contexts),
        }
    }

    /// Prow's `TideContextPolicy.Validate`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let inter = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| b.contains(x)).cloned().collect()
        };
        for (a, b, what) in [
            (
                &self.required_contexts,
                &self.optional_contexts,
                "required and optional",
            ),
            (
                &self.required_contexts,
                &self.required_if_present_contexts,
                "required and required if present",
            ),
            (
                &self.optional_contexts,
                &self.required_if_present_contexts,
                "optional and required if present",
            ),
        ] {
            let both = inter(a, b);
            if !both.is_empty() {
                out.push(format!(
                    "contexts {} are defined as {what}",
                    both.join(", ")
                ));
            }
        }
        out
    }
}

/// `context_options`: the global policy, then per org, repo and branch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPolicyOptions {
    #[serde(flatten)]
    pub policy: ContextPolicy,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub orgs: BTreeMap<String, OrgContextPolicy>,
}

impl ContextPolicyOptions {
    fn is_empty(&self) -> bool {
        *self == ContextPolicyOptions::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgContextPolicy {
    #[serde(flatten)]
    pub policy: ContextPolicy,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repos: BTreeMap<String, RepoContextPolicy>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoContextPolicy {
    #[serde(flatten)]
    pub policy: ContextPolicy,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub branches: BTreeMap<String, ContextPolicy>,
}

/// `*`, then `org`, then `org/repo`: the most specific key set.
fn by_repo<'a, T>(map: &'a BTreeMap<String, T>, org: &str, repo: &str) -> Option<&'a T> {
    map.get(&format!("{org}/{repo}"))
        .or_else(|| map.get(org))
        .or_else(|| map.get("*"))
}

impl Tide {
    pub fn sync_period(&self) -> GoDuration {
        self.sync_period.unwrap_or(GoDuration::from_mins(1))
    }

    /// Prow's `BatchSizeLimit`: 0 unlimited, -1 no batches.
    pub fn batch_size_limit(&self, org: &str, repo: &str) -> i64 {
        by_repo(&self.batch_size_limit, org, repo)
            .copied()
            .unwrap_or(0)
    }

    pub fn prioritize_existing_batches(&self, org: &str, repo: &str) -> bool {
        by_repo(&self.prioritize_existing_batches, org, repo)
            .copied()
            .unwrap_or(true)
    }

    /// Prow's `OrgRepoBranchMergeMethod`, first match wins: `o/r@branch`;
    /// `o: {r|*: {branch regex: m}}` (or `o: {r: m}`); `o/r`; `o: m`;
    /// `merge`. A branch pattern is anchored, as Prow's.
    pub fn merge_method(&self, org: &str, repo: &str, branch: &str) -> MergeMethod {
        if let Some(MergeMethodEntry::Method(m)) =
            self.merge_method.get(&format!("{org}/{repo}@{branch}"))
        {
            return *m;
        }
        if let Some(MergeMethodEntry::Repos(repos)) = self.merge_method.get(org) {
            for key in [repo, "*"] {
                match repos.get(key) {
                    Some(RepoMergeMethod::Method(m)) => return *m,
                    Some(RepoMergeMethod::Branches(branches)) => {
                        for (pattern, m) in branches {
                            if regex::Regex::new(&format!("^(?:{pattern})$"))
                                .is_ok_and(|re| re.is_match(branch))
                            {
                                return *m;
                            }
                        }
                    }
                    None => {}
                }
            }
        }
        if let Some(MergeMethodEntry::Method(m)) = self.merge_method.get(&format!("{org}/{repo}")) {
            return *m;
        }
        if let Some(MergeMethodEntry::Method(m)) = self.merge_method.get(org) {
            return *m;
        }
        MergeMethod::Merge
    }

    /// Prow's `MergeCommitTemplate`: `org/repo`, else `org`.
    pub fn merge_commit_template(&self, org: &str, repo: &str) -> Option<&MergeCommitTemplate> {
        self.merge_commit_template
            .get(&format!("{org}/{repo}"))
            .or_else(|| self.merge_commit_template.get(org))
    }

    /// The `tide` status's link: `target_urls`, else `target_url`.
    pub fn target_url(&self, org: &str, repo: &str) -> String {
        by_repo(&self.target_urls, org, repo)
            .cloned()
            .unwrap_or_else(|| self.target_url.clone())
    }

    pub fn pr_status_base_url(&self, org: &str, repo: &str) -> String {
        by_repo(&self.pr_status_base_urls, org, repo)
            .cloned()
            .unwrap_or_else(|| self.pr_status_base_url.clone())
    }

    /// Prow's `GetTideContextPolicy` config part: the global policy merged
    /// with the org's, the repo's and the branch's.
    pub fn context_policy(&self, org: &str, repo: &str, branch: &str) -> ContextPolicy {
        let mut p = self.context_options.policy.clone();
        if let Some(o) = self.context_options.orgs.get(org) {
            p = p.merged(&o.policy);
            if let Some(r) = o.repos.get(repo) {
                p = p.merged(&r.policy);
                if let Some(b) = r.branches.get(branch) {
                    p = p.merged(b);
                }
            }
        }
        p
    }

    /// The queries that cover `org/repo`.
    pub fn queries_for(&self, org: &str, repo: &str) -> Vec<&TideQuery> {
        self.queries
            .iter()
            .filter(|q| q.for_repo(org, repo))
            .collect()
    }

    /// Every `org/repo` listed by a query, and every org listed whole (with
    /// the repos excluded from it).
    pub fn covered(&self) -> (Vec<String>, Vec<String>) {
        let mut repos: Vec<String> = self
            .queries
            .iter()
            .flat_map(|q| q.repos.iter().cloned())
            .collect();
        repos.sort();
        repos.dedup();
        let mut orgs: Vec<String> = self
            .queries
            .iter()
            .flat_map(|q| q.orgs.iter().cloned())
            .collect();
        orgs.sort();
        orgs.dedup();
        (repos, orgs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tide(yaml: &str) -> Tide {
        use crate::config::{FileRole, SourceFile, load};
        let text = format!("tide:\n{}", indent(yaml));
        let loaded = load(&[SourceFile {
            path: "config.yaml".into(),
            text,
            role: FileRole::ProwConfig,
        }]);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        loaded.config.prow.tide
    }

    fn indent(yaml: &str) -> String {
        yaml.lines().map(|l| format!("  {l}\n")).collect()
    }

    #[test]
    fn merge_method_first_match_wins_in_prows_order() {
        let t = tide(
            r#"
merge_method:
  acme/widgets@release: rebase
  acme:
    widgets:
      "feature-.*": squash
    "*": squash
  acme/widgets: merge
  other: squash
"#,
        );
        let cases = [
            ("acme", "widgets", "release", MergeMethod::Rebase),
            ("acme", "widgets", "feature-x", MergeMethod::Squash),
            ("acme", "widgets", "main", MergeMethod::Squash),
            ("acme", "gears", "main", MergeMethod::Squash),
            ("other", "x", "main", MergeMethod::Squash),
            ("nobody", "x", "main", MergeMethod::Merge),
        ];
        for (org, repo, branch, want) in cases {
            assert_eq!(
                t.merge_method(org, repo, branch),
                want,
                "{org}/{repo}@{branch}"
            );
        }
        let t = tide("merge_method: {acme/widgets: squash, acme: rebase}\n");
        assert_eq!(
            t.merge_method("acme", "widgets", "main"),
            MergeMethod::Squash
        );
        assert_eq!(t.merge_method("acme", "gears", "main"), MergeMethod::Rebase);
    }

    #[test]
    fn limits_and_urls_pick_the_most_specific_key() {
        let t = tide(
            r#"
batch_size_limit: {"*": 3, acme: -1, acme/widgets: 2}
prioritize_existing_batches: {acme: false}
target_urls: {"*": https://tide.example, acme/widgets: https://w.example}
"#,
        );
        assert_eq!(t.batch_size_limit("acme", "widgets"), 2);
        assert_eq!(t.batch_size_limit("acme", "gears"), -1);
        assert_eq!(t.batch_size_limit("other", "x"), 3);
        assert!(!t.prioritize_existing_batches("acme", "x"));
        assert!(t.prioritize_existing_batches("other", "x"));
        assert_eq!(t.target_url("acme", "widgets"), "https://w.example");
        assert_eq!(t.target_url("acme", "gears"), "https://tide.example");
        assert_eq!(tide("sync_period: 1m\n").sync_period().to_string(), "1m0s");
    }

    #[test]
    fn context_policies_add_up_from_global_to_branch() {
        let t = tide(
            r#"
context_options:
  required-contexts: [global]
  orgs:
    acme:
      optional-contexts: [flaky]
      repos:
        widgets:
          skip-unknown-contexts: true
          branches:
            release:
              required-contexts: [release-only]
"#,
        );
        let p = t.context_policy("acme", "widgets", "release");
        assert_eq!(p.required_contexts, ["global", "release-only"]);
        assert_eq!(p.optional_contexts, ["flaky"]);
        assert_eq!(p.skip_unknown_contexts, Some(true));
        let p = t.context_policy("acme", "widgets", "main");
        assert_eq!(p.required_contexts, ["global"]);
        assert_eq!(
            t.context_policy("x", "y", "main").skip_unknown_contexts,
            None
        );
    }

    #[test]
    fn queries_are_validated_as_prow_does() {
        let q = TideQuery {
            orgs: vec!["acme".into()],
            repos: vec!["acme/widgets".into(), "bad".into()],
            excluded_repos: vec!["other/x".into()],
            labels: vec!["lgtm".into()],
            missing_labels: vec!["lgtm".into()],
            included_branches: vec!["main".into()],
            excluded_branches: vec!["dev".into()],
            ..TideQuery::default()
        };
        let p = q.problems();
        for want in [
            "repos[0]: \"acme/widgets\" is already included via org: \"acme\"",
            "repos[1]: \"bad\" is not of the form \"org/repo\"",
            "excludedRepos[0]: \"other/x\" has no effect because org \"other\" is not included",
            "the labels: [\"lgtm\"] are both required and forbidden",
            "both 'includedBranches' and 'excludedBranches' are specified ('excludedBranches' have no effect)",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:?}");
        }
        assert_eq!(
            TideQuery::default().problems(),
            ["'orgs' and 'repos' cannot both be empty"]
        );
    }

    #[test]
    fn a_query_covers_listed_repos_and_org_repos_not_excluded() {
        let q = TideQuery {
            orgs: vec!["acme".into()],
            excluded_repos: vec!["acme/secret".into()],
            repos: vec!["other/x".into()],
            ..TideQuery::default()
        };
        assert!(q.for_repo("acme", "widgets"));
        assert!(!q.for_repo("acme", "secret"));
        assert!(q.for_repo("other", "x"));
        assert!(!q.for_repo("other", "y"));
    }
}
