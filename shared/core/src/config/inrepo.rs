//! In-repo job configuration (Prow's `pkg/config/inrepoconfig.go`): a repo
//! that `in_repo_config` enables may hold `.prow.yaml`, or a `.prow/`
//! directory of `*.yaml`/`*.yml` files, with `presets:`, `presubmits:` and
//! `postsubmits:` in Prow's format — lists, not keyed by repo: the jobs
//! belong to the repo the file is in.
//!
//! In-repo jobs are defaulted and validated exactly as central ones, against
//! the central presets as well as the file's own, plus Prow's in-repo rules:
//! a job whose name (on intersecting branches) or context clashes with a
//! central job of the repo is an error, and its `cluster` must be one
//! `in_repo_config.allowed_clusters` allows for the repo.
//!
//! Two choices Prow does not make: a repo holding both `.prow.yaml` and
//! `.prow/` is refused (Prow silently reads only the directory), and the
//! size is bounded (a file over 1 MB, or more than 100 files) because every
//! byte is read through the code host's API on an event's clock.
//!
//! Pure: the caller reads the files (the trigger through the `Scm` port at
//! the commit the version rule picks, the CLI from disk).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::load::{Loader, PresetSource};
use super::{Config, JobConfig, Postsubmit, Preset, Presubmit};
use crate::diagnostics::{Diagnostic, Diagnostics, Mark, Severity};
use crate::prowjob::DEFAULT_CLUSTER_ALIAS;
use crate::yaml::{self, Node, Path, Value};

/// The in-repo config file.
pub const PROW_YAML: &str = ".prow.yaml";
/// The in-repo config directory.
pub const PROW_DIR: &str = ".prow";
/// The largest in-repo config file read.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most files a `.prow/` directory may hold.
pub const MAX_FILES: usize = 100;
/// The annotation in-repo jobs carry: `<file(s)>@<commit>`, for the
/// dashboard and for anyone reading the job record.
pub const SOURCE_ANNOTATION: &str = "skiff.dev/in-repo-config";

/// Prow's `in_repo_config`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InRepoConfig {
    /// Whether in-repo config is enabled, by `org/repo`, `org` or `*`; the
    /// most specific key present wins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub enabled: BTreeMap<String, bool>,
    /// Clusters in-repo jobs may use, by `org/repo`, `org` or `*`; a cluster
    /// listed under any key that matches the repo is allowed. Without a `*`
    /// key, `*` allows the `default` cluster (as in Prow).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allowed_clusters: BTreeMap<String, Vec<String>>,
}

/// Prow's `keysForIdentifier`: `org/repo`, `org`, `*`, most specific first.
fn keys(repo: &str) -> Vec<&str> {
    let mut out = vec![repo];
    if let Some((org, _)) = repo.split_once('/') {
        out.push(org);
    }
    out.push("*");
    out
}

impl InRepoConfig {
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty() && self.allowed_clusters.is_empty()
    }

    /// Prow's `InRepoConfigEnabled`.
    pub fn enabled_for(&self, repo: &str) -> bool {
        keys(repo)
            .into_iter()
            .find_map(|k| self.enabled.get(k).copied())
            .unwrap_or(false)
    }

    /// Prow's `InRepoConfigAllowsCluster`.
    pub fn allows_cluster(&self, repo: &str, cluster: &str) -> bool {
        self.allowed_clusters_for(repo).iter().any(|c| c == cluster)
    }

    /// Every cluster allowed for `repo`, for messages.
    pub fn allowed_clusters_for(&self, repo: &str) -> Vec<String> {
        let mut out = Vec::new();
        for k in keys(repo) {
            match self.allowed_clusters.get(k) {
                Some(list) => out.extend(list.iter().cloned()),
                None if k == "*" => out.push(DEFAULT_CLUSTER_ALIAS.to_string()),
                None => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// One in-repo config file: its path in the repo and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFile {
    pub path: String,
    pub text: String,
}

/// Which files of a tree are in-repo config: `.prow.yaml`, or every
/// `*.yaml`/`*.yml` under `.prow/`, sorted (Prow walks the directory in
/// lexical order). A refusal says why.
pub fn select_paths<'a>(tree: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut file = false;
    let mut dir = Vec::new();
    for path in tree {
        if path == PROW_YAML {
            file = true;
        } else if let Some(rest) = path.strip_prefix(".prow/")
            && !rest.is_empty()
            && (path.ends_with(".yaml") || path.ends_with(".yml"))
        {
            dir.push(path.to_string());
        }
    }
    if file && !dir.is_empty() {
        return Err(format!(
            "the repository holds both {PROW_YAML} and a {PROW_DIR}/ directory of YAML files: keep one"
        ));
    }
    if dir.len() > MAX_FILES {
        return Err(format!(
            "{PROW_DIR}/ holds {} YAML files; at most {MAX_FILES} are read",
            dir.len()
        ));
    }
    dir.sort();
    Ok(if file {
        vec![PROW_YAML.to_string()]
    } else {
        dir
    })
}

/// Whether a pull request changing `files` changes its in-repo config, so
/// the config is read at its head rather than its base (Prow's
/// `ContainsInRepoConfigPath`).
pub fn touches_in_repo_config<S: AsRef<str>>(files: &[S]) -> bool {
    files.iter().any(|f| {
        let f = f.as_ref();
        f == PROW_YAML || f.starts_with(".prow/")
    })
}

/// A repo's in-repo jobs, defaulted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InRepoJobs {
    pub presubmits: Vec<Presubmit>,
    pub postsubmits: Vec<Postsubmit>,
    /// The files' own presets (already applied to their jobs).
    pub presets: Vec<Preset>,
}

impl InRepoJobs {
    pub fn is_empty(&self) -> bool {
        self.presubmits.is_empty() && self.postsubmits.is_empty()
    }

    /// Marks every job with where it came from (`.prow.yaml@<sha>`), an
    /// annotation copied onto its job records.
    pub fn mark_source(&mut self, files: &[RepoFile], sha: &str) {
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let value = format!("{}@{sha}", names.join(","));
        for j in &mut self.presubmits {
            j.base
                .annotations
                .insert(SOURCE_ANNOTATION.to_string(), value.clone());
        }
        for j in &mut self.postsubmits {
            j.base
                .annotations
                .insert(SOURCE_ANNOTATION.to_string(), value.clone());
        }
    }
}

/// What loading a repo's in-repo config found.
#[derive(Debug, Default)]
pub struct InRepoLoaded {
    /// Empty when there are errors: like Prow, a broken in-repo config
    /// contributes no jobs at all.
    pub jobs: InRepoJobs,
    /// Every problem, in the in-repo files only.
    pub diagnostics: Vec<Diagnostic>,
}

impl InRepoLoaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Where central presets are said to be in messages.
const CENTRAL: &str = "the central config";

/// Reads `files` (already chosen by [`select_paths`]) as `repo`'s in-repo
/// config against the central `config`: defaults, central and own presets,
/// validation of the jobs together with the repo's central jobs, and the
/// allowed clusters.
pub fn load(config: &Config, repo: &str, files: &[RepoFile]) -> InRepoLoaded {
    let mut l = Loader::new();
    if files.len() > MAX_FILES {
        l.diags.error(
            files[0].path.as_str(),
            Mark::default(),
            "",
            format!(
                "{} in-repo config files; at most {MAX_FILES} are read",
                files.len()
            ),
        );
        return finish(l, files, InRepoJobs::default());
    }
    l.config.prow = config.prow.clone();
    l.config.jobs.decorate_all_jobs = config.jobs.decorate_all_jobs;
    let central_file: Arc<str> = Arc::from(CENTRAL);
    for (index, preset) in config.jobs.presets.iter().enumerate() {
        l.presets.push(PresetSource {
            preset: preset.clone(),
            file: central_file.clone(),
            node: Node::default(),
            index,
        });
    }
    for f in files {
        read_file(&mut l, repo, f);
    }
    let own_presets = l.config.jobs.presets.clone();
    super::finalize::finalize(&mut l);
    let presubmits = l.config.jobs.presubmits.remove(repo).unwrap_or_default();
    let postsubmits = l.config.jobs.postsubmits.remove(repo).unwrap_or_default();
    clusters(&mut l.diags, config, repo, &presubmits, &postsubmits);
    // Prow validates the in-repo jobs together with the repo's central ones,
    // which is what makes a clash with a central job an error; the central
    // jobs come first so a clash is reported on the in-repo job.
    let central_pre = config
        .jobs
        .presubmits
        .get(repo)
        .cloned()
        .unwrap_or_default();
    let central_post = config
        .jobs
        .postsubmits
        .get(repo)
        .cloned()
        .unwrap_or_default();
    let (n_pre, n_post) = (central_pre.len(), central_post.len());
    l.config.jobs = JobConfig::default();
    l.config
        .jobs
        .presubmits
        .insert(repo.to_string(), [central_pre, presubmits].concat());
    l.config
        .jobs
        .postsubmits
        .insert(repo.to_string(), [central_post, postsubmits].concat());
    super::validate::validate(&mut l);
    let presubmits = l
        .config
        .jobs
        .presubmits
        .remove(repo)
        .map(|mut v| v.split_off(n_pre))
        .unwrap_or_default();
    let postsubmits = l
        .config
        .jobs
        .postsubmits
        .remove(repo)
        .map(|mut v| v.split_off(n_post))
        .unwrap_or_default();
    let jobs = InRepoJobs {
        presubmits,
        postsubmits,
        presets: own_presets,
    };
    finish(l, files, jobs)
}

/// Keeps the problems of the in-repo files (the central config's own were
/// reported when it loaded) and drops every job if any is an error.
fn finish(l: Loader, files: &[RepoFile], jobs: InRepoJobs) -> InRepoLoaded {
    let diagnostics: Vec<Diagnostic> = l
        .diags
        .into_sorted()
        .into_iter()
        .filter(|d| files.iter().any(|f| f.path == d.file))
        .collect();
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    InRepoLoaded {
        jobs: if failed { InRepoJobs::default() } else { jobs },
        diagnostics,
    }
}

fn clusters(
    diags: &mut Diagnostics,
    config: &Config,
    repo: &str,
    presubmits: &[Presubmit],
    postsubmits: &[Postsubmit],
) {
    let irc = &config.prow.in_repo_config;
    let jobs = presubmits
        .iter()
        .map(|j| (&j.base, &j.source))
        .chain(postsubmits.iter().map(|j| (&j.base, &j.source)));
    for (base, source) in jobs {
        if irc.allows_cluster(repo, &base.cluster) {
            continue;
        }
        diags.error(
            &source.file,
            source.outline.locate(&["cluster"]),
            format!("{}.cluster", source.path),
            format!(
                "cluster {:?} is not allowed for repository {repo:?} (in_repo_config.allowed_clusters allows {})",
                base.cluster,
                irc.allowed_clusters_for(repo).join(", ")
            ),
        );
    }
}

/// Top-level keys of an in-repo config file (Prow's `ProwYAML`).
const KEYS: &[&str] = &["presets", "presubmits", "postsubmits", "prow_ignored"];

fn read_file(l: &mut Loader, repo: &str, f: &RepoFile) {
    let file: Arc<str> = Arc::from(f.path.as_str());
    if f.text.len() > MAX_FILE_BYTES {
        l.diags.error(
            &file,
            Mark { line: 1, col: 1 },
            "",
            format!(
                "{} bytes: an in-repo config file may hold at most {MAX_FILE_BYTES} bytes (1 MB)",
                f.text.len()
            ),
        );
        return;
    }
    let doc = match yaml::parse(&f.text) {
        Ok(doc) => doc,
        Err(e) => {
            let msg = format!("YAML syntax error: {}", e.message);
            l.diags.error(&file, e.mark, "", msg);
            return;
        }
    };
    let root = doc.root;
    match &root.value {
        Value::Null => return,
        Value::Map(_) => {}
        _ => {
            let msg = format!(
                "expected a mapping at the top of the file, found {}",
                root.kind()
            );
            l.diags.error(&file, root.mark, "", msg);
            return;
        }
    }
    for e in root.entries() {
        match e.key.as_str() {
            "presets" => l.job_section(&file, e),
            key @ ("presubmits" | "postsubmits") => {
                l.expect_list(&file, e);
                let section = Path::Root(if key == "presubmits" {
                    "presubmits"
                } else {
                    "postsubmits"
                });
                for (i, node) in e.value.items().iter().enumerate() {
                    let path = Path::Index(&section, i);
                    if key == "presubmits" {
                        let jobs = l.jobs::<Presubmit>(&file, node, &path);
                        push(&mut l.config.jobs.presubmits, repo, jobs);
                    } else {
                        let jobs = l.jobs::<Postsubmit>(&file, node, &path);
                        push(&mut l.config.jobs.postsubmits, repo, jobs);
                    }
                }
            }
            "prow_ignored" => {}
            "periodics" => l.diags.error(
                &file,
                e.key_mark,
                "periodics",
                "periodics cannot be defined in-repo (as in Prow): put them in the central job config",
            ),
            _ => l.unknown_top_level(&file, e, KEYS, "in-repo config"),
        }
    }
}

fn push<T>(map: &mut BTreeMap<String, Vec<T>>, repo: &str, jobs: Vec<T>) {
    map.entry(repo.to_string()).or_default().extend(jobs);
}

/// The configuration one event of `repo` is planned with: the central
/// config's settings and this repo's central jobs, then its in-repo jobs.
/// Only `repo`'s jobs are carried over: an event never looks at another
/// repo's, and copying every job of a large deployment per event would cost
/// more than the planning.
pub fn merged(config: &Config, repo: &str, jobs: &InRepoJobs) -> Config {
    let mut out = Config {
        prow: config.prow.clone(),
        plugins: config.plugins.clone(),
        jobs: JobConfig {
            presets: config.jobs.presets.clone(),
            decorate_all_jobs: config.jobs.decorate_all_jobs,
            ..JobConfig::default()
        },
    };
    let pre = config
        .jobs
        .presubmits
        .get(repo)
        .cloned()
        .unwrap_or_default();
    let post = config
        .jobs
        .postsubmits
        .get(repo)
        .cloned()
        .unwrap_or_default();
    out.jobs
        .presubmits
        .insert(repo.to_string(), [pre, jobs.presubmits.clone()].concat());
    out.jobs
        .postsubmits
        .insert(repo.to_string(), [post, jobs.postsubmits.clone()].concat());
    out
}

#[cfg(test)]
#[path = "inrepo_tests.rs"]
mod tests;
