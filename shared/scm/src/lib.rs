//! Code-host adapters for the ports.
//!
//! - [`GitHubScm`]: GitHub's REST API (github.com or GitHub Enterprise) through
//!   `octocrab`, as a token or a GitHub App; also GitHub's webhook deliveries
//!   ([`HookDeliveries`](skiff_core::ports::HookDeliveries)).
//! - [`NoScm`]: for `skiff dev` without a code host: writes are logged, not sent,
//!   and facts that cannot be known are answered conservatively.
//! - [`CodeCommitReports`]: where CodeCommit jobs report (comments, approvals).
//! - [`CodeCommitScm`]: what the trigger reads to plan CodeCommit events.
//! - [`SlackWebhooks`]: Slack incoming webhooks for `reporter_config.slack`.
//! - [`HttpForwarder`]: events to Prow's external plugins.

mod codecommit;
mod forward;
mod github;
mod github_login;
mod noscm;
mod slack;

pub use codecommit::{CODECOMMIT_BOT, CodeCommitReports, CodeCommitScm};
pub use forward::HttpForwarder;
pub use github::{GITHUB_API, GitHubAuth, GitHubOptions, GitHubScm};
pub use github_login::GitHubOAuthApp;
pub use noscm::NoScm;
pub use slack::SlackWebhooks;
