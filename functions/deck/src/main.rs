//! The deck as a Lambda behind a Function URL (or an HTTP API): wiring only
//! (see lib.rs). Read-only: job records from DynamoDB, logs, metadata and
//! artifacts from S3 (listed with ListObjectsV2, proxied through the
//! function, tail-capped or refused so an answer stays under Lambda's 6 MB
//! response limit), the config bundle for the command help, hidden repos
//! and highlight patterns.

use lambda_http::{Body, Request, Response, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::logs::S3LogStore;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::Clock;
use skiff_core::ports::SystemClock;
use skiff_deck::{DeckOptions, DeckRequest, Deps};

struct Deck {
    store: DynamoStore,
    logs: S3LogStore,
    config: S3ConfigSource,
    options: DeckOptions,
}

/// Lambda's response limit is 6 MB of JSON; a binary (gzip) body is
/// base64-encoded in it, and text is JSON-escaped.
const MAX_RESPONSE_BYTES: usize = 4_000_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    skiff_lambda::init_tracing();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let bucket = env.required("SKIFF_ARTIFACTS_BUCKET")?;
    let max_jobs = match env.optional("SKIFF_DECK_MAX_JOBS") {
        None => DeckOptions::default().max_jobs,
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            skiff_lambda::EnvError::Invalid {
                name: "SKIFF_DECK_MAX_JOBS".into(),
                value: v.clone(),
                why: "expected a whole number from 1".into(),
            }
        })?,
    };
    let sdk = skiff_lambda::sdk_config().await;
    let deck = Deck {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        logs: S3LogStore::new(client::s3(&sdk), bucket, String::new()),
        config: skiff_lambda::config_source(&env, &sdk)?,
        options: DeckOptions {
            max_jobs,
            max_response_bytes: Some(MAX_RESPONSE_BYTES),
            ..DeckOptions::default()
        },
    };
    let deck = &deck;
    lambda_http::run(service_fn(move |req| handle(deck, req))).await
}

async fn handle(deck: &Deck, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    // Without a config the list, job pages, logs and badges still work; the
    // command help says the config is missing.
    let config = match deck.config.current(SystemClock.now()).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the config bundle");
            None
        }
    };
    let deps = Deps {
        store: &deck.store,
        logs: &deck.logs,
        config: config.as_deref(),
        clock: &SystemClock,
        clusters: None,
        options: &deck.options,
    };
    // A panic answers this request 500 and the container serves the next
    // (skiff_core::panic); uncaught, Lambda would answer 502 without a cause.
    let resp = match skiff_core::panic::catch(skiff_deck::handle(&deck_request(&req), &deps)).await
    {
        Ok(resp) => resp,
        Err(panicked) => {
            tracing::error!(panic = %panicked.0, path = req.uri().path(), "the deck panicked");
            skiff_deck::DeckResponse {
                status: 500,
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                body: b"internal error (logged)".to_vec(),
            }
        }
    };
    let binary = resp.header("content-encoding").is_some();
    let mut out = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        out = out.header(k, v);
    }
    let body = if binary {
        Body::Binary(resp.body)
    } else {
        match String::from_utf8(resp.body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    Ok(out.body(body)?)
}

fn deck_request(req: &Request) -> DeckRequest {
    DeckRequest {
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
    }
}
