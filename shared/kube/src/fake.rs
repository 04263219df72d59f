//! An HTTP-level fake Kubernetes API server, for tests: no real API server
//! can run where Skiff's tests run. It speaks the real wire format with
//! k8s-openapi's types, for the calls Skiff makes:
//!
//! - `POST /api/v1/namespaces/{ns}/pods`: checks the pod as the API server's
//!   validation would (name, containers, images, restart policy; 422
//!   `Invalid`), refuses a taken name (409 `AlreadyExists`) and a namespace
//!   other than the path's (400), then stores it with a `uid`, a
//!   `resourceVersion`, a `creationTimestamp` and a `Pending` status;
//! - `GET …/pods?labelSelector=…` (equality `a=b`/`a==b`, `a!=b`,
//!   existence `a`/`!a`), `GET …/pods/{name}`, `DELETE …/pods/{name}` (the
//!   pod goes at once, or with [`FakeApiServer::graceful_delete`] first gets a
//!   `deletionTimestamp`);
//! - `GET …/pods/{name}/log?container=…`: the text set with
//!   [`FakeApiServer::set_log`], empty for a started container without one,
//!   400 for a container still waiting;
//! - errors as Kubernetes `Status` objects (404 `NotFound`, 409, 422, 400,
//!   401 `Unauthorized`, injected ones);
//! - Tekton PipelineRuns, `tekton.dev/v1` (the version Skiff creates):
//!   `POST /apis/tekton.dev/v1/namespaces/{ns}/pipelineruns` (checks kind and
//!   apiVersion, name and `spec` (422 `Invalid`), what Tekton's admission
//!   webhook refuses of Skiff's runs: duplicate param names and unnamed
//!   pipeline tasks (400), and a taken name (409 `AlreadyExists`)), `GET
//!   …/pipelineruns?labelSelector=…`, `GET …/pipelineruns/{name}` and
//!   `DELETE …/pipelineruns/{name}` (gone at once, whatever
//!   [`FakeApiServer::graceful_delete`] says); 404 `NotFound` for a missing
//!   run, and for every Tekton path after [`FakeApiServer::uninstall_tekton`];
//! - and, for EKS, `GET /clusters/{name}` (`eks:DescribeCluster`) for the
//!   clusters added with [`FakeApiServer::add_eks_cluster`], answering with
//!   an endpoint and the fake's CA.
//!
//! Every request is recorded ([`FakeApiServer::requests`]) so a test can
//! assert verb, path, query and body, and count the calls an operation makes.
//! A bad request gets an error answer; the fake keeps serving.
//!
//! The server runs as tasks on the test's Tokio runtime: a test that blocks
//! its thread (waiting on a child process with `std::process`) needs a
//! multi-thread runtime (`#[tokio::test(flavor = "multi_thread")]`), or the
//! fake stops answering while it waits.
//!
//! Pods only change when a test says so ([`FakeApiServer::run_pod`],
//! [`FakeApiServer::finish_pod`], [`FakeApiServer::set_status`]), or, with
//! [`FakeApiServer::auto_kubelet`], on their own like on a real node: for
//! end-to-end tests where another process creates the pods. PipelineRuns
//! only ever change when a test says so
//! ([`FakeApiServer::start_pipeline_run`],
//! [`FakeApiServer::finish_pipeline_run`],
//! [`FakeApiServer::set_pipeline_run_status`]): no Tekton controller runs
//! here, and the auto-kubelet leaves them alone, so a test decides how each
//! run ends.
//!
//! ```no_run
//! # async fn example() {
//! use skiff_kube::fake::FakeApiServer;
//! let server = FakeApiServer::start().await;
//! let dir = tempfile::tempdir().unwrap();
//! let kubeconfig = dir.path().join("kubeconfig");
//! server.write_kubeconfig(&kubeconfig, "fake").unwrap();
//! // … point the code under test at `kubeconfig`, then:
//! assert_eq!(server.requests().len(), 0);
//! # }
//! ```

mod api;
mod store;
mod tekton;
mod tls;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodStatus};

use store::Store;

/// A Kubernetes API server in this process, on `127.0.0.1` and a free port.
/// Stops when dropped.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    url: String,
    tls: bool,
    task: tokio::task::JoinHandle<()>,
}

/// One request the fake received.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `DELETE` …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if there was one.
    pub query: Option<String>,
    /// The body as text (empty for none).
    pub body: String,
    /// The bearer token sent, if any.
    pub bearer: Option<String>,
}

impl fmt::Debug for RecordedRequest {
    // By hand, so a failing assertion does not print a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RecordedRequest {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A query parameter, decoded.
    pub fn query_param(&self, key: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query);
        pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `"GET /api/v1/namespaces/ns/pods"`: handy for asserting sequences.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn serde_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    let uri: Result<axum::http::Uri, _> = format!("/?{query}").parse();
    uri.ok()
        .and_then(|u| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&u).ok())
        .map(|q| q.0)
        .unwrap_or_default()
}

/// How pods run on their own with [`FakeApiServer::auto_kubelet`]: `Running`
/// (with a start time) as soon as they are created, then after
/// `finish_after` `Succeeded` with exit code 0, or `Failed` with exit code N
/// when the test container's command and args, joined by spaces, contain
/// `exit N`.
#[derive(Clone, Debug)]
pub struct Kubelet {
    /// From `Running` to finished.
    pub finish_after: Duration,
    /// The test container's log; `None`: its args joined by spaces, and a
    /// newline.
    pub log: Option<String>,
}

impl Default for Kubelet {
    fn default() -> Self {
        Self {
            finish_after: Duration::from_secs(1),
            log: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
enum Auth {
    /// Any request is let in.
    #[default]
    Any,
    /// Only this bearer token.
    Token(String),
    /// Only a token shaped like `aws eks get-token`'s.
    Eks,
}

pub(crate) struct Shared {
    state: Mutex<State>,
}

struct State {
    store: Store,
    requests: Vec<RecordedRequest>,
    /// Status codes for the next Kubernetes API requests, in order.
    failures: VecDeque<u16>,
    /// Status codes for the next requests of one method whose path holds a
    /// fragment, in order.
    matching_failures: Vec<(String, String, VecDeque<u16>)>,
    auth: Auth,
    kubelet: Option<Kubelet>,
    graceful: Option<Duration>,
    /// DescribeCluster's answers: endpoint by cluster name.
    eks_clusters: BTreeMap<String, String>,
    /// Tekton Pipelines is installed: `tekton.dev/v1` PipelineRuns are
    /// served (otherwise their paths are 404, as on a cluster without it).
    tekton: bool,
    /// How long each request waits before it is answered, as a real API
    /// server's round trip, authentication, admission and etcd write take.
    latency: Duration,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Test code may panic while holding the lock; the state stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeApiServer {
    /// The bearer token [`FakeApiServer::write_kubeconfig`] writes.
    pub const TOKEN: &'static str = "skiff-fake-token";

    /// The CA of [`FakeApiServer::start_tls`]'s certificate, PEM.
    pub const CA_PEM: &'static str = tls::CA_PEM;

    /// Serves plain HTTP on `127.0.0.1` and a free port.
    ///
    /// # Panics
    /// If no port can be bound: the test cannot run.
    pub async fn start() -> Self {
        Self::start_inner(false).await
    }

    /// Serves HTTPS with a certificate for `127.0.0.1` signed by
    /// [`FakeApiServer::CA_PEM`].
    ///
    /// # Panics
    /// If no port can be bound: the test cannot run.
    pub async fn start_tls() -> Self {
        Self::start_inner(true).await
    }

    async fn start_inner(tls: bool) -> Self {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("fake API server: cannot bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake API server: no local address: {e}"),
        };
        let url = format!("{}://{addr}", if tls { "https" } else { "http" });
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store: Store::default(),
                requests: Vec::new(),
                failures: VecDeque::new(),
                matching_failures: Vec::new(),
                auth: Auth::default(),
                kubelet: None,
                graceful: None,
                eks_clusters: BTreeMap::new(),
                tekton: true,
                latency: Duration::ZERO,
            }),
        });
        let app = api::router(shared.clone());
        let task = if tls {
            let listener = tls::TlsListener {
                tcp: listener,
                acceptor: tls::acceptor(),
            };
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        };
        Self {
            shared,
            url,
            tls,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://…`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Writes a kubeconfig whose context `context` (also the current one)
    /// reaches this server with the bearer token [`FakeApiServer::TOKEN`]
    /// (and, for HTTPS, trusts its CA).
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>, context: &str) -> std::io::Result<()> {
        let ca = if self.tls {
            format!(
                "    certificate-authority-data: {}\n",
                base64::engine::general_purpose::STANDARD.encode(Self::CA_PEM)
            )
        } else {
            String::new()
        };
        let text = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: skiff-fake\n\
             \x20 cluster:\n\
             \x20   server: {url}\n\
             {ca}\
             users:\n\
             - name: skiff-fake\n\
             \x20 user:\n\
             \x20   token: {token}\n\
             contexts:\n\
             - name: {context}\n\
             \x20 context:\n\
             \x20   cluster: skiff-fake\n\
             \x20   user: skiff-fake\n\
             current-context: {context}\n",
            url = self.url,
            token = Self::TOKEN,
        );
        std::fs::write(path, text)
    }

    /// From now on only requests with bearer `token` are served; the others
    /// get 401 `Unauthorized`.
    pub fn require_token(&self, token: &str) {
        self.shared.state().auth = Auth::Token(token.to_string());
    }

    /// From now on only bearer tokens shaped like `aws eks get-token`'s are
    /// served: `k8s-aws-v1.` + base64url of a presigned STS
    /// `GetCallerIdentity` URL that signs the `x-k8s-aws-id` header. (The
    /// signature itself cannot be checked without AWS.)
    pub fn require_eks_token(&self) {
        self.shared.state().auth = Auth::Eks;
    }

    /// DescribeCluster (`GET /clusters/{name}`) answers for `name` with
    /// `endpoint` (say, another fake's [`FakeApiServer::url`]) and
    /// [`FakeApiServer::CA_PEM`]. Point an SDK configuration's endpoint URL at
    /// this server's URL to use it.
    pub fn add_eks_cluster(&self, name: &str, endpoint: &str) {
        self.shared
            .state()
            .eks_clusters
            .insert(name.to_string(), endpoint.to_string());
    }

    /// Every pod, in every namespace.
    pub fn pods(&self) -> Vec<Pod> {
        self.shared
            .state()
            .store
            .pods
            .values()
            .map(|s| s.pod.clone())
            .collect()
    }

    /// The pod called `name` (in any namespace).
    pub fn pod(&self, name: &str) -> Option<Pod> {
        self.shared.state().store.find(name).map(|s| s.pod.clone())
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut Pod)) {
        if !self.shared.state().store.update_status(name, change) {
            panic!("fake API server: no pod {name:?}");
        }
    }

    /// Replaces the pod's status.
    ///
    /// # Panics
    /// If there is no such pod (a mistake in the test).
    pub fn set_status(&self, name: &str, status: PodStatus) {
        self.update(name, |p| p.status = Some(status));
    }

    /// The kubelet started the pod: `Running`, start time now, every
    /// container running.
    ///
    /// # Panics
    /// If there is no such pod.
    pub fn run_pod(&self, name: &str) {
        self.update(name, |p| store::set_running(p, Timestamp::now()));
    }

    /// The pod's containers ended: the test container with `exit_code`, the
    /// others with 0. `Succeeded` for 0, else `Failed`.
    ///
    /// # Panics
    /// If there is no such pod.
    pub fn finish_pod(&self, name: &str, exit_code: i32) {
        self.update(name, |p| {
            store::set_finished(p, exit_code, Timestamp::now())
        });
    }

    /// What `GET …/pods/{name}/log?container={container}` answers.
    ///
    /// # Panics
    /// If there is no such pod.
    pub fn set_log(&self, name: &str, container: &str, text: &str) {
        let mut state = self.shared.state();
        match state.store.find_mut(name) {
            Some(stored) => {
                stored.logs.insert(container.to_string(), text.to_string());
            }
            None => panic!("fake API server: no pod {name:?}"),
        }
    }

    /// Every PipelineRun, in every namespace, as stored (JSON).
    pub fn pipeline_runs(&self) -> Vec<serde_json::Value> {
        self.shared.state().store.runs.values().cloned().collect()
    }

    /// The PipelineRun called `name` (in any namespace).
    pub fn pipeline_run(&self, name: &str) -> Option<serde_json::Value> {
        let state = self.shared.state();
        let found = state.store.runs.iter().find(|((_, n), _)| n == name);
        found.map(|(_, run)| run.clone())
    }

    fn update_run(&self, name: &str, change: impl FnOnce(&mut serde_json::Value)) {
        if !self.shared.state().store.update_run(name, change) {
            panic!("fake API server: no PipelineRun {name:?}");
        }
    }

    /// Tekton's controller picked the run up: `startTime` now and the
    /// `Succeeded` condition `Unknown`, reason `Running`.
    ///
    /// # Panics
    /// If there is no such PipelineRun (a mistake in the test).
    pub fn start_pipeline_run(&self, name: &str) {
        self.update_run(name, |run| tekton::set_started(run, Timestamp::now()));
    }

    /// The run ended: `completionTime` now and the `Succeeded` condition
    /// `True` (`succeeded`) or `False`, with `reason` (`Succeeded`, `Failed`,
    /// `Cancelled`, `PipelineRunTimeout` …) and Tekton's task summary as the
    /// message (`Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0`).
    ///
    /// # Panics
    /// If there is no such PipelineRun.
    pub fn finish_pipeline_run(&self, name: &str, succeeded: bool, reason: &str) {
        self.update_run(name, |run| {
            tekton::set_finished(run, succeeded, reason, Timestamp::now())
        });
    }

    /// Replaces the run's `status` (any shape Tekton might write).
    ///
    /// # Panics
    /// If there is no such PipelineRun.
    pub fn set_pipeline_run_status(&self, name: &str, status: serde_json::Value) {
        self.update_run(name, |run| {
            if let Some(object) = run.as_object_mut() {
                object.insert("status".into(), status);
            }
        });
    }

    /// From now on the cluster has no Tekton: `tekton.dev` paths answer 404
    /// "the server could not find the requested resource", as an API server
    /// does for a resource it does not serve.
    pub fn uninstall_tekton(&self) {
        self.shared.state().tekton = false;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.shared.state().requests.clear();
    }

    /// The next `times` Kubernetes API requests fail with `status_code` and
    /// a `Status` saying so (DescribeCluster is not affected).
    pub fn fail_next(&self, status_code: u16, times: usize) {
        let mut state = self.shared.state();
        state
            .failures
            .extend(std::iter::repeat_n(status_code, times));
    }

    /// The next `times` requests with `method` (`"DELETE"`, …) whose path
    /// contains `path_fragment` (`"/log"`, `"/pods/j1"`) fail with
    /// `status_code`; every other request is served.
    pub fn fail_next_matching(
        &self,
        method: &str,
        path_fragment: &str,
        status_code: u16,
        times: usize,
    ) {
        self.shared.state().matching_failures.push((
            method.to_ascii_uppercase(),
            path_fragment.to_string(),
            std::iter::repeat_n(status_code, times).collect(),
        ));
    }

    /// Pods run on their own (`Some`), or only when a test moves them
    /// (`None`, the default). See [`Kubelet`].
    pub fn auto_kubelet(&self, kubelet: Option<Kubelet>) {
        self.shared.state().kubelet = kubelet;
    }

    /// Every request is answered `latency` after it arrives (requests in
    /// flight together wait together). Default: at once.
    pub fn latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    /// `Some(after)`: a deleted pod first gets a `deletionTimestamp` and is
    /// gone `after` later, as a pod whose containers are being stopped.
    /// `None` (the default): deleted pods go at once.
    pub fn graceful_delete(&self, after: Option<Duration>) {
        self.shared.state().graceful = after;
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeApiServer")
            .field("url", &self.url)
            .finish()
    }
}
