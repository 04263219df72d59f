//! Prow's Slack reporter for jobs with `reporter_config.slack`: a message
//! for each state in the job's `job_states_to_report`, once per state.
//!
//! Skiff reads the job's own settings only (Prow's global
//! `slack_reporter_configs` is not modelled), so, as in Prow without a global
//! config, a job is reported when it names a channel.

use async_trait::async_trait;
use skiff_core::keys;
use skiff_core::ports::{PortError, PortResult};
use skiff_core::prowjob::ProwJob;

use crate::{Detail, Reporter, ReporterDeps, Sent, Skip, template};

/// Prow's default `report_template`.
const DEFAULT_TEMPLATE: &str = "Job {{.Spec.Job}} of type {{.Spec.Type}} ended with state {{.Status.State}}. <{{.Status.URL}}|View logs>";

/// The Slack sink.
pub struct SlackReporter;

#[async_trait]
impl Reporter for SlackReporter {
    fn name(&self) -> &'static str {
        keys::SLACK_REPORTER
    }

    fn should_report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> Result<(), Skip> {
        let Some(cfg) = job
            .spec
            .reporter_config
            .as_ref()
            .and_then(|r| r.slack.as_ref())
        else {
            return Err(Skip::NotConfigured);
        };
        // Prow: `job_states_to_report: []` means "do not report".
        if cfg.report == Some(false) || cfg.channel.is_empty() {
            return Err(Skip::NotConfigured);
        }
        let state = job.status.state.ok_or(Skip::NoState)?;
        if !cfg.job_states_to_report.contains(&state) {
            return Err(Skip::StateNotReported);
        }
        if deps.chat.is_none() {
            return Err(Skip::NoClient);
        }
        Ok(())
    }

    /// Posts `job`'s state to the channel its config names.
    async fn report(&self, job: &ProwJob, deps: &ReporterDeps<'_>) -> PortResult<Sent> {
        let (Some(cfg), Some(chat)) = (
            job.spec
                .reporter_config
                .as_ref()
                .and_then(|r| r.slack.as_ref()),
            deps.chat,
        ) else {
            return Err(PortError::Rejected(
                format!("job {} is not reported to Slack", job.metadata.name).into(),
            ));
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
                return Ok(Sent::done(Detail::SlackTemplateError(e)));
            }
        };
        let host = if cfg.host.is_empty() {
            "*"
        } else {
            cfg.host.as_str()
        };
        chat.post(host, &cfg.channel, &text).await?;
        Ok(Sent::done(Detail::Slack {
            host: host.to_owned(),
            channel: cfg.channel.clone(),
            text,
        }))
    }
}
