//! A stand-in for Lambda's Runtime API (`/2018-06-01/runtime/…`), so each
//! function binary runs exactly as on Lambda: it long-polls
//! `invocation/next`, handles the event, and posts `…/response` or
//! `…/error`. One [`Function`] is one warm container: a process kept across
//! invocations, as Lambda keeps it.
//!
//! It also records when the process asked for its first invocation, the
//! figure a cold start is made of (exec → first `next`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug)]
pub enum Invoked {
    /// The handler's answer (`…/response`), as JSON.
    Response(Value),
    /// The handler failed (`…/error`): Lambda's `{errorType, errorMessage}`.
    Error(Value),
}

impl Invoked {
    /// The answer, or a panic naming the error: for tests that expect success.
    pub fn ok(self) -> Value {
        match self {
            Invoked::Response(v) => v,
            Invoked::Error(e) => panic!("invocation failed: {e}"),
        }
    }
}

struct Pending {
    id: String,
    payload: Vec<u8>,
    deadline: Duration,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<Pending>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Invoked>>>,
    first_next: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Value>>,
    next_id: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The Runtime API of one function, on 127.0.0.1.
pub struct RuntimeApi {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API");
        let addr = listener.local_addr().expect("Runtime API address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi { addr, inner }
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the function: `host:port`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an invocation.
    pub fn first_next(&self) -> Option<Instant> {
        *lock(&self.inner.first_next)
    }

    /// What the function reported through `init/error`, if it did.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.inner.init_error).clone()
    }

    /// Hands `payload` to the function and waits for its answer.
    pub async fn invoke(&self, payload: &Value, timeout: Duration) -> Invoked {
        let id = {
            let mut n = lock(&self.inner.next_id);
            *n += 1;
            format!("req-{:08}", *n)
        };
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.waiting).insert(id.clone(), tx);
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + timeout;
        lock(&self.inner.queue).push_back(Pending {
            id: id.clone(),
            payload: serde_json::to_vec(payload).expect("payload serializes"),
            deadline,
        });
        self.inner.arrived.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(done)) => done,
            Ok(Err(_)) => panic!("invocation {id}: the Runtime API dropped it"),
            Err(_) => {
                lock(&self.inner.waiting).remove(&id);
                Invoked::Error(serde_json::json!({
                    "errorType": "Timeout",
                    "errorMessage": format!("no answer within {timeout:?}"),
                }))
            }
        }
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    lock(&inner.first_next).get_or_insert_with(Instant::now);
    loop {
        let notified = inner.arrived.notified();
        if let Some(p) = lock(&inner.queue).pop_front() {
            let mut headers = HeaderMap::new();
            let mut put = |k: &'static str, v: String| {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(k, v);
                }
            };
            put("lambda-runtime-aws-request-id", p.id.clone());
            put(
                "lambda-runtime-deadline-ms",
                p.deadline.as_millis().to_string(),
            );
            put(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:skiff-test".into(),
            );
            put(
                "lambda-runtime-trace-id",
                format!(
                    "Root=1-00000000-{:0>24};Sampled=0",
                    p.id.trim_start_matches("req-")
                ),
            );
            put("content-type", "application/json".into());
            return (StatusCode::OK, headers, p.payload).into_response();
        }
        notified.await;
    }
}

fn finish(inner: &Inner, id: &str, outcome: Invoked) -> Response {
    match lock(&inner.waiting).remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            (StatusCode::ACCEPTED, "{\"status\":\"OK\"}").into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "{\"errorMessage\":\"unknown request id\"}",
        )
            .into_response(),
    }
}

async fn response(
    State(inner): State<Arc<Inner>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&inner, &id, Invoked::Response(value))
}

async fn error(
    State(inner): State<Arc<Inner>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&inner, &id, Invoked::Error(value))
}

async fn init_error(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    *lock(&inner.init_error) = Some(value);
    (StatusCode::ACCEPTED, "{\"status\":\"OK\"}").into_response()
}

/// A function binary running against its own [`RuntimeApi`]: one warm
/// container. Dropping it kills the process.
pub struct Function {
    pub name: String,
    api: RuntimeApi,
    child: Child,
    started: Instant,
}

impl Function {
    /// Starts `binary` with `env` plus what Lambda sets for every function
    /// (`AWS_LAMBDA_RUNTIME_API`, the function's name, memory and version).
    /// Its log lines go to `log` (stdout and stderr, appended).
    pub async fn start(
        name: &str,
        binary: &Path,
        env: &[(String, String)],
        log: &Path,
    ) -> Function {
        let api = RuntimeApi::start().await;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the function's log");
        let err = out.try_clone().expect("clone the log handle");
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        Function {
            name: name.to_string(),
            api,
            child,
            started,
        }
    }

    /// Invokes the function (its default deadline: 60 s).
    pub async fn invoke(&self, payload: &Value) -> Invoked {
        self.api.invoke(payload, Duration::from_secs(60)).await
    }

    /// Time from exec to the first `next` request, once there was one.
    pub async fn cold_start(&self, wait: Duration) -> Option<Duration> {
        let until = Instant::now() + wait;
        loop {
            if let Some(t) = self.api.first_next() {
                return Some(t.duration_since(self.started));
            }
            if Instant::now() > until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn init_error(&self) -> Option<Value> {
        self.api.init_error()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
