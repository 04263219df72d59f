//! GitHub's rate limit, as the reporter sees it: a gauge per credential
//! (`github_token_usage`) and, at most once a minute per process, the
//! value the deck's `/health` shows (`keys::GITHUB_RATE_LIMITS`, merged
//! with what other processes wrote). The reporter is the one function that
//! talks to GitHub after every job, so its view is the freshest.

use std::sync::Mutex;

use jiff::Timestamp;
use skiff_core::health::{
    KEPT, RATE_LIMIT_NOTE_EVERY, merge_rate_limits, parse_rate_limits, rate_limits_value,
};
use skiff_core::keys;
use skiff_core::metrics::GITHUB_RATE_LIMIT;
use skiff_core::ports::{Clock, JobStore, PortResult, Scm};

/// When this process last wrote the rate limits; kept by the wiring (one
/// per Lambda container, one per `skiff dev`).
#[derive(Debug, Default)]
pub struct RateLimitNotes {
    written: Mutex<Option<Timestamp>>,
}

impl RateLimitNotes {
    /// Sets the gauges from what `scm` saw and, when the last write is at
    /// least [`RATE_LIMIT_NOTE_EVERY`] old, writes them for the deck. A
    /// failed write is logged; the next batch tries again.
    pub async fn note(&self, scm: &dyn Scm, store: &dyn JobStore, clock: &dyn Clock) {
        let seen = scm.rate_limits();
        if seen.is_empty() {
            return;
        }
        for r in &seen {
            metrics::gauge!(GITHUB_RATE_LIMIT.name, "identity" => r.identity.clone())
                .set(r.remaining as f64);
        }
        let now = clock.now();
        {
            let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            let due = written.is_none_or(|at| {
                now.duration_since(at).as_secs_f64() >= RATE_LIMIT_NOTE_EVERY.as_secs_f64()
            });
            if !due {
                return;
            }
            *written = Some(now);
        }
        if let Err(e) = write(&seen, store, now).await {
            tracing::warn!(error = %e, "the rate limits are not noted for the deck");
            *self.written.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

async fn write(
    seen: &[skiff_core::ports::RateLimit],
    store: &dyn JobStore,
    now: Timestamp,
) -> PortResult<()> {
    let stored = store
        .get_value(keys::GITHUB_RATE_LIMITS)
        .await?
        .map(|text| parse_rate_limits(&text))
        .unwrap_or_default();
    let merged = merge_rate_limits(stored, seen);
    let expires = now.checked_add(KEPT).unwrap_or(Timestamp::MAX);
    store
        .put_value(
            keys::GITHUB_RATE_LIMITS,
            &rate_limits_value(&merged),
            expires,
        )
        .await
}
