//! The sweeper as a Lambda on an EventBridge schedule (`rate(1 hour)`):
//! wiring only (see lib.rs).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::Clock;
use skiff_core::ports::SystemClock;
use skiff_lambda::clusters::Clusters;

skiff_lambda::global_allocator!();

struct Sweeper {
    store: DynamoStore,
    config: S3ConfigSource,
    clusters: Clusters,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let sdk = skiff_lambda::sdk_config().await;
    let sweeper = Sweeper {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        config: skiff_lambda::config_source(&env, &sdk)?,
        clusters: Clusters::new(sdk),
    };
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(move |event| handle(sweeper, event))).await
}

async fn handle(
    s: &Sweeper,
    _event: LambdaEvent<EventBridgeEvent>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let config = s.config.current(SystemClock.now()).await?;
    let clusters = s.clusters.get(&config);
    let deps = skiff_sweeper::Deps {
        store: &s.store,
        clusters: &clusters,
        config: &config,
        clock: &SystemClock,
    };
    let r = skiff_sweeper::sweep(&deps).await?;
    Ok(serde_json::json!({
        "records_deleted": r.records_deleted,
        "latest_periodics_kept": r.latest_periodics_kept,
        "pod_lists": r.pod_lists,
        "pods_deleted": r.pods_deleted,
        "orphans_deleted": r.orphans_deleted,
        "failures": r.failures,
    }))
}
