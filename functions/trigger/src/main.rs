//! The trigger as a Lambda on the `events` queue (SQS, partial batch
//! failures): wiring only (see lib.rs).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::panic::isolate_batch;
use skiff_core::plan::matchers::Regexes;
use skiff_core::ports::SystemClock;
use skiff_core::ports::{Clock, HookForwarder, PortError};
use skiff_lambda::per_config::PerConfig;
use skiff_lambda::scm::ScmSource;
use skiff_lambda::sqs;
use skiff_scm::{CodeCommitScm, HttpForwarder};
use skiff_trigger::{CodeCommitRegion, TriggerDeps};

skiff_lambda::global_allocator!();

struct Trigger {
    store: DynamoStore,
    dispatch: SqsQueue,
    config: S3ConfigSource,
    regexes: PerConfig<Regexes>,
    scm: ScmSource,
    codecommit: Option<CodeCommitScm>,
    external: Option<HttpForwarder>,
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
    let sdk = skiff_lambda::sdk_config().await;
    let trigger = Trigger {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        config: skiff_lambda::config_source(&env, &sdk)?,
        regexes: PerConfig::default(),
        scm: ScmSource::from_env(&env, &sdk)?,
        codecommit: skiff_lambda::scm::codecommit_scm(&sdk),
        tide: skiff_lambda::tide::TideNudges::from_env(&env, &sdk),
        external: HttpForwarder::new()
            .inspect_err(|e| tracing::warn!(error = %e, "external plugins will not be reached"))
            .ok(),
    };
    let trigger = &trigger;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(trigger, event))
    }))
    .await
}

async fn handle(
    t: &Trigger,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let messages = sqs::messages(&event.payload);
    let queue = skiff_core::metrics::queue::EVENTS;
    skiff_lambda::metrics::queue_age(&event.payload, queue, SystemClock.now());
    let ready = async {
        Ok::<_, PortError>((
            t.config.current(SystemClock.now()).await?,
            t.scm.get().await?,
        ))
    };
    let outcome = match ready.await {
        Ok((config, scm)) => {
            let regexes = t.regexes.get(&config, |_| Regexes::default());
            let codecommit: Vec<CodeCommitRegion> = t
                .codecommit
                .iter()
                .map(|c| CodeCommitRegion {
                    region: c.region(),
                    scm: c,
                })
                .collect();
            let deps = TriggerDeps {
                config: &config,
                regexes: &regexes,
                store: &t.store,
                dispatch: &t.dispatch,
                scm: scm.as_ref(),
                codecommit: &codecommit,
                clock: &SystemClock,
                external: t.external.as_ref().map(|f| f as &dyn HookForwarder),
            };
            // A panic fails only the message that causes it (skiff_core::panic).
            let deps = &deps;
            let outcome = isolate_batch(&messages, |batch| async move {
                skiff_trigger::handle_batch(&batch, deps).await
            })
            .await;
            // A pull request's labels, head or reviews changed: its standing
            // in tide's pool may have.
            let standing_changed = messages.iter().any(|m| {
                serde_json::from_str::<skiff_core::messages::EventMessage>(&m.body)
                    .is_ok_and(|e| skiff_core::messages::TideNudge::follows_event(&e.event))
            });
            if standing_changed {
                t.tide.nudge(&config, "a pull request changed").await;
            }
            outcome
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start: every message is retried");
            sqs::retry_all(&messages)
        }
    };
    Ok(sqs::response(&event.payload, &outcome, None).await)
}
