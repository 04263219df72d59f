//! The reporter as a Lambda on the jobs table's stream and on the `reports`
//! queue (both with partial batch failures): wiring only (see lib.rs).
//!
//! Stream changes are reported in order. A report that cannot be sent now
//! is put on the `reports` queue and the batch goes on; only when even that
//! fails does the batch stop at that record, so Lambda retries from it and no
//! later state of a job overtakes an earlier one on GitHub.

// The handler's future nests every reporter's (GitHub, CodeCommit, Slack)
// and the SDK's; computing its layout goes deeper than the default 128.
#![recursion_limit = "256"]

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::sqs::SqsEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::logs::S3LogStore;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::config::Config;
use skiff_core::ports::SystemClock;
use skiff_core::ports::{Chat, Clock, PortError, Scm};
use skiff_lambda::scm::{ChatSource, ScmSource};
use skiff_lambda::sqs;
use skiff_lambda::stream::{self, Change};
use skiff_scm::CodeCommitReports;
use std::sync::Arc;

struct Reporter {
    store: DynamoStore,
    config: S3ConfigSource,
    scm: ScmSource,
    chat: ChatSource,
    logs: Option<S3LogStore>,
    codecommit: Option<CodeCommitReports>,
    retries: Option<SqsQueue>,
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
        scm: ScmSource::from_env(&env, &sdk)?,
        chat: ChatSource::from_env(&env, &sdk),
        logs: env
            .optional("SKIFF_ARTIFACTS_BUCKET")
            .map(|bucket| S3LogStore::new(client::s3(&sdk), bucket, String::new())),
        codecommit: skiff_lambda::scm::codecommit(&sdk),
        retries: env
            .optional("SKIFF_REPORTS_QUEUE_URL")
            .map(|url| SqsQueue::new(client::sqs(&sdk), url)),
    };
    let reporter = &reporter;
    lambda_runtime::run(service_fn(move |event| handle(reporter, event))).await
}

type Ready = (Arc<Config>, Arc<dyn Scm>, Option<Arc<dyn Chat>>);

async fn ready(r: &Reporter) -> Result<Ready, PortError> {
    Ok((
        r.config.current(SystemClock.now()).await?,
        r.scm.get().await?,
        r.chat.get().await?,
    ))
}

async fn handle(r: &Reporter, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let from_queue = event.payload["Records"][0]["eventSource"] == "aws:sqs";
    if from_queue {
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        return Ok(serde_json::to_value(retries(r, &batch).await)?);
    }
    let batch: Event = serde_json::from_value(event.payload)?;
    Ok(serde_json::to_value(changes(r, &batch).await)?)
}

async fn changes(r: &Reporter, event: &Event) -> DynamoDbEventResponse {
    let changes = stream::changes(event);
    let (config, scm, chat) = match ready(r).await {
        Ok(ready) => ready,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start: the batch is retried");
            return stream::response(changes.first().map(Change::sequence));
        }
    };
    let deps = skiff_reporter::ReporterDeps {
        config: &config,
        store: &r.store,
        scm: scm.as_ref(),
        clock: &SystemClock,
        logs: r.logs.as_ref().map(|l| l as _),
        codecommit: r.codecommit.as_ref().map(|c| c as _),
        chat: chat.as_deref(),
        retries: r.retries.as_ref().map(|q| q as _),
    };
    let jobs: Vec<(&str, &skiff_core::prowjob::ProwJob)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Job { sequence, job } => Some((sequence.as_str(), job.as_ref())),
            Change::Skip { .. } => None,
            Change::Unreadable { sequence, error } => {
                tracing::warn!(sequence, error, "unreadable stream record; skipped");
                None
            }
        })
        .collect();
    let retry_from = skiff_reporter::report_changes(&jobs, &deps).await;
    stream::response(retry_from.as_deref())
}

async fn retries(r: &Reporter, event: &SqsEvent) -> aws_lambda_events::sqs::SqsBatchResponse {
    let messages = sqs::messages(event);
    let outcome = match ready(r).await {
        Ok((config, scm, chat)) => {
            let deps = skiff_reporter::ReporterDeps {
                config: &config,
                store: &r.store,
                scm: scm.as_ref(),
                clock: &SystemClock,
                logs: r.logs.as_ref().map(|l| l as _),
                codecommit: r.codecommit.as_ref().map(|c| c as _),
                chat: chat.as_deref(),
                retries: r.retries.as_ref().map(|q| q as _),
            };
            skiff_reporter::handle_retries(&messages, &deps).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start: every message is retried");
            sqs::retry_all(&messages)
        }
    };
    sqs::response(event, &outcome, r.retries.as_ref()).await
}
