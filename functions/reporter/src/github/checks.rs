//! Check runs (GitHub's Checks API, for GitHub App installs): one run per job,
//! named by the job's context, created at the job's first report and updated
//! at each later one; the final update carries the tail of the job's log.
//!
//! GitHub's "Re-run" button on such a run sends `check_run.rerequested` with
//! the run's name, which the trigger turns into a new run of that job.

use skiff_core::ports::{CheckRun, PortResult};
use skiff_core::prowjob::artifacts::{BUILD_LOG, artifact_path};
use skiff_core::prowjob::{ProwJob, ProwJobState, Refs};

use skiff_core::keys;

use crate::{ReporterDeps, later};

/// How many lines of the log a check run shows.
const LOG_LINES: usize = 60;
/// GitHub refuses an `output.text` over 65535 characters.
const MAX_TEXT: usize = 60_000;
/// How long the "a run may exist" key lives: longer than any job.
const CREATE_KEY_SECONDS: i64 = 30 * 24 * 3600;

/// Creates or updates `job`'s check run for `state`; its id and what was sent.
pub(crate) async fn report(
    job: &ProwJob,
    refs: &Refs,
    sha: &str,
    state: ProwJobState,
    deps: &ReporterDeps<'_>,
) -> PortResult<(i64, CheckRun)> {
    let run = check_run(job, sha, state, log_tail(job, state, deps).await);
    let (org, repo) = (refs.org.as_str(), refs.repo.as_str());
    let known = job
        .metadata
        .annotations
        .get(keys::CHECK_RUN_ANNOTATION)
        .and_then(|id| id.parse::<i64>().ok());
    if let Some(id) = known {
        deps.scm.update_check_run(org, repo, id, &run).await?;
        return Ok((id, run));
    }
    // A create whose id was never recorded (a crash in between) must not
    // leave a second run of the same name: only the first attempt creates
    // blindly, a later one looks for the run by the job's id first.
    let key = keys::check_run_created(&job.metadata.name);
    let first = deps
        .store
        .remember(&key, later(deps.clock.now(), CREATE_KEY_SECONDS))
        .await?;
    let found = if first {
        None
    } else {
        deps.scm.find_check_run(org, repo, &run).await?
    };
    match found {
        Some(id) => {
            deps.scm.update_check_run(org, repo, id, &run).await?;
            Ok((id, run))
        }
        None => match deps.scm.create_check_run(org, repo, &run).await {
            Ok(id) => Ok((id, run)),
            Err(e) => {
                // Nothing was created: the next attempt may create blindly.
                if let Err(forget) = deps.store.forget(&key).await {
                    tracing::warn!(error = %forget, key, "cannot forget the check-run key");
                }
                Err(e)
            }
        },
    }
}

/// The check run for `job` in `state`.
fn check_run(job: &ProwJob, sha: &str, state: ProwJobState, log: Option<String>) -> CheckRun {
    let (status, conclusion) = match state {
        ProwJobState::Scheduling | ProwJobState::Triggered => ("queued", None),
        ProwJobState::Pending => ("in_progress", None),
        ProwJobState::Success => ("completed", Some("success")),
        ProwJobState::Failure | ProwJobState::Error => ("completed", Some("failure")),
        // Prow's status for an abort is `failure`; a check run can say what
        // happened.
        ProwJobState::Aborted => ("completed", Some("cancelled")),
    };
    let description = if job.status.description.is_empty() {
        format!("Job {}.", state.as_str())
    } else {
        job.status.description.clone()
    };
    let mut summary = description.clone();
    if !job.status.url.is_empty() {
        summary.push_str(&format!("\n\n[Job log and artifacts]({})", job.status.url));
    }
    let text = log
        .map(|tail| format!("Last lines of the log:\n\n```\n{tail}\n```"))
        .unwrap_or_default();
    CheckRun {
        name: job.spec.context.clone(),
        head_sha: sha.to_owned(),
        external_id: job.metadata.name.clone(),
        details_url: job.status.url.clone(),
        status: status.to_owned(),
        conclusion: conclusion.map(str::to_owned),
        started_at: (state != ProwJobState::Triggered)
            .then_some(job.status.start_time)
            .flatten(),
        completed_at: conclusion.and(job.status.completion_time),
        title: description,
        summary,
        text,
    }
}

/// The last lines of a finished job's log, if the log store has it.
async fn log_tail(job: &ProwJob, state: ProwJobState, deps: &ReporterDeps<'_>) -> Option<String> {
    let logs = deps.logs?;
    if !matches!(
        state,
        ProwJobState::Success | ProwJobState::Failure | ProwJobState::Error
    ) {
        return None;
    }
    let path = artifact_path(job).ok()?;
    let bytes = match logs.get(&path, BUILD_LOG).await {
        Ok(b) => b?,
        Err(e) => {
            // The run is still worth updating without its log.
            tracing::warn!(error = %e, path, "cannot read the log for the check run");
            return None;
        }
    };
    Some(tail(&String::from_utf8_lossy(&bytes)))
}

/// The last [`LOG_LINES`] lines, at most [`MAX_TEXT`] characters (cut at the
/// front, where the older lines are).
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    let start = lines.len().saturating_sub(LOG_LINES);
    let text = lines[start..].join("\n");
    let count = text.chars().count();
    if count <= MAX_TEXT {
        return text;
    }
    text.chars().skip(count - MAX_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_keeps_the_last_lines_within_githubs_limit() {
        let log: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&log);
        assert!(t.starts_with("line 41\n"), "{t}");
        assert!(t.ends_with("line 100"), "{t}");
        let long = "x".repeat(MAX_TEXT * 2);
        assert_eq!(tail(&long).chars().count(), MAX_TEXT);
    }

    #[test]
    fn states_map_to_check_run_status_and_conclusion() {
        let job = ProwJob::default();
        for (state, status, conclusion) in [
            (ProwJobState::Triggered, "queued", None),
            (ProwJobState::Pending, "in_progress", None),
            (ProwJobState::Success, "completed", Some("success")),
            (ProwJobState::Failure, "completed", Some("failure")),
            (ProwJobState::Error, "completed", Some("failure")),
            (ProwJobState::Aborted, "completed", Some("cancelled")),
        ] {
            let run = check_run(&job, "abc", state, None);
            assert_eq!(run.status, status, "{state:?}");
            assert_eq!(run.conclusion.as_deref(), conclusion, "{state:?}");
        }
    }
}
