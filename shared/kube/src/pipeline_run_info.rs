//! A Tekton PipelineRun, as the API returns it, read into what the syncer
//! decides on ([`PipelineRunInfo`]). Pure: one rule per field, pinned below.
//!
//! - `created`: `metadata.creationTimestamp`; `deleting`:
//!   `metadata.deletionTimestamp` is set;
//! - `start_time`, `completion_time`: `status.startTime`,
//!   `status.completionTime` (RFC 3339; a value that does not parse is
//!   treated as absent);
//! - `succeeded`: the entry of `status.conditions` with `type: Succeeded`
//!   (Tekton's knative-style status): `status` `True`, `False`, anything
//!   else `Unknown`, with its `reason` and `message`.

use jiff::Timestamp;
use kube::api::DynamicObject;
use serde_json::Value;
use skiff_core::ports::{ConditionStatus, PipelineRunInfo, SucceededCondition};

/// What the syncer needs to know about `run`. See the module documentation.
pub fn pipeline_run_info(run: &DynamicObject) -> PipelineRunInfo {
    let status = run.data.get("status");
    let time = |key: &str| {
        status
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
    };
    PipelineRunInfo {
        name: run.metadata.name.clone().unwrap_or_default(),
        labels: run.metadata.labels.clone().unwrap_or_default(),
        created: run.metadata.creation_timestamp.as_ref().map(|t| t.0),
        start_time: time("startTime"),
        completion_time: time("completionTime"),
        succeeded: status.and_then(succeeded),
        deleting: run.metadata.deletion_timestamp.is_some(),
    }
}

fn succeeded(status: &Value) -> Option<SucceededCondition> {
    let cond = status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Succeeded"))?;
    let text = |key: &str| {
        cond.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let status = match cond.get("status").and_then(Value::as_str) {
        Some("True") => ConditionStatus::True,
        Some("False") => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    };
    Some(SucceededCondition {
        status,
        reason: text("reason"),
        message: text("message"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(value: Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn fields_come_from_metadata_status_and_the_succeeded_condition() {
        let got = pipeline_run_info(&run(json!({
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": "j1",
                "namespace": "ns",
                "labels": {"created-by-prow": "true"},
                "creationTimestamp": "2026-11-23T10:00:00Z",
                "deletionTimestamp": "2026-11-23T10:05:00Z"
            },
            "spec": {},
            "status": {
                "startTime": "2026-11-23T10:00:01Z",
                "completionTime": "2026-11-23T10:04:00Z",
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Succeeded", "status": "False", "reason": "Failed",
                     "message": "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"}
                ]
            }
        })));
        let t = |s: &str| Some(s.parse::<Timestamp>().unwrap());
        assert_eq!(
            got,
            PipelineRunInfo {
                name: "j1".into(),
                labels: [("created-by-prow".to_string(), "true".to_string())].into(),
                created: t("2026-11-23T10:00:00Z"),
                start_time: t("2026-11-23T10:00:01Z"),
                completion_time: t("2026-11-23T10:04:00Z"),
                succeeded: Some(SucceededCondition {
                    status: ConditionStatus::False,
                    reason: "Failed".into(),
                    message: "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0".into(),
                }),
                deleting: true,
            }
        );
    }

    #[test]
    fn condition_status_is_true_false_or_else_unknown() {
        let cases = [
            (json!("True"), ConditionStatus::True),
            (json!("False"), ConditionStatus::False),
            (json!("Unknown"), ConditionStatus::Unknown),
            (json!("Maybe"), ConditionStatus::Unknown),
            (json!(null), ConditionStatus::Unknown),
        ];
        for (status, want) in cases {
            let info = pipeline_run_info(&run(json!({
                "metadata": {"name": "j"},
                "status": {"conditions": [{"type": "Succeeded", "status": status}]}
            })));
            assert_eq!(info.succeeded.map(|c| c.status), Some(want), "{status}");
        }
    }

    #[test]
    fn a_fresh_run_has_no_condition_and_no_times() {
        for value in [
            json!({"metadata": {"name": "j"}}),
            json!({"metadata": {"name": "j"}, "status": {}}),
            json!({"metadata": {"name": "j"}, "status": {"startTime": "soon", "conditions": "x"}}),
        ] {
            let info = pipeline_run_info(&run(value.clone()));
            assert_eq!(info.succeeded, None, "{value}");
            assert_eq!(info.start_time, None, "{value}");
            assert!(!info.deleting);
        }
    }
}
