//! The fake's pods and what the API server does to them: validation on
//! create, resource versions, uids and timestamps, label selectors, logs, and
//! the kubelet's status updates. No HTTP here.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, Pod,
    PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use skiff_core::prowjob::pipeline_run::{
    PIPELINE_RUN_API_VERSION, PIPELINE_RUN_KIND, PIPELINE_RUNS, TEKTON_GROUP,
};
use skiff_core::prowjob::pod::TEST_CONTAINER_NAME;

/// An API error, as the server would send it in a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// The object the error is about, for `details`.
    pub name: Option<String>,
    /// What kind of object it is, for `details`.
    pub resource: Resource,
    /// `(field, message)` of each invalid field, for `details.causes`.
    pub causes: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            name: None,
            resource: Resource::Pods,
            causes: Vec::new(),
        }
    }

    fn about(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// The error is about a PipelineRun, not a pod.
    pub fn about_pipeline_run(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self.resource = Resource::PipelineRuns;
        self
    }

    pub fn pipeline_run_not_found(name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{PIPELINE_RUNS}.{TEKTON_GROUP} \"{name}\" not found"),
        )
        .about_pipeline_run(name)
    }

    pub fn not_found(name: &str) -> Self {
        Self::new(404, "NotFound", format!("pods \"{name}\" not found")).about(name)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// The reason Kubernetes gives an HTTP status (for injected failures).
    pub fn reason_for(code: u16) -> &'static str {
        match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            408 => "Timeout",
            409 => "Conflict",
            410 => "Expired",
            422 => "Invalid",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        }
    }
}

/// The resources the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    Pods,
    PipelineRuns,
}

impl Resource {
    /// `details.kind` of a `Status` about one (the resource's plural name).
    pub fn kind(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::PipelineRuns => PIPELINE_RUNS,
        }
    }

    /// `details.group`: empty for the core group.
    pub fn group(self) -> &'static str {
        match self {
            Resource::Pods => "",
            Resource::PipelineRuns => TEKTON_GROUP,
        }
    }
}

/// A pod and the logs set for its containers.
pub(crate) struct Stored {
    pub pod: Pod,
    pub logs: BTreeMap<String, String>,
}

#[derive(Default)]
pub(crate) struct Store {
    /// By `(namespace, name)`: listing in key order is etcd's order.
    pub pods: BTreeMap<(String, String), Stored>,
    /// Tekton PipelineRuns as JSON (k8s-openapi has no Tekton types), by
    /// `(namespace, name)`.
    pub runs: BTreeMap<(String, String), Value>,
    /// The last resource version handed out (one counter for everything, as
    /// etcd's revision).
    revision: u64,
    next_uid: u64,
}

impl Store {
    fn bump(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }

    pub fn revision(&self) -> String {
        self.revision.to_string()
    }

    /// The first pod called `name` in any namespace.
    pub fn find_mut(&mut self, name: &str) -> Option<&mut Stored> {
        self.pods
            .iter_mut()
            .find(|((_, n), _)| n == name)
            .map(|(_, s)| s)
    }

    pub fn find(&self, name: &str) -> Option<&Stored> {
        self.pods
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, s)| s)
    }

    /// A pod as the API server stores it on create: checked, then given a
    /// uid, a resource version, a creation time and a `Pending` status.
    pub fn create(
        &mut self,
        namespace: &str,
        mut pod: Pod,
        now: Timestamp,
    ) -> Result<Pod, ApiError> {
        if let Some(ns) = pod.metadata.namespace.as_deref()
            && !ns.is_empty()
            && ns != namespace
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the \
                 request",
            ));
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let causes = validate(&pod);
        if !causes.is_empty() {
            let listed: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            let message = match listed.as_slice() {
                [one] => format!("Pod \"{name}\" is invalid: {one}"),
                many => format!("Pod \"{name}\" is invalid: [{}]", many.join(", ")),
            };
            let mut e = ApiError::new(422, "Invalid", message).about(&name);
            e.causes = causes;
            return Err(e);
        }
        let key = (namespace.to_string(), name.clone());
        if self.pods.contains_key(&key) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("pods \"{name}\" already exists"),
            )
            .about(&name));
        }
        self.next_uid += 1;
        let meta = &mut pod.metadata;
        meta.namespace = Some(namespace.to_string());
        meta.uid = Some(format!("00000000-0000-4000-8000-{:012x}", self.next_uid));
        meta.creation_timestamp = Some(Time(whole_second(now)));
        meta.deletion_timestamp = None;
        meta.resource_version = Some(self.bump());
        pod.status = Some(PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some("BestEffort".into()),
            ..PodStatus::default()
        });
        self.pods.insert(
            key,
            Stored {
                pod: pod.clone(),
                logs: BTreeMap::new(),
            },
        );
        Ok(pod)
    }

    /// Changes the pod (or its logs) and gives it a new resource version.
    pub fn update(
        &mut self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Stored),
    ) -> bool {
        let version = self.bump();
        match self
            .pods
            .get_mut(&(namespace.to_string(), name.to_string()))
        {
            Some(stored) => {
                change(stored);
                stored.pod.metadata.resource_version = Some(version);
                true
            }
            None => false,
        }
    }

    /// Changes the first pod called `name` in any namespace.
    pub fn update_status(&mut self, name: &str, change: impl FnOnce(&mut Pod)) -> bool {
        let Some((ns, n)) = self.pods.keys().find(|(_, n)| n == name).cloned() else {
            return false;
        };
        self.update(&ns, &n, |s| change(&mut s.pod))
    }

    /// Marks the pod as being deleted (graceful deletion).
    pub fn mark_deleting(&mut self, namespace: &str, name: &str, now: Timestamp) -> Option<Pod> {
        let version = self.bump();
        let stored = self
            .pods
            .get_mut(&(namespace.to_string(), name.to_string()))?;
        let meta = &mut stored.pod.metadata;
        if meta.deletion_timestamp.is_none() {
            meta.deletion_timestamp = Some(Time(whole_second(now)));
            meta.deletion_grace_period_seconds = Some(30);
            meta.resource_version = Some(version);
        }
        Some(stored.pod.clone())
    }

    pub fn remove(&mut self, namespace: &str, name: &str) -> Option<Pod> {
        let stored = self
            .pods
            .remove(&(namespace.to_string(), name.to_string()))?;
        self.bump();
        Some(stored.pod)
    }

    /// A PipelineRun as the API server (and Tekton's admission webhook)
    /// stores it on create: checked, then given a uid, a resource version
    /// and a creation time. Tekton's controller writes `status` later.
    pub fn create_run(
        &mut self,
        namespace: &str,
        mut run: Value,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        let name = run
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = run.get("kind").and_then(Value::as_str).unwrap_or_default();
        let api_version = run
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != PIPELINE_RUN_KIND || api_version != PIPELINE_RUN_API_VERSION {
            return Err(ApiError::bad_request(format!(
                "the body of the request is a {api_version}/{kind}, not a \
                 {PIPELINE_RUN_API_VERSION}/{PIPELINE_RUN_KIND}"
            )));
        }
        if let Some(ns) = run.pointer("/metadata/namespace").and_then(Value::as_str)
            && !ns.is_empty()
            && ns != namespace
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the \
                 request",
            ));
        }
        let invalid = |cause: (&str, String)| {
            let mut e = ApiError::new(
                422,
                "Invalid",
                format!(
                    "{PIPELINE_RUN_KIND}.{TEKTON_GROUP} \"{name}\" is invalid: {}: {}",
                    cause.0, cause.1
                ),
            )
            .about_pipeline_run(&name);
            e.causes = vec![(cause.0.to_string(), cause.1)];
            e
        };
        if name.is_empty() {
            return Err(invalid((
                "metadata.name",
                "Required value: name or generateName is required".into(),
            )));
        }
        if !is_dns_subdomain(&name) {
            return Err(invalid((
                "metadata.name",
                format!("Invalid value: \"{name}\": a lowercase RFC 1123 subdomain"),
            )));
        }
        if !run.get("spec").is_some_and(Value::is_object) {
            return Err(invalid(("spec", "Required value".into())));
        }
        if let Some(why) = webhook_denial(&run) {
            return Err(ApiError::bad_request(format!(
                "admission webhook \"validation.webhook.pipeline.tekton.dev\" denied the \
                 request: validation failed: {why}"
            )));
        }
        let key = (namespace.to_string(), name.clone());
        if self.runs.contains_key(&key) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{PIPELINE_RUNS}.{TEKTON_GROUP} \"{name}\" already exists"),
            )
            .about_pipeline_run(&name));
        }
        self.next_uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.next_uid);
        let version = self.bump();
        if let Some(meta) = run.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(namespace));
            meta.insert("uid".into(), json!(uid));
            meta.insert("resourceVersion".into(), json!(version));
            meta.insert("creationTimestamp".into(), json!(rfc3339(now)));
        }
        self.runs.insert(key, run.clone());
        Ok(run)
    }

    /// Changes the first PipelineRun called `name` in any namespace and gives
    /// it a new resource version.
    pub fn update_run(&mut self, name: &str, change: impl FnOnce(&mut Value)) -> bool {
        let version = self.bump();
        let Some(run) = self
            .runs
            .iter_mut()
            .find(|((_, n), _)| n == name)
            .map(|(_, r)| r)
        else {
            return false;
        };
        change(run);
        if let Some(meta) = run.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(version));
        }
        true
    }

    pub fn remove_run(&mut self, namespace: &str, name: &str) -> Option<Value> {
        let run = self
            .runs
            .remove(&(namespace.to_string(), name.to_string()))?;
        self.bump();
        Some(run)
    }

    pub fn list_runs(&self, namespace: &str, selector: &Selector) -> Vec<Value> {
        self.runs
            .iter()
            .filter(|((ns, _), run)| {
                let labels: Option<BTreeMap<String, String>> = run
                    .pointer("/metadata/labels")
                    .and_then(|l| serde_json::from_value(l.clone()).ok());
                ns == namespace && selector.matches_labels(labels.as_ref())
            })
            .map(|(_, run)| run.clone())
            .collect()
    }

    pub fn list(&self, namespace: &str, selector: &Selector) -> Vec<Pod> {
        self.pods
            .iter()
            .filter(|((ns, _), s)| ns == namespace && selector.matches(&s.pod))
            .map(|(_, s)| s.pod.clone())
            .collect()
    }

    /// A container's log, as `GET …/log?container=` answers.
    pub fn log(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
    ) -> Result<String, ApiError> {
        let stored = self
            .pods
            .get(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| ApiError::not_found(name))?;
        let names: Vec<&str> = stored
            .pod
            .spec
            .iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            })
            .map(|c| c.name.as_str())
            .collect();
        let container = match container {
            Some(c) if names.contains(&c) => c,
            Some(c) => {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            None => match names.as_slice() {
                [only] => only,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "a container name must be specified for pod {name}, choose one of: [{}]",
                        names.join(" ")
                    )));
                }
            },
        };
        if let Some(log) = stored.logs.get(container) {
            return Ok(log.clone());
        }
        let started = stored
            .pod
            .status
            .iter()
            .flat_map(|s| {
                s.container_statuses
                    .iter()
                    .flatten()
                    .chain(s.init_container_statuses.iter().flatten())
            })
            .any(|c| {
                c.name == container
                    && c.state
                        .as_ref()
                        .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
            });
        if started {
            Ok(String::new())
        } else {
            Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
            )))
        }
    }
}

/// Kubernetes times have whole seconds on the wire.
fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// A time as Kubernetes writes it in JSON: RFC 3339, whole seconds, UTC.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    whole_second(t).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What Tekton's validating webhook refuses that Skiff could send: two
/// params of one name, and a pipeline task without a name (Prow's
/// substituted git task has none).
fn webhook_denial(run: &Value) -> Option<String> {
    let params = run.pointer("/spec/params").and_then(Value::as_array);
    let mut seen: Vec<&str> = Vec::new();
    for (i, p) in params.into_iter().flatten().enumerate() {
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        if let Some(first) = seen.iter().position(|s| *s == name) {
            return Some(format!(
                "parameter names must be unique, the parameter \"{name}\" is also defined at: \
                 spec.params[{first}].name, spec.params[{i}].name"
            ));
        }
        seen.push(name);
    }
    let tasks = run
        .pointer("/spec/pipelineSpec/tasks")
        .and_then(Value::as_array);
    for (i, t) in tasks.into_iter().flatten().enumerate() {
        if t.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            return Some(format!(
                "missing field(s): spec.pipelineSpec.tasks[{i}].name"
            ));
        }
    }
    None
}

/// A label selector of equality (`a=b`, `a==b`), inequality (`a!=b`) and
/// existence (`a`, `!a`) requirements.
#[derive(Debug, Default)]
pub(crate) struct Selector(Vec<Requirement>);

#[derive(Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
}

impl Selector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                ApiError::bad_request(format!(
                    "unable to parse requirement: {part:?}: this fake understands =, ==, != and \
                     existence only"
                ))
            };
            let req = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(k.trim().into())
            } else if part.contains(' ') || part.contains('(') {
                return Err(bad());
            } else {
                Requirement::Exists(part.into())
            };
            out.push(req);
        }
        Ok(Self(out))
    }

    fn matches(&self, pod: &Pod) -> bool {
        self.matches_labels(pod.metadata.labels.as_ref())
    }

    pub fn matches_labels(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v),
            Requirement::NotEquals(k, v) => get(k) != Some(v),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::Absent(k) => get(k).is_none(),
        })
    }
}

/// What the API server's validation would refuse, as `(field, message)`.
fn validate(pod: &Pod) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    match pod.metadata.name.as_deref() {
        None | Some("") => causes.push((
            "metadata.name".into(),
            "Required value: name or generateName is required".into(),
        )),
        Some(name) if !is_dns_subdomain(name) => causes.push((
            "metadata.name".into(),
            format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower \
                 case alphanumeric characters, '-' or '.', and must start and end with an \
                 alphanumeric character"
            ),
        )),
        Some(_) => {}
    }
    let Some(spec) = &pod.spec else {
        causes.push(("spec".into(), "Required value".into()));
        return causes;
    };
    if spec.containers.is_empty() {
        causes.push(("spec.containers".into(), "Required value".into()));
    }
    let mut seen = Vec::new();
    let all = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| ("spec.initContainers", c))
        .collect::<Vec<_>>();
    let indexed = all.into_iter().enumerate().chain(
        spec.containers
            .iter()
            .map(|c| ("spec.containers", c))
            .enumerate(),
    );
    for (i, (field, c)) in indexed {
        if c.name.is_empty() {
            causes.push((format!("{field}[{i}].name"), "Required value".into()));
        } else if !is_dns_label(&c.name) {
            causes.push((
                format!("{field}[{i}].name"),
                format!("Invalid value: \"{}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", c.name),
            ));
        } else if seen.contains(&c.name) {
            causes.push((
                format!("{field}[{i}].name"),
                format!("Duplicate value: \"{}\"", c.name),
            ));
        } else {
            seen.push(c.name.clone());
        }
        if c.image.as_deref().unwrap_or("").is_empty() {
            causes.push((format!("{field}[{i}].image"), "Required value".into()));
        }
    }
    if let Some(policy) = spec.restart_policy.as_deref()
        && !["Always", "OnFailure", "Never"].contains(&policy)
    {
        causes.push((
            "spec.restartPolicy".into(),
            format!("Unsupported value: \"{policy}\": supported values: \"Always\", \"OnFailure\", \"Never\""),
        ));
    }
    causes
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The test container's name: `test`, or the first container's.
pub(crate) fn test_container(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::Container> {
    let containers = &pod.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == TEST_CONTAINER_NAME)
        .or(containers.first())
}

fn container_names(pod: &Pod) -> Vec<(String, Option<String>)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| (c.name.clone(), c.image.clone()))
        .collect()
}

/// The kubelet started the pod: `Running`, scheduled, every container running.
pub(crate) fn set_running(pod: &mut Pod, now: Timestamp) {
    let now = Time(whole_second(now));
    let statuses = container_names(pod)
        .into_iter()
        .map(|(name, image)| ContainerStatus {
            name,
            image: image.unwrap_or_default(),
            ready: true,
            started: Some(true),
            state: Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(now.clone()),
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        })
        .collect();
    let status = pod.status.get_or_insert_with(PodStatus::default);
    status.phase = Some("Running".into());
    status.start_time = Some(now.clone());
    status.conditions = Some(vec![PodCondition {
        type_: "PodScheduled".into(),
        status: "True".into(),
        last_transition_time: Some(now),
        ..PodCondition::default()
    }]);
    status.container_statuses = Some(statuses);
}

/// The pod's containers ended: the test container with `exit_code`, the
/// others with 0; `Succeeded` if that is 0, else `Failed`.
pub(crate) fn set_finished(pod: &mut Pod, exit_code: i32, now: Timestamp) {
    let now = Time(whole_second(now));
    let test = test_container(pod).map(|c| c.name.clone());
    let started = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.clone())
        .unwrap_or_else(|| now.clone());
    let statuses = container_names(pod)
        .into_iter()
        .map(|(name, image)| {
            let code = if Some(&name) == test.as_ref() {
                exit_code
            } else {
                0
            };
            ContainerStatus {
                name,
                image: image.unwrap_or_default(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: code,
                        reason: Some(if code == 0 { "Completed" } else { "Error" }.into()),
                        started_at: Some(started.clone()),
                        finished_at: Some(now.clone()),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }
        })
        .collect();
    let status = pod.status.get_or_insert_with(PodStatus::default);
    status.phase = Some(
        if exit_code == 0 {
            "Succeeded"
        } else {
            "Failed"
        }
        .into(),
    );
    status.start_time = Some(started);
    status.container_statuses = Some(statuses);
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn now() -> Timestamp {
        "2026-11-23T10:00:00.5Z".parse().unwrap()
    }

    fn pod(name: &str, containers: &[(&str, &str)]) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([("app".to_string(), name.to_string())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                containers: containers
                    .iter()
                    .map(|(n, image)| Container {
                        name: n.to_string(),
                        image: (!image.is_empty()).then(|| image.to_string()),
                        ..Container::default()
                    })
                    .collect(),
                ..PodSpec::default()
            }),
            status: None,
        }
    }

    #[test]
    fn create_stamps_uid_version_time_and_pending() {
        let mut s = Store::default();
        let p = s
            .create("ns", pod("a", &[("test", "alpine")]), now())
            .unwrap();
        assert_eq!(p.metadata.namespace.as_deref(), Some("ns"));
        assert!(p.metadata.uid.is_some());
        assert_eq!(p.metadata.resource_version.as_deref(), Some("1"));
        assert_eq!(
            p.metadata.creation_timestamp,
            Some(Time("2026-11-23T10:00:00Z".parse().unwrap()))
        );
        assert_eq!(p.status.unwrap().phase.as_deref(), Some("Pending"));
        let q = s
            .create("ns", pod("b", &[("test", "alpine")]), now())
            .unwrap();
        assert_ne!(q.metadata.uid, Some(String::new()));
        assert_ne!(q.metadata.uid, s.find("a").unwrap().pod.metadata.uid);
        assert_eq!(q.metadata.resource_version.as_deref(), Some("2"));
    }

    #[test]
    fn create_refuses_what_the_api_server_refuses() {
        let mut s = Store::default();
        s.create("ns", pod("taken", &[("test", "alpine")]), now())
            .unwrap();
        let cases = [
            (
                pod("taken", &[("test", "alpine")]),
                409,
                "pods \"taken\" already exists",
            ),
            (
                pod("empty", &[]),
                422,
                "Pod \"empty\" is invalid: spec.containers: Required value",
            ),
            (
                pod("Bad_Name", &[("test", "alpine")]),
                422,
                "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"",
            ),
            (
                pod("no-image", &[("test", "")]),
                422,
                "Pod \"no-image\" is invalid: spec.containers[0].image: Required value",
            ),
            (
                pod("twice", &[("a", "x"), ("a", "x")]),
                422,
                "spec.containers[1].name: Duplicate value: \"a\"",
            ),
        ];
        for (p, code, message) in cases {
            let e = s.create("ns", p, now()).unwrap_err();
            assert_eq!(e.code, code, "{message}");
            assert!(e.message.contains(message), "{} vs {message}", e.message);
        }
        let mut elsewhere = pod("x", &[("test", "alpine")]);
        elsewhere.metadata.namespace = Some("other".into());
        assert_eq!(s.create("ns", elsewhere, now()).unwrap_err().code, 400);
    }

    #[test]
    fn selectors_filter_by_equality_inequality_and_existence() {
        let mut s = Store::default();
        for name in ["a", "b"] {
            s.create("ns", pod(name, &[("test", "x")]), now()).unwrap();
        }
        s.create("other", pod("a", &[("test", "x")]), now())
            .unwrap();
        let names = |sel: &str| -> Vec<String> {
            s.list("ns", &Selector::parse(sel).unwrap())
                .into_iter()
                .map(|p| p.metadata.name.unwrap())
                .collect()
        };
        assert_eq!(names(""), ["a", "b"]);
        assert_eq!(names("app=a"), ["a"]);
        assert_eq!(names("app==b"), ["b"]);
        assert_eq!(names("app!=a"), ["b"]);
        assert_eq!(names("app"), ["a", "b"]);
        assert_eq!(names("!app"), Vec::<String>::new());
        assert_eq!(names("app=a,app=b"), Vec::<String>::new());
        assert!(Selector::parse("app in (a,b)").is_err());
    }

    #[test]
    fn logs_need_a_started_container_or_a_set_log() {
        let mut s = Store::default();
        s.create("ns", pod("p", &[("test", "x"), ("sidecar", "y")]), now())
            .unwrap();
        assert_eq!(s.log("ns", "p", None).unwrap_err().code, 400);
        assert!(
            s.log("ns", "p", Some("test"))
                .unwrap_err()
                .message
                .contains("waiting to start")
        );
        assert_eq!(s.log("ns", "gone", Some("test")).unwrap_err().code, 404);
        assert_eq!(s.log("ns", "p", Some("nope")).unwrap_err().code, 400);
        s.update_status("p", |p| set_running(p, now()));
        assert_eq!(s.log("ns", "p", Some("test")).unwrap(), "");
        s.find_mut("p")
            .unwrap()
            .logs
            .insert("test".into(), "hello\n".into());
        assert_eq!(s.log("ns", "p", Some("test")).unwrap(), "hello\n");
    }

    #[test]
    fn finishing_ends_the_test_container_with_the_code_and_the_rest_with_zero() {
        let mut p = pod("p", &[("sidecar", "y"), ("test", "x")]);
        set_running(&mut p, now());
        set_finished(&mut p, 3, now());
        let status = p.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let codes: Vec<(String, i32)> = status
            .container_statuses
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.state.unwrap().terminated.unwrap().exit_code))
            .collect();
        assert_eq!(codes, [("sidecar".to_string(), 0), ("test".to_string(), 3)]);
    }
}
