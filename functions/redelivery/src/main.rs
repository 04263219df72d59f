//! The redelivery sweeper as a Lambda on an EventBridge schedule
//! (`rate(5 minutes)`): wiring only (see lib.rs).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::client;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::Hook;
use skiff_core::ports::SystemClock;
use skiff_lambda::EnvError;
use skiff_lambda::scm::{APP_ID_ENV, ScmSource};
use skiff_redelivery::{DEFAULT_LOOKBACK, DEFAULT_SETTLE, Settings};

skiff_lambda::global_allocator!();

struct Redelivery {
    store: DynamoStore,
    scm: ScmSource,
    settings: Settings,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    // Which webhooks: `app` (the default with App credentials), or
    // comma-separated `ORG/REPO:HOOK_ID` / `ORG:HOOK_ID`.
    let default_hooks = if env.optional(APP_ID_ENV).is_some() {
        "app"
    } else {
        ""
    };
    let hooks = env
        .or("SKIFF_REDELIVERY_HOOKS", default_hooks)
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            Hook::parse(h).map_err(|why| EnvError::Invalid {
                name: "SKIFF_REDELIVERY_HOOKS".into(),
                value: h.to_owned(),
                why,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut settings = Settings::new(hooks);
    settings.lookback = env.seconds("SKIFF_REDELIVERY_LOOKBACK_SECONDS", DEFAULT_LOOKBACK)?;
    settings.settle = env.seconds("SKIFF_REDELIVERY_SETTLE_SECONDS", DEFAULT_SETTLE)?;
    let sdk = skiff_lambda::sdk_config().await;
    let redelivery = Redelivery {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        scm: ScmSource::from_env(&env, &sdk)?,
        settings,
    };
    let redelivery = &redelivery;
    lambda_runtime::run(service_fn(move |event| handle(redelivery, event))).await
}

async fn handle(
    r: &Redelivery,
    _event: LambdaEvent<EventBridgeEvent>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    if r.settings.hooks.is_empty() {
        tracing::info!("no webhooks to sweep (SKIFF_REDELIVERY_HOOKS is empty, no GitHub App)");
        return Ok(serde_json::to_value(
            skiff_redelivery::SweepReport::default(),
        )?);
    }
    let Some(github) = r.scm.github().await? else {
        tracing::info!("no GitHub credentials: no webhook deliveries to sweep");
        return Ok(serde_json::to_value(
            skiff_redelivery::SweepReport::default(),
        )?);
    };
    let deps = skiff_redelivery::Deps {
        store: &r.store,
        github: github.as_ref(),
        clock: &SystemClock,
        settings: &r.settings,
    };
    let report = skiff_redelivery::sweep(&deps).await;
    Ok(serde_json::to_value(report)?)
}
