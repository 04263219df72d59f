//! Metrics on Lambda: CloudWatch Embedded Metric Format (EMF) lines on
//! stdout, no API call. The handlers record through the `metrics` facade
//! with the names of `skiff_core::metrics`; [`init`] installs the EMF
//! collector (`metrics_cloudwatch_embedded`) at cold start and [`flush`]
//! writes what an invocation recorded before its answer goes back, one JSON
//! line per label set. CloudWatch Logs turns each line into metrics in the
//! [`NAMESPACE`] namespace, its labels as dimensions.
//!
//! Lambda's log-level filter sees these lines as INFO (they carry no
//! `level`): with the template's `LogLevel` above INFO they are dropped and
//! no metric reaches CloudWatch.

use std::sync::OnceLock;

use aws_lambda_events::sqs::SqsEvent;
use jiff::Timestamp;
use skiff_core::metrics::{Kind, NAMESPACE, QUEUE_AGE, RECORDED, Unit};

static COLLECTOR: OnceLock<Option<&'static metrics_cloudwatch_embedded::Collector>> =
    OnceLock::new();

/// Installs the EMF collector as the process's recorder and describes
/// every metric (its unit). Once per process; a second call changes
/// nothing. Without it (tests of the handlers) recording is a no-op.
pub fn init() {
    COLLECTOR.get_or_init(|| {
        match metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .init()
        {
            Ok(collector) => {
                describe();
                Some(collector)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics are not recorded");
                None
            }
        }
    });
}

/// Gives every metric its unit (EMF's `Unit`).
fn describe() {
    for m in RECORDED {
        let unit = match m.unit {
            Unit::Count => metrics::Unit::Count,
            Unit::Seconds => metrics::Unit::Seconds,
        };
        match m.kind {
            Kind::Counter => metrics::describe_counter!(m.name, unit, m.help),
            Kind::Gauge => metrics::describe_gauge!(m.name, unit, m.help),
            Kind::Histogram => metrics::describe_histogram!(m.name, unit, m.help),
        }
    }
}

/// Writes what was recorded since the last flush to stdout, one EMF line
/// per label set. Call it at the end of every invocation.
pub fn flush() {
    let stdout = std::io::stdout();
    flush_to(stdout.lock());
}

/// [`flush`] into `out`.
pub fn flush_to(out: impl std::io::Write) {
    if let Some(Some(collector)) = COLLECTOR.get()
        && let Err(e) = collector.flush(out)
    {
        tracing::warn!(error = %e, "metrics not written");
    }
}

/// Records [`QUEUE_AGE`] for `queue` from the batch: the age at `now` of
/// its oldest message, by SQS's `SentTimestamp` (milliseconds). A batch
/// without one records nothing.
pub fn queue_age(event: &SqsEvent, queue: &'static str, now: Timestamp) {
    let sent = event
        .records
        .iter()
        .filter_map(|r| r.attributes.get("SentTimestamp"));
    record_oldest(sent.map(String::as_str), queue, now);
}

/// [`queue_age`] for a batch read as JSON (a function whose event is an SQS
/// batch or a schedule).
pub fn queue_age_json(event: &serde_json::Value, queue: &'static str, now: Timestamp) {
    let records = event.get("Records").and_then(|r| r.as_array());
    let sent = records
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("attributes")?.get("SentTimestamp")?.as_str());
    record_oldest(sent, queue, now);
}

fn record_oldest<'a>(sent: impl Iterator<Item = &'a str>, queue: &'static str, now: Timestamp) {
    let oldest = sent
        .filter_map(|ms| ms.trim().parse::<i64>().ok())
        .min()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok());
    if let Some(sent) = oldest {
        metrics::gauge!(QUEUE_AGE.name, "queue" => queue)
            .set(skiff_core::metrics::seconds_between(sent, now));
    }
}

/// Runs an invocation's handler, then [`flush`]es what it recorded, so the
/// lines are written before Lambda may freeze the container. (Boxed: a
/// handler's future is deep, and one more layer around it would take the
/// compiler past its recursion limit.)
pub fn flushed<'a, T: 'a>(
    invocation: impl std::future::Future<Output = T> + 'a,
) -> impl std::future::Future<Output = T> + 'a {
    let invocation = Box::pin(invocation);
    async move {
        let out = invocation.await;
        flush();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The collector as the functions install it: each line is an EMF
    /// document whose metrics carry their catalogue unit and a value.
    #[test]
    fn recorded_metrics_flush_as_emf_lines_with_units_and_values() {
        init();
        let event: SqsEvent = serde_json::from_value(serde_json::json!({"Records": [
            {"messageId": "a", "body": "x", "attributes": {"SentTimestamp": "1800000000000"}},
            {"messageId": "b", "body": "y", "attributes": {"SentTimestamp": "1799999990000"}},
        ]}))
        .unwrap();
        let now = Timestamp::from_millisecond(1_800_000_030_000).unwrap();
        queue_age(&event, "events", now);
        metrics::counter!("skiff_jobs_created", "type" => "periodic", "creator" => "scheduler")
            .increment(2);
        metrics::histogram!("crier_report_latency", "reporter" => "github-reporter").record(1.5);
        let mut out = Vec::new();
        flush_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        let docs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let find = |name: &str| {
            docs.iter()
                .find(|d| d.get(name).is_some())
                .unwrap_or_else(|| panic!("no line carries {name}: {text}"))
        };
        let age = find("skiff_queue_oldest_message_age_seconds");
        assert_eq!(age["skiff_queue_oldest_message_age_seconds"], 40.0);
        assert_eq!(age["queue"], "events");
        let meta = &age["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(meta["Namespace"], "Skiff");
        assert_eq!(meta["Dimensions"], serde_json::json!([["queue"]]));
        assert_eq!(
            meta["Metrics"][0],
            serde_json::json!({"Name": "skiff_queue_oldest_message_age_seconds", "Unit": "Seconds"})
        );
        assert!(age["_aws"]["Timestamp"].as_u64().is_some());
        let created = find("skiff_jobs_created");
        assert_eq!(created["skiff_jobs_created"], 2);
        assert_eq!(
            created["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Count"
        );
        let latency = find("crier_report_latency");
        assert_eq!(latency["crier_report_latency"], serde_json::json!([1.5]));

        // Counters and histograms report what is new since the last line.
        let mut again = Vec::new();
        flush_to(&mut again);
        let again = String::from_utf8(again).unwrap();
        assert!(!again.contains("skiff_jobs_created"), "{again}");
        assert!(!again.contains("crier_report_latency"), "{again}");
    }
}
