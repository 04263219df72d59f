//! `GitHubScm` against an HTTP-level fake of GitHub's REST API.
//!
//! No real GitHub can run here, so the fake is a tiny axum server on
//! 127.0.0.1:0 that speaks GitHub's real paths, status codes, headers and JSON
//! shapes. Each test gives it a scenario (method + path → canned reply) and then
//! asserts the verb, path, body and token of every request the adapter sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use serde_json::{Value, json};
use skiff_core::ports::{Comment, CommitStatus, PortError, Scm};
use skiff_scm::{GitHubOptions, GitHubScm};

const TOKEN: &str = "ghp_test_token_0123";

#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    /// Path and query, as received.
    path: String,
    body: Option<Value>,
    authorization: Option<String>,
}

#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn reply(status: u16, body: Value) -> Canned {
    Canned {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn empty(status: u16) -> Canned {
    Canned {
        status,
        headers: Vec::new(),
        body: String::new(),
    }
}

impl Canned {
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct Fake {
    routes: Mutex<HashMap<(String, String), Canned>>,
    seen: Mutex<Vec<Seen>>,
}

impl Fake {
    fn on(&self, method: &str, path: &str, canned: Canned) {
        self.routes
            .lock()
            .unwrap()
            .insert((method.into(), path.into()), canned);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.seen()
            .into_iter()
            .map(|s| (s.method, s.path))
            .collect()
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    fake.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        body: (!body.is_empty()).then(|| serde_json::from_slice(&body).expect("JSON body")),
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
    });
    let canned = fake
        .routes
        .lock()
        .unwrap()
        .get(&(method.to_string(), path.clone()))
        .cloned()
        // An unplanned request fails loudly, with a status no mapping expects.
        .unwrap_or_else(|| {
            reply(
                418,
                json!({ "message": format!("unplanned {method} {path}") }),
            )
        });
    let mut response = Response::builder().status(canned.status);
    for (k, v) in &canned.headers {
        response = response.header(k, v);
    }
    response.body(Body::from(canned.body)).unwrap()
}

/// Starts the fake; returns it and its base URL.
async fn fake_github() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

async fn client(base: &str, retries: usize) -> GitHubScm {
    let mut options = GitHubOptions::new(base, TOKEN);
    options.bot_login = Some("skiff-bot".into());
    options.retries = retries;
    GitHubScm::connect(options).await.unwrap()
}

fn not_found() -> Canned {
    reply(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

#[tokio::test]
async fn status_is_posted_with_githubs_body_and_the_token() {
    let (fake, base) = fake_github().await;
    let path = "/repos/acme/widgets/statuses/9f8e7d6c";
    fake.on(
        "POST",
        path,
        reply(201, json!({"id": 1, "state": "failure"})),
    );
    let scm = client(&base, 0).await;
    let status = CommitStatus {
        state: "failure".into(),
        context: "pull-widgets-unit".into(),
        description: "Job failed.".into(),
        target_url: "https://deck.example/view/1".into(),
    };
    scm.create_status("acme", "widgets", "9f8e7d6c", &status)
        .await
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, path);
    assert_eq!(
        seen[0].body,
        Some(json!({
            "state": "failure",
            "target_url": "https://deck.example/view/1",
            "description": "Job failed.",
            "context": "pull-widgets-unit"
        }))
    );
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn an_empty_target_url_is_left_out_as_prow_does() {
    let (fake, base) = fake_github().await;
    fake.on(
        "POST",
        "/repos/acme/widgets/statuses/abc",
        reply(201, json!({})),
    );
    let scm = client(&base, 0).await;
    let status = CommitStatus {
        state: "pending".into(),
        context: "unit".into(),
        description: "Job triggered.".into(),
        target_url: String::new(),
    };
    scm.create_status("acme", "widgets", "abc", &status)
        .await
        .unwrap();
    assert_eq!(
        fake.seen()[0].body,
        Some(json!({"state": "pending", "description": "Job triggered.", "context": "unit"}))
    );
}

#[tokio::test]
async fn status_errors_keep_githubs_message() {
    let (fake, base) = fake_github().await;
    fake.on(
        "POST",
        "/repos/acme/widgets/statuses/gone",
        reply(
            422,
            json!({"message": "No commit found for SHA: gone", "documentation_url": "https://docs.github.com/rest/commits/statuses#create-a-commit-status", "status": "422"}),
        ),
    );
    fake.on("POST", "/repos/acme/missing/statuses/abc", not_found());
    let scm = client(&base, 0).await;
    let status = CommitStatus {
        state: "success".into(),
        context: "unit".into(),
        description: String::new(),
        target_url: String::new(),
    };
    let e = scm
        .create_status("acme", "widgets", "gone", &status)
        .await
        .unwrap_err();
    assert!(matches!(e, PortError::Rejected(_)), "{e}");
    assert!(e.to_string().contains("No commit found for SHA"), "{e}");
    let e = scm
        .create_status("acme", "missing", "abc", &status)
        .await
        .unwrap_err();
    assert!(matches!(e, PortError::NotFound(_)), "{e}");
    assert!(e.to_string().contains(r#""message":"Not Found""#), "{e}");
}

#[tokio::test]
async fn membership_is_204_yes_404_no_302_no() {
    let (fake, base) = fake_github().await;
    fake.on("GET", "/orgs/acme/members/alice", empty(204));
    fake.on("GET", "/orgs/acme/members/mallory", not_found());
    fake.on(
        "GET",
        "/orgs/acme/members/bob",
        empty(302).header("location", &format!("{base}/orgs/acme/public_members/bob")),
    );
    fake.on("GET", "/repos/acme/widgets/collaborators/carol", empty(204));
    fake.on("GET", "/repos/acme/widgets/collaborators/dave", not_found());
    let scm = client(&base, 0).await;
    assert_eq!(scm.is_member("acme", "alice").await, Ok(true));
    assert_eq!(scm.is_member("acme", "mallory").await, Ok(false));
    assert_eq!(scm.is_member("acme", "bob").await, Ok(false));
    assert_eq!(
        scm.is_collaborator("acme", "widgets", "carol").await,
        Ok(true)
    );
    assert_eq!(
        scm.is_collaborator("acme", "widgets", "dave").await,
        Ok(false)
    );
    // The owner of a personal repository is trusted without asking.
    assert_eq!(scm.is_member("alice", "alice").await, Ok(true));
    assert_eq!(
        fake.requests(),
        vec![
            ("GET".into(), "/orgs/acme/members/alice".into()),
            ("GET".into(), "/orgs/acme/members/mallory".into()),
            ("GET".into(), "/orgs/acme/members/bob".into()),
            (
                "GET".into(),
                "/repos/acme/widgets/collaborators/carol".into()
            ),
            (
                "GET".into(),
                "/repos/acme/widgets/collaborators/dave".into()
            ),
        ]
    );
}

#[tokio::test]
async fn changed_files_follow_the_link_header() {
    let (fake, base) = fake_github().await;
    let page1: Vec<Value> = (0..100)
        .map(|i| json!({"sha": "x", "filename": format!("pkg/f{i}.go"), "status": "modified", "additions": 1, "deletions": 0, "changes": 1}))
        .collect();
    fake.on(
        "GET",
        "/repos/acme/widgets/pulls/42/files?per_page=100",
        reply(200, Value::Array(page1)).header(
            "link",
            &format!(
                "<{base}/repositories/99/pulls/42/files?per_page=100&page=2>; rel=\"next\", <{base}/repositories/99/pulls/42/files?per_page=100&page=2>; rel=\"last\""
            ),
        ),
    );
    fake.on(
        "GET",
        "/repositories/99/pulls/42/files?per_page=100&page=2",
        reply(
            200,
            json!([{"sha": "y", "filename": "docs/new.md", "previous_filename": "docs/old.md", "status": "renamed"}]),
        )
        .header(
            "link",
            &format!("<{base}/repositories/99/pulls/42/files?per_page=100&page=1>; rel=\"prev\""),
        ),
    );
    let scm = client(&base, 0).await;
    let files = scm.changed_files("acme", "widgets", 42).await.unwrap();
    assert_eq!(files.len(), 101);
    assert_eq!(files[0], "pkg/f0.go");
    assert_eq!(files[100], "docs/new.md");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn comments_are_listed_created_edited_and_deleted() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/repos/acme/widgets/issues/42/comments?per_page=100",
        reply(
            200,
            json!([
                {"id": 11, "user": {"login": "alice", "type": "User"}, "body": "/test all"},
                {"id": 12, "user": {"login": "skiff-bot", "type": "Bot"}, "body": "report\n<!-- test report -->"},
                {"id": 13, "user": null, "body": "from a deleted account"}
            ]),
        ),
    );
    fake.on(
        "POST",
        "/repos/acme/widgets/issues/42/comments",
        reply(201, json!({"id": 14, "body": "new"})),
    );
    fake.on(
        "PATCH",
        "/repos/acme/widgets/issues/comments/12",
        reply(200, json!({"id": 12, "body": "edited"})),
    );
    fake.on(
        "DELETE",
        "/repos/acme/widgets/issues/comments/12",
        empty(204),
    );
    fake.on(
        "DELETE",
        "/repos/acme/widgets/issues/comments/99",
        not_found(),
    );
    let scm = client(&base, 0).await;
    assert_eq!(
        scm.list_comments("acme", "widgets", 42).await.unwrap(),
        vec![
            Comment {
                id: 11,
                author: "alice".into(),
                body: "/test all".into()
            },
            Comment {
                id: 12,
                author: "skiff-bot".into(),
                body: "report\n<!-- test report -->".into()
            },
            Comment {
                id: 13,
                author: String::new(),
                body: "from a deleted account".into()
            },
        ]
    );
    scm.create_comment("acme", "widgets", 42, "new")
        .await
        .unwrap();
    scm.edit_comment("acme", "widgets", 12, "edited")
        .await
        .unwrap();
    scm.delete_comment("acme", "widgets", 12).await.unwrap();
    // Deleting what is already gone is done, so a retried report does not fail.
    scm.delete_comment("acme", "widgets", 99).await.unwrap();
    let seen = fake.seen();
    let writes: Vec<(&str, &str, Option<&Value>)> = seen[1..]
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str(), s.body.as_ref()))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "POST",
                "/repos/acme/widgets/issues/42/comments",
                Some(&json!({"body": "new"}))
            ),
            (
                "PATCH",
                "/repos/acme/widgets/issues/comments/12",
                Some(&json!({"body": "edited"}))
            ),
            ("DELETE", "/repos/acme/widgets/issues/comments/12", None),
            ("DELETE", "/repos/acme/widgets/issues/comments/99", None),
        ]
    );
}

#[tokio::test]
async fn labels_are_added_and_removing_an_absent_one_is_ok() {
    let (fake, base) = fake_github().await;
    fake.on(
        "POST",
        "/repos/acme/widgets/issues/42/labels",
        reply(200, json!([{"name": "needs-ok-to-test"}])),
    );
    fake.on(
        "DELETE",
        "/repos/acme/widgets/issues/42/labels/do-not-merge%2Fhold",
        reply(200, json!([])),
    );
    fake.on(
        "DELETE",
        "/repos/acme/widgets/issues/42/labels/needs%20rebase",
        reply(
            404,
            json!({"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest"}),
        ),
    );
    let scm = client(&base, 0).await;
    scm.add_label("acme", "widgets", 42, "needs-ok-to-test")
        .await
        .unwrap();
    scm.remove_label("acme", "widgets", 42, "do-not-merge/hold")
        .await
        .unwrap();
    assert_eq!(
        scm.remove_label("acme", "widgets", 42, "needs rebase")
            .await,
        Ok(())
    );
    let seen = fake.seen();
    assert_eq!(seen[0].body, Some(json!({"labels": ["needs-ok-to-test"]})));
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn rate_limits_and_outages_are_retryable_other_refusals_are_not() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/orgs/acme/members/limited",
        reply(
            403,
            json!({"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
        )
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "4102444800"),
    );
    fake.on(
        "GET",
        "/orgs/acme/members/secondary",
        reply(
            403,
            json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
        ),
    );
    fake.on(
        "GET",
        "/orgs/acme/members/forbidden",
        reply(
            403,
            json!({"message": "Resource not accessible by integration"}),
        )
        .header("x-ratelimit-remaining", "4999"),
    );
    fake.on(
        "GET",
        "/orgs/acme/members/busy",
        reply(429, json!({"message": "Too many requests"})),
    );
    fake.on(
        "GET",
        "/orgs/acme/members/broken",
        reply(502, json!({"message": "Server Error"})),
    );
    // A rate limit closes the client's gate for that identity, so every case
    // gets a client of its own.
    let far = "2100-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap();
    let soon = jiff::Timestamp::now() + std::time::Duration::from_secs(30);
    for (login, rate_limited_until_far, rate_limited) in [
        ("limited", true, true),
        ("secondary", false, true),
        ("busy", false, true),
        ("broken", false, false),
    ] {
        let scm = client(&base, 0).await;
        let e = scm.is_member("acme", login).await.unwrap_err();
        assert!(e.is_retryable(), "{login}: {e}");
        match (&e, rate_limited) {
            (PortError::RateLimited { until, .. }, true) => {
                assert_eq!(*until == far, rate_limited_until_far, "{login}: {e}");
                assert!(*until > soon, "{login}: waits at least a while: {e}");
            }
            (PortError::Unavailable(_), false) => {}
            _ => panic!("{login}: {e}"),
        }
    }
    let scm = client(&base, 0).await;
    let e = scm.is_member("acme", "forbidden").await.unwrap_err();
    assert!(matches!(e, PortError::Rejected(_)), "{e}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn after_a_rate_limit_nothing_is_sent_until_the_reset() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/orgs/acme/members/limited",
        reply(
            403,
            json!({"message": "API rate limit exceeded for installation ID 1."}),
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "4102444800"),
    );
    let scm = client(&base, 0).await;
    assert!(scm.is_member("acme", "limited").await.is_err());
    let e = scm.is_member("acme", "other").await.unwrap_err();
    assert!(matches!(e, PortError::RateLimited { .. }), "{e}");
    assert!(e.to_string().contains("not sent"), "{e}");
    assert_eq!(fake.seen().len(), 1, "the second call never reached GitHub");
}

#[tokio::test]
async fn server_errors_are_retried_the_configured_number_of_times() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/repos/acme/widgets/git/ref/heads/main",
        reply(503, json!({"message": "Service Unavailable"})),
    );
    let scm = client(&base, 2).await;
    let e = scm.branch_sha("acme", "widgets", "main").await.unwrap_err();
    assert!(matches!(e, PortError::Unavailable(_)), "{e}");
    assert_eq!(fake.requests().len(), 3, "one try and two retries");
}

#[tokio::test]
async fn branch_sha_reads_the_git_ref() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/repos/acme/widgets/git/ref/heads/release/1.2",
        reply(
            200,
            json!({"ref": "refs/heads/release/1.2", "node_id": "x", "url": "u", "object": {"sha": "0a1b2c3d", "type": "commit", "url": "u"}}),
        ),
    );
    let scm = client(&base, 0).await;
    assert_eq!(
        scm.branch_sha("acme", "widgets", "release/1.2").await,
        Ok("0a1b2c3d".to_owned())
    );
}

#[tokio::test]
async fn pull_request_is_parsed_with_the_core_model() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/repos/acme/widgets/pulls/42",
        reply(
            200,
            json!({
                "url": "https://api.github.com/repos/acme/widgets/pulls/42",
                "id": 1, "number": 42, "state": "open", "locked": false,
                "title": "Fix the widget", "body": null, "draft": false,
                "merged": false, "mergeable": false,
                "html_url": "https://github.com/acme/widgets/pull/42",
                "user": {"login": "alice", "id": 7, "html_url": "https://github.com/alice", "type": "User"},
                "labels": [{"id": 1, "name": "lgtm", "color": "15dd18"}],
                "head": {"label": "alice:fix", "ref": "fix", "sha": "9f8e7d",
                         "repo": {"name": "widgets", "full_name": "alice/widgets", "owner": {"login": "alice"}}},
                "base": {"label": "acme:main", "ref": "main", "sha": "0a1b2c",
                         "repo": {"name": "widgets", "full_name": "acme/widgets", "owner": {"login": "acme"},
                                  "html_url": "https://github.com/acme/widgets"}}
            }),
        ),
    );
    fake.on("GET", "/repos/acme/widgets/pulls/43", not_found());
    let scm = client(&base, 0).await;
    let pr = scm.pull_request("acme", "widgets", 42).await.unwrap();
    assert_eq!(pr.number, 42);
    assert_eq!(pr.author, "alice");
    assert_eq!(pr.head_sha, "9f8e7d");
    assert_eq!(pr.base_ref, "main");
    assert_eq!(pr.base_sha, "0a1b2c");
    assert_eq!(pr.mergeable, Some(false));
    assert_eq!(pr.labels, vec!["lgtm".to_owned()]);
    assert_eq!(pr.repo.org, "acme");
    let e = scm.pull_request("acme", "widgets", 43).await.unwrap_err();
    assert!(matches!(e, PortError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn bot_login_is_asked_once_when_not_given() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/user",
        reply(
            200,
            json!({"login": "acme-ci[bot]", "id": 5, "type": "Bot"}),
        ),
    );
    let scm = GitHubScm::connect(GitHubOptions::new(base.as_str(), TOKEN))
        .await
        .unwrap();
    assert_eq!(scm.bot_login(), "acme-ci[bot]");
    assert_eq!(fake.requests(), vec![("GET".into(), "/user".into())]);
    assert!(!format!("{scm:?}").contains(TOKEN));
}

#[tokio::test]
async fn an_enterprise_base_path_prefixes_every_request() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/api/v3/repos/acme/widgets/issues/comments/77",
        reply(
            200,
            json!({"id": 77, "body": "/retest", "user": {"login": "alice"}}),
        ),
    );
    let mut options = GitHubOptions::new(format!("{base}/api/v3"), TOKEN);
    options.bot_login = Some("skiff-bot".into());
    let scm = GitHubScm::connect(options).await.unwrap();
    assert_eq!(
        scm.comment_body("acme", "widgets", "77").await,
        Ok("/retest".to_owned())
    );
}

/// What the metrics and the deck's `/health` show of GitHub's budget: the
/// `X-RateLimit-*` of the last reply, per identity, never the token.
#[tokio::test]
async fn the_last_replys_rate_limit_is_kept_per_identity() {
    let (fake, base) = fake_github().await;
    fake.on(
        "GET",
        "/orgs/acme/members/alice",
        empty(204)
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", "4321")
            .header("x-ratelimit-reset", "4102444800"),
    );
    fake.on("GET", "/orgs/acme/members/bob", not_found());
    let scm = client(&base, 0).await;
    assert!(scm.rate_limits().is_empty(), "nothing asked yet");
    assert!(scm.is_member("acme", "alice").await.unwrap());
    // A reply without the headers leaves the last one standing.
    assert!(!scm.is_member("acme", "bob").await.unwrap());
    let limits = scm.rate_limits();
    assert_eq!(limits.len(), 1, "{limits:?}");
    let l = &limits[0];
    assert_eq!(l.identity, "token");
    assert_eq!((l.remaining, l.limit), (4321, Some(5000)));
    assert_eq!(l.reset, Some("2100-01-01T00:00:00Z".parse().unwrap()));
    assert!(!format!("{limits:?}").contains(TOKEN));
}
