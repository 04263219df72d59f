//! Names from a signed payload cannot steer the GitHub client to another
//! endpoint: an org, repo or login that is `.` or `..` is refused before
//! anything is sent, and a percent-encoded one is sent escaped (a literal
//! name), against a fake GitHub — an HTTP-level fake, as GitHub's API cannot
//! run here — that records every request it gets.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use skiff_core::ports::{CommitStatus, PortError, Scm};
use skiff_scm::{GitHubOptions, GitHubScm};

type Seen = Arc<Mutex<Vec<String>>>;

async fn record(State(seen): State<Seen>, uri: Uri) -> StatusCode {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(uri.to_string());
    StatusCode::NO_CONTENT
}

async fn fake_github() -> (Seen, String) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(record).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, format!("http://{addr}"))
}

fn refused(result: Result<impl std::fmt::Debug, PortError>, what: &str) {
    match result {
        Err(PortError::Rejected(why)) => {
            assert!(why.to_string().contains("dot segment"), "{what}: {why}")
        }
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn dot_segment_names_are_refused_before_any_request() {
    let (seen, base) = fake_github().await;
    let mut options = GitHubOptions::new(&base, "ghp_paths");
    options.bot_login = Some("skiff-bot".into());
    options.retries = 0;
    let scm = GitHubScm::connect(options).await.expect("the client");

    refused(scm.is_member("..", "x").await, "/orgs/../members/x");
    refused(scm.is_member(".", "x").await, "/orgs/./members/x");
    refused(scm.is_member("acme", "..").await, "a login of ..");
    let status = CommitStatus {
        state: "success".into(),
        context: "unit".into(),
        description: String::new(),
        target_url: String::new(),
    };
    refused(
        scm.create_status("acme", "..", "abc", &status).await,
        "a status on repo ..",
    );
    assert_eq!(
        *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        Vec::<String>::new(),
        "nothing reached GitHub"
    );

    // A repository whose name merely holds dots is asked for as usual, and
    // a name that spells a dot segment percent-encoded has its `%` escaped:
    // GitHub reads it (once decoded) as the literal name `%2e%2e`, which no
    // repository has, never as `..`.
    assert_eq!(scm.is_collaborator("acme", ".github", "x").await, Ok(true));
    assert_eq!(scm.is_collaborator("acme", "%2e%2e", "x").await, Ok(true));
    assert_eq!(
        *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        [
            "/repos/acme/.github/collaborators/x",
            "/repos/acme/%252e%252e/collaborators/x"
        ]
    );
}
