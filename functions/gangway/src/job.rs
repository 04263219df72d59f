//! The job record a request makes, and what a record says back: Prow's
//! `HandleProwJob` without the store (also what `skiff run --print`
//! prints), and the `JobExecution` of a stored record.

use skiff_core::config::Config;
use skiff_core::prowjob::artifacts::artifact_path;
use skiff_core::prowjob::from_config::{FromConfigError, configured_job};
use skiff_core::prowjob::new::new_prow_job;
use skiff_core::prowjob::{ProwJob, ProwJobType};

use crate::GangwayError;
use crate::wire::{
    CreateJobExecutionRequest, ExecutionStatus, ExecutionType, JobExecution, WireRefs,
};

/// The annotation that records which verified principal started a job.
pub const CALLER_ANNOTATION: &str = "skiff.dev/gangway-caller";

/// The record `req` asks for, with id `id`, started at `now`: the job as
/// the config has it now (`configured_job`), the request's labels and
/// annotations over the job's own (then Prow's, which no request can
/// override), and the request's environment variables appended to every
/// container of the pod spec, as Prow's gangway does (a job without a pod
/// spec, on Jenkins or Tekton, gets none). `caller`, when verified, is kept
/// in an annotation.
pub fn build_job(
    config: &Config,
    req: &CreateJobExecutionRequest,
    id: String,
    now: jiff::Timestamp,
    caller: Option<&str>,
) -> Result<ProwJob, GangwayError> {
    req.validate().map_err(GangwayError::BadRequest)?;
    let kind = match req.job_execution_type.job_type() {
        Some(k @ (ProwJobType::Periodic | ProwJobType::Postsubmit | ProwJobType::Presubmit)) => k,
        _ => {
            return Err(GangwayError::BadRequest(format!(
                "unsupported JobExecutionType type: {}",
                req.job_execution_type
            )));
        }
    };
    let refs = req.refs.as_ref().map(WireRefs::to_refs);
    let job = configured_job(config, kind, &req.job_name, refs.as_ref()).map_err(|e| match e {
        FromConfigError::NoPeriodic(_)
        | FromConfigError::NotFound { .. }
        | FromConfigError::NotForBranch { .. } => GangwayError::NotFound(e.to_string()),
        FromConfigError::NoRefs(_)
        | FromConfigError::BadRefs(_)
        | FromConfigError::Ambiguous { .. }
        | FromConfigError::Unsupported(_) => GangwayError::BadRequest(e.to_string()),
    })?;
    let options = req.pod_spec_options.clone().unwrap_or_default();
    let mut labels = job.labels;
    labels.extend(options.labels);
    let mut annotations = job.annotations;
    annotations.extend(options.annotations);
    if let Some(caller) = caller {
        annotations.insert(CALLER_ANNOTATION.to_string(), caller.to_string());
    }
    let mut record = new_prow_job(job.spec, id, &labels, &annotations, now);
    if let Some(pod) = record.spec.pod_spec.as_mut() {
        for container in &mut pod.containers {
            let env = container.env.get_or_insert_with(Vec::new);
            env.extend(options.envs.iter().map(|(name, value)| {
                k8s_openapi::api::core::v1::EnvVar {
                    name: name.clone(),
                    value: Some(value.clone()),
                    ..Default::default()
                }
            }));
        }
    }
    Ok(record)
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A stored record as a `JobExecution`. `deck_url` links the job's page
/// when its record has no URL yet; `artifacts_url` (`s3://bucket`) roots
/// `gcs_path`, which a job has once its build id is assigned.
pub fn execution(job: &ProwJob, deck_url: &str, artifacts_url: &str) -> JobExecution {
    let deck = deck_url.trim_end_matches('/');
    let job_url = if !job.status.url.is_empty() {
        job.status.url.clone()
    } else if !deck.is_empty() {
        format!("{deck}/jobs/{}", job.metadata.name)
    } else {
        String::new()
    };
    let gcs_path = match artifact_path(job) {
        Ok(path) if !artifacts_url.is_empty() => {
            format!("{}/{path}", artifacts_url.trim_end_matches('/'))
        }
        _ => String::new(),
    };
    JobExecution {
        id: job.metadata.name.clone(),
        job_name: job.spec.job.clone(),
        job_type: ExecutionType::of(job.spec.r#type),
        job_status: ExecutionStatus::of(job.status.state),
        refs: job.spec.refs.as_ref().map(WireRefs::from_refs),
        pod_spec_options: None,
        gcs_path,
        create_time: job.status.start_time.map(rfc3339),
        completion_time: job.status.completion_time.map(rfc3339),
        job_url,
    }
}
