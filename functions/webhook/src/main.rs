//! The webhook as a Lambda behind a Function URL: wiring only (see lib.rs).

use lambda_http::{Body, Request, Response, service_fn};
use skiff_aws::client;
use skiff_aws::queue::SqsQueue;
use skiff_aws::secrets::SecretsCache;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::SystemClock;
use skiff_webhook::{WebhookConfig, WebhookDeps, WebhookRequest, WebhookResponse};

skiff_lambda::global_allocator!();

struct Webhook {
    store: DynamoStore,
    events: SqsQueue,
    secrets: SecretsCache,
    secret_id: String,
    claim_lease: std::time::Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    skiff_lambda::metrics::init();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let events_url = env.required("SKIFF_EVENTS_QUEUE_URL")?;
    let secret_id = env.required("SKIFF_HMAC_SECRET_ID")?;
    // Tests shorten it; deployed, the template leaves the default (60 s).
    let claim_lease = env.seconds(
        "SKIFF_WEBHOOK_CLAIM_LEASE_SECONDS",
        skiff_core::keys::DELIVERY_CLAIM_LEASE,
    )?;
    let sdk = skiff_lambda::sdk_config().await;
    let webhook = Webhook {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        events: SqsQueue::new(client::sqs(&sdk), events_url),
        secrets: SecretsCache::new(client::secretsmanager(&sdk)),
        secret_id,
        claim_lease,
    };
    let webhook = &webhook;
    lambda_http::run(service_fn(move |req| {
        skiff_lambda::metrics::flushed(handle(webhook, req))
    }))
    .await
}

async fn handle(webhook: &Webhook, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let resp = match webhook.secrets.get(&webhook.secret_id).await {
        Ok(secret) => {
            let mut config = WebhookConfig::new(
                secret
                    .lines()
                    .iter()
                    .map(|s| s.expose().as_bytes().to_vec())
                    .collect(),
            );
            config.claim_lease = webhook.claim_lease;
            let deps = WebhookDeps {
                store: &webhook.store,
                events: &webhook.events,
                clock: &SystemClock,
                config: &config,
            };
            skiff_webhook::handle(&webhook_request(req), &deps).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the webhook secret");
            WebhookResponse {
                status: 503,
                body: "cannot read the webhook secret; try again".into(),
            }
        }
    };
    Ok(Response::builder()
        .status(resp.status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(resp.body))?)
}

fn webhook_request(req: Request) -> WebhookRequest {
    let (parts, body) = req.into_parts();
    WebhookRequest {
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    }
}
