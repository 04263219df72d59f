//! `skiff dev`'s `/metrics` and `/health`, end to end: the real binary runs
//! a periodic as a local process, takes a signed `ping`, and then
//!
//! - `/metrics` is Prometheus text (every line a comment, a sample or
//!   blank, as `prometheus-parse` reads them) holding Prow's `prowjobs`
//!   gauge with Prow's labels for the job that ran, and what the functions
//!   recorded on the way: the delivery, the job created by the scheduler,
//!   its runtime, the oldest triggered job, the queues' ages;
//! - `/health` answers 200: the scheduler ticks every second.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use prometheus_parse::{LineInfo, Sample, Scrape, Value};
use serde_json::Value as Json;
use support::{GitHub, fake_github, http, sign, start_dev, wait_for};

const SECRET: &str = "metrics-secret";

const JOBS: &str = r#"
periodics:
- name: metrics-echo
  interval: 10m
  spec:
    containers:
    - image: alpine
      command: ["/bin/true"]
"#;

fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

#[test]
fn metrics_are_prometheus_text_with_prowjobs_by_prows_labels_after_a_job_ran() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("config.yaml"),
        "prowjob_namespace: default\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("jobs.yaml"), JOBS).unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("token"), "token\n").unwrap();
    let (_gh, github) = fake_github(GitHub::default());
    let dev = start_dev(
        dir.path(),
        &github,
        &["--tick-seconds", "1", "--sync-seconds", "1"],
    );

    let states = || -> Vec<String> {
        let (_, body) = http("GET", &format!("{}/prowjobs.js", dev.url), &[], b"");
        let v: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| j["spec"]["job"] == "metrics-echo")
            .map(|j| j["status"]["state"].as_str().unwrap_or("").to_string())
            .collect()
    };
    wait_for("the periodic to succeed", Duration::from_secs(60), || {
        states() == ["success"]
    });

    let ping = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let headers = [
        ("X-GitHub-Event", "ping".to_string()),
        ("X-GitHub-Delivery", "metrics-ping-1".to_string()),
        ("X-Hub-Signature-256", sign(SECRET.as_bytes(), ping)),
        ("Content-Type", "application/json".to_string()),
    ];
    let (status, body) = http("POST", &format!("{}/hook", dev.url), &headers, ping);
    assert_eq!((status, body.as_str()), (200, "pong"));

    let (status, text) = http("GET", &format!("{}/metrics", dev.url), &[], b"");
    assert_eq!(status, 200, "{text}");
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored),
            "not a line of Prometheus text: {line:?}\n{text}"
        );
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");

    let job = find(
        &scrape,
        "prowjobs",
        &[
            ("job_name", "metrics-echo"),
            ("type", "periodic"),
            ("state", "success"),
        ],
    )
    .unwrap_or_else(|| panic!("no prowjobs sample for metrics-echo:\n{text}"));
    assert_eq!(job.value, Value::Gauge(1.0), "{text}");
    let labels: HashMap<&str, &str> = job
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (k, v) in [
        ("job_namespace", "default"),
        ("org", ""),
        ("repo", ""),
        ("base_ref", ""),
        ("cluster", "default"),
        ("retest", "false"),
    ] {
        assert_eq!(labels.get(k), Some(&v), "label {k}: {labels:?}");
    }
    assert_eq!(
        scrape.docs.get("prowjobs").map(String::as_str),
        Some("Number of prowjobs in the system.")
    );

    let counter = |metric: &str, labels: &[(&str, &str)]| match find(&scrape, metric, labels) {
        Some(Sample {
            value: Value::Counter(n),
            ..
        }) => *n,
        other => panic!("{metric} {labels:?}: {other:?}\n{text}"),
    };
    assert_eq!(
        counter("skiff_webhook_deliveries", &[("outcome", "ignored")]),
        1.0
    );
    assert_eq!(
        counter("prow_webhook_counter", &[("event_type", "ping")]),
        1.0
    );
    assert_eq!(
        counter(
            "skiff_jobs_created",
            &[("type", "periodic"), ("creator", "scheduler")]
        ),
        1.0
    );
    match find(
        &scrape,
        "prow_job_runtime_seconds",
        &[("job_name", "metrics-echo"), ("state", "success")],
    ) {
        Some(Sample {
            value: Value::Histogram(buckets),
            ..
        }) => {
            let all = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            assert_eq!(all, 1.0, "one run observed: {buckets:?}");
            assert!(
                buckets.iter().any(|b| b.less_than == 30.0),
                "Prow's buckets: {buckets:?}"
            );
        }
        other => panic!("prow_job_runtime_seconds: {other:?}\n{text}"),
    }
    assert!(
        matches!(
            find(&scrape, "skiff_oldest_triggered_job_age_seconds", &[]),
            Some(Sample {
                value: Value::Gauge(_),
                ..
            })
        ),
        "{text}"
    );
    for queue in ["events", "dispatch", "reports"] {
        assert!(
            matches!(
                find(
                    &scrape,
                    "skiff_queue_oldest_message_age_seconds",
                    &[("queue", queue)]
                ),
                Some(Sample {
                    value: Value::Gauge(_),
                    ..
                })
            ),
            "{queue}: {text}"
        );
    }

    let (status, page) = http("GET", &format!("{}/health", dev.url), &[], b"");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Healthy."), "{page}");
    assert!(page.contains("every 1s"), "{page}");
}
