//! `skiff config push`: check a Prow configuration exactly as `check-config`
//! does and, only if it is valid, upload it to S3 as the bundle the
//! functions load (see `skiff_aws::config_source`).

use std::io::Write;
use std::process::ExitCode;

use skiff_aws::config_source::{self, Bundle};
use skiff_core::config;
use skiff_core::diagnostics::Severity;

use crate::config_files::{self, ConfigArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The S3 bucket the functions read their config from.
    #[arg(long, required_unless_present = "dry_run")]
    pub bucket: Option<String>,
    /// The object key of the bundle.
    #[arg(long, default_value = config_source::DEFAULT_KEY)]
    pub key: String,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Print the bundle to stdout instead of uploading it.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let read = config_files::read(&args.config);
    let loaded = config::load(&read.files);
    let mut diagnostics = read.problems;
    diagnostics.extend(loaded.diagnostics.iter().cloned());

    let mut stderr = std::io::stderr().lock();
    let mut errors = 0;
    for d in &diagnostics {
        let _ = writeln!(stderr, "{d}");
        if d.severity == Severity::Error || (args.strict && d.severity == Severity::Warning) {
            errors += 1;
        }
    }
    let summary = loaded.summary();
    if errors > 0 {
        let _ = writeln!(
            stderr,
            "config is invalid, not pushed: {errors} problem{}; {summary}",
            if errors == 1 { "" } else { "s" },
        );
        return ExitCode::FAILURE;
    }

    let files = read.files.iter().map(|f| f.path.clone()).collect();
    let bytes = match Bundle::new(&loaded.config, files, jiff::Timestamp::now())
        .and_then(|b| b.to_json())
    {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(stderr, "cannot build the config bundle: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The bundle must load back as it will in the functions; a model that
    // does not round-trip is a Skiff bug, caught here rather than in production.
    if let Err(e) = Bundle::load(&bytes) {
        let _ = writeln!(stderr, "the bundle does not load back (a skiff bug): {e}");
        return ExitCode::FAILURE;
    }

    let bucket = match (&args.bucket, args.dry_run) {
        (_, true) | (None, _) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&bytes);
            let _ = writeln!(stdout);
            let _ = writeln!(stderr, "{summary}; dry run, not pushed");
            return ExitCode::SUCCESS;
        }
        (Some(bucket), false) => bucket,
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(stderr, "cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pushed = runtime.block_on(async {
        let sdk = skiff_aws::client::sdk_config().await;
        let client = config_source::s3_client(&sdk);
        config_source::push(&client, bucket, &args.key, bytes).await
    });
    match pushed {
        Ok(etag) => {
            println!("pushed s3://{bucket}/{} (ETag {etag}); {summary}", args.key);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(stderr, "push failed: {e}");
            ExitCode::FAILURE
        }
    }
}
