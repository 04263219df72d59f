//! Metrics on Lambda, end to end on moto: the real function binaries run a
//! pull request and a periodic, and what they print on stdout is checked
//! as CloudWatch Embedded Metric Format — each metric line a JSON document
//! whose `_aws` names the `Skiff` namespace, its dimension sets (each key a
//! member of the document) and its metrics (each a catalogue name with the
//! catalogue's unit, and a member holding a number or up to 100 numbers) —
//! and every metric the issue names is there, from the function that knows
//! it. Then the deck's `/health` answers 200 over the same stack (the
//! scheduler ticked; the queues' depths come from GetQueueAttributes).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use skiff_core::metrics::{Metric, PROWJOBS, RECORDED};
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example};

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo unit ok"]}]}
periodics:
- name: nightly
  interval: 24h
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

fn github() -> GitHub {
    let pr = example("pull_request", Some("opened"))["pull_request"].clone();
    let mut gh = GitHub {
        members: vec!["Codertocat".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    gh.pulls
        .insert(format!("Codertocat/Hello-World#{}", pr["number"]), pr);
    gh
}

/// One metric value of an EMF line: its name, unit, dimensions and value.
#[derive(Debug)]
struct Emitted {
    name: String,
    unit: String,
    dimensions: Map<String, Value>,
}

fn catalogue(name: &str) -> Option<&'static Metric> {
    RECORDED.iter().chain([&PROWJOBS]).find(|m| m.name == name)
}

/// Checks `line` against the EMF specification's rules and returns what it
/// declares; `Err` says which rule it breaks.
fn emf(line: &str) -> Result<Vec<Emitted>, String> {
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = doc.as_object().ok_or("not an object")?;
    let aws = root.get("_aws").ok_or("no _aws")?;
    aws["Timestamp"]
        .as_u64()
        .ok_or("_aws.Timestamp is not a whole number of milliseconds")?;
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics is not a non-empty array")?;
    let mut out = Vec::new();
    for d in directives {
        if d["Namespace"] != "Skiff" {
            return Err(format!("namespace {}", d["Namespace"]));
        }
        let sets = d["Dimensions"]
            .as_array()
            .ok_or("Dimensions is not an array")?;
        let mut dimensions = Map::new();
        for set in sets {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > 30 {
                return Err("more than 30 dimensions".into());
            }
            for k in keys {
                let k = k.as_str().ok_or("a dimension key is not a string")?;
                let v = root
                    .get(k)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension {k} has no string member"))?;
                dimensions.insert(k.to_string(), json!(v));
            }
        }
        let metrics = d["Metrics"]
            .as_array()
            .filter(|m| !m.is_empty())
            .ok_or("Metrics is not a non-empty array")?;
        for m in metrics {
            let name = m["Name"].as_str().ok_or("a metric has no Name")?;
            let unit = m["Unit"]
                .as_str()
                .ok_or_else(|| format!("{name} has no Unit"))?;
            let value = root
                .get(name)
                .ok_or_else(|| format!("{name} has no value member"))?;
            let numbers = match value {
                Value::Number(_) => true,
                Value::Array(a) => a.len() <= 100 && a.iter().all(Value::is_number),
                _ => false,
            };
            if !numbers {
                return Err(format!(
                    "{name}'s value is not a number or numbers: {value}"
                ));
            }
            let known = catalogue(name).ok_or_else(|| format!("{name} is not in the catalogue"))?;
            if known.unit.as_str() != unit {
                return Err(format!(
                    "{name}: unit {unit}, the catalogue says {:?}",
                    known.unit
                ));
            }
            let mut declared: Vec<&str> = dimensions.keys().map(String::as_str).collect();
            declared.sort_unstable();
            let mut want: Vec<&str> = known.labels.to_vec();
            want.sort_unstable();
            if declared != want {
                return Err(format!(
                    "{name}: dimensions {declared:?}, the catalogue's labels {want:?}"
                ));
            }
            out.push(Emitted {
                name: name.to_string(),
                unit: unit.to_string(),
                dimensions: dimensions.clone(),
            });
        }
    }
    Ok(out)
}

/// Every metric a function's log holds, each line checked as EMF.
fn emitted(d: &Deployment, function: &str) -> Vec<Emitted> {
    let log = d.logs(function);
    let mut out = Vec::new();
    for line in log.lines().filter(|l| l.contains("\"_aws\"")) {
        match emf(line) {
            Ok(e) => out.extend(e),
            Err(why) => panic!("{function}: not EMF ({why}): {line}"),
        }
    }
    out
}

fn has(metrics: &[Emitted], name: &str, dims: &[(&str, &str)]) -> bool {
    metrics.iter().any(|m| {
        m.name == name
            && dims
                .iter()
                .all(|(k, v)| m.dimensions.get(*k) == Some(&json!(v)))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_prints_its_metrics_as_emf_and_the_deck_is_healthy() {
    let d = Deployment::new("metrics", JOBS, github()).await;
    let body = example("pull_request", Some("opened")).to_string();
    assert_eq!(d.deliver("pull_request", "metrics-1", &body).await.0, 200);
    assert_eq!(d.deliver("pull_request", "metrics-1", &body).await.0, 200);
    let scheduler = d.function("scheduler").await;
    d.tick(&scheduler, &Timestamp::now().to_string()).await.ok();

    let until = Instant::now() + Duration::from_secs(60);
    loop {
        d.settle().await;
        d.sync().await;
        let jobs = d.jobs().await;
        if jobs.len() == 2 && jobs.iter().all(|j| j.status.completion_time.is_some()) {
            d.settle().await;
            break;
        }
        assert!(Instant::now() < until, "jobs did not complete: {jobs:?}");
    }

    let webhook = emitted(&d, "webhook");
    assert!(
        has(
            &webhook,
            "skiff_webhook_deliveries",
            &[("outcome", "queued")]
        ),
        "{webhook:?}"
    );
    assert!(
        has(
            &webhook,
            "skiff_webhook_deliveries",
            &[("outcome", "duplicate")]
        ),
        "{webhook:?}"
    );
    assert!(
        has(
            &webhook,
            "prow_webhook_counter",
            &[("event_type", "pull_request")]
        ),
        "{webhook:?}"
    );
    let trigger = emitted(&d, "trigger");
    for (name, dims) in [
        (
            "skiff_trigger_planning_seconds",
            vec![("event_type", "pull_request")],
        ),
        (
            "skiff_jobs_created",
            vec![("type", "presubmit"), ("creator", "trigger")],
        ),
        (
            "skiff_queue_oldest_message_age_seconds",
            vec![("queue", "events")],
        ),
    ] {
        assert!(has(&trigger, name, &dims), "trigger {name}: {trigger:?}");
    }
    let scheduler = emitted(&d, "scheduler");
    assert!(
        has(
            &scheduler,
            "skiff_jobs_created",
            &[("type", "periodic"), ("creator", "scheduler")]
        ),
        "{scheduler:?}"
    );
    let dispatcher = emitted(&d, "dispatcher");
    assert!(
        has(
            &dispatcher,
            "skiff_job_triggered_to_pending_seconds",
            &[("type", "presubmit")]
        ),
        "{dispatcher:?}"
    );
    assert!(
        has(
            &dispatcher,
            "skiff_job_triggered_to_pending_seconds",
            &[("type", "periodic")]
        ),
        "{dispatcher:?}"
    );
    assert!(
        has(
            &dispatcher,
            "skiff_queue_oldest_message_age_seconds",
            &[("queue", "dispatch")]
        ),
        "{dispatcher:?}"
    );
    let syncer = emitted(&d, "syncer");
    assert!(
        has(
            &syncer,
            "prow_job_runtime_seconds",
            &[
                ("job_name", "unit"),
                ("type", "presubmit"),
                ("state", "success")
            ]
        ),
        "{syncer:?}"
    );
    assert!(
        has(
            &syncer,
            "prow_job_runtime_seconds",
            &[("job_name", "nightly"), ("state", "success")]
        ),
        "{syncer:?}"
    );
    assert!(
        has(&syncer, "skiff_oldest_triggered_job_age_seconds", &[]),
        "{syncer:?}"
    );
    let reporter = emitted(&d, "reporter");
    assert!(
        has(
            &reporter,
            "crier_reporting_results",
            &[("reporter", "github-reporter"), ("result", "success")]
        ),
        "{reporter:?}"
    );
    assert!(
        has(
            &reporter,
            "crier_report_latency",
            &[("reporter", "github-reporter")]
        ),
        "{reporter:?}"
    );
    let units: BTreeSet<&str> = syncer.iter().map(|m| m.unit.as_str()).collect();
    assert_eq!(units, BTreeSet::from(["Seconds"]));

    // The deck's /health over the same stack.
    let request = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/health", "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "anonymous", "apiId": "skiffdeck",
            "domainName": "skiffdeck.lambda-url.us-east-1.on.aws", "domainPrefix": "skiffdeck",
            "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "04/Dec/2026:16:00:00 +0000", "timeEpoch": 1796400000000u64
        },
        "isBase64Encoded": false
    });
    let answer = d.function("deck").await.invoke(&request).await.ok();
    let page = answer["body"].as_str().unwrap_or("").to_string();
    assert_eq!(answer["statusCode"], 200, "{page}\n{}", d.logs("deck"));
    assert!(page.contains("Healthy."), "{page}");
    assert!(page.contains("<td>events-dlq</td><td>0</td>"), "{page}");
    assert!(page.contains("Version <code>"), "the bundle's ETag: {page}");
}
