//! Prow's configuration as Prow users write it: `config.yaml` (which may itself hold
//! jobs), a tree of job files, and `plugins.yaml`. [`load`] reads all of it, expands
//! job matrices, applies Prow's defaults and presets, and validates — collecting
//! every problem, each located by file, line, column and field path.
//!
//! Pure: the caller reads the files (see the CLI) and hands over their text.

mod cores;
mod finalize;
pub mod gangway;
pub mod inrepo;
pub mod inrepo_read;
pub mod jobs;
mod load;
pub mod matrix;
mod pass;
pub mod plugins;
pub mod prow;
pub mod rerun_auth;
pub mod tide;
mod validate;

use serde::{Deserialize, Serialize};

pub use jobs::{
    Brancher, JobBase, JobConfig, Periodic, PeriodicFields, Postsubmit, PostsubmitFields, Preset,
    Presubmit, PresubmitFields, RegexpChangeMatcher, Reporter, Retry, Source, UtilityConfig,
    default_rerun_command_for, default_trigger_for,
};
pub use load::{load, load_keeping};
pub use pass::Keep;
pub use plugins::{PluginConfig, Trigger};
pub use prow::ProwConfig;

use crate::diagnostics::{Diagnostic, Severity};

/// What a file is, which decides the keys it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRole {
    /// Prow's `config.yaml` (`--config-path`).
    ProwConfig,
    /// A job config file (`--job-config-path`).
    JobConfig,
    /// Prow's `plugins.yaml` (`--plugin-config`).
    PluginConfig,
}

/// One configuration file's path (as it should appear in messages) and text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    pub role: FileRole,
}

/// A whole deployment's configuration, defaults applied and matrices expanded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    #[serde(flatten)]
    pub prow: ProwConfig,
    #[serde(flatten)]
    pub jobs: JobConfig,
    #[serde(skip)]
    pub plugins: PluginConfig,
}

/// The result of loading: the config (possibly partial when there are errors)
/// and every problem found.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// `42 presubmits, 7 postsubmits, 18 periodics in 9 repos; 2 warnings`.
    pub fn summary(&self) -> String {
        let j = &self.config.jobs;
        let warnings = self.count(Severity::Warning);
        format!(
            "{} presubmits, {} postsubmits, {} periodics in {} repos; {} warning{}",
            j.presubmit_count(),
            j.postsubmit_count(),
            j.periodics.len(),
            j.repos().len(),
            warnings,
            if warnings == 1 { "" } else { "s" }
        )
    }
}
