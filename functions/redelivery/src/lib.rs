//! The redelivery sweeper. GitHub never retries a webhook delivery that
//! failed (a timeout, a 5xx while the webhook function was down); it only
//! redelivers when asked. On a schedule this function reads the recent
//! deliveries of each configured webhook (the GitHub App's, or a repo's or
//! org's) and asks GitHub to redeliver each event that
//!
//! - failed on every attempt (no 2xx answer),
//! - is of a kind Skiff acts on,
//! - Skiff has not recorded (the webhook's dedupe key `delivery/<guid>`
//!   is absent: a delivery that reached the queue but answered GitHub too
//!   late is not sent again), and
//! - was not asked for before (`redelivery/<guid>/<attempt>`: each failed
//!   attempt is redelivered at most once),
//!
//! once the webhook is answering again: a later delivery succeeded, or the
//! failure is older than the settle time. Redelivering into an outage that
//! is still on would spend the request on another failure; when that
//! happens anyway (a quiet repository gives no proof either way), the failed
//! redelivery is a new failed attempt, asked for again only once a later
//! delivery shows the webhook answers — never on the settle time alone, so a
//! webhook that rejects everything is not sent the same event every sweep.
//!
//! Every step is idempotent: a crashed or overlapping run repeats none of
//! the requests a finished one made. The claim is taken before the webhook's
//! key is probed, so only one run probes a delivery, and the probe is over
//! before the redelivery it may lead to is requested (a probe overlapping
//! the redelivery would make the webhook drop it as a duplicate). The claim
//! is a 10-minute lease until GitHub accepted the request, and only then the
//! 4-day "requested" mark: a run that dies between claiming and requesting
//! loses nothing (the lease expires, a later sweep asks), and one that dies
//! between requesting and marking can at worst ask twice, which the webhook
//! drops as a duplicate delivery.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use skiff_core::keys;
use skiff_core::ports::{Claim, Clock, Hook, HookDeliveries, HookDelivery, JobStore, PortResult};
use tracing::{info, warn};

/// How far back deliveries are read. GitHub keeps them three days; an
/// outage longer than this is recovered by hand.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(6 * 3600);
/// A failed delivery this old is redelivered even when no later delivery
/// proves the webhook answers again (a quiet repository sends none).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10 * 60);
/// How long "redelivery requested" is remembered: longer than GitHub keeps
/// deliveries, so none is requested twice.
const REQUESTED_TTL: Duration = Duration::from_secs(4 * 24 * 3600);
/// How long a sweep holds an attempt while it probes and requests it. Only
/// once GitHub accepted the request does the claim become the long
/// "requested" mark: a sweep that dies in between leaves a claim that
/// expires, so the next sweep after it asks again instead of never.
const REQUEST_LEASE: Duration = Duration::from_secs(10 * 60);
/// The answer to a delivery larger than the webhook takes (GitHub's 25 MB
/// cap, or Lambda's 6 MB request limit before the function is invoked):
/// redelivering it can only fail the same way.
const TOO_LARGE: u16 = 413;
/// The probe of the webhook's dedupe key is undone at once; the expiry only
/// matters if the undo fails.
const PROBE_TTL: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct Settings {
    pub hooks: Vec<Hook>,
    pub lookback: Duration,
    pub settle: Duration,
}

impl Settings {
    pub fn new(hooks: Vec<Hook>) -> Self {
        Settings {
            hooks,
            lookback: DEFAULT_LOOKBACK,
            settle: DEFAULT_SETTLE,
        }
    }
}

/// What the sweeper talks to.
pub struct Deps<'a> {
    /// Holds the webhook's delivery keys and the redelivery keys.
    pub store: &'a dyn JobStore,
    pub github: &'a dyn HookDeliveries,
    pub clock: &'a dyn Clock,
    pub settings: &'a Settings,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Delivery attempts read.
    pub deliveries: usize,
    /// Events whose every attempt failed.
    pub failed: usize,
    /// Failed towards GitHub, but the webhook had recorded them.
    pub recorded: usize,
    /// Not of a kind Skiff acts on, or refused as too large (a 413: the
    /// payload will never fit, so asking again would loop).
    pub ignored: usize,
    /// Held back: the webhook may still be down.
    pub waiting: usize,
    /// Requested by an earlier sweep.
    pub already_requested: usize,
    /// The delivery GUIDs redelivered now.
    pub redelivered: Vec<String>,
    /// Hooks or requests that failed (retried next sweep).
    pub errors: Vec<String>,
}

/// One sweep over every configured webhook.
#[tracing::instrument(name = "redelivery", skip_all)]
pub async fn sweep(deps: &Deps<'_>) -> SweepReport {
    let mut report = SweepReport::default();
    for hook in &deps.settings.hooks {
        if let Err(e) = sweep_hook(hook, deps, &mut report).await {
            warn!(%hook, error = %e, "cannot sweep the webhook's deliveries");
            report.errors.push(format!("{hook}: {e}"));
        }
    }
    info!(
        deliveries = report.deliveries,
        failed = report.failed,
        redelivered = report.redelivered.len(),
        waiting = report.waiting,
        "swept"
    );
    report
}

async fn sweep_hook(hook: &Hook, deps: &Deps<'_>, report: &mut SweepReport) -> PortResult<()> {
    let now = deps.clock.now();
    let since = now
        .checked_sub(deps.settings.lookback)
        .unwrap_or(Timestamp::MIN);
    let attempts: Vec<HookDelivery> = deps
        .github
        .deliveries(hook, since)
        .await?
        .into_iter()
        .filter(|d| d.delivered_at >= since)
        .collect();
    report.deliveries += attempts.len();
    let last_success = attempts
        .iter()
        .filter(|d| d.succeeded())
        .map(|d| d.delivered_at)
        .max();
    let mut by_guid: BTreeMap<&str, Vec<&HookDelivery>> = BTreeMap::new();
    for d in &attempts {
        by_guid.entry(d.guid.as_str()).or_default().push(d);
    }
    for (guid, tries) in by_guid {
        if tries.iter().any(|d| d.succeeded()) {
            continue;
        }
        // GitHub's times have whole seconds; attempt ids grow.
        let Some(latest) = tries.iter().max_by_key(|d| (d.delivered_at, d.id)) else {
            continue;
        };
        report.failed += 1;
        if !keys::ACTED_ON.contains(&latest.event.as_str()) || latest.status_code == TOO_LARGE {
            report.ignored += 1;
            continue;
        }
        // A failed redelivery waits for proof that the webhook answers.
        let settled = !latest.redelivery
            && now
                .checked_sub(deps.settings.settle)
                .is_ok_and(|t| latest.delivered_at <= t);
        let answering = last_success.is_some_and(|t| t > latest.delivered_at);
        if !settled && !answering {
            report.waiting += 1;
            continue;
        }
        let claim = keys::redelivery(guid, latest.id);
        if !deps
            .store
            .remember(&claim, later(now, REQUEST_LEASE))
            .await?
        {
            report.already_requested += 1;
            continue;
        }
        match recorded(guid, now, deps).await {
            Ok(Recorded::No) => {}
            Ok(Recorded::Yes) => {
                // Nothing to request: the claim is given back, so a later
                // sweep probes again (the webhook forgets a delivery it could
                // not queue).
                release(&claim, deps).await;
                report.recorded += 1;
                continue;
            }
            Ok(Recorded::InFlight) => {
                release(&claim, deps).await;
                report.waiting += 1;
                continue;
            }
            Err(e) => {
                release(&claim, deps).await;
                return Err(e);
            }
        }
        match deps.github.redeliver(hook, latest.id).await {
            Ok(()) => {
                info!(%hook, guid, attempt = latest.id, event = %latest.event, "redelivery requested");
                if let Err(e) = deps.store.keep(&claim, later(now, REQUESTED_TTL)).await {
                    // The lease still holds it for this sweep and the next;
                    // should GitHub not list the redelivery by then, asking
                    // again is harmless: the webhook drops the duplicate.
                    warn!(claim, error = %e, "cannot mark the redelivery as requested; the lease holds it");
                }
                report.redelivered.push(guid.to_owned());
            }
            Err(e) => {
                // Not requested: the next sweep may try again.
                release(&claim, deps).await;
                warn!(%hook, guid, error = %e, "redelivery request failed");
                report.errors.push(format!("{hook}: redeliver {guid}: {e}"));
            }
        }
    }
    Ok(())
}

/// What the webhook's key of `guid` says.
enum Recorded {
    /// A mark: the event was queued.
    Yes,
    /// A claim: an attempt is queuing it, or died doing so; look again once
    /// the claim has expired.
    InFlight,
    No,
}

/// Whether the webhook recorded `guid`. The store can only ask by claiming:
/// a claim that succeeds is given back at once, so the redelivery is not
/// turned away.
async fn recorded(guid: &str, now: Timestamp, deps: &Deps<'_>) -> PortResult<Recorded> {
    let key = keys::delivery(guid);
    match deps.store.claim(&key, later(now, PROBE_TTL)).await? {
        Claim::Held { until } if keys::is_delivery_mark(until, now, keys::DELIVERY_CLAIM_LEASE) => {
            Ok(Recorded::Yes)
        }
        Claim::Held { .. } => Ok(Recorded::InFlight),
        Claim::Taken => {
            deps.store.forget(&key).await?;
            Ok(Recorded::No)
        }
    }
}

/// Gives a claim back; if that fails the delivery is not requested until
/// the claim expires.
async fn release(claim: &str, deps: &Deps<'_>) {
    if let Err(e) = deps.store.forget(claim).await {
        warn!(claim, error = %e, "cannot give the redelivery claim back; not requested until it expires");
    }
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(d).unwrap_or(Timestamp::MAX)
}
