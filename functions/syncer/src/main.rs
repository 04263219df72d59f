//! The syncer as a Lambda on an EventBridge schedule (`rate(1 minute)`):
//! wiring only (see lib.rs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::logs::S3LogStore;
use skiff_aws::queue::SqsQueue;
use skiff_aws::secrets::SecretsCache;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::Clock;
use skiff_core::ports::SystemClock;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::run::jenkins::JenkinsMasters;
use skiff_lambda::clusters::Clusters;
use skiff_lambda::per_config::PerConfig;

skiff_lambda::global_allocator!();

struct Syncer {
    store: DynamoStore,
    dispatch: SqsQueue,
    logs: S3LogStore,
    config: S3ConfigSource,
    clusters: Clusters,
    /// The Jenkins of each jenkins operator, tokens from `token_secret_arn`.
    jenkins: PerConfig<JenkinsMasters>,
    secrets: Arc<SecretsCache>,
    build_ids: Mutex<BuildIdGenerator>,
    redispatch_after: Duration,
    tide: skiff_lambda::tide::TideNudges,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    skiff_lambda::metrics::init();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let dispatch_url = env.required("SKIFF_DISPATCH_QUEUE_URL")?;
    let bucket = env.required("SKIFF_ARTIFACTS_BUCKET")?;
    let redispatch_after =
        env.seconds("SKIFF_REDISPATCH_AFTER_SECONDS", Duration::from_secs(60))?;
    let sdk = skiff_lambda::sdk_config().await;
    let syncer = Syncer {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        logs: S3LogStore::new(client::s3(&sdk), bucket, String::new()),
        config: skiff_lambda::config_source(&env, &sdk)?,
        secrets: Arc::new(SecretsCache::new(client::secretsmanager(&sdk))),
        jenkins: PerConfig::default(),
        clusters: Clusters::new(sdk.clone()),
        build_ids: skiff_lambda::build_ids(),
        redispatch_after,
        tide: skiff_lambda::tide::TideNudges::from_env(&env, &sdk),
    };
    let syncer = &syncer;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(syncer, event))
    }))
    .await
}

async fn handle(
    s: &Syncer,
    _event: LambdaEvent<EventBridgeEvent>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let config = s.config.current(SystemClock.now()).await?;
    let clusters = s.clusters.get(&config);
    let jenkins = s
        .jenkins
        .get(&config, |c| skiff_jenkins::aws::masters(c, &s.secrets));
    let deps = skiff_syncer::Deps {
        store: &s.store,
        queue: &s.dispatch,
        clusters: &clusters,
        logs: &s.logs,
        config: &config,
        clock: &SystemClock,
        build_ids: &s.build_ids,
        redispatch_after: s.redispatch_after,
    };
    let r = skiff_syncer::sync_with_jenkins(&deps, &jenkins).await?;
    // A finished job can make a pull request mergeable.
    if r.finished > 0 {
        s.tide.nudge(&config, "jobs finished").await;
    }
    Ok(serde_json::json!({
        "jobs": r.jobs,
        "store_lists": r.store_lists,
        "pod_lists": r.pod_lists,
        "writes": r.writes,
        "conflicts": r.conflicts,
        "pod_creates": r.pod_creates,
        "pod_deletes": r.pod_deletes,
        "log_puts": r.log_puts,
        "finished": r.finished,
        "superseded": r.superseded,
        "redispatched": r.redispatched,
        "jenkins_calls": r.jenkins_calls,
        "failures": r.failures,
    }))
}
