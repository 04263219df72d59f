//! The sample events in `events/` (one per function, for `cargo lambda
//! invoke`) are what each binary takes, as Lambda hands them over: each is
//! fed to its function running against the stack in moto. The GitHub and
//! Kubernetes APIs are HTTP-level fakes (neither can run here).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skiff_core::prowjob::ProwJobType;
use skiff_tests::binaries::FUNCTIONS;
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example, lock};

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
postsubmits:
  us-east-1/widgets:
  - name: publish
    branches: ['^main$']
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
periodics:
- name: nightly
  interval: 24h
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

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

#[test]
fn every_function_has_a_sample_event() {
    for f in FUNCTIONS {
        let event = sample(f);
        assert!(event.is_object(), "events/{f}.json is not an object");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sample_event_is_handled_by_its_function() {
    let d = Deployment::new("samples", JOBS, github()).await;
    let no_failures = json!({"batchItemFailures": []});

    let answer = d
        .function("webhook")
        .await
        .invoke(&sample("webhook"))
        .await
        .ok();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], "queued", "{answer}");

    let answer = d
        .function("trigger")
        .await
        .invoke(&sample("trigger"))
        .await
        .ok();
    assert_eq!(answer, no_failures);
    let presubmits: Vec<String> = d
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.spec.r#type == Some(ProwJobType::Presubmit))
        .map(|j| j.spec.job)
        .collect();
    assert_eq!(presubmits, ["unit"]);

    // An id with no record: acknowledged and dropped, not retried.
    let answer = d
        .function("dispatcher")
        .await
        .invoke(&sample("dispatcher"))
        .await
        .ok();
    assert_eq!(answer, no_failures);
    // A record that is not stored (any more): nothing to report.
    let answer = d
        .function("reporter")
        .await
        .invoke(&sample("reporter"))
        .await
        .ok();
    assert_eq!(answer, no_failures);

    let answer = d
        .function("scheduler")
        .await
        .invoke(&sample("scheduler"))
        .await
        .ok();
    assert_eq!(
        answer["window"],
        json!(["2026-12-04T15:59:00Z", "2026-12-04T16:00:00Z"])
    );
    assert_eq!(
        answer["created"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );

    let answer = d
        .function("syncer")
        .await
        .invoke(&sample("syncer"))
        .await
        .ok();
    assert_eq!(answer["failures"], 0, "{answer}");
    assert!(answer["jobs"].as_u64().is_some_and(|n| n >= 2), "{answer}");

    let answer = d
        .function("sweeper")
        .await
        .invoke(&sample("sweeper"))
        .await
        .ok();
    assert_eq!(answer["failures"], 0, "{answer}");

    // GitHub lists the sample delivery as failed (the webhook answered too
    // late), but the webhook recorded it: the sweep asks for nothing.
    let twenty_minutes_ago = jiff::Timestamp::now()
        .checked_sub(Duration::from_secs(20 * 60))
        .expect("a time");
    lock(&d.github).deliveries.push(json!({
        "id": 12_077_215_967_u64,
        "guid": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "delivered_at": twenty_minutes_ago.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "redelivery": false,
        "duration": 10.0,
        "status": "timed out",
        "status_code": 0,
        "event": "pull_request",
        "action": "opened",
        "installation_id": null,
        "repository_id": 1_296_269,
        "throttled_at": null
    }));
    let redelivery = d
        .start_function(
            "redelivery",
            &[("SKIFF_REDELIVERY_HOOKS", "Codertocat/Hello-World:1")],
        )
        .await;
    let answer = redelivery.invoke(&sample("redelivery")).await.ok();
    assert_eq!(answer["deliveries"], 1, "{answer}");
    assert_eq!(answer["recorded"], 1, "{answer}");
    assert_eq!(answer["redelivered"], json!([]), "{answer}");
    assert_eq!(answer["errors"], json!([]), "{answer}");
    assert!(lock(&d.github).redelivery_requests().is_empty());

    // No tide queries in this config: a sync with no pool to look at.
    let answer = d.function("tide").await.invoke(&sample("tide")).await.ok();
    assert_eq!(answer["pools"], json!([]), "{answer}");
    assert_eq!(answer["failures"], json!([]), "{answer}");

    // The job list, gzip-compressed for the browser that accepts it.
    let answer = d.function("deck").await.invoke(&sample("deck")).await.ok();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["isBase64Encoded"], true, "{answer}");
    assert_eq!(answer["headers"]["content-encoding"], "gzip", "{answer}");

    // A verified caller's list of successful `nightly` runs: none yet.
    let answer = d
        .function("gangway")
        .await
        .invoke(&sample("gangway"))
        .await
        .ok();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], r#"{"job_execution":[]}"#, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codecommit_push_reaches_the_trigger_through_the_eventbridge_rule() {
    let d = Deployment::new("codecommit", JOBS, GitHub::default()).await;
    let event = sample("codecommit");
    let events = aws_sdk_eventbridge::Client::new(&d.sdk);
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .resources(event["resources"][0].as_str().unwrap_or_default())
        .time(aws_smithy_types::DateTime::from_secs(1_796_400_000))
        .build();
    // Another test creating its stack on the same moto has, for a moment,
    // schedule rules with Lambda targets on the default bus; moto answers
    // PutEvents 500 while one exists (infra/moto_stack.py removes them right
    // after creation). So a 500 is tried again, briefly.
    let mut attempts = 0;
    let put = loop {
        attempts += 1;
        match events.put_events().entries(entry.clone()).send().await {
            Ok(put) => break put,
            Err(e)
                if attempts < 50
                    && e.raw_response().is_some_and(|r| r.status().as_u16() == 500) =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("PutEvents: {e:?}"),
        }
    };
    assert_eq!(put.failed_entry_count(), 0);

    // The rule delivers to this stack's events queue; the trigger plans the
    // push: the postsubmit of `us-east-1/widgets` on `main`.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        d.poll_events().await;
        let jobs = d.jobs().await;
        if let Some(job) = jobs.iter().find(|j| j.spec.job == "publish") {
            let refs = job.spec.refs.as_ref().expect("refs");
            assert_eq!(
                (refs.org.as_str(), refs.repo.as_str()),
                ("us-east-1", "widgets")
            );
            assert_eq!(refs.base_ref, "main");
            assert_eq!(refs.base_sha, "5e1b3f44c5b6a0d7e8f9a0b1c2d3e4f5a6b7c8d9");
            break;
        }
        assert!(
            Instant::now() < until,
            "no postsubmit; trigger log:\n{}",
            d.logs("trigger")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
