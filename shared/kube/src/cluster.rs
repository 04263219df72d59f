//! [`KubeCluster`]: the [`Cluster`] port on a Kubernetes API server.
//!
//! API calls per operation (each call is one HTTP request: kube's own retry
//! layer is off, so a throttled Lambda does not sleep in it and the handler's
//! retry decides; the counts are pinned by the tests):
//!
//! | operation | requests |
//! |---|---|
//! | `create_pod` | 1 `POST …/pods` |
//! | `list_pods` | 1 `GET …/pods?labelSelector=…` (no paging: one response) |
//! | `pod_log` | 1 `GET …/pods/{name}`, then 1 `GET …/pods/{name}/log?container=…` per container |
//! | `delete_pod` | 1 `DELETE …/pods/{name}` |
//! | `create_pipeline_run` | 1 `POST /apis/tekton.dev/v1/namespaces/{ns}/pipelineruns` |
//! | `list_pipeline_runs` | 1 `GET …/pipelineruns?labelSelector=…` |
//! | `delete_pipeline_run` | 1 `DELETE …/pipelineruns/{name}` (background propagation: its TaskRuns and their pods go too) |
//!
//! The first call of a [`KubeCluster`] also connects: an EKS cluster costs one
//! `eks:DescribeCluster` (kept for the life of the value) and a token signed
//! locally; a kubeconfig is read from disk. Building one does no I/O.
//!
//! Errors, by HTTP status of the API's answer:
//! - 409 `AlreadyExists` on create → [`Created::AlreadyExists`] (adopted);
//!   another 409 → [`PortError::Conflict`];
//! - 401 → [`PortError::Unavailable`]: the credentials may be renewed (an
//!   EKS token minted from expiring credentials, a kubeconfig being rotated),
//!   so the connection is dropped and the next call connects afresh; a
//!   credential that stays wrong shows as repeated retries in the logs, not
//!   as jobs failed for good;
//! - 404 → [`PortError::NotFound`] (on create: [`PortError::Rejected`], the
//!   namespace is missing; on delete: success). For PipelineRuns a 404 on
//!   create that is not about the namespace means the cluster does not serve
//!   `tekton.dev/v1` (Tekton Pipelines is not installed) and is
//!   [`PortError::Rejected`] saying so; a 404 on list is an empty list (no
//!   run can exist where the API is not served);
//! - 408, 429 and 5xx → [`PortError::Unavailable`];
//! - any other 4xx → [`PortError::Rejected`] with the API's message, as
//!   plank's `Pod can not be created: <message>`;
//! - no answer (connection refused, TLS, timeout) → [`PortError::Unavailable`],
//!   and the connection (and an EKS cluster's description) is dropped so the
//!   next call starts over.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use skiff_core::ports::{
    Clock, Cluster, Created, PipelineRunInfo, PipelineRunRequest, PodInfo, PodRequest, PortError,
    PortResult, SystemClock,
};
use skiff_core::prowjob::pipeline_run::{
    PIPELINE_RUN_API_VERSION, PIPELINE_RUN_KIND, PIPELINE_RUNS, TEKTON_GROUP, TEKTON_VERSION,
};
use skiff_core::prowjob::pod::TEST_CONTAINER_NAME;
use tokio::sync::Mutex;
use tracing::{debug, info, warn};

use crate::eks::{self, Described};
use crate::error::{Error, report};
use crate::pipeline_run_info::pipeline_run_info;
use crate::pod_info::pod_info;
use crate::selector::label_selector;

/// How long an EKS token is used before a new one is signed. EKS accepts a
/// token for 15 minutes; renewing after 10 leaves room for clock skew and a
/// call that starts just before the deadline.
pub const TOKEN_RENEWAL: Duration = Duration::from_secs(RENEWAL_SECS as u64);
const RENEWAL_SECS: i64 = 10 * 60;

/// A connection attempt waits this long for the API server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A request waits this long for each read or write; a log being streamed
/// keeps reading, so only a stalled server hits it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A build cluster reached through the Kubernetes API. See the module
/// documentation for the calls each operation makes and how errors map.
pub struct KubeCluster {
    /// Its name in `skiff.clusters`, for logs and errors.
    name: String,
    /// Where pods are listed, read and deleted (Prow's `pod_namespace`).
    namespace: String,
    source: Source,
    clock: Arc<dyn Clock>,
    conn: Mutex<Connection>,
    /// Each pod's containers in log order, from the latest listing: the
    /// syncer reads the logs of pods it has just listed, and knowing the
    /// containers saves a `GET` of the pod per log.
    containers: std::sync::Mutex<HashMap<String, Vec<String>>>,
}

/// The lock on a map that is replaced entry by entry: a panic elsewhere
/// cannot leave it half-written.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Source {
    Kubeconfig {
        path: PathBuf,
        context: Option<String>,
    },
    InCluster,
    Eks {
        client: aws_sdk_eks::Client,
        credentials: Option<SharedCredentialsProvider>,
        region: String,
        cluster: String,
    },
}

#[derive(Default)]
struct Connection {
    /// EKS only: DescribeCluster's answer, asked once.
    described: Option<Described>,
    client: Option<Connected>,
}

struct Connected {
    client: kube::Client,
    /// EKS only: when its token was signed.
    signed_at: Option<Timestamp>,
}

impl fmt::Debug for KubeCluster {
    // By hand: nothing secret is held, but the EKS client and the connection
    // are noise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("KubeCluster");
        d.field("name", &self.name)
            .field("namespace", &self.namespace);
        match &self.source {
            Source::Kubeconfig { path, context } => {
                d.field("kubeconfig", path).field("context", context)
            }
            Source::InCluster => d.field("in_cluster", &true),
            Source::Eks {
                region, cluster, ..
            } => d.field("eks_region", region).field("eks_cluster", cluster),
        };
        d.finish()
    }
}

impl KubeCluster {
    fn new(name: &str, namespace: &str, source: Source) -> Self {
        Self {
            name: name.to_string(),
            namespace: namespace.to_string(),
            source,
            clock: Arc::new(SystemClock),
            conn: Mutex::new(Connection::default()),
            containers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The cluster of a kubeconfig file: `context`, or its current context.
    /// Token, client-certificate and exec authentication work as kube
    /// supports them. `name` is the cluster's name in Skiff's config; pods
    /// live in `namespace`.
    pub fn kubeconfig(
        name: &str,
        path: impl Into<PathBuf>,
        context: Option<&str>,
        namespace: &str,
    ) -> Self {
        let source = Source::Kubeconfig {
            path: path.into(),
            context: context.map(str::to_string),
        };
        Self::new(name, namespace, source)
    }

    /// The cluster this process runs in, through its service account
    /// (`KUBERNETES_SERVICE_HOST`, `/var/run/secrets/kubernetes.io/serviceaccount`).
    pub fn in_cluster(name: &str, namespace: &str) -> Self {
        Self::new(name, namespace, Source::InCluster)
    }

    /// EKS cluster `cluster` in `region`, found with `eks:DescribeCluster`
    /// and signed into with `sdk`'s credentials.
    pub fn eks(
        name: &str,
        sdk: &aws_config::SdkConfig,
        region: &str,
        cluster: &str,
        namespace: &str,
    ) -> Self {
        let client = eks::client_for_region(sdk, region);
        Self::eks_with_client(
            name,
            client,
            sdk.credentials_provider(),
            region,
            cluster,
            namespace,
        )
    }

    pub(crate) fn eks_with_client(
        name: &str,
        client: aws_sdk_eks::Client,
        credentials: Option<SharedCredentialsProvider>,
        region: &str,
        cluster: &str,
        namespace: &str,
    ) -> Self {
        let source = Source::Eks {
            client,
            credentials,
            region: region.to_string(),
            cluster: cluster.to_string(),
        };
        Self::new(name, namespace, source)
    }

    /// Uses `clock` for the age of EKS tokens (tests drive a virtual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The client, connecting first when there is none or its token is due.
    async fn client(&self) -> PortResult<kube::Client> {
        let mut conn = self.conn.lock().await;
        let now = self.clock.now();
        if let Some(c) = &conn.client {
            let fresh = c.signed_at.is_none_or(|signed| {
                // A clock that went back also gets a new token.
                signed <= now && now.duration_since(signed).as_secs() < RENEWAL_SECS
            });
            if fresh {
                return Ok(c.client.clone());
            }
            debug!(cluster = %self.name, "EKS token due for renewal");
        }
        conn.client = None;
        match self.connect(&mut conn, now).await {
            Ok(connected) => {
                let client = connected.client.clone();
                conn.client = Some(connected);
                Ok(client)
            }
            Err(e) => {
                let e = PortError::from(e);
                warn!(cluster = %self.name, error = %e, "cannot connect to the cluster");
                Err(e)
            }
        }
    }

    async fn connect(&self, conn: &mut Connection, now: Timestamp) -> Result<Connected, Error> {
        let (mut config, signed_at) = match &self.source {
            Source::Kubeconfig { path, context } => (
                self.kubeconfig_config(path, context.as_deref()).await?,
                None,
            ),
            Source::InCluster => {
                let config = kube::Config::incluster().map_err(|source| Error::InCluster {
                    cluster: self.name.clone(),
                    source,
                })?;
                (config, None)
            }
            Source::Eks {
                client,
                credentials,
                region,
                cluster,
            } => {
                let described = match &conn.described {
                    Some(d) => d.clone(),
                    None => {
                        let d = eks::describe(client, &self.name, region, cluster).await?;
                        info!(cluster = %self.name, endpoint = %d.endpoint, "EKS cluster described");
                        conn.described = Some(d.clone());
                        d
                    }
                };
                let Some(provider) = credentials else {
                    return Err(Error::Credentials {
                        cluster: self.name.clone(),
                        source: "the AWS configuration has no credentials provider".into(),
                    });
                };
                let creds =
                    provider
                        .provide_credentials()
                        .await
                        .map_err(|e| Error::Credentials {
                            cluster: self.name.clone(),
                            source: Box::new(e),
                        })?;
                let token = eks::token(&creds, region, cluster, SystemTime::from(now)).map_err(
                    |detail| Error::Token {
                        cluster: self.name.clone(),
                        detail,
                    },
                )?;
                let mut config = kube::Config::new(described.endpoint.clone());
                config.root_cert = Some(described.ca.clone());
                config.auth_info.token = Some(token);
                (config, Some(now))
            }
        };
        config.default_namespace = self.namespace.clone();
        // One request per call: see the module documentation.
        config.default_retry = false;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(IO_TIMEOUT);
        config.write_timeout = Some(IO_TIMEOUT);
        config.reset_reader_on_write = true;
        let client = kube::Client::try_from(config).map_err(|source| Error::Client {
            cluster: self.name.clone(),
            source,
        })?;
        Ok(Connected { client, signed_at })
    }

    async fn kubeconfig_config(
        &self,
        path: &std::path::Path,
        context: Option<&str>,
    ) -> Result<kube::Config, Error> {
        let failed = |source| Error::Kubeconfig {
            cluster: self.name.clone(),
            path: path.to_path_buf(),
            source,
        };
        let file = path.to_path_buf();
        // kube reads the file with blocking I/O.
        let kubeconfig = tokio::task::spawn_blocking(move || Kubeconfig::read_from(file))
            .await
            .map_err(|e| Error::Config {
                cluster: self.name.clone(),
                detail: format!("reading {} was cancelled: {e}", path.display()),
            })?
            .map_err(failed)?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..KubeConfigOptions::default()
        };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(failed)
    }

    /// Forgets the connection (and with `described`, the EKS description), so
    /// the next call connects afresh.
    async fn reset(&self, described: bool) {
        let mut conn = self.conn.lock().await;
        conn.client = None;
        if described {
            conn.described = None;
        }
    }

    async fn pods(&self, namespace: &str) -> PortResult<Api<Pod>> {
        Ok(Api::namespaced(self.client().await?, namespace))
    }

    async fn pipeline_runs(&self, namespace: &str) -> PortResult<Api<DynamicObject>> {
        let client = self.client().await?;
        Ok(Api::namespaced_with(
            client,
            namespace,
            &pipeline_run_resource(),
        ))
    }

    /// The namespace a PipelineRun call is about: the given one, else the
    /// cluster's own.
    fn namespace_or_default<'a>(&'a self, namespace: &'a str) -> &'a str {
        if namespace.is_empty() {
            &self.namespace
        } else {
            namespace
        }
    }

    /// The port's error for a failed call; `what` says what was being done.
    async fn failed(&self, what: &str, e: kube::Error) -> PortError {
        let place = format!("{what} on cluster {}", self.name);
        let mapped = match &e {
            kube::Error::Api(status) => {
                let message = if status.message.is_empty() {
                    format!("{} {}", status.code, status.reason)
                } else {
                    status.message.clone()
                };
                let answer = format!("{place}: {} {}: {message}", status.code, status.reason);
                match status.code {
                    401 => {
                        self.reset(false).await;
                        PortError::Unavailable(
                            format!("{answer}; the credentials are loaded again on the next call")
                                .into(),
                        )
                    }
                    404 => PortError::NotFound(answer.into()),
                    409 => PortError::Conflict(answer.into()),
                    408 | 429 => PortError::Unavailable(answer.into()),
                    // Plank's "Pod can not be created: <the API's message>".
                    400..=499 => PortError::Rejected(message.into()),
                    _ => PortError::Unavailable(answer.into()),
                }
            }
            _ => {
                self.reset(true).await;
                PortError::Unavailable(format!("{place}: {}", report(&e)).into())
            }
        };
        debug!(cluster = %self.name, error = %mapped, "API call failed");
        mapped
    }

    /// The log of one container, or why there is none.
    async fn container_log(
        &self,
        client: &kube::Client,
        pod: &str,
        container: &str,
    ) -> PortResult<String> {
        match fetch_log(client, &self.namespace, pod, container).await {
            Ok(log) => Ok(log),
            Err(e) => {
                let what = format!("reading the log of container {container} of pod {pod}");
                Err(self.failed(&what, e).await)
            }
        }
    }
}

/// One container's log. Bytes that are not UTF-8 (a test printing binary)
/// are replaced rather than failing the read, which kube's `Api::logs` would.
async fn fetch_log(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Result<String, kube::Error> {
    let params = LogParams {
        container: Some(container.to_string()),
        ..LogParams::default()
    };
    let url = <Pod as kube::Resource>::url_path(&(), Some(namespace));
    let request = kube::core::Request::new(url)
        .logs(pod, &params)
        .map_err(kube::Error::BuildRequest)?;
    let response = client.send(request.map(kube::client::Body::from)).await?;
    let code = response.status();
    let bytes = response.into_body().collect_bytes().await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if code.is_success() {
        return Ok(text);
    }
    // Errors are `Status` objects, unless a proxy answered.
    let status = match serde_json::from_str::<kube::core::Status>(&text) {
        Ok(status) if status.code != 0 => status,
        _ => kube::core::Status::failure(text.trim(), code.canonical_reason().unwrap_or(""))
            .with_code(code.as_u16()),
    };
    Err(kube::Error::Api(Box::new(status)))
}

/// Tekton's PipelineRun in the version Prow creates (`tekton.dev/v1`).
fn pipeline_run_resource() -> ApiResource {
    ApiResource {
        group: TEKTON_GROUP.to_string(),
        version: TEKTON_VERSION.to_string(),
        api_version: PIPELINE_RUN_API_VERSION.to_string(),
        kind: PIPELINE_RUN_KIND.to_string(),
        plural: PIPELINE_RUNS.to_string(),
    }
}

/// Whether a 404 is about a missing namespace (`namespaces "x" not found`)
/// rather than a resource the server does not serve.
fn is_missing_namespace(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404
        && (s.details.as_ref().is_some_and(|d| d.kind == "namespaces")
            || s.message.starts_with("namespaces \"")))
}

fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists")
}

/// The containers of `pod` in log order: the test container, the others as
/// the spec lists them, then init containers.
fn log_order(pod: &Pod) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let main = spec.containers.iter().map(|c| c.name.clone());
    let (test, others): (Vec<String>, Vec<String>) = main.partition(|n| n == TEST_CONTAINER_NAME);
    test.into_iter()
        .chain(others)
        .chain(
            spec.init_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .collect()
}

/// The header before each log after the first (see [`Cluster::pod_log`] on
/// [`KubeCluster`]).
fn log_header(container: &str) -> String {
    format!("==> container {container} <==\n")
}

#[async_trait]
impl Cluster for KubeCluster {
    #[tracing::instrument(skip_all, fields(cluster = %self.name, pod = %pod.name))]
    async fn create_pod(&self, pod: &PodRequest) -> PortResult<Created> {
        let namespace = if pod.namespace.is_empty() {
            &self.namespace
        } else {
            &pod.namespace
        };
        let body = Pod {
            metadata: ObjectMeta {
                name: Some(pod.name.clone()),
                namespace: Some(namespace.clone()),
                labels: (!pod.labels.is_empty()).then(|| pod.labels.clone()),
                annotations: (!pod.annotations.is_empty()).then(|| pod.annotations.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(pod.spec.clone()),
            status: None,
        };
        let api = self.pods(namespace).await?;
        match api.create(&PostParams::default(), &body).await {
            Ok(_) => {
                info!("pod created");
                Ok(Created::Created)
            }
            Err(e) if is_already_exists(&e) => {
                info!("pod already exists; adopting it");
                Ok(Created::AlreadyExists)
            }
            Err(e) => {
                let what = format!("creating pod {} in namespace {namespace}", pod.name);
                match self.failed(&what, e).await {
                    // The namespace itself is missing: retrying will not make it.
                    PortError::NotFound(m) => Err(PortError::Rejected(m)),
                    other => Err(other),
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(cluster = %self.name))]
    async fn list_pods(&self, labels: &BTreeMap<String, String>) -> PortResult<Vec<PodInfo>> {
        let selector = label_selector(labels)
            .map_err(|e| PortError::Rejected(format!("listing pods: {e}").into()))?;
        let api = self.pods(&self.namespace).await?;
        match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => {
                let mut containers = lock(&self.containers);
                for pod in &list.items {
                    if let Some(name) = &pod.metadata.name {
                        containers.insert(name.clone(), log_order(pod));
                    }
                }
                Ok(list.items.iter().map(pod_info).collect())
            }
            Err(e) => {
                let what = format!(
                    "listing pods with {selector:?} in namespace {}",
                    self.namespace
                );
                Err(self.failed(&what, e).await)
            }
        }
    }

    /// The test container's log first (or the first container's, if none is
    /// named `test`), then every other container's and init container's,
    /// each after a line `==> container <name> <==`. A single-container pod's
    /// log is exactly its container's, as the local cluster's is. A
    /// container after the first that has no log yet (never started) is
    /// shown with the API's reason instead of failing the whole read.
    #[tracing::instrument(skip_all, fields(cluster = %self.name, pod = %name))]
    async fn pod_log(&self, name: &str) -> PortResult<String> {
        let api = self.pods(&self.namespace).await?;
        let listed = lock(&self.containers).get(name).cloned();
        let containers = match listed {
            Some(containers) => containers,
            None => match api.get(name).await {
                Ok(pod) => log_order(&pod),
                Err(e) => {
                    let what = format!("reading pod {name} in namespace {}", self.namespace);
                    return Err(self.failed(&what, e).await);
                }
            },
        };
        let Some((first, rest)) = containers.split_first() else {
            return Err(PortError::NotFound(
                format!("pod {name} has no containers").into(),
            ));
        };
        let client = api.into_client();
        let mut out = self.container_log(&client, name, first).await?;
        for container in rest {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&log_header(container));
            match self.container_log(&client, name, container).await {
                Ok(log) => out.push_str(&log),
                Err(PortError::Rejected(why) | PortError::NotFound(why)) => {
                    out.push_str(&format!("(no log: {why})\n"));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(cluster = %self.name, pod = %name))]
    async fn delete_pod(&self, name: &str) -> PortResult<()> {
        let api = self.pods(&self.namespace).await?;
        lock(&self.containers).remove(name);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {
                info!("pod deleted");
                Ok(())
            }
            Err(e) => {
                let what = format!("deleting pod {name} in namespace {}", self.namespace);
                match self.failed(&what, e).await {
                    PortError::NotFound(_) => Ok(()),
                    other => Err(other),
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(cluster = %self.name, pipeline_run = %run.name))]
    async fn create_pipeline_run(&self, run: &PipelineRunRequest) -> PortResult<Created> {
        let namespace = self.namespace_or_default(&run.namespace).to_string();
        let resource = pipeline_run_resource();
        let mut body = DynamicObject::new(&run.name, &resource)
            .within(&namespace)
            .data(serde_json::json!({ "spec": run.spec }));
        body.metadata.labels = (!run.labels.is_empty()).then(|| run.labels.clone());
        body.metadata.annotations = (!run.annotations.is_empty()).then(|| run.annotations.clone());
        let api = self.pipeline_runs(&namespace).await?;
        match api.create(&PostParams::default(), &body).await {
            Ok(_) => {
                info!("PipelineRun created");
                Ok(Created::Created)
            }
            Err(e) if is_already_exists(&e) => {
                info!("PipelineRun already exists; adopting it");
                Ok(Created::AlreadyExists)
            }
            Err(e) => {
                let missing_namespace = is_missing_namespace(&e);
                let what = format!("creating PipelineRun {} in namespace {namespace}", run.name);
                match self.failed(&what, e).await {
                    PortError::NotFound(m) if missing_namespace => Err(PortError::Rejected(m)),
                    PortError::NotFound(m) => Err(PortError::Rejected(
                        format!(
                            "cluster {} does not serve {PIPELINE_RUN_API_VERSION} {PIPELINE_RUNS}: \
                         Tekton Pipelines is not installed there ({m})",
                            self.name
                        )
                        .into(),
                    )),
                    other => Err(other),
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(cluster = %self.name, namespace = %namespace))]
    async fn list_pipeline_runs(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> PortResult<Vec<PipelineRunInfo>> {
        let namespace = self.namespace_or_default(namespace).to_string();
        let selector = label_selector(labels)
            .map_err(|e| PortError::Rejected(format!("listing PipelineRuns: {e}").into()))?;
        let api = self.pipeline_runs(&namespace).await?;
        match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => Ok(list.items.iter().map(pipeline_run_info).collect()),
            Err(e) => {
                let what =
                    format!("listing PipelineRuns with {selector:?} in namespace {namespace}");
                match self.failed(&what, e).await {
                    PortError::NotFound(m) => {
                        debug!(error = %m, "no PipelineRun API or namespace: no runs");
                        Ok(Vec::new())
                    }
                    other => Err(other),
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(cluster = %self.name, pipeline_run = %name))]
    async fn delete_pipeline_run(&self, namespace: &str, name: &str) -> PortResult<()> {
        let namespace = self.namespace_or_default(namespace).to_string();
        let api = self.pipeline_runs(&namespace).await?;
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {
                info!("PipelineRun deleted");
                Ok(())
            }
            Err(e) => {
                let what = format!("deleting PipelineRun {name} in namespace {namespace}");
                match self.failed(&what, e).await {
                    PortError::NotFound(_) => Ok(()),
                    other => Err(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn only_a_404_naming_namespaces_is_a_missing_namespace() {
        let status = |message: &str, kind: Option<&str>| {
            let mut s = kube::core::Status::failure(message, "NotFound").with_code(404);
            s.details =
                kind.map(|k| serde_json::from_value(serde_json::json!({ "kind": k })).unwrap());
            kube::Error::Api(Box::new(s))
        };
        assert!(is_missing_namespace(&status(
            "namespaces \"ci\" not found",
            None
        )));
        assert!(is_missing_namespace(&status(
            "whatever",
            Some("namespaces")
        )));
        assert!(!is_missing_namespace(&status(
            "the server could not find the requested resource",
            None
        )));
        assert!(!is_missing_namespace(&status(
            "pipelineruns.tekton.dev \"x\" not found",
            Some("pipelineruns")
        )));
    }

    fn container(name: &str) -> Container {
        Container {
            name: name.into(),
            ..Container::default()
        }
    }

    #[test]
    fn log_order_is_test_container_then_others_then_init_containers() {
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![container("sidecar"), container("test"), container("proxy")],
                init_containers: Some(vec![container("clonerefs"), container("initupload")]),
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        assert_eq!(
            log_order(&pod),
            ["test", "sidecar", "proxy", "clonerefs", "initupload"]
        );
        let no_test = Pod {
            spec: Some(PodSpec {
                containers: vec![container("a"), container("b")],
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        assert_eq!(log_order(&no_test), ["a", "b"]);
    }

    #[test]
    fn debug_output_names_the_cluster_and_nothing_more() {
        let c = KubeCluster::kubeconfig("lab", "/etc/kubeconfig", Some("ctx"), "test-pods");
        let d = format!("{c:?}");
        assert!(
            d.contains("\"lab\"") && d.contains("/etc/kubeconfig") && d.contains("ctx"),
            "{d}"
        );
    }
}
