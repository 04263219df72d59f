//! Building `skiff dev`'s engine: the SQLite store and queues, the clusters,
//! the code host, Slack — the embedded twins of what the Lambdas' `main.rs`
//! files wire on AWS.

use super::*;

/// Builds the engine on the state dir's SQLite file and local processes.
pub async fn build(args: &Args) -> Result<Arc<Dev>, String> {
    build_with(args, None).await
}

/// As [`build`], with the code host given (the benchmark's in-memory one)
/// instead of GitHub or the logging no-SCM.
pub async fn build_with(args: &Args, scm: Option<Arc<dyn Scm>>) -> Result<Arc<Dev>, String> {
    let gangway = super::gangway::settings(args)?;
    super::metrics::install();
    let config_args = args.config_args();
    let (config, files) = crate::config_files::load_or_refuse(&config_args)?;
    let config = Arc::new(config);
    if args.config_path.is_none() {
        super::example::ensure_example_repo();
    }
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
    let reports = SqliteQueue::new(db.clone(), "reports", opts()).map_err(|e| e.to_string())?;
    let comments = SqliteQueue::new(db, "comments", opts()).map_err(|e| e.to_string())?;
    let clusters = build_clusters(&args.cluster, &config, || {
        Arc::new(ProcessCluster::new(
            args.state_dir.join("pods"),
            args.max_parallel,
            clock.clone(),
            Arc::new(FsLogStore::new(args.state_dir.join("logs"))),
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
    // Tide reads and merges through GitHub: without a token or an App it
    // has nothing to sync.
    let tide = github.is_some() && !config.prow.tide.queries.is_empty();
    if !config.prow.tide.queries.is_empty() && !tide {
        tracing::warn!(
            "tide has queries but no GitHub is configured (--github-token-file or the App flags): tide does not sync"
        );
    }
    let redelivery = redelivery_settings(&args.reporting, github.as_deref())?
        .zip(github.clone())
        .map(|(settings, gh)| (gh as Arc<dyn HookDeliveries>, settings));
    let secrets = load_secrets(args.hmac_secret_file.as_deref(), &args.state_dir)?;
    // A secret generated on first start is known to no sender, so only one
    // given on purpose opens `/eventbridge` to signed peers.
    let admission = match &args.hmac_secret_file {
        Some(_) => skiff_webhook::eventbridge::Admission::Signed(secrets.clone()),
        None => skiff_webhook::eventbridge::Admission::Loopback,
    };
    let codecommit = super::codecommit::connect(
        args.reporting.codecommit_endpoint_url.as_deref(),
        super::codecommit::served_region(|name| std::env::var(name).ok()),
    )
    .await?;
    let jenkins = skiff_jenkins::masters_from_files(&config)?;
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
        comments: Arc::new(comments),
        chat,
        codecommit,
        jenkins,
    };
    Ok(Arc::new(Dev {
        engine,
        sqlite,
        build_ids: Mutex::new(BuildIdGenerator::new()),
        webhook: {
            let mut webhook = skiff_webhook::WebhookConfig::new(secrets);
            if let Some(seconds) = args.reporting.claim_lease_seconds {
                webhook.claim_lease = Duration::from_secs(seconds);
            }
            webhook
        },
        eventbridge: skiff_webhook::eventbridge::EventBridgeConfig::new(admission),
        report_cursor: std::sync::atomic::AtomicI64::new(0),
        feed_states: Mutex::default(),
        redelivery,
        redelivery_every: interval(args.reporting.redelivery_seconds),
        tide,
        tide_nudge: std::sync::atomic::AtomicBool::new(false),
        health: super::metrics::DevHealth::new(&files, SystemClock.now()),
        gangway,
        deck: super::deck_auth::deck_setup(args)?,
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
