//! OWNERS and OWNERS_ALIASES, with Prow's rules (`pkg/repoowners`):
//!
//! - an OWNERS file is the simple form (`approvers`, `reviewers`,
//!   `required_reviewers`, `labels`, `options`) or, when that fails or lists
//!   nobody, the full form (`options`, `filters: {regex: {same lists}}`);
//!   `emeritus_approvers` is read and ignored, as Prow reads it nowhere;
//! - filter regexes are unanchored and matched against the path relative to
//!   the OWNERS file's directory; the key `.*` means every file;
//! - logins are lower-cased and lose a leading `@`; aliases expand;
//! - a file's owners are collected walking up from the file, layer by layer,
//!   stopping above a directory with `no_parent_owners` once some are found.
//!
//! A file that does not parse contributes nothing and is reported with its
//! line, so a PR's plugin comment can say which file is broken.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::config::plugins::OwnersFilenames;
use crate::yaml::{self, Path};

/// `options:` of an OWNERS file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct DirOptions {
    #[serde(default)]
    pub no_parent_owners: bool,
    #[serde(default)]
    pub auto_approve_unowned_subfolders: bool,
}

/// The four lists of an OWNERS file (or of one filter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Lists {
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub reviewers: Vec<String>,
    #[serde(default)]
    pub required_reviewers: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Lists {
    fn is_empty(&self) -> bool {
        self.approvers.is_empty()
            && self.reviewers.is_empty()
            && self.required_reviewers.is_empty()
            && self.labels.is_empty()
    }
}

#[derive(Deserialize)]
struct SimpleConfig {
    #[serde(default)]
    options: DirOptions,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    required_reviewers: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    /// Read so that it is not an unknown key, and used nowhere (as in Prow).
    #[serde(default)]
    #[allow(dead_code)]
    emeritus_approvers: Vec<String>,
}

impl SimpleConfig {
    fn lists(&self) -> Lists {
        Lists {
            approvers: self.approvers.clone(),
            reviewers: self.reviewers.clone(),
            required_reviewers: self.required_reviewers.clone(),
            labels: self.labels.clone(),
        }
    }
}

#[derive(Deserialize)]
struct FullConfig {
    #[serde(default)]
    options: DirOptions,
    #[serde(default)]
    filters: BTreeMap<String, Lists>,
}

/// One parsed OWNERS file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnersFile {
    pub options: DirOptions,
    /// `None` = every file (the simple form, or the `.*` filter).
    pub filters: Vec<(Option<String>, Lists)>,
}

/// `path:line: problem`.
pub fn problem(path: &str, line: impl std::fmt::Display, what: impl std::fmt::Display) -> String {
    format!("{path}:{line}: {what}")
}

/// Parses an OWNERS file's text; the error names the line.
pub fn parse_owners(path: &str, text: &str) -> Result<OwnersFile, String> {
    let doc = yaml::parse(text).map_err(|e| {
        problem(
            path,
            e.mark.line,
            format!("Cannot parse file: {}", e.message),
        )
    })?;
    let root = doc.root;
    let simple = yaml::from_node::<SimpleConfig>(&root, &Path::Root(""));
    if let Ok((s, _)) = &simple
        && !s.lists().is_empty()
    {
        return Ok(OwnersFile {
            options: s.options,
            filters: vec![(None, s.lists())],
        });
    }
    match yaml::from_node::<FullConfig>(&root, &Path::Root("")) {
        Ok((full, _)) if !full.filters.is_empty() || simple.is_ok() => Ok(OwnersFile {
            options: full.options,
            filters: full
                .filters
                .into_iter()
                .map(|(k, v)| (if k == ".*" { None } else { Some(k) }, v))
                .collect(),
        }),
        // Neither form: the simple form's error says what is wrong where a
        // reader expects it (`approvers: alice` instead of a list).
        Ok(_) | Err(_) => {
            let e = match simple {
                Err(e) => e,
                Ok(_) => return Ok(OwnersFile::default()),
            };
            let line = e.mark.map_or(1, |m| m.line);
            let field = if e.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", e.path)
            };
            Err(problem(
                path,
                line,
                format!("Cannot parse file: {field}{}", e.message),
            ))
        }
    }
}

/// Prow's `NormLogin`: lower case, no leading `@`.
pub fn norm_login(login: &str) -> String {
    login.trim().trim_start_matches('@').to_lowercase()
}

/// Parses OWNERS_ALIASES: `aliases: {name: [logins]}`.
pub fn parse_aliases(path: &str, text: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let doc = yaml::parse(text).map_err(|e| {
        problem(
            path,
            e.mark.line,
            format!("Cannot parse file: {}", e.message),
        )
    })?;
    let mut out = BTreeMap::new();
    let Some(aliases) = doc.root.get("aliases") else {
        return Ok(out);
    };
    for e in aliases.value.entries() {
        let members: BTreeSet<String> = match &e.value.value {
            yaml::Value::Seq(items) => {
                let mut m = BTreeSet::new();
                for item in items {
                    match item.as_str() {
                        Some(s) => {
                            m.insert(norm_login(s));
                        }
                        None => {
                            return Err(problem(
                                path,
                                item.mark.line,
                                format!("alias group '{}' has a member that is not a login", e.key),
                            ));
                        }
                    }
                }
                m
            }
            yaml::Value::Map(entries) => entries.iter().map(|m| norm_login(&m.key)).collect(),
            yaml::Value::Null => BTreeSet::new(),
            yaml::Value::Scalar { .. } => {
                return Err(problem(
                    path,
                    e.value.mark.line,
                    format!("alias group '{}' must contain a list of members", e.key),
                ));
            }
        };
        out.insert(norm_login(&e.key), members);
    }
    Ok(out)
}

/// A compiled filter regex (unanchored, as Go's `MatchString`).
#[derive(Clone, Debug)]
struct Filter(Option<Arc<Regex>>);

impl Filter {
    fn matches(&self, relative: &str) -> bool {
        self.0.as_ref().is_none_or(|r| r.is_match(relative))
    }
}

type PeopleMap = BTreeMap<String, Vec<(Filter, BTreeSet<String>)>>;

/// Every OWNERS file of a repository, ready for lookups.
#[derive(Clone, Debug, Default)]
pub struct RepoOwners {
    approvers: PeopleMap,
    reviewers: PeopleMap,
    required_reviewers: PeopleMap,
    labels: PeopleMap,
    options: BTreeMap<String, DirOptions>,
    aliases: BTreeMap<String, BTreeSet<String>>,
    /// The file name that OWNERS links point at.
    pub filename: String,
}

/// Prow's default `owners_dir_denylist`: directories whose OWNERS are skipped.
pub const DEFAULT_DIR_DENYLIST: &[&str] = &[r"\.git$", r"_output$", r"vendor/.*/.*"];

/// `a/b/c.go` → `a/b`; `a` → `` (the root, Prow's `baseDirConvention`).
pub fn dir_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir,
        None => "",
    }
}

/// `path` relative to directory `dir` (Go's `filepath.Rel` for these paths).
fn relative<'p>(dir: &str, path: &'p str) -> &'p str {
    if dir.is_empty() {
        return path;
    }
    if path == dir {
        return ".";
    }
    path.strip_prefix(dir)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
}

impl RepoOwners {
    /// Builds the owners from OWNERS files (`(path, text)`) and the aliases
    /// file's text. Returns the owners and the problems of files that did
    /// not parse (each skipped).
    pub fn load(
        files: &[(String, String)],
        aliases: Option<(&str, &str)>,
        filenames: &OwnersFilenames,
    ) -> (RepoOwners, Vec<String>) {
        let mut problems = Vec::new();
        let mut o = RepoOwners {
            filename: filenames.owners.clone(),
            ..RepoOwners::default()
        };
        if let Some((path, text)) = aliases {
            match parse_aliases(path, text) {
                Ok(a) => o.aliases = a,
                Err(p) => problems.push(p),
            }
        }
        let denylist: Vec<Regex> = DEFAULT_DIR_DENYLIST
            .iter()
            .filter_map(|p| Regex::new(p).ok())
            .collect();
        let mut sorted: Vec<&(String, String)> = files.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, text) in sorted {
            let dir = dir_of(path);
            if denylist.iter().any(|r| r.is_match(dir)) {
                continue;
            }
            let parsed = match parse_owners(path, text) {
                Ok(p) => p,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            for (pattern, lists) in parsed.filters {
                let filter = match pattern {
                    None => Filter(None),
                    Some(p) => match Regex::new(&p) {
                        Ok(r) => Filter(Some(Arc::new(r))),
                        Err(e) => {
                            problems.push(format!("{path}: invalid filter regexp {p:?}: {e}"));
                            continue;
                        }
                    },
                };
                o.apply(dir, &filter, &lists);
            }
            if parsed.options != DirOptions::default() {
                o.options.insert(dir.to_string(), parsed.options);
            }
        }
        (o, problems)
    }

    fn expand(&self, logins: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for l in logins {
            let l = norm_login(l);
            match self.aliases.get(&l) {
                Some(members) => out.extend(members.iter().cloned()),
                None => {
                    out.insert(l);
                }
            }
        }
        out
    }

    fn apply(&mut self, dir: &str, filter: &Filter, lists: &Lists) {
        let add = |map: &mut PeopleMap, people: BTreeSet<String>| {
            if !people.is_empty() {
                map.entry(dir.to_string())
                    .or_default()
                    .push((filter.clone(), people));
            }
        };
        let approvers = self.expand(&lists.approvers);
        let reviewers = self.expand(&lists.reviewers);
        let required = self.expand(&lists.required_reviewers);
        add(&mut self.approvers, approvers);
        add(&mut self.reviewers, reviewers);
        add(&mut self.required_reviewers, required);
        add(
            &mut self.labels,
            lists.labels.iter().cloned().collect::<BTreeSet<_>>(),
        );
    }

    /// Prow's `filterCollaborators`: approvers and reviewers who are not
    /// collaborators of the repository do not count.
    pub fn only_collaborators(&mut self, collaborators: &[String]) {
        let keep: BTreeSet<String> = collaborators.iter().map(|c| norm_login(c)).collect();
        for map in [&mut self.approvers, &mut self.reviewers] {
            for entries in map.values_mut() {
                for (_, people) in entries.iter_mut() {
                    people.retain(|p| keep.contains(p));
                }
            }
        }
    }

    fn find_owners_for_file(path: &str, map: &PeopleMap) -> String {
        let mut d = path;
        while !d.is_empty() {
            let rel = relative(d, path);
            if let Some(entries) = map.get(d)
                && entries
                    .iter()
                    .any(|(f, people)| f.matches(rel) && !people.is_empty())
            {
                return d.to_string();
            }
            d = dir_of(d);
        }
        String::new()
    }

    /// The directory of the nearest OWNERS file with approvers for `path`
    /// (`""` is the root).
    pub fn find_approver_owners_for_file(&self, path: &str) -> String {
        Self::find_owners_for_file(path, &self.approvers)
    }

    pub fn find_reviewers_owners_for_file(&self, path: &str) -> String {
        Self::find_owners_for_file(path, &self.reviewers)
    }

    pub fn is_no_parent_owners(&self, dir: &str) -> bool {
        self.options.get(dir).is_some_and(|o| o.no_parent_owners)
    }

    pub fn is_auto_approve_unowned_subfolders(&self, dir: &str) -> bool {
        self.options
            .get(dir)
            .is_some_and(|o| o.auto_approve_unowned_subfolders)
    }

    /// Prow's `entriesForFile`: the people of each layer, nearest first.
    fn layers(&self, path: &str, map: &PeopleMap, leaf_only: bool) -> Vec<BTreeSet<String>> {
        let mut out: Vec<BTreeSet<String>> = Vec::new();
        let mut d = if path == "." { "" } else { path };
        let mut found = false;
        loop {
            let rel = relative(d, path);
            let mut layer = BTreeSet::new();
            for (f, people) in map.get(d).into_iter().flatten() {
                if f.matches(rel) {
                    layer.extend(people.iter().cloned());
                }
            }
            found |= !layer.is_empty();
            out.push(layer);
            if (leaf_only && found) || d.is_empty() || (self.is_no_parent_owners(d) && found) {
                break;
            }
            d = dir_of(d);
        }
        out
    }

    fn all(&self, path: &str, map: &PeopleMap, leaf_only: bool) -> BTreeSet<String> {
        self.layers(path, map, leaf_only)
            .into_iter()
            .flatten()
            .collect()
    }

    /// Everyone who can approve `path`, layer by layer (nearest first).
    pub fn approver_layers(&self, path: &str) -> Vec<BTreeSet<String>> {
        self.layers(path, &self.approvers, false)
    }

    pub fn approvers(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.approvers, false)
    }

    pub fn leaf_approvers(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.approvers, true)
    }

    pub fn reviewer_layers(&self, path: &str) -> Vec<BTreeSet<String>> {
        self.layers(path, &self.reviewers, false)
    }

    pub fn reviewers(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.reviewers, false)
    }

    pub fn leaf_reviewers(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.reviewers, true)
    }

    pub fn required_reviewers(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.required_reviewers, false)
    }

    pub fn labels_for(&self, path: &str) -> BTreeSet<String> {
        self.all(path, &self.labels, false)
    }

    /// Approvers of the root OWNERS file.
    pub fn top_level_approvers(&self) -> BTreeSet<String> {
        self.all(".", &self.approvers, true)
    }

    pub fn aliases(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.aliases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> OwnersFilenames {
        OwnersFilenames {
            owners: "OWNERS".into(),
            owners_aliases: "OWNERS_ALIASES".into(),
        }
    }

    #[test]
    fn a_malformed_owners_file_is_named_with_its_line() {
        let files = vec![
            ("OWNERS".to_string(), "approvers: [root]\n".to_string()),
            (
                "pkg/OWNERS".to_string(),
                "approvers:\n- alice\nreviewers: [bob\n".to_string(),
            ),
        ];
        let (o, problems) = RepoOwners::load(&files, None, &names());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("pkg/OWNERS:"), "{problems:?}");
        assert!(problems[0].contains("Cannot parse file"), "{problems:?}");
        assert_eq!(
            o.approvers("pkg/a.go"),
            BTreeSet::from(["root".to_string()])
        );
    }

    #[test]
    fn a_scalar_where_a_list_belongs_names_the_field_and_line() {
        let err = parse_owners("OWNERS", "reviewers:\n- a\napprovers: alice\n").unwrap_err();
        assert!(err.starts_with("OWNERS:3:"), "{err}");
        assert!(err.contains("approvers"), "{err}");
    }
}
