//! The reporter as a Lambda on the jobs table's stream, the `reports` queue
//! and the comments queue (the FIFO one; all with partial batch failures):
//! wiring only (see lib.rs).
//!
//! Stream changes are reported in order. A report that cannot be sent now
//! is put on the `reports` queue and the batch goes on; only when even that
//! fails does the batch stop at that record, so Lambda retries from it and no
//! later state of a job overtakes an earlier one on GitHub.

// The handler's future nests every sink's (GitHub, CodeCommit, Slack) and the
// SDK's; computing its layout goes deeper than the default 128.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::logs::S3LogStore;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::config::Config;
use skiff_core::panic::{isolate_batch, isolate_in_order};
use skiff_core::ports::{Chat, Clock, PortError, Scm, SystemClock};
use skiff_lambda::scm::{ChatSource, ScmSource};
use skiff_lambda::sqs;
use skiff_lambda::stream::{self, Change, ReporterEvent};
use skiff_reporter::ReporterDeps;
use skiff_scm::CodeCommitReports;

skiff_lambda::global_allocator!();

struct Reporter {
    store: DynamoStore,
    config: S3ConfigSource,
    scm: ScmSource,
    chat: ChatSource,
    logs: Option<S3LogStore>,
    codecommit: Option<CodeCommitReports>,
    reports: Option<SqsQueue>,
    /// Failure-comment updates, one pull request's at a time (FIFO).
    comments: SqsQueue,
    /// When this container last wrote GitHub's rate limits for the deck.
    rate_limits: skiff_reporter::RateLimitNotes,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    skiff_lambda::metrics::init();
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
        reports: env
            .optional("SKIFF_REPORTS_QUEUE_URL")
            .map(|url| SqsQueue::new(client::sqs(&sdk), url)),
        comments: SqsQueue::new(client::sqs(&sdk), env.required("SKIFF_COMMENTS_QUEUE_URL")?),
        rate_limits: skiff_reporter::RateLimitNotes::default(),
    };
    let reporter = &reporter;
    lambda_runtime::run(service_fn(move |event| {
        skiff_lambda::metrics::flushed(handle(reporter, event))
    }))
    .await
}

/// What changes between invocations: the config bundle and the clients
/// whose secrets may rotate.
struct Ready {
    config: Arc<Config>,
    scm: Arc<dyn Scm>,
    chat: Option<Arc<dyn Chat>>,
}

impl Ready {
    async fn load(r: &Reporter) -> Result<Ready, PortError> {
        Ok(Ready {
            config: r.config.current(SystemClock.now()).await?,
            scm: r.scm.get().await?,
            chat: r.chat.get().await?,
        })
    }

    fn deps<'a>(&'a self, r: &'a Reporter) -> ReporterDeps<'a> {
        ReporterDeps {
            config: &self.config,
            store: &r.store,
            scm: self.scm.as_ref(),
            clock: &SystemClock,
            logs: r.logs.as_ref().map(|l| l as _),
            codecommit: r.codecommit.as_ref().map(|c| c as _),
            chat: self.chat.as_deref(),
            reports: r.reports.as_ref().map(|q| q as _),
            comments: Some(&r.comments),
        }
    }
}

async fn handle(
    r: &Reporter,
    event: LambdaEvent<ReporterEvent>,
) -> Result<Value, lambda_runtime::Error> {
    let ready = Ready::load(r).await;
    let answer = report(r, &ready, event).await;
    if let Ok(ready) = &ready {
        let scm = ready.scm.as_ref();
        r.rate_limits.note(scm, &r.store, &SystemClock).await;
    }
    answer
}

async fn report(
    r: &Reporter,
    ready: &Result<Ready, PortError>,
    event: LambdaEvent<ReporterEvent>,
) -> Result<Value, lambda_runtime::Error> {
    match event.payload {
        ReporterEvent::Stream(batch) => {
            let changes = stream::changes(&batch);
            let response = match &ready {
                Ok(ready) => {
                    let jobs: Vec<skiff_reporter::Change<'_>> = changes
                        .iter()
                        .filter_map(|c| match c {
                            Change::Job {
                                sequence,
                                job,
                                new_state,
                            } => Some(skiff_reporter::Change::of(sequence, job, *new_state)),
                            Change::Skip { .. } => None,
                            Change::Unreadable { sequence, error } => {
                                tracing::warn!(
                                    sequence,
                                    error,
                                    "unreadable stream record; skipped"
                                );
                                None
                            }
                        })
                        .collect();
                    // A panic stops the batch at the record that causes it
                    // (skiff_core::panic), as any failure does.
                    let deps = &ready.deps(r);
                    let retry_from = isolate_in_order(
                        &jobs,
                        |c| c.sequence.to_string(),
                        |part| async move { skiff_reporter::report_changes(&part, deps).await },
                    )
                    .await;
                    stream::response(retry_from.as_deref())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start: the batch is retried");
                    stream::response(changes.first().map(Change::sequence))
                }
            };
            Ok(serde_json::to_value(response)?)
        }
        ReporterEvent::Queue(batch) if sqs::is_fifo(&batch) => {
            let messages = sqs::messages(&batch);
            let outcome = match &ready {
                Ok(ready) => {
                    let deps = &ready.deps(r);
                    isolate_batch(&messages, |batch| async move {
                        skiff_reporter::comments::handle_comments(&batch, deps).await
                    })
                    .await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start: every message is retried");
                    sqs::retry_all(&messages)
                }
            };
            let response = sqs::response_in_place(&batch, &outcome, &r.comments).await;
            Ok(serde_json::to_value(response)?)
        }
        ReporterEvent::Queue(batch) => {
            let queue = skiff_core::metrics::queue::REPORTS;
            skiff_lambda::metrics::queue_age(&batch, queue, SystemClock.now());
            let messages = sqs::messages(&batch);
            let outcome = match &ready {
                Ok(ready) => {
                    let deps = &ready.deps(r);
                    isolate_batch(&messages, |batch| async move {
                        skiff_reporter::handle_reports(&batch, deps).await
                    })
                    .await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start: every message is retried");
                    sqs::retry_all(&messages)
                }
            };
            let response = sqs::response(&batch, &outcome, r.reports.as_ref()).await;
            Ok(serde_json::to_value(response)?)
        }
    }
}
