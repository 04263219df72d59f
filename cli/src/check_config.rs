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
}

pub fn run(args: &Args) -> ExitCode {
    let read = config_files::read(&args.config);
    let loaded = config::load(&read.files);
    let mut diagnostics = read.problems;
    diagnostics.extend(loaded.diagnostics.iter().cloned());

    let mut stderr = std::io::stderr().lock();
    let mut failed = false;
    for d in &diagnostics {
        let _ = writeln!(stderr, "{d}");
        failed |= d.severity == Severity::Error || (args.strict && d.severity == Severity::Warning);
    }
    let summary = loaded.summary();
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
