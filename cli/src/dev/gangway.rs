//! `skiff dev`'s gangway: `/v1/executions` on the deck's listener, the same
//! handler the `gangway` Lambda runs (`skiff_gangway::handle`), over the
//! SQLite store and dispatch queue.
//!
//! On AWS, AWS verifies every caller (the Function URL's `AuthType:
//! AWS_IAM`) and `skiff.gangway.allowed_callers` decides what it may start.
//! Here there is no IAM: by default every gangway request is refused (403,
//! naming the flag); `--gangway-auth none` serves it without any check,
//! which `skiff dev` accepts only on a loopback `--listen`.

use skiff_gangway::{Caller, Deps, GangwayOptions, GangwayRequest};

use super::*;

/// `--gangway-auth`: who may use `/v1/executions`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GangwayAuth {
    /// As on AWS, IAM-verified callers only; `skiff dev` has no IAM, so
    /// every request is refused.
    #[default]
    AwsIam,
    /// No authentication: anyone who can reach the (loopback) listener may
    /// start any job.
    None,
}

/// The gangway's settings in `skiff dev`.
#[derive(Clone, Debug, Default)]
pub struct DevGangway {
    pub auth: GangwayAuth,
    /// `file://<state dir>/logs`, where the local cluster writes artifacts.
    pub artifacts_url: String,
}

const NO_IAM: &str = "skiff dev has no IAM to verify a gangway caller: start it with --gangway-auth none to serve /v1/executions to this machine without authentication";

/// The settings `args` ask for; refuses `--gangway-auth none` on an address
/// other machines can reach.
pub fn settings(args: &Args) -> Result<DevGangway, String> {
    if args.gangway_auth == GangwayAuth::None {
        if !args.listen.ip().is_loopback() {
            return Err(format!(
                "--gangway-auth none lets anyone who reaches --listen start any job; it needs a loopback --listen (127.0.0.1 or [::1]), not {}",
                args.listen
            ));
        }
        eprintln!(
            "WARNING: --gangway-auth none: /v1/executions on {} starts any job for anyone on this machine, without authentication",
            args.listen
        );
    }
    let logs = args.state_dir.join("logs");
    let logs = std::path::absolute(&logs).unwrap_or(logs);
    Ok(DevGangway {
        auth: args.gangway_auth,
        artifacts_url: format!("file://{}", logs.display()),
    })
}

/// `/v1/executions` and `/v1/executions/{id}`, any method (the handler
/// answers 405 for the ones it does not serve).
pub async fn executions(
    State(dev): State<Arc<Dev>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match dev.gangway.auth {
        GangwayAuth::None => Caller::Anyone,
        GangwayAuth::AwsIam => Caller::Refused(NO_IAM.into()),
    };
    let req = GangwayRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: super::http::header_pairs(&headers),
        body: body.to_vec(),
        caller,
    };
    let e = &dev.engine;
    // The deck is this listener, unless the config names another.
    let deck_url = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_default();
    let options = GangwayOptions {
        deck_url,
        artifacts_url: dev.gangway.artifacts_url.clone(),
        ..GangwayOptions::default()
    };
    let deps = Deps {
        store: e.store.as_ref(),
        dispatch: e.dispatch.as_ref(),
        clock: e.clock.as_ref(),
        config: Some(&e.config),
        options: &options,
    };
    let resp = skiff_gangway::handle(&req, &deps).await;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            skiff_gangway::GangwayResponse::CONTENT_TYPE,
        )],
        resp.body,
    )
        .into_response()
}
