//! moto, the AWS emulator the end-to-end tests run against: its address, SDK
//! clients for it, the stack deployed from `template.yaml` itself (by
//! `infra/moto_stack.py`), and a proxy in front of it that counts the AWS
//! calls the functions make.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_smithy_http_client::tls;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::Value;

/// moto's address, exported by ./scripts/test. Unset is a failure, not a
/// skip: a green run must mean the functions ran against it.
pub fn endpoint() -> String {
    match std::env::var("SKIFF_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "SKIFF_MOTO_ENDPOINT is not set: the end-to-end tests need moto_server. \
             Run ./scripts/test (it starts moto), or start `moto_server -H 127.0.0.1 -p PORT` \
             and export SKIFF_MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// The SDK configuration the test harness uses (not the functions: they
/// read theirs from the environment, as on Lambda): static dummy credentials,
/// us-east-1, no retries so an error surfaces at once.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::v2026_01_12())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// The environment a function gets to reach `endpoint` with dummy
/// credentials, as Lambda would give it its role's.
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing-session"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python that has moto's libraries and aws-sam-translator: the test
/// venv ./scripts/test installs, or `SKIFF_PYTHON`.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SKIFF_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".test-tools/venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `template.yaml` deployed into moto: what `infra/moto_stack.py` printed.
#[derive(Clone, Debug)]
pub struct Stack {
    pub json: Value,
}

impl Stack {
    /// Deploys a fresh stack named `name` with `parameters`.
    pub fn deploy(endpoint: &str, name: &str, parameters: &[(&str, &str)]) -> Stack {
        let root = workspace_root();
        let mut cmd = Command::new(python());
        cmd.arg(root.join("infra/moto_stack.py"))
            .arg("--endpoint")
            .arg(endpoint)
            .arg("--stack-name")
            .arg(name)
            .arg("--template")
            .arg(root.join("template.yaml"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1");
        for (k, v) in parameters {
            cmd.arg("--parameter").arg(format!("{k}={v}"));
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run infra/moto_stack.py: {e}"));
        assert!(
            out.status.success(),
            "infra/moto_stack.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("infra/moto_stack.py printed no JSON: {e}"));
        Stack { json }
    }

    /// The environment template.yaml gives the function `logical` (e.g.
    /// `WebhookFunction`), with moto's physical names.
    pub fn function_env(&self, logical: &str) -> Vec<(String, String)> {
        self.json["functions"][logical]["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("no function {logical} in the stack"))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect()
    }

    pub fn queue_url(&self, logical: &str) -> String {
        self.queue(logical, "url")
    }

    pub fn queue_arn(&self, logical: &str) -> String {
        self.queue(logical, "arn")
    }

    fn queue(&self, logical: &str, field: &str) -> String {
        self.json["queues"][logical][field]
            .as_str()
            .unwrap_or_else(|| panic!("no queue {logical} ({field}) in the stack"))
            .to_string()
    }

    /// The `maxReceiveCount` of the queue's redrive policy.
    pub fn max_receive_count(&self, logical: &str) -> u32 {
        self.json["queues"][logical]["redrive_policy"]["maxReceiveCount"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or_else(|| panic!("queue {logical} has no redrive policy"))
    }

    pub fn stream_arn(&self) -> String {
        self.json["stream_arn"]
            .as_str()
            .expect("the stack's stream ARN")
            .to_string()
    }

    pub fn resource(&self, logical: &str) -> String {
        self.json["resources"][logical]
            .as_str()
            .unwrap_or_else(|| panic!("no resource {logical} in the stack"))
            .to_string()
    }

    /// The event source mapping feeding `function` (logical id), as the
    /// template declares it.
    pub fn event_source(&self, function: &str) -> Value {
        self.event_source_where(function, |_| true)
    }

    /// The function's mapping from a stream (it may also have queues).
    pub fn stream_source(&self, function: &str) -> Value {
        self.event_source_where(function, |m| !m["starting_position"].is_null())
    }

    /// The function's mapping from a queue (it may also have a stream).
    pub fn queue_source(&self, function: &str) -> Value {
        self.event_source_where(function, |m| m["starting_position"].is_null())
    }

    /// The function's mapping from the queue `queue` (a logical id), for a
    /// function fed by more than one queue.
    pub fn queue_source_of(&self, function: &str, queue: &str) -> Value {
        let arn = self.queue_arn(queue);
        self.event_source_where(function, |m| m["source_arn"] == arn.as_str())
    }

    fn event_source_where(&self, function: &str, pick: impl Fn(&Value) -> bool) -> Value {
        self.json["event_source_mappings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["function"] == function && pick(m))
            .cloned()
            .unwrap_or_else(|| panic!("no such event source mapping for {function}"))
    }
}

/// Counts of AWS operations, e.g. `DynamoDB.PutItem` → 3.
pub type Counts = BTreeMap<String, usize>;

/// A reverse proxy in front of moto that counts each AWS operation passing
/// through it. Functions are pointed at it; the harness talks to moto
/// directly, so the counts are the functions' alone.
pub struct CountingProxy {
    addr: SocketAddr,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Clone)]
struct ProxyState {
    target: String,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Body,
    >,
    counts: Arc<Mutex<Counts>>,
}

impl CountingProxy {
    pub async fn start(target: &str) -> CountingProxy {
        let counts = Arc::new(Mutex::new(Counts::new()));
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let state = ProxyState {
            target: target.trim_end_matches('/').to_string(),
            client,
            counts: counts.clone(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the counting proxy");
        let addr = listener.local_addr().expect("proxy address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingProxy { addr, counts }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counts so far, and zero them.
    pub fn take(&self) -> Counts {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// `Service.Operation` of an AWS request: the JSON protocols name it in
/// `X-Amz-Target` (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessageBatch`,
/// `secretsmanager.GetSecretValue`); S3 by method and path.
pub(crate) fn operation(req: &Request) -> String {
    if let Some(target) = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let (service, op) = target.split_once('.').unwrap_or(("?", target));
        let service = match service.split('_').next().unwrap_or(service) {
            "AmazonSQS" => "SQS",
            "secretsmanager" => "SecretsManager",
            other => other,
        };
        return format!("{service}.{op}");
    }
    let segments = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    let thing = if segments <= 1 { "Bucket" } else { "Object" };
    format!("S3.{} {thing}", req.method())
}

async fn forward(State(state): State<ProxyState>, req: Request) -> Response {
    let op = operation(&req);
    *state
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(op)
        .or_default() += 1;
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Ok(uri) = format!("{}{path}", state.target).parse() else {
        return (axum::http::StatusCode::BAD_GATEWAY, "bad uri").into_response();
    };
    parts.uri = uri;
    let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
        return (axum::http::StatusCode::BAD_GATEWAY, "unreadable body").into_response();
    };
    let outgoing = axum::http::Request::from_parts(parts, Body::from(bytes));
    match state.client.request(outgoing).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(b) => Response::from_parts(parts, Body::from(b.to_bytes())),
                Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
