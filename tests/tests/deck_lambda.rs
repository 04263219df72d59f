//! The deck Lambda on moto: the real `deck` binary behind its Runtime API
//! stand-in, fed Function URL requests (payload 2.0) as Lambda would, over
//! job records in the stack's DynamoDB table and logs in its S3 bucket, with
//! the config bundle `skiff config push` uploads. The same handler serves
//! `skiff dev` (see cli/tests/deck_browser.rs for the browser half).

use std::io::Read;

use base64::Engine;
use serde_json::{Map, Value, json};
use skiff_aws::logs::S3LogStore;
use skiff_core::ports::{JobStore, LogStore};
use skiff_core::prowjob::ProwJobState;
use skiff_deck::fixtures;
use skiff_tests::deployment::Deployment;
use skiff_tests::github::GitHub;

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
periodics:
- name: ci-nightly-0
  cron: "0 3 * * *"
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

/// A browser's GET through the Function URL.
fn get(target: &str, headers: &[(&str, &str)]) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.to_string())))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "skiffdeck",
            "domainName": "skiffdeck.lambda-url.us-east-1.on.aws",
            "domainPrefix": "skiffdeck",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:16:00:00 +0000",
            "timeEpoch": 1796400000000u64
        },
        "isBase64Encoded": false
    })
}

/// Status and body text (gunzipped when the function compressed it).
fn answer(v: &Value) -> (u64, String) {
    let status = v["statusCode"].as_u64().unwrap_or(0);
    let body = v["body"].as_str().unwrap_or("");
    if v["isBase64Encoded"] == true {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64 body");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("a gzip body");
        (status, text)
    } else {
        (status, body.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deck_lambda_serves_pages_from_dynamodb_and_s3() {
    let d = Deployment::new("deck", JOBS, GitHub::default()).await;
    let now = jiff::Timestamp::now();
    let jobs = fixtures::jobs(30, now);
    let bucket = d
        .stack
        .function_env("DeckFunction")
        .into_iter()
        .find(|(k, _)| k == "SKIFF_ARTIFACTS_BUCKET")
        .map(|(_, v)| v)
        .expect("the deck's bucket");
    let logs = S3LogStore::new(skiff_aws::client::s3(&d.sdk), bucket, String::new());
    for (i, j) in jobs.iter().enumerate() {
        d.store.create(j).await.expect("store a record");
        for (path, name, bytes) in fixtures::artifacts_of(i, j) {
            logs.put(&path, name, &bytes)
                .await
                .expect("store an artifact");
        }
    }
    let deck = d.function("deck").await;
    d.proxy.take();

    // The list: every record, newest first; only reads.
    let (status, html) = answer(&deck.invoke(&get("/", &[])).await.ok());
    assert_eq!(status, 200, "{html}");
    let first = html.find(&format!("/jobs/{}", jobs[0].metadata.name));
    let last = html.find(&format!("/jobs/{}", jobs[29].metadata.name));
    assert!(first.is_some() && first < last, "{html}");
    assert_eq!(html.matches("<td><a href=\"/jobs/").count(), 30);
    let calls = d.proxy.take();
    assert!(
        calls.keys().all(|op| op.starts_with("DynamoDB.Query")
            || op == "DynamoDB.BatchGetItem"
            || op.starts_with("S3.")),
        "the list page only reads: {calls:?}"
    );
    // The window's small items from `by-time-page`, then the page's 30
    // records by key.
    assert_eq!(
        (
            calls.get("DynamoDB.Query"),
            calls.get("DynamoDB.BatchGetItem")
        ),
        (Some(&1), Some(&1)),
        "{calls:?}"
    );

    // A failed job: the log from S3 with its error line marked; gzip for a
    // browser that accepts it (a binary, base64-encoded Lambda response).
    let failed = jobs
        .iter()
        .position(|j| j.status.state == Some(ProwJobState::Failure))
        .expect("a failed sample");
    let raw = deck
        .invoke(&get(
            &format!("/jobs/{}", jobs[failed].metadata.name),
            &[("Accept-Encoding", "gzip")],
        ))
        .await
        .ok();
    assert_eq!(raw["headers"]["content-encoding"], "gzip", "{raw}");
    let (status, html) = answer(&raw);
    assert_eq!(status, 200);
    assert!(
        html.contains("<mark>ERROR:</mark> widgets_test.go:42"),
        "{html}"
    );
    assert!(
        html.contains("&quot;passed&quot;: false"),
        "finished.json from S3"
    );

    // Prow's /log, /prowjobs.js and the badge.
    let j = &jobs[failed];
    let (status, log) = answer(
        &deck
            .invoke(&get(
                &format!("/log?job={}&id={}", j.spec.job, j.status.build_id),
                &[],
            ))
            .await
            .ok(),
    );
    assert_eq!((status, log), (200, fixtures::log_of(failed)));
    let (status, body) = answer(
        &deck
            .invoke(&get("/prowjobs.js?omit=pod_spec", &[]))
            .await
            .ok(),
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("prowjobs.js is JSON");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(30));
    let (status, svg) = answer(&deck.invoke(&get("/badge.svg?jobs=pull-*", &[])).await.ok());
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg"), "{svg}");

    // The command help from the pushed config bundle; a bad filter is a 400.
    let (status, html) = answer(&deck.invoke(&get("/command-help", &[])).await.ok());
    assert_eq!(status, 200);
    assert!(
        html.contains("<code>/test pull-widgets-unit</code>"),
        "{html}"
    );
    let (status, html) = answer(&deck.invoke(&get("/?state=bogus", &[])).await.ok());
    assert_eq!(status, 400);
    assert!(html.contains("state=&quot;bogus&quot;"), "{html}");
}
