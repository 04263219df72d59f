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
use skiff_core::ports::{BatchOutcome, Clock, Cluster, JobStore, LogStore, Message, Queue, Scm};

use crate::config_files::ConfigArgs;

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
    #[arg(long, default_value = "skiff-bot")]
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
    /// At most this many pods run at once.
    #[arg(long, default_value_t = 4)]
    pub max_parallel: usize,
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
            plugin_config: self
                .plugin_config
                .clone()
                .or_else(|| self.config_path.is_none().then(|| example.join("plugins.yaml"))),
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
    pub secrets: Vec<Vec<u8>>,
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
    let receipts: Vec<String> = messages.iter().map(|m| m.receipt.clone()).collect();
    let outcome = handle(messages).await;
    let mut done = Vec::new();
    for r in receipts {
        let later = outcome.retry_after.iter().find(|(x, _)| *x == r);
        if let Some((_, delay)) = later {
            if let Err(e) = queue.retry_later(&r, *delay).await {
                tracing::warn!(error = %e, "retry_later failed");
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
