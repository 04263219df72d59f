//! Code-host adapters for the [`Scm`](skiff_core::ports::Scm) port.
//!
//! - [`GitHubScm`]: GitHub's REST API (github.com or GitHub Enterprise) through
//!   `octocrab`, authenticated with a token.
//! - [`NoScm`]: for `skiff dev` without a code host: writes are logged, not sent,
//!   and facts that cannot be known are answered conservatively.

mod github;
mod noscm;

pub use github::{GITHUB_API, GitHubOptions, GitHubScm};
pub use noscm::NoScm;
