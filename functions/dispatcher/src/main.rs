//! The dispatcher as a Lambda on the `dispatch` queue (SQS, partial batch
//! failures): wiring only (see lib.rs).
//!
//! A job waiting for a `max_concurrency` slot comes back as a delayed copy
//! of its message, not as a retry of the original: a wait is not a failure
//! and must not walk the message to the dead-letter queue.

use std::sync::{Arc, Mutex};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::queue::SqsQueue;
use skiff_aws::secrets::SecretsCache;
use skiff_aws::store::DynamoStore;
use skiff_core::panic::isolate_batch;
use skiff_core::ports::Clock;
use skiff_core::ports::SystemClock;
use skiff_core::prowjob::build_id::BuildIdGenerator;
use skiff_core::run::jenkins::JenkinsMasters;
use skiff_lambda::clusters::Clusters;
use skiff_lambda::per_config::PerConfig;
use skiff_lambda::sqs;

skiff_lambda::global_allocator!();

struct Dispatcher {
    store: DynamoStore,
    dispatch: SqsQueue,
    config: S3ConfigSource,
    clusters: Clusters,
    /// The Jenkins of each jenkins operator, tokens from `token_secret_arn`.
    jenkins: PerConfig<JenkinsMasters>,
    secrets: Arc<SecretsCache>,
    build_ids: Mutex<BuildIdGenerator>,
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
    let dispatcher = Dispatcher {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        config: skiff_lambda::config_source(&env, &sdk)?,
        secrets: Arc::new(SecretsCache::new(client::secretsmanager(&sdk))),
        jenkins: PerConfig::default(),
        clusters: Clusters::new(sdk),
        build_ids: skiff_lambda::build_ids(),
    };
    let dispatcher = &dispatcher;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(dispatcher, event))
    }))
    .await
}

async fn handle(
    d: &Dispatcher,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let messages = sqs::messages(&event.payload);
    let queue = skiff_core::metrics::queue::DISPATCH;
    skiff_lambda::metrics::queue_age(&event.payload, queue, SystemClock.now());
    let outcome = match d.config.current(SystemClock.now()).await {
        Ok(config) => {
            let clusters = d.clusters.get(&config);
            let jenkins = d
                .jenkins
                .get(&config, |c| skiff_jenkins::aws::masters(c, &d.secrets));
            let deps = skiff_dispatcher::Deps {
                store: &d.store,
                clusters: &clusters,
                config: &config,
                clock: &SystemClock,
                build_ids: &d.build_ids,
            };
            // A panic fails only the message that causes it (skiff_core::panic).
            let (deps, jenkins) = (&deps, jenkins.as_ref());
            isolate_batch(&messages, |batch| async move {
                skiff_dispatcher::handle_batch_with_jenkins(&batch, deps, jenkins).await
            })
            .await
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the config: every message is retried");
            sqs::retry_all(&messages)
        }
    };
    Ok(sqs::response(&event.payload, &outcome, Some(&d.dispatch)).await)
}
