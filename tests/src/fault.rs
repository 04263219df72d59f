//! Fault injection on the AWS path: a proxy between the function binaries and
//! moto that fails the k-th AWS call of a scenario, every attempt of it.
//!
//! A call is one SDK operation: its attempts share the
//! `amz-sdk-invocation-id` header, so the SDK's own retries of the faulted
//! call fail too and the failure reaches Skiff's code — which is what is
//! under test (the SDK's retry loop is not). The faults:
//!
//! - [`Fault::ServerError`]: the call never reaches moto; AWS answers 500
//!   (`InternalServerError`, S3's `InternalError`);
//! - [`Fault::Throttle`]: the call never reaches moto; AWS answers that the
//!   caller is throttled (`ThrottlingException`, S3's 503 `SlowDown`);
//! - [`Fault::Timeout`]: the call reaches moto and takes effect, but its
//!   answer never comes back: the proxy answers 504 Gateway Timeout, as a
//!   load balancer does when the backend's answer does not arrive in time.
//!   The worst case for a writer: done, yet reported failed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::moto::operation;

/// What happens to the faulted call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    ServerError,
    Throttle,
    Timeout,
}

impl Fault {
    pub const ALL: [Fault; 3] = [Fault::ServerError, Fault::Throttle, Fault::Timeout];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ServerError => "500",
            Fault::Throttle => "throttle",
            Fault::Timeout => "timeout",
        }
    }
}

#[derive(Default)]
struct Plan {
    /// Every call since the last [`FaultProxy::arm`], by operation, in order.
    calls: Vec<String>,
    /// The call index (from 1) of each invocation id seen.
    by_invocation: HashMap<String, usize>,
    fault: Option<(usize, Fault)>,
    /// The operation the fault struck, and how many attempts of it.
    struck: Option<(String, usize)>,
}

/// The proxy; functions are pointed at [`FaultProxy::url`].
pub struct FaultProxy {
    addr: SocketAddr,
    plan: Arc<Mutex<Plan>>,
}

#[derive(Clone)]
struct ProxyState {
    target: String,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Body,
    >,
    plan: Arc<Mutex<Plan>>,
}

fn lock(plan: &Mutex<Plan>) -> std::sync::MutexGuard<'_, Plan> {
    plan.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// A proxy in front of `target` (moto's address) that passes everything
    /// until [`FaultProxy::arm`]ed.
    pub async fn start(target: &str) -> FaultProxy {
        let plan = Arc::new(Mutex::new(Plan::default()));
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let state = ProxyState {
            target: target.trim_end_matches('/').to_string(),
            client,
            plan: plan.clone(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("fault proxy address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy { addr, plan }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Counts calls from 1 again and fails the `k`-th with `fault`; `None`
    /// counts without failing anything (the fault-free run).
    pub fn arm(&self, fault: Option<(usize, Fault)>) {
        *lock(&self.plan) = Plan {
            fault,
            ..Plan::default()
        };
    }

    /// The calls made since [`FaultProxy::arm`], by operation, in order.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.plan).calls.clone()
    }

    /// The operation the fault struck and how many of its attempts, if the
    /// k-th call was made.
    pub fn struck(&self) -> Option<(String, usize)> {
        lock(&self.plan).struck.clone()
    }
}

/// AWS's answer for `fault` on operation `op` (`Service.Operation`).
fn injected(fault: Fault, op: &str) -> Response {
    let s3 = op.starts_with("S3.");
    let (status, code) = match fault {
        Fault::ServerError if s3 => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        Fault::Throttle if s3 => (StatusCode::SERVICE_UNAVAILABLE, "SlowDown"),
        Fault::Throttle => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        Fault::Timeout => {
            return (StatusCode::GATEWAY_TIMEOUT, "injected: the answer was lost").into_response();
        }
    };
    if s3 {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>"
        );
        return (status, [("content-type", "application/xml")], body).into_response();
    }
    let body = format!("{{\"__type\":\"{code}\",\"message\":\"injected\"}}");
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", code),
            ("x-amzn-query-error", &format!("{code};Sender")),
        ],
        body,
    )
        .into_response()
}

async fn forward(State(state): State<ProxyState>, req: Request) -> Response {
    let op = operation(&req);
    let invocation = req
        .headers()
        .get("amz-sdk-invocation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let strike = {
        let mut plan = lock(&state.plan);
        // A retried attempt is the same call as its first attempt.
        let index = match invocation.as_ref().and_then(|i| plan.by_invocation.get(i)) {
            Some(index) => *index,
            None => {
                plan.calls.push(op.clone());
                let index = plan.calls.len();
                if let Some(id) = invocation {
                    plan.by_invocation.insert(id, index);
                }
                index
            }
        };
        match plan.fault {
            Some((k, fault)) if k == index => {
                let attempts = plan.struck.as_ref().map_or(0, |(_, n)| *n);
                plan.struck = Some((op.clone(), attempts + 1));
                Some(fault)
            }
            _ => None,
        }
    };
    if let Some(fault @ (Fault::ServerError | Fault::Throttle)) = strike {
        return injected(fault, &op);
    }
    let answer = pass(&state, req).await;
    match strike {
        Some(Fault::Timeout) => injected(Fault::Timeout, &op),
        _ => answer,
    }
}

async fn pass(state: &ProxyState, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Ok(uri) = format!("{}{path}", state.target).parse() else {
        return (StatusCode::BAD_GATEWAY, "bad uri").into_response();
    };
    parts.uri = uri;
    let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
        return (StatusCode::BAD_GATEWAY, "unreadable body").into_response();
    };
    let outgoing = axum::http::Request::from_parts(parts, Body::from(bytes));
    match state.client.request(outgoing).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(b) => Response::from_parts(parts, Body::from(b.to_bytes())),
                Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
