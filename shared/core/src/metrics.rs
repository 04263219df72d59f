//! Every metric Skiff emits, by name: its kind, unit, labels and who emits
//! it. The functions record through the `metrics` facade with these names;
//! on Lambda the records become CloudWatch Embedded Metric Format lines on
//! stdout (labels are the dimensions), in `skiff dev` Prometheus text at
//! `/metrics` (labels are labels). Prow's name is used where Prow has a
//! metric for the same thing (`prowjobs`, `prow_job_runtime_seconds`,
//! `prow_webhook_counter`, `crier_report_latency`, `crier_reporting_results`,
//! `github_token_usage`); the rest are Skiff's own (`skiff_…`).
//!
//! This module is data only: recording is I/O and lives in the function
//! crates and the wiring (`skiff_lambda::metrics`, `skiff dev`'s
//! `/metrics`). README "Metrics" lists the same table for operators.

/// The CloudWatch namespace of every EMF line.
pub const NAMESPACE: &str = "Skiff";

/// How a metric accumulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Adds up (EMF: the increase since the last line).
    Counter,
    /// A value that is set (EMF: its value when the line is written).
    Gauge,
    /// Observations (EMF: up to 100 values per line; Prometheus: a
    /// histogram with [`Metric::buckets`], else a summary).
    Histogram,
}

/// The unit, as CloudWatch names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    /// CloudWatch's spelling (`MetricDatum.Unit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// The label (dimension) names every record of it carries, in order.
    pub labels: &'static [&'static str],
    /// Prometheus histogram buckets (seconds); empty: a summary.
    pub buckets: &'static [f64],
    /// What it measures (Prometheus `# HELP`).
    pub help: &'static str,
    /// Which function records it.
    pub emitted_by: &'static str,
}

/// Prow's `prow_job_runtime_seconds` buckets: 30 s to 10 h.
const RUNTIME_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 10800.0, 14400.0, 18000.0, 21600.0,
    25200.0, 28800.0, 32400.0, 36000.0,
];
/// Prow's `crier_report_latency` buckets.
const REPORT_BUCKETS: &[f64] = &[
    1.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0, 1800.0, 2700.0, 3600.0,
    5400.0, 7200.0,
];
/// Prow's `prow_plugin_handle_duration_seconds` buckets.
const HANDLE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0,
    640.0,
];

/// Every webhook request, by what came of it ([`outcome`] values).
pub const WEBHOOK_DELIVERIES: Metric = Metric {
    name: "skiff_webhook_deliveries",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["outcome"],
    buckets: &[],
    help: "Webhook deliveries received, by outcome: queued, duplicate (a redelivery dropped), ignored (ping, events Skiff does not act on), refused (4xx), retry (503/500: our store or queue failed, or another attempt holds it).",
    emitted_by: "webhook",
};

/// Prow's hook counter: verified deliveries by event type.
pub const WEBHOOK_COUNTER: Metric = Metric {
    name: "prow_webhook_counter",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["event_type"],
    buckets: &[],
    help: "Deliveries whose signature verified, by X-GitHub-Event (events Skiff does not act on count as `other`).",
    emitted_by: "webhook",
};

/// How long planning one event took.
pub const TRIGGER_PLANNING: Metric = Metric {
    name: "skiff_trigger_planning_seconds",
    kind: Kind::Histogram,
    unit: Unit::Seconds,
    labels: &["event_type"],
    buckets: HANDLE_BUCKETS,
    help: "Time the trigger took to plan one event (in-repo config, the code host's answers, the plan), before carrying it out.",
    emitted_by: "trigger",
};

/// Job records created, by job type and creator.
pub const JOBS_CREATED: Metric = Metric {
    name: "skiff_jobs_created",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["type", "creator"],
    buckets: &[],
    help: "Job records created, by type (presubmit, postsubmit, periodic, batch) and creator (trigger, scheduler, tide, gangway).",
    emitted_by: "trigger, scheduler, tide, gangway",
};

/// Time a job waited in `triggered`.
pub const TRIGGERED_TO_PENDING: Metric = Metric {
    name: "skiff_job_triggered_to_pending_seconds",
    kind: Kind::Histogram,
    unit: Unit::Seconds,
    labels: &["type"],
    buckets: HANDLE_BUCKETS,
    help: "Time from a job's record (triggered) to its pod or build started (pending).",
    emitted_by: "dispatcher",
};

/// Prow's job runtime histogram, recorded when a job completes.
pub const JOB_RUNTIME: Metric = Metric {
    name: "prow_job_runtime_seconds",
    kind: Kind::Histogram,
    unit: Unit::Seconds,
    labels: &["job_name", "type", "state"],
    buckets: RUNTIME_BUCKETS,
    help: "Time from a job's start to its completion, by job, type and final state (success, failure, error, aborted).",
    emitted_by: "syncer",
};

/// The age of the oldest job still `triggered`, each syncer pass.
pub const OLDEST_TRIGGERED: Metric = Metric {
    name: "skiff_oldest_triggered_job_age_seconds",
    kind: Kind::Gauge,
    unit: Unit::Seconds,
    labels: &[],
    buckets: &[],
    help: "Age of the oldest job record still in `triggered` (0 when there is none), set by every syncer pass.",
    emitted_by: "syncer",
};

/// Crier's report latency: job completion to its report.
pub const REPORT_LATENCY: Metric = Metric {
    name: "crier_report_latency",
    kind: Kind::Histogram,
    unit: Unit::Seconds,
    labels: &["reporter"],
    buckets: REPORT_BUCKETS,
    help: "Time from a job's completion to the end of its report, by reporter (github-reporter, codecommit-reporter, slackreporter).",
    emitted_by: "reporter",
};

/// Crier's reporting results.
pub const REPORTING_RESULTS: Metric = Metric {
    name: "crier_reporting_results",
    kind: Kind::Counter,
    unit: Unit::Count,
    labels: &["reporter", "result"],
    buckets: &[],
    help: "Reports attempted, by reporter and result (success, error).",
    emitted_by: "reporter",
};

/// GitHub's `X-RateLimit-Remaining`, per credential.
pub const GITHUB_RATE_LIMIT: Metric = Metric {
    name: "github_token_usage",
    kind: Kind::Gauge,
    unit: Unit::Count,
    labels: &["identity"],
    buckets: &[],
    help: "Requests GitHub lets a credential make until its rate limit resets (X-RateLimit-Remaining of the last reply), by identity (token, app, installation/<id>).",
    emitted_by: "reporter",
};

/// The age of the oldest message of a batch (SQS's `SentTimestamp`); in
/// `skiff dev`, of the oldest message waiting in the SQLite queue.
pub const QUEUE_AGE: Metric = Metric {
    name: "skiff_queue_oldest_message_age_seconds",
    kind: Kind::Gauge,
    unit: Unit::Seconds,
    labels: &["queue"],
    buckets: &[],
    help: "Age of the oldest message of the last batch taken from a queue (events, dispatch, reports, tide), from its SentTimestamp; in skiff dev, of the oldest message in the queue.",
    emitted_by: "trigger, dispatcher, reporter, tide",
};

/// Prow's gauge of job records, computed from the job store when scraped
/// (`skiff dev` only: on AWS the records are DynamoDB items, counted by no
/// function).
pub const PROWJOBS: Metric = Metric {
    name: "prowjobs",
    kind: Kind::Gauge,
    unit: Unit::Count,
    labels: &[
        "job_namespace",
        "job_name",
        "type",
        "state",
        "org",
        "repo",
        "base_ref",
        "cluster",
        "retest",
    ],
    buckets: &[],
    help: "Number of prowjobs in the system.",
    emitted_by: "skiff dev's /metrics",
};

/// The metrics the functions record (everything but [`PROWJOBS`], which is
/// computed when scraped).
pub const RECORDED: &[Metric] = &[
    WEBHOOK_DELIVERIES,
    WEBHOOK_COUNTER,
    TRIGGER_PLANNING,
    JOBS_CREATED,
    TRIGGERED_TO_PENDING,
    JOB_RUNTIME,
    OLDEST_TRIGGERED,
    REPORT_LATENCY,
    REPORTING_RESULTS,
    GITHUB_RATE_LIMIT,
    QUEUE_AGE,
];

/// [`WEBHOOK_DELIVERIES`]' `outcome` values.
pub mod outcome {
    pub const QUEUED: &str = "queued";
    pub const DUPLICATE: &str = "duplicate";
    pub const IGNORED: &str = "ignored";
    pub const REFUSED: &str = "refused";
    pub const RETRY: &str = "retry";
}

/// [`JOBS_CREATED`]' `creator` values.
pub mod creator {
    pub const TRIGGER: &str = "trigger";
    pub const SCHEDULER: &str = "scheduler";
    pub const TIDE: &str = "tide";
    pub const GANGWAY: &str = "gangway";
}

/// The queue names of [`QUEUE_AGE`] (the template's queues, `skiff dev`'s
/// SQLite queues).
pub mod queue {
    pub const EVENTS: &str = "events";
    pub const DISPATCH: &str = "dispatch";
    pub const REPORTS: &str = "reports";
    pub const TIDE: &str = "tide";
    pub const GANGWAY: &str = "gangway";
}

/// A label value from outside input, bounded: the event types Skiff acts on
/// and `ping` are themselves, anything else is `other` (a metric's label
/// set must not grow with what strangers send).
pub fn event_type(event: &str) -> &'static str {
    crate::keys::ACTED_ON
        .iter()
        .chain(&["ping"])
        .find(|e| **e == event)
        .copied()
        .unwrap_or("other")
}

/// Seconds from `from` to `to` (never negative: clocks of two machines).
pub fn seconds_between(from: jiff::Timestamp, to: jiff::Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64().max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid_for_prometheus_and_cloudwatch() {
        let mut all: Vec<&Metric> = RECORDED.iter().collect();
        all.push(&PROWJOBS);
        let mut names: Vec<&str> = all.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "a name is used twice");
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        for m in all {
            assert!(valid(m.name), "{}", m.name);
            // EMF allows at most 30 dimensions per set.
            assert!(m.labels.len() <= 30, "{}", m.name);
            for l in m.labels {
                assert!(valid(l) && !l.starts_with("__"), "{}: {l}", m.name);
            }
            assert!(
                m.buckets.windows(2).all(|w| w[0] < w[1]),
                "{}: buckets ascend",
                m.name
            );
            if m.kind != Kind::Histogram {
                assert!(m.buckets.is_empty(), "{}", m.name);
            }
        }
    }

    #[test]
    fn event_types_from_outside_are_bounded() {
        assert_eq!(event_type("pull_request"), "pull_request");
        assert_eq!(event_type("ping"), "ping");
        assert_eq!(event_type("x\"} 1\nevil"), "other");
    }

    #[test]
    fn a_clock_behind_gives_zero_not_a_negative_age() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap();
        assert_eq!(seconds_between(t(10), t(70)), 60.0);
        assert_eq!(seconds_between(t(70), t(10)), 0.0);
    }
}
