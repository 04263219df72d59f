//! The deck as a Lambda behind a Function URL (or an HTTP API): wiring only
//! (see lib.rs). With the OAuth app and cookie secrets, people sign in with
//! GitHub and rerun and abort (records to DynamoDB, reruns to the dispatch
//! queue); otherwise read-only. It reads job records from DynamoDB, logs, metadata and
//! artifacts from S3 (listed with ListObjectsV2, proxied through the
//! function, tail-capped or refused so an answer stays under Lambda's 6 MB
//! response limit), the config bundle for the command help, hidden repos
//! and highlight patterns.

use lambda_http::{Body, Request, Response, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::logs::S3LogStore;
use skiff_aws::store::DynamoStore;
use std::sync::Arc;

use skiff_aws::queue::SqsQueue;
use skiff_aws::secrets::SecretsCache;
use skiff_core::ports::SystemClock;
use skiff_core::ports::{Clock, Queue};
use skiff_deck::{
    ConfigVersion, DeckOptions, DeckRequest, Deps, Health, Operator, SignIn, WatchedQueue,
};
use skiff_lambda::scm::ScmSource;
use skiff_scm::GitHubOAuthApp;

skiff_lambda::global_allocator!();

struct Deck {
    store: DynamoStore,
    logs: S3LogStore,
    config: S3ConfigSource,
    /// `s3://bucket/key` of the config bundle, for `/health`.
    config_origin: String,
    options: DeckOptions,
    /// Sign-in, rerun and abort, when configured.
    operator: Option<Operating>,
}

/// What rerun and abort need on AWS, for the life of the sandbox.
struct Operating {
    app: GitHubOAuthApp,
    cookie_key: Vec<u8>,
    dispatch: SqsQueue,
    scm: ScmSource,
}

/// With `SKIFF_DECK_OAUTH_CONFIG_SECRET_ID` and `SKIFF_DECK_COOKIE_SECRET_ID`
/// (the template sets both or neither): the OAuth app and the cookie key,
/// read once per sandbox. A secret that cannot be read leaves the deck
/// read-only, with the reason logged; the dashboard keeps serving.
async fn operating<F: Fn(&str) -> Option<String>>(
    env: &skiff_lambda::Env<F>,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Operating>, lambda_http::Error> {
    let (Some(oauth_id), Some(cookie_id)) = (
        env.optional("SKIFF_DECK_OAUTH_CONFIG_SECRET_ID"),
        env.optional("SKIFF_DECK_COOKIE_SECRET_ID"),
    ) else {
        return Ok(None);
    };
    let secrets = SecretsCache::new(client::secretsmanager(sdk));
    let read = async {
        let oauth = secrets.get(&oauth_id).await.map_err(|e| e.to_string())?;
        let key = secrets.get(&cookie_id).await.map_err(|e| e.to_string())?;
        let app = GitHubOAuthApp::from_config(
            oauth.expose(),
            "the deck's OAuth config secret",
            &env.or("SKIFF_GITHUB_WEB_URL", "https://github.com"),
            &env.or("SKIFF_GITHUB_API_URL", skiff_scm::GITHUB_API),
        )?;
        let cookie_key = key.expose().trim().as_bytes().to_vec();
        if cookie_key.len() < 16 {
            return Err("the deck's cookie secret is shorter than 16 bytes".to_string());
        }
        Ok::<_, String>((app, cookie_key))
    };
    match read.await {
        Ok((app, cookie_key)) => {
            tracing::info!("deck sign-in with GitHub: rerun and abort on");
            Ok(Some(Operating {
                app,
                cookie_key,
                dispatch: SqsQueue::new(
                    client::sqs(sdk),
                    env.required("SKIFF_DISPATCH_QUEUE_URL")?,
                ),
                scm: ScmSource::from_env(env, sdk)?,
            }))
        }
        Err(e) => {
            tracing::error!(error = %e, "deck sign-in is not available: read-only");
            Ok(None)
        }
    }
}

/// The queues `/health` shows, by the variables naming them (template.yaml
/// sets them; an unset one is not shown). SQS tells their depths
/// (GetQueueAttributes), not their oldest message's age.
const HEALTH_QUEUES: [(&str, &str); 9] = [
    ("events", "SKIFF_EVENTS_QUEUE_URL"),
    ("dispatch", "SKIFF_DISPATCH_QUEUE_URL"),
    ("reports", "SKIFF_REPORTS_QUEUE_URL"),
    ("comments", "SKIFF_COMMENTS_QUEUE_URL"),
    ("tide", "SKIFF_TIDE_QUEUE_URL"),
    ("events-dlq", "SKIFF_EVENTS_DLQ_URL"),
    ("dispatch-dlq", "SKIFF_DISPATCH_DLQ_URL"),
    ("reports-dlq", "SKIFF_REPORTS_DLQ_URL"),
    ("comments-dlq", "SKIFF_COMMENTS_DLQ_URL"),
];

/// Lambda's response limit is 6 MB of JSON; a binary (gzip) body is
/// base64-encoded in it, and text is JSON-escaped.
const MAX_RESPONSE_BYTES: usize = 4_000_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
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
    let health = Health {
        queues: HEALTH_QUEUES
            .iter()
            .filter_map(|(name, var)| {
                let url = env.optional(var)?;
                let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(client::sqs(&sdk), url));
                Some(WatchedQueue {
                    name: (*name).to_string(),
                    queue,
                })
            })
            .collect(),
        config: None,
    };
    let deck = Deck {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        logs: S3LogStore::new(client::s3(&sdk), bucket, String::new()),
        config: skiff_lambda::config_source(&env, &sdk)?,
        config_origin: format!(
            "s3://{}/{}",
            env.required("SKIFF_CONFIG_BUCKET")?,
            env.or("SKIFF_CONFIG_KEY", skiff_aws::config_source::DEFAULT_KEY)
        ),
        options: DeckOptions {
            max_jobs,
            max_response_bytes: Some(MAX_RESPONSE_BYTES),
            health,
            ..DeckOptions::default()
        },
        operator: operating(&env, &sdk).await?,
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
    // The GitHub client answers the rerun rules' org and team questions;
    // without it only `github_users` and `allow_anyone` rules can let in.
    let scm = match &deck.operator {
        Some(o) => match o.scm.get().await {
            Ok(scm) => Some(scm),
            Err(e) => {
                tracing::warn!(error = %e, "no GitHub client for the rerun rules");
                None
            }
        },
        None => None,
    };
    let operator = deck.operator.as_ref().map(|o| Operator {
        sign_in: SignIn::GitHub(&o.app),
        cookie_key: &o.cookie_key,
        // Function URLs are HTTPS.
        secure_cookies: true,
        scm: scm.as_deref(),
        dispatch: &o.dispatch,
    });
    let deps = Deps {
        store: &deck.store,
        logs: &deck.logs,
        config: config.as_deref(),
        clock: &SystemClock,
        clusters: None,
        options: &options_now(deck),
        operator: operator.as_ref(),
        viewer: None,
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

/// The options with the config bundle this container runs on now.
fn options_now(deck: &Deck) -> DeckOptions {
    let mut options = deck.options.clone();
    options.health.config = deck.config.loaded().map(|l| ConfigVersion {
        version: l.etag.unwrap_or_else(|| "unknown".into()),
        loaded_at: l.loaded_at,
        source: format!("{} (pushed {})", deck.config_origin, l.pushed_at),
    });
    options
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
        body: req.body().to_vec(),
    }
}
