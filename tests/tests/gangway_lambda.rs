//! The gangway Lambda on moto: the real `gangway` binary behind its Runtime
//! API stand-in, fed Function URL requests (payload 2.0) as Lambda hands
//! them over when the URL's `AuthType` is `AWS_IAM` — AWS has checked the
//! SigV4 signature and put the caller's principal in
//! `requestContext.authorizer.iam` — over the stack's DynamoDB table and
//! dispatch queue, with `skiff.gangway.allowed_callers` in the config
//! bundle. The AWS calls it makes are exactly those its role allows.

use serde_json::{Value, json};
use skiff_core::ports::JobStore;
use skiff_core::prowjob::ProwJobState;
use skiff_tests::deployment::Deployment;
use skiff_tests::github::GitHub;

const CONFIG: &str = r#"  gangway:
    allowed_callers:
    - principal: "arn:aws:sts::123456789012:assumed-role/release/*"
      jobs: [nightly]
"#;

const JOBS: &str = r#"
periodics:
- name: nightly
  cron: "0 3 1 1 *"
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
- name: deploy
  cron: "0 3 1 1 *"
  spec: {containers: [{image: alpine, command: [/bin/date]}]}
"#;

const RELEASE: &str = "arn:aws:sts::123456789012:assumed-role/release/gh-actions-17";
const OTHER: &str = "arn:aws:iam::123456789012:user/mallory";

/// A request through the gangway's Function URL; `caller` is the principal
/// AWS verified (`None`: a URL whose AuthType is NONE, no identity).
fn request(method: &str, target: &str, caller: Option<&str>, body: &str) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "skiffgangway",
        "domainName": "skiffgangway.lambda-url.us-east-1.on.aws",
        "domainPrefix": "skiffgangway",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.9", "userAgent": "skiff-run"},
        "requestId": "req",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Dec/2026:16:00:00 +0000",
        "timeEpoch": 1796400000000u64
    });
    if let Some(arn) = caller {
        context["authorizer"] = json!({"iam": {
            "accessKey": "ASIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AROAEXAMPLE:gh-actions-17",
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": arn,
            "userId": "AROAEXAMPLE:gh-actions-17"
        }});
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "skiffgangway.lambda-url.us-east-1.on.aws"},
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false
    })
}

fn answer(v: &Value) -> (u64, Value) {
    let status = v["statusCode"].as_u64().unwrap_or(0);
    let body = v["body"].as_str().unwrap_or("");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {v}"));
    (status, json)
}

fn start(job: &str) -> String {
    json!({"job_name": job, "job_execution_type": "PERIODIC"}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gangway_lambda_starts_jobs_for_allowed_iam_callers_only() {
    let d = Deployment::configured("gangway", CONFIG, JOBS, GitHub::default(), None).await;
    let gangway = d.function("gangway").await;
    d.proxy.take();

    // Allowed: the record is in DynamoDB and its id on the dispatch queue.
    let raw = gangway
        .invoke(&request(
            "POST",
            "/v1/executions",
            Some(RELEASE),
            &start("nightly"),
        ))
        .await
        .ok();
    assert_eq!(raw["headers"]["content-type"], "application/json", "{raw}");
    let (status, created) = answer(&raw);
    assert_eq!(status, 200, "{created}\n{}", d.logs("gangway"));
    assert_eq!(created["job_status"], "TRIGGERED");
    assert_eq!(created["job_type"], "PERIODIC");
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(
        created["job_url"],
        format!("https://deck.example.com/jobs/{id}")
    );
    let record = d.store.get(&id).await.expect("a read").expect("the record");
    assert_eq!(record.spec.job, "nightly");
    assert_eq!(
        record.metadata.annotations["skiff.dev/gangway-caller"],
        RELEASE
    );
    assert_allowed(&d.proxy.take());
    assert_eq!(d.poll_dispatch().await.delivered, 1, "one dispatch message");
    d.proxy.take();

    // Refused: another principal, another job, no identity at all.
    let cases = [
        (Some(OTHER), "nightly", 403, "matches no principal"),
        (Some(RELEASE), "deploy", 403, "allowed_callers[0]"),
        (None, "nightly", 403, "must use AuthType AWS_IAM"),
        (Some(RELEASE), "weekly", 403, "allowed_callers[0]"),
    ];
    for (caller, job, want, says) in cases {
        let (status, v) = answer(
            &gangway
                .invoke(&request("POST", "/v1/executions", caller, &start(job)))
                .await
                .ok(),
        );
        assert_eq!(status, want, "{caller:?} {job}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains(says)),
            "{caller:?} {job}: {v}"
        );
    }

    // Reads: by id, and listed by job name.
    let (status, v) = answer(
        &gangway
            .invoke(&request(
                "GET",
                &format!("/v1/executions/{id}"),
                Some(OTHER),
                "",
            ))
            .await
            .ok(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    let state = d
        .store
        .get(&id)
        .await
        .expect("a read")
        .and_then(|j| j.status.state);
    let want = if state == Some(ProwJobState::Pending) {
        "PENDING"
    } else {
        "TRIGGERED"
    };
    assert_eq!(v["job_status"], want);
    let (status, v) = answer(
        &gangway
            .invoke(&request(
                "GET",
                "/v1/executions?job_name=nightly",
                Some(RELEASE),
                "",
            ))
            .await
            .ok(),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["job_execution"][0]["id"], id.as_str(), "{v}");
    let (status, _) = answer(
        &gangway
            .invoke(&request(
                "GET",
                "/v1/executions/no-such-id",
                Some(RELEASE),
                "",
            ))
            .await
            .ok(),
    );
    assert_eq!(status, 404);

    assert_allowed(&d.proxy.take());
}

/// Every AWS call the gangway made is one its role (template.yaml's
/// `GangwayRole`) allows: SendMessageBatch is authorized as sqs:SendMessage.
fn assert_allowed(calls: &skiff_tests::moto::Counts) {
    let allowed = [
        "DynamoDB.PutItem",
        "DynamoDB.GetItem",
        "DynamoDB.Query",
        "SQS.SendMessageBatch",
        "S3.GET Object",
        "S3.HEAD Object",
        "S3.GET Bucket",
    ];
    assert!(
        calls.keys().all(|op| allowed.contains(&op.as_str())),
        "{calls:?}"
    );
}
