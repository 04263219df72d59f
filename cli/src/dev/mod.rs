//! `skiff dev`: every function in one process, on embedded adapters — SQLite for
//! records and queues, local processes for pods, files for logs — so a new user
//! sees Skiff work within a minute, and end-to-end tests drive the same code the
//! Lambdas run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use skiff_core::config::Config;
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{
    BatchOutcome, Clock, Cluster, Hook, HookDeliveries, JobStore, LogStore, Message, Queue, Scm,
};

use crate::config_files::ConfigArgs;

#[cfg(test)]
mod abuse;
mod build;
mod codecommit;
mod deck_auth;
mod example;
mod gangway;
mod http;
mod loops;
mod metrics;
#[cfg(test)]
mod panics;
pub mod server;

pub use build::{build, build_with};
pub use codecommit::CodeCommitDev;
pub use deck_auth::{DeckArgs, DeckSetup, DeckSignIn};
pub use http::router;
pub use loops::*;

/// `--bot`'s default.
pub const DEFAULT_BOT: &str = "skiff-bot";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Prow's config.yaml (default: the example in infra/example).
    #[arg(long)]
    pub config_path: Option<PathBuf>,
    /// A job config file or directory (default: infra/example/jobs).
    #[arg(long)]
    pub job_config_path: Option<PathBuf>,
    /// Prow's plugins.yaml (default: infra/example/plugins.yaml).
    #[arg(long)]
    pub plugin_config: Option<PathBuf>,
    /// Where the dashboard and the webhook listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Job records, queues, pods' work dirs and logs live here.
    #[arg(long, default_value = ".skiff")]
    pub state_dir: PathBuf,
    /// The webhook's HMAC secret (GitHub's "secret"); one per line for rotation.
    /// Default: a secret generated into the state dir on first start. Given,
    /// `/eventbridge` serves any peer whose request is signed with it
    /// (`X-Skiff-Signature-256`); without it, loopback peers only.
    #[arg(long)]
    pub hmac_secret_file: Option<PathBuf>,
    /// GitHub's API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// A token to report to GitHub with; without one, reports are only logged.
    #[arg(long)]
    pub github_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub deck: DeckArgs,
    /// The bot's login (its own comments and labels are not acted on).
    #[arg(long, default_value = DEFAULT_BOT)]
    pub bot: String,
    /// Seconds between scheduler ticks.
    #[arg(long, default_value_t = 10)]
    pub tick_seconds: u64,
    /// Seconds between syncer passes (pods → job states).
    #[arg(long, default_value_t = 2)]
    pub sync_seconds: u64,
    /// Seconds between sweeper passes.
    #[arg(long, default_value_t = 60)]
    pub sweep_seconds: u64,
    /// Seconds between tide syncs (Prow's `tide.sync_period`); a label
    /// change or a finished job starts one sooner.
    #[arg(long, default_value_t = 60)]
    pub tide_seconds: u64,
    /// At most this many pods run at once (local processes).
    #[arg(long, default_value_t = 4)]
    pub max_parallel: usize,
    /// Where pods run: `local` (every job as local processes), `config`
    /// (as `skiff.clusters` says: `local` entries here, `kubeconfig`, `eks`
    /// and `in_cluster` ones through the Kubernetes API), or
    /// `kubeconfig:PATH[:CONTEXT]` (every job on that cluster).
    #[arg(long, default_value = "local")]
    pub cluster: ClusterChoice,
    /// Who may use the gangway API (`/v1/executions`): `aws-iam` (as on
    /// AWS; `skiff dev` has no IAM, so every request is refused) or `none`
    /// (anyone who reaches the listener may start any job; loopback
    /// `--listen` only).
    #[arg(long, value_enum, default_value_t = gangway::GangwayAuth::AwsIam)]
    pub gangway_auth: gangway::GangwayAuth,
    #[command(flatten)]
    pub reporting: ReportingArgs,
}

/// GitHub App, CodeCommit, Slack and webhook-redelivery settings.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ReportingArgs {
    /// The GitHub App's id; with --github-app-private-key-path Skiff acts as
    /// the App (installation tokens per org, check runs) instead of with a
    /// token.
    #[arg(long)]
    pub github_app_id: Option<u64>,
    /// The GitHub App's private key (PEM).
    #[arg(long)]
    pub github_app_private_key_path: Option<PathBuf>,
    /// Slack incoming webhooks for `reporter_config.slack`: one `URL` (or
    /// `HOST=URL`) per line.
    #[arg(long)]
    pub slack_webhook_file: Option<PathBuf>,
    /// A webhook whose failed deliveries are redelivered: `app`,
    /// `ORG/REPO:HOOK_ID` or `ORG:HOOK_ID` (repeatable). Default with a
    /// GitHub App: `app`.
    #[arg(long = "redelivery-hook")]
    pub redelivery_hooks: Vec<String>,
    /// Seconds between redelivery sweeps.
    #[arg(long, default_value_t = 300)]
    pub redelivery_seconds: u64,
    /// CodeCommit's API (https://codecommit.REGION.amazonaws.com, or a fake):
    /// the trigger plans CodeCommit events and the reporter writes their
    /// results there, in AWS_REGION (else AWS_DEFAULT_REGION, else
    /// us-east-1) with the environment's AWS credentials. Without it, that
    /// region's events are planned from what they carry and results logged.
    #[arg(long)]
    pub codecommit_endpoint_url: Option<String>,
    /// Seconds the webhook's claim on a delivery holds off another attempt
    /// (default 60): a delivery whose attempt died is taken again after it.
    /// Tests shorten it rather than wait a minute.
    #[arg(long, hide = true)]
    pub claim_lease_seconds: Option<u64>,
}

/// `--cluster`: which build clusters `skiff dev` uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterChoice {
    Local,
    Config,
    Kubeconfig {
        path: PathBuf,
        context: Option<String>,
    },
}

impl std::str::FromStr for ClusterChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(ClusterChoice::Local),
            "config" => Ok(ClusterChoice::Config),
            _ => {
                let Some(rest) = s.strip_prefix("kubeconfig:").filter(|r| !r.is_empty()) else {
                    return Err(format!(
                        "{s:?}: expected `local`, `config` or `kubeconfig:PATH[:CONTEXT]`"
                    ));
                };
                // A context never holds a `/`; a path may hold a `:`.
                let (path, context) = match rest.rsplit_once(':') {
                    Some((path, context))
                        if !path.is_empty() && !context.is_empty() && !context.contains('/') =>
                    {
                        (path, Some(context.to_string()))
                    }
                    _ => (rest, None),
                };
                Ok(ClusterChoice::Kubeconfig {
                    path: PathBuf::from(path),
                    context,
                })
            }
        }
    }
}

impl Args {
    fn config_args(&self) -> ConfigArgs {
        let example = Path::new("infra/example");
        ConfigArgs {
            config_path: self
                .config_path
                .clone()
                .unwrap_or_else(|| example.join("config.yaml")),
            job_config_path: self
                .job_config_path
                .clone()
                .or_else(|| self.config_path.is_none().then(|| example.join("jobs"))),
            plugin_config: self.plugin_config.clone().or_else(|| {
                self.config_path
                    .is_none()
                    .then(|| example.join("plugins.yaml"))
            }),
        }
    }
}

/// Everything the loops and the HTTP server share.
pub struct Engine {
    pub config: Arc<Config>,
    pub regexes: Regexes,
    pub store: Arc<dyn JobStore>,
    pub events: Arc<dyn Queue>,
    pub dispatch: Arc<dyn Queue>,
    pub clusters: BTreeMap<String, Arc<dyn Cluster>>,
    pub logs: Arc<dyn LogStore>,
    pub scm: Arc<dyn Scm>,
    pub clock: Arc<dyn Clock>,
    /// Reports waiting to be tried again (the `reports` queue).
    pub reports: Arc<dyn Queue>,
    /// Failure-comment updates, taken by one loop so a pull request's
    /// comment is never edited by two at once (the comments queue).
    pub comments: Arc<dyn Queue>,
    /// Slack webhooks, when configured.
    pub chat: Option<Arc<dyn skiff_core::ports::Chat>>,
    /// CodeCommit in the region served.
    pub codecommit: CodeCommitDev,
    /// The Jenkins of each jenkins operator (`skiff.jenkins`, tokens from
    /// `token_file`), by its `label_selector`.
    pub jenkins: skiff_core::run::jenkins::JenkinsMasters,
}

/// Reads the HMAC secrets, one per line, or makes one on first start.
pub fn load_secrets(file: Option<&Path>, state_dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => {
            let p = state_dir.join("hmac-secret");
            if !p.exists() {
                use std::io::Read;
                let mut bytes = [0u8; 32];
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut bytes))
                    .map_err(|e| format!("cannot read /dev/urandom for a secret: {e}"))?;
                let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(&p, format!("{secret}\n"))
                    .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the HMAC secret file {}: {e}", path.display()))?;
    let secrets: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    if secrets.is_empty() {
        return Err(format!("{} holds no secret", path.display()));
    }
    Ok(secrets)
}

pub fn interval(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

// ---------------------------------------------------------------------------
// Running it

use std::process::ExitCode;
use std::sync::Mutex;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use skiff_core::ports::SystemClock;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_local::fs_logs::FsLogStore;
use skiff_local::process_cluster::ProcessCluster;
use skiff_local::queue::{QueueOptions, SqliteQueue};
use skiff_local::store::{Db, SqliteStore};
use tokio::sync::watch;

/// The engine plus what only `skiff dev` has: the SQLite store's change feed
/// (the reporter's stream) and the build id generator shared by dispatcher and
/// syncer.
pub struct Dev {
    pub engine: Engine,
    pub sqlite: SqliteStore,
    pub build_ids: Mutex<BuildIdGenerator>,
    pub webhook: skiff_webhook::WebhookConfig,
    /// `POST /eventbridge`: CodeCommit's events as EventBridge delivers them.
    pub eventbridge: skiff_webhook::eventbridge::EventBridgeConfig,
    /// How far the reporter has read the change feed.
    pub report_cursor: std::sync::atomic::AtomicI64,
    /// Each unfinished job's state at its last change the reporter read:
    /// the feed keeps no old image, and a change that left the state as it
    /// was reports nothing (`skiff_reporter::Change::new_state`).
    pub feed_states: Mutex<std::collections::HashMap<String, skiff_core::prowjob::ProwJobState>>,
    /// GitHub's webhook deliveries and which hooks to sweep, when GitHub is
    /// configured.
    pub redelivery: Option<(Arc<dyn HookDeliveries>, skiff_redelivery::Settings)>,
    pub redelivery_every: Duration,
    /// Tide syncs (it has queries and GitHub is configured).
    pub tide: bool,
    /// Something happened that can make a pull mergeable (an event was
    /// handled, a job record changed): tide syncs at its next look.
    pub tide_nudge: std::sync::atomic::AtomicBool,
    /// The config's version for `/health`, the rate-limit notes.
    pub health: metrics::DevHealth,
    /// `/v1/executions`: who may call, where artifacts are.
    pub gangway: gangway::DevGangway,
    /// The deck's sign-in, rerun and abort; `None`: read-only.
    pub deck: Option<DeckSetup>,
}

pub fn run(args: &Args) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SKIFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The multi-threaded runtime every engine command runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

async fn serve(args: &Args) -> Result<(), String> {
    let dev = build(args).await?;
    let listener = std::net::TcpListener::bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let loops = spawn_loops(&dev, Timing::of(args), stop.clone());
    println!("skiff dev: http://{addr}/  (webhooks: POST http://{addr}/hook)");
    let cc = &dev.engine.codecommit;
    println!(
        "CodeCommit events of {}: POST http://{addr}/eventbridge ({})",
        cc.region,
        match &cc.endpoint {
            Some(url) => format!("CodeCommit API at {url}"),
            None => "no --codecommit-endpoint-url: planned from the event, results logged".into(),
        }
    );
    println!("state in {}", args.state_dir.display());
    // `/eventbridge` serves by the peer's address, which the server gives
    // every request; the server sets the limits of dev/server.rs.
    let server = server::serve_apart(
        listener,
        router(dev.clone()),
        server::Limits::default(),
        stop.clone(),
    )?;
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping");
        let _ = stop_tx.send(true);
    });
    let result = server
        .await
        .unwrap_or_else(|_| Err("the HTTP server stopped".into()));
    signals.abort();
    for l in loops {
        let _ = l.await;
    }
    result
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
