//! The gangway as a Lambda behind a Function URL with `AuthType: AWS_IAM`:
//! wiring only (see lib.rs). AWS checks the caller's SigV4 signature before
//! the function runs and passes the verified principal in the request
//! context (`requestContext.authorizer.iam.userArn`); a request without one
//! (the URL's auth type changed to NONE) is refused.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use skiff_aws::client;
use skiff_aws::config_source::S3ConfigSource;
use skiff_aws::queue::SqsQueue;
use skiff_aws::store::DynamoStore;
use skiff_core::ports::{Clock, SystemClock};
use skiff_gangway::{Caller, Deps, GangwayOptions, GangwayRequest, GangwayResponse};

skiff_lambda::global_allocator!();

struct Gangway {
    store: DynamoStore,
    dispatch: SqsQueue,
    config: S3ConfigSource,
    options: GangwayOptions,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // SAFETY: the first thing the process does; its runtime is current-thread.
    unsafe { skiff_lambda::tls_roots::use_the_ca_bundle_alone() };
    skiff_lambda::init_tracing();
    skiff_lambda::metrics::init();
    let env = skiff_lambda::Env::process();
    let table = env.required("SKIFF_TABLE")?;
    let dispatch_url = env.required("SKIFF_DISPATCH_QUEUE_URL")?;
    let artifacts_url = env
        .optional("SKIFF_ARTIFACTS_BUCKET")
        .map(|b| format!("s3://{b}"))
        .unwrap_or_default();
    let sdk = skiff_lambda::sdk_config().await;
    let gangway = Gangway {
        store: DynamoStore::new(client::dynamodb(&sdk), table),
        dispatch: SqsQueue::new(client::sqs(&sdk), dispatch_url),
        config: skiff_lambda::config_source(&env, &sdk)?,
        options: GangwayOptions {
            artifacts_url,
            ..GangwayOptions::default()
        },
    };
    let gangway = &gangway;
    lambda_http::run(service_fn(move |req| {
        skiff_lambda::metrics::flushed(handle(gangway, req))
    }))
    .await
}

async fn handle(gangway: &Gangway, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    // Without the config, executions can still be read; starting one says
    // the config is missing.
    let config = match gangway.config.current(SystemClock.now()).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the config bundle");
            None
        }
    };
    let deps = Deps {
        store: &gangway.store,
        dispatch: &gangway.dispatch,
        clock: &SystemClock,
        config: config.as_deref(),
        options: &gangway.options,
    };
    let request = gangway_request(req);
    let resp = match skiff_core::panic::catch(skiff_gangway::handle(&request, &deps)).await {
        Ok(resp) => resp,
        Err(panicked) => {
            tracing::error!(panic = %panicked.0, path = %request.path, "the gangway panicked");
            skiff_gangway::GangwayError::Internal("internal error (logged)".into()).into()
        }
    };
    Ok(answer(resp)?)
}

fn answer(resp: GangwayResponse) -> Result<Response<Body>, lambda_http::http::Error> {
    Response::builder()
        .status(resp.status)
        .header("content-type", GangwayResponse::CONTENT_TYPE)
        .body(Body::Text(resp.body))
}

/// The verified principal of a Function URL request (payload 2.0).
fn caller(req: &Request) -> Caller {
    let arn = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    match arn {
        Some(arn) if !arn.is_empty() => Caller::Iam(arn),
        _ => Caller::Refused(
            "no verified IAM caller: the gangway's Function URL must use AuthType AWS_IAM and requests must be signed with SigV4".into(),
        ),
    }
}

fn gangway_request(req: Request) -> GangwayRequest {
    let caller = caller(&req);
    let (parts, body) = req.into_parts();
    GangwayRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
        caller,
    }
}
