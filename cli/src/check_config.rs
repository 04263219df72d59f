//! `skiff check-config`: Prow's checkconfig, with every problem at once, each at
//! file:line:column with its field path.

use std::io::Write;
use std::process::ExitCode;

use skiff_core::config;
use skiff_core::diagnostics::Severity;

use crate::config_files::{self, ConfigArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Write the normalized, matrix-expanded config as JSON to stdout.
    #[arg(long)]
    pub print: bool,
    /// A repo's in-repo config to validate against the central config: its
    /// `.prow.yaml`, or its `.prow/` directory.
    #[arg(long, requires = "prow_yaml_repo_name")]
    pub prow_yaml: Option<std::path::PathBuf>,
    /// The `org/repo` the `--prow-yaml` file belongs to.
    #[arg(long, requires = "prow_yaml")]
    pub prow_yaml_repo_name: Option<String>,
}

pub fn run(args: &Args) -> ExitCode {
    let read = config_files::read(&args.config);
    // Never freed: the process exits right after, and freeing a
    // test-infra-sized config record by record was ~15% of the run.
    // A plain check keeps only what the checks read (see `config::Keep`);
    // `--print` writes the whole config and `--prow-yaml` merges into it.
    let keep = if args.print || args.prow_yaml.is_some() {
        config::Keep::Everything
    } else {
        config::Keep::WhatChecksRead
    };
    let loaded = std::mem::ManuallyDrop::new(config::load_keeping(&read.files, keep));
    let mut diagnostics = read.problems;
    diagnostics.extend(loaded.diagnostics.iter().cloned());
    let mut summary = loaded.summary();
    if let (Some(path), Some(repo)) = (&args.prow_yaml, &args.prow_yaml_repo_name) {
        match crate::inrepo::read(path) {
            Ok(files) => {
                let in_repo = config::inrepo::load(&loaded.config, repo, &files);
                diagnostics.extend(in_repo.diagnostics.iter().cloned());
                summary.push_str(&format!(
                    "; in-repo config of {repo}: {} presubmits, {} postsubmits",
                    in_repo.jobs.presubmits.len(),
                    in_repo.jobs.postsubmits.len()
                ));
                if let Some(note) = crate::inrepo::not_enabled(&loaded.config, repo) {
                    summary.push_str(&format!(" ({note})"));
                }
            }
            Err(e) => diagnostics.push(skiff_core::diagnostics::Diagnostic {
                severity: Severity::Error,
                file: path.display().to_string(),
                mark: skiff_core::diagnostics::Mark { line: 1, col: 1 },
                field: String::new(),
                message: e,
            }),
        }
    }

    let mut stderr = std::io::stderr().lock();
    let mut failed = false;
    for d in &diagnostics {
        let _ = writeln!(stderr, "{d}");
        failed |= d.severity == Severity::Error || (args.strict && d.severity == Severity::Warning);
    }
    if failed {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let _ = writeln!(
            stderr,
            "config is invalid: {errors} error{}{}; {summary}",
            if errors == 1 { "" } else { "s" },
            if args.strict {
                " (--strict: warnings count as errors)"
            } else {
                ""
            },
        );
        return ExitCode::FAILURE;
    }
    if args.print {
        match serde_json::to_string_pretty(&loaded.config) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                let _ = writeln!(stderr, "cannot write the config as JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
        let _ = writeln!(stderr, "{summary}");
    } else {
        println!("{summary}");
    }
    ExitCode::SUCCESS
}
