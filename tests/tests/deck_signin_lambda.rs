//! Signing in and rerunning on the deck Lambda, on moto: the real `deck`
//! binary with the OAuth app config and the cookie key in Secrets Manager
//! (the template's `DeckOAuthConfigSecretArn` and `DeckCookieSecretArn`),
//! fed Function URL requests (payload 2.0, cookies in `cookies` as a
//! Function URL sends them), against the fake GitHub's OAuth endpoints
//! (HTTP level: no real GitHub can run here). A rerun is a new record in
//! the stack's DynamoDB table and a message on its dispatch queue.

use serde_json::{Map, Value, json};
use skiff_core::ports::JobStore;
use skiff_deck::fixtures;
use skiff_tests::deployment::Deployment;
use skiff_tests::github::{GitHub, lock};

const CONFIG: &str = "deck:\n  rerun_auth_configs:\n    \"*\": {github_users: [alice]}\n";

const JOBS: &str = r#"
presubmits:
  acme/widgets:
  - name: pull-widgets-unit
    always_run: true
    spec: {containers: [{image: alpine, command: [/bin/true]}]}
"#;

/// A Function URL request (payload 2.0).
fn request(method: &str, target: &str, cookies: &[String], body: &str) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Map::new();
    if !body.is_empty() {
        headers.insert(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        );
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "cookies": cookies,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "skiffdeck",
            "domainName": "skiffdeck.lambda-url.us-east-1.on.aws",
            "domainPrefix": "skiffdeck",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:16:00:00 +0000",
            "timeEpoch": 1796400000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The response's cookies as `name=value`, from `cookies` (payload 2.0) or
/// `set-cookie` headers.
fn cookies(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if let Some(h) = v["headers"]["set-cookie"].as_str() {
        out.push(h.to_string());
    }
    out.into_iter()
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .collect()
}

fn named(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_github_and_reruns_on_the_deck_lambda() {
    let mut gh = GitHub::default();
    gh.oauth.client_id = "deck-app".into();
    gh.oauth.client_secret = "deck-secret".into();
    let d = Deployment::configured("decksignin", CONFIG, JOBS, gh, None).await;
    let github_url = d
        .stack
        .function_env("DeckFunction")
        .into_iter()
        .find(|(k, _)| k == "SKIFF_GITHUB_API_URL")
        .map(|(_, v)| v)
        .expect("the fake GitHub's URL");
    let secrets = aws_sdk_secretsmanager::Client::new(&d.sdk);
    let oauth = secrets
        .create_secret()
        .name("decksignin-oauth")
        .secret_string(
            "client_id: deck-app\nclient_secret: deck-secret\nredirect_url: https://skiffdeck.lambda-url.us-east-1.on.aws/github-login/redirect\n",
        )
        .send()
        .await
        .expect("CreateSecret oauth");
    let key = secrets
        .create_secret()
        .name("decksignin-cookie")
        .secret_string("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect("CreateSecret cookie");
    let job = fixtures::jobs(1, jiff::Timestamp::now()).remove(0);
    d.store.create(&job).await.expect("store a record");
    let deck = d
        .start_function(
            "deck",
            &[
                (
                    "SKIFF_DECK_OAUTH_CONFIG_SECRET_ID",
                    oauth.arn().unwrap_or_default(),
                ),
                ("SKIFF_DECK_COOKIE_SECRET_ID", key.arn().unwrap_or_default()),
                ("SKIFF_GITHUB_WEB_URL", &github_url),
            ],
        )
        .await;

    // Off to GitHub, and back with the code.
    let out = deck
        .invoke(&request("GET", "/github-login?dest=/", &[], ""))
        .await
        .ok();
    let log: String = d
        .logs("deck")
        .lines()
        .filter(|l| !l.contains("\"DEBUG\""))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(out["statusCode"], 303, "{out}\n{log}");
    let location = out["headers"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        location.starts_with(&format!(
            "{github_url}/login/oauth/authorize?client_id=deck-app"
        )),
        "{location}"
    );
    let state = location
        .split("state=")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let state_cookie = named(&cookies(&out), "skiff_oauth_state");
    lock(&d.github)
        .oauth
        .codes
        .insert("code-1".into(), "alice".into());
    let back = deck
        .invoke(&request(
            "GET",
            &format!("/github-login/redirect?code=code-1&state={state}"),
            &[state_cookie],
            "",
        ))
        .await
        .ok();
    assert_eq!(back["statusCode"], 303, "{back}");
    let session = named(&cookies(&back), "skiff_session");

    // The job page, signed in, with its CSRF token; then the rerun.
    let id = job.metadata.name.clone();
    let page = deck
        .invoke(&request(
            "GET",
            &format!("/jobs/{id}"),
            std::slice::from_ref(&session),
            "",
        ))
        .await
        .ok();
    let html = page["body"].as_str().unwrap_or_default().to_string();
    assert!(
        html.contains("Signed in as <strong>alice</strong>"),
        "{html}"
    );
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).expect("a form") + marker.len();
    let token = &html[at..at + html[at..].find('"').unwrap_or(0)];
    d.proxy.take();
    let rerun = deck
        .invoke(&request(
            "POST",
            &format!("/rerun?prowjob={id}&mode=original"),
            &[session],
            &format!("csrf_token={token}&nonce=n1"),
        ))
        .await
        .ok();
    assert_eq!(rerun["statusCode"], 303, "{rerun}\n{}", d.logs("deck"));
    let new_id = rerun["headers"]["location"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("/jobs/")
        .to_string();
    let new = d
        .store
        .get(&new_id)
        .await
        .expect("GetItem")
        .expect("the rerun's record");
    assert_eq!(new.metadata.labels["skiff.dev/rerun-by"], "alice");
    let calls = d.proxy.take();
    assert!(
        calls.keys().any(|op| op.starts_with("SQS.SendMessage")),
        "the rerun was sent to the dispatch queue: {calls:?}"
    );
}
