//! `/health`: a status page of Skiff itself, what an on-call person looks
//! at first. 200 when healthy; 503 when the scheduler has not ticked for
//! `skiff_core::health::MISSED_TICKS` periods (or never noted a tick), or a
//! queue's oldest message is older than its alarm
//! (`skiff_core::health::queue_alarm`). It shows:
//!
//! - the config bundle in use: its version and when it was loaded;
//! - each queue's depth (visible, in flight, dead letters) and the age of
//!   its oldest message, where the front end can tell (`skiff dev`'s SQLite
//!   queues can; SQS tells counts only: its age is CloudWatch's metric and
//!   alarm);
//! - the oldest job still `triggered`;
//! - the scheduler's last tick (written by the scheduler into the job store);
//! - GitHub's rate limit left per identity (written by the reporter).
//!
//! What it reads besides the store comes from the front end, in
//! [`crate::DeckOptions::health`].

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use maud::{Markup, html};
use skiff_core::health::{self, SchedulerTick};
use skiff_core::keys;
use skiff_core::ports::{JobQuery, PortError, Queue, QueueDepth, RateLimit};
use skiff_core::prowjob::{ProwJob, ProwJobState};

use super::{duration, layout, time};
use crate::{Deps, Reply, ctx, unavailable};

/// What the front end knows that the store does not.
#[derive(Clone, Default)]
pub struct Health {
    /// The queues to show, in order.
    pub queues: Vec<WatchedQueue>,
    /// The config in use; `None`: not known (no bundle loaded yet).
    pub config: Option<ConfigVersion>,
}

/// One queue on the page. Its alarm age is `skiff_core::health::queue_alarm`
/// of its name (`events`, `dispatch`, `reports`, `tide`; a dead-letter
/// queue has none: any message there is already an alarm of its own).
#[derive(Clone)]
pub struct WatchedQueue {
    pub name: String,
    pub queue: Arc<dyn Queue>,
}

/// The config bundle in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigVersion {
    /// The bundle's ETag on AWS; a digest of the config files in `skiff dev`.
    pub version: String,
    /// When this process loaded it.
    pub loaded_at: Timestamp,
    /// Where it came from (`s3://…`, the files), and when it was pushed.
    pub source: String,
}

// `DeckOptions` is compared and printed; a queue is a port, so by name.
impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.queues.iter().map(|q| q.name.as_str()).collect();
        f.debug_struct("Health")
            .field("queues", &names)
            .field("config", &self.config)
            .finish()
    }
}

impl PartialEq for Health {
    fn eq(&self, other: &Self) -> bool {
        let names = |h: &Health| h.queues.iter().map(|q| q.name.clone()).collect::<Vec<_>>();
        names(self) == names(other) && self.config == other.config
    }
}

impl Eq for Health {}

/// One queue as read now.
struct QueueRow {
    name: String,
    depth: Result<Option<QueueDepth>, PortError>,
}

/// `/health`.
pub async fn health(deps: &Deps<'_>) -> Reply {
    let now = deps.clock.now();
    let tick = match deps.store.get_value(keys::SCHEDULER_TICK).await {
        Ok(v) => v.as_deref().and_then(SchedulerTick::parse),
        Err(e) => return unavailable(deps, &e),
    };
    let limits: Vec<RateLimit> = match deps.store.get_value(keys::GITHUB_RATE_LIMITS).await {
        Ok(v) => health::parse_rate_limits(v.as_deref().unwrap_or("{}"))
            .into_values()
            .collect(),
        Err(e) => return unavailable(deps, &e),
    };
    let oldest = match oldest_triggered(deps).await {
        Ok(j) => j,
        Err(e) => return unavailable(deps, &e),
    };
    let mut queues = Vec::new();
    for q in &deps.options.health.queues {
        queues.push(QueueRow {
            name: q.name.clone(),
            depth: q.queue.depth().await,
        });
    }

    let mut problems = Vec::new();
    match &tick {
        None => problems.push("The scheduler has noted no tick: it has not run.".to_string()),
        Some(t) if t.is_stale(now) => problems.push(format!(
            "The scheduler has not ticked since {} UTC: {} periods of {} missed.",
            time(t.at),
            health::MISSED_TICKS,
            duration(i64::try_from(t.period_seconds).unwrap_or(i64::MAX))
        )),
        Some(_) => {}
    }
    for q in &queues {
        if let Ok(Some(QueueDepth {
            oldest_sent: Some(sent),
            ..
        })) = &q.depth
            && health::queue_too_old(&q.name, *sent, now)
        {
            problems.push(format!(
                "The {} queue's oldest message is {} old, past its alarm of {}.",
                q.name,
                age(*sent, now),
                health::queue_alarm(&q.name)
                    .map(|a| duration(i64::try_from(a.as_secs()).unwrap_or(i64::MAX)))
                    .unwrap_or_default()
            ));
        }
    }

    let status = if problems.is_empty() { 200 } else { 503 };
    let body = html! {
        h1 { "Health" }
        @if problems.is_empty() {
            p.pass role="status" { strong { "Healthy." } " The scheduler ticks and no queue is past its alarm." }
        } @else {
            div.err role="alert" {
                strong { "Unhealthy." }
                ul { @for p in &problems { li { (p) } } }
            }
        }
        (config_section(deps))
        (queue_section(&queues, now))
        (triggered_section(oldest.as_ref(), now))
        (scheduler_section(tick.as_ref(), now))
        (rate_limit_section(&limits, now))
    };
    let mut reply = Reply::html(status, layout(&ctx(deps, true), "Health", body));
    if status == 503 {
        reply.headers.push(("retry-after", "60".into()));
    }
    reply
}

/// The oldest visible job still `triggered`, among the newest incomplete
/// records the deck reads for a list.
async fn oldest_triggered(deps: &Deps<'_>) -> Result<Option<ProwJob>, PortError> {
    let incomplete = deps
        .store
        .list(&JobQuery::Incomplete, Some(deps.options.max_jobs))
        .await?;
    Ok(incomplete
        .into_iter()
        .filter(|j| j.status.state == Some(ProwJobState::Triggered))
        .filter(|j| crate::visible(j, deps.config))
        .filter(|j| j.status.start_time.is_some())
        .min_by_key(|j| j.status.start_time))
}

fn age(since: Timestamp, now: Timestamp) -> String {
    duration(now.as_second() - since.as_second())
}

fn config_section(deps: &Deps<'_>) -> Markup {
    html! {
        section aria-label="Config" {
            h2 { "Config" }
            @match &deps.options.health.config {
                Some(c) => p {
                    "Version " code { (c.version) } ", loaded " (time(c.loaded_at)) " UTC"
                    @if !c.source.is_empty() { " from " (c.source) }
                    "."
                },
                None if deps.config.is_some() => p.muted { "A config is loaded; its version is not known here." },
                None => p.err { "No config is loaded." },
            }
        }
    }
}

fn queue_section(queues: &[QueueRow], now: Timestamp) -> Markup {
    let count = |n: Option<u64>| n.map_or("–".to_string(), |n| n.to_string());
    html! {
        section aria-label="Queues" {
            h2 { "Queues" }
            @if queues.is_empty() {
                p.muted { "No queue is watched here." }
            } @else {
                div.scroll { table {
                    thead { tr { th { "queue" } th { "waiting" } th { "in flight or delayed" } th { "dead letters" } th { "oldest message" } th { "alarm after" } } }
                    tbody {
                        @for q in queues {
                            tr {
                                td { (q.name) }
                                @match &q.depth {
                                    Ok(Some(d)) => {
                                        td { (d.visible) }
                                        td { (d.hidden) }
                                        td { (count(d.dead_letters)) }
                                        td { @match d.oldest_sent {
                                            Some(sent) => (age(sent, now)),
                                            None if d.visible + d.hidden == 0 => "empty",
                                            None => "not known (CloudWatch's ApproximateAgeOfOldestMessage)",
                                        } }
                                    }
                                    Ok(None) => { td colspan="4" { "this queue does not tell its depth" } }
                                    Err(e) => { td.err colspan="4" { "cannot read: " (e) } }
                                }
                                td { (health::queue_alarm(&q.name).map_or("–".to_string(), |a| duration(i64::try_from(a.as_secs()).unwrap_or(i64::MAX)))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn triggered_section(oldest: Option<&ProwJob>, now: Timestamp) -> Markup {
    html! {
        section aria-label="Oldest triggered job" {
            h2 { "Oldest triggered job" }
            @match oldest {
                Some(j) => p {
                    a href={"/jobs/" (j.metadata.name)} { (j.spec.job) }
                    " has waited " (j.status.start_time.map(|t| age(t, now)).unwrap_or_default())
                    " for a pod or build (the syncer sends a job stuck in triggered to the dispatcher again)."
                },
                None => p { "No job waits in triggered." },
            }
        }
    }
}

fn scheduler_section(tick: Option<&SchedulerTick>, now: Timestamp) -> Markup {
    html! {
        section aria-label="Scheduler" {
            h2 { "Scheduler" }
            @match tick {
                Some(t) => p {
                    "Last tick " (time(t.at)) " UTC (" (age(t.at, now)) " ago), every "
                    (duration(i64::try_from(t.period_seconds).unwrap_or(i64::MAX))) "."
                },
                None => p.err { "No tick noted." },
            }
        }
    }
}

fn rate_limit_section(limits: &[RateLimit], now: Timestamp) -> Markup {
    html! {
        section aria-label="GitHub rate limits" {
            h2 { "GitHub rate limits" }
            @if limits.is_empty() {
                p.muted { "No rate limit noted (no GitHub, or no report sent yet)." }
            } @else {
                div.scroll { table {
                    thead { tr { th { "identity" } th { "left" } th { "resets" } th { "as of" } } }
                    tbody {
                        @for l in limits {
                            tr {
                                td { code { (l.identity) } }
                                td { (l.remaining) @if let Some(of) = l.limit { " of " (of) } }
                                td { (l.reset.map(|r| format!("{} UTC", time(r))).unwrap_or_default()) }
                                td { (age(l.observed_at, now)) " ago" }
                            }
                        }
                    }
                } }
            }
        }
    }
}
