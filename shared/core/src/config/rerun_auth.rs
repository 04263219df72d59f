//! Who may rerun or abort a job from the deck: Prow's
//! `deck.rerun_auth_configs` (a map by `*`, `org` or `org/repo`) or its newer
//! `deck.default_rerun_auth_configs` (entries filtered by `repo` and
//! `cluster`), and the job's own `rerun_auth_config`.

use serde::{Deserialize, Serialize};

use super::prow::entry_matches;
use crate::prowjob::{ProwJobSpec, RerunAuthConfig};

/// One `deck.default_rerun_auth_configs` entry: the config applies to jobs
/// of `repo` (`org`, `org/repo`, `*` or empty for all) on `cluster` (`*` or
/// empty for all). Later matching entries win.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DefaultRerunAuthConfigEntry {
    #[serde(default, rename = "repo", skip_serializing_if = "String::is_empty")]
    pub org_repo: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_auth_configs: Option<RerunAuthConfig>,
}

/// The entries of either form, the map converted as Prow converts it: the
/// `""` and `*` keys first, then orgs, then repos (each in name order, so the
/// most specific match is the last).
pub fn entries(
    map: &std::collections::BTreeMap<String, RerunAuthConfig>,
    list: &[DefaultRerunAuthConfigEntry],
) -> Vec<DefaultRerunAuthConfigEntry> {
    if map.is_empty() {
        return list.to_vec();
    }
    let rank = |k: &str| match k {
        "" => 0,
        "*" => 1,
        k if !k.contains('/') => 2,
        _ => 3,
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| (rank(k), k.as_str()));
    keys.into_iter()
        .map(|k| DefaultRerunAuthConfigEntry {
            org_repo: k.clone(),
            cluster: String::new(),
            rerun_auth_configs: map.get(k).cloned(),
        })
        .collect()
}

/// Prow's `GetRerunAuthConfig`: the last entry matching the job's repo (its
/// refs, else its first extra refs) and cluster.
pub fn for_job<'e>(
    entries: &'e [DefaultRerunAuthConfigEntry],
    spec: &ProwJobSpec,
) -> Option<&'e RerunAuthConfig> {
    let org_repo = spec
        .refs
        .as_ref()
        .or(spec.extra_refs.first())
        .map(|r| format!("{}/{}", r.org, r.repo))
        .unwrap_or_default();
    entries
        .iter()
        .rev()
        .filter(|e| entry_matches(&e.org_repo, &e.cluster, &org_repo, &spec.cluster))
        .find_map(|e| e.rerun_auth_configs.as_ref())
}

/// The org a job's auth is checked in (its refs', else its first extra
/// refs').
pub fn job_org(spec: &ProwJobSpec) -> &str {
    spec.refs
        .as_ref()
        .or(spec.extra_refs.first())
        .map_or("", |r| r.org.as_str())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::prowjob::Refs;

    fn users(u: &str) -> RerunAuthConfig {
        RerunAuthConfig {
            github_users: vec![u.into()],
            ..RerunAuthConfig::default()
        }
    }

    fn spec(org: &str, repo: &str, cluster: &str) -> ProwJobSpec {
        ProwJobSpec {
            cluster: cluster.into(),
            refs: Some(Refs {
                org: org.into(),
                repo: repo.into(),
                ..Refs::default()
            }),
            ..ProwJobSpec::default()
        }
    }

    #[test]
    fn the_most_specific_key_of_the_map_wins() {
        let map: BTreeMap<String, RerunAuthConfig> = [
            ("*".to_string(), users("anyone-admin")),
            ("acme".to_string(), users("acme-admin")),
            ("acme/widgets".to_string(), users("widgets-admin")),
        ]
        .into();
        let e = entries(&map, &[]);
        let who = |s: &ProwJobSpec| for_job(&e, s).map(|c| c.github_users[0].clone());
        assert_eq!(
            who(&spec("acme", "widgets", "default")).unwrap(),
            "widgets-admin"
        );
        assert_eq!(
            who(&spec("acme", "gears", "default")).unwrap(),
            "acme-admin"
        );
        assert_eq!(who(&spec("other", "x", "default")).unwrap(), "anyone-admin");
        let periodic = ProwJobSpec::default();
        assert_eq!(
            who(&periodic).unwrap(),
            "anyone-admin",
            "no refs: only * matches"
        );
    }

    #[test]
    fn entries_filter_by_repo_and_cluster_and_the_last_match_wins() {
        let list = vec![
            DefaultRerunAuthConfigEntry {
                org_repo: "*".into(),
                cluster: String::new(),
                rerun_auth_configs: Some(users("all")),
            },
            DefaultRerunAuthConfigEntry {
                org_repo: "acme".into(),
                cluster: "trusted".into(),
                rerun_auth_configs: Some(users("trusted-admin")),
            },
        ];
        let e = entries(&BTreeMap::new(), &list);
        let who = |s: &ProwJobSpec| for_job(&e, s).map(|c| c.github_users[0].clone());
        assert_eq!(who(&spec("acme", "w", "trusted")).unwrap(), "trusted-admin");
        assert_eq!(who(&spec("acme", "w", "default")).unwrap(), "all");
    }
}
