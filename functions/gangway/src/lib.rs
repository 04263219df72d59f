//! Prow's gangway (its REST shape, `pkg/gangway/gangway.proto`): other
//! systems start jobs and follow them over HTTP. One handler over ports, a
//! plain async function from a [`GangwayRequest`] to a [`GangwayResponse`];
//! the `gangway` Lambda (a Function URL with `AuthType: AWS_IAM`) and
//! `skiff dev` (the same listener as the deck, `/v1/executions`) both call
//! [`handle`].
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/executions` | start a job: `job_name`, `job_execution_type` (`PERIODIC`, `POSTSUBMIT`, `PRESUBMIT`), `refs` (Prow's Refs; not for periodics), `pod_spec_options` (`envs`, `labels`, `annotations`) → the new `JobExecution` |
//! | `GET /v1/executions/{id}` | one execution (any job record, however it started) |
//! | `GET /v1/executions?job_name=&status=` | executions, newest first, by job and status (`SUCCESS`, …) |
//!
//! Answers are `200` with the `JobExecution` (or `{"job_execution": […]}`)
//! as JSON, unwrapped; a refusal is a 4xx whose body is
//! `{"code": <gRPC code>, "message": "…"}`: 400 a body or refs that do not
//! validate (Prow's checks and words), 403 a caller no rule of
//! `skiff.gangway.allowed_callers` lets start the job (naming the rules
//! that came close), 404 an unknown job or execution, 409 an idempotency
//! key reused for another job, 503 when the store or the config cannot be
//! read (try again).
//!
//! # Who may call
//!
//! The caller's identity comes with the request ([`Caller`]): on AWS, the
//! IAM principal the Function URL verified (SigV4); in `skiff dev`, nobody
//! unless it runs with `--gangway-auth none` (then anyone who can reach the
//! loopback listener). Starting a job needs a rule allowing the job; reading
//! executions needs only a verified caller, as Prow's reads need no client.
//!
//! # Ids, and retries
//!
//! Every other job record's id derives from the event that made it, so a
//! redelivered event makes nothing twice. A gangway call is the event: each
//! call means "one more run", and two identical calls are two runs, as in
//! Prow. So a new execution gets a random (v4) UUID. A client that retries
//! a call whose answer it lost sends the same `Idempotency-Key` header: the
//! id then derives from the caller and the key, the second create finds the
//! first record and answers it (and sends it to the dispatcher again, which
//! starts nothing twice: the pod is named by the id). Without the header a
//! retry starts a second run.
//!
//! # A crash between the steps
//!
//! The record is written, then its id sent to the dispatch queue. A send
//! that fails (or a crash before it) leaves the record `triggered`; the
//! syncer sends records stuck there, so the job still starts, later.

mod job;
pub mod wire;

use skiff_core::config::Config;
use skiff_core::messages::DispatchMessage;
use skiff_core::ports::{Clock, JobQuery, JobStore, PortError, Queue};
use tracing::{info, warn};

pub use job::{CALLER_ANNOTATION, build_job, execution};
use wire::{CreateJobExecutionRequest, ErrorBody, ExecutionStatus, JobExecutions};

/// Who sent a request, as the front end established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An IAM principal ARN AWS verified (`requestContext.authorizer.iam.userArn`).
    Iam(String),
    /// Nobody checked: `skiff dev --gangway-auth none`, loopback only.
    /// Every job may be started.
    Anyone,
    /// No verified identity: every request is refused (403) with this reason.
    Refused(String),
}

/// One HTTP request, as the Function URL or `skiff dev` hands it over.
#[derive(Clone, Debug)]
pub struct GangwayRequest {
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub caller: Caller,
}

impl GangwayRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// The answer: a status and a JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GangwayResponse {
    pub status: u16,
    pub body: String,
}

impl GangwayResponse {
    pub const CONTENT_TYPE: &'static str = "application/json";

    fn ok<T: serde::Serialize>(value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(body) => GangwayResponse { status: 200, body },
            Err(e) => GangwayError::Internal(format!("cannot encode the answer: {e}")).into(),
        }
    }
}

/// Why a request is refused; each maps to an HTTP status and a gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum GangwayError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// The store, the queue or the config could not be read or written.
    #[error("{message}")]
    Port {
        message: String,
        #[source]
        source: PortError,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = GangwayError> = std::result::Result<T, E>;

impl GangwayError {
    /// HTTP status and gRPC code.
    pub fn status(&self) -> (u16, i32) {
        match self {
            GangwayError::BadRequest(_) => (400, 3),
            GangwayError::Forbidden(_) => (403, 7),
            GangwayError::NotFound(_) => (404, 5),
            GangwayError::MethodNotAllowed(_) => (405, 12),
            GangwayError::Conflict(_) => (409, 6),
            GangwayError::TooLarge(_) => (413, 8),
            GangwayError::Port { source, .. } if source.is_retryable() => (503, 14),
            GangwayError::Unavailable(_) => (503, 14),
            GangwayError::Port { .. } | GangwayError::Internal(_) => (500, 13),
        }
    }

    fn port(message: impl Into<String>, source: PortError) -> Self {
        GangwayError::Port {
            message: format!("{}: {source}", message.into()),
            source,
        }
    }
}

impl From<GangwayError> for GangwayResponse {
    fn from(e: GangwayError) -> Self {
        let (status, code) = e.status();
        let body = ErrorBody {
            code,
            message: e.to_string(),
        };
        GangwayResponse {
            status,
            body: serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// Limits and links of one deployment.
#[derive(Clone, Debug)]
pub struct GangwayOptions {
    /// The deck, for `job_url` when the config sets no `skiff.deck_url`.
    pub deck_url: String,
    /// Where artifacts are (`s3://bucket`), for `gcs_path`.
    pub artifacts_url: String,
    /// At most this many newest records are read for a list.
    pub max_list: usize,
    /// Larger request bodies are refused.
    pub max_body_bytes: usize,
}

impl Default for GangwayOptions {
    fn default() -> Self {
        GangwayOptions {
            deck_url: String::new(),
            artifacts_url: String::new(),
            max_list: 1000,
            max_body_bytes: 1 << 20,
        }
    }
}

/// What the handler talks to.
pub struct Deps<'a> {
    pub store: &'a dyn JobStore,
    pub dispatch: &'a dyn Queue,
    pub clock: &'a dyn Clock,
    /// `None` when the config could not be loaded: reads still work,
    /// starting a job answers 503.
    pub config: Option<&'a Config>,
    pub options: &'a GangwayOptions,
}

impl Deps<'_> {
    fn deck_url(&self) -> &str {
        match self.config {
            Some(c) if !c.prow.skiff.deck_url.is_empty() => &c.prow.skiff.deck_url,
            _ => &self.options.deck_url,
        }
    }
}

const EXECUTIONS: &str = "/v1/executions";
/// The header a client repeats on a retry (see "Ids, and retries").
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Answers one request.
#[tracing::instrument(skip_all, fields(method = %req.method, path = %req.path))]
pub async fn handle(req: &GangwayRequest, deps: &Deps<'_>) -> GangwayResponse {
    match route(req, deps).await {
        Ok(resp) => resp,
        Err(e) => {
            let (status, _) = e.status();
            if status >= 500 {
                warn!(status, error = %e, "gangway request failed");
            } else {
                info!(status, error = %e, "gangway request refused");
            }
            e.into()
        }
    }
}

async fn route(req: &GangwayRequest, deps: &Deps<'_>) -> Result<GangwayResponse> {
    let rest = req.path.strip_prefix(EXECUTIONS);
    let id = match rest {
        Some("" | "/") => None,
        Some(r) if r.starts_with('/') && !r[1..].contains('/') => Some(&r[1..]),
        _ => {
            return Err(GangwayError::NotFound(format!(
                "no such route {:?}: the gangway API is {EXECUTIONS} and {EXECUTIONS}/{{id}}",
                req.path
            )));
        }
    };
    if let Caller::Refused(why) = &req.caller {
        return Err(GangwayError::Forbidden(why.clone()));
    }
    match (req.method.as_str(), id) {
        ("POST", None) => create(req, deps).await,
        ("GET", None) => list(req, deps).await,
        ("GET", Some(id)) => get(id, deps).await,
        (method, None) => Err(GangwayError::MethodNotAllowed(format!(
            "{method} {EXECUTIONS}: use POST to start a job or GET to list executions"
        ))),
        (method, Some(_)) => Err(GangwayError::MethodNotAllowed(format!(
            "{method} {EXECUTIONS}/{{id}}: use GET"
        ))),
    }
}

async fn get(id: &str, deps: &Deps<'_>) -> Result<GangwayResponse> {
    let id = percent_decode(id);
    match deps.store.get(&id).await {
        Ok(Some(job)) => Ok(GangwayResponse::ok(&execution(
            &job,
            deps.deck_url(),
            &deps.options.artifacts_url,
        ))),
        Ok(None) => Err(GangwayError::NotFound(format!("no job execution {id:?}"))),
        Err(e) => Err(GangwayError::port(
            format!("reading job execution {id:?}"),
            e,
        )),
    }
}

/// Prow's `ListJobExecutions`: by job name (its label selector) and status.
async fn list(req: &GangwayRequest, deps: &Deps<'_>) -> Result<GangwayResponse> {
    let mut job_name = String::new();
    let mut status = None;
    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
        match k.as_ref() {
            "job_name" | "jobName" => job_name = v.into_owned(),
            "status" => {
                let s = ExecutionStatus::parse(&v).ok_or_else(|| {
                    GangwayError::BadRequest(format!(
                        "status={v:?} is not a JobExecutionStatus (TRIGGERED, PENDING, SUCCESS, FAILURE, ABORTED, ERROR)"
                    ))
                })?;
                status = (s != ExecutionStatus::Unspecified).then_some(s);
            }
            _ => {}
        }
    }
    let query = if job_name.is_empty() {
        JobQuery::All
    } else {
        JobQuery::Job { name: job_name }
    };
    let jobs = deps
        .store
        .list(&query, Some(deps.options.max_list))
        .await
        .map_err(|e| GangwayError::port("listing job executions", e))?;
    let job_execution = jobs
        .iter()
        .map(|j| execution(j, deps.deck_url(), &deps.options.artifacts_url))
        .filter(|e| status.is_none_or(|s| e.job_status == s))
        .collect();
    Ok(GangwayResponse::ok(&JobExecutions { job_execution }))
}

/// Prow's `CreateJobExecution`: validate, authorize, build, store, dispatch.
async fn create(req: &GangwayRequest, deps: &Deps<'_>) -> Result<GangwayResponse> {
    if req.body.len() > deps.options.max_body_bytes {
        return Err(GangwayError::TooLarge(format!(
            "the body is {} bytes; at most {} are read",
            req.body.len(),
            deps.options.max_body_bytes
        )));
    }
    let body: CreateJobExecutionRequest = serde_json::from_slice(&req.body).map_err(|e| {
        GangwayError::BadRequest(format!("the body is not a CreateJobExecutionRequest: {e}"))
    })?;
    body.validate().map_err(GangwayError::BadRequest)?;
    let config = deps.config.ok_or_else(|| {
        GangwayError::Unavailable("the config bundle cannot be read; try again".into())
    })?;
    let caller = match &req.caller {
        Caller::Iam(arn) => {
            let rule = config
                .prow
                .skiff
                .gangway
                .authorize(arn, &body.job_name)
                .map_err(GangwayError::Forbidden)?;
            info!(caller = %arn, rule, job = %body.job_name, "caller allowed");
            Some(arn.as_str())
        }
        Caller::Anyone => None,
        Caller::Refused(why) => return Err(GangwayError::Forbidden(why.clone())),
    };
    let key = idempotency_key(req)?;
    let id = match key {
        Some(key) => skiff_core::prowjob::new::job_id(&skiff_core::keys::gangway_execution(
            caller.unwrap_or("-"),
            key,
        )),
        None => new_id()?,
    };
    let record = build_job(config, &body, id, deps.clock.now(), caller)?;
    let created = deps
        .store
        .create(&record)
        .await
        .map_err(|e| GangwayError::port(format!("creating job {:?}", body.job_name), e))?;
    let stored = if created {
        metrics::counter!(
            skiff_core::metrics::JOBS_CREATED.name,
            "type" => record.spec.r#type.map_or("", |t| t.as_str()),
            "creator" => skiff_core::metrics::creator::GANGWAY
        )
        .increment(1);
        record
    } else {
        replayed(&record, deps).await?
    };
    if stored.status.state == Some(skiff_core::prowjob::ProwJobState::Triggered) {
        let message = DispatchMessage {
            id: stored.metadata.name.clone(),
        };
        if let Err(e) = deps.dispatch.send(&[message.to_body()]).await {
            warn!(id = %stored.metadata.name, error = %e, "job created but not sent; the syncer sends it");
        }
    }
    info!(id = %stored.metadata.name, job = %body.job_name, new = created, "job execution");
    let mut answer = execution(&stored, deps.deck_url(), &deps.options.artifacts_url);
    answer.pod_spec_options = body.pod_spec_options.clone().filter(|o| !o.is_empty());
    Ok(GangwayResponse::ok(&answer))
}

/// The record an earlier call with the same idempotency key made, if it
/// asked for the same run.
async fn replayed(
    record: &skiff_core::prowjob::ProwJob,
    deps: &Deps<'_>,
) -> Result<skiff_core::prowjob::ProwJob> {
    let id = &record.metadata.name;
    let existing = deps
        .store
        .get(id)
        .await
        .map_err(|e| GangwayError::port(format!("reading job execution {id:?}"), e))?
        .ok_or_else(|| {
            GangwayError::Unavailable(format!(
                "job execution {id:?} exists but cannot be read yet; try again"
            ))
        })?;
    let same = existing.spec.job == record.spec.job
        && existing.spec.r#type == record.spec.r#type
        && existing.spec.refs == record.spec.refs;
    if same {
        Ok(existing)
    } else {
        Err(GangwayError::Conflict(format!(
            "the {IDEMPOTENCY_KEY} was used for another request (job {:?}, execution {id})",
            existing.spec.job
        )))
    }
}

/// The `Idempotency-Key` header: printable ASCII, at most 200 characters.
fn idempotency_key(req: &GangwayRequest) -> Result<Option<&str>> {
    match req.header(IDEMPOTENCY_KEY) {
        None | Some("") => Ok(None),
        Some(k) if k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k)),
        Some(_) => Err(GangwayError::BadRequest(format!(
            "the {IDEMPOTENCY_KEY} header must be 1 to 200 printable ASCII characters"
        ))),
    }
}

/// A new execution's id: a random (version 4) UUID, from the kernel's
/// random source.
pub fn new_id() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| GangwayError::Internal(format!("cannot read /dev/urandom for an id: {e}")))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string())
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
