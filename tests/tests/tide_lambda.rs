//! Tide on the Lambda path: the template deployed into moto, the real
//! function binaries, a fake GitHub API and a fake Kubernetes API server
//! (HTTP level: neither can run here). A pull request with lgtm+approved is
//! opened, its presubmit runs through webhook → trigger → dispatcher →
//! syncer → reporter; the syncer that sees it finish nudges tide through the
//! `tide` queue, and that nudged sync merges it at its head; the deck Lambda
//! then shows the pool and the merge.

use serde_json::{Value, json};
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, example, lock};
use skiff_tests::lambda::scheduled_event;
use std::time::{Duration, Instant};

const TIDE: &str = r#"
tide:
  queries:
  - repos: [Codertocat/Hello-World]
    labels: [lgtm, approved]
    missingLabels: [do-not-merge/hold]
  merge_method:
    Codertocat/Hello-World: rebase
"#;

const JOBS: &str = r#"
presubmits:
  Codertocat/Hello-World:
  - name: unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/sh, -c], args: ["echo ok"]}]}
"#;

const REPO: &str = "Codertocat/Hello-World";

fn github(pr: &Value) -> GitHub {
    let mut gh = GitHub {
        members: vec!["Codertocat".into()],
        files: vec!["README.md".into()],
        ..GitHub::default()
    };
    let key = format!("{REPO}#{}", pr["number"]);
    gh.pulls.insert(key.clone(), pr.clone());
    gh.labels
        .insert(key, vec!["lgtm".into(), "approved".into()]);
    let base = pr["base"]["sha"].as_str().unwrap_or_default().to_string();
    let branch = pr["base"]["ref"].as_str().unwrap_or("master").to_string();
    gh.branch_heads.insert(format!("{REPO}:{branch}"), base);
    gh
}

fn deck_get(path: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "anonymous", "apiId": "skiffdeck",
            "domainName": "skiffdeck.lambda-url.us-east-1.on.aws", "domainPrefix": "skiffdeck",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "04/Dec/2026:16:00:00 +0000", "timeEpoch": 1796400000000u64
        },
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_pull_request_is_merged_when_its_job_finishing_nudges_tide() {
    let mut body = example("pull_request", Some("opened"));
    body["pull_request"]["labels"] = json!([{"name": "lgtm"}, {"name": "approved"}]);
    body["pull_request"]["mergeable"] = json!(true);
    let pr = body["pull_request"].clone();
    let head = pr["head"]["sha"].as_str().expect("a head").to_string();
    let d = Deployment::configured("tide", TIDE, JOBS, github(&pr), None).await;

    let (status, answer) = d
        .deliver("pull_request", "tide-delivery", &body.to_string())
        .await;
    assert_eq!(status, 200, "{answer}");
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        d.settle().await;
        d.sync().await;
        d.settle().await;
        let passed = lock(&d.github)
            .statuses()
            .iter()
            .any(|(sha, c, s)| *sha == head && c == "unit" && s == "success");
        if passed {
            break;
        }
        assert!(
            Instant::now() < until,
            "unit never passed: {:?}",
            lock(&d.github).statuses()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The syncer that saw the job finish nudged tide: the nudge, not the
    // schedule, merges the pull.
    let polled = d.poll_tide().await;
    assert!(
        polled.delivered >= 1,
        "no nudge: {polled:?}\n{}",
        d.logs("syncer")
    );
    assert!(d.logs("tide").contains("MERGE"), "{}", d.logs("tide"));
    let merges = lock(&d.github).merges();
    assert_eq!(merges.len(), 1, "{merges:?}");
    let (key, method, sha, _) = &merges[0];
    assert_eq!(key, &format!("{REPO}#{}", pr["number"]));
    assert_eq!((method.as_str(), sha.as_str()), ("rebase", head.as_str()));
    assert!(
        lock(&d.github)
            .tide_statuses(&head)
            .iter()
            .any(|(s, d)| s == "success" && d == "In merge pool.")
    );

    // The scheduled sync finds nothing left to do.
    let answer = d
        .function("tide")
        .await
        .invoke(&scheduled_event(
            &jiff::Timestamp::now().to_string(),
            "arn:aws:events:us-east-1:123456789012:rule/tide",
        ))
        .await
        .ok();
    assert_eq!(answer["pools"], json!([]), "the pull is merged: {answer}");
    assert_eq!(lock(&d.github).merges().len(), 1, "merged once");

    // The deck Lambda reads what tide kept in DynamoDB.
    let deck = d.function("deck").await;
    let answer = deck.invoke(&deck_get("/tide-history.js")).await.ok();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let history: Value =
        serde_json::from_str(answer["body"].as_str().unwrap_or("{}")).expect("JSON");
    let pool = format!("{REPO}:{}", pr["base"]["ref"].as_str().unwrap_or("master"));
    assert_eq!(history["History"][&pool][0]["action"], "MERGE", "{history}");
    assert_eq!(
        history["History"][&pool][0]["merged"],
        json!([pr["number"]])
    );
}
