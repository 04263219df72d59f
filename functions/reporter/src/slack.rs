//! Prow's Slack reporter for jobs with `reporter_config.slack`: a message
//! for each state in the job's `job_states_to_report`, once per state.
//!
//! Skiff reads the job's own settings only (Prow's global
//! `slack_reporter_configs` is not modelled), so, as in Prow without a global
//! config, a job is reported when it names a channel.

use skiff_core::ports::PortResult;
use skiff_core::prowjob::ProwJob;

use crate::{Recorded, ReporterDeps, record, template};

/// The key in `prev_report_states`, Prow's name for this reporter.
pub const SLACK_REPORTER_NAME: &str = "slackreporter";
/// Prow's default `report_template`.
const DEFAULT_TEMPLATE: &str = "Job {{.Spec.Job}} of type {{.Spec.Type}} ended with state {{.Status.State}}. <{{.Status.URL}}|View logs>";

/// What the Slack reporter did with one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlackReport {
    /// Not a job, state or setup Slack gets a message for; says why.
    NotReported(&'static str),
    AlreadyReported,
    /// The template does not render: reported as done, never retried.
    BadTemplate(String),
    Posted {
        host: String,
        channel: String,
        text: String,
        recorded: Recorded,
    },
}

/// Posts `job`'s state to Slack when its config asks for it.
pub(crate) async fn report(job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<SlackReport> {
    let Some(cfg) = job
        .spec
        .reporter_config
        .as_ref()
        .and_then(|r| r.slack.as_ref())
    else {
        return Ok(SlackReport::NotReported("no reporter_config.slack"));
    };
    // Prow: `job_states_to_report: []` means "do not report".
    if cfg.report == Some(false) {
        return Ok(SlackReport::NotReported("report: false"));
    }
    let Some(state) = job.status.state else {
        return Ok(SlackReport::NotReported("no state"));
    };
    if !cfg.job_states_to_report.contains(&state) {
        return Ok(SlackReport::NotReported(
            "state not in job_states_to_report",
        ));
    }
    if cfg.channel.is_empty() {
        return Ok(SlackReport::NotReported("no channel"));
    }
    if job.status.prev_report_states.get(SLACK_REPORTER_NAME) == Some(&state) {
        return Ok(SlackReport::AlreadyReported);
    }
    let Some(chat) = deps.chat else {
        return Ok(SlackReport::NotReported("no Slack webhook configured"));
    };
    let template_text = if cfg.report_template.is_empty() {
        DEFAULT_TEMPLATE
    } else {
        cfg.report_template.as_str()
    };
    let text = match template::render(template_text, job) {
        Ok(t) => t,
        Err(e) => {
            // A template that fails now fails on every retry.
            tracing::warn!(error = %e, "Slack report_template does not render; not reported");
            record(job.clone(), SLACK_REPORTER_NAME, state, None, deps.store).await?;
            return Ok(SlackReport::BadTemplate(e));
        }
    };
    let host = if cfg.host.is_empty() {
        "*"
    } else {
        cfg.host.as_str()
    };
    chat.post(host, &cfg.channel, &text).await?;
    let recorded = record(job.clone(), SLACK_REPORTER_NAME, state, None, deps.store).await?;
    Ok(SlackReport::Posted {
        host: host.to_owned(),
        channel: cfg.channel.clone(),
        text,
        recorded,
    })
}
