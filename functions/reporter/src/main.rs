//! The reporter as a Lambda on the jobs table's stream (partial batch
//! failures): wiring only (see lib.rs).
//!
//! Changes are reported in stream order. A retryable failure stops the batch
//! there and names that record, so Lambda retries from it and no later state
//! of a job overtakes an earlier one on GitHub.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use lambda_runtime::{LambdaEvent, service_fn};
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::store::DynamoStore;
use skiff_aws::{SystemClock, client};
use skiff_core::ports::{Clock, PortError};
use skiff_lambda::scm::ScmSource;
use skiff_lambda::stream::{self, Change};

struct Reporter {
    store: DynamoStore,
    config: S3ConfigSource,
    scm: ScmSource,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    skiff_lambda::init_tracing();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let sdk = skiff_lambda::sdk_config().await;
    let reporter = Reporter {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        config: skiff_lambda::config_source(&env, &sdk)?,
        scm: ScmSource::from_env(&env, &sdk),
    };
    let reporter = &reporter;
    lambda_runtime::run(service_fn(move |event| handle(reporter, event))).await
}

async fn handle(
    r: &Reporter,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let changes = stream::changes(&event.payload);
    let ready = async {
        Ok::<_, PortError>((
            r.config.current(SystemClock.now()).await?,
            r.scm.get().await?,
        ))
    };
    let (config, scm) = match ready.await {
        Ok(ready) => ready,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start: the batch is retried");
            return Ok(stream::response(changes.first().map(Change::sequence)));
        }
    };
    let deps = skiff_reporter::ReporterDeps {
        config: &config,
        store: &r.store,
        scm: scm.as_ref(),
        clock: &SystemClock,
    };
    for change in &changes {
        match change {
            Change::Job { sequence, job } => match skiff_reporter::report(job, &deps).await {
                Ok(outcome) => tracing::debug!(?outcome, "reported"),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, job = %job.metadata.name, "report failed; retrying from here");
                    return Ok(stream::response(Some(sequence)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, job = %job.metadata.name, "report refused; dropped")
                }
            },
            Change::Skip { .. } => {}
            Change::Unreadable { sequence, error } => {
                tracing::warn!(sequence, error, "unreadable stream record; skipped")
            }
        }
    }
    Ok(stream::response(None))
}
