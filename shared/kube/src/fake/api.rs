//! The fake's HTTP side: recording, authentication, injected failures,
//! routing to the store, and answers in the API server's wire format.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::store::{self, ApiError, Selector};
use super::{Auth, RecordedRequest, Shared, tekton};

const PODS_PREFIX: &str = "/api/v1/namespaces/";
const EKS_PREFIX: &str = "/clusters/";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.state().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_string();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let failure = {
        let mut state = shared.state();
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_string),
            body: String::from_utf8_lossy(&body).into_owned(),
            bearer: bearer.clone(),
        });
        if let Some(name) = path.strip_prefix(EKS_PREFIX) {
            return describe_cluster(name, state.eks_clusters.get(name).map(String::as_str));
        }
        if !authorized(&state.auth, bearer.as_deref()) {
            return status(ApiError::new(401, "Unauthorized", "Unauthorized"));
        }
        let matching = state
            .matching_failures
            .iter_mut()
            .find(|(m, fragment, codes)| {
                m == method.as_str() && path.contains(fragment.as_str()) && !codes.is_empty()
            })
            .and_then(|(_, _, codes)| codes.pop_front());
        matching.or_else(|| state.failures.pop_front())
    };
    if let Some(code) = failure {
        let reason = ApiError::reason_for(code);
        return status(ApiError::new(
            code,
            reason,
            format!("injected failure: {code} {reason}"),
        ));
    }

    if let Some(rest) = path.strip_prefix(tekton::PREFIX) {
        return tekton::handle(&shared, &method, rest, &uri, &body);
    }
    let Some(rest) = path.strip_prefix(PODS_PREFIX) else {
        return not_routed();
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (segments.as_slice(), &method) {
        ([ns, "pods"], &Method::POST) => create(&shared, ns, &body),
        ([ns, "pods"], &Method::GET) => list(&shared, ns, &uri),
        ([ns, "pods", name], &Method::GET) => get(&shared, ns, name),
        ([ns, "pods", name], &Method::DELETE) => delete(&shared, ns, name),
        ([ns, "pods", name, "log"], &Method::GET) => log(&shared, ns, name, &uri),
        ([_, "pods"] | [_, "pods", _] | [_, "pods", _, "log"], _) => status(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )),
        _ => not_routed(),
    }
}

pub(super) fn not_routed() -> Response {
    status(ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    ))
}

fn authorized(auth: &Auth, bearer: Option<&str>) -> bool {
    match auth {
        Auth::Any => true,
        Auth::Token(want) => bearer == Some(want.as_str()),
        Auth::Eks => bearer.is_some_and(is_eks_token),
    }
}

/// `k8s-aws-v1.` + base64url(no padding) of a presigned STS
/// `GetCallerIdentity` URL signing `host;x-k8s-aws-id`.
fn is_eks_token(token: &str) -> bool {
    let Some(encoded) = token.strip_prefix("k8s-aws-v1.") else {
        return false;
    };
    let Ok(url) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else {
        return false;
    };
    let url = String::from_utf8_lossy(&url);
    url.starts_with("https://sts.")
        && url.contains("/?Action=GetCallerIdentity&Version=2011-06-15&")
        && url.contains("&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&")
        && url.contains("&X-Amz-Signature=")
}

pub(super) fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn pod_response(code: StatusCode, pod: &Pod) -> Response {
    match serde_json::to_value(pod) {
        Ok(v) => json_response(code, &v),
        Err(e) => status(ApiError::new(
            500,
            "InternalError",
            format!("encoding pod: {e}"),
        )),
    }
}

/// A Kubernetes `Status` object for the error.
pub(super) fn status(e: ApiError) -> Response {
    let mut details = serde_json::Map::new();
    if let Some(name) = &e.name {
        details.insert("name".into(), json!(name));
        if !e.resource.group().is_empty() {
            details.insert("group".into(), json!(e.resource.group()));
        }
        details.insert("kind".into(), json!(e.resource.kind()));
    }
    if !e.causes.is_empty() {
        let causes: Vec<Value> = e
            .causes
            .iter()
            .map(|(field, message)| {
                json!({"reason": "FieldValueInvalid", "message": message, "field": field})
            })
            .collect();
        details.insert("causes".into(), Value::Array(causes));
    }
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": e.message,
        "reason": e.reason,
        "code": e.code,
    });
    if !details.is_empty() {
        body["details"] = Value::Object(details);
    }
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &body)
}

fn create(shared: &Arc<Shared>, ns: &str, body: &[u8]) -> Response {
    let pod: Pod = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return status(ApiError::bad_request(format!(
                "the body of the request is not a Pod: {e}"
            )));
        }
    };
    let now = Timestamp::now();
    let (created, kubelet) = {
        let mut state = shared.state();
        let created = match state.store.create(ns, pod, now) {
            Ok(p) => p,
            Err(e) => return status(e),
        };
        let kubelet = state.kubelet.clone();
        if kubelet.is_some() {
            let name = created.metadata.name.clone().unwrap_or_default();
            state
                .store
                .update(ns, &name, |s| store::set_running(&mut s.pod, now));
        }
        (created, kubelet)
    };
    if let Some(kubelet) = kubelet {
        spawn_finish(shared.clone(), ns.to_string(), created.clone(), kubelet);
    }
    pod_response(StatusCode::CREATED, &created)
}

/// The exit code the auto-kubelet gives: N for `exit N` in the test
/// container's command and args joined by spaces, else 0.
fn exit_code(pod: &Pod) -> i32 {
    let Some(c) = store::test_container(pod) else {
        return 0;
    };
    let line = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    line.match_indices("exit ")
        .find_map(|(i, m)| {
            let digits: String = line[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<i64>().ok()
        })
        .map_or(0, |n| i32::try_from(n % 256).unwrap_or(1))
}

fn spawn_finish(shared: Arc<Shared>, ns: String, pod: Pod, kubelet: super::Kubelet) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone();
    let code = exit_code(&pod);
    let test = store::test_container(&pod);
    let test_name = test.map(|c| c.name.clone()).unwrap_or_default();
    let log = kubelet.log.clone().unwrap_or_else(|| {
        let args = test.and_then(|c| c.args.clone()).unwrap_or_default();
        if args.is_empty() {
            String::new()
        } else {
            format!("{}\n", args.join(" "))
        }
    });
    tokio::spawn(async move {
        tokio::time::sleep(kubelet.finish_after).await;
        let mut state = shared.state();
        let ours = state
            .store
            .pods
            .get(&(ns.clone(), name.clone()))
            .is_some_and(|s| {
                // A pod deleted and made again, or being deleted, is not
                // this run's.
                s.pod.metadata.uid == uid && s.pod.metadata.deletion_timestamp.is_none()
            });
        if ours {
            state.store.update(&ns, &name, |s| {
                s.logs.entry(test_name).or_insert(log);
                store::set_finished(&mut s.pod, code, Timestamp::now());
            });
        }
    });
}

fn list(shared: &Arc<Shared>, ns: &str, uri: &Uri) -> Response {
    let params: Vec<(String, String)> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let selector = params
        .iter()
        .find(|(k, _)| k == "labelSelector")
        .map_or("", |(_, v)| v.as_str());
    let selector = match Selector::parse(selector) {
        Ok(s) => s,
        Err(e) => return status(e),
    };
    let state = shared.state();
    let items: Vec<Value> = state
        .store
        .list(ns, &selector)
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": state.store.revision()},
            "items": items,
        }),
    )
}

fn get(shared: &Arc<Shared>, ns: &str, name: &str) -> Response {
    let state = shared.state();
    match state.store.pods.get(&(ns.to_string(), name.to_string())) {
        Some(stored) => pod_response(StatusCode::OK, &stored.pod),
        None => status(ApiError::not_found(name)),
    }
}

fn delete(shared: &Arc<Shared>, ns: &str, name: &str) -> Response {
    let mut state = shared.state();
    let graceful = state.graceful;
    let result = match graceful {
        None => state.store.remove(ns, name),
        Some(after) => {
            let marked = state.store.mark_deleting(ns, name, Timestamp::now());
            if let Some(pod) = &marked {
                spawn_removal(shared.clone(), ns.to_string(), pod, after);
            }
            marked
        }
    };
    match result {
        Some(pod) => pod_response(StatusCode::OK, &pod),
        None => status(ApiError::not_found(name)),
    }
}

fn spawn_removal(shared: Arc<Shared>, ns: String, pod: &Pod, after: Duration) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut state = shared.state();
        let same = state
            .store
            .pods
            .get(&(ns.clone(), name.clone()))
            .is_some_and(|s| s.pod.metadata.uid == uid);
        if same {
            state.store.remove(&ns, &name);
        }
    });
}

fn log(shared: &Arc<Shared>, ns: &str, name: &str, uri: &Uri) -> Response {
    let params: Vec<(String, String)> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let container = params
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.as_str());
    match shared.state().store.log(ns, name, container) {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response(),
        Err(e) => status(e),
    }
}

/// `eks:DescribeCluster`'s answer (REST-JSON), as EKS gives it.
fn describe_cluster(name: &str, endpoint: Option<&str>) -> Response {
    let Some(endpoint) = endpoint else {
        return (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::HeaderName::from_static("x-amzn-errortype"),
                    "ResourceNotFoundException",
                ),
            ],
            json!({"message": format!("No cluster found for name: {name}.")}).to_string(),
        )
            .into_response();
    };
    let ca = base64::engine::general_purpose::STANDARD.encode(super::tls::CA_PEM);
    json_response(
        StatusCode::OK,
        &json!({"cluster": {
            "name": name,
            "arn": format!("arn:aws:eks:us-east-1:123456789012:cluster/{name}"),
            "endpoint": endpoint,
            "status": "ACTIVE",
            "version": "1.33",
            "certificateAuthority": {"data": ca},
        }}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn with_command(command: &[&str], args: &[&str]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "test".into(),
                    command: Some(command.iter().map(|s| s.to_string()).collect()),
                    args: Some(args.iter().map(|s| s.to_string()).collect()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn auto_kubelet_exit_code_is_the_n_of_exit_n_in_command_and_args() {
        let cases = [
            (&["sh", "-c"][..], &["echo hi; exit 3"][..], 3),
            (&["sh", "-c", "exit 0"], &[], 0),
            (&["make", "test"], &[], 0),
            (&["sh", "-c"], &["exit"], 0),
            (&["sh", "-c"], &["exit 300"], 44),
            (&["sh"], &["-c", "exit", "7"], 7),
        ];
        for (command, args, want) in cases {
            assert_eq!(
                exit_code(&with_command(command, args)),
                want,
                "{command:?} {args:?}"
            );
        }
    }

    #[test]
    fn eks_tokens_are_recognised_by_shape() {
        let url = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=ab";
        let token = format!(
            "k8s-aws-v1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        );
        assert!(is_eks_token(&token));
        assert!(!is_eks_token("skiff-fake-token"));
        assert!(!is_eks_token("k8s-aws-v1.not-base64!"));
        let unsigned_header = url.replace("host%3Bx-k8s-aws-id", "host");
        let token = format!(
            "k8s-aws-v1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(unsigned_header)
        );
        assert!(!is_eks_token(&token));
    }
}
