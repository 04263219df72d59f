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
    /// Default: a secret generated into the state dir on first start.
    #[arg(long)]
    pub hmac_secret_file: Option<PathBuf>,
    /// GitHub's API (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// A token to report to GitHub with; without one, reports are only logged.
    #[arg(long)]
    pub github_token_file: Option<PathBuf>,
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
    /// At most this many pods run at once (local processes).
    #[arg(long, default_value_t = 4)]
    pub max_parallel: usize,
    /// Where pods run: `local` (every job as local processes), `config`
    /// (as `skiff.clusters` says: `local` entries here, `kubeconfig`, `eks`
    /// and `in_cluster` ones through the Kubernetes API), or
    /// `kubeconfig:PATH[:CONTEXT]` (every job on that cluster).
    #[arg(long, default_value = "local")]
    pub cluster: ClusterChoice,
    #[command(flatten)]
    pub reporting: ReportingArgs,
}

/// GitHub App, Slack and webhook-redelivery settings.
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
    /// Slack webhooks, when configured.
    pub chat: Option<Arc<dyn skiff_core::ports::Chat>>,
}

/// Receives a batch, hands it to `handle`, and settles every message the way
/// SQS and a Lambda's partial batch response would.
pub async fn drive_queue<F, Fut>(queue: &dyn Queue, max: usize, handle: F) -> usize
where
    F: FnOnce(Vec<Message>) -> Fut,
    Fut: std::future::Future<Output = BatchOutcome>,
{
    let messages = match queue.receive(max).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "receive failed");
            return 0;
        }
    };
    if messages.is_empty() {
        return 0;
    }
    let n = messages.len();
    let sent: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.receipt.clone(), m.body.clone()))
        .collect();
    let outcome = handle(messages).await;
    let mut done = Vec::new();
    for (r, body) in sent {
        let later = outcome.retry_after.iter().find(|(x, _)| *x == r);
        if let Some((_, delay)) = later {
            // As the Lambda wiring does: a fresh delayed copy, so that
            // waiting (for a concurrency slot, for a rate limit) never counts
            // toward the dead-letter queue's receive limit.
            match queue
                .send_delayed(std::slice::from_ref(&body), *delay)
                .await
            {
                Ok(()) => done.push(r),
                Err(e) => {
                    tracing::warn!(error = %e, "re-sending a delayed copy failed; retrying later");
                    if let Err(e) = queue.retry_later(&r, *delay).await {
                        tracing::warn!(error = %e, "retry_later failed");
                    }
                }
            }
        } else if outcome.retry.contains(&r) {
            // Left alone: it comes back after the visibility timeout.
        } else {
            done.push(r);
        }
    }
    if let Err(e) = queue.ack(&done).await {
        tracing::warn!(error = %e, "ack failed");
    }
    n
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
    /// How far the reporter has read the change feed.
    pub report_cursor: std::sync::atomic::AtomicI64,
    /// GitHub's webhook deliveries and which hooks to sweep, when GitHub is
    /// configured.
    pub redelivery: Option<(Arc<dyn HookDeliveries>, skiff_redelivery::Settings)>,
    pub redelivery_every: Duration,
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

/// Builds the engine on the state dir's SQLite file and local processes.
pub async fn build(args: &Args) -> Result<Arc<Dev>, String> {
    build_with(args, None).await
}

/// As [`build`], with the code host given (the benchmark's in-memory one)
/// instead of GitHub or the logging no-SCM.
pub async fn build_with(args: &Args, scm: Option<Arc<dyn Scm>>) -> Result<Arc<Dev>, String> {
    let config_args = args.config_args();
    let read = crate::config_files::read(&config_args);
    let loaded = skiff_core::config::load(&read.files);
    let mut errors = 0;
    for d in read.problems.iter().chain(&loaded.diagnostics) {
        if d.severity == skiff_core::diagnostics::Severity::Error {
            errors += 1;
            eprintln!("{d}");
        }
    }
    if errors > 0 {
        return Err(format!(
            "the config has {errors} error(s); `skiff check-config` lists them all"
        ));
    }
    let config = Arc::new(loaded.config);
    std::fs::create_dir_all(&args.state_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.state_dir.display()))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = Db::open(args.state_dir.join("skiff.db")).map_err(|e| e.to_string())?;
    let sqlite = SqliteStore::new(db.clone(), clock.clone());
    let opts = || QueueOptions {
        clock: clock.clone(),
        ..QueueOptions::default()
    };
    let events = SqliteQueue::new(db.clone(), "events", opts()).map_err(|e| e.to_string())?;
    let dispatch = SqliteQueue::new(db.clone(), "dispatch", opts()).map_err(|e| e.to_string())?;
    let reports = SqliteQueue::new(db, "reports", opts()).map_err(|e| e.to_string())?;
    let clusters = build_clusters(&args.cluster, &config, || {
        Arc::new(ProcessCluster::new(
            args.state_dir.join("pods"),
            args.max_parallel,
            clock.clone(),
        ))
    })
    .await?;
    let github = connect_github(args, clock.clone()).await?;
    let scm: Arc<dyn Scm> = match (scm, &github) {
        (Some(scm), _) => scm,
        (None, Some(gh)) => gh.clone(),
        (None, None) => Arc::new(skiff_scm::NoScm::new(args.bot.clone())),
    };
    let chat: Option<Arc<dyn skiff_core::ports::Chat>> = match &args.reporting.slack_webhook_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let hooks = skiff_scm::SlackWebhooks::parse(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some(Arc::new(hooks))
        }
        None => None,
    };
    let redelivery = redelivery_settings(&args.reporting, github.as_deref())?
        .zip(github.clone())
        .map(|(settings, gh)| (gh as Arc<dyn HookDeliveries>, settings));
    let secrets = load_secrets(args.hmac_secret_file.as_deref(), &args.state_dir)?;
    let engine = Engine {
        config,
        regexes: Regexes::default(),
        store: Arc::new(sqlite.clone()),
        events: Arc::new(events),
        dispatch: Arc::new(dispatch),
        clusters,
        logs: Arc::new(FsLogStore::new(args.state_dir.join("logs"))),
        scm,
        clock,
        reports: Arc::new(reports),
        chat,
    };
    Ok(Arc::new(Dev {
        engine,
        sqlite,
        build_ids: Mutex::new(BuildIdGenerator::new()),
        webhook: skiff_webhook::WebhookConfig::new(secrets),
        report_cursor: std::sync::atomic::AtomicI64::new(0),
        redelivery,
        redelivery_every: interval(args.reporting.redelivery_seconds),
    }))
}

/// GitHub as `--github-app-id`/`--github-app-private-key-path` or
/// `--github-token-file` say; `None` without either.
async fn connect_github(
    args: &Args,
    clock: Arc<dyn Clock>,
) -> Result<Option<Arc<skiff_scm::GitHubScm>>, String> {
    let r = &args.reporting;
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let mut options = match (
        r.github_app_id,
        &r.github_app_private_key_path,
        &args.github_token_file,
    ) {
        (Some(id), Some(key), _) => {
            let mut o = skiff_scm::GitHubOptions::app(&args.github_api_url, id, read(key)?);
            // An App's bot is `<slug>[bot]`: asked of GitHub unless --bot names it.
            o.bot_login = (args.bot != DEFAULT_BOT).then(|| args.bot.clone());
            o
        }
        (Some(_), None, _) => {
            return Err("--github-app-id needs --github-app-private-key-path".into());
        }
        (None, Some(_), _) => {
            return Err("--github-app-private-key-path needs --github-app-id".into());
        }
        (None, None, Some(path)) => {
            let mut o = skiff_scm::GitHubOptions::new(&args.github_api_url, read(path)?.trim());
            o.bot_login = Some(args.bot.clone());
            o
        }
        (None, None, None) => return Ok(None),
    };
    options.clock = clock;
    let gh = skiff_scm::GitHubScm::connect(options)
        .await
        .map_err(|e| format!("GitHub at {}: {e}", args.github_api_url))?;
    Ok(Some(Arc::new(gh)))
}

/// The hooks to sweep: `--redelivery-hook`, else the App's own with an App.
fn redelivery_settings(
    r: &ReportingArgs,
    github: Option<&skiff_scm::GitHubScm>,
) -> Result<Option<skiff_redelivery::Settings>, String> {
    let mut hooks = r
        .redelivery_hooks
        .iter()
        .map(|h| Hook::parse(h).map_err(|e| format!("--redelivery-hook: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if hooks.is_empty() && github.is_some_and(|g| g.is_app()) {
        hooks.push(Hook::App);
    }
    Ok((!hooks.is_empty()).then(|| skiff_redelivery::Settings::new(hooks)))
}

/// The build clusters by name for `--cluster`. Every name a job may use
/// (`default` and each `skiff.clusters` entry) gets one, so no job of a
/// valid config finds its cluster missing.
async fn build_clusters(
    choice: &ClusterChoice,
    config: &Config,
    local: impl FnOnce() -> Arc<ProcessCluster>,
) -> Result<BTreeMap<String, Arc<dyn Cluster>>, String> {
    let names = std::iter::once(skiff_core::prowjob::DEFAULT_CLUSTER_ALIAS.to_string())
        .chain(config.prow.skiff.clusters.keys().cloned());
    let namespace = config.prow.pod_namespace();
    let one: Arc<dyn Cluster> = match choice {
        ClusterChoice::Local => local(),
        ClusterChoice::Kubeconfig { path, context } => {
            Arc::new(skiff_kube::KubeCluster::kubeconfig(
                "kubeconfig",
                path.clone(),
                context.as_deref(),
                namespace,
            ))
        }
        ClusterChoice::Config => {
            let configured = &config.prow.skiff.clusters;
            let needs_aws = configured.values().any(|c| c.eks.is_some());
            let sdk = if needs_aws {
                Some(skiff_aws::client::sdk_config().await)
            } else {
                None
            };
            let mut clusters =
                skiff_kube::clusters_from_config(configured, sdk.as_ref(), namespace)
                    .map_err(|e| e.to_string())?;
            // Local entries, and `default` when the config names no clusters.
            let local: Arc<dyn Cluster> = local();
            for name in names {
                clusters.entry(name).or_insert_with(|| local.clone());
            }
            return Ok(clusters);
        }
    };
    Ok(names.map(|n| (n, one.clone())).collect())
}

async fn serve(args: &Args) -> Result<(), String> {
    let dev = build(args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop) = watch::channel(false);
    let loops = spawn_loops(&dev, Timing::of(args), stop.clone());
    println!("skiff dev: http://{addr}/  (webhooks: POST http://{addr}/hook)");
    println!("state in {}", args.state_dir.display());
    let app = router(dev.clone());
    let mut stop_http = stop.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_http.wait_for(|s| *s).await;
    });
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping");
        let _ = stop_tx.send(true);
    });
    let result = server.await.map_err(|e| e.to_string());
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

/// Runs `step` every `every` until `stop` turns true; a step returning
/// `true` (it found work) runs again at once.
fn every<F, Fut>(
    name: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut step: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    tokio::spawn(async move {
        loop {
            if *stop.borrow() {
                break;
            }
            let busy = step().await;
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::debug!(loop_name = name, "stopped");
    })
}

/// How often each loop runs when it finds nothing to do.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub queues: Duration,
    pub tick: Duration,
    pub sync: Duration,
    pub report: Duration,
    pub sweep: Duration,
}

impl Timing {
    pub fn of(args: &Args) -> Timing {
        Timing {
            queues: Duration::from_millis(200),
            tick: interval(args.tick_seconds),
            sync: interval(args.sync_seconds),
            report: Duration::from_millis(500),
            sweep: interval(args.sweep_seconds),
        }
    }
}

pub fn spawn_loops(
    dev: &Arc<Dev>,
    timing: Timing,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut loops = Vec::new();
    let d = dev.clone();
    loops.push(every("trigger", timing.queues, stop.clone(), move || {
        let d = d.clone();
        async move { trigger_step(&d).await > 0 }
    }));
    let d = dev.clone();
    loops.push(every(
        "dispatcher",
        timing.queues,
        stop.clone(),
        move || {
            let d = d.clone();
            async move { dispatch_step(&d).await > 0 }
        },
    ));
    let d = dev.clone();
    loops.push(every("syncer", timing.sync, stop.clone(), move || {
        let d = d.clone();
        async move {
            sync_step(&d).await;
            false
        }
    }));
    let d = dev.clone();
    loops.push(every("reporter", timing.report, stop.clone(), move || {
        let d = d.clone();
        async move { report_step(&d).await > 0 }
    }));
    let d = dev.clone();
    loops.push(every(
        "report-retries",
        timing.report,
        stop.clone(),
        move || {
            let d = d.clone();
            async move { report_retry_step(&d).await > 0 }
        },
    ));
    if dev.redelivery.is_some() {
        let d = dev.clone();
        loops.push(every(
            "redelivery",
            dev.redelivery_every,
            stop.clone(),
            move || {
                let d = d.clone();
                async move {
                    redelivery_step(&d).await;
                    false
                }
            },
        ));
    }
    let d = dev.clone();
    let tick = timing.tick;
    let last_tick = Arc::new(Mutex::new(None));
    loops.push(every("scheduler", tick, stop.clone(), move || {
        let d = d.clone();
        let last_tick = last_tick.clone();
        async move {
            scheduler_step(&d, &last_tick, tick).await;
            false
        }
    }));
    let d = dev.clone();
    loops.push(every("sweeper", timing.sweep, stop, move || {
        let d = d.clone();
        async move {
            sweep_step(&d).await;
            false
        }
    }));
    loops
}

pub async fn trigger_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.events.as_ref(), 10, |messages| async move {
        let deps = skiff_trigger::TriggerDeps {
            config: &e.config,
            regexes: &e.regexes,
            store: e.store.as_ref(),
            dispatch: e.dispatch.as_ref(),
            scm: e.scm.as_ref(),
            // No CodeCommit here: its events are dropped, naming their region.
            codecommit: &[],
            clock: e.clock.as_ref(),
        };
        skiff_trigger::handle_batch(&messages, &deps).await
    })
    .await
}

pub async fn dispatch_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.dispatch.as_ref(), 10, |messages| async move {
        let deps = skiff_dispatcher::Deps {
            store: e.store.as_ref(),
            clusters: &e.clusters,
            config: &e.config,
            clock: e.clock.as_ref(),
            build_ids: &dev.build_ids,
        };
        skiff_dispatcher::handle_batch(&messages, &deps).await
    })
    .await
}

pub async fn sync_step(dev: &Dev) {
    let e = &dev.engine;
    let deps = skiff_syncer::Deps {
        store: e.store.as_ref(),
        queue: e.dispatch.as_ref(),
        clusters: &e.clusters,
        logs: e.logs.as_ref(),
        config: &e.config,
        clock: e.clock.as_ref(),
        build_ids: &dev.build_ids,
        redispatch_after: Duration::from_secs(60),
    };
    if let Err(err) = skiff_syncer::sync(&deps).await {
        tracing::warn!(error = %err, "sync failed");
    }
}

/// The reporter's ports in `skiff dev`.
fn reporter_deps(e: &Engine) -> skiff_reporter::ReporterDeps<'_> {
    skiff_reporter::ReporterDeps {
        config: &e.config,
        store: e.store.as_ref(),
        scm: e.scm.as_ref(),
        clock: e.clock.as_ref(),
        logs: Some(e.logs.as_ref()),
        codecommit: None,
        chat: e.chat.as_deref(),
        retries: Some(e.reports.as_ref()),
    }
}

/// Reports every record changed since the last step, in change order: the
/// stream the reporter Lambda reads on AWS. A report that cannot be sent now
/// waits on the `reports` queue ([`report_retry_step`]).
pub async fn report_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    let after = dev.report_cursor.load(std::sync::atomic::Ordering::SeqCst);
    let changes = match dev.sqlite.changes_since(after, 100).await {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(error = %err, "reading the change feed failed");
            return 0;
        }
    };
    let deps = reporter_deps(e);
    let sequences: Vec<String> = changes.iter().map(|(seq, _)| seq.to_string()).collect();
    let pairs: Vec<(&str, &skiff_core::prowjob::ProwJob)> = sequences
        .iter()
        .map(String::as_str)
        .zip(changes.iter().map(|(_, j)| j))
        .collect();
    let retry_from = skiff_reporter::report_changes(&pairs, &deps).await;
    // Everything before the change to retry is done.
    let done = match retry_from {
        None => changes.last().map_or(after, |(seq, _)| *seq),
        Some(from) => changes
            .iter()
            .take_while(|(seq, _)| seq.to_string() != from)
            .last()
            .map_or(after, |(seq, _)| *seq),
    };
    if done > after {
        dev.report_cursor
            .store(done, std::sync::atomic::Ordering::SeqCst);
        let _ = dev.sqlite.trim_changes(done).await;
    }
    changes.len()
}

/// Reports that waited on the `reports` queue, as the reporter Lambda takes
/// them from SQS.
pub async fn report_retry_step(dev: &Dev) -> usize {
    let e = &dev.engine;
    drive_queue(e.reports.as_ref(), 10, |messages| async move {
        skiff_reporter::handle_retries(&messages, &reporter_deps(e)).await
    })
    .await
}

/// One redelivery sweep of GitHub's webhook deliveries.
pub async fn redelivery_step(dev: &Dev) {
    let Some((github, settings)) = &dev.redelivery else {
        return;
    };
    let e = &dev.engine;
    let deps = skiff_redelivery::Deps {
        store: e.store.as_ref(),
        github: github.as_ref(),
        clock: e.clock.as_ref(),
        settings,
    };
    skiff_redelivery::sweep(&deps).await;
}

/// One scheduler tick covering the time since the previous one (at start:
/// one interval back, as the EventBridge schedule would have it).
pub async fn scheduler_step(dev: &Dev, last: &Mutex<Option<jiff::Timestamp>>, tick: Duration) {
    let e = &dev.engine;
    let now = e.clock.now();
    let previous = {
        let guard = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.unwrap_or_else(|| {
            now.checked_sub(jiff::SignedDuration::try_from(tick).unwrap_or_default())
                .unwrap_or(now)
        })
    };
    let deps = skiff_scheduler::Deps {
        store: e.store.as_ref(),
        queue: e.dispatch.as_ref(),
        config: &e.config,
    };
    match skiff_scheduler::tick(&deps, previous, now).await {
        Ok(report) => {
            if !report.created.is_empty() {
                tracing::info!(created = report.created.len(), "periodics started");
            }
            *last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        }
        Err(err) => tracing::warn!(error = %err, "scheduler tick failed"),
    }
}

pub async fn sweep_step(dev: &Dev) {
    let e = &dev.engine;
    let deps = skiff_sweeper::Deps {
        store: e.store.as_ref(),
        clusters: &e.clusters,
        config: &e.config,
        clock: e.clock.as_ref(),
    };
    if let Err(err) = skiff_sweeper::sweep(&deps).await {
        tracing::warn!(error = %err, "sweep failed");
    }
}

// ---------------------------------------------------------------------------
// HTTP

/// `POST /hook` is the webhook; every other path is the deck
/// (`skiff_deck::handle`, the same handler the `deck` Lambda runs).
pub fn router(dev: Arc<Dev>) -> Router {
    Router::new()
        .route("/hook", post(hook))
        .fallback(deck)
        .with_state(dev)
}

async fn hook(State(dev): State<Arc<Dev>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = skiff_webhook::WebhookRequest {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let e = &dev.engine;
    let deps = skiff_webhook::WebhookDeps {
        store: e.store.as_ref(),
        events: e.events.as_ref(),
        clock: e.clock.as_ref(),
        config: &dev.webhook,
    };
    let resp = skiff_webhook::handle(&req, &deps).await;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, resp.body).into_response()
}

async fn deck(
    State(dev): State<Arc<Dev>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = skiff_deck::DeckRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
    };
    let e = &dev.engine;
    let options = skiff_deck::DeckOptions::default();
    let deps = skiff_deck::Deps {
        store: e.store.as_ref(),
        logs: e.logs.as_ref(),
        config: Some(&e.config),
        clock: e.clock.as_ref(),
        clusters: Some(&e.clusters),
        options: &options,
    };
    let resp = skiff_deck::handle(&req, &deps).await;
    let mut out = Response::builder()
        .status(StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &resp.headers {
        out = out.header(k.as_str(), v.as_str());
    }
    out.body(axum::body::Body::from(resp.body))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job waiting for a concurrency slot is deferred again and again;
    /// none of that may count toward the dead-letter queue.
    #[tokio::test]
    async fn a_message_deferred_more_often_than_max_receives_is_never_dead_lettered() {
        use skiff_core::ports::{BatchOutcome, Queue};
        use skiff_local::memory::ManualClock;
        use skiff_local::queue::{QueueOptions, SqliteQueue};

        let dir = tempfile::tempdir().expect("a temporary directory");
        let clock = Arc::new(ManualClock::new(
            "2026-12-04T12:00:00Z".parse().expect("a time"),
        ));
        let queue = SqliteQueue::open(
            dir.path().join("q.db"),
            "dispatch",
            QueueOptions {
                max_receives: 2,
                clock: clock.clone(),
                ..QueueOptions::default()
            },
        )
        .expect("the queue");
        queue.send(&["job-1".to_string()]).await.expect("send");
        let delay = Duration::from_secs(10);
        for round in 0..5 {
            let seen = drive_queue(&queue, 10, |messages| async move {
                assert_eq!(messages.len(), 1, "round {round}");
                assert_eq!(messages[0].body, "job-1");
                assert_eq!(messages[0].receive_count, 1, "a fresh copy each time");
                BatchOutcome {
                    retry: vec![],
                    retry_after: vec![(messages[0].receipt.clone(), delay)],
                }
            })
            .await;
            assert_eq!(seen, 1, "round {round}");
            // Not visible before the delay.
            assert!(queue.receive(10).await.expect("receive").is_empty());
            clock.advance(delay + Duration::from_secs(1));
        }
        assert!(queue.dead_letters().await.expect("dead letters").is_empty());
        // Done at last: nothing comes back.
        drive_queue(&queue, 10, |_| async { BatchOutcome::default() }).await;
        clock.advance(Duration::from_secs(3600));
        assert!(queue.receive(10).await.expect("receive").is_empty());
    }

    #[test]
    fn cluster_choices_parse_with_a_context_only_when_one_is_given() {
        let kc = |path: &str, context: Option<&str>| ClusterChoice::Kubeconfig {
            path: PathBuf::from(path),
            context: context.map(String::from),
        };
        for (text, want) in [
            ("local", Ok(ClusterChoice::Local)),
            ("config", Ok(ClusterChoice::Config)),
            (
                "kubeconfig:/home/me/.kube/config",
                Ok(kc("/home/me/.kube/config", None)),
            ),
            (
                "kubeconfig:kind.yaml:kind-skiff",
                Ok(kc("kind.yaml", Some("kind-skiff"))),
            ),
            ("kubeconfig:C:/kube/config", Ok(kc("C:/kube/config", None))),
            ("kubeconfig:", Err(())),
            ("eks", Err(())),
        ] {
            let got = text.parse::<ClusterChoice>().map_err(|_| ());
            assert_eq!(got, want, "{text}");
        }
        let err = "k8s".parse::<ClusterChoice>().unwrap_err();
        assert!(err.contains("kubeconfig:PATH[:CONTEXT]"), "{err}");
    }
}
