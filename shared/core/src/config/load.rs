//! Reading files into a [`Config`]: YAML, then each section and each job on its
//! own, so one bad job costs that job, not the file, and every problem is found in
//! one run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::jobs::{Periodic, Postsubmit, Preset, Presubmit, Source};
use super::matrix;
use super::pass::Keep;
use super::plugins::{self, OrgPlugins, Trigger};
use super::prow::{self, ProwConfig};
use super::{Config, FileRole, Loaded, SourceFile};
use crate::diagnostics::{Diagnostics, did_you_mean};
use crate::yaml::{self, Composite, Entry, Node, Outline, Path, UnknownKey, Value};

/// Top-level keys that hold jobs, in any config file.
const JOB_KEYS: &[&str] = &[
    "presets",
    "presubmits",
    "postsubmits",
    "periodics",
    "decorate_all_jobs",
    "prow_ignored",
];

/// A preset and where it was written (presets are checked after all files load).
pub(super) struct PresetSource {
    pub preset: Preset,
    pub file: Arc<str>,
    pub node: Node,
    pub index: usize,
}

pub(super) struct Loader {
    pub diags: Diagnostics,
    pub config: Config,
    pub presets: Vec<PresetSource>,
    /// Whether any file set `decorate_all_jobs` (the last one wins).
    decorate_all_jobs: Option<bool>,
}

/// Loads every file, then applies defaults and presets and validates.
pub fn load(files: &[SourceFile]) -> Loaded {
    load_keeping(files, Keep::Everything)
}

/// [`load`], keeping of each job only what [`Keep`] says: a command that
/// only checks the config needs a fraction of the memory.
pub fn load_keeping(files: &[SourceFile], keep: Keep) -> Loaded {
    let mut loader = Loader::new();
    // Job files are read on every core, then merged in file order, so the
    // result is the one reading them one by one gives.
    let parts = job_files(files);
    for (f, part) in files.iter().zip(parts) {
        match part {
            Some(part) => loader.absorb(part),
            None => loader.file(f),
        }
    }
    loader.config.jobs.decorate_all_jobs = loader.decorate_all_jobs.unwrap_or(false);
    super::pass::settle(&mut loader, keep);
    Loaded {
        config: loader.config,
        diagnostics: loader.diags.into_sorted(),
    }
}

/// Each job file read on its own [`Loader`], indexed like `files`; `None`
/// for the files that are not job configs (read in order by the caller).
/// A job file touches nothing another file wrote, so reading them apart
/// and merging in order is the same as reading them in turn.
fn job_files(files: &[SourceFile]) -> Vec<Option<Loader>> {
    super::cores::map(files.iter().collect(), |f: &SourceFile| {
        (f.role == FileRole::JobConfig).then(|| {
            let mut part = Loader::new();
            part.file(f);
            part
        })
    })
}

impl Loader {
    pub(super) fn new() -> Self {
        Loader {
            diags: Diagnostics::default(),
            config: Config::default(),
            presets: Vec::new(),
            decorate_all_jobs: None,
        }
    }

    /// Merges what one job file added, as if it had been read on `self`.
    fn absorb(&mut self, part: Loader) {
        self.diags.append(part.diags);
        let jobs = part.config.jobs;
        self.config.jobs.presets.extend(jobs.presets);
        for (repo, list) in jobs.presubmits {
            self.config
                .jobs
                .presubmits
                .entry(repo)
                .or_default()
                .extend(list);
        }
        for (repo, list) in jobs.postsubmits {
            self.config
                .jobs
                .postsubmits
                .entry(repo)
                .or_default()
                .extend(list);
        }
        self.config.jobs.periodics.extend(jobs.periodics);
        self.presets.extend(part.presets);
        if part.decorate_all_jobs.is_some() {
            self.decorate_all_jobs = part.decorate_all_jobs;
        }
    }

    fn file(&mut self, f: &SourceFile) {
        let file: Arc<str> = Arc::from(f.path.as_str());
        let doc = match yaml::parse(&f.text) {
            Ok(doc) => doc,
            Err(e) => {
                self.diags.error(
                    &file,
                    e.mark,
                    "",
                    format!("YAML syntax error: {}", e.message),
                );
                return;
            }
        };
        for (key, mark) in &doc.duplicate_keys {
            self.diags.warning(
                &file,
                *mark,
                key.as_str(),
                format!("duplicate key `{key}`: the later value wins (as in Prow), the earlier one is ignored"),
            );
        }
        let root = doc.root;
        match &root.value {
            Value::Null => return,
            Value::Map(_) => {}
            _ => {
                self.diags.error(
                    &file,
                    root.mark,
                    "",
                    format!(
                        "expected a mapping at the top of the file, found {}",
                        root.kind()
                    ),
                );
                return;
            }
        }
        match f.role {
            FileRole::ProwConfig => self.prow_config(&file, &root),
            FileRole::JobConfig => self.job_config(&file, &root),
            FileRole::PluginConfig => self.plugin_config(&file, &root),
        }
    }

    pub(super) fn unknown_top_level(
        &mut self,
        file: &str,
        e: &Entry,
        known: &[&'static str],
        what: &str,
    ) {
        let hint = did_you_mean(&e.key, known.iter().copied())
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_default();
        self.diags.warning(
            file,
            e.key_mark,
            e.key.as_str(),
            format!(
                "unknown {what} key `{}`{hint} (Prow ignores it silently)",
                e.key
            ),
        );
    }

    fn report_unknown(&mut self, file: &str, unknown: Vec<UnknownKey>) {
        for u in unknown {
            let field = if u.path.is_empty() {
                u.key.clone()
            } else {
                format!("{}.{}", u.path, u.key)
            };
            let hint = u
                .suggestion
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            self.diags.warning(
                file,
                u.mark,
                field,
                format!("unknown field `{}`{hint} (Prow ignores it silently)", u.key),
            );
        }
    }

    fn report_error(&mut self, file: &str, fallback: &Node, e: yaml::Error) {
        self.diags
            .error(file, e.mark.unwrap_or(fallback.mark), e.path, e.message);
    }

    /// Deserializes a whole node, reporting errors and unknown keys.
    fn typed<T: DeserializeOwned>(&mut self, file: &str, node: &Node, path: &Path) -> Option<T> {
        match yaml::from_node::<T>(node, path) {
            Ok((v, unknown)) => {
                self.report_unknown(file, unknown);
                Some(v)
            }
            Err(e) => {
                self.report_error(file, node, e);
                None
            }
        }
    }

    fn prow_config(&mut self, file: &Arc<str>, root: &Node) {
        let mut modelled = Vec::new();
        let mut all_known: Vec<&'static str> = Vec::new();
        all_known.extend_from_slice(JOB_KEYS);
        all_known.extend_from_slice(prow::MODELLED_KEYS);
        all_known.extend_from_slice(prow::UNUSED_PROW_KEYS);
        for e in root.entries() {
            let key = e.key.as_str();
            if JOB_KEYS.contains(&key) {
                self.job_section(file, e);
            } else if prow::MODELLED_KEYS.contains(&key) {
                modelled.push(e.clone());
            } else if prow::UNUSED_PROW_KEYS.contains(&key) {
                let message = if key == "gangway" {
                    "Prow's gangway clients (GCP projects) are accepted and ignored; Skiff's gangway API authorizes the IAM principals of skiff.gangway.allowed_callers"
                } else {
                    "a Prow setting Skiff does not use; accepted and ignored"
                };
                self.diags.note(file, e.key_mark, key, message);
            } else {
                self.unknown_top_level(file, e, &all_known, "config.yaml");
            }
        }
        let node = Node {
            value: Value::Map(modelled),
            mark: root.mark,
        };
        if let Some(prow) = self.typed::<ProwConfig>(file, &node, &Path::Root("")) {
            super::validate::prow_config(&mut self.diags, file, &node, &prow);
            self.config.prow = prow;
        }
    }

    fn job_config(&mut self, file: &Arc<str>, root: &Node) {
        for e in root.entries() {
            if JOB_KEYS.contains(&e.key.as_str()) {
                self.job_section(file, e);
            } else {
                self.unknown_top_level(file, e, JOB_KEYS, "job config");
            }
        }
    }

    fn plugin_config(&mut self, file: &Arc<str>, root: &Node) {
        let mut known: Vec<&'static str> = plugins::MODELLED_KEYS.to_vec();
        known.extend_from_slice(plugins::SECTION_KEYS);
        known.extend_from_slice(plugins::UNUSED_KEYS);
        // The review plugins' sections are read as one mapping, as
        // config.yaml's modelled sections are, then validated together.
        let mut sections = Vec::new();
        for e in root.entries() {
            let key = e.key.as_str();
            match key {
                "plugins" => self.plugins_section(file, e),
                _ if plugins::SECTION_KEYS.contains(&key) => sections.push(e.clone()),
                "triggers" => {
                    let path = Path::Root("triggers");
                    if let Some(t) = self.typed::<Vec<Trigger>>(file, &e.value, &path) {
                        self.config.plugins.triggers = t;
                    }
                }
                _ if plugins::UNUSED_KEYS.contains(&key) => self.diags.note(
                    file,
                    e.key_mark,
                    key,
                    "a plugin section Skiff does not use; accepted and ignored",
                ),
                _ => self.unknown_top_level(file, e, &known, "plugins.yaml"),
            }
        }
        let node = Node {
            value: Value::Map(sections),
            mark: root.mark,
        };
        let path = Path::Root("");
        if let Some(s) = self.typed::<plugins::Sections>(file, &node, &path) {
            self.config.plugins.sections = s;
        }
        super::validate::plugin_config(&mut self.diags, file, &node, root, &self.config.plugins);
    }

    /// `plugins:` in either of Prow's forms: `org: [trigger, …]` (old) or
    /// `org: {plugins: […], excluded_repos: […]}`.
    fn plugins_section(&mut self, file: &Arc<str>, e: &Entry) {
        let root = Path::Root("plugins");
        let mut out = BTreeMap::new();
        // Prow reads the whole map in the old form first and falls back to
        // the new one, so an entry in the other form fails the file there.
        let old_form = e
            .value
            .entries()
            .iter()
            .all(|org| matches!(org.value.value, Value::Seq(_)));
        for org in e.value.entries() {
            if !old_form && matches!(org.value.value, Value::Seq(_)) {
                self.diags.error(
                    file,
                    org.value.mark,
                    format!("plugins.{}", org.key),
                    format!(
                        "`{}` uses the old list form while other entries use `{{plugins: [...], excluded_repos: [...]}}`; Prow reads `plugins:` in one form only and rejects a mix: write `{}: {{plugins: [...]}}`",
                        org.key, org.key
                    ),
                );
                continue;
            }
            let path = Path::Key(&root, &org.key);
            let parsed = match &org.value.value {
                Value::Seq(_) => {
                    self.typed::<Vec<String>>(file, &org.value, &path)
                        .map(|plugins| OrgPlugins {
                            excluded_repos: Vec::new(),
                            plugins,
                        })
                }
                _ => self.typed::<OrgPlugins>(file, &org.value, &path),
            };
            if let Some(p) = parsed {
                out.insert(org.key.clone(), p);
            }
        }
        self.config.plugins.plugins = out;
    }

    pub(super) fn job_section(&mut self, file: &Arc<str>, e: &Entry) {
        match e.key.as_str() {
            "presets" => {
                for (i, node) in e.value.items().iter().enumerate() {
                    let root = Path::Root("presets");
                    let path = Path::Index(&root, i);
                    if let Some(preset) = self.typed::<Preset>(file, node, &path) {
                        self.config.jobs.presets.push(preset.clone());
                        self.presets.push(PresetSource {
                            preset,
                            file: file.clone(),
                            node: node.clone(),
                            index: i,
                        });
                    }
                }
                self.expect_list(file, e);
            }
            "presubmits" => self.repo_jobs(file, e, Self::presubmit),
            "postsubmits" => self.repo_jobs(file, e, Self::postsubmit),
            "periodics" => {
                self.expect_list(file, e);
                let root = Path::Root("periodics");
                for (i, node) in e.value.items().iter().enumerate() {
                    let path = Path::Index(&root, i);
                    let jobs = self.jobs::<Periodic>(file, node, &path);
                    self.config.jobs.periodics.extend(jobs);
                }
            }
            "decorate_all_jobs" => {
                let path = Path::Root("decorate_all_jobs");
                if let Some(b) = self.typed::<bool>(file, &e.value, &path) {
                    self.decorate_all_jobs = Some(b);
                }
            }
            _ => {} // prow_ignored: Prow's own escape hatch for YAML anchors.
        }
    }

    pub(super) fn expect_list(&mut self, file: &str, e: &Entry) {
        if !matches!(e.value.value, Value::Seq(_) | Value::Null) {
            self.diags.error(
                file,
                e.value.mark,
                e.key.as_str(),
                format!("expected a list of jobs, found {}", e.value.kind()),
            );
        }
    }

    /// Matrix expansion of one job entry; errors are reported and yield nothing.
    /// A job without a matrix is read where it is, not from a copy.
    fn expanded<'n>(
        &mut self,
        file: &str,
        node: &'n Node,
        path: &Path,
    ) -> Vec<(Cow<'n, Node>, Option<String>)> {
        if node.get("matrix").is_none() {
            return vec![(Cow::Borrowed(node), None)];
        }
        match matrix::expand(node) {
            Ok(list) => list
                .into_iter()
                .map(|x| (Cow::Owned(x.node), x.combination))
                .collect(),
            Err(e) => {
                self.diags
                    .error(file, e.mark, format!("{path}.{}", e.field), e.message);
                Vec::new()
            }
        }
    }

    /// `presubmits:`/`postsubmits:` — a mapping of `org/repo` to lists of jobs.
    fn repo_jobs(
        &mut self,
        file: &Arc<str>,
        e: &Entry,
        read: fn(&mut Self, &Arc<str>, &Node, &Path),
    ) {
        let section: &'static str = if e.key == "presubmits" {
            "presubmits"
        } else {
            "postsubmits"
        };
        if !matches!(e.value.value, Value::Map(_) | Value::Null) {
            self.diags.error(
                file,
                e.value.mark,
                section,
                format!(
                    "expected a mapping of org/repo to lists of jobs, found {}",
                    e.value.kind()
                ),
            );
            return;
        }
        let root = Path::Root(section);
        for repo in e.value.entries() {
            if !repo.key.contains('/') {
                self.diags.error(
                    file,
                    repo.key_mark,
                    format!("{section}.{}", repo.key),
                    format!(
                        "`{}` is not an org/repo: {section} are keyed by `org/repo`",
                        repo.key
                    ),
                );
                continue;
            }
            let repo_path = Path::Key(&root, &repo.key);
            if !matches!(repo.value.value, Value::Seq(_) | Value::Null) {
                self.diags.error(
                    file,
                    repo.value.mark,
                    repo_path.to_string(),
                    format!("expected a list of jobs, found {}", repo.value.kind()),
                );
                continue;
            }
            for (i, node) in repo.value.items().iter().enumerate() {
                let path = Path::Index(&repo_path, i);
                read(self, file, node, &path);
            }
        }
    }

    fn presubmit(&mut self, file: &Arc<str>, node: &Node, path: &Path) {
        let jobs = self.jobs::<Presubmit>(file, node, path);
        let repo = repo_of(path);
        self.config
            .jobs
            .presubmits
            .entry(repo)
            .or_default()
            .extend(jobs);
    }

    fn postsubmit(&mut self, file: &Arc<str>, node: &Node, path: &Path) {
        let jobs = self.jobs::<Postsubmit>(file, node, path);
        let repo = repo_of(path);
        self.config
            .jobs
            .postsubmits
            .entry(repo)
            .or_default()
            .extend(jobs);
    }

    /// One job entry: matrix-expanded, each expansion read part by part.
    pub(super) fn jobs<T: ConfigJob>(
        &mut self,
        file: &Arc<str>,
        node: &Node,
        path: &Path,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (node, combination) in self.expanded(file, node, path) {
            let mut c = Composite::new(&node, path);
            c.allow("matrix");
            match T::read(&mut c) {
                Ok(mut job) => {
                    let unknown = c.finish();
                    self.report_unknown(file, unknown);
                    job.set_source(Source {
                        file: file.clone(),
                        path: path.to_string(),
                        outline: Arc::new(Outline::of(&node)),
                        matrix: combination,
                    });
                    out.push(job);
                }
                Err(e) => self.report_error(file, &node, e),
            }
        }
        out
    }
}

/// A job type read from YAML the way Prow's Go structs embed their parts.
pub(super) trait ConfigJob: Sized {
    fn read(c: &mut Composite<'_, '_>) -> Result<Self, yaml::Error>;
    fn set_source(&mut self, source: Source);
}

impl ConfigJob for Presubmit {
    fn read(c: &mut Composite<'_, '_>) -> Result<Self, yaml::Error> {
        Ok(Presubmit {
            base: c.part()?,
            fields: c.part()?,
            brancher: c.part()?,
            changes: c.part()?,
            reporter: c.part()?,
            utility: c.part()?,
            source: Source::default(),
        })
    }
    fn set_source(&mut self, source: Source) {
        self.source = source;
    }
}

impl ConfigJob for Postsubmit {
    fn read(c: &mut Composite<'_, '_>) -> Result<Self, yaml::Error> {
        Ok(Postsubmit {
            base: c.part()?,
            fields: c.part()?,
            brancher: c.part()?,
            changes: c.part()?,
            reporter: c.part()?,
            utility: c.part()?,
            source: Source::default(),
        })
    }
    fn set_source(&mut self, source: Source) {
        self.source = source;
    }
}

impl ConfigJob for Periodic {
    fn read(c: &mut Composite<'_, '_>) -> Result<Self, yaml::Error> {
        Ok(Periodic {
            base: c.part()?,
            fields: c.part()?,
            utility: c.part()?,
            source: Source::default(),
        })
    }
    fn set_source(&mut self, source: Source) {
        self.source = source;
    }
}

/// `org/repo` from a path `presubmits.org/repo[i]`.
fn repo_of(path: &Path) -> String {
    match path {
        Path::Index(Path::Key(_, repo), _) => repo.to_string(),
        _ => String::new(),
    }
}
