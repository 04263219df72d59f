//! The fake's Tekton side: `tekton.dev/v1` PipelineRuns (create, list by
//! label, get, delete) and the status Tekton's controller would write. No
//! Tekton controller runs: a run's status changes only when a test says so.

use std::sync::Arc;

use axum::extract::Query;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use skiff_core::prowjob::pipeline_run::{PIPELINE_RUN_API_VERSION, PIPELINE_RUN_KIND};

use super::Shared;
use super::api::{json_response, not_routed, status};
use super::store::{ApiError, Selector, rfc3339};

/// Where namespaced PipelineRun paths start.
pub(super) const PREFIX: &str = "/apis/tekton.dev/v1/namespaces/";

pub(super) fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &str,
    uri: &Uri,
    body: &[u8],
) -> Response {
    // A cluster without Tekton has no such API: the API server's 404.
    if !shared.state().tekton {
        return not_routed();
    }
    let segments: Vec<&str> = rest.split('/').collect();
    match (segments.as_slice(), method) {
        ([ns, "pipelineruns"], &Method::POST) => create(shared, ns, body),
        ([ns, "pipelineruns"], &Method::GET) => list(shared, ns, uri),
        ([ns, "pipelineruns", name], &Method::GET) => get(shared, ns, name),
        ([ns, "pipelineruns", name], &Method::DELETE) => delete(shared, ns, name),
        ([_, "pipelineruns"] | [_, "pipelineruns", _], _) => status(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )),
        _ => not_routed(),
    }
}

fn create(shared: &Arc<Shared>, ns: &str, body: &[u8]) -> Response {
    let run: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return status(ApiError::bad_request(
                "the body of the request is not an object",
            ));
        }
        Err(e) => {
            return status(ApiError::bad_request(format!(
                "the body of the request is not JSON: {e}"
            )));
        }
    };
    match shared.state().store.create_run(ns, run, Timestamp::now()) {
        Ok(created) => json_response(StatusCode::CREATED, &created),
        Err(e) => status(e),
    }
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
    json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{PIPELINE_RUN_KIND}List"),
            "apiVersion": PIPELINE_RUN_API_VERSION,
            "metadata": {"resourceVersion": state.store.revision()},
            "items": state.store.list_runs(ns, &selector),
        }),
    )
}

fn get(shared: &Arc<Shared>, ns: &str, name: &str) -> Response {
    let state = shared.state();
    match state.store.runs.get(&(ns.to_string(), name.to_string())) {
        Some(run) => json_response(StatusCode::OK, run),
        None => status(ApiError::pipeline_run_not_found(name)),
    }
}

fn delete(shared: &Arc<Shared>, ns: &str, name: &str) -> Response {
    match shared.state().store.remove_run(ns, name) {
        Some(run) => json_response(StatusCode::OK, &run),
        None => status(ApiError::pipeline_run_not_found(name)),
    }
}

/// Tekton picked the run up: `startTime` and `Succeeded` `Unknown`/`Running`.
pub(super) fn set_started(run: &mut Value, now: Timestamp) {
    with_status(run, |status| {
        status.insert("startTime".into(), json!(rfc3339(now)));
        status.insert(
            "conditions".into(),
            json!([{
                "type": "Succeeded",
                "status": "Unknown",
                "reason": "Running",
                "message": "Tasks Completed: 0 (Failed: 0, Cancelled 0), Skipped: 0",
                "lastTransitionTime": rfc3339(now),
            }]),
        );
    });
}

/// The run ended: `completionTime` and `Succeeded` `True` or `False` with
/// `reason` and Tekton's task summary as the message.
pub(super) fn set_finished(run: &mut Value, succeeded: bool, reason: &str, now: Timestamp) {
    with_status(run, |status| {
        status
            .entry("startTime")
            .or_insert_with(|| json!(rfc3339(now)));
        status.insert("completionTime".into(), json!(rfc3339(now)));
        let failed = u8::from(!succeeded);
        status.insert(
        "conditions".into(),
        json!([{
            "type": "Succeeded",
            "status": if succeeded { "True" } else { "False" },
            "reason": reason,
            "message": format!("Tasks Completed: 1 (Failed: {failed}, Cancelled 0), Skipped: 0"),
            "lastTransitionTime": rfc3339(now),
        }]),
    );
    });
}

/// Applies `change` to the run's `status` (made an empty one if missing).
fn with_status(run: &mut Value, change: impl FnOnce(&mut Map<String, Value>)) {
    // Stored runs are objects: create refuses anything else.
    let Some(object) = run.as_object_mut() else {
        return;
    };
    let slot = object.entry("status").or_insert(Value::Null);
    let mut status = match std::mem::take(slot) {
        Value::Object(status) => status,
        _ => Map::new(),
    };
    change(&mut status);
    *slot = Value::Object(status);
}
