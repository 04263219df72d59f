//! Reads Prow's configuration from disk the way Prow's checkconfig does:
//! `--config-path` (one file), `--job-config-path` (one file, or a directory
//! walked recursively for `*.yaml`/`*.yml`, honouring `.prowignore` files and
//! skipping Kubernetes' `..data` volume internals) and `--plugin-config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use skiff_core::config::{FileRole, SourceFile};
use skiff_core::diagnostics::{Diagnostic, Mark, Severity};

/// Prow's checkconfig flags, shared by every command that reads a config.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// Prow's config.yaml (it may hold jobs too).
    #[arg(long)]
    pub config_path: PathBuf,
    /// A job config file, or a directory walked for *.yaml / *.yml.
    #[arg(long)]
    pub job_config_path: Option<PathBuf>,
    /// Prow's plugins.yaml (trigger settings and plugin enablement).
    #[arg(long)]
    pub plugin_config: Option<PathBuf>,
}

/// The files to load, or the problems that stopped a file from being read.
pub struct ConfigFiles {
    pub files: Vec<SourceFile>,
    pub problems: Vec<Diagnostic>,
}

fn problem(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.display().to_string(),
        mark: Mark { line: 1, col: 1 },
        field: String::new(),
        message,
    }
}

pub fn read(args: &ConfigArgs) -> ConfigFiles {
    let mut out = ConfigFiles {
        files: Vec::new(),
        problems: Vec::new(),
    };
    out.one(&args.config_path, FileRole::ProwConfig);
    if let Some(jobs) = &args.job_config_path {
        if jobs.is_dir() {
            out.dir(jobs);
        } else {
            out.one(jobs, FileRole::JobConfig);
        }
    }
    if let Some(plugins) = &args.plugin_config {
        out.one(plugins, FileRole::PluginConfig);
    }
    out
}

impl ConfigFiles {
    fn one(&mut self, path: &Path, role: FileRole) {
        match std::fs::read_to_string(path) {
            Ok(text) => self.files.push(SourceFile {
                path: path.display().to_string(),
                text,
                role,
            }),
            Err(e) => self
                .problems
                .push(problem(path, format!("cannot read file: {e}"))),
        }
    }

    fn dir(&mut self, root: &Path) {
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .add_custom_ignore_filename(".prowignore")
            .filter_entry(|e| !e.file_name().to_string_lossy().starts_with(".."))
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        // Prow requires unique basenames: its config-updater keys ConfigMaps by them.
        let mut basenames: BTreeMap<String, PathBuf> = BTreeMap::new();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.problems
                        .push(problem(root, format!("cannot walk directory: {e}")));
                    continue;
                }
            };
            let path = entry.path();
            let is_yaml = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            );
            if !is_yaml || !path.is_file() {
                continue;
            }
            let base = entry.file_name().to_string_lossy().to_string();
            if let Some(first) = basenames.get(&base) {
                self.problems.push(problem(
                    path,
                    format!(
                        "duplicated basename is not allowed: {base} (also {})",
                        first.display()
                    ),
                ));
                continue;
            }
            basenames.insert(base, path.to_path_buf());
            self.one(path, FileRole::JobConfig);
        }
    }
}

/// Reads and loads the config for a command that runs on it: every error is
/// printed to stderr and the command refused (`skiff check-config` is the one
/// that reports warnings and notes too). The files come back too, for
/// what describes the config loaded.
pub fn load_or_refuse(
    args: &ConfigArgs,
) -> Result<(skiff_core::config::Config, Vec<SourceFile>), String> {
    let read = read(args);
    let loaded = skiff_core::config::load(&read.files);
    let mut errors = 0;
    for d in read.problems.iter().chain(&loaded.diagnostics) {
        if d.severity == Severity::Error {
            errors += 1;
            eprintln!("{d}");
        }
    }
    if errors > 0 {
        return Err(format!(
            "the config has {errors} error(s); `skiff check-config` lists them all"
        ));
    }
    Ok((loaded.config, read.files))
}
