//! GitHub's rate limits: reading from a reply when requests may go out
//! again, and the gate that holds them back, per credential, until then.

use std::time::Duration;

use jiff::Timestamp;
use skiff_core::ports::{PortError, PortResult, RateLimit};

use super::http::Verb;
use super::{GitHubScm, lock};

/// GitHub's advice for a secondary rate limit that names no time: wait at
/// least a minute.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

impl GitHubScm {
    /// Fails at once while GitHub's limit for `identity` holds.
    pub(super) fn check_gate(&self, identity: &str, verb: Verb, path: &str) -> PortResult<()> {
        let now = self.now();
        match lock(&self.gates).get(identity) {
            Some(until) if now < *until => Err(PortError::RateLimited {
                until: *until,
                message: format!(
                    "{} {path}: not sent, GitHub asked to wait until {until}",
                    verb.as_str()
                )
                .into(),
            }),
            _ => Ok(()),
        }
    }

    /// Keeps what a reply said of `identity`'s budget, when it said it.
    pub(super) fn note_rate_limit<'h>(
        &self,
        identity: &str,
        header: &impl Fn(&str) -> Option<&'h str>,
    ) {
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        let Some(remaining) = number("x-ratelimit-remaining") else {
            return;
        };
        let limit = RateLimit {
            identity: identity.to_owned(),
            remaining,
            limit: number("x-ratelimit-limit"),
            reset: header("x-ratelimit-reset").and_then(epoch),
            observed_at: self.now(),
        };
        lock(&self.rate_limits).insert(identity.to_owned(), limit);
    }

    pub(super) fn close_gate(&self, identity: &str, until: Timestamp) {
        let mut gates = lock(&self.gates);
        let entry = gates.entry(identity.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// When GitHub lets requests through again, if this reply is a limit.
    pub(super) fn limit_until<'h>(
        &self,
        status: u16,
        header: &impl Fn(&str) -> Option<&'h str>,
        body: &str,
    ) -> Option<Timestamp> {
        if status != 403 && status != 429 {
            return None;
        }
        let now = self.now();
        if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
            return now.checked_add(Duration::from_secs(secs)).ok();
        }
        if header("x-ratelimit-remaining") == Some("0") {
            let reset = header("x-ratelimit-reset").and_then(epoch);
            return Some(reset.filter(|r| *r > now).unwrap_or_else(|| {
                now.checked_add(SECONDARY_LIMIT_WAIT)
                    .unwrap_or(Timestamp::MAX)
            }));
        }
        let lower = body.to_ascii_lowercase();
        if status == 429 || lower.contains("rate limit") {
            return now.checked_add(SECONDARY_LIMIT_WAIT).ok();
        }
        None
    }
}

/// A Unix time in seconds, as `X-RateLimit-Reset` gives it.
pub(super) fn epoch(v: &str) -> Option<Timestamp> {
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
}
