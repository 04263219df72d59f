//! A webhook outage, end to end on moto: GitHub (the HTTP-level fake, which
//! delivers to the webhook's URL and lists each attempt as GitHub's "Recent
//! Deliveries" do) fails to deliver while the webhook function is down, and
//! never retries by itself; the real `redelivery` binary, started by its
//! EventBridge schedule, asks GitHub to redeliver, GitHub sends the event
//! again to the real `webhook` binary, and the job runs once.
//!
//! The Function URL in front of the webhook is a stand-in here (moto serves
//! none): an HTTP server that turns GitHub's POST into the Function URL event
//! and answers with the function's response, or with Lambda's 502 while the
//! function is down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use jiff::Timestamp;
use serde_json::{Value, json};
use skiff_tests::deployment::{Deployment, HMAC_SECRET};
use skiff_tests::github::{self, GitHub, HookTarget, example, lock};
use skiff_tests::lambda::{function_url_event, scheduled_event};
use skiff_tests::runtime_api::Function;

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

/// The repository webhook the sweeper watches (`ORG/REPO:HOOK_ID`).
const HOOK: &str = "Codertocat/Hello-World:1";

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

/// The webhook's Function URL: forwards to the function while it is up.
type Up = Arc<Mutex<Option<Arc<Function>>>>;

async fn function_url(State(up): State<Up>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let function = up.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(function) = function else {
        // What a Function URL answers when its function fails to run.
        return (StatusCode::BAD_GATEWAY, "Internal Server Error".to_string());
    };
    let headers: Vec<(&str, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?.to_string())))
        .collect();
    let event = function_url_event(&headers, &String::from_utf8_lossy(&body));
    let answer = function.invoke(&event).await.ok();
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    (status, answer["body"].as_str().unwrap_or("").to_string())
}

async fn start_function_url(up: Up) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let app = Router::new().fallback(any(function_url)).with_state(up);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// GitHub delivers an event (the fake's client blocks: off the runtime).
async fn deliver(d: &Deployment, event: &str, guid: &str, body: &Value) -> u16 {
    let (g, event, guid, body) = (
        d.github.clone(),
        event.to_string(),
        guid.to_string(),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || github::deliver(&g, &event, &guid, &body))
        .await
        .expect("the delivery thread")
}

/// One run of the sweeper, as its schedule starts it.
async fn sweep(sweeper: &Function) -> Value {
    let event = scheduled_event(
        &Timestamp::now().to_string(),
        "arn:aws:events:us-east-1:123456789012:rule/skiff-RedeliveryFunctionEveryFiveMinutes",
    );
    sweeper.invoke(&event).await.ok()
}

/// The attempts GitHub lists for `guid`: `(redelivery, status_code)`, oldest first.
fn attempts(d: &Deployment, guid: &str) -> Vec<(bool, u64)> {
    let gh = lock(&d.github);
    let mut out: Vec<(bool, u64)> = gh
        .deliveries
        .iter()
        .filter(|a| a["guid"] == guid)
        .map(|a| {
            (
                a["redelivery"].as_bool().unwrap_or(false),
                a["status_code"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.reverse();
    out
}

fn report(
    deliveries: usize,
    failed: usize,
    ignored: usize,
    waiting: usize,
    redelivered: &[&str],
) -> Value {
    json!({
        "deliveries": deliveries,
        "failed": failed,
        "recorded": 0,
        "ignored": ignored,
        "waiting": waiting,
        "already_requested": 0,
        "redelivered": redelivered,
        "errors": [],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_lost_during_a_webhook_outage_is_recovered_exactly_once() {
    let d = Deployment::new("redelivery", JOBS, github()).await;
    let up: Up = Arc::new(Mutex::new(None));
    let url = start_function_url(up.clone()).await;
    lock(&d.github).hook_target = Some(HookTarget {
        url,
        secret: HMAC_SECRET.as_bytes().to_vec(),
    });
    let sweeper = d
        .start_function("redelivery", &[("SKIFF_REDELIVERY_HOOKS", HOOK)])
        .await;

    // The outage: a pull request is opened and a star given; GitHub gets
    // Lambda's 502 for both and keeps them as failed.
    let opened = example("pull_request", Some("opened"));
    assert_eq!(deliver(&d, "pull_request", "g-opened", &opened).await, 502);
    let star = example("watch", Some("started"));
    assert_eq!(deliver(&d, "watch", "g-star", &star).await, 502);

    // A sweep during the outage: the failure is fresh and nothing has
    // succeeded since, so redelivering could only fail again; it waits. The
    // star is not an event Skiff acts on.
    assert_eq!(
        sweep(&sweeper).await,
        report(2, 2, 1, 1, &[]),
        "{}",
        d.logs("redelivery")
    );
    assert!(lock(&d.github).redelivery_requests().is_empty());

    // The webhook is back. A later comment (a second later: GitHub's times
    // have whole seconds) is delivered and proves it.
    *up.lock().unwrap_or_else(|p| p.into_inner()) = Some(d.function("webhook").await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let comment = example("issue_comment", Some("created"));
    assert_eq!(
        deliver(&d, "issue_comment", "g-comment", &comment).await,
        200,
        "{}",
        d.logs("webhook")
    );

    // The sweep asks for the lost pull request once; GitHub sends it again.
    assert_eq!(
        sweep(&sweeper).await,
        report(3, 2, 1, 0, &["g-opened"]),
        "{}",
        d.logs("redelivery")
    );
    let until = Instant::now() + Duration::from_secs(30);
    while attempts(&d, "g-opened").len() < 2 {
        assert!(Instant::now() < until, "GitHub never redelivered g-opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts(&d, "g-opened"), [(false, 502), (true, 200)]);

    // The trigger plans it: the job exists, once.
    d.settle().await;
    let jobs: Vec<String> = d.jobs().await.into_iter().map(|j| j.spec.job).collect();
    assert_eq!(jobs, ["unit"], "{}", d.logs("trigger"));

    // A second sweep sends nothing: the pull request is delivered, the star
    // still ignored.
    assert_eq!(
        sweep(&sweeper).await,
        report(4, 1, 1, 0, &[]),
        "{}",
        d.logs("redelivery")
    );
    assert_eq!(attempts(&d, "g-star"), [(false, 502)]);
    let (requests, first_attempt) = {
        let gh = lock(&d.github);
        let requests: Vec<String> = gh.redelivery_requests().iter().map(|s| s.line()).collect();
        let first = gh
            .deliveries
            .iter()
            .find(|a| a["guid"] == "g-opened" && a["redelivery"] == false)
            .map(|a| a["id"].clone())
            .unwrap_or_default();
        (requests, first)
    };
    assert_eq!(
        requests,
        [format!(
            "POST /repos/Codertocat/Hello-World/hooks/1/deliveries/{first_attempt}/attempts"
        )]
    );
}
