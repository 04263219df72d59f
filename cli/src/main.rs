//! The `skiff` command. Wiring only: each subcommand lives in its own module.

mod bench;
mod check_config;
mod config_files;
mod config_push;
mod cost;
mod dev;
mod inrepo;
mod one_shot_memory;
mod plan;
mod plan_plugins;
mod run;
mod yaml_out;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: loading a test-infra-sized config is mostly
/// small allocations, and glibc's malloc/free took ~40% of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Skiff: Prow's CI model as serverless functions.
#[derive(Parser, Debug)]
#[command(name = "skiff", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a Prow configuration: every error and warning, with file:line:column.
    CheckConfig(check_config::Args),
    /// Dry run: what an event or a scheduler tick would start, and why not.
    #[command(subcommand)]
    Plan(Box<plan::Command>),
    /// Run everything on this machine: webhook, scheduler, pods, reports, dashboard.
    Dev(Box<dev::Args>),
    /// Benchmarks of whole pipelines.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The control plane's monthly AWS bill for a job volume, offline, next to an always-on Prow.
    Cost(Box<cost::Args>),
    /// Start a job now through the gangway API (Prow's mkpj, but it starts the job).
    Run(Box<run::Args>),
    /// The deployed configuration: the validated bundle in S3.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check a Prow configuration like check-config and upload it to S3 as the bundle the functions load.
    Push(Box<config_push::Args>),
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Signed PR webhooks through the whole `skiff dev` pipeline to the last reported status.
    Pipeline(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::CheckConfig(_) | Command::Plan(_) | Command::Config(_)
    ) {
        one_shot_memory::lean();
    }
    match cli.command {
        Command::CheckConfig(args) => check_config::run(&args),
        Command::Plan(cmd) => plan::run(&cmd),
        Command::Dev(args) => dev::run(&args),
        Command::Bench(BenchCommand::Pipeline(args)) => bench::run(&args),
        Command::Config(ConfigCommand::Push(args)) => config_push::run(&args),
        Command::Cost(args) => cost::run(&args),
        Command::Run(args) => run::run(&args),
    }
}
