//! Tide as a Lambda on an EventBridge schedule (`rate(1 minute)`, Prow's
//! `tide.sync_period` default) and on the `tide` queue, where the trigger
//! and the syncer nudge it when a pull request or a job changes (a batch of
//! nudges is one sync): wiring only (see lib.rs). The GitHub client
//! lives as long as the sandbox, and with it the ETags of its reads, so a
//! warm sandbox syncs an idle pool with conditional GETs GitHub answers 304
//! (free of rate limit).

use std::time::Duration;

use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::{Clock, SystemClock};
use skiff_lambda::per_config::PerConfig;
use skiff_lambda::scm::ScmSource;

skiff_lambda::global_allocator!();

struct Tide {
    store: DynamoStore,
    dispatch: SqsQueue,
    config: S3ConfigSource,
    regexes: PerConfig<Regexes>,
    scm: ScmSource,
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
    let sdk = skiff_lambda::sdk_config().await;
    let tide = Tide {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        config: skiff_lambda::config_source(&env, &sdk)?,
        regexes: PerConfig::default(),
        scm: ScmSource::from_env(&env, &sdk)?,
    };
    let tide = &tide;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(tide, event))
    }))
    .await
}

async fn handle(
    t: &Tide,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    // SQS hands over `Records`; the schedule an EventBridge event.
    let nudged = event.payload.get("Records").is_some();
    let queue = skiff_core::metrics::queue::TIDE;
    skiff_lambda::metrics::queue_age_json(&event.payload, queue, SystemClock.now());
    let config = t.config.current(SystemClock.now()).await?;
    let scm = t.scm.get().await?;
    let regexes = t.regexes.get(&config, |_| Regexes::default());
    let deps = skiff_tide::TideDeps {
        config: &config,
        store: &t.store,
        scm: scm.as_ref(),
        dispatch: &t.dispatch,
        clock: &SystemClock,
        regexes: &regexes,
        owner: &event.context.request_id,
        base_moved_pause: Duration::from_secs(4),
    };
    let report = skiff_tide::sync(&deps).await;
    let pools: Vec<serde_json::Value> = report
        .pools
        .iter()
        .map(|p| serde_json::json!({"pool": p.name(), "action": p.action, "merged": p.merged, "error": p.error}))
        .collect();
    // A pool that failed is synced again at the next tick; the invocation
    // fails only when nothing could be synced, so the failure shows in the
    // function's error metric.
    if report.pools.is_empty() && report.busy.is_empty() && !report.failures.is_empty() {
        return Err(report.failures.join("; ").into());
    }
    tracing::info!(nudged, pools = ?pools, busy = ?report.busy, failures = ?report.failures, "tide synced");
    if nudged {
        // Nudges are never retried: the schedule covers a failed sync.
        return Ok(serde_json::json!({"batchItemFailures": []}));
    }
    Ok(serde_json::json!({"pools": pools, "busy": report.busy, "failures": report.failures}))
}
