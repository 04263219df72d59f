//! Nudging tide (`SKIFF_TIDE_QUEUE_URL`, the `tide` queue): the functions
//! that see a pull request's standing change — the trigger (labels, pushes,
//! reviews) and the syncer (jobs finishing) — tell tide to sync now instead
//! of at its next minute. Best effort: a nudge that cannot be sent is
//! logged, and the schedule syncs anyway.

use skiff_aws::client;
use skiff_aws::queue::SqsQueue;
use skiff_core::config::Config;
use skiff_core::messages::TideNudge;
use skiff_core::ports::Queue;

use crate::env::Env;

const QUEUE_ENV: &str = "SKIFF_TIDE_QUEUE_URL";

/// The `tide` queue, when the stack has one.
pub struct TideNudges(Option<SqsQueue>);

impl TideNudges {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Self {
        TideNudges(
            env.optional(QUEUE_ENV)
                .filter(|u| !u.is_empty())
                .map(|url| SqsQueue::new(client::sqs(sdk), url)),
        )
    }

    /// Sends one nudge, if tide has queries to sync.
    pub async fn nudge(&self, config: &Config, why: &str) {
        let Some(queue) = &self.0 else { return };
        if config.prow.tide.queries.is_empty() {
            return;
        }
        let body = TideNudge {
            why: why.to_string(),
        }
        .to_body();
        if let Err(e) = queue.send(&[body]).await {
            tracing::warn!(error = %e, why, "tide not nudged; it syncs on its schedule");
        }
    }
}
