//! The scheduler as a Lambda on an EventBridge schedule (`rate(1 minute)`):
//! wiring only (see lib.rs).
//!
//! Each invocation covers the window `(scheduled − period, scheduled]`, taken
//! from the event's scheduled time rather than the moment it arrives, so the
//! windows of consecutive invocations tile without gaps or overlaps however
//! late each is delivered. A retried invocation covers the same window again,
//! which creates nothing new (runs are keyed by the run they follow).

use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::Clock;
use skiff_core::ports::SystemClock;
use skiff_lambda::schedule::scheduled_time;

skiff_lambda::global_allocator!();

struct Scheduler {
    store: DynamoStore,
    dispatch: SqsQueue,
    config: S3ConfigSource,
    period: Duration,
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
    let period = env.seconds("SKIFF_SCHEDULE_SECONDS", Duration::from_secs(60))?;
    let sdk = skiff_lambda::sdk_config().await;
    let scheduler = Scheduler {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        config: skiff_lambda::config_source(&env, &sdk)?,
        period,
    };
    let scheduler = &scheduler;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(scheduler, event))
    }))
    .await
}

async fn handle(
    s: &Scheduler,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let now = scheduled_time(&event.payload, SystemClock.now());
    let previous = now
        .checked_sub(jiff::SignedDuration::try_from(s.period)?)
        .unwrap_or(now);
    let config = s.config.current(SystemClock.now()).await?;
    let deps = skiff_scheduler::Deps {
        store: &s.store,
        queue: &s.dispatch,
        config: &config,
    };
    let report = skiff_scheduler::tick(&deps, previous, now).await?;
    Ok(serde_json::json!({
        "window": [previous.to_string(), now.to_string()],
        "created": report.created,
        "already_created": report.already_created,
        "not_due": report.not_due,
        "failures": report.failures,
    }))
}
